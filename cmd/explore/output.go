package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mimcheck/allocsim"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

// outcome is everything a finished search reports.
type outcome struct {
	cfg     *runConfig
	res     sched.Result
	limit   string // res.LimitHit, with "cancelled" spelled "timeout=D" when the timeout hit
	elapsed time.Duration
	viol    *violationReport // the violation the last search ended with; nil without one
	// sites are the violations that --all-races or --all-violations went
	// past, in the order found (each reported, with its trace)
	sites []*violationReport
}

// reported returns every violation the run reports: the sites gone past,
// then the last search's violation.
func (o *outcome) reported() []*violationReport {
	out := append([]*violationReport{}, o.sites...)
	if o.viol != nil {
		out = append(out, o.viol)
	}
	return out
}

// first returns the first violation reported, or nil.
func (o *outcome) first() *violationReport {
	if r := o.reported(); len(r) > 0 {
		return r[0]
	}
	return nil
}

// violationReport describes a violation and its saved trace.
type violationReport struct {
	invariant  string
	detail     string
	step       int    // index of the last step of the minimised trace; -1 at init
	steps      int    // steps of the minimised trace
	foundSteps int    // steps of the schedule the search found
	switches   int    // context switches of the minimised trace
	race       string // for a data race: which earlier access it races with
	foundSw    int    // context switches of the schedule the search found
	path       string // trace file written, "" if it could not be written
	writeErr   error  // why the trace could not be written
	data       []byte // the trace file's text
	siteKind   string // siteRace, siteFault or siteInvariant
	site       string // the site's key (what --all-violations goes past)
}

// Kinds of violation site (see siteOf).
const (
	siteRace      = "race"      // a data race: allocsim.RaceKey
	siteFault     = "fault"     // an in-step precondition: allocsim.FaultSite
	siteInvariant = "invariant" // a state or end-state invariant: its name
)

// verdict returns "ok", "violation" or "partial": "violation" when any
// violation is reported, even if the last search past the sites ended
// without one.
func (o *outcome) verdict() string {
	if len(o.sites) > 0 {
		return "violation"
	}
	return o.res.Verdict.String()
}

// summaryLine returns the single machine-parsable stdout line of a run:
// space-separated key=value items, with no timing, so that identical runs
// print identical lines.
func (o *outcome) summaryLine() string {
	var b strings.Builder
	b.WriteString("result=" + o.verdict())
	v := o.first()
	if v != nil {
		b.WriteString(" invariant=" + v.invariant)
	}
	if n := len(o.reported()); n > 1 || len(o.sites) > 0 {
		fmt.Fprintf(&b, " violations=%d", n)
	}
	if o.limit != "" {
		b.WriteString(" limit=" + o.limit)
	}
	fmt.Fprintf(&b, " states=%d transitions=%d runs=%d max-depth=%d", o.res.States, o.res.Transitions, o.res.Runs, o.res.MaxDepthSeen)
	if v != nil {
		fmt.Fprintf(&b, " steps=%d trace=%s", v.steps, v.path)
	}
	return b.String()
}

// jsonViolation is one violation in the --json object.
type jsonViolation struct {
	Property   string `json:"property"`
	Detail     string `json:"detail"`
	Trace      string `json:"trace"`
	Steps      int    `json:"steps"`
	Step       int    `json:"step"`
	FoundSteps int    `json:"found_steps"`
	// SiteKind and Site name the violation's site (race, fault or
	// invariant, and its key): what --all-violations went past
	SiteKind string `json:"site_kind"`
	Site     string `json:"site"`
}

// jsonLimits echoes the limits of the search.
type jsonLimits struct {
	MaxDepth       int     `json:"max_depth"`
	MaxPreemptions int     `json:"max_preemptions"`
	MaxStates      int     `json:"max_states"`
	Runs           int     `json:"runs"`
	TimeoutS       float64 `json:"timeout_s"`
}

// jsonResult is the --json object of explore run.
// jsonBound is what one preemption bound of iterative context bounding
// covered.
type jsonBound struct {
	Bound       int    `json:"bound"`
	Verdict     string `json:"verdict"`
	States      int64  `json:"states"`
	Distinct    int64  `json:"distinct"`
	Transitions int64  `json:"transitions"`
	Executions  int64  `json:"executions"`
}

type jsonResult struct {
	Schema               int             `json:"schema"` // the version of this object's layout (jsonSchema)
	Verdict              string          `json:"verdict"`
	Complete             bool            `json:"complete"`
	Limit                string          `json:"limit"`
	Scenario             string          `json:"scenario"`
	ScenarioFile         string          `json:"scenario_file,omitempty"`
	Rounds               *int            `json:"rounds"`
	Source               string          `json:"source"`
	Patches              string          `json:"patches"`
	Lang                 string          `json:"lang"`
	Memory               string          `json:"memory"`    // sc, ra, rc11; "" without happens-before tracking
	Races                bool            `json:"races"`     // no-data-race is checked
	Retention            bool            `json:"retention"` // scan-complete and retired-page-expires are checked
	Mutant               string          `json:"mutant"`
	Abstraction          string          `json:"abstraction"`
	Strategy             string          `json:"strategy"`
	Seed                 *uint64         `json:"seed"`
	ModelRev             int             `json:"model_rev"`
	Limits               jsonLimits      `json:"limits"`
	States               int64           `json:"states"`
	Transitions          int64           `json:"transitions"`
	Runs                 int64           `json:"runs"`
	MaxDepth             int             `json:"max_depth"`
	ElapsedS             float64         `json:"elapsed_s"`
	PeakRSSBytes         int64           `json:"peak_rss_bytes"` // the process's peak resident memory (VmHWM); 0 with --no-time or when unknown
	CollisionProbability float64         `json:"collision_probability"`
	FingerprintBits      int             `json:"fingerprint_bits"`
	BytesPerState        float64         `json:"bytes_per_state"`
	Executions           int64           `json:"executions"`
	Workers              int             `json:"workers"`
	Bounds               []jsonBound     `json:"bounds,omitempty"`
	Violations           []jsonViolation `json:"violations"`
	Invariants           []string        `json:"invariants"` // the invariants this run checked
	Reproduce            string          `json:"reproduce"`  // the command that runs the same search again
}

// jsonSchema is the version of every --json layout (explore run, replay,
// conform replay, conform random): 1 since the schema, invariants and
// reproduce fields were added (model rev 4). A layout change that removes
// or renames a field bumps it.
const jsonSchema = 1

// checkedInvariants lists the invariants a run checks: every registered
// one, but no-data-race only with race tracking, the path properties only
// with --retention, and not the invariants whose states it cuts
// (--all-violations went past them).
func (c *runConfig) checkedInvariants() []string {
	h := &c.hdr
	past := map[string]bool{}
	for _, p := range h.PastInvariants {
		past[p] = true
	}
	var out []string
	for _, inv := range properties.Registry {
		switch {
		case past[inv.Name]:
		case inv.Name == "no-data-race" && h.NoMemory:
		case (inv.Name == "scan-complete" || inv.Name == "retired-page-expires") && !h.Retention:
		default:
			out = append(out, inv.Name)
		}
	}
	return out
}

// json returns the --json object of the outcome.
func (o *outcome) json() jsonResult {
	c, h := o.cfg, &o.cfg.hdr
	r := jsonResult{
		Schema:      jsonSchema,
		Invariants:  c.checkedInvariants(),
		Reproduce:   c.command(),
		Verdict:     o.verdict(),
		Complete:    o.res.Complete,
		Limit:       o.limit,
		Scenario:    h.ScenarioName(),
		Source:      h.Source.String(),
		Patches:     h.Patches.String(),
		Lang:        h.Lang.String(),
		Memory:      memoryJSON(h),
		Races:       !h.NoMemory,
		Retention:   h.Retention,
		Mutant:      h.Mutant.String(),
		Abstraction: h.Abstraction.String(),
		Strategy:    h.Strategy,
		ModelRev:    traces.ModelRev,
		Limits: jsonLimits{
			MaxDepth:       c.flags.maxDepth,
			MaxPreemptions: c.flags.maxPreemptions,
			MaxStates:      c.flags.maxStates,
			TimeoutS:       c.flags.timeout.Seconds(),
		},
		States:               o.res.States,
		Transitions:          o.res.Transitions,
		Runs:                 o.res.Runs,
		MaxDepth:             o.res.MaxDepthSeen,
		CollisionProbability: o.res.CollisionProbability(),
		FingerprintBits:      o.res.FingerprintBits,
		BytesPerState:        o.res.BytesPerState,
		Executions:           o.res.Executions,
		Workers:              o.res.Workers,
		Violations:           []jsonViolation{},
	}
	if !h.Builtin() {
		r.ScenarioFile = c.flags.scenario
	}
	for _, b := range o.res.Bounds {
		r.Bounds = append(r.Bounds, jsonBound{Bound: b.Bound, Verdict: b.Verdict.String(), States: b.States,
			Distinct: b.Distinct, Transitions: b.Transitions, Executions: b.Executions})
	}
	if h.Scenario == "S3" {
		n := h.Rounds
		r.Rounds = &n
	}
	if traces.Seeded(h.Strategy) {
		s := h.Seed
		r.Seed = &s
		r.Limits.Runs = c.flags.runs
	}
	if !c.flags.noTime {
		r.ElapsedS = o.elapsed.Seconds()
		r.PeakRSSBytes = max(peakRSS(), 0)
	}
	for _, v := range o.reported() {
		r.Violations = append(r.Violations, jsonViolation{
			Property: v.invariant, Detail: v.detail, Trace: v.path,
			Steps: v.steps, Step: v.step, FoundSteps: v.foundSteps,
			SiteKind: v.siteKind, Site: v.site,
		})
	}
	return r
}

// writeJSON prints v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// traceName returns the file name (without directory and extension) of a
// trace: <invariant>--<scenario>-<source>-<patches>-<mutant>, or with
// corpus <invariant>--<scenario>-<mutant> (the traces/testdata naming).
func traceName(h *traces.Header, invariant string, corpus bool) string {
	scen := h.ScenarioName()
	if !h.Builtin() {
		scen = strings.TrimSuffix(scen, filepath.Ext(scen))
	}
	patches := strings.ReplaceAll(h.Patches.String(), ",", "+")
	parts := []string{scen, h.Source.String(), patches}
	if corpus {
		parts = []string{scen}
	}
	// the language mode and memory model when not the defaults
	if h.Lang != allocsim.LangC11 {
		parts = append(parts, h.Lang.String())
	}
	if !h.NoMemory && h.Memory != allocsim.MemSC {
		parts = append(parts, h.Memory.String())
	}
	parts = append(parts, h.Mutant.String())
	if n := h.PastSites(); n > 0 && n == len(h.IgnoreRaces) { // --all-races: the (n+1)-th race site
		parts = append(parts, "race"+strconv.Itoa(n+1))
	} else if n > 0 { // --all-violations: the (n+1)-th site
		parts = append(parts, "site"+strconv.Itoa(n+1))
	}
	return fileSafe(invariant) + "--" + fileSafe(strings.Join(parts, "-"))
}

// fileSafe replaces characters that do not belong in a file name.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '+'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}

// maxSuffix bounds the -2, -3, ... suffixes tried for a trace file name.
const maxSuffix = 1000

// writeTrace writes data to dir/name.trace, creating dir. The file is
// opened with O_EXCL; when the name is taken, name-2.trace, name-3.trace,
// ... are tried. A taken file whose content is exactly data is reused, so
// repeating a run does not pile up copies of the same trace (and prints the
// same path).
func writeTrace(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for n := 1; n <= maxSuffix; n++ {
		file := name + ".trace"
		if n > 1 {
			file = name + "-" + strconv.Itoa(n) + ".trace"
		}
		path := filepath.Join(dir, file)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			if old, rerr := os.ReadFile(path); rerr == nil && bytes.Equal(old, data) {
				return path, nil
			}
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	}
	return "", fmt.Errorf("%s: %d files named %s*.trace already exist", dir, maxSuffix, name)
}

// seconds formats a duration for humans: 0.1s, 12.3s, 2m03s.
func seconds(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	m := int(d / time.Minute)
	s := int((d % time.Minute) / time.Second)
	return fmt.Sprintf("%dm%02ds", m, s)
}

// memoryJSON is the memory field of --json: the model, or "" when
// happens-before is not tracked.
func memoryJSON(h *traces.Header) string {
	if h.NoMemory {
		return ""
	}
	return h.Memory.String()
}
