package sched

import (
	"encoding/binary"
	"math/bits"
)

// Odd 64-bit constants (from xxHash, MurmurHash3 and wyhash) used as the
// lanes' starting secrets and as Weyl-sequence increments.
const (
	hashK1 = 0x9e3779b97f4a7c15
	hashK2 = 0xc2b2ae3d27d4eb4f
	hashK3 = 0x165667b19e3779f9
	hashK4 = 0xd6e8feb86659fd93
	hashK5 = 0xa0761d6478bd642f
	hashK6 = 0xe7037ed1a0b428db
)

// Hash128 returns a deterministic, seedless 128-bit hash of b. The visited
// sets of a hashed [Exhaustive] search and of [RandomWalk] key states by
// Hash128 of their encoding, so its value must never change silently: a
// golden test pins it.
//
// It is not cryptographic. The design follows xxh3/wyhash: b is read as
// 16-byte blocks of two little-endian words (w0, w1); each of two
// independent 64-bit lanes adds, per block, the folded 128-bit product
// mum(w0^s, w1^t), where the secrets s and t advance by a different odd
// constant at every block (so equal blocks at different positions
// contribute differently) and differ between the lanes. A 128-bit multiply
// mixes every input bit into the whole product, the per-block products are
// independent (so the loop runs at multiplier throughput, not latency) and
// there is no per-byte loop: the final block is read as the last 16 bytes,
// overlapping the previous block. Each lane starts from the length and
// ends with the MurmurHash3 fmix64 finalizer.
//
// A collision needs both lanes to collide at once. The one structural
// weakness is that of xxh3: a lane ignores w1 in a block whose w0 equals
// that lane's secret exactly (and vice versa), leaving only the other
// lane's 64 bits; the secrets are arbitrary constants that canonical
// state encodings are vanishingly unlikely to contain.
func Hash128(b []byte) [2]uint64 {
	n := len(b)
	a1 := uint64(n) * hashK5
	a2 := uint64(n) * hashK6
	s1, t1 := uint64(hashK1), uint64(hashK2)
	s2, t2 := uint64(hashK3), uint64(hashK4)
	p := b
	for len(p) > 16 {
		w0 := binary.LittleEndian.Uint64(p)
		w1 := binary.LittleEndian.Uint64(p[8:])
		a1 += mum(w0^s1, w1^t1)
		a2 += mum(w0^s2, w1^t2)
		s1 += hashK3
		t1 += hashK4
		s2 += hashK5
		t2 += hashK6
		p = p[16:]
	}
	// The last 1..16 bytes (none if b is empty). For a fixed length the
	// (possibly overlapping) reads below still cover every byte.
	var w0, w1 uint64
	switch {
	case n >= 16:
		w0 = binary.LittleEndian.Uint64(b[n-16:])
		w1 = binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8:
		w0 = binary.LittleEndian.Uint64(b)
		w1 = binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		w0 = uint64(binary.LittleEndian.Uint32(b))
		w1 = uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		w0 = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	a1 += mum(w0^s1, w1^t1)
	a2 += mum(w0^s2, w1^t2)
	return [2]uint64{fmix64(a1), fmix64(a2)}
}

// mum multiplies x and y to 128 bits and folds the halves with xor.
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// fmix64 is the MurmurHash3 64-bit finalizer: a bijection with full
// avalanche.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
