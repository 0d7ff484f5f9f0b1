#!/usr/bin/env bash
# A bounded chaos campaign (CHAOS_DURATION, default 10m) on the shipped lab, or on the lab given
# with --config-dir/--zone; prints what it found and whether any of its containers, networks
# or volumes is left in Docker. Extra arguments go to `pdns-drill chaos` (e.g. --seed 42
# --max-faults 2). Not part of .ci/run: a campaign's runs are random by design.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup-host.sh
# A debug build: the campaign's time goes to the labs, not to the binary.
cargo build --quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
./target/debug/pdns-drill chaos --duration "${CHAOS_DURATION:-10m}" "$@" 2> >(tee "$log" >&2) || status=$?
wait
dir=$(sed -n 's/^chaos [^:]*: .* report in \(.*\)$/\1/p' "$log" | head -1)
if [ -z "$dir" ] || [ ! -f "$dir/chaos.md" ]; then
  echo "chaos.sh: no report was written (exit $status)" >&2
  exit "$status"
fi
id=$(basename "$dir"); id=${id#chaos-}
echo
echo "== what the campaign found ($dir/chaos.md)"
sed -n '/^- runs:/,/^- labs brought up/p' "$dir/chaos.md"
sed -n '/^## Properties/,/^## Runs/p' "$dir/chaos.md" | grep -v '^## Runs'
left=$( { docker ps -a --filter label=pdns-drill.run --format '{{.Label "pdns-drill.run"}} container {{.Names}}'
          docker network ls --filter label=pdns-drill.run --format '{{.Label "pdns-drill.run"}} network {{.Name}}'
          docker volume ls --filter label=pdns-drill.run --format '{{.Label "pdns-drill.run"}} volume {{.Name}}'; } | grep "^$id-" || true)
if [ -n "$left" ]; then
  echo "== LEFT IN DOCKER by campaign $id:"; echo "$left"; status=1
else
  echo "== nothing of campaign $id is left in Docker"
fi
exit "$status"
