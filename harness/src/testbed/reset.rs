//! Puts a lab that served a scenario back as it was when it first reached steady state, for
//! what the harness knows it must undo: the VM's /etc/powerdns and zone database from the
//! pristine copies taken then, the daemons restarted (caches, throttles and negative caches
//! empty), failed units reset, the journal emptied (the next scenario reads only its own
//! lines), neighbour and connection-tracking tables flushed, and the helpers' caches (the
//! stand-in internet's servers, the workstation's stub resolver, the client's held connections)
//! dropped. What a heal should have undone (the firewall, links, disk, units' enablement) is
//! left as it is: the fingerprint taken after this decides whether the lab is clean.

use super::fingerprint::{self, Fingerprint};
use super::{Lab, Role};
use anyhow::{Context, Result};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(90);
/// Outside /var (the VM's disk, which scenarios fill) and outside /etc/powerdns.
const PRISTINE: &str = "/usr/lib/pdns-drill/pristine";

/// Copies of the VM's config tree and the zone database's directory, taken at its first steady
/// state. The database is copied with SQLite's online backup: consistent while pdns runs, page for page
/// the same layout.
pub async fn capture_pristine(lab: &Lab) -> Result<()> {
    let script = format!(
        r#"set -e
. /etc/pdns-drill/provision.env
rm -rf {PRISTINE} && mkdir -p {PRISTINE}
cp -a /etc/powerdns {PRISTINE}/etc-powerdns
d=$(dirname "$DB"); b=$(basename "$DB")
mkdir -p {PRISTINE}/db-dir && chown --reference="$d" {PRISTINE}/db-dir && chmod --reference="$d" {PRISTINE}/db-dir
find "$d" -mindepth 1 -maxdepth 1 ! -name "$b" ! -name "$b-wal" ! -name "$b-shm" -exec cp -a {{}} {PRISTINE}/db-dir/ \;
if [ -e "$DB" ]; then
  sqlite3 "$DB" ".backup '{PRISTINE}/db-dir/$b'"
  chown --reference="$DB" "{PRISTINE}/db-dir/$b" && chmod --reference="$DB" "{PRISTINE}/db-dir/$b"
fi"#
    );
    lab.sh_ok(Role::PdnsVm, &script, DEADLINE).await.map(|_| ()).context("copying the pristine config and zone")
}

/// Resets every container of the lab and reads its fingerprint, in one exec per container. A
/// reset that fails shows as a field of its own (`<role> before`), never as a clean lab.
pub async fn reset_and_read(lab: &Lab) -> Result<Fingerprint> {
    fingerprint::take_after(lab, &|r| Some(script(r))).await
}

/// What a reset left different from `pristine`, once the lab has settled: the reset and its
/// reading, then, while fields differ, readings again until they agree or [`SETTLE`] passes,
/// then the reset once more. A daemon just restarted can show a state on its way to the
/// pristine one, or not come back from one restart (the load on two cores stretches those
/// moments; seen: the stand-in internet's pdns_server gone after a reset under load); a
/// leftover of a scenario survives any number of resets. The fingerprint, not the number of
/// resets, proves the lab clean. Returns the differences that remained and those that went.
pub async fn reset_and_compare(lab: &Lab, pristine: &Fingerprint) -> Result<Settled> {
    let first = reset_and_read(lab).await?.differences(pristine);
    let mut left = first.clone();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !left.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        left = fingerprint::take(lab).await?.differences(pristine);
    }
    if !left.is_empty() {
        left = reset_and_read(lab).await?.differences(pristine);
    }
    let passing = first.into_iter().filter(|d| !left.iter().any(|l| l.field == d.field)).collect();
    Ok(Settled { left, passing: causes(passing) })
}

/// A container whose reset failed has no reading: its every field differs because of that one
/// failure, so only the failure is kept.
fn causes(differences: Vec<fingerprint::Difference>) -> Vec<fingerprint::Difference> {
    let failed: Vec<String> = differences.iter().filter_map(|d| d.field.strip_suffix(" before").map(|r| format!("{r} "))).collect();
    differences.into_iter().filter(|d| d.field.ends_with(" before") || !failed.iter().any(|r| d.field.starts_with(r.as_str()))).collect()
}

/// How long a reset lab may take to read as its pristine self.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The outcome of [`reset_and_compare`].
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Still different at the end: the lab is not clean.
    pub left: Vec<fingerprint::Difference>,
    /// Different on the first reading only: settled, or put back by the second reset.
    pub passing: Vec<fingerprint::Difference>,
}

/// What resets `role`: the VM's config tree and database from the pristine copies, the daemons
/// restarted; a helper's caches dropped.
fn script(role: Role) -> String {
    if role == Role::PdnsVm {
        format!(
            r#"set -e
. /etc/pdns-drill/provision.env
systemctl stop pdns-recursor pdns
# In place, never the directory itself: on the container's overlay root a re-created
# directory is not opaque, and a file deleted from it later shows the image's copy again.
cd /etc/powerdns
find . -depth -mindepth 1 | while read -r f; do [ -e "{PRISTINE}/etc-powerdns/$f" ] || [ -L "{PRISTINE}/etc-powerdns/$f" ] || rm -rf "$f"; done
cp -a {PRISTINE}/etc-powerdns/. /etc/powerdns/
cd /
# The whole directory: the runbook's recovery moves the corrupt file aside next to it.
d=$(dirname "$DB"); rm -rf "$d" && cp -a {PRISTINE}/db-dir "$d"
{COMMON}
systemctl start pdns pdns-recursor"#
        )
    } else {
        // try-restart: only the units running, in one call (a unit this helper lacks fails
        // alone; one that does not come back shows in the fingerprint read next).
        format!("set -e\nif [ -d /run/systemd/system ]; then\n{COMMON}\nsystemctl try-restart pdns pdns-recursor systemd-resolved 2>/dev/null || true\nelse\n{PLAIN}\nfi")
    }
}

/// What every container gets: no failed units, no held connections from the client's echo
/// service, no polkit daemon, an empty journal, empty neighbour and conntrack tables.
/// Each systemctl call costs the container's systemd a D-Bus round trip: as few as can be.
const COMMON: &str = r#"# polkit: started on demand by the operator's first unprivileged systemctl; a fresh lab has none.
systemctl stop 'drill-echo@*.service' polkit.service 2>/dev/null || true
systemctl reset-failed
journalctl --rotate --vacuum-size=1 >/dev/null 2>&1 || true
ip neigh flush all 2>/dev/null || true
if command -v conntrack >/dev/null; then conntrack -F >/dev/null 2>&1 || true; fi"#;

/// A role without systemd (the stand-in internet): the stand-in resolver started again as its
/// init started it, so its caches and throttles start empty too. The stand-in authoritative
/// serves fixed data with fixed TTLs: while it runs and answers, a restart (most
/// of this reset's CPU) would change nothing a scenario can see; one that does not is restarted.
const PLAIN: &str = r#"ip neigh flush all 2>/dev/null || true
user_of() { ps -C "$1" -o stat=,user= | awk '$1 !~ /^Z/ {print $2; exit}'; }
# What to go on when one does not come back: its processes and the last lines it logged.
gone() {
  echo "$1 did not come back as $2: $(ps -C $1 -o pid=,stat=,user=,etime=,wchan= | tr -s ' \n' ' ')" >&2
  l=/var/log/drill-pdns.log; [ $1 = pdns_server ] || l=/var/log/drill-recursor.log
  tail -n 3 $l 2>/dev/null | sed 's/^/  log: /' >&2
}
was=""; again=mkdir
for p in pdns_server pdns_recursor; do
  u=$(user_of $p)
  if [ $p = pdns_server ] && [ -n "$u" ] && pdns_control rping >/dev/null 2>&1; then continue; fi
  [ -z "$u" ] || was="$was $p=$u"; again="$again|/usr/sbin/$p"
  # Its init never reaps: a killed daemon stays a zombie, gone once every thread of it is (its
  # threads have names of their own, pdns/ctrlListen…: a leader already a zombie can still
  # hold the control socket, and a new pdns_server that finds it answering exits).
  pids=$(pgrep -d, -x $p) || continue
  pkill -x $p || true; while ps -L -p "$pids" -o stat= | grep -qv '^Z'; do sleep 0.05; done
done
grep -E "^($again)( |$)" /usr/lib/pdns-drill/plain-init | sh
# Back when each answers on its control socket as the user it ran as (it drops root after
# binding): the fingerprint is read right after this.
for pu in $was; do
  p=${pu%%=*}; u=${pu#*=}; c="pdns_control rping"; [ $p = pdns_server ] || c="rec_control ping"; i=0
  until [ "$(user_of $p)" = "$u" ] && $c >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { gone "$p" "$u"; exit 1; }; sleep 0.05
  done
done"#;

#[cfg(test)]
mod tests {
    use super::*;
    use fingerprint::Difference;

    fn d(field: &str) -> Difference {
        Difference { field: field.into(), pristine: "a".into(), now: "(absent)".into() }
    }

    #[test]
    fn a_failed_reset_stands_for_the_fields_its_container_could_not_read() {
        let all = vec![d("internet before"), d("internet content /etc/hosts"), d("internet links"), d("pdns-vm links"), d("workstation units")];
        let kept: Vec<String> = causes(all).into_iter().map(|d| d.field).collect();
        assert_eq!(kept, ["internet before", "pdns-vm links", "workstation units"]);
        let none_failed = vec![d("internet links"), d("pdns-vm links")];
        assert_eq!(causes(none_failed.clone()), none_failed);
    }
}
