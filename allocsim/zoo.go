package allocsim

import (
	"fmt"
	"strings"
)

// ZooBug is a real historical bug of mimalloc's ownership protocol,
// re-introduced as a mutation (a Mutant) of a preset that has its fix,
// with a scenario that triggers it (scenarios/zoo/NAME.scn) and what the
// checker reports. The checker must find each with its mutation and must
// not report it without (TestZoo).
type ZooBug struct {
	Name   string // the --bug name (also the mutant's name)
	Mutant Mutant
	Preset Source // the preset mutated: the first modelled tag with the fix
	// Fix is the upstream commit that fixed the bug; Released the first
	// release with it.
	Fix, Released string
	// Retention: the bug is a leak or retention, judged by the path
	// properties (run with --retention).
	Retention bool
	// Invariant is what the checker reports with the mutation.
	Invariant string
	// Native lists the modelled tags that still have the bug unmutated
	// (there the scenario's finding is the preset's own).
	Native []Source
	// What says in one line what the bug does.
	What string
}

// Scenario is the path of the bug's scenario file, relative to the
// repository root.
func (z ZooBug) Scenario() string { return "scenarios/zoo/" + z.Name + ".scn" }

// Zoo lists the historical bugs, in the order of their fixes' dates.
var Zoo = []ZooBug{
	{Name: "reclaim-keeps-never-delayed", Mutant: MutReclaimNeverDelayed, Preset: V241, Fix: "12ef2816", Released: "v2.0.0",
		Invariant: "delayed-mode-protocol",
		What:      "mi_segment_reclaim leaves a reclaimed page MI_NEVER_DELAYED_FREE (no override_never), so remote frees never signal its new heap"},
	{Name: "os-reclaim-cas", Mutant: MutOSReclaimCAS, Preset: V241, Fix: "a04905c8", Released: "v2.1.8",
		Invariant: "unique-claim", Native: []Source{V217},
		What: "an abandoned OS segment is reclaimed on free by a CAS of thread_id from 0, which can run between mi_segment_abandon's store of 0 and the mark (finding 1)"},
	{Name: "os-list-not-scanned", Mutant: MutOSListNotScanned, Preset: V241, Fix: "96b69d7e", Released: "v2.1.8", Retention: true,
		Invariant: "scan-complete", Native: []Source{V217},
		What: "the reclaim cursor walks only the arenas' bitmaps, never the abandoned OS segments, so a forced collect misses them"},
	{Name: "subproc-after-publish", Mutant: MutBugSubproc, Preset: V241, Fix: "b1188ea3", Released: "v2.1.8",
		Invariant: "no-data-race", // the late plain read races with the reclaimer; with --no-races: no-use-after-free
		What:      "_mi_arena_segment_mark_abandoned reads segment->subproc after setting the abandoned bit; a reclaimer may have freed the segment (the seeded BUG_SUBPROC)"},
	{Name: "cursor-skips-first-bit", Mutant: MutCursorSkipsFirstBit, Preset: V241, Fix: "6e9b38ac", Released: "v2.1.8", Retention: true,
		Invariant: "scan-complete", Native: []Source{V217},
		What: "the abandoned-bitmap cursor resumes at bit + 1 on its first call, so the segment in slot 0 is never visited by a scan"},
	{Name: "issue-944", Mutant: MutIssue944, Preset: V241, Fix: "ee92b337", Released: "v2.1.8",
		Invariant: "quiescent-clean", Native: []Source{V217},
		What: "a free after thread-done initialises a fresh default heap and reclaims an abandoned segment into it; nobody cleans that heap up"},
	{Name: "force-abandon-uaf", Mutant: MutForceAbandonUAF, Preset: V241, Fix: "7673aa25", Released: "v2.1.8",
		Invariant: "no-use-after-free",
		What:      "mi_segment_force_abandon without dont_free: draining the delayed frees frees the segment it is walking"},
}

// ZooNames lists the zoo's bug names.
func ZooNames() []string {
	var n []string
	for _, z := range Zoo {
		n = append(n, z.Name)
	}
	return n
}

// ZooBugNamed returns the zoo bug called name.
func ZooBugNamed(name string) (ZooBug, error) {
	for _, z := range Zoo {
		if z.Name == name {
			return z, nil
		}
	}
	return ZooBug{}, fmt.Errorf("unknown bug %q (want one of %s)", name, strings.Join(ZooNames(), ", "))
}
