//! What a scenario can change and a later scenario on the same lab could see, read from every
//! container of the lab: files under /etc that configure the daemons and the system, the zone
//! (a logical dump, not the file's bytes) and its directory's owners and modes, the firewall,
//! NICs, addresses and routes, the lab's units, mounts, /var's usage, the daemons' effective
//! settings, and which containers exist on which networks. Taken once when a lab first reaches
//! steady state (the pristine one) and again after every reset: a lab serves another scenario
//! only when the two are equal.

use super::Lab;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// One reading: `field → value`, fields named `<role> <what>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    fields: BTreeMap<String, String>,
}

/// A field whose value is not the pristine one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Difference {
    pub field: String,
    pub pristine: String,
    pub now: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| if s.chars().count() > 200 { format!("{}…", s.chars().take(200).collect::<String>()) } else { s.to_string() };
        // A list (items joined by `;`): only the items that went or came.
        let (p, n): (Vec<&str>, Vec<&str>) = (self.pristine.split(';').collect(), self.now.split(';').collect());
        if p.len() > 1 || n.len() > 1 {
            let gone: Vec<String> = p.iter().filter(|i| !n.contains(i)).map(|i| format!("-{i}")).collect();
            let came: Vec<String> = n.iter().filter(|i| !p.contains(i)).map(|i| format!("+{i}")).collect();
            return write!(f, "{}: {}", self.field, cut(&[gone, came].concat().join("; ")));
        }
        write!(f, "{}: {} → {}", self.field, cut(&self.pristine), cut(&self.now))
    }
}

/// Files a scenario may leave behind grow /var by more than this; the journal and the daemons'
/// own state move it by less.
const VAR_TOLERANCE_KIB: i64 = 4096;
const VAR_FIELD: &str = "var used KiB";
/// The engine's list of the lab's containers.
const LAB_CONTAINERS: &str = "lab containers";
use crate::testbed::engine::EXEC_DEADLINE as DEADLINE;

/// Read in each container with `sh`: sections, each `@@ <how> <field>` and then what a command
/// printed; [`Fingerprint::add`] makes fields of them. Lines are joined, sorted and hashed here,
/// not by a pipeline per field: a reading runs after every scenario, and each process a
/// container starts costs more CPU than the command's own work. Sections a container has no
/// tool for are left out (the same on every reading of that container).
const SCRIPT: &str = r#"
s() { printf '@@ %s %s\n' "$1" "$2"; }
# Owner (numeric: a name is a read of /etc/passwd or /etc/group per path, through the
# engine's FUSE root), mode, type and link target of each path; content hashes of the files.
D="/etc/powerdns /etc/systemd/system /run/systemd/system /etc/ufw /etc/default/ufw /etc/resolv.conf /etc/hosts
  /etc/nsswitch.conf /etc/passwd /etc/group /etc/sudoers /etc/sudoers.d /etc/pdns-drill /etc/sysctl.d"
s fields paths; find $D -printf 'path %p\t%U:%G %m %y %l\n' 2>/dev/null
s sums contents; find $D -type f -exec sha256sum {} + 2>/dev/null
if [ -r /etc/pdns-drill/provision.env ]; then . /etc/pdns-drill/provision.env; fi
if [ -n "${DB:-}" ] && [ -e "$DB" ] && command -v sqlite3 >/dev/null; then
  # As pdns (a reader as root would leave a root-owned -shm), without PAM: setpriv, not runuser.
  s hash 'zone-db dump'; setpriv --reuid=pdns --regid=pdns --init-groups sqlite3 -init /dev/null -readonly "$DB" \
    .dump ".print '@@ list zone-db journal mode'" 'pragma journal_mode' 2>&1
  d=$(dirname "$DB"); s fields 'zone-db dir'; stat --printf 'zone-db dir %n\t%u:%g %a %F\n' "$d" "$d"/*
fi
# One save per family, without what an emptied table and one never loaded differ in (builtin
# chains with policy ACCEPT, counters): a table a scenario filled and emptied again reads as
# pristine. ufw's state is its files (above) and the chains it loads (here): `ufw status`, a
# Python start, adds nothing.
for c in iptables ip6tables; do
  command -v $c >/dev/null && { s list $c; $c-save 2>&1 | awk '/^\*/ {t = substr($1, 2); next} /^-A/ {print t, $0; next}
    /^:/ {if ($2 != "ACCEPT") print t, $1, $2; next} !/^(#|COMMIT$)/'; }
done
s sorted links; ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//'
s sorted addresses; ip -o addr show | awk '{print $2, $3, $4}'
s sorted routes; ip route show table all
s sorted routes6; ip -6 route show table all 2>/dev/null
# Two systemctl calls per container: each is a D-Bus round trip through the container's
# systemd, the costliest part of a reading. Every unit once (the lab's, and the failed ones);
# the daemons' units in detail, units a container lacks left out.
shown=
if [ -d /run/systemd/system ]; then
  all=$(systemctl list-units --all --no-legend --plain 2>/dev/null)
  s sorted units; printf '%s\n' "$all" | awk '$1 ~ /^(pdns|drill-|systemd-resolved)/ {print $1, $2, $3, $4}'
  shown=$(systemctl show -p Id,LoadState,ActiveState,SubState,Result,UnitFileState,NRestarts pdns pdns-recursor systemd-resolved 2>/dev/null)
  s fields units; printf '%s\n' "$shown" |
    awk -v RS= -F '\n' '/LoadState=loaded/ { u = ""; v = ""
      for (i = 1; i <= NF; i++) if ($i ~ /^Id=/) { u = $i; sub(/^Id=/, "", u); sub(/\.service$/, "", u) } else if ($i !~ /^LoadState=/) v = v (v == "" ? "" : ";") $i
      print "unit " u "\t" v }'
  s sorted 'failed units'; printf '%s\n' "$all" | awk '$3 == "failed" {print $1}'
fi
# Whether UNIT is active, from the reading above (never, without systemd).
up() { printf '%s\n' "$shown" | awk -v RS= -F '\n' -v id="Id=$1.service" '{ a = 0; me = 0
  for (i = 1; i <= NF; i++) { if ($i == id) me = 1; if ($i == "ActiveState=active") a = 1 }
  if (me && a) f = 1 } END { exit !f }'; }
s counted 'processes under init'; ps -e -o stat=,ppid=,user=,comm= | awk '$1 !~ /^Z/ && $2 == 1 {print $3, $4}'
# Each distinct mount once, cgroup's aside: systemd in a container stacks those as it
# (re)starts sandboxed units.
s unique mounts; findmnt -rn -o TARGET,FSTYPE,OPTIONS | grep -v '^/sys/fs/cgroup'
# Only where /var is a disk of its own (the VM's); elsewhere df would read the host's.
if findmnt -n /var >/dev/null; then s list 'var used KiB'; df -k --output=used /var | awk 'NR == 2 {print $1}'; fi
if command -v pdns_control >/dev/null && up pdns; then
  s hash 'pdns settings'; pdns_control current-config 2>&1 | grep -v '^#'
fi
if command -v rec_control >/dev/null && up pdns-recursor; then
  s list 'recursor settings'; rec_control get-parameter local-address local-port allow-from forward-zones forward-zones-recurse \
    forward-zones-file hint-file dont-query dnssec max-cache-ttl max-negative-ttl packetcache-ttl packetcache-servfail-ttl query-local-address 2>&1
fi
exit 0
"#;

/// How a section of [`SCRIPT`]'s output becomes fields.
fn section_fields(how: &str, field: &str, lines: &[&str], out: &mut Vec<(String, String)>) {
    let sorted = || {
        let mut v = lines.to_vec();
        v.sort_unstable();
        v
    };
    let value = match how {
        // Each line a field already: `name<TAB>value`.
        "fields" => return out.extend(lines.iter().filter_map(|l| l.split_once('\t')).map(|(k, v)| (k.to_string(), v.to_string()))),
        // sha256sum's `hash  path`: one field per file.
        "sums" => return out.extend(lines.iter().filter_map(|l| l.split_once("  ")).map(|(h, p)| (format!("content {p}"), h.chars().take(16).collect()))),
        "hash" => {
            use sha2::Digest;
            hex::encode(&sha2::Sha256::digest(lines.join("\n").as_bytes())[..8])
        }
        "sorted" => sorted().join(";"),
        "unique" => {
            let mut v = sorted();
            v.dedup();
            v.join(";")
        }
        // Equal lines once, with how many there were.
        "counted" => {
            let mut counts = std::collections::BTreeMap::<&str, usize>::new();
            for l in lines {
                *counts.entry(l).or_default() += 1;
            }
            counts.iter().map(|(l, n)| format!("{l} x{n}")).collect::<Vec<_>>().join(";")
        }
        _ => lines.join(";"),
    };
    out.push((field.to_string(), value));
}

impl Fingerprint {
    /// Parses one container's reading (sections of [`SCRIPT`]) under `role`'s name.
    pub fn add(&mut self, role: &str, text: &str) {
        let mut fields = Vec::new();
        let mut section: Option<(&str, &str)> = None;
        let mut body: Vec<&str> = Vec::new();
        for l in text.lines().chain(std::iter::once("@@ end")) {
            if let Some(head) = l.strip_prefix("@@ ") {
                if let Some((how, field)) = section {
                    section_fields(how, field, &body, &mut fields);
                }
                section = head.split_once(' ');
                body.clear();
            } else if section.is_some() && !l.is_empty() {
                body.push(l);
            }
        }
        for (k, v) in fields {
            self.fields.insert(format!("{role} {k}"), v);
        }
    }

    /// Without the fields of these roles: their containers were removed from the lab, which
    /// from then on is the lab without them.
    fn shed(&mut self, gone: &[super::Role]) {
        self.fields.retain(|k, _| !gone.iter().any(|r| k.strip_prefix(r.as_str()).is_some_and(|rest| rest.starts_with(' '))));
    }

    pub fn insert(&mut self, field: String, value: String) {
        self.fields.insert(field, value);
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every field that is not as in `pristine` (missing on either side included); /var's
    /// usage within its tolerance counts as equal.
    pub fn differences(&self, pristine: &Fingerprint) -> Vec<Difference> {
        let keys: std::collections::BTreeSet<&String> = self.fields.keys().chain(pristine.fields.keys()).collect();
        let absent = || "(absent)".to_string();
        keys.into_iter()
            .filter_map(|k| {
                let (p, n) = (pristine.fields.get(k), self.fields.get(k));
                let equal = match (p, n) {
                    (Some(p), Some(n)) if k.ends_with(VAR_FIELD) => match (p.parse::<i64>(), n.parse::<i64>()) {
                        (Ok(p), Ok(n)) => (n - p).abs() <= VAR_TOLERANCE_KIB,
                        _ => p == n,
                    },
                    (p, n) => p == n,
                };
                (!equal).then(|| Difference { field: k.clone(), pristine: p.cloned().unwrap_or_else(absent), now: n.cloned().unwrap_or_else(absent) })
            })
            .collect()
    }
}

/// Reads the fingerprint of every container the lab was built with, and the engine's view of
/// them (state and networks). A container that cannot be read is a field of its own, so the
/// comparison, not this function, decides.
pub async fn take(lab: &Lab) -> Result<Fingerprint> {
    take_after(lab, &|_| None).await
}

/// Exit status of a `before` script that failed: the reading is skipped.
const BEFORE_FAILED: i64 = 97;

/// The same reading, each container first running `before(role)` (if any) in the same exec:
/// a reset and its proof cost one exec per container, not two. A `before` that fails is a field
/// of its own (`<role> before`), so the lab is discarded with what went wrong.
pub async fn take_after(lab: &Lab, before: &(dyn Fn(super::Role) -> Option<String> + Sync)) -> Result<Fingerprint> {
    let mut fp = read_roles(lab, &lab.spec.roles, before).await?;
    fp.insert(LAB_CONTAINERS.into(), lab_containers(lab).await?);
    Ok(fp)
}

/// The field [`LAB_CONTAINERS`]: the engine's list of the lab's containers, as it is now.
async fn lab_containers(lab: &Lab) -> Result<String> {
    Ok(lab.engine.containers_of(&lab.spec.run_id).await?.join(","))
}

/// The pristine reading of a reshaped lab, once it is steady: the helpers removed go from it,
/// those added are read now (their first steady state, as a boot's are), and the lab's
/// container list is read as it now is (the harness's own doing).
pub async fn reshape_pristine(lab: &Lab, pristine: &mut Fingerprint, r: &super::Reshaped) -> Result<()> {
    if r.added.is_empty() && r.shed.is_empty() {
        return Ok(());
    }
    pristine.shed(&r.shed);
    let added = read_roles(lab, &r.added, &|_| None).await?;
    pristine.fields.extend(added.fields);
    pristine.insert(LAB_CONTAINERS.into(), lab_containers(lab).await?);
    Ok(())
}

async fn read_roles(lab: &Lab, roles: &[super::Role], before: &(dyn Fn(super::Role) -> Option<String> + Sync)) -> Result<Fingerprint> {
    let readings = futures_util::future::join_all(roles.iter().map(|r| async move {
        let name = lab.name(*r);
        let state = lab.engine.state(&name).await;
        let nets = lab.engine.networks_of(&name).await.unwrap_or_default();
        // A subshell of its own, run as a plain command: `set -e` in `before` holds there (in
        // an `||` list it would be ignored) and stops at the reading. Its output goes to stderr,
        // away from the fields.
        let script = match before(*r) {
            Some(b) => format!("(\n{b}\n) >&2\n[ $? -eq 0 ] || exit {BEFORE_FAILED}\n{SCRIPT}"),
            None => SCRIPT.to_string(),
        };
        let inside = match state {
            crate::testbed::engine::State::Running => Some(lab.sh(*r, &script, DEADLINE).await.with_context(|| format!("reading the fingerprint of {}", r.as_str()))),
            _ => None,
        };
        (*r, format!("{state:?} on {}", sorted(nets).join(",")), inside)
    }))
    .await;
    let mut fp = Fingerprint::default();
    for (role, engine_view, inside) in readings {
        fp.insert(format!("{} container", role.as_str()), engine_view);
        if let Some(o) = inside {
            let o = o?;
            if o.exit_code == Some(BEFORE_FAILED) {
                fp.insert(format!("{} before", role.as_str()), format!("failed: {}", o.summary(600)));
            } else if !o.success() {
                fp.insert(format!("{} reading", role.as_str()), format!("exit {:?}: {}", o.exit_code, o.summary(300)));
            }
            fp.add(role.as_str(), &o.stdout);
        }
    }
    Ok(fp)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(lines: &str) -> Fingerprint {
        let mut f = Fingerprint::default();
        f.add("pdns-vm", &format!("@@ fields -\n{lines}"));
        f
    }

    #[test]
    fn sections_become_fields_joined_sorted_counted_or_hashed() {
        let mut f = Fingerprint::default();
        let reading = "@@ sums contents\n0123456789abcdef0123  /etc/hosts\n@@ sorted links\nlo UP\neth0 UP\n@@ unique mounts\n/ fuse\n/ fuse\n/var ext4\n\
@@ counted processes under init\nroot systemd\npdns pdns_server\nroot systemd\n@@ list iptables\ntable filter\n-P INPUT ACCEPT\n@@ sorted failed units\n\
@@ hash zone-db dump\nCREATE TABLE records;\n";
        f.add("pdns-vm", reading);
        let get = |k: &str| f.fields.get(k).cloned();
        assert_eq!(get("pdns-vm content /etc/hosts").as_deref(), Some("0123456789abcdef"));
        assert_eq!(get("pdns-vm links").as_deref(), Some("eth0 UP;lo UP"));
        assert_eq!(get("pdns-vm mounts").as_deref(), Some("/ fuse;/var ext4"));
        assert_eq!(get("pdns-vm processes under init").as_deref(), Some("pdns pdns_server x1;root systemd x2"));
        assert_eq!(get("pdns-vm iptables").as_deref(), Some("table filter;-P INPUT ACCEPT"));
        assert_eq!(get("pdns-vm failed units").as_deref(), Some(""));
        let dump = get("pdns-vm zone-db dump").unwrap();
        assert_eq!(dump.len(), 16);
        let mut other = Fingerprint::default();
        other.add("pdns-vm", &reading.replace("records;", "records ;"));
        assert_ne!(other.fields.get("pdns-vm zone-db dump"), Some(&dump), "a changed dump hashes differently");
    }

    #[test]
    fn a_shed_container_takes_its_fields_along() {
        let mut f = Fingerprint::default();
        f.add("workstation", "@@ sorted links\nlo UP\n");
        f.add("pdns-vm", "@@ sorted links\neth0 UP\n");
        f.insert("workstation container".into(), "Running on lab".into());
        f.insert(LAB_CONTAINERS.into(), "x-pdns-vm running,x-workstation running".into());
        f.shed(&[crate::testbed::Role::Workstation]);
        let keys: Vec<&str> = f.fields.keys().map(String::as_str).collect();
        // The list is the engine's, read again after a reshape (`reshape_pristine`).
        assert_eq!(keys, [LAB_CONTAINERS, "pdns-vm links"]);
    }

    #[test]
    fn equal_readings_have_no_difference() {
        let a = fp("content /etc/powerdns/pdns.conf\troot:root 644 abc\nlinks\teth0 UP");
        assert!(a.differences(&a.clone()).is_empty());
    }

    #[test]
    fn a_changed_missing_or_new_field_is_a_difference() {
        let pristine = fp("content /etc/powerdns/pdns.conf\troot:root 644 abc\nunit pdns\tActiveState=active");
        let now = fp("content /etc/powerdns/pdns.conf\troot:root 644 abd\niptables\t-A INPUT -p udp --dport 53 -j DROP");
        let d = now.differences(&pristine);
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["pdns-vm content /etc/powerdns/pdns.conf", "pdns-vm iptables", "pdns-vm unit pdns"]);
        assert_eq!(d[1].pristine, "(absent)");
        assert_eq!(d[2].now, "(absent)");
    }

    #[test]
    fn a_list_shows_only_the_items_that_went_or_came() {
        let d = Difference { field: "pdns-vm mounts".into(), pristine: "/ overlay;/var tmpfs rw".into(), now: "/ overlay;/var tmpfs ro".into() };
        assert_eq!(d.to_string(), "pdns-vm mounts: -/var tmpfs rw; +/var tmpfs ro");
    }

    #[test]
    fn var_usage_is_equal_within_its_tolerance_only() {
        let pristine = fp("var used KiB\t10000");
        assert!(fp("var used KiB\t12000").differences(&pristine).is_empty());
        let full = fp("var used KiB\t65000").differences(&pristine);
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].to_string(), "pdns-vm var used KiB: 10000 → 65000");
    }
}
