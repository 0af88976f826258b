package model

// FaultCode names an operation precondition a step found broken.
type FaultCode uint8

// Fault codes. Each maps to one named invariant in package properties.
const (
	FaultNone          FaultCode = iota
	FaultNotHolder               // a segment was mutated by a thread that neither owns nor exclusively claims it (O1)
	FaultClaimHeld               // a claim succeeded on a segment that another thread holds (O1)
	FaultQueueOwner              // a span-queue operation of t touched a span of a segment t does not own (O2)
	FaultUseAfterFree            // a step accessed a freed segment (B1)
	FaultDoubleFree              // a block that is not live was freed (B2)
	FaultPageNotEmpty            // a page was cleared while some block was not free (B1)
	FaultMarkTwice               // an abandoned bit was set twice (was_unmarked)
	FaultQueueCorrupt            // a queue push found the slice already linked
	FaultDelayedMode             // a delayed-free mode precondition is broken (delayed-mode-protocol)
	FaultAfterPublish            // a thread accessed a segment it had published (no-access-after-publish)
	FaultDataRace                // two accesses to one location, one a write, one non-atomic, unordered by happens-before (no-data-race)
	FaultWalkStuck               // a span walk on a segment the walker does not hold met slice_count 0 where a span head is expected: the C loop never ends (walk-terminates)
	FaultScanMissed              // a forced scan of the abandoned set ended without meeting a segment that stayed abandoned throughout it (scan-complete)
	FaultRetireExpired           // a retired page stayed all free past its retire budget of collects, or an all-free page stayed in the FULL queue past a forced collect (retired-page-expires)
	FaultCount
)

// FaultCut marks a state reached past an in-step check whose
// consequences the model does not follow (a use-after-free, a double free,
// an access after publishing, or a check after which the model abandons
// the operation), when the search goes past that check's site (explore
// run --all-violations): the state is neither reported nor expanded.
const FaultCut FaultCode = 0xff

var faultNames = [...]string{
	FaultNone:          "none",
	FaultNotHolder:     "not-holder",
	FaultClaimHeld:     "claim-held",
	FaultQueueOwner:    "queue-owner",
	FaultUseAfterFree:  "use-after-free",
	FaultDoubleFree:    "double-free",
	FaultPageNotEmpty:  "page-not-empty",
	FaultMarkTwice:     "mark-twice",
	FaultQueueCorrupt:  "queue-corrupt",
	FaultDelayedMode:   "delayed-mode",
	FaultAfterPublish:  "access-after-publish",
	FaultDataRace:      "data-race",
	FaultWalkStuck:     "walk-stuck",
	FaultScanMissed:    "scan-missed",
	FaultRetireExpired: "retire-expired",
}

// String returns the kebab-case name of the fault.
func (f FaultCode) String() string {
	if f == FaultCut {
		return "cut"
	}
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault-?"
}

// SetFault records fault f on s unless an earlier fault is already recorded
// (the first broken precondition is the one reported).
func (s *State) SetFault(f FaultCode, thread int, seg, slice int) {
	if s.Fault.Code != 0 {
		return
	}
	s.Fault = Fault{Code: uint8(f), Thread: uint8(thread + 1), Seg: uint8(seg), Slice: uint8(slice)}
}

// SetRace records a data race found by thread's access (kind bits cur) at
// step label index pc on location loc against other's earlier access
// (kind bits prev), unless an earlier fault is already recorded.
func (s *State) SetRace(thread int, pc uint8, r RaceInfo, cur uint8) {
	if s.Fault.Code != 0 {
		return
	}
	s.Fault = Fault{Code: uint8(FaultDataRace), Thread: uint8(thread + 1), Seg: uint8(r.Loc), Slice: pc,
		Other: uint8(r.Other + 1), Kind: r.Kind<<4 | cur&0x0f}
}
