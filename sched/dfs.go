package sched

import "context"

// Options tunes [Exhaustive].
type Options struct {
	// Exact keys the visited set by the state value itself
	// (map[S]struct{}): no false merges, but each entry costs a full state.
	// Otherwise the key is Hash128 of sys.Encode(s), 16 bytes per entry,
	// with the collision risk reported by [Result.CollisionProbability].
	Exact bool
}

// cancelCheckMask makes the searches poll ctx.Done() once every 4096 steps.
const cancelCheckMask = 1<<12 - 1

// frame is one state on the DFS stack. The enabled threads of s live in a
// pool shared by all frames (pool[enOff : enOff+enLen]), so a frame holds
// only the state and a few small fields.
type frame[S comparable] struct {
	s      S
	label  string // label of the step that led to s; "" for the initial state
	enOff  int32  // offset of s's enabled threads in the pool
	enLen  int32  // number of enabled threads still to be expanded from; 0 if none
	next   int32  // index in the enabled list of the next thread to try
	chosen int32  // thread stepped from s to reach the frame above
	pre    int32  // preemptions used on the path to s
	last   int32  // thread that stepped into s; -1 for the initial state
	lastOn bool   // last is enabled in s, so switching away is a preemption
}

// Exhaustive explores every state reachable from sys.Init() within lim by a
// stateful depth-first search, and stops at the first violation.
//
// The search uses an explicit stack, tries the enabled threads of a state
// in ascending index order, and expands each visited-set key once (see
// [Options] for exact and hashed keys; with lim.MaxPreemptions >= 0 a key
// also holds the preemptions used so far and the last thread stepped).
// Check runs on the initial state and after every Step, even when the step
// reaches a visited state; Final runs once per visited key with no enabled
// thread.
//
// Limits: a state at depth lim.MaxDepth is not expanded; a step that would
// exceed lim.MaxPreemptions is not taken; the search stops when it finds a
// new state while lim.MaxStates keys are stored; ctx is polled every 4096
// steps. Each of these that actually prunes something makes the result
// [Partial] with the limit named in LimitHit. lim.MaxRuns is ignored.
//
// With a MaxDepth bound, a state first reached deep and cut is not expanded
// again when reached by a shorter path; the cut is reported, so the result
// is Partial and stays sound.
func Exhaustive[S comparable](ctx context.Context, sys System[S], lim Limits, opt Options) Result {
	res := Result{Exact: opt.Exact}
	var hit limitSet
	bounded := lim.MaxPreemptions >= 0
	seen := newVisited(sys, opt.Exact, bounded)
	done := ctx.Done()

	stack := make([]frame[S], 1, 64)
	pool := make([]int, 0, 256)
	root := &stack[0]
	root.s = sys.Init()
	root.last = -1
	if err := sys.Check(&root.s); err != nil {
		res.Violation = &Found{Err: err, Schedule: []int{}, Labels: []string{}}
		res.finish(hit, lim, 0)
		return res
	}
	seen.add(&root.s, 0, -1)

	// enter computes the enabled threads of the frame at depth d (the top
	// of the stack) and decides whether it will be expanded. It returns
	// false if Final found a violation.
	enter := func(f *frame[S], d int) bool {
		off := len(pool)
		pool = sys.Enabled(&f.s, pool)
		n := len(pool) - off
		f.enOff = int32(off)
		switch {
		case n == 0:
			f.enLen = 0
			res.Runs++
			if err := sys.Final(&f.s); err != nil {
				res.Violation = foundOnStack(stack, err, true)
				return false
			}
		case lim.MaxDepth > 0 && d >= lim.MaxDepth:
			hit |= hitDepth
			pool = pool[:off]
			f.enLen = 0
		default:
			f.enLen = int32(n)
			f.lastOn = f.last >= 0 && contains(pool[off:], int(f.last))
		}
		return true
	}

	if !enter(root, 0) {
		res.States = int64(seen.size())
		res.finish(hit, lim, 0)
		return res
	}

search:
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == top.enLen {
			pool = pool[:top.enOff]
			stack = stack[:len(stack)-1]
			continue
		}
		i := pool[top.enOff+top.next]
		top.next++
		pre := top.pre
		if top.lastOn && int32(i) != top.last {
			pre++
		}
		if bounded && int(pre) > lim.MaxPreemptions {
			hit |= hitPreemptions
			continue
		}
		if done != nil && res.Transitions&cancelCheckMask == 0 {
			select {
			case <-done:
				hit |= hitCancelled
				break search
			default:
			}
		}
		top.chosen = int32(i)

		// Push a copy of the parent frame and step it in place: one copy
		// of the state per step, no allocation once the stack has grown.
		stack = append(stack, *top)
		d := len(stack) - 1
		child := &stack[d]
		child.label = sys.Step(&child.s, i)
		res.Transitions++
		child.pre, child.last, child.next, child.lastOn = pre, int32(i), 0, false
		if d > res.MaxDepthSeen {
			res.MaxDepthSeen = d
		}
		if err := sys.Check(&child.s); err != nil {
			res.Violation = foundOnStack(stack, err, false)
			break
		}
		if lim.MaxStates > 0 && seen.size() >= lim.MaxStates {
			if !seen.has(&child.s, int(pre), i) {
				hit |= hitStates
				break
			}
			stack = stack[:d]
			continue
		}
		if !seen.add(&child.s, int(pre), i) {
			stack = stack[:d]
			continue
		}
		if !enter(child, d) {
			break
		}
	}
	res.States = int64(seen.size())
	res.finish(hit, lim, 0)
	return res
}

// foundOnStack builds the Found for a violation in the state on top of the
// stack: the schedule is the thread chosen in every frame below it, and the
// labels are those of every frame above the initial one. Both are fresh
// slices.
func foundOnStack[S comparable](stack []frame[S], err error, final bool) *Found {
	n := len(stack) - 1
	f := &Found{Err: err, Schedule: make([]int, n), Labels: make([]string, n), Final: final}
	for k := 0; k < n; k++ {
		f.Schedule[k] = int(stack[k].chosen)
		f.Labels[k] = stack[k+1].label
	}
	return f
}

// contains reports whether the ascending list en holds i.
func contains(en []int, i int) bool {
	for _, e := range en {
		if e >= i {
			return e == i
		}
	}
	return false
}
