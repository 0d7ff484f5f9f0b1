#!/bin/sh
# Makes an installed Debian rootfs a lab image: runs inside it (chroot or `docker build`).
# Shared by build-rootfs.sh (offline, debootstrap) and the Dockerfile (registry path).
set -eu
# Roles enable what they run at container creation; nothing DNS-related starts by default.
systemctl disable pdns.service pdns-recursor.service systemd-resolved.service >/dev/null 2>&1 || true
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-timesyncd.service systemd-logind.service systemd-user-sessions.service \
  >/dev/null 2>&1 || true
# First-boot work done once here, not in every lab: the catalog, the linker cache, and the
# markers that tell systemd's update units there is nothing left to do.
journalctl --update-catalog >/dev/null 2>&1 || true
# Libraries by their real directory, not through the /lib symlink: on an engine whose storage
# driver is FUSE each symlink on a path is a round trip, for every library of every exec.
for d in /usr/lib/*-linux-gnu; do echo "$d"; done >/etc/ld.so.conf.d/00-usr-first.conf
ldconfig
touch /etc/.updated /var/.updated
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
