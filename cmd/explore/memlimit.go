package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// errMemory is the cause of a search cancelled by --max-memory.
var errMemory = errors.New("the process reached --max-memory")

// sizeUnits are the suffixes --max-memory accepts (binary multiples; "G"
// and "GB" mean GiB too, as for most tools' memory flags).
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseSize parses a memory size: a number of bytes, or a number with a
// unit (4GiB, 512MiB, 1.5G). "0" means no limit.
func parseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q: want a size such as 4GiB, 512MiB or 0 (no limit)", s)
	}
	return int64(v * float64(mult)), nil
}

// formatSize renders a size in the largest binary unit that keeps it
// readable (64MiB, 17.6GiB).
func formatSize(n int64) string {
	f := func(v float64, unit string) string {
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + unit
	}
	switch {
	case n >= 1<<30:
		return f(float64(n)/(1<<30), "GiB")
	case n >= 1<<20:
		return f(float64(n)/(1<<20), "MiB")
	case n >= 1<<10:
		return f(float64(n)/(1<<10), "KiB")
	}
	return strconv.FormatInt(n, 10) + "B"
}

// machineMemory returns the memory this process may use: the machine's
// MemTotal, or its cgroup's memory.max when that is smaller; 0 when
// neither can be read.
func machineMemory() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) >= 1 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						total = kb << 10
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			total = v
		}
	}
	return total
}

// defaultMaxMemory is --max-memory's default: three quarters of
// machineMemory (the rest for the OS and the table's growth, which
// briefly holds the old and the new table), or no limit when unknown.
func defaultMaxMemory() int64 { return machineMemory() / 4 * 3 }

// peakRSS returns the process's peak resident set size (VmHWM: of this
// program image only, unlike a parent's wait4 figure, which also counts
// the memory the child shared with its parent before exec), or -1.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

// rss returns the process's resident set size, or -1.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

// watchMemory returns a context that is cancelled with cause errMemory
// once the process's resident memory passes limit (polled every 20 ms),
// and sets Go's soft memory limit to it so that the collector works
// harder before that. The returned function stops the watch.
func watchMemory(ctx context.Context, limit int64) (context.Context, func()) {
	if limit <= 0 || rss() < 0 {
		return ctx, func() {}
	}
	old := debug.SetMemoryLimit(limit / 10 * 9)
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if rss() > limit {
					cancel(errMemory)
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
		debug.SetMemoryLimit(old)
	}
}
