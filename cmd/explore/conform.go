package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"mimcheck/allocsim"
	"mimcheck/conform"
	"mimcheck/traces"
)

const conformUsage = `usage: explore conform --scenario FILE [flags]

Builds the --source tag's mimalloc (src/static.c) with generated
instrumentation and mimcheck's harness (conform/), in each --flavour, and
runs the scenario's threads on that C code, one at a time: at every
scheduling point (every mi_atomic operation, lock operation and direct
access to an _Atomic field that the model treats as a step) a seeded
generator picks the thread that goes on. A run fails when mimalloc's own
assertions (debug), AddressSanitizer (asan) or the harness stop it, or when
it deadlocks or does not end. The same flags and seeds give the same runs.

With --compare the model and the C code run under the same seeded schedule
of whole operations and their end states are compared; with --follow they
run under the same schedule of model steps and the states are compared
after every step (exit 4 on a divergence that the README does not explain;
known ones, conform.KnownDivergences, are counted).

The scenario's classes must have a C counterpart (README, conformance):
1 slice with 8 blocks and path=generic (8 KiB requests), or k >= 2 slices
with 1 block (k >= 3 at v2.1.7), or huge. Every C point the model has no
step for must be explained by the site table (conform/sitetable.go).

Example:
  explore conform --scenario scenarios/conform/s1.scn --runs 50
  explore conform replay TRACE      (explore conform replay -h)
  explore conform random --scenario scenarios/conform/s2.scn --runs 1000   (C's schedules, the model follows; -h)
  explore conform sites --source v2.4.1   (the site table; explore conform sites -h)

Flags:
`

type conformFlags struct {
	scenario  string
	source    string
	mimalloc  string
	flavours  string
	runs      int
	seed      uint64
	maxPoints int
	out       string
	cache     string
	quiet     bool
	compare   bool
	follow    bool
	maxSteps  int
	workers   int
	miOptions miOptionList
}

// miOptionList is the repeatable --mi-option NAME=VALUE: mimalloc options
// of the C run that the model does not have (purging is not modelled).
type miOptionList []string

var miOptionNames = []string{"purge_delay", "purge_decommits"}

func (l *miOptionList) String() string { return strings.Join(*l, ",") }

func (l *miOptionList) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want NAME=VALUE")
	}
	if !slices.Contains(miOptionNames, name) {
		return fmt.Errorf("unknown mimalloc option %q (want one of %s)", name, strings.Join(miOptionNames, ", "))
	}
	if _, err := strconv.Atoi(val); err != nil {
		return fmt.Errorf("option %s wants a number", name)
	}
	*l = append(*l, "option "+name+" "+val)
	return nil
}

func cmdConform(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "replay" {
		return cmdConformReplay(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "random" {
		return cmdConformRandom(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "sites" {
		return cmdConformSites(args[1:], stdout, stderr)
	}
	f := conformFlags{source: "v2.4.1", flavours: "release,debug,asan", runs: 20, seed: 1, maxPoints: 200000, out: "out", workers: 4}
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.scenario, "scenario", "", "scenario FILE (its classes must map onto mimalloc's, see the README)")
	fs.StringVar(&f.source, "source", f.source, "mimalloc tag: "+strings.Join(allocsim.Sources(), ", "))
	fs.StringVar(&f.mimalloc, "mimalloc", "", "a mimalloc checkout at that tag (default: ../shared/third_party/mimalloc/TAG beside the repository)")
	fs.StringVar(&f.flavours, "flavour", f.flavours, "comma list of builds: release, debug (MI_DEBUG=3: mimalloc's own assertions), asan (AddressSanitizer), stats (release with MI_STAT=1: for, and only for, a scenario with option stats, whose default it is)")
	fs.IntVar(&f.runs, "runs", f.runs, "runs per flavour (seeds --seed, --seed+1, ...)")
	fs.Uint64Var(&f.seed, "seed", f.seed, "first seed")
	fs.IntVar(&f.maxPoints, "max-points", f.maxPoints, "scheduling points after which a run counts as not ending")
	fs.StringVar(&f.out, "out", f.out, "directory for the log of a failing run")
	fs.StringVar(&f.cache, "cache", "", "build directory (default: the user cache directory, mimcheck/conform)")
	fs.BoolVar(&f.quiet, "quiet", false, "print nothing on stderr but errors")
	fs.BoolVar(&f.compare, "compare", false, "compare with the model: run both under the same schedule of whole operations (seeded) and compare their end states; a model violation on that schedule is reported with what the C code did")
	fs.BoolVar(&f.follow, "follow", false, "follow the model step by step: run the model under a seeded schedule of model steps and the C code under the same schedule (each step the C points of its shared accesses, then the thread's local work), comparing the states after every step")
	fs.IntVar(&f.maxSteps, "max-steps", 5000, "model steps per --follow run")
	fs.IntVar(&f.workers, "workers", f.workers, "runs in parallel (each its own harness process; a run mostly waits for the C code, so more workers than cores pay); the output does not depend on it: runs are reported in seed order")
	fs.Var(&f.miOptions, "mi-option", "a mimalloc option of the C run, NAME=VALUE (repeatable): "+strings.Join(miOptionNames, ", ")+"; not modelled")
	_, code, done := parseCommand(fs, args, "conform", conformUsage, true, stdout, stderr)
	if done {
		return code
	}
	switch {
	case f.scenario == "":
		return fail(stderr, usagef("conform: --scenario FILE is required"))
	case f.runs < 1:
		return fail(stderr, usagef("--runs %d: must be >= 1", f.runs))
	case f.maxPoints < 1:
		return fail(stderr, usagef("--max-points %d: must be >= 1", f.maxPoints))
	case f.maxSteps < 1:
		return fail(stderr, usagef("--max-steps %d: must be >= 1", f.maxSteps))
	case f.workers < 1:
		return fail(stderr, usagef("--workers %d: must be >= 1", f.workers))
	case f.compare && f.follow:
		return fail(stderr, usagef("--compare and --follow: choose one"))
	}
	src, err := allocsim.ParseSource(f.source)
	if err != nil {
		return fail(stderr, usagef("--source: %v", err))
	}
	var flavours []conform.Flavour
	for _, s := range strings.Split(f.flavours, ",") {
		fl, err := conform.ParseFlavour(strings.TrimSpace(s))
		if err != nil {
			return fail(stderr, usagef("--flavour: %v", err))
		}
		flavours = append(flavours, fl)
	}
	var h traces.Header
	if err := scenarioHeader(&h, f.scenario, 0); err != nil {
		return fail(stderr, err)
	}
	sc, err := h.LoadScenario()
	if err != nil {
		return fail(stderr, scenarioErr(f.scenario, err))
	}
	cfg, err := conform.Config(sc, src)
	if err != nil {
		return fail(stderr, usagef("%v", err))
	}
	if sc.Stats && f.flavours == "release,debug,asan" { // the default: a statistics build instead
		f.flavours, flavours = string(conform.Stats), []conform.Flavour{conform.Stats}
	}
	for _, fl := range flavours {
		if err := conform.FlavourFits(sc, fl); err != nil {
			return fail(stderr, usagef("%v", err))
		}
	}
	cfg = conform.WithOptions(cfg, f.miOptions)
	dir, err := conformSources(f.mimalloc, f.source)
	if err != nil {
		return fail(stderr, err)
	}
	cache := conformCache(f.cache)
	diag := stderr
	if f.quiet {
		diag = io.Discard
	}
	fmt.Fprintf(diag, "conform scenario=%s source=%s mimalloc=%s flavours=%s runs=%d seed=%d\n", sc.Name, f.source, dir, f.flavours, f.runs, f.seed)
	total, sites := 0, map[string]bool{}
	known, knownWhy := 0, map[string]uint64{} // --follow: divergences the README explains
	for _, fl := range flavours {
		bin, err := conform.Build(dir, fl, filepath.Join(cache, f.source))
		if err != nil {
			return fail(stderr, fmt.Errorf("building %s (%s): %v", f.source, fl, err))
		}
		points := 0
		if f.follow {
			steps := 0
			type followRun struct {
				r   *conform.StepResult
				err error
			}
			runs := make([]followRun, f.runs)
			inParallel(f.runs, f.workers, func(k int) {
				runs[k].r, runs[k].err = conform.FollowSteps(bin, sc, allocsim.Config{Source: src}, f.seed+uint64(k), f.maxSteps, f.miOptions, nil)
			})
			for k := 0; k < f.runs; k++ {
				seed := f.seed + uint64(k)
				r, err := runs[k].r, runs[k].err
				if err != nil {
					fmt.Fprintf(stdout, "result=violation source=%s flavour=%s seed=%d error=%q\n", f.source, fl, seed, oneLine(err.Error()))
					return exitViolation
				}
				steps += r.Steps
				if r.Crash != nil {
					fmt.Fprintf(stdout, "result=violation source=%s flavour=%s seed=%d step=%d error=%q\n", f.source, fl, seed, r.Steps-1, oneLine(r.Crash.Error()))
					return exitViolation
				}
				if mm := r.Mismatch; mm != nil && r.Crash == nil {
					if kd := conform.KnownDivergence(sc.Name, src, mm.What); kd != nil {
						known++ // the README explains it (conform.KnownDivergences)
						if knownWhy[kd.Why] == 0 {
							knownWhy[kd.Why] = seed
						}
						continue
					}
				}
				if mm := r.Mismatch; mm != nil {
					fmt.Fprintf(diag, "%s seed %d: %s\n", fl, seed, mm.What)
					for j := max(0, len(r.Labels)-8); j < len(r.Labels); j++ {
						fmt.Fprintf(diag, "  step %d T%d %s\n", j, r.Schedule[j]+1, r.Labels[j])
					}
					fmt.Fprintf(stdout, "result=divergence source=%s flavour=%s seed=%d step=%d what=%q\n", f.source, fl, seed, r.Steps, mm.What)
					fmt.Fprintf(stdout, "model: %s\nC:     %s\n", mm.Model, mm.C)
					return exitDiverged
				}
			}
			fmt.Fprintf(diag, "%s: %d step schedules (%d steps), the C code follows the model\n", fl, f.runs, steps)
			continue
		}
		if f.compare {
			type compareRun struct {
				mm  *conform.Mismatch
				err error
			}
			runs := make([]compareRun, f.runs)
			inParallel(f.runs, f.workers, func(k int) {
				runs[k].mm, runs[k].err = conform.CompareOps(bin, sc, allocsim.Config{Source: src}, f.seed+uint64(k), f.miOptions)
			})
			for k := 0; k < f.runs; k++ {
				seed := f.seed + uint64(k)
				mm, err := runs[k].mm, runs[k].err
				if err != nil {
					fmt.Fprintf(stdout, "result=violation source=%s flavour=%s seed=%d error=%q\n", f.source, fl, seed, oneLine(err.Error()))
					return exitViolation
				}
				if mm != nil {
					fmt.Fprintf(diag, "%s seed %d: %v\n", fl, seed, mm)
					fmt.Fprintf(stdout, "result=mismatch source=%s flavour=%s seed=%d operations=%v what=%q\n", f.source, fl, seed, mm.Ops, mm.What)
					fmt.Fprintf(stdout, "model: %s\nC:     %s\n", mm.Model, mm.C)
					return exitViolation
				}
			}
			fmt.Fprintf(diag, "%s: %d operation schedules, model and C agree\n", fl, f.runs)
			continue
		}
		results := make([]conform.Result, f.runs)
		inParallel(f.runs, f.workers, func(k int) {
			results[k] = conform.RunRandom(bin, cfg, f.seed+uint64(k), f.maxPoints)
		})
		for k := 0; k < f.runs; k++ {
			seed := f.seed + uint64(k)
			r := results[k]
			points += r.Points
			for s := range r.Sites {
				sites[s] = true
			}
			if r.Err != nil {
				path, werr := writeConformLog(f.out, sc.Name, f.source, fl, seed, &r)
				fmt.Fprintf(diag, "%s seed %d: %v\n", fl, seed, r.Err)
				if werr != nil {
					fmt.Fprintf(stderr, "explore: cannot write the log: %s\n", oneLine(werr.Error()))
				}
				fmt.Fprintf(stdout, "result=violation source=%s flavour=%s seed=%d points=%d error=%q log=%s\n", f.source, fl, seed, r.Points, oneLine(r.Err.Error()), path)
				fmt.Fprintf(stdout, "reproduce: explore conform --scenario %s --source %s --flavour %s --seed %d --runs 1\n", shellQuote(f.scenario), f.source, fl, seed)
				return exitViolation
			}
		}
		total += points
		fmt.Fprintf(diag, "%s: %d runs ended, %d scheduling points\n", fl, f.runs, points)
	}
	list := make([]string, 0, len(sites))
	for s := range sites {
		list = append(list, s)
	}
	sort.Strings(list)
	if f.follow {
		fmt.Fprintf(stdout, "result=ok mode=follow source=%s flavours=%s schedules=%d known=%d\n", f.source, f.flavours, f.runs*len(flavours), known)
		whys := make([]string, 0, len(knownWhy))
		for why := range knownWhy {
			whys = append(whys, why)
		}
		sort.Slice(whys, func(a, b int) bool { return knownWhy[whys[a]] < knownWhy[whys[b]] })
		for _, why := range whys {
			fmt.Fprintf(stdout, "known (first at seed %d): %s\n", knownWhy[why], why)
		}
		return exitOK
	}
	if f.compare {
		fmt.Fprintf(stdout, "result=ok mode=compare source=%s flavours=%s schedules=%d\n", f.source, f.flavours, f.runs*len(flavours))
		return exitOK
	}
	fmt.Fprintf(stdout, "result=ok source=%s flavours=%s runs=%d points=%d sites=%d\n", f.source, f.flavours, f.runs*len(flavours), total, len(list))
	return exitOK
}

// conformBuild finds the tag's sources (conformSources) and builds the
// harness in flavour fl into the build directory (conformCache).
func conformBuild(flagDir, cacheDir, tag string, fl conform.Flavour) (string, error) {
	dir, err := conformSources(flagDir, tag)
	if err != nil {
		return "", err
	}
	bin, err := conform.Build(dir, fl, filepath.Join(conformCache(cacheDir), tag))
	if err != nil {
		return "", fmt.Errorf("building %s (%s): %v", tag, fl, err)
	}
	return bin, nil
}

// conformSources finds the mimalloc sources: --mimalloc, or the shared
// copy of the tag beside the repository (looked for from the working
// directory upwards); and checks that gcc is there to build them.
func conformSources(flagDir, tag string) (string, error) {
	dir, err := mimallocDir(flagDir, tag)
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		return "", usagef("conform needs gcc to build mimalloc's C code (not found on PATH)")
	}
	return dir, nil
}

func mimallocDir(flagDir, tag string) (string, error) {
	if flagDir != "" {
		if err := conform.CheckSource(flagDir); err != nil {
			return "", usagef("--mimalloc %s: %v", flagDir, err)
		}
		return flagDir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "third_party", "mimalloc", tag), filepath.Join(d, "..", "shared", "third_party", "mimalloc", tag)} {
			if conform.CheckSource(c) == nil {
				return filepath.Clean(c), nil
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", usagef("no mimalloc sources for %s: pass --mimalloc DIR (a checkout at that tag)", tag)
}

func writeConformLog(dir, scen, src string, fl conform.Flavour, seed uint64, r *conform.Result) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("conform--%s-%s-%s-seed%d.log", fileSafe(scen), src, fl, seed))
	text := fmt.Sprintf("# explore conform: %s %s %s seed %d\n# error: %s\n%s", scen, src, fl, seed, oneLine(r.Err.Error()), r.LogText())
	return path, os.WriteFile(path, []byte(text), 0o644)
}

// conformCache is the build directory: --cache, or mimcheck/conform in the
// user cache directory.
func conformCache(flagDir string) string {
	if flagDir != "" {
		return flagDir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "mimcheck", "conform")
}

// inParallel calls f(k) for k in [0, n) on up to workers goroutines; the
// callers write f's results into slots of their own and read them in
// order afterwards.
func inParallel(n, workers int, f func(k int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				f(k)
			}
		}()
	}
	wg.Wait()
}
