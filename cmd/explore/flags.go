package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"mimcheck/allocsim"
	"mimcheck/scenarios"
	"mimcheck/sched"
	"mimcheck/traces"
)

// usageError is a usage or input error: the command prints its message as
// one line on stderr and exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: oneLine(fmt.Sprintf(format, args...))}
}

// errHelp is returned by parseArgs when -h or --help was given.
var errHelp = flag.ErrHelp

// runFlags holds the flags that describe one search (explore run; the
// matrix sets the same fields per row).
type runFlags struct {
	scenario       string
	source         string
	patch          string
	lang           string
	mutant         string
	bug            string // --bug NAME: a zoo bug (mutant, preset, scenario, retention)
	abstraction    string
	publishCheck   string
	retention      bool
	memory         string
	noRaces        bool
	allRaces       bool
	ignoreRaces    []string // set by --all-races between its searches
	allViolations  bool
	pastFaults     []string // set by --all-violations between its searches
	pastInvariants []string // set by --all-violations between its searches
	rounds         int
	strategy       string
	workers        int
	pctDepth       int
	seed           uint64
	runs           int
	maxDepth       int
	maxPreemptions int
	maxStates      int
	timeout        time.Duration
	maxMemory      string // --max-memory as given ("" = the default)
	cpuProfile     string // --cpuprofile FILE
	memLimit       int64  // --max-memory in bytes (0 = none)
	out            string
	corpus         bool
	noMinimize     bool
	json           bool
	quiet          bool
	noTime         bool
}

// defaultRunFlags returns the defaults of explore run.
func defaultRunFlags() runFlags {
	return runFlags{
		source:         "v2.4.1",
		patch:          "none",
		lang:           "c11",
		mutant:         "none",
		abstraction:    "full",
		publishCheck:   "strict",
		memory:         "sc",
		rounds:         traces.DefaultRounds,
		strategy:       traces.StrategyDFS,
		workers:        1,
		pctDepth:       3,
		runs:           sched.DefaultRuns,
		maxPreemptions: -1,
		out:            "out",
	}
}

// runUsage is the help text of explore run.
const runUsage = `usage: explore run --scenario S1|S2|S3|FILE [flags]

Explores one configuration of the model and checks every invariant after
every step. On a violation it minimises the schedule, writes the trace to
--out and exits 1.

Example:
  explore run --scenario S2 --source v2.3.0 --patch A,B --abstraction spin
  explore run --scenario S1 --mutant BUG_B --out /tmp/traces

Flags:
`

// newRunFlagSet returns the flag set of explore run, bound to f.
func newRunFlagSet(f *runFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.scenario, "scenario", f.scenario, "builtin scenario `S1|S2|S3`, a zoo scenario zoo:NAME, or a scenario FILE")
	fs.StringVar(&f.source, "source", f.source, "mimalloc tag modelled: "+strings.Join(allocsim.Sources(), ", "))
	fs.StringVar(&f.patch, "patch", f.patch, "patches applied: none or a comma list of A, B (the candidate patches) and C (mimcheck's proposed fix for finding 3: acq_rel CAS in mi_free_block_delayed_mt)")
	fs.StringVar(&f.lang, "lang", f.lang, "language mode: "+strings.Join(allocsim.Langs(), ", "))
	fs.StringVar(&f.mutant, "mutant", f.mutant, "seeded bug: none, "+strings.Join(allocsim.Mutants(), ", "))
	fs.StringVar(&f.bug, "bug", f.bug, "a real historical bug of the zoo, re-introduced into the preset that has its fix: "+strings.Join(allocsim.ZooNames(), ", ")+" (sets --mutant, and --source, --scenario zoo:NAME and --retention unless given; explore list shows each)")
	fs.StringVar(&f.abstraction, "abstraction", f.abstraction, "abstraction: "+strings.Join(allocsim.Abstractions(), ", "))
	fs.StringVar(&f.publishCheck, "publish-check", f.publishCheck, "form of no-access-after-publish: strict (any access after publishing) or harmful (go on; report only the damage)")
	fs.BoolVar(&f.retention, "retention", f.retention, "also check the path properties scan-complete (a forced collect meets every segment that stays abandoned while it runs) and retired-page-expires (a retired page is freed within its retire budget of collects; no all-free page stays in FULL after a forced collect); they judge leaks and retention, not memory safety (--abstraction full)")
	fs.StringVar(&f.memory, "memory", f.memory, "memory model: sc (loads read the latest store), ra (release/acquire: weak loads may read older stores, every atomic synchronises), rc11 (weak loads, orders as written); happens-before and data races are checked in all three")
	fs.BoolVar(&f.noRaces, "no-races", f.noRaces, "do not track happens-before or check no-data-race (sc only; smaller state space)")
	fs.BoolVar(&f.allRaces, "all-races", f.allRaces, "after a data race, search again going past its race site (location, step, kinds), until a search ends without a new race; one trace per race site")
	fs.BoolVar(&f.allViolations, "all-violations", f.allViolations, "after any violation, search again going past its site (a race site; an in-step check at one step label, the step then going on as without the check; or an invariant, whose violating states are then cut), until a search ends without a new violation; one trace per site")
	fs.IntVar(&f.rounds, "rounds", f.rounds, "warm-up rounds of S3 (0..20)")
	fs.StringVar(&f.strategy, "strategy", f.strategy, "search strategy: dfs (exhaustive; parallel with --workers > 1), bfs (shortest counterexample first), sleep (dfs with sleep sets), dpor (stateless source-DPOR), random (seeded walk), pct (probabilistic concurrency testing)")
	fs.IntVar(&f.workers, "workers", f.workers, fmt.Sprintf("worker threads of the dfs and bfs strategies (this machine has %d cores). dfs with N > 1: the multicore DFS (one shared lock-free fingerprint table, work handed to idle workers; a complete search has the same states, transitions and verdict as one worker, a counterexample may differ from run to run and is minimised; with --max-preemptions, the level-synchronous search). bfs with N > 1: the level-synchronous parallel BFS (the same shortest counterexample for any N; it keeps whole levels in memory, about 1 KB per frontier state)", runtime.NumCPU()))
	fs.IntVar(&f.pctDepth, "pct-depth", f.pctDepth, "bug depth d of the pct strategy (d-1 priority change points)")
	fs.Uint64Var(&f.seed, "seed", f.seed, "seed of the random strategy (0: pick one and print it)")
	fs.IntVar(&f.runs, "runs", f.runs, "number of random runs (random strategy)")
	fs.IntVar(&f.maxDepth, "max-depth", f.maxDepth, "longest path explored (0: no limit)")
	fs.IntVar(&f.maxPreemptions, "max-preemptions", f.maxPreemptions, "preemption bound (-1: unbounded)")
	fs.IntVar(&f.maxStates, "max-states", f.maxStates, "most states stored (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", f.timeout, "stop the search after this long, giving a partial result (0: none)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", f.cpuProfile, "write a CPU profile of the search to FILE (go tool pprof)")
	fs.StringVar(&f.maxMemory, "max-memory", f.maxMemory, fmt.Sprintf("stop the search with a partial result (limit=max-memory) when the process's resident memory passes SIZE (4GiB, 512MiB; 0: none); default three quarters of this machine's memory (%s)", formatSize(defaultMaxMemory())))
	fs.StringVar(&f.out, "out", f.out, "directory for trace files (created if needed)")
	fs.BoolVar(&f.corpus, "corpus", f.corpus, "name the trace <invariant>--<scenario>-<mutant>.trace, for traces/testdata")
	fs.BoolVar(&f.noMinimize, "no-minimize", f.noMinimize, "save the counterexample as found, without minimising it (faster on long schedules)")
	fs.BoolVar(&f.json, "json", f.json, "print one JSON object on stdout instead of the summary line")
	fs.BoolVar(&f.quiet, "quiet", f.quiet, "print nothing on stderr but errors")
	fs.BoolVar(&f.noTime, "no-time", f.noTime, "report elapsed_s and peak_rss_bytes as 0 in --json, for byte-identical output")
	return fs
}

// parseArgs parses args with fs and returns the positional arguments.
// Unlike fs.Parse it also accepts flags after positional arguments
// ("replay FILE --json").
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printUsage prints text and the defaults of fs to w.
func printUsage(w io.Writer, text string, fs *flag.FlagSet) {
	fmt.Fprint(w, text)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// runConfig is a validated search configuration.
type runConfig struct {
	flags  runFlags
	hdr    traces.Header // Comments holds the found-by line
	sys    traces.System
	lim    sched.Limits
	picked bool // the seed was picked (--seed 0 with random)
}

// resolve validates f and builds the search configuration. Every problem
// is a usageError naming it.
func (f runFlags) resolve() (*runConfig, error) {
	c := &runConfig{flags: f}
	h := &c.hdr
	var err error
	if f.scenario == "" {
		return nil, usagef("missing --scenario (S1, S2, S3 or a scenario file)")
	}
	if h.Source, err = allocsim.ParseSource(f.source); err != nil {
		return nil, usagef("--source: %v", err)
	}
	if strings.TrimSpace(f.patch) == "" {
		return nil, usagef("--patch: empty (want none or a comma list of A, B, C)")
	}
	if h.Patches, err = allocsim.ParsePatches(strings.ReplaceAll(f.patch, "+", ",")); err != nil {
		return nil, usagef("--patch: %v", err)
	}
	if h.Lang, err = allocsim.ParseLang(f.lang); err != nil {
		return nil, usagef("--lang: %v", err)
	}
	if f.mutant == "" {
		return nil, usagef("--mutant: empty (want none or one of %s)", strings.Join(allocsim.Mutants(), ", "))
	}
	if h.Mutant, err = allocsim.ParseMutant(f.mutant); err != nil {
		return nil, usagef("--mutant: %v", err)
	}
	if h.Abstraction, err = allocsim.ParseAbstraction(f.abstraction); err != nil {
		return nil, usagef("--abstraction: %v", err)
	}
	h.Retention = f.retention
	if h.HarmfulPublish, err = allocsim.ParsePublishCheck(f.publishCheck); err != nil {
		return nil, usagef("--publish-check: %v", err)
	}
	if h.Memory, err = allocsim.ParseMemory(f.memory); err != nil {
		return nil, usagef("--memory: %v", err)
	}
	if f.noRaces && h.Memory != allocsim.MemSC {
		return nil, usagef("--no-races: only with --memory sc (--memory %s needs happens-before)", h.Memory)
	}
	h.NoMemory = f.noRaces || h.Abstraction != allocsim.Full
	if h.Memory != allocsim.MemSC && h.Abstraction != allocsim.Full {
		return nil, usagef("--memory %s: needs --abstraction full (the spin abstraction has no memory orders)", h.Memory)
	}
	if h.Memory != allocsim.MemSC && (f.strategy == traces.StrategySleep || f.strategy == traces.StrategyDPOR) {
		return nil, usagef("--strategy %s: not with --memory %s (the reads-from choices of one thread are not independent steps)", f.strategy, h.Memory)
	}
	if !h.NoMemory && (f.strategy == traces.StrategySleep || f.strategy == traces.StrategyDPOR) {
		return nil, usagef("--strategy %s: needs --no-races (the step footprints do not cover the happens-before state)", f.strategy)
	}
	if !traces.ValidStrategy(f.strategy) {
		return nil, usagef("--strategy: unknown strategy %q (want one of %s)", f.strategy, strings.Join(traces.Strategies, ", "))
	}
	h.Strategy = f.strategy
	switch {
	case f.maxDepth < 0:
		return nil, usagef("--max-depth %d: must be >= 0 (0 = no limit)", f.maxDepth)
	case f.maxPreemptions < -1:
		return nil, usagef("--max-preemptions %d: must be >= 0, or -1 for unbounded", f.maxPreemptions)
	case f.maxStates < 0:
		return nil, usagef("--max-states %d: must be >= 0 (0 = no limit)", f.maxStates)
	case f.timeout < 0:
		return nil, usagef("--timeout %s: must be >= 0 (0 = none)", f.timeout)
	}
	f.memLimit = defaultMaxMemory()
	if f.maxMemory != "" {
		n, err := parseSize(f.maxMemory)
		if err != nil {
			return nil, usagef("--max-memory %v", err)
		}
		f.memLimit = n
	}
	c.flags.memLimit = f.memLimit
	switch {
	case traces.Seeded(f.strategy) && f.runs <= 0:
		return nil, usagef("--runs %d: the %s strategy needs at least one run", f.runs, f.strategy)
	case f.workers < 1:
		return nil, usagef("--workers %d: must be >= 1", f.workers)
	case f.pctDepth < 1:
		return nil, usagef("--pct-depth %d: must be >= 1", f.pctDepth)
	case f.maxPreemptions >= 0 && f.strategy != traces.StrategyDFS:
		return nil, usagef("--max-preemptions: iterative context bounding runs with --strategy dfs only")
	case f.rounds < 0 || f.rounds > 20:
		return nil, usagef("--rounds %d: out of range 0..20", f.rounds)
	}
	if err := scenarioHeader(h, f.scenario, f.rounds); err != nil {
		return nil, err
	}
	if f.allRaces && h.NoMemory {
		return nil, usagef("--all-races: needs race detection (--abstraction full, without --no-races)")
	}
	h.IgnoreRaces = f.ignoreRaces
	h.PastFaults = f.pastFaults
	h.PastInvariants = f.pastInvariants
	if c.sys, err = h.System(); err != nil {
		return nil, scenarioErr(f.scenario, err)
	}
	if traces.Seeded(f.strategy) {
		h.Seed = f.seed
		if h.Seed == 0 {
			h.Seed, c.picked = pickSeed(), true
		}
	}
	c.lim = sched.Limits{MaxDepth: f.maxDepth, MaxPreemptions: f.maxPreemptions, MaxStates: f.maxStates}
	if traces.Seeded(f.strategy) {
		c.lim.MaxRuns = f.runs
	}
	h.Comments = []string{" found by: " + c.command()}
	return c, nil
}

// scenarioHeader fills the scenario fields of h from a --scenario value: a
// builtin name (any case), or the path of a scenario file whose text is
// embedded.
func scenarioHeader(h *traces.Header, arg string, rounds int) error {
	if name, ok := strings.CutPrefix(arg, "zoo:"); ok {
		data, err := scenarios.ZooText(name)
		if err != nil {
			return usagef("unknown zoo scenario %q (want zoo: and one of %s)", arg, strings.Join(allocsim.ZooNames(), ", "))
		}
		h.ScenarioFile, h.ScenarioText = name+".scn", string(data)
		return nil
	}
	for _, n := range allocsim.BuiltinScenarios() {
		if strings.EqualFold(n, arg) {
			h.Scenario = n
			if n == "S3" {
				h.Rounds = rounds
			}
			return nil
		}
	}
	data, err := readInput(arg)
	if err != nil {
		return usagef("unknown scenario %q: not one of %s, and not a readable file (%v)",
			arg, strings.Join(allocsim.BuiltinScenarios(), ", "), err)
	}
	h.ScenarioFile, h.ScenarioText = filepath.Base(arg), string(data)
	return nil
}

// scenarioErr reports a scenario that does not load: a mistake in a file
// at its path, line and column ("explore: dir/x.scn:5:9: ..."); anything
// else (the model's bounds) after the scenario's name.
func scenarioErr(arg string, err error) error {
	var se *allocsim.ScenarioError
	if errors.As(err, &se) {
		e := *se
		e.File = arg
		return usagef("%v", &e)
	}
	return usagef("scenario %s: %v", arg, err)
}

// pickSeed returns a non-zero seed for --seed 0. This is the only place the
// run depends on the clock; the seed is printed and recorded. It stays
// below 2^53 so that JSON readers that parse numbers as doubles keep it
// exact.
func pickSeed() uint64 {
	s := uint64(time.Now().UnixNano())
	s ^= s >> 29
	s *= 0xbf58476d1ce4e5b9
	s ^= s >> 32
	s &= 1<<53 - 1
	if s == 0 {
		s = 1
	}
	return s
}

// command returns the explore run command line that repeats this search,
// with every setting spelled out (the seed as picked) and no output flags.
func (c *runConfig) command() string {
	f, h := c.flags, &c.hdr
	parts := []string{"explore", "run", "--scenario", shellQuote(f.scenario)}
	if h.Builtin() {
		parts[3] = h.Scenario
	}
	if h.Scenario == "S3" {
		parts = append(parts, "--rounds", strconv.Itoa(h.Rounds))
	}
	parts = append(parts,
		"--source", h.Source.String(),
		"--patch", h.Patches.String(),
		"--lang", h.Lang.String(),
		"--mutant", h.Mutant.String(),
		"--abstraction", h.Abstraction.String())
	if h.HarmfulPublish {
		parts = append(parts, "--publish-check", "harmful")
	}
	if h.Retention {
		parts = append(parts, "--retention")
	}
	if h.Abstraction == allocsim.Full {
		if h.NoMemory {
			parts = append(parts, "--no-races")
		} else {
			parts = append(parts, "--memory", h.Memory.String())
		}
	}
	parts = append(parts, "--strategy", h.Strategy)
	if f.allViolations {
		parts = append(parts, "--all-violations")
	} else if f.allRaces {
		parts = append(parts, "--all-races")
	}
	if traces.Seeded(h.Strategy) {
		parts = append(parts, "--seed", strconv.FormatUint(h.Seed, 10), "--runs", strconv.Itoa(f.runs))
	}
	if h.Strategy == traces.StrategyPCT {
		parts = append(parts, "--pct-depth", strconv.Itoa(f.pctDepth))
	}
	if f.maxDepth != 0 {
		parts = append(parts, "--max-depth", strconv.Itoa(f.maxDepth))
	}
	if f.maxPreemptions != -1 {
		parts = append(parts, "--max-preemptions", strconv.Itoa(f.maxPreemptions))
	}
	if f.maxStates != 0 {
		parts = append(parts, "--max-states", strconv.Itoa(f.maxStates))
	}
	if f.timeout != 0 {
		parts = append(parts, "--timeout", f.timeout.String())
	}
	return strings.Join(parts, " ")
}

// configLine returns the first stderr line of a run: every derived setting.
func (c *runConfig) configLine() string {
	f, h := c.flags, &c.hdr
	var b strings.Builder
	fmt.Fprintf(&b, "scenario=%s", h.ScenarioName())
	if !h.Builtin() {
		fmt.Fprintf(&b, " scenario-file=%s", shellQuote(f.scenario))
	}
	if h.Scenario == "S3" {
		fmt.Fprintf(&b, " rounds=%d", h.Rounds)
	}
	fmt.Fprintf(&b, " source=%s patches=%s lang=%s mutant=%s abstraction=%s publish-check=%s strategy=%s",
		h.Source, h.Patches, h.Lang, h.Mutant, h.Abstraction, allocsim.PublishCheckName(h.HarmfulPublish), h.Strategy)
	if h.Retention {
		b.WriteString(" retention=on")
	}
	switch {
	case h.Abstraction != allocsim.Full:
	case h.NoMemory:
		fmt.Fprintf(&b, " memory=sc races=off")
	default:
		fmt.Fprintf(&b, " memory=%s races=on", h.Memory)
	}
	if h.Strategy == traces.StrategyDFS || h.Strategy == traces.StrategyBFS {
		fmt.Fprintf(&b, " workers=%d", f.workers)
	}
	if h.Strategy == traces.StrategyPCT {
		fmt.Fprintf(&b, " pct-depth=%d", f.pctDepth)
	}
	if traces.Seeded(h.Strategy) {
		fmt.Fprintf(&b, " seed=%d", h.Seed)
		if c.picked {
			b.WriteString(" (picked)")
		}
		fmt.Fprintf(&b, " runs=%d", f.runs)
	} else {
		b.WriteString(" seed=none")
	}
	fmt.Fprintf(&b, " max-depth=%d max-preemptions=%d max-states=%d timeout=%s max-memory=%s model-rev=%d threads=%d",
		f.maxDepth, f.maxPreemptions, f.maxStates, f.timeout, memText(f.memLimit), traces.ModelRev, c.sys.Sim.Threads())
	return b.String()
}

// shellQuote quotes s for a shell when it holds anything but plain
// characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/=,:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// goPast records a violation site for the next search of --all-races or
// --all-violations.
func (f *runFlags) goPast(kind, key string) {
	switch kind {
	case siteRace:
		f.ignoreRaces = append(f.ignoreRaces, key)
	case siteFault:
		f.pastFaults = append(f.pastFaults, key)
	default:
		f.pastInvariants = append(f.pastInvariants, key)
	}
}

// pastSite reports whether the search already goes past a site.
func (f *runFlags) pastSite(kind, key string) bool {
	switch kind {
	case siteRace:
		return slices.Contains(f.ignoreRaces, key)
	case siteFault:
		return slices.Contains(f.pastFaults, key)
	}
	return slices.Contains(f.pastInvariants, key)
}

// maxInput bounds what is read from a scenario or trace file: the largest
// saved trace (S3, 1,341 steps) is under 1 MiB.
const maxInput = 16 << 20

// readInput reads a scenario or trace file of at most maxInput bytes: a
// device or a huge file (explore run --scenario /dev/zero) is bad input,
// not an out-of-memory crash.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s: more than %d MiB (not a scenario or trace file)", path, maxInput>>20)
	}
	return data, nil
}

// memText renders a --max-memory limit ("none" for 0).
func memText(n int64) string {
	if n <= 0 {
		return "none"
	}
	return formatSize(n)
}

// applyBug sets the flags a --bug implies: the zoo bug's mutant, and its
// preset, scenario (zoo:NAME) and --retention unless given (set lists the
// flags given on the command line). --bug with --mutant is an error.
func (f *runFlags) applyBug(set map[string]bool) error {
	if f.bug == "" {
		return nil
	}
	z, err := allocsim.ZooBugNamed(f.bug)
	if err != nil {
		return usagef("--bug: %v", err)
	}
	if set["mutant"] {
		return usagef("--bug %s: not with --mutant (the bug is its own mutation)", f.bug)
	}
	f.mutant = z.Mutant.String()
	if !set["source"] {
		f.source = z.Preset.String()
	}
	if !set["scenario"] {
		f.scenario = "zoo:" + z.Name
	}
	if !set["retention"] {
		f.retention = z.Retention
	}
	return nil
}

// setFlags returns the names of the flags given on fs's command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return set
}

// parseCommand parses a subcommand's args with fs. On -h it prints usage
// and the command ends with exit 0; a bad flag ends it with exit 2, as
// does a positional argument when none is taken (noArgs; name prefixes
// the error). done says the command ended, with code.
func parseCommand(fs *flag.FlagSet, args []string, name, usage string, noArgs bool, stdout, stderr io.Writer) (pos []string, code int, done bool) {
	pos, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, errHelp):
		printUsage(stdout, usage, fs)
		return nil, exitOK, true
	case err != nil:
		return nil, fail(stderr, err), true
	case noArgs && len(pos) > 0:
		return nil, fail(stderr, usagef("%s: unexpected argument %q", name, pos[0])), true
	}
	return pos, 0, false
}
