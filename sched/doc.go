// Package sched explores the interleavings of a closed, deterministic
// transition system (a [System]) and reports whether any of them violates
// the system's own checks.
//
// It is generic over the state type S and knows nothing about what a state
// means: it only asks the system which threads may step, makes one thread
// step, and hands the resulting state to Check (after every step that
// reaches a state not seen before) and Final (in states where no thread is
// enabled).
//
// # Strategies
//
// Every engine returns the same [Result]; a search that was cut short by a
// [Limits] bound or by context cancellation is [Partial], never [OK], and
// [Result].LimitHit names the limits that pruned it.
//
//   - [Exhaustive] is a stateful depth-first search with an explicit stack
//     (dfs.go). Expanding a state steps every enabled thread, claims the
//     successors in the visited set in one batch (so that their cache
//     misses overlap) and checks the new ones; it stops at the first
//     violation, which is the first in DFS order. It can bound the number
//     of preemptions (the visited key then includes the preemptions used
//     and the last thread), the path length and the number of stored
//     states. With [Options].Workers >= 2 it runs the multicore DFS
//     (pdfs.go; with a preemption bound, exact or 128-bit keys, the
//     parallel BFS).
//   - [BFS] explores level by level (bfs.go), so the violation it reports
//     is a shortest one, and among the shortest the one with the
//     lexicographically smallest schedule. It holds a whole level in
//     memory, rather than the DFS stack.
//   - [ContextBounded] is iterative context bounding (bounded.go): the
//     preemption-bounded DFS for bounds 0, 1, ..., K, with per-bound
//     coverage in [Result].Bounds, stopping at the first bound that finds a
//     violation or prunes nothing.
//   - [RandomWalk] runs independent uniformly random executions, each
//     seeded from (seed, run index) (random.go).
//   - [PCT] is probabilistic concurrency testing (pct.go, Burckhardt et
//     al., ASPLOS 2010): random thread priorities and d-1 priority change
//     points per run, which finds a bug of depth d with probability at
//     least 1/(n*k^(d-1)) per run (n threads, k steps).
//   - [Replay] and [ReplayCheck] re-execute a recorded schedule, and
//     [CheckDeterminism] replays one twice to catch hidden nondeterminism.
//
// Check runs once per newly visited key rather than after every step: a
// state reached again passed Check when it was first reached (Check is a
// function of the state), so checking it again cannot find anything new.
//
// [Options].Progress receives a [Progress] snapshot about every
// [Options].ProgressEvery transitions (default 1<<16). sched never reads
// the clock; callers compute rates from their own wall clock. It carries
// no estimate of the total state count (see [Options].Progress).
//
// # Fingerprint store
//
// The visited set of a hashed search (visited.go) stores fingerprints of
// the system's canonical encoding, Hash128(Encode(s)) (plus the preemptions
// and last thread when preemptions are bounded):
//
//   - 64-bit (the default, [Options].Fingerprint = 64): the first word of
//     the hash in an open-addressing table of 8-byte slots with linear
//     probing. The table grows 1.5x when 3/4 full, so its load stays in
//     [1/2, 3/4] and it costs between 10.7 and 16 bytes per state
//     ([Result].BytesPerState, measured from the table's allocation). The
//     home slot is the high word of fingerprint*size, so the size need not
//     be a power of two.
//   - 128-bit ([Options].Fingerprint = 128): both words in 16-byte slots,
//     doubling at 3/4 full (21 to 43 bytes per state).
//   - exact ([Options].Exact): a Go map keyed by the state value; no false
//     merges, a full state per entry.
//
// Two distinct states with equal fingerprints make the search treat the
// second as visited and skip it (and what only it leads to). With n stored
// states and b-bit fingerprints of a hash that behaves like a random
// function, the probability that any pair collides is at most the birthday
// bound n(n-1)/2^(b+1) < n²/2^(b+1), which [Result.CollisionProbability]
// reports: about 1.6e-6 for the 7.6 million states of S3 with 64 bits, and
// 8.6e-26 with 128 bits. The search stays a sound under-approximation: a
// collision can hide a violation but never invent one (every reported
// counterexample is a concrete schedule that replays).
//
// [Result].PeakStackStates gives the rest of the memory: the most full
// states the engine held at once (DFS node pool, or BFS level plus
// successors).
//
// # Parallel engines
//
// The style guide keeps sched free of goroutines, sync and atomics so that
// a search is a deterministic function of its inputs. The parallel engines
// are the one justified exception: exploring tens of millions of states is
// CPU-bound, and a multi-core machine divides the time by the number of
// cores only if the search runs on several goroutines. The exception is
// confined to parallel.go: the runner of a BFS phase's independent work
// items, and the multicore DFS's shared fingerprint table and worker
// coordination. The search logic is in bfs.go and pdfs.go.
//
// [Exhaustive] with Workers >= 2 (64-bit keys, no preemption bound) runs
// the multicore DFS of pdfs.go, after the multicore reachability of
// Laarman, van de Pol and Weber (LTSmin): each worker searches depth-first
// from its own stack, all claim states in one shared open-addressing
// table of fingerprints with a compare-and-swap per new state (no lock),
// so that every state is claimed, checked and expanded by exactly one
// worker; a busy worker that sees an idle one hands over the unexplored
// new successors of its lowest stack frame, each with its path; the table
// grows while every worker waits at a safe point between two expansions.
// A complete search has the sequential DFS's States, Transitions, Runs and
// verdict; which counterexample is found first (and the counts at a stop)
// depend on how the workers interleave, so the CLI minimises it.
//
// [BFS] (and [Exhaustive] with Workers >= 2 and a preemption bound, exact
// or 128-bit keys) runs a level-synchronous parallel
// BFS. Each level goes through three phases separated by barriers: expand
// (workers take chunks of the level, step every enabled thread and hash the
// successors), claim (the visited set is split into 64 shards by key; a
// shard is a work item, so one worker at a time claims the successors of
// that shard, in canonical order and without locks), and check (workers
// copy the new states into the next level in canonical order and run Check
// on them).
//
// Why the state set is the same for any worker count: a level holds exactly
// the keys at BFS distance d from the initial state, the claim phase adds
// each such key exactly once, and every claimed key is expanded exactly
// once with all its enabled threads. So States, Transitions and Runs are
// functions of the state graph (and of the limits, which act per level),
// not of the scheduling of goroutines; without MaxDepth and MaxStates they
// equal the DFS's counts too. MaxStates cuts deterministically because the
// claim phase then runs on one goroutine.
//
// Why the counterexample is deterministic: the canonical order of a level
// sorts its states by their lexicographically smallest shortest schedule.
// Because a shard's successors are claimed in (parent rank, thread) order,
// a new state is always claimed from its canonical parent, and the next
// level comes out in canonical order without sorting. A violation found by
// any worker is only recorded; at the end of the level the engine reports
// the one earliest in canonical order (Final violations at the level's
// states and Check violations at the new states compared by their position
// in the sequential BFS order). Its schedule is read back through the
// recorded parent ranks and its labels by [Replay]. The result is
// identical, field for field, for every worker count, including 1.
//
// The system's methods must be safe to call concurrently on distinct
// states when Workers >= 2 (they are pure functions of the state for a
// system that follows the style guide).
//
// # Determinism
//
// Outside the parallel engine's goroutines, the package reads no clock and
// never iterates over a map on the exploration path. The only randomness is
// the PCG generator in rand.go, seeded explicitly by the caller.
package sched
