package conform

import (
	"fmt"
	"strings"

	"mimcheck/allocsim"
)

// Config returns the harness's configuration lines for sc, or an error
// naming what of the scenario does not map onto mimalloc's C code.
//
// The mapping (documented in the README's conformance section):
//   - `segments N`: an arena of exactly N segment slots, reserved with
//     mi_reserve_os_memory_ex, and mi_option_disallow_os_alloc so that
//     segments come from nowhere else; with `memory os`, no arena: each
//     segment comes from the OS, numbered as the model's slots (the first
//     free number, in allocation order);
//   - `slices S`: every normal segment has S slices of 64 KiB (slice 0
//     holds the segment info), imposed in mi_segment_alloc (see Patches);
//   - a class of 1 slice and 8 blocks (path=generic: an 8 KiB request is
//     above MI_SMALL_SIZE_MAX, so every malloc is _mi_malloc_generic) is a
//     small page of 8 KiB blocks; a
//     class of k >= 2 slices (k >= 3 at v2.1.7, whose medium objects go up
//     to 128 KiB) and 1 block is a large page holding one k*64 KiB object;
//     a huge class is one object larger than
//     MI_LARGE_OBJ_SIZE_MAX. Request sizes leave room for MI_PADDING.
//     Any other class has no C counterpart (a 1-slice page with 2 blocks
//     would need 32 KiB blocks, which mimalloc puts on 512 KiB medium pages).
func Config(sc *allocsim.Scenario, src allocsim.Source) ([]string, error) {
	switch {
	case sc.RetireCycles != 0 && sc.RetireCycles != 16:
		return nil, fmt.Errorf("scenario %s: option retire-cycles=%d needs a build with another MI_RETIRE_CYCLES, which the harness does not make yet", sc.Name, sc.RetireCycles)
	case sc.TargetSegments != 0 && src == allocsim.V217:
		return nil, fmt.Errorf("scenario %s: target-segments-per-thread does not exist at v2.1.7", sc.Name)
	}
	// the smallest one-block page that is a large page: MI_MEDIUM_OBJ_SIZE_MAX
	// is 64 KiB at v2.3.0 and v2.4.1 (MI_MEDIUM_PAGE_SIZE/8) but 128 KiB at
	// v2.1.7 (MI_MEDIUM_PAGE_SIZE/4), where a 128 KiB object goes to a
	// 512 KiB medium page
	minLarge := 2
	if src == allocsim.V217 {
		minLarge = 3
	}
	cfg := []string{fmt.Sprintf("segments %d", sc.Segments), fmt.Sprintf("slices %d", sc.Slices)}
	if sc.OSMemory {
		// segments from the OS: no arena is reserved, and with
		// arena_reserve 0 mimalloc allocates each segment from the OS
		cfg = append(cfg, "memory os")
	}
	for k, c := range sc.Classes {
		switch {
		case c.Huge:
			cfg = append(cfg, fmt.Sprintf("class %d 0 1", k))
		case c.Slices == 1 && c.Blocks == 8 && c.FastPath():
			// the model's small path (alloc.c's fast path) is for requests
			// of at most 1 KiB; an 8 KiB request always runs _mi_malloc_generic
			return nil, fmt.Errorf("scenario %s: class %s: 8 KiB blocks run _mi_malloc_generic in C (alloc.c's fast path is for requests of at most MI_SMALL_SIZE_MAX, 1 KiB): declare it path=generic", sc.Name, c.Name)
		case c.Slices == 1 && c.Blocks == 8, int(c.Slices) >= minLarge && c.Blocks == 1:
			cfg = append(cfg, fmt.Sprintf("class %d %d %d", k, c.Slices, c.Blocks))
		default:
			return nil, fmt.Errorf("scenario %s: class %s (%d slices, %d blocks) has no C counterpart at %s: use 1 slice with 8 blocks (8 KiB blocks) or k >= %d slices with 1 block (a k*64 KiB object, above MI_MEDIUM_OBJ_SIZE_MAX)", sc.Name, c.Name, c.Slices, c.Blocks, src, minLarge)
		}
	}
	if sc.ReclaimOnFree {
		cfg = append(cfg, "option abandoned_reclaim_on_free 1")
	} else {
		cfg = append(cfg, "option abandoned_reclaim_on_free 0")
	}
	if sc.TargetSegments != 0 {
		cfg = append(cfg, fmt.Sprintf("option target_segments_per_thread %d", sc.TargetSegments))
	}
	// no purging (the model has none): a delayed purge compares deadlines
	// with the clock, which would make a run depend on time, not only on
	// its schedule (--mi-option purge_delay=0 purges at once, which does
	// not depend on time either)
	cfg = append(cfg, "option purge_delay -1")
	for t, prog := range sc.Threads {
		l := "thread"
		for _, op := range prog {
			switch op.Kind {
			case allocsim.OpMalloc:
				l += fmt.Sprintf(" m%d=%d", op.B, op.A)
			case allocsim.OpFree:
				l += fmt.Sprintf(" free:%d", op.A)
			case allocsim.OpSend:
				l += fmt.Sprintf(" send:%d>%d", op.A, op.B)
			case allocsim.OpRecv:
				l += fmt.Sprintf(" recv:%d<%d", op.B, op.A)
			case allocsim.OpCollect:
				l += " collect"
			case allocsim.OpForceCollect:
				l += " force"
			case allocsim.OpInit:
				l += " init"
			case allocsim.OpExit:
				l += " exit"
			default:
				return nil, fmt.Errorf("scenario %s: thread %d: operation %v does not map", sc.Name, t+1, op.Kind)
			}
		}
		cfg = append(cfg, l)
	}
	return cfg, nil
}

// WithOptions returns the configuration lines cfg with the mimalloc option
// lines opts ("option NAME VALUE") added before the threads, after the
// scenario's own options (a later line sets the option again).
func WithOptions(cfg, opts []string) []string {
	if len(opts) == 0 {
		return cfg
	}
	k := len(cfg)
	for i, l := range cfg {
		if strings.HasPrefix(l, "thread") {
			k = i
			break
		}
	}
	out := append([]string{}, cfg[:k]...)
	out = append(out, opts...)
	return append(out, cfg[k:]...)
}

// FlavourFits reports whether the build flavour fl runs scenario sc as
// the model does: a scenario with "option stats" needs the statistics
// build (stats; debug builds have statistics too, MI_STAT 2), and the
// stats build runs only such a scenario (without the option the model's
// mi_stat_free initialises no heap).
func FlavourFits(sc *allocsim.Scenario, fl Flavour) error {
	switch {
	case sc.Stats && fl != Stats && fl != Debug:
		return fmt.Errorf("scenario %s has option stats: run it with --flavour stats (a release build with MI_STAT=1), not %s", sc.Name, fl)
	case !sc.Stats && fl == Stats:
		return fmt.Errorf("--flavour stats: scenario %s has no option stats (the model then keeps mi_stat_free out)", sc.Name)
	}
	return nil
}
