package model

import (
	"math/bits"
	"strconv"
)

// C11 memory state (the memory-model issue): happens-before as vector
// clocks, a bounded history of stores per weakly read location (the
// reads-from choices of --memory ra|rc11) and per-location race shadows.
// Like the rest of State it is a plain value; Normalize keeps it canonical
// (see there), so two states with the same happens-before structure and
// the same histories are equal and hash alike.
//
// The semantics (which access orders synchronise, which stores a load may
// read) live in this file as functions over Mem; package allocsim decides
// which accesses a step makes (allocsim/memevents.go).

// MemHist is the number of stores kept per weakly read location. A store
// pushed out of a full history can no longer be read (an under-approximation
// of the weak behaviours, reported in README "Memory model").
const MemHist = 3

// Location ids. Locations below NumWeakLocs keep a store history;
// locations below NumRaceLocs have race shadows; the two locks only carry
// a release clock.
const (
	LocThreadID0 = 0                                 // segment g's thread_id: LocThreadID0+g
	LocBitmap    = LocThreadID0 + MaxSegments        // arena->blocks_abandoned
	LocCount     = LocBitmap + 1                     // subproc->abandoned_count (v2.1.7: the global count)
	LocXHeap0    = LocCount + 1                      // page x's xheap: LocXHeap0+x, x = g*MaxSlices+i
	NumWeakLocs  = LocXHeap0 + MaxSegments*MaxSlices // locations with a store history
	LocXTF0      = NumWeakLocs                       // page x's xthread_free
	LocDelayed0  = LocXTF0 + MaxSegments*MaxSlices   // heap (thread) h's thread_delayed_free
	LocMbox0     = LocDelayed0 + MaxThreads          // scenario mailbox k
	LocInuse     = LocMbox0 + MaxMailboxes           // arena->blocks_inuse
	LocOSList    = LocInuse + 1                      // the OS abandoned list links (plain, under the lock)
	LocMeta0     = LocOSList + 1                     // segment g's owner-private fields (plain)
	NumRaceLocs  = LocMeta0 + MaxSegments
	LocOSLock    = NumRaceLocs   // subproc->abandoned_os_lock
	LocOSVisit   = LocOSLock + 1 // subproc->abandoned_os_visit_lock
	NumLocs      = LocOSVisit + 1
)

// VC is a vector clock; entry u is the last event of thread u known. Values
// are renamed by Normalize (order-preserving, per entry), so only their
// order means anything.
type VC [MaxThreads]uint8

// Join sets v to the pointwise maximum of v and w.
func (v *VC) Join(w *VC) {
	for i := range v {
		if w[i] > v[i] {
			v[i] = w[i]
		}
	}
}

// Store is one store (or read-modify-write) to a weakly read location.
// Which step made it is not kept (it would tell apart states that behave
// alike); traces name it by replaying the stores in order.
type Store struct {
	Val  uint8 // the value stored
	Rel  VC    // the clock a reader with acquire semantics joins (zero: none)
	Seen VC    // entry u: u's epoch at its first write or read of this store (0: none)
}

// History is the modification order of a weakly read location, oldest
// first, cut to the stores some thread may still read.
type History struct {
	N    uint8
	Hist [MemHist]Store
	View [MaxThreads]uint8 // per thread: index of the oldest store it may read (coherence)
}

// Latest returns the last store in modification order.
func (h *History) Latest() *Store { return &h.Hist[h.N-1] }

// Epochs are a thread's last accesses to one location, split by kind:
// the clock entry of the thread at the access, 0 = none (or known to
// every live thread, so it cannot race any more).
type Epochs struct {
	W, R   uint8 // last non-atomic write, read
	AW, AR uint8 // last atomic write, read
}

// Mem is the memory-model part of State.
type Mem struct {
	Clock  [MaxThreads]VC
	Weak   [NumWeakLocs]History
	Sync   [NumLocs - NumWeakLocs]VC // release clock of the last store (locks: of the last unlock)
	Shadow [NumRaceLocs][MaxThreads]Epochs
}

// Access kinds of an event.
const (
	AccRead   = 1 << iota // reads the location
	AccWrite              // writes it
	AccAtomic             // an atomic access (else non-atomic)
	AccAcq                // acquire semantics (join the release clock read)
	AccRel                // release semantics (publish the clock)
)

// RaceInfo describes a data race found by an access.
type RaceInfo struct {
	Loc   int
	Other int   // the earlier access's thread
	Kind  uint8 // the earlier access's kind bits (AccRead/AccWrite, AccAtomic)
}

// InitMem resets the memory state for threads live threads: every clock
// starts at 1 (its first epoch) and every weak location holds one initial
// store with the value the state starts with (vals[l]).
func (m *Mem) InitMem(threads int, vals *[NumWeakLocs]uint8) {
	*m = Mem{}
	for t := 0; t < threads; t++ {
		m.Clock[t][t] = 1
	}
	for l := range m.Weak {
		m.Weak[l].N = 1
		m.Weak[l].Hist[0] = Store{Val: vals[l]}
	}
}

// Candidates returns how many stores thread t may read from weak location
// l (the latest and up to MemHist-1 earlier ones still in its view).
func (m *Mem) Candidates(t, l int) int {
	return int(m.Weak[l].N) - m.floor(t, l)
}

// floor is the index of the oldest store thread t may read from l:
// coherence forbids reading a store older than one t wrote or read
// (View), or than one written or read by an access that happens before
// t's current point (write-read and read-read coherence through
// happens-before: Seen against t's clock).
func (m *Mem) floor(t, l int) int {
	h := &m.Weak[l]
	f := int(h.View[t])
	c := &m.Clock[t]
	for j := int(h.N) - 1; j > f; j-- {
		for u, e := range h.Hist[j].Seen {
			if e != 0 && e <= c[u] {
				return j
			}
		}
	}
	return f
}

// see records that thread t accessed store j of l now (its first access
// is the one that matters for coherence).
func (m *Mem) see(t, l, j int) {
	st := &m.Weak[l].Hist[j]
	if st.Seen[t] == 0 {
		st.Seen[t] = m.Clock[t][t]
	}
}

// ReadWeak makes thread t read weak location l from the store back stores
// before the latest (0 = the latest) and returns that store. With acq the
// reader joins the store's release clock. Coherence: t may not read an
// older store afterwards.
func (m *Mem) ReadWeak(t, l, back int, acq bool) Store {
	h := &m.Weak[l]
	j := int(h.N) - 1 - back
	if j < m.floor(t, l) {
		panic("mimcheck internal bug: read outside the coherent view")
	}
	h.View[t] = uint8(j)
	m.see(t, l, j)
	st := h.Hist[j]
	if acq {
		m.Clock[t].Join(&st.Rel)
	}
	return st
}

// release returns the clock a release by t publishes and starts t's next
// epoch, so that what t does after the release is not covered by it.
func (m *Mem) release(t int) VC {
	c := m.Clock[t]
	if m.Clock[t][t] == 255 {
		panic("mimcheck internal bug: vector clock entry overflow (more than 254 distinct events of one thread kept)")
	}
	m.Clock[t][t]++
	return c
}

// WriteWeak appends thread t's store of val to weak location l. rmw says
// the store is the write of a read-modify-write (which read the latest
// store and continues its release sequence); acq/rel its semantics.
//
// The acquire half of an RMW (joining the release clock of the store it
// reads) is AcquireRMW, done before the access is checked for races.
func (m *Mem) WriteWeak(t, l int, val uint8, rmw, rel bool) {
	h := &m.Weak[l]
	prev := h.Latest()
	var relc VC
	if rmw {
		relc = prev.Rel // an RMW continues the release sequence it reads from
		m.see(t, l, int(h.N)-1)
	}
	st := Store{Val: val}
	st.Seen[t] = m.Clock[t][t]
	if rel {
		c := m.release(t)
		relc.Join(&c)
	}
	st.Rel = relc
	if int(h.N) == MemHist {
		copy(h.Hist[:], h.Hist[1:])
		h.N--
		for u := range h.View {
			if h.View[u] > 0 {
				h.View[u]--
			}
		}
	}
	h.Hist[h.N] = st
	h.N++
	h.View[t] = h.N - 1 // a thread reads its own store or later (write-read coherence)
}

// AcquireRMW is the read half of an acquiring read-modify-write of weak
// location l by t: it reads the latest store and joins its release clock.
func (m *Mem) AcquireRMW(t, l int) {
	m.Clock[t].Join(&m.Weak[l].Latest().Rel)
}

// SyncRMW is a read-modify-write (or, with write false, an acquire read of
// the latest value) of a non-weak location l by thread t: it joins the
// release sequence when acq, and continues it (adding t's clock when rel).
func (m *Mem) SyncRMW(t, l int, write, acq, rel bool) {
	s := &m.Sync[l-NumWeakLocs]
	if acq {
		m.Clock[t].Join(s)
	}
	if write && rel {
		c := m.release(t)
		s.Join(&c)
	}
}

// SyncStore is a plain store or a release store (not an RMW) to a
// non-weak location: it starts a new release sequence.
func (m *Mem) SyncStore(t, l int, rel bool) {
	s := &m.Sync[l-NumWeakLocs]
	if rel {
		*s = m.release(t)
	} else {
		*s = VC{}
	}
}

// Lock is thread t acquiring lock l; Unlock releases it.
func (m *Mem) Lock(t, l int)   { m.Clock[t].Join(&m.Sync[l-NumWeakLocs]) }
func (m *Mem) Unlock(t, l int) { m.Sync[l-NumWeakLocs] = m.release(t) }

// Access records thread t's access of kind k to race location l and
// reports a data race with an earlier access of another thread: two
// accesses to one location, at least one a write and at least one
// non-atomic, and the earlier one not happening before t's current point.
func (m *Mem) Access(t, l int, k uint8) (RaceInfo, bool) {
	c := &m.Clock[t]
	atomic := k&AccAtomic != 0
	write := k&AccWrite != 0
	var race RaceInfo
	found := false
	for u := 0; u < MaxThreads && !found; u++ {
		if u == t {
			continue
		}
		e := &m.Shadow[l][u]
		unordered := func(x uint8) bool { return x != 0 && x > c[u] }
		switch {
		case unordered(e.W):
			race, found = RaceInfo{Loc: l, Other: u, Kind: AccWrite}, true
		case write && unordered(e.R):
			race, found = RaceInfo{Loc: l, Other: u, Kind: AccRead}, true
		case !atomic && unordered(e.AW):
			race, found = RaceInfo{Loc: l, Other: u, Kind: AccWrite | AccAtomic}, true
		case !atomic && write && unordered(e.AR):
			race, found = RaceInfo{Loc: l, Other: u, Kind: AccRead | AccAtomic}, true
		}
	}
	e := &m.Shadow[l][t]
	now := c[t]
	switch {
	case atomic && write:
		e.AW = now
	case atomic:
		e.AR = now
	case write:
		e.W = now
	default:
		e.R = now
	}
	if atomic && k&AccRead != 0 && write {
		e.AR = now
	}
	return race, found
}

// MemLocs lists the locations a configuration uses (so that Normalize
// need not visit the others, which stay zero) and its thread count.
type MemLocs struct {
	Threads int
	// LatestOnly: every load reads the latest store (the sc memory
	// model), so a weak location keeps only that store: the older ones and
	// the first-access marks (which only bound what a weak load may read)
	// cannot be observed.
	LatestOnly bool
	Weak       []int // weakly read locations (store histories)
	Sync       []int // locations with a release clock only (RMW-only, locks)
	Race       []int // locations with race shadows
}

// NewMemLocs returns the locations used within d (all of them for a zero
// Dims with only Threads set: AllMemLocs).
func NewMemLocs(d Dims) *MemLocs {
	ml := &MemLocs{Threads: d.Threads}
	for l := 0; l < NumLocs; l++ {
		if !MemLocUsed(l, d) {
			continue
		}
		switch {
		case l < NumWeakLocs:
			ml.Weak = append(ml.Weak, l)
		default:
			ml.Sync = append(ml.Sync, l)
		}
		if l < NumRaceLocs {
			ml.Race = append(ml.Race, l)
		}
	}
	return ml
}

// AllMemLocs is every location, for threads threads.
func AllMemLocs(threads int) *MemLocs {
	return NewMemLocs(Dims{Threads: threads, Segments: MaxSegments, Slices: MaxSlices, Mailboxes: MaxMailboxes})
}

// Normalize is NormalizeLocs over every location.
func (m *Mem) Normalize(live uint8, threads int) { m.NormalizeLocs(live, AllMemLocs(threads)) }

// NormalizeLocs puts m in canonical form after a step. live has bit t set
// for every thread that can still make an access; ml lists the locations
// in use (every other one must be zero). It
//   - forgets what finished threads know (their clock and views),
//   - clears every epoch that every other live thread already knows (it
//     can no longer be part of a race),
//   - clears the release-clock entries every live thread already knows
//     (joining them changes no clock),
//   - drops the stores no live thread can read any more (with
//     ml.LatestOnly all but the latest, and every first-access mark), and
//     the first-access marks every live thread already knows,
//   - renames the clock values of each entry u by rename: their order
//     against u's thresholds is all that is kept.
func (m *Mem) NormalizeLocs(live uint8, ml *MemLocs) {
	threads := ml.Threads
	for t := 0; t < MaxThreads; t++ {
		if live&(1<<t) == 0 {
			m.Clock[t] = VC{}
			for _, l := range ml.Weak {
				m.Weak[l].View[t] = 0
			}
		}
	}
	// known[u]: the smallest clock entry u of the live threads other than
	// u (an epoch of u at most that is known to every other live thread)
	var known [MaxThreads]uint8
	for u := 0; u < threads; u++ {
		k := uint8(255)
		for t := 0; t < threads; t++ {
			if t != u && live&(1<<t) != 0 && m.Clock[t][u] < k {
				k = m.Clock[t][u]
			}
		}
		known[u] = k
	}
	for _, l := range ml.Race {
		for u := 0; u < threads; u++ {
			e := &m.Shadow[l][u]
			k := known[u]
			if e.W <= k {
				e.W = 0
			}
			if e.R <= k {
				e.R = 0
			}
			if e.AW <= k {
				e.AW = 0
			}
			if e.AR <= k {
				e.AR = 0
			}
		}
	}
	// the same for first-access marks, counting u itself (its own view
	// covers its accesses)
	var knownAll [MaxThreads]uint8
	for u := 0; u < threads; u++ {
		k := known[u]
		if live&(1<<u) != 0 && m.Clock[u][u] < k {
			k = m.Clock[u][u]
		}
		knownAll[u] = k
	}
	// release clocks: an entry every live thread already knows adds
	// nothing to the clock of a thread that joins it (clocks only grow)
	for _, l := range ml.Sync {
		s := &m.Sync[l-NumWeakLocs]
		for u := 0; u < threads; u++ {
			if s[u] <= knownAll[u] {
				s[u] = 0
			}
		}
	}
	for _, l := range ml.Weak {
		h := &m.Weak[l]
		if ml.LatestOnly {
			st := h.Hist[h.N-1]
			st.Seen = VC{}
			*h = History{N: 1}
			h.Hist[0] = st
			continue
		}
		for t := 0; t < threads; t++ {
			if live&(1<<t) != 0 {
				h.View[t] = uint8(m.floor(t, l))
			}
		}
		for j := 0; j < int(h.N); j++ {
			st := &h.Hist[j]
			for u := 0; u < threads; u++ {
				if st.Seen[u] != 0 && st.Seen[u] <= knownAll[u] {
					st.Seen[u] = 0
				}
				if st.Rel[u] <= knownAll[u] {
					st.Rel[u] = 0
				}
			}
		}
		// stores nobody can read
		lo := h.N - 1
		for t := 0; t < threads; t++ {
			if live&(1<<t) != 0 && h.View[t] < lo {
				lo = h.View[t]
			}
		}
		if lo > 0 {
			copy(h.Hist[:], h.Hist[lo:h.N])
			for j := h.N - lo; j < h.N; j++ {
				h.Hist[j] = Store{}
			}
			h.N -= lo
			for t := 0; t < threads; t++ {
				if live&(1<<t) != 0 {
					h.View[t] -= lo
				}
			}
		}
	}
	m.rename(ml)
}

// rename renumbers the values of every clock entry u. Of entry u's
// values, only their order against u's thresholds matters: the epochs
// recorded at accesses (race shadows, first-access marks), which a clock
// entry is compared with, and u's current epoch (u's later epochs are
// above every value now in use). Clock values — threads' clocks, release
// clocks of stores and of sync locations — are only joined (max) and
// compared with thresholds, so each value x can be replaced by the number
// of thresholds at or below it: that keeps every comparison with a
// threshold, commutes with max, keeps 0 as 0, and numbers the thresholds
// 1..n. A clock value between two thresholds is thus equal to the lower
// one (what it knows beyond that no access recorded).
func (m *Mem) rename(ml *MemLocs) {
	threads := ml.Threads
	var thr, val [MaxThreads][4]uint64
	mark := func(s *[4]uint64, x uint8) {
		s[x>>6] |= 1 << (x & 63)
	}
	for t := 0; t < threads; t++ {
		for u := 0; u < threads; u++ {
			mark(&val[u], m.Clock[t][u])
		}
		mark(&thr[t], m.Clock[t][t]) // the current epoch (0 for a finished thread)
	}
	for _, l := range ml.Weak {
		h := &m.Weak[l]
		for j := 0; j < int(h.N); j++ {
			for u := 0; u < threads; u++ {
				mark(&val[u], h.Hist[j].Rel[u])
				mark(&thr[u], h.Hist[j].Seen[u])
			}
		}
	}
	for _, l := range ml.Sync {
		for u := 0; u < threads; u++ {
			mark(&val[u], m.Sync[l-NumWeakLocs][u])
		}
	}
	for _, l := range ml.Race {
		for u := 0; u < threads; u++ {
			e := &m.Shadow[l][u]
			mark(&thr[u], e.W)
			mark(&thr[u], e.R)
			mark(&thr[u], e.AW)
			mark(&thr[u], e.AR)
		}
	}
	// entry u is left as it is when every value in use is a threshold and
	// the thresholds are 1..n (the highest is then their number). Most
	// steps leave every entry so, and return here.
	var renamed uint8 // bit u: entry u is renamed
	for u := 0; u < threads; u++ {
		t, v := thr[u], val[u]
		t[0] &^= 1
		v[0] &^= 1
		n, hi := 0, 0
		same := true
		for k := 0; k < 4; k++ {
			if v[k]&^t[k] != 0 {
				same = false
			}
			if t[k] != 0 {
				n += bits.OnesCount64(t[k])
				hi = k*64 + 63 - bits.LeadingZeros64(t[k])
			}
		}
		if !same || hi != n {
			renamed |= 1 << u
		}
	}
	if renamed == 0 {
		return
	}
	// to[u][x]: the number of entry u's thresholds at or below x, for the
	// values x in use of the entries renamed
	var to [MaxThreads][256]uint8
	for u := 0; u < threads; u++ {
		if renamed&(1<<u) == 0 {
			continue
		}
		n := uint8(0)
		x := 1
		for k := 0; k < 4; k++ {
			v := val[u][k] | thr[u][k] // the values in use (thresholds are among them)
			if k == 0 {
				v &^= 1 // 0 stays 0
			}
			for v != 0 {
				b := bits.TrailingZeros64(v)
				v &= v - 1
				// thresholds between the previous value in use and this one
				for ; x <= k*64+b; x++ {
					if thr[u][x>>6]&(1<<(x&63)) != 0 {
						n++
					}
				}
				to[u][k*64+b] = n
			}
		}
	}
	for u := 0; u < threads; u++ {
		if renamed&(1<<u) == 0 {
			continue
		}
		r := &to[u]
		for t := 0; t < threads; t++ {
			m.Clock[t][u] = r[m.Clock[t][u]]
		}
		for _, l := range ml.Weak {
			h := &m.Weak[l]
			for j := 0; j < int(h.N); j++ {
				h.Hist[j].Rel[u] = r[h.Hist[j].Rel[u]]
				h.Hist[j].Seen[u] = r[h.Hist[j].Seen[u]]
			}
		}
		for _, l := range ml.Sync {
			m.Sync[l-NumWeakLocs][u] = r[m.Sync[l-NumWeakLocs][u]]
		}
		for _, l := range ml.Race {
			e := &m.Shadow[l][u]
			e.W, e.R, e.AW, e.AR = r[e.W], r[e.R], r[e.AW], r[e.AR]
		}
	}
}

// LocName names location l as traces do (seg0.thread_id, seg1.s2.xheap, ...).
func LocName(l int) string {
	page := func(x int) string { return "seg" + strconv.Itoa(x/MaxSlices) + ".s" + strconv.Itoa(x%MaxSlices) }
	switch {
	case l < LocBitmap:
		return "seg" + strconv.Itoa(l-LocThreadID0) + ".thread_id"
	case l == LocBitmap:
		return "blocks_abandoned"
	case l == LocCount:
		return "abandoned_count"
	case l < NumWeakLocs:
		return page(l-LocXHeap0) + ".xheap"
	case l < LocDelayed0:
		return page(l-LocXTF0) + ".xthread_free"
	case l < LocMbox0:
		return "T" + strconv.Itoa(l-LocDelayed0+1) + ".thread_delayed_free"
	case l < LocInuse:
		return "m" + strconv.Itoa(l-LocMbox0)
	case l == LocInuse:
		return "blocks_inuse"
	case l == LocOSList:
		return "abandoned_os_list"
	case l < NumRaceLocs:
		return "seg" + strconv.Itoa(l-LocMeta0) + ".meta"
	case l == LocOSLock:
		return "abandoned_os_lock"
	case l == LocOSVisit:
		return "abandoned_os_visit_lock"
	}
	return "loc?"
}

// KindName describes access bits: "non-atomic write", "atomic read", ...
func KindName(k uint8) string {
	s := "non-atomic "
	if k&AccAtomic != 0 {
		s = "atomic "
	}
	switch {
	case k&AccRead != 0 && k&AccWrite != 0:
		return s + "read-modify-write"
	case k&AccWrite != 0:
		return s + "write"
	}
	return s + "read"
}
