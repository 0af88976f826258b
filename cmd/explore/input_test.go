package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mimcheck/allocsim"
	"mimcheck/sched"
	"mimcheck/traces"
)

// TestMain lets the test binary act as explore (MIMCHECK_AS_EXPLORE=1), so
// that the signal tests run it as a separate process.
func TestMain(m *testing.M) {
	if os.Getenv("MIMCHECK_AS_EXPLORE") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSignalsCancel: SIGINT and SIGTERM stop a search with its partial
// result printed (limit=cancelled) and exit 6, not 0 (a clean pass) and
// not a kill without a summary.
func TestSignalsCancel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search for a second")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(os.Args[0], "run", "--scenario", "S3", "--no-races", "--quiet", "--out", t.TempDir())
		cmd.Env = append(os.Environ(), "MIMCHECK_AS_EXPLORE=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitCancelled {
			t.Fatalf("%v: %v (want exit %d)\nstdout %s\nstderr %s", sig, err, exitCancelled, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "result=partial") || !strings.Contains(out.String(), "limit=cancelled") || !strings.Contains(errb.String(), "cancelled (SIGINT or SIGTERM)") {
			t.Errorf("%v: stdout %q stderr %q", sig, out.String(), errb.String())
		}
	}
}

// TestOutChecked: an --out that cannot hold a trace is bad input found
// before the search (exit 2, one line), not after it with the
// counterexample lost.
func TestOutChecked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for _, c := range []struct{ out, want string }{
		{"", "--out: empty directory name"},
		{file, "not a directory"},
		{filepath.Join(file, "sub"), "cannot create it"},
	} {
		code, out, errs := explore(t, "run", "--scenario", "S1", "--mutant", "BUG_B", "--abstraction", "spin", "--quiet", "--out", c.out)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("--out %q: exit %d, stdout %q, stderr %q (want exit 2 with %q)", c.out, code, out, errs, c.want)
		}
	}
}

// TestInputCapped: a scenario or trace file is read up to 16 MiB:
// /dev/zero is bad input (exit 2, one line), not an out-of-memory crash.
func TestInputCapped(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	for _, args := range [][]string{{"run", "--scenario", "/dev/zero"}, {"replay", "/dev/zero"}, {"conform", "replay", "/dev/zero"}} {
		code, _, errs := explore(t, args...)
		if code != exitUsage || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "more than 16 MiB") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

// TestUnsavedTrace: a violation whose trace cannot be written after all
// (the disk filled during the search) is printed in full on stderr and
// exits 3, so the counterexample is not lost.
func TestUnsavedTrace(t *testing.T) {
	saved := saveTrace
	saveTrace = func(dir, name string, data []byte) (string, error) { return "", errors.New("no space left on device") }
	defer func() { saveTrace = saved }()
	code, out, errs := explore(t, "run", "--scenario", "S1", "--mutant", "BUG_B", "--abstraction", "spin", "--quiet", "--out", t.TempDir())
	if code != exitUnsaved || !strings.Contains(out, "result=violation") || !strings.Contains(errs, "cannot write the trace: no space left on device; the trace follows") || !strings.Contains(errs, "mimcheck-trace 2") || !strings.Contains(errs, "expect violation span-queue-membership") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// TestContradictoryFlags: flags that would be accepted and then do nothing
// or contradict each other are bad input (exit 2, one line); --workers
// above the core count only warns.
func TestContradictoryFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "S2", "--seed", "3"}, "--seed: only the random and pct strategies"},
		{[]string{"--scenario", "S2", "--runs", "3"}, "--runs: only the random and pct strategies"},
		{[]string{"--scenario", "S1", "--rounds", "3"}, "--rounds: only S3"},
		{[]string{"--scenario", "S2", "--strategy", "dpor", "--no-races", "--workers", "2"}, "--workers 2: only the dfs and bfs strategies"},
		{[]string{"--scenario", "S1", "--scenario", "S2"}, "--scenario given 2 times"},
		{[]string{"--scenario=S1", "--scenario", "S2"}, "--scenario given 2 times"},
		{[]string{"--scenario", "S1", "--patch", "A,A"}, "patch A named twice"},
		{[]string{"--scenario", "S1", "--pct-depth", "2"}, "--pct-depth: only with --strategy pct"},
	} {
		args := append([]string{"run", "--quiet", "--out", t.TempDir()}, c.args...)
		code, out, errs := explore(t, args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want exit 2 with %q)", c.args, code, out, errs, c.want)
		}
	}
	code, out, errs := explore(t, "run", "--scenario", "S1", "--workers", "64", "--quiet", "--out", t.TempDir())
	if code != exitOK || !strings.HasPrefix(out, "result=ok") || !strings.Contains(errs, "warning: --workers 64 is more than this machine's") {
		t.Errorf("--workers 64: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestProgressNoEstimate: the progress line reports what the search has
// done (states and their rate, transitions, depth, frontier, executions)
// and no estimate of the total or ETA: the estimates printed before were
// off by up to six orders of magnitude (est=3.86e+10 on S2, whose search
// ends at 11,209 states) and overflowed on four threads.
func TestProgressNoEstimate(t *testing.T) {
	var b bytes.Buffer
	p := &progressPrinter{w: &b, start: time.Now().Add(-2 * time.Second)}
	p.update(sched.Progress{States: 5000, Transitions: 9000, Depth: 30, Frontier: 40, Executions: 2})
	var lastStates, lastSteps int64
	l := p.line(&lastStates, &lastSteps)
	if !strings.HasPrefix(l, "progress: 2.0s states=5000 (5000/s) transitions=9000 depth=30 frontier=40 executions=2") || strings.Contains(l, "est") || strings.Contains(l, "eta") {
		t.Errorf("progress line %q", l)
	}
}

// TestListScenario: explore list --scenario prints a built-in scenario's
// program in the file format, which parses back to the same scenario.
func TestListScenario(t *testing.T) {
	for _, name := range []string{"S1", "S2", "s3"} {
		code, out, errs := explore(t, "list", "--scenario", name)
		if code != exitOK || errs != "" || !strings.HasPrefix(out, "scenario "+strings.ToUpper(name)+"\n") || !strings.Contains(out, "thread: ") {
			t.Fatalf("%s: exit %d\n%s\n%s", name, code, out, errs)
		}
		if _, err := allocsim.ParseScenario(name, out); err != nil {
			t.Errorf("%s: the printed program does not parse: %v", name, err)
		}
	}
	if code, _, errs := explore(t, "list", "--scenario", "S1", "--rounds", "3"); code != exitUsage || !strings.Contains(errs, "only S3") {
		t.Errorf("--rounds with S1: exit %d %q", code, errs)
	}
}

// TestReplayNamesMemory: explore replay's config line and JSON name the
// memory model of the trace (issue 11: both left it out).
func TestReplayNamesMemory(t *testing.T) {
	f := filepath.Join("..", "..", "traces", "testdata", "block-conservation--S2-rc11-stale-xheap.trace")
	code, out, _ := explore(t, "replay", f)
	if code != exitOK || !strings.Contains(out, "lang=c11 memory=rc11 ") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	code, out, _ = explore(t, "replay", "--json", f)
	if code != exitOK || !strings.Contains(out, `"memory": "rc11"`) {
		t.Errorf("json: exit %d\n%s", code, out)
	}
}

// TestMinimize: explore minimize shortens a trace saved without
// minimisation, keeping its violation (the result replays to it), and
// refuses bad input: no violation to keep, an --out that exists.
func TestMinimize(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := explore(t, "run", "--scenario", "S2", "--mutant", "BUG_A", "--abstraction", "spin", "--no-minimize", "--quiet", "--out", dir)
	if code != exitViolation {
		t.Fatalf("run: exit %d %s", code, errs)
	}
	found, _ := filepath.Glob(filepath.Join(dir, "*.trace"))
	if len(found) != 1 {
		t.Fatalf("%d traces", len(found))
	}
	short := filepath.Join(dir, "short.trace")
	code, out, errs := explore(t, "minimize", found[0], "--out", short)
	if code != exitOK || !strings.Contains(out, "violation span-queue-owner kept") {
		t.Fatalf("minimize: exit %d\n%s\n%s", code, out, errs)
	}
	data, _ := os.ReadFile(found[0])
	long, _ := traces.Parse(found[0], data)
	data, _ = os.ReadFile(short)
	tr, err := traces.Parse(short, data)
	if err != nil || tr.Expect != "span-queue-owner" || len(tr.Steps) > len(long.Steps) {
		t.Fatalf("short trace: %v, %d steps (from %d)", err, len(tr.Steps), len(long.Steps))
	}
	if code, _, errs := explore(t, "replay", short); code != exitOK {
		t.Errorf("the short trace does not replay: %s", errs)
	}
	if code, _, errs := explore(t, "minimize", found[0], "--out", short); code != exitUsage || !strings.Contains(errs, "exists") {
		t.Errorf("existing --out: exit %d %q", code, errs)
	}
	okTrace := filepath.Join(dir, "ok.trace")
	os.WriteFile(okTrace, traces.Format(&traces.Trace{Header: long.Header, End: traces.Outcome{Step: -1}}), 0o644)
	if code, _, errs := explore(t, "minimize", okTrace, "--out", filepath.Join(dir, "x.trace")); code != exitUsage || !strings.Contains(errs, "nothing to keep") {
		t.Errorf("trace without violation: exit %d %q", code, errs)
	}
}

// TestCrossVariantReplay: explore replay re-runs a trace's schedule under
// another variant — finding 3's trace keeps its violation with patch A
// (exit 1), and with patch C the stale read no longer exists: the schedule
// diverges at that step and the bounded search from the common prefix
// finds nothing (exit 0); finding 2's harmful trace gives the same
// violation at v2.3.0.
func TestCrossVariantReplay(t *testing.T) {
	f3 := filepath.Join("..", "..", "traces", "testdata", "block-conservation--S2-rc11-stale-xheap.trace")
	code, out, errs := explore(t, "replay", f3, "--patch", "A")
	if code != exitViolation || !strings.Contains(out, "same violation: block-conservation at step 25") {
		t.Errorf("patch A: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = explore(t, "replay", f3, "--patch", "C")
	if code != exitOK || !strings.Contains(out, "diverges at step 25: the trace's reads-from choice there does not exist") || !strings.Contains(out, "no violation in") || !strings.Contains(out, "complete within the bound") {
		t.Errorf("patch C: exit %d\n%s\n%s", code, out, errs)
	}
	f2 := filepath.Join("..", "..", "traces", "testdata", "no-use-after-free--force-abandon-harmful.trace")
	code, out, errs = explore(t, "replay", f2, "--source", "v2.3.0")
	if code != exitViolation || !strings.Contains(out, "same violation: no-use-after-free") {
		t.Errorf("v2.3.0: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := explore(t, "replay", f2, "--source", "v9"); code != exitUsage || !strings.Contains(errs, "--source") {
		t.Errorf("bad --source: exit %d %q", code, errs)
	}
}

// TestShow: explore show puts each step under the operation it belongs to,
// in its thread's lane, names the delayed-free modes, marks the violating
// step and explains the invariant; --format mermaid is a sequence diagram.
func TestShow(t *testing.T) {
	f := filepath.Join("..", "..", "traces", "testdata", "unique-claim--conform-os-reclaim-race.trace")
	code, out, errs := explore(t, "show", f)
	if code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	for _, want := range []string{
		"── op 2: free a", " 12 free.cas-thread-id  <== unique-claim",
		"seg0.s1.delayed=MI_USE_DELAYED_FREE->MI_NEVER_DELAYED_FREE",
		"violation unique-claim at step 12", "(a claim (bitmap unclaim) never succeeds on a segment another thread holds)",
		"free.cas-thread-id                       v2.1.7 arena.c: _mi_arena_segment_clear_abandoned (OS segment)  [acq_rel]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q\n%s", want, out)
		}
	}
	// T2's lane is the second column
	if !strings.Contains(out, strings.Repeat(" ", 34)+"── op 1: a <- m0") {
		t.Errorf("T2's operations are not in the second lane\n%s", out)
	}
	code, out, _ = explore(t, "show", "--format", "mermaid", f)
	if code != exitOK || !strings.HasPrefix(out, "sequenceDiagram\n    participant T1\n    participant T2\n") || !strings.Contains(out, "T2->>T2: 12 free.cas-thread-id ⚠ unique-claim") {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}
	if code, _, errs := explore(t, "show", "--format", "svg", f); code != exitUsage || !strings.Contains(errs, "--format") {
		t.Errorf("--format svg: exit %d %q", code, errs)
	}
	// an operation after exit says what it means
	f = filepath.Join("..", "..", "traces", "testdata", "scan-complete--scan-complete-BUG_SCAN.trace")
	if code, out, _ := explore(t, "show", f); code != exitOK || !strings.Contains(out, "── op 3: send a -> m0 (after exit: runs after thread-done, with the default heap reset)") {
		t.Errorf("after exit: exit %d\n%s", code, out)
	}
}

// TestJSONSchema: explore run --json carries the layout's schema version,
// the invariants the run checked and the command that reproduces it.
func TestJSONSchema(t *testing.T) {
	code, out, _ := explore(t, "run", "--scenario", "S1", "--retention", "--no-races", "--json", "--quiet", "--out", t.TempDir())
	var j struct {
		Schema     int      `json:"schema"`
		Invariants []string `json:"invariants"`
		Reproduce  string   `json:"reproduce"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || code != exitOK {
		t.Fatalf("exit %d %v\n%s", code, err, out)
	}
	has := func(n string) bool {
		for _, x := range j.Invariants {
			if x == n {
				return true
			}
		}
		return false
	}
	if j.Schema != jsonSchema || !has("scan-complete") || has("no-data-race") || !has("quiescent-clean") ||
		!strings.HasPrefix(j.Reproduce, "explore run --scenario S1 ") || !strings.Contains(j.Reproduce, "--retention") {
		t.Errorf("schema %d invariants %v reproduce %q", j.Schema, j.Invariants, j.Reproduce)
	}
}

// TestMaxMemory (issue 12): --max-memory stops the search with an honest
// partial result before the process passes it (the visited table's growth
// is refused; the resident memory is watched), with the limit named; a
// malformed size is bad input.
func TestMaxMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("searches S3 until the limit")
	}
	// a process of its own, which reports its own peak resident memory
	// (a parent's wait4 figure would count the memory the child shared
	// with this test process before exec)
	for _, workers := range []string{"1", "2"} {
		cmd := exec.Command(os.Args[0], "run", "--scenario", "S3", "--max-memory", "48MiB", "--workers", workers, "--quiet", "--json", "--out", t.TempDir())
		cmd.Env = append(os.Environ(), "MIMCHECK_AS_EXPLORE=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var j jsonResult
		if err != nil || json.Unmarshal(out.Bytes(), &j) != nil || j.Verdict != "partial" || j.Limit != "max-memory=48MiB" {
			t.Fatalf("workers %s: %v\n%s\n%s", workers, err, out.String(), errb.String())
		}
		if j.PeakRSSBytes <= 0 || j.PeakRSSBytes > 48<<20 {
			t.Errorf("workers %s: peak resident memory %d bytes, above the limit (or unknown)", workers, j.PeakRSSBytes)
		}
	}
	for _, bad := range []string{"12XB", "-1G", "lots"} {
		if code, _, errs := explore(t, "run", "--scenario", "S1", "--max-memory", bad); code != exitUsage || !strings.Contains(errs, "--max-memory") {
			t.Errorf("--max-memory %s: exit %d %s", bad, code, errs)
		}
	}
}
