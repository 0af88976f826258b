package allocsim

import (
	"math/bits"

	"mimcheck/model"
)

// pageThreadFreeCollect moves page x's xthread_free list to its free list;
// the exchange with NULL is the step's shared access.
// v2.4.1: page.c: _mi_page_free_collect(page, force) -> _mi_page_thread_free_collect
// (CAS loop, acq_rel).
func (r *run) pageThreadFreeCollect(x uint8, force bool) {
	g := segOf(x)
	if !r.s.Segs[g].Live {
		r.fault(model.FaultUseAfterFree, g, sliceOf(x))
		return
	}
	r.assertHolder(g)
	p := r.sl(x)
	v := p.XThreadFree
	p.XThreadFree = 0
	if v&(p.Free|p.LocalFree) != 0 || v&p.Live != 0 {
		r.fault(model.FaultDoubleFree, g, sliceOf(x))
	}
	p.Used -= uint8(bits.OnesCount8(v))
	if r.m.spin() {
		p.Free |= v
		return
	}
	// the thread-free list is prepended to local_free; local_free becomes the
	// free list when that is empty (or appended when forced).
	p.LocalFree |= v
	if p.LocalFree != 0 && (p.Free == 0 || force) {
		p.Free |= p.LocalFree
		p.LocalFree = 0
	}
}

// localFreeBlock puts a block freed by the owner on page->local_free
// (free.c: mi_free_block_local); under --abstraction spin free and
// local_free are one set.
func (r *run) localFreeBlock(p *model.Slice, bit uint8) {
	if r.m.spin() {
		p.Free |= bit
	} else {
		p.LocalFree |= bit
	}
}

// popBlock takes the lowest free block of page x into register reg.
// v2.4.1: page.c: _mi_page_malloc (pop from page->free).
func (r *run) popBlock(x uint8, reg uint8) {
	g := segOf(x)
	r.assertHolder(g)
	p := r.sl(x)
	if p.Free == 0 {
		panic("mimcheck internal bug: pop from an empty free list")
	}
	b := uint8(bits.TrailingZeros8(p.Free))
	if p.Live&(1<<b) != 0 {
		r.fault(model.FaultDoubleFree, g, sliceOf(x))
	}
	p.Free &^= 1 << b
	p.Live |= 1 << b
	p.Used++
	p.Age = 0 // reused
	r.t.Regs[reg] = x*model.MaxBlocks + b + 1
}

// decode splits a block handle into its page's global slice index and the
// block's bit.
func decode(h uint8) (x uint8, bit uint8) {
	return (h - 1) / model.MaxBlocks, 1 << ((h - 1) % model.MaxBlocks)
}

// segmentPageClear returns page (g, i) to free span state and coalesces it.
// It returns the head slice index of the merged free span.
// v2.4.1: segment.c: mi_segment_page_clear.
func (r *run) segmentPageClear(g, i int) int {
	r.assertHolder(g)
	p := r.slice(g, i)
	c := p.BlockSize - model.BlockPage0
	all := uint8(1)<<r.m.sc.Classes[c].Blocks - 1
	if p.Used != 0 || p.Live != 0 || p.XThreadFree != 0 || p.Free|p.LocalFree != all || p.HeapDelayed != 0 || p.Taken != 0 {
		r.fault(model.FaultPageNotEmpty, g, i)
	}
	if r.s.Segs[g].Used == 0 {
		r.fault(model.FaultPageNotEmpty, g, i)
	}
	if p.Delayed == model.DelayedFreeing {
		r.fault(model.FaultDelayedMode, g, i) // _mi_page_free asserts not DELAYED_FREEING
	}
	p.Free, p.LocalFree, p.XThreadFree, p.Used, p.Live, p.HeapDelayed, p.Taken = 0, 0, 0, 0, 0, 0, 0
	p.Heap, p.Retire, p.InFull, p.Delayed, p.Age = 0, 0, false, 0, 0
	p.BlockSize = model.BlockUsed
	head := r.segmentSpanFreeCoalesce(g, i)
	r.s.Segs[g].Used--
	return head
}

// rightPage reports whether page x is a page of class c with a free block
// or pending thread frees (mi_segment_check_free / mi_segment_reclaim's
// "right page" test; block size equality stands for the class).
func (r *run) rightPage(x uint8, c uint8) bool {
	p := r.sl(x)
	return p.BlockSize == model.BlockPage0+c && (p.Used < r.m.sc.Classes[c].Blocks || p.XThreadFree != 0)
}

// ownedBy reports whether segment g is live and owned by this thread. A
// thread reading another segment's thread_id here only learns "not mine",
// which no other thread can change to "mine": thread-local knowledge.
func (r *run) ownedBy(g int) bool {
	return r.s.Segs[g].Live && r.s.Segs[g].ThreadID == r.tid
}

// heapPage reports whether slice i of segment g heads a page of this
// thread's heap: a used page of a segment it owns whose xheap is this
// thread's heap. A page that mi_segment_force_abandon already abandoned
// (xheap NULL) stays in an owned segment but is in none of the heap's
// queues (page.c: _mi_page_abandon -> mi_page_queue_remove), so the page
// queue walks (mi_find_free_page, mi_page_queue_find_free_ex,
// mi_heap_visit_pages, _mi_page_retire's pq->first/last test,
// heap->pages[MI_BIN_FULL]) do not meet it. The scenario's threads each
// have one heap, the default one.
func (r *run) heapPage(g, i int) bool {
	p := r.slice(g, i)
	return r.ownedBy(g) && p.BlockSize >= model.BlockPage0 && p.Heap == r.tid
}
