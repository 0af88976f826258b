package sched

import "context"

// BFS explores every state reachable from sys.Init() within lim level by
// level (breadth first), so the violation it reports is a shortest one.
// With opt.Workers >= 2 the levels are expanded by that many goroutines
// (parallel.go); the result is the same for every worker count.
//
// Each level is processed in three phases, each a loop over independent
// work items that a runner may spread over goroutines:
//
//   - expand: the level's states, in their canonical order, are cut into
//     chunks of bfsChunk states. For each state, Final runs if no thread is
//     enabled; otherwise every enabled thread (ascending, within the
//     preemption bound) is stepped and the successor's key computed. The
//     successors of a chunk are kept in order.
//   - claim: the visited set is split into shards by key, and a shard is a
//     work item: the worker that takes it walks the shard's successors of
//     the level in canonical order (chunk by chunk, parent by parent,
//     thread by thread; the expand phase grouped each chunk's successors by
//     shard) and claims them. So the first discoverer of a new state in that
//     order, the lexicographically smallest (parent rank, thread), always
//     claims it, whatever the number of workers. With lim.MaxStates the
//     claim runs on one worker so that the cut is deterministic.
//   - check: the new states are copied, in canonical order, into the next
//     level, with the rank of their parent and their thread, and checked.
//
// The canonical order of a level is thus the lexicographic order of the
// states' canonical paths (the smallest shortest schedules reaching them),
// and the next level inherits it without any sorting. A violation is
// reported only after the whole level is done: among every violation of
// the level (Final in a level state, Check in a new successor), the one
// earliest in canonical order, i.e. the one a sequential BFS meets first.
// Its schedule is rebuilt from the parent ranks and its labels by
// [Replay]. Besides the visited set and two levels of states
// ([Result].PeakStackStates), the search keeps 8 bytes per state for these
// parent links.
//
// States, Transitions, Runs and MaxDepthSeen depend only on the level
// structure, not on the worker count or timing. For a search that is not
// cut by MaxDepth or MaxStates they equal those of the DFS [Exhaustive]
// (both claim every reachable key once and step every enabled thread of
// every key); with MaxDepth, BFS keeps exactly the states within MaxDepth
// steps, which DFS need not. Limits are as for [Exhaustive] (MaxDepth,
// MaxPreemptions, MaxStates, cancellation; MaxRuns is ignored). A
// cancelled search stops at the end of the expand phase.
//
// The system's methods must be safe for concurrent calls on distinct
// states when opt.Workers >= 2.
func BFS[S comparable](ctx context.Context, sys System[S], lim Limits, opt Options) Result {
	w := opt.Workers
	if w < 1 {
		w = 1
	}
	var r runner = seqRunner{}
	if w >= 2 {
		r = newParRunner(w)
	}
	b := newBFS(ctx, sys, lim, opt, r)
	b.run()
	return b.result()
}

// bfsChunk is the number of level states in one expand work item.
const bfsChunk = 64

// bfsShards is the number of visited-set shards of a parallel BFS (a
// sequential one uses a single shard, the DFS's table).
const bfsShards = 64

// runner runs the work items of a phase. each calls f(w, i) once for every
// i in [0, n), where w in [0, workers()) identifies the calling worker (for
// its scratch space); calls with the same w never overlap, and all calls
// have returned when each returns.
type runner interface {
	workers() int
	each(n int, f func(w, i int))
}

// seqRunner runs every item in order on the calling goroutine.
type seqRunner struct{}

func (seqRunner) workers() int { return 1 }
func (seqRunner) each(n int, f func(w, i int)) {
	for i := 0; i < n; i++ {
		f(0, i)
	}
}

// bfsNode is a state of a level or a successor being generated.
type bfsNode[S comparable] struct {
	s    S
	key  [2]uint64
	pre  int32 // preemptions on the canonical path
	last int32 // thread of the last step; -1 for the initial state
}

// bfsViolation is a violation met in a chunk, with its canonical position.
type bfsViolation struct {
	err    error
	rank   int  // rank of the level state (Final) or of the parent (Check)
	thread int  // thread of the step into the violating state; -1 for Final
	final  bool // found by Final in the level state
	found  bool // whether this record is set
}

// less reports whether v comes before u in canonical order.
func (v *bfsViolation) less(u *bfsViolation) bool {
	if !v.found || !u.found {
		return v.found
	}
	if v.rank != u.rank {
		return v.rank < u.rank
	}
	return v.thread < u.thread
}

// bfsChunkOut is what the expand phase produced for one chunk.
type bfsChunkOut[S comparable] struct {
	succ   []bfsNode[S]
	parent []int32     // rank of each successor's parent in the level
	keys   [][2]uint64 // succ[j].key, kept apart for the claim phase's locality
	isNew  []bool      // set by the claim phase
	// order lists the successors grouped by shard, in canonical order
	// within a shard: those of shard s are order[start[s]:start[s+1]]
	// (parallel searches only).
	order       []int32
	start       [bfsShards + 1]int32
	transitions int64
	runs        int64
	hit         limitSet
	viol        bfsViolation // first Final violation of the chunk
	cviol       bfsViolation // first Check violation of the chunk
	nnew        int
	offset      int // position of the chunk's first new state in the next level
}

// bfsWorker is the scratch space of one worker.
type bfsWorker[S comparable] struct {
	keys keyer[S]
	en   []int
}

// bfs is the state of one BFS search.
type bfs[S comparable] struct {
	done    <-chan struct{}
	sys     System[S]
	lim     Limits
	bounded bool
	run_    runner
	shards  []visited[S]
	wk      []bfsWorker[S]
	res     Result
	hit     limitSet

	cur, next []bfsNode[S]
	outs      []bfsChunkOut[S]
	// parents[l][r] and threads[l][r] are the parent rank (in level l-1)
	// and the last thread of state r of level l (l >= 1).
	parents [][]int32
	threads [][]int32

	progress     func(Progress)
	every        int64
	nextProgress int64
}

func newBFS[S comparable](ctx context.Context, sys System[S], lim Limits, opt Options, r runner) *bfs[S] {
	bounded := lim.MaxPreemptions >= 0
	mode := opt.mode()
	nshards := 1
	if r.workers() > 1 {
		nshards = bfsShards
	}
	b := &bfs[S]{
		done:     ctx.Done(),
		sys:      sys,
		lim:      lim,
		bounded:  bounded,
		run_:     r,
		shards:   make([]visited[S], nshards),
		wk:       make([]bfsWorker[S], r.workers()),
		res:      Result{Exact: mode == storeExact, FingerprintBits: mode.bits(), Workers: r.workers()},
		progress: opt.Progress,
		every:    opt.progressEvery(),
	}
	b.nextProgress = b.every
	for i := range b.shards {
		b.shards[i] = newVisited[S](mode, bounded)
	}
	for i := range b.wk {
		b.wk[i] = bfsWorker[S]{keys: keyer[S]{sys: sys, bounded: bounded}, en: make([]int, 0, 16)}
	}
	return b
}

// shard returns the shard of key k: the top bits of its second word (the
// tables index by the first).
func (b *bfs[S]) shard(k [2]uint64) int {
	if len(b.shards) == 1 {
		return 0
	}
	return int(k[1] >> 58) // bfsShards = 64
}

func (b *bfs[S]) size() int64 {
	n := 0
	for _, v := range b.shards {
		n += v.size()
	}
	return int64(n)
}

func (b *bfs[S]) result() Result {
	b.res.States = b.size()
	b.res.Executions = b.res.Runs
	if b.res.States > 0 {
		var bytes int64
		for _, v := range b.shards {
			bytes += v.bytes()
		}
		b.res.BytesPerState = float64(bytes) / float64(b.res.States)
	}
	b.res.finish(b.hit, b.lim, 0)
	return b.res
}

// run performs the search.
func (b *bfs[S]) run() {
	root := bfsNode[S]{s: b.sys.Init(), last: -1}
	b.res.PeakStackStates = 1
	if err := b.sys.Check(&root.s); err != nil {
		b.res.Violation = &Found{Err: err, Schedule: []int{}, Labels: []string{}}
		return
	}
	root.key = b.wk[0].keys.key(&root.s, 0, -1)
	b.shards[b.shard(root.key)].add(&root.s, 0, -1, root.key)
	b.cur = append(b.cur[:0], root)
	b.parents = append(b.parents, nil)
	b.threads = append(b.threads, nil)
	for depth := 0; len(b.cur) > 0; depth++ {
		if !b.level(depth) {
			return
		}
		b.cur, b.next = b.next, b.cur[:0]
	}
}

// level expands level depth (b.cur) into b.next. It returns false when the
// search must stop.
func (b *bfs[S]) level(depth int) bool {
	nchunks := (len(b.cur) + bfsChunk - 1) / bfsChunk
	for len(b.outs) < nchunks {
		b.outs = append(b.outs, bfsChunkOut[S]{})
	}
	outs := b.outs[:nchunks]
	cut := b.lim.MaxDepth > 0 && depth >= b.lim.MaxDepth

	// Expand.
	b.run_.each(nchunks, func(w, c int) { b.expand(w, c, depth, cut) })
	var succ int64
	for c := range outs {
		o := &outs[c]
		b.res.Transitions += o.transitions
		b.res.Runs += o.runs
		b.hit |= o.hit
		succ += int64(len(o.succ))
	}
	if succ > 0 && depth+1 > b.res.MaxDepthSeen {
		b.res.MaxDepthSeen = depth + 1
	}
	if peak := int64(len(b.cur)) + 2*succ; peak > b.res.PeakStackStates {
		b.res.PeakStackStates = peak
	}
	if b.hit&hitCancelled != 0 {
		return false
	}
	b.report(depth, int64(len(b.cur)))

	// Claim.
	stopped := false
	if b.lim.MaxStates > 0 {
		stopped = b.claimLimited(outs)
	} else {
		b.run_.each(len(b.shards), func(_, sh int) { b.claim(outs, sh) })
	}
	total := 0
	for c := range outs {
		o := &outs[c]
		o.offset = total
		o.nnew = 0
		for _, n := range o.isNew {
			if n {
				o.nnew++
			}
		}
		total += o.nnew
	}

	// Check and build the next level.
	if cap(b.next) < total {
		b.next = make([]bfsNode[S], total)
	}
	b.next = b.next[:total]
	par := make([]int32, total)
	thr := make([]int32, total)
	b.run_.each(nchunks, func(_, c int) { b.check(&outs[c], par, thr) })
	b.parents = append(b.parents, par)
	b.threads = append(b.threads, thr)

	// The first violation of the level in canonical order.
	var v bfsViolation
	for c := range outs {
		o := &outs[c]
		if o.viol.less(&v) {
			v = o.viol
		}
		if o.cviol.less(&v) {
			v = o.cviol
		}
	}
	if v.found {
		b.res.Violation = b.path(v, depth)
		return false
	}
	if stopped {
		b.hit |= hitStates
		return false
	}
	return true
}

// expand is the expand phase of chunk c.
func (b *bfs[S]) expand(w, c, depth int, cut bool) {
	wk := &b.wk[w]
	o := &b.outs[c]
	o.succ, o.parent, o.keys, o.isNew = o.succ[:0], o.parent[:0], o.keys[:0], o.isNew[:0]
	o.transitions, o.runs, o.hit = 0, 0, 0
	o.viol, o.cviol = bfsViolation{}, bfsViolation{}
	if b.done != nil {
		select {
		case <-b.done:
			o.hit |= hitCancelled
			return
		default:
		}
	}
	lo := c * bfsChunk
	hi := min(lo+bfsChunk, len(b.cur))
	for r := lo; r < hi; r++ {
		p := &b.cur[r]
		wk.en = b.sys.Enabled(&p.s, wk.en[:0])
		if len(wk.en) == 0 {
			o.runs++
			if err := b.sys.Final(&p.s); err != nil && !o.viol.found {
				o.viol = bfsViolation{err: err, rank: r, thread: -1, final: true, found: true}
			}
			continue
		}
		if cut {
			o.hit |= hitDepth
			continue
		}
		last := int(p.last)
		lastOn := last >= 0 && contains(wk.en, last)
		for _, i := range wk.en {
			pre := p.pre
			if lastOn && i != last {
				pre++
			}
			if b.bounded && int(pre) > b.lim.MaxPreemptions {
				o.hit |= hitPreemptions
				continue
			}
			o.succ = append(o.succ, bfsNode[S]{s: p.s, pre: pre, last: int32(i)})
			n := &o.succ[len(o.succ)-1]
			b.sys.Step(&n.s, i)
			n.key = wk.keys.key(&n.s, int(pre), i)
			o.parent = append(o.parent, int32(r))
			o.keys = append(o.keys, n.key)
			o.isNew = append(o.isNew, false)
			o.transitions++
		}
	}
	if len(b.shards) > 1 {
		b.groupByShard(o)
	}
}

// claim is the claim phase of shard sh: it claims, in canonical order, the
// successors that belong to the shard. Shards are the work items, so the
// workers balance the phase dynamically, and each shard's table is only
// touched by the one worker running the item.
func (b *bfs[S]) claim(outs []bfsChunkOut[S], sh int) {
	v := b.shards[sh]
	exact := b.res.Exact
	for c := range outs {
		o := &outs[c]
		if len(b.shards) == 1 {
			for j := range o.succ {
				n := &o.succ[j]
				o.isNew[j] = v.add(&n.s, int(n.pre), int(n.last), o.keys[j])
			}
			continue
		}
		// Hashed sets only read the key; n.pre and n.last are read (and
		// the node's cache line loaded) only by exact sets, through n.
		for _, j := range o.order[o.start[sh]:o.start[sh+1]] {
			n := &o.succ[j]
			if exact {
				o.isNew[j] = v.add(&n.s, int(n.pre), int(n.last), o.keys[j])
			} else {
				o.isNew[j] = v.add(nil, 0, 0, o.keys[j])
			}
		}
	}
}

// groupByShard fills o.order and o.start: a stable counting sort of the
// chunk's successors by shard.
func (b *bfs[S]) groupByShard(o *bfsChunkOut[S]) {
	var count [bfsShards + 1]int32
	for _, k := range o.keys {
		count[b.shard(k)+1]++
	}
	for sh := 1; sh <= bfsShards; sh++ {
		count[sh] += count[sh-1]
	}
	o.start = count
	if cap(o.order) < len(o.succ) {
		o.order = make([]int32, len(o.succ))
	}
	o.order = o.order[:len(o.succ)]
	for j, k := range o.keys {
		sh := b.shard(k)
		o.order[count[sh]] = int32(j)
		count[sh]++
	}
}

// claimLimited is the claim phase under lim.MaxStates, on one goroutine:
// it stops, as the DFS does, at the first new state found while MaxStates
// keys are stored, and reports whether it did.
func (b *bfs[S]) claimLimited(outs []bfsChunkOut[S]) bool {
	size := b.size()
	for c := range outs {
		o := &outs[c]
		for j := range o.succ {
			n := &o.succ[j]
			v := b.shards[b.shard(n.key)]
			if size >= int64(b.lim.MaxStates) {
				if !v.has(&n.s, int(n.pre), int(n.last), n.key) {
					return true
				}
				continue
			}
			if v.add(&n.s, int(n.pre), int(n.last), n.key) {
				o.isNew[j] = true
				size++
			}
		}
	}
	return false
}

// check is the check phase of one chunk: it moves the chunk's new states
// into the next level and checks them.
func (b *bfs[S]) check(o *bfsChunkOut[S], par, thr []int32) {
	k := o.offset
	for j := range o.succ {
		if !o.isNew[j] {
			continue
		}
		n := &b.next[k]
		*n = o.succ[j]
		par[k], thr[k] = o.parent[j], n.last
		k++
		if o.cviol.found {
			continue
		}
		if err := b.sys.Check(&n.s); err != nil {
			o.cviol = bfsViolation{err: err, rank: int(o.parent[j]), thread: int(n.last), found: true}
		}
	}
}

// path builds the Found of v, a violation met while expanding level depth.
func (b *bfs[S]) path(v bfsViolation, depth int) *Found {
	n := depth
	if !v.final {
		n++
	}
	schedule := make([]int, n)
	if !v.final {
		schedule[depth] = v.thread
	}
	r := v.rank
	for l := depth; l >= 1; l-- {
		schedule[l-1] = int(b.threads[l][r])
		r = int(b.parents[l][r])
	}
	_, labels, err := Replay(b.sys, schedule)
	if err != nil {
		panic("mimcheck internal bug: BFS counterexample does not replay: " + err.Error())
	}
	return &Found{Err: v.err, Schedule: schedule, Labels: labels, Final: v.final}
}

// report calls the progress hook if it is due.
func (b *bfs[S]) report(depth int, frontier int64) {
	if b.every == 0 || b.res.Transitions < b.nextProgress {
		return
	}
	for b.nextProgress <= b.res.Transitions {
		b.nextProgress += b.every
	}
	b.progress(Progress{
		States:      b.size(),
		Transitions: b.res.Transitions,
		Executions:  b.res.Runs,
		Depth:       depth,
		Frontier:    frontier,
	})
}
