package traces_test

import (
	"os"
	"path/filepath"
	"testing"

	"mimcheck/traces"
)

// TestCorpus replays every saved counterexample in testdata/*.trace and
// asserts its expect line (style.md §5: saved counterexamples stay live
// regression tests). Add one with
//
//	go run ./cmd/explore run --scenario S1 --mutant BUG_B --corpus --out traces/testdata
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.trace"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no traces in testdata/ yet")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := traces.Parse(file, data)
			if err != nil {
				t.Fatal(err)
			}
			res, err := traces.Replay(tr)
			if err != nil {
				t.Fatalf("%v\nreproduce: go run ./cmd/explore replay %s", err, file)
			}
			for _, n := range res.Notes {
				t.Logf("note: %s", n)
			}
		})
	}
}
