package sched_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"mimcheck/sched"
)

// TestRandomWalkLostUpdate: a fixed seed finds the lost update within 1000
// runs, and the reported schedule replays to the same violation.
func TestRandomWalkLostUpdate(t *testing.T) {
	lim := sched.NoLimits()
	lim.MaxRuns = 1000
	r := sched.RandomWalk[counterState](context.Background(), lostUpdate{}, lim, 42)
	if r.Verdict != sched.Violation || r.Violation == nil || !r.Violation.Final {
		t.Fatalf("got %v %+v, want a Final violation", r.Verdict, r.Violation)
	}
	if r.Runs < 1 || r.Runs > 1000 || r.Complete {
		t.Fatalf("runs=%d complete=%v", r.Runs, r.Complete)
	}
	v := r.Violation
	_, labels, f, err := sched.ReplayCheck[counterState](lostUpdate{}, v.Schedule)
	if err != nil || f == nil || f.Err.Error() != v.Err.Error() || !reflect.DeepEqual(labels, v.Labels) {
		t.Fatalf("ReplayCheck(%v) = %+v, %v", v.Schedule, f, err)
	}
	if err := sched.CheckDeterminism[counterState](lostUpdate{}, v.Schedule); err != nil {
		t.Fatal(err)
	}
}

// TestRandomWalkDeterministic: the same seed gives the identical Result,
// violation schedule included (style.md §6: same seed, same trace).
func TestRandomWalkDeterministic(t *testing.T) {
	for _, seed := range []uint64{0, 1, 42, 1 << 63} {
		a := sched.RandomWalk[lockState](context.Background(), brokenLock{}, sched.NoLimits(), seed)
		b := sched.RandomWalk[lockState](context.Background(), brokenLock{}, sched.NoLimits(), seed)
		if !sameResult(a, b) {
			t.Fatalf("seed %d: %+v vs %+v", seed, a, b)
		}
		if a.Verdict != sched.Violation || a.Violation.Final {
			t.Fatalf("seed %d: got %v, want a Check violation", seed, a.Verdict)
		}
		g := grid{Threads: 3, Steps: 3}
		lim := sched.Limits{MaxPreemptions: 2, MaxRuns: 50}
		a = sched.RandomWalk[gridState](context.Background(), g, lim, seed)
		b = sched.RandomWalk[gridState](context.Background(), g, lim, seed)
		if !sameResult(a, b) {
			t.Fatalf("seed %d grid: %+v vs %+v", seed, a, b)
		}
	}
}

// TestRandomWalkPartial: without a violation the verdict is Partial with
// max-runs named, never OK; the counters add up.
func TestRandomWalkPartial(t *testing.T) {
	sys := grid{Threads: 2, Steps: 2}
	r := sched.RandomWalk[gridState](context.Background(), sys, sched.NoLimits(), 7)
	wantPartial(t, r, "max-runs=1000")
	if r.Runs != 1000 || r.Transitions != 4000 || r.States != 9 || r.MaxDepthSeen != 4 || r.Exact {
		t.Fatalf("got %+v", r)
	}

	r = sched.RandomWalk[gridState](context.Background(), sys, sched.Limits{MaxDepth: 3, MaxPreemptions: -1, MaxRuns: 10}, 7)
	wantPartial(t, r, "max-depth=3,max-runs=10")
	if r.Runs != 10 || r.Transitions != 30 || r.MaxDepthSeen != 3 {
		t.Fatalf("got %+v", r)
	}

	r = sched.RandomWalk[gridState](context.Background(), grid{Threads: 3, Steps: 3}, sched.Limits{MaxStates: 10, MaxPreemptions: -1}, 7)
	if r.Verdict != sched.Partial || !strings.Contains(r.LimitHit, "max-states=10") || r.States != 10 {
		t.Fatalf("got %+v", r)
	}
}

// TestRandomWalkPreemptionBound: with K=0 a walk may only switch threads
// when the running one finishes, so on the 2-thread grid it only ever sees
// the 4n perimeter states, and the forced choices are reported.
func TestRandomWalkPreemptionBound(t *testing.T) {
	const n = 4
	sys := grid{Threads: 2, Steps: n}
	rec := newRecorder[gridState](sys)
	r := sched.RandomWalk[gridState](context.Background(), rec, sched.Limits{MaxPreemptions: 0, MaxRuns: 200}, 3)
	wantPartial(t, r, "max-preemptions=0,max-runs=200")
	if len(rec.seen) != 4*n || r.States != 4*n {
		t.Fatalf("saw %d states (%d counted), want the %d perimeter states", len(rec.seen), r.States, 4*n)
	}
	// Unbounded walks leave the perimeter.
	rec = newRecorder[gridState](sys)
	sched.RandomWalk[gridState](context.Background(), rec, sched.Limits{MaxPreemptions: -1, MaxRuns: 200}, 3)
	if len(rec.seen) != (n+1)*(n+1) {
		t.Fatalf("unbounded: saw %d states, want %d", len(rec.seen), (n+1)*(n+1))
	}
}
