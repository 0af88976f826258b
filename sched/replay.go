package sched

import (
	"errors"
	"fmt"
)

// ErrNotEnabled reports a schedule that asks a thread to step when it is not
// enabled: the schedule does not belong to this system (or to this version
// of it), or the system is not deterministic.
var ErrNotEnabled = errors.New("sched: scheduled thread not enabled")

// Replay executes schedule step by step from sys.Init() and returns the
// state reached and the label of every step. If the thread scheduled at
// step k (0-based) is not enabled, it returns the state before that step,
// the labels so far, and an error wrapping [ErrNotEnabled] that names k,
// the thread and the enabled threads. Replay calls neither Check nor Final.
func Replay[S comparable](sys System[S], schedule []int) (S, []string, error) {
	s := sys.Init()
	labels := make([]string, 0, len(schedule))
	var en []int
	for k, i := range schedule {
		en = sys.Enabled(&s, en[:0])
		if !contains(en, i) {
			return s, labels, notEnabled(k, i, en)
		}
		labels = append(labels, sys.Step(&s, i))
	}
	return s, labels, nil
}

// ReplayCheck is [Replay] with the checks of a search: Check on the initial
// state and after every step, and Final at the end if no thread is enabled
// there. It returns the first violation found, with Schedule and Labels
// truncated to the prefix that reaches it, and the state in which it was
// found; the Found is nil when every check passes. The error is non-nil
// only when the schedule cannot be replayed ([ErrNotEnabled]).
func ReplayCheck[S comparable](sys System[S], schedule []int) (S, []string, *Found, error) {
	s := sys.Init()
	labels := make([]string, 0, len(schedule))
	found := func(err error, k int, final bool) *Found {
		return &Found{
			Err:      err,
			Schedule: append([]int{}, schedule[:k]...),
			Labels:   append([]string{}, labels...),
			Final:    final,
		}
	}
	if err := sys.Check(&s); err != nil {
		return s, labels, found(err, 0, false), nil
	}
	var en []int
	for k, i := range schedule {
		en = sys.Enabled(&s, en[:0])
		if !contains(en, i) {
			return s, labels, nil, notEnabled(k, i, en)
		}
		labels = append(labels, sys.Step(&s, i))
		if err := sys.Check(&s); err != nil {
			return s, labels, found(err, k+1, false), nil
		}
	}
	if en = sys.Enabled(&s, en[:0]); len(en) == 0 {
		if err := sys.Final(&s); err != nil {
			return s, labels, found(err, len(schedule), true), nil
		}
	}
	return s, labels, nil, nil
}

// notEnabled builds the ErrNotEnabled error for thread i at step k.
func notEnabled(k, i int, en []int) error {
	return fmt.Errorf("sched: step %d: thread %d (enabled %v): %w", k, i, en, ErrNotEnabled)
}
