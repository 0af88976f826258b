// Package model holds the state of a mimcheck simulation as one plain value.
//
// A State is made of fixed-size arrays of small structs: no pointers, slices,
// maps or closures. Assignment therefore clones it, == compares it, and
// AppendEncoding gives the canonical byte string that the scheduler hashes.
// The field names mirror mimalloc v2's (include/mimalloc/types.h): a
// Segment has ThreadID (0 = abandoned), Used, Abandoned, AbandonedVisits,
// WasReclaimed; a Slice has SliceCount, SliceOffset, BlockSize and the span
// queue links; a page (the head slice of a used span) has its free list,
// its xthread_free list and its delayed-free mode.
//
// Block lists are bit sets over the blocks of one page (a page has at most
// MaxBlocks blocks): the order of blocks inside a list does not matter to
// the ownership protocol, only which list a block is on.
//
// The package is pure: it never reads the clock, a random source or the
// environment.
package model
