package sched

import "context"

// RandomWalk runs independent random executions of sys and stops at the
// first violation. It can find violations but never proves their absence:
// without a violation its Verdict is [Partial], with LimitHit naming
// "max-runs=N" (and any other limit that cut it).
//
// Run r (0-based) starts from sys.Init() and, at every step, picks a thread
// uniformly among the enabled ones with a PCG generator seeded from
// (seed, r), so a (seed, r) pair always replays the same execution. A run
// ends when no thread is enabled (Final is then called) or at depth
// lim.MaxDepth (reported as max-depth). When lim.MaxPreemptions >= 0 and
// the run has used them up, it keeps stepping the previous thread while
// that thread is enabled (reported as max-preemptions when this overrode a
// choice). lim.MaxRuns runs are made, [DefaultRuns] if it is 0 or negative.
// When lim.MaxStates > 0 the walk stops once it would store more distinct
// states (max-states). ctx is polled every 4096 steps (cancelled).
//
// States counts the distinct states seen (by Hash128 of their encoding),
// Transitions the steps, Runs the runs that ended.
func RandomWalk[S comparable](ctx context.Context, sys System[S], lim Limits, seed uint64) Result {
	var res Result
	var hit limitSet
	runs := lim.MaxRuns
	if runs <= 0 {
		runs = DefaultRuns
	}
	bounded := lim.MaxPreemptions >= 0
	seen, keys, init, found0 := startWalks(sys)
	done := ctx.Done()
	if found0 != nil {
		res.Violation = found0
		res.finish(hit, lim, runs)
		return res
	}

	rng := newWalkRand()
	en := make([]int, 0, 16)
	schedule := make([]int, 0, 64)
	labels := make([]string, 0, 64)
	// found copies the current run's path into a Found.
	found := func(err error, final bool) *Found {
		return &Found{
			Err:      err,
			Schedule: append([]int{}, schedule...),
			Labels:   append([]string{}, labels...),
			Final:    final,
		}
	}

walk:
	for run := 0; run < runs; run++ {
		rng.reset(seed, uint64(run))
		s := init
		schedule, labels = schedule[:0], labels[:0]
		last, pre := -1, 0
		for {
			en = sys.Enabled(&s, en[:0])
			if len(en) == 0 {
				res.Runs++
				if err := sys.Final(&s); err != nil {
					res.Violation = found(err, true)
					break walk
				}
				break
			}
			if lim.MaxDepth > 0 && len(schedule) >= lim.MaxDepth {
				res.Runs++
				hit |= hitDepth
				break
			}
			lastOn := last >= 0 && contains(en, last)
			var i int
			switch {
			case bounded && lastOn && pre >= lim.MaxPreemptions:
				i = last
				if len(en) > 1 {
					hit |= hitPreemptions
				}
			case len(en) == 1:
				i = en[0]
			default:
				i = en[rng.intn(len(en))]
			}
			if lastOn && i != last {
				pre++
			}
			if done != nil && res.Transitions&cancelCheckMask == 0 {
				select {
				case <-done:
					hit |= hitCancelled
					break walk
				default:
				}
			}
			labels = append(labels, sys.Step(&s, i))
			schedule = append(schedule, i)
			last = i
			if full, err := walkStepTaken(sys, &s, len(schedule), &res, seen, &keys, lim.MaxStates); err != nil {
				res.Runs++
				res.Violation = found(err, false)
				break walk
			} else if full {
				hit |= hitStates
				break walk
			}
		}
		if run == runs-1 {
			hit |= hitRuns
		}
	}
	res.States = int64(seen.size())
	res.FingerprintBits, res.Workers, res.Executions = 128, 1, res.Runs
	res.finish(hit, lim, runs)
	return res
}

// startWalks prepares the sampling strategies (RandomWalk, PCT): the set of
// distinct states seen (128-bit fingerprints) with the initial state in it,
// its keyer, and the initial state. A violation of the initial state is
// returned as a Found with an empty schedule.
func startWalks[S comparable](sys System[S]) (visited[S], keyer[S], S, *Found) {
	seen := newVisited[S](storeFP128, false)
	keys := keyer[S]{sys: sys}
	init := sys.Init()
	if err := sys.Check(&init); err != nil {
		return seen, keys, init, &Found{Err: err, Schedule: []int{}, Labels: []string{}}
	}
	seen.add(&init, 0, -1, keys.key(&init, 0, -1))
	return seen, keys, init, nil
}

// walkStepTaken accounts for a step of a walk (RandomWalk, PCT) that led
// to s at the given depth: it counts the transition and the depth, checks
// s, and adds it to the distinct states seen. It returns whether s is new
// while maxStates states are already stored (the walk stops there), or the
// violation s shows.
func walkStepTaken[S comparable](sys System[S], s *S, depth int, res *Result, seen visited[S], keys *keyer[S], maxStates int) (full bool, err error) {
	res.Transitions++
	if depth > res.MaxDepthSeen {
		res.MaxDepthSeen = depth
	}
	if err := sys.Check(s); err != nil {
		return false, err
	}
	k := keys.key(s, 0, -1)
	if maxStates > 0 && seen.size() >= maxStates {
		return !seen.has(s, 0, -1, k), nil
	}
	seen.add(s, 0, -1, k)
	return false, nil
}
