package sched

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrNondeterministic reports that replaying the same schedule twice did
// not give the same execution.
var ErrNondeterministic = errors.New("sched: system is not deterministic")

// CheckDeterminism replays schedule twice from sys.Init() and compares,
// after every step, the step's label, the canonical encoding of the state
// and the set of enabled threads (the encoding of the initial states is
// compared too). It returns nil when both replays agree, an error wrapping
// [ErrNondeterministic] that names the first differing step (0-based; "init"
// for the initial state), or the [ErrNotEnabled] error of a schedule that
// cannot be replayed.
//
// Replaying twice in sequence catches state hidden outside S (counters in
// the system value, globals, map iteration order) that a single replay
// cannot see.
func CheckDeterminism[S comparable](sys System[S], schedule []int) error {
	a, err := record(sys, schedule)
	if err != nil {
		return err
	}
	b, errB := record(sys, schedule)
	if !bytes.Equal(a.enc(0), b.enc(0)) {
		return fmt.Errorf("sched: init: initial state encodings differ: %w", ErrNondeterministic)
	}
	// b may have stopped early (errB); compare the steps it did take.
	for k := range b.labels {
		i := schedule[k]
		switch {
		case a.labels[k] != b.labels[k]:
			return fmt.Errorf("sched: step %d: thread %d: labels differ: %q vs %q: %w",
				k, i, a.labels[k], b.labels[k], ErrNondeterministic)
		case !bytes.Equal(a.enc(k+1), b.enc(k+1)):
			return fmt.Errorf("sched: step %d: thread %d (%s): state encodings differ: %w",
				k, i, a.labels[k], ErrNondeterministic)
		case !slices.Equal(a.enabled(k+1), b.enabled(k+1)):
			return fmt.Errorf("sched: step %d: thread %d (%s): enabled threads differ: %v vs %v: %w",
				k, i, a.labels[k], a.enabled(k+1), b.enabled(k+1), ErrNondeterministic)
		}
	}
	if errB != nil {
		return fmt.Errorf("sched: second replay: %w (%w)", errB, ErrNondeterministic)
	}
	return nil
}

// recording is one replay: the labels, and, for the initial state and after
// every step, the state's encoding and enabled threads, stored back to back
// with end offsets.
type recording struct {
	labels []string
	encs   []byte
	encEnd []int
	ens    []int
	enEnd  []int
}

// enc returns the encoding of the state after step k-1 (k = 0: initial).
func (r *recording) enc(k int) []byte {
	lo := 0
	if k > 0 {
		lo = r.encEnd[k-1]
	}
	return r.encs[lo:r.encEnd[k]]
}

// enabled returns the enabled threads after step k-1 (k = 0: initial).
func (r *recording) enabled(k int) []int {
	lo := 0
	if k > 0 {
		lo = r.enEnd[k-1]
	}
	return r.ens[lo:r.enEnd[k]]
}

// record replays schedule once, recording what CheckDeterminism compares.
// If a scheduled thread is not enabled it returns what it recorded so far
// and the ErrNotEnabled error.
func record[S comparable](sys System[S], schedule []int) (*recording, error) {
	r := &recording{labels: make([]string, 0, len(schedule))}
	s := sys.Init()
	var en []int // enabled threads of s, a view into r.ens
	snap := func() {
		r.encs = sys.Encode(&s, r.encs)
		r.encEnd = append(r.encEnd, len(r.encs))
		n := len(r.ens)
		r.ens = sys.Enabled(&s, r.ens)
		en = r.ens[n:]
		r.enEnd = append(r.enEnd, len(r.ens))
	}
	snap()
	for k, i := range schedule {
		if !contains(en, i) {
			return r, notEnabled(k, i, en)
		}
		r.labels = append(r.labels, sys.Step(&s, i))
		snap()
	}
	return r, nil
}
