package traces

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mimcheck/model"
	"mimcheck/sched"
)

// Pair is a state of the product of two variants' transition systems: the
// state of each side after the same schedule.
type Pair struct {
	A, B model.State
	// Modes is set when the last step's accesses differed in kind or
	// memory order between the sides (only with Product.Modes).
	Modes bool
}

// Product explores two variants of one scenario in lock-step: every step
// of the product steps the same thread (and the same reads-from choice)
// on both sides. Its Check reports a [Difference] as soon as the sides can
// be told apart (see Observe), so a search of the product finds a
// schedule that distinguishes them, or shows that none does. A pair in
// which both sides break the same invariant counts as identical and is
// not expanded.
type Product struct {
	A, B System
	// Modes makes the kinds and memory orders of each step's accesses
	// observable too (both sides must track races).
	Modes bool
	// VerdictsOnly compares only the invariants' verdicts and which
	// threads can step, not the allocator state: the sides may then
	// differ in state and go on in lock-step ("does the patch change any
	// verdict?").
	VerdictsOnly bool
}

var _ sched.System[Pair] = Product{}

// Difference is what tells the two sides of a Pair apart; Product's Check
// and Final return it as their error.
type Difference struct {
	// What is "state" (the observable state differs), "verdict" (one side
	// breaks an invariant the other does not, or another one), "enabled"
	// (a thread or reads-from choice can step on one side only) or
	// "modes" (the last step's accesses differ in kind or memory order).
	What string
	// Fields lists the differing fields for "state" (as Diff does, side A
	// -> side B), the two verdicts for "verdict", the two enabled sets for
	// "enabled" and the two access lists for "modes".
	Fields string
	// Final: the difference is in the end-state checks.
	Final bool
}

func (d *Difference) Error() string { return d.What + ": " + d.Fields }

// Observe is the one definition of what a diff compares after every step
// of the common schedule:
//   - the allocator's shared state as Diff shows it: segments, slices and
//     pages (block lists, delayed-free mode, retire_expire, ...), the
//     abandoned bitmap, count and OS list, the locks, the span queues and
//     registers of every thread (the blocks its operations returned), the
//     mailboxes and the fault (an in-step precondition or a data race);
//     not the threads' program counters and cursors, and not the
//     memory-model state (vector clocks, store histories), which is how a
//     verdict is reached rather than what the allocator did;
//   - the verdict of the per-step invariants, and of the end-state checks
//     at an end state;
//   - which threads and reads-from choices can step;
//   - with Modes, the kind and memory order of each access of the last
//     step.
//
// With VerdictsOnly the first item is left out.
//
// It returns nil when the sides cannot be told apart.
func (p Product) Observe(s *Pair) *Difference {
	if s.Modes {
		return &Difference{What: "modes", Fields: "the last step's accesses differ (see the step lines of the two traces)"}
	}
	if !p.VerdictsOnly {
		if d := Diff(p.A.Sim, &s.A, &s.B); d != "-" {
			return &Difference{What: "state", Fields: d}
		}
	}
	ea, eb := p.A.Check(&s.A), p.B.Check(&s.B)
	if !sameVerdict(ea, eb) {
		return &Difference{What: "verdict", Fields: verdictPair(ea, eb)}
	}
	if ea != nil {
		return nil // both sides break the same invariant: not expanded
	}
	var bufA, bufB [2 * model.MaxThreads]int
	na, nb := p.A.Enabled(&s.A, bufA[:0]), p.B.Enabled(&s.B, bufB[:0])
	if !slices.Equal(na, nb) {
		return &Difference{What: "enabled", Fields: fmt.Sprintf("%s -> %s", choices(na), choices(nb))}
	}
	return nil
}

// sameVerdict reports whether two check results name the same invariant
// (or are both nil).
func sameVerdict(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	ia, _ := ViolationOf(a)
	ib, _ := ViolationOf(b)
	return ia == ib
}

func verdictPair(a, b error) string {
	name := func(e error) string {
		if e == nil {
			return "ok"
		}
		inv, detail := ViolationOf(e)
		return inv + " (" + detail + ")"
	}
	return name(a) + " -> " + name(b)
}

// choices names enabled indexes as threads T1..T4, with a reads-from
// choice as T1~K.
func choices(list []int) string {
	if len(list) == 0 {
		return "none"
	}
	var b strings.Builder
	for k, i := range list {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ChoiceName(i))
	}
	return b.String()
}

// ChoiceName names a scheduling choice: thread Tn, or Tn~K for the
// reads-from choice that reads the store K places before the latest.
func ChoiceName(i int) string {
	n := "T" + strconv.Itoa(i%model.MaxThreads+1)
	if i >= model.MaxThreads {
		n += "~" + strconv.Itoa(i/model.MaxThreads)
	}
	return n
}

// Init returns both sides' initial states.
func (p Product) Init() Pair { return Pair{A: p.A.Init(), B: p.B.Init()} }

// Enabled is side A's enabled list, which Check has found equal to B's;
// none when both sides break the same invariant.
func (p Product) Enabled(s *Pair, dst []int) []int {
	if p.A.Check(&s.A) != nil {
		return dst
	}
	return p.A.Enabled(&s.A, dst)
}

// Step steps the same index on both sides. The label is A's, and B's
// after " | " when it differs.
func (p Product) Step(s *Pair, i int) string {
	if p.Modes {
		s.Modes = !slices.Equal(p.A.Sim.StepAccesses(&s.A, i), p.B.Sim.StepAccesses(&s.B, i))
	}
	la := p.A.Step(&s.A, i)
	lb := p.B.Step(&s.B, i)
	if la != lb {
		return la + " | " + lb
	}
	return la
}

// Check reports the first observable difference of the pair.
func (p Product) Check(s *Pair) error {
	if d := p.Observe(s); d != nil {
		return d
	}
	return nil
}

// Final compares the end-state checks of the two sides (a pair cut
// because both sides break one invariant has none).
func (p Product) Final(s *Pair) error {
	if p.A.Check(&s.A) != nil {
		return nil
	}
	fa, fb := p.A.Final(&s.A), p.B.Final(&s.B)
	if !sameVerdict(fa, fb) {
		return &Difference{What: "verdict", Fields: verdictPair(fa, fb), Final: true}
	}
	return nil
}

// Encode appends A's encoding (after its length), B's and the modes flag.
// (B's encoding may vary in length; the flag is always there, last.)
func (p Product) Encode(s *Pair, buf []byte) []byte {
	at := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	buf = p.A.Encode(&s.A, buf)
	binary.LittleEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	buf = p.B.Encode(&s.B, buf)
	return append(buf, b2u(s.Modes))
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ModesDiff names the accesses of choice i's step that differ in kind or
// memory order between side A (from sa) and side B (from sb), as
// "LOCATION: KIND -> KIND" items (an access only one side makes shows
// "none" on the other).
func (p Product) ModesDiff(sa, sb *model.State, i int) []string {
	xa, xb := p.A.Sim.StepAccesses(sa, i), p.B.Sim.StepAccesses(sb, i)
	var out []string
	for k := 0; k < len(xa) || k < len(xb); k++ {
		var a, b string
		loc := -1
		if k < len(xa) {
			a, loc = accessName(xa[k].Kind), xa[k].Loc
		}
		if k < len(xb) {
			b = accessName(xb[k].Kind)
			if loc < 0 {
				loc = xb[k].Loc
			}
		}
		if k < len(xa) && k < len(xb) && xa[k] == xb[k] {
			continue
		}
		if a == "" {
			a = "none"
		}
		if b == "" {
			b = "none"
		}
		out = append(out, model.LocName(loc)+": "+a+" -> "+b)
	}
	return out
}

// accessName is an access kind with its synchronisation: "atomic read
// (acquire, release)" for a seq_cst or acq_rel read, "atomic read" for a
// relaxed one.
func accessName(k uint8) string {
	n := model.KindName(k)
	switch {
	case k&model.AccAcq != 0 && k&model.AccRel != 0:
		n += " (acquire, release)"
	case k&model.AccAcq != 0:
		n += " (acquire)"
	case k&model.AccRel != 0:
		n += " (release)"
	}
	return n
}
