package allocsim_test

// Regression against the SPIN anchor (../shared/anchors/spin/RESULTS.md).
// Under --abstraction spin the model implements exactly scenarios.md, so
// its state and transition counts must equal SPIN's minus the offsets of
// scenarios.md §1.4 (states - 2, transitions - 3), and every seeded bug of
// §1.6 must be found, with a schedule that replays to the same invariant.

import (
	"context"
	"errors"
	"testing"
	"time"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

// spinOffsetStates / spinOffsetTransitions: scenarios.md §1.4 (SPIN's own
// initial state and init step).
const (
	spinOffsetStates      = 2
	spinOffsetTransitions = 3
)

func exhaustive(t *testing.T, m *allocsim.Sim) sched.Result {
	t.Helper()
	st := time.Now()
	res := sched.Exhaustive[model.State](context.Background(), traces.NewSystem(m), sched.Limits{MaxPreemptions: -1}, sched.Options{})
	t.Logf("%s %s mutant=%s: %v states=%d transitions=%d (%v)", m.Scenario().Name, m.Config().Abstraction, m.Config().Mutant,
		res.Verdict, res.States, res.Transitions, time.Since(st).Round(time.Millisecond))
	return res
}

// TestSpinAnchorCounts: BASELINE rows of RESULTS.md (NOREDUCE).
func TestSpinAnchorCounts(t *testing.T) {
	cases := []struct {
		name                  string
		spinStates, spinTrans int64
		wantStates, wantTrans int64
	}{
		{"S1", 139, 236, 137, 233},
		{"S2", 2801, 7274, 2799, 7271},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.spinStates-spinOffsetStates != c.wantStates || c.spinTrans-spinOffsetTransitions != c.wantTrans {
				t.Fatalf("table inconsistent with the §1.4 offsets")
			}
			m := builtin(t, c.name, 12, allocsim.Config{Abstraction: allocsim.SpinAbs})
			res := exhaustive(t, m)
			if res.Verdict != sched.OK || !res.Complete || res.LimitHit != "" {
				var err error
				if res.Violation != nil {
					err = res.Violation.Err
				}
				t.Fatalf("verdict %v complete %v limit %q violation %v, want ok", res.Verdict, res.Complete, res.LimitHit, err)
			}
			if res.States != c.wantStates || res.Transitions != c.wantTrans {
				t.Errorf("states=%d transitions=%d, want %d/%d (SPIN %d/%d)", res.States, res.Transitions,
					c.wantStates, c.wantTrans, c.spinStates, c.spinTrans)
			}
		})
	}
}

// TestSpinAnchorS3Rounds0: S3 with ROUNDS=0 (the final round alone) is
// explored completely without violation.
func TestSpinAnchorS3Rounds0(t *testing.T) {
	if testing.Short() {
		t.Skip("S3 search skipped in -short")
	}
	m := builtin(t, "S3", 0, allocsim.Config{Abstraction: allocsim.SpinAbs})
	res := exhaustive(t, m)
	if res.Verdict != sched.OK || !res.Complete {
		var err error
		if res.Violation != nil {
			err = res.Violation.Err
		}
		t.Fatalf("verdict %v complete %v limit %q violation %v, want ok", res.Verdict, res.Complete, res.LimitHit, err)
	}
	// SPIN: 293851 states stored for -DROUNDS=0, i.e. 293849 model states.
	const want = 293851 - spinOffsetStates
	if res.States != want {
		t.Errorf("states=%d, want %d (SPIN 293851 - %d)", res.States, want, spinOffsetStates)
	}
}

// TestSpinMutantsFound: every seeded bug of scenarios.md §1.6 is found on S1
// and S2, under the invariant of RESULTS.md's "violated assertion" column,
// and the reported schedule replays (sched.ReplayCheck) to the same
// invariant.
func TestSpinMutantsFound(t *testing.T) {
	cases := []struct {
		mut  allocsim.Mutant
		want string
	}{
		{allocsim.MutBugA, "span-queue-owner"},        // tid[qdx/5]==t in q_delete (O2)
		{allocsim.MutBugA1, "span-queue-owner"},       // same assertion, neighbour unlinks only
		{allocsim.MutBugB, "span-queue-membership"},   // Q2/S2: abandoned segment's span still queued
		{allocsim.MutBugC, "unique-claim"},            // hold[hs]==0: second claimer finds a holder
		{allocsim.MutBugSubproc, "no-use-after-free"}, // alive && subp: late subproc read after free
	}
	for _, name := range []string{"S1", "S2"} {
		for _, c := range cases {
			t.Run(name+"/"+c.mut.String(), func(t *testing.T) {
				m := builtin(t, name, 12, allocsim.Config{Abstraction: allocsim.SpinAbs, Mutant: c.mut})
				res := exhaustive(t, m)
				if res.Verdict != sched.Violation || res.Violation == nil {
					t.Fatalf("verdict %v, want a violation", res.Verdict)
				}
				var v *properties.Violation
				if !errors.As(res.Violation.Err, &v) {
					t.Fatalf("violation %v is not a *properties.Violation", res.Violation.Err)
				}
				if v.Invariant != c.want {
					t.Errorf("invariant %q (%v), want %q", v.Invariant, v, c.want)
				}
				if len(res.Violation.Labels) != len(res.Violation.Schedule) {
					t.Errorf("%d labels for %d steps", len(res.Violation.Labels), len(res.Violation.Schedule))
				}
				_, labels, found, err := sched.ReplayCheck[model.State](traces.NewSystem(m), res.Violation.Schedule)
				if err != nil {
					t.Fatalf("replay: %v", err)
				}
				if found == nil {
					t.Fatalf("replay of the %d-step schedule finds no violation", len(res.Violation.Schedule))
				}
				var rv *properties.Violation
				if !errors.As(found.Err, &rv) || rv.Invariant != v.Invariant {
					t.Errorf("replay violates %v, the search reported %v", found.Err, v)
				}
				if len(found.Schedule) != len(res.Violation.Schedule) {
					t.Errorf("replay stops after %d steps, the search after %d", len(found.Schedule), len(res.Violation.Schedule))
				}
				for k := range labels {
					if k < len(res.Violation.Labels) && labels[k] != res.Violation.Labels[k] {
						t.Errorf("step %d: replay label %q, search label %q", k, labels[k], res.Violation.Labels[k])
						break
					}
				}
				// The baseline does not fail on the mutant's schedule at the
				// same point: the violation is the mutant's.
				base := builtin(t, name, 12, allocsim.Config{Abstraction: allocsim.SpinAbs})
				if _, _, bf, err := sched.ReplayCheck[model.State](traces.NewSystem(base), res.Violation.Schedule); err == nil && bf != nil {
					t.Errorf("the baseline fails on the same schedule too: %v", bf.Err)
				}
			})
		}
	}
}
