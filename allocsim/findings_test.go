package allocsim_test

// Full-fidelity searches: the reference scenarios complete without a
// violation at every source preset and patch set, the mutants are still
// found, and the two findings on unpatched presets (scenarios/*.scn; see
// the README) are reproduced.

import (
	"context"
	"errors"
	"os"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

func loadScenario(t *testing.T, path string) *allocsim.Scenario {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := allocsim.ParseScenario(path, string(data))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// mustSim builds the simulator of cfg; under --memory sc without
// happens-before tracking (the sequential protocol; memory_test.go uses
// mustSimRaces).
func mustSim(t *testing.T, cfg allocsim.Config) *allocsim.Sim {
	t.Helper()
	cfg.NoRaces = cfg.Memory == allocsim.MemSC
	return mustSimRaces(t, cfg)
}

// mustSimRaces builds the simulator of cfg as given.
func mustSimRaces(t *testing.T, cfg allocsim.Config) *allocsim.Sim {
	t.Helper()
	m, err := allocsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func violationName(t *testing.T, res sched.Result) string {
	t.Helper()
	if res.Violation == nil {
		return ""
	}
	var v *properties.Violation
	if !errors.As(res.Violation.Err, &v) {
		t.Fatalf("violation %v is not a *properties.Violation", res.Violation.Err)
	}
	return v.Invariant
}

// TestFullFidelityReferenceScenarios: S1 and S2 (and S3 with no warm-up
// round) are explored completely at full fidelity with no violation, for
// every source preset, with and without patch B (patch A changes only a
// recorded access mode).
func TestFullFidelityReferenceScenarios(t *testing.T) {
	for _, name := range []string{"S1", "S2", "S3"} {
		if name == "S3" && testing.Short() {
			continue
		}
		for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
			for _, p := range []allocsim.Patches{0, allocsim.PatchB} {
				sc, err := allocsim.BuiltinScenario(name, 0)
				if err != nil {
					t.Fatal(err)
				}
				// S3 with happens-before tracking is far larger (README
				// "Memory model"); its sc verdict is checked without it
				res := exhaustive(t, mustSimRaces(t, allocsim.Config{Scenario: sc, Source: src, Patches: p, NoRaces: name == "S3"}))
				if res.Verdict != sched.OK || !res.Complete {
					t.Errorf("%s %s patch=%s: %v complete=%v (%s) %v", name, src, p, res.Verdict, res.Complete, res.LimitHit, res.Violation)
				}
			}
		}
	}
}

// TestFullFidelityMutants: the seeded bugs are found at full fidelity too.
// At full fidelity S1's and S2's T2 never allocates, so from v2.3.0 on its
// default heap is _mi_heap_empty and it does not reclaim on free
// (free.c:291 at v2.4.1): BUG_C and BUG_SUBPROC, which need that reclaim,
// are checked on S1 and S2 with T2 starting by mi_thread_init (init).
func TestFullFidelityMutants(t *testing.T) {
	want := map[allocsim.Mutant]string{
		allocsim.MutBugA: "span-queue-owner", allocsim.MutBugA1: "span-queue-owner", allocsim.MutBugB: "span-queue-membership",
		allocsim.MutBugC: "unique-claim", allocsim.MutBugSubproc: "no-use-after-free",
	}
	for _, name := range []string{"S1", "S2"} {
		for mut, inv := range want {
			sc, _ := allocsim.BuiltinScenario(name, 0)
			sc.Threads[1] = append([]allocsim.Op{{Kind: allocsim.OpInit}}, sc.Threads[1]...)
			res := exhaustive(t, mustSim(t, allocsim.Config{Scenario: sc, Mutant: mut}))
			if got := violationName(t, res); got != inv {
				t.Errorf("%s %s: violation %q, want %q", name, mut, got, inv)
			}
		}
	}
}

// TestFindingOSReclaimRace: v2.1.7 claims an abandoned OS segment on free
// with a CAS of thread_id from 0 (arena.c: _mi_arena_segment_clear_abandoned),
// while mi_segment_abandon has stored thread_id = 0 before
// _mi_arena_segment_mark_abandoned publishes the segment: a freeing thread
// claims a segment its owner still holds. v2.3.0+ keep OS segments on a
// locked list that the segment joins only when it is published.
func TestFindingOSReclaimRace(t *testing.T) {
	sc := loadScenario(t, "../scenarios/os-reclaim-race.scn")
	for _, c := range []struct {
		src  allocsim.Source
		want string
	}{{allocsim.V217, "unique-claim"}, {allocsim.V230, ""}, {allocsim.V241, ""}} {
		res := exhaustive(t, mustSim(t, allocsim.Config{Scenario: sc, Source: c.src}))
		if got := violationName(t, res); got != c.want {
			t.Errorf("%s: violation %q, want %q", c.src, got, c.want)
		}
	}
}

// TestFindingForceAbandon: with target_segments_per_thread = 2 (v2.3.0+),
// mi_segment_force_abandon decides which page is the last one before
// _mi_page_force_abandon runs the heap's delayed frees, which can free
// another page of the same segment; abandoning the current page then
// publishes the segment while the walk goes on over it (strict
// no-access-after-publish). Harmful form: on the last page
// mi_segment_force_abandon clears dont_free before _mi_page_force_abandon
// (segment.c:1447-1449 at v2.4.1), whose _mi_heap_delayed_free_all frees
// another page of the segment and so publishes it; another thread
// reclaims and frees the segment, and _mi_page_force_abandon then reads
// page->capacity (page.c:450 at v2.4.1, page.c:418 at v2.3.0) in freed
// memory: no-use-after-free, the read that is a step of its own. When the
// freeing thread never allocated (force-abandon-noinit.scn), it does not
// reclaim on free (free.c:291 at v2.4.1): the publication is still found,
// but nobody reclaims the segment, so the harmful form finds no damage.
func TestFindingForceAbandon(t *testing.T) {
	for _, c := range []struct {
		file    string
		harmful bool
		want    string
	}{
		{"force-abandon", false, "no-access-after-publish"}, {"force-abandon", true, "no-use-after-free"},
		{"force-abandon-noinit", false, "no-access-after-publish"}, {"force-abandon-noinit", true, ""},
	} {
		sc := loadScenario(t, "../scenarios/"+c.file+".scn")
		for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230} {
			res := exhaustive(t, mustSim(t, allocsim.Config{Scenario: sc, Source: src, HarmfulPublish: c.harmful}))
			if got := violationName(t, res); got != c.want {
				t.Errorf("%s %s harmful=%v: violation %q, want %q", c.file, src, c.harmful, got, c.want)
			}
		}
	}
	sc := loadScenario(t, "../scenarios/force-abandon.scn")
	if _, err := allocsim.New(allocsim.Config{Scenario: sc, Source: allocsim.V217}); err == nil {
		t.Errorf("v2.1.7 accepted target-segments-per-thread, an option it does not have")
	}
}

// TestFindingForceAbandonContinuation (issue 9 item 8): past the first
// report of the harmful form (the capacity read in freed memory, a site
// whose consequence the model does not follow: cut), the published walk
// ends with the abandoner's dont_free := false, its read of used == 0 and
// mi_segment_free on a segment the reclaiming thread holds
// (segment.c:1461-1467 at v2.4.1): segment-single-owner. Going past that
// assertion too (C runs on; so does the model), the abandoner unlinks the
// segment's spans through its own queues (span-queue-owner). Run with
// Config.PastFaults, the in-model form of explore run --all-violations.
func TestFindingForceAbandonContinuation(t *testing.T) {
	sc := loadScenario(t, "../scenarios/force-abandon.scn")
	past := []string{"use-after-free@force-abandon.read-capacity"}
	for _, want := range []struct{ site, inv string }{
		{"not-holder@force-abandon.clear-dont-free", "segment-single-owner"},
		{"queue-owner@force-abandon.clear-dont-free", "span-queue-owner"},
	} {
		for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230} {
			m := mustSim(t, allocsim.Config{Scenario: sc, Source: src, HarmfulPublish: true, NoRaces: true, PastFaults: past})
			sys, err := traces.NewSystemPast(m, []string{"segment-used-count"})
			if err != nil {
				t.Fatal(err)
			}
			res := sched.Exhaustive[model.State](context.Background(), sys, sched.Limits{MaxPreemptions: -1}, sched.Options{})
			if got := violationName(t, res); got != want.inv {
				t.Fatalf("%s past %v: violation %q, want %q", src, past, got, want.inv)
			}
			// the site: the fault's name and the label of the last step
			sch := res.Violation.Schedule
			prev, _, err := sched.Replay[model.State](sys, sch[:len(sch)-1])
			if err != nil {
				t.Fatal(err)
			}
			end, _, _ := sched.Replay[model.State](sys, sch)
			if site := m.FaultSiteOf(&prev, sch[len(sch)-1], model.FaultCode(end.Fault.Code)); site != want.site {
				t.Errorf("%s: site %s, want %s", src, site, want.site)
			}
		}
		past = append(past, want.site)
	}
	// a cut state (past a use-after-free) has no successor and is no
	// violation
	m := mustSim(t, allocsim.Config{Scenario: sc, HarmfulPublish: true, NoRaces: true})
	res := exhaustive(t, m)
	mc := mustSim(t, allocsim.Config{Scenario: sc, HarmfulPublish: true, NoRaces: true, PastFaults: past[:1]})
	s, _, err := sched.Replay[model.State](traces.NewSystem(mc), res.Violation.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fault.Code != uint8(model.FaultCut) || len(mc.Enabled(&s, nil)) != 0 || traces.NewSystem(mc).Check(&s) != nil {
		t.Errorf("past the capacity read: fault %v, enabled %v, check %v", model.FaultCode(s.Fault.Code), mc.Enabled(&s, nil), traces.NewSystem(mc).Check(&s))
	}
	for _, bad := range []string{"use-after-free", "x@force-abandon.read-capacity", "data-race@force-abandon.read-capacity", "use-after-free@nowhere"} {
		if _, err := allocsim.New(allocsim.Config{Scenario: sc, PastFaults: []string{bad}}); err == nil {
			t.Errorf("fault site %q accepted", bad)
		}
	}
}

// TestLangModesSameTransitions: the search is sequentially consistent, so a
// language mode changes only the access modes recorded on the steps: the
// state spaces (and verdicts) are identical in c11, cxx and msvc-c.
func TestLangModesSameTransitions(t *testing.T) {
	for _, name := range []string{"S1", "S2", "../scenarios/os-reclaim-race.scn"} {
		for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
			var first sched.Result
			for k, lang := range []allocsim.Lang{allocsim.LangC11, allocsim.LangCXX, allocsim.LangMSVC} {
				var sc *allocsim.Scenario
				if name[0] == 'S' {
					sc, _ = allocsim.BuiltinScenario(name, 0)
				} else {
					sc = loadScenario(t, name)
				}
				res := exhaustive(t, mustSim(t, allocsim.Config{Scenario: sc, Source: src, Lang: lang}))
				if k == 0 {
					first = res
					continue
				}
				if res.Verdict != first.Verdict || res.States != first.States || res.Transitions != first.Transitions {
					t.Errorf("%s %s %s: %v %d/%d, c11: %v %d/%d", name, src, lang, res.Verdict, res.States, res.Transitions, first.Verdict, first.States, first.Transitions)
				}
			}
		}
	}
}
