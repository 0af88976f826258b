package allocsim_test

// Per-operation sequential tests. Each scenario is run by hand (one thread
// at a time) and the resulting model.State is held against what the C code
// of mimalloc v2.4.1 does; the function the expectation comes from is cited
// at each check. Invariants are checked after every step (rig.step).
//
// A `send _ -> mK` of the never-assigned register `_` is used as a
// separator: it is a shared access (so a step ends in front of it), it is
// enabled as long as mK is empty, and it hands over NULL (no block).

import (
	"fmt"
	"strings"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
)

const header2 = "class S slices=1 blocks=2\nclass M slices=2 blocks=1\n"

func scen(segments, slices int, extra string, threads ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario T\nsegments %d\nslices %d\n%s%s", segments, slices, header2, extra)
	for _, t := range threads {
		b.WriteString("thread: " + t + "\n")
	}
	return b.String()
}

var bothAbs = []struct {
	name string
	abs  allocsim.Abstraction
}{{"spin", allocsim.SpinAbs}, {"full", allocsim.Full}}

// TestMallocEmptyHeapClaimsSlot: the first malloc of a thread finds no page
// and no span, claims a free arena slot, makes it one free span, and takes
// a page at slice 1 whose remainder goes back on the span queues.
//
// v2.4.1 page.c: _mi_malloc_generic -> mi_find_free_page -> mi_page_fresh;
// segment.c: mi_segment_alloc (thread_id = _mi_thread_id(), slice 0 info,
// mi_segment_span_free of the rest), mi_segments_page_find_and_allocate ->
// mi_segment_slice_split (remainder mi_segment_span_free'd onto the queue of
// its slice count) -> mi_segment_span_allocate.
func TestMallocEmptyHeapClaimsSlot(t *testing.T) {
	cases := []struct {
		nsl, thread, segs int
	}{
		{nsl: 4, thread: 0, segs: 1},
		{nsl: 5, thread: 0, segs: 1},
		{nsl: 5, thread: 1, segs: 2},
		{nsl: 8, thread: 2, segs: 3},
		{nsl: 8, thread: 3, segs: 4},
	}
	for _, c := range cases {
		for _, a := range bothAbs {
			t.Run(fmt.Sprintf("nsl=%d/T%d/%s", c.nsl, c.thread+1, a.name), func(t *testing.T) {
				progs := make([]string, c.thread+1)
				for i := range progs {
					progs[i] = "send _ -> m0" // idle threads: never stepped
				}
				progs[c.thread] = "a = malloc(S); send _ -> m1"
				r := newRig(t, scen(c.segs, c.nsl, "", progs...), allocsim.Config{Abstraction: a.abs})
				i := c.thread
				r.runToOp(i, 1)
				s := &r.s
				tid := model.TIDOf(i)
				if tid != model.ThreadID(i+1) {
					t.Fatalf("TIDOf(%d) = %d", i, tid)
				}
				// mi_segment_alloc claims the first free slot (slot 0 here).
				sg := s.Segs[0]
				if !sg.Live || sg.ThreadID != tid || sg.Holder != tid || sg.Used != 1 || sg.Abandoned != 0 || sg.WasReclaimed {
					t.Fatalf("segment 0 = %+v, want live, thread_id=holder=%d, used 1", sg, tid)
				}
				for g := 1; g < c.segs; g++ {
					if s.Segs[g].Live {
						t.Errorf("slot %d is live, want only slot 0 claimed", g)
					}
				}
				// slice 0: the segment info (a permanently used 1-slice span).
				if sl := s.Slices[0][0]; sl.SliceCount != 1 || sl.BlockSize != model.BlockUsed {
					t.Errorf("slice 0 = %+v, want the segment info", sl)
				}
				// the page: slice 1, class S, block 0 handed out.
				p := s.Slices[0][1]
				if p.SliceCount != 1 || p.SliceOffset != 0 || p.BlockSize != model.BlockPage0+0 ||
					p.Free != 0b10 || p.Live != 0b01 || p.Used != 1 || p.XThreadFree != 0 || p.Heap != tid {
					t.Errorf("page at slice 1 = %+v", p)
				}
				if got, want := s.Threads[i].Regs[0], handle(0, 1, 0); got != want {
					t.Errorf("register a = %d, want %d", got, want)
				}
				// the remainder: slices 2..nsl-1, one free span in bin nsl-2.
				rem := c.nsl - 2
				h := s.Slices[0][2]
				if h.SliceCount != uint8(rem) || h.SliceOffset != 0 || h.BlockSize != model.BlockFree || h.Prev != 0 || h.Next != 0 {
					t.Errorf("remainder head = %+v, want a free span of %d slices", h, rem)
				}
				if rem > 1 {
					if last := s.Slices[0][c.nsl-1]; last.SliceCount != 0 || int(last.SliceOffset) != rem-1 || last.BlockSize != model.BlockFree {
						t.Errorf("remainder last slice = %+v, want offset %d", last, rem-1)
					}
				}
				for b := 1; b <= model.MaxBins; b++ {
					q := queue(s, i, b)
					want := model.SpanQueue{}
					if b == rem {
						want = model.SpanQueue{First: link(0, 2), Last: link(0, 2)}
					}
					if q != want {
						t.Errorf("T%d bin %d = %+v, want %+v", i+1, b, q, want)
					}
				}
				for j := 0; j < c.thread; j++ {
					if !queuesEmpty(s, j) {
						t.Errorf("idle T%d has queued spans", j+1)
					}
				}
				if s.Fault != (model.Fault{}) {
					t.Errorf("fault %+v", s.Fault)
				}
			})
		}
	}
}

// TestSmallMallocSequence: a second small malloc takes the page's second
// free block (no new page); a third finds the page full and splits the
// queued span for a new page at slice 2, remainder in bin nsl-3.
//
// v2.4.1 alloc.c: _mi_page_malloc_zero pops page->free; page.c:
// mi_find_free_page / mi_page_queue_find_free_ex (page full: mi_page_fresh);
// segment.c: mi_segments_page_find_and_allocate, mi_segment_slice_split.
func TestSmallMallocSequence(t *testing.T) {
	for _, a := range bothAbs {
		t.Run(a.name, func(t *testing.T) {
			r := newRig(t, scen(1, 5, "", "a = malloc(S); b = malloc(S); send _ -> m0; c = malloc(S); send _ -> m1"),
				allocsim.Config{Abstraction: a.abs})
			r.runToOp(0, 2)
			s := &r.s
			p := s.Slices[0][1]
			if p.Free != 0 || p.Live != 0b11 || p.Used != 2 {
				t.Fatalf("page after two mallocs = %+v, want both blocks live", p)
			}
			if got := s.Threads[0].Regs[:2]; got[0] != handle(0, 1, 0) || got[1] != handle(0, 1, 1) {
				t.Errorf("registers a, b = %v, want %d %d", got, handle(0, 1, 0), handle(0, 1, 1))
			}
			if s.Segs[0].Used != 1 {
				t.Errorf("used = %d after the second malloc, want 1 (no new page)", s.Segs[0].Used)
			}
			if q := queue(s, 0, 3); q.First != link(0, 2) {
				t.Errorf("bin 3 = %+v, want the untouched span at slice 2", q)
			}

			r.runToOp(0, 4)
			if s.Segs[0].Used != 2 {
				t.Fatalf("used = %d after the third malloc, want 2", s.Segs[0].Used)
			}
			p2 := s.Slices[0][2]
			if p2.SliceCount != 1 || p2.BlockSize != model.BlockPage0 || p2.Live != 0b01 || p2.Free != 0b10 || p2.Used != 1 {
				t.Errorf("new page at slice 2 = %+v", p2)
			}
			if got, want := s.Threads[0].Regs[3], handle(0, 2, 0); got != want { // registers: a b _ c
				t.Errorf("register c = %d, want %d", got, want)
			}
			if q := queue(s, 0, 3); q != (model.SpanQueue{}) {
				t.Errorf("bin 3 = %+v, want empty", q)
			}
			if q := queue(s, 0, 2); q != (model.SpanQueue{First: link(0, 3), Last: link(0, 3)}) {
				t.Errorf("bin 2 = %+v, want the remainder at slice 3", q)
			}
			if h := s.Slices[0][3]; h.SliceCount != 2 || h.BlockSize != model.BlockFree {
				t.Errorf("remainder head = %+v", h)
			}
			// The third malloc found the page full: its first shared access
			// is the collect of the page's xthread_free (mi_page_queue_find_free_ex
			// -> _mi_page_free_collect) before the fresh page.
			if !containsLabel(r.labels, "malloc.collect-xthread-free") {
				t.Errorf("labels %v: no xthread_free collect before the fresh page", r.labels)
			}
		})
	}
}

func containsLabel(ls []string, l string) bool {
	for _, x := range ls {
		if x == l || strings.HasPrefix(x, l+"+") {
			return true
		}
	}
	return false
}

// TestFreeOnlyBlockSpin: under --abstraction spin the free of the last used
// block of the only page frees the page at once, coalesces it with the
// rest of the segment and frees the segment (slot back to the arena).
//
// v2.4.1 free.c: mi_free_block_local -> page.c: _mi_page_retire's delay is
// abstracted away (scenarios.md §1.2) -> _mi_page_free -> segment.c:
// _mi_segment_page_free -> mi_segment_page_clear -> mi_segment_free
// (mi_segment_span_remove_from_queue of every free span, mi_segment_os_free).
func TestFreeOnlyBlockSpin(t *testing.T) {
	r := newRig(t, scen(1, 5, "", "a = malloc(S); free a; send _ -> m0"), allocsim.Config{Abstraction: allocsim.SpinAbs})
	r.runToOp(0, 2)
	s := &r.s
	if s.Segs[0] != (model.Segment{}) {
		t.Errorf("segment 0 = %+v, want a freed slot (all zero)", s.Segs[0])
	}
	if s.Slices[0] != ([model.MaxSlices]model.Slice{}) {
		t.Errorf("slices of the freed slot are not zero: %+v", s.Slices[0])
	}
	if !queuesEmpty(s, 0) {
		t.Errorf("span queues not empty: %+v", s.Threads[0].Spans)
	}
	if s.Threads[0].Regs[0] != 0 {
		t.Errorf("register a = %d after free, want 0", s.Threads[0].Regs[0])
	}
	if r.labels[len(r.labels)-1] != "segment-free.release-slot" {
		t.Errorf("last step %q, want segment-free.release-slot", r.labels[len(r.labels)-1])
	}
}

// TestRetireFull: at full fidelity the free of the last block of the only
// page of its class retires the page instead of freeing it; a later malloc
// that finds no page of its own class runs _mi_heap_collect_retired, which
// counts the retired page down; `collect force` frees it.
//
// v2.4.1 page.c: _mi_page_retire (only page in its queue: retire_expire =
// MI_RETIRE_CYCLES (16) for small blocks, MI_RETIRE_CYCLES/4 otherwise;
// page_retired_min/max widened), mi_page_queue_find_free_ex
// (_mi_heap_collect_retired(heap,false) before mi_page_fresh),
// _mi_heap_collect_retired (retire_expire--, free when 0 or forced);
// heap.c: mi_heap_collect_ex -> _mi_heap_collect_retired(heap, force).
// Run at v2.1.7: from v2.3.0 on the one-block M page goes to the FULL
// queue right after its allocation (page.c:1072-1075 at v2.4.1), and a
// page in the FULL queue is freed, not retired (TestGenericMallocToFull).
func TestRetireFull(t *testing.T) {
	r := newRig(t, scen(1, 5, "",
		"a = malloc(S); free a; send _ -> m0; b = malloc(M); send _ -> m1; free b; send _ -> m2; collect force; send _ -> m3"),
		allocsim.Config{Abstraction: allocsim.Full, Source: allocsim.V217})
	s := &r.s
	th := &s.Threads[0]

	r.runToOp(0, 2) // a = malloc(S); free a
	p := s.Slices[0][1]
	if !s.Segs[0].Live || s.Segs[0].Used != 1 {
		t.Fatalf("segment 0 = %+v, want it kept with its retired page", s.Segs[0])
	}
	if p.BlockSize != model.BlockPage0 || p.Used != 0 || p.Free|p.LocalFree != 0b11 || p.Live != 0 || p.Retire != 16 {
		t.Fatalf("page S after free = %+v, want kept, all free, retire_expire 16", p)
	}
	if th.RetiredMin != 0 || th.RetiredMax != 1 {
		t.Errorf("retired min/max = %d/%d, want 0/1 (class S + 1)", th.RetiredMin, th.RetiredMax)
	}

	r.runToOp(0, 4) // b = malloc(M): no M page -> collect retired, fresh page
	if got := s.Slices[0][1].Retire; got != 15 {
		t.Errorf("retire_expire of page S after a malloc(M) = %d, want 15", got)
	}
	if s.Slices[0][1].BlockSize != model.BlockPage0 {
		t.Errorf("page S was freed by a non-forced collect at count 15")
	}
	if th.RetiredMin != 0 || th.RetiredMax != 1 {
		t.Errorf("retired min/max = %d/%d, want 0/1", th.RetiredMin, th.RetiredMax)
	}
	if pm := s.Slices[0][2]; pm.BlockSize != model.BlockPage0+1 || pm.SliceCount != 2 || pm.Live != 1 {
		t.Errorf("page M = %+v, want a 2-slice page at slice 2", pm)
	}

	r.runToOp(0, 6) // free b: page M is the only M page -> retired, 4 cycles
	if pm := s.Slices[0][2]; pm.BlockSize != model.BlockPage0+1 || pm.Used != 0 || pm.Retire != 4 {
		t.Errorf("page M after free = %+v, want retired with retire_expire 4 (MI_RETIRE_CYCLES/4)", pm)
	}
	if th.RetiredMin != 0 || th.RetiredMax != 2 {
		t.Errorf("retired min/max = %d/%d, want 0/2", th.RetiredMin, th.RetiredMax)
	}
	if s.Segs[0].Used != 2 {
		t.Errorf("used = %d, want 2 (both pages retired, none freed)", s.Segs[0].Used)
	}

	r.runToOp(0, 8) // collect force: both retired pages freed, then the segment
	if s.Segs[0].Live || s.Segs[0] != (model.Segment{}) {
		t.Errorf("segment 0 = %+v after collect force, want freed", s.Segs[0])
	}
	if th.RetiredMin != 0 || th.RetiredMax != 0 {
		t.Errorf("retired min/max = %d/%d after collect force, want 0/0", th.RetiredMin, th.RetiredMax)
	}
	if !queuesEmpty(s, 0) {
		t.Errorf("span queues not empty after the segment was freed")
	}
}

// TestRetireSpinFreesAtOnce: the same free as TestRetireFull, under spin,
// does not retire (scenarios.md §1.2 abstracts the delay away).
func TestRetireSpinFreesAtOnce(t *testing.T) {
	r := newRig(t, scen(1, 5, "", "a = malloc(S); b = malloc(M); free a; send _ -> m0"), allocsim.Config{Abstraction: allocsim.SpinAbs})
	r.runToOp(0, 3)
	s := &r.s
	if p := s.Slices[0][1]; p.BlockSize != model.BlockFree || p.Retire != 0 || p.SliceCount != 1 {
		t.Errorf("slice 1 = %+v, want a free 1-slice span (page freed at once)", p)
	}
	// mi_span_queue_push pushes at the front: slice 1 before the
	// remainder of the M page's split at slice 4.
	if q := queue(s, 0, 1); q != (model.SpanQueue{First: link(0, 1), Last: link(0, 4)}) {
		t.Errorf("bin 1 = %+v, want slice 1 then slice 4", q)
	}
	if s.Segs[0].Used != 1 || s.Threads[0].RetiredMax != 0 {
		t.Errorf("used %d, retired max %d; want 1, 0", s.Segs[0].Used, s.Threads[0].RetiredMax)
	}
}

// TestPatchBRetireAgain: patch B makes _mi_page_retire set retire_expire
// only when it is 0.
//
// In v2.4.1 a retired page is taken out of retirement only by
// mi_find_free_page / mi_page_queue_find_free_ex (page.c), which set
// retire_expire = 0 when they pick the page; the fast path of a small
// request (alloc.c:174: _mi_page_malloc_zero, popping page->free of the
// queue's first page) leaves it alone, and _mi_heap_collect_retired resets
// it only when the page is in use at the collect. Schedule: a = malloc(S)
// takes block 0 from page->free; free a puts it on local_free and retires
// the page (16); b = malloc(F) (a generic request: F's queue is empty)
// runs mi_page_queue_find_free_ex, whose _mi_heap_collect_retired counts
// it down (15); c = malloc(S) takes block 1 from page->free by the fast
// path (15 stays); free c retires the page again: v2.4.1 resets it to 16,
// patch B keeps 15. (A large request, as M at v2.4.1, would not count it
// down: mi_large_huge_page_alloc collects no retired pages.)
func TestPatchBRetireAgain(t *testing.T) {
	text := "scenario T\nsegments 1\nslices 5\nclass S slices=1 blocks=2\nclass F slices=1 blocks=1\n" +
		"thread: a = malloc(S); free a; send _ -> m0; b = malloc(F); send _ -> m1; c = malloc(S); send _ -> m2; free c; send _ -> m3\n"
	for _, pb := range []allocsim.Patches{0, allocsim.PatchB} {
		t.Run("patch="+pb.String(), func(t *testing.T) {
			r := newRig(t, text, allocsim.Config{Abstraction: allocsim.Full, Patches: pb})
			s := &r.s
			r.runToOp(0, 2)
			if got := s.Slices[0][1].Retire; got != 16 {
				t.Fatalf("first retire: retire_expire %d, want 16", got)
			}
			r.runToOp(0, 4)
			if got := s.Slices[0][1].Retire; got != 15 {
				t.Fatalf("after collect_retired: retire_expire %d, want 15", got)
			}
			r.runToOp(0, 6) // c = malloc(S): fast path on the retired page
			// registers: a _ b c
			if got := s.Threads[0].Regs[3]; got != handle(0, 1, 1) {
				t.Fatalf("c = %d, want block 1 of the retired page (%d), taken from page->free", got, handle(0, 1, 1))
			}
			if got := s.Slices[0][1].Retire; got != 15 {
				t.Errorf("retire_expire after the fast path = %d, want 15 (untouched)", got)
			}
			r.runToOp(0, 8) // free c: retired again
			want := uint8(16)
			if pb.Has(allocsim.PatchB) {
				want = 15 // patch B: kept, not reset
			}
			if got := s.Slices[0][1].Retire; got != want {
				t.Errorf("second retire: retire_expire %d, want %d", got, want)
			}
		})
	}
}

// TestExitAbandons: a thread that exits with a live block in its segment
// abandons the page and then the segment: every free span is unlinked from
// its queues, thread_id 0, the abandoned bit is set and counted.
//
// v2.4.1 heap.c: mi_heap_collect_ex(MI_ABANDON) -> _mi_page_abandon;
// segment.c: _mi_segment_page_abandon (abandoned++; used == abandoned ->
// mi_segment_abandon: mi_segment_span_remove_from_queue of every free span,
// thread_id = 0, abandoned_visits = 1, was_reclaimed = false);
// arena-abandon.c: _mi_arena_segment_mark_abandoned (bit claimed,
// abandoned_count++); then _mi_abandoned_collect re-marks it (page in use).
func TestExitAbandons(t *testing.T) {
	for _, a := range bothAbs {
		t.Run(a.name, func(t *testing.T) {
			r := newRig(t, scen(1, 5, "option reclaim-on-free=1\n",
				"a = malloc(S); b = malloc(M); send a -> m0; free b; exit",
				"a <- m0; send _ -> m1"), allocsim.Config{Abstraction: a.abs})
			s := &r.s
			r.runToOp(0, 4) // before exit: the free span is in T1's queues
			if q := queuedSlices(s, 2); len(q[0]) == 0 {
				t.Fatalf("T1 has no queued span before exit (%+v)", s.Threads[0].Spans)
			}
			r.runToEnd(0)
			sg := s.Segs[0]
			if !sg.Live || sg.ThreadID != model.NoThread || sg.Holder != model.NoThread || sg.Busy {
				t.Errorf("segment 0 = %+v, want live, thread_id 0, no holder", sg)
			}
			if sg.Used != 1 || sg.Abandoned != sg.Used {
				t.Errorf("used %d abandoned %d, want 1 and abandoned == used", sg.Used, sg.Abandoned)
			}
			if sg.AbandonedVisits != 1 || sg.WasReclaimed {
				t.Errorf("abandoned_visits %d was_reclaimed %v, want 1 false", sg.AbandonedVisits, sg.WasReclaimed)
			}
			if s.AbandonedMap != 1 || s.AbandonedCount != 1 {
				t.Errorf("abandoned bitmap %b count %d, want 1 1", s.AbandonedMap, s.AbandonedCount)
			}
			if !queuesEmpty(s, 0) {
				t.Errorf("the exited thread still has queued spans: %+v", s.Threads[0].Spans)
			}
			heads := freeSpanHeads(s, 0, 5)
			if len(heads) != 1 || heads[0] != gslice(0, 2) {
				t.Errorf("free span heads %v, want the coalesced span at slice 2", heads)
			}
			for _, x := range heads {
				if sl := s.Slices[0][x%model.MaxSlices]; sl.Prev != 0 || sl.Next != 0 {
					t.Errorf("free span at %d still has links %+v", x, sl)
				}
			}
			if p := s.Slices[0][1]; p.Heap != model.NoThread || p.Live != 0b01 {
				t.Errorf("abandoned page = %+v, want heap NULL, block a live", p)
			}
			if s.Mailbox[0] != handle(0, 1, 0) {
				t.Errorf("mailbox m0 holds %d, want block a", s.Mailbox[0])
			}
		})
	}
}

// TestReclaimOnFree: a thread freeing a block of an abandoned segment
// (option abandoned_reclaim_on_free) claims the segment, becomes its owner,
// re-adds its free spans to its own queues and frees the block locally.
//
// v2.4.1 free.c: mi_free_block_mt -> segment.c: _mi_segment_attempt_reclaim
// (reclaim_count*2 <= count) -> arena-abandon.c:
// _mi_arena_segment_clear_abandoned (bit unclaimed, abandoned_count--) ->
// segment.c: mi_segment_reclaim (thread_id = t, was_reclaimed, free spans
// re-added by mi_segment_span_free_coalesce into t's queues, pages
// _mi_page_reclaim'ed) -> the recursive mi_free is local.
func TestReclaimOnFree(t *testing.T) {
	for _, a := range bothAbs {
		t.Run(a.name, func(t *testing.T) {
			r := newRig(t, scen(1, 5, "option reclaim-on-free=1\n",
				"a = malloc(S); b = malloc(S); send a -> m0; send b -> m1; exit",
				"init; a <- m0; b <- m1; free a; send _ -> m2; free b; send _ -> m3"),
				allocsim.Config{Abstraction: a.abs})
			s := &r.s
			r.runToEnd(0)
			if s.Segs[0].ThreadID != 0 || s.AbandonedMap != 1 {
				t.Fatalf("segment not abandoned after T1's exit: %+v", s.Segs[0])
			}
			r.runToOp(1, 4) // init; a <- m0; b <- m1; free a
			tid := model.TIDOf(1)
			sg := s.Segs[0]
			if sg.ThreadID != tid || sg.Holder != tid || !sg.WasReclaimed || sg.AbandonedVisits != 0 || sg.Abandoned != 0 || sg.Busy {
				t.Errorf("segment 0 = %+v, want owned and held by T2, was_reclaimed", sg)
			}
			if s.AbandonedMap != 0 || s.AbandonedCount != 0 {
				t.Errorf("abandoned bitmap %b count %d, want 0 0", s.AbandonedMap, s.AbandonedCount)
			}
			if !queuesEmpty(s, 0) {
				t.Errorf("T1 has queued spans")
			}
			if q := queue(s, 1, 3); q != (model.SpanQueue{First: link(0, 2), Last: link(0, 2)}) {
				t.Errorf("T2 bin 3 = %+v, want the free span at slice 2", q)
			}
			p := s.Slices[0][1]
			if p.Heap != tid || p.Live != 0b10 || p.Free|p.LocalFree != 0b01 || p.Used != 1 || p.XThreadFree != 0 {
				t.Errorf("page = %+v, want in T2's heap, block a freed locally (on free, not xthread_free)", p)
			}
			for _, l := range []string{"free.unclaim-abandoned", "reclaim.store-thread-id"} {
				if !containsLabel(r.labels, l) {
					t.Errorf("labels %v lack %s", r.labels, l)
				}
			}
			if containsLabel(r.labels, "free.push-xthread-free") {
				t.Errorf("labels %v: the block was pushed, not freed locally", r.labels)
			}

			r.runToOp(1, 6) // free b: local now
			if a.abs == allocsim.SpinAbs {
				if s.Segs[0].Live {
					t.Errorf("segment still live after its last block was freed (spin)")
				}
			} else if p := s.Slices[0][1]; p.Retire != 16 || p.Used != 0 {
				t.Errorf("page = %+v, want retired by its new owner", p)
			}
		})
	}
}

// TestCrossThreadFreeCollected (spin: no delayed-free modes, scenarios.md
// §1.2): a free by a non-owner of an owned segment pushes the block on the
// page's xthread_free; the owner's next malloc of that class, finding
// page->free empty, collects it and reuses the block.
//
// v2.4.1 free.c: mi_free_block_mt -> mi_free_block_delayed_mt (CAS push on
// page->xthread_free; used is unchanged); page.c: mi_find_free_page ->
// _mi_page_free_collect -> _mi_page_thread_free_collect (exchange with
// NULL, used -= count), then _mi_page_malloc_zero.
func TestCrossThreadFreeCollected(t *testing.T) {
	r := newRig(t, scen(1, 5, "option reclaim-on-free=1\n",
		"a = malloc(S); b = malloc(S); send a -> m0; x <- m1; c = malloc(S); send _ -> m2",
		"a <- m0; free a; send _ -> m1"),
		allocsim.Config{Abstraction: allocsim.SpinAbs})
	s := &r.s
	r.runToOp(0, 3) // waits for m1
	r.runToOp(1, 2) // a <- m0; free a
	if got := r.labels[len(r.labels)-1]; got != "free.push-xthread-free" {
		t.Errorf("last step of T2's free = %q, want free.push-xthread-free", got)
	}
	p := s.Slices[0][1]
	if p.XThreadFree != 0b01 || p.Free != 0 || p.Live != 0b10 || p.Used != 2 {
		t.Errorf("page after the cross-thread free = %+v, want block 0 on xthread_free, used 2", p)
	}
	if s.Segs[0].ThreadID != model.TIDOf(0) {
		t.Errorf("owner changed: %+v", s.Segs[0])
	}
	r.runToEnd(1)
	n := len(r.labels)
	r.runToOp(0, 5) // x <- m1; c = malloc(S)
	if !containsLabel(r.labels[n:], "malloc.collect-xthread-free") {
		t.Errorf("T1's labels %v: no collect", r.labels[n:])
	}
	p = s.Slices[0][1]
	if got, want := s.Threads[0].Regs[3], handle(0, 1, 0); got != want { // registers: a b x c
		t.Errorf("c = %d, want the collected block %d", got, want)
	}
	if p.XThreadFree != 0 || p.Free != 0 || p.Live != 0b11 || p.Used != 2 {
		t.Errorf("page after the collect = %+v", p)
	}
	if s.Segs[0].Used != 1 {
		t.Errorf("used %d, want 1: no new page", s.Segs[0].Used)
	}
}

// TestCrossThreadFreeDelayedFull (full fidelity): a fresh page is in
// MI_USE_DELAYED_FREE, so the first remote free of one of its blocks goes
// on the owning heap's thread_delayed_free list (the page switches to
// MI_NO_DELAYED_FREE); the second remote free goes on xthread_free, which
// the owner's next generic malloc collects (the heap's delayed list is only
// processed every 100 generic mallocs, so that block stays there).
//
// v2.4.1 page.c: mi_page_init (xthread_free = 0, i.e. MI_USE_DELAYED_FREE);
// free.c: mi_free_block_delayed_mt (MI_USE_DELAYED_FREE -> DELAYED_FREEING,
// push on heap->thread_delayed_free, reset to MI_NO_DELAYED_FREE; otherwise
// push on xthread_free); page.c: _mi_malloc_generic (generic_count >= 100
// -> _mi_heap_delayed_free_partial), mi_find_free_page ->
// _mi_page_free_collect.
func TestCrossThreadFreeDelayedFull(t *testing.T) {
	r := newRig(t, scen(1, 5, "option reclaim-on-free=1\n",
		"a = malloc(S); b = malloc(S); send a -> m0; send b -> m1; x <- m2; c = malloc(S); send _ -> m3",
		"a <- m0; free a; send _ -> m4; b <- m1; free b; send _ -> m2"),
		allocsim.Config{Abstraction: allocsim.Full})
	s := &r.s
	r.runToOp(0, 4) // waits for m2
	if p := s.Slices[0][1]; p.Delayed != model.UseDelayedFree {
		t.Fatalf("fresh page delayed mode %d, want MI_USE_DELAYED_FREE", p.Delayed)
	}
	r.runToOp(1, 2) // a <- m0; free a
	p := s.Slices[0][1]
	if p.HeapDelayed != 0b01 || p.XThreadFree != 0 || p.Live != 0b10 || p.Used != 2 || p.Delayed != model.NoDelayedFree {
		t.Errorf("page after the first remote free = %+v, want block 0 on the heap delayed list, mode NO_DELAYED_FREE", p)
	}
	r.runToOp(1, 5) // b <- m1; free b
	p = s.Slices[0][1]
	if p.HeapDelayed != 0b01 || p.XThreadFree != 0b10 || p.Live != 0 || p.Used != 2 {
		t.Errorf("page after the second remote free = %+v, want block 1 on xthread_free", p)
	}
	r.runToEnd(1)
	r.runToOp(0, 6) // x <- m2; c = malloc(S)
	p = s.Slices[0][1]
	if got, want := s.Threads[0].Regs[3], handle(0, 1, 1); got != want { // registers: a b x c
		t.Errorf("c = %d, want block 1 collected from xthread_free (%d)", got, want)
	}
	if p.XThreadFree != 0 || p.HeapDelayed != 0b01 || p.Live != 0b10 || p.Used != 2 {
		t.Errorf("page after the collect = %+v", p)
	}
	if s.Segs[0].Used != 1 {
		t.Errorf("used %d, want 1: no new page", s.Segs[0].Used)
	}
}

// TestFreeNull: free(NULL) is a no-op, both for a register that never held
// a block and for one holding a failed allocation's NULL.
//
// v2.4.1 free.c: mi_free (p == NULL returns at once via
// _mi_ptr_segment / mi_checked_ptr_segment on NULL).
func TestFreeNull(t *testing.T) {
	cases := []struct {
		name, prog1, prog2 string
		reg                int
		stopOp             int
	}{
		{"never-assigned", "free _; send _ -> m0", "send _ -> m1", 0, 1},
		{"received-null", "x <- m1; free x; send _ -> m0", "send _ -> m1", 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, scen(1, 5, "", c.prog1, c.prog2), allocsim.Config{Abstraction: allocsim.Full})
			s := &r.s
			if c.name == "received-null" {
				r.runToEnd(1)
				if s.Mailbox[1] != model.NullHandle {
					t.Fatalf("mailbox m1 = %d, want NULL", s.Mailbox[1])
				}
			}
			before := r.s
			r.runToOp(0, c.stopOp)
			for _, l := range r.labels {
				if strings.HasPrefix(l, "free.") {
					t.Errorf("free(NULL) took a free step %q", l)
				}
			}
			if s.Threads[0].Regs[c.reg] != 0 {
				t.Errorf("register = %d after free(NULL), want 0", s.Threads[0].Regs[c.reg])
			}
			if s.Segs != before.Segs || s.Slices != before.Slices || s.AbandonedMap != 0 || s.Fault != (model.Fault{}) {
				t.Errorf("free(NULL) changed the heap")
			}
		})
	}
}

// TestOutOfSlots: a malloc that needs a fresh segment while every arena
// slot is in use returns NULL.
//
// v2.4.1 segment.c: mi_segment_reclaim_or_alloc -> mi_segment_alloc ->
// arena.c: _mi_arena_alloc_aligned fails (the scenario's arena is the only
// memory) -> page.c: _mi_malloc_generic returns NULL.
func TestOutOfSlots(t *testing.T) {
	cases := []struct {
		name   string
		progs  []string
		thread int
		reg    int
		op     int
	}{
		// the thread's own segment has no room for a third M page (4 data slices)
		{"own-segment-full", []string{"a = malloc(M); b = malloc(M); c = malloc(M); send _ -> m0"}, 0, 2, 3},
		// the only slot is owned by another thread
		{"slot-owned-by-other", []string{"a = malloc(S); x <- m0", "b = malloc(S); send _ -> m1"}, 1, 0, 1},
	}
	for _, c := range cases {
		for _, a := range bothAbs {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				r := newRig(t, scen(1, 5, "", c.progs...), allocsim.Config{Abstraction: a.abs})
				if c.thread == 1 {
					r.runToOp(0, 1)
				}
				before := r.s.Segs
				r.runToOp(c.thread, c.op)
				s := &r.s
				if got := s.Threads[c.thread].Regs[c.reg]; got != model.NullHandle {
					t.Errorf("register = %d, want NULL (%d)", got, model.NullHandle)
				}
				if c.thread == 1 && s.Segs != before {
					t.Errorf("the failed malloc changed the segments")
				}
				if !containsLabel(r.labels, "segment-alloc.claim-slot") {
					t.Errorf("labels %v: no slot claim attempted", r.labels)
				}
			})
		}
	}
}

// TestV217CursorSkipsSlot0: at v2.1.7 the abandoned-segment cursor starts
// at bit (stored index + 1) even on its first call, so the segment in slot 0
// is never found by another thread's try_reclaim; at v2.4.1 it is.
//
// v2.1.7 arena.c: _mi_arena_segment_clear_abandoned_next (bit_idx =
// previous bit + 1 from a zeroed cursor); v2.4.1 arena-abandon.c:
// _mi_arena_field_cursor_init / mi_arena_segment_clear_abandoned_next_field
// start at bit 0; segment.c: mi_segment_try_reclaim -> mi_segment_check_free
// (a page of the class with a free block is room) -> mi_segment_reclaim.
func TestV217CursorSkipsSlot0(t *testing.T) {
	text := scen(2, 5, "", "a = malloc(S); send a -> m0; exit", "x <- m0; b = malloc(S); send _ -> m1")
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
		for _, a := range bothAbs {
			t.Run(src.String()+"/"+a.name, func(t *testing.T) {
				r := newRig(t, text, allocsim.Config{Abstraction: a.abs, Source: src})
				s := &r.s
				r.runToEnd(0)
				if s.AbandonedMap != 1 || s.Segs[0].ThreadID != 0 {
					t.Fatalf("slot 0 not abandoned after T1's exit")
				}
				r.runToOp(1, 2)
				b := s.Threads[1].Regs[1]
				if src == allocsim.V217 {
					if b != handle(1, 1, 0) {
						t.Errorf("b = %d, want block 0 of a fresh segment in slot 1 (%d)", b, handle(1, 1, 0))
					}
					if s.Segs[0].ThreadID != 0 || s.AbandonedMap != 1 || s.AbandonedCount != 1 || s.Segs[0].WasReclaimed {
						t.Errorf("slot 0 = %+v, bitmap %b: want still abandoned", s.Segs[0], s.AbandonedMap)
					}
					if !s.Segs[1].Live || s.Segs[1].ThreadID != model.TIDOf(1) {
						t.Errorf("slot 1 = %+v, want T2's fresh segment", s.Segs[1])
					}
					if containsLabel(r.labels, "cursor.unclaim-abandoned") {
						t.Errorf("labels %v: the cursor unclaimed a bit", r.labels)
					}
					return
				}
				if b != handle(0, 1, 1) {
					t.Errorf("b = %d, want the free block 1 of the reclaimed page (%d)", b, handle(0, 1, 1))
				}
				if s.Segs[0].ThreadID != model.TIDOf(1) || !s.Segs[0].WasReclaimed || s.AbandonedMap != 0 || s.AbandonedCount != 0 {
					t.Errorf("slot 0 = %+v, bitmap %b count %d: want reclaimed by T2", s.Segs[0], s.AbandonedMap, s.AbandonedCount)
				}
				if s.Segs[1].Live {
					t.Errorf("slot 1 claimed although slot 0 had room")
				}
				if q := queue(s, 1, 3); q.First != link(0, 2) {
					t.Errorf("T2 bin 3 = %+v, want the reclaimed span at slice 2", q)
				}
			})
		}
	}
}
