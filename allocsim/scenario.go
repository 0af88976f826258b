package allocsim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mimcheck/model"
)

// OpKind is the kind of one operation of a thread's program.
type OpKind uint8

// Operation kinds.
const (
	OpEnd          OpKind = iota // end of program (the thread is done)
	OpMalloc                     // reg B := malloc(class A)
	OpFree                       // free(reg A)
	OpSend                       // mailbox B := reg A (waits until B is empty)
	OpRecv                       // reg B := mailbox A (waits until A is full)
	OpExit                       // thread exit: mi_heap_collect_ex(heap, MI_ABANDON)
	OpCollect                    // mi_heap_collect(heap, false)
	OpForceCollect               // mi_heap_collect(heap, true)
	OpInit                       // mi_thread_init: initialise the default heap
)

// Op is one operation of a thread's program.
type Op struct {
	Kind OpKind
	A, B uint8
}

// Class is a scaled-down size class: a page of the class spans Slices
// slices and holds Blocks blocks.
type Class struct {
	Name   string
	Slices uint8
	Blocks uint8
	// Huge: a block of the class is larger than MI_LARGE_OBJ_SIZE_MAX, so
	// each allocation gets its own MI_SEGMENT_HUGE segment (one page over
	// all data slices, one block).
	Huge bool
	// Path is the malloc path the class's request size takes in C
	// (PathDefault: see Class.FastPath). A class of one block over more
	// slices than MI_MEDIUM_OBJ_SIZE_MAX allows is large whatever Path says
	// (Sim.largeClass).
	Path ClassPath
}

// ClassPath is the malloc path of a class's request size
// (`class NAME slices=N blocks=N path=small|generic`).
type ClassPath uint8

const (
	// PathDefault: small for a one-slice class of two or more blocks (the
	// stand-in for mimalloc's small objects, as S1-S3's S), generic
	// otherwise.
	PathDefault ClassPath = iota
	// PathSmall: a request of at most MI_SMALL_SIZE_MAX (128 words, 1 KiB):
	// mi_heap_malloc_small_zero pops the free list of the heap's
	// pages_free_direct page, the first page of the class's queue
	// (alloc.c:174 at v2.4.1), and calls _mi_malloc_generic only when that
	// list is empty. Only a one-slice class can be small.
	PathSmall
	// PathGeneric: a larger request (up to MI_MEDIUM_OBJ_SIZE_MAX): every
	// malloc runs _mi_malloc_generic (alloc.c:187 at v2.4.1).
	PathGeneric
)

// FastPath reports whether a malloc of the class may take alloc.c's fast
// path (PathSmall, given or by default).
func (c Class) FastPath() bool {
	switch c.Path {
	case PathSmall:
		return true
	case PathGeneric:
		return false
	}
	return !c.Huge && c.Slices == 1 && c.Blocks >= 2
}

// Scenario is a workload: thread programs, sizes and options.
type Scenario struct {
	Name      string
	Threads   [][]Op
	RegNames  [][]string // per thread, register index -> name (for rendering)
	Segments  int        // arena slots
	Slices    int        // slices per segment, slice 0 = segment info
	Classes   []Class
	Mailboxes int
	// ReclaimOnFree is option abandoned_reclaim_on_free.
	ReclaimOnFree bool
	// TargetSegments is option target_segments_per_thread (0 = off).
	TargetSegments int
	// OSMemory: segments come from the OS (abandoned on the OS list) instead
	// of the arena.
	OSMemory bool
	// Stats is a build with statistics (MI_STAT > 0, the default of debug
	// builds): mi_stat_free calls mi_heap_get_default(), so a free that
	// reaches it initialises the freeing thread's default heap (free.c:566
	// at v2.4.1, free.c:560 at v2.3.0, free.c:507 at v2.1.7).
	Stats bool
	// RetireCycles is MI_RETIRE_CYCLES (page.c, a #define: 16). A scenario
	// may model a build with a smaller one (option retire-cycles=N, N a
	// multiple of 4 in 4..16), so that a page's retire budget runs out
	// within a short program; larger pages get N/4 as in C.
	RetireCycles int
}

// Validate checks that the scenario fits the model's bounds.
func (sc *Scenario) Validate() error {
	switch {
	case len(sc.Threads) < 1 || len(sc.Threads) > model.MaxThreads:
		return fmt.Errorf("scenario %s: %d threads (want 1..%d)", sc.Name, len(sc.Threads), model.MaxThreads)
	case sc.Segments < 1 || sc.Segments > model.MaxSegments:
		return fmt.Errorf("scenario %s: %d segments (want 1..%d)", sc.Name, sc.Segments, model.MaxSegments)
	case sc.Slices < 3 || sc.Slices > model.MaxSlices:
		return fmt.Errorf("scenario %s: %d slices per segment (want 3..%d)", sc.Name, sc.Slices, model.MaxSlices)
	case len(sc.Classes) < 1 || len(sc.Classes) > model.MaxClasses:
		return fmt.Errorf("scenario %s: %d size classes (want 1..%d)", sc.Name, len(sc.Classes), model.MaxClasses)
	case sc.Mailboxes < 0 || sc.Mailboxes > model.MaxMailboxes:
		return fmt.Errorf("scenario %s: %d mailboxes (want 0..%d)", sc.Name, sc.Mailboxes, model.MaxMailboxes)
	case sc.TargetSegments < 0 || sc.TargetSegments > model.MaxSegments:
		return fmt.Errorf("scenario %s: target-segments-per-thread %d (want 0..%d)", sc.Name, sc.TargetSegments, model.MaxSegments)
	}
	for _, c := range sc.Classes {
		if c.Slices < 1 || int(c.Slices) > sc.Slices-1 {
			return fmt.Errorf("scenario %s: class %s has %d slices (want 1..%d)", sc.Name, c.Name, c.Slices, sc.Slices-1)
		}
		if c.Huge && (int(c.Slices) != sc.Slices-1 || c.Blocks != 1) {
			return fmt.Errorf("scenario %s: huge class %s must span every data slice with one block", sc.Name, c.Name)
		}
		if c.Blocks < 1 || c.Blocks > model.MaxBlocks {
			return fmt.Errorf("scenario %s: class %s has %d blocks (want 1..%d)", sc.Name, c.Name, c.Blocks, model.MaxBlocks)
		}
		if c.Path == PathSmall && (c.Huge || c.Slices != 1) {
			return fmt.Errorf("scenario %s: class %s: path=small needs a one-slice page (objects of at most 1 KiB live on small pages)", sc.Name, c.Name)
		}
	}
	for t, prog := range sc.Threads {
		if len(prog) > 250 {
			return fmt.Errorf("scenario %s: thread %d has %d ops (at most 250)", sc.Name, t+1, len(prog))
		}
		for k, op := range prog {
			bad := ""
			switch op.Kind {
			case OpMalloc:
				if int(op.A) >= len(sc.Classes) || op.B >= model.MaxRegs {
					bad = "malloc"
				}
			case OpFree:
				if op.A >= model.MaxRegs {
					bad = "free"
				}
			case OpSend:
				if op.A >= model.MaxRegs || int(op.B) >= sc.Mailboxes {
					bad = "send"
				}
			case OpRecv:
				if int(op.A) >= sc.Mailboxes || op.B >= model.MaxRegs {
					bad = "recv"
				}
			case OpExit, OpCollect, OpForceCollect, OpInit:
			default:
				bad = "unknown op"
			}
			if bad != "" {
				return fmt.Errorf("scenario %s: thread %d op %d: bad %s operands", sc.Name, t+1, k+1, bad)
			}
		}
	}
	return nil
}

// Dims returns the state dimensions the scenario uses.
func (sc *Scenario) Dims() model.Dims {
	return model.Dims{Threads: len(sc.Threads), Segments: sc.Segments, Slices: sc.Slices, Mailboxes: sc.Mailboxes}
}

func defaultClasses() []Class {
	// scenarios.md §1.1: small = 1-slice page with 2 blocks, medium = 2-slice
	// page with 1 block.
	return []Class{{Name: "S", Slices: 1, Blocks: 2}, {Name: "M", Slices: 2, Blocks: 1}}
}

// BuiltinScenarios lists the names of the built-in scenarios.
func BuiltinScenarios() []string { return []string{"S1", "S2", "S3"} }

// BuiltinScenario returns the reference scenario name (S1, S2, S3 of
// ../shared/spec/scenarios.md §2). S3 takes its number of warm-up rounds
// from rounds (12 in the reference).
func BuiltinScenario(name string, rounds int) (*Scenario, error) {
	text, err := BuiltinText(name, rounds)
	if err != nil {
		return nil, err
	}
	sc, err := ParseScenario(name, text)
	if err != nil {
		panic("mimcheck internal bug: built-in scenario does not parse: " + err.Error())
	}
	return sc, nil
}

// BuiltinText returns the scenario file text of a built-in scenario (S3
// with the given warm-up rounds).
func BuiltinText(name string, rounds int) (string, error) {
	switch strings.ToUpper(name) {
	case "S1":
		return s1Text, nil
	case "S2":
		return s2Text, nil
	case "S3":
		if rounds < 0 || rounds > 20 {
			return "", fmt.Errorf("S3 rounds %d out of range 0..20", rounds)
		}
		return s3Text(rounds), nil
	}
	return "", fmt.Errorf("unknown scenario %q (want S1, S2, S3 or a scenario file)", name)
}

// s1Text: abandon, then reclaim-on-free (2 threads, 1 slot).
const s1Text = `scenario S1
segments 1
slices 5
class S slices=1 blocks=2
class M slices=2 blocks=1
option reclaim-on-free=1
thread: a = malloc(S); b = malloc(M); send a -> m0; free b; exit
thread: a <- m0; free a; exit
`

// s2Text: abandon, concurrent free, try_reclaim by an allocating thread
// (3 threads, 2 slots).
const s2Text = `scenario S2
segments 2
slices 5
class S slices=1 blocks=2
class M slices=2 blocks=1
option reclaim-on-free=1
thread: a = malloc(S); b = malloc(M); send a -> m0; free b; exit
thread: a <- m0; free a; exit
thread: c = malloc(M); free c; exit
`

// s3Text: all-to-all exchange, then staggered exits (3 threads, 2 slots).
func s3Text(rounds int) string {
	t1 := "s = malloc(S); send s -> m0; m = malloc(M); send m -> m1; k = malloc(S); x <- m2; free x; y <- m4; free y; free k"
	t2 := "s = malloc(S); send s -> m2; m = malloc(M); send m -> m3; k = malloc(M); x <- m0; free x; y <- m5; free y; free k"
	t3 := "m = malloc(M); send m -> m4; s = malloc(S); send s -> m5; k = malloc(S); x <- m1; free x; y <- m3; free y; free k"
	rep := func(s string, n int) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ")
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "; ")
	}
	f2 := "s = malloc(S); send s -> m2; m = malloc(M); send m -> m3; x <- m0; y <- m5; free y; k = malloc(S); free x; free k; exit"
	f3 := "m = malloc(M); send m -> m4; s = malloc(S); send s -> m5; x <- m1; y <- m3; free y; k = malloc(M); free x; free k; exit"
	return "scenario S3\nsegments 2\nslices 5\nclass S slices=1 blocks=2\nclass M slices=2 blocks=1\noption reclaim-on-free=1\n" +
		"thread: " + join(rep(t1, rounds+1), "exit") + "\n" +
		"thread: " + join(rep(t2, rounds), f2) + "\n" +
		"thread: " + join(rep(t3, rounds), f3) + "\n"
}

// ScenarioError is a mistake in a scenario file, at a line and column
// (1-based; a tab counts as one column).
type ScenarioError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ScenarioError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// opError is a mistake in one operation of a thread's program, at a byte
// offset of the program's text.
type opError struct {
	off int
	err error
}

func (e *opError) Error() string { return e.err.Error() }

// ParseScenario parses the scenario file format (README: "Scenario files").
// name is used in error messages (a file name).
func ParseScenario(name, text string) (*Scenario, error) {
	return parseScenario(name, text, true)
}

// ParseFragment parses a scenario whose threads need not end with exit: a
// program fragment for the tests of single operations, which look at the
// state before thread-done. Scenario files (the CLI, traces) go through
// ParseScenario.
func ParseFragment(name, text string) (*Scenario, error) {
	return parseScenario(name, text, false)
}

func parseScenario(name, text string, needExit bool) (*Scenario, error) {
	sc := &Scenario{Name: name, ReclaimOnFree: false}
	classByName := map[string]uint8{}
	mailboxes := 0
	setSegs, setSlices := false, false
	lines := strings.Split(text, "\n")
	seen := map[string]int{} // directive -> line
	type pos struct{ line, col int }
	threadLine := []int{}  // the line of each thread
	var classAt []pos      // where each class is defined
	at := map[string]pos{} // where segments, slices and options are given
	for ln, raw := range lines {
		raw = strings.ReplaceAll(raw, "\t", " ")
		if i := strings.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		indent := strings.Index(raw, line) // line starts at raw[indent]
		key, rest, _ := strings.Cut(line, " ")
		restCol := indent + len(key) + 1 + 1 // the column of rest
		if r := strings.TrimLeft(rest, " "); r != rest {
			restCol += len(rest) - len(r)
		}
		rest = strings.TrimSpace(rest)
		col := indent + 1 // the column the error points at
		if rest != "" {
			col = restCol
		}
		errf := func(format string, args ...any) error {
			return &ScenarioError{File: name, Line: ln + 1, Col: col, Msg: fmt.Sprintf(format, args...)}
		}
		if key == "scenario" || key == "segments" || key == "slices" || key == "memory" {
			col = indent + 1
		}
		at[key] = pos{ln + 1, restCol}
		switch key {
		case "scenario", "segments", "slices", "memory":
			if first, dup := seen[key]; dup {
				return nil, errf("%s given twice (first at line %d)", key, first)
			}
			seen[key] = ln + 1
			if rest != "" {
				col = restCol
			}
		}
		switch {
		case key == "scenario":
			sc.Name = rest
		case key == "segments" || key == "slices":
			n, err := strconv.Atoi(rest)
			if err != nil {
				return nil, errf("%s wants a number, got %q", key, rest)
			}
			if key == "segments" {
				sc.Segments, setSegs = n, true
			} else {
				sc.Slices, setSlices = n, true
			}
		case key == "class":
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "huge" {
				c := Class{Name: f[0], Huge: true, Blocks: 1}
				if _, dup := classByName[c.Name]; dup {
					return nil, errf("class %s defined twice", c.Name)
				}
				classByName[c.Name] = uint8(len(sc.Classes))
				sc.Classes = append(sc.Classes, c)
				classAt = append(classAt, pos{ln + 1, restCol})
				continue
			}
			if len(f) != 3 && len(f) != 4 {
				return nil, errf("class wants: class NAME slices=N blocks=N [path=small|generic], or class NAME huge")
			}
			c := Class{Name: f[0]}
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				if k == "path" {
					switch v {
					case "small":
						c.Path = PathSmall
					case "generic":
						c.Path = PathGeneric
					default:
						return nil, errf("class %s: path=%q (want small or generic)", c.Name, v)
					}
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 255 {
					return nil, errf("class %s: bad %s", c.Name, kv)
				}
				switch k {
				case "slices":
					c.Slices = uint8(n)
				case "blocks":
					c.Blocks = uint8(n)
				default:
					return nil, errf("class %s: unknown field %q", c.Name, k)
				}
			}
			if _, dup := classByName[c.Name]; dup {
				return nil, errf("class %s defined twice", c.Name)
			}
			classByName[c.Name] = uint8(len(sc.Classes))
			sc.Classes = append(sc.Classes, c)
			classAt = append(classAt, pos{ln + 1, restCol})
		case key == "option":
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				return nil, errf("option wants NAME=VALUE")
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return nil, errf("option %s wants a number", k)
			}
			switch strings.TrimSpace(k) {
			case "reclaim-on-free":
				sc.ReclaimOnFree = n != 0
			case "target-segments-per-thread":
				if n < 0 || n > model.MaxSegments {
					return nil, errf("target-segments-per-thread %d: want 0..%d", n, model.MaxSegments)
				}
				sc.TargetSegments = n
			case "stats":
				sc.Stats = n != 0
			case "retire-cycles":
				if n < 4 || n > 16 || n%4 != 0 {
					return nil, errf("option retire-cycles=%d: want a multiple of 4 in 4..16 (MI_RETIRE_CYCLES; larger pages get a quarter)", n)
				}
				sc.RetireCycles = n
			default:
				return nil, errf("unknown option %q (want reclaim-on-free, target-segments-per-thread, stats, retire-cycles)", k)
			}
		case key == "memory":
			switch rest {
			case "arena":
				sc.OSMemory = false
			case "os":
				sc.OSMemory = true
			default:
				return nil, errf("memory wants arena or os, got %q", rest)
			}
		case key == "thread" || strings.HasPrefix(key, "thread"):
			colon := strings.IndexByte(line, ':')
			if colon < 0 {
				return nil, errf("thread wants: thread: op; op; ...")
			}
			body := line[colon+1:]
			prog, regs, mb, err := parseProgram(body, classByName)
			if err != nil {
				var oe *opError
				if errors.As(err, &oe) {
					col = indent + colon + 1 + oe.off + 1
				}
				return nil, errf("thread %d: %v", len(sc.Threads)+1, err)
			}
			threadLine = append(threadLine, ln+1)
			if mb > mailboxes {
				mailboxes = mb
			}
			sc.Threads = append(sc.Threads, prog)
			sc.RegNames = append(sc.RegNames, regs)
		default:
			return nil, errf("unknown directive %q", key)
		}
	}
	if !setSegs || !setSlices {
		return nil, &ScenarioError{File: name, Msg: "needs both 'segments N' and 'slices N'"}
	}
	// every thread ends with exit (mi_thread_done): a thread that never
	// exits keeps its heap, and the checks at the end (quiescent-clean,
	// block conservation) would report the scenario, not the allocator.
	// Operations after exit stay legal: they run after thread-done, as a
	// thread-local destructor's free does (mimalloc issue #944).
	for t, prog := range sc.Threads {
		if needExit && !slices.ContainsFunc(prog, func(op Op) bool { return op.Kind == OpExit }) {
			return nil, &ScenarioError{File: name, Line: threadLine[t], Col: 1, Msg: fmt.Sprintf("thread %d never exits: end its program with exit (mi_thread_done)", t+1)}
		}
	}
	if len(sc.Classes) == 0 {
		sc.Classes = defaultClasses()
	}
	for k := range sc.Classes {
		if sc.Classes[k].Huge { // one page over every data slice
			sc.Classes[k].Slices = uint8(sc.Slices - 1)
		}
	}
	sc.Mailboxes = mailboxes
	// range errors at the line that gives the value
	rangeErr := func(p pos, format string, args ...any) error {
		return &ScenarioError{File: name, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(sc.Threads) == 0:
		return nil, &ScenarioError{File: name, Msg: "no threads (want 1..4 'thread: ...' lines)"}
	case len(sc.Threads) > model.MaxThreads:
		return nil, rangeErr(pos{threadLine[model.MaxThreads], 1}, "thread %d: at most %d threads", model.MaxThreads+1, model.MaxThreads)
	case sc.Segments < 1 || sc.Segments > model.MaxSegments:
		return nil, rangeErr(at["segments"], "segments %d: want 1..%d", sc.Segments, model.MaxSegments)
	case sc.Slices < 3 || sc.Slices > model.MaxSlices:
		return nil, rangeErr(at["slices"], "slices %d: want 3..%d per segment (slice 0 is the segment info)", sc.Slices, model.MaxSlices)
	case len(classAt) > model.MaxClasses:
		return nil, rangeErr(classAt[model.MaxClasses], "class %s: at most %d size classes", sc.Classes[model.MaxClasses].Name, model.MaxClasses)
	}
	for k, p := range classAt {
		c := sc.Classes[k]
		switch {
		case !c.Huge && (c.Slices < 1 || int(c.Slices) > sc.Slices-1):
			return nil, rangeErr(p, "class %s: %d slices (want 1..%d: a page fits in a segment's %d data slices)", c.Name, c.Slices, sc.Slices-1, sc.Slices-1)
		case c.Blocks < 1 || c.Blocks > model.MaxBlocks:
			return nil, rangeErr(p, "class %s: %d blocks (want 1..%d)", c.Name, c.Blocks, model.MaxBlocks)
		case c.Path == PathSmall && (c.Huge || c.Slices != 1):
			return nil, rangeErr(p, "class %s: path=small needs a one-slice page (objects of at most 1 KiB live on small pages)", c.Name)
		}
	}
	for t, prog := range sc.Threads {
		if len(prog) > 250 {
			return nil, rangeErr(pos{threadLine[t], 1}, "thread %d has %d operations (at most 250)", t+1, len(prog))
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, &ScenarioError{File: name, Msg: strings.TrimPrefix(err.Error(), "scenario "+sc.Name+": ")}
	}
	return sc, nil
}

// parseProgram parses "a = malloc(S); send a -> m0; free a; exit".
// It returns the ops, the register names and the number of mailboxes used.
func parseProgram(body string, classes map[string]uint8) ([]Op, []string, int, error) {
	var ops []Op
	var regs []string
	reg := func(n string) (uint8, error) {
		n = strings.TrimSpace(n)
		if n == "" || strings.ContainsAny(n, " ()<>-=") {
			return 0, fmt.Errorf("bad register name %q", n)
		}
		for i, r := range regs {
			if r == n {
				return uint8(i), nil
			}
		}
		if len(regs) >= model.MaxRegs {
			return 0, fmt.Errorf("more than %d registers", model.MaxRegs)
		}
		regs = append(regs, n)
		return uint8(len(regs) - 1), nil
	}
	mbox := 0
	mb := func(n string) (uint8, error) {
		n = strings.TrimSpace(n)
		if !strings.HasPrefix(n, "m") {
			return 0, fmt.Errorf("bad mailbox %q (want m0..m%d)", n, model.MaxMailboxes-1)
		}
		k, err := strconv.Atoi(n[1:])
		if err != nil || k < 0 || k >= model.MaxMailboxes {
			return 0, fmt.Errorf("bad mailbox %q (want m0..m%d)", n, model.MaxMailboxes-1)
		}
		if k+1 > mbox {
			mbox = k + 1
		}
		return uint8(k), nil
	}
	// one operation s, appended to ops
	parse := func(s string) error {
		switch {
		case s == "exit":
			ops = append(ops, Op{Kind: OpExit})
		case s == "collect":
			ops = append(ops, Op{Kind: OpCollect})
		case s == "collect force" || s == "force-collect":
			ops = append(ops, Op{Kind: OpForceCollect})
		case s == "init":
			ops = append(ops, Op{Kind: OpInit})
		case strings.HasPrefix(s, "free "):
			r, err := reg(s[5:])
			if err != nil {
				return err
			}
			ops = append(ops, Op{Kind: OpFree, A: r})
		case strings.HasPrefix(s, "send "):
			lhs, rhs, ok := strings.Cut(s[5:], "->")
			if !ok {
				return fmt.Errorf("send wants: send REG -> mN")
			}
			r, err := reg(lhs)
			if err != nil {
				return err
			}
			m, err := mb(rhs)
			if err != nil {
				return err
			}
			ops = append(ops, Op{Kind: OpSend, A: r, B: m})
		case strings.Contains(s, "<-"):
			lhs, rhs, _ := strings.Cut(s, "<-")
			r, err := reg(lhs)
			if err != nil {
				return err
			}
			m, err := mb(rhs)
			if err != nil {
				return err
			}
			ops = append(ops, Op{Kind: OpRecv, A: m, B: r})
		case strings.Contains(s, "= malloc(") && strings.HasSuffix(s, ")"):
			lhs, rhs, _ := strings.Cut(s, "=")
			r, err := reg(lhs)
			if err != nil {
				return err
			}
			cn := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(rhs), "malloc("), ")")
			c, ok := classes[cn]
			if !ok {
				if len(classes) == 0 {
					// default classes are S and M
					switch cn {
					case "S":
						c, ok = 0, true
					case "M":
						c, ok = 1, true
					}
				}
				if !ok {
					return fmt.Errorf("unknown size class %q", cn)
				}
			}
			ops = append(ops, Op{Kind: OpMalloc, A: c, B: r})
		default:
			return fmt.Errorf("unknown operation %q", s)
		}
		if err := checkRegister(ops, regs); err != nil {
			return fmt.Errorf("operation %d (%s): %v", len(ops), s, err)
		}
		return nil
	}
	off := 0 // the byte offset of each operation's text in body
	for _, raw := range strings.Split(body, ";") {
		at := off + len(raw) - len(strings.TrimLeft(raw, " "))
		off += len(raw) + 1
		if s := strings.TrimSpace(raw); s != "" {
			if err := parse(s); err != nil {
				return nil, nil, 0, &opError{off: at, err: err}
			}
		}
	}
	return ops, regs, mbox, nil
}

// checkRegister checks the last of ops against the registers' contents in
// program order: a free or send of a register that was never assigned
// (the register "_" stands for no block: a send of it is a pure signal),
// and a malloc or receive into a register that still holds a block (the
// scenario would leak it), are scenario errors.
func checkRegister(ops []Op, regs []string) error {
	const never, live, empty = 0, 1, 2
	state := make([]int, len(regs))
	for k, op := range ops {
		var r uint8
		switch op.Kind {
		case OpMalloc, OpRecv:
			r = op.B
		case OpFree, OpSend:
			r = op.A
		default:
			continue
		}
		if regs[r] == "_" {
			continue
		}
		last := k == len(ops)-1
		switch op.Kind {
		case OpMalloc, OpRecv:
			if state[r] == live && last {
				return fmt.Errorf("register %s still holds a block: the scenario would leak it (free or send it first)", regs[r])
			}
			state[r] = live
		case OpFree, OpSend:
			if state[r] == never && last {
				return fmt.Errorf("register %s is used before it is assigned", regs[r])
			}
			state[r] = empty
		}
	}
	return nil
}

// OpText renders operation k of thread t in the scenario file format
// ("a = malloc(S)", "free a", "send a -> m0", ...), or "end" past the
// program's last operation.
func (sc *Scenario) OpText(t, k int) string {
	if t < 0 || t >= len(sc.Threads) || k < 0 || k >= len(sc.Threads[t]) {
		return "end"
	}
	op := sc.Threads[t][k]
	reg := func(r uint8) string {
		if t < len(sc.RegNames) && int(r) < len(sc.RegNames[t]) {
			return sc.RegNames[t][r]
		}
		return fmt.Sprintf("r%d", r)
	}
	switch op.Kind {
	case OpMalloc:
		name := fmt.Sprintf("class%d", op.A)
		if int(op.A) < len(sc.Classes) {
			name = sc.Classes[op.A].Name
		}
		return fmt.Sprintf("%s = malloc(%s)", reg(op.B), name)
	case OpFree:
		return "free " + reg(op.A)
	case OpSend:
		return fmt.Sprintf("send %s -> m%d", reg(op.A), op.B)
	case OpRecv:
		return fmt.Sprintf("%s <- m%d", reg(op.B), op.A)
	case OpCollect:
		return "collect"
	case OpForceCollect:
		return "collect force"
	case OpInit:
		return "init"
	case OpExit:
		return "exit"
	}
	return "end"
}
