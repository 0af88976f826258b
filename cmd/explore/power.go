package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"mimcheck/allocsim"
	"mimcheck/traces"
)

// powerUsage is the help text of explore power.
const powerUsage = `usage: explore power [flags]

The evidence of power behind a "none found": runs every bug the checker
is meant to find — the zoo of real historical bugs (explore run --bug
NAME, on its preset and scenario) and the seeded bugs of scenarios.md
(BUG_A, BUG_A1, BUG_B, BUG_C, BUG_SUBPROC on S1, S2 and S3 under the
spin abstraction, where scenarios.md states their expectations) — with
the default strategy and bounds (exhaustive DFS, no depth or state
limit), and prints found / total with the time to the first
counterexample of each (the search until the violation, without
minimising or writing a trace). Unless --no-clean, each bug's
configuration is also run without the bug, which must report nothing.

Exit 0 when every bug is found and no run without a bug reports a
violation, 1 otherwise, 2 on bad flags.

Flags:
`

// powerEntry is one bug of explore power.
type powerEntry struct {
	Bug       string  `json:"bug"`
	Kind      string  `json:"kind"` // zoo or seeded
	Scenario  string  `json:"scenario"`
	Source    string  `json:"source"`
	Options   string  `json:"options"` // the flags besides --scenario and --source
	Expected  string  `json:"expected,omitempty"`
	Found     bool    `json:"found"`
	Invariant string  `json:"invariant,omitempty"`
	States    int64   `json:"states"`
	TimeS     float64 `json:"time_s"`
	Limit     string  `json:"limit,omitempty"`
	Clean     string  `json:"clean"` // ok, partial, violation:INVARIANT, or skipped
	Command   string  `json:"command"`
}

// powerReport is explore power's result (its --json object).
type powerReport struct {
	Schema   int          `json:"schema"`
	Found    int          `json:"found"`
	Total    int          `json:"total"`
	CleanOK  bool         `json:"clean_ok"`
	Entries  []powerEntry `json:"entries"`
	ElapsedS float64      `json:"elapsed_s"`
}

// powerCase is a bug to run: its flags with and without the bug.
type powerCase struct {
	entry      powerEntry
	with, none runFlags
}

// powerCases lists the zoo and the seeded bugs with their flags.
func powerCases(timeout time.Duration) []powerCase {
	var cs []powerCase
	base := defaultRunFlags()
	base.timeout = timeout
	for _, z := range allocsim.Zoo {
		f := base
		f.bug = z.Name
		_ = f.applyBug(map[string]bool{})
		none := f
		none.mutant, none.bug = "none", ""
		opts := "--bug " + z.Name
		if z.Retention {
			opts += " (--retention)"
		}
		cs = append(cs, powerCase{entry: powerEntry{Bug: z.Name, Kind: "zoo", Scenario: f.scenario, Source: f.source, Options: opts,
			Expected: z.Invariant, Command: "explore run --bug " + z.Name}, with: f, none: none})
	}
	for _, m := range []string{"BUG_A", "BUG_A1", "BUG_B", "BUG_C", "BUG_SUBPROC"} {
		for _, s := range []string{"S1", "S2", "S3"} {
			f := base
			f.scenario, f.mutant, f.abstraction = s, m, "spin"
			none := f
			none.mutant = "none"
			cs = append(cs, powerCase{entry: powerEntry{Bug: m, Kind: "seeded", Scenario: s, Source: f.source, Options: "--mutant " + m + " --abstraction spin",
				Command: "explore run --scenario " + s + " --abstraction spin --mutant " + m}, with: f, none: none})
		}
	}
	return cs
}

func cmdPower(args []string, stdout, stderr io.Writer) int {
	var jsonOut, noClean, quiet, noTime bool
	timeout := time.Minute
	fs := flag.NewFlagSet("power", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object (schema, found, total, clean_ok, entries) instead of the table")
	fs.BoolVar(&noClean, "no-clean", false, "do not run each configuration without its bug")
	fs.DurationVar(&timeout, "timeout", timeout, "time limit of each search (a bug not found within it counts as not found)")
	fs.BoolVar(&quiet, "quiet", false, "print nothing on stderr but errors")
	fs.BoolVar(&noTime, "no-time", false, "report times as 0, for byte-identical output")
	_, code, done := parseCommand(fs, args, "power", powerUsage, true, stdout, stderr)
	if done {
		return code
	}
	if timeout <= 0 {
		return fail(stderr, usagef("--timeout %s: must be > 0", timeout))
	}
	diag := stderr
	if quiet {
		diag = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := runPower(ctx, powerCases(timeout), !noClean, diag)
	if err != nil {
		return fail(stderr, err)
	}
	rep.ElapsedS = time.Since(start).Seconds()
	if noTime {
		rep.ElapsedS = 0
		for k := range rep.Entries {
			rep.Entries[k].TimeS = 0
		}
	}
	if jsonOut {
		if err := writeJSON(stdout, rep); err != nil {
			return fail(stderr, err)
		}
	} else {
		rep.markdown(stdout)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "explore: cancelled (SIGINT or SIGTERM): the result above is partial")
		return exitCancelled
	case rep.Found < rep.Total || !rep.CleanOK:
		return exitViolation
	}
	return exitOK
}

// runPower runs the cases in order (and each configuration without its
// bug once, when clean).
func runPower(ctx context.Context, cs []powerCase, clean bool, diag io.Writer) (*powerReport, error) {
	rep := &powerReport{Schema: 1, Total: len(cs), CleanOK: true}
	cleanOf := map[string]string{}
	for k, c := range cs {
		e := c.entry
		fmt.Fprintf(diag, "[%d/%d] %s %s on %s at %s...\n", k+1, len(cs), e.Kind, e.Bug, e.Scenario, e.Source)
		o, err := powerSearch(ctx, c.with)
		if err != nil {
			return nil, err
		}
		e.States, e.TimeS, e.Limit = o.res.States, o.elapsed.Seconds(), o.limit
		if v := o.res.Violation; v != nil {
			e.Invariant, _ = traces.ViolationOf(v.Err)
			e.Found = e.Expected == "" || e.Invariant == e.Expected
		}
		if e.Found {
			rep.Found++
		}
		e.Clean = "skipped"
		if clean {
			key := fmt.Sprintf("%+v", c.none)
			if r, ok := cleanOf[key]; ok {
				e.Clean = r
			} else {
				o, err := powerSearch(ctx, c.none)
				if err != nil {
					return nil, err
				}
				switch {
				case o.res.Violation != nil:
					inv, _ := traces.ViolationOf(o.res.Violation.Err)
					e.Clean = "violation:" + inv
				case o.res.Complete:
					e.Clean = "ok"
				default:
					e.Clean = "partial:" + o.limit
				}
				cleanOf[key] = e.Clean
			}
			if strings.HasPrefix(e.Clean, "violation") {
				rep.CleanOK = false
			}
		}
		rep.Entries = append(rep.Entries, e)
		if ctx.Err() != nil {
			break
		}
	}
	return rep, nil
}

// powerSearch runs one configuration's search (no trace is written).
func powerSearch(ctx context.Context, f runFlags) (*outcome, error) {
	c, err := f.resolve()
	if err != nil {
		return nil, err
	}
	return c.search(ctx, io.Discard, false), nil
}

// markdown prints the report as a Markdown table with the found / total
// line.
func (r *powerReport) markdown(w io.Writer) {
	fmt.Fprintf(w, "found %d / %d bugs", r.Found, r.Total)
	if r.CleanOK {
		fmt.Fprintf(w, "; no run without a bug reported a violation")
	} else {
		fmt.Fprintf(w, "; a run WITHOUT a bug reported a violation (column \"without\")")
	}
	fmt.Fprintf(w, " (%.1f s)\n\n", r.ElapsedS)
	fmt.Fprintln(w, "| bug | kind | scenario | tag | found | invariant | states | s to first counterexample | without the bug |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---:|---:|---|")
	for _, e := range r.Entries {
		found := "yes"
		if !e.Found {
			found = "**no**"
			if e.Limit != "" {
				found += " (" + e.Limit + ")"
			}
		}
		inv := e.Invariant
		if inv == "" {
			inv = "-"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s | %d | %.3f | %s |\n", e.Bug, e.Kind, e.Scenario, e.Source, found, inv, e.States, e.TimeS, e.Clean)
	}
}
