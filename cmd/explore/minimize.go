package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"mimcheck/properties"
	"mimcheck/traces"
)

const minimizeUsage = `usage: explore minimize TRACE --out FILE

Shortens a saved trace that ends in a violation: fewest steps first, then
fewest context switches, keeping the same violation (traces.Minimize: every
candidate schedule is replayed and checked). Writes the shorter trace to
--out (a file; not the input) and prints the lengths before and after.
Exit 0 when written, 2 on bad input (no violation to keep, a malformed
trace, an --out that exists or cannot be written), 4 on a stale trace or
one that no longer replays.

Example:
  explore minimize out/no-use-after-free--force-abandon-v2.4.1-none-none.trace --out /tmp/short.trace

Flags:
`

func cmdMinimize(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("minimize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "the file to write the shorter trace to (must not exist)")
	pos, code, done := parseCommand(fs, args, "", minimizeUsage, false, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(pos) != 1:
		return fail(stderr, usagef("minimize wants exactly one TRACE, got %d arguments", len(pos)))
	case *out == "":
		return fail(stderr, usagef("minimize: --out FILE is required"))
	}
	if _, err := os.Stat(*out); err == nil {
		return fail(stderr, usagef("--out %s: exists (minimize does not overwrite)", *out))
	}
	tr, code := loadTrace(pos[0], stderr)
	if tr == nil {
		return code
	}
	if tr.Expect == "" {
		return fail(stderr, usagef("trace %s: expects no violation; there is nothing to keep while shortening it", pos[0]))
	}
	if _, err := traces.Replay(tr); err != nil {
		fmt.Fprintf(stderr, "explore: the trace does not replay: %s\n", oneLine(err.Error()))
		return exitDiverged
	}
	sys, err := tr.System()
	if err != nil {
		return fail(stderr, usagef("trace %s: %v", pos[0], err))
	}
	schedule := tr.Schedule()
	short := traces.Minimize(sys, schedule, tr.Expect)
	rec, err := traces.RecordSystem(sys, tr.Header, short)
	if err != nil {
		return fail(stderr, fmt.Errorf("recording the shorter trace: %w", err))
	}
	rec.Comments = append(append([]string{}, tr.Comments...), fmt.Sprintf(" minimised by explore minimize from %d steps, %d context switches", len(schedule), properties.Switches(schedule)))
	if err := os.WriteFile(*out, traces.Format(rec), 0o644); err != nil {
		return fail(stderr, usagef("--out %s: %v", *out, err))
	}
	fmt.Fprintf(stdout, "minimized %s: %d steps, %d switches -> %d steps, %d switches; violation %s kept; wrote %s\n",
		pos[0], len(schedule), properties.Switches(schedule), len(short), properties.Switches(short), tr.Expect, *out)
	return exitOK
}

// loadTrace reads and parses a trace file for a command: on failure it
// prints one line and returns the exit code (2 unreadable or malformed,
// 4 stale), else 0.
func loadTrace(path string, stderr io.Writer) (*traces.Trace, int) {
	data, err := readInput(path)
	if err != nil {
		return nil, fail(stderr, usagef("cannot read trace: %v", err))
	}
	tr, err := traces.Parse(path, data)
	switch {
	case errors.Is(err, traces.ErrStale):
		fmt.Fprintf(stderr, "explore: stale: %s\n", oneLine(err.Error()))
		return nil, exitDiverged
	case err != nil:
		return nil, fail(stderr, usagef("%v", err))
	}
	return tr, 0
}
