# mimcheck — thin wrappers (style.md §6). Go from /usr/local/go if not on PATH.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
PKGS := ./...

.PHONY: screenshot conform fuzz-parse fuzz-scenario memory-matrix explore test test-short verify purity fmt-check vet bench explore-smoke replay-corpus build prop soak mutants fuzz-schedule

build:
	$(GO) build -o bin/explore ./cmd/explore

## explore: the main job on the built-in default — the compare report on
## patches A and B: the grid (S1, S2, S3 x v2.4.1, v2.3.0, v2.1.7 x none, A,
## B, A+B x c11, msvc-c), the lock-step diffs of each patch (S1, S2,
## scenarios/retire-patch-b.scn and retire-expire.scn) and explore power;
## writes out/report.md, out/report.html and the README's generated verdict,
## prints the report.
explore: build
	./bin/explore compare --diff-scenarios S1,S2,scenarios/retire-patch-b.scn,scenarios/retire-expire.scn --out out --readme README.md

## conform: mimalloc's C code against the model (README "Conformance"; needs
## gcc and the shared mimalloc sources; scripts/conform.sh): every conformance
## scenario at every tag, 10,000 harness schedules each (49 min 55 s on 2 cores,
## 2026-12-01, 161 commands).
## Not part of make test.
conform: build
	RUNS=$(CONFORM_RUNS) RANDOM_RUNS=$(CONFORM_RANDOM_RUNS) scripts/conform.sh

CONFORM_RUNS ?= 100
CONFORM_RANDOM_RUNS ?= 10000

## screenshot: docs/show-finding2.png, the HTML view of finding 2 (explore
## show --format html) in headless Chromium, as the README shows it.
screenshot: build
	./bin/explore show --format html traces/testdata/no-use-after-free--conform-force-abandon.trace > out/finding2.html
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1500,1000 \
		--screenshot=docs/show-finding2.png file://$(CURDIR)/out/finding2.html

## memory-matrix: S1 and S2 under every source, patch set, language mode
## and memory model (216 runs, 5 s; README "What the checker says").
memory-matrix: build
	./bin/explore matrix --scenarios S1,S2 --sources v2.4.1,v2.3.0,v2.1.7 --patch-sets none,A,B,A+B \
		--lang c11,cxx,msvc-c --memory sc,ra,rc11 --timeout 120s --workers 2 --out out

## test: formatting, vet, purity, then every test (about a minute on 2 cores).
test: verify
	$(GO) test -count=1 $(PKGS)

test-short: verify
	$(GO) test -count=1 -short $(PKGS)

verify: fmt-check vet purity

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## purity: model, allocsim and sched import no clock, randomness, os, sync or unsafe
## (sched/rand.go alone may use math/rand/v2's PCG; sched/parallel.go alone
## may use sync and sync/atomic: the parallel engine, see sched/doc.go).
purity:
	@bad=$$($(GO) list -f '{{join .Imports "\n"}}' ./model ./allocsim | grep -E '^(time|math/rand|math/rand/v2|os|sync|sync/atomic|hash/maphash|unsafe)$$'); \
	if [ -n "$$bad" ]; then echo "purity: model/allocsim import $$bad"; exit 1; fi
	@bad=$$($(GO) list -f '{{join .Imports "\n"}}' ./sched | grep -E '^(time|math/rand|os|hash/maphash|unsafe|mimcheck/.*)$$'); \
	if [ -n "$$bad" ]; then echo "purity: sched imports $$bad"; exit 1; fi
	@bad=$$(grep -l -E '"sync(/atomic)?"' sched/*.go | grep -v '^sched/parallel.go$$' | grep -v '_test.go$$'); \
	if [ -n "$$bad" ]; then echo "purity: only sched/parallel.go may use sync: $$bad"; exit 1; fi
	@bad=$$(grep -l '"math/rand/v2"' sched/*.go | grep -v '^sched/rand.go$$' | grep -v '_test.go$$'); \
	if [ -n "$$bad" ]; then echo "purity: only sched/rand.go may import math/rand/v2: $$bad"; exit 1; fi

## explore-smoke: a bounded exhaustive run that must exit 0.
explore-smoke: build
	./bin/explore run --scenario S2 --abstraction spin --quiet

## replay-corpus: every saved counterexample still replays.
replay-corpus:
	$(GO) test -count=1 -run TestCorpus ./traces/

## bench: mimcheck against SPIN on the reference scenarios, one and two
## workers with peak RSS (scripts/bench.sh, table into bench-table.md), S3 at
## full fidelity without and with race tracking (FULL_TIMEOUT each, 20m by
## default: with races S3 does not complete yet, issue 12), the S3 presets
## without races, and step throughput. Long (46 min 53 s on 2 cores,
## 2026-12-01): not part of `make test`.
bench: build
	STRATEGIES="$${STRATEGIES:-dfs}" WORKERS="$${WORKERS:-1 2}" scripts/bench.sh bench-table.md
	for src in v2.4.1 v2.3.0; do for p in none B; do \
	  ./bin/explore run --scenario S3 --source $$src --patch $$p --no-races --out out; c=$$?; [ $$c -le 1 ] || exit $$c; done; done
	$(GO) test -run XXX -bench . -benchtime 2s ./sched/ ./allocsim/

## prop: the gopter property tests alone (seed logged; MIMCHECK_SEED replays it).
prop:
	$(GO) test -count=1 -v -run Prop ./properties/

## soak: a long property campaign on both cores; failing traces go to soak-out/.
soak:
	mkdir -p soak-out
	for i in 1 2; do MIMCHECK_SEED=$$(( $$(date +%s) * 10 + $$i )) MIMCHECK_PROP_RUNS=$${MIMCHECK_PROP_RUNS:-500000} \
	  MIMCHECK_TRACE_DIR=$(CURDIR)/soak-out $(GO) test ./properties/ -run Prop -timeout 0 -count=1 > soak-out/log$$i.txt 2>&1 & done; wait
	@grep -h -E '^(ok|FAIL|--- FAIL)' soak-out/log*.txt

## mutants: the property suite must fail, shrink and print a replay command on every seeded bug.
mutants:
	for m in BUG_A BUG_A1 BUG_B BUG_C BUG_SUBPROC; do \
	  if MIMCHECK_MUTANT=$$m $(GO) test ./properties/ -run TestPropNoViolation -count=1 > /dev/null; then echo "$$m: not found"; exit 1; else echo "$$m: found"; fi; done

FUZZTIME ?= 30s
## fuzz-schedule: native fuzzing over raw schedule bytes (and fuzz-parse over the trace parser).
fuzz-schedule:
	$(GO) test ./properties/ -run '^$$' -fuzz FuzzSchedule -fuzztime $(FUZZTIME)
fuzz-parse:
	$(GO) test ./traces/ -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
## fuzz-scenario: native fuzzing of the scenario file parser.
fuzz-scenario:
	$(GO) test ./allocsim/ -run '^$$' -fuzz FuzzParseScenario -fuzztime $(FUZZTIME)
