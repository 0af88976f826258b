package properties_test

// The invariants catch broken states: a valid reachable state is corrupted
// in one specific way and Check (or Final) must name the invariant that
// the corruption breaks (scenarios.md §1.5).

import (
	"errors"
	"strings"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
)

func sim(t *testing.T, text string, abs allocsim.Abstraction) *allocsim.Sim {
	t.Helper()
	sc, err := allocsim.ParseFragment(t.Name(), text)
	if err != nil {
		t.Fatal(err)
	}
	m, err := allocsim.New(allocsim.Config{Scenario: sc, Abstraction: abs})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// runToOp steps thread i until it waits at operation k, checking every
// intermediate state.
func runToOp(t *testing.T, m *allocsim.Sim, chk *properties.Checker, s *model.State, i, k int) {
	t.Helper()
	for n := 0; int(s.Threads[i].Op) < k; n++ {
		if n > 200 || m.Done(s, i) {
			t.Fatalf("T%d does not reach op %d", i+1, k)
		}
		m.Step(s, i)
		if err := chk.Check(s); err != nil {
			t.Fatalf("valid run: %v", err)
		}
	}
}

// baseText is S1 with two slots. The fixture runs T1 to its send: T1 holds
// a (page S at slice 1) and b (page M at slices 2..3) and has the free span
// at slice 4 in its bin 1; T2 waits to receive. Every invariant holds.
const baseText = `scenario base
segments 2
slices 5
class S slices=1 blocks=2
class M slices=2 blocks=1
option reclaim-on-free=1
thread: a = malloc(S); b = malloc(M); send a -> m0; free b; exit
thread: a <- m0; free a; exit
`

type fixture struct {
	m   *allocsim.Sim
	chk *properties.Checker
	s   model.State
}

func newFixture(t *testing.T, abs allocsim.Abstraction) fixture {
	t.Helper()
	m := sim(t, baseText, abs)
	f := fixture{m: m, chk: properties.NewChecker(m), s: m.Init()}
	runToOp(t, m, f.chk, &f.s, 0, 2) // a = malloc(S); b = malloc(M); waits at send
	s := &f.s
	if s.Segs[0].ThreadID != model.TIDOf(0) || s.Segs[0].Used != 2 || s.Threads[0].Spans[0].First != 5 {
		t.Fatalf("fixture not as expected: seg %+v, T1 spans %+v", s.Segs[0], s.Threads[0].Spans)
	}
	if err := f.chk.Check(s); err != nil {
		t.Fatalf("fixture invalid: %v", err)
	}
	return f
}

func wantViolation(t *testing.T, err error, name string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no violation, want %s", name)
	}
	var v *properties.Violation
	if !errors.As(err, &v) {
		t.Fatalf("error %T %v is not a *properties.Violation", err, err)
	}
	if v.Invariant != name {
		t.Fatalf("violation %q (%v), want %q", v.Invariant, v.Detail, name)
	}
	if v.Error() != v.Invariant+": "+v.Detail || v.Detail == "" {
		t.Errorf("Error() = %q", v.Error())
	}
	registered := false
	for _, n := range properties.Names() {
		registered = registered || n == name
	}
	if !registered {
		t.Errorf("invariant %q is not in the registry", name)
	}
}

// The fixture state: segment 0 owned by T1 (tid 1); slice 1 page S with
// block 0 live in T1's register a; slices 2..3 page M with block b live in
// register b; slice 4 a 1-slice free span, the only element of T1's bin 1
// (global index 4, link value 5). Slot 1 is free.
func TestCheckCatchesCorruption(t *testing.T) {
	cases := []struct {
		name    string
		want    string
		corrupt func(s *model.State)
	}{
		// Q1 span-queue-well-formed
		{"first-has-prev", "span-queue-well-formed", func(s *model.State) { s.Slices[0][4].Prev = 2 }},
		{"last-wrong", "span-queue-well-formed", func(s *model.State) { s.Threads[0].Spans[0].Last = 0 }},
		{"link-outside-arena", "span-queue-well-formed", func(s *model.State) {
			s.Slices[0][4].Next = 3*model.MaxSlices + 1 // segment 3: beyond the scenario's 2 slots
		}},
		{"cycle", "span-queue-well-formed", func(s *model.State) { s.Slices[0][4].Next = 5; s.Slices[0][4].Prev = 0 }},
		{"page-queued", "span-queue-well-formed", func(s *model.State) {
			// the page at slice 1 put at the front of bin 1
			s.Slices[0][1].Next = 5
			s.Slices[0][4].Prev = 2
			s.Threads[0].Spans[0].First = 2
		}},
		{"wrong-bin", "span-queue-well-formed", func(s *model.State) {
			s.Threads[0].Spans[1] = s.Threads[0].Spans[0] // a 1-slice span in bin 2
			s.Threads[0].Spans[0] = model.SpanQueue{}
		}},
		// Q2/S2 span-queue-membership
		{"other-threads-queue", "span-queue-membership", func(s *model.State) {
			s.Threads[1].Spans[0] = s.Threads[0].Spans[0]
			s.Threads[0].Spans[0] = model.SpanQueue{}
		}},
		{"in-two-queues", "span-queue-membership", func(s *model.State) {
			s.Threads[1].Spans[0] = s.Threads[0].Spans[0]
		}},
		{"free-span-unqueued", "span-queue-membership", func(s *model.State) {
			s.Threads[0].Spans[0] = model.SpanQueue{}
		}},
		{"links-but-unqueued", "span-queue-membership", func(s *model.State) {
			s.Slices[0][1].Next = 5 // a page with a stray link
		}},
		{"abandoned-span-queued", "span-queue-membership", func(s *model.State) {
			// abandoned and published, but its free span is still in T1's queue
			s.Segs[0].ThreadID, s.Segs[0].Holder, s.Segs[0].Abandoned = 0, 0, 2
			s.AbandonedMap, s.AbandonedCount = 1, 1
			s.Threads[1].Spans[0] = s.Threads[0].Spans[0] // any queue: the segment has no owner
			s.Threads[0].Spans[0] = model.SpanQueue{}
		}},
		// S1 spans-tile-segment
		{"info-slice", "spans-tile-segment", func(s *model.State) { s.Slices[0][0].BlockSize = model.BlockFree }},
		{"page-interior", "spans-tile-segment", func(s *model.State) { s.Slices[0][3].SliceOffset = 0 }},
		{"span-overruns", "spans-tile-segment", func(s *model.State) { s.Slices[0][2].SliceCount = 4 }},
		// S3 segment-used-count
		{"used-too-high", "segment-used-count", func(s *model.State) { s.Segs[0].Used = 3 }},
		{"used-too-low", "segment-used-count", func(s *model.State) { s.Segs[0].Used = 1 }},
		{"owned-with-abandoned", "segment-used-count", func(s *model.State) { s.Segs[0].Abandoned = 1 }},
		// O1 segment-single-owner
		{"abandoned-bit-on-owned", "segment-single-owner", func(s *model.State) { s.AbandonedMap |= 1 }},
		{"holder-not-owner", "segment-single-owner", func(s *model.State) { s.Segs[0].Holder = model.TIDOf(1) }},
		{"no-holder", "segment-single-owner", func(s *model.State) { s.Segs[0].Holder = model.NoThread }},
		{"bit-on-free-slot", "segment-single-owner", func(s *model.State) { s.AbandonedMap |= 2 }},
		{"published-with-owner", "segment-single-owner", func(s *model.State) {
			s.AbandonedMap |= 1
			s.Segs[0].Holder = model.NoThread
		}},
		// B1/B2 block-conservation
		{"handle-in-two-registers", "block-conservation", func(s *model.State) { s.Threads[1].Regs[0] = s.Threads[0].Regs[0] }},
		{"handle-in-register-and-mailbox", "block-conservation", func(s *model.State) { s.Mailbox[0] = s.Threads[0].Regs[1] }},
		{"block-lost", "block-conservation", func(s *model.State) { s.Threads[0].Regs[0] = 0 }},
		{"block-on-two-lists", "block-conservation", func(s *model.State) { s.Slices[0][1].XThreadFree = 0b10 }},
		{"page-used-wrong", "block-conservation", func(s *model.State) { s.Slices[0][1].Used = 2 }},
		{"free-span-with-blocks", "block-conservation", func(s *model.State) { s.Slices[0][4].Free = 1 }},
		{"dangling-handle", "block-conservation", func(s *model.State) {
			s.Threads[1].Regs[3] = uint8(1*model.MaxSlices+1)*model.MaxBlocks + 1 // block 0 of slot 1 (free)
		}},
		// B1 no-use-after-free (state form: a live segment with no subproc)
		{"subproc-invalid", "no-use-after-free", func(s *model.State) { s.Segs[0].SubprocValid = false }},
	}
	for _, abs := range []allocsim.Abstraction{allocsim.SpinAbs, allocsim.Full} {
		for _, c := range cases {
			t.Run(abs.String()+"/"+c.name, func(t *testing.T) {
				f := newFixture(t, abs)
				saved := f.s
				c.corrupt(&f.s)
				if f.s == saved {
					t.Fatal("the corruption changed nothing")
				}
				cp := f.s
				wantViolation(t, f.chk.Check(&f.s), c.want)
				if f.s != cp {
					t.Errorf("Check modified the state")
				}
			})
		}
	}
}

// TestHandleOutsideArena: a register holding a handle that names no page
// of the scenario's arena (here segment 3 of a 2-slot scenario) is a block
// held by the program that is not live: B2 is broken.
func TestHandleOutsideArena(t *testing.T) {
	f := newFixture(t, allocsim.SpinAbs)
	f.s.Threads[1].Regs[3] = uint8(3*model.MaxSlices+7)*model.MaxBlocks + 1
	wantViolation(t, f.chk.Check(&f.s), "block-conservation")
}

// TestFaultNames: a recorded in-step fault is reported first, under the
// invariant its code belongs to, and every fault code maps to a registered
// invariant.
func TestFaultNames(t *testing.T) {
	want := map[model.FaultCode]string{
		model.FaultNotHolder:     "segment-single-owner",
		model.FaultClaimHeld:     "unique-claim",
		model.FaultQueueOwner:    "span-queue-owner",
		model.FaultUseAfterFree:  "no-use-after-free",
		model.FaultDoubleFree:    "block-conservation",
		model.FaultPageNotEmpty:  "block-conservation",
		model.FaultMarkTwice:     "segment-single-owner",
		model.FaultQueueCorrupt:  "span-queue-well-formed",
		model.FaultWalkStuck:     "walk-terminates",
		model.FaultScanMissed:    "scan-complete",
		model.FaultRetireExpired: "retired-page-expires",
	}
	f := newFixture(t, allocsim.SpinAbs)
	for code := model.FaultCode(1); code < model.FaultCount; code++ {
		t.Run(code.String(), func(t *testing.T) {
			s := f.s
			s.SetFault(code, 1, 0, 2)
			// An unrelated corruption too: the fault is still reported first.
			s.Segs[0].Used = 7
			err := f.chk.Check(&s)
			if err == nil {
				t.Fatal("fault not reported")
			}
			var v *properties.Violation
			if !errors.As(err, &v) {
				t.Fatalf("%T is not a *properties.Violation", err)
			}
			if w, ok := want[code]; ok && v.Invariant != w {
				t.Errorf("fault %s reported as %q, want %q", code, v.Invariant, w)
			}
			if v.Invariant == "segment-used-count" {
				t.Errorf("fault %s not reported before the state invariants", code)
			}
			registered := false
			for _, n := range properties.Names() {
				registered = registered || n == v.Invariant
			}
			if !registered {
				t.Errorf("fault %s maps to %q, which is not a registered invariant", code, v.Invariant)
			}
			if !strings.Contains(v.Detail, code.String()) || !strings.Contains(v.Detail, "T2") {
				t.Errorf("detail %q does not name the fault %s and thread T2", v.Detail, code)
			}
			if name := code.String(); name == "" || name == "fault-?" {
				t.Errorf("fault %d has no name", code)
			}
		})
	}
}

// TestFinal: Final reports a deadlock when some thread is not done and none
// can step, and checks the end state when all are done.
func TestFinal(t *testing.T) {
	t.Run("deadlock", func(t *testing.T) {
		// T1 waits for m0, which nobody fills.
		m := sim(t, `scenario dl
segments 1
slices 5
thread: x <- m0; free x
`, allocsim.SpinAbs)
		chk := properties.NewChecker(m)
		s := m.Init()
		if en := m.Enabled(&s, nil); len(en) != 0 || m.AllDone(&s) {
			t.Fatalf("enabled %v done %v: fixture not deadlocked", en, m.AllDone(&s))
		}
		if err := chk.Check(&s); err != nil {
			t.Fatalf("Check: %v", err)
		}
		wantViolation(t, chk.Final(&s), "deadlock-free")
	})

	endText := `scenario end
segments 1
slices 5
thread: a = malloc(S); send a -> m0; exit
thread: x <- m0; free x; exit
`
	run := func(t *testing.T, abs allocsim.Abstraction) (*allocsim.Sim, *properties.Checker, model.State) {
		m := sim(t, endText, abs)
		chk := properties.NewChecker(m)
		s := m.Init()
		for k := 0; ; k++ {
			en := m.Enabled(&s, nil)
			if len(en) == 0 {
				break
			}
			if k > 500 {
				t.Fatal("does not end")
			}
			m.Step(&s, en[0])
			if err := chk.Check(&s); err != nil {
				t.Fatalf("Check: %v", err)
			}
		}
		if !m.AllDone(&s) {
			t.Fatal("not all done")
		}
		return m, chk, s
	}
	for _, abs := range []allocsim.Abstraction{allocsim.SpinAbs, allocsim.Full} {
		t.Run("clean/"+abs.String(), func(t *testing.T) {
			_, chk, s := run(t, abs)
			if err := chk.Final(&s); err != nil {
				t.Fatalf("clean end state: %v", err)
			}
		})
	}

	for _, abs := range []allocsim.Abstraction{allocsim.SpinAbs, allocsim.Full} {
		t.Run("live-block-held/"+abs.String(), func(t *testing.T) {
			// T1 exits while T2 never frees the block it received: a genuine
			// end state with a live block in an abandoned, published segment.
			m := sim(t, `scenario keep
segments 1
slices 5
thread: a = malloc(S); send a -> m0; exit
thread: x <- m0; exit
`, abs)
			chk := properties.NewChecker(m)
			s := m.Init()
			for k := 0; k < 500; k++ {
				en := m.Enabled(&s, nil)
				if len(en) == 0 {
					break
				}
				m.Step(&s, en[0])
				if err := chk.Check(&s); err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			if !m.AllDone(&s) {
				t.Fatal("not all done")
			}
			if !s.Segs[0].Live || s.Segs[0].ThreadID != 0 || s.AbandonedMap != 1 || s.Slices[0][1].Live != 1 {
				t.Fatalf("end state not as expected: seg %+v bitmap %b page %+v", s.Segs[0], s.AbandonedMap, s.Slices[0][1])
			}
			wantViolation(t, chk.Final(&s), "quiescent-clean")
		})
	}

	t.Run("mailbox-full", func(t *testing.T) {
		m := sim(t, `scenario mb
segments 1
slices 5
thread: send _ -> m0
`, allocsim.SpinAbs)
		chk := properties.NewChecker(m)
		s := m.Init()
		m.Step(&s, 0)
		if !m.AllDone(&s) {
			t.Fatal("not done")
		}
		wantViolation(t, chk.Final(&s), "quiescent-clean")
	})

	t.Run("queue-not-empty", func(t *testing.T) {
		_, chk, s := run(t, allocsim.SpinAbs)
		s.Threads[0].Spans[0] = model.SpanQueue{First: 1, Last: 1}
		wantViolation(t, chk.Final(&s), "quiescent-clean")
	})

	t.Run("count-mismatch", func(t *testing.T) {
		_, chk, s := run(t, allocsim.SpinAbs)
		s.AbandonedCount++
		wantViolation(t, chk.Final(&s), "quiescent-clean")
	})
}
