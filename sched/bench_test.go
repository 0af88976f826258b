package sched_test

import (
	"context"
	"testing"

	"mimcheck/sched"
)

// bigState mimics the size of a real model state (about 300 bytes) around a
// small grid of thread counters.
type bigState struct {
	c   [4]uint8
	pad [37]uint64
}

// bigGrid is grid over bigState: the padding is copied, compared and
// encoded like real state, and each step scribbles on it deterministically.
type bigGrid struct{ grid }

func (g bigGrid) Init() bigState { return bigState{} }

func (g bigGrid) Enabled(s *bigState, dst []int) []int {
	for i := 0; i < g.Threads; i++ {
		if int(s.c[i]) < g.Steps {
			dst = append(dst, i)
		}
	}
	return dst
}

func (g bigGrid) Step(s *bigState, i int) string {
	s.c[i]++
	s.pad[i] += uint64(s.c[i])
	return gridLabels[i]
}

func (g bigGrid) Check(*bigState) error { return nil }
func (g bigGrid) Final(*bigState) error { return nil }

func (g bigGrid) Encode(s *bigState, buf []byte) []byte {
	buf = append(buf, s.c[:]...)
	for _, w := range s.pad {
		buf = append(buf, byte(w), byte(w>>8), byte(w>>16), byte(w>>24),
			byte(w>>32), byte(w>>40), byte(w>>48), byte(w>>56))
	}
	return buf
}

// BenchmarkExhaustiveGrid explores a 4-thread grid of 300-byte states
// (15^4 = 50625 states, about 4 transitions each) and reports the cost per
// state and per transition.
func BenchmarkExhaustiveGrid(b *testing.B) {
	sys := bigGrid{grid{Threads: 4, Steps: 14}}
	for _, c := range []struct {
		name string
		opt  sched.Options
		lim  sched.Limits
	}{
		{"hashed", sched.Options{}, sched.NoLimits()},
		{"exact", sched.Options{Exact: true}, sched.NoLimits()},
		{"hashed-bounded-2", sched.Options{}, sched.Limits{MaxPreemptions: 2}},
		{"hashed-128", sched.Options{Fingerprint: 128}, sched.NoLimits()},
		{"bfs-workers2", sched.Options{Workers: 2}, sched.NoLimits()},
	} {
		b.Run(c.name, func(b *testing.B) {
			var r sched.Result
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r = sched.Exhaustive[bigState](context.Background(), sys, c.lim, c.opt)
			}
			if r.Verdict == sched.Violation {
				b.Fatal(r.Verdict)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/float64(r.States), "ns/state")
			b.ReportMetric(ns/float64(r.Transitions), "ns/transition")
			b.ReportMetric(float64(r.States), "states")
			b.ReportMetric(r.BytesPerState, "B/state")
		})
	}
}

// BenchmarkHash128 hashes a 300-byte encoding, the size of a real state.
func BenchmarkHash128(b *testing.B) {
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(i)
	}
	b.SetBytes(int64(len(buf)))
	var h [2]uint64
	for i := 0; i < b.N; i++ {
		h = sched.Hash128(buf)
	}
	_ = h
}
