package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/conform"
	"mimcheck/traces"
)

const conformReplayUsage = `usage: explore conform replay FILE [flags]

Runs a saved trace's schedule of model steps on its tag's mimalloc C code
(built as by explore conform): each step is the C points of the step's
shared accesses, then the thread's local work; the states are compared
after every step. Prints "conforms through step N" or the first
divergence; at the trace's violation step it prints what the C code did
(a crash, an assertion, a sanitizer report, or the state it ran on to).
Exits 0 when the C run follows the trace to its last step, 4 on a
divergence, a C crash before that step or a stale trace, 2 on bad input (a
trace whose scenario has no C counterpart, of the spin abstraction, of a
patched or mutated preset, of a weak memory model or of --publish-check
harmful: the C code is the tag as it is, run one thread at a time).

Example:
  explore conform replay --flavour debug --mi-option purge_delay=0 out/no-use-after-free--force-abandon-v2.4.1-none-none.trace

Flags:
`

func cmdConformReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flavour := fs.String("flavour", "debug", "build: release, debug, asan, or stats (release with MI_STAT=1, for a scenario with option stats)")
	dir := fs.String("mimalloc", "", "a mimalloc checkout at the trace's tag (default: the shared copy)")
	cache := fs.String("cache", "", "build directory (default: the user cache directory, mimcheck/conform)")
	var opts miOptionList
	fs.Var(&opts, "mi-option", "a mimalloc option of the C run, NAME=VALUE (repeatable)")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout instead of the text")
	pos, code, done := parseCommand(fs, args, "", conformReplayUsage, false, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return fail(stderr, usagef("conform replay wants exactly one trace FILE, got %d arguments", len(pos)))
	}
	fl, err := conform.ParseFlavour(*flavour)
	if err != nil {
		return fail(stderr, usagef("--flavour: %v", err))
	}
	tr, code := loadTrace(pos[0], stderr)
	if tr == nil {
		return code
	}
	if why := modelOnly(tr); why != "" {
		return fail(stderr, usagef("trace %s: %s", pos[0], why))
	}
	sc, err := tr.LoadScenario()
	if err != nil {
		return fail(stderr, usagef("trace %s: %v", pos[0], err))
	}
	if err := conform.FlavourFits(sc, fl); err != nil {
		return fail(stderr, usagef("trace %s: %v", pos[0], err))
	}
	bin, err := conformBuild(*dir, *cache, tr.Source.String(), fl)
	if err != nil {
		return fail(stderr, err)
	}
	schedule := tr.Schedule()
	r, err := conform.FollowSteps(bin, sc, allocsim.Config{Source: tr.Source, Lang: tr.Lang}, 0, len(schedule), opts, schedule)
	if err != nil {
		return fail(stderr, err)
	}
	last := len(schedule) - 1
	crash := func() string { return strings.TrimPrefix(oneLine(r.Crash.Error()), "the C code stopped: ") }
	j := jsonConformReplay{Schema: jsonSchema, Trace: pos[0], Source: tr.Source.String(), Flavour: string(fl), Steps: len(schedule),
		Expect: expectText(tr), Through: -1, Step: -1}
	code = exitOK
	var text string
	switch {
	case r.Crash != nil && r.Steps-1 == last && tr.Expect != "":
		j.Verdict, j.Through, j.Step, j.Label, j.CStop = "reproduced", last-1, last, r.Labels[last], crash()
		text = fmt.Sprintf("conforms through step %d; at step %d (T%d %s) the model reports %s and the C code stops: %s\n",
			last-1, last, r.Schedule[last]+1, r.Labels[last], tr.Expect, crash())
	case r.Crash != nil:
		j.Verdict, j.Through, j.Step, j.Label, j.CStop = "diverged", r.Steps-2, r.Steps-1, r.Labels[r.Steps-1], crash()
		text = fmt.Sprintf("diverged: the C code stops in step %d (T%d %s), before the trace's end: %s\n",
			r.Steps-1, r.Schedule[r.Steps-1]+1, r.Labels[r.Steps-1], crash())
		code = exitDiverged
	case r.Mismatch != nil && r.Fault != 0 && r.Steps-1 == last:
		j.Verdict, j.Through, j.Step, j.Label = "reproduced", last-1, last, r.Labels[last]
		j.ModelState, j.CState = r.Mismatch.Model, r.Mismatch.C
		text = fmt.Sprintf("conforms through step %d; %s (%s; no crash in this build)\n  model: %s\n  C:     %s\n", last-1, r.Mismatch.What, tr.Expect, r.Mismatch.Model, r.Mismatch.C)
	case r.Mismatch != nil:
		j.Verdict, j.Through, j.Step, j.Divergence = "diverged", r.Steps-2, r.Steps-1, r.Mismatch.What
		j.ModelState, j.CState = r.Mismatch.Model, r.Mismatch.C
		text = fmt.Sprintf("diverged: %s\n  model: %s\n  C:     %s\n", r.Mismatch.What, r.Mismatch.Model, r.Mismatch.C)
		code = exitDiverged
	case tr.Expect != "" && r.FinalModel != r.FinalC:
		j.Verdict, j.Through, j.Step, j.Divergence = "diverged", r.Steps-2, last, "the states after the last step differ"
		j.ModelState, j.CState = r.FinalModel, r.FinalC
		text = fmt.Sprintf("diverged: the states after the last step (where the model reports %s) differ\n  model: %s\n  C:     %s\n", tr.Expect, r.FinalModel, r.FinalC)
		code = exitDiverged
	case tr.Expect != "":
		// a violation the model finds after the step (an invariant or a path
		// property), not inside it: the C run reaches the same state
		j.Verdict, j.Through, j.Step, j.Label = "reproduced", r.Steps-1, last, r.Labels[last]
		j.ModelState, j.CState = r.FinalModel, r.FinalC
		text = fmt.Sprintf("conforms through step %d; after it the model reports %s, and the C state is the model's:\n  model: %s\n  C:     %s\n", r.Steps-1, tr.Expect, r.FinalModel, r.FinalC)
	default:
		j.Verdict, j.Through = "conforms", r.Steps-1
		text = fmt.Sprintf("conforms through step %d\n", r.Steps-1)
	}
	if *asJSON {
		if err := writeJSON(stdout, j); err != nil {
			return fail(stderr, err)
		}
		return code
	}
	fmt.Fprintf(stdout, "trace %s: %d steps, expect %s; C: mimalloc %s (%s)\n", pos[0], len(schedule), expectText(tr), tr.Source, fl)
	fmt.Fprint(stdout, text)
	return code
}

// jsonConformReplay is the --json object of explore conform replay.
type jsonConformReplay struct {
	Schema     int    `json:"schema"`  // the layout's version (jsonSchema)
	Verdict    string `json:"verdict"` // conforms, reproduced (the C run reaches the trace's violation step), diverged
	Trace      string `json:"trace"`
	Source     string `json:"source"`
	Flavour    string `json:"flavour"`
	Steps      int    `json:"steps"`
	Expect     string `json:"expect"`
	Through    int    `json:"conforms_through"` // the last step after which C and the model agree; -1 none
	Step       int    `json:"step"`             // the violation or divergence step; -1 none
	Label      string `json:"label"`
	CStop      string `json:"c_stop"` // how the C code stopped (a crash, an assertion, a sanitizer report)
	Divergence string `json:"divergence"`
	ModelState string `json:"model_state"`
	CState     string `json:"c_state"`
}

func expectText(tr *traces.Trace) string {
	if tr.Expect == "" {
		return "ok"
	}
	return "violation " + tr.Expect
}

// modelOnly says why a trace cannot be replayed on mimalloc's C code (""
// when it can): the C code is the tag as it is, run one thread at a time.
func modelOnly(tr *traces.Trace) string {
	switch {
	case tr.Abstraction != allocsim.Full:
		return fmt.Sprintf("--abstraction %s has no C counterpart (conformance runs the full model)", tr.Abstraction)
	case tr.Mutant != allocsim.MutNone:
		return fmt.Sprintf("mutant %s is a model-only defect; the C code is the tag as it is", tr.Mutant)
	case tr.Patches != 0:
		return fmt.Sprintf("patches %s are not applied to the C code, which is the tag as it is", tr.Patches)
	case !tr.NoMemory && tr.Memory != allocsim.MemSC:
		return fmt.Sprintf("--memory %s: a weak-memory execution cannot be replayed by a harness that runs one thread at a time", tr.Memory)
	case !tr.NoMemory && tr.Lang == allocsim.LangMSVC && tr.Expect == "no-data-race":
		return "a data race of MSVC's C mode is a property of the compiled accesses, not an execution the harness can run (it runs gcc's C11 code one thread at a time)"
	case tr.HarmfulPublish:
		return "--publish-check harmful goes on where the C code would too; replay the strict trace"
	}
	sc, err := tr.LoadScenario()
	if err != nil {
		return err.Error()
	}
	if _, err := conform.Config(sc, tr.Source); err != nil {
		return err.Error()
	}
	return ""
}
