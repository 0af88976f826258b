package traces

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/properties"
)

// ErrFormat reports a trace file that does not follow the trace format.
var ErrFormat = errors.New("traces: malformed trace")

// ErrStale reports a trace written by another format version or for another
// model revision ([ModelRev]): its schedule no longer means what it meant.
var ErrStale = errors.New("traces: stale trace")

// ParseError is the error of [Parse]: what is wrong and where. It wraps
// [ErrFormat] or [ErrStale].
type ParseError struct {
	File string // the name given to Parse
	Line int    // 1-based line number
	Col  int    // 1-based byte column, 0 when the whole line is meant
	Msg  string // what is wrong
	Err  error  // ErrFormat or ErrStale
}

// Error renders the error as "traces: FILE:LINE[:COL]: MSG".
func (e *ParseError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("traces: %s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("traces: %s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap returns ErrFormat or ErrStale.
func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a trace in the format [Format] writes. name is used in error
// messages (a file name). Lines starting with "#" are comments; those
// before the first header line are kept in Comments, the others are
// dropped. Blank lines are ignored outside the embedded scenario text.
//
// Every error is a [*ParseError] wrapping [ErrStale] (another format
// version or model revision) or [ErrFormat] (anything else, including an
// unknown builtin scenario or an embedded scenario that does not parse).
// Parse never panics, whatever the input.
func Parse(name string, data []byte) (*Trace, error) {
	lines := strings.Split(string(data), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	p := &parser{file: name, lines: lines}
	tr, err := p.parse()
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// parser holds the input of Parse and its position.
type parser struct {
	file    string
	lines   []string
	ln      int // index of the current line
	version int // the trace's format version
}

// fail returns a ParseError wrapping ErrFormat at line index ln, column col.
func (p *parser) fail(ln, col int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: ln + 1, Col: col, Msg: fmt.Sprintf(format, args...), Err: ErrFormat}
}

// stale returns a ParseError wrapping ErrStale at line index ln.
func (p *parser) stale(ln int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: ln + 1, Msg: fmt.Sprintf(format, args...), Err: ErrStale}
}

// line returns line ln without a trailing carriage return.
func (p *parser) line(ln int) string { return strings.TrimSuffix(p.lines[ln], "\r") }

// next advances to the next line that is neither blank nor a comment and
// returns it with trailing blanks removed; ok is false at the end.
func (p *parser) next() (string, bool) {
	for ; p.ln < len(p.lines); p.ln++ {
		l := strings.TrimRight(p.line(p.ln), " \t")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p.ln++
		return l, true
	}
	return "", false
}

func (p *parser) parse() (*Trace, error) {
	tr := &Trace{}
	// Leading comments.
	for ; p.ln < len(p.lines); p.ln++ {
		l := p.line(p.ln)
		if strings.HasPrefix(l, "#") {
			tr.Comments = append(tr.Comments, l[1:])
			continue
		}
		if strings.TrimSpace(l) != "" {
			break
		}
	}
	first, ok := p.next()
	if !ok {
		return nil, p.fail(max(len(p.lines)-1, 0), 0, "empty trace: want %q", "mimcheck-trace 2")
	}
	ver, ok := strings.CutPrefix(first, "mimcheck-trace ")
	if !ok {
		return nil, p.fail(p.ln-1, 1, "want %q, got %q", "mimcheck-trace 2", first)
	}
	v, err := strconv.Atoi(ver)
	if err != nil {
		return nil, p.fail(p.ln-1, len("mimcheck-trace ")+1, "format version wants a number, got %q", ver)
	}
	if v != FormatVersion && v != 1 {
		return nil, p.stale(p.ln-1, "unknown trace format version %d (this build reads versions 1 and %d)", v, FormatVersion)
	}
	p.version = v
	if err := p.header(tr); err != nil {
		return nil, err
	}
	if err := p.body(tr); err != nil {
		return nil, err
	}
	return tr, nil
}

// header parses the header lines up to and including the separator.
func (p *parser) header(tr *Trace) error {
	seen := map[string]int{} // key -> line index
	scenarioLine := -1
	for {
		l, ok := p.next()
		if !ok {
			return p.fail(max(len(p.lines)-1, 0), 0, "missing %q separator after the header", Separator)
		}
		ln := p.ln - 1
		if l == Separator {
			break
		}
		key, val, _ := strings.Cut(l, " ")
		val = strings.TrimSpace(val)
		col := len(key) + 2 // column of the value
		if prev, dup := seen[key]; dup && key != "ignore-race" && key != "past-fault" && key != "past-invariant" {
			return p.fail(ln, 1, "duplicate %q line (first on line %d)", key, prev+1)
		}
		seen[key] = ln
		var err error
		switch key {
		case "model":
			err = p.modelRev(ln, col, val)
		case "scenario":
			if val == "" {
				return p.fail(ln, col, "scenario wants a builtin name (%s)", strings.Join(allocsim.BuiltinScenarios(), ", "))
			}
			tr.Scenario, scenarioLine = canonicalBuiltin(val), ln
		case "s3-rounds":
			n, e := strconv.Atoi(val)
			if e != nil || n < 0 || n > 20 {
				return p.fail(ln, col, "s3-rounds wants a number in 0..20, got %q", val)
			}
			tr.Rounds = n
		case "scenario-file":
			if val == "" {
				return p.fail(ln, col, "scenario-file wants a name")
			}
			tr.ScenarioFile = val
		case "scenario-begin":
			if _, ok := seen["scenario-file"]; !ok || val != "" {
				return p.fail(ln, 1, "scenario-begin must follow a scenario-file line and stand alone")
			}
			text, err := p.embedded()
			if err != nil {
				return err
			}
			tr.ScenarioText, scenarioLine = text, ln
		case "source":
			tr.Source, err = allocsim.ParseSource(val)
		case "patches":
			if val == "" {
				return p.fail(ln, col, "patches wants none or a comma list of A, B, C")
			}
			tr.Patches, err = allocsim.ParsePatches(val)
		case "lang":
			tr.Lang, err = allocsim.ParseLang(val)
		case "mutant":
			if val == "" {
				return p.fail(ln, col, "mutant wants none or a mutant name")
			}
			tr.Mutant, err = allocsim.ParseMutant(val)
		case "abstraction":
			tr.Abstraction, err = allocsim.ParseAbstraction(val)
		case "publish-check":
			tr.HarmfulPublish, err = allocsim.ParsePublishCheck(val)
		case "memory":
			tr.Memory, err = allocsim.ParseMemory(val)
		case "retention":
			if val != "on" {
				return p.fail(ln, col, "retention wants on (the line is absent when the monitors are off)")
			}
			tr.Retention = true
		case "ignore-race":
			if val == "" {
				return p.fail(ln, col, "ignore-race wants a race site (LOCATION LABEL KIND/KIND)")
			}
			tr.IgnoreRaces = append(tr.IgnoreRaces, val)
		case "past-fault":
			if err := allocsim.ValidFaultSite(val); err != nil {
				return p.fail(ln, col, "%s", err)
			}
			tr.PastFaults = append(tr.PastFaults, val)
		case "past-invariant":
			if !properties.Known(val) {
				return p.fail(ln, col, "past-invariant: unknown invariant %q", val)
			}
			tr.PastInvariants = append(tr.PastInvariants, val)
		case "strategy":
			if !ValidStrategy(val) {
				return p.fail(ln, col, "unknown strategy %q (want one of %s)", val, strings.Join(Strategies, ", "))
			}
			tr.Strategy = val
		case "seed":
			tr.Seed, err = strconv.ParseUint(val, 10, 64)
		case "expect":
			err = p.expect(tr, ln, col, val)
		default:
			return p.fail(ln, 1, "unknown header line %q", key)
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return err
			}
			return p.fail(ln, col, "%s: %v", key, err)
		}
	}
	sep := p.ln - 1
	for _, k := range []string{"model", "source", "patches", "lang", "mutant", "abstraction", "strategy", "expect"} {
		if _, ok := seen[k]; !ok {
			return p.fail(sep, 0, "header has no %q line", k)
		}
	}
	_, builtin := seen["scenario"]
	_, file := seen["scenario-file"]
	_, text := seen["scenario-begin"]
	switch {
	case builtin && file:
		return p.fail(seen["scenario-file"], 1, "both scenario and scenario-file lines")
	case !builtin && !file:
		return p.fail(sep, 0, "header has no scenario or scenario-file line")
	case file && !text:
		return p.fail(seen["scenario-file"], 0, "scenario-file is not followed by scenario-begin ... scenario-end")
	}
	if ln, ok := seen["s3-rounds"]; ok && (!builtin || tr.Scenario != "S3") {
		return p.fail(ln, 1, "s3-rounds only applies to the builtin scenario S3")
	} else if !ok && builtin && tr.Scenario == "S3" {
		tr.Rounds = DefaultRounds
	}
	if ln, ok := seen["ignore-race"]; ok && !seenMemory(seen) {
		return p.fail(ln, 1, "ignore-race needs a memory line (race detection on)")
	}
	if ln, ok := seen["memory"]; ok && tr.Abstraction != allocsim.Full {
		return p.fail(ln, 1, "memory only applies to --abstraction full")
	} else if !ok {
		tr.NoMemory = true // a trace of a run without happens-before tracking
	}
	if ln, ok := seen["seed"]; ok && !Seeded(tr.Strategy) {
		return p.fail(ln, 1, "seed only applies to strategies random and pct")
	}
	if _, err := tr.System(); err != nil {
		return p.fail(scenarioLine, 0, "%v", err)
	}
	return nil
}

// modelRev checks the "model rev=N" line against ModelRev.
func (p *parser) modelRev(ln, col int, val string) error {
	rev, ok := strings.CutPrefix(val, "rev=")
	if !ok || strings.ContainsAny(rev, " \t") {
		return p.fail(ln, col, "model wants rev=N, got %q", val)
	}
	n, err := strconv.Atoi(rev)
	if err != nil {
		return p.fail(ln, col+4, "model rev wants a number, got %q", rev)
	}
	if n != ModelRev {
		return p.stale(ln, "trace is for model rev=%d, this build is rev=%d", n, ModelRev)
	}
	return nil
}

// expect parses the value of an "expect" line.
func (p *parser) expect(tr *Trace, ln, col int, val string) error {
	if val == "ok" {
		tr.Expect = ""
		return nil
	}
	inv, ok := strings.CutPrefix(val, "violation ")
	inv = strings.TrimSpace(inv)
	if !ok || inv == "" || strings.ContainsAny(inv, " \t") {
		return p.fail(ln, col, "expect wants %q or %q, got %q", "ok", "violation INVARIANT", val)
	}
	tr.Expect = inv
	return nil
}

// embedded reads the verbatim scenario text after a scenario-begin line, up
// to the scenario-end line.
func (p *parser) embedded() (string, error) {
	start := p.ln - 1
	var b strings.Builder
	for ; p.ln < len(p.lines); p.ln++ {
		if p.line(p.ln) == "scenario-end" {
			p.ln++
			return b.String(), nil
		}
		b.WriteString(p.lines[p.ln])
		b.WriteByte('\n')
	}
	return "", p.fail(start, 0, "scenario-begin without scenario-end")
}

// canonicalBuiltin returns the builtin scenario name v stands for, in its
// canonical spelling, or v itself.
func canonicalBuiltin(v string) string {
	for _, n := range allocsim.BuiltinScenarios() {
		if strings.EqualFold(n, v) {
			return n
		}
	}
	return v
}

// body parses the step lines and the final line.
func (p *parser) body(tr *Trace) error {
	ended := false
	for {
		l, ok := p.next()
		if !ok {
			break
		}
		ln := p.ln - 1
		if ended {
			return p.fail(ln, 1, "text after the final line")
		}
		switch {
		case l[0] >= '0' && l[0] <= '9':
			st, err := p.step(ln, l, len(tr.Steps))
			if err != nil {
				return err
			}
			tr.Steps = append(tr.Steps, st)
		case l == "end ok":
			tr.End, ended = Outcome{Step: -1}, true
		case strings.HasPrefix(l, "violation "):
			o, err := p.outcome(ln, l, len(tr.Steps))
			if err != nil {
				return err
			}
			tr.End, ended = o, true
		default:
			return p.fail(ln, 1, "want a step line (\"K tI LABEL ...\") or the final line, got %q", l)
		}
	}
	if !ended {
		return p.fail(max(len(p.lines)-1, 0), 0, "missing final line (%q or %q)", "end ok", "violation INVARIANT at step K: DETAIL")
	}
	return nil
}

// step parses "K tI LABEL [mode=M] [cite="C"] [| EFFECT]"; want is the
// expected index K.
func (p *parser) step(ln int, l string, want int) (Step, error) {
	var st Step
	pos := 0
	// token returns the next space-separated token and its 1-based column.
	token := func() (string, int) {
		for pos < len(l) && l[pos] == ' ' {
			pos++
		}
		start := pos
		for pos < len(l) && l[pos] != ' ' {
			pos++
		}
		return l[start:pos], start + 1
	}
	idx, col := token()
	if k, err := strconv.Atoi(idx); err != nil || k != want {
		return st, p.fail(ln, col, "step index %q, want %d", idx, want)
	}
	th, col := token()
	if p.version == 1 { // t0..t3, the scheduler index
		n, err := strconv.Atoi(strings.TrimPrefix(th, "t"))
		if !strings.HasPrefix(th, "t") || err != nil || n < 0 || n >= model.MaxThreads || th != "t"+strconv.Itoa(n) {
			return st, p.fail(ln, col, "bad thread %q (want t0..t%d in a version 1 trace)", th, model.MaxThreads-1)
		}
		st.Thread = n
	} else {
		n, err := strconv.Atoi(strings.TrimPrefix(th, "T"))
		if !strings.HasPrefix(th, "T") || err != nil || n < 1 || n > model.MaxThreads || th != "T"+strconv.Itoa(n) {
			return st, p.fail(ln, col, "bad thread %q (want T1..T%d)", th, model.MaxThreads)
		}
		st.Thread = n - 1
	}
	label, col := token()
	if label == "" || strings.ContainsAny(label, "=|\"") {
		return st, p.fail(ln, col, "bad step label %q", label)
	}
	st.Label = label
	if _, back, ok := strings.Cut(label, "~"); ok {
		// a weak load that read the store back places before the latest
		b, err := strconv.Atoi(strings.TrimRight(back, "+coalesce"))
		if err != nil || b < 1 || b >= model.MemHist {
			return st, p.fail(ln, col, "bad reads-from suffix in step label %q (want ~1..~%d)", label, model.MemHist-1)
		}
		st.Thread += b * model.MaxThreads
	}
	rest := func() (string, int) {
		for pos < len(l) && l[pos] == ' ' {
			pos++
		}
		return l[pos:], pos + 1
	}
	if r, _ := rest(); strings.HasPrefix(r, "mode=") {
		tok, col := token()
		st.Mode = tok[len("mode="):]
		if st.Mode == "" || strings.ContainsAny(st.Mode, "|\"") {
			return st, p.fail(ln, col, "bad mode %q", tok)
		}
	}
	if r, col := rest(); strings.HasPrefix(r, "cite=") {
		q, err := strconv.QuotedPrefix(r[len("cite="):])
		if err != nil || q[0] != '"' {
			return st, p.fail(ln, col, "cite wants a double-quoted string")
		}
		st.Cite, _ = strconv.Unquote(q)
		pos += len("cite=") + len(q)
	}
	r, col := rest()
	switch {
	case r == "":
	case r[0] == '|':
		st.Effect = strings.TrimSpace(r[1:])
		if p.version == 1 {
			st.Effect = v1Threads(st.Effect)
		}
	default:
		return st, p.fail(ln, col, "unexpected %q (want mode=, cite= or \"| EFFECT\")", r)
	}
	return st, nil
}

// outcome parses "violation NAME at step K: DETAIL" or "violation NAME at
// init: DETAIL"; steps is the number of steps before it.
func (p *parser) outcome(ln int, l string, steps int) (Outcome, error) {
	head, detail, ok := strings.Cut(l, ":")
	if !ok {
		return Outcome{}, p.fail(ln, 0, "want \"violation INVARIANT at step K: DETAIL\"")
	}
	f := strings.Fields(head)
	o := Outcome{Detail: strings.TrimPrefix(detail, " "), Step: -1}
	switch {
	case len(f) == 4 && f[2] == "at" && f[3] == "init":
		if steps != 0 {
			return Outcome{}, p.fail(ln, 0, "violation at init after %d steps", steps)
		}
	case len(f) == 5 && f[2] == "at" && f[3] == "step":
		k, err := strconv.Atoi(f[4])
		if err != nil || k != steps-1 {
			return Outcome{}, p.fail(ln, 0, "violation at step %q, but the last step is %d", f[4], steps-1)
		}
		o.Step = k
	default:
		return Outcome{}, p.fail(ln, 0, "want \"violation INVARIANT at step K: DETAIL\"")
	}
	o.Invariant = f[1]
	return o, nil
}

func seenMemory(seen map[string]int) bool { _, ok := seen["memory"]; return ok }

// v1Threads renames a version 1 effect's threads (t0., (t0, ,t0) to
// version 2's (T1. (T1, ,T1), so that an old trace's effects compare
// with a replay's.
func v1Threads(e string) string {
	return v1Thread.ReplaceAllStringFunc(e, func(m string) string {
		k := 1 // m is one of " (," then t<digit> then one of ".,)"
		if m[0] == 't' {
			k = 0 // at the start
		}
		return m[:k] + "T" + string(rune(m[k+1]+1)) + m[k+2:]
	})
}

var v1Thread = regexp.MustCompile(`(^|[ (,])t[0-3](\.|,|\))`)
