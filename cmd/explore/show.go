package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/traces"
)

const showUsage = `usage: explore show TRACE [--format text|html|mermaid]

Shows a trace as a maintainer reads it: one lane per thread (a column), each step
under the scenario operation it belongs to ("T2 op 3: free a"), with the C
function it models, its memory order and the fields it changed; the
violating step is marked and the invariant explained. --format html
prints one self-contained page (no network) with the same lanes and, for
the step selected (click a step, or the arrow keys; the violation at
first), a picture of the state after it: each segment's slices and spans,
the pages with their blocks and owner heap, the span queues, the
abandoned set and the program's blocks. --format mermaid prints a Mermaid
sequence diagram (threads as participants, steps as notes) for a
Markdown page.

Example:
  explore show traces/testdata/block-conservation--S2-rc11-stale-xheap.trace
  explore show --format html traces/testdata/no-use-after-free--conform-force-abandon.trace > finding2.html

Flags:
`

// shownStep is one step of a trace with the operation it belongs to.
type shownStep struct {
	k, thread int // step index, thread (0-based)
	op        int // the thread's operation index when the step began
	opText    string
	st        traces.Step
}

func cmdShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "text", "text, html or mermaid")
	pos, code, done := parseCommand(fs, args, "", showUsage, false, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return fail(stderr, usagef("show wants exactly one TRACE, got %d arguments", len(pos)))
	}
	if *format != "text" && *format != "html" && *format != "mermaid" {
		return fail(stderr, usagef("--format %q: want text, html or mermaid", *format))
	}
	tr, code := loadTrace(pos[0], stderr)
	if tr == nil {
		return code
	}
	res, err := traces.Replay(tr)
	if err != nil {
		fmt.Fprintf(stderr, "explore: the trace does not replay: %s\n", oneLine(err.Error()))
		return exitDiverged
	}
	sys, err := tr.System()
	if err != nil {
		return fail(stderr, usagef("%v", err))
	}
	sc := sys.Sim.Scenario()
	// the operation of each step: the thread's op index before it
	s := sys.Init()
	init := s
	var steps []shownStep
	var states []model.State
	for k, st := range res.Trace.Steps {
		th := st.Thread % model.MaxThreads
		op := int(s.Threads[th].Op)
		steps = append(steps, shownStep{k: k, thread: th, op: op, opText: opLabel(sc, th, op), st: st})
		sys.Step(&s, st.Thread)
		states = append(states, s)
	}
	switch *format {
	case "mermaid":
		fmt.Fprint(stdout, showMermaid(tr, sc, steps))
	case "html":
		fmt.Fprint(stdout, showHTML(tr, sc, steps, init, states))
	default:
		fmt.Fprint(stdout, showText(tr, sc, steps))
	}
	return exitOK
}

// showText renders one column per thread; a step appears in its thread's
// lane, under a header line when its thread starts another operation.
func showText(tr *traces.Trace, sc *allocsim.Scenario, steps []shownStep) string {
	var b strings.Builder
	n := len(sc.Threads)
	want := "ok"
	if tr.Expect != "" {
		want = "violation " + tr.Expect
	}
	fmt.Fprintf(&b, "%s: %s, %s patches=%s lang=%s mutant=%s, %d steps, expects %s\n", tr.ScenarioName(), tr.Source, tr.Abstraction, tr.Patches, tr.Lang, tr.Mutant, len(steps), want)
	const w = 34
	for t := 0; t < n; t++ {
		fmt.Fprintf(&b, "%-*s", w, fmt.Sprintf("T%d", t+1))
	}
	b.WriteString("\n")
	lastOp := make([]int, n)
	for i := range lastOp {
		lastOp[i] = -1
	}
	cell := func(t int, text string) string { return strings.Repeat(" ", t*w) + text }
	for _, s := range steps {
		if s.op != lastOp[s.thread] {
			for k := lastOp[s.thread] + 1; k < s.op; k++ { // operations with no shared access
				fmt.Fprintf(&b, "%s\n", cell(s.thread, fmt.Sprintf("── op %d: %s (no shared access: its work is in the step above)", k+1, opLabel(sc, s.thread, k))))
			}
			lastOp[s.thread] = s.op
			fmt.Fprintf(&b, "%s\n", cell(s.thread, fmt.Sprintf("── op %d: %s", s.op+1, s.opText)))
		}
		mark := ""
		if !tr.End.OK() && s.k == tr.End.Step {
			mark = "  <== " + tr.End.Invariant
		}
		fmt.Fprintf(&b, "%s%s\n", cell(s.thread, fmt.Sprintf("%3d %s", s.k, s.st.Label)), mark)
		if s.st.Effect != "-" && s.st.Effect != "" {
			for _, e := range strings.Fields(s.st.Effect) {
				fmt.Fprintf(&b, "%s\n", cell(s.thread, "      "+namedValue(e)))
			}
		}
	}
	if !tr.End.OK() {
		fmt.Fprintf(&b, "\nviolation %s at step %d: %s\n", tr.End.Invariant, tr.End.Step, tr.End.Detail)
		if inv, ok := invariantDoc(tr.End.Invariant); ok {
			fmt.Fprintf(&b, "  (%s)\n", inv)
		}
	}
	b.WriteString("\nC functions of the steps:\n")
	seen := map[string]bool{}
	for _, s := range steps {
		if !seen[s.st.Label] {
			seen[s.st.Label] = true
			fmt.Fprintf(&b, "  %-40s %s  [%s]\n", s.st.Label, s.st.Cite, s.st.Mode)
		}
	}
	return b.String()
}

// showMermaid renders a Mermaid sequence diagram.
func showMermaid(tr *traces.Trace, sc *allocsim.Scenario, steps []shownStep) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for t := range sc.Threads {
		fmt.Fprintf(&b, "    participant T%d\n", t+1)
	}
	lastOp := make([]int, len(sc.Threads))
	for i := range lastOp {
		lastOp[i] = -1
	}
	esc := func(s string) string { return strings.NewReplacer(";", ",", "#", "", "\"", "'").Replace(s) }
	for _, s := range steps {
		if s.op != lastOp[s.thread] {
			for k := lastOp[s.thread] + 1; k < s.op; k++ {
				fmt.Fprintf(&b, "    Note over T%d: op %d: %s (no shared access: its work is in the step above)\n", s.thread+1, k+1, esc(opLabel(sc, s.thread, k)))
			}
			lastOp[s.thread] = s.op
			fmt.Fprintf(&b, "    Note over T%d: op %d: %s\n", s.thread+1, s.op+1, esc(s.opText))
		}
		text := fmt.Sprintf("%d %s", s.k, s.st.Label)
		if !tr.End.OK() && s.k == tr.End.Step {
			text += " ⚠ " + tr.End.Invariant
		}
		fmt.Fprintf(&b, "    T%d->>T%d: %s\n", s.thread+1, s.thread+1, esc(text))
	}
	if !tr.End.OK() {
		fmt.Fprintf(&b, "    Note over T1: violation %s at step %d: %s\n", tr.End.Invariant, tr.End.Step, esc(tr.End.Detail))
	}
	return b.String()
}

// invariantDoc returns the plain-words meaning of an invariant.
func invariantDoc(name string) (string, bool) {
	for _, inv := range properties.Registry {
		if inv.Name == name {
			return inv.Doc, true
		}
	}
	return "", false
}

// delayedNames are mimalloc's names of the delayed-free modes (types.h:
// mi_delayed_t), in the model's numbering.
var delayedNames = map[string]string{"0": "MI_USE_DELAYED_FREE", "1": "MI_DELAYED_FREEING", "2": "MI_NO_DELAYED_FREE", "3": "MI_NEVER_DELAYED_FREE"}

// namedValue renders an effect "field=old->new" with mimalloc's names for
// the values that have them (the delayed-free mode).
func namedValue(e string) string {
	field, change, ok := strings.Cut(e, "=")
	if !ok || !strings.HasSuffix(field, ".delayed") {
		return e
	}
	from, to, ok := strings.Cut(change, "->")
	if !ok || delayedNames[from] == "" || delayedNames[to] == "" {
		return e
	}
	return field + "=" + delayedNames[from] + "->" + delayedNames[to]
}

// opLabel renders operation k of thread t; an operation after the
// thread's exit says so: it runs after mi_thread_done, with the default
// heap reset to _mi_heap_empty (as a thread-local destructor's free does;
// mimalloc issue #944).
func opLabel(sc *allocsim.Scenario, t, k int) string {
	text := sc.OpText(t, k)
	if t < len(sc.Threads) {
		for j := 0; j < k && j < len(sc.Threads[t]); j++ {
			if sc.Threads[t][j].Kind == allocsim.OpExit {
				return text + " (after exit: runs after thread-done, with the default heap reset)"
			}
		}
	}
	return text
}
