#!/bin/sh
# Installs the lab packages inside the rootfs (chroot), keeping on the way the .debs the
# runbook's VM rebuild installs onto a base image: pdns-server, pdns-backend-sqlite3,
# pdns-recursor and what they pull in beyond that base. `rebuild-vm` with `from = "packages"`
# installs them from here, offline, and adds the download time measured here to its timing.
# Called by build-rootfs.sh. usage: install-packages.sh SUITE PACKAGES_FILE
set -eu
suite=$1 list=$2
rebuild="pdns-server pdns-backend-sqlite3 pdns-recursor"
keep=/opt/pdns-drill/rebuild
export DEBIAN_FRONTEND=noninteractive
all=$(grep -vE '^\s*(#|$)' "$list")
# The base: everything but the rebuild's packages and what depends on them (the stand-in
# internet's pdns-backend-bind needs pdns-server).
base=$(echo "$all" | grep -vxE 'pdns-server|pdns-backend-sqlite3|pdns-recursor|pdns-backend-bind')
# systemd-resolved's postinst points resolv.conf at a stub that does not run in a chroot: the
# next round still needs the build's resolver (configure-rootfs.sh lays the lab's).
cp -L /etc/resolv.conf /tmp/resolv.conf.build
apt-get install -y -q --no-install-recommends $base
rm -f /etc/resolv.conf && mv /tmp/resolv.conf.build /etc/resolv.conf
# Only what the base lacks is downloaded: the closure a rebuilt VM installs.
apt-get clean
t0=$(date +%s%N)
apt-get install -y -q --no-install-recommends --download-only $rebuild
t1=$(date +%s%N)
mkdir -p "$keep/debs" "$keep/sources.list.d"
cp /var/cache/apt/archives/*.deb "$keep/debs/"
cd "$keep/debs"
# A flat local archive for apt (what dpkg-scanpackages writes): one stanza per .deb.
for d in *.deb; do
  dpkg-deb -f "$d"
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$d" "$(stat -c %s "$d")" "$(sha256sum "$d" | cut -d' ' -f1)"
done >Packages
echo "deb [trusted=yes] file:$keep/debs ./" >"$keep/local.list"
closure=$(for d in *.deb; do dpkg-deb -f "$d" Package; done | sort | tr '\n' ' ' | sed 's/ $//')
{
  echo "suite=$suite"
  echo "packages=\"$rebuild\""
  echo "closure=\"$closure\""
  echo "debs=$(ls *.deb | wc -l)"
  echo "bytes=$(cat *.deb | wc -c)"
  echo "download_ms=$(( (t1 - t0) / 1000000 ))"
} >"$keep/download.env"
cd /
apt-get install -y -q --no-install-recommends $all
