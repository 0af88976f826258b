package traces

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mimcheck/model"
	"mimcheck/sched"
)

// ErrDiverged reports a replay that did not follow its trace: a scheduled
// thread that is not enabled, a step whose label differs from the recorded
// one, or an outcome other than the one the trace expects.
var ErrDiverged = errors.New("traces: replay diverged")

// maxNotes bounds the number of notes a replay reports.
const maxNotes = 10

// ReplayResult is the outcome of a successful [Replay].
type ReplayResult struct {
	// Trace is the trace recorded afresh by the replay: same header,
	// schedule and expectation, with the mode, cite and effect columns and
	// the final line as this build observes them.
	Trace *Trace
	// Outcome is the observed outcome; it matches the trace's Expect.
	Outcome Outcome
	// Notes lists differences in the informational columns (mode, cite,
	// effect, violation detail) between the file and the replay, in step
	// order, at most 10 of them followed by a count of the others. They do
	// not make the replay fail: the schedule, the labels and the expected
	// verdict are what a trace pins.
	Notes []string
}

// Replay re-executes the schedule of tr on the configuration its header
// describes, checking every invariant after every step as a search does.
//
// It fails with an error wrapping [ErrDiverged], naming the step, when a
// scheduled thread is not enabled, when a step's label differs from the
// recorded one, when a violation occurs before the last step, or when the
// outcome differs from tr.Expect (a violation of another invariant, a
// violation where none is expected, or none where one is). An invalid
// configuration (possible only for a Trace not built by [Parse]) gives an
// error wrapping [ErrFormat].
func Replay(tr *Trace) (*ReplayResult, error) {
	sys, err := tr.System()
	if err != nil {
		return nil, fmt.Errorf("traces: replay: %v: %w", err, ErrFormat)
	}
	schedule := tr.Schedule()
	_, labels, found, err := sched.ReplayCheck[model.State](sys, schedule)
	for k, l := range labels {
		if l != tr.Steps[k].Label {
			return nil, diverged(k, "T%d took step %s, the trace records %s", schedule[k]%model.MaxThreads+1, l, tr.Steps[k].Label)
		}
	}
	if err != nil {
		k := len(labels)
		if n := sys.Sim.Threads(); schedule[k] >= n {
			return nil, diverged(k, "thread T%d does not exist: the scenario has T1..T%d", schedule[k]+1, n)
		}
		s, _, _ := sched.Replay[model.State](sys, schedule[:k])
		return nil, diverged(k, "T%d is not enabled (enabled: %s)", schedule[k]%model.MaxThreads+1, threadList(sys.Enabled(&s, nil)))
	}
	got := Outcome{Step: -1}
	if found != nil {
		got.Invariant, got.Detail = ViolationOf(found.Err)
		got.Step = len(found.Schedule) - 1
		if len(found.Schedule) < len(schedule) {
			return nil, diverged(got.Step, "%s: %s, but the trace goes on to step %d", got, got.Detail, len(schedule)-1)
		}
	}
	if got.Invariant != tr.Expect {
		want := "ok"
		if tr.Expect != "" {
			want = "violation " + tr.Expect
		}
		k := len(schedule) - 1
		if found != nil {
			k = got.Step
		}
		detail := ""
		if got.Detail != "" {
			detail = ": " + got.Detail
		}
		return nil, diverged(k, "replay gives %s%s, the trace expects %s", got, detail, want)
	}
	rec, err := RecordSystem(sys, tr.Header, schedule)
	if err != nil {
		return nil, fmt.Errorf("traces: replay: %w (%w)", err, ErrDiverged)
	}
	rec.Expect = tr.Expect
	return &ReplayResult{Trace: rec, Outcome: got, Notes: notes(tr, rec)}, nil
}

// diverged builds an ErrDiverged error for step k (-1: the initial state).
func diverged(k int, format string, args ...any) error {
	where := "step " + strconv.Itoa(k)
	if k < 0 {
		where = "init"
	}
	return fmt.Errorf("traces: replay: %s: %s: %w", where, fmt.Sprintf(format, args...), ErrDiverged)
}

// threadList renders thread indexes as "T1 T3", or "none".
func threadList(en []int) string {
	if len(en) == 0 {
		return "none"
	}
	parts := make([]string, len(en))
	for k, i := range en {
		parts[k] = "T" + strconv.Itoa(i%model.MaxThreads+1)
	}
	return strings.Join(parts, " ")
}

// notes lists the differences in the informational columns of file and
// rec, which have the same schedule and labels.
func notes(file, rec *Trace) []string {
	var out []string
	more := 0
	add := func(format string, args ...any) {
		if len(out) < maxNotes {
			out = append(out, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	for k := range file.Steps {
		f, r := &file.Steps[k], &rec.Steps[k]
		if f.Mode != "" && f.Mode != r.Mode {
			add("step %d: mode is %s, the trace records %s", k, r.Mode, f.Mode)
		}
		if f.Cite != "" && f.Cite != r.Cite {
			add("step %d: cite is %q, the trace records %q", k, r.Cite, f.Cite)
		}
		if f.Effect != "" && f.Effect != r.Effect {
			add("step %d: effect is %q, the trace records %q", k, r.Effect, f.Effect)
		}
	}
	switch {
	case file.End.Invariant != rec.End.Invariant:
		add("the final line records %s, the replay gives %s", file.End, rec.End)
	case file.End.Detail != rec.End.Detail:
		add("violation detail is %q, the trace records %q", rec.End.Detail, file.End.Detail)
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("... and %d more differences", more))
	}
	return out
}
