package model

// Dims says how much of the fixed-size arrays a scenario uses. The unused
// tail of every array is always zero, so leaving it out of the encoding
// keeps the encoding canonical and short.
type Dims struct {
	Threads   int
	Segments  int
	Slices    int
	Mailboxes int
	Mem       bool // the memory-model state is tracked (State.Mem)
	// Ghost: the path-property monitors are tracked (Thread.Scan,
	// Slice.Age; full abstraction only)
	Ghost bool
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// AppendEncoding appends the canonical encoding of s (within d) to buf.
// Two states that agree outside d are equal exactly when their encodings
// are equal.
func (s *State) AppendEncoding(buf []byte, d Dims) []byte {
	for g := 0; g < d.Segments; g++ {
		sg := &s.Segs[g]
		buf = append(buf, uint8(sg.ThreadID), sg.Used, sg.Abandoned, sg.AbandonedVisits,
			b2u(sg.WasReclaimed)|b2u(sg.Live)<<1|b2u(sg.SubprocValid)<<2|b2u(sg.Huge)<<3|
				b2u(sg.OS)<<4|b2u(sg.Busy)<<5|b2u(sg.OSListed)<<6|b2u(sg.DontFree)<<7,
			uint8(sg.Holder))
		for i := 0; i < d.Slices; i++ {
			sl := &s.Slices[g][i]
			buf = append(buf, sl.SliceCount, sl.SliceOffset, sl.BlockSize, sl.Prev, sl.Next,
				sl.Free, sl.LocalFree, sl.XThreadFree, uint8(sl.Delayed), sl.Used, sl.Live, sl.HeapDelayed, sl.Taken,
				uint8(sl.Heap), sl.Retire, b2u(sl.InFull))
		}
	}
	for i := 0; i < d.Threads; i++ {
		t := &s.Threads[i]
		buf = append(buf, t.Op, t.PC, t.Cont, t.Mode, t.Seg, t.SI, t.CI, t.Flags, t.Tries, t.Word, t.Aux, t.Ret, t.Gen, t.FSeg, t.FSI, t.FA,
			t.RetiredMin, t.RetiredMax, t.Try, t.Coll, b2u(t.HeapInit))
		buf = append(buf, t.Regs[:]...)
		for b := 0; b < d.Slices-1 && b < MaxBins; b++ {
			buf = append(buf, t.Spans[b].First, t.Spans[b].Last)
		}
	}
	buf = append(buf, s.AbandonedMap, s.AbandonedCount, s.OSListLocked, s.OSVisitLocked)
	buf = append(buf, s.OSList[:d.Segments]...)
	buf = append(buf, s.Mailbox[:d.Mailboxes]...)
	buf = append(buf, s.Fault.Code, s.Fault.Thread, s.Fault.Seg, s.Fault.Slice)
	if d.Ghost {
		for g := 0; g < d.Segments; g++ {
			for i := 0; i < d.Slices; i++ {
				buf = append(buf, s.Slices[g][i].Age)
			}
		}
		for i := 0; i < d.Threads; i++ {
			buf = append(buf, s.Threads[i].Scan)
		}
	}
	if d.Mem { // only a race fault sets Other and Kind
		buf = append(buf, s.Fault.Other, s.Fault.Kind)
		buf = s.Mem.appendEncoding(buf, d)
	}
	return buf
}

// MemLocUsed reports whether location l exists within d.
func MemLocUsed(l int, d Dims) bool {
	page := func(x int) bool { return x/MaxSlices < d.Segments && x%MaxSlices < d.Slices }
	switch {
	case l < LocBitmap:
		return l-LocThreadID0 < d.Segments
	case l < LocXHeap0:
		return true
	case l < NumWeakLocs:
		return page(l - LocXHeap0)
	case l < LocDelayed0:
		return page(l - LocXTF0)
	case l < LocMbox0:
		return l-LocDelayed0 < d.Threads
	case l < LocInuse:
		return l-LocMbox0 < d.Mailboxes
	case l < LocMeta0:
		return true
	case l < NumRaceLocs:
		return l-LocMeta0 < d.Segments
	}
	return true
}

func (m *Mem) appendEncoding(buf []byte, d Dims) []byte {
	for t := 0; t < d.Threads; t++ {
		buf = append(buf, m.Clock[t][:d.Threads]...)
	}
	for l := 0; l < NumLocs; l++ {
		if !MemLocUsed(l, d) {
			continue
		}
		if l < NumWeakLocs {
			h := &m.Weak[l]
			buf = append(buf, h.N)
			for j := 0; j < int(h.N); j++ {
				buf = append(buf, h.Hist[j].Val)
				buf = append(buf, h.Hist[j].Rel[:d.Threads]...)
				buf = append(buf, h.Hist[j].Seen[:d.Threads]...)
			}
			buf = append(buf, h.View[:d.Threads]...)
		} else {
			buf = append(buf, m.Sync[l-NumWeakLocs][:d.Threads]...)
		}
		if l < NumRaceLocs {
			for u := 0; u < d.Threads; u++ {
				e := &m.Shadow[l][u]
				buf = append(buf, e.W, e.R, e.AW, e.AR)
			}
		}
	}
	return buf
}
