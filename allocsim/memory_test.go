package allocsim_test

import (
	"strings"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/sched"
)

// Tests of the memory model on the reference scenarios (README "Memory
// model"; the litmus tests of the engine are in model/litmus_test.go).

func memRun(t *testing.T, name string, cfg allocsim.Config) sched.Result {
	t.Helper()
	sc, err := allocsim.BuiltinScenario(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scenario = sc
	return exhaustive(t, mustSimRaces(t, cfg))
}

// TestMemoryC11NoRace: in C11 and C++ every access to an _Atomic field is
// atomic, and the protocol orders the owner-private fields by the
// abandoned bitmap, the arena's blocks_inuse and the hand-offs: S1 and S2
// have no race and no violation under sc and ra, with and without patch A.
// (S2 on a subset here; the README table has every combination.)
func TestMemoryC11NoRace(t *testing.T) {
	for _, name := range []string{"S1", "S2"} {
		for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
			if name == "S2" && src != allocsim.V230 {
				continue
			}
			for _, lang := range []allocsim.Lang{allocsim.LangC11, allocsim.LangCXX} {
				for _, mem := range []allocsim.Memory{allocsim.MemSC, allocsim.MemRA} {
					for _, p := range []allocsim.Patches{0, allocsim.PatchA} {
						res := memRun(t, name, allocsim.Config{Source: src, Lang: lang, Memory: mem, Patches: p})
						if res.Verdict != sched.OK || !res.Complete {
							t.Errorf("%s %s %s %s patch=%s: %v %v", name, src, lang, mem, p, res.Verdict, res.Violation)
						}
					}
				}
			}
		}
	}
}

// TestMemoryMSVCRace: in MSVC's C mode the direct stores of thread_id are
// plain (and, up to v2.3.0, so are mi_atomic_load_relaxed/_store_release
// on x86/x64): S2 has a data race at every tag.
func TestMemoryMSVCRace(t *testing.T) {
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
		res := memRun(t, "S2", allocsim.Config{Source: src, Lang: allocsim.LangMSVC})
		if got := violationName(t, res); got != "no-data-race" {
			t.Errorf("%s msvc-c: %q, want no-data-race", src, got)
		}
		// the relaxed loads are atomic at v2.4.1 (60a1f3bc): the race is the
		// plain store of mi_segment_abandon against a relaxed load
		if src == allocsim.V241 && res.Violation != nil && !strings.Contains(res.Violation.Err.Error(), "thread_id") {
			t.Errorf("v2.4.1 msvc-c: %v, want a race on thread_id", res.Violation.Err)
		}
	}
}

// TestMemoryRC11StaleHeap: under rc11 the release-only CAS of
// mi_free_block_delayed_mt does not synchronise with the reclaimer's
// mi_page_set_heap, so the acquire load of xheap may read the NULL stored
// when the page was abandoned and the block is lost; patch A and B do not
// change it; under ra (every atomic acquires) it cannot happen, nor with
// patch C (mimcheck's proposed fix).
func TestMemoryRC11StaleHeap(t *testing.T) {
	for _, p := range []allocsim.Patches{0, allocsim.PatchA, allocsim.PatchB, allocsim.PatchA | allocsim.PatchB} {
		res := memRun(t, "S2", allocsim.Config{Memory: allocsim.MemRC11, Patches: p})
		if got := violationName(t, res); got != "block-conservation" {
			t.Fatalf("patch=%s rc11: %q, want block-conservation", p, got)
		}
	}
	res := memRun(t, "S2", allocsim.Config{Memory: allocsim.MemRA})
	if res.Verdict != sched.OK || !res.Complete {
		t.Errorf("ra: %v %v", res.Verdict, res.Violation)
	}
	// patch C (an acq_rel CAS) removes it
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230} {
		res := memRun(t, "S2", allocsim.Config{Source: src, Memory: allocsim.MemRC11, Patches: allocsim.PatchC})
		if res.Verdict != sched.OK || !res.Complete {
			t.Errorf("%s rc11 patch C: %v %v", src, res.Verdict, res.Violation)
		}
	}
}
