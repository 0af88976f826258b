package sched

import "context"

// ExhaustiveSleep explores every state reachable from sys.Init() within
// lim, like [Exhaustive], but prunes redundant transitions with sleep sets
// (Godefroid, "Partial-Order Methods for the Verification of Concurrent
// Systems", LNCS 1032, ch. 5) computed from the system's footprints (see
// [Footprinter]; without one nothing is pruned).
//
// Sleep sets prune transitions, never states: every reachable state is
// still visited and checked, so the search is sound for any Check (a
// state invariant) and any Final, and Result.States equals that of
// [Exhaustive] on the same system; Result.Transitions is smaller.
//
// Sleep sets and state caching. A state reached again is skipped only if
// the sleep set it was explored with is a subset of the current one
// (everything the current visit would explore was explored then). Each
// visited state stores its sleep set; when a state is reached with a
// sleep set that is not a superset of the stored one, the stored set
// becomes the intersection and exactly the threads that slept before but
// are awake now are explored (the threads explored before are treated as
// done, i.e. asleep for the new children). This is the standard fix that
// keeps "sleep sets preserve all reachable states" true under state
// caching for acyclic state graphs.
//
// Cycles. The argument above needs the state graph to be acyclic: a
// sleeping thread is justified by an exploration that has completed, and
// on a cycle the exploration of a state on the DFS stack has not. (The
// mimalloc model's state graphs are acyclic: allocsim's TestModelAcyclic
// finds no back edge on S1 and S2 under either abstraction; operations
// only move forward, and every loop inside one is bounded by a cursor or
// a try count kept in the thread's state.) ExhaustiveSleep detects a back edge
// (a successor still on the DFS stack) and, if it finds one, discards the
// reduced search and redoes it with empty sleep sets, i.e. a plain
// stateful DFS; Result then describes that second search.
//
// Limits: MaxDepth, MaxStates and ctx behave as in [Exhaustive] (a state
// first reached at the depth bound is not expanded later, and the result
// is Partial). Preemption bounding does not combine soundly with sleep
// sets (a pruned interleaving may be the only one within the bound), so
// with lim.MaxPreemptions >= 0 ExhaustiveSleep simply runs [Exhaustive].
// Threads are numbered below 64.
func ExhaustiveSleep[S comparable](ctx context.Context, sys System[S], lim Limits, opt Options) Result {
	if lim.MaxPreemptions >= 0 {
		return Exhaustive(ctx, sys, lim, opt)
	}
	for _, noSleep := range []bool{false, true} {
		x := &sleepSearch[S]{
			done:    ctx.Done(),
			sys:     sys,
			lim:     lim,
			fps:     newFootprints(sys),
			exact:   opt.Exact,
			noSleep: noSleep,
			res:     Result{Exact: opt.Exact},
		}
		if opt.Exact {
			x.exactSeen = make(map[S]*sleepEntry)
		} else {
			x.hashSeen = make(map[[2]uint64]*sleepEntry)
		}
		x.run()
		if x.cyclic && !noSleep {
			continue
		}
		x.res.States = x.states
		x.res.finish(x.hit, lim, 0)
		return x.res
	}
	panic("unreachable")
}

// sleepEntry is the visited-set record of a state: the sleep set it was
// (last) explored with, and whether it is on the DFS stack.
type sleepEntry struct {
	sleep   uint64
	onStack bool
}

// sleepFrame holds the per-depth scratch of the search.
type sleepFrame struct {
	en  []int
	fps [][]Access
}

// sleepSearch is the state of one ExhaustiveSleep search.
type sleepSearch[S comparable] struct {
	done    <-chan struct{}
	sys     System[S]
	lim     Limits
	fps     *footprints[S]
	exact   bool
	noSleep bool

	exactSeen map[S]*sleepEntry
	hashSeen  map[[2]uint64]*sleepEntry
	buf       []byte
	states    int64

	frames []sleepFrame
	path   []int
	labels []string
	res    Result
	hit    limitSet
	cyclic bool
	stop   bool
}

func (x *sleepSearch[S]) run() {
	s := x.sys.Init()
	if err := x.sys.Check(&s); err != nil {
		x.res.Violation = &Found{Err: err, Schedule: []int{}, Labels: []string{}}
		return
	}
	x.visit(&s, 0, 0)
}

// lookup returns the entry of s, creating it (with new = true) if absent
// and the MaxStates bound allows; nil when the bound forbids it.
func (x *sleepSearch[S]) lookup(s *S) (e *sleepEntry, isNew bool) {
	var k [2]uint64
	if x.exact {
		e = x.exactSeen[*s]
	} else {
		x.buf = x.sys.Encode(s, x.buf[:0])
		k = Hash128(x.buf)
		e = x.hashSeen[k]
	}
	if e != nil {
		return e, false
	}
	if x.lim.MaxStates > 0 && x.states >= int64(x.lim.MaxStates) {
		return nil, true
	}
	e = &sleepEntry{}
	if x.exact {
		x.exactSeen[*s] = e
	} else {
		x.hashSeen[k] = e
	}
	x.states++
	return e, true
}

// visit explores s, reached with sleep set sleep (a thread mask).
func (x *sleepSearch[S]) visit(s *S, depth int, sleep uint64) {
	if x.noSleep {
		sleep = 0
	}
	e, isNew := x.lookup(s)
	if e == nil {
		x.hit |= hitStates
		x.stop = true
		return
	}
	var todo, done uint64
	all := ^uint64(0)
	switch {
	case isNew:
		e.sleep = sleep
		todo = all &^ sleep
	case e.onStack:
		x.cyclic = true
		if !x.noSleep {
			x.stop = true
		}
		return
	case e.sleep&^sleep == 0:
		return // explored before with no more threads awake
	default:
		done = all &^ e.sleep
		todo = e.sleep &^ sleep
		e.sleep &= sleep
		sleep = e.sleep
	}

	for len(x.frames) <= depth {
		x.frames = append(x.frames, sleepFrame{})
	}
	f := &x.frames[depth]
	f.en = x.sys.Enabled(s, f.en[:0])
	if len(f.en) == 0 {
		if isNew {
			x.res.Runs++
			if err := x.sys.Final(s); err != nil {
				x.res.Violation = x.found(err, true)
				x.stop = true
			}
		}
		return
	}
	if x.lim.MaxDepth > 0 && depth >= x.lim.MaxDepth {
		x.hit |= hitDepth
		return
	}
	for len(f.fps) < len(f.en) {
		f.fps = append(f.fps, nil)
	}
	var enMask uint64
	for k, i := range f.en {
		if i >= 64 {
			panic("sched: ExhaustiveSleep supports at most 64 threads")
		}
		enMask |= 1 << i
		f.fps[k] = append(f.fps[k][:0], x.fps.of(s, i)...)
	}
	e.onStack = true
	asleep := (sleep | done) & enMask
	for k, i := range f.en {
		if todo&(1<<i) == 0 {
			continue
		}
		var child uint64
		for k2, u := range f.en {
			if asleep&(1<<u) != 0 && !x.fps.dependent(f.fps[k2], f.fps[k]) {
				child |= 1 << u
			}
		}
		if x.done != nil && x.res.Transitions&cancelCheckMask == 0 {
			select {
			case <-x.done:
				x.hit |= hitCancelled
				x.stop = true
			default:
			}
		}
		if x.stop {
			break
		}
		c := *s
		label := x.sys.Step(&c, i)
		x.res.Transitions++
		if depth+1 > x.res.MaxDepthSeen {
			x.res.MaxDepthSeen = depth + 1
		}
		x.path = append(x.path, i)
		x.labels = append(x.labels, label)
		if err := x.sys.Check(&c); err != nil {
			x.res.Violation = x.found(err, false)
			x.stop = true
			break
		}
		x.visit(&c, depth+1, child)
		x.path = x.path[:len(x.path)-1]
		x.labels = x.labels[:len(x.labels)-1]
		if x.stop {
			break
		}
		asleep |= 1 << i
		f = &x.frames[depth] // x.frames may have grown
	}
	e.onStack = false
}

// found builds the Found for a violation at the end of the current path.
func (x *sleepSearch[S]) found(err error, final bool) *Found {
	return &Found{
		Err:      err,
		Schedule: append([]int{}, x.path...),
		Labels:   append([]string{}, x.labels...),
		Final:    final,
	}
}
