package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimcheck/allocsim"
)

// TestZoo: every historical bug of the zoo is found with --bug (exit 1,
// the expected invariant) and not reported without it (the preset with
// the fix, same scenario and options: exit 0, search complete); at a tag
// that still has the bug the unmutated preset reports it too; and its
// trace is in the corpus.
func TestZoo(t *testing.T) {
	if len(allocsim.Zoo) < 5 {
		t.Fatalf("%d zoo bugs", len(allocsim.Zoo))
	}
	for _, z := range allocsim.Zoo {
		code, out, errs := explore(t, "run", "--bug", z.Name, "--json", "--quiet", "--out", t.TempDir())
		var r struct {
			Verdict    string `json:"verdict"`
			Mutant     string `json:"mutant"`
			Source     string `json:"source"`
			Violations []struct {
				Property string `json:"property"`
			} `json:"violations"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitViolation || len(r.Violations) == 0 ||
			r.Violations[0].Property != z.Invariant || r.Source != z.Preset.String() {
			t.Errorf("--bug %s: exit %d, %s %s", z.Name, code, out, errs)
			continue
		}
		clean := []string{"run", "--scenario", "zoo:" + z.Name, "--source", z.Preset.String(), "--quiet", "--out", t.TempDir()}
		if z.Retention {
			clean = append(clean, "--retention")
		}
		if code, out, errs := explore(t, clean...); code != exitOK || !strings.HasPrefix(out, "result=ok ") {
			t.Errorf("%s without the bug: exit %d, %s %s", z.Name, code, out, errs)
		}
		for _, tag := range z.Native {
			native := append([]string{}, clean...)
			native[4] = tag.String()
			if code, out, _ := explore(t, native...); code != exitViolation || !strings.Contains(out, "invariant="+z.Invariant+" ") {
				t.Errorf("%s at %s (the tag's own bug): exit %d, %s", z.Name, tag, code, out)
			}
		}
		matches, _ := filepath.Glob(filepath.Join("..", "..", "traces", "testdata", z.Invariant+"--zoo-"+z.Name+".trace"))
		if len(matches) != 1 {
			t.Errorf("%s: no corpus trace %s--zoo-%s.trace", z.Name, z.Invariant, z.Name)
		}
		if _, err := os.Stat(filepath.Join("..", "..", z.Scenario())); err != nil {
			t.Errorf("%s: %v", z.Name, err)
		}
	}
}

// TestPower: explore power finds every zoo and seeded bug (found = total,
// one entry per bug, each in well under a minute); --json is
// byte-identical with --no-time; a bad flag is exit 2.
func TestPower(t *testing.T) {
	code, out, errs := explore(t, "power", "--no-clean", "--json", "--quiet", "--no-time")
	var r powerReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitOK {
		t.Fatalf("exit %d, %s %s", code, out, errs)
	}
	if r.Found != r.Total || r.Total != len(allocsim.Zoo)+15 || len(r.Entries) != r.Total {
		t.Errorf("found %d / %d, %d entries", r.Found, r.Total, len(r.Entries))
	}
	for _, e := range r.Entries {
		if !e.Found || e.Clean != "skipped" || e.Invariant == "" {
			t.Errorf("entry %+v", e)
		}
	}
	if _, again, _ := explore(t, "power", "--no-clean", "--json", "--quiet", "--no-time"); again != out {
		t.Error("two runs differ")
	}
	if code, _, errs := explore(t, "power", "--timeout", "0s"); code != exitUsage || !strings.Contains(errs, "--timeout") {
		t.Errorf("--timeout 0s: exit %d, %s", code, errs)
	}
}
