package allocsim

import "mimcheck/model"

// Retire delay (full fidelity only; --abstraction spin frees an empty page
// at once, as scenarios.md §1.2 does).

// retireCycles is MI_RETIRE_CYCLES (16) for pages whose block size is at
// most MI_SMALL_OBJ_SIZE_MAX, else MI_RETIRE_CYCLES/4. In the scaled model
// a class of one-slice pages stands for small pages.
// A scenario may set a smaller MI_RETIRE_CYCLES (option retire-cycles).
func (m *Sim) retireCycles(c uint8) uint8 {
	n := uint8(16)
	if m.sc.RetireCycles != 0 {
		n = uint8(m.sc.RetireCycles)
	}
	if m.sc.Classes[c].Slices == 1 {
		return n
	}
	return n / 4
}

// largeClass reports whether pages of class c hold objects larger than
// MI_MEDIUM_OBJ_SIZE_MAX: one block over k slices, k >= 2 (a block of 128
// KiB or more; at v2.1.7, whose medium objects go up to 128 KiB, k >= 3).
// mi_bin puts them in MI_BIN_HUGE (page-queue.c: mi_bin, at every tag), a
// special queue, so _mi_page_retire frees such a page at once
// (page.c:509 at v2.4.1). Found by the conformance harness.
func (m *Sim) largeClass(c uint8) bool {
	cl := m.sc.Classes[c]
	min := uint8(2)
	if m.cfg.Source == V217 {
		min = 3
	}
	return cl.Blocks == 1 && cl.Slices >= min
}

// heapFirstPage returns the first page of class c in this thread's heap
// (own segments, slot/slice order stands for the page queue's order), or
// 0xFF when the heap has none. count is the number of such pages.
func (r *run) heapPages(c uint8) (first uint8, count int) {
	first = 0xFF
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if r.heapPage(g, i) && p.BlockSize == model.BlockPage0+c && !p.InFull {
				if first == 0xFF {
					first = gidx(g, i)
				}
				count++
			}
		}
	}
	return first, count
}

// pageRetire handles a page whose last used block was freed locally: the
// only page of its size class stays in the heap for retire_expire collect
// cycles; any other page is freed. It reports whether the page was kept.
// v2.4.1: page.c: _mi_page_retire (patch B: set retire_expire only when 0).
func (r *run) pageRetire(x uint8) bool {
	if r.m.spin() {
		return false
	}
	p := r.sl(x)
	c := p.BlockSize - model.BlockPage0
	if p.InFull || r.s.Segs[segOf(x)].Huge || r.m.largeClass(c) {
		return false // the full and huge queues are special: free at once
	}
	if _, n := r.heapPages(c); n != 1 {
		return false
	}
	if !r.m.cfg.Patches.Has(PatchB) || p.Retire == 0 {
		p.Retire = r.m.retireCycles(c)
	}
	if r.m.ghost() {
		p.Age = 1 // retired-page-expires: the page's budget of collects starts
	}
	t := r.t
	if t.RetiredMax == 0 || c < t.RetiredMin {
		t.RetiredMin = c
	}
	if c+1 > t.RetiredMax {
		t.RetiredMax = c + 1
	}
	return true
}

// collectRetired starts _mi_heap_collect_retired(heap, force); when it is
// done the thread continues at cont.
func (r *run) collectRetired(force bool, cont uint8) {
	t := r.t
	r.retireTick()
	if r.m.spin() || t.RetiredMax == 0 {
		t.RetiredMin, t.RetiredMax = 0, 0
		t.PC = cont
		return
	}
	t.Aux = t.RetiredMin
	t.Word = 0x0F // new min (low nibble, 0xF = none) and new max+1 (high nibble)
	if force {
		t.Flags |= flForce
	}
	t.Cont = cont
	t.PC = pcRetiredNext
}

// retireTick is the retired-page-expires monitor at a call of
// _mi_heap_collect_retired: every retired page of this heap that is still
// all free counts one more collect. A page whose count passes its budget
// (retireCycles: the retire_expire a retire sets; the call that takes it
// to 0 frees the page) was kept too long: it is reported at the first
// call past the budget (an assertion: the step goes on).
func (r *run) retireTick() {
	if !r.m.ghost() {
		return
	}
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			p := r.slice(g, i)
			if p.Age == 0 || !r.heapPage(g, i) { // a page leaves the heap with Age 0 (abandon, free)
				continue
			}
			if p.Age < 255 {
				p.Age++
			}
			if p.Age-1 > r.m.retireCycles(p.BlockSize-model.BlockPage0) {
				r.fault(model.FaultRetireExpired, g, i)
			}
		}
	}
}

// fullRetained is the second half of retired-page-expires, checked when a
// forced collect ends (mi_heap_collect_ex(MI_FORCE) visits the FULL queue
// too and frees every all-free page): no page of this heap is all free and
// still in the FULL queue.
func (r *run) fullRetained() {
	if !r.m.ghost() {
		return
	}
	for g := 0; g < r.m.ns; g++ {
		for i := 0; i < r.m.nsl; i++ {
			if p := r.slice(g, i); r.heapPage(g, i) && p.InFull && p.Used == 0 {
				r.fault(model.FaultRetireExpired, g, i)
			}
		}
	}
}

// retiredNext visits the retired bins from class Aux on: the first page of
// each bin counts down while it stays all free and is freed when its count
// reaches 0 (or when forced); a page in use again loses its retire mark.
// v2.4.1: page.c: _mi_heap_collect_retired.
func (r *run) retiredNext() {
	t := r.t
	end := t.RetiredMax
	if r.m.cfg.Mutant == MutBugRetire { // the hand-made defect: max taken as exclusive
		end--
	}
	for c := t.Aux; c < end; c++ {
		x, _ := r.heapPages(c)
		if x == 0xFF {
			continue
		}
		p := r.sl(x)
		if p.Retire == 0 {
			continue
		}
		if p.Used != 0 {
			p.Retire = 0
			continue
		}
		p.Retire--
		if t.Flags&flForce != 0 || p.Retire == 0 {
			// _mi_page_free -> _mi_segment_page_free
			t.Aux = c + 1
			g := segOf(x)
			r.segmentPageClear(g, sliceOf(x))
			sg := &r.s.Segs[g]
			switch {
			case sg.Used == 0:
				t.Seg, t.PC = uint8(g), pcSegFree
				t.Cont, t.CI = pcRetiredResume, t.Cont // stash the final continuation in CI
				return
			case sg.Used == sg.Abandoned:
				t.Seg, t.PC = uint8(g), pcAbandon
				t.Cont, t.CI = pcRetiredResume, t.Cont
				return
			}
			continue
		}
		lo, hi := t.Word&0x0F, t.Word>>4
		if lo == 0x0F || c < lo {
			lo = c
		}
		if c+1 > hi {
			hi = c + 1
		}
		t.Word = lo | hi<<4
	}
	lo, hi := t.Word&0x0F, t.Word>>4
	if hi == 0 {
		lo = 0
	}
	t.RetiredMin, t.RetiredMax = lo, hi
	t.Flags &^= flForce
	t.Word, t.Aux = 0, 0
	t.PC, t.Cont = t.Cont, 0
}

// retiredResume continues the retired-page loop after a segment free or
// abandon that a retired page's free caused.
func (r *run) retiredResume() {
	t := r.t
	t.Cont, t.CI = t.CI, 0
	t.PC = pcRetiredNext
}
