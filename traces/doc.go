// Package traces writes executions of the allocator model down as
// versioned, human-readable text files, reads them back, replays them,
// minimises them, and keeps the saved counterexamples in testdata/ as
// regression tests.
//
// A trace is self-contained: its header names the builtin scenario (or
// embeds the scenario file's text) and every knob of the configuration,
// and its body lists one atomic step per line. The thread column of the
// body is the schedule and is authoritative (style.md §1.4); labels are
// checked on replay ([ErrDiverged]), the other columns are observations.
// "model rev=" ([ModelRev]) makes traces of older step semantics fail as
// [ErrStale] instead of diverging silently.
//
// The package also wires a simulator and its invariant checker into the
// transition system the scheduler explores ([System]). It is pure: it
// reads no clock and does no I/O; cmd/explore reads and writes the files.
//
// Saved counterexamples live in testdata/<invariant>--<scenario>-<mutant>.trace
// and are replayed by TestCorpus. To add one:
//
//	go run ./cmd/explore run --scenario S1 --mutant BUG_B --corpus --out traces/testdata
package traces
