package properties

// Generators of workloads for property-based testing (gopter).
//
// A generated workload is kept as one serial history of events (who
// mallocs, frees, hands a block to whom, collects, exits) rather than as
// per-thread programs. The thread programs are its projection: every
// hand-off gets a mailbox of its own and its recv comes after its send in
// the history, so the programs cannot deadlock under any schedule (the
// history is itself a valid serial execution), and a shrinker that drops
// whole blocks, threads or collects keeps send/recv pairs consistent.

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/leanovate/gopter"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// Event is one operation of a workload's serial history.
type Event struct {
	// Thread is the thread (0-based) that performs the operation.
	Thread int
	// Kind is allocsim.OpMalloc, OpFree, OpSend, OpRecv, OpCollect,
	// OpForceCollect or OpExit.
	Kind allocsim.OpKind
	// Class is the size class of a malloc.
	Class int
	// Block identifies the block a malloc creates and a free, send or recv
	// moves (unique within the workload).
	Block int
	// Hand identifies the hand-off of a send and its matching recv.
	Hand int
}

// Workload is a generated workload: sizes, options, configuration and the
// serial history its thread programs are projected from.
type Workload struct {
	Threads  int
	Segments int
	Slices   int
	Classes  []allocsim.Class

	ReclaimOnFree  bool
	TargetSegments int
	OSMemory       bool

	Source  allocsim.Source
	Patches allocsim.Patches
	Lang    allocsim.Lang
	// NoRaces turns off race detection: set for msvc-c unless the known
	// findings are generated (every msvc-c preset has a data race on
	// segment->thread_id, README "Findings").
	NoRaces bool
	// Memory is the memory model (sc unless drawn otherwise).
	Memory      allocsim.Memory
	Abstraction allocsim.Abstraction
	Mutant      allocsim.Mutant

	Events []Event
}

// GenConfig tunes the workload generator.
type GenConfig struct {
	// Sources lists the source presets to draw from (nil: all).
	Sources []allocsim.Source
	// Mutant is the seeded bug every workload runs with.
	Mutant allocsim.Mutant
	// KnownFindings also generates the configurations of the two known
	// findings on unpatched presets (README: target-segments-per-thread
	// with v2.3.0+, which the force-abandon finding breaks; os memory with
	// v2.1.7, the os-reclaim race). Off, the generated configurations are
	// expected to be free of violations.
	KnownFindings bool
	// MaxEvents bounds the generated history before the final drain (0: 40).
	MaxEvents int
}

// maxHandoffs is the number of hand-offs (one mailbox each).
const maxHandoffs = model.MaxMailboxes

// maxHeld bounds the blocks a thread holds at once (leaves registers for
// the final receives).
const maxHeld = 6

// GenWorkload returns a gopter generator of workloads, with ShrinkWorkload
// as its shrinker.
func GenWorkload(gc GenConfig) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		return gopter.NewGenResult(NewWorkload(p.Rng, gc), ShrinkWorkload)
	}
}

// NewWorkload draws one workload.
func NewWorkload(rng *rand.Rand, gc GenConfig) *Workload {
	pick := func(weights ...int) int {
		sum := 0
		for _, w := range weights {
			sum += w
		}
		x := rng.Intn(sum)
		for k, w := range weights {
			if x < w {
				return k
			}
			x -= w
		}
		return len(weights) - 1
	}
	chance := func(pct int) bool { return rng.Intn(100) < pct }
	w := &Workload{Mutant: gc.Mutant}
	w.Threads = 2 + pick(45, 35, 20)
	w.Segments = 1 + pick(15, 40, 30, 15)
	w.Slices = 3 + rng.Intn(6)
	if chance(75) {
		w.Abstraction = allocsim.Full
	} else {
		w.Abstraction = allocsim.SpinAbs
	}
	if len(gc.Sources) > 0 {
		w.Source = gc.Sources[rng.Intn(len(gc.Sources))]
	} else {
		w.Source = allocsim.Source(rng.Intn(3))
	}
	w.Patches = allocsim.Patches(rng.Intn(4))
	w.Lang = allocsim.Lang(rng.Intn(3))
	w.NoRaces = w.Lang == allocsim.LangMSVC && !gc.KnownFindings
	nc := 1 + pick(30, 45, 25)
	maxCS := min(3, w.Slices-1)
	for k := 0; k < nc; k++ {
		if k == nc-1 && k > 0 && w.Abstraction == allocsim.Full && chance(25) {
			w.Classes = append(w.Classes, allocsim.Class{Huge: true, Blocks: 1})
			continue
		}
		w.Classes = append(w.Classes, allocsim.Class{Slices: uint8(1 + rng.Intn(maxCS)), Blocks: uint8(1 + rng.Intn(4))})
	}
	w.ReclaimOnFree = chance(60)
	if gc.Mutant != allocsim.MutNone {
		w.ReclaimOnFree = chance(80)
	}
	if gc.KnownFindings && w.Abstraction == allocsim.Full && w.Source != allocsim.V217 && chance(25) {
		w.TargetSegments = 2 + rng.Intn(2)
	}
	if w.Abstraction == allocsim.Full && chance(20) && (gc.KnownFindings || w.Source != allocsim.V217) {
		w.OSMemory = true
	}
	w.Events = genEvents(rng, w, gc, pick, chance)
	w.fixClasses()
	// the memory model (drawn last, and not for mutant campaigns, so that
	// their workloads stay those of earlier versions): ra often; rc11 only
	// with the known findings (README finding 3 breaks it)
	if gc.Mutant == allocsim.MutNone && w.Abstraction == allocsim.Full && !w.NoRaces {
		switch pick(60, 30, 10) {
		case 1:
			w.Memory = allocsim.MemRA
		case 2:
			if gc.KnownFindings {
				w.Memory = allocsim.MemRC11
			}
		}
	}
	return w
}

// genEvents draws a serial history: a random prefix, then the drain
// (pending hand-offs received, held blocks freed, every thread exits, in
// random order so that threads often exit while others hold their blocks).
func genEvents(rng *rand.Rand, w *Workload, gc GenConfig, pick func(...int) int, chance func(int) bool) []Event {
	maxEv := gc.MaxEvents
	if maxEv <= 0 {
		maxEv = 40
	}
	n := w.Threads
	length := 2 + rng.Intn(maxEv-1)
	held := make([][]int, n)
	exited := make([]bool, n)
	owner := map[int]int{} // block -> allocating thread
	type pend struct{ hand, block, to int }
	var pending []pend
	var ev []Event
	nextBlock, hands := 0, 0
	incoming := func(t int) int {
		c := 0
		for _, p := range pending {
			if p.to == t {
				c++
			}
		}
		return c
	}
	// othersHold reports whether a block allocated by t is held elsewhere.
	othersHold := func(t int) bool {
		for u := 0; u < n; u++ {
			for _, b := range held[u] {
				if u != t && owner[b] == t {
					return true
				}
			}
		}
		for _, p := range pending {
			if owner[p.block] == t {
				return true
			}
		}
		return false
	}
	live := func() []int {
		var l []int
		for t := 0; t < n; t++ {
			if !exited[t] {
				l = append(l, t)
			}
		}
		return l
	}
	removeHeld := func(t, k int) int {
		b := held[t][k]
		held[t] = append(held[t][:k:k], held[t][k+1:]...)
		return b
	}
	sendBias := 3
	if gc.Mutant != allocsim.MutNone {
		sendBias = 5
	}
	for len(ev) < length {
		l := live()
		if len(l) == 0 {
			break
		}
		t := l[rng.Intn(len(l))]
		in := incoming(t)
		canRecv, canMalloc := in > 0 && len(held[t]) < maxHeld, len(held[t]) < maxHeld
		canFree := len(held[t]) > 0
		canSend := canFree && hands < maxHandoffs && len(l) > 1
		canExit := len(held[t]) == 0 && in == 0
		exitW := 1
		if canExit && othersHold(t) {
			exitW = 8
		}
		ws := []int{0, 0, 0, 0, 2, 1, 0}
		if canRecv {
			ws[0] = 5
		}
		if canMalloc {
			ws[1] = 6
		}
		if canFree {
			ws[2] = 3
		}
		if canSend {
			ws[3] = sendBias
		}
		if canExit {
			ws[6] = exitW
		}
		switch pick(ws...) {
		case 0:
			for k, p := range pending {
				if p.to == t {
					ev = append(ev, Event{Thread: t, Kind: allocsim.OpRecv, Block: p.block, Hand: p.hand})
					held[t] = append(held[t], p.block)
					pending = append(pending[:k:k], pending[k+1:]...)
					break
				}
			}
		case 1:
			c := rng.Intn(len(w.Classes))
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpMalloc, Class: c, Block: nextBlock})
			held[t] = append(held[t], nextBlock)
			owner[nextBlock] = t
			nextBlock++
		case 2:
			b := removeHeld(t, rng.Intn(len(held[t])))
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpFree, Block: b})
		case 3:
			b := removeHeld(t, rng.Intn(len(held[t])))
			to := l[rng.Intn(len(l))]
			for to == t {
				to = l[rng.Intn(len(l))]
			}
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpSend, Block: b, Hand: hands})
			pending = append(pending, pend{hand: hands, block: b, to: to})
			hands++
		case 4:
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpCollect})
		case 5:
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpForceCollect})
		case 6:
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpExit})
			exited[t] = true
		}
	}
	// Drain: receive what is pending (sometimes freeing it at once), then
	// free and exit thread by thread in random order.
	for _, p := range pending {
		ev = append(ev, Event{Thread: p.to, Kind: allocsim.OpRecv, Block: p.block, Hand: p.hand})
		if chance(50) || len(held[p.to]) >= maxHeld {
			ev = append(ev, Event{Thread: p.to, Kind: allocsim.OpFree, Block: p.block})
		} else {
			held[p.to] = append(held[p.to], p.block)
		}
	}
	for _, t := range rng.Perm(n) {
		if exited[t] {
			continue
		}
		for _, b := range held[t] {
			ev = append(ev, Event{Thread: t, Kind: allocsim.OpFree, Block: b})
		}
		ev = append(ev, Event{Thread: t, Kind: allocsim.OpExit})
	}
	return ev
}

// fixClasses names the classes and sizes a huge class to the segment.
func (w *Workload) fixClasses() {
	for k := range w.Classes {
		c := &w.Classes[k]
		c.Name = string(rune('A' + k))
		if c.Huge {
			c.Name = "H"
			c.Slices, c.Blocks = uint8(w.Slices-1), 1
		}
	}
}

// Clone returns a deep copy of w.
func (w *Workload) Clone() *Workload {
	c := *w
	c.Classes = append([]allocsim.Class(nil), w.Classes...)
	c.Events = append([]Event(nil), w.Events...)
	return &c
}

// NumOps returns the number of operations of all thread programs.
func (w *Workload) NumOps() int { return len(w.Events) }

// Text renders the workload as a scenario file (allocsim.ParseScenario).
// It fails when a thread would need more than model.MaxRegs registers.
func (w *Workload) Text(name string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s\nsegments %d\nslices %d\n", name, w.Segments, w.Slices)
	for _, c := range w.Classes {
		if c.Huge {
			fmt.Fprintf(&b, "class %s huge\n", c.Name)
		} else {
			fmt.Fprintf(&b, "class %s slices=%d blocks=%d\n", c.Name, c.Slices, c.Blocks)
		}
	}
	if w.ReclaimOnFree {
		b.WriteString("option reclaim-on-free=1\n")
	}
	if w.TargetSegments != 0 {
		fmt.Fprintf(&b, "option target-segments-per-thread=%d\n", w.TargetSegments)
	}
	if w.OSMemory {
		b.WriteString("memory os\n")
	}
	progs, err := w.Programs()
	if err != nil {
		return "", err
	}
	for _, p := range progs {
		b.WriteString("thread: " + strings.Join(p, "; ") + "\n")
	}
	return b.String(), nil
}

// Programs projects the history onto the threads: one list of scenario
// statements per thread. Registers are taken lowest first, mailboxes are
// numbered in the order of the sends.
func (w *Workload) Programs() ([][]string, error) {
	progs := make([][]string, w.Threads)
	regs := make([][model.MaxRegs]int, w.Threads) // block+1 held, 0 free
	mbox := map[int]int{}
	regOf := func(t, blk int) (int, error) {
		for r, h := range regs[t] {
			if h == blk+1 {
				return r, nil
			}
		}
		return 0, fmt.Errorf("thread %d does not hold block %d", t+1, blk)
	}
	freeReg := func(t int) (int, error) {
		for r, h := range regs[t] {
			if h == 0 {
				return r, nil
			}
		}
		return 0, fmt.Errorf("thread %d needs more than %d registers", t+1, model.MaxRegs)
	}
	for _, e := range w.Events {
		if e.Thread < 0 || e.Thread >= w.Threads {
			return nil, fmt.Errorf("event of thread %d", e.Thread+1)
		}
		t := e.Thread
		var st string
		switch e.Kind {
		case allocsim.OpMalloc:
			r, err := freeReg(t)
			if err != nil {
				return nil, err
			}
			if e.Class < 0 || e.Class >= len(w.Classes) {
				return nil, fmt.Errorf("malloc of class %d", e.Class)
			}
			regs[t][r] = e.Block + 1
			st = fmt.Sprintf("r%d = malloc(%s)", r, w.Classes[e.Class].Name)
		case allocsim.OpFree, allocsim.OpSend:
			r, err := regOf(t, e.Block)
			if err != nil {
				return nil, err
			}
			regs[t][r] = 0
			if e.Kind == allocsim.OpFree {
				st = fmt.Sprintf("free r%d", r)
			} else {
				m, ok := mbox[e.Hand]
				if !ok {
					m = len(mbox)
					mbox[e.Hand] = m
				}
				if m >= model.MaxMailboxes {
					return nil, fmt.Errorf("more than %d hand-offs", model.MaxMailboxes)
				}
				st = fmt.Sprintf("send r%d -> m%d", r, m)
			}
		case allocsim.OpRecv:
			m, ok := mbox[e.Hand]
			if !ok {
				return nil, fmt.Errorf("recv of hand-off %d before its send", e.Hand)
			}
			r, err := freeReg(t)
			if err != nil {
				return nil, err
			}
			regs[t][r] = e.Block + 1
			st = fmt.Sprintf("r%d <- m%d", r, m)
		case allocsim.OpCollect:
			st = "collect"
		case allocsim.OpForceCollect:
			st = "collect force"
		case allocsim.OpExit:
			st = "exit"
		default:
			return nil, fmt.Errorf("unknown event kind %d", e.Kind)
		}
		progs[t] = append(progs[t], st)
	}
	return progs, nil
}

// Scenario builds the scenario of w (through its text, so that a trace
// embedding the text rebuilds exactly the same scenario) and returns both.
func (w *Workload) Scenario(name string) (*allocsim.Scenario, string, error) {
	text, err := w.Text(name)
	if err != nil {
		return nil, "", err
	}
	sc, err := allocsim.ParseScenario(name+".scn", text)
	if err != nil {
		return nil, "", err
	}
	return sc, text, nil
}

// Config returns the simulator configuration of w on scenario sc.
func (w *Workload) Config(sc *allocsim.Scenario) allocsim.Config {
	return allocsim.Config{Scenario: sc, Source: w.Source, Patches: w.Patches, Lang: w.Lang, Mutant: w.Mutant, Abstraction: w.Abstraction,
		NoRaces: w.NoRaces, Memory: w.Memory}
}

// Sim builds the simulator of w; it fails for a workload outside the
// model's bounds or an invalid configuration (a shrinker may produce one).
func (w *Workload) Sim() (*allocsim.Sim, string, error) {
	sc, text, err := w.Scenario("prop")
	if err != nil {
		return nil, "", err
	}
	m, err := allocsim.New(w.Config(sc))
	if err != nil {
		return nil, "", err
	}
	return m, text, nil
}

// String renders the workload for test output.
func (w *Workload) String() string {
	text, err := w.Text("prop")
	if err != nil {
		text = "(" + err.Error() + ")\n"
	}
	races := "on"
	if w.NoRaces || w.Abstraction != allocsim.Full {
		races = "off"
	}
	return fmt.Sprintf("\n# source %s patches %s lang %s abstraction %s mutant %s races %s memory %s\n%s",
		w.Source, w.Patches, w.Lang, w.Abstraction, w.Mutant, races, w.Memory, text)
}

// ShrinkWorkload is the gopter shrinker of workloads: it drops a thread,
// a block (with all its events, so hand-offs stay paired), a collect;
// then takes smaller sizes, then plainer options. Each candidate is
// strictly smaller, so shrinking terminates.
func ShrinkWorkload(v interface{}) gopter.Shrink {
	w := v.(*Workload)
	var cands []*Workload
	for t := 0; t < w.Threads && w.Threads > 1; t++ {
		cands = append(cands, w.dropThread(t))
	}
	seen := map[int]bool{}
	for _, e := range w.Events {
		if e.Kind == allocsim.OpMalloc && !seen[e.Block] {
			seen[e.Block] = true
			cands = append(cands, w.dropBlock(e.Block))
		}
	}
	for k, e := range w.Events {
		if e.Kind == allocsim.OpCollect || e.Kind == allocsim.OpForceCollect {
			c := w.Clone()
			c.Events = append(c.Events[:k:k], c.Events[k+1:]...)
			cands = append(cands, c)
		}
	}
	if w.Segments > 1 {
		c := w.Clone()
		c.Segments--
		cands = append(cands, c)
	}
	if w.Slices > 3 {
		c := w.Clone()
		c.Slices--
		for k := range c.Classes {
			if int(c.Classes[k].Slices) > c.Slices-1 {
				c.Classes[k].Slices = uint8(c.Slices - 1)
			}
		}
		c.fixClasses()
		cands = append(cands, c)
	}
	for k, cl := range w.Classes {
		if !cl.Huge && cl.Blocks > 1 {
			c := w.Clone()
			c.Classes[k].Blocks--
			cands = append(cands, c)
		}
		if !cl.Huge && cl.Slices > 1 {
			c := w.Clone()
			c.Classes[k].Slices--
			cands = append(cands, c)
		}
	}
	if c := w.dropUnusedClass(); c != nil {
		cands = append(cands, c)
	}
	opt := func(f func(c *Workload)) {
		c := w.Clone()
		f(c)
		cands = append(cands, c)
	}
	if w.OSMemory {
		opt(func(c *Workload) { c.OSMemory = false })
	}
	if w.TargetSegments != 0 {
		opt(func(c *Workload) { c.TargetSegments = 0 })
	}
	if w.ReclaimOnFree {
		opt(func(c *Workload) { c.ReclaimOnFree = false })
	}
	if w.Patches != 0 {
		opt(func(c *Workload) { c.Patches = 0 })
	}
	if w.Lang != allocsim.LangC11 {
		opt(func(c *Workload) { c.Lang, c.NoRaces = allocsim.LangC11, false })
	}
	if w.Memory != allocsim.MemSC {
		opt(func(c *Workload) { c.Memory = allocsim.MemSC })
	}
	k := 0
	return func() (interface{}, bool) {
		if k >= len(cands) {
			return nil, false
		}
		k++
		return cands[k-1], true
	}
}

// dropThread removes thread t, every block it touches, and renumbers the
// threads after it.
func (w *Workload) dropThread(t int) *Workload {
	drop := map[int]bool{}
	for _, e := range w.Events {
		if e.Thread == t && e.Kind != allocsim.OpCollect && e.Kind != allocsim.OpForceCollect && e.Kind != allocsim.OpExit {
			drop[e.Block] = true
		}
	}
	c := w.Clone()
	c.Threads--
	c.Events = c.Events[:0]
	for _, e := range w.Events {
		if e.Thread == t || (isBlockOp(e.Kind) && drop[e.Block]) {
			continue
		}
		if e.Thread > t {
			e.Thread--
		}
		c.Events = append(c.Events, e)
	}
	return c
}

// dropBlock removes every event of block b.
func (w *Workload) dropBlock(b int) *Workload {
	c := w.Clone()
	c.Events = c.Events[:0]
	for _, e := range w.Events {
		if isBlockOp(e.Kind) && e.Block == b {
			continue
		}
		c.Events = append(c.Events, e)
	}
	return c
}

// dropUnusedClass removes the last class no malloc uses, if any.
func (w *Workload) dropUnusedClass() *Workload {
	if len(w.Classes) < 2 {
		return nil
	}
	used := make([]bool, len(w.Classes))
	for _, e := range w.Events {
		if e.Kind == allocsim.OpMalloc {
			used[e.Class] = true
		}
	}
	for k := len(w.Classes) - 1; k >= 0; k-- {
		if used[k] {
			continue
		}
		c := w.Clone()
		c.Classes = append(c.Classes[:k:k], c.Classes[k+1:]...)
		for i := range c.Events {
			if c.Events[i].Kind == allocsim.OpMalloc && c.Events[i].Class > k {
				c.Events[i].Class--
			}
		}
		c.fixClasses()
		return c
	}
	return nil
}

func isBlockOp(k allocsim.OpKind) bool {
	return k == allocsim.OpMalloc || k == allocsim.OpFree || k == allocsim.OpSend || k == allocsim.OpRecv
}
