package properties

import (
	"errors"
	"fmt"

	"github.com/leanovate/gopter"

	"mimcheck/model"
	"mimcheck/sched"
)

// Schedule is a sequence of scheduler choices, interpreted by [Execute]:
// choice c at step k runs the thread c places after the current one in
// the (ascending, cyclic) list of enabled threads, so 0 means "no context
// switch". When the current thread is blocked or done, the count starts
// from the next enabled thread after it. Once the choices are used up
// every choice is 0: the run goes on thread by thread (each to completion
// or until it blocks), except that a thread that has taken SpinLimit steps
// in a row yields to the next enabled one (it may be spinning on a thread
// that is halfway through an operation), so every schedule runs to the end. The empty
// schedule is the serial schedule: T1 first, the next thread (cyclically)
// only when the current one is blocked on a mailbox or done.
type Schedule []uint8

// MaxSteps bounds one execution; a run that reaches it has failed
// (no-progress).
const MaxSteps = 5000

// SpinLimit is the number of consecutive steps after which a thread yields
// once the choices of a schedule are used up.
const SpinLimit = 1000

// ErrNoProgress reports a run that reached MaxSteps.
var ErrNoProgress = errors.New("no-progress: the run did not finish within the step limit")

// Execution is the result of [Execute].
type Execution struct {
	// Threads is the concrete schedule: the thread of every step.
	Threads []int
	// Labels is the label of every step.
	Labels []string
	// Err is the first violation (Check after a step, or Final at the
	// end), ErrNoProgress, or nil.
	Err error
	// Final is the state reached (the violating state when Err != nil).
	Final model.State
}

// Switches counts the context switches of a concrete schedule that were
// not forced (a switch away from a thread that could still run is
// counted; Execute cannot tell that afterwards, so this counts all
// changes of thread).
func Switches(threads []int) int {
	n := 0
	for k := 1; k < len(threads); k++ {
		if threads[k] != threads[k-1] {
			n++
		}
	}
	return n
}

// Execute runs sys under the choices of sc, checking every invariant after
// every step as a search does (Check on the initial state and after each
// step, Final when no thread is enabled). visit, if not nil, is called
// after every step with the step index, the thread and the state.
func Execute(sys sched.System[model.State], sc Schedule, visit func(k, i int, s *model.State)) Execution {
	var ex Execution
	s := sys.Init()
	if err := sys.Check(&s); err != nil {
		ex.Err, ex.Final = err, s
		return ex
	}
	prev, run := -1, 0
	var en []int
	for k := 0; ; k++ {
		en = sys.Enabled(&s, en[:0])
		if len(en) == 0 {
			ex.Err = sys.Final(&s)
			break
		}
		if k >= MaxSteps {
			ex.Err = ErrNoProgress
			break
		}
		pos := 0
		for j, i := range en {
			if i >= prev {
				pos = j
				break
			}
		}
		if prev >= 0 && en[pos] < prev {
			pos = 0 // wrap around
		}
		c := 0
		if k < len(sc) {
			c = int(sc[k])
		} else if run >= SpinLimit && en[pos] == prev {
			c = 1 // fairness: the current thread spins on another one
		}
		i := en[(pos+c)%len(en)]
		if i == prev {
			run++
		} else {
			run = 1
		}
		ex.Threads = append(ex.Threads, i)
		ex.Labels = append(ex.Labels, sys.Step(&s, i))
		if visit != nil {
			visit(k, i, &s)
		}
		prev = i
		if err := sys.Check(&s); err != nil {
			ex.Err = err
			break
		}
	}
	ex.Final = s
	return ex
}

// GenSchedule returns a gopter generator of schedules of up to maxLen
// choices, with ShrinkSchedule as its shrinker. Each schedule draws its
// own switch rate (from rare to frequent), since few well-placed switches
// and many random ones find different bugs.
func GenSchedule(maxLen int) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		rng := p.Rng
		n := rng.Intn(maxLen + 1)
		rate := []int{3, 10, 30, 60}[rng.Intn(4)]
		sc := make(Schedule, n)
		for k := range sc {
			if rng.Intn(100) < rate {
				sc[k] = uint8(1 + rng.Intn(3))
			}
		}
		return gopter.NewGenResult(sc, ShrinkSchedule)
	}
}

// ShrinkSchedule is the gopter shrinker of schedules: shorter prefixes,
// then fewer context switches (a choice set to 0), then switches moved
// later (a 0 inserted in front of a switch).
func ShrinkSchedule(v interface{}) gopter.Shrink {
	sc := v.(Schedule)
	var cands []Schedule
	trimmed := len(sc)
	for trimmed > 0 && sc[trimmed-1] == 0 {
		trimmed--
	}
	if trimmed < len(sc) {
		cands = append(cands, append(Schedule(nil), sc[:trimmed]...))
		sc = sc[:trimmed]
	}
	for n := len(sc) / 2; n > 0 && n < len(sc); n = (n + len(sc)) / 2 {
		cands = append(cands, append(Schedule(nil), sc[:n]...))
		if n == (n+len(sc))/2 {
			break
		}
	}
	if len(sc) > 0 {
		cands = append(cands, Schedule{})
	}
	for k := range sc {
		if sc[k] != 0 {
			c := append(Schedule(nil), sc...)
			c[k] = 0
			cands = append(cands, c)
		}
	}
	for k := range sc {
		if sc[k] > 1 {
			c := append(Schedule(nil), sc...)
			c[k] = 1
			cands = append(cands, c)
		}
	}
	for k := range sc {
		if sc[k] != 0 && len(sc) < MaxSteps {
			c := make(Schedule, 0, len(sc)+1)
			c = append(c, sc[:k]...)
			c = append(c, 0)
			c = append(c, sc[k:]...)
			cands = append(cands, c)
		}
	}
	k := 0
	return func() (interface{}, bool) {
		if k >= len(cands) {
			return nil, false
		}
		k++
		return cands[k-1], true
	}
}

// String renders a schedule compactly: the position and value of each
// switch.
func (sc Schedule) String() string {
	out := fmt.Sprintf("schedule(len %d)", len(sc))
	for k, c := range sc {
		if c != 0 {
			out += fmt.Sprintf(" %d:+%d", k, c)
		}
	}
	return out
}
