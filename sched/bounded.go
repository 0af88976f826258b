package sched

import "context"

// ContextBounded is iterative context bounding (Musuvathi and Qadeer,
// PLDI 2007): it runs the preemption-bounded DFS of [Exhaustive] for the
// bounds 0, 1, ..., maxBound in turn and reports, per bound, the states and
// transitions it covered, the distinct states among them, and whether a
// violation appeared ([Result].Bounds, one [BoundReport] per bound run).
// lim.MaxPreemptions is ignored; the other limits apply to every bound.
//
// It stops after the first bound that finds a violation (which thus needs
// the fewest preemptions), after the first bound that prunes nothing
// (larger bounds would explore the same keys again), or after maxBound.
// The returned Result is that of the last bound run, with Bounds set;
// States and Transitions are those of that bound (each bound's search
// starts afresh, so the work done in total is the sum over Bounds).
// Coverage is monotone: a schedule within bound b is within bound b+1, so
// Distinct never decreases. opt.Workers is ignored (sequential DFS).
func ContextBounded[S comparable](ctx context.Context, sys System[S], lim Limits, maxBound int, opt Options) Result {
	var res Result
	var bounds []BoundReport
	opt.Workers = 0
	for b := 0; b <= maxBound; b++ {
		l := lim
		l.MaxPreemptions = b
		d := newDFS(ctx, sys, l, opt)
		d.distinct = newFPTable()
		d.dkeys = keyer[S]{sys: sys}
		d.run()
		res = d.result()
		bounds = append(bounds, BoundReport{
			Bound:       b,
			States:      res.States,
			Transitions: res.Transitions,
			Distinct:    int64(d.distinct.n),
			Executions:  res.Executions,
			Verdict:     res.Verdict,
			Violation:   res.Violation,
		})
		if res.Verdict != Partial || d.hit&hitPreemptions == 0 || d.hit&hitCancelled != 0 {
			break
		}
	}
	res.Bounds = bounds
	return res
}
