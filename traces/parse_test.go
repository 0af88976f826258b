package traces_test

import (
	"bytes"
	"errors"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/traces"
)

// FuzzParse: Parse never panics, fails only with ErrFormat or ErrStale, and
// whatever it accepts formats to a canonical text that parses back to the
// same text.
func FuzzParse(f *testing.F) {
	tr := &traces.Trace{
		Header: traces.Header{
			Comments:    []string{" found by: explore run --scenario S1"},
			Scenario:    "S1",
			Mutant:      allocsim.MutBugB,
			Abstraction: allocsim.SpinAbs,
			Strategy:    traces.StrategyDFS,
		},
	}
	if rec, err := traces.Record(tr.Header, []int{0, 0, 0, 0, 0, 0}); err == nil {
		f.Add(traces.Format(rec))
	}
	f.Add([]byte("mimcheck-trace 1\nmodel rev=1\nscenario S3\ns3-rounds 2\nsource v2.3.0\npatches A,B\nlang msvc-c\nmutant none\n" +
		"abstraction full\nstrategy random\nseed 7\nexpect ok\n----\n0 t0 segment-alloc.claim-slot\nend ok\n"))
	f.Add([]byte("mimcheck-trace 1\nmodel rev=1\nscenario-file x\nscenario-begin\nsegments 1\nslices 5\nthread: exit\nscenario-end\n" +
		"source v2.4.1\npatches none\nlang c11\nmutant none\nabstraction spin\nstrategy dfs\nexpect violation deadlock-free\n----\n" +
		"0 t0 a.b mode=relaxed cite=\"x\\ty\" | z\nviolation deadlock-free at step 0: w\n"))
	f.Add([]byte("mimcheck-trace 1\nmodel rev=999\n"))
	f.Add([]byte("# c\n\nmimcheck-trace 1\r\nmodel rev=1\r\n----\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := traces.Parse("fuzz", data)
		if err != nil {
			if !errors.Is(err, traces.ErrFormat) && !errors.Is(err, traces.ErrStale) {
				t.Fatalf("error %v is neither ErrFormat nor ErrStale", err)
			}
			return
		}
		b := traces.Format(tr)
		tr2, err := traces.Parse("fuzz", b)
		if err != nil {
			t.Fatalf("formatted trace does not parse: %v\n%s", err, b)
		}
		if b2 := traces.Format(tr2); !bytes.Equal(b, b2) {
			t.Fatalf("not canonical:\n%s\n---\n%s", b, b2)
		}
	})
}
