#!/usr/bin/env bash
# The main job: set up the host, build pdns-drill, build the lab image if missing, run every
# scenario on the shipped lab and hold it to the approved baseline, so the exit code means
# something (0 as approved, 1 a verdict changed, 3 undecided: see `pdns-drill run --help`).
# Reports go under reports/<run id>/ (reports/latest points at the newest). Extra arguments go to
# `pdns-drill run`; give --config-dir/--zone (and your own --baseline) for your own lab.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup-host.sh
cargo build --release --quiet
baseline=()
case " $* " in
  *" --baseline "* | *" --config-dir "* | *" --zone "*) ;;
  *) baseline=(--baseline reports/baseline.json) ;;
esac
exec ./target/release/pdns-drill run "${baseline[@]}" "$@"
