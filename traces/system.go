package traces

import (
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
}

var _ sched.System[model.State] = System{}

// NewSystem returns the system of one configuration.
func NewSystem(m *allocsim.Sim) System {
	return System{Sim: m, Checker: properties.NewChecker(m)}
}

// Init returns the initial state.
func (y System) Init() model.State { return y.Sim.Init() }

// Enabled appends the threads that can step.
func (y System) Enabled(s *model.State, dst []int) []int { return y.Sim.Enabled(s, dst) }

// Step executes one step.
func (y System) Step(s *model.State, i int) string { return y.Sim.Step(s, i) }

// Check runs the per-step invariants.
func (y System) Check(s *model.State) error { return y.Checker.Check(s) }

// Final runs the end-state checks.
func (y System) Final(s *model.State) error { return y.Checker.Final(s) }

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
