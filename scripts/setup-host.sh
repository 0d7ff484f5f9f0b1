#!/usr/bin/env bash
# Host prerequisites for pdns-drill on a fresh Debian/Ubuntu machine: debootstrap (the lab image
# is built offline from the Debian mirror named in this machine's apt sources) and a reachable
# Docker Engine. Idempotent; needs root for apt.
set -euo pipefail
need=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v bc >/dev/null 2>&1 || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-host: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "setup-host: the Docker Engine is not reachable (docker info failed); start it and retry" >&2
  exit 2
fi
