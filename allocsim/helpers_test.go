package allocsim_test

import (
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
)

// rig drives one simulator sequentially: it steps chosen threads, checks
// every invariant after every step and keeps the labels of the steps taken.
type rig struct {
	t      *testing.T
	m      *allocsim.Sim
	chk    *properties.Checker
	s      model.State
	labels []string
}

// newRig parses text and builds the simulator of cfg (cfg.Scenario is set
// from text).
func newRig(t *testing.T, text string, cfg allocsim.Config) *rig {
	t.Helper()
	sc, err := allocsim.ParseFragment(t.Name(), text)
	if err != nil {
		t.Fatalf("ParseScenario: %v", err)
	}
	cfg.Scenario = sc
	cfg.NoRaces = cfg.Memory == allocsim.MemSC // the sequential protocol (memory_test.go has the memory model)
	m, err := allocsim.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := &rig{t: t, m: m, chk: properties.NewChecker(m), s: m.Init()}
	if err := r.chk.Check(&r.s); err != nil {
		t.Fatalf("initial state: %v", err)
	}
	return r
}

func (r *rig) enabled(i int) bool {
	for _, e := range r.m.Enabled(&r.s, nil) {
		if e == i {
			return true
		}
	}
	return false
}

// step takes one step of thread i (which must be enabled) and checks the
// invariants on the result.
func (r *rig) step(i int) string {
	r.t.Helper()
	if !r.enabled(i) {
		r.t.Fatalf("T%d is not enabled (pending %q, op %d)", i+1, r.m.PendingLabel(&r.s, i), r.s.Threads[i].Op)
	}
	l := r.m.Step(&r.s, i)
	r.labels = append(r.labels, l)
	if err := r.chk.Check(&r.s); err != nil {
		r.t.Fatalf("after step %d (T%d %s): %v", len(r.labels), i+1, l, err)
	}
	return l
}

// runUntil steps thread i until cond holds (checked before every step),
// failing if the thread is done or blocked first or after max steps.
func (r *rig) runUntil(i int, max int, cond func(s *model.State) bool) {
	r.t.Helper()
	for n := 0; !cond(&r.s); n++ {
		if n >= max {
			r.t.Fatalf("T%d: condition not reached after %d steps", i+1, max)
		}
		if r.m.Done(&r.s, i) {
			r.t.Fatalf("T%d is done before the condition holds", i+1)
		}
		r.step(i)
	}
}

// runToOp steps thread i until it has finished its first k operations, i.e.
// it waits at (or is past) operation index k.
func (r *rig) runToOp(i, k int) {
	r.t.Helper()
	r.runUntil(i, 200, func(s *model.State) bool { return int(s.Threads[i].Op) >= k || r.m.Done(s, i) })
	if int(r.s.Threads[i].Op) != k && !(r.m.Done(&r.s, i) && k >= len(r.m.Scenario().Threads[i])) {
		r.t.Fatalf("T%d is at op %d, want %d", i+1, r.s.Threads[i].Op, k)
	}
}

// runToEnd steps thread i until its program is done.
func (r *rig) runToEnd(i int) {
	r.t.Helper()
	r.runUntil(i, 400, func(s *model.State) bool { return r.m.Done(s, i) })
}

// gslice is the global slice index of slice i of segment g; span-queue
// links and block handles are built from it.
func gslice(g, i int) uint8 { return uint8(g*model.MaxSlices + i) }

// link is the span-queue link value of slice i of segment g.
func link(g, i int) uint8 { return gslice(g, i) + 1 }

// handle is the register value of block b of the page at slice i of
// segment g.
func handle(g, i, b int) uint8 { return gslice(g, i)*model.MaxBlocks + uint8(b) + 1 }

// queue returns thread i's span queue for spans of n slices.
func queue(s *model.State, i, n int) model.SpanQueue { return s.Threads[i].Spans[n-1] }

// queuesEmpty reports whether every span queue of thread i is empty.
func queuesEmpty(s *model.State, i int) bool {
	return s.Threads[i].Spans == [model.MaxBins]model.SpanQueue{}
}

// queuedSlices returns, per thread, the set of global slice indexes that
// are linked in its span queues (walking the lists).
func queuedSlices(s *model.State, threads int) []map[uint8]bool {
	out := make([]map[uint8]bool, threads)
	for i := 0; i < threads; i++ {
		out[i] = map[uint8]bool{}
		for b := 0; b < model.MaxBins; b++ {
			for e, n := s.Threads[i].Spans[b].First, 0; e != 0 && n < 64; n++ {
				out[i][e-1] = true
				e = s.Slices[int(e-1)/model.MaxSlices][int(e-1)%model.MaxSlices].Next
			}
		}
	}
	return out
}

// freeSpanHeads lists the global indexes of the free span heads of live
// segment g (walking the tiling from slice 1).
func freeSpanHeads(s *model.State, g, nsl int) []uint8 {
	var out []uint8
	for i := 1; i < nsl; {
		sl := s.Slices[g][i]
		if sl.BlockSize == model.BlockFree {
			out = append(out, gslice(g, i))
		}
		n := int(sl.SliceCount)
		if n == 0 {
			n = 1
		}
		i += n
	}
	return out
}
