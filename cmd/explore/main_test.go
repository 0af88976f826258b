package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mimcheck/properties"
	"mimcheck/traces"
)

// explore runs the command line and returns its exit code and output.
func explore(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// traceOf returns the trace path of a run's summary line.
func traceOf(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m) trace=(\S+)$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no trace= in %q", stdout)
	}
	return m[1]
}

// TestRunOK: S1 under the SPIN abstraction has no violation (exit 0); on
// stdout the summary line, the invariants checked (no no-data-race: the
// spin abstraction tracks no races) and the command that reproduces the
// run; the configuration first on stderr.
func TestRunOK(t *testing.T) {
	code, out, errs := explore(t, "run", "--scenario", "S1", "--abstraction", "spin", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "result=ok states=") ||
		!strings.HasPrefix(lines[1], "checked: span-queue-well-formed ") || strings.Contains(lines[1], "no-data-race") ||
		lines[2] != "reproduce: explore run --scenario S1 --source v2.4.1 --patch none --lang c11 --mutant none --abstraction spin --strategy dfs" {
		t.Fatalf("stdout %q", out)
	}
	// the reproduce command gives the same result line
	args := strings.Fields(strings.TrimPrefix(lines[2], "reproduce: explore "))
	if code, again, _ := explore(t, append(args, "--out", t.TempDir())...); code != exitOK || again != out {
		t.Errorf("the reproduce command printed %q, the run %q", again, out)
	}
	first, _, _ := strings.Cut(errs, "\n")
	for _, kv := range []string{"scenario=S1", "source=v2.4.1", "patches=none", "lang=c11", "mutant=none", "abstraction=spin", "strategy=dfs", "seed=", fmt.Sprintf("model-rev=%d", traces.ModelRev)} {
		if !strings.Contains(first, kv) {
			t.Errorf("first stderr line %q lacks %s", first, kv)
		}
	}
}

// TestRunViolation: S1 with BUG_B (mi_segment_abandon leaves the free
// spans queued) violates span-queue-membership: exit 1, a trace named
// after the configuration in --out, a reproduce line, and the trace
// replays (exit 0).
func TestRunViolation(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := explore(t, "run", "--scenario", "S1", "--mutant", "BUG_B", "--out", dir)
	if code != exitViolation {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	path := traceOf(t, out)
	if want := filepath.Join(dir, "span-queue-membership--S1-v2.4.1-none-BUG_B.trace"); path != want {
		t.Fatalf("trace %s, want %s", path, want)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "result=violation invariant=span-queue-membership ") ||
		!strings.Contains(lines[1], " no-data-race ") || lines[2] != "reproduce: explore replay "+path {
		t.Fatalf("stdout %q", out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# found by: explore run --scenario S1 ") {
		t.Fatalf("trace starts %q", string(data[:60]))
	}
	code, out, errs = explore(t, "replay", path)
	if code != exitOK || !strings.HasSuffix(out, "reproduced: violation span-queue-membership at step "+lastStep(data)+"\n") {
		t.Fatalf("replay exit %d\n%s\n%s", code, out, errs)
	}
}

// lastStep returns the index of the last step line of a trace.
func lastStep(data []byte) string {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	f := strings.Fields(lines[len(lines)-2])
	return f[0]
}

// TestDeterministic: the same flags twice give byte-identical stdout and
// trace files (style.md §5), also when the second run finds its trace
// already written.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", "--scenario", "S2", "--mutant", "BUG_C", "--abstraction", "spin", "--out", dir},
		{"run", "--scenario", "S1", "--mutant", "BUG_A", "--strategy", "random", "--seed", "7", "--runs", "200", "--out", dir},
		{"run", "--scenario", "S2", "--abstraction", "spin", "--json", "--no-time", "--out", dir},
	} {
		c1, o1, _ := explore(t, args...)
		c2, o2, _ := explore(t, args...)
		if c1 != c2 || o1 != o2 {
			t.Fatalf("%v: differs:\n%s\n%s", args, o1, o2)
		}
		if c1 == exitViolation {
			other := t.TempDir()
			a3 := append(append([]string{}, args[:len(args)-1]...), other)
			_, o3, _ := explore(t, a3...)
			b1, _ := os.ReadFile(traceOf(t, o1))
			b3, _ := os.ReadFile(traceOf(t, o3))
			if len(b1) == 0 || !bytes.Equal(b1, b3) {
				t.Fatalf("%v: trace files differ", args)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d files in out dir, want 2 (a rerun reuses its identical trace)", len(entries))
	}
}

// TestTraceNameTaken: an existing file with other content is not
// overwritten; the trace gets a -2 suffix.
func TestTraceNameTaken(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "span-queue-membership--S1-v2.4.1-none-BUG_B.trace")
	if err := os.WriteFile(name, []byte("other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ := explore(t, "run", "--scenario", "S1", "--mutant", "BUG_B", "--out", dir)
	if got := traceOf(t, out); got != strings.TrimSuffix(name, ".trace")+"-2.trace" {
		t.Fatalf("trace %s", got)
	}
	if b, _ := os.ReadFile(name); string(b) != "other\n" {
		t.Fatal("existing file overwritten")
	}
}

// TestCorpusName: --corpus names the trace <invariant>--<scenario>-<mutant>.
func TestCorpusName(t *testing.T) {
	dir := t.TempDir()
	_, out, _ := explore(t, "run", "--scenario", "S1", "--mutant", "BUG_B", "--corpus", "--out", dir)
	if got := traceOf(t, out); got != filepath.Join(dir, "span-queue-membership--S1-BUG_B.trace") {
		t.Fatalf("trace %s", got)
	}
}

// TestUsageErrors: every input error exits 2 with exactly one stderr line
// naming the problem, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.scenario")
	if err := os.WriteFile(bad, []byte("segments 1\nslices 5\nthread: frobnicate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"frob"}, "unknown command"},
		{[]string{"run"}, "--scenario"},
		{[]string{"run", "--scenario", "S9"}, "unknown scenario"},
		{[]string{"run", "--scenario", filepath.Join(dir, "nope")}, "unknown scenario"},
		{[]string{"run", "--scenario", bad}, "frobnicate"},
		{[]string{"run", "--scenario", "S1", "--source", "v9"}, "unknown source"},
		{[]string{"run", "--scenario", "S1", "--patch", "D"}, "unknown patch"},
		{[]string{"run", "--scenario", "S1", "--patch", ""}, "--patch"},
		{[]string{"run", "--scenario", "S1", "--lang", "rust"}, "unknown lang"},
		{[]string{"run", "--scenario", "S1", "--mutant", "BUG_Z"}, "unknown mutant"},
		{[]string{"run", "--scenario", "S1", "--abstraction", "half"}, "unknown abstraction"},
		{[]string{"run", "--scenario", "S1", "--strategy", "sideways"}, "unknown strategy"},
		{[]string{"run", "--scenario", "S1", "--max-depth", "-5"}, "--max-depth -5"},
		{[]string{"run", "--scenario", "S1", "--max-preemptions", "-2"}, "--max-preemptions"},
		{[]string{"run", "--scenario", "S1", "--max-states", "-1"}, "--max-states"},
		{[]string{"run", "--scenario", "S1", "--strategy", "random", "--runs", "0"}, "--runs 0"},
		{[]string{"run", "--scenario", "S3", "--rounds", "99"}, "--rounds"},
		{[]string{"run", "--scenario", "S1", "--timeout", "-1s"}, "--timeout"},
		{[]string{"run", "--scenario", "S1", "--bogus"}, "bogus"},
		{[]string{"run", "--scenario", "S1", "extra"}, "unexpected argument"},
		{[]string{"replay"}, "exactly one"},
		{[]string{"replay", filepath.Join(dir, "missing.trace")}, "cannot read"},
		{[]string{"matrix", "--patch-sets", "D"}, "unknown patch"},
		{[]string{"matrix", "--workers", "0"}, "--workers"},
		{[]string{"list", "extra"}, "unexpected argument"},
	} {
		code, out, errs := explore(t, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and one line naming %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestReplayFailures: a tampered trace (another thread on one step) and a
// stale one exit 4; a malformed one exits 2 with its line number.
func TestReplayFailures(t *testing.T) {
	dir := t.TempDir()
	// (the spin abstraction: at full fidelity S2's freeing thread has no
	// heap of its own and does not reclaim on free, so BUG_C is not reached)
	_, out, _ := explore(t, "run", "--scenario", "S2", "--mutant", "BUG_C", "--abstraction", "spin", "--out", dir)
	data, err := os.ReadFile(traceOf(t, out))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Tamper: give step 1 to another thread.
	lines := strings.Split(text, "\n")
	k := 0
	for k < len(lines) && lines[k] != "----" {
		k++
	}
	f := strings.Fields(lines[k+2])
	other := map[string]string{"T1": "T2", "T2": "T3", "T3": "T1"}[f[1]]
	lines[k+2] = strings.Replace(lines[k+2], " "+f[1]+" ", " "+other+" ", 1)
	tampered := write("tampered.trace", strings.Join(lines, "\n"))
	code, out, errs := explore(t, "replay", tampered)
	if code != exitDiverged || !strings.Contains(errs, "diverged") || !strings.Contains(errs, "step 1") {
		t.Fatalf("tampered: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = explore(t, "replay", tampered, "--json")
	var j map[string]any
	if code != exitDiverged || json.Unmarshal([]byte(out), &j) != nil || j["verdict"] != "diverged" || j["schema"] != float64(1) {
		t.Fatalf("tampered --json: exit %d %s", code, out)
	}

	stale := write("stale.trace", strings.Replace(text, fmt.Sprintf("model rev=%d\n", traces.ModelRev), "model rev=999\n", 1))
	if code, _, errs := explore(t, "replay", stale); code != exitDiverged || !strings.Contains(errs, "stale") {
		t.Fatalf("stale: exit %d %s", code, errs)
	}

	malformed := write("malformed.trace", strings.Replace(text, "lang c11\n", "lang c99\n", 1))
	if code, _, errs := explore(t, "replay", malformed); code != exitUsage || !strings.Contains(errs, "malformed.trace:7") ||
		strings.Count(errs, "\n") != 1 {
		t.Fatalf("malformed: exit %d %s", code, errs)
	}

	wrong := write("expect.trace", strings.Replace(text, "expect violation unique-claim\n", "expect ok\n", 1))
	if code, _, errs := explore(t, "replay", wrong); code != exitDiverged {
		t.Fatalf("wrong expect: exit %d %s", code, errs)
	}
}

// TestJSON: --json prints exactly one JSON object with the documented
// fields, for an ok run and for a violation.
func TestJSON(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args    []string
		code    int
		verdict string
	}{
		{[]string{"run", "--scenario", "S1", "--abstraction", "spin", "--json"}, exitOK, "ok"},
		{[]string{"run", "--scenario", "S1", "--mutant", "BUG_B", "--json", "--out", dir}, exitViolation, "violation"},
		{[]string{"run", "--scenario", "S2", "--max-states", "100", "--json"}, exitOK, "partial"},
		{[]string{"run", "--scenario", "S2", "--strategy", "random", "--seed", "3", "--runs", "5", "--json"}, exitOK, "partial"},
	} {
		code, out, errs := explore(t, c.args...)
		if code != c.code {
			t.Fatalf("%v: exit %d %s", c.args, code, errs)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		var j map[string]any
		if err := dec.Decode(&j); err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		if dec.More() {
			t.Fatalf("%v: more than one JSON value", c.args)
		}
		for _, k := range []string{"verdict", "complete", "limit", "scenario", "source", "patches", "lang", "mutant", "abstraction",
			"strategy", "seed", "states", "transitions", "runs", "max_depth", "elapsed_s", "collision_probability", "violations"} {
			if _, ok := j[k]; !ok {
				t.Errorf("%v: no %q", c.args, k)
			}
		}
		if j["verdict"] != c.verdict || (j["verdict"] == "ok") != (j["complete"] == true) {
			t.Errorf("%v: verdict %v complete %v", c.args, j["verdict"], j["complete"])
		}
		if c.verdict == "partial" && j["limit"] == "" {
			t.Errorf("%v: partial without a limit", c.args)
		}
		vs := j["violations"].([]any)
		if (c.verdict == "violation") != (len(vs) == 1) {
			t.Fatalf("%v: violations %v", c.args, vs)
		}
		if len(vs) == 1 {
			v := vs[0].(map[string]any)
			if v["property"] != "span-queue-membership" || v["detail"] == "" || v["steps"].(float64) < 1 {
				t.Fatalf("violation %v", v)
			}
			if _, err := os.Stat(v["trace"].(string)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTimeout: a timeout that hits gives partial with the timeout named,
// and exit 0 (style.md §1.5: a limit is never a pass, nor a failure).
func TestTimeout(t *testing.T) {
	code, out, _ := explore(t, "run", "--scenario", "S2", "--timeout", "1ns")
	if code != exitOK || !strings.HasPrefix(out, "result=partial limit=timeout=1ns ") {
		t.Fatalf("exit %d %q", code, out)
	}
}

// TestScenarioFile: a scenario file runs, and its trace embeds the text and
// replays without the file.
func TestScenarioFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "two.scenario")
	text := "segments 1\nslices 5\noption reclaim-on-free=1\nthread: a = malloc(S); b = malloc(M); send a -> m0; free b; exit\nthread: a <- m0; free a; exit\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := explore(t, "run", "--scenario", file, "--mutant", "BUG_B", "--out", dir)
	if code != exitViolation {
		t.Fatalf("exit %d %s", code, errs)
	}
	path := traceOf(t, out)
	if filepath.Base(path) != "span-queue-membership--two-v2.4.1-none-BUG_B.trace" {
		t.Fatalf("trace %s", path)
	}
	os.Remove(file)
	if code, out, errs := explore(t, "replay", path); code != exitOK {
		t.Fatalf("replay exit %d\n%s\n%s", code, out, errs)
	}
}

// TestInternalError: a panic inside run (here: a broken stdout) is exit 5
// with one "internal error" line, never a raw panic.
func TestInternalError(t *testing.T) {
	var errb bytes.Buffer
	code := run([]string{"list"}, panicWriter{}, &errb)
	if code != exitInternal || !strings.HasPrefix(errb.String(), "internal error: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("exit %d %q", code, errb.String())
	}
}

// panicWriter panics on every write.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("write to a broken stdout") }

// TestList: list names every invariant and the step labels.
func TestList(t *testing.T) {
	code, out, _ := explore(t, "list")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, n := range append(properties.Names(), "S1", "v2.3.0", "BUG_SUBPROC", "msvc-c", "spin", "random", "free.load-thread-id", "seq_cst (msvc-c: plain)") {
		if !strings.Contains(out, n) {
			t.Errorf("list lacks %q", n)
		}
	}
}

// TestMatrix: a small matrix prints a deterministic table (with --no-time)
// and exits 0; with a mutant it exits 1 and names the traces.
func TestMatrix(t *testing.T) {
	dir := t.TempDir()
	args := []string{"matrix", "--scenarios", "S1,S2", "--sources", "v2.4.1", "--patch-sets", "none,A+B", "--no-time", "--out", dir}
	code, out, errs := explore(t, args...)
	if code != exitOK || strings.Count(out, "\n") != 6 || strings.Contains(out, " time ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "[4/4] S2 v2.4.1 patch=A+B lang=c11 memory=sc ... ok ") {
		t.Fatalf("progress: %s", errs)
	}
	if _, out2, _ := explore(t, args...); out2 != out {
		t.Fatalf("not deterministic:\n%s\n%s", out, out2)
	}
	code, out, _ = explore(t, "matrix", "--scenarios", "S1", "--sources", "v2.4.1", "--patch-sets", "none", "--mutant", "BUG_B", "--out", dir)
	if code != exitViolation || !strings.Contains(out, "span-queue-membership @ ") ||
		!strings.Contains(out, filepath.Join(dir, "span-queue-membership--S1-v2.4.1-none-BUG_B.trace")) {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
