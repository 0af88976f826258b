package sched

// This file is the one place in sched that uses goroutines and sync (see
// "Parallel engine" in doc.go for why the purity rule allows it). All the
// search logic is in bfs.go; the runner below only spreads the independent
// work items of one phase over goroutines and waits for them.

import (
	"sync"
	"sync/atomic"
)

// parRunner runs the work items of a phase on a fixed number of goroutines,
// started afresh for each phase. Workers take items in index order from a
// shared atomic counter (dynamic load balancing: a worker that finishes a
// cheap item takes the next one); which worker runs which item varies from
// run to run, which is why the BFS phases are written so that their result
// does not depend on it.
type parRunner struct {
	n int
}

func newParRunner(n int) parRunner { return parRunner{n: n} }

func (p parRunner) workers() int { return p.n }

// each calls f(w, i) for every i in [0, n) on p.n goroutines; the
// WaitGroup makes every effect of the calls visible to the caller.
func (p parRunner) each(n int, f func(w, i int)) {
	if n == 0 {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < p.n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(w, i)
			}
		}(w)
	}
	wg.Wait()
}
