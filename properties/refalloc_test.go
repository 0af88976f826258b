package properties_test

// A deliberately simple reference allocator for the sequential-refinement
// property (style.md §6, oracle test): a map from block handle to the
// thread that allocated it, the registers and mailboxes of the program,
// and one counting rule for memory. It knows nothing of pages, spans,
// abandonment or reclaim.
//
// Observations compared on a serial schedule (one thread at a time, the
// next one only when the current one blocks on a mailbox or is done):
//
//   - malloc: NULL or a block. The reference only knows that a malloc
//     cannot need a new arena slot more than once, so the first
//     Segments mallocs of the run must return a block; later ones may
//     return NULL. A block returned must not be live already, must lie on
//     a page of the requested class, within the class's block count, on
//     a segment owned by the allocating thread.
//   - recv: the register receives exactly the handle the matching send
//     put in the mailbox.
//   - free: the block is no longer held (faults are caught by Check).
//   - at every thread switch and at the end: every register and mailbox
//     of the model holds exactly what the reference says, and at the end
//     no block is live.
//
// It does not model which block a malloc returns (any fresh block of the
// right class on an owned segment is accepted), nor when a malloc beyond
// the first Segments ones must fail.
//
// Several operations can complete in one step (a malloc served from a
// thread-local free list is local work); a malloc's register is read
// after the step unless a later operation of the same step wrote it.

import (
	"fmt"

	"mimcheck/allocsim"
	"mimcheck/model"
)

type refAlloc struct {
	sc      *allocsim.Scenario
	mallocs int
	regs    [][model.MaxRegs]uint8
	mbox    [model.MaxMailboxes]uint8
	live    map[uint8]int // handle -> allocating thread
	lastOp  []int
	lost    bool // a result could not be observed; stop comparing
}

func newRefAlloc(sc *allocsim.Scenario, init *model.State) (*refAlloc, error) {
	r := &refAlloc{sc: sc, regs: make([][model.MaxRegs]uint8, len(sc.Threads)), live: map[uint8]int{}, lastOp: make([]int, len(sc.Threads))}
	for t := range sc.Threads {
		if err := r.advance(t, init); err != nil {
			return r, err
		}
	}
	return r, nil
}

func isBlock(h uint8) bool { return h != 0 && h != model.NullHandle }

// writes reports which register op writes or clears (-1: none).
func writes(op allocsim.Op) int {
	switch op.Kind {
	case allocsim.OpMalloc, allocsim.OpRecv:
		return int(op.B)
	case allocsim.OpFree, allocsim.OpSend:
		return int(op.A)
	}
	return -1
}

// advance applies the operations thread t completed up to state s.
func (r *refAlloc) advance(t int, s *model.State) error {
	if r.lost {
		return nil
	}
	prog := r.sc.Threads[t]
	to := min(int(s.Threads[t].Op), len(prog))
	from := r.lastOp[t]
	r.lastOp[t] = to
	for k := from; k < to; k++ {
		op := prog[k]
		// A later operation of the step that touches the same register
		// hides the result: a free there was free(NULL) (a free of a block
		// starts with a shared access, so it cannot complete in the step
		// of an earlier operation); after a send the result is lost.
		observable, null := true, false
		for j := k + 1; j < to && writes(op) >= 0; j++ {
			if writes(prog[j]) == writes(op) {
				observable, null = false, prog[j].Kind == allocsim.OpFree
				break
			}
		}
		last := k == to-1
		if err := r.apply(t, k, op, s, observable, null, last); err != nil {
			return err
		}
		if r.lost {
			return nil
		}
	}
	return nil
}

func (r *refAlloc) apply(t, k int, op allocsim.Op, s *model.State, observable, null, last bool) error {
	where := fmt.Sprintf("T%d op %d", t+1, k+1)
	switch op.Kind {
	case allocsim.OpMalloc:
		mayFail := r.mallocs >= r.sc.Segments
		r.mallocs++
		got := s.Threads[t].Regs[op.B]
		if null {
			got = model.NullHandle
		} else if !observable {
			r.lost = true
			return nil
		}
		if got == model.NullHandle || got == 0 {
			if !mayFail {
				return fmt.Errorf("%s: malloc(%s) returned NULL, but it is malloc %d of the run and there are %d arena slots", where, r.sc.Classes[op.A].Name, r.mallocs, r.sc.Segments)
			}
			r.regs[t][op.B] = model.NullHandle
			return nil
		}
		if owner, dup := r.live[got]; dup {
			return fmt.Errorf("%s: malloc returned block %d, which T%d allocated and which is still live", where, got, owner+1)
		}
		x := int(got-1) / model.MaxBlocks
		g, i, b := x/model.MaxSlices, x%model.MaxSlices, int(got-1)%model.MaxBlocks
		cls := r.sc.Classes[op.A]
		if g >= r.sc.Segments || i >= r.sc.Slices {
			return fmt.Errorf("%s: malloc returned block %d outside the arena", where, got)
		}
		if p := s.Slices[g][i]; p.BlockSize != model.BlockPage0+op.A || b >= int(cls.Blocks) {
			return fmt.Errorf("%s: malloc(%s) returned block %d of page (segment %d, slice %d) of block size %d", where, cls.Name, b, g, i, p.BlockSize)
		}
		if last && s.Segs[g].ThreadID != model.TIDOf(t) {
			return fmt.Errorf("%s: malloc returned a block of segment %d, owned by thread_id %d, not by T%d", where, g, s.Segs[g].ThreadID, t+1)
		}
		r.live[got] = t
		r.regs[t][op.B] = got
	case allocsim.OpFree:
		if h := r.regs[t][op.A]; isBlock(h) {
			delete(r.live, h)
		}
		r.regs[t][op.A] = 0
	case allocsim.OpSend:
		h := r.regs[t][op.A]
		if h == 0 {
			h = model.NullHandle
		}
		r.mbox[op.B] = h
		r.regs[t][op.A] = 0
	case allocsim.OpRecv:
		want := r.mbox[op.A]
		r.mbox[op.A] = 0
		r.regs[t][op.B] = want
		if got := s.Threads[t].Regs[op.B]; observable && got != want {
			return fmt.Errorf("%s: recv got handle %d, the send put %d", where, got, want)
		}
	}
	return nil
}

// compare holds every register and mailbox of s against the reference
// (at a thread switch: no operation is half done).
func (r *refAlloc) compare(s *model.State, end bool) error {
	if r.lost {
		return nil
	}
	for t := range r.regs {
		for k, want := range r.regs[t] {
			if got := s.Threads[t].Regs[k]; got != want {
				return fmt.Errorf("T%d register %d holds %d, the reference %d", t+1, k, got, want)
			}
		}
	}
	for k := 0; k < r.sc.Mailboxes; k++ {
		if s.Mailbox[k] != r.mbox[k] {
			return fmt.Errorf("mailbox m%d holds %d, the reference %d", k, s.Mailbox[k], r.mbox[k])
		}
	}
	if end && len(r.live) != 0 {
		return fmt.Errorf("%d blocks still live in the reference at the end", len(r.live))
	}
	return nil
}
