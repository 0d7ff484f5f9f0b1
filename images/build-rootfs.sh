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
pkgs=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | tr '\n' ',' | sed 's/,$//')

echo "step: debootstrap $suite (minbase)"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -50 "$work/debootstrap.log"; exit 1; }

echo "step: install lab packages"
mount -t proc proc "$root/proc"
# Daemons must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  $(echo "$pkgs" | tr ',' ' ') >"$work/apt.log" 2>&1 || { tail -50 "$work/apt.log"; exit 1; }
rm -f "$root/usr/sbin/policy-rc.d"

echo "step: configure for containers"
chroot "$root" /bin/sh -eu <<'CHROOT'
# Roles enable what they run at container creation; nothing DNS-related starts by default.
systemctl disable pdns.service pdns-recursor.service systemd-resolved.service >/dev/null 2>&1 || true
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-timesyncd.service >/dev/null 2>&1 || true
# systemd-resolved's postinst points resolv.conf at its stub; roles lay their own.
rm -f /etc/resolv.conf; printf 'nameserver 127.0.0.1\n' >/etc/resolv.conf
# The runbook's operator user.
id ze >/dev/null 2>&1 || useradd -m -s /bin/bash ze
echo 'ze ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/ze
# No empty file the daemon might mistake for a database.
rm -f /var/lib/powerdns/pdns.sqlite3
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/locale/*
# A role may mount an empty, size-limited filesystem on /var (the full-disk fault needs one):
# the entrypoint fills it from this seed on first boot, as an installer would.
mkdir -p /usr/lib/pdns-drill
tar -C /var -cf /usr/lib/pdns-drill/var-seed.tar .
cat >/usr/lib/pdns-drill/init <<'INIT'
#!/bin/sh
[ -e /var/lib/dpkg/status ] || tar -C /var -xf /usr/lib/pdns-drill/var-seed.tar
exec /sbin/init "$@"
INIT
chmod 755 /usr/lib/pdns-drill/init
CHROOT
umount -l "$root/proc"

echo "step: pack rootfs"
tar --numeric-owner -C "$root" -cf "$out.partial" .
mv "$out.partial" "$out"
echo "step: done"
