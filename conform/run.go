package conform

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Result is one run of the C code under a schedule.
type Result struct {
	Seed   uint64
	Log    []Point // the points run, in order (each the access the thread then made)
	State  string  // the harness's final state line
	Err    error   // a crash, a hang, a deadlock or a run past MaxPoints
	Sites  map[string]int
	Points int
}

// enabled reports whether thread i can run from its pending point p, given
// the mailboxes' contents (a send waits for an empty mailbox, a recv for a
// full one). A lock point is enabled: a try that fails is a step that
// changes nothing, as in the model's try-lock.
func enabled(p Point, full map[int]bool) bool {
	if p.Done {
		return false
	}
	if k, send, ok := p.Mailbox(); ok {
		return send != full[k]
	}
	return true
}

// RunRandom runs the scenario configured by cfg on the harness binary bin,
// choosing at every point, with a seeded generator, one of the threads that
// can go on. The same seed gives the same run, point for point.
func RunRandom(bin string, cfg []string, seed uint64, maxPoints int) Result {
	res := Result{Seed: seed, Sites: map[string]int{}}
	h, pts, err := Start(bin, cfg)
	if err != nil {
		res.Err = err
		return res
	}
	defer h.Close()
	rng := rand.New(rand.NewPCG(seed, 0x6d696d636865636b))
	full := map[int]bool{}
	var en []int
	for {
		en = en[:0]
		all := true
		for i, p := range pts {
			if !p.Done {
				all = false
			}
			if enabled(p, full) {
				en = append(en, i)
			}
		}
		if all {
			break
		}
		if len(en) == 0 {
			var w []string
			for _, p := range pts {
				if !p.Done {
					w = append(w, p.String())
				}
			}
			res.Err = fmt.Errorf("deadlock: no thread can go on (%s)", strings.Join(w, "; "))
			return res
		}
		if res.Points >= maxPoints {
			res.Err = fmt.Errorf("no end after %d points", maxPoints)
			return res
		}
		i := en[rng.IntN(len(en))]
		p := pts[i]
		if k, send, ok := p.Mailbox(); ok {
			full[k] = send
		}
		res.Log = append(res.Log, p)
		res.Points++
		res.Sites[p.Site]++
		if pts[i], err = h.Run(i); err != nil {
			res.Err = err
			return res
		}
	}
	if res.State, err = h.State(); err != nil {
		res.Err = err
	}
	return res
}

// LogText renders a run's points, one per line.
func (r *Result) LogText() string {
	var b strings.Builder
	for k, p := range r.Log {
		fmt.Fprintf(&b, "%d %s\n", k, p)
	}
	if r.State != "" {
		b.WriteString(r.State + "\n")
	}
	return b.String()
}
