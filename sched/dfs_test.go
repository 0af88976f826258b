package sched_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"mimcheck/sched"
)

// both runs the test body for the hashed and the exact visited set.
func both(t *testing.T, f func(t *testing.T, opt sched.Options)) {
	for _, exact := range []bool{false, true} {
		opt := sched.Options{Exact: exact}
		t.Run(fmt.Sprintf("exact=%v", exact), func(t *testing.T) { f(t, opt) })
	}
}

// wantOK fails unless r is a complete OK result.
func wantOK(t *testing.T, r sched.Result) {
	t.Helper()
	if r.Verdict != sched.OK || !r.Complete || r.LimitHit != "" || r.Violation != nil {
		t.Fatalf("got %v complete=%v limit=%q violation=%v, want ok", r.Verdict, r.Complete, r.LimitHit, r.Violation)
	}
}

// wantPartial fails unless r is Partial with exactly the given LimitHit.
func wantPartial(t *testing.T, r sched.Result, limit string) {
	t.Helper()
	if r.Verdict != sched.Partial || r.Complete || r.LimitHit != limit || r.Violation != nil {
		t.Fatalf("got %v complete=%v limit=%q violation=%v, want partial %q", r.Verdict, r.Complete, r.LimitHit, r.Violation, limit)
	}
}

// TestExhaustiveGrid pins the two independent 2-step threads scenario
// (style.md §6): a 3x3 grid of 9 states, 12 transitions (each of the 9
// states has one outgoing step per unfinished thread: 2*3*2 = 12), and
// C(4,2) = 6 interleavings in the unmerged execution tree.
func TestExhaustiveGrid(t *testing.T) {
	sys := grid{Threads: 2, Steps: 2}
	if got := walkTree[gridState](sys, -1).paths; got != 6 {
		t.Fatalf("tree walk: %d interleavings, want C(4,2) = 6", got)
	}
	both(t, func(t *testing.T, opt sched.Options) {
		r := sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), opt)
		wantOK(t, r)
		if r.States != 9 || r.Transitions != 12 || r.Runs != 1 || r.MaxDepthSeen != 4 {
			t.Fatalf("states=%d transitions=%d runs=%d depth=%d, want 9 12 1 4", r.States, r.Transitions, r.Runs, r.MaxDepthSeen)
		}
		if r.Exact != opt.Exact {
			t.Fatalf("Exact=%v, want %v", r.Exact, opt.Exact)
		}
	})
}

// TestExhaustiveGridLarger checks the (n+1)^k closed form of the grid for a
// few sizes, and the transition count k*n*(n+1)^(k-1).
func TestExhaustiveGridLarger(t *testing.T) {
	for _, g := range []grid{{1, 5}, {2, 5}, {3, 4}, {4, 3}, {3, 14}} {
		states, trans := int64(1), int64(g.Threads*g.Steps)
		for k := 0; k < g.Threads; k++ {
			states *= int64(g.Steps + 1)
			if k > 0 {
				trans *= int64(g.Steps + 1)
			}
		}
		r := sched.Exhaustive[gridState](context.Background(), g, sched.NoLimits(), sched.Options{})
		wantOK(t, r)
		if r.States != states || r.Transitions != trans {
			t.Errorf("%+v: states=%d transitions=%d, want %d %d", g, r.States, r.Transitions, states, trans)
		}
	}
}

// TestExhaustiveLostUpdate: the lost-update counter is found by Exhaustive
// (style.md §6), through Final, and the schedule reproduces it.
func TestExhaustiveLostUpdate(t *testing.T) {
	both(t, func(t *testing.T, opt sched.Options) {
		r := sched.Exhaustive[counterState](context.Background(), lostUpdate{}, sched.NoLimits(), opt)
		if r.Verdict != sched.Violation || r.Violation == nil || r.Complete {
			t.Fatalf("got %v, want violation", r.Verdict)
		}
		v := r.Violation
		if !v.Final || !strings.Contains(v.Err.Error(), "lost-update") {
			t.Fatalf("violation %+v, want a Final lost-update", v)
		}
		// Ascending DFS: t0 runs to completion first (no violation), then
		// t0 load, t1 load, t0 store, t1 store is the first lost update.
		if want := []int{0, 1, 0, 1}; !reflect.DeepEqual(v.Schedule, want) {
			t.Fatalf("schedule %v, want %v", v.Schedule, want)
		}
		if want := []string{"inc.load-x", "inc.load-x", "inc.store-x", "inc.store-x"}; !reflect.DeepEqual(v.Labels, want) {
			t.Fatalf("labels %q, want %q", v.Labels, want)
		}
		s, labels, f, err := sched.ReplayCheck[counterState](lostUpdate{}, v.Schedule)
		if err != nil || f == nil {
			t.Fatalf("ReplayCheck: found=%v err=%v, want the violation", f, err)
		}
		if f.Err.Error() != v.Err.Error() || !f.Final || !reflect.DeepEqual(f.Schedule, v.Schedule) ||
			!reflect.DeepEqual(f.Labels, v.Labels) || !reflect.DeepEqual(labels, v.Labels) || s.x != 1 {
			t.Fatalf("ReplayCheck found %+v (x=%d), want %+v", f, s.x, v)
		}
	})
}

// TestExhaustiveCheckViolation: a violation found by Check stops the search
// at the step that causes it, and ReplayCheck of a longer schedule that
// passes through it truncates to the violating prefix.
func TestExhaustiveCheckViolation(t *testing.T) {
	both(t, func(t *testing.T, opt sched.Options) {
		r := sched.Exhaustive[lockState](context.Background(), brokenLock{}, sched.NoLimits(), opt)
		if r.Verdict != sched.Violation || r.Violation.Final {
			t.Fatalf("got %v %+v, want a Check violation", r.Verdict, r.Violation)
		}
		v := r.Violation
		// Ascending DFS: t0 load (flag clear), t1 load (flag still clear),
		// t0 set, t0 enter; the subtree where t0 leaves first is clean;
		// then t1 set, t0 leave is clean; t1 set, t1 enter is the first
		// state with both threads inside.
		if want := []int{0, 1, 0, 0, 1, 1}; !reflect.DeepEqual(v.Schedule, want) {
			t.Fatalf("schedule %v, want %v", v.Schedule, want)
		}
		if len(v.Labels) != len(v.Schedule) || v.Labels[len(v.Labels)-1] != "lock.enter" {
			t.Fatalf("labels %q", v.Labels)
		}
		longer := append(append([]int{}, v.Schedule...), 0, 1)
		_, _, f, err := sched.ReplayCheck[lockState](brokenLock{}, longer)
		if err != nil || f == nil || !reflect.DeepEqual(f.Schedule, v.Schedule) || f.Final {
			t.Fatalf("ReplayCheck(%v) = %+v, %v; want schedule %v", longer, f, err, v.Schedule)
		}
	})
}

// TestExhaustiveViolationAtInit: Check failing on the initial state gives an
// empty, non-nil schedule and no step.
func TestExhaustiveViolationAtInit(t *testing.T) {
	r := sched.Exhaustive[counterState](context.Background(), badInit{}, sched.NoLimits(), sched.Options{})
	if r.Verdict != sched.Violation || r.Violation.Schedule == nil || len(r.Violation.Schedule) != 0 || r.Transitions != 0 {
		t.Fatalf("got %+v", r)
	}
}

// badInit is lostUpdate with a Check that rejects every state.
type badInit struct{ lostUpdate }

func (badInit) Check(*counterState) error { return fmt.Errorf("bad-init") }

// binom returns C(n, k).
func binom(n, k int) int {
	if k < 0 || k > n {
		return 0
	}
	r := 1
	for i := 0; i < k; i++ {
		r = r * (n - i) / (i + 1)
	}
	return r
}

// boundedSchedules is the closed form for the number of complete schedules
// of two always-enabled independent threads of n steps each with at most K
// preemptions. A schedule is b >= 2 alternating blocks; every switch is a
// preemption except the last (the thread of the second-to-last block has
// finished), so it has b-2 preemptions. Starting with either thread, the
// first thread's n steps split into ceil(b/2) blocks and the other's into
// floor(b/2): 2 * C(n-1, ceil(b/2)-1) * C(n-1, floor(b/2)-1).
// (Cf. the preemption-bound counts of loom's and shuttle's tests.)
func boundedSchedules(n, k int) int {
	total := 0
	for b := 2; b <= k+2; b++ {
		total += 2 * binom(n-1, (b+1)/2-1) * binom(n-1, b/2-1)
	}
	return total
}

// TestPreemptionBound checks bounded search on the 2-thread n-step grid
// against closed forms and against the naive tree walk.
//
// With K = 0 the reachable states are the perimeter of the grid (4n
// states: each thread runs to completion first), stored as 4n+1 keys
// because the end state is reached with last thread 0 and with last
// thread 1; Final runs on both, so Runs = 2, the 2 complete executions.
// In general the end state is reached with every preemption count 0..K
// and either last thread, so Runs = 2(K+1) for K <= 2n-2 (the most
// preemptions a schedule can have). Any K >= 1 reaches all (n+1)^2 states.
// The search is partial while K < 2n-2 and complete from there on.
func TestPreemptionBound(t *testing.T) {
	for n := 1; n <= 5; n++ {
		sys := grid{Threads: 2, Steps: n}
		if got, want := walkTree[gridState](sys, -1).paths, binom(2*n, n); got != want {
			t.Fatalf("n=%d: %d unbounded schedules, want %d", n, got, want)
		}
		for k := 0; k <= 2*n-1; k++ {
			tree := walkTree[gridState](sys, k)
			if want := boundedSchedules(n, k); tree.paths != want {
				t.Fatalf("n=%d K=%d: tree walk found %d schedules, closed form %d", n, k, tree.paths, want)
			}
			lim := sched.NoLimits()
			lim.MaxPreemptions = k
			both(t, func(t *testing.T, opt sched.Options) {
				rec := newRecorder[gridState](sys)
				r := sched.Exhaustive[gridState](context.Background(), rec, lim, opt)
				if k < 2*n-2 {
					wantPartial(t, r, fmt.Sprintf("max-preemptions=%d", k))
				} else {
					wantOK(t, r)
				}
				if r.States != int64(len(tree.keys)) {
					t.Fatalf("n=%d K=%d: %d keys, tree walk %d", n, k, r.States, len(tree.keys))
				}
				if len(rec.seen) != len(tree.states) {
					t.Fatalf("n=%d K=%d: %d states, tree walk %d", n, k, len(rec.seen), len(tree.states))
				}
				wantStates, wantKeys, wantRuns := (n+1)*(n+1), len(tree.keys), 2*(min(k, 2*n-2)+1)
				if k == 0 {
					wantStates, wantKeys = 4*n, 4*n+1
				}
				if len(rec.seen) != wantStates || int(r.States) != wantKeys || int(r.Runs) != wantRuns {
					t.Fatalf("n=%d K=%d: states=%d keys=%d runs=%d, want %d %d %d",
						n, k, len(rec.seen), r.States, r.Runs, wantStates, wantKeys, wantRuns)
				}
			})
		}
		r := sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), sched.Options{})
		wantOK(t, r)
		if r.States != int64((n+1)*(n+1)) {
			t.Fatalf("n=%d unbounded: %d states", n, r.States)
		}
	}
}

// TestPreemptionBoundFindsLostUpdate: the lost update needs one preemption
// (t0 load, switch to t1 while t0 is enabled), so K=0 misses it and
// reports partial, and K=1 finds it.
func TestPreemptionBoundFindsLostUpdate(t *testing.T) {
	lim := sched.NoLimits()
	lim.MaxPreemptions = 0
	wantPartial(t, sched.Exhaustive[counterState](context.Background(), lostUpdate{}, lim, sched.Options{}), "max-preemptions=0")
	lim.MaxPreemptions = 1
	if r := sched.Exhaustive[counterState](context.Background(), lostUpdate{}, lim, sched.Options{}); r.Verdict != sched.Violation {
		t.Fatalf("K=1: got %v, want violation", r.Verdict)
	}
}

// TestLimits: MaxDepth and MaxStates prune the search and are named; a
// bound that prunes nothing leaves the result OK (style.md §1.5: a limit is
// never a pass).
func TestLimits(t *testing.T) {
	sys := grid{Threads: 2, Steps: 2} // 9 states, longest path 4
	cases := []struct {
		lim   sched.Limits
		limit string // "" means OK
		check func(r sched.Result) bool
	}{
		{sched.Limits{MaxDepth: 2, MaxPreemptions: -1}, "max-depth=2", func(r sched.Result) bool { return r.States == 6 && r.MaxDepthSeen == 2 }},
		{sched.Limits{MaxDepth: 3, MaxPreemptions: -1}, "max-depth=3", func(r sched.Result) bool { return r.States == 8 && r.Runs == 0 }},
		{sched.Limits{MaxDepth: 4, MaxPreemptions: -1}, "", func(r sched.Result) bool { return r.States == 9 && r.Runs == 1 }},
		{sched.Limits{MaxStates: 5, MaxPreemptions: -1}, "max-states=5", func(r sched.Result) bool { return r.States == 5 }},
		{sched.Limits{MaxStates: 8, MaxPreemptions: -1}, "max-states=8", func(r sched.Result) bool { return r.States == 8 }},
		{sched.Limits{MaxStates: 9, MaxPreemptions: -1}, "", func(r sched.Result) bool { return r.States == 9 }},
		{sched.Limits{MaxDepth: 2, MaxPreemptions: 0}, "max-depth=2,max-preemptions=0", nil},
		{sched.Limits{MaxDepth: 1, MaxPreemptions: -1, MaxRuns: 3}, "max-depth=1", nil}, // MaxRuns is ignored
	}
	for _, c := range cases {
		both(t, func(t *testing.T, opt sched.Options) {
			r := sched.Exhaustive[gridState](context.Background(), sys, c.lim, opt)
			if c.limit == "" {
				wantOK(t, r)
			} else {
				wantPartial(t, r, c.limit)
			}
			if c.check != nil && !c.check(r) {
				t.Fatalf("%+v: unexpected counts %+v", c.lim, r)
			}
		})
	}
}

// TestCancelled: a cancelled context gives Partial "cancelled", never OK.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sys := grid{Threads: 2, Steps: 2}
	wantPartial(t, sched.Exhaustive[gridState](ctx, sys, sched.NoLimits(), sched.Options{}), "cancelled")
	r := sched.RandomWalk[gridState](ctx, sys, sched.NoLimits(), 1)
	wantPartial(t, r, "cancelled")
	if r.Runs != 0 {
		t.Fatalf("runs=%d after cancellation", r.Runs)
	}
}

// TestExactMatchesHashed: both visited sets give identical results on the
// toy systems, bounded or not.
func TestExactMatchesHashed(t *testing.T) {
	type run func(opt sched.Options, lim sched.Limits) sched.Result
	ctx := context.Background()
	systems := []struct {
		name string
		f    run
	}{
		{"grid", func(o sched.Options, l sched.Limits) sched.Result {
			return sched.Exhaustive[gridState](ctx, grid{Threads: 3, Steps: 3}, l, o)
		}},
		{"grid-big", func(o sched.Options, l sched.Limits) sched.Result { // several table doublings
			return sched.Exhaustive[gridState](ctx, grid{Threads: 3, Steps: 14}, l, o)
		}},
		{"lost-update", func(o sched.Options, l sched.Limits) sched.Result {
			return sched.Exhaustive[counterState](ctx, lostUpdate{}, l, o)
		}},
		{"broken-lock", func(o sched.Options, l sched.Limits) sched.Result {
			return sched.Exhaustive[lockState](ctx, brokenLock{}, l, o)
		}},
	}
	for _, sys := range systems {
		name, f := sys.name, sys.f
		for _, k := range []int{-1, 0, 1, 2} {
			lim := sched.Limits{MaxPreemptions: k}
			// 64-bit (default), 128-bit and exact stores agree on everything
			// but the store's own fields.
			h := f(sched.Options{}, lim)
			for _, o := range []sched.Options{{Fingerprint: 128}, {Exact: true}} {
				e := f(o, lim)
				e.Exact, e.FingerprintBits, e.BytesPerState = h.Exact, h.FingerprintBits, h.BytesPerState
				if !sameResult(h, e) {
					t.Errorf("%s K=%d: 64-bit %+v, %+v %+v", name, k, h, o, e)
				}
			}
		}
	}
}

// sameResult compares two results, errors by message.
func sameResult(a, b sched.Result) bool {
	va, vb := a.Violation, b.Violation
	a.Violation, b.Violation = nil, nil
	if !reflect.DeepEqual(a, b) || (va == nil) != (vb == nil) {
		return false
	}
	if va == nil {
		return true
	}
	return va.Err.Error() == vb.Err.Error() && va.Final == vb.Final &&
		reflect.DeepEqual(va.Schedule, vb.Schedule) && reflect.DeepEqual(va.Labels, vb.Labels)
}

// TestExhaustiveDeterministic: two identical searches give identical
// results.
func TestExhaustiveDeterministic(t *testing.T) {
	for _, k := range []int{-1, 1} {
		lim := sched.Limits{MaxPreemptions: k}
		a := sched.Exhaustive[lockState](context.Background(), brokenLock{}, lim, sched.Options{})
		b := sched.Exhaustive[lockState](context.Background(), brokenLock{}, lim, sched.Options{})
		if !sameResult(a, b) {
			t.Fatalf("K=%d: %+v vs %+v", k, a, b)
		}
	}
}

// TestVerdictString pins the kebab-case names, and the zero Verdict is not
// "ok".
func TestVerdictString(t *testing.T) {
	for _, c := range []struct {
		v    sched.Verdict
		want string
	}{{sched.OK, "ok"}, {sched.Violation, "violation"}, {sched.Partial, "partial"}, {0, "verdict(0)"}} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%d: %q, want %q", c.v, got, c.want)
		}
	}
}

// TestCollisionProbability: 0 for exact searches, the birthday bound
// otherwise.
func TestCollisionProbability(t *testing.T) {
	if p := (sched.Result{States: 1e7, Exact: true}).CollisionProbability(); p != 0 {
		t.Fatalf("exact: %g", p)
	}
	p := (sched.Result{States: 1 << 32}).CollisionProbability()
	if p != math.Ldexp(1, -65) {
		t.Fatalf("2^32 states: %g, want 2^64/2^129 = 2^-65", p)
	}
}
