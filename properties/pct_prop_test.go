package properties_test

import (
	"context"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"mimcheck/properties"
	"mimcheck/sched"
	"mimcheck/traces"
)

// TestPropPCT: no invariant breaks under PCT schedules (sched.PCT, with
// generated depth, runs and seed) of generated workloads. Under
// MIMCHECK_MUTANT it must fail like TestPropNoViolation.
func TestPropPCT(t *testing.T) {
	e := envOf(t, 300)
	params := gopter.DefaultTestParametersWithSeed(e.seed)
	params.MinSuccessfulTests = e.runs
	params.Workers = 1
	p := prop.ForAll(func(w *properties.Workload, pp properties.PCTParams) string {
		m, _, err := w.Sim()
		if err != nil {
			return ""
		}
		res := sched.PCT(context.Background(), traces.NewSystem(m), sched.Limits{MaxDepth: properties.MaxSteps},
			sched.PCTOptions{Depth: pp.Depth, Runs: pp.Runs, Seed: pp.Seed})
		if res.Violation != nil && !knownFinding(e, res.Violation.Err) {
			return res.Violation.Err.Error()
		}
		return ""
	}, properties.GenWorkload(e.gc), properties.GenPCT())
	res := p.Check(params)
	if !res.Passed() {
		t.Errorf("PCT found a violation (%s): %v — replay with MIMCHECK_SEED=%d", res.Status, res.Args, e.seed)
	}
}
