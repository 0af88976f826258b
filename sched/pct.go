package sched

import "context"

// PCTOptions parameterises [PCT].
type PCTOptions struct {
	// Depth is the bug depth d the runs target (d >= 1; 0 means 2): the
	// number of ordering constraints a bug needs. Each run uses d-1
	// priority change points.
	Depth int
	// Runs is the number of runs; 0 means lim.MaxRuns, and [DefaultRuns]
	// if that is 0 too.
	Runs int
	// Seed seeds the runs: run r uses a generator seeded from (Seed, r), so
	// the whole search is deterministic given Seed.
	Seed uint64
	// MaxSteps is the estimate k of the number of steps of a run, the range
	// of the change points. 0 means lim.MaxDepth if set, otherwise the
	// longest run seen so far (64 before the first run ends).
	MaxSteps int
}

// PCT is probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, "A randomized scheduler with probabilistic guarantees of
// finding bugs", ASPLOS 2010). It can find violations but never proves
// their absence: without a violation the Verdict is [Partial] with
// LimitHit naming max-runs.
//
// Each run gives every thread, when it is first seen enabled, a random
// priority above d-1 (a random 64-bit value >= 2^32 rather than a random
// permutation of d..d+n-1, since n is not known in advance), and picks d-1 change points uniformly among the
// steps 1..k (k = opt.MaxSteps). At every step the enabled thread with the
// highest priority runs; when the step number is the i-th change point
// (1-based), that thread's priority first drops to i, below every initial
// priority, and the choice is made again (as in the paper: priorities
// d..d+n-1 initially, i at the i-th change point). For a program with n
// threads and k steps, each run finds a given bug of depth d with
// probability at least 1/(n*k^(d-1)).
//
// Limits: a run ends at depth lim.MaxDepth (max-depth); ctx is polled
// every 4096 steps (cancelled); lim.MaxStates bounds the distinct states
// recorded (as for [RandomWalk]). lim.MaxPreemptions is ignored (PCT's own
// change points bound its preemptions).
//
// States counts distinct states seen (by Hash128 of their encoding),
// Transitions the steps, Runs and Executions the runs that ended.
func PCT[S comparable](ctx context.Context, sys System[S], lim Limits, opt PCTOptions) Result {
	res := Result{FingerprintBits: 128, Workers: 1}
	var hit limitSet
	d := opt.Depth
	if d <= 0 {
		d = 2
	}
	runs := opt.Runs
	if runs <= 0 {
		runs = lim.MaxRuns
	}
	if runs <= 0 {
		runs = DefaultRuns
	}
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
	var prio []uint64          // priority by thread; 0 = not seen yet
	change := make([]int, d-1) // change points (step numbers, 1-based)
	longest := 64
	found := func(err error, final bool) *Found {
		return &Found{Err: err, Schedule: append([]int{}, schedule...), Labels: append([]string{}, labels...), Final: final}
	}

walk:
	for run := 0; run < runs; run++ {
		rng.reset(opt.Seed, uint64(run))
		k := opt.MaxSteps
		if k <= 0 {
			k = lim.MaxDepth
		}
		if k <= 0 {
			k = longest
		}
		for i := range change {
			change[i] = 1 + rng.intn(k)
		}
		prio = prio[:0]
		s := init
		schedule, labels = schedule[:0], labels[:0]
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
			for _, i := range en {
				for len(prio) <= i {
					prio = append(prio, 0)
				}
				if prio[i] == 0 {
					// Initial priorities are >= 2^32, above every changed
					// one; distinct with overwhelming probability (ties
					// go to the lower index).
					prio[i] = rng.uint64() | 1<<32
				}
			}
			step := len(schedule) + 1
			i := highest(en, prio)
			for c, at := range change {
				if at == step {
					prio[i] = uint64(c + 1)
					i = highest(en, prio)
				}
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
			if full, err := walkStepTaken(sys, &s, len(schedule), &res, seen, &keys, lim.MaxStates); err != nil {
				res.Runs++
				res.Violation = found(err, false)
				break walk
			} else if full {
				hit |= hitStates
				break walk
			}
		}
		if len(schedule) > longest {
			longest = len(schedule)
		}
		if run == runs-1 {
			hit |= hitRuns
		}
	}
	res.States = int64(seen.size())
	res.Executions = res.Runs
	res.finish(hit, lim, runs)
	return res
}

// highest returns the enabled thread with the highest priority (the lowest
// index among equals).
func highest(en []int, prio []uint64) int {
	best := en[0]
	for _, i := range en[1:] {
		if prio[i] > prio[best] {
			best = i
		}
	}
	return best
}
