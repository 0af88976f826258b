package sched_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"mimcheck/sched"
)

// lateState is the state of lateBug.
type lateState struct{ c [2]uint8 }

// lateBug has thread 0 with n harmless steps and thread 1 with two steps;
// Check fails once thread 1 has made both. The shortest counterexample is
// [1 1]; DFS, which descends into thread 0 first, reports a longer one.
type lateBug struct{ n int }

func (lateBug) Init() lateState { return lateState{} }
func (l lateBug) Enabled(s *lateState, dst []int) []int {
	if int(s.c[0]) < l.n {
		dst = append(dst, 0)
	}
	if s.c[1] < 2 {
		dst = append(dst, 1)
	}
	return dst
}
func (lateBug) Step(s *lateState, i int) string { s.c[i]++; return gridLabels[i] }
func (lateBug) Check(s *lateState) error {
	if s.c[1] == 2 {
		return errors.New("late-bug")
	}
	return nil
}
func (lateBug) Final(*lateState) error                 { return nil }
func (lateBug) Encode(s *lateState, buf []byte) []byte { return append(buf, s.c[:]...) }

// TestBFSShortestCounterexample: BFS reports the shortest counterexample,
// DFS a longer one, on the same toy.
func TestBFSShortestCounterexample(t *testing.T) {
	ctx := context.Background()
	sys := lateBug{n: 5}
	d := sched.Exhaustive[lateState](ctx, sys, sched.NoLimits(), sched.Options{})
	b := sched.BFS[lateState](ctx, sys, sched.NoLimits(), sched.Options{})
	if d.Verdict != sched.Violation || b.Verdict != sched.Violation {
		t.Fatalf("verdicts %v %v", d.Verdict, b.Verdict)
	}
	if got := b.Violation.Schedule; !reflect.DeepEqual(got, []int{1, 1}) {
		t.Fatalf("BFS schedule %v, want [1 1]", got)
	}
	if !reflect.DeepEqual(b.Violation.Labels, []string{"t1.inc", "t1.inc"}) {
		t.Fatalf("BFS labels %v", b.Violation.Labels)
	}
	if len(d.Violation.Schedule) <= 2 {
		t.Fatalf("DFS schedule %v: expected a longer one than BFS", d.Violation.Schedule)
	}
	// The BFS counterexample replays to the violation.
	if _, _, f, err := sched.ReplayCheck[lateState](sys, b.Violation.Schedule); err != nil || f == nil {
		t.Fatalf("replay: %v %v", f, err)
	}
}

// graphState is a node of a random graph.
type graphState struct{ n uint16 }

// randGraph is a deterministic pseudo-random transition system: nodes
// states, threads threads, and next[n*threads+i] the successor of node n by
// thread i (-1: thread i disabled in n). Check fails in node bad (if >= 0).
type randGraph struct {
	threads int
	next    []int
	bad     int
}

// newRandGraph builds a random graph from seed: every thread is enabled in
// a node with probability 2/3 and leads to a random node, biased towards
// higher ids so that the graph has long paths.
func newRandGraph(seed uint64, nodes, threads, bad int) randGraph {
	x := seed*0x9e3779b97f4a7c15 + 1
	rnd := func(n int) int {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(n))
	}
	g := randGraph{threads: threads, next: make([]int, nodes*threads), bad: bad}
	for n := 0; n < nodes; n++ {
		for i := 0; i < threads; i++ {
			switch {
			case rnd(3) == 0:
				g.next[n*threads+i] = -1
			case rnd(4) == 0:
				g.next[n*threads+i] = rnd(nodes)
			default:
				g.next[n*threads+i] = min(nodes-1, n+1+rnd(5))
			}
		}
	}
	return g
}

func (g randGraph) Init() graphState { return graphState{} }
func (g randGraph) Enabled(s *graphState, dst []int) []int {
	for i := 0; i < g.threads; i++ {
		if g.next[int(s.n)*g.threads+i] >= 0 {
			dst = append(dst, i)
		}
	}
	return dst
}
func (g randGraph) Step(s *graphState, i int) string {
	s.n = uint16(g.next[int(s.n)*g.threads+i])
	return gridLabels[i]
}
func (g randGraph) Check(s *graphState) error {
	if int(s.n) == g.bad {
		return fmt.Errorf("bad-node %d", g.bad)
	}
	return nil
}
func (g randGraph) Final(*graphState) error { return nil }
func (g randGraph) Encode(s *graphState, buf []byte) []byte {
	return append(buf, byte(s.n), byte(s.n>>8))
}

// parallelCase is one system for the worker-count equivalence tests.
type parallelCase struct {
	name string
	run  func(lim sched.Limits, opt sched.Options, bfs bool) sched.Result
}

func parallelCases() []parallelCase {
	ctx := context.Background()
	mk := func(name string, f func(lim sched.Limits, opt sched.Options, bfs bool) sched.Result) parallelCase {
		return parallelCase{name, f}
	}
	cases := []parallelCase{
		mk("grid-3x4", func(l sched.Limits, o sched.Options, bfs bool) sched.Result {
			if bfs {
				return sched.BFS[gridState](ctx, grid{Threads: 3, Steps: 4}, l, o)
			}
			return sched.Exhaustive[gridState](ctx, grid{Threads: 3, Steps: 4}, l, o)
		}),
		mk("lost-update", func(l sched.Limits, o sched.Options, bfs bool) sched.Result {
			if bfs {
				return sched.BFS[counterState](ctx, lostUpdate{}, l, o)
			}
			return sched.Exhaustive[counterState](ctx, lostUpdate{}, l, o)
		}),
		mk("broken-lock", func(l sched.Limits, o sched.Options, bfs bool) sched.Result {
			if bfs {
				return sched.BFS[lockState](ctx, brokenLock{}, l, o)
			}
			return sched.Exhaustive[lockState](ctx, brokenLock{}, l, o)
		}),
		mk("late-bug", func(l sched.Limits, o sched.Options, bfs bool) sched.Result {
			if bfs {
				return sched.BFS[lateState](ctx, lateBug{n: 6}, l, o)
			}
			return sched.Exhaustive[lateState](ctx, lateBug{n: 6}, l, o)
		}),
	}
	for seed := uint64(1); seed <= 12; seed++ {
		bad := -1
		if seed%3 == 0 {
			bad = 1500 + int(seed)
		}
		g := newRandGraph(seed, 3000, 3, bad)
		cases = append(cases, mk(fmt.Sprintf("graph-%d", seed), func(l sched.Limits, o sched.Options, bfs bool) sched.Result {
			if bfs {
				return sched.BFS[graphState](ctx, g, l, o)
			}
			return sched.Exhaustive[graphState](ctx, g, l, o)
		}))
	}
	return cases
}

// TestParallelSameResult: for every toy, bound and store, the BFS engine
// gives the same Result (counts, verdict, limits and counterexample) with
// 1, 2 and 4 workers, every time; and when the search is complete, the
// same States and Transitions as the sequential DFS.
func TestParallelSameResult(t *testing.T) {
	limits := []sched.Limits{
		sched.NoLimits(),
		{MaxPreemptions: 1},
		{MaxPreemptions: 2},
		{MaxDepth: 5, MaxPreemptions: -1},
		{MaxStates: 40, MaxPreemptions: -1},
	}
	for _, c := range parallelCases() {
		for li, lim := range limits {
			for _, store := range []sched.Options{{}, {Fingerprint: 128}, {Exact: true}} {
				ref := c.run(lim, store, true)
				if ref.Workers != 1 {
					t.Fatalf("workers %d", ref.Workers)
				}
				for _, w := range []int{1, 2, 4, 2, 4} {
					o := store
					o.Workers = w
					r := c.run(lim, o, true)
					r.Workers, r.BytesPerState = ref.Workers, ref.BytesPerState
					if !sameResult(ref, r) {
						t.Fatalf("%s lim#%d %+v workers=%d:\n got %+v %+v\nwant %+v %+v", c.name, li, store, w, r, r.Violation, ref, ref.Violation)
					}
				}
				// Exhaustive with Workers >= 2 and a preemption bound, exact or
				// 128-bit keys is the parallel BFS.
				if lim.MaxPreemptions >= 0 || store.Exact || store.Fingerprint == 128 {
					o := store
					o.Workers = 2
					if e := c.run(lim, o, false); e.States != ref.States || e.Transitions != ref.Transitions || e.Verdict != ref.Verdict {
						t.Fatalf("%s: Exhaustive workers=2 differs from BFS", c.name)
					}
				}
				// Complete searches: the same counts as the DFS.
				if lim.MaxDepth == 0 && lim.MaxStates == 0 {
					d := c.run(lim, store, false)
					if d.Verdict != ref.Verdict {
						t.Fatalf("%s lim#%d: DFS verdict %v, BFS %v", c.name, li, d.Verdict, ref.Verdict)
					}
					if d.Verdict != sched.Violation && (d.States != ref.States || d.Transitions != ref.Transitions || d.Runs != ref.Runs) {
						t.Fatalf("%s lim#%d: DFS %d/%d/%d, BFS %d/%d/%d", c.name, li,
							d.States, d.Transitions, d.Runs, ref.States, ref.Transitions, ref.Runs)
					}
				}
			}
		}
	}
}

// TestFingerprint64: the default store is 64-bit, at most 16 bytes per
// state once it holds more than a handful of states, with the n²/2⁶⁵
// collision estimate; the 128-bit store uses 16-byte slots.
func TestFingerprint64(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{3, 6, 10, 14, 20} {
		sys := grid{Threads: 3, Steps: n}
		r := sched.Exhaustive[gridState](ctx, sys, sched.NoLimits(), sched.Options{})
		e := sched.Exhaustive[gridState](ctx, sys, sched.NoLimits(), sched.Options{Exact: true})
		if r.FingerprintBits != 64 || r.States != e.States || r.Transitions != e.Transitions || r.States != int64((n+1)*(n+1)*(n+1)) {
			t.Fatalf("n=%d: %+v vs exact %+v", n, r, e)
		}
		if r.BytesPerState <= 0 || r.BytesPerState > 16 {
			t.Fatalf("n=%d: %.2f bytes/state", n, r.BytesPerState)
		}
		r128 := sched.Exhaustive[gridState](ctx, sys, sched.NoLimits(), sched.Options{Fingerprint: 128})
		if r128.FingerprintBits != 128 || r128.States != r.States || r128.BytesPerState < 16 {
			t.Fatalf("n=%d: 128-bit %+v", n, r128)
		}
	}
	if p := (sched.Result{States: 1 << 32, FingerprintBits: 64}).CollisionProbability(); p != 0.5 {
		t.Fatalf("64-bit, 2^32 states: %g, want 2^64/2^65", p)
	}
	if p := (sched.Result{States: 1 << 32, FingerprintBits: 128}).CollisionProbability(); p != 0x1p-65 {
		t.Fatalf("128-bit, 2^32 states: %g", p)
	}
}

// TestPCTLostUpdate: the lost update is a depth-2 bug (t1's load between
// t0's load and store, and t0's load before t1's store); PCT with d=2 finds
// it, deterministically for a seed, and for nearly every seed within 30
// runs (each run finds it with probability >= 1/(n*k) = 1/8).
func TestPCTLostUpdate(t *testing.T) {
	ctx := context.Background()
	opt := sched.PCTOptions{Depth: 2, Runs: 30, Seed: 7, MaxSteps: 4}
	a := sched.PCT[counterState](ctx, lostUpdate{}, sched.NoLimits(), opt)
	b := sched.PCT[counterState](ctx, lostUpdate{}, sched.NoLimits(), opt)
	if a.Verdict != sched.Violation || !sameResult(a, b) {
		t.Fatalf("got %+v / %+v", a, b)
	}
	if _, _, f, err := sched.ReplayCheck[counterState](lostUpdate{}, a.Violation.Schedule); err != nil || f == nil {
		t.Fatalf("replay: %v %v", f, err)
	}
	found := 0
	for seed := uint64(0); seed < 100; seed++ {
		opt.Seed = seed
		if r := sched.PCT[counterState](ctx, lostUpdate{}, sched.NoLimits(), opt); r.Verdict == sched.Violation {
			found++
		}
	}
	if found < 95 {
		t.Fatalf("found in %d of 100 seeds", found)
	}
	// Depth 1 (no change point) never preempts, so it cannot find it.
	opt.Depth, opt.Seed = 1, 7
	if r := sched.PCT[counterState](ctx, lostUpdate{}, sched.NoLimits(), opt); r.Verdict != sched.Partial || r.LimitHit != "max-runs=30" || r.Executions != 30 {
		t.Fatalf("depth 1: %+v", r)
	}
}

// TestContextBoundedGrid: iterative context bounding on the 2-thread n-step
// grid reports, per bound K, the closed forms of TestPreemptionBound: 4n
// distinct states for K=0 and (n+1)² from K=1, 2(K+1) executions, and the
// tree walk's key count; coverage is monotone and it stops at K=2n-2, the
// first bound that prunes nothing.
func TestContextBoundedGrid(t *testing.T) {
	for n := 1; n <= 5; n++ {
		sys := grid{Threads: 2, Steps: n}
		r := sched.ContextBounded[gridState](context.Background(), sys, sched.NoLimits(), 10, sched.Options{})
		wantOK(t, r)
		if len(r.Bounds) != max(1, 2*n-1) {
			t.Fatalf("n=%d: %d bounds", n, len(r.Bounds))
		}
		var prev sched.BoundReport
		for k, b := range r.Bounds {
			distinct := int64((n + 1) * (n + 1))
			if k == 0 {
				distinct = int64(4 * n)
			}
			keys := int64(len(walkTree[gridState](sys, k).keys))
			if b.Bound != k || b.Distinct != distinct || b.States != keys || b.Executions != int64(2*(k+1)) {
				t.Fatalf("n=%d K=%d: %+v, want distinct %d keys %d executions %d", n, k, b, distinct, keys, 2*(k+1))
			}
			if k > 0 && (b.Distinct < prev.Distinct || b.States < prev.States || b.Transitions < prev.Transitions) {
				t.Fatalf("n=%d K=%d: coverage not monotone: %+v after %+v", n, k, b, prev)
			}
			wantV := sched.Partial
			if k == len(r.Bounds)-1 {
				wantV = sched.OK
			}
			if b.Verdict != wantV {
				t.Fatalf("n=%d K=%d: %v", n, k, b.Verdict)
			}
			prev = b
		}
	}
}

// TestContextBoundedLostUpdate: K=0 misses the lost update, K=1 finds it
// and stops.
func TestContextBoundedLostUpdate(t *testing.T) {
	r := sched.ContextBounded[counterState](context.Background(), lostUpdate{}, sched.NoLimits(), 5, sched.Options{})
	if r.Verdict != sched.Violation || len(r.Bounds) != 2 || r.Bounds[0].Verdict != sched.Partial ||
		r.Bounds[1].Verdict != sched.Violation || r.Bounds[1].Violation == nil {
		t.Fatalf("%+v", r)
	}
}

// TestProgress: the hook is called about every ProgressEvery transitions
// with non-decreasing counters and an estimate of at least States, for the
// DFS and the (parallel) BFS.
func TestProgress(t *testing.T) {
	sys := grid{Threads: 3, Steps: 12}
	for _, w := range []int{0, 2} {
		for _, bfs := range []bool{false, true} {
			var calls []sched.Progress
			opt := sched.Options{Workers: w, ProgressEvery: 100, Progress: func(p sched.Progress) { calls = append(calls, p) }}
			var r sched.Result
			if bfs {
				r = sched.BFS[gridState](context.Background(), sys, sched.NoLimits(), opt)
			} else {
				r = sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), opt)
			}
			wantOK(t, r)
			if len(calls) < 10 {
				t.Fatalf("workers=%d bfs=%v: %d calls for %d transitions", w, bfs, len(calls), r.Transitions)
			}
			for i, p := range calls {
				if p.States > r.States || p.Frontier <= 0 ||
					(i > 0 && (p.States < calls[i-1].States || p.Transitions <= calls[i-1].Transitions)) {
					t.Fatalf("workers=%d bfs=%v call %d: %+v", w, bfs, i, p)
				}
			}
		}
	}
}

// TestParallelDFS: Exhaustive with Workers >= 2 (64-bit keys, no
// preemption bound) is the multicore DFS. Run many times with 2, 3 and 4
// workers on every toy: a complete search has the sequential DFS's
// verdict, States, Transitions and Runs; a violation is the sequential
// verdict too, with a schedule as long as its labels; MaxStates and
// cancellation stop it with a partial result (never OK).
func TestParallelDFS(t *testing.T) {
	for _, c := range parallelCases() {
		seq := c.run(sched.NoLimits(), sched.Options{}, false)
		for rep := 0; rep < 20; rep++ {
			for _, w := range []int{2, 3, 4} {
				r := c.run(sched.NoLimits(), sched.Options{Workers: w}, false)
				if r.Verdict != seq.Verdict || r.Workers != w {
					t.Fatalf("%s workers=%d: verdict %v, sequential %v", c.name, w, r.Verdict, seq.Verdict)
				}
				switch r.Verdict {
				case sched.OK:
					if r.States != seq.States || r.Transitions != seq.Transitions || r.Runs != seq.Runs || !r.Complete {
						t.Fatalf("%s workers=%d: %d/%d/%d, sequential %d/%d/%d", c.name, w, r.States, r.Transitions, r.Runs, seq.States, seq.Transitions, seq.Runs)
					}
				case sched.Violation:
					v := r.Violation
					if v == nil || v.Err == nil || len(v.Labels) != len(v.Schedule) || v.Final != seq.Violation.Final || v.Err.Error() != seq.Violation.Err.Error() && !strings.HasPrefix(c.name, "graph") {
						t.Fatalf("%s workers=%d: violation %+v, sequential %+v", c.name, w, v, seq.Violation)
					}
				}
			}
		}
		lim := sched.NoLimits()
		lim.MaxStates = 40
		if r := c.run(lim, sched.Options{Workers: 2}, false); (r.Verdict == sched.OK && seq.States > 40) || (r.Verdict == sched.Partial && r.LimitHit != "max-states=40") {
			t.Fatalf("%s max-states: %v %q", c.name, r.Verdict, r.LimitHit)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := sched.Exhaustive[gridState](ctx, grid{Threads: 3, Steps: 40}, sched.NoLimits(), sched.Options{Workers: 2})
	if r.Verdict != sched.Partial || r.LimitHit != "cancelled" {
		t.Fatalf("cancelled: %v %q", r.Verdict, r.LimitHit)
	}
}

// TestReserve: a Reserve hook that refuses the visited table's growth
// stops the sequential and the parallel DFS with a partial result, limit
// max-memory, before the table grows; one that accepts changes nothing.
func TestReserve(t *testing.T) {
	sys := grid{Threads: 3, Steps: 30}
	full := sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), sched.Options{})
	for _, w := range []int{1, 2} {
		var asked []int64
		opt := sched.Options{Workers: w, Reserve: func(b int64) bool {
			asked = append(asked, b)
			return b <= 64<<10
		}}
		r := sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), opt)
		if r.Verdict != sched.Partial || r.LimitHit != "max-memory" || len(asked) == 0 || asked[len(asked)-1] <= 64<<10 || r.States >= full.States {
			t.Fatalf("workers=%d: %v %q after %d states, asked %v", w, r.Verdict, r.LimitHit, r.States, asked)
		}
		if r.BytesPerState*float64(r.States) > 64<<10 {
			t.Fatalf("workers=%d: the table grew past the refused size: %.0f bytes", w, r.BytesPerState*float64(r.States))
		}
		opt.Reserve = func(int64) bool { return true }
		if r := sched.Exhaustive[gridState](context.Background(), sys, sched.NoLimits(), opt); r.Verdict != sched.OK || r.States != full.States {
			t.Fatalf("workers=%d accepting: %v %d states, want %d", w, r.Verdict, r.States, full.States)
		}
	}
}
