package allocsim

import (
	"fmt"
	"slices"

	"mimcheck/model"
)

// Config selects what a run models.
type Config struct {
	Scenario    *Scenario
	Source      Source
	Patches     Patches
	Lang        Lang
	Mutant      Mutant
	Abstraction Abstraction
	// HarmfulPublish checks no-access-after-publish in its harmful form: a
	// thread that touches a segment after publishing it goes on doing what
	// the C code does, each access a step of its own (the segment is shared
	// by then), and only a resulting use-after-free or ownership breach is
	// reported. The default is the strict form of invariants.md.
	HarmfulPublish bool
	// Memory is the memory model (default sc).
	Memory Memory
	// NoRaces turns off happens-before tracking and race detection (the
	// state then has no memory-model part); only with Memory == MemSC.
	// The spin abstraction never tracks them.
	NoRaces bool
	// IgnoreRaces lists race sites (RaceKey) that are not reported: the
	// search goes on past them (explore run --all-races).
	IgnoreRaces []string
	// Retention turns on the path-property monitors scan-complete and
	// retired-page-expires (ghost state in the model state; full
	// abstraction only): they judge leaks and retention, not memory
	// safety, so they are opt-in (explore run --retention).
	Retention bool
	// PastFaults lists in-step precondition sites (FaultSite keys,
	// "FAULT@LABEL") that are not reported: the step goes on as the model
	// would without the check (explore run --all-violations).
	PastFaults []string
}

// Sim is the transition system of one configuration. It is immutable after
// New and safe to share; all mutable data lives in the model.State.
type Sim struct {
	cfg  Config
	sc   *Scenario
	nt   int
	ns   int
	nsl  int
	dims model.Dims
	mem  bool           // the memory-model state is tracked (memevents.go)
	locs *model.MemLocs // the memory locations the scenario uses

	ignoreRace map[string]bool // Config.IgnoreRaces
	pastFault  map[string]bool // Config.PastFaults
}

// New checks cfg and returns its simulator.
func New(cfg Config) (*Sim, error) {
	if cfg.Scenario == nil {
		return nil, fmt.Errorf("no scenario")
	}
	if err := cfg.Scenario.Validate(); err != nil {
		return nil, err
	}
	if cfg.Source >= numSources || cfg.Lang >= numLangs || cfg.Mutant >= numMutants || cfg.Abstraction >= numAbs || cfg.Memory >= numMemories {
		return nil, fmt.Errorf("bad configuration")
	}
	sc := cfg.Scenario
	if cfg.Abstraction == SpinAbs && sc.OSMemory {
		return nil, fmt.Errorf("scenario %s uses os memory, which --abstraction spin leaves out", sc.Name)
	}
	for _, c := range sc.Classes {
		if c.Huge && cfg.Abstraction == SpinAbs {
			return nil, fmt.Errorf("scenario %s has a huge class, which --abstraction spin leaves out", sc.Name)
		}
	}
	if sc.TargetSegments != 0 && cfg.Source == V217 {
		return nil, fmt.Errorf("scenario %s sets target-segments-per-thread, an option v2.1.7 does not have", sc.Name)
	}
	if sc.TargetSegments != 0 && cfg.Abstraction == SpinAbs {
		return nil, fmt.Errorf("scenario %s sets target-segments-per-thread, which --abstraction spin leaves out", sc.Name)
	}
	if cfg.Memory != MemSC && cfg.Abstraction == SpinAbs {
		return nil, fmt.Errorf("--memory %s needs --abstraction full (the spin abstraction has no memory orders)", cfg.Memory)
	}
	if cfg.Memory != MemSC && cfg.NoRaces {
		return nil, fmt.Errorf("--memory %s tracks happens-before; it cannot be turned off", cfg.Memory)
	}
	m := &Sim{cfg: cfg, sc: sc, nt: len(sc.Threads), ns: sc.Segments, nsl: sc.Slices, dims: sc.Dims()}
	m.mem = cfg.Abstraction != SpinAbs && !cfg.NoRaces
	if len(cfg.IgnoreRaces) > 0 {
		if !m.mem {
			return nil, fmt.Errorf("ignored races need race detection (--abstraction full, races on)")
		}
		m.ignoreRace = map[string]bool{}
		for _, k := range cfg.IgnoreRaces {
			m.ignoreRace[k] = true
		}
	}
	for _, k := range cfg.PastFaults {
		if err := ValidFaultSite(k); err != nil {
			return nil, err
		}
		if m.pastFault == nil {
			m.pastFault = map[string]bool{}
		}
		m.pastFault[k] = true
	}
	m.dims.Mem = m.mem
	if cfg.Retention && cfg.Abstraction == SpinAbs {
		return nil, fmt.Errorf("--retention needs --abstraction full (the spin abstraction has no retire delay and no forced collect)")
	}
	m.dims.Ghost = cfg.Retention
	m.locs = model.NewMemLocs(m.dims)
	m.locs.LatestOnly = cfg.Memory == MemSC
	return m, nil
}

// Config returns the configuration of m.
func (m *Sim) Config() Config { return m.cfg }

// Scenario returns the scenario of m.
func (m *Sim) Scenario() *Scenario { return m.sc }

// Dims returns the state dimensions of m's scenario.
func (m *Sim) Dims() model.Dims { return m.dims }

// Threads returns the number of simulated threads.
func (m *Sim) Threads() int { return m.nt }

// ghost reports whether the path-property monitors run (Config.Retention).
func (m *Sim) ghost() bool { return m.dims.Ghost }

// spin reports whether the SPIN abstraction is on.
func (m *Sim) spin() bool { return m.cfg.Abstraction == SpinAbs }

// Init returns the initial state: every thread has done its initial local
// work and waits at its first shared access (scenarios.md §1.4).
func (m *Sim) Init() model.State {
	var s model.State
	for i := 0; i < m.nt; i++ {
		m.runLocal(&s, i)
	}
	if m.mem {
		m.initMem(&s)
	}
	return s
}

// Enabled appends the threads that can step in s.
// Under --memory ra|rc11 a thread whose next step is a weak load appears
// once per store it may read: index i reads the latest store, index
// i + k*model.MaxThreads the store k places before it (see ReadsFrom).
// No thread steps from a cut state (model.FaultCut).
func (m *Sim) Enabled(s *model.State, dst []int) []int {
	if s.Fault.Code == uint8(model.FaultCut) {
		return dst
	}
	n0 := len(dst)
	extra := false
	for i := 0; i < m.nt; i++ {
		if m.enabled(s, i) {
			dst = append(dst, i)
			if k := m.weakChoices(s, i); k > 1 {
				extra = true
				for b := 1; b < k; b++ {
					dst = append(dst, i+b*model.MaxThreads)
				}
			}
		}
	}
	if extra {
		slices.Sort(dst[n0:])
	}
	return dst
}

func (m *Sim) enabled(s *model.State, i int) bool {
	t := &s.Threads[i]
	switch t.PC {
	case pcDone:
		return false
	case pcSend:
		return s.Mailbox[m.opAt(i, t).B] == 0
	case pcRecv:
		return s.Mailbox[m.opAt(i, t).A] != 0
	case pcExNever: // spins while the page is MI_DELAYED_FREEING
		return s.Slices[segOf(t.CI)][sliceOf(t.CI)].Delayed != model.DelayedFreeing
	case pcRcUse:
		return s.Slices[t.Seg][t.SI].Delayed != model.DelayedFreeing
	case pcFANever:
		return s.Slices[t.FSeg][t.FSI].Delayed != model.DelayedFreeing
	case pcOsLockMark, pcOsLockPop: // blocking acquire of abandoned_os_lock
		return s.OSListLocked == 0
	case pcOsVisitLock: // a forced collect's cursor (visit_all) blocks on abandoned_os_visit_lock
		return !visitAll(t) || s.OSVisitLocked == 0
	}
	return true
}

// Done reports whether thread i has finished its program.
func (m *Sim) Done(s *model.State, i int) bool { return s.Threads[i].PC == pcDone }

// AllDone reports whether every thread has finished.
func (m *Sim) AllDone(s *model.State) bool {
	for i := 0; i < m.nt; i++ {
		if s.Threads[i].PC != pcDone {
			return false
		}
	}
	return true
}

// Step executes one step of thread i: its pending shared access, then all
// thread-local work up to its next shared access. It returns the label.
func (m *Sim) Step(s *model.State, i int) string {
	if !m.enabled(s, i%model.MaxThreads) || (i >= model.MaxThreads && i/model.MaxThreads >= m.weakChoices(s, i%model.MaxThreads)) {
		panic(fmt.Sprintf("mimcheck internal bug: step of disabled thread %d", i))
	}
	if m.mem {
		return m.memStep(s, i)
	}
	return m.step(s, i)
}

// step runs thread i's pending shared access and the local work after it.
func (m *Sim) step(s *model.State, i int) string {
	label, _ := m.stepCoalesce(s, i)
	return label
}

// stepCoalesce is step, also returning the segments whose thread_id
// mi_segment_span_free_coalesce read (bit g).
func (m *Sim) stepCoalesce(s *model.State, i int) (string, uint8) {
	r := m.newRun(s, i)
	label := r.shared()
	r.runLocal()
	if r.coalesced {
		label += "+coalesce"
	}
	return label, r.coalescedSegs
}

// Encode appends the canonical encoding of s.
func (m *Sim) Encode(s *model.State, buf []byte) []byte { return s.AppendEncoding(buf, m.dims) }

// PendingLabel returns the label of the step thread i would take next.
func (m *Sim) PendingLabel(s *model.State, i int) string {
	return labelOf(s.Threads[i].PC)
}

// opAt returns the current operation of thread i.
func (m *Sim) opAt(i int, t *model.Thread) Op {
	p := m.sc.Threads[i]
	if int(t.Op) < len(p) {
		return p[t.Op]
	}
	return Op{Kind: OpEnd}
}
