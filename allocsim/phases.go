package allocsim

// Program-counter values (phases). A thread's PC always names either a
// local phase, which runLocal executes within the current step, or a shared
// phase, which is the next step's single shared access. Local phases are
// below pcShared, shared phases at or above.
const (
	pcStart uint8 = iota // start the next operation of the program
	pcDone               // the program has ended

	// malloc (_mi_malloc_generic and below)
	pcMallocFind      // mi_find_free_page: a heap page with a free block
	pcMallocNextPage  // mi_page_queue_find_free_ex: next page to collect
	pcMallocAfterXchg // after collecting a page's xthread_free
	pcMallocFresh     // mi_page_fresh -> _mi_segment_page_alloc from the span queues

	// abandoned-set cursor loop (mi_segment_try_reclaim / _mi_abandoned_collect)
	pcCursorIter   // loop head: one more try?
	pcCursorScan   // find the next set bit in the bitmap snapshot
	pcCursorEnd    // cursor exhausted
	pcCheckFree    // mi_segment_check_free: walk to the next used page
	pcCheckFreePg  // after collecting a page in check_free
	pcCheckDone    // decision after check_free
	pcReclaimedFor // mi_segment_reclaim_or_alloc: what to do with the result

	// mi_segment_reclaim
	pcReclaimNext    // walk the spans of the claimed segment
	pcReclaimPg      // after collecting a page in reclaim
	pcReclaimEnd     // end of reclaim (free the segment if empty)
	pcSegFree        // mi_segment_free: unlink free spans (then pcSlotFree)
	pcAbandon        // mi_segment_abandon: unlink free spans (then pcAbTID)
	pcExitNext       // thread exit: next heap page
	pcExitPg         // thread exit: after collecting a page
	pcFreeLocal      // mi_free_block_local
	pcFreeAfterRcl   // _mi_segment_attempt_reclaim succeeded: recursive local free
	pcFinish         // end the current operation
	pcRetiredNext    // _mi_heap_collect_retired: next retired bin
	pcRetiredResume  // resume the retired-page loop after a segment free/abandon
	pcExitStart      // mi_heap_collect_ex: collect retired pages first
	pcMallocRetired  // mi_page_queue_find_free_ex: collect retired pages before mi_page_fresh
	pcMallocGeneric  // _mi_malloc_generic: maybe process the heap's delayed frees
	pcMallocToFull   // mi_page_to_full done: go on with the next page
	pcDfNext         // _mi_heap_delayed_free_partial: next taken block
	pcDfAfterXchg    // _mi_free_delayed_block: free the block locally
	pcExitNever      // mi_heap_collect_ex(MI_ABANDON): next page to mark NEVER_DELAYED_FREE
	pcExitRetired    // mi_heap_collect_ex: collect retired pages, then the page loop
	pcCursorOSNext   // cursor over the OS abandoned list: next entry
	pcTryAbandon     // mi_segments_try_abandon: force-abandon segments above the target
	pcFANext         // mi_segment_force_abandon: next used page
	pcFAPage         // mi_segment_force_abandon: after collecting the page
	pcFAAfter        // mi_segment_force_abandon: after the page (next slice)
	pcMallocFindPage // mi_find_page: large/huge pages, or mi_find_free_page's check of pq->first

	pcShared uint8 = 64
)

// Shared phases: exactly one access to a field another thread may touch.
const (
	pcFLoad         = pcShared + iota // free: load segment->thread_id
	pcFUnclaim                        // free: atomic unclaim of the abandoned bit
	pcFRdBit                          // BUG_C: plain read of the abandoned bit
	pcFClrBit                         // BUG_C: plain clear of the abandoned bit
	pcFPush                           // free: CAS-push on page->xthread_free
	pcRcTID                           // reclaim: store thread_id := t
	pcRcXchg                          // reclaim: collect a page's xthread_free
	pcCfXchg                          // check_free: collect a page's xthread_free
	pcSlotFree                        // mi_segment_os_free: give the slot back
	pcAbTID                           // abandon: store thread_id := 0
	pcMark                            // mark abandoned: set the bitmap bit (+count)
	pcSubproc                         // BUG_SUBPROC: late read of segment->subproc
	pcAXchg                           // malloc: collect a page's xthread_free
	pcTrCnt                           // load abandoned_count
	pcTrMap                           // load the bitmap word
	pcTrUnclaim                       // cursor: atomic unclaim of one bit
	pcSlotClaim                       // mi_segment_alloc: claim a free arena slot
	pcExXchg                          // thread exit: collect a page's xthread_free
	pcFCasTF                          // free (full): CAS on page->xthread_free (push or set DELAYED_FREEING)
	pcFLoadHeap                       // free (full): load page->xheap
	pcFPushDelayed                    // free (full): push on heap->thread_delayed_free
	pcFResetDelayed                   // free (full): reset DELAYED_FREEING to NO_DELAYED_FREE
	pcDfTake                          // owner: take heap->thread_delayed_free
	pcDfUse                           // owner: _mi_page_try_use_delayed_free(USE_DELAYED_FREE)
	pcDfXchg                          // owner: collect the page's xthread_free
	pcDfRepush                        // owner: put a block back on the delayed list
	pcExNever                         // exit: _mi_page_use_delayed_free(NEVER_DELAYED_FREE)
	pcRcHeap                          // reclaim (full): mi_page_set_heap (store xheap)
	pcRcUse                           // reclaim (full): _mi_page_use_delayed_free(USE_DELAYED_FREE, override)
	pcToFullXchg                      // malloc (full): mi_page_to_full's collect
	pcOsLockMark                      // mark abandoned (OS, v2.3.0+): lock abandoned_os_lock, append at the tail
	pcOsUnlockMark                    // mark abandoned (OS, v2.3.0+): release abandoned_os_lock
	pcOsTryLockFree                   // reclaim-on-free (OS, v2.3.0+): try-lock, unlink, thread_id := t
	pcOsUnlockFree                    // reclaim-on-free (OS, v2.3.0+): release abandoned_os_lock
	pcOsCasTID                        // reclaim-on-free (OS, v2.1.7): CAS thread_id 0 -> t
	pcOsVisitLock                     // cursor (OS, v2.3.0+): abandoned_os_visit_lock (try-lock; blocking for a forced collect)
	pcOsLockPop                       // cursor (OS, v2.3.0+): lock abandoned_os_lock, pop the head
	pcOsUnlockPop                     // cursor (OS, v2.3.0+): release abandoned_os_lock
	pcOsVisitUnlock                   // cursor done (OS, v2.3.0+): release abandoned_os_visit_lock
	pcFAXchg                          // force abandon: collect the page's xthread_free
	pcFANever                         // force abandon: _mi_page_use_delayed_free(NEVER_DELAYED_FREE)
	pcFAWalkPub                       // force abandon (harmful-publish mode): walk a segment after publishing it
	pcFAClearPub                      // force abandon (harmful-publish mode): dont_free := false, read used
	pcFACap                           // force abandon: read page->capacity after _mi_heap_delayed_free_all
	pcSend                            // scenario hand-off: put
	pcRecv                            // scenario hand-off: take
)

// Cursor callers (Thread.Mode).
const (
	modeTryReclaim uint8 = 1 // mi_segment_try_reclaim (allocation)
	modeCollect    uint8 = 2 // _mi_abandoned_collect (thread exit)
)

// The collect in progress (Thread.Coll): mi_collect_t in the low bits.
const (
	collNormal  uint8 = 1 // MI_NORMAL: mi_heap_collect(heap, false)
	collForce   uint8 = 2 // MI_FORCE: mi_heap_collect(heap, true)
	collAbandon uint8 = 3 // MI_ABANDON: thread exit
	collKind    uint8 = 3 // mask of the kind
	collOOM     uint8 = 4 // the forced collect of _mi_malloc_generic's out-of-memory path
)

// Operation flags (Thread.Flags).
const (
	flHasRoom   uint8 = 1   // check_free found room
	flWantRight uint8 = 2   // reclaim was asked for a right page
	flRight     uint8 = 4   // reclaim found a right page with free blocks
	flFreed     uint8 = 8   // reclaim freed the segment
	flForce     uint8 = 16  // _mi_heap_collect_retired(force)
	flDfAll     uint8 = 32  // _mi_heap_delayed_free_all (repeat until every block is freed)
	flDfAgain   uint8 = 64  // a delayed block was put back: take the list again
	flVisitLock uint8 = 128 // the cursor holds abandoned_os_visit_lock
)
