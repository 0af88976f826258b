package sched

import "context"

// parallelDFS is the multicore stateful search of [Exhaustive] with
// Workers >= 2 (hashed 64-bit visited set, no preemption bound): every
// worker runs the depth-first search of dfs.go from its own stack, and all
// of them claim states in one shared fingerprint table (sharedFP: a
// compare-and-swap per new state, no lock). A state is claimed, checked
// and expanded by exactly one worker. A worker whose stack runs dry takes
// a state from the shared queue; a busy worker that sees an idle one hands
// over the unexplored new successors of its lowest frame (the largest
// subtrees it knows of), each with the path that reaches it. The search
// is complete when every worker is idle and the queue is empty.
//
// For a complete search, States, Transitions and Runs are those of the
// sequential DFS (each reachable state is claimed once and expanded once
// with all its enabled threads), and so is the verdict. Which violation
// is found first, the counts at the stop, MaxDepthSeen and
// PeakStackStates depend on how the workers interleave: the CLI minimises
// a counterexample afterwards, and [BFS] (the level-synchronous engine)
// stays the way to a deterministic shortest one.
type parallelDFS[S comparable] struct {
	ctx  context.Context
	sys  System[S]
	lim  Limits
	opt  Options
	c    *coord[S]
	t    *sharedFP
	res  Result
	hit  limitSet
	wres []pworker[S]
}

// pworker is the state of one worker of the parallel DFS.
type pworker[S comparable] struct {
	_      [64]byte // keeps the workers' hot fields on cache lines of their own
	p      *parallelDFS[S]
	w      int
	keys   keyer[S]
	stack  []frame
	pool   []node[S]
	en     []int
	prefix []int32 // the path from the initial state to the root of the current item
	give   []workItem[S]

	transitions, runs int64
	nextProgress      int64
	iter              int
	maxDepth          int
	peak              int64
	hit               limitSet
	found             *Found
	sink              uint64 // absorbs the loads of warm
	unreported        int64  // new states not yet added to the table's count
	batch             int64  // countBatch, or 1 under MaxStates (an exact cut)
	_                 [64]byte
}

// countBatch is how many new states a worker claims before it adds them
// to the table's count (which decides the table's growth). The table
// starts with room for every worker's unreported batch (newSharedFP), so
// the lag can never fill it.
const countBatch = 64

// flush adds the worker's unreported new states to the table's count.
func (r *pworker[S]) flush() {
	if r.unreported > 0 {
		r.p.t.count(r.unreported)
		r.unreported = 0
	}
}

func newParallelDFS[S comparable](ctx context.Context, sys System[S], lim Limits, opt Options) *parallelDFS[S] {
	t := newSharedFP(opt.Workers * countBatch)
	p := &parallelDFS[S]{ctx: ctx, sys: sys, lim: lim, opt: opt, t: t, c: newCoord[S](opt.Workers, t)}
	p.c.reserve = opt.Reserve
	p.res = Result{FingerprintBits: 64, Workers: opt.Workers}
	p.wres = make([]pworker[S], opt.Workers)
	for w := range p.wres {
		p.wres[w] = pworker[S]{p: p, w: w, keys: keyer[S]{sys: sys}, stack: make([]frame, 0, 64), pool: make([]node[S], 1, 256), en: make([]int, 0, 16), batch: countBatch}
		if lim.MaxStates > 0 {
			p.wres[w].batch = 1
		}
	}
	return p
}

// run performs the search and returns its Result.
func (p *parallelDFS[S]) run() Result {
	init := p.sys.Init()
	p.res.PeakStackStates = 1
	if err := p.sys.Check(&init); err != nil {
		p.res.Violation = &Found{Err: err, Schedule: []int{}, Labels: []string{}}
		p.res.States = 1
		p.res.finish(0, p.lim, 0)
		return p.res
	}
	k := p.wres[0].keys.key(&init, 0, -1)
	p.t.add(k[0])
	p.t.count(1)
	p.c.work = append(p.c.work, workItem[S]{s: init})
	p.c.run(func(w int) { p.wres[w].loop() })

	if p.c.memoryHit {
		p.hit |= hitMemory
	}
	var found *Found
	for w := range p.wres {
		r := &p.wres[w]
		p.res.Transitions += r.transitions
		p.res.Runs += r.runs
		p.res.MaxDepthSeen = max(p.res.MaxDepthSeen, r.maxDepth)
		p.res.PeakStackStates += r.peak
		p.hit |= r.hit
		if r.found != nil && (found == nil || len(r.found.Schedule) < len(found.Schedule)) {
			found = r.found
		}
	}
	if found != nil {
		// the labels of the path, as the sequential engines give them
		_, labels, _ := Replay(p.sys, found.Schedule)
		found.Labels = labels
		p.res.Violation = found
		p.hit &^= hitCancelled | hitStates // the stop that followed it
	}
	p.res.States = p.t.size()
	p.res.Executions = p.res.Runs
	if p.res.States > 0 {
		p.res.BytesPerState = float64(p.t.bytes()) / float64(p.res.States)
	}
	p.res.finish(p.hit, p.lim, 0)
	return p.res
}

// loop is one worker: take an item, search from it depth-first, until the
// search is over.
func (r *pworker[S]) loop() {
	for {
		r.flush() // an idle worker's count is complete
		it, ok := r.p.c.get()
		if !ok {
			return
		}
		if !r.search(it) {
			r.flush()
			r.p.c.stop()
			r.p.c.quit()
			return
		}
	}
}

// search explores depth-first from an item's state (claimed and checked
// by whoever generated it). It returns false when the whole search must
// stop (a violation, MaxStates, cancellation).
func (r *pworker[S]) search(it workItem[S]) bool {
	r.prefix = it.path
	r.pool = r.pool[:1]
	r.pool[0] = node[S]{s: it.s, label: it.label, thread: -1}
	if len(it.path) > 0 {
		r.pool[0].thread = it.path[len(it.path)-1]
	}
	r.stack = append(r.stack[:0], frame{self: 0})
	if !r.expand() {
		return false
	}
	for len(r.stack) > 0 {
		if r.p.c.stopped.Load() {
			return true // another worker stopped the search
		}
		r.p.c.safePoint()
		if r.iter++; r.iter&15 == 0 && r.p.c.wantsWork() {
			r.handOver()
		}
		top := &r.stack[len(r.stack)-1]
		for top.next < top.nkids && r.pool[top.kids+top.next].dup {
			top.next++
		}
		if top.next == top.nkids {
			r.pool = r.pool[:top.kids]
			r.stack = r.stack[:len(r.stack)-1]
			continue
		}
		self := top.kids + top.next
		top.next++
		r.stack = append(r.stack, frame{self: self})
		if !r.expand() {
			return false
		}
	}
	return true
}

// handOver gives the unexplored new successors of the lowest frame that
// has some (the largest subtrees this worker knows of) to the idle
// workers, when it keeps at least one other frame to work on.
func (r *pworker[S]) handOver() {
	for d := 0; d < len(r.stack)-1; d++ {
		f := &r.stack[d]
		r.give = r.give[:0]
		for j := f.next; j < f.nkids; j++ {
			c := &r.pool[f.kids+j]
			if c.dup {
				continue
			}
			path := make([]int32, 0, len(r.prefix)+d+1)
			path = append(path, r.prefix...)
			for _, fr := range r.stack[1 : d+1] {
				path = append(path, r.pool[fr.self].thread)
			}
			path = append(path, c.thread)
			r.give = append(r.give, workItem[S]{s: c.s, path: path, label: c.label})
			c.dup = true // not this worker's to descend into any more
		}
		if len(r.give) > 0 {
			r.p.c.give(r.give)
			return
		}
	}
}

// depth is the depth of the state on top of the stack.
func (r *pworker[S]) depth() int { return len(r.prefix) + len(r.stack) - 1 }

// expand generates the successors of the state on top of the stack,
// claims the new ones in the shared table, checks them and makes them the
// frame's children (dfs.expand without preemption bounds).
func (r *pworker[S]) expand() bool {
	p := r.p
	depth := r.depth()
	f := &r.stack[len(r.stack)-1]
	self := int(f.self)
	off := len(r.pool)
	f.kids, f.nkids, f.nnew, f.next = int32(off), 0, 0, 0

	r.en = p.sys.Enabled(&r.pool[self].s, r.en[:0])
	if len(r.en) == 0 {
		r.runs++
		if err := p.sys.Final(&r.pool[self].s); err != nil {
			r.found = r.path(err, -1)
			return false
		}
		return true
	}
	if p.lim.MaxDepth > 0 && depth >= p.lim.MaxDepth {
		r.hit |= hitDepth
		return true
	}
	for _, i := range r.en {
		if r.transitions&cancelCheckMask == 0 && p.ctx.Done() != nil {
			select {
			case <-p.ctx.Done():
				r.hit |= hitCancelled
				return false
			default:
			}
		}
		r.pool = append(r.pool, r.pool[self])
		c := &r.pool[len(r.pool)-1]
		c.label = p.sys.Step(&c.s, i)
		c.thread, c.dup = int32(i), false
		r.transitions++
		c.key = r.keys.key(&c.s, 0, i)
	}
	r.maxDepth = max(r.maxDepth, depth+1)
	r.peak = max(r.peak, int64(len(r.pool)))
	for j := off; j < len(r.pool); j++ {
		r.sink += p.t.warm(r.pool[j].key[0])
	}
	nnew := int32(0)
	for j := off; j < len(r.pool); j++ {
		c := &r.pool[j]
		if p.lim.MaxStates > 0 && p.t.size() >= int64(p.lim.MaxStates) {
			r.hit |= hitStates
			return false
		}
		if !p.t.add(c.key[0]) {
			c.dup = true
			continue
		}
		if r.unreported++; r.unreported >= r.batch {
			r.flush()
		}
		nnew++
		if err := p.sys.Check(&c.s); err != nil {
			r.found = r.path(err, j)
			return false
		}
	}
	if p.t.full() {
		p.c.askGrow()
	}
	f = &r.stack[len(r.stack)-1]
	f.nkids, f.nnew = int32(len(r.pool)-off), nnew
	if r.transitions >= r.nextProgress {
		every := p.opt.progressEvery()
		if every == 0 {
			every = DefaultProgressEvery
		}
		step := max(every/int64(p.opt.Workers), 1)
		for r.nextProgress <= r.transitions {
			r.nextProgress += step
		}
		p.c.publish(r.w, r.transitions)
		if r.w == 0 && p.opt.Progress != nil {
			// worker 0 runs on the caller's goroutine
			p.opt.Progress(Progress{States: p.t.size(), Transitions: p.c.transitions(), Executions: r.runs, Depth: depth, Frontier: int64(len(r.pool))})
		}
	}
	return true
}

// path returns the Found of a violation in pool[j], a successor of the
// state on top of the stack (j < 0: that state itself): the schedule from
// the initial state; the labels are filled in by run.
func (r *pworker[S]) path(err error, j int) *Found {
	f := &Found{Err: err, Final: j < 0}
	for _, t := range r.prefix {
		f.Schedule = append(f.Schedule, int(t))
	}
	for _, fr := range r.stack[1:] {
		f.Schedule = append(f.Schedule, int(r.pool[fr.self].thread))
	}
	if j >= 0 {
		f.Schedule = append(f.Schedule, int(r.pool[j].thread))
	}
	if f.Schedule == nil {
		f.Schedule = []int{}
	}
	return f
}
