#!/usr/bin/env bash
# The upgrade gate: every scenario on the packages a VM rebuilt today gets (Debian trixie:
# pdns 4.9, pdns-recursor 5.2, the recursor's settings converted with its own converter), for
# both labs in the repository, each against its trixie baseline; then `compare` with the same
# lab on the packages it runs now (bookworm), claim by claim.
#
# Run it before any VM rebuild or base-image change (and after changing the lab's configs, the
# scenarios or the image recipe). It does not fit CI's 8-minute budget: four full suites.
#
# Usage: scripts/upgrade-gate.sh
#   UPGRADE_GATE_DIR   where reports go (default target/upgrade-gate)
#   UPGRADE_GATE_JOBS  scenarios side by side (default 2)
#   UPGRADE_GATE_FILTER  scenario names or claim IDs (space-separated) to run instead of all
#   BOOKWORM_LAB_REPORT, BOOKWORM_BRANCH_OFFICE_REPORT
#                      an existing bookworm report.json to compare with instead of running
#                      that suite again (e.g. CI's, from the same commit)
# Exit 0: both trixie runs match their baselines; 1: a verdict differs from a trixie baseline
# (the diff is printed; approve with `pdns-drill baseline accept`); 2: set-up failed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup-host.sh
cargo build --release --quiet
bin=./target/release/pdns-drill
out=${UPGRADE_GATE_DIR:-target/upgrade-gate}
jobs=${UPGRADE_GATE_JOBS:-2}
mkdir -p "$out"

# Both images, built when missing (the bookworm one also serves the comparison runs).
t0=$(date +%s)
$bin image build --suite trixie >/dev/null
$bin image build --suite bookworm >/dev/null
echo "upgrade-gate: images ready in $(( $(date +%s) - t0 )) s"

# Runs one suite; prints the path of its report.json last.
suite_run() { # name suite baseline-or-empty config-dir zone
  local name=$1 suite=$2 baseline=$3 conf=$4 zone=$5 rc=0
  local args=(run ${UPGRADE_GATE_FILTER:-} --jobs "$jobs" --suite "$suite" --report-dir "$out/$name" --config-dir "$conf" --zone "$zone")
  [ -n "$baseline" ] && args+=(--baseline "$baseline")
  local t=$(date +%s)
  $bin "${args[@]}" >"$out/$name.log" 2>&1 || rc=$?
  echo "upgrade-gate: $name: exit $rc in $(( $(date +%s) - t )) s ($(grep -E '^[0-9]+ confirmed' "$out/$name.log" || echo 'no verdicts'))" >&2
  grep -E '^baseline' "$out/$name.log" >&2 || true
  echo "$out/$name/report.json"
  return "$rc"
}

status=0
for lab in lab branch-office; do
  if [ "$lab" = lab ]; then
    conf=lab/etc-powerdns zone=lab/zone/dns-records.md baseline=reports/baseline-trixie.json
    bookworm=${BOOKWORM_LAB_REPORT:-}
  else
    conf=labs/branch-office/etc-powerdns zone=labs/branch-office/zone/dns-records.md
    baseline=reports/baseline-trixie-branch-office.json bookworm=${BOOKWORM_BRANCH_OFFICE_REPORT:-}
  fi
  trixie=$(suite_run "trixie-$lab" trixie "$baseline" "$conf" "$zone") || status=1
  if [ -z "$bookworm" ]; then
    bookworm=$(suite_run "bookworm-$lab" bookworm "" "$conf" "$zone") || true
  fi
  echo
  echo "## $lab: bookworm → trixie"
  # compare exits 1 when a verdict differs: that is what it is here to show, not a failure.
  $bin compare "$bookworm" "$trixie" --out "$out/compare-$lab.md" --json "$out/compare-$lab.json" || true
  python3 - "$out/compare-$lab.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
rows = [r for r in c["claims"] if r["change"] in ("verdict", "added", "removed")]
for r in rows:
    v = lambda o: o["verdict"] if o else "—"
    why = (r["b"] or {}).get("evidence") or (r["a"] or {}).get("evidence") or ""
    print(f"  {r['id']}: {v(r['a'])} → {v(r['b'])}  {why[:220]}")
print(f"  {len(rows)} claim(s) change verdict; {sum(r['change'] == 'evidence' for r in c['claims'])} keep it with other evidence")
PY
  echo "  full comparison: $out/compare-$lab.md"
done
exit $status
