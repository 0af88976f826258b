package model

import (
	"bytes"
	"testing"
)

// TestSetFaultKeepsFirst: the first broken precondition is the one
// reported; later SetFault calls do not overwrite it.
func TestSetFaultKeepsFirst(t *testing.T) {
	var s State
	s.SetFault(FaultClaimHeld, 1, 2, 3)
	want := Fault{Code: uint8(FaultClaimHeld), Thread: 2, Seg: 2, Slice: 3}
	if s.Fault != want {
		t.Fatalf("first fault = %+v, want %+v", s.Fault, want)
	}
	for f := FaultCode(1); f < FaultCount; f++ {
		s.SetFault(f, 3, 0, 1)
		if s.Fault != want {
			t.Fatalf("SetFault(%s) overwrote the first fault: %+v", f, s.Fault)
		}
	}
	// Thread is stored as scheduler index + 1, so thread 0 is not "none".
	var z State
	z.SetFault(FaultUseAfterFree, 0, 0, 0)
	if z.Fault.Code == 0 || z.Fault.Thread != 1 {
		t.Errorf("fault by thread 0 = %+v, want code set and Thread 1", z.Fault)
	}
}

// TestFaultCodeNames: every fault code has a distinct kebab-case name.
func TestFaultCodeNames(t *testing.T) {
	seen := map[string]FaultCode{}
	for f := FaultCode(0); f < FaultCount; f++ {
		n := f.String()
		if n == "" || n == "fault-?" {
			t.Errorf("fault %d has no name", f)
		}
		if g, dup := seen[n]; dup {
			t.Errorf("faults %d and %d share the name %q", g, f, n)
		}
		seen[n] = f
	}
	if FaultCount.String() != "fault-?" {
		t.Errorf("FaultCount.String() = %q, want fault-?", FaultCount.String())
	}
}

// fill sets every field of s to a value derived from seed (a cheap
// deterministic scramble), so that encodings are exercised on non-zero
// states.
func fill(s *State, seed byte) {
	x := seed
	next := func() uint8 { x = x*37 + 11; return x }
	for g := range s.Segs {
		sg := &s.Segs[g]
		sg.ThreadID, sg.Used, sg.Abandoned, sg.AbandonedVisits = ThreadID(next()), next(), next(), next()
		sg.WasReclaimed, sg.Live, sg.SubprocValid, sg.Busy = next()&1 == 1, next()&1 == 1, next()&1 == 1, next()&1 == 1
		sg.Holder = ThreadID(next())
		for i := range s.Slices[g] {
			sl := &s.Slices[g][i]
			sl.SliceCount, sl.SliceOffset, sl.BlockSize, sl.Prev, sl.Next = next(), next(), next(), next(), next()
			sl.Free, sl.XThreadFree, sl.Used, sl.Live, sl.Retire = next(), next(), next(), next(), next()
			sl.Heap = ThreadID(next())
		}
	}
	for i := range s.Threads {
		th := &s.Threads[i]
		th.Op, th.PC, th.Seg, th.CI, th.RetiredMax = next(), next(), next(), next(), next()
		for r := range th.Regs {
			th.Regs[r] = next()
		}
		for b := range th.Spans {
			th.Spans[b] = SpanQueue{First: next(), Last: next()}
		}
	}
	s.AbandonedMap, s.AbandonedCount = next(), next()
	for k := range s.Mailbox {
		s.Mailbox[k] = next()
	}
}

// TestEncodingLengthDependsOnlyOnDims: the encoding of any state within
// dims d has the same length, which grows with each dimension.
func TestEncodingLengthDependsOnlyOnDims(t *testing.T) {
	dims := []Dims{
		{Threads: 1, Segments: 1, Slices: 3, Mailboxes: 0},
		{Threads: 2, Segments: 1, Slices: 5, Mailboxes: 1},
		{Threads: 3, Segments: 2, Slices: 5, Mailboxes: 6},
		{Threads: MaxThreads, Segments: MaxSegments, Slices: MaxSlices, Mailboxes: MaxMailboxes},
	}
	for _, d := range dims {
		var zero State
		n := len(zero.AppendEncoding(nil, d))
		for seed := byte(1); seed < 20; seed++ {
			var s State
			fill(&s, seed)
			if got := len(s.AppendEncoding(nil, d)); got != n {
				t.Errorf("dims %+v seed %d: length %d, want %d", d, seed, got, n)
			}
			// appends to buf
			pre := []byte{9, 9, 9}
			if got := s.AppendEncoding(pre, d); len(got) != n+3 || !bytes.Equal(got[:3], pre) {
				t.Errorf("dims %+v: AppendEncoding does not append", d)
			}
		}
		for _, bigger := range []Dims{
			{Threads: d.Threads + 1, Segments: d.Segments, Slices: d.Slices, Mailboxes: d.Mailboxes},
			{Threads: d.Threads, Segments: d.Segments + 1, Slices: d.Slices, Mailboxes: d.Mailboxes},
			{Threads: d.Threads, Segments: d.Segments, Slices: d.Slices + 1, Mailboxes: d.Mailboxes},
			{Threads: d.Threads, Segments: d.Segments, Slices: d.Slices, Mailboxes: d.Mailboxes + 1},
		} {
			if bigger.Threads > MaxThreads || bigger.Segments > MaxSegments || bigger.Slices > MaxSlices || bigger.Mailboxes > MaxMailboxes {
				continue
			}
			if m := len(zero.AppendEncoding(nil, bigger)); m <= n {
				t.Errorf("dims %+v -> %+v: length %d does not grow from %d", d, bigger, m, n)
			}
		}
	}
}

// TestEncodingCanonical: fields outside dims do not show in the encoding;
// every field inside it does.
func TestEncodingCanonical(t *testing.T) {
	d := Dims{Threads: 2, Segments: 2, Slices: 5, Mailboxes: 2}
	var base State
	fill(&base, 7)
	enc := base.AppendEncoding(nil, d)

	outside := base
	outside.Threads[3].Op++
	outside.Segs[3].Used++
	outside.Slices[0][6].Free++
	outside.Mailbox[4]++
	if !bytes.Equal(outside.AppendEncoding(nil, d), enc) {
		t.Errorf("a field outside dims changed the encoding")
	}

	inside := []func(s *State){
		func(s *State) { s.Segs[1].ThreadID++ },
		func(s *State) { s.Segs[0].Holder++ },
		func(s *State) { s.Segs[1].Busy = !s.Segs[1].Busy },
		func(s *State) { s.Segs[0].WasReclaimed = !s.Segs[0].WasReclaimed },
		func(s *State) { s.Slices[1][4].Next++ },
		func(s *State) { s.Slices[0][0].XThreadFree++ },
		func(s *State) { s.Slices[1][2].Retire++ },
		func(s *State) { s.Slices[1][2].InFull = !s.Slices[1][2].InFull },
		func(s *State) { s.Threads[1].Regs[MaxRegs-1]++ },
		func(s *State) { s.Threads[0].Spans[3].Last++ }, // bin 4 = Slices-1
		func(s *State) { s.Threads[1].RetiredMin++ },
		func(s *State) { s.AbandonedCount++ },
		func(s *State) { s.OSListLocked++ },
		func(s *State) { s.Mailbox[1]++ },
		func(s *State) { s.Fault.Slice++ },
	}
	for k, f := range inside {
		s := base
		f(&s)
		if s == base {
			t.Fatalf("mutation %d changed nothing", k)
		}
		if bytes.Equal(s.AppendEncoding(nil, d), enc) {
			t.Errorf("mutation %d inside dims does not change the encoding", k)
		}
	}
}

// TestTIDRoundTrip: scheduler index i has ThreadID i+1, and Index inverts
// TIDOf; no index maps to NoThread.
func TestTIDRoundTrip(t *testing.T) {
	for i := 0; i < MaxThreads; i++ {
		tid := TIDOf(i)
		if tid == NoThread {
			t.Errorf("TIDOf(%d) is NoThread", i)
		}
		if int(tid) != i+1 {
			t.Errorf("TIDOf(%d) = %d, want %d", i, tid, i+1)
		}
		if tid.Index() != i {
			t.Errorf("TIDOf(%d).Index() = %d", i, tid.Index())
		}
	}
	for tid := ThreadID(1); tid <= MaxThreads; tid++ {
		if TIDOf(tid.Index()) != tid {
			t.Errorf("TIDOf(%d.Index()) = %d", tid, TIDOf(tid.Index()))
		}
	}
}

// TestStateIsAValue: assignment copies a State deeply (no shared
// references), so the scheduler can clone by assignment.
func TestStateIsAValue(t *testing.T) {
	var a State
	fill(&a, 3)
	b := a
	b.Slices[1][2].Free ^= 0xFF
	b.Threads[0].Regs[0] ^= 0xFF
	b.Threads[2].Spans[1].First ^= 0xFF
	var c State
	fill(&c, 3)
	if a != c {
		t.Fatal("changing a copy changed the original")
	}
	if a == b {
		t.Fatal("the copy did not change")
	}
}
