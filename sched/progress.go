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
