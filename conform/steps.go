package conform

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// cName is the harness's name of a model location, "" when the C code
// makes no scheduling point for it (a segment's owner-private fields, the
// model's "meta", are plain accesses in C).
func cName(loc int) string {
	n := model.LocName(loc)
	switch {
	case strings.HasSuffix(n, ".meta"):
		return ""
	case n == "blocks_abandoned":
		return "abandoned_bitmap"
	case n == "blocks_inuse":
		return "inuse_bitmap"
	case n == "abandoned_count":
		return n
	case strings.HasPrefix(n, "seg"): // segG.thread_id, segG.sI.xheap, segG.sI.xthread_free
		n = "s" + strings.TrimPrefix(n, "seg")
		if g, rest, ok := strings.Cut(n, ".s"); ok {
			n = g + ".p" + rest
		}
		return n
	case strings.HasPrefix(n, "t") && strings.HasSuffix(n, ".thread_delayed_free"):
		k, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, "t"), ".thread_delayed_free"))
		if err != nil {
			return ""
		}
		return "h" + strconv.Itoa(k+1) + ".delayed"
	case strings.HasPrefix(n, "m"):
		return "mailbox:" + n
	}
	return ""
}

// pointName is the name of a harness point's location, in cName's terms.
func pointName(p Point) string {
	if k, _, ok := p.Mailbox(); ok {
		return "mailbox:m" + strconv.Itoa(k)
	}
	return p.Addr
}

// access is one shared access of a model step, as the harness names it.
type access struct {
	name string
	kind uint8 // model.Acc* bits
	// fold217: at v2.1.7 the cursor's per-call load of the global
	// abandoned_count (arena.c:829, which returns at once when it is 0)
	// is folded into the model's bitmap load, so a load of the count can
	// be the step's access
	fold217 bool
}

// matches reports whether C point p can be the model access a: the same
// location, and a load for a read, a store for a write, a compare-exchange,
// exchange or fetch-op for a read-modify-write — or a load for a
// read-modify-write, since the model folds a pre-check load into the
// exchange that follows it (scenarios.md §1.3: "the is xthread_free
// non-NULL pre-check is part of XCHG").
func matches(p Point, a access) bool {
	if pointName(p) != a.name && !(a.fold217 && a.name == "abandoned_bitmap" && pointName(p) == "abandoned_count") {
		return false
	}
	if strings.HasPrefix(a.name, "mailbox:") {
		return true
	}
	op, _, _ := strings.Cut(p.Kind, ".")
	rw := a.kind&model.AccRead != 0 && a.kind&model.AccWrite != 0
	switch op {
	case "load":
		return a.kind&model.AccRead != 0
	case "store":
		return a.kind&model.AccWrite != 0 && !rw
	case "cas", "xchg", "rmw":
		return rw
	}
	return false
}

// matchesAt reports whether C point p can be the access a of the step
// with the given label: matches, at a site the site table lists for the
// step at the tag (sitetable.go).
func matchesAt(src allocsim.Source, p Point, a access, label string) bool {
	if !matches(p, a) {
		return false
	}
	ok, _ := stepSiteOK(src, label, p)
	return ok
}

// StepResult is the outcome of FollowSteps.
type StepResult struct {
	Steps    int      // model steps replayed on the C code
	Labels   []string // their labels
	Schedule []int    // the threads of those steps
	Mismatch *Mismatch
	// Crash is how the C code stopped (ErrCrash: an assertion, a
	// sanitizer report, a segmentation fault) during step Steps-1; nil
	// when it did not
	Crash error
	// Fault is the model's in-step violation at the last step, if any
	Fault model.FaultCode
	// Points are the C points run, in order, each with the model step it
	// made the access of ("" when the model has no step for it; see
	// Classify)
	Points []PointUse
}

// PointUse is one C point of a follow run and the model step whose shared
// access it was.
type PointUse struct {
	P     Point
	Label string // the model step's label; "" when the point was run as local work
	RMW   bool   // the step's access is a read-modify-write (a CAS loop or exchange in C)
}

// FollowSteps runs the scenario on the model under a seeded schedule of
// model steps (each step one thread's shared access and the local work
// after it) and runs the C code under the same schedule: a model step of
// thread T is T's C points that make the step's shared accesses, in order
// (points in between that the model folds or keeps local are run too),
// followed by T's local work up to the first shared access of its next
// step. The locations are matched by name (cName); the first C point of a
// step must be the step's first shared access, or that is the divergence.
// After every step after which both sides wait at the same kind of place
// the states are compared (ModelState). maxSteps bounds the run.
//
// With schedule non-nil the steps follow it instead (explore conform
// replay: a trace's schedule), and the run ends with it; a model fault at
// its last step is the trace's violation, reported in Fault (with what
// the C code did: Crash, or the states) rather than as a divergence.
func FollowSteps(bin string, sc *allocsim.Scenario, cfg allocsim.Config, seed uint64, maxSteps int, cOptions []string, schedule []int) (*StepResult, error) {
	// races tracked: the steps' accesses come from the memory-model plan
	m, s, h, pts, err := startBoth(bin, sc, cfg, cOptions, true)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	res := &StepResult{}
	hist := make([][]Point, len(sc.Threads)) // each thread's last C points
	rng := rand.New(rand.NewPCG(seed, 0x7374657073))
	lastC := func() []Point {
		var out []Point
		for i := range hist {
			out = append(out, hist[i]...)
		}
		return out
	}
	diverge := func(what string) (*StepResult, error) {
		mm, err := snapshot(h, sc, &s, what)
		if err != nil {
			return nil, err
		}
		mm.LastC = lastC()
		res.Mismatch = mm
		return res, nil
	}
	// record counts thread i's step (label) as taken on both sides
	record := func(i int, label string) {
		res.Steps++
		res.Labels = append(res.Labels, label)
		res.Schedule = append(res.Schedule, i)
	}
	// crashed: the C code stopped inside step res.Steps (counting the one
	// that is running) of thread i
	crashed := func(i int, label string, err error) (*StepResult, error) {
		if !errors.Is(err, ErrCrash) {
			return nil, err
		}
		if len(res.Labels) == res.Steps { // the model has not taken the step yet
			record(i, label)
		}
		res.Crash = err
		return res, nil
	}
	var visible func(i int) []access
	// crashedAfter: the C code stopped in thread i's local work after its
	// step (label), which the model has taken. When the thread's next
	// model step makes no C-visible access (a plain read the model makes a
	// step of its own, such as _mi_page_force_abandon's read of
	// page->capacity) and is the schedule's next step, the crash is that
	// step's; the model takes it too.
	crashedAfter := func(i int, label string, err error) (*StepResult, error) {
		if s.Fault.Code == 0 && !m.Done(&s, i) && len(visible(i)) == 0 &&
			(schedule == nil || (res.Steps < len(schedule) && schedule[res.Steps] == i)) {
			next := m.PendingLabel(&s, i)
			m.Step(&s, i)
			res.Fault = model.FaultCode(s.Fault.Code)
			return crashed(i, next, err)
		}
		res.Crash = err
		return res, nil
	}
	visible = func(i int) []access {
		var out []access
		for _, a := range m.SharedAccesses(&s, i) {
			// with memory os the harness has no arena: an OS segment is
			// mapped and unmapped without the arena's bitmap, and at v2.1.7
			// the cursor returns before it loads abandoned_count or a bitmap
			// word when there is no arena (arena.c:828-829)
			if n := cName(a.Loc); n != "" && !(sc.OSMemory && (n == "inuse_bitmap" || (cfg.Source == allocsim.V217 && (n == "abandoned_count" || n == "abandoned_bitmap")))) {
				out = append(out, access{n, a.Kind, cfg.Source == allocsim.V217})
			}
		}
		return out
	}
	// runC runs thread i's pending C point; label is the model step whose
	// access it makes ("" for a point the model has no step for)
	runC := func(i int, label string, rmw bool) error {
		var err error
		res.Points = append(res.Points, PointUse{P: pts[i], Label: label, RMW: rmw})
		hist[i] = append(hist[i], pts[i])
		if len(hist[i]) > 40 {
			hist[i] = hist[i][1:]
		}
		pts[i], err = h.Run(i)
		return err
	}
	// advance runs thread i's C code up to the first shared access of its
	// pending model step (its local work); a step with no C-visible access
	// leaves the C thread where it is.
	advance := func(i int) (string, error) {
		if m.Done(&s, i) {
			for !pts[i].Done {
				if err := runC(i, "", false); err != nil {
					return "", err
				}
			}
			return "", nil
		}
		v := visible(i)
		if len(v) == 0 {
			return "", nil
		}
		label := m.PendingLabel(&s, i)
		if _, listed := stepSiteOK(cfg.Source, label, pts[i]); !listed {
			return fmt.Sprintf("the site table lists no C site for step %s at %s (conform/sitetable.go)", label, cfg.Source), nil
		}
		for n := 0; !matchesAt(cfg.Source, pts[i], v[0], label); n++ {
			if pts[i].Done {
				return fmt.Sprintf("T%d's C code ended; the model's next step (%s) accesses %s", i+1, m.PendingLabel(&s, i), v[0].name), nil
			}
			if n > 100000 {
				return fmt.Sprintf("T%d's C code never reaches %s (the model's step %s)", i+1, v[0].name, m.PendingLabel(&s, i)), nil
			}
			if err := runC(i, "", false); err != nil {
				return "", err
			}
		}
		return "", nil
	}
	for i := range sc.Threads {
		d, err := advance(i)
		if err != nil {
			return nil, err
		}
		if d != "" {
			return diverge("at the start: " + d)
		}
	}
	if schedule != nil {
		maxSteps = len(schedule)
	}
	for res.Steps < maxSteps {
		en := m.Enabled(&s, nil)
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
		v := visible(i)
		label := m.PendingLabel(&s, i)
		// the C side of the step: its shared accesses, in order
		for k, a := range v {
			for n := 0; !matchesAt(cfg.Source, pts[i], a, label); n++ {
				if k == 0 || pts[i].Done || n > 100000 {
					return diverge(fmt.Sprintf("step %d (T%d %s): the model accesses %s, the C code is at %s", res.Steps, i+1, label, a.name, pts[i]))
				}
				if err := runC(i, "", false); err != nil {
					return crashed(i, label, err)
				}
			}
			if err := runC(i, label, a.kind&model.AccRead != 0 && a.kind&model.AccWrite != 0); err != nil {
				if k < len(v)-1 || !errors.Is(err, ErrCrash) {
					return crashed(i, label, err)
				}
				// the step's accesses are made; the C code stopped in the
				// local work after them
				m.Step(&s, i)
				record(i, label)
				return crashedAfter(i, label, err)
			}
		}
		m.Step(&s, i)
		record(i, label)
		if s.Fault.Code != 0 {
			res.Fault = model.FaultCode(s.Fault.Code)
			if schedule != nil && res.Steps == len(schedule) {
				// the trace's violation: run the thread's C code on through
				// the rest of the step (its local work) and say what it did
				if _, err := advance(i); err != nil {
					return crashed(i, label, err)
				}
				mm, err := snapshot(h, sc, &s, fmt.Sprintf("step %d (T%d %s): the model reports %s; the C code ran the step", res.Steps-1, i+1, label, res.Fault))
				if err != nil {
					return crashed(i, label, err)
				}
				res.Mismatch = mm
				return res, nil
			}
			return diverge(fmt.Sprintf("step %d (T%d %s): the model reports %s; the C code ran the step's accesses", res.Steps-1, i+1, label, model.FaultCode(s.Fault.Code)))
		}
		d, err := advance(i)
		if err != nil {
			if !errors.Is(err, ErrCrash) {
				return nil, err
			}
			return crashedAfter(i, label, err) // in the local work after this step
		}
		if d != "" {
			return diverge(fmt.Sprintf("after step %d (T%d %s): %s", res.Steps-1, i+1, label, d))
		}
		// compare where both sides wait at the same place: the stepping
		// thread before a C-visible access, every other thread likewise
		comparable := true
		for j := range sc.Threads {
			if !m.Done(&s, j) && len(visible(j)) == 0 {
				comparable = false
			}
		}
		if comparable {
			cs, err := h.State()
			if err != nil {
				return nil, err
			}
			// the register of a malloc or free in progress: C's program
			// writes it when the call returns, the model when the block is
			// taken (before, e.g., mi_page_to_full's collect) or the free
			// begins
			var skip []string
			for j, prog := range sc.Threads {
				k := int(s.Threads[j].Op)
				if m.Done(&s, j) || k >= len(prog) {
					continue
				}
				switch prog[k].Kind {
				case allocsim.OpMalloc:
					skip = append(skip, fmt.Sprintf("T%d:r%d=", j+1, prog[k].B))
				case allocsim.OpFree: // the model clears it at the free's first step, C when mi_free returns
					skip = append(skip, fmt.Sprintf("T%d:r%d=", j+1, prog[k].A))
				}
			}
			// a segment in the middle of a multi-step operation (reclaim,
			// abandon, free, force abandon: the model's ghost Busy) may
			// have its private counters updated at another point between
			// two shared accesses than in C (mi_segment_reclaim decrements
			// abandoned just before mi_page_set_heap, the model with it):
			// its abandoned count is not compared
			var busy []int
			for g := 0; g < sc.Segments; g++ {
				if s.Segs[g].Busy {
					busy = append(busy, g)
				}
			}
			norm := func(state string) string { return maskAbandoned(dropTokens(state, skip), busy) }
			ms := norm(ModelState(sc, &s))
			first := norm(cs)
			// a C point that matched the next step's first access by
			// location and kind may still be thread-private work before
			// it (another access of the same kind to the same field): run
			// on to the next match, at most twice, before calling the
			// difference a divergence
			for try := 0; ms != norm(cs) && try < 2 && !pts[i].Done && !m.Done(&s, i); try++ {
				if err := runC(i, "", false); err != nil {
					return nil, err
				}
				if d, err := advance(i); err != nil || d != "" {
					break
				}
				if cs, err = h.State(); err != nil {
					return nil, err
				}
			}
			if ms != norm(cs) {
				res.Mismatch = &Mismatch{What: fmt.Sprintf("after step %d (T%d %s) the states differ", res.Steps-1, i+1, label), Model: ms, C: first, LastC: lastC()}
				return res, nil
			}
		}
	}
	for i := range sc.Threads {
		if !m.Done(&s, i) || !pts[i].Done {
			if !slices.Contains(m.Enabled(&s, nil), i) && !m.Done(&s, i) {
				return diverge(fmt.Sprintf("T%d cannot go on in the model (deadlock)", i+1))
			}
			if res.Steps >= maxSteps {
				return res, nil
			}
			return diverge(fmt.Sprintf("T%d: model done %v, C done %v", i+1, m.Done(&s, i), pts[i].Done))
		}
	}
	mm, err := endMismatch(h, sc, &s)
	if err != nil {
		return nil, err
	}
	res.Mismatch = mm
	if mm == nil {
		res.Mismatch = unexplained(Classify(res.Points, sc.OSMemory, cfg.Source), lastC())
	}
	return res, nil
}

// unexplained reports the first C point of a conforming follow run that
// accessed a location of the model's state without being a step's access,
// part of an adjacent step's read-modify-write, or a site the site table
// lets run as local work: an access the model does not make.
func unexplained(cs []Classified, last []Point) *Mismatch {
	for k, c := range cs {
		if c.Why != WhyUnmatched {
			continue
		}
		after, steps := "the start", 0
		for j := 0; j < k; j++ {
			if cs[j].Label != "" {
				steps++
				if cs[j].P.Thread == c.P.Thread {
					after = fmt.Sprintf("step %s", cs[j].Label)
				}
			}
		}
		return &Mismatch{What: fmt.Sprintf("after %d steps: T%d's C code accessed %s (%s at %s) after its %s; the model has no step for it and the site table (conform/sitetable.go) does not list it as local work",
			steps, c.P.Thread+1, c.P.Addr, c.P.Kind, c.P.Site, after), LastC: last}
	}
	return nil
}

// dropTokens removes the state tokens that start with one of the prefixes.
func dropTokens(state string, prefixes []string) string {
	if len(prefixes) == 0 {
		return state
	}
	f := strings.Fields(state)
	out := f[:0]
	for _, t := range f {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(t, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// maskAbandoned replaces the abandoned count of the given segment slots'
// state tokens ("sG:owner/used/abandoned[/marked]") with "*".
func maskAbandoned(state string, slots []int) string {
	if len(slots) == 0 {
		return state
	}
	f := strings.Fields(state)
	for k, t := range f {
		for _, g := range slots {
			if rest, ok := strings.CutPrefix(t, fmt.Sprintf("s%d:", g)); ok {
				parts := strings.Split(rest, "/")
				if len(parts) >= 3 {
					parts[2] = "*"
					f[k] = fmt.Sprintf("s%d:", g) + strings.Join(parts, "/")
				}
			}
		}
	}
	return strings.Join(f, " ")
}
