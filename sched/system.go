package sched

// System is a closed, deterministic transition system over states of type S.
//
// S must be a plain value (fixed-size arrays of small structs, no pointers,
// slices, maps or closures), so that assignment clones it and == compares it.
// The scheduler never looks inside S: it only asks the system which threads
// may step, asks it to take a step, and hands the state to Check and Final.
type System[S comparable] interface {
	// Init returns the initial state.
	Init() S
	// Enabled appends to dst, in ascending order, the indexes of the threads
	// that can take a step in s, and returns the extended slice.
	Enabled(s *S, dst []int) []int
	// Step executes exactly one atomic step of thread i in s (in place) and
	// returns the step's label.
	Step(s *S, i int) string
	// Check is called on the initial state and after every step; a non-nil
	// error is a violation found in s.
	Check(s *S) error
	// Final is called on a state in which no thread is enabled (an end state
	// or a deadlock); a non-nil error is a violation found in s.
	Final(s *S) error
	// Encode appends a canonical byte encoding of s to buf: two states are
	// equal exactly when their encodings are. The visited set hashes it.
	Encode(s *S, buf []byte) []byte
}
