package allocsim

import (
	"strconv"

	"mimcheck/model"
)

// Memory events: what each step does to the C11 memory state (model.Mem).
//
// A step is its pending shared access followed by thread-local work. The
// shared access is planned from the program counter before the step runs
// (memPlan: which locations, read / write / read-modify-write, and the
// memory order of the macro or expression in this language mode and tag,
// as ModeOf gives it); the local work is read off the state change:
//
//   - segment g's owner-private fields (slices, pages' free lists, used,
//     abandoned, visits, dont_free, the span-queue links, retire_expire,
//     ...) form one non-atomic location meta[g]: a step that changes any of
//     them writes it; a step of g's holder that touches g reads it;
//   - a changed page->xheap is mi_page_set_heap (a release store);
//   - a page that stops being a page was zeroed by mi_segment_page_clear,
//     a non-atomic write of its xthread_free and xheap;
//   - any other change of a tracked atomic field (none is known) is
//     recorded as a direct (language-mode) access, so it is never lost.
//
// Reads of fields that are constant while a block of the page is live
// (block_size, flags, segment kind, memid, subproc) by a freeing thread
// are not recorded; nor is block memory (a freed block's next link is
// written before the release CAS that publishes it and read after the
// owner's acquiring exchange, the same pair of accesses as xthread_free).

// memEv is one planned access of a step's shared part.
type memEv struct {
	loc  int
	kind uint8 // model.Acc* bits (Read, Write, Atomic, Acq, Rel)
	weak bool  // a load that may read an older store (ra, rc11)
	lock int8  // +1 lock, -1 unlock (loc is the lock)
}

// memPlan is the shared part of a step, in program order.
type memPlan struct {
	ev         [4]memEv
	n          int
	plainFirst bool // the local work's plain accesses precede the shared ones (mi_segment_os_free before _mi_arena_free)
}

func (p *memPlan) add(e memEv) {
	p.ev[p.n] = e
	p.n++
}

// kindOfMode turns a memory order into access bits for the configured
// memory model (ra gives every atomic access release/acquire semantics).
func (m *Sim) kindOfMode(md Mode, read, write bool) uint8 {
	var k uint8
	if read {
		k |= model.AccRead
	}
	if write {
		k |= model.AccWrite
	}
	switch md {
	case ModePlain:
		return k
	case ModeRelaxed:
		if m.cfg.Memory == MemRA {
			k |= model.AccAcq | model.AccRel
		}
	case ModeAcquire:
		k |= model.AccAcq
		if m.cfg.Memory == MemRA {
			k |= model.AccRel
		}
	case ModeRelease:
		k |= model.AccRel
		if m.cfg.Memory == MemRA {
			k |= model.AccAcq
		}
	default: // acq_rel, seq_cst
		k |= model.AccAcq | model.AccRel
	}
	return k | model.AccAtomic
}

// accKind is the access bits of a macro (or direct expression) of the
// given kind and order in this configuration.
func (m *Sim) accKind(a access, k accessKind, read, write bool) uint8 {
	return m.kindOfMode(m.ModeOf(StepInfo{acc: a, kind: k}), read, write)
}

// The orders of the accesses a step makes besides its main one (the main
// access takes its order from the step's StepInfo, see plan).
var (
	accRelaxed = access{mode: ModeRelaxed}
	accAcquire = access{mode: ModeAcquire}
	accRelease = access{mode: ModeRelease}
	accAcqRel  = access{mode: ModeAcqRel}
	accDirect  = access{direct: true}
)

const rw = true

// plan returns the shared accesses of thread i's pending step in s. The
// step's main access (the one its label names) has the order ModeOf gives
// its StepInfo, the order traces and explore list show; the other
// accesses of the step name theirs here.
func (m *Sim) plan(s *model.State, i int) memPlan {
	var p memPlan
	t := &s.Threads[i]
	tid := model.TIDOf(i)
	mainMode := m.ModeOf(stepInfos[t.PC])
	main := func(loc int, read, write bool) memEv {
		return memEv{loc: loc, kind: m.kindOfMode(mainMode, read, write)}
	}
	rmw := func(loc int, a access) memEv {
		return memEv{loc: loc, kind: m.accKind(a, kindRMW, rw, rw)}
	}
	load := func(loc int, a access, weak bool) memEv {
		return memEv{loc: loc, kind: m.accKind(a, kindLoad, rw, false), weak: weak}
	}
	store := func(loc int, a access) memEv {
		return memEv{loc: loc, kind: m.accKind(a, kindStore, false, rw)}
	}
	plain := func(loc int, read, write bool) memEv {
		return memEv{loc: loc, kind: m.kindOfMode(ModePlain, read, write)}
	}
	// collect: _mi_page_free_collect only exchanges a non-empty list (a
	// relaxed load decides); the exchange is acq_rel
	collect := func(x uint8, force bool) memEv {
		if s.Slices[segOf(x)][sliceOf(x)].XThreadFree == 0 && !force {
			return load(model.LocXTF0+int(x), accRelaxed, false)
		}
		return main(model.LocXTF0+int(x), rw, rw)
	}
	// _mi_page_(try_)use_delayed_free: an acquire load, and a release CAS
	// when the mode changes (the step is disabled while DELAYED_FREEING)
	useDelayed := func(x uint8, to model.DelayedMode, override bool) memEv {
		cur := s.Slices[segOf(x)][sliceOf(x)].Delayed
		if cur == to || cur == model.DelayedFreeing || (!override && cur == model.NeverDelayedFree) {
			return load(model.LocXTF0+int(x), accAcquire, false)
		}
		e := main(model.LocXTF0+int(x), rw, rw) // the CAS
		e.kind |= m.accKind(accAcquire, kindLoad, rw, false)
		return e
	}
	blockPage := func() uint8 {
		x, _ := decode(t.Regs[m.opAt(i, t).A])
		return x
	}
	g := int(t.Seg)
	switch t.PC {
	case pcFLoad:
		e := main(model.LocThreadID0+segOf(blockPage()), rw, false)
		e.weak = true
		p.add(e)
	case pcFUnclaim, pcTrUnclaim:
		p.add(main(model.LocBitmap, rw, rw))
		if s.AbandonedMap&(1<<g) != 0 {
			p.add(rmw(model.LocCount, accRelaxed))
		}
	case pcFRdBit:
		p.add(main(model.LocBitmap, rw, false))
	case pcFClrBit:
		p.add(main(model.LocBitmap, rw, rw))
		p.add(rmw(model.LocCount, accRelaxed))
	case pcFPush, pcFCasTF: // (acq_rel with patch C: ModeOf)
		p.add(main(model.LocXTF0+int(blockPage()), rw, rw))
	case pcRcTID:
		p.add(main(model.LocThreadID0+g, false, rw))
	case pcRcXchg, pcCfXchg:
		p.add(collect(gidx(g, int(t.SI)), false))
	case pcAXchg, pcToFullXchg:
		p.add(collect(t.CI, false))
	case pcExXchg:
		p.add(collect(t.CI, t.Coll&collKind >= collForce))
	case pcFAXchg:
		p.add(collect(gidx(int(t.FSeg), int(t.FSI)), false))
	case pcDfXchg:
		x, _ := decode(t.Aux)
		p.add(collect(x, false))
	case pcSlotFree:
		p.plainFirst = true
		p.add(main(model.LocThreadID0+g, false, rw))
		p.add(rmw(model.LocInuse, accAcqRel))
	case pcAbTID:
		p.add(main(model.LocThreadID0+g, false, rw))
	case pcMark:
		p.add(store(model.LocThreadID0+g, accRelease))
		if !s.Segs[g].OS {
			p.add(main(model.LocBitmap, rw, rw))
			if m.cfg.Mutant != MutBugSubproc {
				p.add(rmw(model.LocCount, accRelaxed))
			}
		} else if !m.osList() {
			p.add(rmw(model.LocCount, accRelaxed))
		}
	case pcSubproc:
		p.add(plain(model.LocMeta0+g, rw, false)) // segment->subproc, after publishing
		p.add(rmw(model.LocCount, accRelaxed))
	case pcTrCnt, pcTrMap:
		loc := model.LocCount
		if t.PC == pcTrMap {
			loc = model.LocBitmap
		}
		e := main(loc, rw, false)
		e.weak = true
		p.add(e)
	case pcSlotClaim:
		p.add(main(model.LocInuse, rw, rw))
		// the thread_id store of the new segment is found in the state change
	case pcFLoadHeap:
		e := main(model.LocXHeap0+int(t.CI), rw, false)
		e.weak = true
		p.add(e)
	case pcFPushDelayed:
		if h := int(t.Aux); h > 0 {
			p.add(main(model.LocDelayed0+h-1, rw, rw))
		}
	case pcFResetDelayed:
		p.add(main(model.LocXTF0+int(t.CI), rw, rw))
	case pcDfTake, pcDfRepush:
		p.add(main(model.LocDelayed0+i, rw, rw))
	case pcDfUse:
		x, _ := decode(t.Aux)
		p.add(useDelayed(x, model.UseDelayedFree, false))
	case pcExNever:
		p.add(useDelayed(t.CI, model.NeverDelayedFree, false))
	case pcRcUse:
		p.add(useDelayed(gidx(g, int(t.SI)), model.UseDelayedFree, m.cfg.Mutant != MutReclaimNeverDelayed))
	case pcFANever:
		p.add(useDelayed(gidx(int(t.FSeg), int(t.FSI)), model.NeverDelayedFree, false))
	case pcRcHeap:
		p.add(main(model.LocXHeap0+int(gidx(g, int(t.SI))), false, rw))
	case pcFAWalkPub, pcFACap:
		p.add(main(model.LocMeta0+int(t.FSeg), rw, false))
	case pcFAClearPub:
		p.add(main(model.LocMeta0+int(t.FSeg), false, rw))
	case pcOsLockMark, pcOsLockPop:
		p.add(memEv{loc: model.LocOSLock, lock: 1})
		p.add(plain(model.LocOSList, rw, rw))
		p.add(rmw(model.LocCount, accRelaxed))
	case pcOsTryLockFree:
		if s.OSListLocked == 0 {
			p.add(memEv{loc: model.LocOSLock, lock: 1})
			p.add(plain(model.LocOSList, rw, rw))
			if s.Segs[g].OSListed {
				p.add(rmw(model.LocCount, accRelaxed))
				p.add(store(model.LocThreadID0+g, accRelease))
			}
		}
	case pcOsUnlockMark, pcOsUnlockFree, pcOsUnlockPop:
		if s.OSListLocked == uint8(tid) {
			p.add(memEv{loc: model.LocOSLock, lock: -1})
		}
	case pcOsVisitLock:
		if s.OSVisitLocked == 0 {
			p.add(memEv{loc: model.LocOSVisit, lock: 1})
		}
	case pcOsVisitUnlock:
		p.add(memEv{loc: model.LocOSVisit, lock: -1})
	case pcOsCasTID:
		if sg := &s.Segs[g]; sg.Live && sg.ThreadID == model.NoThread {
			p.add(main(model.LocThreadID0+g, rw, rw))
			p.add(rmw(model.LocCount, accRelaxed))
		} else { // a failed strong CAS: an acquire load
			p.add(load(model.LocThreadID0+g, accAcquire, false))
		}
	case pcSend:
		p.add(main(model.LocMbox0+int(m.opAt(i, t).B), false, rw))
	case pcRecv: // takes the handle: an acquiring read-modify-write
		p.add(main(model.LocMbox0+int(m.opAt(i, t).A), rw, rw))
	}
	return p
}

// weakLoad returns the weak-location event of thread i's pending step, if
// its load may read an older store in this memory model: an atomic load
// (a non-atomic one reads the latest store, or races) that is not
// seq_cst (a seq_cst load reads the latest store here; README).
func (m *Sim) weakLoad(s *model.State, i int) (memEv, bool) {
	if m.cfg.Memory == MemSC || !m.mem {
		return memEv{}, false
	}
	p := m.plan(s, i)
	e := p.ev[0] // a weak load is its step's only access
	if p.n == 0 || !e.weak || e.kind&model.AccAtomic == 0 || m.ModeOf(stepInfos[s.Threads[i].PC]) == ModeSeqCst {
		return memEv{}, false
	}
	return e, true
}

// weakChoices is the number of stores thread i's pending step may read
// (1 when it is not a weak load).
func (m *Sim) weakChoices(s *model.State, i int) int {
	e, ok := m.weakLoad(s, i)
	if !ok {
		return 1
	}
	return s.Mem.Candidates(i, e.loc)
}

// weakField is the field of s that holds weak location l's latest value.
func weakField(s *model.State, l int) *uint8 {
	switch {
	case l < model.LocBitmap:
		return (*uint8)(&s.Segs[l-model.LocThreadID0].ThreadID)
	case l == model.LocBitmap:
		return &s.AbandonedMap
	case l == model.LocCount:
		return &s.AbandonedCount
	}
	x := l - model.LocXHeap0
	return (*uint8)(&s.Slices[x/model.MaxSlices][x%model.MaxSlices].Heap)
}

// initMem starts the memory state: one initial store per weak location.
func (m *Sim) initMem(s *model.State) {
	var vals [model.NumWeakLocs]uint8
	for l := range vals {
		vals[l] = *weakField(s, l)
	}
	s.Mem.InitMem(m.nt, &vals)
}

// memStep is Step with the memory state: choice index i selects thread
// i % MaxThreads and, for a weak load, the store it reads.
func (m *Sim) memStep(s *model.State, i int) string { return m.memStepCollect(s, i, nil) }

// MemAccess is one access of a step to a race location.
type MemAccess struct {
	Loc  int
	Kind uint8 // model.Acc* bits
}

// StepAccesses returns the accesses to race locations that choice index
// i's step makes from s (s is not changed), in the order they are checked.
// Traces use it to name the earlier access of a data race.
func (m *Sim) StepAccesses(s *model.State, i int) []MemAccess {
	if !m.mem {
		return nil
	}
	c := *s
	var acc []MemAccess
	m.memStepCollect(&c, i, &acc)
	return acc
}

// SharedAccesses returns the shared accesses of thread i's pending step
// (the step's own access, not the thread-private work after it), in
// order, with their kinds. The conformance harness matches them with the
// C code's scheduling points.
func (m *Sim) SharedAccesses(s *model.State, i int) []MemAccess {
	if !m.mem {
		return nil
	}
	plan := m.plan(s, i%model.MaxThreads)
	var out []MemAccess
	for j := 0; j < plan.n; j++ {
		if e := plan.ev[j]; e.lock == 0 {
			out = append(out, MemAccess{Loc: e.loc, Kind: e.kind})
		}
	}
	return out
}

func (m *Sim) memStepCollect(s *model.State, i int, collect *[]MemAccess) string {
	th, back := i%model.MaxThreads, i/model.MaxThreads
	pc := s.Threads[th].PC
	plan := m.plan(s, th)
	before := struct {
		segs   [model.MaxSegments]model.Segment
		slices [model.MaxSegments][model.MaxSlices]model.Slice
	}{s.Segs, s.Slices}
	mem := &s.Mem

	// a weak load reads its store first; the step runs on that value
	var restore *uint8
	var latest, read uint8
	if e, ok := m.weakLoad(s, th); ok {
		st := mem.ReadWeak(th, e.loc, back, e.kind&model.AccAcq != 0)
		f := weakField(s, e.loc)
		restore, latest, read = f, *f, st.Val
		*f = st.Val
	}
	label, coalesced := m.stepCoalesce(s, th)
	if restore != nil {
		if *restore != read {
			panic("mimcheck internal bug: a weak load step wrote the location it read")
		}
		*restore = latest
	}

	at := pc
	race := func(loc int, k uint8) {
		if loc >= model.NumRaceLocs {
			return
		}
		if collect != nil {
			*collect = append(*collect, MemAccess{Loc: loc, Kind: k})
		}
		if r, found := mem.Access(th, loc, k); found && !m.ignoreRace[RaceKey(loc, at, k, r.Kind)] {
			s.SetRace(th, at, r, k)
		}
	}
	local := func() { m.localAccesses(&before.segs, &before.slices, s, th, &plan, race) }
	if plan.plainFirst {
		local()
	}
	for j := 0; j < plan.n; j++ {
		e := plan.ev[j]
		switch {
		case e.lock > 0:
			mem.Lock(th, e.loc)
			continue
		case e.lock < 0:
			mem.Unlock(th, e.loc)
			continue
		}
		if !(e.weak && restore != nil) { // a weak load already read its store
			m.memAcquire(s, th, e)
		}
		race(e.loc, e.kind)
		m.memWrite(s, th, e)
	}
	if !plan.plainFirst {
		local()
	}
	// mi_segment_span_free_coalesce's read of thread_id (patch A's site):
	// the direct expression, or mi_segment_is_abandoned (relaxed)
	for g := 0; g < m.ns; g++ {
		if coalesced&(1<<g) != 0 {
			e := memEv{loc: model.LocThreadID0 + g, kind: m.kindOfMode(m.CoalesceReadMode(), rw, false)}
			m.memAcquire(s, th, e)
			at = pcCoalesceRead
			race(e.loc, e.kind)
			at = pc
		}
	}
	var live uint8
	for t := 0; t < m.nt; t++ {
		if s.Threads[t].PC != pcDone {
			live |= 1 << t
		}
	}
	mem.NormalizeLocs(live, m.locs)
	if back > 0 {
		label += "~" + strconv.Itoa(back)
	}
	return label
}

// memAcquire is the read half of access e: a load reads the latest store
// (weak loads that branch read theirs before the step), and with acquire
// semantics the thread joins the release clock of what it read. It comes
// before the race check, since an acquire can order the access itself.
func (m *Sim) memAcquire(s *model.State, th int, e memEv) {
	mem := &s.Mem
	if e.kind&model.AccRead == 0 {
		return
	}
	acq := e.kind&model.AccAcq != 0
	switch {
	case e.loc < model.NumWeakLocs && e.kind&model.AccWrite == 0:
		mem.ReadWeak(th, e.loc, 0, acq)
	case e.loc < model.NumWeakLocs:
		if acq {
			mem.AcquireRMW(th, e.loc)
		}
	case e.loc < model.LocOSList && acq:
		mem.SyncRMW(th, e.loc, false, true, false)
	}
}

// memWrite is the write half of access e (with release semantics it
// publishes the thread's clock; an RMW continues the release sequence).
func (m *Sim) memWrite(s *model.State, th int, e memEv) {
	mem := &s.Mem
	if e.kind&model.AccWrite == 0 {
		return
	}
	rel := e.kind&model.AccRel != 0
	isRMW := e.kind&model.AccRead != 0
	switch {
	case e.loc < model.NumWeakLocs:
		mem.WriteWeak(th, e.loc, *weakField(s, e.loc), isRMW, rel)
	case e.loc >= model.LocOSList: // plain locations and locks: no store clock
	case isRMW:
		mem.SyncRMW(th, e.loc, true, false, rel)
	default:
		mem.SyncStore(th, e.loc, rel)
	}
}

// localAccesses records the accesses of the step's local work, read off
// the change from the state before the step (see the file comment).
func (m *Sim) localAccesses(segs *[model.MaxSegments]model.Segment, sls *[model.MaxSegments][model.MaxSlices]model.Slice,
	s *model.State, th int, plan *memPlan, race func(int, uint8)) {
	tid := model.TIDOf(th)
	planned := func(loc int) bool {
		for j := 0; j < plan.n; j++ {
			if plan.ev[j].loc == loc && plan.ev[j].lock == 0 {
				return true
			}
		}
		return false
	}
	for g := 0; g < m.ns; g++ {
		a, b := &segs[g], &s.Segs[g]
		wrote := a.Used != b.Used || a.Abandoned != b.Abandoned || a.AbandonedVisits != b.AbandonedVisits ||
			a.WasReclaimed != b.WasReclaimed || a.Live != b.Live || a.SubprocValid != b.SubprocValid ||
			a.Huge != b.Huge || a.OS != b.OS || a.DontFree != b.DontFree
		// ghost fields (Holder, Busy, a page's Live bits, HeapDelayed, Taken)
		// are the checker's bookkeeping, not memory
		touched := wrote || a.ThreadID != b.ThreadID || a.OSListed != b.OSListed
		for i := 0; i < m.nsl; i++ {
			x := g*model.MaxSlices + i
			p, q := &sls[g][i], &s.Slices[g][i]
			if p.SliceCount != q.SliceCount || p.SliceOffset != q.SliceOffset || p.BlockSize != q.BlockSize ||
				p.Prev != q.Prev || p.Next != q.Next || p.Free != q.Free || p.LocalFree != q.LocalFree ||
				p.Used != q.Used || p.Retire != q.Retire || p.InFull != q.InFull {
				wrote = true
			}
			if p.XThreadFree != q.XThreadFree || p.Delayed != q.Delayed || p.Heap != q.Heap {
				touched = true
			}
			// mi_page_set_heap: a release store of xheap
			if p.Heap != q.Heap && !planned(model.LocXHeap0+x) {
				e := memEv{loc: model.LocXHeap0 + x, kind: m.accKind(accRelease, kindStore, false, rw)}
				race(e.loc, e.kind)
				m.memWrite(s, th, e)
			}
			// mi_segment_page_clear: memset of the page struct (xthread_free, xheap)
			if p.BlockSize >= model.BlockPage0 && q.BlockSize < model.BlockPage0 {
				for _, loc := range []int{model.LocXTF0 + x, model.LocXHeap0 + x} {
					e := memEv{loc: loc, kind: m.kindOfMode(ModePlain, false, rw)}
					race(loc, e.kind)
					m.memWrite(s, th, e)
				}
			} else if (p.XThreadFree != q.XThreadFree || p.Delayed != q.Delayed) && !planned(model.LocXTF0+x) &&
				q.BlockSize >= model.BlockPage0 {
				// not expected: record it as the language mode's direct access
				e := memEv{loc: model.LocXTF0 + x, kind: m.accKind(accDirect, kindRMW, rw, rw)}
				m.memAcquire(s, th, e)
				race(e.loc, e.kind)
				m.memWrite(s, th, e)
			}
		}
		if a.ThreadID != b.ThreadID && !planned(model.LocThreadID0+g) {
			// mi_segment_alloc's direct store of the owner's id
			e := memEv{loc: model.LocThreadID0 + g, kind: m.accKind(accDirect, kindStore, false, rw)}
			race(e.loc, e.kind)
			m.memWrite(s, th, e)
		}
		// the holder reads g's fields in its local work; a step that ends
		// holding g (publishing it) does so after its last local access
		held := b.Holder == tid || (a.Holder == tid && plan.plainFirst)
		switch {
		case wrote:
			race(model.LocMeta0+g, m.kindOfMode(ModePlain, false, rw))
		case held && (touched || plannedSeg(plan, g)):
			race(model.LocMeta0+g, m.kindOfMode(ModePlain, rw, false))
		}
	}
}

// plannedSeg reports whether the planned shared accesses concern segment g.
func plannedSeg(p *memPlan, g int) bool {
	for j := 0; j < p.n; j++ {
		l := p.ev[j].loc
		switch {
		case l == model.LocThreadID0+g, l == model.LocMeta0+g:
			return true
		case l >= model.LocXHeap0 && l < model.NumWeakLocs && (l-model.LocXHeap0)/model.MaxSlices == g:
			return true
		case l >= model.LocXTF0 && l < model.LocDelayed0 && (l-model.LocXTF0)/model.MaxSlices == g:
			return true
		}
	}
	return false
}

// RaceDetail describes the data race recorded in fault f (FaultDataRace).
func (m *Sim) RaceDetail(f model.Fault) string {
	si := stepInfos[f.Slice]
	return "data-race by thread T" + strconv.Itoa(int(f.Thread)) + " on " + model.LocName(int(f.Seg)) + ": T" + strconv.Itoa(int(f.Thread)) + "'s " + si.Label +
		" (" + model.KindName(f.Kind&0x0f) + ", " + si.Cite + ") is not ordered by happens-before with the last " +
		model.KindName(f.Kind>>4) + " of T" + strconv.Itoa(int(f.Other))
}

// Memory returns the memory model of m.
func (m *Sim) Memory() Memory { return m.cfg.Memory }

// TracksMem reports whether m tracks happens-before and races.
func (m *Sim) TracksMem() bool { return m.mem }

// WeakRead reports, for choice index i's step in s, whether it is a load
// of a weakly read location under --memory ra|rc11; if so, which location,
// how many stores before the latest it reads, and the value it reads.
// Traces write it as rf=LOCATION:VALUE(latest-BACK,...).
func (m *Sim) WeakRead(s *model.State, i int) (loc, back int, val uint8, ok bool) {
	e, ok := m.weakLoad(s, i%model.MaxThreads)
	if !ok {
		return 0, 0, 0, false
	}
	h := &s.Mem.Weak[e.loc]
	back = i / model.MaxThreads
	j := int(h.N) - 1 - back
	if j < 0 {
		return 0, 0, 0, false
	}
	return e.loc, back, h.Hist[j].Val, true
}

// RaceKey names a race site: the location's kind (thread_id, meta,
// xthread_free, ...), the label of the step that found the race, and the
// kinds of both accesses: "thread_id free.load-thread-id atomic-read/non-atomic-write".
// --all-races reports one race per key.
func RaceKey(loc int, pc uint8, cur, other uint8) string {
	name := model.LocName(loc)
	if i := lastDot(name); i >= 0 {
		name = name[i+1:]
	}
	dash := func(k uint8) string {
		b := []byte(model.KindName(k))
		for i := range b {
			if b[i] == ' ' {
				b[i] = '-'
			}
		}
		return string(b)
	}
	return name + " " + labelOf(pc) + " " + dash(cur&0x0f) + "/" + dash(other)
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// RaceKeyOf is the RaceKey of the race recorded in fault f.
func RaceKeyOf(f model.Fault) string { return RaceKey(int(f.Seg), f.Slice, f.Kind&0x0f, f.Kind>>4) }
