package sched

import "encoding/binary"

// visited is the visited set of a search. A key is the state alone, or,
// when the search bounds preemptions, the state together with the number
// of preemptions used to reach it and the thread that made the last step
// (both influence which successors the bound allows, so merging states that
// differ in them would be unsound).
//
// Lookups are split in two so that a search can overlap the cache misses of
// several lookups: key computes a state's hash (the zero key for exact
// sets, which need none), warm starts loading the table slot of a key, and
// add and has take the state together with its precomputed key.
type visited[S comparable] interface {
	// key returns the hashed key of (s, pre, last); exact sets return the
	// zero key.
	key(s *S, pre, last int) [2]uint64
	// warm touches the table slot of k so that a later add or has finds it
	// in cache; a no-op for exact sets.
	warm(k [2]uint64)
	// add stores the key of (s, pre, last), whose key(...) is k, and
	// reports whether it was new.
	add(s *S, pre, last int, k [2]uint64) bool
	// has reports whether the key of (s, pre, last), whose key(...) is k,
	// is stored.
	has(s *S, pre, last int, k [2]uint64) bool
	// size returns the number of keys stored.
	size() int
}

// newVisited returns the visited set for a search: exact (keyed by the
// state value) or hashed (keyed by Hash128 of the encoding), and bounded
// (the key includes preemptions and last thread) or not.
func newVisited[S comparable](sys System[S], exact, bounded bool) visited[S] {
	switch {
	case exact && bounded:
		return &exactBoundedSet[S]{m: make(map[boundedKey[S]]struct{})}
	case exact:
		return &exactSet[S]{m: make(map[S]struct{})}
	default:
		return &hashedSet[S]{sys: sys, bounded: bounded, t: newHashTable()}
	}
}

// exactSet keys the visited set by the state value.
type exactSet[S comparable] struct {
	m map[S]struct{}
}

func (v *exactSet[S]) key(*S, int, int) [2]uint64 { return [2]uint64{} }
func (v *exactSet[S]) warm([2]uint64)             {}

func (v *exactSet[S]) add(s *S, _, _ int, _ [2]uint64) bool {
	n := len(v.m)
	v.m[*s] = struct{}{}
	return len(v.m) != n
}

func (v *exactSet[S]) has(s *S, _, _ int, _ [2]uint64) bool {
	_, ok := v.m[*s]
	return ok
}

func (v *exactSet[S]) size() int { return len(v.m) }

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

func (v *exactBoundedSet[S]) key(*S, int, int) [2]uint64 { return [2]uint64{} }
func (v *exactBoundedSet[S]) warm([2]uint64)             {}

func (v *exactBoundedSet[S]) add(s *S, pre, last int, _ [2]uint64) bool {
	n := len(v.m)
	v.m[boundedKey[S]{*s, int32(pre), int32(last)}] = struct{}{}
	return len(v.m) != n
}

func (v *exactBoundedSet[S]) has(s *S, pre, last int, _ [2]uint64) bool {
	_, ok := v.m[boundedKey[S]{*s, int32(pre), int32(last)}]
	return ok
}

func (v *exactBoundedSet[S]) size() int { return len(v.m) }

// hashedSet keys the visited set by Hash128 of the system's encoding of the
// state, followed, when bounded, by the preemptions and the last thread as
// two little-endian uint32s (a fixed-size suffix keeps the encoding
// injective). The encode buffer is reused, so a lookup does not allocate.
type hashedSet[S comparable] struct {
	sys     System[S]
	bounded bool
	buf     []byte
	t       *hashTable
}

func (v *hashedSet[S]) key(s *S, pre, last int) [2]uint64 {
	v.buf = v.sys.Encode(s, v.buf[:0])
	if v.bounded {
		v.buf = binary.LittleEndian.AppendUint32(v.buf, uint32(pre))
		v.buf = binary.LittleEndian.AppendUint32(v.buf, uint32(last))
	}
	return Hash128(v.buf)
}

func (v *hashedSet[S]) warm(k [2]uint64) { v.t.warm(k) }

func (v *hashedSet[S]) add(_ *S, _, _ int, k [2]uint64) bool { return v.t.add(k) }

func (v *hashedSet[S]) has(_ *S, _, _ int, k [2]uint64) bool { return v.t.has(k) }

func (v *hashedSet[S]) size() int { return v.t.n }

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
const hashTableMinSlots = 1 << 10

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
