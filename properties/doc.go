// Package properties holds the named invariants of mimalloc's ownership
// protocol (../shared/spec/invariants.md, ../shared/spec/scenarios.md §1.5)
// as checks over an allocsim state, run after every step.
//
// A broken invariant is a *Violation naming the invariant and the objects
// involved; it is allocator misbehaviour, not a Go error of the checker.
package properties
