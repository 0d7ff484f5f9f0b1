#!/usr/bin/env bash
# Benchmarks that print figures (targets on a 2-core machine in brackets):
#   1. lab image build from nothing: empty cache, no image               [<= 180 s]
#   2. `up` to steady state with the image cached, 3 times                [<= 2 s]
#   3. the full suite at the default settings, BENCH_RUNS times (default 3): wall time, lab
#      boots, time booting / queued for a boot slot / inside scenarios, the longest scenario
#      (the critical path), peak memory (host and pdns-drill itself), and whether the verdicts
#      of every run are identical (`pdns-drill compare` against the first), and the busy
#      CPU-seconds of the whole machine (on 2 cores the suite is CPU-bound: wall >= busy / 2),
#      and, where Debian's acct is installed, that CPU by command (process accounting)
#                                                                           [<= 90 s wall]
#      Labs are reused between scenarios once proven clean: each run also prints its boots,
#      reuses, and the labs discarded by the field their fingerprint differed in.
#   4. the reference: once with --fresh-labs (every scenario on a lab of its own), and once in
#      a shuffled order (--shuffle BENCH_SEED, default 7); both must give the verdicts of the
#      first run, so no verdict depends on which scenario ran before on the same lab
#   5. with --jobs-1, the same once at --jobs 1 for comparison (about 25 minutes)
# Usage: scripts/bench.sh [--skip-build] [--skip-suite] [--skip-reference] [--jobs-1]
# Exit 1 when the verdicts of any two runs differ (a flaky verdict fails the benchmark).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
skip_build=0 skip_suite=0 skip_reference=0 jobs1=0
for a in "$@"; do
  case "$a" in
    --skip-build) skip_build=1 ;;
    --skip-suite) skip_suite=1 ;;
    --skip-reference) skip_reference=1 ;;
    --jobs-1) jobs1=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done
bash scripts/setup-host.sh
cargo build --release --quiet
bin=./target/release/pdns-drill
# BENCH_OUT=DIR keeps every run's reports there (to read a discard's cause afterwards).
if [ -n "${BENCH_OUT:-}" ]; then out=$BENCH_OUT; mkdir -p "$out"; keep=1; else out=$(mktemp -d); keep=0; fi
trap 'kill "${sampler:-}" 2>/dev/null || true; [ "${acct:-0}" = 0 ] || accton off >/dev/null 2>&1 || true; [ "$keep" = 1 ] || rm -rf "$out"' EXIT

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
  printf 'bench up-to-steady-state #%d: %s (target <= 2 s)\n' "$i" "$(echo "$line" | sed 's/.*in //')"
done

# CPU-seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq).
busy_cpu() { awk '/^cpu / {printf "%.2f\n", ($2 + $3 + $4 + $7 + $8) / 100}' /proc/stat; }
# Host memory in use (MiB), sampled every 0.5 s into $1 while a suite runs.
mem_used() { awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {print int((t-a)/1024)}' /proc/meminfo; }
sample_memory() { while :; do mem_used >>"$1"; sleep 0.5; done; }

# Where the CPU went, by command (BSD process accounting, every process that ended during the
# run, the labs' included): the machine's busy time is mostly many short processes, not one.
acct=0
if command -v accton >/dev/null 2>&1; then acct=1; else echo "bench: no accton (Debian's acct): no CPU split by command" >&2; fi
cpu_by_command() {
  python3 - "$1" "$2" <<'PY'
import collections, struct, sys
comp = lambda c: (c & 0x1fff) << (3 * ((c >> 13) & 7))  # comp_t: 13-bit mantissa, base-8 exponent
data = open(sys.argv[1], "rb").read()
cpu, n = collections.Counter(), collections.Counter()
for i in range(0, len(data) - 63, 64):  # struct acct_v3
    ut, st = struct.unpack_from("<HH", data, i + 32)
    comm = data[i + 48:i + 64].split(b"\0")[0].decode(errors="replace")
    cpu[comm] += (comp(ut) + comp(st)) / 100
    n[comm] += 1
top = ", ".join(f"{c} {s:.0f}" for c, s in cpu.most_common(8))
print(f"bench   {sys.argv[2]}: {sum(n.values())} processes ended, {sum(cpu.values()):.0f} CPU-s; by command: {top}")
PY
}

# One full suite; prints its figures. $1 label, rest: extra `run` arguments.
suite() {
  local label=$1; shift
  local dir="$out/$label" before peak
  mkdir -p "$dir"
  before=$(mem_used)
  sample_memory "$dir/mem" & sampler=$!
  if [ "$acct" = 1 ]; then : >"$dir/pacct"; accton "$dir/pacct" >/dev/null; fi
  b0=$(busy_cpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$dir/maxrss" $bin run "$@" --report-dir "$dir" --format json >"$dir/stdout" 2>"$dir/stderr" || true
  t1=$(date +%s.%N)
  b1=$(busy_cpu)
  if [ "$acct" = 1 ]; then accton off >/dev/null; cpu_by_command "$dir/pacct" "$label"; fi
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$dir/mem" | tail -1)
  printf 'bench full-suite %s: %.1f s wall (target <= 90 s), %.0f busy CPU-seconds on %d cores\n' "$label" "$(echo "$t1 - $t0" | bc)" "$(echo "$b1 - $b0" | bc)" "$(nproc)"
  python3 - "$dir"/report.json "$label" "$before" "$peak" "$(tail -1 "$dir/maxrss")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); label = sys.argv[2]
before, peak, rss = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sc = r["scenarios"]
tl = [s["timeline"] for s in sc]
boots = sum(1 for t in tl if t.get("booted_ms") is not None)
queued = sum((t.get("queued_ms") or 0) for t in tl) / 1000
booting = sum((t["booted_ms"] - (t.get("queued_ms") or 0)) for t in tl if t.get("booted_ms") is not None) / 1000
inside = sum((t["end_ms"] - t["booted_ms"]) for t in tl if t.get("booted_ms") is not None) / 1000
longest = max(sc, key=lambda s: s["wall_ms"])
v = {}
for c in r["claims"]:
    v[c["verdict"]] = v.get(c["verdict"], 0) + 1
print(f"bench   {label}: {len(sc)} scenarios, {boots} lab boots; summed over scenarios: {booting:.1f} s booting, "
      f"{queued:.1f} s queued for a boot slot, {inside:.1f} s inside scenarios (steps and waits)")
print(f"bench   {label}: critical path {longest['name']} {longest['wall_ms']/1000:.1f} s; "
      f"peak memory {peak} MiB host ({peak - before:+d} MiB over the {before} MiB before), pdns-drill max RSS {rss // 1024} MiB")
cpu = [(t.get("cpu_ms") or 0, s["name"]) for s, t in zip(sc, tl)]
top = ", ".join(f"{n} {c/1000:.1f}" for c, n in sorted(cpu, reverse=True)[:3])
print(f"bench   {label}: CPU inside the labs' containers {sum(c for c, _ in cpu)/1000:.1f} s (most: {top})")
print(f"bench   {label}: verdicts " + ", ".join(f"{n} {k}" for k, n in sorted(v.items())))
import os, collections
h = json.load(open(os.path.join(os.path.dirname(sys.argv[1]), "history.json")))
ran = [s for s in h["scenarios"] if s.get("lab", {}).get("after")]
reused = sum(1 for s in ran if s["lab"].get("served_before"))
reshaped = sum(1 for s in ran if s["lab"].get("shed") or s["lab"].get("added"))
after = collections.Counter(s["lab"]["after"]["outcome"] for s in ran)
causes = collections.Counter()
for s in ran:
    a = s["lab"]["after"]
    if a["outcome"] == "discarded":
        causes[a["differences"][0].split(":")[0] if a["differences"] else "?"] += 1
resets = [s["lab"]["after"]["reset_ms"] for s in ran if "reset_ms" in s["lab"]["after"]]
unwanted = sum(1 for s in ran if "no reset for a next one" in s["lab"]["after"].get("why", ""))
renewed = sum(1 for s in ran if s["lab"]["after"].get("vm_renewed"))
print(f"bench   {label}: labs: {len(ran) - reused} booted, {reused} reused ({reshaped} with helpers removed or added); after their scenario {after.get('pooled', 0)} proven clean and pooled "
      f"({renewed} of them after their VM was renewed), "
      f"{after.get('discarded', 0)} discarded, {after.get('removed', 0) - unwanted} not offered (scenarios that end their lab, errors, --fresh-labs), {unwanted} removed unreset (no scenario left to take them)"
      + (f"; reset + fingerprint {sum(resets)/len(resets)/1000:.1f} s on average" if resets else ""))
for c, n in causes.most_common():
    print(f"bench   {label}:   discarded because {c} differed: {n}")
settled = collections.Counter(d.split(":")[0] for s in ran for d in s["lab"]["after"].get("settled", []))
for c, n in settled.most_common():
    print(f"bench   {label}:   pooled after {c} settled or a second reset: {n}")
PY
}

# Compares run $1's verdicts with default-1's; a difference fails the benchmark.
same_as_first() {
  if $bin compare "$out"/default-1/report.json "$out/$1"/report.json >"$out/compare-$1.md" 2>&1; then
    echo "bench   $1: verdicts identical to default-1"
  else
    echo "bench   $1: VERDICTS DIFFER from default-1:"; grep -E '→|differ' "$out/compare-$1.md" | head -20
    status=1
  fi
}

if [ "$skip_suite" = 0 ]; then
  status=0
  runs=${BENCH_RUNS:-3}
  for i in $(seq 1 "$runs"); do
    suite "default-$i"
    if [ "$i" -gt 1 ]; then same_as_first "default-$i"; fi
  done
  if [ "$skip_reference" = 0 ]; then
    seed=${BENCH_SEED:-7}
    suite fresh-labs --fresh-labs
    suite "shuffled-$seed" --shuffle "$seed"
    same_as_first fresh-labs
    same_as_first "shuffled-$seed"
    # The image's binaries read through the engine's storage driver, as before shared volumes.
    PDNS_DRILL_SHARED_USR=0 suite usr-through-storage-driver
    same_as_first usr-through-storage-driver
  fi
  if [ "$jobs1" = 1 ]; then
    suite "jobs-1" --jobs 1
  fi
  exit $status
fi
