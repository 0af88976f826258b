package allocsim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mimcheck/allocsim"
)

// FuzzParseScenario: the scenario parser never panics; what it accepts
// validates and builds a simulator, and what it refuses is one line naming
// the scenario (make fuzz-scenario). Seeds: every scenario file and the
// built-in scenarios.
func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "scenarios", "*.scn"))
	more, _ := filepath.Glob(filepath.Join("..", "scenarios", "conform", "*.scn"))
	for _, file := range append(files, more...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(string(data))
		}
	}
	for _, n := range allocsim.BuiltinScenarios() {
		text, _ := allocsim.BuiltinText(n, 1)
		f.Add(text)
	}
	f.Add("segments 1\nslices 3\nthread: a = malloc(S); a = malloc(S)\n")
	f.Fuzz(func(t *testing.T, text string) {
		sc, err := allocsim.ParseScenario("fuzz", text)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz:") {
				t.Fatalf("error %q: want one line starting with \"fuzz:\" (the file, then line:col)", msg)
			}
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("parsed but does not validate: %v", err)
		}
		if _, err := allocsim.New(allocsim.Config{Scenario: sc}); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("New: %v", err)
		}
	})
}

// TestScenarioErrors: scenario errors found before any search, each with
// the file and line (issue 11: they were accepted and then reported as
// allocator violations, or ignored).
func TestScenarioErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"segments 1\nslices 5\nthread: a = malloc(S); a = malloc(S); exit\n", "t.scn:3:24: thread 1: operation 2 (a = malloc(S)): register a still holds a block"},
		{"segments 1\nslices 5\nthread: free a; exit\n", "t.scn:3:9: thread 1: operation 1 (free a): register a is used before it is assigned"},
		{"segments 1\nslices 5\nthread: send a -> m0; exit\nthread: x <- m0; free x; exit\n", "t.scn:3:9: thread 1: operation 1 (send a -> m0): register a is used before it is assigned"},
		{"segments 1\nslices 5\nthread: a = malloc(S); send a -> m0; exit\nthread: x = malloc(S); x <- m0; free x; exit\n", "t.scn:4:24: thread 2: operation 2 (x <- m0): register x still holds a block"},
		{"segments 4\nsegments 1\nslices 5\nthread: exit\n", "t.scn:2:1: segments given twice (first at line 1)"},
		{"segments 1\nslices 5\nslices 4\nthread: exit\n", "t.scn:3:1: slices given twice"},
		{"segments 1\nslices 5\nmemory os\nmemory arena\nthread: exit\n", "t.scn:4:1: memory given twice"},
		// a thread that never exits keeps its heap: the end checks would
		// blame the allocator
		{"segments 1\nslices 5\nthread: a = malloc(S); free a; exit\n  thread: b = malloc(S); free b\n", "t.scn:4:1: thread 2 never exits"},
		// range errors at the value
		{"segments 9\nslices 5\nthread: exit\n", "t.scn:1:10: segments 9: want 1..4"},
		{"segments 1\nslices\t12\nthread: exit\n", "t.scn:2:8: slices 12: want 3..8"},
		{"segments 1\nslices 4\nclass S slices=4 blocks=2\nthread: exit\n", "t.scn:3:7: class S: 4 slices (want 1..3"},
		{"segments 1\nslices 4\nclass S slices=1 blocks=9\nthread: exit\n", "t.scn:3:7: class S: 9 blocks (want 1..8)"},
		{"segments 1\nslices 4\noption target-segments-per-thread=7\nthread: exit\n", "t.scn:3:8: target-segments-per-thread 7: want 0..4"},
		{"segments 1\nslices 4\nthread: exit\nthread: exit\nthread: exit\nthread: exit\nthread: exit\n", "t.scn:7:1: thread 5: at most 4 threads"},
		{"segments 1\nslices 4\nclass S slices=1 blocks=2\nthread: a = malloc(Q); exit\n", "t.scn:4:9: thread 1: unknown size class \"Q\""},
	} {
		_, err := allocsim.ParseScenario("t.scn", c.text)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error starting %q", c.text, err, c.want)
		}
	}
	// legal: free after free (free(NULL)), the "_" register, tabs
	for _, text := range []string{
		"segments 1\nslices 5\nthread: a = malloc(S); free a; free a; exit\n",
		"segments 1\nslices 5\nthread: send _ -> m0; free _; exit\nthread: x <- m0; exit\n",
		"segments\t1\nslices 5\nthread:\ta = malloc(S);\tfree a; exit\n",
	} {
		if _, err := allocsim.ParseScenario("t.scn", text); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}
