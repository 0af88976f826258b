package sched

import "math/rand/v2"

// walkRand is the only source of randomness in sched: a PCG generator from
// math/rand/v2 that is reseeded explicitly for every run, so that run r of
// a search with seed s makes the same choices on every machine and in every
// order of runs.
type walkRand struct {
	pcg rand.PCG
	r   *rand.Rand
}

// newWalkRand returns a generator; call reset before use.
func newWalkRand() *walkRand {
	w := &walkRand{}
	w.r = rand.New(&w.pcg)
	return w
}

// reset seeds the generator for run index run of a search with seed seed.
// Both PCG seed words go through a bijective mixer, so distinct (seed, run)
// pairs give distinct, unrelated generator states.
func (w *walkRand) reset(seed, run uint64) {
	hi := fmix64(seed ^ hashK1)
	lo := fmix64(run*hashK2 ^ hi)
	w.pcg.Seed(hi, lo)
}

// intn returns a uniform integer in [0, n); n must be positive.
func (w *walkRand) intn(n int) int {
	return w.r.IntN(n)
}

// uint64 returns a uniform 64-bit value.
func (w *walkRand) uint64() uint64 {
	return w.r.Uint64()
}
