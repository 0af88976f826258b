package sched_test

import (
	"fmt"

	"mimcheck/sched"
)

// Toy systems with known answers (style.md §6: "sched/ runs on toy systems
// with known answers").

// gridState holds one private step counter per thread.
type gridState struct {
	c [4]uint8
}

// grid is Threads independent threads of Steps steps each; a step
// increments the thread's private counter. The reachable states form a
// (Steps+1)^Threads grid.
type grid struct {
	Threads, Steps int
}

var _ sched.System[gridState] = grid{}

var gridLabels = [4]string{"t0.inc", "t1.inc", "t2.inc", "t3.inc"}

func (g grid) Init() gridState { return gridState{} }

func (g grid) Enabled(s *gridState, dst []int) []int {
	for i := 0; i < g.Threads; i++ {
		if int(s.c[i]) < g.Steps {
			dst = append(dst, i)
		}
	}
	return dst
}

func (g grid) Step(s *gridState, i int) string {
	s.c[i]++
	return gridLabels[i]
}

func (g grid) Check(*gridState) error { return nil }
func (g grid) Final(*gridState) error { return nil }

func (g grid) Encode(s *gridState, buf []byte) []byte {
	return append(buf, s.c[:g.Threads]...)
}

// counterState is the lost-update counter: a shared x, and per thread a
// program counter and a register.
type counterState struct {
	x   uint8
	pc  [2]uint8
	reg [2]uint8
}

// lostUpdate has two threads that each run "reg = x; x = reg + 1" as two
// separate atomic steps. Final requires x == 2, which fails when both loads
// happen before either store (the classic lost update).
type lostUpdate struct{}

var _ sched.System[counterState] = lostUpdate{}

func (lostUpdate) Init() counterState { return counterState{} }

func (lostUpdate) Enabled(s *counterState, dst []int) []int {
	for i := 0; i < 2; i++ {
		if s.pc[i] < 2 {
			dst = append(dst, i)
		}
	}
	return dst
}

func (lostUpdate) Step(s *counterState, i int) string {
	switch s.pc[i] {
	case 0:
		s.reg[i] = s.x
		s.pc[i]++
		return "inc.load-x"
	case 1:
		s.x = s.reg[i] + 1
		s.pc[i]++
		return "inc.store-x"
	}
	panic(fmt.Sprintf("mimcheck internal bug: step of finished thread %d", i))
}

func (lostUpdate) Check(*counterState) error { return nil }

func (lostUpdate) Final(s *counterState) error {
	if s.x != 2 {
		return fmt.Errorf("lost-update: x=%d, want 2", s.x)
	}
	return nil
}

func (lostUpdate) Encode(s *counterState, buf []byte) []byte {
	return append(buf, s.x, s.pc[0], s.pc[1], s.reg[0], s.reg[1])
}

// lockState is a broken test-then-set lock: a shared flag and per thread a
// program counter.
type lockState struct {
	flag uint8
	pc   [2]uint8
}

// brokenLock has two threads that each run: load flag (wait while set);
// set flag; enter the critical section; leave (clear flag). The load and
// the set are separate steps, so both threads can enter. Check reports
// mutual exclusion violations after the step that causes them.
type brokenLock struct{}

var _ sched.System[lockState] = brokenLock{}

// Program counters of brokenLock.
const (
	lockLoad  = 0 // load flag; proceed to lockSet if it is clear
	lockSet   = 1 // set flag
	lockEnter = 2 // enter the critical section
	lockLeave = 3 // in the critical section; leave and clear flag
	lockDone  = 4
)

func (brokenLock) Init() lockState { return lockState{} }

func (brokenLock) Enabled(s *lockState, dst []int) []int {
	for i := 0; i < 2; i++ {
		if s.pc[i] != lockDone {
			dst = append(dst, i)
		}
	}
	return dst
}

func (brokenLock) Step(s *lockState, i int) string {
	switch s.pc[i] {
	case lockLoad:
		if s.flag == 0 {
			s.pc[i] = lockSet
		}
		return "lock.load-flag"
	case lockSet:
		s.flag = 1
		s.pc[i] = lockEnter
		return "lock.set-flag"
	case lockEnter:
		s.pc[i] = lockLeave
		return "lock.enter"
	case lockLeave:
		s.flag = 0
		s.pc[i] = lockDone
		return "lock.leave"
	}
	panic(fmt.Sprintf("mimcheck internal bug: step of finished thread %d", i))
}

func (brokenLock) Check(s *lockState) error {
	if s.pc[0] == lockLeave && s.pc[1] == lockLeave {
		return fmt.Errorf("mutual-exclusion: both threads in the critical section")
	}
	return nil
}

func (brokenLock) Final(*lockState) error { return nil }

func (brokenLock) Encode(s *lockState, buf []byte) []byte {
	return append(buf, s.flag, s.pc[0], s.pc[1])
}

// recorder wraps a System and records every distinct state passed to Check,
// so tests can count the underlying states of a preemption-bounded search
// (whose visited keys also hold preemptions and the last thread).
type recorder[S comparable] struct {
	sched.System[S]
	seen map[S]struct{}
}

func newRecorder[S comparable](sys sched.System[S]) recorder[S] {
	return recorder[S]{System: sys, seen: make(map[S]struct{})}
}

func (r recorder[S]) Check(s *S) error {
	r.seen[*s] = struct{}{}
	return r.System.Check(s)
}

// treeKey is a node of the naive execution tree, identified by what a
// preemption-bounded search stores.
type treeKey[S comparable] struct {
	s         S
	pre, last int
}

// treeStats is what a naive walk of the execution tree finds.
type treeStats[S comparable] struct {
	paths  int                     // complete executions (root-to-leaf paths)
	states map[S]struct{}          // distinct states on any path
	keys   map[treeKey[S]]struct{} // distinct (state, preemptions, last)
}

// walkTree enumerates every execution of sys with at most maxPre
// preemptions (maxPre < 0: unbounded) without merging states: the reference
// oracle the scheduler's counts are checked against. It uses an explicit
// stack (style.md §8: no recursion in searches).
func walkTree[S comparable](sys sched.System[S], maxPre int) treeStats[S] {
	st := treeStats[S]{states: map[S]struct{}{}, keys: map[treeKey[S]]struct{}{}}
	type node struct {
		s         S
		pre, last int
	}
	stack := []node{{s: sys.Init(), last: -1}}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		st.states[n.s] = struct{}{}
		st.keys[treeKey[S]{n.s, n.pre, n.last}] = struct{}{}
		en := sys.Enabled(&n.s, nil)
		if len(en) == 0 {
			st.paths++
			continue
		}
		lastOn := false
		for _, e := range en {
			lastOn = lastOn || e == n.last
		}
		for _, i := range en {
			c := node{s: n.s, pre: n.pre, last: i}
			if lastOn && i != n.last {
				c.pre++
			}
			if maxPre >= 0 && c.pre > maxPre {
				continue
			}
			sys.Step(&c.s, i)
			stack = append(stack, c)
		}
	}
	return st
}
