#!/usr/bin/env bash
# bench.sh — mimcheck against the SPIN anchor on the same reference
# scenarios, measured in the same run on this machine.
#
# usage: scripts/bench.sh [OUT.md]      (default: print the table only)
# env:   STRATEGIES="dfs ..." WORKERS="1 2" SCENARIOS="S1 S2 S3" SPIN_DIR=../shared/anchors/spin
#
# For every scenario it runs bin/explore (--abstraction spin, the abstraction
# the Promela model implements) under each exhaustive strategy and worker
# count, then SPIN's pan on the same scenario (exhaustive, NOREDUCE, as in
# RESULTS.md), and prints one table with states, states/s, bytes/state,
# time and the ratios to SPIN. Then the time to the first counterexample of
# each seeded bug, for both tools. SPIN builds in a temporary copy of the
# anchor directory (it is read-only).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
OUT=${1:-}
STRATEGIES=${STRATEGIES:-dfs}
WORKERS=${WORKERS:-1}
SCENARIOS=${SCENARIOS:-S1 S2 S3}
SPIN_DIR=${SPIN_DIR:-../shared/anchors/spin}
BUGS="BUG_A BUG_B BUG_C BUG_SUBPROC"

command -v spin >/dev/null || { apt-get update -qq && apt-get install -y -qq spin >/dev/null; }
command -v python3 >/dev/null || { echo "bench: python3 is needed to read the JSON results" >&2; exit 2; }
go build -o bin/explore ./cmd/explore

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mimcheck-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$SPIN_DIR"/*.pml "$tmp"/

# pan SCEN VARIANT -> "states transitions elapsed_s mem_MB result" (SPIN's own counters)
pan() {
  local s=$1 v=$2 d="$tmp/S$1_$2" vflag=""
  [ "$v" != BASELINE ] && vflag="-D$v"
  mkdir -p "$d" && cp "$tmp"/*.pml "$d"/
  ( cd "$d" && spin -DSCEN="$s" $vflag -a mimalloc.pml >/dev/null \
      && gcc -O2 -w -DSAFETY -DNOREDUCE -DMEMLIM=16000 -o pan pan.c \
      && ./pan -m20000 -w24 > pan.log 2>&1 ) || true
  local log="$d/pan.log"
  awk '/states, stored/{st=$1} /transitions \(= stored\+matched\)/{tr=$1}
       /pan: elapsed time/{el=$4} /total actual memory usage/{mem=$1}
       /errors: /{err=$2}
       END{printf "%s %s %s %s %s\n", st, tr, (el==""?"0":el), mem, (err=="0"?"ok":"violation")}' "$log"
}

# ours SCEN STRATEGY WORKERS [MUTANT] -> "states transitions elapsed_s bytes_per_state verdict"
ours() {
  local s=$1 st=$2 w=$3 m=${4:-none}
  ./bin/explore run --scenario "$s" --abstraction spin --strategy "$st" --workers "$w" --mutant "$m" \
      --json --quiet --out "$tmp/out" > "$tmp/r.json" 2>/dev/null || true
  python3 - "$tmp/r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["states"], d["transitions"], d["elapsed_s"], d.get("bytes_per_state", 0) or 0, d["verdict"])
PY
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN{ if (t > 0) printf "%.0f", n/t; else printf "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "n/a" && b != "n/a" && b > 0) printf "%.2f", a/b; else printf "n/a" }'; }

{
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)); $(spin -V 2>&1 | head -1); $(go version | cut -d' ' -f3)."
echo "Command: \`STRATEGIES=\"$STRATEGIES\" WORKERS=\"$WORKERS\" scripts/bench.sh\` (one run; ratios are from this run)."
echo
echo "| scenario | tool | strategy | workers | verdict | states | transitions | time s | states/s | bytes/state | states/s ÷ SPIN | time ÷ SPIN |"
echo "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for s in $SCENARIOS; do
  n=${s#S}
  read -r sst str sel smem sres < <(pan "$n" BASELINE)
  srate=$(rate "$sst" "$sel")
  sbps=$(awk -v m="$smem" -v n="$sst" 'BEGIN{ if (n > 0) printf "%.0f", m*1048576/n; else print "n/a" }')
  for st in $STRATEGIES; do
    for w in $WORKERS; do
      read -r ost otr oel obps ores < <(ours "$s" "$st" "$w")
      orate=$(rate "$ost" "$oel")
      echo "| $s | mimcheck | $st | $w | $ores | $ost | $otr | $(printf %.2f "$oel") | $orate | $(printf %.1f "$obps") | $(ratio "$orate" "$srate") | $(ratio "$oel" "$sel") |"
    done
  done
  echo "| $s | SPIN | DFS (NOREDUCE) | 1 | $sres | $sst | $str | $sel | $srate | $sbps (whole pan, 2^24-slot table included) | 1 | 1 |"
done
echo
echo "Time to the first counterexample of each seeded bug (exhaustive DFS, stop at the first error):"
echo
echo "| scenario | bug | mimcheck s | SPIN s | mimcheck ÷ SPIN |"
echo "|---|---|---:|---:|---:|"
for s in $SCENARIOS; do
  n=${s#S}
  for b in $BUGS; do
    read -r _ _ sel _ _ < <(pan "$n" "$b")
    read -r _ _ oel _ _ < <(ours "$s" dfs 1 "$b")
    echo "| $s | $b | $(printf %.3f "$oel") | $sel | $(ratio "$oel" "$sel") |"
  done
done
} | tee "$tmp/table.md"
[ -n "$OUT" ] && cp "$tmp/table.md" "$OUT"
exit 0
