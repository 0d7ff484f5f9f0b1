#!/usr/bin/env bash
# The tests: unit tests, renderer snapshots, and integration tests against real containers
# (the lab image is built on first use). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup-host.sh
# The `ci` profile (Cargo.toml): dependencies optimised, the harness not, so a change compiles in
# seconds. No separate `cargo build` first: the dev-dependencies turn on more features of shared
# crates (serde_json's float_roundtrip, regex-automata's nfa, hashbrown's default, …), so a plain
# build and a test build compile the dependency graph once each. The test build makes
# <target>/ci/pdns-drill too, which .ci/run then uses.
# The integration tests are one binary whose tests mostly wait on daemons (a recovery deadline,
# the recursor's throttle): six at a time overlap those waits on two cores (measured here: 4 →
# 297 s, 6 → 231 s, 8 → 222 s, the longest tests then setting the end).
RUST_TEST_THREADS=${RUST_TEST_THREADS:-6} cargo test --profile ci --workspace "$@"
