package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mimcheck/conform"
	"mimcheck/traces"
)

// TestConformUsage: bad input to explore conform is one line and exit 2.
func TestConformUsage(t *testing.T) {
	s1 := filepath.Join("..", "..", "scenarios", "conform", "s1.scn")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"conform"}, "--scenario FILE is required"},
		{[]string{"conform", "--scenario", "S1"}, "no C counterpart"},
		{[]string{"conform", "--scenario", s1, "--flavour", "fast"}, "unknown flavour"},
		{[]string{"conform", "--scenario", s1, "--mimalloc", "/nonexistent"}, "--mimalloc /nonexistent"},
		{[]string{"conform", "--scenario", s1, "--runs", "0"}, "--runs 0"},
		{[]string{"conform", "--scenario", s1, "--source", "v9"}, "--source"},
	} {
		code, out, errs := explore(t, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want exit 2, one line with %q)", c.args, code, out, errs, c.want)
		}
	}
}

// TestConformRun: a conformance run on mimalloc's C code (release build)
// ends with result=ok and exit 0; skipped without gcc or the sources.
func TestConformRun(t *testing.T) {
	src := needC(t, "v2.4.1")
	code, out, errs := explore(t, "conform", "--scenario", filepath.Join("..", "..", "scenarios", "conform", "s1-m3.scn"),
		"--mimalloc", src, "--flavour", "release", "--runs", "3", "--cache", t.TempDir(), "--quiet")
	if code == exitUsage && strings.Contains(errs, "--mimalloc") {
		t.Skipf("no mimalloc sources: %s", strings.TrimSpace(errs))
	}
	if code != exitOK || !strings.HasPrefix(out, "result=ok source=v2.4.1 flavours=release runs=3 ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestConformReplayFinding2: the corpus trace of finding 2 on the
// conformance scenario replays on mimalloc v2.4.1's C code step by step:
// the debug build with immediate purging stops at the trace's violation
// step, the capacity read, with a segmentation fault on page 1's capacity
// (exit 0: the C run follows the trace to its last step); the release
// build reads zeros and runs on, with the same state as the model's.
// Bad input: a trace of the spin abstraction has no C counterpart (exit 2).
func TestConformReplayFinding2(t *testing.T) {
	src := needC(t, "v2.4.1")
	trace := filepath.Join("..", "..", "traces", "testdata", "no-use-after-free--conform-force-abandon.trace")
	cache := t.TempDir()
	code, out, errs := explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", "debug", "--mi-option", "purge_delay=0", trace)
	if code == exitUsage && strings.Contains(errs, "--mimalloc") {
		t.Skipf("no mimalloc sources: %s", strings.TrimSpace(errs))
	}
	if code != exitOK || !strings.Contains(out, "conforms through step 18; at step 19 (T1 force-abandon.read-capacity) the model reports no-use-after-free and the C code stops: harness: signal 11: access to s0.p1+0xa") {
		t.Fatalf("debug: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", "release", trace)
	if code != exitOK || !strings.Contains(out, "conforms through step 18; step 19 (T1 force-abandon.read-capacity): the model reports use-after-free; the C code ran the step (no-use-after-free; no crash in this build)") {
		t.Fatalf("release: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, filepath.Join("..", "..", "traces", "testdata", "span-queue-membership--S1-BUG_B.trace"))
	if code != exitUsage || !strings.Contains(errs, "has no C counterpart") || strings.Count(errs, "\n") != 1 {
		t.Errorf("a spin-abstraction trace: exit %d, %s", code, errs)
	}
}

// TestConformReplayFinding1: finding 1 (v2.1.7, OS memory) replays on
// mimalloc v2.1.7's C code: at the trace's violation step, T2's
// reclaim-on-free CAS of thread_id, the C state read from mimalloc's own
// segment shows what the model shows: segment 0 owned by T2 while it still
// counts an abandoned page (T1 is between its two stores).
func TestConformReplayFinding1(t *testing.T) {
	src := needC(t, "v2.1.7")
	trace := filepath.Join("..", "..", "traces", "testdata", "unique-claim--conform-os-reclaim-race.trace")
	code, out, errs := explore(t, "conform", "replay", "--mimalloc", src, "--cache", t.TempDir(), "--flavour", "debug", trace)
	if code == exitUsage && strings.Contains(errs, "--mimalloc") {
		t.Skipf("no mimalloc sources: %s", strings.TrimSpace(errs))
	}
	if code != exitOK || !strings.Contains(out, "conforms through step 11; step 12 (T2 free.cas-thread-id): the model reports claim-held") ||
		!strings.Contains(out, "model: state s0:2/1/1 T2:r0=s0.1\n  C:     state s0:2/1/1 T2:r0=s0.1") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = explore(t, "conform", "replay", "--json", "--mimalloc", src, "--cache", t.TempDir(), "--flavour", "release", trace)
	var j jsonConformReplay
	if err := json.Unmarshal([]byte(out), &j); err != nil || code != exitOK {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if j.Schema != jsonSchema || j.Verdict != "reproduced" || j.Through != 11 || j.Step != 12 || j.CState != j.ModelState || j.CState != "state s0:2/1/1 T2:r0=s0.1" {
		t.Errorf("--json: %+v", j)
	}
}

// needC skips a test that builds mimalloc without gcc (or under -short) and
// returns the shared sources of tag (a missing directory is reported by the
// command itself, and the test skips on that).
func needC(t *testing.T, tag string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found")
	}
	return filepath.Join("..", "..", "..", "shared", "third_party", "mimalloc", tag)
}

// TestConformRandom: explore conform random runs the C code under the
// harness's schedules and the model follows: on conform-s1-m3 every run
// conforms (exit 0), the same with two workers, byte for byte; with the
// known-divergence list emptied, handoff.scn's delayed-list order is an
// unexplained divergence (exit 1) with both sides written to --out, and
// the saved model trace replays (explore replay). Bad input: exit 2.
func TestConformRandom(t *testing.T) {
	src := needC(t, "v2.4.1")
	cache := t.TempDir()
	s1m3 := filepath.Join("..", "..", "scenarios", "conform", "s1-m3.scn")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"conform", "random"}, "--scenario FILE is required"},
		{[]string{"conform", "random", "--scenario", s1m3, "--strategy", "bfs"}, "--strategy"},
		{[]string{"conform", "random", "--scenario", s1m3, "--workers", "0"}, "--workers 0"},
		{[]string{"conform", "random", "--scenario", "S2"}, "no C counterpart"},
	} {
		code, out, errs := explore(t, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want exit 2, one line with %q)", c.args, code, out, errs, c.want)
		}
	}
	var first string
	for _, w := range []string{"1", "2"} {
		code, out, errs := explore(t, "conform", "random", "--scenario", s1m3, "--mimalloc", src, "--cache", cache, "--runs", "12", "--workers", w, "--quiet")
		if code != exitOK || !strings.HasPrefix(out, "result=ok mode=random scenario=conform-s1-m3 source=v2.4.1 strategy=random runs=12 ") {
			t.Fatalf("workers %s: exit %d\n%s\n%s", w, code, out, errs)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("workers 2 printed %q, workers 1 %q", out, first)
		}
	}
	saved := conform.KnownDivergences
	conform.KnownDivergences = nil
	defer func() { conform.KnownDivergences = saved }()
	dir := t.TempDir()
	code, out, errs := explore(t, "conform", "random", "--scenario", filepath.Join("..", "..", "scenarios", "conform", "handoff.scn"),
		"--mimalloc", src, "--cache", cache, "--runs", "20", "--out", dir, "--quiet")
	if code != exitViolation || !strings.Contains(out, "result=divergence") || !strings.Contains(out, "delayed.take-list) the states differ") {
		t.Fatalf("handoff without the known list: exit %d\n%s\n%s", code, out, errs)
	}
	traceFiles, _ := filepath.Glob(filepath.Join(dir, "conform-random--*.trace"))
	logs, _ := filepath.Glob(filepath.Join(dir, "conform-random--*.log"))
	if len(traceFiles) == 0 || len(logs) != len(traceFiles) {
		t.Fatalf("--out holds %d traces and %d C logs", len(traceFiles), len(logs))
	}
	if code, out, errs := explore(t, "replay", traceFiles[0]); code != exitOK {
		t.Errorf("explore replay %s: exit %d\n%s\n%s", traceFiles[0], code, out, errs)
	}
}

// TestCorpusOnC: every trace of the corpus either replays on its tag's C
// code to its last step (explore conform replay, release build: the
// violation step reproduced, or the whole trace conforming) or is
// model-only with a stated reason (a mutant, the spin abstraction, a weak
// memory model, an MSVC-C race, the harmful publish check, or a scenario
// whose classes have no C counterpart). The list is printed with -v; the
// README's corpus table is this list.
func TestCorpusOnC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "traces", "testdata", "*.trace"))
	if err != nil || len(files) == 0 {
		t.Fatal("no corpus")
	}
	cache := t.TempDir()
	onC := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := traces.Parse(f, data)
		if err != nil {
			t.Fatal(err)
		}
		if why := modelOnly(tr); why != "" {
			t.Logf("%s: model-only: %s", filepath.Base(f), why)
			continue
		}
		src := needC(t, tr.Source.String())
		flavour := "release"
		if sc, err := tr.LoadScenario(); err == nil && sc.Stats {
			flavour = "stats" // a statistics build (finding 8)
		}
		code, out, errs := explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", flavour, "--json", f)
		var j jsonConformReplay
		if err := json.Unmarshal([]byte(out), &j); err != nil || code != exitOK || (j.Verdict != "reproduced" && j.Verdict != "conforms") {
			t.Errorf("%s: exit %d, %s\n%s", filepath.Base(f), code, out, errs)
			continue
		}
		onC++
		t.Logf("%s: on C (%s): %s through step %d", filepath.Base(f), tr.Source, j.Verdict, j.Through)
	}
	if onC < 2 {
		t.Errorf("%d corpus traces replay on C, want findings 1 and 2 at least", onC)
	}
}

// TestFinding8OnC: finding 8 (the issue #944 fix bypassed in a statistics
// build) replays on mimalloc's C code built with MI_STAT=1: the C code
// follows every step and ends in the model's state ("reproduced"); the same trace is
// refused with a build without statistics (exit 2, one line), and the
// stats build is refused for a scenario without option stats.
func TestFinding8OnC(t *testing.T) {
	src := needC(t, "v2.4.1")
	cache := t.TempDir()
	trace := filepath.Join("..", "..", "traces", "testdata", "quiescent-clean--after-exit-stats-none.trace")
	code, out, errs := explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", "stats", "--json", trace)
	var j jsonConformReplay
	if err := json.Unmarshal([]byte(out), &j); err != nil || code != exitOK || j.Verdict != "reproduced" || j.Through != 31 || j.ModelState != j.CState {
		t.Fatalf("exit %d, %s %s", code, out, errs)
	}
	code, _, errs = explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", "release", trace)
	if code != exitUsage || !strings.Contains(errs, "run it with --flavour stats") || strings.Count(errs, "\n") != 1 {
		t.Errorf("release build: exit %d, %q", code, errs)
	}
	other := filepath.Join("..", "..", "traces", "testdata", "quiescent-clean--conform-after-exit-v2.1.7.trace")
	if code, _, errs := explore(t, "conform", "replay", "--mimalloc", src, "--cache", cache, "--flavour", "stats", other); code != exitUsage || !strings.Contains(errs, "has no option stats") {
		t.Errorf("stats build without option stats: exit %d, %q", code, errs)
	}
}
