package traces

import (
	"slices"

	"mimcheck/model"
	"mimcheck/properties"
	"mimcheck/sched"
)

// MaxMinimizeReplays bounds the number of candidate schedules [Minimize]
// replays.
const MaxMinimizeReplays = 2000

// Minimize shrinks a schedule that violates the invariant want on sys, and
// returns a schedule that still violates want and is no worse: with fewer
// context switches (steps whose thread differs from the previous step's),
// or as many and fewer steps.
//
// It first cuts the schedule after the violation, then improves it by hill
// climbing over these candidates, tried in this order (cf. shuttle's shrink
// and pebble's -try-to-reduce):
//
//  1. drop every step of one thread;
//  2. drop the last step of one thread;
//  3. move a whole block (a maximal run of one thread's steps) next to the
//     previous or the next block of the same thread;
//  4. move the first step of a block to the end of the previous block of
//     the same thread, or its last step to the start of the next one.
//
// Every candidate is verified with [sched.ReplayCheck] and cut after its
// first violation; a candidate that cannot be replayed, or that violates
// nothing or another invariant, is rejected. The first improving candidate
// is taken, and the search goes on from the same point of the (regenerated)
// candidate list until a full round brings no improvement or
// [MaxMinimizeReplays] replays have been made. The result depends only on
// the inputs. If schedule does not violate want, Minimize returns a copy of
// it.
func Minimize(sys System, schedule []int, want string) []int {
	m := &minimizer{sys: sys, want: want, budget: MaxMinimizeReplays}
	best, ok := m.try(schedule)
	if !ok {
		return slices.Clone(schedule)
	}
	pos := 0
	for m.budget > 0 {
		cands := candidates(best)
		if len(cands) == 0 {
			break
		}
		if pos >= len(cands) {
			pos = 0
		}
		improved := false
		for n := 0; n < len(cands) && m.budget > 0; n++ {
			c := cands[pos].apply(best)
			pos = (pos + 1) % len(cands)
			if slices.Equal(c, best) {
				continue
			}
			if r, ok := m.try(c); ok && better(r, best) {
				best, improved = r, true
				break
			}
		}
		if !improved {
			break
		}
	}
	return best
}

// minimizer verifies candidate schedules within a replay budget.
type minimizer struct {
	sys    System
	want   string
	budget int
}

// try replays c and returns its prefix up to the first violation when that
// violation is of the wanted invariant.
func (m *minimizer) try(c []int) ([]int, bool) {
	if m.budget <= 0 {
		return nil, false
	}
	m.budget--
	_, _, f, err := sched.ReplayCheck[model.State](m.sys, c)
	if err != nil || f == nil {
		return nil, false
	}
	if inv, _ := ViolationOf(f.Err); inv != m.want {
		return nil, false
	}
	return f.Schedule, true
}

// better orders schedules by context switches, then by length.
func better(a, b []int) bool {
	sa, sb := properties.Switches(a), properties.Switches(b)
	return sa < sb || (sa == sb && len(a) < len(b))
}

// Candidate kinds.
const (
	candDropThread = iota // drop every step of thread t
	candDropLast          // drop the last step of thread t
	candMove              // move s[from:from+n] to before index to
)

// cand describes one candidate edit of a schedule.
type cand struct {
	kind        int
	t           int
	from, n, to int
}

// apply returns the edited copy of s.
func (c cand) apply(s []int) []int {
	out := make([]int, 0, len(s))
	switch c.kind {
	case candDropThread:
		for _, i := range s {
			if i != c.t {
				out = append(out, i)
			}
		}
	case candDropLast:
		last := -1
		for k, i := range s {
			if i == c.t {
				last = k
			}
		}
		out = append(out, s...)
		if last >= 0 {
			out = append(out[:last], out[last+1:]...)
		}
	case candMove:
		seg := s[c.from : c.from+c.n]
		if c.to <= c.from {
			out = append(out, s[:c.to]...)
			out = append(out, seg...)
			out = append(out, s[c.to:c.from]...)
			out = append(out, s[c.from+c.n:]...)
		} else {
			out = append(out, s[:c.from]...)
			out = append(out, s[c.from+c.n:c.to]...)
			out = append(out, seg...)
			out = append(out, s[c.to:]...)
		}
	}
	return out
}

// block is a maximal run of one thread's steps.
type block struct{ start, n, t int }

// candidates lists the edits Minimize tries on s, in order.
func candidates(s []int) []cand {
	var blocks []block
	for k := 0; k < len(s); k++ {
		if k == 0 || s[k] != s[k-1] {
			blocks = append(blocks, block{start: k, t: s[k]})
		}
		blocks[len(blocks)-1].n++
	}
	var present [model.MaxThreads]bool
	for _, i := range s {
		if i >= 0 && i < model.MaxThreads {
			present[i] = true
		}
	}
	var out []cand
	if len(blocks) > 1 {
		for t := range present {
			if present[t] {
				out = append(out, cand{kind: candDropThread, t: t})
			}
		}
	}
	for t := range present {
		if present[t] {
			out = append(out, cand{kind: candDropLast, t: t})
		}
	}
	// prev/next return the nearest block of the same thread before/after j.
	prev := func(j int) int {
		for p := j - 1; p >= 0; p-- {
			if blocks[p].t == blocks[j].t {
				return p
			}
		}
		return -1
	}
	next := func(j int) int {
		for q := j + 1; q < len(blocks); q++ {
			if blocks[q].t == blocks[j].t {
				return q
			}
		}
		return -1
	}
	for j, b := range blocks {
		if p := prev(j); p >= 0 {
			out = append(out, cand{kind: candMove, from: b.start, n: b.n, to: blocks[p].start + blocks[p].n})
		}
		if q := next(j); q >= 0 {
			out = append(out, cand{kind: candMove, from: b.start, n: b.n, to: blocks[q].start})
		}
	}
	for j, b := range blocks {
		if b.n < 2 {
			continue
		}
		if p := prev(j); p >= 0 {
			out = append(out, cand{kind: candMove, from: b.start, n: 1, to: blocks[p].start + blocks[p].n})
		}
		if q := next(j); q >= 0 {
			out = append(out, cand{kind: candMove, from: b.start + b.n - 1, n: 1, to: blocks[q].start})
		}
	}
	return out
}
