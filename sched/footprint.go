package sched

// Access is one access of a step to a location that other threads can
// touch. Obj is an opaque location id chosen by the system; the scheduler
// only compares ids.
type Access struct {
	Obj   uint32
	Write bool
}

// Footprinter is an optional interface of a [System]: a system that
// implements it lets [ExhaustiveSleep] and [DPOR] tell independent steps
// apart. Footprint appends to dst the accesses that thread i's next step
// from s makes to locations other threads (or the system's Check) may
// read or write, and returns the extended slice.
//
// The footprint must over-approximate the step: every location the step
// reads or writes, and that another thread's step or Check may access,
// must appear, as a Write if the step may change it. Two consequences are
// relied on: if the footprints of two enabled threads at s are not
// [Dependent], executing them in either order yields the same state and
// the same labels, neither step enables or disables the other thread, and
// each thread's footprint is unchanged by the other's step.
//
// A system without a Footprinter is treated as if every pair of steps were
// dependent (no reduction).
type Footprinter[S comparable] interface {
	Footprint(s *S, i int, dst []Access) []Access
}

// Dependent reports whether two steps (of different threads) with
// footprints a and b conflict: they access a common Obj and at least one
// of the two accesses is a write. Footprints are short, so the quadratic
// scan is cheaper than building a set.
func Dependent(a, b []Access) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Obj == y.Obj && (x.Write || y.Write) {
				return true
			}
		}
	}
	return false
}

// footprints computes the footprints of every enabled thread of a state.
type footprints[S comparable] struct {
	fp  Footprinter[S]
	buf [][]Access // per thread index
}

// newFootprints returns the footprint helper for sys (fp nil: no
// Footprinter, every pair dependent).
func newFootprints[S comparable](sys System[S]) *footprints[S] {
	f := &footprints[S]{}
	if fp, ok := sys.(Footprinter[S]); ok {
		f.fp = fp
	}
	return f
}

// of returns the footprint of thread i at s in a reusable buffer, valid
// until the next call for the same i.
func (f *footprints[S]) of(s *S, i int) []Access {
	for len(f.buf) <= i {
		f.buf = append(f.buf, nil)
	}
	if f.fp == nil {
		return nil
	}
	f.buf[i] = f.fp.Footprint(s, i, f.buf[i][:0])
	return f.buf[i]
}

// dependent reports whether two steps with footprints a and b conflict; a
// system without footprints makes every pair dependent.
func (f *footprints[S]) dependent(a, b []Access) bool {
	return f.fp == nil || Dependent(a, b)
}
