package model

// Dims says how much of the fixed-size arrays a scenario uses. The unused
// tail of every array is always zero, so leaving it out of the encoding
// keeps the encoding canonical and short.
type Dims struct {
	Threads   int
	Segments  int
	Slices    int
	Mailboxes int
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
			t.RetiredMin, t.RetiredMax)
		buf = append(buf, t.Regs[:]...)
		for b := 0; b < d.Slices-1 && b < MaxBins; b++ {
			buf = append(buf, t.Spans[b].First, t.Spans[b].Last)
		}
	}
	buf = append(buf, s.AbandonedMap, s.AbandonedCount, s.OSListLocked, s.OSVisitLocked)
	buf = append(buf, s.OSList[:d.Segments]...)
	buf = append(buf, s.Mailbox[:d.Mailboxes]...)
	buf = append(buf, s.Fault.Code, s.Fault.Thread, s.Fault.Seg, s.Fault.Slice)
	return buf
}
