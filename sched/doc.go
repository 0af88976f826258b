// Package sched explores the interleavings of a closed, deterministic
// transition system (a [System]) and reports whether any of them violates
// the system's own checks.
//
// It is generic over the state type S and knows nothing about what a state
// means: it only asks the system which threads may step, makes one thread
// step, and hands the resulting state to Check (after every step) and Final
// (in states where no thread is enabled).
//
// Engines:
//
//   - [Exhaustive] is a stateful depth-first search with an explicit stack
//     and a visited set keyed either by the state value itself
//     ([Options].Exact) or by a 128-bit hash of the system's canonical
//     encoding ([Hash128]). It can bound the number of preemptions, the path
//     length and the number of stored states.
//   - [RandomWalk] runs independent random executions, each seeded
//     deterministically from (seed, run index).
//   - [Replay] and [ReplayCheck] re-execute a recorded schedule, and
//     [CheckDeterminism] replays one twice to catch hidden nondeterminism.
//
// Every result carries a [Verdict]. A search that was cut short by a
// [Limits] bound or by context cancellation is [Partial], never [OK], and
// [Result].LimitHit names the limits that pruned it.
//
// The package is deterministic: it reads no clock, uses no goroutines and
// never iterates over a map on the exploration path. The only randomness is
// the PCG generator in rand.go, seeded explicitly by the caller.
package sched
