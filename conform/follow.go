package conform

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// follower runs the model and the C code side by side, one model step at
// a time (FollowSteps: the model's schedule; FollowC: the C code's).
type follower struct {
	m        *allocsim.Sim
	s        model.State
	h        *Harness
	pts      []Point
	sc       *allocsim.Scenario
	src      allocsim.Source
	res      *StepResult
	hist     [][]Point // each thread's last C points
	schedule []int     // FollowSteps with a trace's schedule; nil otherwise
}

func newFollower(bin string, sc *allocsim.Scenario, cfg allocsim.Config, cOptions []string) (*follower, error) {
	// races tracked: the steps' accesses come from the memory-model plan
	// auto-local: points outside the model's state run without a round
	// trip (they are local work here anyway) and come back as Skipped
	opts := append([]string{"auto-local"}, autoSites(cfg.Source)...)
	m, s, h, pts, err := startBoth(bin, sc, cfg, append(opts, cOptions...), true)
	if err != nil {
		return nil, err
	}
	f := &follower{m: m, s: s, h: h, pts: pts, sc: sc, src: cfg.Source, res: &StepResult{}, hist: make([][]Point, len(sc.Threads))}
	f.drain()
	return f, nil
}

// drain records the points the harness ran on its own (Harness.Skipped)
// as local work.
func (f *follower) drain() {
	for _, p := range f.h.Skipped {
		f.res.Points = append(f.res.Points, PointUse{P: p})
	}
	f.h.Skipped = f.h.Skipped[:0]
}

func (f *follower) lastC() []Point {
	var out []Point
	for i := range f.hist {
		out = append(out, f.hist[i]...)
	}
	return out
}

// diverge ends the run with a divergence described by what.
func (f *follower) diverge(what string) (*StepResult, error) {
	mm, err := snapshot(f.h, f.sc, &f.s, what)
	if err != nil {
		return nil, err
	}
	mm.LastC = f.lastC()
	f.res.Mismatch = mm
	return f.res, nil
}

// record counts thread i's step (label) as taken on both sides.
func (f *follower) record(i int, label string) {
	f.res.Steps++
	f.res.Labels = append(f.res.Labels, label)
	f.res.Schedule = append(f.res.Schedule, i)
}

// crashed: the C code stopped inside step res.Steps (counting the one that
// is running) of thread i.
func (f *follower) crashed(i int, label string, err error) (*StepResult, error) {
	if !errors.Is(err, ErrCrash) {
		return nil, err
	}
	if len(f.res.Labels) == f.res.Steps { // the model has not taken the step yet
		f.record(i, label)
	}
	f.res.Crash = err
	return f.res, nil
}

// crashedAfter: the C code stopped in thread i's local work after its step
// (label), which the model has taken. When the thread's next model step
// makes no C-visible access (a plain read the model makes a step of its
// own, such as _mi_page_force_abandon's read of page->capacity) and is the
// schedule's next step, the crash is that step's; the model takes it too.
func (f *follower) crashedAfter(i int, label string, err error) (*StepResult, error) {
	res := f.res
	if f.s.Fault.Code == 0 && !f.m.Done(&f.s, i) && len(f.visible(i)) == 0 &&
		(f.schedule == nil || (res.Steps < len(f.schedule) && f.schedule[res.Steps] == i)) {
		next := f.m.PendingLabel(&f.s, i)
		f.m.Step(&f.s, i)
		res.Fault = model.FaultCode(f.s.Fault.Code)
		return f.crashed(i, next, err)
	}
	res.Crash = err
	return res, nil
}

// visible returns the C-visible shared accesses of thread i's pending
// model step, in order.
func (f *follower) visible(i int) []access {
	var out []access
	for _, a := range f.m.SharedAccesses(&f.s, i) {
		// with memory os the harness has no arena: an OS segment is
		// mapped and unmapped without the arena's bitmap, and at v2.1.7
		// the cursor returns before it loads abandoned_count or a bitmap
		// word when there is no arena (arena.c:828-829)
		if n := cName(a.Loc); n != "" && !(f.sc.OSMemory && (n == "inuse_bitmap" || (f.src == allocsim.V217 && (n == "abandoned_count" || n == "abandoned_bitmap")))) {
			out = append(out, access{n, a.Kind, f.src == allocsim.V217})
		}
	}
	return out
}

// runC runs thread i's pending C point; label is the model step whose
// access it makes ("" for a point the model has no step for).
func (f *follower) runC(i int, label string, rmw bool) error {
	var err error
	f.res.Points = append(f.res.Points, PointUse{P: f.pts[i], Label: label, RMW: rmw})
	f.hist[i] = append(f.hist[i], f.pts[i])
	if len(f.hist[i]) > 40 {
		f.hist[i] = f.hist[i][1:]
	}
	f.pts[i], err = f.h.Run(i)
	f.drain()
	return err
}

// atStep reports whether thread i's pending C point is the first access of
// its pending model step ("" and true), or why the step can never be
// matched (a label the site table lacks).
func (f *follower) atStep(i int) (bool, string) {
	v := f.visible(i)
	if len(v) == 0 || f.pts[i].Done {
		return false, ""
	}
	label := f.m.PendingLabel(&f.s, i)
	if _, listed := stepSiteOK(f.src, label, f.pts[i]); !listed {
		return false, fmt.Sprintf("the site table lists no C site for step %s at %s (conform/sitetable.go)", label, f.src)
	}
	return matchesAt(f.src, f.pts[i], v[0], label), ""
}

// advance runs thread i's C code up to the first shared access of its
// pending model step (its local work); a step with no C-visible access
// leaves the C thread where it is.
func (f *follower) advance(i int) (string, error) {
	if f.m.Done(&f.s, i) {
		for !f.pts[i].Done {
			if err := f.runC(i, "", false); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	v := f.visible(i)
	if len(v) == 0 {
		return "", nil
	}
	for n := 0; ; n++ {
		ok, why := f.atStep(i)
		switch {
		case why != "":
			return why, nil
		case ok:
			return "", nil
		case f.pts[i].Done:
			return fmt.Sprintf("T%d's C code ended; the model's next step (%s) accesses %s", i+1, f.m.PendingLabel(&f.s, i), v[0].name), nil
		case n > 100000:
			return fmt.Sprintf("T%d's C code never reaches %s (the model's step %s)", i+1, v[0].name, f.m.PendingLabel(&f.s, i)), nil
		case f.pts[i].Op > int(f.s.Threads[i].Op):
			return fmt.Sprintf("T%d's C code finished operation %d without the access of the model's step %s (%s); it is at %s", i+1, f.s.Threads[i].Op+1, f.m.PendingLabel(&f.s, i), v[0].name, f.pts[i]), nil
		}
		if _, _, isMbox := f.pts[i].Mailbox(); isMbox {
			return fmt.Sprintf("T%d's C code is at its hand-off %s; the model's step is %s (%s)", i+1, f.pts[i], f.m.PendingLabel(&f.s, i), v[0].name), nil
		}
		if err := f.runC(i, "", false); err != nil {
			return "", err
		}
	}
}

// step takes thread i's pending model step on both sides: the C points of
// its shared accesses, in order (C points in between run as local work),
// then the model's step. It returns a non-nil result when the run ends
// there (a divergence, a crash, the model's violation).
func (f *follower) step(i int) (*StepResult, error) {
	res := f.res
	v := f.visible(i)
	label := f.m.PendingLabel(&f.s, i)
	for k, a := range v {
		for n := 0; !matchesAt(f.src, f.pts[i], a, label); n++ {
			if k == 0 || f.pts[i].Done || n > 100000 {
				return f.diverge(fmt.Sprintf("step %d (T%d %s): the model accesses %s, the C code is at %s", res.Steps, i+1, label, a.name, f.pts[i]))
			}
			if err := f.runC(i, "", false); err != nil {
				return f.crashed(i, label, err)
			}
		}
		if err := f.runC(i, label, a.kind&model.AccRead != 0 && a.kind&model.AccWrite != 0); err != nil {
			if k < len(v)-1 || !errors.Is(err, ErrCrash) {
				return f.crashed(i, label, err)
			}
			// the step's accesses are made; the C code stopped in the
			// local work after them
			f.m.Step(&f.s, i)
			f.record(i, label)
			return f.crashedAfter(i, label, err)
		}
	}
	f.m.Step(&f.s, i)
	f.record(i, label)
	if f.s.Fault.Code != 0 {
		res.Fault = model.FaultCode(f.s.Fault.Code)
		if f.schedule != nil && res.Steps == len(f.schedule) {
			// the trace's violation: run the thread's C code on through
			// the rest of the step (its local work) and say what it did
			if _, err := f.advance(i); err != nil {
				return f.crashed(i, label, err)
			}
			mm, err := snapshot(f.h, f.sc, &f.s, fmt.Sprintf("step %d (T%d %s): the model reports %s; the C code ran the step", res.Steps-1, i+1, label, res.Fault))
			if err != nil {
				return f.crashed(i, label, err)
			}
			res.Mismatch = mm
			return res, nil
		}
		return f.diverge(fmt.Sprintf("step %d (T%d %s): the model reports %s; the C code ran the step's accesses", res.Steps-1, i+1, label, model.FaultCode(f.s.Fault.Code)))
	}
	return nil, nil
}

// compare compares the states when every thread waits before a C-visible
// access (or is done), after thread i's step (label). A C point that
// matched the next step's first access by site, location and kind may
// still be thread-private work before it: when retry is set, thread i runs
// on to its next match, at most twice, before a difference counts.
func (f *follower) compare(i int, label string, retry bool) (*StepResult, error) {
	m, s := f.m, &f.s
	for j := range f.sc.Threads {
		if !m.Done(s, j) && len(f.visible(j)) == 0 {
			return nil, nil
		}
	}
	cs, err := f.h.State()
	if err != nil {
		return nil, err
	}
	// the register of a malloc or free in progress: C's program writes it
	// when the call returns, the model when the block is taken (before,
	// e.g., mi_page_to_full's collect) or the free begins
	var skip []string
	for j, prog := range f.sc.Threads {
		k := int(s.Threads[j].Op)
		if m.Done(s, j) || k >= len(prog) {
			continue
		}
		switch prog[k].Kind {
		case allocsim.OpMalloc:
			skip = append(skip, fmt.Sprintf("T%d:r%d=", j+1, prog[k].B))
		case allocsim.OpFree: // the model clears it at the free's first step, C when mi_free returns
			skip = append(skip, fmt.Sprintf("T%d:r%d=", j+1, prog[k].A))
		}
	}
	// a segment in the middle of a multi-step operation (reclaim, abandon,
	// free, force abandon: the model's ghost Busy) may have its private
	// counters updated at another point between two shared accesses than
	// in C (mi_segment_reclaim decrements abandoned just before
	// mi_page_set_heap, the model with it): its abandoned count is not
	// compared
	var busy []int
	for g := 0; g < f.sc.Segments; g++ {
		if s.Segs[g].Busy {
			busy = append(busy, g)
		}
	}
	norm := func(state string) string { return maskAbandoned(dropTokens(state, skip), busy) }
	ms := norm(ModelState(f.sc, s))
	first := norm(cs)
	for try := 0; retry && ms != norm(cs) && try < 2 && !f.pts[i].Done && !m.Done(s, i); try++ {
		if _, _, isMbox := f.pts[i].Mailbox(); isMbox {
			break // a hand-off is never thread-private work
		}
		if err := f.runC(i, "", false); err != nil {
			return nil, err
		}
		if d, err := f.advance(i); err != nil || d != "" {
			break
		}
		if cs, err = f.h.State(); err != nil {
			return nil, err
		}
	}
	if ms != norm(cs) {
		f.res.Mismatch = &Mismatch{What: fmt.Sprintf("after step %d (T%d %s) the states differ", f.res.Steps-1, i+1, label), Model: ms, C: first, LastC: f.lastC()}
		return f.res, nil
	}
	return nil, nil
}

// final ends a run at its last step (a trace's schedule, or maxSteps):
// both states are recorded.
func (f *follower) final() (*StepResult, error) {
	cs, err := f.h.State()
	if err != nil {
		return nil, err
	}
	f.res.FinalModel, f.res.FinalC = ModelState(f.sc, &f.s), cs
	return f.res, nil
}

// finish ends a run in which both sides are done: the end states, then the
// site table's account of every C point.
func (f *follower) finish() (*StepResult, error) {
	snap, err := snapshot(f.h, f.sc, &f.s, "the end states differ")
	if err != nil {
		return nil, err
	}
	// both end states, for a trace whose violation is a property of the
	// end (quiescent-clean)
	f.res.FinalModel, f.res.FinalC = snap.Model, snap.C
	var mm *Mismatch
	if snap.Model != snap.C {
		mm = snap
	}
	f.res.Mismatch = mm
	if mm == nil {
		f.res.Mismatch = unexplained(Classify(f.res.Points, f.sc.OSMemory, f.src), f.lastC())
	}
	return f.res, nil
}

// start runs every thread's C code up to the first shared access of its
// first model step.
func (f *follower) start() (*StepResult, error) {
	for i := range f.sc.Threads {
		d, err := f.advance(i)
		if err != nil {
			return nil, err
		}
		if d != "" {
			return f.diverge("at the start: " + d)
		}
	}
	return nil, nil
}

// stepThrough takes thread i's pending step on both sides (step), runs its
// local work up to its next step (advance) and compares the states
// (compare). A non-nil result ends the run.
func (f *follower) stepThrough(i int) (*StepResult, error) {
	label := f.m.PendingLabel(&f.s, i)
	if r, err := f.step(i); r != nil || err != nil {
		return r, err
	}
	d, err := f.advance(i)
	if err != nil {
		if !errors.Is(err, ErrCrash) {
			return nil, err
		}
		return f.crashedAfter(i, label, err) // in the local work after this step
	}
	if d != "" {
		return f.diverge(fmt.Sprintf("after step %d (T%d %s): %s", f.res.Steps-1, i+1, label, d))
	}
	return f.compare(i, label, true)
}

// FollowSteps runs the scenario on the model under a seeded schedule of
// model steps (each step one thread's shared access and the local work
// after it) and runs the C code under the same schedule: a model step of
// thread T is T's C points that make the step's shared accesses, in order,
// each at a site the site table lists for the step (points in between
// that the model folds or keeps local are run too), followed by T's local
// work up to the first shared access of its next step. The locations are
// matched by name (cName); the first C point of a step must be the step's
// first shared access, or that is the divergence. After every step after
// which both sides wait at the same kind of place the states are compared
// (ModelState); at the end, every C point at a location of the model's
// state must be a step's access or explained (Classify). maxSteps bounds
// the run.
//
// With schedule non-nil the steps follow it instead (explore conform
// replay: a trace's schedule), and the run ends with it; a model fault at
// its last step is the trace's violation, reported in Fault (with what
// the C code did: Crash, or the states) rather than as a divergence.
func FollowSteps(bin string, sc *allocsim.Scenario, cfg allocsim.Config, seed uint64, maxSteps int, cOptions []string, schedule []int) (*StepResult, error) {
	f, err := newFollower(bin, sc, cfg, cOptions)
	if err != nil {
		return nil, err
	}
	defer f.h.Close()
	f.schedule = schedule
	m, s, res := f.m, &f.s, f.res
	rng := rand.New(rand.NewPCG(seed, 0x7374657073))
	if r, err := f.start(); r != nil || err != nil {
		return r, err
	}
	if schedule != nil {
		maxSteps = len(schedule)
	}
	for res.Steps < maxSteps {
		en := m.Enabled(s, nil)
		en = slices.DeleteFunc(en, func(i int) bool { return i >= model.MaxThreads })
		if len(en) == 0 {
			break
		}
		var i int
		if schedule != nil {
			i = schedule[res.Steps]
			if !slices.Contains(en, i) {
				return nil, fmt.Errorf("step %d: T%d cannot step in the model (the trace does not fit this scenario)", res.Steps, i+1)
			}
		} else {
			i = en[rng.IntN(len(en))]
		}
		if r, err := f.stepThrough(i); r != nil || err != nil {
			return r, err
		}
	}
	for i := range sc.Threads {
		if !m.Done(s, i) || !f.pts[i].Done {
			if !slices.Contains(m.Enabled(s, nil), i) && !m.Done(s, i) {
				return f.diverge(fmt.Sprintf("T%d cannot go on in the model (deadlock)", i+1))
			}
			if res.Steps >= maxSteps {
				return f.final()
			}
			return f.diverge(fmt.Sprintf("T%d: model done %v, C done %v", i+1, m.Done(s, i), f.pts[i].Done))
		}
	}
	return f.finish()
}

// FollowC runs the scenario's C code under the harness's seeded schedule
// and the model follows it: at every model step boundary a generator picks
// one of the threads whose C code can go on (as RunRandom does: a send
// waits for an empty mailbox, a recv for a full one), that thread makes
// its pending model step on both sides — the C points of the step's
// accesses at the sites the site table lists, then its local work up to
// its next step, as FollowSteps runs it — and the model must enable that
// step (a C thread at a step the model does not enable is a divergence,
// except a load or try-lock that C repeats while it waits, as in
// _mi_page_use_delayed_free's loop on MI_DELAYED_FREEING, which runs as a
// wait). The C points between two steps of a thread run together, as the
// model's local work does; the site table's reasons say why interleaving
// inside them changes nothing. States are compared whenever every thread
// waits before a step, and at the end; every C point at a model location
// must be a step's access or explained (Classify). The result's Schedule is
// the model's step schedule of the C run (a trace's schedule). maxSteps
// bounds the steps.
//
// With pct the choice is PCT's (probabilistic concurrency testing, Burckhardt
// et al.): the threads get random distinct priorities, the highest-priority
// thread that can go on runs, and at two random step indexes below 64 the
// running thread drops below all others (bug depth 3).
func FollowC(bin string, sc *allocsim.Scenario, cfg allocsim.Config, seed uint64, maxSteps int, cOptions []string, pct bool) (*StepResult, error) {
	f, err := newFollower(bin, sc, cfg, cOptions)
	if err != nil {
		return nil, err
	}
	defer f.h.Close()
	m, s, res := f.m, &f.s, f.res
	rng := rand.New(rand.NewPCG(seed, 0x6d696d636865636b))
	prio := rng.Perm(len(sc.Threads)) // pct: higher runs first
	change := [2]int{rng.IntN(64), rng.IntN(64)}
	low, used := 0, [2]bool{}
	pick := func(en []int) int {
		if !pct {
			return en[rng.IntN(len(en))]
		}
		best := en[0]
		for _, i := range en[1:] {
			if prio[i] > prio[best] {
				best = i
			}
		}
		for k, c := range change {
			if c == res.Steps && !used[k] {
				used[k] = true
				low--
				prio[best] = low // the change point: the running thread drops below the rest
			}
		}
		return best
	}
	full := map[int]bool{}
	if r, err := f.start(); r != nil || err != nil {
		return r, err
	}
	var en, waiting []int
	waits := 0
	for res.Steps < maxSteps {
		// a step without a C-visible access (the model's step for a plain
		// read) is taken when its thread is chosen; a thread the model has
		// finished runs the rest of its C code at once
		en, waiting = en[:0], waiting[:0]
		all := true
		for i, p := range f.pts {
			if !p.Done || !m.Done(s, i) {
				all = false
			}
			if m.Done(s, i) || p.Done {
				if !p.Done || !m.Done(s, i) {
					en = append(en, i) // one side still has work: let it show
				}
				continue
			}
			// a thread whose step the model does not enable is waiting (C
			// repeats a load or a try-lock): it is chosen only when no other
			// thread can go on, so that a scheduler that favours it (pct)
			// does not spin
			if len(f.visible(i)) == 0 || enabled(p, full) {
				if slices.Contains(m.Enabled(s, nil), i) {
					en = append(en, i)
				} else {
					waiting = append(waiting, i)
				}
			}
		}
		if all {
			break
		}
		if len(en) == 0 {
			en = waiting
		}
		if len(en) == 0 {
			return f.diverge("the C code deadlocks")
		}
		i := pick(en)
		switch {
		case m.Done(s, i):
			if _, err := f.advance(i); err != nil {
				return f.crashed(i, "(after the thread's last step)", err)
			}
			continue
		case f.pts[i].Done && len(f.visible(i)) > 0:
			return f.diverge(fmt.Sprintf("T%d's C code ended; the model's thread is at %s", i+1, m.PendingLabel(s, i)))
		}
		label := m.PendingLabel(s, i)
		if !slices.Contains(m.Enabled(s, nil), i) {
			op, _, _ := strings.Cut(f.pts[i].Kind, ".")
			if (op != "load" && op != "trylock") || waits > 100000 {
				return f.diverge(fmt.Sprintf("T%d's C code makes step %s at %s, which the model does not enable", i+1, label, f.pts[i]))
			}
			waits++ // C repeats the load (or the try) while it waits
			if err := f.runC(i, "", false); err != nil {
				return f.crashed(i, label, err)
			}
			continue
		}
		if len(f.visible(i)) > 0 {
			if k, send, isMbox := f.pts[i].Mailbox(); isMbox {
				full[k] = send
			}
		}
		if r, err := f.stepThrough(i); r != nil || err != nil {
			return r, err
		}
	}
	if res.Steps >= maxSteps {
		return res, nil
	}
	return f.finish()
}
