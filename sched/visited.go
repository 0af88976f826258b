package sched

import (
	"encoding/binary"
	"math/bits"
)

// visited is the visited set of a search. A key is the state alone, or,
// when the search bounds preemptions, the state together with the number
// of preemptions used to reach it and the thread that made the last step
// (both influence which successors the bound allows, so merging states that
// differ in them would be unsound).
//
// Lookups are split in two so that a search can overlap the cache misses of
// several lookups: a [keyer] computes a state's hash, warm starts loading
// the table slot of a key, and add and has take the state together with its
// precomputed key.
type visited[S comparable] interface {
	// warm touches the table slot of k so that a later add or has finds it
	// in cache; a no-op for exact sets.
	warm(k [2]uint64)
	// add stores the key of (s, pre, last), whose hash is k, and reports
	// whether it was new.
	add(s *S, pre, last int, k [2]uint64) bool
	// has reports whether the key of (s, pre, last), whose hash is k, is
	// stored.
	has(s *S, pre, last int, k [2]uint64) bool
	// size returns the number of keys stored.
	size() int
	// bytes returns the bytes allocated for the table (0 for exact sets,
	// whose Go map size is not observable without unsafe).
	bytes() int64
	// growBytes returns the bytes the table would allocate if the next add
	// stored a new key (0: it would not grow, or an exact set).
	growBytes() int64
}

// storeMode is the kind of visited set.
type storeMode uint8

const (
	storeFP64  storeMode = iota // 64-bit fingerprints, 8 bytes per slot
	storeFP128                  // 128-bit fingerprints, 16 bytes per slot
	storeExact                  // the state value itself
)

// mode returns the visited-set kind selected by opt.
func (opt Options) mode() storeMode {
	switch {
	case opt.Exact:
		return storeExact
	case opt.Fingerprint == 128:
		return storeFP128
	default:
		return storeFP64
	}
}

// newVisited returns the visited set of a search: exact (keyed by the state
// value) or hashed (keyed by a 64- or 128-bit fingerprint of the encoding),
// and bounded (the key includes preemptions and last thread) or not.
func newVisited[S comparable](mode storeMode, bounded bool) visited[S] {
	switch {
	case mode == storeExact && bounded:
		return &exactBoundedSet[S]{m: make(map[boundedKey[S]]struct{})}
	case mode == storeExact:
		return &exactSet[S]{m: make(map[S]struct{})}
	case mode == storeFP128:
		return &hashedSet[S]{t: newHashTable()}
	default:
		return &fpSet[S]{t: newFPTable()}
	}
}

// keyer computes the hashed visited-set keys of a search: Hash128 of the
// system's encoding of the state, followed, when bounded, by the
// preemptions and the last thread as two little-endian uint32s (a
// fixed-size suffix keeps the encoding injective). The encode buffer is
// reused, so a key does not allocate. Each goroutine needs its own keyer.
type keyer[S comparable] struct {
	sys     System[S]
	bounded bool
	skip    bool // exact sets need no key: key returns the zero key
	buf     []byte
}

func (k *keyer[S]) key(s *S, pre, last int) [2]uint64 {
	if k.skip {
		return [2]uint64{}
	}
	k.buf = k.sys.Encode(s, k.buf[:0])
	if k.bounded {
		k.buf = binary.LittleEndian.AppendUint32(k.buf, uint32(pre))
		k.buf = binary.LittleEndian.AppendUint32(k.buf, uint32(last))
	}
	return Hash128(k.buf)
}

// exactSet keys the visited set by the state value.
type exactSet[S comparable] struct {
	m map[S]struct{}
}

func (v *exactSet[S]) warm([2]uint64) {}

func (v *exactSet[S]) add(s *S, _, _ int, _ [2]uint64) bool {
	n := len(v.m)
	v.m[*s] = struct{}{}
	return len(v.m) != n
}

func (v *exactSet[S]) has(s *S, _, _ int, _ [2]uint64) bool {
	_, ok := v.m[*s]
	return ok
}

func (v *exactSet[S]) size() int        { return len(v.m) }
func (v *exactSet[S]) bytes() int64     { return 0 }
func (v *exactSet[S]) growBytes() int64 { return 0 }

// boundedKey is the exact key of a preemption-bounded search.
type boundedKey[S comparable] struct {
	s    S
	pre  int32
	last int32
}

// exactBoundedSet keys the visited set by (state, preemptions, last).
type exactBoundedSet[S comparable] struct {
	m map[boundedKey[S]]struct{}
}

func (v *exactBoundedSet[S]) warm([2]uint64) {}

func (v *exactBoundedSet[S]) add(s *S, pre, last int, _ [2]uint64) bool {
	n := len(v.m)
	v.m[boundedKey[S]{*s, int32(pre), int32(last)}] = struct{}{}
	return len(v.m) != n
}

func (v *exactBoundedSet[S]) has(s *S, pre, last int, _ [2]uint64) bool {
	_, ok := v.m[boundedKey[S]{*s, int32(pre), int32(last)}]
	return ok
}

func (v *exactBoundedSet[S]) size() int        { return len(v.m) }
func (v *exactBoundedSet[S]) bytes() int64     { return 0 }
func (v *exactBoundedSet[S]) growBytes() int64 { return 0 }

// hashedSet stores the full 128-bit key (Options.Fingerprint = 128).
type hashedSet[S comparable] struct {
	t *hashTable
}

func (v *hashedSet[S]) warm(k [2]uint64)                     { v.t.warm(k) }
func (v *hashedSet[S]) add(_ *S, _, _ int, k [2]uint64) bool { return v.t.add(k) }
func (v *hashedSet[S]) has(_ *S, _, _ int, k [2]uint64) bool { return v.t.has(k) }
func (v *hashedSet[S]) size() int                            { return v.t.n }
func (v *hashedSet[S]) bytes() int64                         { return int64(len(v.t.slots)) * 16 }
func (v *hashedSet[S]) growBytes() int64 {
	if (v.t.n+1)*4 > len(v.t.slots)*3 {
		return int64(len(v.t.slots)) * 2 * 16
	}
	return 0
}

// fpSet stores the first word of the key, a 64-bit fingerprint (the
// default, Options.Fingerprint = 64).
type fpSet[S comparable] struct {
	t *fpTable
}

func (v *fpSet[S]) warm(k [2]uint64)                     { v.t.warm(k[0]) }
func (v *fpSet[S]) add(_ *S, _, _ int, k [2]uint64) bool { return v.t.add(k[0]) }
func (v *fpSet[S]) has(_ *S, _, _ int, k [2]uint64) bool { return v.t.has(k[0]) }
func (v *fpSet[S]) size() int                            { return v.t.n }
func (v *fpSet[S]) bytes() int64                         { return int64(len(v.t.slots)) * 8 }
func (v *fpSet[S]) growBytes() int64 {
	if (v.t.n+1)*4 > len(v.t.slots)*3 {
		return int64(max((len(v.t.slots)*3/2)&^7, len(v.t.slots)+8)) * 8
	}
	return 0
}

// fpTable is an open-addressing set of 64-bit fingerprints with linear
// probing: 8 bytes per slot and nothing else per key.
//
// The table size is any multiple of 8 (not a power of two): the home slot
// of h is the high word of h*len ("fastrange", Lemire 2016), which maps the
// uniformly distributed fingerprint onto [0, len) without a division. That
// lets the table grow by 1.5x instead of 2x: it grows when more than 3/4
// of the slots are full, to 1.5 times its size, so that right after a grow
// it is half full. Outside the first few keys the load factor thus stays
// in [1/2, 3/4] and the table costs between 8/0.75 = 10.7 and 8/0.5 = 16
// bytes per stored key. At load 3/4 an unsuccessful linear probe visits
// about 8.5 slots on average, about 68 bytes: one or two cache lines, which
// the warm pass prefetches.
//
// The zero fingerprint marks an empty slot and is tracked by a flag.
type fpTable struct {
	slots []uint64
	n     int  // keys stored, including the zero key
	zero  bool // whether the zero key is stored
	sink  uint64
}

// fpTableMinSlots is the initial number of slots.
const fpTableMinSlots = 8

func newFPTable() *fpTable { return &fpTable{slots: make([]uint64, fpTableMinSlots)} }

// home returns the home slot of h.
func (t *fpTable) home(h uint64) uint64 {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return hi
}

// add stores h and reports whether it was new.
func (t *fpTable) add(h uint64) bool {
	if h == 0 {
		if t.zero {
			return false
		}
		t.zero = true
		t.n++
		return true
	}
	n := uint64(len(t.slots))
	for i := t.home(h); ; {
		s := t.slots[i]
		if s == h {
			return false
		}
		if s == 0 {
			t.slots[i] = h
			t.n++
			if t.n*4 > len(t.slots)*3 {
				t.grow()
			}
			return true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// has reports whether h is stored.
func (t *fpTable) has(h uint64) bool {
	if h == 0 {
		return t.zero
	}
	n := uint64(len(t.slots))
	for i := t.home(h); ; {
		s := t.slots[i]
		if s == h {
			return true
		}
		if s == 0 {
			return false
		}
		if i++; i == n {
			i = 0
		}
	}
}

// warm loads the home slot of h (see [hashTable.warm]).
func (t *fpTable) warm(h uint64) { t.sink += t.slots[t.home(h)] }

// grow enlarges the table 1.5x (rounded down to a multiple of 8, at least
// 8 more slots) and reinserts every key. Rounding down keeps the load at
// least 1/2 after a grow from 16 slots on, so BytesPerState <= 16 once
// more than 12 keys are stored.
func (t *fpTable) grow() {
	old := t.slots
	size := max((len(old)*3/2)&^7, len(old)+8)
	t.slots = make([]uint64, size)
	n := uint64(size)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := t.home(h)
		for t.slots[i] != 0 {
			if i++; i == n {
				i = 0
			}
		}
		t.slots[i] = h
	}
}

// hashTable is an open-addressing set of 128-bit keys with linear probing.
// The keys are already uniformly distributed hashes, so the low bits of the
// first word index the table directly. The all-zero key marks an empty slot
// and is tracked by a separate flag. Each key takes 16 bytes, and the table
// doubles when it is three quarters full.
type hashTable struct {
	slots [][2]uint64 // len is a power of two
	n     int         // keys stored, including the zero key
	zero  bool        // whether the zero key is stored
	sink  uint64      // absorbs the loads of warm
}

// hashTableMinSlots is the initial number of slots.
const hashTableMinSlots = 1 << 4

func newHashTable() *hashTable {
	return &hashTable{slots: make([][2]uint64, hashTableMinSlots)}
}

// add stores k and reports whether it was new.
func (t *hashTable) add(k [2]uint64) bool {
	if k == [2]uint64{} {
		if t.zero {
			return false
		}
		t.zero = true
		t.n++
		return true
	}
	mask := uint64(len(t.slots) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if *s == k {
			return false
		}
		if *s == [2]uint64{} {
			*s = k
			t.n++
			if t.n*4 > len(t.slots)*3 {
				t.grow()
			}
			return true
		}
	}
}

// warm loads the home slot of k. A search calls it for a batch of keys
// before looking them up, so that their cache misses (the dominant cost of
// a large table) overlap instead of happening one after another.
func (t *hashTable) warm(k [2]uint64) {
	t.sink += t.slots[k[0]&uint64(len(t.slots)-1)][0]
}

// has reports whether k is stored.
func (t *hashTable) has(k [2]uint64) bool {
	if k == [2]uint64{} {
		return t.zero
	}
	mask := uint64(len(t.slots) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == k {
			return true
		}
		if s == [2]uint64{} {
			return false
		}
	}
}

// grow doubles the table and reinserts every key.
func (t *hashTable) grow() {
	old := t.slots
	t.slots = make([][2]uint64, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, k := range old {
		if k == [2]uint64{} {
			continue
		}
		i := k[0] & mask
		for t.slots[i] != [2]uint64{} {
			i = (i + 1) & mask
		}
		t.slots[i] = k
	}
}
