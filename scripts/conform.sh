#!/usr/bin/env bash
# conform.sh — mimalloc's C code against the model (make conform; README
# "Conformance"). For every conformance scenario that maps at a tag:
#   - RUNS seeded C schedules in each build (release, debug, asan);
#   - RUNS operation schedules compared (not force-abandon: the model's
#     finding 2 on the compared schedule is a violation, which the replay
#     of its trace shows instead);
#   - RUNS step schedules of the model followed by the C code (--follow);
#   - RANDOM_RUNS schedules chosen by the harness and followed by the model
#     (conform random, --strategy random), and RANDOM_RUNS/10 with pct.
# Divergences the README explains (conform.KnownDivergences) are counted,
# not failures; any other ends the script with the command's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-100}
RANDOM_RUNS=${RANDOM_RUNS:-10000}
for t in v2.4.1 v2.3.0 v2.1.7; do
  for path in scenarios/conform/*.scn; do
    f=$(basename "$path" .scn)
    [ "$f/$t" = "s1/v2.1.7" ] && continue             # a 128 KiB object is medium at v2.1.7: no C counterpart
    case "$f/$t" in force-abandon*/v2.1.7) continue ;; esac  # no target_segments_per_thread at v2.1.7
    ./bin/explore conform --scenario "$path" --source "$t" --runs "$RUNS" --quiet
    case "$f" in force-abandon*) ;; *) ./bin/explore conform --scenario "$path" --source "$t" --runs "$RUNS" --compare --flavour release --quiet ;; esac
    ./bin/explore conform --scenario "$path" --source "$t" --runs "$RUNS" --follow --flavour release --quiet
    ./bin/explore conform random --scenario "$path" --source "$t" --runs "$RANDOM_RUNS" --workers 4 --progress 0 --quiet
    ./bin/explore conform random --scenario "$path" --source "$t" --runs "$((RANDOM_RUNS / 10))" --strategy pct --workers 4 --progress 0 --quiet
  done
done
