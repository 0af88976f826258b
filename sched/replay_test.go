package sched_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"mimcheck/sched"
)

// TestReplay: a valid schedule replays to its end state; a thread that is
// not enabled gives ErrNotEnabled naming the step and the thread.
func TestReplay(t *testing.T) {
	sys := grid{Threads: 2, Steps: 2}
	s, labels, err := sched.Replay[gridState](sys, []int{1, 0, 1})
	if err != nil || s.c != [4]uint8{1, 2} || !reflect.DeepEqual(labels, []string{"t1.inc", "t0.inc", "t1.inc"}) {
		t.Fatalf("got %v %q %v", s, labels, err)
	}
	s, labels, err = sched.Replay[gridState](sys, []int{1, 1, 1, 0})
	if !errors.Is(err, sched.ErrNotEnabled) || !strings.Contains(err.Error(), "step 2") ||
		!strings.Contains(err.Error(), "thread 1") || len(labels) != 2 || s.c != [4]uint8{0, 2} {
		t.Fatalf("got %v %q %v", s, labels, err)
	}
	if _, _, f, err := sched.ReplayCheck[gridState](sys, []int{5}); !errors.Is(err, sched.ErrNotEnabled) || f != nil {
		t.Fatalf("ReplayCheck: %v %v", f, err)
	}
}

// TestReplayCheckClean: a schedule without violation returns no Found, and
// a complete non-violating lost-update schedule passes Final.
func TestReplayCheckClean(t *testing.T) {
	s, labels, f, err := sched.ReplayCheck[counterState](lostUpdate{}, []int{0, 0, 1, 1})
	if err != nil || f != nil || s.x != 2 || len(labels) != 4 {
		t.Fatalf("got %+v %q %+v %v", s, labels, f, err)
	}
	// A prefix stops before the end: Final is not called.
	if _, _, f, err := sched.ReplayCheck[counterState](lostUpdate{}, []int{0, 1}); f != nil || err != nil {
		t.Fatalf("prefix: %+v %v", f, err)
	}
}

// TestCheckDeterminism: pure systems pass; a system with state hidden
// outside S fails at the first step whose label or encoding differs.
func TestCheckDeterminism(t *testing.T) {
	if err := sched.CheckDeterminism[lockState](brokenLock{}, []int{0, 1, 0, 0, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if err := sched.CheckDeterminism[gridState](grid{Threads: 2, Steps: 2}, []int{0, 0, 3}); !errors.Is(err, sched.ErrNotEnabled) {
		t.Fatalf("got %v, want ErrNotEnabled", err)
	}

	// Hidden counter in the label: the second replay's first label differs.
	err := sched.CheckDeterminism[gridState](&leakyLabels{grid: grid{Threads: 2, Steps: 2}}, []int{0, 1})
	if !errors.Is(err, sched.ErrNondeterministic) || !strings.Contains(err.Error(), "step 0") || !strings.Contains(err.Error(), "labels") {
		t.Fatalf("leaky labels: %v", err)
	}
	// Hidden counter leaking into the state from step 1 on.
	err = sched.CheckDeterminism[gridState](&leakyState{grid: grid{Threads: 2, Steps: 2}}, []int{0, 1, 1})
	if !errors.Is(err, sched.ErrNondeterministic) || !strings.Contains(err.Error(), "step 1") || !strings.Contains(err.Error(), "encodings") {
		t.Fatalf("leaky state: %v", err)
	}
}

// leakyLabels numbers its labels with a counter kept outside the state.
type leakyLabels struct {
	grid
	n int
}

func (l *leakyLabels) Step(s *gridState, i int) string {
	l.n++
	return l.grid.Step(s, i) + strings.Repeat("'", l.n)
}

// leakyState lets a counter kept outside the state decide how far a step
// advances.
type leakyState struct {
	grid
	n int
}

func (l *leakyState) Step(s *gridState, i int) string {
	l.n++
	if l.n == 5 { // step 1 of the second replay: thread i steps twice
		s.c[i]++
	}
	return l.grid.Step(s, i)
}
