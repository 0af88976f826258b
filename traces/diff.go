package traces

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
)

// Diff describes the fields of the shared and ghost state that differ
// between a and b (the states before and after a step), within the
// dimensions of m's scenario, as space-separated "name=old->new" items in a
// fixed order:
//
//   - segments: segG.thread_id, used, abandoned, visits, was_reclaimed,
//     live, subproc_valid, huge, os, holder, busy, os_listed;
//   - slices and pages: segG.sI.count, offset, kind (free, used or
//     page:CLASS), prev, next, free, local_free, xthread_free, delayed,
//     used, live, heap_delayed, taken, heap, retire, in_full (block sets
//     as 0b… bit sets);
//   - the arena and sub-process: bitmap, abandoned_count, os_lock,
//     os_visit_lock, os_list (the OS abandoned list, head first);
//   - threads (scheduler index): tI.binB.first/last span queues, tI.REG
//     registers (named as in the scenario), tI.retired_min/max,
//     tI.heap_init (the default heap is initialised);
//   - mailboxes mK and the fault.
//
// Fields of model.Segment, model.Slice and model.State that this list does
// not name yet (the model grows) are shown too, after the others of their
// group, under their snake_case Go name. Thread-private control state
// (program counters, cursors) is left out. Diff returns "-" when nothing
// shown differs. Block handles and slice links are
// shown as segG.sI.bB and segG.sI.
func Diff(m *allocsim.Sim, a, b *model.State) string {
	d := differ{sc: m.Scenario()}
	dims := m.Dims()
	for g := 0; g < dims.Segments; g++ {
		x, y := &a.Segs[g], &b.Segs[g]
		p := "seg" + strconv.Itoa(g) + "."
		d.num(p+"thread_id", int(x.ThreadID), int(y.ThreadID))
		d.num(p+"used", int(x.Used), int(y.Used))
		d.num(p+"abandoned", int(x.Abandoned), int(y.Abandoned))
		d.num(p+"visits", int(x.AbandonedVisits), int(y.AbandonedVisits))
		d.flag(p+"was_reclaimed", x.WasReclaimed, y.WasReclaimed)
		d.flag(p+"live", x.Live, y.Live)
		d.flag(p+"subproc_valid", x.SubprocValid, y.SubprocValid)
		d.flag(p+"huge", x.Huge, y.Huge)
		d.flag(p+"os", x.OS, y.OS)
		d.num(p+"holder", int(x.Holder), int(y.Holder))
		d.flag(p+"busy", x.Busy, y.Busy)
		d.flag(p+"os_listed", x.OSListed, y.OSListed)
		d.others(p, reflect.ValueOf(x).Elem(), reflect.ValueOf(y).Elem(), segmentShown)
	}
	for g := 0; g < dims.Segments; g++ {
		for i := 0; i < dims.Slices; i++ {
			x, y := &a.Slices[g][i], &b.Slices[g][i]
			if *x == *y {
				continue
			}
			p := "seg" + strconv.Itoa(g) + ".s" + strconv.Itoa(i) + "."
			d.num(p+"count", int(x.SliceCount), int(y.SliceCount))
			d.num(p+"offset", int(x.SliceOffset), int(y.SliceOffset))
			d.str(p+"kind", d.kind(x.BlockSize), d.kind(y.BlockSize))
			d.str(p+"prev", sliceRef(x.Prev), sliceRef(y.Prev))
			d.str(p+"next", sliceRef(x.Next), sliceRef(y.Next))
			d.bitset(p+"free", x.Free, y.Free)
			d.bitset(p+"local_free", x.LocalFree, y.LocalFree)
			d.bitset(p+"xthread_free", x.XThreadFree, y.XThreadFree)
			d.num(p+"delayed", int(x.Delayed), int(y.Delayed))
			d.num(p+"used", int(x.Used), int(y.Used))
			d.bitset(p+"live", x.Live, y.Live)
			d.bitset(p+"heap_delayed", x.HeapDelayed, y.HeapDelayed)
			d.bitset(p+"taken", x.Taken, y.Taken)
			d.num(p+"heap", int(x.Heap), int(y.Heap))
			d.num(p+"retire", int(x.Retire), int(y.Retire))
			d.flag(p+"in_full", x.InFull, y.InFull)
			d.others(p, reflect.ValueOf(x).Elem(), reflect.ValueOf(y).Elem(), sliceShown)
		}
	}
	d.bitset("bitmap", a.AbandonedMap, b.AbandonedMap)
	d.num("abandoned_count", int(a.AbandonedCount), int(b.AbandonedCount))
	d.num("os_lock", int(a.OSListLocked), int(b.OSListLocked))
	d.num("os_visit_lock", int(a.OSVisitLocked), int(b.OSVisitLocked))
	if a.OSList != b.OSList {
		d.str("os_list", osList(&a.OSList, dims.Segments), osList(&b.OSList, dims.Segments))
	}
	for t := 0; t < dims.Threads; t++ {
		x, y := &a.Threads[t], &b.Threads[t]
		p := "T" + strconv.Itoa(t+1) + "."
		for bin := 0; bin < dims.Slices-1 && bin < model.MaxBins; bin++ {
			q := p + "bin" + strconv.Itoa(bin+1) + "."
			d.str(q+"first", sliceRef(x.Spans[bin].First), sliceRef(y.Spans[bin].First))
			d.str(q+"last", sliceRef(x.Spans[bin].Last), sliceRef(y.Spans[bin].Last))
		}
		for r := range x.Regs {
			d.str(p+d.regName(t, r), handle(x.Regs[r]), handle(y.Regs[r]))
		}
		d.num(p+"retired_min", int(x.RetiredMin), int(y.RetiredMin))
		d.num(p+"retired_max", int(x.RetiredMax), int(y.RetiredMax))
		d.flag(p+"heap_init", x.HeapInit, y.HeapInit)
	}
	for k := 0; k < dims.Mailboxes; k++ {
		d.str("m"+strconv.Itoa(k), handle(a.Mailbox[k]), handle(b.Mailbox[k]))
	}
	if a.Fault != b.Fault {
		d.str("fault", fault(a.Fault), fault(b.Fault))
	}
	d.others("", reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), stateShown)
	if d.b.Len() == 0 {
		return "-"
	}
	return d.b.String()
}

// Fields rendered explicitly by Diff (or deliberately left out: Threads);
// every other field is rendered by differ.others.
var (
	segmentShown = fieldSet("ThreadID", "Used", "Abandoned", "AbandonedVisits", "WasReclaimed", "Live",
		"SubprocValid", "Huge", "OS", "Holder", "Busy", "OSListed")
	sliceShown = fieldSet("SliceCount", "SliceOffset", "BlockSize", "Prev", "Next", "Free", "LocalFree",
		"XThreadFree", "Delayed", "Used", "Live", "HeapDelayed", "Taken", "Heap", "Retire", "InFull")
	stateShown = fieldSet("Segs", "Slices", "Threads", "AbandonedMap", "AbandonedCount", "OSListLocked",
		"OSVisitLocked", "OSList", "Mailbox", "Fault", "Mem")
)

// fieldSet returns a lookup set of field names.
func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// others renders the fields of the structs x and y (of the same type) that
// shown does not list, in declaration order, as prefix+snake_name.
func (d *differ) others(prefix string, x, y reflect.Value, shown map[string]bool) {
	t := x.Type()
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); !shown[f.Name] && f.IsExported() {
			d.value(prefix+snake(f.Name), x.Field(i), y.Field(i))
		}
	}
}

// value renders one field generically: numbers and booleans as such,
// arrays element by element (name[k]), structs field by field.
func (d *differ) value(name string, x, y reflect.Value) {
	switch x.Kind() {
	case reflect.Bool:
		d.flag(name, x.Bool(), y.Bool())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		if x.Uint() != y.Uint() {
			d.str(name, strconv.FormatUint(x.Uint(), 10), strconv.FormatUint(y.Uint(), 10))
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		d.num(name, int(x.Int()), int(y.Int()))
	case reflect.Array:
		for k := 0; k < x.Len(); k++ {
			d.value(name+"["+strconv.Itoa(k)+"]", x.Index(k), y.Index(k))
		}
	case reflect.Struct:
		t := x.Type()
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				d.value(name+"."+snake(t.Field(i).Name), x.Field(i), y.Field(i))
			}
		}
	default:
		if x.CanInterface() && y.CanInterface() && x.Interface() != y.Interface() {
			d.str(name, fmt.Sprint(x.Interface()), fmt.Sprint(y.Interface()))
		}
	}
}

// snake converts a Go field name to snake_case: DontFree -> dont_free,
// OSList -> os_list.
func snake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		upper := c >= 'A' && c <= 'Z'
		if upper && i > 0 {
			prevLower := s[i-1] >= 'a' && s[i-1] <= 'z' || s[i-1] >= '0' && s[i-1] <= '9'
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if prevLower || (nextLower && s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
		}
		if upper {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// differ accumulates the items of a Diff.
type differ struct {
	sc *allocsim.Scenario
	b  strings.Builder
}

func (d *differ) str(name, x, y string) {
	if x == y {
		return
	}
	if d.b.Len() > 0 {
		d.b.WriteByte(' ')
	}
	d.b.WriteString(name)
	d.b.WriteByte('=')
	d.b.WriteString(x)
	d.b.WriteString("->")
	d.b.WriteString(y)
}

func (d *differ) num(name string, x, y int) {
	if x != y {
		d.str(name, strconv.Itoa(x), strconv.Itoa(y))
	}
}

func (d *differ) flag(name string, x, y bool) {
	if x != y {
		d.str(name, b01(x), b01(y))
	}
}

func (d *differ) bitset(name string, x, y uint8) {
	if x != y {
		d.str(name, "0b"+strconv.FormatUint(uint64(x), 2), "0b"+strconv.FormatUint(uint64(y), 2))
	}
}

// kind renders a slice's block_size marker.
func (d *differ) kind(bs uint8) string {
	switch {
	case bs == model.BlockFree:
		return "free"
	case bs == model.BlockUsed:
		return "used"
	}
	c := int(bs - model.BlockPage0)
	if c < len(d.sc.Classes) {
		return "page:" + d.sc.Classes[c].Name
	}
	return "page:" + strconv.Itoa(c)
}

// regName returns the scenario's name of register r of thread t, or rR.
func (d *differ) regName(t, r int) string {
	if t < len(d.sc.RegNames) && r < len(d.sc.RegNames[t]) && d.sc.RegNames[t][r] != "" {
		return d.sc.RegNames[t][r]
	}
	return "r" + strconv.Itoa(r)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// sliceRef renders a span-queue link (global slice index + 1, 0 = NULL).
func sliceRef(e uint8) string {
	if e == 0 {
		return "nil"
	}
	x := int(e - 1)
	return "seg" + strconv.Itoa(x/model.MaxSlices) + ".s" + strconv.Itoa(x%model.MaxSlices)
}

// osList renders the OS abandoned list (segment index + 1 per entry, 0 =
// end) as [seg0,seg2].
func osList(l *[model.MaxSegments]uint8, n int) string {
	var parts []string
	for k := 0; k < n && k < len(l) && l[k] != 0; k++ {
		parts = append(parts, "seg"+strconv.Itoa(int(l[k])-1))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// handle renders a block handle held by a register or a mailbox.
func handle(h uint8) string {
	switch h {
	case 0:
		return "none"
	case model.NullHandle:
		return "NULL"
	}
	x := int(h-1) / model.MaxBlocks
	return "seg" + strconv.Itoa(x/model.MaxSlices) + ".s" + strconv.Itoa(x%model.MaxSlices) +
		".b" + strconv.Itoa(int(h-1)%model.MaxBlocks)
}

// fault renders a recorded fault.
func fault(f model.Fault) string {
	if f.Code == 0 {
		return "none"
	}
	if model.FaultCode(f.Code) == model.FaultDataRace {
		return "data-race(T" + strconv.Itoa(int(f.Thread)) + "," + model.LocName(int(f.Seg)) +
			",T" + strconv.Itoa(int(f.Other)) + ")"
	}
	return model.FaultCode(f.Code).String() + "(T" + strconv.Itoa(int(f.Thread)) +
		",seg" + strconv.Itoa(int(f.Seg)) + ",s" + strconv.Itoa(int(f.Slice)) + ")"
}
