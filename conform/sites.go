package conform

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"mimcheck/allocsim"
)

// LocClass names the kind of location a C point accesses, with segment,
// page and heap numbers dropped: segment.thread_id, page.xthread_free,
// page.xheap, abandoned_bitmap, inuse_bitmap, abandoned_count,
// heap.thread_delayed_free, mailbox, os_list_count, os_lock,
// os_visit_lock, "segment+0xOFF" or "page+0xOFF" (another field of a
// segment or a slice), or "-" (outside the segments and the abandoned
// sets: statistics, options, the arena's other fields, the OS layer).
func LocClass(p Point) string {
	if _, _, ok := p.Mailbox(); ok {
		return "mailbox"
	}
	a := p.Addr
	switch {
	case reSegField.MatchString(a):
		return "segment." + reSegField.FindStringSubmatch(a)[1]
	case rePageField.MatchString(a):
		return "page" + rePageField.FindStringSubmatch(a)[1] // ".xheap" or "+0x10"
	case reSegOff.MatchString(a):
		return "segment" + reSegOff.FindStringSubmatch(a)[1]
	case reHeap.MatchString(a):
		return "heap.thread_delayed_free"
	}
	return a
}

var (
	reSegField  = regexp.MustCompile(`^s\d+\.([a-z_]+)$`)
	rePageField = regexp.MustCompile(`^s\d+\.p\d+(\.[a-z_]+|\+0x[0-9a-f]+)$`)
	reSegOff    = regexp.MustCompile(`^s\d+(\+0x[0-9a-f]+)$`)
	reHeap      = regexp.MustCompile(`^h\d+\.delayed$`)
)

// modelLocs are the location classes the model's state has (cName's
// range): an access to one of them is a model step, or part of one.
var modelLocs = map[string]bool{
	"segment.thread_id": true, "page.xthread_free": true, "page.xheap": true,
	"abandoned_bitmap": true, "inuse_bitmap": true, "abandoned_count": true,
	"heap.thread_delayed_free": true, "mailbox": true,
}

// Why values of Classify for points that are not a step's access.
const (
	WhyNotModel  = "not a model location"
	WhyFolded    = "folded"
	WhyOSNoArena = "memory os: no arena"
	WhyUnmatched = "UNMATCHED"
	// WhyLocal: the site table lets the point run as local work (the
	// reason is in Classified.Step)
	WhyLocal = "local work (site table)"
)

// Classified is a C point of a follow run with the reason it ran as it
// did: the model step whose access it made (Label), or why it has none.
type Classified struct {
	PointUse
	Loc  string // LocClass
	Why  string // "" for a step's access; WhyNotModel, WhyFolded, WhyLocal, WhyOSNoArena or WhyUnmatched
	Step string // for WhyFolded: the step it belongs to; for WhyLocal: the site table's reason
}

// Classify explains every point of a follow run that the model has no
// step for. A point at a location outside the model's state is local work
// (WhyNotModel). A point at a model location belongs to an adjacent step of
// the same thread (the step just before or just after it, with no other
// step of the thread in between) when that step's access is a
// read-modify-write at the same location: the model makes a CAS loop, or
// an exchange and the pre-check load before it, one access (scenarios.md
// §1.3). With memory os there is no arena: its bitmaps and (at v2.1.7) the
// global abandoned_count are outside the model's steps. Any other point is
// UNMATCHED: the C code made a shared access the model does not.
func Classify(pts []PointUse, osMemory bool, src allocsim.Source) []Classified {
	out := make([]Classified, len(pts))
	for k, u := range pts {
		out[k] = Classified{PointUse: u, Loc: LocClass(u.P)}
	}
	for k := range out {
		c := &out[k]
		switch {
		case c.Label != "":
			continue
		case !modelLocs[c.Loc]:
			c.Why = WhyNotModel
			continue
		case osMemory && (c.Loc == "inuse_bitmap" || c.Loc == "abandoned_bitmap" || c.Loc == "abandoned_count"):
			c.Why = WhyOSNoArena
			continue
		}
		c.Why = WhyUnmatched
		th := c.P.Thread
		after := ""
		for j := k - 1; j >= 0; j-- {
			if out[j].P.Thread == th && out[j].Label != "" {
				after = out[j].Label
				break
			}
		}
		if why := localWhy(src, c.P, after); why != "" {
			c.Why, c.Step = WhyLocal, why
			continue
		}
		for _, dir := range []int{-1, 1} {
			for j := k + dir; j >= 0 && j < len(out); j += dir {
				o := out[j]
				if o.P.Thread != th || o.Label == "" {
					continue
				}
				if o.RMW && o.P.Addr == c.P.Addr {
					c.Why, c.Step = WhyFolded, o.Label
				}
				break
			}
			if c.Why == WhyFolded {
				break
			}
		}
	}
	return out
}

// SiteRow is one row of a site table: a C site (file:line), the kind of
// its operation and location, and what the follow runs made of it.
type SiteRow struct {
	Site, Kind, Loc string
	Steps           map[string]int // model step label -> points that made its access
	Why             map[string]int // reason -> points run without a step of their own
}

// SiteTable aggregates classified points by site, kind and location.
type SiteTable map[string]*SiteRow

// Add counts the classified points of one run.
func (t SiteTable) Add(cs []Classified) {
	for _, c := range cs {
		key := c.P.Site + " " + c.P.Kind + " " + c.Loc
		r := t[key]
		if r == nil {
			r = &SiteRow{Site: c.P.Site, Kind: c.P.Kind, Loc: c.Loc, Steps: map[string]int{}, Why: map[string]int{}}
			t[key] = r
		}
		switch c.Why {
		case "":
			r.Steps[c.Label]++
		case WhyFolded:
			r.Why[WhyFolded+" into "+c.Step]++
		case WhyLocal:
			r.Why["local: "+c.Step]++
		default:
			r.Why[c.Why]++
		}
	}
}

// Rows returns the rows sorted by file, line, kind and location.
func (t SiteTable) Rows() []*SiteRow {
	rows := make([]*SiteRow, 0, len(t))
	for _, r := range t {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(a, b int) bool {
		fa, la := splitSite(rows[a].Site)
		fb, lb := splitSite(rows[b].Site)
		if fa != fb {
			return fa < fb
		}
		if la != lb {
			return la < lb
		}
		if rows[a].Kind != rows[b].Kind {
			return rows[a].Kind < rows[b].Kind
		}
		return rows[a].Loc < rows[b].Loc
	})
	return rows
}

func splitSite(s string) (string, int) {
	f, l, _ := strings.Cut(s, ":")
	var n int
	fmt.Sscanf(l, "%d", &n)
	return f, n
}

// keys renders a count map as "a (3), b (1)", most frequent first.
func keys(m map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var s []kv
	for k, n := range m {
		s = append(s, kv{k, n})
	}
	sort.Slice(s, func(a, b int) bool {
		if s[a].n != s[b].n {
			return s[a].n > s[b].n
		}
		return s[a].k < s[b].k
	})
	var parts []string
	for _, e := range s {
		parts = append(parts, fmt.Sprintf("%s (%d)", e.k, e.n))
	}
	return strings.Join(parts, ", ")
}

// Markdown renders the table, with the reasons of the local-work rows
// after it.
func (t SiteTable) Markdown() string {
	var b strings.Builder
	b.WriteString("| C site | operation | location | model step (points) | run without a step of its own (points) |\n|---|---|---|---|---|\n")
	used := map[string]bool{}
	for _, r := range t.Rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Site, r.Kind, r.Loc, keys(r.Steps), keys(r.Why))
		for w := range r.Why {
			if name, ok := strings.CutPrefix(w, "local: "); ok {
				used[name] = true
			}
		}
	}
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		b.WriteString("\nLocal work at a model location (conform/sitetable.go):\n\n")
		for _, n := range names {
			fmt.Fprintf(&b, "- **%s**: %s\n", n, LocalReasons[n])
		}
	}
	b.WriteString("\n" + WhyNotModel + ": statistics, options, the thread-data cache, the arena's other fields, the OS layer and the segment map, outside the model's state; and the OS abandoned list's lock, visit lock and count, whose critical sections the model makes one step each (cursor.os-lock-pop, abandon.os-lock-append). " +
		WhyFolded + " into S: a pre-check load or the exchange of a CAS loop that the model makes one read-modify-write with step S (scenarios.md §1.3). " +
		WhyOSNoArena + ": with memory os there is no arena.\n")
	return b.String()
}
