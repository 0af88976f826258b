package allocsim

import (
	"fmt"

	"mimcheck/model"
)

// runLocal executes thread i's local phases until its PC names a shared
// phase (or the program is done).
func (m *Sim) runLocal(s *model.State, i int) {
	r := m.newRun(s, i)
	r.runLocal()
}

func (r *run) runLocal() {
	for guard := 0; ; guard++ {
		if guard > 10000 {
			panic(fmt.Sprintf("mimcheck internal bug: local work does not terminate: T%d cycles through local phase %d (segment %d, slice %d)", r.i+1, r.t.PC, r.t.Seg, r.t.SI))
		}
		if r.t.PC >= pcShared || r.t.PC == pcDone || r.stop {
			return
		}
		r.local()
	}
}

// finishOp ends the current operation and resets the scratch registers
// (scenarios.md §1.4: scratch is reset at the end of every operation).
func (r *run) finishOp() {
	t := r.t
	t.Op++
	t.PC = pcStart
	t.Cont, t.Mode, t.Seg, t.SI, t.CI, t.Flags, t.Tries, t.Word, t.Aux = 0, 0, 0, 0, 0, 0, 0, 0, 0
	t.Try, t.Coll = 0, 0
}

// collForce: the collect in progress is MI_FORCE or MI_ABANDON (collect >= MI_FORCE).
func (r *run) collForce() bool { return r.t.Coll&collKind >= collForce }

// heapInit initialises the thread's default heap if it is _mi_heap_empty
// (init.c: mi_thread_init -> _mi_thread_heap_init: a fresh heap and tld,
// so generic_count starts at 0). Only the full abstraction models it; the
// spin abstraction's threads are initialised from the start
// (scenarios.md §1.1).
func (r *run) heapInit() {
	if r.m.spin() || r.t.HeapInit {
		return
	}
	r.t.HeapInit = true
	r.t.Gen = 0
}

// collectDone ends mi_heap_collect_ex: a thread exit resets the default
// heap to _mi_heap_empty (init.c: _mi_thread_heap_done); the forced
// collect of _mi_malloc_generic's out-of-memory path goes back to
// mi_find_page (page.c:1054-1057 at v2.4.1); any other collect ends its
// operation.
func (r *run) collectDone() {
	t := r.t
	if t.Coll&collKind == collForce {
		r.fullRetained() // retired-page-expires: nothing all free left in FULL
	}
	if t.Coll&collOOM != 0 {
		t.Coll = 0
		r.clearCursor()
		t.PC = pcMallocFindPage
		return
	}
	if t.Coll&collKind == collAbandon && !r.m.spin() {
		t.HeapInit = false
	}
	r.finishOp()
}

// clearCursor resets the registers of the abandoned-set cursor and of a
// continuation between _mi_malloc_generic and its out-of-memory collect.
func (r *run) clearCursor() {
	t := r.t
	t.Mode, t.CI, t.Tries, t.Word, t.Flags, t.Seg, t.Cont = 0, 0, 0, 0, 0, 0, 0
}

// freshFailed: mi_page_fresh returned NULL (out of memory, or
// mi_segment_reclaim_or_alloc reclaimed a page of the right size into the
// heap and "pretends out-of-memory"). On the first try
// mi_page_queue_find_free_ex searches the queue once more with
// first_try=false (page.c:870-874 at v2.4.1, page.c:755-761 at v2.1.7);
// after that mi_find_page has failed. The retry runs no delayed-free pass
// and does not count as another generic malloc.
func (r *run) freshFailed() {
	t := r.t
	if t.Try&1 == 0 && !r.m.largeClass(r.op().A) { // a large class's mi_large_huge_page_alloc has no retry
		t.Try |= 1
		t.CI = 0
		t.PC = pcMallocNextPage
		return
	}
	r.findPageFailed()
}

// findPageFailed: mi_find_page returned NULL. The first time
// _mi_malloc_generic runs mi_heap_collect(heap, true) and calls
// mi_find_page again (page.c:1054-1057 at v2.4.1, 1019-1022 at v2.3.0,
// 918-921 at v2.1.7); the second time malloc returns NULL.
func (r *run) findPageFailed() {
	t := r.t
	if t.Try&2 == 0 {
		t.Try = 2
		r.clearCursor()
		t.Coll = collForce | collOOM
		r.collectStart()
		return
	}
	t.Regs[r.op().B] = model.NullHandle // out of memory: malloc returns NULL
	r.finishOp()
}

func (r *run) op() Op { return r.m.opAt(r.i, r.t) }

// local executes one local phase.
func (r *run) local() {
	t := r.t
	if r.segmentGone(t.PC) {
		return
	}
	switch t.PC {
	case pcStart:
		op := r.op()
		switch op.Kind {
		case OpEnd:
			t.PC = pcDone
		case OpMalloc:
			r.heapInit() // _mi_malloc_generic on _mi_heap_empty: mi_heap_get_default -> mi_thread_init
			t.PC = pcMallocFind
		case OpInit:
			r.heapInit()
			r.finishOp()
		case OpFree:
			if h := t.Regs[op.A]; h == 0 || h == model.NullHandle { // free(NULL) is a no-op
				t.Regs[op.A] = 0
				r.finishOp()
			} else {
				t.PC = pcFLoad
			}
		case OpSend:
			t.PC = pcSend
		case OpRecv:
			t.PC = pcRecv
		case OpExit, OpCollect, OpForceCollect:
			t.CI = 0
			switch op.Kind {
			case OpCollect:
				t.Coll = collNormal
			case OpForceCollect:
				t.Coll = collForce
			default:
				t.Coll = collAbandon
			}
			if r.m.spin() {
				t.PC = pcExitStart
			} else if !t.HeapInit {
				// mi_heap_collect_ex and _mi_thread_done return at once on an
				// uninitialised heap (heap.c:127 / init.c:533 at v2.4.1)
				r.finishOp()
			} else {
				r.collectStart()
			}
		}
	case pcMallocFind:
		r.mallocFind()
	case pcMallocNextPage:
		r.mallocNextPage()
	case pcMallocFindPage:
		r.mallocFindPage()
	case pcMallocAfterXchg:
		r.mallocAfterXchg()
	case pcMallocFresh:
		r.mallocFresh()
	case pcCursorIter:
		r.cursorIter()
	case pcCursorScan:
		r.cursorScan()
	case pcCursorEnd:
		r.cursorEnd()
	case pcCheckFree:
		r.checkFreeNext()
	case pcCheckFreePg:
		r.checkFreePage()
	case pcCheckDone:
		r.checkFreeDone()
	case pcReclaimedFor:
		r.reclaimedFor()
	case pcReclaimNext:
		r.reclaimNext()
	case pcReclaimPg:
		r.reclaimPage()
	case pcReclaimEnd:
		r.reclaimEnd()
	case pcSegFree:
		r.segmentFree()
	case pcAbandon:
		r.segmentAbandon()
	case pcExitNext:
		r.exitNext()
	case pcExitPg:
		r.exitPage()
	case pcFreeLocal:
		r.freeBlockLocal()
	case pcFreeAfterRcl:
		t.Flags, t.Seg = 0, 0
		t.PC = pcFreeLocal // the recursive mi_free is now local
	case pcFinish:
		r.finishOp()
	case pcRetiredNext:
		r.retiredNext()
	case pcRetiredResume:
		r.retiredResume()
	case pcExitStart:
		// mi_heap_collect_ex: _mi_heap_collect_retired(heap, collect >= MI_FORCE)
		r.collectRetired(r.collForce(), pcExitNext)
	case pcMallocRetired:
		r.collectRetired(false, pcMallocFresh)
	case pcMallocGeneric:
		r.mallocGeneric()
	case pcMallocToFull:
		t.CI++
		t.PC = pcMallocNextPage
	case pcDfNext:
		r.delayedNext()
	case pcDfAfterXchg:
		r.delayedAfterXchg()
	case pcExitNever:
		r.exitNever()
	case pcCursorOSNext:
		r.osCursorNext()
	case pcTryAbandon:
		r.tryAbandon()
	case pcFANext:
		r.forceNext()
	case pcFAPage:
		r.forcePage()
	case pcFAAfter:
		r.forceAfter()
	case pcExitRetired:
		t.CI = 0
		r.collectRetired(r.collForce(), pcExitNext)
	default:
		panic("mimcheck internal bug: unknown local phase")
	}
}

// heldPhase reports whether phase pc works on segment t.Seg, which the
// thread holds (claimed, reclaimed, being freed or abandoned).
func heldPhase(pc uint8) bool {
	switch pc {
	case pcCheckFree, pcCheckFreePg, pcReclaimNext, pcReclaimPg, pcReclaimEnd, pcSegFree, pcAbandon,
		pcRcTID, pcRcXchg, pcRcHeap, pcRcUse, pcCfXchg, pcSlotFree, pcAbTID, pcMark:
		return true
	}
	return false
}

// segmentGone checks that the segment the phase pc works on (t.Seg; t.FSeg
// in a force abandon) was not freed under this thread meanwhile by another
// thread (harmful-publish mode, mutants): freed, or freed and allocated
// again (faGone, set by segmentOSFree, since the slot is then live again),
// the phase's accesses are a use-after-free. The model does not follow
// them: the state is a violation, or cut past it.
func (r *run) segmentGone(pc uint8) bool {
	var g, i int
	switch {
	case heldPhase(pc):
		g, i = int(r.t.Seg), int(r.t.SI)
	case pc == pcFAPage || pc == pcFAXchg || pc == pcFANever:
		g, i = int(r.t.FSeg), int(r.t.FSI)
	default:
		return false
	}
	if r.s.Segs[g].Live && r.t.FA&faGone == 0 && (!pagePhase(pc) || r.slice(g, i).BlockSize >= model.BlockPage0) {
		return false
	}
	r.fault(model.FaultUseAfterFree, g, i)
	return true
}

// pagePhase reports whether phase pc works on the page at slice t.SI of
// t.Seg (t.FSI of t.FSeg), found used by the thread's previous step. A
// thread that does not hold the segment can free that page in between
// (force abandon's walk after publishing, harmful-publish mode): the
// phase's accesses are then to a freed page.
func pagePhase(pc uint8) bool {
	switch pc {
	case pcRcXchg, pcReclaimPg, pcRcHeap, pcRcUse, pcCfXchg, pcCheckFreePg, pcFAXchg, pcFAPage, pcFANever:
		return true
	}
	return false
}

// shared executes thread i's pending shared access and returns its label.
func (r *run) shared() string {
	s := r.s
	t := r.t
	pc := t.PC
	if r.segmentGone(pc) {
		return labelOf(pc)
	}
	switch pc {
	case pcFLoad:
		r.freeLoadThreadID()
	case pcFUnclaim:
		r.freeUnclaim()
	case pcFRdBit:
		g := int(t.Seg)
		if s.AbandonedMap&(1<<g) != 0 {
			t.PC = pcFClrBit
		} else {
			t.Seg = 0
			t.PC = pcFPush
		}
	case pcFClrBit:
		g := int(t.Seg)
		s.AbandonedMap &^= 1 << g
		s.AbandonedCount--
		r.claim(g)
		t.Flags = 0
		t.Cont = pcFreeAfterRcl
		t.PC = pcRcTID
	case pcFPush:
		r.freeBlockDelayedMT()
	case pcRcTID:
		r.reclaimStoreThreadID()
	case pcRcXchg:
		g := int(t.Seg)
		if r.m.spin() {
			s.Segs[g].Abandoned-- // full model: at pcRcHeap
		}
		r.pageThreadFreeCollect(gidx(g, int(t.SI)), false)
		t.PC = pcReclaimPg
	case pcCfXchg:
		r.pageThreadFreeCollect(gidx(int(t.Seg), int(t.SI)), false)
		t.PC = pcCheckFreePg
	case pcSlotFree:
		r.segmentOSFree()
	case pcAbTID:
		g := int(t.Seg)
		r.assertHolder(g)
		s.Segs[g].ThreadID = model.NoThread
		s.Segs[g].AbandonedVisits = 1
		s.Segs[g].WasReclaimed = false
		t.PC = pcMark
	case pcMark:
		r.arenaSegmentMarkAbandoned()
	case pcSubproc:
		g := int(t.Seg)
		if !s.Segs[g].Live || !s.Segs[g].SubprocValid {
			r.fault(model.FaultUseAfterFree, g, 0)
		}
		s.AbandonedCount++
		t.Seg = 0
		t.PC, t.Cont = t.Cont, 0
	case pcAXchg:
		r.pageThreadFreeCollect(t.CI, false)
		t.PC = pcMallocAfterXchg
	case pcTrCnt:
		r.loadAbandonedCount()
	case pcTrMap:
		t.Word = s.AbandonedMap
		t.PC = pcCursorScan
	case pcTrUnclaim:
		r.cursorUnclaim()
	case pcSlotClaim:
		r.segmentAlloc()
	case pcExXchg:
		r.pageThreadFreeCollect(t.CI, r.collForce()) // force = collect >= MI_FORCE
		t.PC = pcExitPg
	case pcFCasTF:
		r.freeBlockDelayedMT()
	case pcFLoadHeap:
		r.freeLoadHeap()
	case pcFPushDelayed:
		r.freePushHeapDelayed()
	case pcFResetDelayed:
		r.freeResetDelayed()
	case pcDfTake:
		r.delayedTake()
	case pcDfUse:
		r.delayedUse()
	case pcDfXchg:
		x, _ := decode(t.Aux)
		r.pageThreadFreeCollect(x, false)
		t.PC = pcDfAfterXchg
	case pcDfRepush:
		r.delayedRepush()
	case pcExNever:
		// _mi_page_use_delayed_free(page, MI_NEVER_DELAYED_FREE, false): the
		// step is disabled while the page is MI_DELAYED_FREEING (it spins).
		r.sl(t.CI).Delayed = model.NeverDelayedFree
		t.CI++
		t.PC = pcExitNever
	case pcRcHeap:
		// mi_segment_reclaim: abandoned--, mi_page_set_heap (release store of xheap)
		g := int(t.Seg)
		s.Segs[g].Abandoned--
		r.slice(g, int(t.SI)).Heap = r.tid
		t.PC = pcRcUse
	case pcRcUse:
		// _mi_page_use_delayed_free(page, MI_USE_DELAYED_FREE, true): disabled
		// while MI_DELAYED_FREEING. (The reclaim-keeps-never-delayed
		// mutation: without override_never, a page that is
		// MI_NEVER_DELAYED_FREE stays so.)
		if p := r.slice(int(t.Seg), int(t.SI)); r.m.cfg.Mutant != MutReclaimNeverDelayed || p.Delayed != model.NeverDelayedFree {
			p.Delayed = model.UseDelayedFree
		}
		t.PC = pcRcXchg
	case pcToFullXchg:
		// mi_page_to_full: collect right away
		r.pageThreadFreeCollect(t.CI, false)
		t.PC = pcMallocToFull
		if t.Cont != 0 { // _mi_malloc_generic's move after the allocation
			t.PC, t.Cont = t.Cont, 0
		}
	case pcFAXchg:
		r.pageThreadFreeCollect(gidx(int(t.FSeg), int(t.FSI)), false)
		t.PC = pcFAPage
	case pcFANever:
		// _mi_page_force_abandon: _mi_page_use_delayed_free(NEVER), disabled
		// while MI_DELAYED_FREEING; then _mi_heap_delayed_free_all.
		r.slice(int(t.FSeg), int(t.FSI)).Delayed = model.NeverDelayedFree
		r.startDelayedFree(true, pcFACap)
	case pcFACap:
		r.forceAfterDelayed()
	case pcFAWalkPub:
		r.forceWalkPublished()
	case pcFAClearPub:
		r.forceClearPublished()
	case pcOsLockMark:
		r.osLockMark()
	case pcOsUnlockMark:
		r.osUnlockMark()
	case pcOsTryLockFree:
		r.osTryLockFree()
	case pcOsUnlockFree:
		r.osUnlockFree()
	case pcOsCasTID:
		r.osCasThreadID()
	case pcOsVisitLock:
		r.osVisitLock()
	case pcOsLockPop:
		r.osLockPop()
	case pcOsUnlockPop:
		r.osUnlockPop()
	case pcOsVisitUnlock:
		s.OSVisitLocked = 0
		if t.Cont == pcReclaimedFor { // the cursor found its segment: on to use it
			t.PC, t.Cont = pcReclaimedFor, 0
		} else {
			t.PC = pcCursorEnd
		}
	case pcSend:
		op := r.op()
		h := t.Regs[op.A]
		if h == 0 {
			h = model.NullHandle
		}
		s.Mailbox[op.B] = h
		t.Regs[op.A] = 0
		r.finishOp()
	case pcRecv:
		op := r.op()
		t.Regs[op.B] = s.Mailbox[op.A]
		s.Mailbox[op.A] = 0
		r.finishOp()
	default:
		panic("mimcheck internal bug: unknown shared phase")
	}
	return labelOf(pc)
}

// claim makes this thread the exclusive holder of segment g after a
// successful unclaim of its abandoned bit; another holder is a violation
// of exclusive access (O1).
func (r *run) claim(g int) {
	sg := &r.s.Segs[g]
	if sg.Holder != model.NoThread {
		r.fault(model.FaultClaimHeld, g, 0)
	}
	sg.Holder = r.tid
	sg.Busy = true
	for j := range r.s.Threads[:r.m.nt] { // scan-complete: g no longer stays abandoned
		r.s.Threads[j].Scan &^= 1 << g
	}
}

// ---------------------------------------------------------------- malloc

// mallocFind is malloc's entry. Under --abstraction spin it takes a
// block from any heap page of the class with a free block (scenarios.md
// §1.2 step 1), else searches the queue. At full fidelity it is alloc.c's
// fast path, which only a class of small requests has (PathSmall,
// size <= MI_SMALL_SIZE_MAX; alloc.c:174 at v2.4.1, alloc.c:150 at v2.1.7):
// mi_heap_malloc_small_zero pops page->free of heap->pages_free_direct,
// the first page of the class's queue, and leaves retire_expire as it is
// (_mi_page_malloc_zero); with that list empty, or for any other class,
// the malloc is _mi_malloc_generic. Heap pages are visited in slot/slice
// order, which stands for the queue's order.
func (r *run) mallocFind() {
	op := r.op()
	r.t.CI = 0
	if !r.m.spin() {
		if c := r.m.sc.Classes[op.A]; c.FastPath() && !r.m.largeClass(op.A) {
			if x, _ := r.heapPages(op.A); x != 0xFF && r.sl(x).Free != 0 {
				r.popBlock(x, op.B)
				r.finishOp()
				return
			}
		}
		r.t.PC = pcMallocGeneric
		return
	}
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if r.heapPage(g, i) && p.BlockSize == model.BlockPage0+op.A && p.Free != 0 && !p.InFull {
				r.popBlock(gidx(g, i), op.B)
				r.finishOp()
				return
			}
		}
	}
	r.t.PC = pcMallocNextPage
}

// mallocFindPage is mi_find_page (full fidelity), after _mi_malloc_generic's
// administrative work: a huge class gets a fresh huge segment, a large class
// (one block over MI_MEDIUM_OBJ_SIZE_MAX) a fresh page from
// mi_large_huge_page_alloc, without a queue search or a collect of retired
// pages (page.c:1001-1008 at v2.4.1, 966-975 at v2.3.0, 874-885 at v2.1.7);
// any other class mi_find_free_page: collect the first page of the queue
// (pq->first) and take it if a block is available, setting retire_expire
// to 0 (page.c:897-913 at v2.4.1, 859-883 at v2.3.0, 774-795 at v2.1.7);
// otherwise mi_page_queue_find_free_ex searches the queue from its first
// page, which it collects once more.
func (r *run) mallocFindPage() {
	op := r.op()
	t := r.t
	t.CI = 0
	switch {
	case r.m.sc.Classes[op.A].Huge:
		t.PC = pcSlotClaim
	case r.m.largeClass(op.A):
		t.PC = pcMallocFresh
	default:
		if x, _ := r.heapPages(op.A); x != 0xFF {
			t.CI = x
			t.Try |= tryFirstPage
			t.PC = pcAXchg
			return
		}
		t.PC = pcMallocNextPage
	}
}

// tryFirstPage (Thread.Try): the page collect in progress is
// mi_find_free_page's of pq->first, not mi_page_queue_find_free_ex's.
const tryFirstPage = 4

// mallocNextPage picks the next heap page of the class (from cursor CI)
// whose xthread_free to collect. v2.4.1: page.c: mi_page_queue_find_free_ex
// -> _mi_page_free_collect.
func (r *run) mallocNextPage() {
	op := r.op()
	if r.m.sc.Classes[op.A].Huge { // mi_large_huge_page_alloc: always a fresh huge segment
		r.t.PC = pcSlotClaim
		return
	}
	for x := int(r.t.CI); x < r.m.ns*model.MaxSlices; x++ {
		g, i := x/model.MaxSlices, x%model.MaxSlices
		if i >= r.m.nsl || !r.heapPage(g, i) {
			continue
		}
		if p := r.slice(g, i); p.BlockSize == model.BlockPage0+op.A && !p.InFull {
			r.t.CI = uint8(x)
			r.t.PC = pcAXchg
			return
		}
	}
	r.t.CI = 0
	r.t.PC = pcMallocRetired
}

// mallocAfterXchg takes a block if the collect freed one, else moves on.
func (r *run) mallocAfterXchg() {
	x := r.t.CI
	if r.sl(x).Free != 0 {
		r.t.Try &^= tryFirstPage
		r.sl(x).Retire = 0 // mi_find_free_page / mi_page_queue_find_free_ex: picked for allocation
		r.popBlock(x, r.op().B)
		r.genericAllocated(x)
		return
	}
	if r.t.Try&tryFirstPage != 0 { // mi_find_free_page -> mi_page_queue_find_free_ex(first_try=true), from pq->first
		r.t.Try &^= tryFirstPage
		r.t.CI = 0
		r.t.PC = pcMallocNextPage
		return
	}
	if !r.m.spin() { // mi_page_to_full, then collect once more
		r.sl(x).InFull = true
		r.t.PC = pcToFullXchg
		return
	}
	r.t.CI = x + 1
	r.t.PC = pcMallocNextPage
}

// genericAllocated ends _mi_malloc_generic after _mi_page_malloc took a
// block from page x: from v2.3.0 on a page whose blocks are now all in use
// (page->reserved == page->used) moves to the FULL queue at once
// (page.c:1072-1075 at v2.4.1, page.c:1037-1040 at v2.3.0; v2.1.7 has no
// such test): mi_page_to_full, whose _mi_page_free_collect is the next
// step. In the scaled model a page's capacity is its reserve (no
// mi_page_extend_free). The fast path (mallocFind) never does this.
func (r *run) genericAllocated(x uint8) {
	p := r.sl(x)
	c := p.BlockSize - model.BlockPage0
	if r.m.spin() || r.m.cfg.Source == V217 || p.InFull || p.Used < r.m.sc.Classes[c].Blocks {
		r.finishOp()
		return
	}
	p.InFull = true
	r.t.CI = x
	r.t.Cont = pcFinish
	r.t.PC = pcToFullXchg
}

// mallocFresh allocates a fresh page from the span queues, else goes to
// mi_segment_reclaim_or_alloc. v2.4.1: page.c: mi_page_fresh ->
// segment.c: _mi_segment_page_alloc -> mi_segments_page_alloc.
func (r *run) mallocFresh() {
	op := r.op()
	c := r.m.sc.Classes[op.A]
	if x := r.segmentsPageFindAndAllocate(int(c.Slices), op.A); x != 0 {
		r.popBlock(x-1, op.B)
		r.genericAllocated(x - 1)
		return
	}
	// mi_segment_reclaim_or_alloc: mi_segments_try_abandon, then try_reclaim
	r.t.PC = pcTryAbandon
}

// segmentAlloc claims a free arena slot and initialises a fresh segment
// owned by this thread (slice 0 = info, the rest one free span).
// v2.4.1: segment.c: mi_segment_alloc (arena.c: _mi_arena_alloc_aligned).
func (r *run) segmentAlloc() {
	op := r.op()
	for g := 0; g < r.m.ns; g++ {
		if r.s.Segs[g].Live {
			continue
		}
		sg := &r.s.Segs[g]
		*sg = model.Segment{ThreadID: r.tid, Live: true, SubprocValid: true, Holder: r.tid, OS: r.m.sc.OSMemory}
		*r.slice(g, 0) = model.Slice{SliceCount: 1, BlockSize: model.BlockUsed}
		if c := r.m.sc.Classes[op.A]; c.Huge {
			// segment.c: mi_segment_huge_page_alloc -> mi_segment_alloc(huge_page):
			// kind MI_SEGMENT_HUGE, one page over the data slices
			sg.Huge = true
			r.segmentSpanAllocate(g, 1, r.m.nsl-1, op.A)
			r.popBlock(gidx(g, 1), op.B)
			r.genericAllocated(gidx(g, 1))
			return
		}
		r.segmentSpanFree(g, 1, r.m.nsl-1)
		r.t.PC = pcMallocFresh
		return
	}
	switch {
	case r.m.spin(): // scenarios.md §1.1: malloc returns NULL
		r.t.Regs[op.B] = model.NullHandle
		r.finishOp()
	case r.m.sc.Classes[op.A].Huge: // mi_large_huge_page_alloc: mi_find_page returns NULL
		r.findPageFailed()
	default: // mi_segment_alloc NULL -> mi_page_fresh NULL
		r.freshFailed()
	}
}

// ------------------------------------------------------ abandoned cursor

// loadAbandonedCount reads subproc->abandoned_count to size the reclaim
// loop. v2.4.1: segment.c: mi_segment_get_reclaim_tries,
// arena-abandon.c: _mi_arena_field_cursor_init (one load, folded).
func (r *run) loadAbandonedCount() {
	t := r.t
	n := int(r.s.AbandonedCount)
	if n == 0 || n > 127 { // a wrapped (negative) count reads as huge; tries are capped
		if n == 0 {
			if t.Mode == modeTryReclaim {
				t.Mode = 0
				t.PC = pcSlotClaim
			} else {
				if t.Coll&collKind == collForce && r.m.ghost() { // max_tries = 0: a scan that meets nothing
					t.Scan = r.abandonedSet()
					r.scanEnd()
				}
				r.collectDone()
			}
			return
		}
	}
	if t.Mode == modeTryReclaim {
		// max_segment_reclaim = 10 (%): tries = max(1, count*10/100), at most 8
		// when count > 8 (mi_segment_get_reclaim_tries).
		tries := n * 10 / 100
		if tries < 1 {
			tries = 1
		}
		if tries > 255 {
			tries = 255
		}
		if tries < 8 && n > 8 {
			tries = 8
		}
		t.Tries = uint8(tries)
	} else if !r.m.spin() {
		// _mi_abandoned_collect: max_tries = abandoned_count when forced,
		// else 1024, more than any scenario has (segment.c:1399 at v2.4.1,
		// 1389 at v2.3.0, 1339 at v2.1.7). The cursor's own load of the
		// count and this one are folded into one load: with two loads, the
		// first reading n > 0 and the second 0 visits nothing, as one load
		// at the second's moment does; the first reading 0 walks no arena,
		// as one load at the first's moment does.
		t.Tries = 255
		if t.Coll&collKind == collForce {
			t.Tries = uint8(n)
			if r.m.cfg.Mutant == MutBugScan { // the hand-made defect
				t.Tries--
			}
			if r.m.ghost() {
				t.Scan = r.abandonedSet()
			}
		}
	}
	t.CI = 0
	if r.m.osList() {
		t.Word = r.osListLen() // the cursor's snapshot of abandoned_os_list_count
	}
	if r.m.cfg.Source == V217 || r.m.cfg.Mutant == MutCursorSkipsFirstBit {
		// v2.1.7: arena.c: _mi_arena_segment_clear_abandoned_next resumes at
		// the stored bit + 1 even on the first call, so bit 0 of the first
		// arena is never visited (fixed upstream by 6e9b38ac).
		t.CI = 1
	}
	t.PC = pcCursorIter
}

// cursorIter is the head of the reclaim loop.
func (r *run) cursorIter() {
	t := r.t
	t.Flags, t.Seg = 0, 0
	if t.Mode == modeTryReclaim {
		if t.Tries == 0 || (r.m.cfg.Source != V217 && !r.withinTarget()) {
			t.PC = pcCursorEnd
			return
		}
		t.Tries--
	} else if !r.m.spin() { // _mi_abandoned_collect's max_tries
		if t.Tries == 0 {
			t.PC = pcCursorEnd
			return
		}
		t.Tries--
	}
	if r.m.osList() && r.m.cfg.Mutant != MutOSListNotScanned {
		t.PC = pcCursorOSNext
		return
	}
	t.PC = pcTrMap
}

// cursorScan finds the next set bit at or after the cursor in the
// snapshot of the bitmap word. arena-abandon.c:
// _mi_arena_segment_clear_abandoned_next.
func (r *run) cursorScan() {
	t := r.t
	for g := int(t.CI); g < r.m.ns; g++ {
		if t.Word&(1<<g) != 0 {
			t.Seg = uint8(g)
			t.PC = pcTrUnclaim
			return
		}
	}
	t.Seg = 0
	t.PC = pcCursorEnd
}

func (r *run) cursorEnd() {
	t := r.t
	if r.s.OSVisitLocked == uint8(r.tid) { // _mi_arena_field_cursor_done
		t.PC = pcOsVisitUnlock
		return
	}
	if t.Mode == modeTryReclaim {
		t.Mode, t.CI, t.Tries, t.Word, t.Flags, t.Seg = 0, 0, 0, 0, 0, 0
		t.PC = pcSlotClaim
		return
	}
	r.scanEnd()
	r.collectDone() // end of thread exit / collect
}

// cursorUnclaim atomically clears one abandoned bit found by the cursor.
// arena-abandon.c: mi_arena_segment_clear_abandoned_at (fetch_and acq_rel;
// abandoned_count-- on success).
func (r *run) cursorUnclaim() {
	t := r.t
	s := r.s
	g := int(t.Seg)
	if s.AbandonedMap&(1<<g) == 0 {
		t.CI = uint8(g + 1) // lost the race: go on scanning the snapshot
		t.Seg = 0
		t.PC = pcCursorScan
		return
	}
	s.AbandonedMap &^= 1 << g
	s.AbandonedCount--
	r.claim(g)
	if !s.Segs[g].Live || s.Segs[g].ThreadID != model.NoThread {
		r.fault(model.FaultUseAfterFree, g, 0)
	}
	t.CI = uint8(g + 1)
	t.Word = 0 // the next iteration reloads the word
	if t.Mode == modeTryReclaim {
		s.Segs[g].AbandonedVisits++
	}
	t.Flags = 0
	t.SI = r.slice(g, 0).SliceCount
	t.PC = pcCheckFree
}

// ----------------------------------------------------------- check_free

// neededSlices is the slice count the caller of check_free asks for.
func (r *run) neededSlices() int {
	if r.t.Mode == modeTryReclaim {
		return int(r.m.sc.Classes[r.op().A].Slices)
	}
	return 0
}

// checkFreeNext walks free spans (noting room) up to the next used page,
// whose xthread_free is then collected.
// v2.4.1: segment.c: mi_segment_check_free.
func (r *run) checkFreeNext() {
	t := r.t
	g := int(t.Seg)
	nd := r.neededSlices()
	for int(t.SI) < r.m.nsl && r.slice(g, int(t.SI)).BlockSize == model.BlockFree {
		if int(r.spanCount(g, int(t.SI))) >= nd {
			t.Flags |= flHasRoom
		}
		t.SI += r.spanCount(g, int(t.SI))
	}
	if int(t.SI) < r.m.nsl {
		t.PC = pcCfXchg
		return
	}
	t.SI = 0
	t.PC = pcCheckDone
}

// checkFreePage: after the collect, an all-free page is cleared (in
// abandoned mode: coalescing touches no queue); otherwise note a right page.
func (r *run) checkFreePage() {
	t := r.t
	g := int(t.Seg)
	x := gidx(g, int(t.SI))
	p := r.sl(x)
	if p.Used == 0 {
		r.s.Segs[g].Abandoned--
		head := r.segmentPageClear(g, int(t.SI))
		if int(r.spanCount(g, head)) >= r.neededSlices() {
			t.Flags |= flHasRoom
		}
		t.SI = uint8(head) + r.spanCount(g, head)
		t.PC = pcCheckFree
		return
	}
	if t.Mode == modeTryReclaim && r.rightPage(x, r.op().A) {
		t.Flags |= flHasRoom
	}
	t.SI += r.spanCount(g, int(t.SI))
	t.PC = pcCheckFree
}

// checkFreeDone decides what to do with the claimed segment.
// v2.4.1: segment.c: mi_segment_try_reclaim / _mi_abandoned_collect.
func (r *run) checkFreeDone() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	if t.Mode == modeTryReclaim {
		switch {
		case sg.Used == 0: // free the segment (by reclaiming it)
			t.Flags, t.Cont, t.PC = 0, pcCursorIter, pcRcTID
		case t.Flags&flHasRoom != 0: // reclaim it for this allocation
			t.Flags, t.Cont, t.PC = flWantRight, pcReclaimedFor, pcRcTID
		case sg.AbandonedVisits > 3: // force reclaim after too many visits
			t.Flags, t.Cont, t.PC = 0, pcCursorIter, pcRcTID
		default: // put it back; v2.4.1 segment.c:1385 and v2.3.0 segment.c:1375 do not count the try, v2.1.7 (segment.c:1324-1328) does
			if r.m.cfg.Source != V217 {
				t.Tries++
			}
			t.Flags, t.Cont, t.PC = 0, pcCursorIter, pcMark
		}
		return
	}
	t.Flags, t.Cont = 0, pcCursorIter
	if sg.Used == 0 {
		t.PC = pcRcTID
	} else {
		t.PC = pcMark
	}
}

// reclaimedFor: mi_segment_reclaim_or_alloc's use of the reclaimed segment.
func (r *run) reclaimedFor() {
	t := r.t
	if r.s.OSVisitLocked == uint8(r.tid) {
		// mi_segment_try_reclaim breaks out of its loop with the segment and
		// runs _mi_arena_field_cursor_done, which releases the OS visit
		// lock, before mi_segment_reclaim_or_alloc uses the segment
		// (v2.4.1 segment.c:1354-1391; fixed upstream by 96b69d7e)
		t.Cont = pcReclaimedFor
		t.PC = pcOsVisitUnlock
		return
	}
	f := t.Flags
	t.Mode, t.CI, t.Tries, t.Word, t.Flags, t.Seg = 0, 0, 0, 0, 0, 0
	switch {
	case f&flRight != 0 && r.m.spin(): // scenarios.md: a right page is now in our heap: retry from step 1
		t.PC = pcMallocFind
	case f&flRight != 0: // reclaim_or_alloc "pretends out-of-memory": mi_page_fresh returns NULL
		r.freshFailed()
	case f&flFreed == 0: // use the reclaimed spans
		t.PC = pcMallocFresh
	default: // the segment was freed: allocate a fresh one
		t.PC = pcSlotClaim
	}
}

// --------------------------------------------------------------- reclaim

// reclaimStoreThreadID starts mi_segment_reclaim: thread_id := t.
// v2.4.1: segment.c: mi_segment_reclaim (store release);
// _mi_arena_segment_clear_abandoned's store folded in (scenarios.md §1.3).
func (r *run) reclaimStoreThreadID() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	r.assertHolder(g)
	if !sg.Live || (sg.ThreadID != 0 && sg.ThreadID != r.tid) {
		r.fault(model.FaultUseAfterFree, g, 0)
	}
	sg.ThreadID = r.tid
	sg.AbandonedVisits = 0
	sg.WasReclaimed = true
	t.SI = r.slice(g, 0).SliceCount
	t.PC = pcReclaimNext
}

// reclaimNext walks the spans: a free span is re-added (coalesced, now
// owned, so it goes on this thread's queue); a used page gets its
// xthread_free collected next.
func (r *run) reclaimNext() {
	t := r.t
	g := int(t.Seg) // live: local's segmentGone checked it (pcReclaimNext is a held phase)
	for int(t.SI) < r.m.nsl {
		if r.slice(g, int(t.SI)).BlockSize != model.BlockFree {
			t.PC = pcRcXchg
			if !r.m.spin() {
				t.PC = pcRcHeap
			}
			return
		}
		head := r.segmentSpanFreeCoalesce(g, int(t.SI))
		t.SI = uint8(head) + r.spanCount(g, head)
	}
	t.SI = 0
	t.PC = pcReclaimEnd
}

// reclaimPage: after the collect, an all-free page is cleared; otherwise
// it joins this heap (a right page is noted).
func (r *run) reclaimPage() {
	t := r.t
	g := int(t.Seg)
	x := gidx(g, int(t.SI))
	p := r.sl(x)
	if p.Used == 0 {
		head := r.segmentPageClear(g, int(t.SI))
		t.SI = uint8(head) + r.spanCount(g, head)
		t.PC = pcReclaimNext
		return
	}
	p.Heap = r.tid // _mi_page_reclaim: mi_page_set_heap
	if t.Flags&flWantRight != 0 && r.rightPage(x, r.op().A) {
		t.Flags |= flRight
	}
	t.SI += r.spanCount(g, int(t.SI))
	t.PC = pcReclaimNext
}

func (r *run) reclaimEnd() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	if sg.Abandoned != 0 {
		r.fault(model.FaultNotHolder, g, 0)
	}
	if sg.Used == 0 {
		t.Flags |= flFreed
		t.PC = pcSegFree
		return
	}
	sg.Busy = false
	t.PC, t.Cont = t.Cont, 0
}

// ------------------------------------------------------- free / abandon

// segmentFree unlinks the free spans of segment Seg from this thread's
// queues; the slot is returned in the next (shared) step.
// v2.4.1: segment.c: mi_segment_free.
func (r *run) segmentFree() {
	t := r.t
	g := int(t.Seg)
	r.assertHolder(g)
	if r.s.Segs[g].Used != 0 {
		r.fault(model.FaultPageNotEmpty, g, 0)
	}
	if r.s.Segs[g].DontFree && r.m.cfg.Mutant != MutForceAbandonUAF { // force abandon keeps the segment's memory
		t.PC, t.Cont = t.Cont, 0
		return
	}
	r.s.Segs[g].Busy = true
	r.removeFreeSpans(g, false)
	t.PC = pcSlotFree
}

// removeFreeSpans takes every free span of segment g out of this thread's
// span queues (huge segments have none queued); keepFree marks the spans
// free again afterwards, as mi_segment_abandon does. v2.4.1: segment.c:
// mi_segment_free / mi_segment_abandon -> mi_segment_span_remove_from_queue.
func (r *run) removeFreeSpans(g int, keepFree bool) {
	for i := 0; i < r.m.nsl; {
		if r.slice(g, i).BlockSize == model.BlockFree && !r.s.Segs[g].Huge {
			r.spanQueueDelete(gidx(g, i))
			if keepFree {
				r.slice(g, i).BlockSize = model.BlockFree
			}
		}
		n := int(r.slice(g, i).SliceCount)
		if n == 0 {
			n = 1
		}
		i += n
	}
}

// segmentOSFree returns the slot to the arena (thread_id := 0 folded in).
// v2.4.1: segment.c: mi_segment_os_free; arena.c: _mi_arena_free.
func (r *run) segmentOSFree() {
	t := r.t
	g := int(t.Seg)
	r.assertHolder(g)
	if r.s.AbandonedMap&(1<<g) != 0 {
		r.fault(model.FaultNotHolder, g, 0)
	}
	r.s.Segs[g] = model.Segment{}
	for j := range r.s.Threads[:r.m.nt] { // threads whose next step works on this slot
		u := &r.s.Threads[j]
		if j != r.i && (u.FA&1 != 0 && int(u.FSeg) == g || heldPhase(u.PC) && int(u.Seg) == g) {
			u.FA |= faGone
		}
	}
	for i := 0; i < r.m.nsl; i++ {
		sl := r.slice(g, i)
		if sl.Prev != 0 || sl.Next != 0 {
			r.fault(model.FaultQueueCorrupt, g, i)
		}
		*sl = model.Slice{}
	}
	t.Seg = 0
	t.PC, t.Cont = t.Cont, 0
}

// segmentAbandon unlinks every free span from this thread's queues; the
// store thread_id := 0 is the next (shared) step.
// v2.4.1: segment.c: mi_segment_abandon.
func (r *run) segmentAbandon() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	r.assertHolder(g)
	sg.Busy = true
	if r.m.cfg.Mutant != MutBugB { // BUG_B forgets this
		r.removeFreeSpans(g, true)
	}
	t.PC = pcAbTID
}

// arenaSegmentMarkAbandoned publishes the segment: claim its abandoned bit
// (fetch_or acq_rel) and count it. arena-abandon.c:
// _mi_arena_segment_mark_abandoned. BUG_SUBPROC reads segment->subproc in
// a later step (the pre-b1188ea3 order).
func (r *run) arenaSegmentMarkAbandoned() {
	t := r.t
	s := r.s
	g := int(t.Seg)
	sg := &s.Segs[g]
	r.assertHolder(g)
	if !sg.Live || sg.ThreadID != 0 || sg.Abandoned != sg.Used {
		r.fault(model.FaultNotHolder, g, 0)
	}
	if sg.OS {
		r.markAbandonedOS()
		return
	}
	if s.AbandonedMap&(1<<g) != 0 {
		r.fault(model.FaultMarkTwice, g, 0)
	}
	s.AbandonedMap |= 1 << g
	sg.Holder = model.NoThread
	sg.Busy = false
	if r.m.cfg.Mutant == MutBugSubproc {
		t.PC = pcSubproc
		return
	}
	s.AbandonedCount++ // subproc was read before publishing
	t.Seg = 0
	t.PC, t.Cont = t.Cont, 0
}

// ------------------------------------------------------------ thread exit

// exitNext finds the next heap page (own segments, slot/slice order) whose
// xthread_free to collect (force). v2.4.1: heap.c: mi_heap_collect_ex
// (MI_ABANDON) -> mi_heap_page_collect -> _mi_page_free_collect(page, true).
func (r *run) exitNext() {
	t := r.t
	for x := int(t.CI); x < r.m.ns*model.MaxSlices; x++ {
		g, i := x/model.MaxSlices, x%model.MaxSlices
		if i >= r.m.nsl || !r.heapPage(g, i) {
			continue
		}
		p := r.slice(g, i)
		if p.InFull && r.t.Coll&collKind == collNormal && r.m.cfg.Source != V217 {
			continue // a normal collect skips full pages (7774e800)
		}
		t.CI = uint8(x)
		r.s.Segs[g].Busy = true
		t.PC = pcExXchg
		return
	}
	t.CI = 0
	t.Mode = modeCollect
	t.PC = pcTrCnt // _mi_abandoned_collect(heap, collect == MI_FORCE)
}

// exitPage: after the collect, an empty page is freed (maybe freeing or
// abandoning its segment); otherwise it is abandoned
// (_mi_page_abandon -> _mi_segment_page_abandon).
func (r *run) exitPage() {
	t := r.t
	x := t.CI
	g, i := segOf(x), sliceOf(x)
	sg := &r.s.Segs[g]
	next := uint8((g + 1) * model.MaxSlices)
	if r.sl(x).Used == 0 { // _mi_page_free -> _mi_segment_page_free
		r.segmentPageClear(g, i)
		switch {
		case sg.Used == 0:
			t.Seg, t.Cont, t.CI, t.PC = uint8(g), pcExitNext, next, pcSegFree
		case sg.Used == sg.Abandoned:
			t.Seg, t.Cont, t.CI, t.PC = uint8(g), pcExitNext, next, pcAbandon
		default:
			t.CI = x + 1
			t.PC = pcExitNext
		}
		return
	}
	if r.t.Coll&collKind != collAbandon { // collect: the page stays in the heap
		sg.Busy = false
		t.CI = x + 1
		t.PC = pcExitNext
		return
	}
	if !r.m.spin() && r.sl(x).Delayed != model.NeverDelayedFree {
		r.fault(model.FaultDelayedMode, g, i) // _mi_page_abandon asserts NEVER_DELAYED_FREE
	}
	sg.Abandoned++
	r.sl(x).Heap = model.NoThread // mi_page_set_heap(page, NULL)
	r.sl(x).Age = 0               // retired-page-expires: no longer this heap's
	r.sl(x).InFull = false        // mi_page_queue_remove
	if sg.Used == sg.Abandoned {
		t.Seg, t.Cont, t.CI, t.PC = uint8(g), pcExitNext, next, pcAbandon
		return
	}
	t.CI = x + 1
	t.PC = pcExitNext
}

// ------------------------------------------------------------------ free

// freeLoadThreadID is mi_free's first shared access: the relaxed load of
// the block's segment's thread_id, deciding local free, reclaim-on-free or
// a cross-thread push. v2.4.1: free.c: mi_free -> mi_free_ex / mi_free_block_mt
// -> _mi_segment_attempt_reclaim (the repeated relaxed loads folded).
func (r *run) freeLoadThreadID() {
	t := r.t
	s := r.s
	h := t.Regs[r.op().A]
	x, bit := decode(h)
	g := segOf(x)
	sg := &s.Segs[g]
	if !sg.Live {
		r.fault(model.FaultUseAfterFree, g, sliceOf(x))
		t.PC = pcFinish
		return
	}
	if p := r.sl(x); p.BlockSize < model.BlockPage0 || p.Live&bit == 0 {
		r.fault(model.FaultDoubleFree, g, sliceOf(x))
		t.PC = pcFinish
		return
	}
	owner := sg.ThreadID
	if owner == model.NoThread && r.m.sc.ReclaimOnFree && (r.m.cfg.Source == V217 || r.m.cfg.Mutant == MutIssue944) {
		// v2.1.7 free.c:250: _mi_segment_attempt_reclaim(mi_heap_get_default(), ...)
		// initialises the default heap of a thread that never allocated or
		// that already exited (mimalloc issue #944, fixed in v2.1.8)
		r.heapInit()
	}
	switch {
	case owner == r.tid:
		t.PC = pcFreeLocal
	case owner == model.NoThread && r.m.sc.ReclaimOnFree && r.reclaimHeapReady() && !r.reclaimCountTooHigh(sg.OS) && r.withinTarget():
		t.Seg = uint8(g)
		if sg.OS {
			if !r.m.osList() { // v2.1.7, or the os-reclaim-cas mutation
				t.PC = pcOsCasTID
			} else {
				t.PC = pcOsTryLockFree
			}
			return
		}
		if r.m.cfg.Mutant == MutBugC {
			t.PC = pcFRdBit
		} else {
			t.PC = pcFUnclaim
		}
	default:
		if r.m.spin() {
			t.PC = pcFPush
		} else {
			t.PC = pcFCasTF
		}
	}
}

// reclaimHeapReady is mi_free_block_mt's test that the default heap is
// initialised before it reclaims on free: from v2.3.0 on a thread whose
// default heap is _mi_heap_empty (it never allocated, or it already
// exited) does not reclaim (free.c:291 at v2.4.1, free.c:285 at v2.3.0);
// v2.1.7 has no such test (its heap was initialised just above). The spin
// abstraction's threads always have a heap.
func (r *run) reclaimHeapReady() bool {
	return r.m.spin() || r.t.HeapInit
}

// reclaimCountTooHigh is _mi_segment_attempt_reclaim's heuristic: do not
// reclaim on free when reclaim_count*2 > count for this thread's tld
// (count = segments it owns, reclaim_count = those it reclaimed).
// From v2.3.0 on the rule applies to arena segments only.
func (r *run) reclaimCountTooHigh(os bool) bool {
	if os && r.m.cfg.Source != V217 {
		return false
	}
	cnt, rc := 0, 0
	for g := 0; g < r.m.ns; g++ {
		if r.ownedBy(g) {
			cnt++
			if r.s.Segs[g].WasReclaimed {
				rc++
			}
		}
	}
	return rc*2 > cnt
}

// freeUnclaim tries to claim the abandoned segment for reclaim-on-free.
// arena-abandon.c: _mi_arena_segment_clear_abandoned (fetch_and acq_rel).
func (r *run) freeUnclaim() {
	t := r.t
	s := r.s
	g := int(t.Seg)
	if s.AbandonedMap&(1<<g) == 0 { // lost: somebody else claimed it
		t.Seg = 0
		t.PC = pcFPush
		if !r.m.spin() {
			t.PC = pcFCasTF
		}
		return
	}
	s.AbandonedMap &^= 1 << g
	s.AbandonedCount--
	r.claim(g)
	if !s.Segs[g].Live || s.Segs[g].ThreadID != model.NoThread {
		r.fault(model.FaultUseAfterFree, g, 0)
	}
	t.Flags = 0
	t.Cont = pcFreeAfterRcl
	t.PC = pcRcTID
}

// freeBlockDelayedMT is the CAS on the page's xthread_free of a
// cross-thread free: it pushes the block, or, on a page in
// MI_USE_DELAYED_FREE (full model), switches it to MI_DELAYED_FREEING
// without pushing and goes on with the heap's delayed list (delayed.go).
// v2.4.1: free.c: mi_free_block_delayed_mt (weak CAS, release).
func (r *run) freeBlockDelayedMT() {
	t := r.t
	if r.m.sc.Stats {
		r.heapInit() // mi_stat_free -> mi_heap_get_default (before the push)
	}
	reg := r.op().A
	x, bit := decode(t.Regs[reg])
	g := segOf(x)
	p := r.sl(x)
	if !r.s.Segs[g].Live || p.BlockSize < model.BlockPage0 || p.Live&bit == 0 {
		r.fault(model.FaultUseAfterFree, g, sliceOf(x))
		r.finishOp()
		return
	}
	if !r.m.spin() && p.Delayed == model.UseDelayedFree {
		p.Delayed = model.DelayedFreeing // the block is not pushed here
		t.CI = x
		t.PC = pcFLoadHeap
		return
	}
	if (p.XThreadFree|p.Free|p.LocalFree)&bit != 0 {
		r.fault(model.FaultDoubleFree, g, sliceOf(x))
	}
	p.Live &^= bit
	p.XThreadFree |= bit
	t.Regs[reg] = 0
	r.finishOp()
}

// freeBlockLocal frees a block of a page this thread owns; a page that
// becomes empty is freed (the retire delay is in retire.go).
// v2.4.1: free.c: mi_free_block_local; page.c: _mi_page_retire.
func (r *run) freeBlockLocal() {
	t := r.t
	s := r.s
	reg := r.op().A
	x, bit := decode(t.Regs[reg])
	g, i := segOf(x), sliceOf(x)
	p := r.sl(x)
	if !s.Segs[g].Live || s.Segs[g].ThreadID != r.tid {
		r.fault(model.FaultNotHolder, g, i)
	}
	r.assertHolder(g)
	if p.BlockSize < model.BlockPage0 || p.Live&bit == 0 {
		r.fault(model.FaultDoubleFree, g, i)
		r.finishOp()
		return
	}
	p.Live &^= bit
	r.localFreeBlock(p, bit)
	p.Used--
	t.Regs[reg] = 0
	t.PC = pcFinish
	r.afterLocalFree(x, pcFinish)
}
