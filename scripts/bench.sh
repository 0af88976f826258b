#!/usr/bin/env bash
# bench.sh — mimcheck against the SPIN anchor on the same reference
# scenarios, measured in the same run on this machine.
#
# usage: scripts/bench.sh [OUT.md]      (default: print the table only)
# env:   STRATEGIES="dfs bfs sleep dpor" WORKERS="1 2" TIMEOUT=120s SCENARIOS="S1 S2 S3" SPIN_DIR=../shared/anchors/spin
#        FULL_TIMEOUT=20m (S3 at full fidelity with races; FULL=0 skips that section)
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
STRATEGIES=${STRATEGIES:-dfs bfs sleep dpor}
TIMEOUT=${TIMEOUT:-120s}
WORKERS=${WORKERS:-1}
SCENARIOS=${SCENARIOS:-S1 S2 S3}
SPIN_DIR=${SPIN_DIR:-../shared/anchors/spin}
BUGS="BUG_A BUG_B BUG_C BUG_SUBPROC"

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
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
      && t0=$(date +%s.%N) && ./pan -m20000 -w24 > pan.log 2>&1; t1=$(date +%s.%N); \
      awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' > wall ) || true
  local log="$d/pan.log"
  awk -v wall="$(cat "$d/wall" 2>/dev/null || echo 0)" '
       /states, stored/{st=$1} /transitions \(= stored\+matched\)/{tr=$1}
       /total actual memory usage/{mem=$1}
       /errors: [0-9]+/{ if (match($0, /errors: [0-9]+/)) err=substr($0, RSTART+8, RLENGTH-8) }
       END{printf "%s %s %s %s %s\n", st, tr, wall, mem, (err=="0"?"ok":"violation")}' "$log"
}

# ours SCEN STRATEGY WORKERS [MUTANT [EXTRA-FLAG]] -> "states transitions elapsed_s bytes_per_state verdict peak_rss_MB"
ours() {
  local s=$1 st=$2 w=$3 m=${4:-none} x=${5:-}
  run_explore "$TIMEOUT" --scenario "$s" --abstraction spin --strategy "$st" --workers "$w" --mutant "$m" $x
}

# run_explore TIMEOUT FLAGS... -> "states transitions elapsed_s bytes_per_state verdict peak_rss_MB limit"
run_explore() {
  local to=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$tmp/rss" ./bin/explore run "$@" \
      --timeout "$to" --json --quiet --out "$tmp/out" > "$tmp/r.json" 2>/dev/null || true
  t1=$(date +%s.%N)
  python3 - "$tmp/r.json" "$t0" "$t1" "$tmp/rss" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
rss = open(sys.argv[4]).read().split()[-1]
print(d["states"], d["transitions"], "%.3f" % wall, d.get("bytes_per_state", 0) or 0, d["verdict"], "%.0f" % (int(rss) / 1024), d.get("limit") or "-")
PY
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN{ if (t > 0) printf "%.0f", n/t; else printf "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "n/a" && b != "n/a" && b > 0) printf "%.2f", a/b; else printf "n/a" }'; }

{
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)); $(spin -V 2>&1 | head -1); $(go version | cut -d' ' -f3)."
echo "Command: \`STRATEGIES=\"$STRATEGIES\" WORKERS=\"$WORKERS\" scripts/bench.sh\` (one run; ratios are from this run)."
echo
echo "| scenario | tool | strategy | workers | verdict | states | transitions | wall s | states/s | bytes/state | peak RSS MB | states/s ÷ SPIN | time ÷ SPIN |"
echo "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $SCENARIOS; do
  n=${s#S}
  read -r sst str sel smem sres < <(pan "$n" BASELINE)
  srate=$(rate "$sst" "$sel")
  sbps=$(awk -v m="$smem" -v n="$sst" 'BEGIN{ if (n > 0) printf "%.0f", m*1048576/n; else print "n/a" }')
  for st in $STRATEGIES; do
    ws=1
    case $st in dfs|bfs) ws=$WORKERS ;; esac
    for w in $ws; do
      read -r ost otr oel obps ores orss _ < <(ours "$s" "$st" "$w")
      orate=$(rate "$ost" "$oel")
      echo "| $s | mimcheck | $st | $w | $ores | $ost | $otr | $(printf %.2f "$oel") | $orate | $(awk -v b="$obps" 'BEGIN{ if (b > 0) printf "%.1f", b; else print "n/a" }') | $orss | $(ratio "$orate" "$srate") | $(ratio "$oel" "$sel") |"
    done
  done
  echo "| $s | SPIN | DFS (NOREDUCE) | 1 | $sres | $sst | $str | $sel | $srate | $sbps (all of pan) | $(printf %.0f "$smem") (pan's total) | 1 | 1 |"
done
echo
echo "Time to the first counterexample of each seeded bug (exhaustive DFS, stop at the first error; wall time of the whole command: for SPIN the pan run, for mimcheck the explore run including writing the trace; by default it also minimises the trace, with --no-minimize it saves the schedule as found, as pan does):"
echo
echo "| scenario | bug | mimcheck s | mimcheck --no-minimize s | SPIN s | mimcheck ÷ SPIN | --no-minimize ÷ SPIN |"
echo "|---|---|---:|---:|---:|---:|---:|"
for s in $SCENARIOS; do
  n=${s#S}
  for b in $BUGS; do
    read -r _ _ sel _ _ < <(pan "$n" "$b")
    read -r _ _ oel _ _ < <(ours "$s" dfs 1 "$b")
    read -r _ _ nel _ _ < <(ours "$s" dfs 1 "$b" --no-minimize)
    echo "| $s | $b | $(printf %.3f "$oel") | $(printf %.3f "$nel") | $sel | $(ratio "$oel" "$sel") | $(ratio "$nel" "$sel") |"
  done
done
if [ "${FULL:-1}" != 0 ]; then
  echo
  echo "S3 at full fidelity (model rev $(./bin/explore list 2>/dev/null | awk '/^model-rev:/{print $2; exit}')), v2.4.1, c11, sc: without race tracking (\`--no-races\`) and with it (the default), 1 and 2 workers (dfs), timeout ${FULL_TIMEOUT:-20m}:"
  echo
  echo "| races | workers | verdict | limit | states | transitions | wall s | states/s | bytes/state | peak RSS MB |"
  echo "|---|---:|---|---|---:|---:|---:|---:|---:|---:|"
  for races in off on; do
    x=""; [ $races = off ] && x="--no-races"
    for w in 1 2; do
      read -r fst ftr fel fbps fres frss flim < <(run_explore "${FULL_TIMEOUT:-20m}" --scenario S3 --workers "$w" $x)
      echo "| $races | $w | $fres | $flim | $fst | $ftr | $(printf %.1f "$fel") | $(rate "$fst" "$fel") | $(printf %.1f "$fbps") | $frss |"
    done
  done
fi
} | tee "$tmp/table.md"
[ -n "$OUT" ] && cp "$tmp/table.md" "$OUT"
exit 0
