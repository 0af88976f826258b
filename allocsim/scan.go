package allocsim

import (
	"math/bits"

	"mimcheck/model"
)

// The scan-complete monitor (ghost; full model). A forced
// _mi_abandoned_collect (mi_heap_collect(heap, true), also the collect of
// _mi_malloc_generic's out-of-memory path) is the scan of the abandoned
// set that visits everything (segment.c:1395-1416 at v2.4.1: max_tries =
// abandoned_count, a blocking cursor over the arenas' abandoned bitmaps
// and the OS list). When it begins (its load of abandoned_count) the
// thread notes every segment that is abandoned then (Thread.Scan); any
// claim of a segment, by this scan or another thread, drops it (it did not
// stay abandoned); a segment still noted when the scan ends stayed
// abandoned throughout and was never met. Scans bounded by design (the
// reclaim scan's mi_segment_get_reclaim_tries, exit's collect with its
// non-blocking cursor) are not full scans and are not checked.

// abandonedSet is the set of abandoned segments: live, published and not
// claimed (nobody holds them).
func (r *run) abandonedSet() uint8 {
	var set uint8
	for g := 0; g < r.m.ns; g++ {
		if sg := &r.s.Segs[g]; sg.Live && sg.Holder == model.NoThread {
			set |= 1 << g
		}
	}
	return set
}

// scanEnd checks the scan-complete monitor when this thread's cursor of a
// forced collect ends (an assertion: the step goes on).
func (r *run) scanEnd() {
	t := r.t
	if t.Scan == 0 {
		return
	}
	g := bits.TrailingZeros8(t.Scan)
	t.Scan = 0
	r.fault(model.FaultScanMissed, g, 0)
}
