package allocsim

import "mimcheck/model"

// Force abandon (option target_segments_per_thread, v2.3.0 and v2.4.1 only;
// full model only).
//
// When an allocation needs a fresh segment, mi_segment_reclaim_or_alloc
// first calls mi_segments_try_abandon: while the thread owns at least the
// target number of segments, the segment of the first page of the heap's
// FULL queue is force-abandoned. mi_segment_force_abandon sets dont_free,
// collects and force-abandons every used page (each one sets
// MI_NEVER_DELAYED_FREE and runs _mi_heap_delayed_free_all, which can free
// pages of any segment), treating the page that makes used == abandoned + 1
// as the last one, after which it no longer touches the segment.

// faGone (Thread.FA): the slot of the segment this thread's next step
// works on (a force-abandon walk's, or a held segment's: heldPhase) was
// freed by another thread meanwhile (harmful-publish mode, mutants); a
// slot allocated again is live, so Live alone cannot tell. Ghost state,
// set by segmentOSFree; the next step on the segment is a use-after-free.
const faGone = 8

// walkGone reports whether the segment of this thread's force-abandon walk
// is no longer the one it started on: freed, or freed and allocated again.
func (r *run) walkGone() bool {
	return !r.s.Segs[r.t.FSeg].Live || r.t.FA&faGone != 0
}

// ownedCount is tld->count: the segments this thread owns.
func (r *run) ownedCount() int {
	n := 0
	for g := 0; g < r.m.ns; g++ {
		if r.ownedBy(g) {
			n++
		}
	}
	return n
}

// withinTarget is segment_count_is_within_target.
// v2.4.1: segment.c: segment_count_is_within_target.
func (r *run) withinTarget() bool {
	target := r.m.sc.TargetSegments
	return target == 0 || r.ownedCount() < target
}

// tryAbandon is one round of mi_segments_try_abandon /
// mi_segments_try_abandon_to_target; when done it goes on with
// mi_segment_try_reclaim. v2.4.1: segment.c: mi_segments_try_abandon.
func (r *run) tryAbandon() {
	t := r.t
	t.FA, t.FSeg, t.FSI = 0, 0, 0
	target := r.m.sc.TargetSegments
	minTarget := target
	if target > 4 {
		minTarget = target * 3 / 4
	}
	if r.m.spin() || r.m.cfg.Source == V217 || r.withinTarget() || target <= 1 || r.ownedCount() < minTarget {
		t.Mode = modeTryReclaim
		t.PC = pcTrCnt
		return
	}
	// heap->pages[MI_BIN_FULL].first (slot/slice order stands for queue order)
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if r.heapPage(g, i) && p.InFull && !r.s.Segs[g].Huge {
				r.s.Segs[g].DontFree = true
				r.s.Segs[g].Busy = true // ghost: a multi-step operation on the segment
				t.FSeg, t.FSI, t.FA = uint8(g), r.slice(g, 0).SliceCount, 1
				t.PC = pcFANext
				return
			}
		}
	}
	t.Mode = modeTryReclaim
	t.PC = pcTrCnt
}

// forceSegment checks that the force-abandoning thread still holds the
// segment it walks (strict no-access-after-publish).
func (r *run) forceSegment() (int, bool) {
	g := int(r.t.FSeg)
	sg := &r.s.Segs[g]
	if r.walkGone() {
		r.fault(model.FaultUseAfterFree, g, int(r.t.FSI))
		return g, false
	}
	if sg.Holder != r.tid {
		r.fault(model.FaultAfterPublish, g, int(r.t.FSI))
		return g, false
	}
	return g, true
}

// forceNext walks to the next used page of the segment, or ends the
// segment's force abandon. v2.4.1: segment.c: mi_segment_force_abandon.
func (r *run) forceNext() {
	t := r.t
	g, ok := r.forceSegment()
	if !ok {
		t.FA = 0
		t.PC = pcTryAbandon
		return
	}
	for int(t.FSI) < r.m.nsl && r.slice(g, int(t.FSI)).BlockSize == model.BlockFree {
		t.FSI += r.spanCount(g, int(t.FSI))
	}
	if int(t.FSI) < r.m.nsl {
		t.PC = pcFAXchg
		return
	}
	sg := &r.s.Segs[g]
	sg.DontFree = false
	sg.Busy = false
	t.FA, t.FSI = 0, 0
	if sg.Used == 0 { // all free now
		t.Seg, t.Cont, t.PC = uint8(g), pcTryAbandon, pcSegFree
		return
	}
	t.PC = pcTryAbandon
}

// forcePage: after the collect, the page that leaves only abandoned pages
// is the last one (dont_free is cleared before it is force-abandoned).
func (r *run) forcePage() {
	t := r.t
	sg := &r.s.Segs[t.FSeg]
	if sg.Used == sg.Abandoned+1 {
		sg.DontFree = false
		t.FA |= 2
	}
	t.PC = pcFANever
}

// forceAfterDelayed is the rest of _mi_page_force_abandon after
// _mi_heap_delayed_free_all: the read of page->capacity is a step of its
// own (page.c:450 at v2.4.1, page.c:418 at v2.3.0), because the drain may
// have freed the page, published the segment (used == abandoned:
// mi_segment_abandon) or, on the last page, whose dont_free was already
// cleared, freed the whole segment; the read then touches memory this
// thread no longer holds (no-use-after-free, no-access-after-publish). A
// page freed meanwhile (capacity 0) is left alone; an all-free page is
// freed; a page in use is abandoned (either may free or abandon the
// segment).
func (r *run) forceAfterDelayed() {
	t := r.t
	g := int(t.FSeg)
	i := int(t.FSI)
	p := r.slice(g, i)
	sg := &r.s.Segs[g]
	t.PC = pcFAAfter
	if r.walkGone() || !r.m.cfg.HarmfulPublish { // harmful-publish mode reads a live published segment on
		if _, ok := r.forceSegment(); !ok {
			t.FA = 0
			t.PC = pcTryAbandon
			return
		}
	}
	if p.BlockSize < model.BlockPage0 {
		return // the page was freed by the delayed frees
	}
	if p.Used == 0 { // _mi_page_free -> _mi_segment_page_free
		r.segmentPageClear(g, i)
		switch {
		case sg.Used == 0:
			t.Seg, t.Cont, t.PC = uint8(g), pcFAAfter, pcSegFree
		case sg.Used == sg.Abandoned:
			t.Seg, t.Cont, t.PC = uint8(g), pcFAAfter, pcAbandon
		}
		return
	}
	// _mi_page_abandon -> _mi_segment_page_abandon
	if p.Delayed != model.NeverDelayedFree {
		r.fault(model.FaultDelayedMode, g, i)
	}
	p.Heap = model.NoThread
	p.InFull = false
	p.Age = 0
	sg.Abandoned++
	if sg.Used == sg.Abandoned {
		t.Seg, t.Cont, t.PC = uint8(g), pcFAAfter, pcAbandon
	}
}

// forceAfter: the last page ends the segment's force abandon; otherwise the
// walk re-seats the cursor on the span head (the page may have been freed
// and coalesced: mi_slice_first relies on coalesce's back offset) and goes on.
func (r *run) forceAfter() {
	t := r.t
	if t.FA&2 != 0 {
		t.FA, t.FSI = 0, 0
		t.PC = pcTryAbandon
		return
	}
	if r.m.cfg.HarmfulPublish && r.s.Segs[t.FSeg].Holder != r.tid {
		// the segment was published while this walk was on it: from here on
		// every access of the walk is to shared memory
		t.PC = pcFAWalkPub
		return
	}
	g, ok := r.forceSegment()
	if !ok {
		t.FA = 0
		t.PC = pcTryAbandon
		return
	}
	t.FSI -= r.slice(g, int(t.FSI)).SliceOffset // mi_slice_first
	t.FSI += r.spanCount(g, int(t.FSI))
	t.PC = pcFANext
}

// forceWalkPublished is one read of the force-abandon walk on a segment the
// walking thread has already published (harmful-publish mode): first the
// re-seat on the span head and the step to the next span, then one slice
// per step. A used page met here would be collected and force-abandoned by
// a thread that no longer holds the segment.
func (r *run) forceWalkPublished() {
	t := r.t
	g := int(t.FSeg)
	if r.walkGone() {
		r.fault(model.FaultUseAfterFree, g, int(t.FSI))
		t.FA = 0
		t.PC = pcTryAbandon
		return
	}
	if t.FA&4 == 0 {
		t.FA |= 4
		t.FSI -= r.slice(g, int(t.FSI)).SliceOffset // mi_slice_first
		t.FSI += r.spanCount(g, int(t.FSI))
		return
	}
	if int(t.FSI) >= r.m.nsl {
		t.PC = pcFAClearPub
		return
	}
	if r.slice(g, int(t.FSI)).BlockSize == model.BlockFree {
		t.FSI += r.spanCount(g, int(t.FSI))
		return
	}
	// a used page of a segment this thread no longer holds (the model
	// stops the walk here; C would collect and force-abandon the page)
	r.faultStop(model.FaultNotHolder, g, int(t.FSI))
	t.FA = 0
	t.PC = pcTryAbandon
}

// forceClearPublished ends the walk on a published segment: dont_free :=
// false and the read of used; used == 0 frees the segment (harmful-publish
// mode). v2.4.1: segment.c: mi_segment_force_abandon (after the loop).
func (r *run) forceClearPublished() {
	t := r.t
	g := int(t.FSeg)
	sg := &r.s.Segs[g]
	gone := r.walkGone()
	t.FA, t.FSI = 0, 0
	if gone {
		r.fault(model.FaultUseAfterFree, g, 0)
		t.PC = pcTryAbandon
		return
	}
	sg.DontFree = false
	if sg.Used == 0 {
		t.Seg, t.Cont, t.PC = uint8(g), pcTryAbandon, pcSegFree
		return
	}
	t.PC = pcTryAbandon
}
