package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

// Exit codes (style.md §7).
const (
	exitOK        = 0 // no violation (complete, or partial with the limit named)
	exitViolation = 1 // an invariant was violated
	exitUsage     = 2 // usage or input error
	exitUnsaved   = 3 // a violation was found but its trace could not be written (printed on stderr instead)
	exitDiverged  = 4 // a replay diverged, or the trace is stale
	exitInternal  = 5 // internal error (a simulator bug)
	exitCancelled = 6 // SIGINT or SIGTERM stopped the search; the partial result was printed
)

// mainUsage is the help text of explore.
const mainUsage = `usage: explore <command> [flags]

Commands:
  run      explore one configuration (explore run -h)
  replay   re-execute a trace file and print its steps
  minimize shorten a trace file, keeping its violation
  show     a trace as lanes per thread, steps under their operations
  list     list scenarios, sources, patches, langs, mutants, abstractions,
           strategies, invariants and step labels
  matrix   reference scenarios x sources x patch sets, with a verdict table
  conform  run the scenario on mimalloc's own C code under seeded schedules
  diff     two variants in lock-step: the shortest schedule that tells
           them apart, or that none does
  power    every zoo and seeded bug: found / total, time to each
  compare  the grid, the diffs and power in one report (report.md, .html)

Example:
  explore run --scenario S1 --mutant BUG_B
  explore replay out/span-queue-membership--S1-v2.4.1-none-BUG_B.trace

Exit codes: 0 no violation, 1 violation, 2 usage or input error,
3 violation whose trace could not be written (printed on stderr),
4 replay diverged or stale trace, 5 internal error, 6 cancelled by SIGINT
or SIGTERM (the partial result is printed).
`

// run executes the explore command line args (without the program name),
// writing results to stdout and diagnostics to stderr, and returns the exit
// code. It never panics: a panic becomes "internal error: ..." and code 5
// (with MIMCHECK_PANIC set in the environment it panics, for the stack).
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("MIMCHECK_PANIC") != "" { // developers: the Go stack
				panic(r)
			}
			fmt.Fprintf(stderr, "internal error: %s\n", oneLine(fmt.Sprint(r)))
			code = exitInternal
		}
	}()
	if len(args) == 0 {
		fmt.Fprintln(stderr, "explore: missing command (want run, replay, show, minimize, list, matrix, conform, diff, power or compare; see explore help)")
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "replay":
		return cmdReplay(args[1:], stdout, stderr)
	case "minimize":
		return cmdMinimize(args[1:], stdout, stderr)
	case "show":
		return cmdShow(args[1:], stdout, stderr)
	case "list":
		return cmdList(args[1:], stdout, stderr)
	case "matrix":
		return cmdMatrix(args[1:], stdout, stderr)
	case "conform":
		return cmdConform(args[1:], stdout, stderr)
	case "diff":
		return cmdDiff(args[1:], stdout, stderr)
	case "power":
		return cmdPower(args[1:], stdout, stderr)
	case "compare":
		return cmdCompare(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "explore: unknown command %q (want run, replay, show, minimize, list, matrix, conform, diff, power or compare)\n", args[0])
	return exitUsage
}

// fail prints err as one line on stderr and returns its exit code: 2 for a
// usage error, 5 for anything else.
func fail(stderr io.Writer, err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "explore: %s\n", ue.msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "internal error: %s\n", oneLine(err.Error()))
	return exitInternal
}

// cmdRun is "explore run".
func cmdRun(args []string, stdout, stderr io.Writer) int {
	f := defaultRunFlags()
	fs := newRunFlagSet(&f)
	_, code, done := parseCommand(fs, args, "run", runUsage, true, stdout, stderr)
	if done {
		return code
	}
	if err := contradictions(fs, args, f); err != nil {
		return fail(stderr, err)
	}
	if err := f.applyBug(setFlags(fs)); err != nil {
		return fail(stderr, err)
	}
	c, err := f.resolve()
	if err != nil {
		return fail(stderr, err)
	}
	if f.workers > runtime.NumCPU() {
		fmt.Fprintf(stderr, "explore: warning: --workers %d is more than this machine's %d cores\n", f.workers, runtime.NumCPU())
	}
	if err := checkOut(f.out); err != nil {
		return fail(stderr, err)
	}
	diag := stderr
	if f.quiet {
		diag = io.Discard
	}
	fmt.Fprintln(diag, c.configLine())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fail(stderr, usagef("--cpuprofile: %v", err))
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fail(stderr, usagef("--cpuprofile: %v", err))
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	fmt.Fprintf(diag, "searching (%s)...\n", c.hdr.Strategy)
	o := c.search(ctx, diag, !f.quiet)
	// --all-races, --all-violations: report the violation, go past its
	// site and search again, until a search ends without a new one
	for (f.allRaces || f.allViolations) && o.res.Violation != nil {
		v, err := c.saveViolation(o.res.Violation, f.out, f.corpus, !f.noMinimize)
		if err != nil {
			return fail(stderr, err)
		}
		if v.siteKind != siteRace && !f.allViolations {
			o.viol = v
			break
		}
		if f.pastSite(v.siteKind, v.site) {
			return fail(stderr, fmt.Errorf("the search found site %s again after going past it", v.site))
		}
		o.sites = append(o.sites, v)
		fmt.Fprintf(diag, "violation site %d (%s %s): %s: %s trace=%s\n", len(o.sites), v.siteKind, v.site, v.invariant, v.detail, v.path)
		if v.race != "" {
			fmt.Fprintln(diag, v.race)
		}
		f.goPast(v.siteKind, v.site)
		sites := o.sites
		if c, err = f.resolve(); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(diag, "searching again past %d site(s)...\n", len(sites))
		o = c.search(ctx, diag, !f.quiet)
		o.sites = sites
	}
	if o.res.Violation != nil && o.viol == nil {
		v, err := c.saveViolation(o.res.Violation, f.out, f.corpus, !f.noMinimize)
		if err != nil {
			return fail(stderr, err)
		}
		o.viol = v
	}
	unsaved := false
	for _, v := range o.reported() {
		if v.writeErr != nil {
			// the counterexample is not lost: all of it goes to stderr
			fmt.Fprintf(stderr, "explore: cannot write the trace: %s; the trace follows\n%s", oneLine(v.writeErr.Error()), v.data)
			unsaved = true
		}
	}
	for _, b := range o.res.Bounds {
		fmt.Fprintf(diag, "preemption bound %d: %s, %d states (%d distinct), %d transitions, %d executions\n",
			b.Bound, b.Verdict, b.States, b.Distinct, b.Transitions, b.Executions)
	}
	fmt.Fprintf(diag, "done: %s in %s: %d states, %d transitions, %d runs, max depth %d, %.1f bytes/state, %d workers\n",
		o.verdict(), seconds(o.elapsed), o.res.States, o.res.Transitions, o.res.Runs, o.res.MaxDepthSeen, o.res.BytesPerState, o.res.Workers)
	if v := o.viol; v != nil {
		at := fmt.Sprintf("step %d", v.step)
		if v.step < 0 {
			at = "init"
		}
		if f.noMinimize {
			fmt.Fprintf(diag, "violation %s at %s (as found, not minimised: %d steps, %d context switches): %s\n",
				v.invariant, at, v.steps, v.switches, v.detail)
		} else {
			fmt.Fprintf(diag, "violation %s at %s (minimised from %d steps, %d context switches to %d steps, %d switches): %s\n",
				v.invariant, at, v.foundSteps, v.foundSw, v.steps, v.switches, v.detail)
		}
		if v.race != "" {
			fmt.Fprintln(diag, v.race)
		}
	}

	if f.allRaces || f.allViolations {
		fmt.Fprintf(diag, "%d violation site(s) reported\n", len(o.reported()))
	}
	if f.json {
		if err := writeJSON(stdout, o.json()); err != nil {
			return fail(stderr, err)
		}
	} else {
		for k, v := range o.sites {
			fmt.Fprintf(stdout, "site %d: %s %s invariant=%s steps=%d trace=%s\n", k+1, v.siteKind, v.site, v.invariant, v.steps, v.path)
		}
		fmt.Fprintln(stdout, o.summaryLine())
		fmt.Fprintf(stdout, "checked: %s\n", strings.Join(c.checkedInvariants(), " "))
		if v := o.first(); v != nil && v.path != "" {
			fmt.Fprintf(stdout, "reproduce: explore replay %s\n", shellQuote(v.path))
		} else {
			fmt.Fprintf(stdout, "reproduce: %s\n", c.command())
		}
	}
	switch {
	case unsaved:
		return exitUnsaved
	case len(o.reported()) > 0:
		return exitViolation
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "explore: cancelled (SIGINT or SIGTERM): the result above is partial")
		return exitCancelled
	}
	return exitOK
}

// contradictions rejects flags that would be accepted and then do nothing
// or contradict each other: a flag given twice, a seed or run count
// without a seeded strategy, warm-up rounds outside S3, workers for a
// strategy that runs on one, a PCT depth without PCT.
func contradictions(fs *flag.FlagSet, args []string, f runFlags) error {
	count := map[string]int{}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if fs.Lookup(name) != nil {
			count[name]++
		}
	}
	for _, name := range []string{"scenario", "source", "patch", "lang", "mutant", "abstraction", "memory", "strategy", "seed", "runs", "rounds", "workers", "out", "timeout"} {
		if count[name] > 1 {
			return usagef("--%s given %d times", name, count[name])
		}
	}
	set := func(name string) bool { return count[name] > 0 }
	seeded := traces.Seeded(f.strategy)
	switch {
	case set("seed") && !seeded:
		return usagef("--seed: only the random and pct strategies take a seed (--strategy %s does not)", f.strategy)
	case set("runs") && !seeded:
		return usagef("--runs: only the random and pct strategies make runs (--strategy %s does not)", f.strategy)
	case set("pct-depth") && f.strategy != traces.StrategyPCT:
		return usagef("--pct-depth: only with --strategy pct")
	case set("rounds") && !strings.EqualFold(f.scenario, "S3"):
		return usagef("--rounds: only S3 has warm-up rounds (--scenario %s)", f.scenario)
	case f.workers > 1 && f.strategy != traces.StrategyDFS && f.strategy != traces.StrategyBFS:
		return usagef("--workers %d: only the dfs and bfs strategies run in parallel (--strategy %s runs on one)", f.workers, f.strategy)
	}
	return nil
}

// saveTrace writes a counterexample (writeTrace; a test replaces it to
// make the write fail).
var saveTrace = writeTrace

// checkOut makes sure that traces can be written to dir before a search
// whose counterexample would otherwise be lost.
func checkOut(dir string) error {
	if dir == "" {
		return usagef("--out: empty directory name")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return usagef("--out %s: not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--out %s: cannot create it (%v)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".mimcheck-probe-*")
	if err != nil {
		return usagef("--out %s: cannot write there (%v)", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// search runs the configured strategy under ctx and the timeout. With
// progress it prints a line on diag every second while the search runs.
func (c *runConfig) search(ctx context.Context, diag io.Writer, progress bool) *outcome {
	if c.flags.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.flags.timeout)
		defer cancel()
	}
	ctx, unwatch := watchMemory(ctx, c.flags.memLimit)
	defer unwatch()
	var sys sched.System[model.State] = c.sys
	start := time.Now()
	opt := sched.Options{Workers: 1}
	if lim := c.flags.memLimit; lim > 0 && rss() >= 0 {
		// the visited table's growth is the one large allocation: refuse
		// it when it would take the process past --max-memory
		opt.Reserve = func(b int64) bool { return rss()+b <= lim }
	}
	if progress {
		p := &progressPrinter{w: diag, start: start, tty: isTerminal(diag)}
		if s := c.hdr.Strategy; s != traces.StrategyDFS && s != traces.StrategyBFS {
			// the engines without a progress hook: count their steps (dfs
			// and bfs report their own; a shared counter would be
			// contended by their workers)
			sys = countingSystem{System: c.sys, steps: &p.steps}
		}
		opt.Progress = p.update
		stop := p.run()
		defer stop()
	}
	f := c.flags
	var res sched.Result
	switch c.hdr.Strategy {
	case traces.StrategyRandom:
		res = sched.RandomWalk(ctx, sys, c.lim, c.hdr.Seed)
	case traces.StrategyPCT:
		res = sched.PCT(ctx, sys, c.lim, sched.PCTOptions{Depth: f.pctDepth, Runs: f.runs, Seed: c.hdr.Seed})
	case traces.StrategyDPOR:
		res = sched.DPOR(ctx, footprintSystem{countingSystem: asCounting(sys, c.sys)}, c.lim, opt)
	case traces.StrategySleep:
		res = sched.ExhaustiveSleep(ctx, footprintSystem{countingSystem: asCounting(sys, c.sys)}, c.lim, opt)
	case traces.StrategyBFS:
		opt.Workers = f.workers
		res = sched.BFS(ctx, sys, c.lim, opt)
	default:
		opt.Workers = f.workers
		if c.lim.MaxPreemptions >= 0 {
			res = sched.ContextBounded(ctx, sys, c.lim, c.lim.MaxPreemptions, opt)
		} else {
			res = sched.Exhaustive(ctx, sys, c.lim, opt)
		}
	}
	o := &outcome{cfg: c, res: res, limit: res.LimitHit, elapsed: time.Since(start)}
	switch {
	case errors.Is(context.Cause(ctx), errMemory):
		o.limit = renameLimit(res.LimitHit, "cancelled", "max-memory="+formatSize(c.flags.memLimit))
	case strings.Contains(res.LimitHit, "max-memory"):
		o.limit = renameLimit(res.LimitHit, "max-memory", "max-memory="+formatSize(c.flags.memLimit))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		o.limit = renameLimit(res.LimitHit, "cancelled", "timeout="+c.flags.timeout.String())
	}
	return o
}

// renameLimit replaces the item old of a comma-separated limit list.
func renameLimit(list, old, new string) string {
	items := strings.Split(list, ",")
	for k, it := range items {
		if it == old {
			items[k] = new
		}
	}
	return strings.Join(items, ",")
}

// countingSystem counts the steps of a search for the progress lines.
type countingSystem struct {
	traces.System
	steps *atomic.Int64
}

// footprintSystem exposes the footprints of the wrapped system to the
// reduced searches (sleep, dpor).
type footprintSystem struct{ countingSystem }

// Footprint returns the accesses of thread i's next step.
func (f footprintSystem) Footprint(s *model.State, i int, dst []sched.Access) []sched.Access {
	return f.System.Footprint(s, i, dst)
}

// asCounting returns sys as a countingSystem (a fresh counter when the
// search runs without progress lines).
func asCounting(sys sched.System[model.State], base traces.System) countingSystem {
	if cs, ok := sys.(countingSystem); ok {
		return cs
	}
	return countingSystem{System: base, steps: new(atomic.Int64)}
}

// Step counts and executes one step.
func (c countingSystem) Step(s *model.State, i int) string {
	c.steps.Add(1)
	return c.System.Step(s, i)
}

// progressPrinter shows a search's progress on stderr while it runs longer
// than a second: states, states/s, transitions, depth, frontier and
// executions (no estimate of the total: see sched.Options.Progress). On a
// terminal it is
// one line redrawn in place; otherwise a plain line every second.
type progressPrinter struct {
	w     io.Writer
	start time.Time
	tty   bool
	steps atomic.Int64
	mu    sync.Mutex
	last  sched.Progress
	have  bool
}

// update is the sched progress hook (it may be called from any worker).
func (p *progressPrinter) update(pr sched.Progress) {
	p.mu.Lock()
	p.last, p.have = pr, true
	p.mu.Unlock()
}

// run prints until the returned function is called; that function returns
// once the printing has stopped.
func (p *progressPrinter) run() func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var lastStates, lastSteps int64
		printed := false
		for {
			select {
			case <-done:
				if printed && p.tty {
					fmt.Fprintln(p.w)
				}
				return
			case <-tick.C:
				line := p.line(&lastStates, &lastSteps)
				if p.tty {
					fmt.Fprintf(p.w, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(p.w, line)
				}
				printed = true
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

func (p *progressPrinter) line(lastStates, lastSteps *int64) string {
	el := time.Since(p.start)
	steps := p.steps.Load()
	p.mu.Lock()
	pr, have := p.last, p.have
	p.mu.Unlock()
	if !have {
		line := fmt.Sprintf("progress: %s transitions=%d (%d/s)", seconds(el), steps, steps-*lastSteps)
		*lastSteps = steps
		return line
	}
	rate := pr.States - *lastStates
	*lastStates = pr.States
	line := fmt.Sprintf("progress: %s states=%d (%d/s) transitions=%d depth=%d frontier=%d executions=%d",
		seconds(el), pr.States, rate, pr.Transitions, pr.Depth, pr.Frontier, pr.Executions)
	return line
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// saveViolation minimises the violating schedule (unless told not to), records it as a trace,
// checks that the trace replays, and writes it into dir. A trace that
// cannot be written is reported with an empty path; a trace that does not
// replay is an internal error.
func (c *runConfig) saveViolation(v *sched.Found, dir string, corpus, minimize bool) (*violationReport, error) {
	inv, _ := traces.ViolationOf(v.Err)
	schedule := v.Schedule
	if minimize {
		schedule = traces.Minimize(c.sys, v.Schedule, inv)
	}
	tr, err := traces.RecordSystem(c.sys, c.hdr, schedule)
	if err != nil {
		return nil, fmt.Errorf("recording the violation: %w", err)
	}
	data := traces.Format(tr)
	back, err := traces.Parse("(generated trace)", data)
	if err == nil {
		_, err = traces.Replay(back)
	}
	if err != nil {
		return nil, fmt.Errorf("the generated trace does not replay: %w", err)
	}
	r := &violationReport{
		invariant:  tr.End.Invariant,
		detail:     tr.End.Detail,
		step:       tr.End.Step,
		steps:      len(tr.Steps),
		foundSteps: len(v.Schedule),
		switches:   properties.Switches(schedule),
		foundSw:    properties.Switches(v.Schedule),
	}
	for _, c := range tr.Comments {
		if strings.HasPrefix(c, " race: ") {
			r.race = strings.TrimPrefix(c, " ")
		}
	}
	r.siteKind, r.site, err = c.siteOf(schedule, v.Err)
	if err != nil {
		return nil, err
	}
	r.data = data
	r.path, r.writeErr = saveTrace(dir, traceName(&tr.Header, inv, corpus), data)
	return r, nil
}

// siteOf names the site of the violation err found at the end of
// schedule: the race key of a data race, the fault site (fault and step
// label) of an in-step precondition, or else the invariant's name.
func (c *runConfig) siteOf(schedule []int, err error) (kind, key string, _ error) {
	inv, _ := traces.ViolationOf(err)
	end, _, rerr := sched.Replay[model.State](c.sys, schedule)
	if rerr != nil {
		return "", "", fmt.Errorf("replaying the violation: %w", rerr)
	}
	code := model.FaultCode(end.Fault.Code)
	switch {
	case code == model.FaultDataRace:
		return siteRace, allocsim.RaceKeyOf(end.Fault), nil
	case code != model.FaultNone:
		if len(schedule) == 0 {
			return siteFault, allocsim.FaultSite(code, "init"), nil
		}
		prev, _, _ := sched.Replay[model.State](c.sys, schedule[:len(schedule)-1])
		return siteFault, c.sys.Sim.FaultSiteOf(&prev, schedule[len(schedule)-1], code), nil
	}
	return siteInvariant, inv, nil
}
