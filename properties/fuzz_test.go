package properties_test

import (
	"testing"

	"mimcheck/allocsim"
	"mimcheck/properties"
	"mimcheck/traces"
)

// FuzzSchedule turns raw bytes into scheduler choices (rapid's MakeFuzz):
// byte 0 picks the source preset and the patch set, byte 1 the scenario
// (S1 or S2); the rest is a properties.Schedule. Every run must finish
// without a violation and without a panic. (The trace parser is fuzzed by
// traces.FuzzParse.)
//
//	go test ./properties/ -run '^$' -fuzz FuzzSchedule -fuzztime 30s
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{0, 1})
	f.Add([]byte{0, 1, 0, 1, 0, 0, 2, 1, 1, 0, 0, 0, 3})
	f.Add([]byte{1, 0, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Add([]byte{2, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 2})
	f.Add([]byte{4, 1, 3, 2, 1, 3, 2, 1, 3, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		name := []string{"S1", "S2"}[data[1]%2]
		sc, err := allocsim.BuiltinScenario(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := allocsim.Config{
			Scenario: sc,
			Source:   allocsim.Source(data[0] % 3),
			Patches:  allocsim.Patches(data[0] / 3 % 4),
		}
		m, err := allocsim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ex := properties.Execute(traces.NewSystem(m), properties.Schedule(data[2:]), nil)
		if ex.Err != nil {
			t.Fatalf("%s %s patches %s: after %d steps %v: %v", name, cfg.Source, cfg.Patches, len(ex.Threads), ex.Threads, ex.Err)
		}
	})
}
