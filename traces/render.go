package traces

import (
	"fmt"
	"mimcheck/model"
	"mimcheck/properties"
	"strings"
)

// Render returns a human-readable view of tr for a terminal: the
// configuration, a table of the steps (a "*" after the thread marks a
// context switch), the outcome, and a legend citing the C function of every
// step label used, in order of first use.
func Render(tr *Trace) string {
	var b strings.Builder
	scen := tr.Scenario
	switch {
	case !tr.Builtin():
		scen = tr.ScenarioFile + " (embedded scenario file)"
	case tr.Scenario == "S3":
		scen = fmt.Sprintf("S3 (%d rounds)", tr.Rounds)
	}
	fmt.Fprintf(&b, "scenario    %s\n", scen)
	memory := "none (races not tracked)"
	if !tr.NoMemory {
		memory = tr.Memory.String()
	}
	fmt.Fprintf(&b, "config      source=%s patches=%s lang=%s memory=%s mutant=%s abstraction=%s model-rev=%d\n",
		tr.Source, tr.Patches, tr.Lang, memory, tr.Mutant, tr.Abstraction, ModelRev)
	found := tr.Strategy
	if Seeded(tr.Strategy) {
		found = fmt.Sprintf("%s seed=%d", tr.Strategy, tr.Seed)
	}
	fmt.Fprintf(&b, "found by    %s\n", found)
	if tr.Expect == "" {
		b.WriteString("expect      ok\n")
	} else {
		fmt.Fprintf(&b, "expect      violation %s\n", tr.Expect)
	}
	fmt.Fprintf(&b, "steps       %d (%d context switches)\n\n", len(tr.Steps), properties.Switches(tr.Schedule()))

	wl, wm := len("label"), len("mode")
	for _, st := range tr.Steps {
		wl, wm = max(wl, len(st.Label)), max(wm, len(st.Mode))
	}
	wk := max(len("step"), len(fmt.Sprint(len(tr.Steps)-1)))
	fmt.Fprintf(&b, "%*s  %-7s %-*s  %-*s  %s\n", wk, "step", "thread", wl, "label", wm, "mode", "effect")
	for k, st := range tr.Steps {
		th := fmt.Sprintf("T%d", st.Thread%model.MaxThreads+1)
		if k > 0 && st.Thread%model.MaxThreads != tr.Steps[k-1].Thread%model.MaxThreads {
			th += "*"
		}
		fmt.Fprintf(&b, "%*d  %-7s %-*s  %-*s  %s\n", wk, k, th, wl, st.Label, wm, st.Mode, st.Effect)
	}
	if tr.End.OK() {
		fmt.Fprintf(&b, "\nend: ok after %d steps\n", len(tr.Steps))
	} else {
		fmt.Fprintf(&b, "\n%s: %s\n", tr.End, tr.End.Detail)
	}

	var legend []Step
	seen := map[string]bool{}
	for _, st := range tr.Steps {
		if !seen[st.Label] && st.Cite != "" {
			seen[st.Label] = true
			legend = append(legend, st)
		}
	}
	if len(legend) > 0 {
		b.WriteString("\nsteps used:\n")
		for _, st := range legend {
			fmt.Fprintf(&b, "  %-*s  %s\n", wl, st.Label, st.Cite)
		}
	}
	return b.String()
}
