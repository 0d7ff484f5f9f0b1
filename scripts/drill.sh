#!/usr/bin/env bash
# The main job: set up the host, build pdns-drill, build the lab image if missing, run every
# scenario and write reports under reports/<run id>/. Extra arguments go to `pdns-drill run`.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup-host.sh
cargo build --release --quiet
exec ./target/release/pdns-drill run "$@"
