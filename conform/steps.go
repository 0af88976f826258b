package conform

import (
	"fmt"
	"strconv"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// cName is the harness's name of a model location, "" when the C code
// makes no scheduling point for it (a segment's owner-private fields, the
// model's "meta", are plain accesses in C).
func cName(loc int) string {
	n := model.LocName(loc)
	switch {
	case strings.HasSuffix(n, ".meta"):
		return ""
	case n == "blocks_abandoned":
		return "abandoned_bitmap"
	case n == "blocks_inuse":
		return "inuse_bitmap"
	case n == "abandoned_count":
		return n
	case strings.HasPrefix(n, "seg"): // segG.thread_id, segG.sI.xheap, segG.sI.xthread_free
		n = "s" + strings.TrimPrefix(n, "seg")
		if g, rest, ok := strings.Cut(n, ".s"); ok {
			n = g + ".p" + rest
		}
		return n
	case strings.HasPrefix(n, "T") && strings.HasSuffix(n, ".thread_delayed_free"):
		k, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(n, "T"), ".thread_delayed_free"))
		if err != nil {
			return ""
		}
		return "h" + strconv.Itoa(k) + ".delayed"
	case strings.HasPrefix(n, "m"):
		return "mailbox:" + n
	}
	return ""
}

// pointName is the name of a harness point's location, in cName's terms.
func pointName(p Point) string {
	if k, _, ok := p.Mailbox(); ok {
		return "mailbox:m" + strconv.Itoa(k)
	}
	return p.Addr
}

// access is one shared access of a model step, as the harness names it.
type access struct {
	name string
	kind uint8 // model.Acc* bits
	// fold217: at v2.1.7 the cursor's per-call load of the global
	// abandoned_count (arena.c:829, which returns at once when it is 0)
	// is folded into the model's bitmap load, so a load of the count can
	// be the step's access
	fold217 bool
}

// matches reports whether C point p can be the model access a: the same
// location, and a load for a read, a store for a write, a compare-exchange,
// exchange or fetch-op for a read-modify-write — or a load for a
// read-modify-write, since the model folds a pre-check load into the
// exchange that follows it (scenarios.md §1.3: "the is xthread_free
// non-NULL pre-check is part of XCHG").
func matches(p Point, a access) bool {
	if pointName(p) != a.name && !(a.fold217 && a.name == "abandoned_bitmap" && pointName(p) == "abandoned_count") {
		return false
	}
	if strings.HasPrefix(a.name, "mailbox:") {
		return true
	}
	op, _, _ := strings.Cut(p.Kind, ".")
	rw := a.kind&model.AccRead != 0 && a.kind&model.AccWrite != 0
	switch op {
	case "load":
		return a.kind&model.AccRead != 0
	case "store":
		return a.kind&model.AccWrite != 0 && !rw
	case "cas", "xchg", "rmw":
		return rw
	}
	return false
}

// matchesAt reports whether C point p can be the access a of the step
// with the given label: matches, at a site the site table lists for the
// step at the tag (sitetable.go).
func matchesAt(src allocsim.Source, p Point, a access, label string) bool {
	if !matches(p, a) {
		return false
	}
	ok, _ := stepSiteOK(src, label, p)
	return ok
}

// StepResult is the outcome of FollowSteps.
type StepResult struct {
	Steps    int      // model steps replayed on the C code
	Labels   []string // their labels
	Schedule []int    // the threads of those steps
	Mismatch *Mismatch
	// Crash is how the C code stopped (ErrCrash: an assertion, a
	// sanitizer report, a segmentation fault) during step Steps-1; nil
	// when it did not
	Crash error
	// Fault is the model's in-step violation at the last step, if any
	Fault model.FaultCode
	// FinalModel and FinalC are both states after the last step of a run
	// that stopped at its schedule's end (or maxSteps) with both sides
	// still running
	FinalModel, FinalC string
	// Points are the C points run, in order, each with the model step it
	// made the access of ("" when the model has no step for it; see
	// Classify)
	Points []PointUse
}

// PointUse is one C point of a follow run and the model step whose shared
// access it was.
type PointUse struct {
	P     Point
	Label string // the model step's label; "" when the point was run as local work
	RMW   bool   // the step's access is a read-modify-write (a CAS loop or exchange in C)
}

// unexplained reports the first C point of a conforming follow run that
// accessed a location of the model's state without being a step's access,
// part of an adjacent step's read-modify-write, or a site the site table
// lets run as local work: an access the model does not make.
func unexplained(cs []Classified, last []Point) *Mismatch {
	for k, c := range cs {
		if c.Why != WhyUnmatched {
			continue
		}
		after, steps := "the start", 0
		for j := 0; j < k; j++ {
			if cs[j].Label != "" {
				steps++
				if cs[j].P.Thread == c.P.Thread {
					after = fmt.Sprintf("step %s", cs[j].Label)
				}
			}
		}
		return &Mismatch{What: fmt.Sprintf("after %d steps: T%d's C code accessed %s (%s at %s) after its %s; the model has no step for it and the site table (conform/sitetable.go) does not list it as local work",
			steps, c.P.Thread+1, c.P.Addr, c.P.Kind, c.P.Site, after), LastC: last}
	}
	return nil
}

// dropTokens removes the state tokens that start with one of the prefixes.
func dropTokens(state string, prefixes []string) string {
	if len(prefixes) == 0 {
		return state
	}
	f := strings.Fields(state)
	out := f[:0]
	for _, t := range f {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(t, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// maskAbandoned replaces the abandoned count of the given segment slots'
// state tokens ("sG:owner/used/abandoned[/marked]") with "*".
func maskAbandoned(state string, slots []int) string {
	if len(slots) == 0 {
		return state
	}
	f := strings.Fields(state)
	for k, t := range f {
		for _, g := range slots {
			if rest, ok := strings.CutPrefix(t, fmt.Sprintf("s%d:", g)); ok {
				parts := strings.Split(rest, "/")
				if len(parts) >= 3 {
					parts[2] = "*"
					f[k] = fmt.Sprintf("s%d:", g) + strings.Join(parts, "/")
				}
			}
		}
	}
	return strings.Join(f, " ")
}
