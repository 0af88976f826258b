package conform

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// ModelState renders a model state in the harness's state format: per
// segment slot its owner (scenario thread index + 1, 0 when abandoned or
// claimed in flight, - when the slot is free), used and abandoned page
// counts and /marked when its abandoned bit is set; then every block the
// program holds (registers, mailboxes) as slot.slice of its page.
func ModelState(sc *allocsim.Scenario, s *model.State) string {
	var b strings.Builder
	b.WriteString("state")
	for g := 0; g < sc.Segments; g++ {
		sg := &s.Segs[g]
		if !sg.Live {
			fmt.Fprintf(&b, " s%d:-", g)
			continue
		}
		owner := 0
		for i := range sc.Threads {
			if sg.ThreadID == model.TIDOf(i) {
				owner = i + 1
			}
		}
		fmt.Fprintf(&b, " s%d:%d/%d/%d", g, owner, sg.Used, sg.Abandoned)
		if s.AbandonedMap&(1<<g) != 0 {
			b.WriteString("/marked")
		}
	}
	block := func(h uint8) string {
		x := int(h-1) / model.MaxBlocks
		return fmt.Sprintf("s%d.%d", x/model.MaxSlices, x%model.MaxSlices)
	}
	for i := range sc.Threads {
		for r, h := range s.Threads[i].Regs {
			if h != 0 && h != model.NullHandle {
				fmt.Fprintf(&b, " T%d:r%d=%s", i+1, r, block(h))
			}
		}
	}
	for k := 0; k < sc.Mailboxes; k++ {
		switch h := s.Mailbox[k]; h {
		case 0:
		case model.NullHandle:
			fmt.Fprintf(&b, " m%d=null", k)
		default:
			fmt.Fprintf(&b, " m%d=%s", k, block(h))
		}
	}
	return b.String()
}

// Mismatch is where the model and the C code disagree.
type Mismatch struct {
	Ops   []int   // the operation schedule up to the disagreement (thread indexes)
	What  string  // what differs
	Model string  // the model's state
	C     string  // the C code's state
	LastC []Point // the C points of the last operation (of each thread's last steps, for FollowSteps)
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("after %d operations: %s\n  model: %s\n  C:     %s", len(m.Ops), m.What, m.Model, m.C)
}

// CompareOps runs the scenario on the model and on the C code under the
// same schedule at the granularity of whole operations (each malloc, free,
// send, recv, collect, init, exit runs to its end before another thread
// moves), the order drawn from seed among the threads that can start their
// next operation, and compares the end states (segment slots: owner, used,
// abandoned, abandoned bit; where each held block lives). The two sides
// agree on which threads can start an operation at every turn, or that is
// the disagreement reported. (States in between are not compared: a
// thread's work that the model does locally before its next shared step
// may lie after a scheduling point in C, so the two sides pause at
// different places inside an operation.) It returns the first
// disagreement, nil when there is none, or an error when a side cannot
// run.
func CompareOps(bin string, sc *allocsim.Scenario, cfg allocsim.Config, seed uint64, cOptions []string) (*Mismatch, error) {
	m, s, h, pts, err := startBoth(bin, sc, cfg, cOptions, false)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rng := rand.New(rand.NewPCG(seed, 0x636f6d70617265))
	var ops []int
	var last []Point
	mismatch := func(what string) (*Mismatch, error) {
		mm, err := snapshot(h, sc, &s, what)
		if mm != nil {
			mm.Ops, mm.LastC = ops, last
		}
		return mm, err
	}
	// align brings thread i's two sides to the same operation: work that
	// is local in the model (init, a free into the thread's own page, ...)
	// may still hold scheduling points in C, and the reverse
	align := func(i int) error {
		for n := 0; ; n++ {
			mo := int(s.Threads[i].Op)
			if m.Done(&s, i) {
				mo = len(sc.Threads[i])
			}
			co := pts[i].Op
			switch {
			case n > 1_000_000:
				return fmt.Errorf("T%d: the two sides do not reach the same operation", i+1)
			case mo == co:
				return nil
			case s.Fault.Code != 0:
				return fmt.Errorf("the model reports %s by T%d", model.FaultCode(s.Fault.Code), s.Fault.Thread)
			case mo < co:
				if !slices.Contains(m.Enabled(&s, nil), i) {
					return fmt.Errorf("T%d blocks inside operation %d in the model", i+1, mo)
				}
				m.Step(&s, i)
			default:
				if pts[i].Done {
					return fmt.Errorf("T%d ended in C at operation %d, the model is at %d", i+1, co, mo)
				}
				last = append(last, pts[i])
				if pts[i], err = h.Run(i); err != nil {
					return err
				}
			}
		}
	}
	for i := range sc.Threads {
		if err := align(i); err != nil {
			return mismatch(err.Error())
		}
	}
	for {
		en := m.Enabled(&s, nil)
		var can []int
		for i := range sc.Threads {
			mOK := slices.Contains(en, i)
			cOK := !pts[i].Done
			if k, send, ok := pts[i].Mailbox(); ok && cOK {
				cOK = send == (s.Mailbox[k] == 0) // the model's mailboxes are the C side's too
			}
			if mOK != cOK {
				return mismatch(fmt.Sprintf("T%d can start its operation %d in the %s only", i+1, s.Threads[i].Op, map[bool]string{true: "model", false: "C code"}[mOK]))
			}
			if mOK {
				can = append(can, i)
			}
		}
		if len(can) == 0 {
			break
		}
		i := can[rng.IntN(len(can))]
		ops = append(ops, i)
		last = last[:0]
		k := s.Threads[i].Op
		for s.Threads[i].Op == k && !m.Done(&s, i) && s.Fault.Code == 0 {
			if !slices.Contains(m.Enabled(&s, nil), i) {
				return mismatch(fmt.Sprintf("T%d blocks inside operation %d in the model", i+1, k))
			}
			m.Step(&s, i)
		}
		if s.Fault.Code != 0 {
			// run the C code through the same operation, then report both
			for pts[i].Op <= int(k) && !pts[i].Done {
				last = append(last, pts[i])
				if pts[i], err = h.Run(i); err != nil {
					return nil, err
				}
			}
			return mismatch(fmt.Sprintf("the model reports %s by T%d in T%d's operation %d; the C code ran the operation", model.FaultCode(s.Fault.Code), s.Fault.Thread, i+1, k))
		}
		if err := align(i); err != nil {
			return mismatch(err.Error())
		}
	}
	for i := range sc.Threads {
		if !m.Done(&s, i) || !pts[i].Done {
			return mismatch(fmt.Sprintf("T%d is stuck (model done %v, C done %v)", i+1, m.Done(&s, i), pts[i].Done))
		}
	}
	mm, err := endMismatch(h, sc, &s)
	if mm != nil {
		mm.Ops = ops
	}
	return mm, err
}

// snapshot is a Mismatch saying what, with both sides' states as they are
// now.
func snapshot(h *Harness, sc *allocsim.Scenario, s *model.State, what string) (*Mismatch, error) {
	cs, err := h.State()
	if err != nil {
		return nil, err
	}
	return &Mismatch{What: what, Model: ModelState(sc, s), C: cs}, nil
}

// endMismatch compares the end states of a run both sides finished: nil
// when they agree.
func endMismatch(h *Harness, sc *allocsim.Scenario, s *model.State) (*Mismatch, error) {
	mm, err := snapshot(h, sc, s, "the end states differ")
	if err != nil || mm.Model == mm.C {
		return nil, err
	}
	return mm, nil
}

// startBoth builds the model of sc under cfg (sequentially consistent;
// races tracked when the steps' accesses are needed) and starts the
// harness on the same scenario with the mimalloc options cOptions; both
// wait at their first shared access.
func startBoth(bin string, sc *allocsim.Scenario, cfg allocsim.Config, cOptions []string, races bool) (*allocsim.Sim, model.State, *Harness, []Point, error) {
	ccfg, err := Config(sc, cfg.Source)
	if err != nil {
		return nil, model.State{}, nil, nil, err
	}
	cfg.Scenario = sc
	cfg.NoRaces = !races
	cfg.Memory = allocsim.MemSC
	m, err := allocsim.New(cfg)
	if err != nil {
		return nil, model.State{}, nil, nil, err
	}
	h, pts, err := Start(bin, WithOptions(ccfg, cOptions))
	if err != nil {
		return nil, model.State{}, nil, nil, err
	}
	return m, m.Init(), h, pts, nil
}
