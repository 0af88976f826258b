// Command explore explores the interleavings of the mimalloc ownership
// model, reports invariant violations with replayable traces, and replays
// saved traces.
//
//	explore run --scenario S1|S2|S3|FILE [flags]   search one configuration
//	explore replay FILE [--json]                   re-execute a trace
//	explore list                                   scenarios, options, invariants, steps
//	explore matrix [flags]                         reference scenarios x sources x patches
//	explore conform --scenario FILE [flags]        run a scenario on mimalloc's own C code
//	explore conform replay FILE [flags]            replay a trace on mimalloc's C code
//	explore diff [flags] VARIANT_A VARIANT_B       two variants in lock-step
//	explore power [flags]                          every zoo and seeded bug: found / total
//	explore compare [flags]                        the report on the patches (grid, diffs, power)
//
// Exit codes: 0 no violation (complete, or partial with the limit named),
// 1 a violation (diff: a distinguishing schedule; power: a bug not found),
// 2 usage or input error, 3 a violation whose trace could not be written,
// 4 a trace diverged or is stale, 5 internal error, 6 cancelled. Run "explore help" or "explore run -h" for the flags.
//
// To save a counterexample in the regression corpus (traces/testdata):
//
//	go run ./cmd/explore run --scenario S1 --mutant BUG_B --corpus --out traces/testdata
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
