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
	// than their 128-bit hashes.
	Exact bool
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
// of a hashed search shared a 128-bit key, so that one was wrongly treated
// as visited. It uses the birthday bound n²/2¹²⁹ for n = States and is 0
// for an exact search.
func (r Result) CollisionProbability() float64 {
	if r.Exact || r.States < 2 {
		return 0
	}
	n := float64(r.States)
	return math.Min(1, math.Ldexp(n*n, -129))
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
