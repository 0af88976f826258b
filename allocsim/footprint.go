package allocsim

import "mimcheck/model"

// Footprints for partial-order reduction (style.md §3, "Optional, later").
//
// Footprint describes what one step (the pending shared access AND the
// thread-local work that follows it inside the same step) may touch among
// the locations other threads, or the invariant checker, can touch. The
// scheduler (package sched, which this package does not import) treats two
// steps of different threads as dependent when they touch a common object
// and at least one of them writes it; traces.System converts the encoded
// accesses into sched.Access values.
//
// Objects (FootprintObjects of them; ids are small integers):
//
//	objID(g)      segment g's identity: thread_id, live, subproc, kind, os,
//	              was_reclaimed, os-listed, dont_free
//	objHdr(g)     segment g's counters and ghost ownership: used,
//	              abandoned, abandoned_visits, Holder, Busy
//	objPage(g,i)  slice i of segment g (every page field, the queue links,
//	              xthread_free, the delayed mode and the ghost Live bits)
//	objAbMap      the abandoned bitmap and abandoned_count
//	objOS         the OS abandoned list and its two locks
//	objFault      the first-fault record
//	objMbox(k)    mailbox k
//	objThread(j)  thread j's program position, registers and span queues,
//	              and its ghost monitor bits (FA's faGone, Scan): a claim
//	              clears the Scan bit of every scanning thread, a slot free
//	              marks the threads whose next step works on the slot, so
//	              such a step writes other threads' objThread (found by the
//	              written-set diff); the forced collect's abandoned_count
//	              load (TR_CNT, with --retention) reads every segment's
//	              header to note the abandoned ones
//
// Soundness by construction, in two halves:
//
//   - Touched set (static over-approximation). footprintTouched lists
//     every object the step may read or write: objID of every segment
//     (malloc's scan, segment_count_is_within_target, mi_segment_alloc and
//     reclaim-on-free read thread_id/live of all slots), objFault (the
//     first fault wins), the stepping thread's own objThread, every object
//     of every segment the thread owns, holds (ghost Holder), has heap
//     pages in, or reaches through its span-queue links (local work:
//     malloc fast path, frees, page clear + coalesce, span queues,
//     delayed-free processing, retire, force abandon), and per pending
//     shared phase the objects of that access: the block's page for a
//     cross-thread free, the claimed segment for unclaim/reclaim/abandon,
//     every free slot for mi_segment_alloc, the bitmap, the OS list and
//     every listed segment, the mailbox.
//   - Written set (exact, dynamic). The step is executed on a copy of the
//     state and every object whose value changed is a write. A touched
//     object whose value the step did not change is reported as a read.
//     This is sound because a store that leaves a value unchanged acts as
//     a read here (it is in the touched set, so a concurrent step that
//     really changes the object is dependent with it), and if two steps
//     are independent, neither changes what the other touches, so each
//     computes the same written set in either order.
//
// The invariant checker reads every object (and the ghost state in
// them); see sched.DPOR for what that means for reductions that skip
// intermediate states. footprint_test.go checks, on every reachable state
// of S1 and S2 and on scenarios, that independent steps commute, keep
// each other's footprints and do not change each other's enabledness.

// Object ids.
const (
	objIDBase     = 0
	objHdrBase    = objIDBase + model.MaxSegments
	objPageBase   = objHdrBase + model.MaxSegments
	objAbMap      = objPageBase + model.MaxSegments*model.MaxSlices
	objOS         = objAbMap + 1
	objFault      = objOS + 1
	objMboxBase   = objFault + 1
	objThreadBase = objMboxBase + model.MaxMailboxes

	// FootprintObjects is the number of distinct footprint object ids.
	FootprintObjects = objThreadBase + model.MaxThreads
)

// objSet is a set of object ids.
type objSet uint64

func (o *objSet) add(id int) { *o |= 1 << id }

// addSeg adds every object of segment g (identity, header, all slices).
func (o *objSet) addSeg(g int) {
	o.add(objIDBase + g)
	o.add(objHdrBase + g)
	for i := 0; i < model.MaxSlices; i++ {
		o.add(objPageBase + g*model.MaxSlices + i)
	}
}

// Footprint appends to dst the accesses of thread i's next step from s,
// each encoded as obj<<1 | write (write = 1), in ascending object order,
// and returns the extended slice. For a disabled thread (its step cannot
// run) it returns the objects its blocking condition reads, as reads.
// Object ids are below FootprintObjects.
func (m *Sim) Footprint(s *model.State, i int, dst []uint32) []uint32 {
	touched := m.footprintTouched(s, i)
	var written objSet
	if m.enabled(s, i) {
		c := *s
		m.Step(&c, i)
		written = diffObjects(s, &c)
		touched |= written
	}
	for id := 0; id < FootprintObjects; id++ {
		if touched&(1<<id) == 0 {
			continue
		}
		a := uint32(id) << 1
		if written&(1<<id) != 0 {
			a |= 1
		}
		dst = append(dst, a)
	}
	return dst
}

// footprintTouched over-approximates the objects thread i's next step
// may read or write (see the file comment).
func (m *Sim) footprintTouched(s *model.State, i int) objSet {
	var o objSet
	t := &s.Threads[i]
	tid := model.TIDOf(i)
	o.add(objFault)
	o.add(objThreadBase + i)
	for g := 0; g < m.ns; g++ {
		o.add(objIDBase + g)
	}
	if t.PC == pcDone {
		return o
	}

	// The segments the thread's local work may touch.
	var mine uint8
	for g := 0; g < m.ns; g++ {
		sg := &s.Segs[g]
		if sg.ThreadID == tid || sg.Holder == tid {
			mine |= 1 << g
		}
		for x := 0; x < m.nsl; x++ {
			if s.Slices[g][x].Heap == tid {
				mine |= 1 << g
			}
		}
	}
	addLink := func(e uint8) {
		if e != 0 && int(e-1)/model.MaxSlices < model.MaxSegments {
			mine |= 1 << (int(e-1) / model.MaxSlices)
		}
	}
	for b := range t.Spans {
		addLink(t.Spans[b].First)
		addLink(t.Spans[b].Last)
	}
	for changed := true; changed; { // segments reachable through queue links
		before := mine
		for g := 0; g < m.ns; g++ {
			if mine&(1<<g) == 0 {
				continue
			}
			for x := 0; x < model.MaxSlices; x++ {
				addLink(s.Slices[g][x].Prev)
				addLink(s.Slices[g][x].Next)
			}
		}
		changed = mine != before
	}
	segOK := func(g int) bool { return g >= 0 && g < m.ns }
	addSeg := func(g int) {
		if segOK(g) {
			mine |= 1 << g
		}
	}

	op := m.opAt(i, t)
	handleSeg := func(reg uint8) {
		if int(reg) < len(t.Regs) {
			if h := t.Regs[reg]; h != 0 && h != model.NullHandle {
				x, _ := decode(h)
				addSeg(segOf(x))
			}
		}
	}
	switch t.PC {
	case pcFLoad, pcFPush, pcFCasTF, pcFLoadHeap, pcFPushDelayed, pcFResetDelayed:
		handleSeg(op.A)
		addSeg(segOf(t.CI))
	case pcFUnclaim, pcFRdBit, pcFClrBit, pcTrCnt, pcTrMap, pcTrUnclaim, pcMark, pcSubproc, pcSlotFree, pcAbTID:
		o.add(objAbMap)
		o.add(objOS)
		addSeg(int(t.Seg))
		if t.PC == pcTrCnt && m.ghost() { // a forced collect notes every abandoned segment (scan-complete)
			for g := 0; g < m.ns; g++ {
				o.add(objHdrBase + g)
			}
		}
	case pcSlotClaim:
		for g := 0; g < m.ns; g++ {
			if !s.Segs[g].Live {
				addSeg(g)
			}
		}
	case pcOsLockMark, pcOsUnlockMark, pcOsTryLockFree, pcOsUnlockFree, pcOsCasTID,
		pcOsVisitLock, pcOsLockPop, pcOsUnlockPop, pcOsVisitUnlock:
		o.add(objOS)
		o.add(objAbMap)
		addSeg(int(t.Seg))
		for g := 0; g < m.ns; g++ {
			if s.Segs[g].OSListed {
				addSeg(g)
			}
		}
		handleSeg(op.A)
	case pcSend:
		o.add(objMboxBase + int(op.B))
	case pcRecv:
		o.add(objMboxBase + int(op.A))
	default:
		addSeg(int(t.Seg))
		addSeg(int(t.FSeg))
		addSeg(segOf(t.CI))
	}
	// The local work that follows may start the next operations: the
	// abandoned cursor's end reads the OS visit lock.
	if m.osList() {
		o.add(objOS)
	}
	for g := 0; g < m.ns; g++ {
		if mine&(1<<g) != 0 {
			o.addSeg(g)
		}
	}
	return o
}

// diffObjects returns the objects whose value differs between a and b.
func diffObjects(a, b *model.State) objSet {
	var o objSet
	for g := 0; g < model.MaxSegments; g++ {
		x, y := a.Segs[g], b.Segs[g]
		if x.ThreadID != y.ThreadID || x.Live != y.Live || x.SubprocValid != y.SubprocValid ||
			x.Huge != y.Huge || x.OS != y.OS || x.WasReclaimed != y.WasReclaimed ||
			x.OSListed != y.OSListed || x.DontFree != y.DontFree {
			o.add(objIDBase + g)
		}
		if x.Used != y.Used || x.Abandoned != y.Abandoned || x.AbandonedVisits != y.AbandonedVisits ||
			x.Holder != y.Holder || x.Busy != y.Busy {
			o.add(objHdrBase + g)
		}
		for i := 0; i < model.MaxSlices; i++ {
			if a.Slices[g][i] != b.Slices[g][i] {
				o.add(objPageBase + g*model.MaxSlices + i)
			}
		}
	}
	if a.AbandonedMap != b.AbandonedMap || a.AbandonedCount != b.AbandonedCount {
		o.add(objAbMap)
	}
	if a.OSListLocked != b.OSListLocked || a.OSVisitLocked != b.OSVisitLocked || a.OSList != b.OSList {
		o.add(objOS)
	}
	if a.Fault != b.Fault {
		o.add(objFault)
	}
	for k := 0; k < model.MaxMailboxes; k++ {
		if a.Mailbox[k] != b.Mailbox[k] {
			o.add(objMboxBase + k)
		}
	}
	for j := 0; j < model.MaxThreads; j++ {
		if a.Threads[j] != b.Threads[j] {
			o.add(objThreadBase + j)
		}
	}
	return o
}
