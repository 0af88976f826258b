package model

// Compile-time bounds of the state. A scenario may use fewer; the unused
// tail of every array stays zero and is left out of the encoding.
const (
	// MaxThreads is the largest number of simulated threads.
	MaxThreads = 4
	// MaxSegments is the largest number of arena slots (segment-sized blocks).
	MaxSegments = 4
	// MaxSlices is the largest number of slices per segment (slice 0 is the
	// segment info).
	MaxSlices = 8
	// MaxBins is the number of span-queue bins (bin n holds spans of n
	// slices; mi_slice_bin(n) == n for n <= 8).
	MaxBins = MaxSlices - 1
	// MaxBlocks is the largest number of blocks per page (block lists are
	// uint8 bit sets).
	MaxBlocks = 8
	// MaxRegs is the number of block registers per thread.
	MaxRegs = 8
	// MaxMailboxes is the number of one-place hand-off buffers.
	MaxMailboxes = 6
	// MaxClasses is the largest number of size classes.
	MaxClasses = 3
	// NullHandle is the register value of a failed (NULL) allocation.
	NullHandle = 0xFF
)
