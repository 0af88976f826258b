package sched

import (
	"strconv"
	"strings"
)

// Limits bounds a search. Every engine reports which limits pruned it in
// [Result].LimitHit, and a pruned search is never reported as [OK].
//
// Beware that the zero Limits bounds preemptions to 0; use [NoLimits] for a
// search without any bound.
type Limits struct {
	// MaxDepth bounds the length of a path (the number of steps from the
	// initial state). A state at depth MaxDepth is not expanded. 0 means no
	// limit.
	MaxDepth int
	// MaxPreemptions bounds the number of preemptions on a path when it is
	// >= 0; a negative value means unbounded. A preemption is a step by a
	// thread other than the one that made the previous step while that
	// previous thread is still enabled. The first step, and a switch after
	// the previous thread became disabled, are not preemptions.
	MaxPreemptions int
	// MaxStates bounds the number of distinct states stored in the visited
	// set. 0 means no limit.
	MaxStates int
	// MaxRuns bounds the number of executions of [RandomWalk]; 0 (or a
	// negative value) means [DefaultRuns]. [Exhaustive] ignores it.
	MaxRuns int
}

// DefaultRuns is the number of runs [RandomWalk] performs when
// Limits.MaxRuns is 0.
const DefaultRuns = 1000

// NoLimits returns Limits with every bound switched off (MaxRuns then
// defaults to [DefaultRuns] in [RandomWalk]).
func NoLimits() Limits {
	return Limits{MaxPreemptions: -1}
}

// limitSet records which limits pruned a search, one bit per limit. The bit
// order is the fixed order in which LimitHit lists them.
type limitSet uint8

const (
	hitDepth limitSet = 1 << iota
	hitPreemptions
	hitStates
	hitRuns
	hitCancelled
	hitMemory
)

// format renders the limits in s as a comma-separated list of kebab-case
// "name=value" items in a fixed order (max-depth, max-preemptions,
// max-states, max-runs, cancelled, max-memory); "" when s is empty.
func (s limitSet) format(lim Limits, runs int) string {
	if s == 0 {
		return ""
	}
	var b strings.Builder
	item := func(name string, v int) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		if v >= 0 {
			b.WriteByte('=')
			b.WriteString(strconv.Itoa(v))
		}
	}
	if s&hitDepth != 0 {
		item("max-depth", lim.MaxDepth)
	}
	if s&hitPreemptions != 0 {
		item("max-preemptions", lim.MaxPreemptions)
	}
	if s&hitStates != 0 {
		item("max-states", lim.MaxStates)
	}
	if s&hitRuns != 0 {
		item("max-runs", runs)
	}
	if s&hitCancelled != 0 {
		item("cancelled", -1)
	}
	if s&hitMemory != 0 {
		item("max-memory", -1)
	}
	return b.String()
}
