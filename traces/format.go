package traces

import (
	"errors"
	"fmt"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/properties"
)

// FormatVersion is the version on the first header line of a trace
// ("mimcheck-trace 2"). It changes only when the file syntax changes.
// Version 2 names threads as every message does, T1..T4 (version 1: t0..t3,
// the scheduler index); this build reads both and writes version 2.
const FormatVersion = 2

// ModelRev is the revision of the model's step semantics recorded in every
// trace ("model rev=2"). Bump it whenever the granularity or the meaning of
// a step changes, so that old traces are reported as stale ([ErrStale])
// instead of diverging in confusing ways.
const ModelRev = 5

// Strategy names accepted in the "strategy" header line.
const (
	StrategyDFS    = "dfs"    // stateful DFS (parallel level-synchronous search with --workers > 1)
	StrategyBFS    = "bfs"    // breadth first: shortest counterexample first
	StrategySleep  = "sleep"  // stateful DFS with sleep sets (partial-order reduction)
	StrategyDPOR   = "dpor"   // stateless source-DPOR with sleep sets
	StrategyRandom = "random" // seeded random walk
	StrategyPCT    = "pct"    // probabilistic concurrency testing
)

// Strategies lists the strategy names.
var Strategies = []string{StrategyDFS, StrategyBFS, StrategySleep, StrategyDPOR, StrategyRandom, StrategyPCT}

// Seeded reports whether strategy st takes a seed.
func Seeded(st string) bool { return st == StrategyRandom || st == StrategyPCT }

// ValidStrategy reports whether st names a strategy.
func ValidStrategy(st string) bool {
	for _, x := range Strategies {
		if x == st {
			return true
		}
	}
	return false
}

// DefaultRounds is the number of S3 warm-up rounds used when a trace of the
// builtin scenario S3 has no "s3-rounds" line (the reference value).
const DefaultRounds = 12

// Header is the configuration part of a trace: everything needed to rebuild
// the simulator the schedule runs on, plus how the trace was found.
type Header struct {
	// Comments are the comment lines written before the header, without
	// their leading "#" (so " found by: ..." keeps its space).
	Comments []string
	// Scenario is the name of a builtin scenario (S1, S2, S3), or "" when
	// the scenario is embedded (ScenarioFile and ScenarioText).
	Scenario string
	// Rounds is the number of S3 warm-up rounds (builtin S3 only).
	Rounds int
	// ScenarioFile is the base name of the scenario file whose text is
	// embedded in ScenarioText; "" for a builtin scenario.
	ScenarioFile string
	// ScenarioText is the verbatim text of the scenario file, so that a
	// trace is self-contained.
	ScenarioText string

	Source      allocsim.Source
	Patches     allocsim.Patches
	Lang        allocsim.Lang
	Mutant      allocsim.Mutant
	Abstraction allocsim.Abstraction
	// HarmfulPublish selects the harmful form of no-access-after-publish
	// (header line "publish-check harmful"; absent means strict).
	HarmfulPublish bool
	// Retention: the path-property monitors scan-complete and
	// retired-page-expires run (header line "retention on").
	Retention bool
	// NoMemory: happens-before and races are not tracked (no "memory" header
	// line: traces written before the memory model, --no-races, or the spin
	// abstraction). Otherwise Memory is the memory model ("memory M").
	NoMemory bool
	Memory   allocsim.Memory
	// IgnoreRaces are race sites the run went past ("ignore-race KEY"
	// lines; explore run --all-races).
	IgnoreRaces []string
	// PastFaults are in-step precondition sites the run went past
	// ("past-fault FAULT@LABEL" lines; explore run --all-violations).
	PastFaults []string
	// PastInvariants are invariants whose violating states the run cut
	// ("past-invariant NAME" lines; explore run --all-violations).
	PastInvariants []string

	// Strategy is how the trace was found: StrategyDFS or StrategyRandom.
	Strategy string
	// Seed is the seed of a random search (StrategyRandom only).
	Seed uint64
}

// Step is one recorded atomic step: the thread chosen (the schedule), and
// what was observed when it ran.
type Step struct {
	// Thread is the scheduler index of the thread that stepped ("t<i>").
	Thread int
	// Label is the step's kebab-case label, compared on replay.
	Label string
	// Mode is the memory order of the step's shared access under the
	// trace's language mode (informational).
	Mode string
	// Cite names the C function the step models (informational).
	Cite string
	// Effect is a compact description of the state fields the step
	// changed, "-" when it changed none that the diff shows
	// (informational; see [Diff]).
	Effect string
}

// Outcome is the result of executing a schedule: a violation of a named
// invariant after a given step, or none.
type Outcome struct {
	// Invariant is the name of the violated invariant, "" for no violation.
	Invariant string
	// Detail describes the objects involved in the violation.
	Detail string
	// Step is the 0-based index of the step after which the violation was
	// found; -1 for a violation of the initial state.
	Step int
}

// OK reports whether the outcome has no violation.
func (o Outcome) OK() bool { return o.Invariant == "" }

// String renders the outcome as in the final line of a trace, without the
// detail: "violation NAME at step K", "violation NAME at init" or "ok".
func (o Outcome) String() string {
	if o.OK() {
		return "ok"
	}
	if o.Step < 0 {
		return "violation " + o.Invariant + " at init"
	}
	return fmt.Sprintf("violation %s at step %d", o.Invariant, o.Step)
}

// Trace is one execution written down: its configuration, the verdict a
// replay must reproduce, and every step. The Thread column of Steps is the
// schedule, and it is authoritative; the other step columns are recorded
// observations.
type Trace struct {
	Header
	// Expect is the invariant a replay must violate, "" when the replay
	// must finish the schedule without a violation.
	Expect string
	// Steps lists the steps in order.
	Steps []Step
	// End is the outcome recorded when the trace was written.
	End Outcome
}

// Schedule returns the thread index of every step.
func (tr *Trace) Schedule() []int {
	s := make([]int, len(tr.Steps))
	for k, st := range tr.Steps {
		s[k] = st.Thread
	}
	return s
}

// Builtin reports whether the trace uses a builtin scenario.
func (h *Header) Builtin() bool { return h.ScenarioFile == "" }

// ScenarioName returns the name shown for the scenario: the builtin name, or
// the scenario file's base name.
func (h *Header) ScenarioName() string {
	if h.Builtin() {
		return h.Scenario
	}
	return h.ScenarioFile
}

// LoadScenario builds the scenario the header names: the builtin one (with
// Rounds for S3), or the embedded scenario text.
func (h *Header) LoadScenario() (*allocsim.Scenario, error) {
	if h.Builtin() {
		return allocsim.BuiltinScenario(h.Scenario, h.Rounds)
	}
	return allocsim.ParseScenario(h.ScenarioFile, h.ScenarioText)
}

// Config returns the simulator configuration the header describes.
func (h *Header) Config() (allocsim.Config, error) {
	sc, err := h.LoadScenario()
	if err != nil {
		return allocsim.Config{}, err
	}
	return allocsim.Config{
		Scenario:    sc,
		Source:      h.Source,
		Patches:     h.Patches,
		Lang:        h.Lang,
		Mutant:      h.Mutant,
		Abstraction: h.Abstraction,

		HarmfulPublish: h.HarmfulPublish,
		Retention:      h.Retention,
		Memory:         h.Memory,
		NoRaces:        h.NoMemory && h.Abstraction == allocsim.Full,
		IgnoreRaces:    h.IgnoreRaces,
		PastFaults:     h.PastFaults,
	}, nil
}

// System builds the simulator and the checked transition system of the
// header's configuration.
func (h *Header) System() (System, error) {
	cfg, err := h.Config()
	if err != nil {
		return System{}, err
	}
	m, err := allocsim.New(cfg)
	if err != nil {
		return System{}, err
	}
	return NewSystemPast(m, h.PastInvariants)
}

// PastSites is the number of violation sites the run went past.
func (h *Header) PastSites() int {
	return len(h.IgnoreRaces) + len(h.PastFaults) + len(h.PastInvariants)
}

// ViolationOf splits an error returned by a system's Check or Final into
// the invariant name and the detail. An error that is not a
// [properties.Violation] (which the checker never returns) is reported
// under the name "unknown-error".
func ViolationOf(err error) (invariant, detail string) {
	var v *properties.Violation
	if errors.As(err, &v) {
		return v.Invariant, v.Detail
	}
	return "unknown-error", err.Error()
}

// oneLine replaces line breaks so that a recorded string stays on its
// line of the trace.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
