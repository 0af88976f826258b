package traces_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/sched"
	"mimcheck/traces"
)

// header returns the header of a DFS run of a builtin scenario.
func header(scenario string, mut allocsim.Mutant) traces.Header {
	return traces.Header{
		Comments:    []string{" found by: explore run --scenario " + scenario + " --mutant " + mut.String()},
		Scenario:    scenario,
		Rounds:      traces.DefaultRounds,
		Mutant:      mut,
		Abstraction: allocsim.SpinAbs,
		Strategy:    traces.StrategyDFS,
	}
}

// search runs the exhaustive search of h's configuration.
func search(t *testing.T, h traces.Header) (traces.System, sched.Result) {
	t.Helper()
	sys, err := h.System()
	if err != nil {
		t.Fatal(err)
	}
	return sys, sched.Exhaustive[model.State](context.Background(), sys, sched.NoLimits(), sched.Options{})
}

// violating returns the recorded, minimised counterexample of h.
func violating(t *testing.T, h traces.Header) *traces.Trace {
	t.Helper()
	sys, r := search(t, h)
	if r.Violation == nil {
		t.Fatalf("%s %s: no violation", h.Scenario, h.Mutant)
	}
	inv, _ := traces.ViolationOf(r.Violation.Err)
	sch := traces.Minimize(sys, r.Violation.Schedule, inv)
	tr, err := traces.RecordSystem(sys, h, sch)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// completeOK returns a trace of S1 (no mutant) that runs every thread to
// the end, always stepping the lowest enabled thread.
func completeOK(t *testing.T) *traces.Trace {
	t.Helper()
	h := header("S1", allocsim.MutNone)
	sys, err := h.System()
	if err != nil {
		t.Fatal(err)
	}
	s := sys.Init()
	var sch []int
	for {
		en := sys.Enabled(&s, nil)
		if len(en) == 0 {
			break
		}
		sys.Step(&s, en[0])
		sch = append(sch, en[0])
	}
	tr, err := traces.Record(h, sch)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// fileScenario is a scenario file: S1 written out, with comments.
const fileScenario = `# two threads, one slot (S1 written out)
scenario mine
segments 1
slices 5
option reclaim-on-free=1
thread: a = malloc(S); b = malloc(M); send a -> m0; free b; exit
thread: a <- m0; free a; exit`

// TestRoundTrip: Format, Parse, Format is byte-identical (style.md §5: no
// timestamps, identical runs give identical files), for a violation, an ok
// trace, an embedded scenario file and a random-strategy header.
func TestRoundTrip(t *testing.T) {
	bugB := violating(t, header("S1", allocsim.MutBugB))
	ok := completeOK(t)
	h := header("", allocsim.MutBugB)
	h.ScenarioFile, h.ScenarioText, h.Rounds = "mine.scenario", fileScenario, 0
	file := violating(t, h)
	rnd := violating(t, header("S2", allocsim.MutBugC))
	rnd.Strategy, rnd.Seed = traces.StrategyRandom, 42
	s3 := violating(t, header("S3", allocsim.MutBugB))
	for name, tr := range map[string]*traces.Trace{"bug-b": bugB, "ok": ok, "file": file, "random": rnd, "s3": s3} {
		b := traces.Format(tr)
		back, err := traces.Parse(name, b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if b2 := traces.Format(back); !bytes.Equal(b, b2) {
			t.Fatalf("%s: round trip differs:\n%s\n---\n%s", name, b, b2)
		}
		if !slices.Equal(back.Schedule(), tr.Schedule()) || back.Expect != tr.Expect || back.End != tr.End {
			t.Fatalf("%s: parsed trace differs", name)
		}
		if b3 := traces.Format(violatingOrSame(t, tr)); !bytes.Equal(b, b3) {
			t.Fatalf("%s: recording twice gives different bytes", name)
		}
	}
	if !strings.Contains(string(traces.Format(file)), "scenario-begin\n# two threads") {
		t.Fatalf("scenario text not embedded:\n%s", traces.Format(file))
	}
}

// violatingOrSame records tr's schedule again from its header.
func violatingOrSame(t *testing.T, tr *traces.Trace) *traces.Trace {
	t.Helper()
	again, err := traces.Record(tr.Header, tr.Schedule())
	if err != nil {
		t.Fatal(err)
	}
	return again
}

// TestReplay: a recorded trace replays to its expectation, with no notes.
func TestReplay(t *testing.T) {
	for _, tr := range []*traces.Trace{violating(t, header("S1", allocsim.MutBugB)), completeOK(t)} {
		parsed, err := traces.Parse("t", traces.Format(tr))
		if err != nil {
			t.Fatal(err)
		}
		res, err := traces.Replay(parsed)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if res.Outcome != tr.End || len(res.Notes) != 0 {
			t.Fatalf("outcome %+v notes %q, want %+v", res.Outcome, res.Notes, tr.End)
		}
		if !bytes.Equal(traces.Format(res.Trace), traces.Format(tr)) {
			t.Fatal("re-recorded trace differs")
		}
	}
}

// TestTampered: changing the thread of a step, or a label, or the
// expectation makes the replay fail with ErrDiverged naming the step.
func TestTampered(t *testing.T) {
	tr := violating(t, header("S2", allocsim.MutBugC))
	n := len(tr.Steps)
	other := func(i int) int { return (i + 1) % 3 }

	// The thread of some step: the replay takes another step, or the
	// thread is not enabled, or the violation moves.
	found := false
	for k := 0; k < n; k++ {
		bad := *tr
		bad.Steps = slices.Clone(tr.Steps)
		bad.Steps[k].Thread = other(bad.Steps[k].Thread)
		_, err := traces.Replay(&bad)
		if err == nil {
			continue
		}
		found = true
		if !errors.Is(err, traces.ErrDiverged) || !strings.Contains(err.Error(), "step ") {
			t.Fatalf("step %d: %v, want ErrDiverged naming a step", k, err)
		}
	}
	if !found {
		t.Fatal("no tampered schedule diverged")
	}

	// A thread the scenario does not have is named as such (issue 11: the
	// message said "t5 is not enabled" on a three-thread scenario; threads
	// are T1.. everywhere).
	bad := *tr
	bad.Steps = slices.Clone(tr.Steps)
	bad.Steps[1].Thread = 5
	if _, err := traces.Replay(&bad); !errors.Is(err, traces.ErrDiverged) || !strings.Contains(err.Error(), "thread T6 does not exist: the scenario has T1..T") {
		t.Fatalf("thread 5: %v", err)
	}

	bad = *tr
	bad.Steps = slices.Clone(tr.Steps)
	bad.Steps[3].Label = "free.push-xthread-free"
	if _, err := traces.Replay(&bad); !errors.Is(err, traces.ErrDiverged) || !strings.Contains(err.Error(), "step 3:") {
		t.Fatalf("label: %v", err)
	}

	bad = *tr
	bad.Expect = "quiescent-clean"
	if _, err := traces.Replay(&bad); !errors.Is(err, traces.ErrDiverged) {
		t.Fatalf("expect: %v", err)
	}
	bad.Expect = ""
	if _, err := traces.Replay(&bad); !errors.Is(err, traces.ErrDiverged) {
		t.Fatalf("expect ok: %v", err)
	}

	ok := completeOK(t)
	ok.Expect = "deadlock-free"
	if _, err := traces.Replay(ok); !errors.Is(err, traces.ErrDiverged) {
		t.Fatalf("missing violation: %v", err)
	}

	// Steps past the violation.
	long := *tr
	long.Steps = append(slices.Clone(tr.Steps), tr.Steps[n-1])
	if _, err := traces.Replay(&long); !errors.Is(err, traces.ErrDiverged) {
		t.Fatalf("extra step: %v", err)
	}

	// Through the text format: edit the thread column of one line.
	text := string(traces.Format(tr))
	text = strings.Replace(text, "\n2 T"+string(rune('1'+tr.Steps[2].Thread))+" ", "\n2 T4 ", 1)
	parsed, err := traces.Parse("tampered", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := traces.Replay(parsed); !errors.Is(err, traces.ErrDiverged) || !strings.Contains(err.Error(), "step 2:") {
		t.Fatalf("text: %v", err)
	}
}

// TestEffectNotes: an edited effect column is a note, not a divergence
// (style.md §5: only the schedule and the labels are pinned).
func TestEffectNotes(t *testing.T) {
	tr := violating(t, header("S1", allocsim.MutBugB))
	tr.Steps[0].Effect = "seg0.live=7->8"
	res, err := traces.Replay(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "step 0: effect") {
		t.Fatalf("notes %q", res.Notes)
	}
}

// TestStale: another model revision or format version is ErrStale.
func TestStale(t *testing.T) {
	b := string(traces.Format(violating(t, header("S1", allocsim.MutBugB))))
	for _, c := range []struct{ old, new string }{
		{fmt.Sprintf("model rev=%d\n", traces.ModelRev), "model rev=999\n"},
		{"mimcheck-trace 2\n", "mimcheck-trace 3\n"},
	} {
		_, err := traces.Parse("stale", []byte(strings.Replace(b, c.old, c.new, 1)))
		if !errors.Is(err, traces.ErrStale) || errors.Is(err, traces.ErrFormat) {
			t.Fatalf("%q: %v, want ErrStale", c.new, err)
		}
	}
}

// TestFormatVersion1: a version 1 trace (threads t0..t3, the scheduler
// index, in steps and effects) still parses and replays, its effects read
// as version 2's (no notes); it is written back as version 2 (T1..T4).
func TestFormatVersion1(t *testing.T) {
	v2 := string(traces.Format(violating(t, header("S1", allocsim.MutBugB))))
	v1 := strings.Replace(v2, "mimcheck-trace 2\n", "mimcheck-trace 1\n", 1)
	// step lines: the thread column and the effect column
	lines := strings.Split(v1, "\n")
	down := func(m string) string {
		k := strings.IndexByte(m, 'T')
		return m[:k] + "t" + string(rune(m[k+1]-1)) + m[k+2:]
	}
	for i, l := range lines {
		if regexp.MustCompile(`^\d+ T[1-4] `).MatchString(l) {
			head, eff, _ := strings.Cut(l, " | ")
			head = regexp.MustCompile(`^\d+ T[1-4] `).ReplaceAllStringFunc(head, down)
			eff = regexp.MustCompile(`(^|[ (,])T[1-4][.,)]`).ReplaceAllStringFunc(eff, down)
			lines[i] = head + " | " + eff
		}
	}
	v1 = strings.Join(lines, "\n")
	if !strings.Contains(v1, " t0 ") || !strings.Contains(v1, " t0.") {
		t.Fatalf("the version 1 text has no t0:\n%s", v1)
	}
	tr, err := traces.Parse("v1", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := traces.Replay(tr)
	if err != nil || len(res.Notes) != 0 {
		t.Fatalf("replay of the version 1 trace: %v, notes %q", err, res.Notes)
	}
	if got := string(traces.Format(tr)); got != v2 {
		t.Errorf("version 1 written back:\n%s\nwant:\n%s", got, v2)
	}
}

// TestMalformed: broken input gives ErrFormat with the line number.
func TestMalformed(t *testing.T) {
	good := string(traces.Format(violating(t, header("S1", allocsim.MutBugB))))
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	sep := slices.Index(lines, "----")
	last := len(lines) - 1
	set := func(k int, s string) string {
		l := slices.Clone(lines)
		l[k] = s
		return strings.Join(l, "\n") + "\n"
	}
	drop := func(k int) string {
		return strings.Join(slices.Delete(slices.Clone(lines), k, k+1), "\n") + "\n"
	}
	cases := []struct {
		name string
		text string
		line int // 1-based
	}{
		{"empty", "", 1},
		{"no version", set(1, "trace 1"), 2},
		{"bad version", set(1, "mimcheck-trace one"), 2},
		{"unknown scenario", set(3, "scenario S9"), 4},
		{"unknown source", set(4, "source v9"), 5},
		{"bad patch", set(5, "patches D"), 6},
		{"unknown key", set(6, "colour blue"), 7},
		{"duplicate key", set(6, "source v2.4.1"), 7},
		{"bad expect", set(sep-1, "expect maybe"), sep},
		{"missing separator", strings.Join(lines[:sep], "\n") + "\n", sep},
		{"missing key", drop(sep - 1), sep},
		{"bad index", set(sep+1, "7 t0 x"), sep + 2},
		{"bad thread", set(sep+1, "0 tx segment-alloc.claim-slot"), sep + 2},
		{"bad cite", set(sep+1, `0 t0 segment-alloc.claim-slot cite="open`), sep + 2},
		{"junk", set(sep+2, "hello"), sep + 3},
		{"bad final step", set(last, "violation x at step 99: y"), last + 1},
		{"missing final", strings.Join(lines[:last], "\n") + "\n", last},
		{"text after final", good + "0 t0 x\n", last + 2},
	}
	for _, c := range cases {
		_, err := traces.Parse("bad.trace", []byte(c.text))
		var pe *traces.ParseError
		if !errors.Is(err, traces.ErrFormat) || !errors.As(err, &pe) {
			t.Errorf("%s: %v, want ErrFormat", c.name, err)
			continue
		}
		if pe.Line != c.line || !strings.HasPrefix(err.Error(), "traces: bad.trace:") {
			t.Errorf("%s: %v: line %d, want %d", c.name, err, pe.Line, c.line)
		}
	}
}

// TestMinimize: the minimised schedule violates the same invariant, has at
// most as many context switches and steps, and is the same every time.
func TestMinimize(t *testing.T) {
	for _, c := range []struct {
		scenario string
		mut      allocsim.Mutant
	}{{"S1", allocsim.MutBugA}, {"S2", allocsim.MutBugC}, {"S2", allocsim.MutBugSubproc}, {"S3", allocsim.MutBugA}} {
		sys, r := search(t, header(c.scenario, c.mut))
		v := r.Violation
		if v == nil {
			t.Fatalf("%s %s: no violation", c.scenario, c.mut)
		}
		inv, _ := traces.ViolationOf(v.Err)
		m := traces.Minimize(sys, v.Schedule, inv)
		if !slices.Equal(m, traces.Minimize(sys, v.Schedule, inv)) {
			t.Fatalf("%s %s: not deterministic", c.scenario, c.mut)
		}
		_, _, f, err := sched.ReplayCheck[model.State](sys, m)
		if err != nil || f == nil || len(f.Schedule) != len(m) {
			t.Fatalf("%s %s: minimised schedule does not violate: %v %v", c.scenario, c.mut, f, err)
		}
		if got, _ := traces.ViolationOf(f.Err); got != inv {
			t.Fatalf("%s %s: violates %s, want %s", c.scenario, c.mut, got, inv)
		}
		sw := func(s []int) int {
			n := 0
			for k := 1; k < len(s); k++ {
				if s[k] != s[k-1] {
					n++
				}
			}
			return n
		}
		if sw(m) > sw(v.Schedule) || (sw(m) == sw(v.Schedule) && len(m) > len(v.Schedule)) {
			t.Fatalf("%s %s: got worse", c.scenario, c.mut)
		}
		t.Logf("%s %s %s: %d steps %d switches -> %d steps %d switches", c.scenario, c.mut, inv,
			len(v.Schedule), sw(v.Schedule), len(m), sw(m))
	}
	// A schedule that does not violate the invariant comes back unchanged.
	sys, _ := search(t, header("S1", allocsim.MutNone))
	if got := traces.Minimize(sys, []int{0, 0}, "unique-claim"); !slices.Equal(got, []int{0, 0}) {
		t.Fatalf("got %v", got)
	}
}

// TestDiff pins the effect of the first step of S1 (the arena slot claim
// of mi_segment_alloc) and that a step changing nothing visible is "-".
func TestDiff(t *testing.T) {
	tr := completeOK(t)
	k := slices.IndexFunc(tr.Steps, func(st traces.Step) bool { return st.Label == "segment-alloc.claim-slot" })
	if k < 0 || !strings.Contains(tr.Steps[k].Effect, "seg0.live=0->1") || !strings.Contains(tr.Steps[k].Effect, "seg0.thread_id=0->1") {
		t.Fatalf("no claim-slot step with the slot's effect: %+v", tr.Steps)
	}
	for _, st := range tr.Steps {
		if st.Effect == "" || strings.Contains(st.Effect, "  ") {
			t.Fatalf("bad effect %q", st.Effect)
		}
	}
}

// TestRender: the rendering names the outcome and every step.
func TestRender(t *testing.T) {
	tr := violating(t, header("S1", allocsim.MutBugB))
	out := traces.Render(tr)
	if !strings.Contains(out, tr.End.String()) || strings.Count(out, "\n") < len(tr.Steps)+5 {
		t.Fatalf("render:\n%s", out)
	}
}

// TestDiffCoversState: a change to any field of model.Segment, model.Slice
// or the shared part of model.State (within the scenario's dimensions)
// shows in Diff, including fields added to the model after Diff was
// written.
func TestDiffCoversState(t *testing.T) {
	h := header("S2", allocsim.MutNone)
	sys, err := h.System()
	if err != nil {
		t.Fatal(err)
	}
	var a model.State
	check := func(where string, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			// Mem is the memory-model bookkeeping (clocks, store histories,
			// race shadows): traces show its effects as rf= and the race fault
			if f.Name == "Threads" || f.Name == "Segs" || f.Name == "Slices" || f.Name == "Mem" {
				continue
			}
			b := a
			bv := reflect.ValueOf(&b).Elem()
			// Find the same field in b by path.
			var fv reflect.Value
			switch where {
			case "segment":
				fv = bv.FieldByName("Segs").Index(1).Field(i)
			case "slice":
				fv = bv.FieldByName("Slices").Index(1).Index(2).Field(i)
			default:
				fv = bv.Field(i)
			}
			if !perturb(fv) {
				t.Fatalf("%s.%s: cannot perturb kind %s", where, f.Name, fv.Kind())
			}
			if got := traces.Diff(sys.Sim, &a, &b); got == "-" {
				t.Errorf("a change of %s field %s does not show in Diff", where, f.Name)
			}
		}
	}
	check("segment", reflect.ValueOf(model.Segment{}))
	check("slice", reflect.ValueOf(model.Slice{}))
	check("state", reflect.ValueOf(model.State{}))
}

// perturb changes v (the first element, for an array) and reports whether
// it could.
func perturb(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		v.SetUint(v.Uint() + 1)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Array:
		return v.Len() > 0 && perturb(v.Index(0))
	case reflect.Struct:
		return v.NumField() > 0 && perturb(v.Field(0))
	default:
		return false
	}
	return true
}
