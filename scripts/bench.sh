#!/usr/bin/env bash
# Benchmarks that print figures (targets on a 2-core machine in brackets):
#   1. lab image build from nothing: empty cache, no image            [<= 180 s]
#   2. `up` to steady state with the image cached, 3 times             [<= 10 s]
#   3. the full scenario suite with --jobs 1, 2 and 4 (BENCH_JOBS)      [<= 90 s total, median scenario <= 6 s]
# Usage: scripts/bench.sh [--skip-build] [--skip-suite]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
skip_build=0 skip_suite=0
for a in "$@"; do
  case "$a" in
    --skip-build) skip_build=1 ;;
    --skip-suite) skip_suite=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
bash scripts/setup-host.sh
cargo build --release --quiet
bin=./target/release/pdns-drill
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [ "$skip_build" = 0 ]; then
  # A private cache dir and --force: nothing cached, the image rebuilt and re-imported.
  t0=$(date +%s.%N)
  PDNS_DRILL_CACHE="$out/cache" $bin image build --force >/dev/null
  t1=$(date +%s.%N)
  printf 'bench image-build-from-nothing: %.1f s (target <= 180 s)\n' "$(echo "$t1 - $t0" | bc)"
fi

$bin image build >/dev/null
for i in 1 2 3; do
  line=$($bin up --check 2>&1 >/dev/null | grep 'at steady state in' || true)
  printf 'bench up-to-steady-state #%d: %s (target <= 10 s)\n' "$i" "$(echo "$line" | sed 's/.*in //')"
done

if [ "$skip_suite" = 0 ]; then
  for jobs in ${BENCH_JOBS:-1 2 4}; do
    t0=$(date +%s.%N)
    $bin run --jobs "$jobs" --report-dir "$out/j$jobs" --format json >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    printf 'bench full-suite --jobs %d: %.1f s wall (target <= 90 s)\n' "$jobs" "$(echo "$t1 - $t0" | bc)"
    python3 - "$out/j$jobs"/*/report.json "$jobs" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1])); jobs = sys.argv[2]
w = sorted((s["wall_ms"], s["name"]) for s in r["scenarios"])
for ms, name in w:
    print(f"bench   scenario {name:<28} {ms/1000:6.1f} s")
if w:
    print(f"bench   --jobs {jobs}: {len(w)} scenarios, median {statistics.median(m for m, _ in w)/1000:.1f} s (target <= 6 s), sum {sum(m for m, _ in w)/1000:.1f} s")
PY
  done
fi
