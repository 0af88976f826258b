package sched

import "context"

// DPOR explores the executions of sys by stateless dynamic partial-order
// reduction with source sets and sleep sets: Algorithm 1 ("source-DPOR")
// of Abdulla, Aronis, Jonsson and Sagonas, "Optimal Dynamic Partial Order
// Reduction", POPL 2014. Dependency is given by the system's footprints
// (see [Footprinter]; without one every pair of steps is dependent and
// DPOR degenerates to a plain enumeration of all interleavings).
//
// It explores at least one execution of every Mazurkiewicz trace (class
// of executions equal up to swapping adjacent independent steps), runs
// Check on the initial state and after every step, and Final at the end of
// every complete execution. Result.Runs counts the complete executions
// explored (those that end in a state with no enabled thread); executions
// cut short because every enabled thread is asleep ("sleep-set blocked",
// possible with source-DPOR for three or more threads) are not counted.
// Result.States counts the states visited (with repetitions: there is no
// visited set), Result.Transitions the Step calls; Result.Exact is true
// (nothing is hashed) and opt is unused.
//
// Soundness for state invariants. All executions of one trace end in the
// same state, so Final-checks and deadlocks are covered exactly. Check
// runs on the intermediate states of the explored representatives only,
// and another linearization of the same trace passes through other
// intermediate states (other cuts of the partial order). An invariant that
// is a conjunction of predicates P_G, each reading only a group G of
// locations such that every two steps that may change G are dependent, is
// still checked on every reachable cut: the values of G at any cut are
// those after the last G-changing step of the cut, and G-changing steps
// are totally ordered, so the explored linearization passes through a
// state with the same values of G. The mimalloc footprints
// (allocsim.Sim.Footprint) therefore mark ghost state that the invariants
// read (Holder, Busy, Live bits, Fault, registers and mailboxes via the
// pages of the blocks they hold) as written by the steps that change it.
// The limit of the argument: several invariants (span-queue membership,
// block conservation across registers and pages, segment-single-owner
// across the bitmap and the segment header) read groups made of several
// footprint objects that independent steps may change concurrently; a
// violation visible only at a cut that no explored linearization passes
// through can then be missed. For such invariants use [ExhaustiveSleep],
// which is sound for every Check, or read a DPOR OK as "every trace
// explored, every explored state checked".
//
// Cost. DPOR keeps no visited set, so it pays per trace, not per state.
// On the mimalloc model almost every step touches something another
// thread's step touches (thread_id of every segment, every page of the
// thread's own segments, the abandoned bitmap), so traces stay numerous
// while they merge into few states: on S2 (spin: 2,799 states, 5.6e9
// interleavings) DPOR explored 1.5 million executions in 60 s without
// finishing, while [Exhaustive] takes 25 ms. It pays off on systems whose
// threads mostly touch disjoint data.
//
// Limits: MaxDepth bounds the execution length (a longer execution is cut
// and the result is Partial), MaxStates bounds the number of states
// visited, MaxRuns (when > 0) the number of complete executions, and ctx
// is polled every 4096 steps. MaxPreemptions is ignored (preemption
// bounding does not combine soundly with DPOR; the search is unbounded).
// The state graph must be acyclic, or MaxDepth must be set. Threads are
// numbered below 64.
func DPOR[S comparable](ctx context.Context, sys System[S], lim Limits, _ Options) Result {
	d := &dpor[S]{
		done: ctx.Done(),
		sys:  sys,
		lim:  lim,
		fps:  newFootprints(sys),
		res:  Result{Exact: true}, // no visited set, hence no hash collisions
	}
	d.run()
	d.res.finish(d.hit, lim, int(lim.MaxRuns))
	return d.res
}

// dporEvent is one step of the current execution E, together with the
// node (state) it was taken from.
type dporEvent[S comparable] struct {
	s         S        // state before the step
	thread    int      // thread that stepped
	label     string   // label of the step
	fp        []Access // footprint of the step (computed in s)
	hb        []uint64 // bit set of the earlier events that happen before this one
	backtrack uint64   // backtrack(E') of the node: threads to explore from s
	sleep     uint64   // Sleep(E') of the node, grown with the threads explored
	enabled   uint64   // threads enabled in s
}

// dpor is the state of one DPOR search.
type dpor[S comparable] struct {
	done <-chan struct{}
	sys  System[S]
	lim  Limits
	fps  *footprints[S]
	res  Result
	hit  limitSet
	stop bool

	ev  []dporEvent[S] // ev[k] = k-th event of E and the node before it
	en  []int
	hbn []uint64 // scratch: happens-before set of the new event
	fpn []Access // scratch: footprint of the new event
}

func (d *dpor[S]) run() {
	s := d.sys.Init()
	d.res.States = 1
	if err := d.sys.Check(&s); err != nil {
		d.res.Violation = &Found{Err: err, Schedule: []int{}, Labels: []string{}}
		return
	}
	d.explore(s, 0)
}

// words returns the number of uint64 words of a bit set over n events.
func words(n int) int { return (n + 63) / 64 }

// explore is Explore(E, Sleep) of Algorithm 1 for the node at depth n =
// len(E), whose state is s and whose sleep set the caller left in
// d.ev[n].sleep.
func (d *dpor[S]) explore(s S, n int) {
	for len(d.ev) <= n {
		d.ev = append(d.ev, dporEvent[S]{})
	}
	node := &d.ev[n]
	node.s = s
	d.en = d.sys.Enabled(&node.s, d.en[:0])
	node.enabled, node.backtrack = 0, 0
	for _, i := range d.en {
		if i >= 64 {
			panic("sched: DPOR supports at most 64 threads")
		}
		node.enabled |= 1 << i
	}
	if node.enabled == 0 {
		d.res.Runs++
		if err := d.sys.Final(&node.s); err != nil {
			d.res.Violation = d.found(err, n, true)
			d.stop = true
			return
		}
		if d.lim.MaxRuns > 0 && d.res.Runs >= int64(d.lim.MaxRuns) {
			d.hit |= hitRuns
			d.stop = true
		}
		return
	}
	awake := node.enabled &^ node.sleep
	if awake == 0 {
		return // sleep-set blocked
	}
	if d.lim.MaxDepth > 0 && n >= d.lim.MaxDepth {
		d.hit |= hitDepth
		return
	}
	node.backtrack = lowest(awake)
	for !d.stop {
		node = &d.ev[n]
		cand := node.backtrack &^ node.sleep & node.enabled
		if cand == 0 {
			break
		}
		p := bitIndex(lowest(cand))
		d.step(n, p)
		d.ev[n].sleep |= 1 << p
	}
}

// step executes thread p from the node at depth n: race analysis of the
// new event (updating backtrack sets of earlier nodes), then Explore(E.p,
// Sleep') with Sleep' the threads of Sleep independent of p.
func (d *dpor[S]) step(n, p int) {
	node := &d.ev[n]
	d.fpn = append(d.fpn[:0], d.fps.of(&node.s, p)...)
	d.races(n, p)

	// Sleep' = {q in Sleep | next(q) independent of next(p)}.
	var sleep uint64
	for q := node.sleep & node.enabled; q != 0; q &= q - 1 {
		u := bitIndex(q & -q)
		if !d.fps.dependent(d.fps.of(&node.s, u), d.fpn) {
			sleep |= 1 << u
		}
	}
	node.thread = p
	node.fp = append(node.fp[:0], d.fpn...)
	node.hb = append(node.hb[:0], d.hbn...)

	if d.done != nil && d.res.Transitions&cancelCheckMask == 0 {
		select {
		case <-d.done:
			d.hit |= hitCancelled
			d.stop = true
			return
		default:
		}
	}
	if d.lim.MaxStates > 0 && d.res.States >= int64(d.lim.MaxStates) {
		d.hit |= hitStates
		d.stop = true
		return
	}
	c := node.s
	node.label = d.sys.Step(&c, p)
	d.res.Transitions++
	d.res.States++
	if n+1 > d.res.MaxDepthSeen {
		d.res.MaxDepthSeen = n + 1
	}
	if err := d.sys.Check(&c); err != nil {
		d.res.Violation = d.found(err, n+1, false)
		d.stop = true
		return
	}
	for len(d.ev) <= n+1 {
		d.ev = append(d.ev, dporEvent[S]{})
	}
	d.ev[n+1].sleep = sleep
	d.explore(c, n+1)
}

// races computes the happens-before set of the new event (thread p after
// E = ev[:n], footprint d.fpn) into d.hbn, and for every event e of E in a
// race with it (e ⋖ next(p): different thread, dependent, no event in
// between ordered after e and before next(p)) adds an initial of
// v = notdep(e, E).p to backtrack(pre(E, e)) unless one is there already.
func (d *dpor[S]) races(n, p int) {
	w := words(n)
	d.hbn = append(d.hbn[:0], make([]uint64, w)...)
	hbn := d.hbn
	direct := make([]bool, n) // events the new one depends on directly
	for j := n - 1; j >= 0; j-- {
		e := &d.ev[j]
		if e.thread == p || d.fps.dependent(e.fp, d.fpn) {
			direct[j] = true
			if hbn[j/64]&(1<<(j%64)) == 0 {
				hbn[j/64] |= 1 << (j % 64)
				for k, x := range e.hb {
					hbn[k] |= x
				}
			}
		}
	}
	for j := 0; j < n; j++ {
		e := &d.ev[j]
		if e.thread == p || !direct[j] {
			continue
		}
		// e ⋖ next(p) needs no event i (j < i < n) with e → i → next(p).
		race := true
		for i := j + 1; i < n && race; i++ {
			if hbn[i/64]&(1<<(i%64)) != 0 && hasBit(d.ev[i].hb, j) {
				race = false
			}
		}
		if !race {
			continue
		}
		// v = notdep(e, E).p: the events after e that do not happen after
		// e, then next(p). Its initials are the threads whose first event
		// in v has no predecessor in v.
		var initials, seenThreads uint64
		var inV []int
		for i := j + 1; i < n; i++ {
			if hasBit(d.ev[i].hb, j) {
				continue
			}
			ti := d.ev[i].thread
			first := seenThreads&(1<<ti) == 0
			seenThreads |= 1 << ti
			if first {
				initial := true
				for _, k := range inV {
					if hasBit(d.ev[i].hb, k) {
						initial = false
						break
					}
				}
				if initial {
					initials |= 1 << ti
				}
			}
			inV = append(inV, i)
		}
		if seenThreads&(1<<p) == 0 {
			initial := true
			for _, k := range inV {
				if hbn[k/64]&(1<<(k%64)) != 0 {
					initial = false
					break
				}
			}
			if initial {
				initials |= 1 << p
			}
		}
		pre := &d.ev[j]
		if initials&(1<<p) != 0 && pre.enabled&(1<<p) == 0 {
			// next(p) is an initial of v but disabled in pre(E, e): e
			// enabled it, so the race cannot be reversed.
			continue
		}
		initials &= pre.enabled
		if initials&pre.backtrack == 0 && initials != 0 {
			// Prefer p itself (the reversal of the race), else the lowest.
			if initials&(1<<p) != 0 {
				pre.backtrack |= 1 << p
			} else {
				pre.backtrack |= lowest(initials)
			}
		}
	}
}

// hasBit reports whether bit j of the bit set b is set.
func hasBit(b []uint64, j int) bool {
	return j/64 < len(b) && b[j/64]&(1<<(j%64)) != 0
}

// lowest returns the lowest set bit of m.
func lowest(m uint64) uint64 { return m & -m }

// bitIndex returns the index of the single set bit of m.
func bitIndex(m uint64) int {
	n := 0
	for m > 1 {
		m >>= 1
		n++
	}
	return n
}

// found builds the Found for a violation in the state after the first k
// events of E (final: found by Final).
func (d *dpor[S]) found(err error, k int, final bool) *Found {
	f := &Found{Err: err, Schedule: make([]int, 0, k), Labels: make([]string, 0, k), Final: final}
	for _, e := range d.ev[:k] {
		f.Schedule = append(f.Schedule, e.thread)
		f.Labels = append(f.Labels, e.label)
	}
	return f
}
