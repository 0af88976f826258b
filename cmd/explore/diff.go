package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/sched"
	"mimcheck/traces"
)

// diffUsage is the help text of explore diff.
const diffUsage = `usage: explore diff [flags] VARIANT_A VARIANT_B

Explores two variants of one scenario in lock-step — every step runs the
same thread (and reads the same store) on both sides — breadth-first, and
reports either that no schedule distinguishes them (and how complete that
search was) or the shortest schedule after which they differ, with the
differing fields and one trace per side in --out.

A variant is a patch set (none, A, B, C, A+B, ...), optionally followed by
comma-separated overrides of the flags below: source=TAG, lang=L,
memory=M, races=on|off, mutant=NAME. For example "none B" (patch B's
effect), "none,lang=msvc-c A,lang=msvc-c", "none none,source=v2.3.0".

What is compared after every step (traces.Product.Observe): the
allocator's shared state (segments, slices and pages with their block
lists, delayed-free mode and retire_expire, the abandoned bitmap, count
and OS list, locks, every thread's span queues and the blocks its
operations returned, mailboxes, the fault), the invariants' verdicts, and
which threads can step; not program counters and cursors, and not the
memory-model state (clocks, store histories). --modes adds the kind and
memory order of every access; --verdicts-only leaves the allocator state
out (the sides may then drift apart in state and go on in lock-step).

Exit codes: 0 no schedule distinguishes them (complete, or partial with
the limit named), 1 a distinguishing schedule was found, 2 usage or input
error, 3 found but a trace could not be written, 5 internal error,
6 cancelled.

Example:
  explore diff --scenario S2 none A
  explore diff --scenario S2 --source v2.3.0 none B

Flags:
`

// diffFlags are explore diff's own flags (the shared ones are in runFlags).
type diffFlags struct {
	modes, verdictsOnly bool
}

func cmdDiff(args []string, stdout, stderr io.Writer) int {
	f := defaultRunFlags()
	f.scenario = "S2"
	f.strategy = traces.StrategyBFS
	var d diffFlags
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.scenario, "scenario", f.scenario, "builtin scenario `S1|S2|S3`, or a scenario FILE")
	fs.StringVar(&f.source, "source", f.source, "mimalloc tag modelled by both sides: "+strings.Join(allocsim.Sources(), ", "))
	fs.StringVar(&f.lang, "lang", f.lang, "language mode of both sides: "+strings.Join(allocsim.Langs(), ", "))
	fs.StringVar(&f.memory, "memory", f.memory, "memory model of both sides: sc, ra, rc11")
	fs.BoolVar(&f.noRaces, "no-races", f.noRaces, "do not track happens-before or check no-data-race (sc only)")
	fs.StringVar(&f.abstraction, "abstraction", f.abstraction, "abstraction: "+strings.Join(allocsim.Abstractions(), ", "))
	fs.StringVar(&f.mutant, "mutant", f.mutant, "seeded bug of both sides: none, "+strings.Join(allocsim.Mutants(), ", "))
	fs.IntVar(&f.rounds, "rounds", f.rounds, "warm-up rounds of S3 (0..20)")
	fs.BoolVar(&d.modes, "modes", false, "also compare the kind and memory order of every access (both sides must track races)")
	fs.BoolVar(&d.verdictsOnly, "verdicts-only", false, "compare only the invariants' verdicts and which threads can step, not the allocator state (does the change alter any verdict?)")
	fs.IntVar(&f.workers, "workers", f.workers, "worker threads of the breadth-first search (the same shortest schedule for any N)")
	fs.IntVar(&f.maxDepth, "max-depth", f.maxDepth, "longest schedule explored (0: no limit)")
	fs.IntVar(&f.maxStates, "max-states", f.maxStates, "most pairs of states stored (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", f.timeout, "stop the search after this long, giving a partial result (0: none)")
	fs.StringVar(&f.out, "out", f.out, "directory for the two trace files (created if needed)")
	fs.BoolVar(&f.json, "json", f.json, "print one JSON object on stdout instead of the text report")
	fs.BoolVar(&f.quiet, "quiet", f.quiet, "print nothing on stderr but errors")
	fs.BoolVar(&f.noTime, "no-time", f.noTime, "report elapsed_s as 0 in --json, for byte-identical output")
	pos, code, done := parseCommand(fs, args, "", diffUsage, false, stdout, stderr)
	if done {
		return code
	}
	if len(pos) != 2 {
		return fail(stderr, usagef("diff: want two variants (VARIANT_A VARIANT_B), got %d argument(s)", len(pos)))
	}
	if f.noRaces && d.modes {
		return fail(stderr, usagef("--modes: needs race tracking (the access modes are recorded with happens-before); drop --no-races"))
	}
	if d.modes && d.verdictsOnly {
		return fail(stderr, usagef("--modes: not with --verdicts-only (which compares verdicts alone)"))
	}
	if f.workers < 1 {
		return fail(stderr, usagef("--workers %d: must be >= 1", f.workers))
	}
	if err := checkOut(f.out); err != nil {
		return fail(stderr, err)
	}
	diag := stderr
	if f.quiet {
		diag = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, unsaved, err := diffVariants(ctx, f, d, pos, diag, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	res := r.res
	if f.json {
		if err := writeJSON(stdout, r); err != nil {
			return fail(stderr, err)
		}
	} else {
		r.text(stdout)
	}
	switch {
	case unsaved:
		return exitUnsaved
	case res.Violation != nil:
		return exitViolation
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "explore: cancelled (SIGINT or SIGTERM): the result above is partial")
		return exitCancelled
	}
	return exitOK
}

// diffVariants runs the lock-step search of the variants pos[0] and pos[1]
// over the shared flags f and writes one trace per side into f.out when a
// schedule distinguishes them. unsaved: a trace could not be written (it
// went to stderr).
func diffVariants(ctx context.Context, f runFlags, d diffFlags, pos []string, diag, stderr io.Writer) (r *diffReport, unsaved bool, _ error) {
	var sides [2]*runConfig
	for k, v := range pos {
		vf, err := applyVariant(f, v)
		if err != nil {
			return nil, false, err
		}
		c, err := vf.resolve()
		if err != nil {
			return nil, false, usagef("variant %q: %s", v, err.Error())
		}
		if d.modes && c.hdr.NoMemory {
			return nil, false, usagef("--modes: variant %q does not track races (spin abstraction or races=off)", v)
		}
		c.hdr.Comments = []string{" found by: " + diffCommand(f, d, pos), fmt.Sprintf(" side %c of the diff: variant %s", 'A'+k, v)}
		sides[k] = c
	}
	if err := sameScenario(sides[0], sides[1]); err != nil {
		return nil, false, err
	}
	fmt.Fprintf(diag, "A: %s\nB: %s\n", sides[0].configLine(), sides[1].configLine())

	sctx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	prod := traces.Product{A: sides[0].sys, B: sides[1].sys, Modes: d.modes, VerdictsOnly: d.verdictsOnly}
	start := time.Now()
	res := sched.BFS[traces.Pair](sctx, prod, sched.Limits{MaxDepth: f.maxDepth, MaxPreemptions: -1, MaxStates: f.maxStates}, sched.Options{Workers: f.workers})
	elapsed := time.Since(start)
	limit := res.LimitHit
	if errors.Is(sctx.Err(), context.DeadlineExceeded) {
		limit = renameLimit(limit, "cancelled", "timeout="+f.timeout.String())
	}
	r = &diffReport{Schema: 1, res: res, Scenario: sides[0].hdr.ScenarioName(), A: pos[0], B: pos[1],
		ConfigA: sides[0].configLine(), ConfigB: sides[1].configLine(),
		Complete: res.Complete, Limit: limit, States: res.States, Transitions: res.Transitions,
		ElapsedS: elapsed.Seconds()}
	if f.noTime {
		r.ElapsedS = 0
	}
	if v := res.Violation; v != nil {
		var dif *traces.Difference
		if !errors.As(v.Err, &dif) {
			return nil, false, fmt.Errorf("diff: the product search reported %v", v.Err)
		}
		r.Verdict = "distinguished"
		r.What, r.Final = dif.What, dif.Final
		r.Fields = strings.Fields(dif.Fields)
		if dif.What != "state" {
			r.Fields = []string{dif.Fields}
		}
		if dif.What == "modes" && len(v.Schedule) > 0 {
			n := len(v.Schedule) - 1
			sa, _, erra := sched.Replay[model.State](sides[0].sys, v.Schedule[:n])
			sb, _, errb := sched.Replay[model.State](sides[1].sys, v.Schedule[:n])
			if erra != nil || errb != nil {
				return nil, false, fmt.Errorf("diff: replaying the distinguishing schedule: %v %v", erra, errb)
			}
			r.Fields = prod.ModesDiff(&sa, &sb, v.Schedule[n])
		}
		r.Schedule = v.Schedule
		r.Labels = v.Labels
		for k, c := range sides {
			tr, err := traces.RecordSystem(c.sys, c.hdr, v.Schedule)
			if err != nil {
				return nil, false, fmt.Errorf("recording side %c: %w", 'A'+k, err)
			}
			data := traces.Format(tr)
			name := fmt.Sprintf("diff--%s-%s--%c-%s", traceBase(&c.hdr), c.hdr.Source, 'A'+k, strings.NewReplacer(",", "_", "=", "-").Replace(pos[k]))
			path, werr := saveTrace(f.out, name, data)
			if werr != nil {
				fmt.Fprintf(stderr, "explore: cannot write the trace of side %c: %s; the trace follows\n%s", 'A'+k, oneLine(werr.Error()), data)
				unsaved = true
			}
			r.Traces = append(r.Traces, path)
			r.Ends = append(r.Ends, endOf(tr))
		}
	} else {
		r.Verdict = "identical"
	}
	fmt.Fprintf(diag, "done: %s in %s: %d pairs of states, %d transitions\n", r.Verdict, seconds(elapsed), res.States, res.Transitions)
	return r, unsaved, nil
}

// applyVariant returns f with the variant v applied: a patch set (patches
// joined by +), then key=value overrides.
func applyVariant(f runFlags, v string) (runFlags, error) {
	items := strings.Split(v, ",")
	if strings.TrimSpace(items[0]) == "" || strings.Contains(items[0], "=") {
		return f, usagef("variant %q: want a patch set first (none, A, B, C, A+B, ...), then key=value overrides", v)
	}
	f.patch = strings.ReplaceAll(items[0], "+", ",")
	for _, it := range items[1:] {
		key, val, ok := strings.Cut(it, "=")
		if !ok || val == "" {
			return f, usagef("variant %q: %q is not key=value (keys: source, lang, memory, races, mutant)", v, it)
		}
		switch key {
		case "source":
			f.source = val
		case "lang":
			f.lang = val
		case "memory":
			f.memory = val
		case "mutant":
			f.mutant = val
		case "races":
			switch val {
			case "on":
				f.noRaces = false
			case "off":
				f.noRaces = true
			default:
				return f, usagef("variant %q: races=%s (want on or off)", v, val)
			}
		default:
			return f, usagef("variant %q: unknown key %q (keys: source, lang, memory, races, mutant)", v, key)
		}
	}
	return f, nil
}

// sameScenario rejects two sides that cannot step in lock-step: another
// thread count (a scenario's threads differ across sources only in their
// initialisation, which both sides share).
func sameScenario(a, b *runConfig) error {
	if a.sys.Sim.Threads() != b.sys.Sim.Threads() {
		return usagef("diff: the variants run %d and %d threads", a.sys.Sim.Threads(), b.sys.Sim.Threads())
	}
	return nil
}

// diffCommand is the command line that reproduces a diff.
func diffCommand(f runFlags, d diffFlags, pos []string) string {
	parts := []string{"explore", "diff", "--scenario", shellQuote(f.scenario), "--source", f.source, "--lang", f.lang}
	if f.abstraction != "full" {
		parts = append(parts, "--abstraction", f.abstraction)
	}
	if f.noRaces {
		parts = append(parts, "--no-races")
	} else if f.memory != "sc" {
		parts = append(parts, "--memory", f.memory)
	}
	if f.mutant != "none" {
		parts = append(parts, "--mutant", f.mutant)
	}
	if d.modes {
		parts = append(parts, "--modes")
	}
	if d.verdictsOnly {
		parts = append(parts, "--verdicts-only")
	}
	if f.maxDepth > 0 {
		parts = append(parts, "--max-depth", fmt.Sprint(f.maxDepth))
	}
	if f.maxStates > 0 {
		parts = append(parts, "--max-states", fmt.Sprint(f.maxStates))
	}
	if f.timeout > 0 {
		parts = append(parts, "--timeout", f.timeout.String())
	}
	return strings.Join(append(parts, shellQuote(pos[0]), shellQuote(pos[1])), " ")
}

// traceBase is the scenario part of a diff trace's file name.
func traceBase(h *traces.Header) string {
	scen := h.ScenarioName()
	if !h.Builtin() {
		scen = strings.TrimSuffix(scen, filepath.Ext(scen))
	}
	return scen
}

// endOf says how a recorded side ends: ok or its violation.
func endOf(tr *traces.Trace) string {
	if tr.End.Invariant == "" {
		return "ok"
	}
	return tr.End.Invariant
}

// diffReport is the result of explore diff (also its --json object).
type diffReport struct {
	Schema      int      `json:"schema"`
	Scenario    string   `json:"scenario"`
	A           string   `json:"variant_a"`
	B           string   `json:"variant_b"`
	ConfigA     string   `json:"config_a"`
	ConfigB     string   `json:"config_b"`
	Verdict     string   `json:"verdict"` // identical or distinguished
	Complete    bool     `json:"complete"`
	Limit       string   `json:"limit,omitempty"`
	States      int64    `json:"states"` // pairs of states
	Transitions int64    `json:"transitions"`
	ElapsedS    float64  `json:"elapsed_s"`
	What        string   `json:"what,omitempty"` // state, verdict, enabled, modes
	Final       bool     `json:"final,omitempty"`
	Fields      []string `json:"fields,omitempty"`
	Schedule    []int    `json:"schedule,omitempty"`
	Labels      []string `json:"labels,omitempty"`
	Traces      []string `json:"traces,omitempty"` // side A's, side B's
	Ends        []string `json:"ends,omitempty"`   // how each side's trace ends

	res sched.Result
}

func (r *diffReport) text(w io.Writer) {
	fmt.Fprintf(w, "diff %s: A = %s, B = %s\n", r.Scenario, r.A, r.B)
	if r.Verdict == "identical" {
		how := "search complete"
		if !r.Complete {
			how = "partial, limit " + r.Limit
		}
		fmt.Fprintf(w, "no schedule distinguishes them (%s): %d pairs of states, %d transitions\n", how, r.States, r.Transitions)
		return
	}
	fmt.Fprintf(w, "distinguished after %d steps (shortest; %d pairs of states explored):\n", len(r.Schedule), r.States)
	for k, i := range r.Schedule {
		fmt.Fprintf(w, "  %3d  %s  %s\n", k+1, traces.ChoiceName(i), r.Labels[k])
	}
	switch r.What {
	case "state":
		fmt.Fprintln(w, "the allocator states differ (field=A->B):")
	case "verdict":
		if r.Final {
			fmt.Fprintln(w, "the end-state checks differ (A -> B):")
		} else {
			fmt.Fprintln(w, "the invariants' verdicts differ (A -> B):")
		}
	case "enabled":
		fmt.Fprintln(w, "the threads that can step differ (A -> B):")
	case "modes":
		fmt.Fprintln(w, "the last step's accesses differ in kind or memory order (A -> B):")
	}
	for _, x := range r.Fields {
		fmt.Fprintf(w, "  %s\n", x)
	}
	for k, p := range r.Traces {
		if p == "" {
			p = "(not written)"
		}
		fmt.Fprintf(w, "trace %c (ends %s): %s\n", 'A'+k, r.Ends[k], p)
	}
}
