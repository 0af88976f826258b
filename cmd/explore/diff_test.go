package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"mimcheck/traces"
)

// TestDiffPatchAIdentical: patch A changes no reachable behaviour of S1 and
// S2 (the lock-step search is complete and finds no difference), at the
// preset where A is not upstream (v2.3.0) and in the three language modes.
func TestDiffPatchAIdentical(t *testing.T) {
	for _, scen := range []string{"S1", "S2"} {
		for _, lang := range []string{"c11", "msvc-c"} {
			code, out, errs := explore(t, "diff", "--quiet", "--scenario", scen, "--source", "v2.3.0", "--lang", lang, "--out", t.TempDir(), "none", "A")
			if code != exitOK || !strings.Contains(out, "no schedule distinguishes them (search complete)") {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", scen, lang, code, out, errs)
			}
		}
	}
}

// TestDiffPatchB: patch B changes retire_expire on the second retire of a
// page; the shortest distinguishing schedule has 5 steps, the field is
// named with both values, and each side's trace replays to its end.
func TestDiffPatchB(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := explore(t, "diff", "--quiet", "--json", "--no-time", "--scenario", "../../scenarios/retire-expire.scn", "--out", dir, "none", "B")
	if code != exitViolation {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var r diffReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Verdict != "distinguished" || r.What != "state" || len(r.Schedule) != 5 || strings.Join(r.Fields, " ") != "seg0.s1.retire=4->3" {
		t.Fatalf("report %+v", r)
	}
	for k, p := range r.Traces {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := traces.Parse(p, data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := traces.Replay(tr); err != nil {
			t.Errorf("side %d's trace does not replay: %v", k, err)
		}
		if len(tr.Steps) != 5 || (k == 1) != strings.Contains(string(data), "patches B") {
			t.Errorf("side %d's trace: %d steps, %s", k, len(tr.Steps), data[:200])
		}
	}
	// the same pair compared on verdicts only: B changes none at v2.4.1
	code, out, _ = explore(t, "diff", "--quiet", "--verdicts-only", "--scenario", "../../scenarios/retire-expire.scn", "--out", dir, "none", "B")
	if code != exitOK || !strings.Contains(out, "(search complete)") {
		t.Errorf("--verdicts-only: exit %d, %q", code, out)
	}
	// and again: byte-identical
	_, again, _ := explore(t, "diff", "--quiet", "--json", "--no-time", "--scenario", "../../scenarios/retire-expire.scn", "--out", dir, "none", "B")
	_, first, _ := explore(t, "diff", "--quiet", "--json", "--no-time", "--scenario", "../../scenarios/retire-expire.scn", "--out", dir, "none", "B")
	if again != first {
		t.Errorf("two runs differ:\n%s\n%s", first, again)
	}
}

// TestDiffModes: with --modes the memory order of coalesce's read is
// observable, and patch A is told apart from the v2.3.0 preset at its first
// coalesce, named seq_cst -> relaxed.
func TestDiffModes(t *testing.T) {
	code, out, errs := explore(t, "diff", "--quiet", "--modes", "--scenario", "S2", "--source", "v2.3.0", "--out", t.TempDir(), "none", "A")
	if code != exitViolation || !strings.Contains(out, "seg0.thread_id: atomic read (acquire, release) -> atomic read\n") ||
		!strings.Contains(out, "+coalesce\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestDiffVerdict: a seeded bug against the real code, compared on
// verdicts only, differs in the invariant it breaks; and a variant against itself is identical with as many pairs
// as the variant alone has states.
func TestDiffVerdict(t *testing.T) {
	code, out, errs := explore(t, "diff", "--quiet", "--verdicts-only", "--scenario", "S1", "--no-races", "--out", t.TempDir(), "none", "none,mutant=BUG_B")
	if code != exitViolation || !strings.Contains(out, "-> span-queue-membership") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = explore(t, "diff", "--quiet", "--scenario", "S2", "--out", t.TempDir(), "none", "none")
	_, single, _ := explore(t, "run", "--quiet", "--scenario", "S2", "--out", t.TempDir())
	states := strings.Fields(strings.SplitN(single, "states=", 2)[1])[0]
	if code != exitOK || !strings.Contains(out, ": "+states+" pairs of states") {
		t.Errorf("none vs none: exit %d, %q; run: %q", code, out, single)
	}
}

// TestDiffUsage: malformed variants and contradictory flags are one-line
// errors with exit 2.
func TestDiffUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"none"}, "want two variants"},
		{[]string{"none", "A", "B"}, "want two variants"},
		{[]string{"none", "Q"}, `variant "Q": --patch`},
		{[]string{"none", "A,colour=red"}, `unknown key "colour"`},
		{[]string{"none", "A,lang"}, `is not key=value`},
		{[]string{"none", "lang=cxx"}, "want a patch set first"},
		{[]string{"none", "A,races=maybe"}, "races=maybe"},
		{[]string{"none", "A,memory=ra,races=off"}, "--no-races: only with --memory sc"},
		{[]string{"--modes", "--no-races", "none", "A"}, "--modes: needs race tracking"},
		{[]string{"--modes", "none", "A,races=off"}, "does not track races"},
		{[]string{"--scenario", "S9", "none", "A"}, "unknown scenario"},
	} {
		code, out, errs := explore(t, append([]string{"diff", "--out", t.TempDir()}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want %q)", c.args, code, out, errs, c.want)
		}
	}
}
