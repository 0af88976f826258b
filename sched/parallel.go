package sched

// This file is the one place in sched that uses goroutines and sync (see
// "Parallel engines" in doc.go for why the purity rule allows it). The
// search logic is in bfs.go and pdfs.go; here are only the runner that
// spreads the independent work items of a BFS phase over goroutines, and
// the parallel DFS's shared fingerprint table and its coordination of the
// workers (work hand-over, termination, stopping, the table's growth).

import (
	"math/bits"
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

// sharedFP is the visited set of the parallel DFS: 64-bit fingerprints in
// one open-addressing table with linear probing that every worker reads
// and writes. An insert is a compare-and-swap on an empty slot — no lock,
// as in the multicore reachability of Laarman, van de Pol and Weber
// (LTSmin; SPIN's multicore mode works alike): two workers that insert the
// same fingerprint race on one slot and exactly one of them wins, so every
// state is claimed, checked and expanded once. The table grows 1.5x when
// 3/4 full; growing moves every slot, so it happens while every worker
// waits at a safe point (between two expansions, see coord) — the only
// time inserts stop.
type sharedFP struct {
	slots []atomic.Uint64 // 0: empty; fingerprint 0 is stored as 1
	// n counts the fingerprints stored, as the workers report them in
	// batches (count): one shared counter written per new state would
	// bounce its cache line between the cores on every insert
	n atomic.Int64
}

// newSharedFP returns a table whose slack at its load bound (a quarter of
// its slots) exceeds lag, the most new fingerprints that may be stored
// but not yet counted, 8 times over: the counted load can lag the real
// one without the table ever filling up.
func newSharedFP(lag int) *sharedFP {
	return &sharedFP{slots: make([]atomic.Uint64, max(fpTableMinSlots, 32*lag))}
}

// add stores h and reports whether it was new. It must not run while the
// table grows.
func (t *sharedFP) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	n := uint64(len(t.slots))
	hi, _ := bits.Mul64(h, n)
	for i := hi; ; {
		s := t.slots[i].Load()
		if s == h {
			return false
		}
		if s == 0 {
			if t.slots[i].CompareAndSwap(0, h) {
				return true
			}
			continue // another worker took the slot: look at what it wrote
		}
		if i++; i == n {
			i = 0
		}
	}
}

// warm loads the home slot of h, so that a later add finds it in cache
// (the worker warms all successors of a state before adding them, and
// their cache misses overlap); it returns the slot's value for the
// caller to keep, so the load is not optimised away.
func (t *sharedFP) warm(h uint64) uint64 {
	if h == 0 {
		h = 1
	}
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return t.slots[hi].Load()
}

// count adds n new fingerprints to the stored count.
func (t *sharedFP) count(n int64) { t.n.Add(n) }

// full reports whether the table is past its load bound (3/4).
func (t *sharedFP) full() bool { return t.n.Load()*4 > int64(len(t.slots))*3 }

// grow rehashes into a table 1.5 times larger; no worker may touch the
// table meanwhile.
func (t *sharedFP) grow() {
	old := t.slots
	t.slots = make([]atomic.Uint64, len(old)+len(old)/2)
	n := uint64(len(t.slots))
	for k := range old {
		h := old[k].Load()
		if h == 0 {
			continue
		}
		hi, _ := bits.Mul64(h, n)
		for i := hi; ; {
			if t.slots[i].Load() == 0 {
				t.slots[i].Store(h)
				break
			}
			if i++; i == n {
				i = 0
			}
		}
	}
}

func (t *sharedFP) size() int64  { return t.n.Load() }
func (t *sharedFP) bytes() int64 { return int64(len(t.slots)) * 8 }

// coord coordinates the workers of the parallel DFS: the shared queue of
// work items (states a busy worker hands to idle ones), termination (every
// worker idle and the queue empty), stopping (a violation, a limit,
// cancellation) and the table's growth (every worker at a safe point).
type coord[S comparable] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	n      int // workers
	idle   int // workers waiting in get, or finished
	parked int // workers waiting at a safe point for the table to grow
	work   []workItem[S]
	over   bool // every worker idle and no work: the search is complete

	idleHint atomic.Int32 // idle - len(work): workers that would take work now
	stopped  atomic.Bool  // the search stops (violation, limit, cancellation)
	growing  atomic.Bool  // the table asked to grow
	table    *sharedFP
	steps    []atomic.Int64 // each worker's transitions, published for progress reports

	reserve   func(int64) bool // Options.Reserve
	memoryHit bool             // reserve refused the table's growth (c.mu)
}

// workItem is a state handed from one worker to another, with the path
// from the initial state to it.
type workItem[S comparable] struct {
	s     S
	path  []int32 // the schedule from the initial state
	label string  // the label of the last step
}

func newCoord[S comparable](n int, t *sharedFP) *coord[S] {
	c := &coord[S]{n: n, table: t, steps: make([]atomic.Int64, n)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// publish records worker w's transitions so far; transitions sums them.
func (c *coord[S]) publish(w int, n int64) { c.steps[w].Store(n) }

func (c *coord[S]) transitions() int64 {
	var n int64
	for k := range c.steps {
		n += c.steps[k].Load()
	}
	return n
}

// hint publishes how many idle workers find no work in the queue.
func (c *coord[S]) hint() { c.idleHint.Store(int32(c.idle - len(c.work))) }

// wantsWork reports (without locking) whether an idle worker waits for
// work: a busy worker then hands some of its own over.
func (c *coord[S]) wantsWork() bool { return c.idleHint.Load() > 0 }

// give adds work items and wakes the waiting workers.
func (c *coord[S]) give(items []workItem[S]) {
	c.mu.Lock()
	c.work = append(c.work, items...)
	c.hint()
	c.mu.Unlock()
	c.cond.Broadcast()
}

// get returns the next work item, waiting while there is none and another
// worker is busy (and may hand some over); ok is false when the search is
// over or stopped. A worker calls it when its own stack is empty.
func (c *coord[S]) get() (workItem[S], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle++
	c.hint()
	for {
		switch {
		case c.over || c.stopped.Load():
			return workItem[S]{}, false
		case c.growing.Load():
			c.growIfQuiet()
			if c.growing.Load() {
				c.cond.Wait()
			}
			continue
		case len(c.work) > 0:
			it := c.work[len(c.work)-1]
			c.work = c.work[:len(c.work)-1]
			c.idle--
			c.hint()
			return it, true
		case c.idle == c.n:
			c.over = true
			c.cond.Broadcast()
			return workItem[S]{}, false
		}
		c.cond.Wait()
	}
}

// safePoint is called by a busy worker between two expansions: when the
// table asked to grow, the worker waits there until it has grown (the
// last worker to arrive grows it).
func (c *coord[S]) safePoint() {
	if !c.growing.Load() {
		return
	}
	c.mu.Lock()
	c.parked++
	for c.growing.Load() && !c.stopped.Load() {
		c.growIfQuiet()
		if c.growing.Load() {
			c.cond.Wait()
		}
	}
	c.parked--
	c.mu.Unlock()
}

// growIfQuiet grows the table when no worker can touch it (every worker
// parked, idle or finished); c.mu is held.
func (c *coord[S]) growIfQuiet() {
	if c.parked+c.idle < c.n {
		return
	}
	if c.table.full() {
		if c.reserve != nil && !c.reserve(int64(len(c.table.slots)+len(c.table.slots)/2)*8) {
			c.memoryHit = true
			c.stopped.Store(true)
		} else {
			c.table.grow()
		}
	}
	c.growing.Store(false)
	c.cond.Broadcast()
}

// askGrow asks the workers to stop at their next safe point so that the
// table can grow.
func (c *coord[S]) askGrow() { c.growing.Store(true) }

// stop ends the search for every worker.
func (c *coord[S]) stop() {
	c.mu.Lock()
	c.stopped.Store(true)
	c.mu.Unlock()
	c.cond.Broadcast()
}

// quit records that a busy worker has finished (it stopped); it no longer
// touches the table.
func (c *coord[S]) quit() {
	c.mu.Lock()
	c.idle++
	c.hint()
	c.mu.Unlock()
	c.cond.Broadcast()
}

// run starts f(w) for w in 1..n-1 on their own goroutines and f(0) on the
// caller's, and waits for all of them.
func (c *coord[S]) run(f func(w int)) {
	var wg sync.WaitGroup
	for w := 1; w < c.n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			f(w)
		}(w)
	}
	f(0)
	wg.Wait()
}
