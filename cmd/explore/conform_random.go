package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/conform"
	"mimcheck/sched"
	"mimcheck/traces"
)

const conformRandomUsage = `usage: explore conform random --scenario FILE [flags]

Runs the scenario's mimalloc C code (release build) under schedules the
harness chooses, and the model follows each one (conform.FollowC): at every
model step boundary a seeded generator (--strategy random, or pct) picks a
thread whose C code can go on; that thread makes its step on the C code
(the C points of the step's accesses, at the sites the site table lists,
then its local work) and the model must take the same step, with equal
states whenever every thread waits before a step and at the end, and every
C access at a model location accounted for by the site table. A C run the
model cannot follow, or a state difference, is a divergence: both sides are
saved to --out (the model's trace of the run's step schedule, replayable
with explore replay and explore conform replay, and the C points of its
last steps). Divergences the README explains (conform.KnownDivergences: an
abstraction of the model, or a finding the C schedule reproduces) are
counted apart. Prints a progress line per --progress runs and a summary:
runs, distinct step schedules, steps, divergences.

Weak memory (ra, rc11) and msvc-c races are out of reach here: the harness
runs one thread at a time, so the C code is sequentially consistent.

Exit 0 when every divergence is a known one, 1 when one is not, 2 on bad
input, 5 on a harness failure.

Example:
  explore conform random --scenario scenarios/conform/s2.scn --source v2.3.0 --runs 1000

Flags:
`

func cmdConformRandom(args []string, stdout, stderr io.Writer) int {
	var scen, source, mimalloc, cache, out, strategy string
	runs, progress, maxSteps, workers := 100, 100, 5000, 1
	var seed uint64 = 1
	var quiet, asJSON bool
	fs := flag.NewFlagSet("conform random", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&scen, "scenario", "", "scenario FILE (its classes must map onto mimalloc's, see the README)")
	fs.StringVar(&source, "source", "v2.4.1", "mimalloc tag: "+strings.Join(allocsim.Sources(), ", "))
	fs.StringVar(&mimalloc, "mimalloc", "", "a mimalloc checkout at that tag (default: ../shared/third_party/mimalloc/TAG beside the repository)")
	fs.StringVar(&cache, "cache", "", "build directory (default: the user cache directory, mimcheck/conform)")
	fs.StringVar(&out, "out", "out", "directory for the two sides of a divergence")
	fs.StringVar(&strategy, "strategy", "random", "how the harness picks the next thread: random, or pct (random priorities, two change points)")
	fs.IntVar(&runs, "runs", runs, "C runs (seeds --seed, --seed+1, ...)")
	fs.Uint64Var(&seed, "seed", seed, "first seed")
	fs.IntVar(&maxSteps, "max-steps", maxSteps, "model steps after which a run counts as not ending")
	fs.IntVar(&progress, "progress", progress, "print a progress line on stderr every N runs (0: none)")
	fs.IntVar(&workers, "workers", workers, "runs in parallel (each its own harness process); the result does not depend on it")
	fs.BoolVar(&quiet, "quiet", false, "print nothing on stderr but errors")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object on stdout instead of the text")
	pos, code, done := parseCommand(fs, args, "", conformRandomUsage, false, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(pos) > 0:
		return fail(stderr, usagef("conform random: unexpected argument %q", pos[0]))
	case scen == "":
		return fail(stderr, usagef("conform random: --scenario FILE is required"))
	case runs < 1:
		return fail(stderr, usagef("--runs %d: must be >= 1", runs))
	case maxSteps < 1:
		return fail(stderr, usagef("--max-steps %d: must be >= 1", maxSteps))
	case progress < 0:
		return fail(stderr, usagef("--progress %d: must be >= 0", progress))
	case workers < 1:
		return fail(stderr, usagef("--workers %d: must be >= 1", workers))
	case seed == 0:
		return fail(stderr, usagef("--seed 0: seeds start at 1"))
	case strategy != traces.StrategyRandom && strategy != traces.StrategyPCT:
		return fail(stderr, usagef("--strategy %q: want random or pct", strategy))
	}
	src, err := allocsim.ParseSource(source)
	if err != nil {
		return fail(stderr, usagef("--source: %v", err))
	}
	var h traces.Header
	if err := scenarioHeader(&h, scen, 0); err != nil {
		return fail(stderr, err)
	}
	if h.Builtin() {
		return fail(stderr, usagef("conform random: built-in scenario %s has no C counterpart (its classes are scaled down); use a file of scenarios/conform/", h.Scenario))
	}
	sc, err := h.LoadScenario()
	if err != nil {
		return fail(stderr, scenarioErr(scen, err))
	}
	if _, err := conform.Config(sc, src); err != nil {
		return fail(stderr, usagef("%v", err))
	}
	fl := conform.Release
	if sc.Stats { // the statistics build (see conform.FlavourFits)
		fl = conform.Stats
	}
	bin, err := conformBuild(mimalloc, cache, source, fl)
	if err != nil {
		return fail(stderr, err)
	}
	diag := stderr
	if quiet {
		diag = io.Discard
	}
	h.Source, h.Abstraction, h.Memory, h.Strategy = src, allocsim.Full, allocsim.MemSC, strategy
	type divergence struct {
		Seed    uint64 `json:"seed"`
		Step    int    `json:"step"`
		What    string `json:"what"`
		Known   string `json:"known,omitempty"`
		Finding bool   `json:"finding,omitempty"`
		Trace   string `json:"trace,omitempty"`
		CLog    string `json:"c_points,omitempty"`
	}
	var divs []divergence
	distinct := map[[2]uint64]bool{}
	steps, unexplained, known := 0, 0, 0
	fmt.Fprintf(diag, "conform random scenario=%s source=%s strategy=%s runs=%d seed=%d workers=%d\n", sc.Name, source, strategy, runs, seed, workers)
	fmt.Fprintf(diag, "note: the harness runs one thread at a time, so the C code is sequentially consistent: weak-memory (ra, rc11) outcomes and msvc-c races are not reached here\n")
	// the runs go to the workers in seed order and come back in seed order
	type result struct {
		r   *conform.StepResult
		err error
	}
	jobs := make(chan int)
	results := make([]chan result, runs)
	for k := range results {
		results[k] = make(chan result, 1)
	}
	for w := 0; w < workers; w++ {
		go func() {
			for k := range jobs {
				r, err := conform.FollowC(bin, sc, allocsim.Config{Source: src}, seed+uint64(k), maxSteps, nil, strategy == traces.StrategyPCT)
				results[k] <- result{r, err}
			}
		}()
	}
	go func() {
		for k := 0; k < runs; k++ {
			jobs <- k
		}
		close(jobs)
	}()
	for k := 0; k < runs; k++ {
		sd := seed + uint64(k)
		rr := <-results[k]
		r, err := rr.r, rr.err
		if err != nil {
			fmt.Fprintf(stderr, "explore: internal: seed %d: %s\n", sd, oneLine(err.Error()))
			return exitInternal
		}
		steps += r.Steps
		distinct[scheduleHash(r.Schedule)] = true
		if r.Mismatch != nil || r.Crash != nil {
			what := ""
			if r.Mismatch != nil {
				what = r.Mismatch.What
			}
			if r.Crash != nil {
				what = strings.TrimSpace(what + " C code stopped: " + oneLine(r.Crash.Error()))
			}
			d := divergence{Seed: sd, Step: r.Steps - 1, What: what}
			if kd := conform.KnownDivergence(sc.Name, src, what); kd != nil && r.Crash == nil {
				d.Known, d.Finding = kd.Why, kd.Finding
				known++
			} else {
				unexplained++
				hh := h
				hh.Seed = sd
				hh.Comments = []string{fmt.Sprintf(" found by: explore conform random --scenario %s --source %s --strategy %s --seed %d --runs 1", scen, source, strategy, sd)}
				if tr, err := traces.Record(hh, r.Schedule); err == nil {
					d.Trace, _ = writeTrace(out, fmt.Sprintf("conform-random--%s-%s-seed%d", fileSafe(sc.Name), source, sd), traces.Format(tr))
				}
				var b strings.Builder
				fmt.Fprintf(&b, "# explore conform random: %s %s seed %d\n# %s\n", sc.Name, source, sd, what)
				if r.Mismatch != nil {
					fmt.Fprintf(&b, "# model: %s\n# C:     %s\n", r.Mismatch.Model, r.Mismatch.C)
					for _, p := range r.Mismatch.LastC {
						fmt.Fprintf(&b, "%s\n", p)
					}
				}
				d.CLog, _ = writeLog(out, fmt.Sprintf("conform-random--%s-%s-seed%d.log", fileSafe(sc.Name), source, sd), b.String())
				fmt.Fprintf(diag, "seed %d: %s\n", sd, what)
			}
			divs = append(divs, d)
		}
		if progress > 0 && (k+1)%progress == 0 {
			fmt.Fprintf(diag, "[%d/%d] runs, %d distinct schedules, %d steps, %d known and %d unexplained divergences\n", k+1, runs, len(distinct), steps, known, unexplained)
		}
	}
	verdict := "ok"
	if unexplained > 0 {
		verdict = "divergence"
	}
	if asJSON {
		if divs == nil {
			divs = []divergence{}
		}
		j, _ := json.MarshalIndent(map[string]any{
			"schema": jsonSchema, "verdict": verdict, "scenario": sc.Name, "source": source, "strategy": strategy, "seed": seed,
			"runs": runs, "distinct_schedules": len(distinct), "steps": steps,
			"known_divergences": known, "unexplained_divergences": unexplained, "divergences": divs,
		}, "", "  ")
		fmt.Fprintf(stdout, "%s\n", j)
	} else {
		fmt.Fprintf(stdout, "result=%s mode=random scenario=%s source=%s strategy=%s runs=%d distinct=%d steps=%d known=%d unexplained=%d\n",
			verdict, sc.Name, source, strategy, runs, len(distinct), steps, known, unexplained)
		seen := map[string]bool{}
		for _, d := range divs {
			switch {
			case d.Known != "" && !seen[d.Known]:
				seen[d.Known] = true
				fmt.Fprintf(stdout, "known (first at seed %d): %s\n", d.Seed, d.Known)
			case d.Known == "":
				fmt.Fprintf(stdout, "divergence seed=%d step=%d what=%q trace=%s c_points=%s\n", d.Seed, d.Step, d.What, d.Trace, d.CLog)
			}
		}
	}
	if unexplained > 0 {
		return exitViolation
	}
	return exitOK
}

// scheduleHash is a fingerprint of a step schedule (distinct schedules).
func scheduleHash(s []int) [2]uint64 {
	b := make([]byte, len(s))
	for i, t := range s {
		b[i] = byte(t)
	}
	return sched.Hash128(b)
}

// writeLog writes text to dir/name and returns the path.
func writeLog(dir, name, text string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, []byte(text), 0o644)
}
