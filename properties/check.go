package properties

import (
	"math/bits"
	"strconv"
	"strings"

	"mimcheck/model"
)

// Check runs every per-step invariant on s and returns the first violation,
// or nil. Operation preconditions found broken inside the step (model.Fault)
// are reported first, under their invariant's name.
func (c *Checker) Check(s *model.State) error {
	if s.Fault.Code == uint8(model.FaultCut) { // past a site: not reported
		return nil
	}
	if f := s.Fault; f.Code != 0 {
		code := model.FaultCode(f.Code)
		if code == model.FaultDataRace {
			return violation("no-data-race", "%s", c.m.RaceDetail(f))
		}
		return violation(faultInvariant(code), "%s by thread T%d on segment %d slice %d", code, f.Thread, f.Seg, f.Slice)
	}
	var inq [model.MaxSegments * model.MaxSlices]uint8
	if v := c.checkQueues(s, &inq); v != nil {
		return v
	}
	if v := c.checkBlocks(s); v != nil {
		return v
	}
	if v := c.checkSegments(s, &inq); v != nil {
		return v
	}
	if !c.m.Spin() {
		if v := c.checkDelayed(s); v != nil {
			return v
		}
	}
	if c.m.KeepsOSList() {
		if v := c.checkOSList(s); v != nil {
			return v
		}
	}
	return nil
}

// checkDelayed: the delayed-free modes (invariants.md: delayed-mode-protocol).
func (c *Checker) checkDelayed(s *model.State) *Violation {
	holders := c.m.DelayedFreeingHolders(s)
	for g := 0; g < c.dims.Segments; g++ {
		sg := &s.Segs[g]
		for i := 0; i < c.dims.Slices; i++ {
			p := &s.Slices[g][i]
			x := g*model.MaxSlices + i
			if holders[x] > 1 {
				return violation("delayed-mode-protocol", "page (segment %d, slice %d) is held MI_DELAYED_FREEING by %d threads", g, i, holders[x])
			}
			if !sg.Live || p.BlockSize < model.BlockPage0 {
				continue
			}
			if (p.Delayed == model.DelayedFreeing) != (holders[x] == 1) {
				return violation("delayed-mode-protocol", "page (segment %d, slice %d) is in mode %d but %d remote frees hold MI_DELAYED_FREEING", g, i, p.Delayed, holders[x])
			}
			if sg.ThreadID == 0 && p.Delayed != model.NeverDelayedFree {
				return violation("delayed-mode-protocol", "page (segment %d, slice %d) of abandoned segment %d is not MI_NEVER_DELAYED_FREE (mode %d)", g, i, g, p.Delayed)
			}
			if sg.ThreadID != 0 && p.Heap != model.NoThread && p.Delayed == model.NeverDelayedFree && !c.m.Spin() && !c.m.NeverDelayedExempt(s, g, i) {
				return violation("delayed-mode-protocol", "page (segment %d, slice %d) of segment %d owned by T%d is MI_NEVER_DELAYED_FREE: remote frees of its blocks never reach its heap's delayed list", g, i, g, sg.ThreadID)
			}
			if (p.HeapDelayed != 0 || p.Taken != 0) && p.Heap == 0 {
				return violation("delayed-mode-protocol", "page (segment %d, slice %d) has blocks on a heap's delayed list but no heap", g, i)
			}
		}
	}
	return nil
}

// checkQueues: Q1 (well-formed lists) and the queue half of Q2/S2.
func (c *Checker) checkQueues(s *model.State, inq *[model.MaxSegments * model.MaxSlices]uint8) *Violation {
	limit := c.dims.Segments * c.dims.Slices
	for t := 0; t < c.dims.Threads; t++ {
		tid := model.TIDOf(t)
		for b := 1; b < c.dims.Slices; b++ {
			q := s.Threads[t].Spans[b-1]
			var prev uint8
			n := 0
			for e := q.First; e != 0; e = s.Slices[int(e-1)/model.MaxSlices][int(e-1)%model.MaxSlices].Next {
				g, i := slot(e - 1)
				if g >= c.dims.Segments || i >= c.dims.Slices {
					return violation("span-queue-well-formed", "T%d bin %d links to slice index %d outside the arena", tid, b, e-1)
				}
				if n++; n > limit {
					return violation("span-queue-well-formed", "T%d bin %d has a cycle", tid, b)
				}
				sl := &s.Slices[g][i]
				if sl.Prev != prev {
					return violation("span-queue-well-formed", "T%d bin %d: segment %d slice %d has prev %d, want %d", tid, b, g, i, sl.Prev, prev)
				}
				if !s.Segs[g].Live || sl.BlockSize != model.BlockFree || sl.SliceOffset != 0 || int(sl.SliceCount) != b {
					return violation("span-queue-well-formed", "T%d bin %d holds segment %d slice %d which is not a free span head of %d slices", tid, b, g, i, b)
				}
				if s.Segs[g].ThreadID != tid {
					return violation("span-queue-membership", "T%d bin %d holds segment %d slice %d but segment %d is owned by thread_id %d", tid, b, g, i, g, s.Segs[g].ThreadID)
				}
				inq[e-1]++
				if inq[e-1] > 1 {
					return violation("span-queue-membership", "segment %d slice %d is in two queues", g, i)
				}
				prev = e
			}
			if q.Last != prev {
				return violation("span-queue-well-formed", "T%d bin %d: last is %d, want %d", tid, b, q.Last, prev)
			}
		}
	}
	for g := 0; g < c.dims.Segments; g++ {
		for i := 0; i < c.dims.Slices; i++ {
			sl := &s.Slices[g][i]
			if inq[g*model.MaxSlices+i] == 0 && (sl.Prev != 0 || sl.Next != 0) {
				return violation("span-queue-membership", "segment %d slice %d has queue links but is in no queue", g, i)
			}
		}
	}
	return nil
}

// markLive records a block handle held by the program; a handle held twice
// is a block handed out twice.
// where and n name the holder (a register of thread n, or mailbox n); the
// text is only built for a violation.
// A handle naming a slice outside the scenario's arena (dims) is malformed.
func markLive(live *[model.MaxSegments * model.MaxSlices]uint8, d model.Dims, h uint8, where string, n int) *Violation {
	if h == 0 || h == model.NullHandle {
		return nil
	}
	x := (h - 1) / model.MaxBlocks
	bit := uint8(1) << ((h - 1) % model.MaxBlocks)
	if g, i := slot(x); int(x) >= len(live) || g >= d.Segments || i >= d.Slices {
		return violation("block-conservation", "%s %d holds a malformed block handle %d (no slice of the arena)", where, n, h)
	}
	if live[x]&bit != 0 {
		g, i := slot(x)
		return violation("block-conservation", "block %d of page (segment %d, slice %d) is held twice (%s %d)", bits.TrailingZeros8(bit), g, i, where, n)
	}
	live[x] |= bit
	return nil
}

// checkBlocks: B1 (per-page partition, used count) and B2 (live blocks are
// exactly those held by threads or mailboxes, once each).
func (c *Checker) checkBlocks(s *model.State) *Violation {
	var live [model.MaxSegments * model.MaxSlices]uint8
	for t := 0; t < c.dims.Threads; t++ {
		for _, h := range s.Threads[t].Regs {
			if v := markLive(&live, c.dims, h, "a register", t+1); v != nil {
				return v
			}
		}
	}
	for k := 0; k < c.dims.Mailboxes; k++ {
		if v := markLive(&live, c.dims, s.Mailbox[k], "mailbox m", k); v != nil {
			return v
		}
	}
	for g := 0; g < c.dims.Segments; g++ {
		for i := 0; i < c.dims.Slices; i++ {
			p := &s.Slices[g][i]
			x := g*model.MaxSlices + i
			if s.Segs[g].Live && p.BlockSize >= model.BlockPage0 && p.SliceCount > 0 {
				cls := int(p.BlockSize - model.BlockPage0)
				if cls >= len(c.sc.Classes) {
					return violation("block-conservation", "segment %d slice %d has an unknown size class", g, i)
				}
				blocks := c.sc.Classes[cls].Blocks
				all := uint8(1)<<blocks - 1
				f, tf, lv, df, tk := p.Free|p.LocalFree, p.XThreadFree, p.Live, p.HeapDelayed, p.Taken
				if p.Free&p.LocalFree != 0 {
					return violation("block-conservation", "page (segment %d, slice %d): a block is on free and local_free", g, i)
				}
				if f&tf != 0 || f&lv != 0 || tf&lv != 0 || df&(f|tf|lv) != 0 || tk&(f|tf|lv|df) != 0 {
					return violation("block-conservation", "page (segment %d, slice %d): a block is on two lists (free %04b, xthread_free %04b, live %04b, heap-delayed %04b, taken %04b)", g, i, f, tf, lv, df, tk)
				}
				if f|tf|lv|df|tk != all {
					return violation("block-conservation", "page (segment %d, slice %d): a block is lost (free %04b, xthread_free %04b, live %04b, heap-delayed %04b, taken %04b)", g, i, f, tf, lv, df, tk)
				}
				if int(p.Used) != int(blocks)-bits.OnesCount8(f) {
					return violation("block-conservation", "page (segment %d, slice %d): used %d but %d blocks not free", g, i, p.Used, int(blocks)-bits.OnesCount8(f))
				}
			} else if p.Free != 0 || p.LocalFree != 0 || p.XThreadFree != 0 || p.Live != 0 || p.Used != 0 || p.HeapDelayed != 0 || p.Taken != 0 {
				return violation("block-conservation", "segment %d slice %d is not a page but has blocks", g, i)
			}
			if p.Live != live[x] {
				return violation("block-conservation", "page (segment %d, slice %d): live blocks %04b, but the program holds %04b", g, i, p.Live, live[x])
			}
		}
	}
	return nil
}

// checkSegments: O1 (exclusive access), S1 (tiling), S2 (queue membership
// per segment), S3 (counters).
func (c *Checker) checkSegments(s *model.State, inq *[model.MaxSegments * model.MaxSlices]uint8) *Violation {
	for g := 0; g < c.dims.Segments; g++ {
		sg := &s.Segs[g]
		bit := s.AbandonedMap&(1<<g) != 0
		if !sg.Live {
			if sg.ThreadID != 0 || sg.Holder != 0 || bit {
				return violation("segment-single-owner", "freed slot %d has thread_id %d, holder T%d, abandoned bit %v", g, sg.ThreadID, sg.Holder, bit)
			}
			continue
		}
		if !sg.SubprocValid {
			return violation("no-use-after-free", "segment %d has no valid subproc", g)
		}
		published := bit || sg.OSListed
		if published == (sg.Holder != 0) {
			return violation("segment-single-owner", "segment %d: published %v but holder T%d", g, published, sg.Holder)
		}
		if published && sg.ThreadID != 0 {
			return violation("segment-single-owner", "segment %d is published as abandoned but thread_id is %d", g, sg.ThreadID)
		}
		if sg.ThreadID != 0 && sg.Holder != sg.ThreadID {
			return violation("segment-single-owner", "segment %d is owned by thread_id %d but held by T%d", g, sg.ThreadID, sg.Holder)
		}
		if sg.OSListed && !sg.OS {
			return violation("segment-single-owner", "arena segment %d is marked as on the OS abandoned list", g)
		}
		if sg.Busy {
			continue
		}
		if v := c.checkTiling(s, g, inq); v != nil {
			return v
		}
	}
	return nil
}

// checkOSList: the OS abandoned list holds exactly the listed segments,
// each once (segment-single-owner: one abandoned container).
func (c *Checker) checkOSList(s *model.State) *Violation {
	var seen [model.MaxSegments]bool
	for k, e := range s.OSList {
		if e == 0 {
			for _, rest := range s.OSList[k:] {
				if rest != 0 {
					return violation("segment-single-owner", "the OS abandoned list has a hole at %d", k)
				}
			}
			break
		}
		g := int(e - 1)
		if g >= c.dims.Segments || seen[g] || !s.Segs[g].Live || !s.Segs[g].OSListed {
			return violation("segment-single-owner", "the OS abandoned list entry %d (segment %d) is not a listed live segment, or is listed twice", k, g)
		}
		seen[g] = true
	}
	for g := 0; g < c.dims.Segments; g++ {
		if s.Segs[g].OSListed && !seen[g] {
			return violation("segment-single-owner", "segment %d is marked abandoned on the OS list but is not on it", g)
		}
	}
	return nil
}

func (c *Checker) checkTiling(s *model.State, g int, inq *[model.MaxSegments * model.MaxSlices]uint8) *Violation {
	sg := &s.Segs[g]
	sl := &s.Slices[g]
	if sl[0].SliceCount != 1 || sl[0].BlockSize != model.BlockUsed {
		return violation("spans-tile-segment", "segment %d: slice 0 is not the segment info", g)
	}
	pages, free, queued := 0, 0, 0
	prevFree := false
	i := 1
	for i < c.dims.Slices {
		n := int(sl[i].SliceCount)
		if n < 1 || i+n > c.dims.Slices || sl[i].SliceOffset != 0 {
			return violation("spans-tile-segment", "segment %d: slice %d is not a span head (count %d, offset %d)", g, i, n, sl[i].SliceOffset)
		}
		if sl[i].BlockSize == model.BlockFree {
			if prevFree {
				return violation("spans-tile-segment", "segment %d: free span at slice %d is not coalesced with its predecessor", g, i)
			}
			if n > 1 && !sg.Huge { // a huge span is only marked free (segment.c: coalesce)
				last := &sl[i+n-1]
				if last.SliceCount != 0 || int(last.SliceOffset) != n-1 || last.BlockSize != model.BlockFree {
					return violation("spans-tile-segment", "segment %d: free span at slice %d has a bad last slice", g, i)
				}
			}
			q := inq[g*model.MaxSlices+i]
			if sg.Huge && q != 0 {
				return violation("span-queue-membership", "huge segment %d: free span at slice %d is queued", g, i)
			}
			if sg.ThreadID != 0 && q != 1 && !sg.Huge {
				return violation("span-queue-membership", "segment %d (owner thread_id %d): free span at slice %d is in no queue", g, sg.ThreadID, i)
			}
			if sg.ThreadID == 0 && q != 0 {
				return violation("span-queue-membership", "abandoned segment %d: free span at slice %d is still queued", g, i)
			}
			prevFree = true
			free++
		} else {
			if sl[i].BlockSize < model.BlockPage0 {
				return violation("spans-tile-segment", "segment %d: span at slice %d is neither free nor a page", g, i)
			}
			if inq[g*model.MaxSlices+i] != 0 {
				return violation("span-queue-membership", "segment %d: page at slice %d is queued", g, i)
			}
			for j := 1; j < n; j++ {
				if sl[i+j].SliceCount != 0 || int(sl[i+j].SliceOffset) != j || sl[i+j].BlockSize != model.BlockUsed || inq[g*model.MaxSlices+i+j] != 0 {
					return violation("spans-tile-segment", "segment %d: page at slice %d has a bad interior slice %d", g, i, i+j)
				}
			}
			pages++
			prevFree = false
		}
		i += n
	}
	for j := 0; j < c.dims.Slices; j++ {
		queued += int(inq[g*model.MaxSlices+j])
	}
	want := 0
	if sg.ThreadID != 0 && !sg.Huge {
		want = free
	}
	if queued != want {
		return violation("span-queue-membership", "segment %d: %d queued slices, %d free span heads", g, queued, want)
	}
	if int(sg.Used) != pages {
		return violation("segment-used-count", "segment %d: used %d but %d pages", g, sg.Used, pages)
	}
	if pages == 0 {
		return violation("segment-used-count", "segment %d is live with no page (an empty segment is freed)", g)
	}
	if sg.ThreadID != 0 && sg.Abandoned != 0 {
		return violation("segment-used-count", "owned segment %d has abandoned %d", g, sg.Abandoned)
	}
	if sg.ThreadID == 0 && sg.Abandoned != sg.Used {
		return violation("segment-used-count", "abandoned segment %d: abandoned %d != used %d", g, sg.Abandoned, sg.Used)
	}
	return nil
}

// Final checks a state in which no thread can step: a deadlock unless all
// threads are done, and then the end-state invariant (F).
func (c *Checker) Final(s *model.State) error {
	if s.Fault.Code == uint8(model.FaultCut) { // a cut state is not an end state
		return nil
	}
	if !c.m.AllDone(s) {
		var waiting []string
		for t := 0; t < c.dims.Threads; t++ {
			if !c.m.Done(s, t) {
				waiting = append(waiting, "T"+strconv.Itoa(t+1))
			}
		}
		return violation("deadlock-free", "no thread can step; waiting: %s", strings.Join(waiting, " "))
	}
	for k := 0; k < c.dims.Mailboxes; k++ {
		if s.Mailbox[k] != 0 {
			return violation("quiescent-clean", "mailbox m%d is not empty at the end", k)
		}
	}
	for g := 0; g < c.dims.Segments; g++ {
		for i := 0; i < c.dims.Slices; i++ {
			if s.Slices[g][i].Live != 0 {
				return violation("quiescent-clean", "page (segment %d, slice %d) still has live blocks at the end", g, i)
			}
			if p := &s.Slices[g][i]; p.HeapDelayed != 0 || p.Taken != 0 {
				return violation("quiescent-clean", "page (segment %d, slice %d) has blocks left on a heap's thread_delayed_free list at the end", g, i)
			}
		}
	}
	for t := 0; t < c.dims.Threads; t++ {
		for b := 0; b < c.dims.Slices-1; b++ {
			if q := s.Threads[t].Spans[b]; q.First != 0 || q.Last != 0 {
				return violation("quiescent-clean", "T%d bin %d is not empty at the end", t+1, b+1)
			}
		}
	}
	published := 0
	for g := 0; g < c.dims.Segments; g++ {
		sg := &s.Segs[g]
		bit := s.AbandonedMap&(1<<g) != 0
		if bit || (sg.Live && sg.OSListed) {
			published++
		}
		if sg.Live && (sg.ThreadID != 0 || !(bit || sg.OSListed) || sg.Holder != 0 || sg.Busy) {
			return violation("quiescent-clean", "segment %d survives but is not abandoned and published", g)
		}
	}
	if int(s.AbandonedCount) != published {
		return violation("quiescent-clean", "abandoned_count %d but %d segments published as abandoned", s.AbandonedCount, published)
	}
	return nil
}
