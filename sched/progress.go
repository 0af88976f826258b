package sched

// Progress is a snapshot of a running search, passed to Options.Progress.
// sched never reads the clock: a caller that wants rates or an ETA pairs
// successive snapshots with its own wall-clock readings.
type Progress struct {
	// States, Transitions and Executions are the counters of the Result so
	// far.
	States, Transitions, Executions int64
	// Depth is the current DFS stack depth, or the BFS level being
	// expanded.
	Depth int
	// Frontier is the number of states known but not yet expanded: the
	// DFS node pool (stack plus pending siblings) or the BFS level being
	// expanded.
	Frontier int64
	// Estimate is a rough estimate of the total number of states (see
	// [Options].Progress for the method). It is at least States; treat it
	// as an order of magnitude, not a forecast.
	Estimate float64
}

// DefaultProgressEvery is the number of transitions between two Progress
// calls when Options.ProgressEvery is 0.
const DefaultProgressEvery = 1 << 16

// progressEvery returns the progress period of opt (0: no progress).
func (opt Options) progressEvery() int64 {
	switch {
	case opt.Progress == nil:
		return 0
	case opt.ProgressEvery > 0:
		return opt.ProgressEvery
	default:
		return DefaultProgressEvery
	}
}

// knuthEstimate accumulates Knuth's tree-size estimator (Knuth 1975,
// "Estimating the efficiency of backtrack programs") over the DFS spanning
// tree, in which each state is a node exactly once and the children of a
// node are the successors it claimed. For a root-to-node path whose nodes
// have c1, c2, ... children, 1 + c1 + c1*c2 + ... estimates the number of
// nodes. The DFS samples its current stack at every progress call, and
// the estimate is the running mean of these samples. The stack is not a
// uniformly random path (DFS descends into the first child first), so the
// mean is biased and noisy: it is a rough estimate only.
type knuthEstimate struct {
	sum float64
	n   float64
}

// add records one sample and returns the running mean, at least states.
func (k *knuthEstimate) add(sample float64, states int64) float64 {
	k.sum += sample
	k.n++
	e := k.sum / k.n
	if e < float64(states) {
		e = float64(states)
	}
	return e
}
