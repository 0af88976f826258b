package sched

import (
	"math"
	"strconv"
)

// Verdict is the outcome of a search.
//
// The zero Verdict is invalid, so that a Result nobody filled in can never
// be mistaken for [OK].
type Verdict uint8

const (
	// OK means the whole reachable state space was explored and no check
	// failed. Only [Exhaustive] returns it.
	OK Verdict = iota + 1
	// Violation means a Check or Final call returned an error; the search
	// stopped at the first one.
	Violation
	// Partial means no violation was found, but the search was pruned by a
	// limit or cancelled, or (for [RandomWalk]) could not prove absence.
	Partial
)

// String returns the kebab-case name of v: "ok", "violation" or "partial".
func (v Verdict) String() string {
	switch v {
	case OK:
		return "ok"
	case Violation:
		return "violation"
	case Partial:
		return "partial"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Result summarises a search.
type Result struct {
	// Verdict is the outcome: Violation if Violation is set, otherwise
	// Partial if LimitHit is non-empty, otherwise OK.
	Verdict Verdict
	// Complete is true exactly when Verdict is OK: the reachable state
	// space was explored in full.
	Complete bool
	// LimitHit lists the limits that pruned the search, comma-separated in
	// the fixed order max-depth, max-preemptions, max-states, max-runs,
	// cancelled, for example "max-depth=40" or
	// "max-preemptions=2,cancelled". It is empty when nothing was pruned.
	// With a Violation it lists the limits hit before the violation.
	LimitHit string
	// States is the number of distinct visited-set keys stored, the initial
	// state included. Without a preemption bound a key is a state; with one
	// it is a (state, preemptions, last thread) triple.
	States int64
	// Transitions is the number of Step calls, including those that led to
	// states already visited.
	Transitions int64
	// Runs counts executions. For [RandomWalk] it is the number of runs
	// that ended (at an end state, at MaxDepth or at a violation). For
	// [Exhaustive] it is the number of Final calls: distinct visited keys
	// with no enabled thread.
	Runs int64
	// MaxDepthSeen is the length of the longest path executed.
	MaxDepthSeen int
	// Exact is true when the visited set compared states themselves rather
	// than their fingerprints.
	Exact bool
	// FingerprintBits is the width of the visited-set fingerprints of a
	// hashed search: 64 or 128. 0 (a Result built by hand) counts as 128.
	// It is 0 for an exact search.
	FingerprintBits int
	// Executions counts complete executions: for the DFS and BFS engines the
	// paths that ended in a state with no enabled thread (Final calls, the
	// same as Runs), for [RandomWalk] and [PCT] the runs made.
	Executions int64
	// Workers is the number of goroutines that explored (1 for every
	// sequential engine).
	Workers int
	// BytesPerState is the size of the visited table's allocation divided
	// by States (0 for an exact search, whose Go map size is not
	// observable). It excludes the search stack or frontier; see
	// PeakStackStates.
	BytesPerState float64
	// PeakStackStates is the largest number of full states the engine held
	// at once besides the visited table: the DFS node pool (the states on
	// the stack and their pending siblings), or the BFS frontier and the
	// successors being generated. Whole memory is roughly
	// BytesPerState*States + PeakStackStates*sizeof(S).
	PeakStackStates int64
	// Bounds holds one report per preemption bound of [ContextBounded].
	Bounds []BoundReport
	// Violation is the first violation found, or nil.
	Violation *Found
}

// Found describes a violation and the path that reaches it.
type Found struct {
	// Err is the error returned by Check or Final.
	Err error
	// Schedule lists the thread index of every step from the initial state
	// to the violating state. It is empty (not nil) for a violation in the
	// initial state.
	Schedule []int
	// Labels holds the label of every step in Schedule.
	Labels []string
	// Final is true when Final, rather than Check, reported the violation.
	Final bool
}

// CollisionProbability estimates the probability that two distinct states
// of a hashed search shared a fingerprint, so that one was wrongly treated
// as visited. It uses the birthday bound n²/2^(b+1) for n = States and b =
// FingerprintBits: n²/2⁶⁵ for 64-bit fingerprints, n²/2¹²⁹ for 128-bit
// ones (and when FingerprintBits is 0). It is 0 for an exact search.
func (r Result) CollisionProbability() float64 {
	if r.Exact || r.States < 2 {
		return 0
	}
	b := r.FingerprintBits
	if b == 0 {
		b = 128
	}
	n := float64(r.States)
	return math.Min(1, math.Ldexp(n*n, -(b+1)))
}

// BoundReport is the coverage of one preemption bound of [ContextBounded].
type BoundReport struct {
	// Bound is the preemption bound (Limits.MaxPreemptions) of the run.
	Bound int
	// States and Transitions are the counts of the bounded search (its
	// keys are (state, preemptions, last thread) triples).
	States, Transitions int64
	// Distinct is the number of distinct states (the state alone) covered
	// by the bounded search; it never decreases as the bound grows.
	Distinct int64
	// Executions is the number of complete executions (Final calls).
	Executions int64
	// Verdict is the verdict of the bounded search: Violation if it found
	// one, OK if the bound pruned nothing, Partial otherwise.
	Verdict Verdict
	// Violation is the violation found at this bound, or nil.
	Violation *Found
}

// finish sets Verdict, Complete and LimitHit from the violation and the
// limits hit.
func (r *Result) finish(hit limitSet, lim Limits, runs int) {
	r.LimitHit = hit.format(lim, runs)
	switch {
	case r.Violation != nil:
		r.Verdict = Violation
	case hit != 0:
		r.Verdict = Partial
	default:
		r.Verdict = OK
		r.Complete = true
	}
}
