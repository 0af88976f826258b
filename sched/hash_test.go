package sched_test

import (
	"encoding/binary"
	"testing"

	"mimcheck/sched"
)

// TestHash128Golden pins Hash128: hashed visited sets and anything derived
// from them depend on it, so a change must be deliberate (style.md §6:
// golden fingerprint).
func TestHash128Golden(t *testing.T) {
	long := make([]byte, 300) // a state-sized input, through the block loop
	for i := range long {
		long[i] = byte(i * 7)
	}
	golden := []struct {
		in   string
		want [2]uint64
	}{
		{"", [2]uint64{0x7709223390abd40b, 0x7c170ce87308963c}},
		{"a", [2]uint64{0x488c0ebee92d367b, 0x72a1e82ef388a257}},
		{"mimcheck", [2]uint64{0x8cf09fed91bcce55, 0x2a051317d228793f}},
		{"segment-single-owner: free.push-xthread-free", [2]uint64{0x04f3f6a135db96d6, 0x3f7c951e7bd9e459}},
		{string(long), [2]uint64{0x80eb72ee768ae351, 0xe9593cc62dcbd5fe}},
	}
	for _, g := range golden {
		if got := sched.Hash128([]byte(g.in)); got != g.want {
			t.Errorf("Hash128(%q) = %#x, want %#x", g.in, got, g.want)
		}
	}
}

// TestHash128Distinct: no collisions among all prefixes of a buffer, among
// every single-bit flip of a 300-byte state, and among a million
// structured counters (each lane is checked on its own too).
func TestHash128Distinct(t *testing.T) {
	seen := map[[2]uint64]string{}
	lane0, lane1 := map[uint64]bool{}, map[uint64]bool{}
	add := func(b []byte) {
		t.Helper()
		h := sched.Hash128(b)
		if prev, ok := seen[h]; ok {
			t.Fatalf("collision: %x and %x", prev, b)
		}
		if lane0[h[0]] || lane1[h[1]] {
			t.Fatalf("64-bit lane collision for %x", b)
		}
		seen[h] = string(b)
		lane0[h[0]], lane1[h[1]] = true, true
	}
	zeros := make([]byte, 300)
	for n := 0; n <= len(zeros); n++ {
		add(zeros[:n])
	}
	for bit := 0; bit < 8*len(zeros); bit++ {
		b := make([]byte, len(zeros))
		b[bit/8] ^= 1 << (bit % 8)
		add(b)
	}
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	buf := make([]byte, 24)
	buf[0] = 0xff // not a prefix of zeros
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(buf[8:], uint64(i))
		binary.LittleEndian.PutUint32(buf[17:], uint32(i)*7)
		add(append([]byte(nil), buf...))
	}
}

// TestHash128Avalanche: flipping one input bit flips about half the output
// bits on average.
func TestHash128Avalanche(t *testing.T) {
	b := make([]byte, 40)
	for i := range b {
		b[i] = byte(i * 37)
	}
	base := sched.Hash128(b)
	total, flips := 0, 0
	for bit := 0; bit < 8*len(b); bit++ {
		b[bit/8] ^= 1 << (bit % 8)
		h := sched.Hash128(b)
		b[bit/8] ^= 1 << (bit % 8)
		for l := 0; l < 2; l++ {
			x := h[l] ^ base[l]
			for ; x != 0; x &= x - 1 {
				flips++
			}
			total += 64
		}
	}
	if r := float64(flips) / float64(total); r < 0.45 || r > 0.55 {
		t.Fatalf("avalanche ratio %.3f, want about 0.5", r)
	}
}

// TestHash128TwoBitFlips: no 64-bit lane collides among all inputs that
// differ from a fixed 64-byte buffer in one or two bits (about 131k
// structured near-duplicates, the shape of states that differ in a couple
// of fields).
func TestHash128TwoBitFlips(t *testing.T) {
	base := make([]byte, 64)
	for i := range base {
		base[i] = byte(i)
	}
	lane0, lane1 := map[uint64][2]int{}, map[uint64][2]int{}
	b := make([]byte, len(base))
	nbits := 8 * len(base)
	for i := -1; i < nbits; i++ {
		for j := i + 1; j < nbits; j++ {
			copy(b, base)
			if i >= 0 {
				b[i/8] ^= 1 << (i % 8)
			}
			b[j/8] ^= 1 << (j % 8)
			h := sched.Hash128(b)
			if p, ok := lane0[h[0]]; ok {
				t.Fatalf("lane 0: bits %v and %v collide", p, [2]int{i, j})
			}
			if p, ok := lane1[h[1]]; ok {
				t.Fatalf("lane 1: bits %v and %v collide", p, [2]int{i, j})
			}
			lane0[h[0]], lane1[h[1]] = [2]int{i, j}, [2]int{i, j}
		}
	}
}

// TestHashSet: the open-addressing table keeps every key across several
// doublings, including the all-zero key (which marks empty slots inside)
// and keys that share their home slot.
func TestHashSet(t *testing.T) {
	h := sched.NewHashSet()
	const n = 20_000
	key := func(i int) [2]uint64 {
		if i%1000 == 0 {
			// Same first word (same home slot), different second word.
			return [2]uint64{42, uint64(i)}
		}
		return sched.Hash128(binary.LittleEndian.AppendUint64(nil, uint64(i)))
	}
	if !h.Add([2]uint64{}) || h.Add([2]uint64{}) || !h.Has([2]uint64{}) {
		t.Fatal("zero key")
	}
	for i := 0; i < n; i++ {
		if !h.Add(key(i)) {
			t.Fatalf("key %d reported as present", i)
		}
	}
	for i := 0; i < n; i++ {
		if h.Add(key(i)) || !h.Has(key(i)) {
			t.Fatalf("key %d lost", i)
		}
	}
	if h.Len() != n+1 || h.Has([2]uint64{42, 1}) || h.Has([2]uint64{1, 0}) {
		t.Fatalf("len %d, or absent keys found", h.Len())
	}
}
