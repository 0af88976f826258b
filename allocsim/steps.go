package allocsim

import (
	"fmt"
	"strings"

	"mimcheck/model"
)

// Mode is the memory order of a step's shared access.
type Mode uint8

// Access modes.
const (
	ModePlain Mode = iota
	ModeRelaxed
	ModeAcquire
	ModeRelease
	ModeAcqRel
	ModeSeqCst
	ModeLock
)

var modeNames = [...]string{"plain", "relaxed", "acquire", "release", "acq_rel", "seq_cst", "lock"}

func (m Mode) String() string { return modeNames[m] }

// access says how a step's C source reaches the field: through an
// mi_atomic_* macro with a fixed order, or as a direct C expression on an
// _Atomic field (whose meaning depends on the language mode).
type access struct {
	mode   Mode // order of the mi_atomic_* macro (ignored when direct)
	direct bool // a plain C expression on an _Atomic field
}

// StepInfo describes one kind of step.
type StepInfo struct {
	Label string // kebab-case, "op.access"
	Field string // the shared field accessed
	Cite  string // C function it models (file: function)
	acc   access
	kind  accessKind
}

var stepInfos = map[uint8]StepInfo{
	pcFLoad:         {"free.load-thread-id", "segment->thread_id", "free.c: mi_free / mi_free_block_mt / _mi_segment_attempt_reclaim", access{mode: ModeRelaxed}, 0},
	pcFUnclaim:      {"free.unclaim-abandoned", "arena->blocks_abandoned, subproc->abandoned_count", "arena-abandon.c: _mi_arena_segment_clear_abandoned", access{mode: ModeAcqRel}, 0},
	pcFRdBit:        {"free.read-abandoned-bit", "arena->blocks_abandoned", "BUG_C: _mi_arena_segment_clear_abandoned as load-then-clear", access{mode: ModePlain}, 0},
	pcFClrBit:       {"free.clear-abandoned-bit", "arena->blocks_abandoned, subproc->abandoned_count", "BUG_C: _mi_arena_segment_clear_abandoned as load-then-clear", access{mode: ModePlain}, 0},
	pcFPush:         {"free.push-xthread-free", "page->xthread_free", "free.c: mi_free_block_delayed_mt", access{mode: ModeRelease}, 0},
	pcRcTID:         {"reclaim.store-thread-id", "segment->thread_id", "segment.c: mi_segment_reclaim", access{mode: ModeRelease}, 0},
	pcRcXchg:        {"reclaim.collect-xthread-free", "page->xthread_free", "page.c: _mi_page_thread_free_collect (from mi_segment_reclaim)", access{mode: ModeAcqRel}, 0},
	pcCfXchg:        {"check-free.collect-xthread-free", "page->xthread_free", "page.c: _mi_page_thread_free_collect (from mi_segment_check_free)", access{mode: ModeAcqRel}, 0},
	pcSlotFree:      {"segment-free.release-slot", "segment->thread_id, arena->blocks_inuse", "segment.c: mi_segment_os_free; arena.c: _mi_arena_free", access{direct: true}, 0},
	pcAbTID:         {"abandon.store-thread-id", "segment->thread_id", "segment.c: mi_segment_abandon", access{direct: true}, 0},
	pcMark:          {"abandon.mark-abandoned", "arena->blocks_abandoned, subproc->abandoned_count", "arena-abandon.c: _mi_arena_segment_mark_abandoned", access{mode: ModeAcqRel}, 0},
	pcSubproc:       {"abandon.read-subproc", "segment->subproc, subproc->abandoned_count", "BUG_SUBPROC: _mi_arena_segment_mark_abandoned before b1188ea3", access{mode: ModeRelaxed}, 0},
	pcAXchg:         {"malloc.collect-xthread-free", "page->xthread_free", "page.c: _mi_page_free_collect (from mi_find_free_page or mi_page_queue_find_free_ex)", access{mode: ModeAcqRel}, 0},
	pcTrCnt:         {"cursor.load-abandoned-count", "subproc->abandoned_count", "segment.c: mi_segment_get_reclaim_tries; arena-abandon.c: _mi_arena_field_cursor_init", access{mode: ModeRelaxed}, 0},
	pcTrMap:         {"cursor.load-bitmap", "arena->blocks_abandoned", "arena-abandon.c: mi_arena_segment_clear_abandoned_next_field", access{mode: ModeRelaxed}, 0},
	pcTrUnclaim:     {"cursor.unclaim-abandoned", "arena->blocks_abandoned, subproc->abandoned_count", "arena-abandon.c: mi_arena_segment_clear_abandoned_at", access{mode: ModeAcqRel}, 0},
	pcSlotClaim:     {"segment-alloc.claim-slot", "arena->blocks_inuse", "segment.c: mi_segment_alloc; arena.c: _mi_arena_alloc_aligned", access{mode: ModeAcqRel}, 0},
	pcExXchg:        {"exit.collect-xthread-free", "page->xthread_free", "page.c: _mi_page_free_collect(force) (from mi_heap_collect_ex)", access{mode: ModeAcqRel}, 0},
	pcFCasTF:        {"free.cas-xthread-free", "page->xthread_free", "free.c: mi_free_block_delayed_mt (push, or set MI_DELAYED_FREEING)", access{mode: ModeRelease}, 0},
	pcFLoadHeap:     {"free.load-xheap", "page->xheap", "free.c: mi_free_block_delayed_mt", access{mode: ModeAcquire}, 0},
	pcFPushDelayed:  {"free.push-heap-delayed", "heap->thread_delayed_free", "free.c: mi_free_block_delayed_mt", access{mode: ModeRelease}, 0},
	pcFResetDelayed: {"free.reset-delayed-freeing", "page->xthread_free", "free.c: mi_free_block_delayed_mt", access{mode: ModeRelease}, 0},
	pcDfTake:        {"delayed.take-list", "heap->thread_delayed_free", "page.c: _mi_heap_delayed_free_partial", access{mode: ModeAcqRel}, 0},
	pcDfUse:         {"delayed.use-delayed-free", "page->xthread_free", "page.c: _mi_page_try_use_delayed_free (from _mi_free_delayed_block)", access{mode: ModeRelease}, 0},
	pcDfXchg:        {"delayed.collect-xthread-free", "page->xthread_free", "page.c: _mi_page_free_collect (from _mi_free_delayed_block)", access{mode: ModeAcqRel}, 0},
	pcDfRepush:      {"delayed.repush", "heap->thread_delayed_free", "page.c: _mi_heap_delayed_free_partial", access{mode: ModeRelease}, 0},
	pcExNever:       {"exit.never-delayed-free", "page->xthread_free", "heap.c: mi_heap_page_never_delayed_free -> page.c: _mi_page_use_delayed_free", access{mode: ModeRelease}, 0},
	pcRcHeap:        {"reclaim.store-xheap", "page->xheap", "segment.c: mi_segment_reclaim -> mi_page_set_heap", access{mode: ModeRelease}, 0},
	pcRcUse:         {"reclaim.use-delayed-free", "page->xthread_free", "segment.c: mi_segment_reclaim -> _mi_page_use_delayed_free(override)", access{mode: ModeRelease}, 0},
	pcToFullXchg:    {"malloc.to-full-collect", "page->xthread_free", "page.c: mi_page_to_full -> _mi_page_free_collect", access{mode: ModeAcqRel}, 0},
	pcOsLockMark:    {"abandon.os-lock-append", "subproc->abandoned_os_lock, abandoned_os_list, abandoned_count", "arena-abandon.c: mi_arena_segment_os_mark_abandoned", access{mode: ModeLock}, 0},
	pcOsUnlockMark:  {"abandon.os-unlock", "subproc->abandoned_os_lock", "arena-abandon.c: mi_arena_segment_os_mark_abandoned", access{mode: ModeLock}, 0},
	pcOsTryLockFree: {"free.os-trylock-unlink", "subproc->abandoned_os_lock, abandoned_os_list, segment->thread_id", "arena-abandon.c: mi_arena_segment_os_clear_abandoned(take_lock)", access{mode: ModeLock}, 0},
	pcOsUnlockFree:  {"free.os-unlock", "subproc->abandoned_os_lock", "arena-abandon.c: mi_arena_segment_os_clear_abandoned(take_lock)", access{mode: ModeLock}, 0},
	pcOsCasTID:      {"free.cas-thread-id", "segment->thread_id, abandoned_count", "v2.1.7 arena.c: _mi_arena_segment_clear_abandoned (OS segment)", access{mode: ModeAcqRel}, 0},
	pcOsVisitLock:   {"cursor.os-visit-trylock", "subproc->abandoned_os_visit_lock", "arena-abandon.c: mi_arena_segment_clear_abandoned_next_list", access{mode: ModeLock}, 0},
	pcOsLockPop:     {"cursor.os-lock-pop", "subproc->abandoned_os_lock, abandoned_os_list, abandoned_count", "arena-abandon.c: mi_arena_segment_clear_abandoned_next_list", access{mode: ModeLock}, 0},
	pcOsUnlockPop:   {"cursor.os-unlock", "subproc->abandoned_os_lock", "arena-abandon.c: mi_arena_segment_clear_abandoned_next_list", access{mode: ModeLock}, 0},
	pcOsVisitUnlock: {"cursor.os-visit-unlock", "subproc->abandoned_os_visit_lock", "arena-abandon.c: _mi_arena_field_cursor_done", access{mode: ModeLock}, 0},
	pcFAXchg:        {"force-abandon.collect-xthread-free", "page->xthread_free", "segment.c: mi_segment_force_abandon -> _mi_page_free_collect", access{mode: ModeAcqRel}, 0},
	pcFANever:       {"force-abandon.never-delayed-free", "page->xthread_free", "page.c: _mi_page_force_abandon -> _mi_page_use_delayed_free(NEVER)", access{mode: ModeRelease}, 0},
	pcFAWalkPub:     {"force-abandon.walk-published", "segment->slices (published segment)", "segment.c: mi_segment_force_abandon (loop after the segment was abandoned)", access{mode: ModePlain}, 0},
	pcFAClearPub:    {"force-abandon.clear-dont-free", "segment->dont_free, segment->used (published segment)", "segment.c: mi_segment_force_abandon (after the loop)", access{mode: ModePlain}, 0},
	pcFACap:         {"force-abandon.read-capacity", "page->capacity (and the page's fields after it)", "page.c: _mi_page_force_abandon (after _mi_heap_delayed_free_all)", access{mode: ModePlain}, 0},
	pcCoalesceRead:  {"coalesce.read-thread-id", "segment->thread_id", "segment.c: mi_segment_span_free_coalesce (inside the step that frees the span)", access{direct: true}, kindLoad},
	pcSend:          {"handoff.send", "mailbox", "scenario device (release)", access{mode: ModeRelease}, 0},
	pcRecv:          {"handoff.recv", "mailbox", "scenario device (acquire)", access{mode: ModeAcquire}, 0},
}

// pcCoalesceRead names the thread_id read of mi_segment_span_free_coalesce
// in race reports; it is not a phase (the read is folded into the step
// that frees the span).
const pcCoalesceRead uint8 = 255

func init() {
	for pc, si := range stepInfos {
		if pc == pcCoalesceRead {
			continue
		}
		si.kind = kindOf(pc)
		stepInfos[pc] = si
	}
}

func labelOf(pc uint8) string {
	if si, ok := stepInfos[pc]; ok {
		return si.Label
	}
	return "?"
}

// StepInfoOf returns the description of the step with the given label.
// A "+coalesce" suffix (the step also ran mi_segment_span_free_coalesce)
// is ignored.
func StepInfoOf(label string) (StepInfo, bool) {
	label, _, _ = strings.Cut(label, "+")
	label, _, _ = strings.Cut(label, "~")
	for _, si := range stepInfos {
		if si.Label == label {
			return si, true
		}
	}
	return StepInfo{}, false
}

// accessKind says what kind of operation a step's shared access is, which
// decides what MSVC's C mode compiles it to.
type accessKind uint8

const (
	kindRMW   accessKind = iota // CAS, exchange, fetch_and/or/add: _Interlocked* in MSVC-C
	kindLoad                    // mi_atomic_load_*
	kindStore                   // mi_atomic_store_*
	kindLock                    // mi_lock_* (a mutex)
	kindFixed                   // plain by construction (seeded bugs, scenario device)
)

func kindOf(pc uint8) accessKind {
	switch pc {
	case pcFLoad, pcTrCnt, pcTrMap, pcFLoadHeap, pcSubproc:
		return kindLoad
	case pcRcTID, pcRcHeap:
		return kindStore
	case pcOsLockMark, pcOsUnlockMark, pcOsTryLockFree, pcOsUnlockFree, pcOsVisitLock, pcOsLockPop, pcOsUnlockPop, pcOsVisitUnlock:
		return kindLock
	case pcFRdBit, pcFClrBit, pcFAWalkPub, pcFAClearPub, pcFACap, pcSend, pcRecv:
		return kindFixed
	}
	return kindRMW
}

// ModeOf returns the memory order of a step kind in m's language mode and
// source tag (include/mimalloc/atomic.h):
//   - a direct expression on an _Atomic field is seq_cst in C11 and C++ and
//     a plain access in MSVC's C mode, where _Atomic(T) is T;
//   - in MSVC's C mode every read-modify-write is an _Interlocked* intrinsic
//     (a full barrier: seq_cst); up to v2.3.0 mi_atomic_load_* and
//     mi_atomic_store_* are plain accesses on x86/x64, from v2.4.1 (60a1f3bc)
//     __iso_volatile_load/store (atomic, unordered on x86/x64: relaxed);
//   - otherwise the order the mi_atomic_* macro names.
func (m *Sim) ModeOf(si StepInfo) Mode {
	if si.Label == "free.cas-xthread-free" && m.cfg.Patches.Has(PatchC) {
		si.acc.mode = ModeAcqRel // patch C (options.go)
	}
	if si.acc.direct {
		if m.cfg.Lang == LangMSVC {
			return ModePlain
		}
		return ModeSeqCst
	}
	if m.cfg.Lang != LangMSVC {
		return si.acc.mode
	}
	switch si.kind {
	case kindRMW:
		return ModeSeqCst
	case kindLoad, kindStore:
		if m.cfg.Source == V241 {
			return ModeRelaxed
		}
		return ModePlain
	}
	return si.acc.mode
}

// CoalesceReadMode is the memory order of the thread_id read inside
// mi_segment_span_free_coalesce: the relaxed mi_segment_is_abandoned at
// v2.4.1 or with patch A; the direct expression segment->thread_id == 0 at
// v2.3.0 and v2.1.7 (seq_cst in C11 and C++, plain in MSVC's C mode).
// The read is folded into the step that runs the coalesce: only the
// segment's holder writes thread_id at that moment, so no interleaving can
// change the value it reads (scenario steps carry a "+coalesce" suffix).
func (m *Sim) CoalesceReadMode() Mode {
	if m.cfg.Source == V241 || m.cfg.Patches.Has(PatchA) {
		// mi_atomic_load_relaxed: in MSVC-C a plain load up to v2.3.0
		return m.ModeOf(StepInfo{acc: access{mode: ModeRelaxed}, kind: kindLoad})
	}
	return m.ModeOf(StepInfo{acc: access{direct: true}})
}

// StepLabels lists every step label, sorted.
func StepLabels() []string {
	m := map[string]bool{}
	for _, si := range stepInfos {
		m[si.Label] = true
	}
	return sortedKeys(m)
}

func init() {
	// every shared phase has a step description
	for pc := pcShared; pc < pcShared+64; pc++ {
		if _, ok := stepInfos[pc]; !ok && pc <= pcRecv {
			panic("mimcheck internal bug: shared phase without a step description")
		}
	}
}

// FaultSite is the key of an in-step precondition site: the fault's name
// and the label of the step that found it, "FAULT@LABEL" (for example
// "use-after-free@force-abandon.read-capacity"). explore run
// --all-violations goes past one site at a time.
func FaultSite(f model.FaultCode, label string) string { return f.String() + "@" + label }

// siteLabel is the label of the step that starts in phase pc; the local
// work before a thread's first shared access (Sim.Init) is "init".
func siteLabel(pc uint8) string {
	if pc < pcShared {
		return "init"
	}
	return labelOf(pc)
}

// FaultSiteOf returns the site of the fault a step of thread i from s
// finds; s is the state before the step.
func (m *Sim) FaultSiteOf(s *model.State, i int, f model.FaultCode) string {
	return FaultSite(f, siteLabel(s.Threads[i%model.MaxThreads].PC))
}

// ValidFaultSite checks a FaultSite key: a fault name other than
// data-race (race sites have keys of their own, RaceKey) and a step label
// or "init".
func ValidFaultSite(k string) error {
	name, label, ok := strings.Cut(k, "@")
	if !ok {
		return fmt.Errorf("fault site %q: want FAULT@LABEL", k)
	}
	known := false
	for f := model.FaultNone + 1; f < model.FaultCount; f++ {
		if f != model.FaultDataRace && f.String() == name {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("fault site %q: unknown fault %q", k, name)
	}
	if label == "init" {
		return nil
	}
	for _, l := range StepLabels() {
		if l == label {
			return nil
		}
	}
	return fmt.Errorf("fault site %q: unknown step label %q", k, label)
}
