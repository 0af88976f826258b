package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/sched"
	"mimcheck/traces"
)

// variantFlags are explore replay's flags that re-run a trace under
// another variant ("" = the trace's own).
type variantFlags struct {
	source, patch, lang, memory string
	search                      time.Duration
}

func (v variantFlags) any() bool {
	return v.source != "" || v.patch != "" || v.lang != "" || v.memory != ""
}

// prefixSystem is sys started from the state after a schedule prefix.
type prefixSystem struct {
	traces.System
	start model.State
}

func (p prefixSystem) Init() model.State { return p.start }

// replayVariant re-runs the schedule of tr under the variant v and says
// what happens: the same violation, another one, none on this schedule,
// or — when a thread of the schedule cannot step in the variant — the step
// where it diverges, followed by a bounded search (DFS, --search-timeout,
// depth up to the trace's remaining length plus 20) from the longest
// common prefix for the trace's violation. Exit 1 when the variant shows a
// violation, 0 when it does not (on this schedule, or in the bounded
// search: then the answer is partial, and says so).
func replayVariant(tr *traces.Trace, v variantFlags, stdout, stderr io.Writer) int {
	h := tr.Header
	var err error
	if v.source != "" {
		if h.Source, err = allocsim.ParseSource(v.source); err != nil {
			return fail(stderr, usagef("--source: %v", err))
		}
	}
	if v.patch != "" {
		if h.Patches, err = allocsim.ParsePatches(v.patch); err != nil {
			return fail(stderr, usagef("--patch: %v", err))
		}
	}
	if v.lang != "" {
		if h.Lang, err = allocsim.ParseLang(v.lang); err != nil {
			return fail(stderr, usagef("--lang: %v", err))
		}
	}
	if v.memory != "" {
		if h.Memory, err = allocsim.ParseMemory(v.memory); err != nil {
			return fail(stderr, usagef("--memory: %v", err))
		}
		if h.NoMemory && h.Memory != allocsim.MemSC {
			return fail(stderr, usagef("--memory %s: the trace does not track races (spin abstraction or --no-races)", h.Memory))
		}
	}
	sys, err := h.System()
	if err != nil {
		return fail(stderr, usagef("variant: %v", err))
	}
	want := tr.Expect
	if want == "" {
		want = "ok"
	}
	fmt.Fprintf(stdout, "trace %s (expects %s) under source=%s patches=%s lang=%s memory=%s:\n", tr.ScenarioName(), want, h.Source, h.Patches, h.Lang, memoryName(&h))
	schedule := tr.Schedule()
	_, labels, found, rerr := sched.ReplayCheck[model.State](sys, schedule)
	switch {
	case found != nil:
		inv, detail := traces.ViolationOf(found.Err)
		step := len(found.Schedule) - 1
		if inv == tr.Expect {
			fmt.Fprintf(stdout, "same violation: %s at step %d (%s)\n", inv, step, detail)
		} else {
			fmt.Fprintf(stdout, "another violation: %s at step %d (%s); the trace expects %s\n", inv, step, detail, want)
		}
		return exitViolation
	case rerr == nil:
		fmt.Fprintf(stdout, "no violation on this schedule: all %d steps run (the variant may still break elsewhere; explore run searches it)\n", len(schedule))
		return exitOK
	}
	k := len(labels)
	what := fmt.Sprintf("T%d cannot step in the variant", schedule[k]%model.MaxThreads+1)
	if schedule[k] >= model.MaxThreads {
		what = "the trace's reads-from choice there does not exist in the variant"
	}
	fmt.Fprintf(stdout, "diverges at step %d: %s (%d steps in common)\n", k, what, k)
	if tr.Expect == "" {
		return exitOK
	}
	start, _, _ := sched.Replay[model.State](sys, schedule[:k])
	ctx, cancel := context.WithTimeout(context.Background(), v.search)
	defer cancel()
	lim := sched.Limits{MaxDepth: len(schedule) - k + 20, MaxPreemptions: -1}
	res := sched.Exhaustive[model.State](ctx, prefixSystem{System: sys, start: start}, lim, sched.Options{Workers: 1})
	if res.Violation != nil {
		inv, detail := traces.ViolationOf(res.Violation.Err)
		full := append(append([]int{}, schedule[:k]...), res.Violation.Schedule...)
		fmt.Fprintf(stdout, "search from the common prefix (%d states): %s at step %d (%s)\n", res.States, inv, len(full)-1, detail)
		return exitViolation
	}
	fmt.Fprintf(stdout, "search from the common prefix: no violation in %d states (%s; depth bound %d)\n", res.States, map[bool]string{true: "complete within the bound", false: "partial: " + res.LimitHit}[res.Verdict == sched.OK], lim.MaxDepth)
	return exitOK
}

func memoryName(h *traces.Header) string {
	if h.NoMemory {
		return "none"
	}
	return h.Memory.String()
}
