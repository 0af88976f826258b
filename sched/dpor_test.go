package sched_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"mimcheck/sched"
)

// Toy programs with footprints for ExhaustiveSleep and DPOR: each thread
// runs a fixed list of operations on a few shared variables. The
// footprint of an operation is static (its variable and whether it
// writes), so the Mazurkiewicz traces can be counted by brute force.

const (
	opLocal uint8 = iota // private work: reg++
	opRead               // reg = reg*3 + x + 1
	opWrite              // x = reg + 7*thread + pc + 1
	opAwait              // blocks until x != 0, then reg += x
	opInc                // x++ (read-modify-write)
)

type progOp struct {
	kind, v uint8
}

type progState struct {
	vars [3]uint8
	pc   [3]uint8
	reg  [3]uint8
}

// prog is a toy system. bad, when badVar >= 0, makes Check fail in states
// where vars[badVar] == bad.
type prog struct {
	ops    [][]progOp
	badVar int
	bad    uint8
	record func(*progState) // called by Check on every state it sees, if set
}

var (
	_ sched.System[progState]      = prog{}
	_ sched.Footprinter[progState] = prog{}
)

func (p prog) Init() progState { return progState{} }

func (p prog) enabled(s *progState, i int) bool {
	if int(s.pc[i]) >= len(p.ops[i]) {
		return false
	}
	o := p.ops[i][s.pc[i]]
	return o.kind != opAwait || s.vars[o.v] != 0
}

func (p prog) Enabled(s *progState, dst []int) []int {
	for i := range p.ops {
		if p.enabled(s, i) {
			dst = append(dst, i)
		}
	}
	return dst
}

func (p prog) Step(s *progState, i int) string {
	if !p.enabled(s, i) {
		panic("step of disabled thread")
	}
	o := p.ops[i][s.pc[i]]
	switch o.kind {
	case opLocal:
		s.reg[i]++
	case opRead:
		s.reg[i] = s.reg[i]*3 + s.vars[o.v] + 1
	case opWrite:
		s.vars[o.v] = s.reg[i] + 7*uint8(i) + s.pc[i] + 1
	case opAwait:
		s.reg[i] += s.vars[o.v]
	case opInc:
		s.vars[o.v]++
	}
	s.pc[i]++
	return fmt.Sprintf("t%d.%d.%d", i, o.kind, o.v)
}

func (p prog) Footprint(s *progState, i int, dst []sched.Access) []sched.Access {
	o := p.ops[i][s.pc[i]]
	switch o.kind {
	case opLocal:
		return dst
	case opRead, opAwait:
		return append(dst, sched.Access{Obj: uint32(o.v)})
	}
	return append(dst, sched.Access{Obj: uint32(o.v), Write: true})
}

func (p prog) Check(s *progState) error {
	if p.record != nil {
		p.record(s)
	}
	if p.badVar >= 0 && s.vars[p.badVar] == p.bad {
		return fmt.Errorf("vars[%d] == %d", p.badVar, p.bad)
	}
	return nil
}

func (p prog) Final(*progState) error { return nil }

func (p prog) Encode(s *progState, buf []byte) []byte {
	buf = append(buf, s.vars[:]...)
	buf = append(buf, s.pc[:]...)
	return append(buf, s.reg[:]...)
}

// traceCount enumerates every complete interleaving of p by brute force
// and returns the number of interleavings and of Mazurkiewicz traces: two
// interleavings are equivalent when they order every pair of dependent
// events (same variable, one a write, different threads) the same way.
// Events are (thread, op index); their footprints are static. It also
// returns the set of states reachable.
func traceCount(p prog) (paths, traces int, states map[progState]bool) {
	classes := map[string]bool{}
	states = map[progState]bool{}
	type ev struct{ t, k int }
	dep := func(a, b ev) bool {
		if a.t == b.t {
			return false
		}
		x, y := p.ops[a.t][a.k], p.ops[b.t][b.k]
		if x.kind == opLocal || y.kind == opLocal || x.v != y.v {
			return false
		}
		w := func(o progOp) bool { return o.kind == opWrite || o.kind == opInc }
		return w(x) || w(y)
	}
	var seq []ev
	var walk func(s progState)
	walk = func(s progState) {
		states[s] = true
		en := p.Enabled(&s, nil)
		if len(en) == 0 {
			paths++
			var pairs []string
			for a := range seq {
				for b := a + 1; b < len(seq); b++ {
					if dep(seq[a], seq[b]) {
						pairs = append(pairs, fmt.Sprintf("%d.%d<%d.%d;", seq[a].t, seq[a].k, seq[b].t, seq[b].k))
					}
				}
			}
			sort.Strings(pairs)
			key := strings.Join(pairs, "")
			// Equal keys need the same event set too (deadlocks end early).
			key += fmt.Sprint(s.pc)
			classes[key] = true
			return
		}
		for _, i := range en {
			c := s
			seq = append(seq, ev{i, int(s.pc[i])})
			p.Step(&c, i)
			walk(c)
			seq = seq[:len(seq)-1]
		}
	}
	walk(p.Init())
	return paths, len(classes), states
}

// randomProg returns a toy of 2-3 threads with 1-4 operations each over
// 1-3 variables.
func randomProg(r *rand.Rand) prog {
	nt := 2 + r.IntN(2)
	nv := 1 + r.IntN(3)
	p := prog{badVar: -1}
	for t := 0; t < nt; t++ {
		n := 1 + r.IntN(4)
		var ops []progOp
		for k := 0; k < n; k++ {
			ops = append(ops, progOp{kind: uint8(r.IntN(5)), v: uint8(r.IntN(nv))})
		}
		p.ops = append(p.ops, ops)
	}
	return p
}

// TestDPORIndependentThreads: n threads of k private steps form one
// Mazurkiewicz trace, so DPOR explores exactly one execution, and
// ExhaustiveSleep still visits all (k+1)^n states with fewer transitions.
func TestDPORIndependentThreads(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{1, 3}, {2, 2}, {3, 3}, {3, 4}} {
		p := prog{badVar: -1}
		for i := 0; i < tc.n; i++ {
			ops := make([]progOp, tc.k)
			for j := range ops {
				ops[j] = progOp{kind: opLocal}
			}
			p.ops = append(p.ops, ops)
		}
		r := sched.DPOR[progState](context.Background(), p, sched.NoLimits(), sched.Options{})
		if r.Verdict != sched.OK || r.Runs != 1 || r.Transitions != int64(tc.n*tc.k) {
			t.Fatalf("n=%d k=%d: DPOR %v runs=%d transitions=%d, want ok 1 %d", tc.n, tc.k, r.Verdict, r.Runs, r.Transitions, tc.n*tc.k)
		}
		full := sched.Exhaustive[progState](context.Background(), p, sched.NoLimits(), sched.Options{Exact: true})
		sl := sched.ExhaustiveSleep[progState](context.Background(), p, sched.NoLimits(), sched.Options{Exact: true})
		want := int64(1)
		for i := 0; i < tc.n; i++ {
			want *= int64(tc.k + 1)
		}
		if full.States != want || sl.States != want || sl.Verdict != sched.OK {
			t.Fatalf("n=%d k=%d: states exhaustive=%d sleep=%d (%v), want %d", tc.n, tc.k, full.States, sl.States, sl.Verdict, want)
		}
		if tc.n > 1 && sl.Transitions >= full.Transitions {
			t.Fatalf("n=%d k=%d: sleep sets executed %d transitions, exhaustive %d", tc.n, tc.k, sl.Transitions, full.Transitions)
		}
	}
}

// TestDPORClassicTraceCounts pins DPOR's execution count to the number of
// Mazurkiewicz traces computed by brute force, for classic litmus shapes
// and 200 random toys. Source-DPOR with sleep sets never explores two
// equivalent complete executions (POPL 2014, Theorem 4.9 and §4.3) and
// explores at least one per trace, so the counts are equal.
func TestDPORClassicTraceCounts(t *testing.T) {
	w := func(v uint8) progOp { return progOp{opWrite, v} }
	rd := func(v uint8) progOp { return progOp{opRead, v} }
	named := []struct {
		name  string
		ops   [][]progOp
		trace int
	}{
		// Store buffering: t0: x=; r y   t1: y=; r x. The races (w x, r x)
		// and (w y, r y) give 4 orderings, of which 3 are consistent.
		{"store-buffering", [][]progOp{{w(0), rd(1)}, {w(1), rd(0)}}, 3},
		// Two writers of x: 2 traces.
		{"two-writers", [][]progOp{{w(0)}, {w(0)}}, 2},
		// Readers only: 1 trace.
		{"readers", [][]progOp{{rd(0), rd(0)}, {rd(0)}, {rd(0)}}, 1},
		// One writer, two readers: the writer goes before, between or
		// after each reader independently: 2*2 = 4 traces.
		{"writer-readers", [][]progOp{{w(0)}, {rd(0)}, {rd(0)}}, 4},
		// lastzero-like: three writers of the same x: 3! = 6 traces.
		{"three-writers", [][]progOp{{w(0)}, {w(0)}, {w(0)}}, 6},
	}
	for _, tc := range named {
		p := prog{ops: tc.ops, badVar: -1}
		_, traces, _ := traceCount(p)
		if traces != tc.trace {
			t.Fatalf("%s: brute force found %d traces, the litmus test has %d", tc.name, traces, tc.trace)
		}
		r := sched.DPOR[progState](context.Background(), p, sched.NoLimits(), sched.Options{})
		if r.Verdict != sched.OK || r.Runs != int64(traces) {
			t.Fatalf("%s: DPOR %v runs=%d, want %d traces", tc.name, r.Verdict, r.Runs, traces)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for k := 0; k < 200; k++ {
		p := randomProg(rng)
		paths, traces, _ := traceCount(p)
		r := sched.DPOR[progState](context.Background(), p, sched.NoLimits(), sched.Options{})
		if r.Verdict != sched.OK || r.Runs != int64(traces) {
			t.Fatalf("toy %d %v: DPOR %v runs=%d, want %d traces (of %d interleavings)", k, p.ops, r.Verdict, r.Runs, traces, paths)
		}
	}
}

// TestReductionsAgreeWithExhaustive compares ExhaustiveSleep and DPOR with
// the naive Exhaustive on 60 random toys: ExhaustiveSleep visits exactly
// the same states; DPOR sees, for every variable, the same set of values
// (the invariants of these toys read one variable each, the case in which
// DPOR is sound for state invariants); and for every such single-variable
// invariant that Exhaustive finds violated, all three find a violation,
// whose schedule replays to a violating state.
func TestReductionsAgreeWithExhaustive(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2024, 1))
	for k := 0; k < 60; k++ {
		p := randomProg(rng)
		type vv struct {
			v   int
			val uint8
		}
		collect := func(run func(prog) sched.Result) (map[progState]bool, map[vv]bool, sched.Result) {
			states, vals := map[progState]bool{}, map[vv]bool{}
			q := p
			q.record = func(s *progState) {
				states[*s] = true
				for v := range s.vars {
					vals[vv{v, s.vars[v]}] = true
				}
			}
			return states, vals, run(q)
		}
		exS, exV, ex := collect(func(q prog) sched.Result {
			return sched.Exhaustive[progState](ctx, q, sched.NoLimits(), sched.Options{Exact: true})
		})
		slS, _, sl := collect(func(q prog) sched.Result {
			return sched.ExhaustiveSleep[progState](ctx, q, sched.NoLimits(), sched.Options{Exact: true})
		})
		_, dpV, dp := collect(func(q prog) sched.Result {
			return sched.DPOR[progState](ctx, q, sched.NoLimits(), sched.Options{})
		})
		if ex.Verdict != sched.OK || sl.Verdict != sched.OK || dp.Verdict != sched.OK {
			t.Fatalf("toy %d: verdicts %v %v %v", k, ex.Verdict, sl.Verdict, dp.Verdict)
		}
		if sl.States != ex.States || len(slS) != len(exS) || sl.Runs != ex.Runs {
			t.Fatalf("toy %d %v: sleep states=%d (%d seen) runs=%d, exhaustive %d (%d) runs=%d", k, p.ops, sl.States, len(slS), sl.Runs, ex.States, len(exS), ex.Runs)
		}
		for s := range exS {
			if !slS[s] {
				t.Fatalf("toy %d: sleep sets missed state %v", k, s)
			}
		}
		if sl.Transitions > ex.Transitions {
			t.Fatalf("toy %d: sleep sets executed more transitions (%d > %d)", k, sl.Transitions, ex.Transitions)
		}
		for x := range exV {
			if !dpV[x] {
				t.Fatalf("toy %d %v: DPOR never saw vars[%d] == %d", k, p.ops, x.v, x.val)
			}
		}
		// Violations: one run per reachable nonzero (variable, value).
		for x := range exV {
			if x.val == 0 {
				continue
			}
			q := p
			q.badVar, q.bad = x.v, x.val
			for name, r := range map[string]sched.Result{
				"exhaustive": sched.Exhaustive[progState](ctx, q, sched.NoLimits(), sched.Options{Exact: true}),
				"sleep":      sched.ExhaustiveSleep[progState](ctx, q, sched.NoLimits(), sched.Options{}),
				"dpor":       sched.DPOR[progState](ctx, q, sched.NoLimits(), sched.Options{}),
			} {
				if r.Verdict != sched.Violation {
					t.Fatalf("toy %d %v: %s missed vars[%d] == %d (%v)", k, p.ops, name, x.v, x.val, r.Verdict)
				}
				s, _, err := sched.Replay[progState](q, r.Violation.Schedule)
				if err != nil || s.vars[x.v] != x.val {
					t.Fatalf("toy %d: %s schedule %v does not replay to the violation: %v", k, name, r.Violation.Schedule, err)
				}
			}
		}
	}
}

// TestSleepWithoutFootprints: a system without footprints gets no
// reduction from either engine.
func TestSleepWithoutFootprints(t *testing.T) {
	type noFP struct{ sched.System[progState] }
	p := prog{ops: [][]progOp{{{opLocal, 0}, {opLocal, 0}}, {{opLocal, 0}}}, badVar: -1}
	ex := sched.Exhaustive[progState](context.Background(), p, sched.NoLimits(), sched.Options{})
	sl := sched.ExhaustiveSleep[progState](context.Background(), noFP{p}, sched.NoLimits(), sched.Options{})
	if sl.States != ex.States || sl.Transitions != ex.Transitions {
		t.Fatalf("sleep without footprints: %d/%d, exhaustive %d/%d", sl.States, sl.Transitions, ex.States, ex.Transitions)
	}
	dp := sched.DPOR[progState](context.Background(), noFP{p}, sched.NoLimits(), sched.Options{})
	if dp.Runs != 3 { // C(3,1) interleavings
		t.Fatalf("DPOR without footprints: %d runs, want 3", dp.Runs)
	}
}

// TestDPORLimits: MaxRuns and MaxDepth make DPOR partial.
func TestDPORLimits(t *testing.T) {
	p := prog{ops: [][]progOp{{{opWrite, 0}}, {{opWrite, 0}}, {{opWrite, 0}}}, badVar: -1}
	r := sched.DPOR[progState](context.Background(), p, sched.Limits{MaxPreemptions: -1, MaxRuns: 2}, sched.Options{})
	if r.Verdict != sched.Partial || r.Runs != 2 {
		t.Fatalf("max-runs: %v runs=%d limit=%q", r.Verdict, r.Runs, r.LimitHit)
	}
	r = sched.DPOR[progState](context.Background(), p, sched.Limits{MaxPreemptions: -1, MaxDepth: 2}, sched.Options{})
	if r.Verdict != sched.Partial || r.LimitHit != "max-depth=2" {
		t.Fatalf("max-depth: %v limit=%q", r.Verdict, r.LimitHit)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = sched.DPOR[progState](ctx, p, sched.NoLimits(), sched.Options{})
	if r.Verdict != sched.Partial || r.LimitHit != "cancelled" {
		t.Fatalf("cancelled: %v limit=%q", r.Verdict, r.LimitHit)
	}
}
