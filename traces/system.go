package traces

import (
	"fmt"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
)

// System wires a simulator and its invariant checker into the transition
// system the scheduler explores.
type System struct {
	Sim     *allocsim.Sim
	Checker *properties.Checker
	// past holds the invariants whose violating states are cut (explore
	// run --all-violations): such a state is neither reported nor
	// expanded; nil when there are none.
	past map[string]bool
}

var _ sched.System[model.State] = System{}

// NewSystem returns the system of one configuration.
func NewSystem(m *allocsim.Sim) System {
	return System{Sim: m, Checker: properties.NewChecker(m)}
}

// NewSystemPast returns the system of one configuration in which a state
// that breaks one of the invariants past (per-step or end-state) is cut:
// Check and Final do not report it and no thread steps from it. A state's
// per-step check reports its first broken invariant, so another one the
// cut state also breaks is not seen there.
func NewSystemPast(m *allocsim.Sim, past []string) (System, error) {
	y := NewSystem(m)
	for _, name := range past {
		if !properties.Known(name) {
			return System{}, fmt.Errorf("past-invariant: unknown invariant %q", name)
		}
		if y.past == nil {
			y.past = map[string]bool{}
		}
		y.past[name] = true
	}
	return y, nil
}

// Init returns the initial state.
func (y System) Init() model.State { return y.Sim.Init() }

// Enabled appends the threads that can step; none from a cut state.
func (y System) Enabled(s *model.State, dst []int) []int {
	if y.past != nil && y.cut(y.Checker.Check(s)) {
		return dst
	}
	return y.Sim.Enabled(s, dst)
}

// Step executes one step.
func (y System) Step(s *model.State, i int) string { return y.Sim.Step(s, i) }

// Check runs the per-step invariants.
func (y System) Check(s *model.State) error {
	err := y.Checker.Check(s)
	if y.cut(err) {
		return nil
	}
	return err
}

// Final runs the end-state checks (none on a cut state).
func (y System) Final(s *model.State) error {
	if y.past != nil && y.cut(y.Checker.Check(s)) {
		return nil
	}
	err := y.Checker.Final(s)
	if y.cut(err) {
		return nil
	}
	return err
}

// cut reports whether err is the violation of an invariant the search
// goes past.
func (y System) cut(err error) bool {
	if y.past == nil || err == nil {
		return false
	}
	inv, _ := ViolationOf(err)
	return y.past[inv]
}

// Encode appends the canonical encoding.
func (y System) Encode(s *model.State, buf []byte) []byte { return y.Sim.Encode(s, buf) }

var _ sched.Footprinter[model.State] = System{}

// Footprint appends the accesses of thread i's next step from s (see
// allocsim.Sim.Footprint), converted to sched.Access values. It makes
// System a sched.Footprinter, so sched.ExhaustiveSleep and sched.DPOR can
// reduce its interleavings.
func (y System) Footprint(s *model.State, i int, dst []sched.Access) []sched.Access {
	var buf [allocsim.FootprintObjects]uint32
	for _, a := range y.Sim.Footprint(s, i, buf[:0]) {
		dst = append(dst, sched.Access{Obj: a >> 1, Write: a&1 != 0})
	}
	return dst
}
