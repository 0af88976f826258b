package allocsim

import (
	"mimcheck/model"
)

// The delayed-free protocol (full fidelity only; --abstraction spin leaves
// it out, as scenarios.md §1.2 does, and a remote free always pushes on the
// page's xthread_free).
//
// A fresh page starts in MI_USE_DELAYED_FREE (mi_page_init leaves
// xthread_free zero). The first remote free to such a page switches it to
// MI_DELAYED_FREEING, pushes the block on the owning heap's
// thread_delayed_free list and resets the mode to MI_NO_DELAYED_FREE; later
// remote frees go to xthread_free. The owner takes its delayed list in
// _mi_heap_delayed_free_partial, switches each block's page back to
// MI_USE_DELAYED_FREE and frees the block locally. A thread that exits first
// marks every page MI_NEVER_DELAYED_FREE (waiting while one is
// MI_DELAYED_FREEING) so that no block can reach its heap list afterwards.
// A CAS loop whose failed attempts only retry is one step (an atomic
// read-modify-write); a loop that waits for another thread is a step that is
// disabled while it would spin.

// freeLoadHeap reads page->xheap (acquire) while the page is
// MI_DELAYED_FREEING. v2.4.1: free.c: mi_free_block_delayed_mt.
func (r *run) freeLoadHeap() {
	t := r.t
	p := r.sl(t.CI)
	t.Aux = uint8(p.Heap)
	if t.Aux != 0 {
		t.PC = pcFPushDelayed
		return
	}
	// heap == NULL: mimalloc skips the push; the block is on no list.
	reg := r.op().A
	_, bit := decode(t.Regs[reg])
	p.Live &^= bit
	t.Regs[reg] = 0
	t.PC = pcFResetDelayed
}

// freePushHeapDelayed pushes the block on heap->thread_delayed_free (CAS
// loop, release). v2.4.1: free.c: mi_free_block_delayed_mt.
func (r *run) freePushHeapDelayed() {
	t := r.t
	x := t.CI
	p := r.sl(x)
	reg := r.op().A
	_, bit := decode(t.Regs[reg])
	if p.Heap != model.ThreadID(t.Aux) {
		// the heap changed under a DELAYED_FREEING page: the block lands on
		// the list of a heap that no longer owns the page
		r.fault(model.FaultDelayedMode, segOf(x), sliceOf(x))
	}
	p.Live &^= bit
	p.HeapDelayed |= bit
	t.Regs[reg] = 0
	t.PC = pcFResetDelayed
}

// freeResetDelayed resets MI_DELAYED_FREEING to MI_NO_DELAYED_FREE (CAS
// loop, release). v2.4.1: free.c: mi_free_block_delayed_mt.
func (r *run) freeResetDelayed() {
	t := r.t
	x := t.CI
	p := r.sl(x)
	if p.Delayed != model.DelayedFreeing {
		r.fault(model.FaultDelayedMode, segOf(x), sliceOf(x))
	}
	p.Delayed = model.NoDelayedFree
	r.finishOp()
}

// startDelayedFree begins _mi_heap_delayed_free_partial (all=false) or
// _mi_heap_delayed_free_all (all=true); the thread continues at ret.
func (r *run) startDelayedFree(all bool, ret uint8) {
	t := r.t
	t.Ret = ret
	if all {
		t.Flags |= flDfAll
	}
	t.PC = pcDfTake
}

// delayedTake swaps heap->thread_delayed_free with NULL (CAS loop, acq_rel):
// every block on this heap's list becomes this thread's to free.
// v2.4.1: page.c: _mi_heap_delayed_free_partial.
func (r *run) delayedTake() {
	t := r.t
	t.Flags &^= flDfAgain
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if p.HeapDelayed != 0 && p.Heap == r.tid {
				p.Taken |= p.HeapDelayed
				p.HeapDelayed = 0
			}
		}
	}
	t.PC = pcDfNext
}

// delayedNext picks the next taken block (slot/slice/bit order), or ends
// the pass: _all takes the list again while a block was put back.
func (r *run) delayedNext() {
	t := r.t
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if p.Taken == 0 || p.Heap != r.tid {
				continue
			}
			b := uint8(0)
			for p.Taken&(1<<b) == 0 {
				b++
			}
			t.Aux = gidx(g, i)*model.MaxBlocks + b + 1
			t.PC = pcDfUse
			return
		}
	}
	if t.Flags&flDfAll != 0 && t.Flags&flDfAgain != 0 {
		t.PC = pcDfTake
		return
	}
	t.Flags &^= flDfAll | flDfAgain
	t.Aux = 0
	t.PC, t.Ret = t.Ret, 0
}

// delayedUse is _mi_page_try_use_delayed_free(page, MI_USE_DELAYED_FREE,
// false): it fails while a remote thread holds MI_DELAYED_FREEING, keeps
// MI_NEVER_DELAYED_FREE, and otherwise sets MI_USE_DELAYED_FREE (load
// acquire + CAS release). v2.4.1: free.c: _mi_free_delayed_block.
func (r *run) delayedUse() {
	t := r.t
	x, _ := decode(t.Aux)
	p := r.sl(x)
	switch p.Delayed {
	case model.DelayedFreeing:
		t.PC = pcDfRepush
		return
	case model.NoDelayedFree:
		p.Delayed = model.UseDelayedFree
	}
	t.PC = pcDfXchg
}

// delayedRepush puts a block whose page is still MI_DELAYED_FREEING back on
// the heap's delayed list (CAS loop, release). v2.4.1: page.c:
// _mi_heap_delayed_free_partial.
func (r *run) delayedRepush() {
	t := r.t
	x, bit := decode(t.Aux)
	p := r.sl(x)
	p.Taken &^= bit
	p.HeapDelayed |= bit
	t.Flags |= flDfAgain
	t.Aux = 0
	t.PC = pcDfNext
}

// delayedAfterXchg frees the taken block locally (check_full): the page
// may retire, be freed (and its segment with it) or leave the full queue.
// v2.4.1: free.c: _mi_free_delayed_block -> mi_free_block_local.
func (r *run) delayedAfterXchg() {
	t := r.t
	x, bit := decode(t.Aux)
	g, i := segOf(x), sliceOf(x)
	p := r.sl(x)
	t.Aux = 0
	if p.Taken&bit == 0 {
		r.fault(model.FaultDoubleFree, g, i)
		t.PC = pcDfNext
		return
	}
	p.Taken &^= bit
	r.localFreeBlock(p, bit)
	p.Used--
	t.PC = pcDfNext
	r.afterLocalFree(x, pcDfNext)
}

// afterLocalFree is the tail of mi_free_block_local after used was
// decremented: an empty page is retired or freed (continuing at cont once a
// segment free or abandon is done), a full page leaves the full queue. It
// sets t.PC only when a segment free or abandon must run.
func (r *run) afterLocalFree(x uint8, cont uint8) {
	t := r.t
	p := r.sl(x)
	g, i := segOf(x), sliceOf(x)
	if p.Used != 0 {
		if p.InFull {
			p.InFull = false // _mi_page_unfull
		}
		return
	}
	if r.pageRetire(x) {
		return
	}
	r.segmentPageClear(g, i) // _mi_page_free -> _mi_segment_page_free
	sg := &r.s.Segs[g]
	switch {
	case sg.Used == 0:
		t.Seg, t.Cont, t.PC = uint8(g), cont, pcSegFree
	case sg.Used == sg.Abandoned:
		t.Seg, t.Cont, t.PC = uint8(g), cont, pcAbandon
	}
}

// exitNever finds the next heap page (full pages included) to mark
// MI_NEVER_DELAYED_FREE; then every delayed block is freed.
// v2.4.1: heap.c: mi_heap_collect_ex -> mi_heap_page_never_delayed_free.
func (r *run) exitNever() {
	t := r.t
	for x := int(t.CI); x < r.m.ns*model.MaxSlices; x++ {
		g, i := x/model.MaxSlices, x%model.MaxSlices
		if i < r.m.nsl && r.heapPage(g, i) {
			t.CI = uint8(x)
			t.PC = pcExNever
			return
		}
	}
	t.CI = 0
	r.startDelayedFree(true, pcExitRetired)
}

// collectStart begins mi_heap_collect_ex for a collect or exit operation
// in the full model.
func (r *run) collectStart() {
	t := r.t
	t.CI = 0
	if t.Coll&collKind == collAbandon {
		t.PC = pcExitNever
		return
	}
	// v2.4.1 (580c5039): _all only when abandoning; earlier tags always _all.
	r.startDelayedFree(r.m.cfg.Source != V241, pcExitRetired)
}

// mallocGeneric is the part of _mi_malloc_generic before the page search:
// the heap's delayed frees are processed at every generic malloc at v2.1.7
// and at every 100th from v2.3.0 on (58d13f6a).
func (r *run) mallocGeneric() {
	t := r.t
	t.CI = 0
	if r.m.cfg.Source == V217 {
		r.startDelayedFree(false, pcMallocFindPage)
		return
	}
	t.Gen++
	if t.Gen >= 100 {
		t.Gen = 0
		r.startDelayedFree(false, pcMallocFindPage)
		return
	}
	t.PC = pcMallocFindPage
}

// delayedFreeingPage reports the page a thread holds in MI_DELAYED_FREEING
// (between its CAS on xthread_free and the mode reset).
func (m *Sim) delayedFreeingPage(s *model.State, i int) (uint8, bool) {
	switch s.Threads[i].PC {
	case pcFLoadHeap, pcFPushDelayed, pcFResetDelayed:
		return s.Threads[i].CI, true
	}
	return 0, false
}

// DelayedFreeingHolders counts, per page (global slice index), the threads
// that hold it in MI_DELAYED_FREEING. For the delayed-mode-protocol check.
func (m *Sim) DelayedFreeingHolders(s *model.State) (holders [model.MaxSegments * model.MaxSlices]uint8) {
	for i := 0; i < m.nt; i++ {
		if x, ok := m.delayedFreeingPage(s, i); ok {
			holders[x]++
		}
	}
	return holders
}

// Spin reports whether m runs under the SPIN abstraction.
func (m *Sim) Spin() bool { return m.spin() }

// NeverDelayedExempt reports whether page (g, i) of an owned segment may
// (in a heap: xheap set) be MI_NEVER_DELAYED_FREE in s (invariants.md, delayed-mode-protocol: "a
// page in a heap is never NEVER_DELAYED_FREE"): only while its heap is
// being given up — the owner's mi_heap_collect_ex(MI_ABANDON) or its
// mi_segment_force_abandon of the segment — or while a reclaim of the
// segment has not yet reached the page (mi_segment_reclaim sets each page
// MI_USE_DELAYED_FREE with override_never, after mi_page_set_heap).
func (m *Sim) NeverDelayedExempt(s *model.State, g, i int) bool {
	owner := s.Segs[g].ThreadID
	for k := 0; k < m.nt; k++ {
		t := &s.Threads[k]
		switch {
		case model.TIDOf(k) == owner && t.Coll&collKind == collAbandon:
			return true
		case model.TIDOf(k) == owner && t.FA != 0 && int(t.FSeg) == g:
			return true
		case (t.PC == pcOsUnlockFree || t.PC == pcRcTID) && int(t.Seg) == g: // claimed, reclaim to come
			return true
		case (t.PC == pcRcHeap || t.PC == pcRcUse || t.PC == pcRcXchg) && int(t.Seg) == g && i >= int(t.SI):
			return true
		}
	}
	return false
}
