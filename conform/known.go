package conform

import (
	"slices"
	"strings"

	"mimcheck/allocsim"
)

// Known is a divergence between the model and the C code that the README
// explains: an abstraction of the model, or a finding (the model's
// violation on a schedule the C code ran too).
type Known struct {
	Scenario string            // the scenario's name
	Sources  []allocsim.Source // nil: every tag
	What     string            // a substring of the divergence's description
	Why      string
	Finding  bool // the model's violation, reproduced by the C code's schedule
}

// KnownDivergences is the list explore conform random and make conform
// hold divergences against.
var KnownDivergences = []Known{
	{Scenario: "conform-handoff", What: "delayed.take-list) the states differ",
		Why: "the heap's delayed list: C drains it LIFO, the model in slot order (README, Model scope); the same blocks are freed, the end states agree"},
	{Scenario: "conform-s3", What: "without the access of the model's step delayed.use-delayed-free",
		Why: "the heap's delayed list: C drains it LIFO, the model in slot order (README, Model scope): C frees the other page's block first"},
	{Scenario: "conform-s3", What: "without the access of the model's step exit.collect-xthread-free",
		Why: "the order of a heap's pages in mi_heap_collect_ex: C visits them by size bin with the FULL queue last (mi_heap_visit_pages), the model in slot/slice order (README, Model scope)"},
	{Scenario: "conform-s3", What: "delayed.take-list) the states differ",
		Why: "the heap's delayed list: C drains it LIFO, the model in slot order (README, Model scope); the same blocks are freed, the end states agree"},
	{Scenario: "conform-force-abandon", What: "(T1 force-abandon.read-capacity): the model reports use-after-free",
		Why: "finding 2: _mi_page_force_abandon reads page->capacity of a page that its own delayed-free drain freed with the segment", Finding: true},
	{Scenario: "conform-force-abandon-noinit", What: "(T1 force-abandon.read-capacity): the model reports use-after-free",
		Why: "finding 2 without a reclaiming thread: the drain frees the segment's last page and the segment itself, then _mi_page_force_abandon reads page->capacity", Finding: true},
	{Scenario: "conform-os-reclaim-race", Sources: []allocsim.Source{allocsim.V217}, What: "(T2 free.cas-thread-id): the model reports claim-held",
		Why: "finding 1: at v2.1.7 two threads claim the same abandoned OS segment", Finding: true},
}

// KnownDivergence returns the entry that explains a divergence (what) of
// scenario name at src, or nil.
func KnownDivergence(name string, src allocsim.Source, what string) *Known {
	for k := range KnownDivergences {
		d := &KnownDivergences[k]
		if d.Scenario == name && (d.Sources == nil || slices.Contains(d.Sources, src)) && strings.Contains(what, d.What) {
			return d
		}
	}
	return nil
}
