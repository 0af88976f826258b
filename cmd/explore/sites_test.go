package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forceAbandon is the path of finding 2's scenario from this package.
var forceAbandon = filepath.Join("..", "..", "scenarios", "force-abandon.scn")

// TestAllViolationsHarmful: --all-violations on finding 2's harmful form
// goes past the first report (the capacity read in freed memory) and runs
// the published walk on to the damage of issue 9 item 8: the abandoner's
// mi_segment_free on a segment another thread holds (segment-single-owner
// at force-abandon.clear-dont-free), its unlinking through its own span
// queues (span-queue-owner), the holder's queue left pointing into the
// freed segment (span-queue-well-formed). Every site is one violation with
// a trace that replays; the JSON lists them all; exit 1.
func TestAllViolationsHarmful(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", "--scenario", forceAbandon, "--publish-check", "harmful", "--no-races", "--all-violations", "--out", dir}
	code, out, errs := explore(t, append(args, "--json", "--no-time", "--quiet")...)
	if code != exitViolation {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var r jsonResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if r.Verdict != "violation" || !r.Complete {
		t.Fatalf("verdict %s complete %v", r.Verdict, r.Complete)
	}
	sites := map[string]string{}
	for _, v := range r.Violations {
		if v.Site == "" || v.Trace == "" {
			t.Fatalf("violation without site or trace: %+v", v)
		}
		if _, dup := sites[v.Site]; dup {
			t.Fatalf("site %s reported twice", v.Site)
		}
		sites[v.Site] = v.Property
		code, rout, rerr := explore(t, "replay", v.Trace)
		if code != exitOK || !strings.Contains(rout, "reproduced: violation "+v.Property) {
			t.Fatalf("replay %s: exit %d\n%s\n%s", v.Trace, code, rout, rerr)
		}
	}
	for site, inv := range map[string]string{
		"use-after-free@force-abandon.read-capacity": "no-use-after-free",
		"not-holder@force-abandon.clear-dont-free":   "segment-single-owner",
		"queue-owner@force-abandon.clear-dont-free":  "span-queue-owner",
		"span-queue-well-formed":                     "span-queue-well-formed",
	} {
		if sites[site] != inv {
			t.Errorf("site %s: got %q, want %s (sites %v)", site, sites[site], inv, sites)
		}
	}
	if r.Violations[0].Property != "no-use-after-free" {
		t.Errorf("first site %+v, want the capacity read", r.Violations[0])
	}
	// the text form lists the sites and the same summary
	code, out, _ = explore(t, args...)
	if code != exitViolation {
		t.Fatalf("text run: exit %d", code)
	}
	if n := strings.Count(out, "\nsite ") + strings.Count(out[:5], "site "); n != len(r.Violations) {
		t.Errorf("text lists %d sites, JSON %d:\n%s", n, len(r.Violations), out)
	}
	if !strings.Contains(out, "result=violation invariant=no-use-after-free violations="+itoa(len(r.Violations))) {
		t.Errorf("summary line: %s", out)
	}
}

// TestAllViolationsStrictStops: without --all-violations the same search
// stops at its first violation (one violation in the JSON).
func TestAllViolationsStrictStops(t *testing.T) {
	code, out, errs := explore(t, "run", "--scenario", forceAbandon, "--publish-check", "harmful", "--no-races",
		"--json", "--quiet", "--out", t.TempDir())
	if code != exitViolation {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var r jsonResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Violations) != 1 || r.Violations[0].Site != "use-after-free@force-abandon.read-capacity" || r.Violations[0].SiteKind != siteFault {
		t.Fatalf("violations %+v", r.Violations)
	}
}

// TestAllRacesJSON: --all-races with --json prints nothing but the JSON
// object, whose violations are the race sites (issue 11 defect 1), with
// verdict violation and exit 1; every trace replays.
func TestAllRacesJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := explore(t, "run", "--scenario", "S1", "--lang", "msvc-c", "--all-races", "--json", "--quiet", "--no-time", "--out", dir)
	if code != exitViolation {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var r jsonResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if r.Verdict != "violation" || len(r.Violations) != 2 {
		t.Fatalf("verdict %s, %d violations (want 2 race sites at v2.4.1)", r.Verdict, len(r.Violations))
	}
	for _, v := range r.Violations {
		if v.Property != "no-data-race" || v.SiteKind != siteRace {
			t.Errorf("violation %+v is not a race site", v)
		}
		if _, err := os.Stat(v.Trace); err != nil {
			t.Error(err)
		}
	}
}

// TestPastSiteTraceErrors: a trace naming an unknown fault site or
// invariant to go past is rejected with its line.
func TestPastSiteTraceErrors(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := explore(t, "run", "--scenario", forceAbandon, "--publish-check", "harmful", "--no-races", "--out", dir)
	if code != exitViolation {
		t.Fatalf("exit %d", code)
	}
	data, err := os.ReadFile(traceOf(t, out))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"past-fault use-after-free@no-such-step", "past-fault no-such-fault@force-abandon.read-capacity",
		"past-fault data-race@force-abandon.read-capacity", "past-invariant no-such-invariant"} {
		text := strings.Replace(string(data), "strategy dfs", bad+"\nstrategy dfs", 1)
		p := filepath.Join(dir, "bad.trace")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := explore(t, "replay", p)
		if code != exitUsage || !strings.Contains(errs, "bad.trace:") || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q", bad, code, errs)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
