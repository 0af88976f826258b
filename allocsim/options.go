package allocsim

import (
	"fmt"
	"sort"
	"strings"
)

// Source is the mimalloc tag whose code a run models.
type Source uint8

// The modelled tags.
const (
	V241 Source = iota // v2.4.1 (default)
	V230               // v2.3.0
	V217               // v2.1.7
	numSources
)

var sourceNames = [...]string{V241: "v2.4.1", V230: "v2.3.0", V217: "v2.1.7"}

func (s Source) String() string { return sourceNames[s] }

// Sources lists the source presets.
func Sources() []string { return sourceNames[:] }

// ParseSource parses a --source value.
func ParseSource(v string) (Source, error) {
	for i, n := range sourceNames {
		if n == v {
			return Source(i), nil
		}
	}
	return 0, fmt.Errorf("unknown source %q (want one of %s)", v, strings.Join(sourceNames[:], ", "))
}

// Patches is the set of candidate patches applied (bit set).
type Patches uint8

// The candidate patches.
const (
	// PatchA: mi_segment_span_free_coalesce reads the abandoned state through
	// mi_segment_is_abandoned (a relaxed atomic load) instead of the direct
	// expression segment->thread_id == 0.
	PatchA Patches = 1 << iota
	// PatchB: _mi_page_retire sets retire_expire only when it is 0.
	PatchB
	// PatchC (mimcheck's proposal for README finding 3, not an upstream
	// patch): mi_free_block_delayed_mt's CAS of xthread_free has acq_rel
	// instead of release semantics on success, so its acquire load of xheap
	// is ordered after the reclaimer's mi_page_set_heap.
	PatchC
)

// Has reports whether p includes q.
func (p Patches) Has(q Patches) bool { return p&q != 0 }

func (p Patches) String() string {
	var parts []string
	if p.Has(PatchA) {
		parts = append(parts, "A")
	}
	if p.Has(PatchB) {
		parts = append(parts, "B")
	}
	if p.Has(PatchC) {
		parts = append(parts, "C")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// PatchNames lists the patch names.
func PatchNames() []string { return []string{"A", "B", "C"} }

// ParsePatches parses a --patch value: a comma list of A, B and C, or "" /
// "none" for none.
func ParsePatches(v string) (Patches, error) {
	var p Patches
	if v == "" || v == "none" {
		return 0, nil
	}
	for _, f := range strings.Split(v, ",") {
		var q Patches
		switch strings.TrimSpace(f) {
		case "A", "a":
			q = PatchA
		case "B", "b":
			q = PatchB
		case "C", "c":
			q = PatchC
		default:
			return 0, fmt.Errorf("unknown patch %q (want a comma list of A, B, C)", f)
		}
		if p&q != 0 {
			return 0, fmt.Errorf("patch %s named twice", strings.TrimSpace(f))
		}
		p |= q
	}
	return p, nil
}

// Lang is the compilation mode whose meaning of atomic expressions a run
// records on each step.
type Lang uint8

// The language modes.
const (
	LangC11  Lang = iota // C11 <stdatomic.h>: a plain expression on an _Atomic field is seq_cst
	LangCXX              // C++ std::atomic: operator loads/stores are seq_cst
	LangMSVC             // MSVC in C mode: _Atomic(T) is a plain T
	numLangs
)

var langNames = [...]string{LangC11: "c11", LangCXX: "cxx", LangMSVC: "msvc-c"}

func (l Lang) String() string { return langNames[l] }

// Langs lists the language modes.
func Langs() []string { return langNames[:] }

// ParseLang parses a --lang value.
func ParseLang(v string) (Lang, error) {
	for i, n := range langNames {
		if n == v {
			return Lang(i), nil
		}
	}
	return 0, fmt.Errorf("unknown lang %q (want one of %s)", v, strings.Join(langNames[:], ", "))
}

// Mutant is a seeded bug of ../shared/spec/scenarios.md §1.6.
type Mutant uint8

// The seeded bugs.
const (
	MutNone       Mutant = iota
	MutBugA              // coalesce treats an abandoned segment as owned
	MutBugA1             // only the neighbour unlinks of coalesce ignore abandonment
	MutBugB              // mi_segment_abandon does not unlink the free spans
	MutBugC              // reclaim-on-free claims with a plain load and a separate clear
	MutBugSubproc        // mark-abandoned reads segment->subproc after publishing the bit
	// Hand-made defects for the path properties (not in scenarios.md):
	MutBugScan   // a forced _mi_abandoned_collect tries one segment less than abandoned_count (scan-complete)
	MutBugRetire // _mi_heap_collect_retired skips the highest retired bin (retired-page-expires)
	// Real historical bugs (the zoo, zoo.go), each a mutation of a preset
	// that has the fix:
	MutIssue944            // ee92b337: a free after thread-done initialises a fresh heap and reclaims into it
	MutForceAbandonUAF     // 7673aa25: mi_segment_force_abandon without dont_free: the drain frees the segment it walks
	MutCursorSkipsFirstBit // 6e9b38ac: the abandoned-bitmap cursor starts at bit 1
	MutOSReclaimCAS        // a04905c8: OS segments reclaimed on free by a CAS of thread_id, no locked list
	MutOSListNotScanned    // 96b69d7e: the reclaim cursor never visits abandoned OS segments
	MutReclaimNeverDelayed // 12ef2816: a reclaimed page keeps MI_NEVER_DELAYED_FREE
	numMutants
)

var mutantNames = [...]string{MutNone: "none", MutBugA: "BUG_A", MutBugA1: "BUG_A1", MutBugB: "BUG_B",
	MutBugC: "BUG_C", MutBugSubproc: "BUG_SUBPROC", MutBugScan: "BUG_SCAN", MutBugRetire: "BUG_RETIRE",
	MutIssue944: "issue-944", MutForceAbandonUAF: "force-abandon-uaf", MutCursorSkipsFirstBit: "cursor-skips-first-bit",
	MutOSReclaimCAS: "os-reclaim-cas", MutOSListNotScanned: "os-list-not-scanned", MutReclaimNeverDelayed: "reclaim-keeps-never-delayed"}

func (m Mutant) String() string { return mutantNames[m] }

// Mutants lists the seeded bugs (without "none").
func Mutants() []string { return mutantNames[1:] }

// ParseMutant parses a --mutant value.
func ParseMutant(v string) (Mutant, error) {
	if v == "" {
		return MutNone, nil
	}
	for i, n := range mutantNames {
		if strings.EqualFold(n, v) {
			return Mutant(i), nil
		}
	}
	return 0, fmt.Errorf("unknown mutant %q (want one of %s)", v, strings.Join(mutantNames[:], ", "))
}

// Abstraction selects what the model leaves out.
type Abstraction uint8

// The abstractions.
const (
	// Full is the full-fidelity model.
	Full Abstraction = iota
	// SpinAbs leaves out exactly what ../shared/spec/scenarios.md abstracts
	// away (delayed-free modes, the retire delay, huge segments, OS memory),
	// so that state counts can be held against the SPIN anchor.
	SpinAbs
	numAbs
)

var absNames = [...]string{Full: "full", SpinAbs: "spin"}

func (a Abstraction) String() string { return absNames[a] }

// Abstractions lists the abstraction names.
func Abstractions() []string { return absNames[:] }

// ParseAbstraction parses an --abstraction value.
func ParseAbstraction(v string) (Abstraction, error) {
	for i, n := range absNames {
		if n == v {
			return Abstraction(i), nil
		}
	}
	return 0, fmt.Errorf("unknown abstraction %q (want one of %s)", v, strings.Join(absNames[:], ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// PublishChecks lists the forms of the no-access-after-publish check.
func PublishChecks() []string { return []string{"strict", "harmful"} }

// ParsePublishCheck parses a --publish-check value; it reports whether the
// harmful form was chosen.
func ParsePublishCheck(v string) (harmful bool, err error) {
	switch v {
	case "strict", "":
		return false, nil
	case "harmful":
		return true, nil
	}
	return false, fmt.Errorf("unknown publish check %q (want strict or harmful)", v)
}

// PublishCheckName names the form of the no-access-after-publish check.
func PublishCheckName(harmful bool) string {
	if harmful {
		return "harmful"
	}
	return "strict"
}

// Memory is the memory model a run explores.
type Memory uint8

// The memory models (README "Memory model").
const (
	// MemSC: every load reads the latest store; happens-before is tracked
	// for race detection only.
	MemSC Memory = iota
	// MemRA: the release/acquire fragment: every atomic access has at least
	// release (stores) and acquire (loads) semantics, and a relaxed or
	// acquire load may read any store coherence allows.
	MemRA
	// MemRC11: the orders as written (relaxed accesses do not synchronise),
	// and a relaxed or acquire load may read any store coherence allows.
	MemRC11
	numMemories
)

var memoryNames = [...]string{MemSC: "sc", MemRA: "ra", MemRC11: "rc11"}

func (m Memory) String() string { return memoryNames[m] }

// Memories lists the memory models.
func Memories() []string { return memoryNames[:] }

// ParseMemory parses a --memory value.
func ParseMemory(v string) (Memory, error) {
	for i, n := range memoryNames {
		if n == v {
			return Memory(i), nil
		}
	}
	return 0, fmt.Errorf("unknown memory model %q (want one of %s)", v, strings.Join(memoryNames[:], ", "))
}
