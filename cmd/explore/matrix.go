package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"mimcheck/allocsim"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mimcheck/traces"
)

// matrixUsage is the help text of explore matrix.
const matrixUsage = `usage: explore matrix [flags]

Runs the exhaustive search (DFS) for every combination of the reference
scenarios, the sources and the patch sets, prints one progress line per
run on stderr and a verdict table on stdout, and writes the trace of every
violation into --out. Exits 1 if any run found a violation, else 0. S3 uses
--abstraction-s3 (spin by default: its full-abstraction state space is
large).

Example:
  explore matrix
  explore matrix --scenarios S1,S2 --sources v2.4.1 --patch-sets none,A+B --no-time

Flags:
`

// matrixFlags holds the flags of explore matrix.
type matrixFlags struct {
	scenarios      string
	sources        string
	patchSets      string
	abstraction    string
	abstractionS3  string
	rounds         int
	lang           string
	memory         string
	noRaces        bool
	mutant         string
	maxDepth       int
	maxPreemptions int
	maxStates      int
	timeout        time.Duration
	out            string
	workers        int
	noTime         bool
	quiet          bool
}

// matrixRow is one run of the matrix and its result.
type matrixRow struct {
	cfg  *runConfig
	out  *outcome
	err  error // an internal error of this run
	name string
}

// cmdMatrix is "explore matrix".
func cmdMatrix(args []string, stdout, stderr io.Writer) int {
	f := matrixFlags{
		scenarios:      "S1,S2,S3",
		sources:        "v2.4.1,v2.3.0",
		patchSets:      "none,A,B,A+B",
		abstraction:    "full",
		abstractionS3:  "spin",
		rounds:         traces.DefaultRounds,
		lang:           "c11",
		memory:         "sc",
		mutant:         "none",
		maxPreemptions: -1,
		out:            "out",
		workers:        min(runtime.NumCPU(), 4),
	}
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.scenarios, "scenarios", f.scenarios, "comma list of scenarios (builtin names or files)")
	fs.StringVar(&f.sources, "sources", f.sources, "comma list of sources")
	fs.StringVar(&f.patchSets, "patch-sets", f.patchSets, "comma list of patch sets (none, A, B, A+B)")
	fs.StringVar(&f.abstraction, "abstraction", f.abstraction, "abstraction of every scenario but S3")
	fs.StringVar(&f.abstractionS3, "abstraction-s3", f.abstractionS3, "abstraction of S3")
	fs.IntVar(&f.rounds, "rounds", f.rounds, "warm-up rounds of S3 (0..20)")
	fs.StringVar(&f.lang, "lang", f.lang, "comma list of language modes (c11, cxx, msvc-c)")
	fs.StringVar(&f.memory, "memory", f.memory, "comma list of memory models (sc, ra, rc11)")
	fs.BoolVar(&f.noRaces, "no-races", f.noRaces, "do not track happens-before or check no-data-race (sc only)")
	fs.StringVar(&f.mutant, "mutant", f.mutant, "seeded bug (none for the real code)")
	fs.IntVar(&f.maxDepth, "max-depth", f.maxDepth, "longest path explored per run (0: no limit)")
	fs.IntVar(&f.maxPreemptions, "max-preemptions", f.maxPreemptions, "preemption bound per run (-1: unbounded)")
	fs.IntVar(&f.maxStates, "max-states", f.maxStates, "most states stored per run (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", f.timeout, "time limit per run, giving a partial result (0: none)")
	fs.StringVar(&f.out, "out", f.out, "directory for trace files (created if needed)")
	fs.IntVar(&f.workers, "workers", f.workers, "runs executed in parallel")
	fs.BoolVar(&f.noTime, "no-time", f.noTime, "leave out the time column, for byte-identical output")
	fs.BoolVar(&f.quiet, "quiet", f.quiet, "print nothing on stderr but errors")
	_, code, done := parseCommand(fs, args, "matrix", matrixUsage, true, stdout, stderr)
	if done {
		return code
	}
	if f.workers < 1 {
		return fail(stderr, usagef("--workers %d: must be >= 1", f.workers))
	}
	rows, err := f.rows()
	if err != nil {
		return fail(stderr, err)
	}
	if err := checkOut(f.out); err != nil {
		return fail(stderr, err)
	}
	diag := stderr
	if f.quiet {
		diag = io.Discard
	}
	fmt.Fprintf(diag, "matrix: %d runs, %d workers, strategy=dfs lang=%s memory=%s mutant=%s max-depth=%d max-preemptions=%d max-states=%d timeout=%s model-rev=%d out=%s\n",
		len(rows), f.workers, f.lang, f.memory, f.mutant, f.maxDepth, f.maxPreemptions, f.maxStates, f.timeout, traces.ModelRev, f.out)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runRows(ctx, rows, f, diag)

	code = exitOK
	for _, r := range rows {
		switch {
		case r.err != nil:
			fmt.Fprintf(stderr, "internal error: %s: %s\n", r.name, oneLine(r.err.Error()))
			return exitInternal
		case r.out.viol != nil:
			if code != exitUnsaved {
				code = exitViolation
			}
			if r.out.viol.writeErr != nil {
				fmt.Fprintf(stderr, "explore: %s: cannot write the trace: %s; the trace follows\n%s", r.name, oneLine(r.out.viol.writeErr.Error()), r.out.viol.data)
				code = exitUnsaved
			}
		}
	}
	if code == exitOK && ctx.Err() != nil {
		defer fmt.Fprintln(stderr, "explore: cancelled (SIGINT or SIGTERM): the table above is partial")
		code = exitCancelled
	}
	fmt.Fprint(stdout, matrixTable(rows, !f.noTime))
	for _, r := range rows {
		if r.cfg.hdr.Abstraction == allocsim.SpinAbs {
			fmt.Fprintln(stdout, "\nRows marked (spin) run once per source: under --abstraction spin patch A changes only a recorded access mode and patch B acts on the retire delay the abstraction leaves out, so every patch set explores the same transition system.")
			break
		}
	}
	return code
}

// rows validates the flags and builds one run configuration per scenario,
// source and patch set, in that nesting order.
func (f matrixFlags) rows() ([]*matrixRow, error) {
	var rows []*matrixRow
	for _, scen := range splitList(f.scenarios) {
		for _, src := range splitList(f.sources) {
			for _, ps := range splitList(f.patchSets) {
				for _, lang := range splitList(f.lang) {
					for _, mem := range splitList(f.memory) {
						rf := defaultRunFlags()
						rf.scenario, rf.source, rf.patch = scen, src, ps
						rf.workers = 1 // rows run side by side, one per worker
						rf.abstraction = f.abstraction
						if strings.EqualFold(scen, "S3") {
							rf.abstraction = f.abstractionS3
						}
						if rf.abstraction == "spin" && (ps != "none" || mem != "sc") {
							// Under --abstraction spin the patches change nothing
							// that is explored: A changes only a recorded access
							// mode, B acts on the retire delay the abstraction
							// leaves out. One run per source covers every patch
							// set; it has no memory orders (sc only).
							continue
						}
						rf.rounds, rf.lang, rf.memory, rf.noRaces, rf.mutant = f.rounds, lang, mem, f.noRaces, f.mutant
						rf.maxDepth, rf.maxPreemptions, rf.maxStates, rf.timeout = f.maxDepth, f.maxPreemptions, f.maxStates, f.timeout
						rf.out = f.out
						c, err := rf.resolve()
						if err != nil {
							return nil, err
						}
						rows = append(rows, &matrixRow{cfg: c, name: fmt.Sprintf("%s %s patch=%s lang=%s memory=%s", rowScenario(c), c.hdr.Source, patchSet(c), c.hdr.Lang, memoryCell(c))})
					}
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil, usagef("matrix: no runs (empty --scenarios, --sources or --patch-sets)")
	}
	return rows, nil
}

// runRows runs the rows on f.workers goroutines, printing a progress line
// on diag as each starts and finishes. A panic in a run is recorded as its error.
func runRows(ctx context.Context, rows []*matrixRow, f matrixFlags, diag io.Writer) {
	var mu sync.Mutex // serialises diag
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(f.workers, len(rows)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				r := rows[k]
				mu.Lock()
				fmt.Fprintf(diag, "[%d/%d] %s: searching...\n", k+1, len(rows), r.name)
				mu.Unlock()
				runRow(ctx, r, f.out)
				mu.Lock()
				fmt.Fprintf(diag, "[%d/%d] %s ... %s\n", k+1, len(rows), r.name, r.progress())
				mu.Unlock()
			}
		}()
	}
	for k := range rows {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
}

// runRow runs one row and saves its violation, turning a panic into r.err.
func runRow(ctx context.Context, r *matrixRow, dir string) {
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("%v", p)
		}
	}()
	o := r.cfg.search(ctx, io.Discard, false)
	if v := o.res.Violation; v != nil {
		rep, err := r.cfg.saveViolation(v, dir, false, true)
		if err != nil {
			r.err = err
			return
		}
		o.viol = rep
	}
	r.out = o
}

// progress returns the result part of the row's progress line.
func (r *matrixRow) progress() string {
	if r.err != nil {
		return "internal error"
	}
	o := r.out
	s := fmt.Sprintf("%s %d states %s", r.verdictCell(), o.res.States, seconds(o.elapsed))
	if o.viol != nil {
		s += " " + r.violationCell()
	}
	return s
}

// verdictCell is the verdict column: ok, violation, or partial (limit).
func (r *matrixRow) verdictCell() string {
	if r.out.verdict() == "partial" {
		return "partial (" + r.out.limit + ")"
	}
	return r.out.verdict()
}

// violationCell is the violation column: invariant @ step, or "-".
func (r *matrixRow) violationCell() string {
	v := r.out.viol
	if v == nil {
		return "-"
	}
	at := " @ init"
	if v.step >= 0 {
		at = " @ " + strconv.Itoa(v.step)
	}
	if v.invariant == "no-data-race" { // name the location
		if _, loc, ok := strings.Cut(v.detail, " on "); ok {
			loc, _, _ = strings.Cut(loc, ":")
			at += " (" + loc + ")"
		}
	}
	return v.invariant + at
}

// rowScenario names the row's scenario, with its abstraction when it is
// not the full one.
func rowScenario(c *runConfig) string {
	s := c.hdr.ScenarioName()
	if a := c.hdr.Abstraction.String(); a != "full" {
		s += " (" + a + ")"
	}
	return s
}

// memoryCell renders the row's memory model ("sc, no races" when
// happens-before is not tracked, "-" under the spin abstraction).
func memoryCell(c *runConfig) string {
	switch {
	case c.hdr.Abstraction != allocsim.Full:
		return "-"
	case c.hdr.NoMemory:
		return "sc, no races"
	}
	return c.hdr.Memory.String()
}

// patchSet renders the row's patches as none, A, B or A+B.
func patchSet(c *runConfig) string { return strings.ReplaceAll(c.hdr.Patches.String(), ",", "+") }

// matrixTable renders the verdict table: one header, a rule, one line per
// row in row order, columns separated by " | " and padded to their widths.
func matrixTable(rows []*matrixRow, withTime bool) string {
	head := []string{"scenario", "source", "patches", "lang", "memory", "verdict", "states", "transitions", "time", "violation (invariant @ step)", "trace file"}
	if !withTime {
		head = append(head[:8:8], head[9:]...)
	}
	cells := [][]string{head}
	for _, r := range rows {
		o := r.out
		trace := "-"
		if o.viol != nil && o.viol.path != "" {
			trace = o.viol.path
		}
		line := []string{rowScenario(r.cfg), r.cfg.hdr.Source.String(), patchSet(r.cfg), r.cfg.hdr.Lang.String(), memoryCell(r.cfg), r.verdictCell(),
			strconv.FormatInt(o.res.States, 10), strconv.FormatInt(o.res.Transitions, 10)}
		if withTime {
			line = append(line, seconds(o.elapsed))
		}
		line = append(line, r.violationCell(), trace)
		cells = append(cells, line)
	}
	width := make([]int, len(head))
	for _, line := range cells {
		for k, c := range line {
			width[k] = max(width[k], len(c))
		}
	}
	var b strings.Builder
	write := func(line []string) {
		for k, c := range line {
			if k > 0 {
				b.WriteString(" | ")
			}
			if k == len(line)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + strings.Repeat(" ", width[k]-len(c)))
			}
		}
		b.WriteByte('\n')
	}
	write(cells[0])
	rule := make([]string, len(head))
	for k := range rule {
		rule[k] = strings.Repeat("-", width[k])
	}
	write(rule)
	for _, line := range cells[1:] {
		write(line)
	}
	return b.String()
}

// splitList splits a comma list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}
