package properties

import (
	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// PCTParams are the parameters of a probabilistic-concurrency-testing
// schedule (sched.PCT): the bug depth d (d-1 priority change points), the
// number of runs and the seed of the priorities and change points.
type PCTParams struct {
	Depth int
	Runs  int
	Seed  uint64
}

// GenPCT generates PCT parameters: depth 1..3, 5..20 runs, any seed.
// Shrinking lowers the depth and the runs.
func GenPCT() gopter.Gen {
	return gopter.CombineGens(gen.IntRange(1, 3), gen.IntRange(5, 20), gen.UInt64()).Map(func(v []interface{}) PCTParams {
		return PCTParams{Depth: v[0].(int), Runs: v[1].(int), Seed: v[2].(uint64)}
	}).WithShrinker(func(v interface{}) gopter.Shrink {
		p := v.(PCTParams)
		var out []interface{}
		if p.Depth > 1 {
			q := p
			q.Depth--
			out = append(out, q)
		}
		if p.Runs > 1 {
			q := p
			q.Runs /= 2
			out = append(out, q)
		}
		return gopter.Shrink(func() (interface{}, bool) {
			if len(out) == 0 {
				return nil, false
			}
			x := out[0]
			out = out[1:]
			return x, true
		})
	})
}
