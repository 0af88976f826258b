package allocsim

import "mimcheck/model"

// OS-memory segments (scenario `memory os`; full model only).
//
// v2.3.0 and v2.4.1 keep abandoned OS segments on subproc->abandoned_os_list,
// a doubly linked list under abandoned_os_lock: mark-abandoned appends at the
// tail, reclaim-on-free try-locks and unlinks the segment, and the reclaim
// cursor takes abandoned_os_visit_lock (try-lock) for its lifetime and pops
// at most os_list_count heads, one lock/unlock each.
// v2.1.7 only counts abandoned OS segments: reclaim-on-free claims one with a
// CAS of thread_id from 0, and the cursor never visits them.
//
// Lock acquire and release are steps; a blocking acquire is disabled while
// the lock is held. The list and its counters change inside the acquire step
// (they are protected by the lock; the relaxed counter increments are folded
// with it).

func (r *run) osListAppend(g int) {
	for k := range r.s.OSList {
		if r.s.OSList[k] == 0 {
			r.s.OSList[k] = uint8(g + 1)
			return
		}
	}
	panic("mimcheck internal bug: OS abandoned list overflow")
}

func (r *run) osListRemove(g int) bool {
	l := &r.s.OSList
	for k := range l {
		if l[k] == uint8(g+1) {
			copy(l[k:], l[k+1:])
			l[len(l)-1] = 0
			return true
		}
	}
	return false
}

func (r *run) osListLen() uint8 {
	n := uint8(0)
	for _, e := range r.s.OSList {
		if e != 0 {
			n++
		}
	}
	return n
}

// osList reports whether this configuration keeps an OS abandoned list
// (v2.3.0 and later).
func (m *Sim) osList() bool {
	return m.sc.OSMemory && m.cfg.Source != V217 && m.cfg.Mutant != MutOSReclaimCAS
}

// KeepsOSList reports whether m's configuration keeps an OS abandoned list.
func (m *Sim) KeepsOSList() bool { return m.osList() }

// markAbandonedOS is _mi_arena_segment_mark_abandoned for an OS segment.
func (r *run) markAbandonedOS() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	if !r.m.osList() {
		// v2.1.7: arena.c: _mi_arena_segment_mark_abandoned: thread_id := 0
		// (release) and count it; the segment is in no list.
		r.assertHolder(g)
		sg.ThreadID = model.NoThread
		r.s.AbandonedCount++
		sg.OSListed = true
		sg.Holder = model.NoThread
		sg.Busy = false
		t.Seg = 0
		t.PC, t.Cont = t.Cont, 0
		return
	}
	t.PC = pcOsLockMark
}

// osLockMark: lock abandoned_os_lock and append the segment at the tail.
// v2.4.1: arena-abandon.c: mi_arena_segment_os_mark_abandoned.
func (r *run) osLockMark() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	r.assertHolder(g)
	r.s.OSListLocked = uint8(r.tid)
	if sg.OSListed {
		r.fault(model.FaultMarkTwice, g, 0)
	}
	r.osListAppend(g)
	r.s.AbandonedCount++
	sg.OSListed = true
	sg.Holder = model.NoThread
	sg.Busy = false
	t.PC = pcOsUnlockMark
}

func (r *run) osUnlockMark() {
	t := r.t
	r.s.OSListLocked = 0
	t.Seg = 0
	t.PC, t.Cont = t.Cont, 0
}

// osTryLockFree: reclaim-on-free of an OS segment at v2.3.0+: try-lock;
// if the segment is still listed, unlink it and store thread_id := t.
// v2.4.1: arena-abandon.c: mi_arena_segment_os_clear_abandoned(take_lock).
func (r *run) osTryLockFree() {
	t := r.t
	g := int(t.Seg)
	if r.s.OSListLocked != 0 { // contended: give up
		t.Seg = 0
		r.freePushPath()
		return
	}
	r.s.OSListLocked = uint8(r.tid)
	t.Aux = 0
	if r.s.Segs[g].OSListed && r.osListRemove(g) {
		r.s.AbandonedCount--
		r.s.Segs[g].OSListed = false
		r.claim(g)
		r.s.Segs[g].ThreadID = r.tid
		t.Aux = 1
	}
	t.PC = pcOsUnlockFree
}

func (r *run) osUnlockFree() {
	t := r.t
	r.s.OSListLocked = 0
	if t.Aux == 1 {
		t.Aux = 0
		t.Flags = 0
		t.Cont = pcFreeAfterRcl
		t.PC = pcRcTID
		return
	}
	t.Seg = 0
	r.freePushPath()
}

// osCasThreadID: reclaim-on-free of an OS segment at v2.1.7: CAS thread_id
// from 0 to t (acq_rel); on success abandoned_count--.
// v2.1.7: arena.c: _mi_arena_segment_clear_abandoned.
func (r *run) osCasThreadID() {
	t := r.t
	g := int(t.Seg)
	sg := &r.s.Segs[g]
	if !sg.Live || sg.ThreadID != model.NoThread {
		t.Seg = 0
		r.freePushPath()
		return
	}
	sg.ThreadID = r.tid
	r.s.AbandonedCount--
	sg.OSListed = false
	r.claim(g)
	t.Flags = 0
	t.Cont = pcFreeAfterRcl
	t.PC = pcRcTID
}

// freePushPath continues a free whose reclaim attempt failed with the
// cross-thread push.
func (r *run) freePushPath() {
	if r.m.spin() {
		r.t.PC = pcFPush
	} else {
		r.t.PC = pcFCasTF
	}
}

// osCursorNext is one _mi_arena_segment_clear_abandoned_next over the OS
// list: take the visit lock once, then pop while the snapshot of
// os_list_count (kept in Word) lasts.
func (r *run) osCursorNext() {
	t := r.t
	if r.s.OSVisitLocked != uint8(r.tid) {
		t.PC = pcOsVisitLock
		return
	}
	if t.Word == 0 {
		t.PC = pcCursorEnd
		return
	}
	t.Word--
	t.PC = pcOsLockPop
}

// osVisitLock takes abandoned_os_visit_lock: a forced collect's cursor
// (visit_all: _mi_abandoned_collect(force) initialises it blocking,
// segment.c:1398) waits for it (the step is disabled while another thread
// holds it); any other cursor try-locks it, and failing ends the cursor.
// v2.4.1: arena-abandon.c: mi_arena_segment_clear_abandoned_next_list.
func (r *run) osVisitLock() {
	t := r.t
	if r.s.OSVisitLocked != 0 {
		t.PC = pcCursorEnd
		return
	}
	r.s.OSVisitLocked = uint8(r.tid)
	t.PC = pcCursorOSNext
}

// osLockPop locks abandoned_os_lock and pops the list head (thread_id
// stays 0: the cursor does not set it).
func (r *run) osLockPop() {
	t := r.t
	r.s.OSListLocked = uint8(r.tid)
	t.Aux = 0
	if e := r.s.OSList[0]; e != 0 {
		g := int(e - 1)
		r.osListRemove(g)
		r.s.AbandonedCount--
		r.s.Segs[g].OSListed = false
		r.claim(g)
		t.Aux = e
	}
	t.PC = pcOsUnlockPop
}

func (r *run) osUnlockPop() {
	t := r.t
	r.s.OSListLocked = 0
	if t.Aux == 0 {
		t.PC = pcCursorEnd
		return
	}
	g := int(t.Aux - 1)
	t.Aux = 0
	t.Seg = uint8(g)
	if t.Mode == modeTryReclaim {
		r.s.Segs[g].AbandonedVisits++
	}
	t.Flags = 0
	t.SI = r.slice(g, 0).SliceCount
	t.PC = pcCheckFree
}

// visitAll reports whether thread t's cursor visits all abandoned segments
// (blocking on the OS visit lock): the cursor of _mi_abandoned_collect with
// force, i.e. of mi_heap_collect(heap, true). mi_segment_try_reclaim's
// cursor and the collect of a normal or abandoning heap collect do not.
func visitAll(t *model.Thread) bool {
	return t.Mode != modeTryReclaim && t.Coll&collKind == collForce
}
