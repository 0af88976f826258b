package traces

import (
	"fmt"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/sched"
)

// Record executes schedule on the configuration h describes and writes it
// down as a trace: each step with its label, mode, cite and effect, the
// outcome, and Expect set to that outcome. The schedule is cut after the
// first violation, as [sched.ReplayCheck] does. It fails if h does not
// describe a valid configuration or the schedule cannot be replayed (a
// thread that is not enabled, [sched.ErrNotEnabled]).
func Record(h Header, schedule []int) (*Trace, error) {
	sys, err := h.System()
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	return RecordSystem(sys, h, schedule)
}

// RecordSystem is [Record] on an already built system, which must be the
// one h describes.
func RecordSystem(sys System, h Header, schedule []int) (*Trace, error) {
	_, _, found, err := sched.ReplayCheck[model.State](sys, schedule)
	if err != nil {
		return nil, fmt.Errorf("traces: record: %w", err)
	}
	tr := &Trace{Header: h, End: Outcome{Step: -1}}
	n := len(schedule)
	if found != nil {
		n = len(found.Schedule)
		tr.End.Invariant, tr.End.Detail = ViolationOf(found.Err)
		tr.End.Step = n - 1
	}
	tr.Expect = tr.End.Invariant
	tr.Steps = make([]Step, n)
	s := sys.Init()
	states := make([]model.State, n)
	// stores[l]: the steps that stored to weak location l, in order, so
	// that a weak load can name the step it read from
	stores := map[int][]int{}
	for k := 0; k < n; k++ {
		states[k] = s
		before := s
		i := schedule[k]
		rf := ""
		if l, back, val, ok := sys.Sim.WeakRead(&s, i); ok {
			// rf=LOCATION:VALUE(latest[-BACK],stepK|init)
			where, from := "latest", "init"
			if back > 0 {
				where = fmt.Sprintf("latest-%d", back)
			}
			if list := stores[l]; len(list)-1-back >= 0 {
				from = fmt.Sprintf("step%d", list[len(list)-1-back])
			}
			rf = fmt.Sprintf("rf=%s:%d(%s,%s)", model.LocName(l), val, where, from)
		}
		for _, a := range sys.Sim.StepAccesses(&s, i) {
			if a.Loc < model.NumWeakLocs && a.Kind&model.AccWrite != 0 {
				stores[a.Loc] = append(stores[a.Loc], k)
			}
		}
		label := sys.Step(&s, i)
		mode, cite := stepMeta(sys.Sim, label)
		eff := Diff(sys.Sim, &before, &s)
		if rf != "" {
			if eff == "-" {
				eff = rf
			} else {
				eff = rf + " " + eff
			}
		}
		tr.Steps[k] = Step{Thread: i, Label: label, Mode: mode, Cite: cite, Effect: eff}
	}
	if f := s.Fault; model.FaultCode(f.Code) == model.FaultDataRace && n > 0 {
		tr.Comments = append(tr.Comments, " "+RaceOther(sys, schedule[:n], states, f))
	}
	return tr, nil
}

// RaceOther names the earlier access of the data race f found at the end
// of schedule: the last step of the other thread that made an access of
// the recorded kind to the racing location (states[k] is the state before
// step k).
func RaceOther(sys System, schedule []int, states []model.State, f model.Fault) string {
	loc, other, kind := int(f.Seg), int(f.Other)-1, f.Kind>>4
	matches := func(a uint8) bool {
		if a&model.AccAtomic != kind&model.AccAtomic {
			return false
		}
		if kind&model.AccWrite != 0 {
			return a&model.AccWrite != 0
		}
		return a&model.AccRead != 0
	}
	for k := len(schedule) - 2; k >= 0; k-- {
		if schedule[k]%model.MaxThreads != other {
			continue
		}
		for _, a := range sys.Sim.StepAccesses(&states[k], schedule[k]) {
			if a.Loc == loc && matches(a.Kind) {
				label := sys.Sim.PendingLabel(&states[k], schedule[k]%model.MaxThreads)
				si, _ := allocsim.StepInfoOf(label)
				return fmt.Sprintf("race: the earlier access (%s of %s) is step %d, t%d %s (%s)",
					model.KindName(kind), model.LocName(loc), k, other, si.Label, si.Cite)
			}
		}
	}
	return fmt.Sprintf("race: the earlier access (%s of %s by t%d) is not in the trace's steps", model.KindName(kind), model.LocName(loc), other)
}

// coalesceSuffix marks a step that also ran mi_segment_span_free_coalesce,
// whose read of segment->thread_id is folded into it.
const coalesceSuffix = "+coalesce"

// coalesceCite is appended to the cite of a "+coalesce" step.
const coalesceCite = "; segment.c: mi_segment_span_free_coalesce (thread_id read)"

// stepMeta returns the memory order (under m's language mode) and the C
// citation of the step with the given label; "unknown" and "" for a label
// allocsim does not describe. A "+coalesce" step records both accesses:
// mode "M+R" where R is the order of the folded thread_id read of
// mi_segment_span_free_coalesce (what patch A changes), and both cites.
func stepMeta(m *allocsim.Sim, label string) (mode, cite string) {
	si, ok := allocsim.StepInfoOf(label)
	if !ok {
		return "unknown", ""
	}
	mode, cite = m.ModeOf(si).String(), si.Cite
	if strings.HasSuffix(label, coalesceSuffix) {
		mode += "+" + m.CoalesceReadMode().String()
		cite += coalesceCite
	}
	return mode, cite
}
