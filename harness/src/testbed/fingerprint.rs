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
use std::time::Duration;

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
const DEADLINE: Duration = Duration::from_secs(60);

/// Read in each container with `sh`: one `field<TAB>value` line each. Sections a container has
/// no tool for are left out (the same on every reading of that container).
const SCRIPT: &str = r#"
h() { sha256sum | cut -c1-16; }
line() { printf '%s\t%s\n' "$1" "$(tr '\n' ';' | sed 's/;$//')"; }
# Owner, mode, type and link target of each path; content hashes of the regular files.
D="/etc/powerdns /etc/systemd/system /run/systemd/system /etc/ufw /etc/default/ufw /etc/resolv.conf /etc/hosts
  /etc/nsswitch.conf /etc/passwd /etc/group /etc/sudoers /etc/sudoers.d /etc/pdns-drill /etc/sysctl.d"
find $D -printf 'path %p\t%u:%g %m %y %l\n' 2>/dev/null
find $D -type f -exec sha256sum {} + 2>/dev/null | awk '{print "content " $2 "\t" substr($1, 1, 16)}'
if [ -r /etc/pdns-drill/provision.env ]; then . /etc/pdns-drill/provision.env; fi
if [ -n "${DB:-}" ] && [ -e "$DB" ] && command -v sqlite3 >/dev/null; then
  runuser -u pdns -- sqlite3 -readonly "$DB" .dump 2>&1 | h | line 'zone-db dump'
  runuser -u pdns -- sqlite3 -readonly "$DB" 'pragma journal_mode' 2>&1 | line 'zone-db journal mode'
  d=$(dirname "$DB"); for f in "$d" "$d"/*; do printf 'zone-db dir %s\t%s\n' "$f" "$(stat -c '%U:%G %a %F' "$f")"; done
fi
# Per table, listed whether or not loaded: an emptied table reads as one never used.
for c in iptables ip6tables; do
  command -v $c >/dev/null && for t in filter nat mangle raw; do $c -t $t -S 2>&1 | sed "s/^/$t /"; done | line "$c"
done
command -v ufw >/dev/null && ufw status 2>&1 | line ufw
ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//' | sort | line links
ip -o addr show | awk '{print $2, $3, $4}' | sort | line addresses
ip route show table all | sort | line routes
ip -6 route show table all 2>/dev/null | sort | line routes6
if [ -d /run/systemd/system ]; then
systemctl list-units --all --no-legend --plain 'pdns*' 'drill-*' 'systemd-resolved*' 2>/dev/null | awk '{print $1, $2, $3, $4}' | sort | line units
for u in pdns pdns-recursor systemd-resolved; do
  systemctl cat "$u" >/dev/null 2>&1 || continue
  systemctl show -p ActiveState,SubState,Result,UnitFileState,NRestarts "$u" | sort | line "unit $u"
done
systemctl list-units --state=failed --no-legend --plain 2>/dev/null | awk '{print $1}' | sort | line 'failed units'
fi
ps -e -o stat=,ppid=,user=,comm= | awk '$1 !~ /^Z/ && $2 == 1 {print $3, $4}' | sort | uniq -c | awk '{print $2, $3, "x" $1}' | line 'processes under init'
# Each distinct mount once, cgroup's aside: systemd in a container stacks those as it
# (re)starts sandboxed units.
findmnt -rn -o TARGET,FSTYPE,OPTIONS | grep -v '^/sys/fs/cgroup' | sort -u | line mounts
# Only where /var is a disk of its own (the VM's); elsewhere df would read the host's.
if findmnt -n /var >/dev/null; then printf 'var used KiB\t%s\n' "$(df -k --output=used /var | tail -1 | tr -d ' ')"; fi
if command -v pdns_control >/dev/null && systemctl is-active -q pdns; then
  pdns_control current-config 2>&1 | grep -v '^#' | sort | h | line 'pdns settings'
fi
if command -v rec_control >/dev/null && systemctl is-active -q pdns-recursor; then
  for k in local-address local-port allow-from forward-zones forward-zones-recurse forward-zones-file hint-file \
    dont-query dnssec max-cache-ttl max-negative-ttl packetcache-ttl packetcache-servfail-ttl query-local-address; do
    printf '%s=%s\n' "$k" "$(rec_control get-parameter "$k" 2>&1 | tr '\n' ' ')"
  done | line 'recursor settings'
fi
exit 0
"#;

impl Fingerprint {
    /// Parses one container's `field<TAB>value` lines under `role`'s name.
    pub fn add(&mut self, role: &str, text: &str) {
        for l in text.lines() {
            if let Some((k, v)) = l.split_once('\t') {
                self.fields.insert(format!("{role} {k}"), v.to_string());
            }
        }
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
    let roles = lab.spec.roles.clone();
    let readings = futures_util::future::join_all(roles.iter().map(|r| async move {
        let name = lab.name(*r);
        let state = lab.engine.state(&name).await;
        let nets = lab.engine.networks_of(&name).await.unwrap_or_default();
        let inside = match state {
            crate::engine::State::Running => Some(lab.sh(*r, SCRIPT, DEADLINE).await.with_context(|| format!("reading the fingerprint of {}", r.as_str()))),
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
            if !o.success() {
                fp.insert(format!("{} reading", role.as_str()), format!("exit {:?}: {}", o.exit_code, o.summary(300)));
            }
            fp.add(role.as_str(), &o.stdout);
        }
    }
    fp.insert("lab containers".into(), lab.engine.containers_of(&lab.spec.run_id).await?.join(","));
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
        f.add("pdns-vm", lines);
        f
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
