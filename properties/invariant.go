package properties

import (
	"fmt"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// Violation is a broken invariant.
type Violation struct {
	Invariant string // kebab-case invariant name
	Detail    string // the objects involved
}

func (v *Violation) Error() string { return v.Invariant + ": " + v.Detail }

// Invariant describes one named invariant of the registry.
type Invariant struct {
	Name   string
	Spec   string // scenarios.md §1.5 letter(s)
	Doc    string
	Checks string // "every step", "end state", "in-step precondition"
}

// Registry lists the invariants this model checks, in report order.
var Registry = []Invariant{
	{"span-queue-well-formed", "Q1", "every span queue is a well-formed doubly linked list of free span heads of the right bin", "every step"},
	{"span-queue-membership", "Q2, S2", "a free span of an owned segment is in exactly one queue, its owner's; an abandoned or claimed segment has no queued span; unqueued slices have no links", "every step"},
	{"span-queue-owner", "O2", "a span-queue operation of thread t only touches spans of segments t owns", "in-step precondition"},
	{"spans-tile-segment", "S1", "spans tile the segment, free spans are coalesced, page interiors carry the right offsets (segments not inside a multi-step operation)", "every step"},
	{"segment-used-count", "S3", "used = number of pages, a live segment has a page, abandoned = 0 when owned and = used when abandoned", "every step"},
	{"segment-single-owner", "O1", "abandoned bit set <=> nobody holds the segment; set bit => thread_id 0; thread_id != 0 => holder is the owner; only the holder mutates a segment", "every step + in-step precondition"},
	{"unique-claim", "O1", "a claim (bitmap unclaim) never succeeds on a segment another thread holds", "in-step precondition"},
	{"block-conservation", "B1, B2", "free, local_free, xthread_free, the heap delayed list, blocks taken off it and live blocks partition each page; used = blocks - |free ∪ local_free|; live blocks are exactly those held by threads or mailboxes, once each; no double free; a page is cleared only when all its blocks are free", "every step + in-step precondition"},
	{"delayed-mode-protocol", "-", "(full model) MI_DELAYED_FREEING is held exactly while one remote free is between its CAS and the mode reset; pages of an abandoned or claimed segment are MI_NEVER_DELAYED_FREE; a page in a heap of an owned segment is not, except while its heap is abandoned or force-abandoned or a reclaim has not yet reached it; a block on a heap's delayed list belongs to a page with a heap", "every step + in-step precondition"},
	{"no-access-after-publish", "-", "after a thread publishes a segment (abandoned bit set, OS list, or freed) it neither reads nor writes the segment's non-atomic state until it claims it again (strict form)", "in-step precondition"},
	{"no-data-race", "-", "no two accesses to one location (a segment's thread_id or owner-private fields, the abandoned bitmap and count, a page's xheap or xthread_free, a heap's delayed list, the OS list), at least one a write and one non-atomic (in the --lang mode), are unordered by C11 happens-before", "in-step precondition"},
	{"no-use-after-free", "B1", "no step accesses a freed segment", "in-step precondition"},
	{"walk-terminates", "-", "a walk over a segment's spans by a thread that no longer holds the segment (force abandon's walk after publishing, harmful-publish mode) meets a span head at every step: a slice_count of 0 there makes mimalloc's loop stand still forever", "in-step precondition"},
	{"scan-complete", "-", "(full model; a path property, ghost monitor Thread.Scan) a forced _mi_abandoned_collect meets every segment that is abandoned when it begins and stays abandoned (claimed by nobody) until it ends; checked when the scan ends", "path (in-step at the scan's end)"},
	{"retired-page-expires", "-", "(full model; a path property, ghost monitor Slice.Age) a page retired all free and neither reused nor freed since is freed by the retire_expire-th _mi_heap_collect_retired of its heap (MI_RETIRE_CYCLES, or /4 for larger pages); and no all-free page of the heap is in its FULL queue when a forced collect ends", "path (in-step at each collect)"},
	{"deadlock-free", "D", "some thread can step unless all are done", "end state"},
	{"quiescent-clean", "F", "at the end: all blocks freed, all queues empty, every surviving segment abandoned and published, abandoned_count = set bits", "end state"},
}

// Names returns the registered invariant names.
func Names() []string {
	out := make([]string, len(Registry))
	for i, inv := range Registry {
		out[i] = inv.Name
	}
	return out
}

func faultInvariant(f model.FaultCode) string {
	switch f {
	case model.FaultNotHolder:
		return "segment-single-owner"
	case model.FaultClaimHeld:
		return "unique-claim"
	case model.FaultQueueOwner:
		return "span-queue-owner"
	case model.FaultUseAfterFree:
		return "no-use-after-free"
	case model.FaultDoubleFree, model.FaultPageNotEmpty:
		return "block-conservation"
	case model.FaultMarkTwice:
		return "segment-single-owner"
	case model.FaultQueueCorrupt:
		return "span-queue-well-formed"
	case model.FaultDelayedMode:
		return "delayed-mode-protocol"
	case model.FaultAfterPublish:
		return "no-access-after-publish"
	case model.FaultDataRace:
		return "no-data-race"
	case model.FaultWalkStuck:
		return "walk-terminates"
	case model.FaultScanMissed:
		return "scan-complete"
	case model.FaultRetireExpired:
		return "retired-page-expires"
	}
	return "internal-fault"
}

// Checker checks the invariants of one simulator's states.
type Checker struct {
	m    *allocsim.Sim
	dims model.Dims
	sc   *allocsim.Scenario
}

// NewChecker returns the checker for m's states.
func NewChecker(m *allocsim.Sim) *Checker {
	return &Checker{m: m, dims: m.Dims(), sc: m.Scenario()}
}

func violation(name, format string, args ...any) *Violation {
	return &Violation{Invariant: name, Detail: fmt.Sprintf(format, args...)}
}

func slot(x uint8) (int, int) { return int(x) / model.MaxSlices, int(x) % model.MaxSlices }

// Known reports whether name is a registered invariant.
func Known(name string) bool {
	for _, inv := range Registry {
		if inv.Name == name {
			return true
		}
	}
	return false
}
