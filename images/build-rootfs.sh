#!/usr/bin/env bash
# Builds the lab rootfs offline-from-registries: debootstrap from a Debian mirror, then a tarball
# that `docker import` turns into the image. Called by `pdns-drill image build`.
# usage: build-rootfs.sh SUITE MIRROR OUT_TARBALL
set -euo pipefail
suite=$1 mirror=$2 out=$3
here=$(dirname "$(readlink -f "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/pdns-drill-rootfs.XXXXXX")
cleanup() {
  for m in proc sys dev/pts dev; do umount -l "$work/root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
root=$work/root

echo "step: debootstrap $suite (minbase)"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -50 "$work/debootstrap.log"; exit 1; }

echo "step: install lab packages"
mount -t proc proc "$root/proc"
# Daemons must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
cp "$here/install-packages.sh" "$here/packages.txt" "$root/tmp/"
chroot "$root" /bin/sh /tmp/install-packages.sh "$suite" /tmp/packages.txt \
  >"$work/apt.log" 2>&1 || { tail -50 "$work/apt.log"; exit 1; }
rm -f "$root/tmp/install-packages.sh" "$root/tmp/packages.txt" "$root/usr/sbin/policy-rc.d"
. "$root/opt/pdns-drill/rebuild/download.env"
echo "step: kept $debs .debs ($bytes bytes) for the VM rebuild: downloaded in $download_ms ms"

echo "step: configure for containers"
cp "$here/configure-rootfs.sh" "$root/tmp/configure-rootfs.sh"
chroot "$root" /bin/sh /tmp/configure-rootfs.sh
rm -f "$root/tmp/configure-rootfs.sh"
umount -l "$root/proc"

echo "step: pack rootfs"
tar --numeric-owner -C "$root" -cf "$out.partial.$$" .
mv "$out.partial.$$" "$out"
echo "step: done"
