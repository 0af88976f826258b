package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"mimcheck/traces"
)

// replayUsage is the help text of explore replay.
const replayUsage = `usage: explore replay FILE [--json]
       explore replay FILE [--source TAG] [--patch P] [--lang L] [--memory M] [--search-timeout D]

Re-executes the schedule of a trace file, checking every invariant after
every step, and prints its steps. Exits 0 when the replay reproduces the
trace's expect line exactly, 4 when it diverges (another step, a thread not
enabled, another outcome) or the trace is stale (another model rev), 2 when
the file cannot be read or is malformed.

With --source, --patch, --lang or --memory the trace's schedule is re-run
under that variant instead (cross-variant replay: "does patch C remove
finding 3?"): it prints the same violation, another violation, no
violation on this schedule, or the step where the schedule diverges
(a thread that cannot step in the variant) followed by a bounded search
from the common prefix for a violation. Exit 1 when the variant shows a
violation, 0 when it does not.

Example:
  explore replay out/span-queue-membership--S1-v2.4.1-none-BUG_B.trace

Flags:
`

// jsonReplay is the --json object of explore replay.
type jsonReplay struct {
	Schema      int      `json:"schema"`  // the layout's version (jsonSchema)
	Verdict     string   `json:"verdict"` // reproduced, diverged, stale or malformed
	File        string   `json:"file"`
	Error       string   `json:"error"`
	Scenario    string   `json:"scenario"`
	Source      string   `json:"source"`
	Patches     string   `json:"patches"`
	Lang        string   `json:"lang"`
	Mutant      string   `json:"mutant"`
	Abstraction string   `json:"abstraction"`
	Memory      string   `json:"memory"` // sc, ra, rc11; "none" when races are not tracked
	Strategy    string   `json:"strategy"`
	Expect      string   `json:"expect"`
	Outcome     string   `json:"outcome"`
	Property    string   `json:"property"`
	Detail      string   `json:"detail"`
	Step        int      `json:"step"`
	Steps       int      `json:"steps"`
	Notes       []string `json:"notes"`
}

// cmdReplay is "explore replay".
func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print one JSON object on stdout instead of the steps")
	var v variantFlags
	fs.StringVar(&v.source, "source", "", "re-run the schedule under another mimalloc tag (cross-variant replay)")
	fs.StringVar(&v.patch, "patch", "", "re-run the schedule with these patches (none, or a comma list of A, B, C)")
	fs.StringVar(&v.lang, "lang", "", "re-run the schedule under another language mode")
	fs.StringVar(&v.memory, "memory", "", "re-run the schedule under another memory model")
	fs.DurationVar(&v.search, "search-timeout", 30*time.Second, "cross-variant replay: time for the bounded search from the common prefix when the schedule diverges")
	pos, code, done := parseCommand(fs, args, "", replayUsage, false, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 1 {
		return fail(stderr, usagef("replay wants exactly one trace FILE, got %d arguments", len(pos)))
	}
	file := pos[0]
	j := jsonReplay{Schema: jsonSchema, File: file, Step: -1, Notes: []string{}}
	// finish reports a failed replay with the given verdict and exit code.
	finish := func(verdict string, code int, err error) int {
		msg := oneLine(err.Error())
		fmt.Fprintf(stderr, "explore: %s: %s\n", verdict, msg)
		if *asJSON {
			j.Verdict, j.Error = verdict, msg
			if err := writeJSON(stdout, j); err != nil {
				return fail(stderr, err)
			}
		}
		return code
	}

	data, err := readInput(file)
	if err != nil {
		return finish("malformed", exitUsage, fmt.Errorf("cannot read trace: %w", err))
	}
	tr, err := traces.Parse(file, data)
	switch {
	case errors.Is(err, traces.ErrStale):
		return finish("stale", exitDiverged, err)
	case err != nil:
		return finish("malformed", exitUsage, err)
	}
	j.Scenario, j.Source, j.Patches = tr.ScenarioName(), tr.Source.String(), tr.Patches.String()
	j.Lang, j.Mutant, j.Abstraction, j.Strategy = tr.Lang.String(), tr.Mutant.String(), tr.Abstraction.String(), tr.Strategy
	j.Memory = "none"
	if !tr.NoMemory {
		j.Memory = tr.Memory.String()
	}
	j.Expect, j.Steps = "ok", len(tr.Steps)
	if tr.Expect != "" {
		j.Expect = "violation " + tr.Expect
	}
	if v.any() {
		if *asJSON {
			return fail(stderr, usagef("--json: not with a cross-variant replay yet"))
		}
		return replayVariant(tr, v, stdout, stderr)
	}
	res, err := traces.Replay(tr)
	switch {
	case errors.Is(err, traces.ErrDiverged):
		return finish("diverged", exitDiverged, err)
	case errors.Is(err, traces.ErrFormat):
		return finish("malformed", exitUsage, err)
	case err != nil:
		return fail(stderr, err)
	}
	o := res.Outcome
	j.Verdict, j.Outcome, j.Property, j.Detail, j.Step = "reproduced", o.String(), o.Invariant, o.Detail, o.Step
	j.Notes = append(j.Notes, res.Notes...)
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	if *asJSON {
		if err := writeJSON(stdout, j); err != nil {
			return fail(stderr, err)
		}
		return exitOK
	}
	fmt.Fprint(stdout, traces.Render(res.Trace))
	fmt.Fprintln(stdout)
	if o.OK() {
		fmt.Fprintf(stdout, "reproduced: ok after %d steps\n", len(tr.Steps))
	} else {
		fmt.Fprintf(stdout, "reproduced: %s\n", o)
	}
	return exitOK
}
