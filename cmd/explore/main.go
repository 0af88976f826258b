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
//
// Exit codes: 0 no violation (complete, or partial with the limit named),
// 1 a violation, 2 usage or input error, 4 a trace diverged or is stale,
// 5 internal error. Run "explore help" or "explore run -h" for the flags.
//
// To save a counterexample in the regression corpus (traces/testdata):
//
//	go run ./cmd/explore run --scenario S1 --mutant BUG_B --corpus --out traces/testdata
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
