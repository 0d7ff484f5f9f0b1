#!/usr/bin/env bash
# Host prerequisites for pdns-drill on a fresh Debian/Ubuntu machine: debootstrap (the lab image
# is built offline from the Debian mirror named in this machine's apt sources), a reachable Docker
# Engine, room for many systemd containers, and check-jsonschema for the CI template tests.
# Idempotent; needs root (apt, sysctl).
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
# Every lab container boots a systemd, and they all draw inotify instances from root's one
# pool (128 by default: about three labs); an empty pool leaves systemd `initializing`.
want=8192
have=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo "$want")
if [ "$have" -lt "$want" ]; then
  echo "setup-host: fs.inotify.max_user_instances $have -> $want (lab containers each boot a systemd)" >&2
  sysctl -qw fs.inotify.max_user_instances=$want
  mkdir -p /etc/sysctl.d && echo "fs.inotify.max_user_instances = $want" >/etc/sysctl.d/60-pdns-drill.conf
fi
# The CI template tests validate ci/*.yml with check-jsonschema (it vendors both CI schemas).
if ! command -v check-jsonschema >/dev/null 2>&1; then
  echo "setup-host: installing check-jsonschema (pip)" >&2
  pip=(pip); command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)
  "${pip[@]}" install --quiet --root-user-action=ignore check-jsonschema
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
if ! docker info >/dev/null 2>&1; then
  echo "setup-host: the Docker Engine is not reachable (docker info failed); start it and retry" >&2
  exit 2
fi
