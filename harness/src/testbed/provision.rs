//! What each role gets laid into it before its first boot: configs, a provisioning unit (the
//! testbed's cloud-init: addresses, resolver, first-boot zone load) and enabled services.

use super::config::{ConfigDir, ZoneInput};
use super::plan::Plan;
use crate::engine::FileEntry;

pub const PROVISION_SCRIPT: &str = r#"#!/bin/sh
# pdns-drill provisioning, every boot: extra lab addresses, resolver; first boot: the zone.
set -eu
. /etc/pdns-drill/provision.env
if [ -n "${EXTRA_ADDRS:-}" ]; then
  dev=$(ip -o -4 addr show | awk -v a="$PRIMARY_ADDR/" 'index($4, a) == 1 { print $2; exit }')
  for a in $EXTRA_ADDRS; do ip addr replace "$a" dev "$dev"; done
fi
cat /etc/pdns-drill/resolv.conf > /etc/resolv.conf
db=${DB:-/var/lib/powerdns/pdns.sqlite3}
if [ -d /etc/pdns-drill/zones ] && [ ! -e "$db" ]; then
  mkdir -p "$(dirname "$db")"
  sqlite3 "$db" < /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
  for z in /etc/pdns-drill/zones/*.zone; do
    name=$(basename "$z" .zone)
    [ "$name" = root ] && name=.
    pdnsutil load-zone "$name" "$z" >/dev/null
  done
  chown pdns:pdns "$(dirname "$db")" "$db"*
fi
"#;

const PROVISION_UNIT: &str = "[Unit]
Description=pdns-drill lab provisioning (addresses, resolver, first-boot zone load)
After=local-fs.target
Before=pdns.service pdns-recursor.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/pdns-drill/provision

[Install]
WantedBy=multi-user.target
";

/// The app service lab clients hold TCP connections to (socket-activated echo).
const ECHO_SOCKET: &str = "[Unit]\nDescription=lab app (echo)\n\n[Socket]\nListenStream=7777\nAccept=yes\n\n[Install]\nWantedBy=sockets.target\n";
const ECHO_SERVICE: &str = "[Unit]\nDescription=lab app (echo) connection\n\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n";

pub const APP_PORT: u16 = 7777;

fn enable(unit: &str, target: &str, unit_dir: &str) -> FileEntry {
    FileEntry::Symlink { path: format!("/etc/systemd/system/{target}.wants/{unit}"), target: format!("{unit_dir}/{unit}") }
}

fn base(plan_primary: std::net::Ipv4Addr, extra: &[String], nameserver: &str, db: &str) -> Vec<FileEntry> {
    vec![
        FileEntry::File { path: "/usr/lib/pdns-drill/provision".into(), mode: 0o755, uid: 0, gid: 0, content: PROVISION_SCRIPT.into() },
        FileEntry::file("/etc/systemd/system/drill-provision.service", PROVISION_UNIT),
        enable("drill-provision.service", "multi-user.target", "/etc/systemd/system"),
        FileEntry::file(
            "/etc/pdns-drill/provision.env",
            format!("PRIMARY_ADDR={plan_primary}\nEXTRA_ADDRS=\"{}\"\nDB={db}\n", extra.join(" ")),
        ),
        FileEntry::file("/etc/pdns-drill/resolv.conf", format!("nameserver {nameserver}\n")),
    ]
}

/// The hermetic settings every run adds, as (file, content, what it is for the report).
pub fn hermetic_dropins(plan: &Plan, config: &ConfigDir) -> Vec<(String, String, String)> {
    let has_include = |file: &str, dir: &str| {
        config
            .files
            .iter()
            .any(|(p, b)| p == file && String::from_utf8_lossy(b).lines().any(|l| l.trim().starts_with("include-dir") && l.contains(dir)))
    };
    let rec = format!(
        "# pdns-drill: hermetic lab. Root hints point at the stand-in internet; its root is unsigned,\n# so validation is off; it sits on a private Docker subnet, which dont-query would block;\n# no security polling.\nhint-file=/etc/powerdns/drill-root.hints\ndnssec=process-no-validate\ndont-query+=!{}\nsecurity-poll-suffix=\n",
        plan.public
    );
    let auth = "# pdns-drill: hermetic lab, no security polling.\nsecurity-poll-suffix=\n".to_string();
    let mut out = Vec::new();
    let (rec_path, rec_note) = if has_include("recursor.conf", "recursor.d") {
        ("recursor.d/zz-drill-hermetic.conf", "recursor.d/zz-drill-hermetic.conf")
    } else {
        ("recursor.conf", "appended to recursor.conf (no include-dir)")
    };
    out.push((rec_path.to_string(), rec, format!("{rec_note}: hint-file → stand-in root {}, dnssec=process-no-validate, dont-query+=!<public subnet>, security-poll-suffix=", plan.internet)));
    let (auth_path, auth_note) = if has_include("pdns.conf", "pdns.d") {
        ("pdns.d/zz-drill-hermetic.conf", "pdns.d/zz-drill-hermetic.conf")
    } else {
        ("pdns.conf", "appended to pdns.conf (no include-dir)")
    };
    out.push((auth_path.to_string(), auth, format!("{auth_note}: security-poll-suffix=")));
    out
}

pub fn root_hints(plan: &Plan) -> String {
    format!(". 3600000 IN NS a.root-servers.net.\na.root-servers.net. 3600000 IN A {}\n", plan.internet)
}

/// The PowerDNS VM: the operators' configs (mapped), the hermetic drop-ins, the zone.
pub fn pdns_vm(plan: &Plan, config: &ConfigDir, zone: Option<&ZoneInput>) -> Vec<FileEntry> {
    let prefix = plan.lab.prefix_len();
    let texts: Vec<(String, String)> = config.files.iter().map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned())).collect();
    let db = crate::settings::Settings::read(crate::settings::Daemon::Auth, &texts, crate::scenario::facts::ETC)
        .get("gsqlite3-database")
        .unwrap_or_else(|| DEFAULT_DB.to_string());
    let mut files = base(plan.vm, &[format!("{}/{prefix}", plan.recursor), format!("{}/{prefix}", plan.auth)], "127.0.0.1", &db);
    files.extend(etc_powerdns(plan, config));
    if let Some(zone) = zone {
        let journal = zone.journal.map_content(&|e| plan.map_text(&e.content));
        files.push(FileEntry::file(format!("/etc/pdns-drill/zones/{}.zone", journal.zone), journal.zone_file(journal.head_serial())));
    }
    files.push(enable("pdns.service", "multi-user.target", "/lib/systemd/system"));
    files.push(enable("pdns-recursor.service", "multi-user.target", "/lib/systemd/system"));
    files
}

/// /etc/powerdns as the operators have it (mapped onto the testbed) plus the hermetic drop-ins.
pub fn etc_powerdns(plan: &Plan, config: &ConfigDir) -> Vec<FileEntry> {
    let dropins = hermetic_dropins(plan, config);
    let mut files = Vec::new();
    for (rel, bytes) in &config.files {
        let mut text = plan.map_text(&String::from_utf8_lossy(bytes));
        for (path, content, _) in &dropins {
            if path == rel {
                text.push('\n');
                text.push_str(content);
            }
        }
        files.push(FileEntry::file(format!("/etc/powerdns/{rel}"), text));
    }
    for (path, content, _) in &dropins {
        if path.contains('/') {
            files.push(FileEntry::file(format!("/etc/powerdns/{path}"), content.clone()));
        }
    }
    files.push(FileEntry::file("/etc/powerdns/drill-root.hints", root_hints(plan)));
    files
}

/// The runbook's database path, where the stand-in internet keeps its zones too.
pub const DEFAULT_DB: &str = "/var/lib/powerdns/pdns.sqlite3";

/// The stand-in internet: root and public zones on one pdns, the lab's zone delegated to the
/// VM's public NIC, and (when the lab forwards to resolvers outside it) a stand-in resolver.
pub fn internet(plan: &Plan, zones_txt: &str, lab_zone: &crate::journal::Journal) -> Vec<FileEntry> {
    let upstream = !plan.external_forwarders.is_empty();
    let extra = if upstream { vec![format!("{}/{}", plan.upstream, plan.public.prefix_len())] } else { vec![] };
    let mut files = base(plan.internet, &extra, "127.0.0.1", DEFAULT_DB);
    if upstream {
        files.push(FileEntry::file(
            "/etc/powerdns/recursor.conf",
            format!(
                "# pdns-drill stand-in resolver: what public resolvers are to the lab
local-address={}
allow-from=0.0.0.0/0
hint-file=/etc/powerdns/drill-root.hints
dnssec=process-no-validate
dont-query=
security-poll-suffix=
",
                plan.upstream
            ),
        ));
        files.push(FileEntry::file("/etc/powerdns/drill-root.hints", root_hints(plan)));
        files.push(enable("pdns-recursor.service", "multi-user.target", "/lib/systemd/system"));
    }
    files.push(FileEntry::file(
        "/etc/powerdns/pdns.conf",
        format!(
            "# pdns-drill stand-in internet\nlaunch=gsqlite3\ngsqlite3-database=/var/lib/powerdns/pdns.sqlite3\nlocal-address={}\nsecurity-poll-suffix=\nsetuid=pdns\nsetgid=pdns\n",
            plan.internet
        ),
    ));
    for (name, text) in internet_zones(zones_txt, plan, lab_zone) {
        let file = if name == "." { "root".to_string() } else { name.clone() };
        files.push(FileEntry::file(format!("/etc/pdns-drill/zones/{file}.zone"), text));
    }
    files.push(enable("pdns.service", "multi-user.target", "/lib/systemd/system"));
    files
}

/// Splits `lab/internet/zones.txt` into (zone, zone file text) with placeholders filled, and
/// adds the lab zone's parent with its delegation to the VM's public NIC (unless the parent is
/// the root or a zone the file already serves).
pub fn internet_zones(zones_txt: &str, plan: &Plan, lab_zone: &crate::journal::Journal) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let apex = lab_zone.zone.as_str();
    let mut lines: Vec<String> = zones_txt.lines().map(str::to_string).collect();
    if let Some((child, parent)) = apex.split_once('.') {
        let served = zones_txt.lines().any(|l| l.trim() == format!("zone {parent}"));
        if !served {
            let ns = if lab_zone.soa.mname.trim_end_matches('.').ends_with(&format!(".{apex}")) {
                lab_zone.soa.mname.clone()
            } else {
                format!("ns1.{apex}.")
            };
            lines.push(format!("zone {parent}"));
            lines.push(format!("@ 3600 IN SOA ns.{parent}. hostmaster.{parent}. 2026112601 7200 3600 1209600 3600"));
            lines.push("@ 3600 IN NS a.root-servers.net.".into());
            lines.push("@ 300 IN A 198.51.100.80".into());
            lines.push("www 300 IN A 198.51.100.80".into());
            lines.push(format!("{child} 3600 IN NS {ns}"));
            lines.push(format!("{ns} 3600 IN A {{public-auth}}"));
        }
    }
    for line in &lines {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix("zone ") {
            let name = name.trim().to_string();
            let origin = if name == "." { ".".to_string() } else { format!("{name}.") };
            out.push((name, format!("$ORIGIN {origin}\n")));
            continue;
        }
        if let Some((_, text)) = out.last_mut() {
            text.push_str(&t.replace("{internet}", &plan.internet.to_string()).replace("{public-auth}", &plan.vm_public.to_string()));
            text.push('\n');
        }
    }
    out
}

pub fn workstation(plan: &Plan) -> Vec<FileEntry> {
    let mut files = base(plan.workstation, &[format!("{}/{}", plan.app, plan.lab.prefix_len())], &plan.recursor.to_string(), DEFAULT_DB);
    files.push(FileEntry::file("/etc/systemd/system/drill-echo.socket", ECHO_SOCKET));
    files.push(FileEntry::file("/etc/systemd/system/drill-echo@.service", ECHO_SERVICE));
    files.push(enable("drill-echo.socket", "sockets.target", "/etc/systemd/system"));
    files
}

/// The resolver drop-in a lab client carries.
pub fn resolved_dropin(dns: std::net::Ipv4Addr) -> String {
    format!("[Resolve]\nDNS={dns}\nDomains=~.\n")
}

pub const RESOLVED_DROPIN_PATH: &str = "/etc/systemd/resolved.conf.d/lab-dns.conf";

pub fn client(plan: &Plan) -> Vec<FileEntry> {
    let mut files = base(plan.client, &[], "127.0.0.53", DEFAULT_DB);
    files.push(FileEntry::file(RESOLVED_DROPIN_PATH, resolved_dropin(plan.recursor)));
    files.push(enable("systemd-resolved.service", "multi-user.target", "/lib/systemd/system"));
    files.push(FileEntry::Symlink {
        path: "/etc/systemd/system/dbus-org.freedesktop.resolve1.service".into(),
        target: "/lib/systemd/system/systemd-resolved.service".into(),
    });
    files
}
