package main

import (
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mimcheck/traces"
)

// compareUsage is the help text of explore compare.
const compareUsage = `usage: explore compare [flags]

Answers "which of these patches fixes the heap corruption, and is the other
one harmful?" in one report: it runs the grid of scenarios x sources x
patch sets x language modes x memory models (as explore matrix), the
lock-step diffs of every patch against the unpatched code on the diff
scenarios (as explore diff; with --modes once per source, to show what A
changes), and explore power (the evidence that the same search finds
real bugs of this family), then writes report.md and a self-contained
report.html into --out, with per cell the verdict, states, time and the
command that reproduces it, the differences between patch sets in plain
words, the findings and the power table. --format picks what is printed on
stdout (text and md: the Markdown report; html: the page).

Exit 0 when the report was written (whatever it says), 2 on bad flags,
5 on an internal error.

Example:
  explore compare
  explore compare --scenarios S1,S2 --sources v2.4.1 --no-power --no-time

Flags:
`

// compareFlags holds explore compare's flags.
type compareFlags struct {
	matrixFlags
	diffScenarios string
	diffTimeout   time.Duration
	format        string
	noPower       bool
	readme        string // --readme FILE: rewrite its generated block
}

func cmdCompare(args []string, stdout, stderr io.Writer) int {
	f := compareFlags{
		matrixFlags: matrixFlags{
			scenarios:      "S1,S2,S3",
			sources:        "v2.4.1,v2.3.0,v2.1.7",
			patchSets:      "none,A,B,A+B",
			abstraction:    "full",
			abstractionS3:  "spin",
			rounds:         traces.DefaultRounds,
			lang:           "c11,msvc-c",
			memory:         "sc",
			mutant:         "none",
			maxPreemptions: -1,
			timeout:        60 * time.Second,
			out:            "out",
			workers:        min(runtime.NumCPU(), 4),
		},
		diffScenarios: "S1,S2",
		diffTimeout:   60 * time.Second,
		format:        "text",
	}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.scenarios, "scenarios", f.scenarios, "comma list of grid scenarios (builtin names or files)")
	fs.StringVar(&f.sources, "sources", f.sources, "comma list of sources")
	fs.StringVar(&f.patchSets, "patch-sets", f.patchSets, "comma list of patch sets (none first; none, A, B, A+B, ...)")
	fs.StringVar(&f.abstractionS3, "abstraction-s3", f.abstractionS3, "abstraction of S3 in the grid")
	fs.StringVar(&f.lang, "lang", f.lang, "comma list of language modes (c11, cxx, msvc-c)")
	fs.StringVar(&f.memory, "memory", f.memory, "comma list of memory models (sc, ra, rc11)")
	fs.StringVar(&f.diffScenarios, "diff-scenarios", f.diffScenarios, "comma list of scenarios for the lock-step diffs of every patch against none (full abstraction)")
	fs.DurationVar(&f.timeout, "timeout", f.timeout, "time limit of each grid run, giving a partial cell")
	fs.DurationVar(&f.diffTimeout, "diff-timeout", f.diffTimeout, "time limit of each diff")
	fs.IntVar(&f.workers, "workers", f.workers, "grid runs executed in parallel")
	fs.StringVar(&f.format, "format", f.format, "what is printed on stdout: text, md or html")
	fs.BoolVar(&f.noPower, "no-power", f.noPower, "leave out explore power's table")
	fs.StringVar(&f.readme, "readme", f.readme, "also replace the block between "+readmeBegin+" and "+readmeEnd+" in FILE with the report's verdict")
	fs.StringVar(&f.out, "out", f.out, "directory for report.md, report.html and the traces")
	fs.BoolVar(&f.noTime, "no-time", f.noTime, "leave out times, for byte-identical reports")
	fs.BoolVar(&f.quiet, "quiet", f.quiet, "print nothing on stderr but errors")
	_, code, done := parseCommand(fs, args, "compare", compareUsage, true, stdout, stderr)
	if done {
		return code
	}
	switch {
	case f.format != "text" && f.format != "md" && f.format != "html":
		return fail(stderr, usagef("--format %q: want text, md or html", f.format))
	case f.workers < 1:
		return fail(stderr, usagef("--workers %d: must be >= 1", f.workers))
	case f.timeout < 0 || f.diffTimeout < 0:
		return fail(stderr, usagef("--timeout, --diff-timeout: must be >= 0 (0 = none)"))
	}
	sets := splitList(f.patchSets)
	if len(sets) == 0 || sets[0] != "none" {
		return fail(stderr, usagef("--patch-sets %q: the list starts with none (the patches are compared with it)", f.patchSets))
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	fmt.Fprintf(diag, "compare: grid of %d runs\n", len(rows))
	runRows(ctx, rows, f.matrixFlags, diag)
	for _, r := range rows {
		if r.err != nil {
			return fail(stderr, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	rep := &compareReport{flags: f, rows: rows, sets: sets}
	if err := rep.runDiffs(ctx, diag); err != nil {
		return fail(stderr, err)
	}
	if !f.noPower {
		fmt.Fprintln(diag, "compare: explore power")
		p, err := runPower(ctx, powerCases(time.Minute), true, io.Discard)
		if err != nil {
			return fail(stderr, err)
		}
		rep.power = p
	}
	rep.elapsed = time.Since(start)
	doc := rep.document()
	md, page := doc.markdown(), doc.html()
	for name, data := range map[string]string{"report.md": md, "report.html": page} {
		if err := os.WriteFile(filepath.Join(f.out, name), []byte(data), 0o644); err != nil {
			return fail(stderr, usagef("--out %s: cannot write %s (%v)", f.out, name, err))
		}
	}
	if f.readme != "" {
		if err := rewriteReadme(f.readme, doc.readmeBlock()); err != nil {
			return fail(stderr, err)
		}
	}
	if f.format == "html" {
		fmt.Fprint(stdout, page)
	} else {
		fmt.Fprint(stdout, md)
	}
	fmt.Fprintf(diag, "compare: wrote %s and %s in %s\n", filepath.Join(f.out, "report.md"), filepath.Join(f.out, "report.html"), seconds(rep.elapsed))
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "explore: cancelled (SIGINT or SIGTERM): the report is partial")
		return exitCancelled
	}
	return exitOK
}

// compareDiff is one lock-step diff of the report.
type compareDiff struct {
	scenario, source, lang, patch string
	modes                         bool
	r                             *diffReport
	verdicts                      *diffReport // --verdicts-only, run when r distinguished the sides
}

// compareReport collects what explore compare ran.
type compareReport struct {
	flags   compareFlags
	rows    []*matrixRow
	sets    []string
	diffs   []*compareDiff
	power   *powerReport
	elapsed time.Duration
}

// runDiffs diffs every patch set against none on the diff scenarios, for
// every source and language mode of the grid (sc with races), and once per
// source with --modes (patch A, c11, the first diff scenario).
func (c *compareReport) runDiffs(ctx context.Context, diag io.Writer) error {
	f := c.flags
	scen := splitList(f.diffScenarios)
	for _, s := range scen {
		for _, src := range splitList(f.sources) {
			for _, lang := range splitList(f.lang) {
				for _, ps := range c.sets[1:] {
					if err := c.diff(ctx, diag, s, src, lang, ps, false); err != nil {
						return err
					}
				}
			}
		}
	}
	if len(scen) > 0 && slices.Contains(c.sets, "A") {
		for _, src := range splitList(f.sources) {
			if err := c.diff(ctx, diag, scen[0], src, "c11", "A", true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *compareReport) diff(ctx context.Context, diag io.Writer, scen, src, lang, ps string, modes bool) error {
	rf := defaultRunFlags()
	rf.scenario, rf.source, rf.lang, rf.strategy = scen, src, lang, traces.StrategyBFS
	rf.timeout, rf.out = c.flags.diffTimeout, filepath.Join(c.flags.out, "diffs")
	if err := os.MkdirAll(rf.out, 0o755); err != nil {
		return usagef("--out: %v", err)
	}
	fmt.Fprintf(diag, "compare: diff %s %s %s none vs %s%s\n", scen, src, lang, ps, map[bool]string{true: " --modes"}[modes])
	d := &compareDiff{scenario: scen, source: src, lang: lang, patch: ps, modes: modes}
	var err error
	if d.r, _, err = diffVariants(ctx, rf, diffFlags{modes: modes}, []string{"none", ps}, io.Discard, io.Discard); err != nil {
		return err
	}
	if d.r.Verdict == "distinguished" && !modes {
		if d.verdicts, _, err = diffVariants(ctx, rf, diffFlags{verdictsOnly: true}, []string{"none", ps}, io.Discard, io.Discard); err != nil {
			return err
		}
	}
	c.diffs = append(c.diffs, d)
	return nil
}

// reportDoc is a report as sections of paragraphs and tables, rendered
// as Markdown and as HTML.
type reportDoc struct {
	title    string
	sections []reportSection
	// readmeIntro is the first paragraph without the time, for the README
	readmeIntro string
}

type reportSection struct {
	title string
	paras []string   // plain text with `code` spans
	table [][]string // first line: the header
	notes []string   // after the table
}

// document builds the report.
func (c *compareReport) document() *reportDoc {
	f := c.flags
	d := &reportDoc{title: "mimcheck: what the checker says about the patches"}
	cmd := fmt.Sprintf("explore compare --scenarios %s --sources %s --patch-sets %s --lang %s --memory %s --diff-scenarios %s",
		f.scenarios, f.sources, f.patchSets, f.lang, f.memory, f.diffScenarios)
	intro := fmt.Sprintf("Generated by `%s` (model rev %d): %d grid runs, %d lock-step diffs", cmd, traces.ModelRev, len(c.rows), len(c.diffs))
	if c.power != nil {
		intro += fmt.Sprintf(", %d power runs", c.power.Total)
	}
	d.readmeIntro = intro + "."
	if !f.noTime {
		intro += fmt.Sprintf(", %s on %d cores", seconds(c.elapsed), runtime.NumCPU())
	}
	d.sections = append(d.sections, reportSection{title: "Verdict", paras: append([]string{intro + "."}, c.verdictWords()...)})
	d.sections = append(d.sections, c.diffSection())
	d.sections = append(d.sections, c.gridSection())
	d.sections = append(d.sections, c.findingsSection())
	if c.power != nil {
		d.sections = append(d.sections, c.powerSection())
	}
	return d
}

// cellKey identifies a grid configuration without its patch set.
func cellKey(r *matrixRow) string {
	return rowScenario(r.cfg) + "|" + r.cfg.hdr.Source.String() + "|" + r.cfg.hdr.Lang.String() + "|" + memoryCell(r.cfg)
}

// verdictOf is a cell's verdict for comparisons: ok, partial, or the
// violation with its invariant and site.
func verdictOf(r *matrixRow) string {
	if r.out.viol != nil {
		return r.violationCell()
	}
	return r.out.verdict()
}

// verdictWords says in plain words what the grid and the diffs found for
// each patch set.
func (c *compareReport) verdictWords() []string {
	var out []string
	base := map[string]*matrixRow{}
	for _, r := range c.rows {
		if patchSet(r.cfg) == "none" {
			base[cellKey(r)] = r
		}
	}
	for _, ps := range c.sets[1:] {
		same, total := 0, 0
		var changed []string
		for _, r := range c.rows {
			if patchSet(r.cfg) != ps {
				continue
			}
			b := base[cellKey(r)]
			if b == nil {
				continue
			}
			total++
			if verdictOf(r) == verdictOf(b) {
				same++
			} else {
				changed = append(changed, fmt.Sprintf("%s %s %s %s: %s → %s", rowScenario(r.cfg), r.cfg.hdr.Source, r.cfg.hdr.Lang, memoryCell(r.cfg), verdictOf(b), verdictOf(r)))
			}
		}
		w := fmt.Sprintf("**Patch %s** gives the same verdict as the unpatched code in %d of %d grid cells", ps, same, total)
		if len(changed) > 0 {
			w += "; it changes: " + strings.Join(changed, "; ")
		}
		w += ". " + c.diffWords(ps)
		out = append(out, w)
	}
	var unpatched []string
	seen := map[string]bool{}
	for _, r := range c.rows {
		if patchSet(r.cfg) != "none" || r.out.viol == nil {
			continue
		}
		k := r.out.viol.invariant
		if !seen[k] {
			seen[k] = true
			unpatched = append(unpatched, "`"+k+"`")
		}
	}
	if len(unpatched) > 0 {
		out = append(out, "The unpatched code itself breaks "+strings.Join(unpatched, ", ")+" in some cells (Findings below); a patch fixes a finding only if its cells turn ok, and none does unless listed above.")
	} else {
		out = append(out, "No grid cell of the unpatched code reports a violation.")
	}
	if c.power != nil {
		w := fmt.Sprintf("The same search finds %d of %d known bugs of this family (the zoo of historical mimalloc bugs and the seeded bugs of scenarios.md)", c.power.Found, c.power.Total)
		if c.power.CleanOK {
			w += ", and none of their configurations reports anything without the bug"
		}
		out = append(out, w+": a \"none found\" here is evidence, not silence (Power below).")
	}
	return out
}

// diffWords summarises the diffs of patch set ps, grouping the
// configurations with the same result.
func (c *compareReport) diffWords(ps string) string {
	type group struct {
		scen, tags, langs []string
	}
	add := func(g *group, d *compareDiff) {
		for _, x := range []struct {
			list *[]string
			v    string
		}{{&g.scen, filepath.Base(d.scenario)}, {&g.tags, d.source}, {&g.langs, d.lang}} {
			if !slices.Contains(*x.list, x.v) {
				*x.list = append(*x.list, x.v)
			}
		}
	}
	where := func(g *group) string {
		return strings.Join(g.scen, ", ") + " at " + strings.Join(g.tags, ", ") + " in " + strings.Join(g.langs, ", ")
	}
	var identical, partial group
	nIdentical, nPartial := 0, 0
	var order []string
	distinct := map[string]*group{}
	for _, d := range c.diffs {
		if d.patch != ps || d.modes {
			continue
		}
		switch {
		case d.r.Verdict == "distinguished":
			k := fmt.Sprintf("%s\x00%d steps: %s %s", filepath.Base(d.scenario), len(d.r.Schedule), d.r.What, strings.Join(d.r.Fields, " "))
			v := d.verdicts
			switch {
			case v == nil:
			case v.Verdict == "identical" && v.Complete:
				k += "; no invariant's verdict differs (--verdicts-only, complete)"
			case v.Verdict == "identical":
				k += "; no verdict difference within the limit (" + v.Limit + ")"
			default:
				k += fmt.Sprintf("; comparing verdicts only, the sides part after %d steps: %s %s", len(v.Schedule), v.What, strings.Join(v.Fields, " "))
			}
			if distinct[k] == nil {
				distinct[k] = &group{}
				order = append(order, k)
			}
			add(distinct[k], d)
		case d.r.Complete:
			nIdentical++
			add(&identical, d)
		default:
			nPartial++
			add(&partial, d)
		}
	}
	var w []string
	if nIdentical > 0 {
		w = append(w, fmt.Sprintf("No schedule distinguishes it from the unpatched code in %d lock-step diffs (%s; searches complete)", nIdentical, where(&identical)))
	}
	if nPartial > 0 {
		w = append(w, fmt.Sprintf("no difference within the limit in %d diffs (%s; partial)", nPartial, where(&partial)))
	}
	for _, k := range order {
		_, what, _ := strings.Cut(k, "\x00")
		w = append(w, fmt.Sprintf("it changes behaviour in %s: the shortest distinguishing schedule has %s", where(distinct[k]), what))
	}
	for _, d := range c.diffs {
		if d.patch == ps && d.modes {
			if d.r.Verdict == "distinguished" {
				w = append(w, fmt.Sprintf("what it changes at %s (--modes, %s): %s, first after %d steps", d.source, filepath.Base(d.scenario), strings.Join(d.r.Fields, "; "), len(d.r.Schedule)))
			} else {
				w = append(w, fmt.Sprintf("at %s even the access modes are identical (--modes, %s): the patch is already upstream there", d.source, filepath.Base(d.scenario)))
			}
		}
	}
	if len(w) == 0 {
		return ""
	}
	return strings.Join(w, "; ") + "."
}

func (c *compareReport) diffSection() reportSection {
	s := reportSection{title: "Differences between patch sets (lock-step diffs)",
		paras: []string{"Each diff explores the unpatched code and the patched code in lock-step (the same thread, the same reads-from choice at every step), breadth-first, and compares after every step the allocator's shared state, the invariants' verdicts and which threads can step (`explore diff`; `--modes` also the access modes). \"identical\" with a complete search means no reachable behaviour differs."}}
	s.table = [][]string{{"scenario", "tag", "lang", "diff", "result", "pairs of states", "shortest difference", "reproduce"}}
	for _, d := range c.diffs {
		what := "none vs " + d.patch
		if d.modes {
			what += " (--modes)"
		}
		res := d.r.Verdict
		if d.r.Verdict == "identical" {
			res += map[bool]string{true: " (complete)", false: " (partial: " + d.r.Limit + ")"}[d.r.Complete]
		}
		short := "-"
		if d.r.Verdict == "distinguished" {
			short = fmt.Sprintf("%d steps: %s %s", len(d.r.Schedule), d.r.What, strings.Join(d.r.Fields, " "))
		}
		repro := "explore diff --scenario " + d.scenario + " --source " + d.source + " --lang " + d.lang
		if d.modes {
			repro += " --modes"
		}
		s.table = append(s.table, []string{filepath.Base(d.scenario), d.source, d.lang, what, res, strconv.FormatInt(d.r.States, 10), short, "`" + repro + " none " + d.patch + "`"})
	}
	return s
}

func (c *compareReport) gridSection() reportSection {
	f := c.flags
	s := reportSection{title: "Grid",
		paras: []string{fmt.Sprintf("Exhaustive DFS per cell, races checked under the full abstraction (S3 under --abstraction-s3 %s: one run per source covers every patch set, which changes nothing that abstraction explores), time limit %s per cell.", f.abstractionS3, f.timeout)}}
	head := []string{"scenario", "tag", "lang", "memory", "patches", "verdict", "states"}
	if !f.noTime {
		head = append(head, "time")
	}
	head = append(head, "violation", "reproduce")
	s.table = [][]string{head}
	for _, r := range c.rows {
		repro := "`" + r.cfg.command() + "`"
		if v := r.out.viol; v != nil && v.path != "" {
			repro = "`explore replay " + v.path + "`"
		}
		line := []string{rowScenario(r.cfg), r.cfg.hdr.Source.String(), r.cfg.hdr.Lang.String(), memoryCell(r.cfg), patchSet(r.cfg), r.verdictCell(), strconv.FormatInt(r.out.res.States, 10)}
		if !f.noTime {
			line = append(line, seconds(r.out.elapsed))
		}
		line = append(line, r.violationCell(), repro)
		s.table = append(s.table, line)
	}
	return s
}

func (c *compareReport) findingsSection() reportSection {
	s := reportSection{title: "Findings (violations in the grid)"}
	type group struct {
		what  string
		cells []string
		trace string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, r := range c.rows {
		v := r.out.viol
		if v == nil {
			continue
		}
		key := rowScenario(r.cfg) + " " + r.violationCell()
		g := byKey[key]
		if g == nil {
			g = &group{what: rowScenario(r.cfg) + ": " + r.violationCell() + " — " + v.detail, trace: v.path}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.cells = append(g.cells, fmt.Sprintf("%s %s %s %s", r.cfg.hdr.Source, r.cfg.hdr.Lang, memoryCell(r.cfg), patchSet(r.cfg)))
	}
	if len(groups) == 0 {
		s.paras = []string{"None: every cell is ok or partial."}
		return s
	}
	s.table = [][]string{{"finding", "cells (tag lang memory patches)", "a trace"}}
	for _, g := range groups {
		s.table = append(s.table, []string{g.what, strings.Join(g.cells, "; "), "`" + g.trace + "`"})
	}
	s.notes = []string{"Each trace replays with `explore replay TRACE` and reads with `explore show TRACE [--format html]`."}
	return s
}

func (c *compareReport) powerSection() reportSection {
	p := c.power
	s := reportSection{title: "Power: the same search on known bugs",
		paras: []string{fmt.Sprintf("`explore power`: found %d / %d; every configuration run once without its bug: %s.", p.Found, p.Total, map[bool]string{true: "no violation", false: "A VIOLATION (see the last column)"}[p.CleanOK])}}
	head := []string{"bug", "kind", "scenario", "tag", "found", "invariant", "states"}
	if !c.flags.noTime {
		head = append(head, "s to first counterexample")
	}
	head = append(head, "without the bug", "reproduce")
	s.table = [][]string{head}
	for _, e := range p.Entries {
		line := []string{"`" + e.Bug + "`", e.Kind, e.Scenario, e.Source, map[bool]string{true: "yes", false: "**no**"}[e.Found], e.Invariant, strconv.FormatInt(e.States, 10)}
		if !c.flags.noTime {
			line = append(line, fmt.Sprintf("%.3f", e.TimeS))
		}
		line = append(line, e.Clean, "`"+e.Command+"`")
		s.table = append(s.table, line)
	}
	return s
}

// markdown renders the document.
func (d *reportDoc) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", d.title)
	for _, s := range d.sections {
		fmt.Fprintf(&b, "\n## %s\n", s.title)
		for _, p := range s.paras {
			fmt.Fprintf(&b, "\n%s\n", p)
		}
		if len(s.table) > 0 {
			b.WriteString("\n")
			for k, line := range s.table {
				cells := make([]string, len(line))
				for j, c := range line {
					cells[j] = strings.ReplaceAll(c, "|", "\\|")
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
				if k == 0 {
					fmt.Fprintf(&b, "|%s\n", strings.Repeat("---|", len(line)))
				}
			}
		}
		for _, n := range s.notes {
			fmt.Fprintf(&b, "\n%s\n", n)
		}
	}
	return b.String()
}

// inline renders a paragraph's `code` and **bold** spans as HTML.
func inline(s string) string {
	s = html.EscapeString(s)
	for _, m := range []struct{ mark, open, close string }{{"`", "<code>", "</code>"}, {"**", "<b>", "</b>"}} {
		parts := strings.Split(s, m.mark)
		if len(parts)%2 == 0 { // an unpaired marker stays as it is
			parts[len(parts)-2] += m.mark + parts[len(parts)-1]
			parts = parts[:len(parts)-1]
		}
		var b strings.Builder
		for k, p := range parts {
			if k%2 == 1 {
				b.WriteString(m.open + p + m.close)
			} else {
				b.WriteString(p)
			}
		}
		s = b.String()
	}
	return s
}

// html renders the document as one self-contained page (inline style,
// nothing fetched).
func (d *reportDoc) html() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html.EscapeString(d.title) + "</title>\n")
	b.WriteString(`<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:110em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}tr.violation td{background:#fde8e8}tr.ok td:first-child{border-left:3px solid #3a3}
code{font:12px ui-monospace,monospace;background:#f5f5f5;padding:0 2px}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(d.title))
	for _, s := range d.sections {
		fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(s.title))
		for _, p := range s.paras {
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(p))
		}
		if len(s.table) > 0 {
			b.WriteString("<table>\n")
			for k, line := range s.table {
				tag, class := "td", ""
				if k == 0 {
					tag = "th"
				} else {
					for _, c := range line {
						if strings.HasPrefix(c, "violation") {
							class = ` class="violation"`
						}
					}
				}
				fmt.Fprintf(&b, "<tr%s>", class)
				for _, c := range line {
					fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(c), tag)
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table>\n")
		}
		for _, n := range s.notes {
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(n))
		}
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// The markers of the generated block in the README.
const (
	readmeBegin = "<!-- begin: generated by explore compare --readme; do not edit -->"
	readmeEnd   = "<!-- end: generated by explore compare -->"
)

// readmeBlock is the report's verdict section, for the README.
func (d *reportDoc) readmeBlock() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", d.readmeIntro)
	for _, p := range d.sections[0].paras[1:] {
		fmt.Fprintf(&b, "%s\n\n", p)
	}
	b.WriteString("The whole report — the grid cell by cell with the command that reproduces each, the diffs, the findings and the power table — is `out/report.md` and `out/report.html` after `make explore`.\n")
	return b.String()
}

// rewriteReadme replaces the generated block of the file at path.
func rewriteReadme(path, block string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("--readme: %v", err)
	}
	s := string(data)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return usagef("--readme %s: no block between %q and %q", path, readmeBegin, readmeEnd)
	}
	s = s[:i+len(readmeBegin)] + "\n" + block + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
