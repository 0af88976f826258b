package allocsim_test

// Soundness of the footprints (allocsim/footprint.go) for partial-order
// reduction, checked empirically on reachable states, and the reductions
// that sched.ExhaustiveSleep and sched.DPOR achieve on the reference
// scenarios.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

// fpConfig is one configuration whose reachable states are sampled.
type fpConfig struct {
	name string
	m    func(t *testing.T) *allocsim.Sim
}

func scenarioFile(t *testing.T, file string, cfg allocsim.Config) *allocsim.Sim {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "scenarios", file))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := allocsim.ParseScenario(file, string(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scenario = sc
	cfg.NoRaces = cfg.Memory == allocsim.MemSC // the sequential protocol (memory_test.go has the memory model)
	m, err := allocsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fpConfigs() []fpConfig {
	b := func(name string, rounds int, cfg allocsim.Config) func(t *testing.T) *allocsim.Sim {
		return func(t *testing.T) *allocsim.Sim { return builtin(t, name, rounds, cfg) }
	}
	f := func(file string, cfg allocsim.Config) func(t *testing.T) *allocsim.Sim {
		return func(t *testing.T) *allocsim.Sim { return scenarioFile(t, file, cfg) }
	}
	spin := allocsim.Config{Abstraction: allocsim.SpinAbs}
	full := allocsim.Config{Abstraction: allocsim.Full}
	return []fpConfig{
		{"S1-spin", b("S1", 12, spin)},
		{"S1-full", b("S1", 12, full)},
		{"S2-spin", b("S2", 12, spin)},
		{"S2-full", b("S2", 12, full)},
		{"S1-spin-bugA", b("S1", 12, allocsim.Config{Abstraction: allocsim.SpinAbs, Mutant: allocsim.MutBugA})},
		{"S1-spin-bugB", b("S1", 12, allocsim.Config{Abstraction: allocsim.SpinAbs, Mutant: allocsim.MutBugB})},
		{"S1-spin-bugC", b("S1", 12, allocsim.Config{Abstraction: allocsim.SpinAbs, Mutant: allocsim.MutBugC})},
		{"S2-full-v217", b("S2", 12, allocsim.Config{Abstraction: allocsim.Full, Source: allocsim.V217})},
		{"os-reclaim-race", f("os-reclaim-race.scn", full)},
		{"os-reclaim-race-v217", f("os-reclaim-race.scn", allocsim.Config{Abstraction: allocsim.Full, Source: allocsim.V217})},
		{"force-abandon", f("force-abandon.scn", full)},
		{"retire-patch-b", f("retire-patch-b.scn", full)},
	}
}

// reachable returns up to max states reachable from the initial state, in
// breadth-first order. Like the search engines, it does not expand a
// state that violates an invariant (the model may not be defined past one).
func reachable(sys traces.System, max int) []model.State {
	init := sys.Init()
	seen := map[model.State]bool{init: true}
	out := []model.State{init}
	var en []int
	for k := 0; k < len(out) && len(out) < max; k++ {
		s := out[k]
		if sys.Check(&s) != nil {
			continue
		}
		en = sys.Enabled(&s, en[:0])
		for _, i := range en {
			c := s
			sys.Step(&c, i)
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

func isEnabled(sys traces.System, s *model.State, i int) bool {
	for _, e := range sys.Enabled(s, nil) {
		if e == i {
			return true
		}
	}
	return false
}

// TestFootprintSoundness is the proof obligation of the footprints: on
// every sampled reachable state (all of them for S1 and S2), for every
// pair of threads i != j with i enabled whose footprints are independent:
//
//   - if j is enabled too, i;j and j;i reach the same state with the same
//     labels, i's step leaves j's footprint unchanged (and vice versa);
//   - i's step does not change whether j is enabled.
func TestFootprintSoundness(t *testing.T) {
	for _, c := range fpConfigs() {
		t.Run(c.name, func(t *testing.T) {
			sys := traces.NewSystem(c.m(t))
			states := reachable(sys, 30000)
			nt := sys.Sim.Threads()
			indep, pairs := 0, 0
			for _, s := range states {
				if sys.Check(&s) != nil {
					continue
				}
				for i := 0; i < nt; i++ {
					if !isEnabled(sys, &s, i) {
						continue
					}
					fi := sys.Footprint(&s, i, nil)
					si := s
					li := sys.Step(&si, i)
					for j := 0; j < nt; j++ {
						if j == i {
							continue
						}
						pairs++
						fj := sys.Footprint(&s, j, nil)
						if sched.Dependent(fi, fj) {
							continue
						}
						indep++
						jOn := isEnabled(sys, &s, j)
						if isEnabled(sys, &si, j) != jOn {
							t.Fatalf("T%d's step %s changes whether T%d (pending %s) is enabled, yet footprints %v / %v are independent",
								i+1, li, j+1, sys.Sim.PendingLabel(&s, j), fi, fj)
						}
						if !jOn || sys.Check(&si) != nil {
							continue
						}
						if got := sys.Footprint(&si, j, nil); !reflect.DeepEqual(got, fj) {
							t.Fatalf("T%d's step %s changes T%d's footprint %v -> %v", i+1, li, j+1, fj, got)
						}
						sj := s
						lj := sys.Step(&sj, j)
						if sys.Check(&sj) != nil {
							continue
						}
						sij := si
						lj2 := sys.Step(&sij, j)
						sji := sj
						li2 := sys.Step(&sji, i)
						if sij != sji || li != li2 || lj != lj2 {
							t.Fatalf("independent steps do not commute: T%d %s / T%d %s (labels %s %s); footprints %v / %v",
								i+1, li, j+1, lj, li2, lj2, fi, fj)
						}
					}
				}
			}
			t.Logf("%d states, %d thread pairs, %d independent (%.0f%%)", len(states), pairs, indep, 100*float64(indep)/float64(max(pairs, 1)))
		})
	}
}

// TestModelAcyclic: the state graphs of S1 and S2 have no cycle (every
// step makes progress), which sched.ExhaustiveSleep's handling of state
// caching and sched.DPOR's termination rely on.
func TestModelAcyclic(t *testing.T) {
	for _, c := range fpConfigs()[:4] {
		t.Run(c.name, func(t *testing.T) {
			sys := traces.NewSystem(c.m(t))
			const (
				white = iota
				grey
				black
			)
			color := map[model.State]int{}
			var visit func(s model.State)
			visit = func(s model.State) {
				color[s] = grey
				for _, i := range sys.Enabled(&s, nil) {
					c := s
					sys.Step(&c, i)
					switch color[c] {
					case grey:
						t.Fatalf("cycle through a state reached by T%d", i+1)
					case white:
						visit(c)
					}
				}
				color[s] = black
			}
			visit(sys.Init())
		})
	}
}

// pathCount returns the number of complete executions (paths from the
// initial state to a state with no enabled thread) of an acyclic system.
func pathCount(sys traces.System) float64 {
	memo := map[model.State]float64{}
	var count func(s model.State) float64
	count = func(s model.State) float64 {
		if n, ok := memo[s]; ok {
			return n
		}
		en := sys.Enabled(&s, nil)
		n := 0.0
		if len(en) == 0 {
			n = 1
		}
		for _, i := range en {
			c := s
			sys.Step(&c, i)
			n += count(c)
		}
		memo[s] = n
		return n
	}
	return count(sys.Init())
}

// TestReductionS1S2 pins the reductions' soundness on the real model:
// ExhaustiveSleep visits exactly Exhaustive's states with fewer steps, and
// DPOR completes on S1.
func TestReductionS1S2(t *testing.T) {
	ctx := context.Background()
	for _, c := range fpConfigs()[:4] {
		t.Run(c.name, func(t *testing.T) {
			sys := traces.NewSystem(c.m(t))
			ex := sched.Exhaustive[model.State](ctx, sys, sched.NoLimits(), sched.Options{Exact: true})
			sl := sched.ExhaustiveSleep[model.State](ctx, sys, sched.NoLimits(), sched.Options{Exact: true})
			if ex.Verdict != sched.OK || sl.Verdict != sched.OK || sl.States != ex.States || sl.Runs != ex.Runs || sl.Transitions > ex.Transitions {
				t.Fatalf("exhaustive %v %d/%d, sleep %v %d/%d", ex.Verdict, ex.States, ex.Transitions, sl.Verdict, sl.States, sl.Transitions)
			}
			t.Logf("states %d; transitions exhaustive %d, sleep %d", ex.States, ex.Transitions, sl.Transitions)
			if c.name[:2] != "S1" {
				return
			}
			rec := recorder{System: sys, seen: map[model.State]bool{}}
			dp := sched.DPOR[model.State](ctx, rec, sched.NoLimits(), sched.Options{})
			if dp.Verdict != sched.OK || dp.Runs < 1 {
				t.Fatalf("dpor %v runs=%d", dp.Verdict, dp.Runs)
			}
			// The visible-state caveat of sched.DPOR, measured: how many of
			// the reachable states the representatives pass through.
			t.Logf("dpor: %d executions of %.0f interleavings, %d transitions, %d of %d reachable states checked",
				dp.Runs, pathCount(sys), dp.Transitions, len(rec.seen), ex.States)
		})
	}
}

// recorder is a system that notes every state Check sees.
type recorder struct {
	traces.System
	seen map[model.State]bool
}

func (r recorder) Check(s *model.State) error {
	r.seen[*s] = true
	return r.System.Check(s)
}

// TestReductionBugsFound: the reductions find the seeded bugs of
// scenarios.md §1.6 on S1 and S2 that Exhaustive finds, with the same
// invariant.
func TestReductionBugsFound(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"S1", "S2"} {
		for _, mut := range []allocsim.Mutant{allocsim.MutBugA, allocsim.MutBugB, allocsim.MutBugC} {
			m := builtin(t, name, 12, allocsim.Config{Abstraction: allocsim.SpinAbs, Mutant: mut})
			sys := traces.NewSystem(m)
			ex := sched.Exhaustive[model.State](ctx, sys, sched.NoLimits(), sched.Options{})
			if ex.Verdict != sched.Violation {
				t.Logf("%s %v: exhaustive finds no violation", name, mut)
				continue
			}
			want := invariantOf(ex.Violation.Err)
			for eng, r := range map[string]sched.Result{
				"sleep": sched.ExhaustiveSleep[model.State](ctx, sys, sched.NoLimits(), sched.Options{}),
				"dpor":  sched.DPOR[model.State](ctx, sys, sched.NoLimits(), sched.Options{}),
			} {
				if r.Verdict != sched.Violation {
					t.Errorf("%s %v: %s: %v, exhaustive found %s", name, mut, eng, r.Verdict, want)
					continue
				}
				got := invariantOf(r.Violation.Err)
				t.Logf("%s %v: exhaustive found %s at depth %d, %s found %s at depth %d", name, mut, want, len(ex.Violation.Schedule),
					eng, got, len(r.Violation.Schedule))
				if got != want {
					t.Errorf("%s %v: %s found %s, exhaustive %s", name, mut, eng, got, want)
				}
				if _, _, f, err := sched.ReplayCheck[model.State](sys, r.Violation.Schedule); err != nil || f == nil {
					t.Errorf("%s %v: %s schedule does not replay to a violation: %v", name, mut, eng, err)
				}
			}
		}
	}
}

// invariantOf returns the invariant name of a violation error.
func invariantOf(err error) string {
	var v *properties.Violation
	if errors.As(err, &v) {
		return v.Invariant
	}
	return err.Error()
}

// TestReductionNumbers measures the reductions on S2 and S3 (rounds 0),
// under both abstractions (skipped with -short). DPOR gets 60 s per
// configuration and reports partial if it runs out.
func TestReductionNumbers(t *testing.T) {
	if os.Getenv("MIMCHECK_MEASURE") == "" {
		t.Skip("measurement (about 5 minutes): set MIMCHECK_MEASURE=1; make bench runs it")
	}
	for _, sc := range []struct {
		name   string
		rounds int
	}{{"S2", 12}, {"S3", 0}} {
		for _, abs := range []allocsim.Abstraction{allocsim.SpinAbs, allocsim.Full} {
			m := builtin(t, sc.name, sc.rounds, allocsim.Config{Abstraction: abs})
			sys := traces.NewSystem(m)
			ctx := context.Background()
			st := time.Now()
			ex := sched.Exhaustive[model.State](ctx, sys, sched.NoLimits(), sched.Options{})
			tex := time.Since(st)
			st = time.Now()
			sl := sched.ExhaustiveSleep[model.State](ctx, sys, sched.NoLimits(), sched.Options{})
			tsl := time.Since(st)
			paths := pathCount(sys)
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			st = time.Now()
			dp := sched.DPOR[model.State](dctx, sys, sched.NoLimits(), sched.Options{})
			tdp := time.Since(st)
			cancel()
			t.Logf("%s %v: exhaustive %v states=%d transitions=%d end-states=%d (%v) | sleep %v states=%d transitions=%d (%.1f%% of transitions, %v) | interleavings=%.4g | dpor %v %s executions=%d (%.3g%% of interleavings) states-visited=%d transitions=%d (%v)",
				sc.name, abs, ex.Verdict, ex.States, ex.Transitions, ex.Runs, tex.Round(time.Millisecond),
				sl.Verdict, sl.States, sl.Transitions, 100*float64(sl.Transitions)/float64(ex.Transitions), tsl.Round(time.Millisecond),
				paths, dp.Verdict, dp.LimitHit, dp.Runs, 100*float64(dp.Runs)/paths, dp.States, dp.Transitions, tdp.Round(time.Millisecond))
		}
	}
}
