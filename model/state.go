package model

// ThreadID is the value mimalloc stores in segment->thread_id and
// page->xheap's owner: 0 (NoThread) means "abandoned" / "no heap"; the
// simulated thread with scheduler index i has ThreadID i+1. The scheduler
// index and the ThreadID are kept apart on purpose (style.md §3).
type ThreadID uint8

// NoThread is thread_id 0: the segment is abandoned (or the page has no heap).
const NoThread ThreadID = 0

// TIDOf returns the ThreadID of scheduler index i.
func TIDOf(i int) ThreadID { return ThreadID(i + 1) }

// Index returns the scheduler index of a non-zero ThreadID.
func (t ThreadID) Index() int { return int(t) - 1 }

// Block-size markers of a slice (mimalloc's slice->block_size, scaled down).
const (
	// BlockFree marks a free span head or the last slice of a free span.
	BlockFree uint8 = 0
	// BlockUsed marks the segment-info slice, interior and last slices of a
	// page, and a slice just taken out of a span queue.
	BlockUsed uint8 = 1
	// BlockPage0 + c marks the head slice of a page of size class c.
	BlockPage0 uint8 = 2
)

// DelayedMode is the delayed-free mode kept in the low bits of
// page->xthread_free (types.h: mi_delayed_t).
type DelayedMode uint8

// The four delayed-free modes of mimalloc v2.
const (
	UseDelayedFree   DelayedMode = 0 // MI_USE_DELAYED_FREE: push frees on the heap's delayed list
	DelayedFreeing   DelayedMode = 1 // MI_DELAYED_FREEING: a remote thread is pushing on the heap list
	NoDelayedFree    DelayedMode = 2 // MI_NO_DELAYED_FREE: push frees on the page's xthread_free
	NeverDelayedFree DelayedMode = 3 // MI_NEVER_DELAYED_FREE: sticky no-delayed (abandoned pages)
)

// Slice is one slice of a segment (types.h: mi_slice_t, which is also
// mi_page_t). The page fields are meaningful on the head slice of a used span.
type Slice struct {
	SliceCount  uint8 // slice_count (0 on non-head slices)
	SliceOffset uint8 // slice_offset, in slices, back to the span head
	BlockSize   uint8 // BlockFree, BlockUsed, or BlockPage0+class
	Prev        uint8 // span-queue prev: global slice index + 1, 0 = NULL
	Next        uint8 // span-queue next: global slice index + 1, 0 = NULL

	Free        uint8       // page->free, as a block bit set (∪ local_free under --abstraction spin)
	LocalFree   uint8       // page->local_free (full model)
	XThreadFree uint8       // page->xthread_free block list, as a bit set
	Delayed     DelayedMode // delayed-free mode bits of page->xthread_free
	Used        uint8       // page->used
	Live        uint8       // ghost: blocks handed out to the program
	HeapDelayed uint8       // blocks of this page on its heap's thread_delayed_free list
	Taken       uint8       // blocks the owner took off its heap's delayed list and is freeing
	Heap        ThreadID    // page->xheap: the heap (= thread) that owns the page, 0 = NULL
	Retire      uint8       // page->retire_expire
	InFull      bool        // page->flags.x.in_full: the page is in the heap's FULL queue
	// Age (ghost, retired-page-expires monitor): 0, or 1 + the number of
	// _mi_heap_collect_retired calls of the page's heap since the page was
	// last retired (kept all free and not reused since)
	Age uint8
}

// Segment is the shared header of one arena slot (types.h: mi_segment_t).
type Segment struct {
	ThreadID        ThreadID // thread_id: owner, 0 = abandoned
	Used            uint8    // used: pages in use
	Abandoned       uint8    // abandoned: abandoned pages
	AbandonedVisits uint8    // abandoned_visits
	WasReclaimed    bool     // was_reclaimed
	Live            bool     // the arena slot holds a live segment
	SubprocValid    bool     // segment->subproc points at the sub-process (memory valid)
	Huge            bool     // kind == MI_SEGMENT_HUGE
	OS              bool     // memid.memkind is OS memory (abandoned on the OS list)
	Holder          ThreadID // ghost: the owner or exclusive claimer; 0 when published or free
	Busy            bool     // ghost: the holder is inside a multi-step operation on it
	OSListed        bool     // on the subprocess's OS abandoned list
	DontFree        bool     // dont_free: mi_segment_force_abandon keeps the memory valid
}

// SpanQueue is one bin of a thread's span queues (types.h: mi_span_queue_t).
type SpanQueue struct {
	First, Last uint8 // global slice index + 1, 0 = empty
}

// Thread is one simulated thread: its program position, the registers of
// the operation in progress, and its thread-local data (tld span queues,
// heap retire bounds). A thread is data, never a closure.
type Thread struct {
	Op    uint8 // index of the current operation in the thread's program
	PC    uint8 // program counter inside the operation (a phase)
	Cont  uint8 // continuation phase after a shared sub-sequence
	Mode  uint8 // which caller runs the abandoned-set cursor (try-reclaim, collect)
	Seg   uint8 // segment under work
	SI    uint8 // slice cursor inside Seg
	CI    uint8 // page cursor (global slice index) or bitmap cursor
	Flags uint8 // operation flags
	Tries uint8 // remaining reclaim tries
	Word  uint8 // snapshot of the abandoned bitmap word
	Aux   uint8 // extra register (full-fidelity steps: loaded values)
	Ret   uint8 // return phase of the delayed-free processing
	Gen   uint8 // heap->generic_count (v2.3.0+: delayed frees every 100 generic mallocs)
	FSeg  uint8 // mi_segment_force_abandon: the segment
	FSI   uint8 // mi_segment_force_abandon: the slice cursor
	FA    uint8 // mi_segment_force_abandon: 1 running, 2 this is the last page, 4 the walk after publishing re-seated; 8 (ghost) the segment of the next step was freed by another thread
	Try   uint8 // _mi_malloc_generic: bit 0 the retry mi_page_queue_find_free_ex(first_try=false) runs, bit 1 the retry after the out-of-memory collect runs
	Coll  uint8 // mi_heap_collect_ex in progress: its mi_collect_t (1 normal, 2 force, 3 abandon), + 4 when it is _mi_malloc_generic's out-of-memory collect

	// HeapInit: the thread's default heap is initialised (not
	// _mi_heap_empty): set by its first allocation or mi_thread_init, reset
	// by thread exit (_mi_thread_heap_done). Full abstraction only.
	HeapInit bool

	// Scan (ghost, scan-complete monitor): during a forced
	// _mi_abandoned_collect of this thread, the segments that were
	// abandoned when it began and that nobody has claimed since (bit g);
	// 0 otherwise.
	Scan uint8

	Regs [MaxRegs]uint8 // block handles held by the program (0 = none)

	Spans [MaxBins]SpanQueue // tld->spans[bin], bin n holds spans of n slices

	RetiredMin uint8 // heap->page_retired_min (class index)
	RetiredMax uint8 // heap->page_retired_max (class index + 1; 0 = none)
}

// Fault records the first operation precondition that a step found broken
// (an assertion of mimalloc's own debug build, or a ghost check such as an
// access to a freed segment). The invariant checker reports it by name.
type Fault struct {
	Code   uint8 // a FaultCode; 0 = none
	Thread uint8 // scheduler index + 1 of the thread whose step broke it
	Seg    uint8 // segment involved
	Slice  uint8 // slice (or block) involved
	// a data race (FaultDataRace): Seg is the location, Slice the label
	// index of the racing step, Other the earlier access's thread + 1 and
	// Kind its kind and that of this access (model.RaceKind)
	Other uint8
	Kind  uint8
}

// State is the whole simulation state: shared memory, ghost state and
// every thread. It is a plain value.
type State struct {
	Segs    [MaxSegments]Segment
	Slices  [MaxSegments][MaxSlices]Slice
	Threads [MaxThreads]Thread

	AbandonedMap   uint8 // arena->blocks_abandoned, bit s = slot s
	AbandonedCount uint8 // subproc->abandoned_count (wraps below 0 like size_t)
	OSListLocked   uint8 // subproc->abandoned_os_lock holder (ThreadID), 0 = free
	OSVisitLocked  uint8 // subproc->abandoned_os_visit_lock holder (ThreadID), 0 = free
	// OSList is subproc->abandoned_os_list in order (segment index + 1,
	// 0 = end): push at the tail, pop at the head. Its length is
	// abandoned_os_list_count.
	OSList [MaxSegments]uint8

	Mailbox [MaxMailboxes]uint8 // scenario hand-off buffers: a block handle, 0 = empty
	Fault   Fault

	Mem Mem // C11 happens-before, store histories and race shadows (all zero when not tracked)
}
