package allocsim

import (
	"fmt"

	"mimcheck/model"
)

// run is the context of one thread's step: the simulator, the state, the
// thread's scheduler index and mimalloc thread id. It lives on the stack.
type run struct {
	m   *Sim
	s   *model.State
	i   int
	t   *model.Thread
	tid model.ThreadID
	// coalesced: this step ran mi_segment_span_free_coalesce, whose read of
	// thread_id is folded into the step (see coalesceIsAbandoned).
	coalesced bool
	// coalescedSegs: the segments whose thread_id coalesce read (bit g)
	coalescedSegs uint8
	// pc0 is the thread's phase when the step began: its label names the
	// site of a fault the step finds.
	pc0 uint8
	// stop: the step found a fault after which the model does not follow
	// the C code (faultStop); its local work ends there, the state being
	// a violation or cut.
	stop bool
}

func (m *Sim) newRun(s *model.State, i int) run {
	return run{m: m, s: s, i: i, t: &s.Threads[i], tid: model.TIDOf(i), pc0: s.Threads[i].PC}
}

// gidx is the global slice index of slice i of segment g (queue links
// store it + 1).
func gidx(g, i int) uint8 { return uint8(g*model.MaxSlices + i) }

func segOf(x uint8) int   { return int(x) / model.MaxSlices }
func sliceOf(x uint8) int { return int(x) % model.MaxSlices }

func (r *run) slice(g, i int) *model.Slice { return &r.s.Slices[g][i] }
func (r *run) sl(x uint8) *model.Slice     { return &r.s.Slices[segOf(x)][sliceOf(x)] }

// fault records a broken precondition found by this thread's step.
// At a site the run goes past (Config.PastFaults) the fault is not
// recorded and the step goes on, when the check is an assertion the C code
// runs past exactly as the model does; after a use-after-free, a double
// free or an access after publishing (undefined behaviour, or a segment
// the strict check stops following) the state is cut instead.
func (r *run) fault(f model.FaultCode, g, i int) {
	if f == model.FaultUseAfterFree || f == model.FaultDoubleFree || f == model.FaultAfterPublish {
		r.faultStop(f, g, i)
		return
	}
	if r.m.pastFault != nil && r.m.pastFault[FaultSite(f, siteLabel(r.pc0))] {
		return
	}
	r.s.SetFault(f, r.i, g, i)
}

// faultStop records a fault after which the model does not do what the C
// code does (it abandons the operation); at a site the run goes past, the
// state is cut (model.FaultCut).
func (r *run) faultStop(f model.FaultCode, g, i int) {
	if r.m.pastFault != nil && r.m.pastFault[FaultSite(f, siteLabel(r.pc0))] {
		f = model.FaultCut
	}
	r.stop = true
	r.s.SetFault(f, r.i, g, i)
}

// assertHolder: a segment is only mutated by its owner or exclusive
// claimer (mimalloc's debug asserts on thread_id; ghost Holder).
func (r *run) assertHolder(g int) {
	if r.s.Segs[g].Holder != r.tid {
		r.fault(model.FaultNotHolder, g, 0)
	}
}

// assertQueueOwner: a span-queue operation of thread t only touches spans
// of segments t owns (O2; mi_segment_is_valid's queue checks).
func (r *run) assertQueueOwner(g, i int) {
	if r.s.Segs[g].ThreadID != r.tid {
		r.fault(model.FaultQueueOwner, g, i)
	}
}

// spanQueuePush pushes the free span head x on the front of this thread's
// queue for its slice count. v2.4.1: segment.c: mi_span_queue_push.
func (r *run) spanQueuePush(x uint8) {
	sl := r.sl(x)
	if sl.Prev != 0 || sl.Next != 0 {
		r.fault(model.FaultQueueCorrupt, segOf(x), sliceOf(x))
	}
	r.assertQueueOwner(segOf(x), sliceOf(x))
	bin := int(sl.SliceCount) - 1
	if bin < 0 || bin >= model.MaxBins {
		r.faultStop(model.FaultQueueCorrupt, segOf(x), sliceOf(x))
		return
	}
	q := &r.t.Spans[bin]
	sl.Next = q.First
	sl.Prev = 0
	q.First = x + 1
	if sl.Next != 0 {
		r.sl(sl.Next - 1).Prev = x + 1
	} else {
		q.Last = x + 1
	}
	sl.BlockSize = model.BlockFree
}

// spanQueueDelete unlinks x from this thread's queue for its slice count;
// it is a no-op on the list when x is not linked (the defensive delete).
// v2.4.1: segment.c: mi_span_queue_delete via mi_segment_span_remove_from_queue.
func (r *run) spanQueueDelete(x uint8) {
	sl := r.sl(x)
	r.assertQueueOwner(segOf(x), sliceOf(x))
	bin := int(sl.SliceCount) - 1
	if bin < 0 || bin >= model.MaxBins {
		r.faultStop(model.FaultQueueCorrupt, segOf(x), sliceOf(x))
		return
	}
	q := &r.t.Spans[bin]
	if sl.Prev != 0 {
		r.sl(sl.Prev - 1).Next = sl.Next
	}
	if q.First == x+1 {
		q.First = sl.Next
	}
	if sl.Next != 0 {
		r.sl(sl.Next - 1).Prev = sl.Prev
	}
	if q.Last == x+1 {
		q.Last = sl.Prev
	}
	sl.Prev, sl.Next = 0, 0
	sl.BlockSize = model.BlockUsed
}

// segmentIsAbandoned is the abandoned test of
// mi_segment_span_free (a relaxed load of thread_id at every modelled tag,
// read by the holder: thread-private at that moment).
func (r *run) segmentIsAbandoned(g int) bool { return r.s.Segs[g].ThreadID == model.NoThread }

// segmentSpanFree makes slices [i, i+n) of segment g one free span and
// pushes it on this thread's queue unless the segment is abandoned.
// v2.4.1: segment.c: mi_segment_span_free.
func (r *run) segmentSpanFree(g, i, n int) {
	r.assertHolder(g)
	own := !r.s.Segs[g].Huge && !r.segmentIsAbandoned(g)
	if r.m.cfg.Mutant == MutBugA {
		own = true
	}
	head := r.slice(g, i)
	head.SliceCount = uint8(n)
	head.SliceOffset = 0
	// Interior slices: mimalloc leaves them as they are ("the intermediates
	// can be undetermined"). Their slice_count, slice_offset and block_size
	// stay, because mi_slice_first reads them: coalesce writes a back offset
	// into the head it absorbs (segment.c:724 at v2.4.1) and
	// mi_segment_force_abandon re-seats its cursor through it (segment.c:1455).
	// Every other field of such a slice is already zero (mi_segment_page_clear
	// zeroes the page fields, mi_span_queue_delete the links). Under
	// --abstraction spin the interior is zeroed, as scenarios.md's model does.
	for j := 1; j+1 < n; j++ {
		sl := r.slice(g, i+j)
		if r.m.spin() {
			*sl = model.Slice{}
		} else {
			*sl = model.Slice{SliceCount: sl.SliceCount, SliceOffset: sl.SliceOffset, BlockSize: sl.BlockSize}
		}
	}
	if n > 1 {
		last := r.slice(g, i+n-1)
		*last = model.Slice{SliceOffset: uint8(n - 1)}
	}
	if own {
		r.spanQueuePush(gidx(g, i))
	} else {
		head.BlockSize = model.BlockFree
	}
}

// segmentSpanFreeCoalesce frees the span at slice i of segment g, merging
// it with free neighbours; neighbours are unlinked from this thread's
// queues only when the segment is owned. It returns the merged span's head.
// v2.4.1: segment.c: mi_segment_span_free_coalesce.
func (r *run) segmentSpanFreeCoalesce(g, i int) int {
	if r.s.Segs[g].Huge { // huge: just mark it free, no queue
		r.slice(g, i).BlockSize = model.BlockFree
		return i
	}
	abandoned := r.coalesceIsAbandoned(g)
	if r.m.cfg.Mutant == MutBugA || r.m.cfg.Mutant == MutBugA1 {
		abandoned = false
	}
	n := int(r.slice(g, i).SliceCount)
	if next := i + n; next < r.m.nsl && r.slice(g, next).BlockSize == model.BlockFree {
		n += int(r.slice(g, next).SliceCount)
		if !abandoned {
			r.spanQueueDelete(gidx(g, next))
		}
	}
	if i > 0 {
		prev := i - 1 - int(r.slice(g, i-1).SliceOffset) // mi_slice_first(slice - 1)
		if r.slice(g, prev).BlockSize == model.BlockFree {
			n += int(r.slice(g, prev).SliceCount)
			r.slice(g, i).SliceCount = 0
			r.slice(g, i).SliceOffset = uint8(i - prev)
			if !abandoned {
				r.spanQueueDelete(gidx(g, prev))
			}
			i = prev
		}
	}
	r.segmentSpanFree(g, i, n)
	return i
}

// coalesceIsAbandoned is coalesce's test of the abandoned state: the direct
// expression segment->thread_id == 0 at the tags that have it, or
// mi_segment_is_abandoned (relaxed) with patch A. Either way the holder
// reads a value no other thread writes at that moment, so it is local work
// here; the access mode is recorded on the step (see steps.go).
func (r *run) coalesceIsAbandoned(g int) bool {
	r.coalesced = true
	r.coalescedSegs |= 1 << g
	return r.segmentIsAbandoned(g)
}

// segmentSpanAllocate turns slices [i, i+n) of segment g into a fresh page
// of class c with all blocks on its free list.
// v2.4.1: segment.c: mi_segment_span_allocate (+ page.c: mi_page_init).
func (r *run) segmentSpanAllocate(g, i, n int, c uint8) {
	r.assertHolder(g)
	head := r.slice(g, i)
	head.SliceCount = uint8(n)
	head.SliceOffset = 0
	head.BlockSize = model.BlockPage0 + c
	for j := 1; j < n; j++ {
		*r.slice(g, i+j) = model.Slice{SliceOffset: uint8(j), BlockSize: model.BlockUsed}
	}
	blocks := r.m.sc.Classes[c].Blocks
	head.Free = uint8(1)<<blocks - 1
	head.XThreadFree, head.Used, head.Live, head.HeapDelayed = 0, 0, 0, 0
	head.Retire, head.InFull = 0, false
	head.Heap = r.tid
	head.Delayed = r.m.freshDelayedMode()
	r.s.Segs[g].Used++
}

// segmentsPageFindAndAllocate takes the first span of at least n slices
// from this thread's queues (bins n and up), splits off the remainder and
// allocates a page of class c in it. It returns the page's global slice
// index + 1, or 0 when the queues have no such span.
// v2.4.1: segment.c: mi_segments_page_find_and_allocate, mi_segment_slice_split.
func (r *run) segmentsPageFindAndAllocate(n int, c uint8) uint8 {
	var found uint8
	for b := n; b <= r.m.nsl-1 && found == 0; b++ {
		for e := r.t.Spans[b-1].First; e != 0; e = r.sl(e - 1).Next {
			if int(r.sl(e-1).SliceCount) >= n {
				found = e
				break
			}
		}
	}
	if found == 0 {
		return 0
	}
	x := found - 1
	g, i := segOf(x), sliceOf(x)
	r.spanQueueDelete(x)
	if cnt := int(r.sl(x).SliceCount); cnt > n { // mi_segment_slice_split
		r.segmentSpanFree(g, i+n, cnt-n)
		r.sl(x).SliceCount = uint8(n)
	}
	r.segmentSpanAllocate(g, i, n, c)
	return found
}

// freshDelayedMode is the delayed-free mode of a fresh page: mi_page_init
// leaves xthread_free zeroed, i.e. MI_USE_DELAYED_FREE. Under the SPIN
// abstraction the mode is not modelled (a constant NoDelayedFree).
func (m *Sim) freshDelayedMode() model.DelayedMode {
	if m.spin() {
		return model.NoDelayedFree
	}
	return model.UseDelayedFree
}

// spanCount is the slice_count of the span head at slice i of segment g,
// read by a loop that walks a segment span by span. In a segment freed
// under the walk (another thread freed it: harmful-publish mode) the read
// is a use-after-free. A count of 0 in a segment another thread holds
// (force abandon's walk after publishing, while the holder splits and
// coalesces spans) is a finding: mimalloc's loop (slice += slice_count)
// would stand still forever (walk-terminates). A count of 0 in a segment
// the walker holds would make the walk stand still inside one step; that
// is a defect of the model, reported as an internal error (explore exits
// 5) rather than a hang.
func (r *run) spanCount(g, i int) uint8 {
	n := r.slice(g, i).SliceCount
	switch {
	case !r.s.Segs[g].Live: // another thread freed the segment under this walk
		r.fault(model.FaultUseAfterFree, g, i)
		return 1
	case n == 0 && r.s.Segs[g].Holder != r.tid:
		r.faultStop(model.FaultWalkStuck, g, i)
		return 1
	case n == 0:
		panic(fmt.Sprintf("mimcheck internal bug: local work does not terminate: T%d walks segment %d and slice %d has slice_count 0 where a span head is expected", r.i+1, g, i))
	}
	return n
}
