// Package allocsim models the operations of mimalloc v2's segment ownership
// protocol as explicit step machines over a model.State.
//
// Each simulated thread runs a program of operations (malloc, free, hand a
// block over, collect, thread exit). An operation is a program-counter
// machine: every case of the big switches performs exactly one access to a
// field that another thread may touch at that moment (a *shared* step) and
// is followed by all thread-private work up to the next shared access, which
// runs inside the same step. Each C function of the protocol has a Go
// function (or a group of phases) of the same name, with a comment citing
// the tag, file and function it follows.
//
// Sim satisfies sched.System[model.State] structurally; package traces holds
// the compile-time assertion. The package is pure: no clock, no randomness,
// no I/O, no map iteration on the step path.
package allocsim
