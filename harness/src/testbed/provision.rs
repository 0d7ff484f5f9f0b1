//! What each role gets laid into it before its first boot: configs, a provisioning unit (the
//! testbed's cloud-init: addresses, resolver, first-boot zone load) and enabled services.

use super::config::{ConfigDir, RecursorSettings, ZoneInput, DEFAULT_DB};
use super::plan::Plan;
use crate::testbed::engine::FileEntry;

pub const PROVISION_SCRIPT: &str = r#"#!/bin/sh
# pdns-drill provisioning, every boot: extra lab addresses, resolver; first boot: the zone.
set -eu
. /etc/pdns-drill/provision.env
# A rebuilt VM keeps its NICs' MACs ("addr=mac" pairs): the engine sets only the first one.
for pair in ${MACS:-}; do
  a=${pair%%=*}; mac=${pair#*=}
  dev=$(ip -o -4 addr show | awk -v a="$a/" 'index($4, a) == 1 { print $2; exit }')
  if [ -n "$dev" ] && [ "$(cat /sys/class/net/$dev/address)" != "$mac" ]; then
    ip link set dev "$dev" down; ip link set dev "$dev" address "$mac"; ip link set dev "$dev" up
  fi
done
if [ -n "${EXTRA_ADDRS:-}" ]; then
  dev=$(ip -o -4 addr show | awk -v a="$PRIMARY_ADDR/" 'index($4, a) == 1 { print $2; exit }')
  for a in $EXTRA_ADDRS; do ip addr replace "$a" dev "$dev"; done
fi
cat /etc/pdns-drill/resolv.conf > /etc/resolv.conf
if [ -x /usr/lib/pdns-drill/recursor-yaml ]; then /usr/lib/pdns-drill/recursor-yaml; fi
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

/// PID 1 of a role that runs no systemd (see `Lab::plain`).
pub const PLAIN_INIT_PATH: &str = "/usr/lib/pdns-drill/plain-init";
/// Written by the plain init once the role is provisioned and its daemons started.
pub const PLAIN_READY: &str = "/run/drill-ready";

/// The plain init: the provisioning script, then the stand-in internet's daemons as their
/// packaged units start them (foreground, no syslog), then nothing.
fn plain_init(internet: bool, resolver: bool) -> FileEntry {
    let mut s = String::from("#!/bin/sh\n# pdns-drill: a role without systemd (not under test).\n/usr/lib/pdns-drill/provision\n");
    if internet {
        s.push_str("mkdir -p /run/pdns && chown pdns:pdns /run/pdns\n");
        s.push_str("/usr/sbin/pdns_server --guardian=no --daemon=no --disable-syslog --log-timestamp=no --write-pid=no >/var/log/drill-pdns.log 2>&1 &\n");
    }
    if resolver {
        s.push_str("mkdir -p /run/pdns-recursor\n");
        s.push_str("/usr/sbin/pdns_recursor --daemon=no --write-pid=no --disable-syslog --log-timestamp=no >/var/log/drill-recursor.log 2>&1 &\n");
    }
    s.push_str(&format!("touch {PLAIN_READY}\nexec sleep infinity\n"));
    FileEntry::File { path: PLAIN_INIT_PATH.into(), mode: 0o755, uid: 0, gid: 0, content: s.into() }
}

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
    base_with_macs(plan_primary, extra, nameserver, db, &[], "")
}

fn base_with_macs(plan_primary: std::net::Ipv4Addr, extra: &[String], nameserver: &str, db: &str, macs: &[(std::net::Ipv4Addr, String)], env: &str) -> Vec<FileEntry> {
    let macs: Vec<String> = macs.iter().map(|(a, m)| format!("{a}={m}")).collect();
    vec![
        FileEntry::File { path: "/usr/lib/pdns-drill/provision".into(), mode: 0o755, uid: 0, gid: 0, content: format!("{PROVISION_SCRIPT}{}", super::operator::PROVISION).into() },
        FileEntry::file("/etc/systemd/system/drill-provision.service", PROVISION_UNIT),
        enable("drill-provision.service", "multi-user.target", "/etc/systemd/system"),
        FileEntry::file(
            "/etc/pdns-drill/provision.env",
            format!("PRIMARY_ADDR={plan_primary}\nEXTRA_ADDRS=\"{}\"\nDB={db}\nMACS=\"{}\"\n{env}", extra.join(" "), macs.join(" ")),
        ),
        FileEntry::file("/etc/pdns-drill/resolv.conf", format!("nameserver {nameserver}\n")),
    ]
}

/// Whether the operators' `file` includes `dir` (`include-dir`).
fn has_include(config: &ConfigDir, file: &str, dir: &str) -> bool {
    config.files.iter().any(|(p, b)| p == file && String::from_utf8_lossy(b).lines().any(|l| l.trim().starts_with("include-dir") && l.contains(dir)))
}

/// The hermetic settings every run adds, as (file, content, what it is for the report).
pub fn hermetic_dropins(plan: &Plan, config: &ConfigDir) -> Vec<(String, String, String)> {
    let has_include = |file: &str, dir: &str| has_include(config, file, dir);
    let yaml = config.recursor_settings == RecursorSettings::Yaml;
    // Converted to YAML, `dont-query+=` with no earlier `dont-query` loses the built-in default
    // (show-yaml writes the appended item alone): the first-boot script spells the default out.
    let dont_query = if yaml && !sets_recursor_key(config, "dont-query") {
        format!("dont-query={DONT_QUERY_DEFAULTS_MARKER}, !{}", plan.public)
    } else {
        format!("dont-query+=!{}", plan.public)
    };
    let rec = format!(
        "# pdns-drill: hermetic lab. Root hints point at the stand-in internet; its root is unsigned,\n# so validation is off; it sits on a private Docker subnet, which dont-query would block;\n# no security polling.\nhint-file=/etc/powerdns/drill-root.hints\ndnssec=process-no-validate\n{dont_query}\nsecurity-poll-suffix=\n"
    );
    let auth = "# pdns-drill: hermetic lab, no security polling.\nsecurity-poll-suffix=\n".to_string();
    let mut out = Vec::new();
    let rec_note = |at: &str| format!("{at}: hint-file → stand-in root {}, dnssec=process-no-validate, dont-query+=!<public subnet>, security-poll-suffix=", plan.internet);
    if yaml && has_include("recursor.conf", "recursor.d") {
        let note = format!("{HERMETIC_YAML}: hint_file → stand-in root {}, dnssec validation process-no-validate, dont_query = the daemon's defaults + !<public subnet>, security_poll_suffix ''", plan.internet);
        out.push((HERMETIC_YAML.to_string(), hermetic_yaml(plan), note));
    } else if has_include("recursor.conf", "recursor.d") {
        out.push(("recursor.d/zz-drill-hermetic.conf".to_string(), rec, rec_note("recursor.d/zz-drill-hermetic.conf")));
    } else {
        // With yaml, appended before the conversion: it becomes part of the converted file.
        out.push(("recursor.conf".to_string(), rec, rec_note("appended to recursor.conf (no include-dir)")));
    }
    let (auth_path, auth_note) = if has_include("pdns.conf", "pdns.d") {
        ("pdns.d/zz-drill-hermetic.conf", "pdns.d/zz-drill-hermetic.conf")
    } else {
        ("pdns.conf", "appended to pdns.conf (no include-dir)")
    };
    out.push((auth_path.to_string(), auth, format!("{auth_note}: security-poll-suffix=")));
    out
}

/// Whether any file of the operators' recursor settings sets (or appends to) `key`.
fn sets_recursor_key(config: &ConfigDir, key: &str) -> bool {
    let texts: Vec<(String, String)> = config.files.iter().map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned())).collect();
    crate::inputs::settings::Settings::read(crate::inputs::settings::Daemon::Recursor, &texts, crate::inputs::settings::ETC).setting(key).is_some()
}

pub fn root_hints(plan: &Plan) -> String {
    format!(". 3600000 IN NS a.root-servers.net.\na.root-servers.net. 3600000 IN A {}\n", plan.internet)
}

/// The PowerDNS VM: the operators' configs (mapped), the hermetic drop-ins, the zone; a rebuilt
/// VM also its old NICs' MACs.
pub fn pdns_vm(plan: &Plan, config: &ConfigDir, zone: Option<&ZoneInput>, macs: &[(std::net::Ipv4Addr, String)]) -> Vec<FileEntry> {
    let prefix = plan.lab.prefix_len();
    let db = config.db_path();
    let extra: Vec<String> = plan.vm_extra_addresses().iter().map(|a| format!("{a}/{prefix}")).collect();
    // The VM also gets the runbook's operator account, as drill.toml describes it.
    let mut files = base_with_macs(plan.vm, &extra, "127.0.0.1", &db, macs, &config.addresses.operator.env());
    files.extend(etc_powerdns(plan, config));
    files.extend(recursor_settings_files(config.recursor_settings));
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

/// Provisioning's own words for the option: what it lays down, as the report lists it.
impl RecursorSettings {
    /// Why this option cannot apply to `config`, if it cannot. The conversion lays the
    /// old-style include files where the main file's include-dir names them: the packaged one,
    /// or none.
    pub fn check(self, config: &ConfigDir) -> Result<(), String> {
        if self != RecursorSettings::Yaml {
            return Ok(());
        }
        let texts: Vec<(String, String)> = config.files.iter().map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned())).collect();
        let s = crate::inputs::settings::Settings::read(crate::inputs::settings::Daemon::Recursor, &texts, crate::inputs::settings::ETC);
        if s.get(crate::inputs::settings::FORWARD_FILE_KEY).is_some() {
            return Err(format!(
                "--recursor-settings yaml: {}/recursor.conf sets forward-zones-file; the testbed does not carry that file over to a recursor reading YAML (the converter rewrites the settings, not the file); use --recursor-settings old-settings-flag, or --suite bookworm",
                config.path.display()
            ));
        }
        match s.get("include-dir").filter(|d| !d.is_empty()) {
            Some(d) if d.trim_end_matches('/') != RECURSOR_INCLUDE_DIR => Err(format!(
                "--recursor-settings yaml needs include-dir={RECURSOR_INCLUDE_DIR} (or none) in {}/recursor.conf, not {d}",
                config.path.display()
            )),
            _ => Ok(()),
        }
    }

    /// What the report lists among the drop-ins, beside the hermetic ones.
    pub fn note(self) -> Option<String> {
        match self {
            RecursorSettings::AsIs => None,
            RecursorSettings::Yaml => Some(format!(
                "recursor settings converted to YAML at first boot: `{CONVERTER}` → recursor.conf, recursor.d/*.yml (old-style files kept in {OLD_STYLE_DIR})"
            )),
            RecursorSettings::OldSettingsFlag => Some(format!("pdns-recursor.service: ExecStart + --enable-old-settings ({OLD_SETTINGS_DROPIN})")),
        }
    }
}

/// The stand-in internet: root and public zones on one pdns, the lab's zone delegated to the
/// VM's public NIC, and (when the lab forwards to resolvers outside it) a stand-in resolver.
pub fn internet(plan: &Plan, zones_txt: &str, lab_zone: &crate::inputs::zone::journal::Journal) -> Vec<FileEntry> {
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
        // The same in YAML: pdns-recursor 5 reads recursor.yml before recursor.conf (and 5.2
        // refuses old-style settings); 4.8 reads recursor.conf only.
        files.push(FileEntry::file(
            "/etc/powerdns/recursor.yml",
            format!(
                "# pdns-drill stand-in resolver: what public resolvers are to the lab
incoming:
  listen: ['{}']
  allow_from: ['0.0.0.0/0']
recursor:
  hint_file: /etc/powerdns/drill-root.hints
  security_poll_suffix: ''
dnssec:
  validation: process-no-validate
outgoing:
  dont_query: []
",
                plan.upstream
            ),
        ));
        files.push(FileEntry::file("/etc/powerdns/drill-root.hints", root_hints(plan)));
    }
    // The bind backend serves the zone files as they are: no database to create and load at
    // every boot (the stand-in is not under test; the VM keeps the operators' gsqlite3).
    files.push(FileEntry::file(
        "/etc/powerdns/pdns.conf",
        format!(
            "# pdns-drill stand-in internet\nlaunch=bind\nbind-config=/etc/powerdns/drill-zones.conf\nlocal-address={}\nsecurity-poll-suffix=\nsetuid=pdns\nsetgid=pdns\n",
            plan.internet
        ),
    ));
    let mut named = String::new();
    for (name, text) in internet_zones(zones_txt, plan, lab_zone) {
        let file = if name == "." { "root".to_string() } else { name.clone() };
        let path = format!("/etc/powerdns/drill-zones/{file}.zone");
        named.push_str(&format!("zone \"{name}\" {{ type master; file \"{path}\"; }};\n"));
        files.push(FileEntry::file(path, text));
    }
    files.push(FileEntry::file("/etc/powerdns/drill-zones.conf", named));
    // Not under test: no systemd, its init starts the daemons (see `Lab::plain`).
    files.push(plain_init(true, upstream));
    files
}

/// Splits `lab/internet/zones.txt` into (zone, zone file text) with placeholders filled, and
/// adds the lab zone's parent with its delegation to the VM's public NIC (unless the parent is
/// the root or a zone the file already serves).
pub fn internet_zones(zones_txt: &str, plan: &Plan, lab_zone: &crate::inputs::zone::journal::Journal) -> Vec<(String, String)> {
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

/// `plain`: no systemd (no lab client needs its socket-activated app).
pub fn workstation(plan: &Plan, plain: bool) -> Vec<FileEntry> {
    let mut files = base(plan.workstation, &[format!("{}/{}", plan.app, plan.lab.prefix_len())], &plan.recursor.to_string(), DEFAULT_DB);
    if plain {
        files.push(plain_init(false, false));
    }
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


/// The converter the yaml option runs, as an operator would.
pub const CONVERTER: &str = "rec_control show-yaml /etc/powerdns/recursor.conf";
/// Where the yaml option keeps the operators' old-style files (a fault edits them there).
pub const OLD_STYLE_DIR: &str = "/etc/pdns-drill/recursor-old-style";
/// The conversion, run again after such an edit.
pub const RECONVERT: &str = "/usr/lib/pdns-drill/recursor-yaml reconvert";
const OLD_SETTINGS_DROPIN: &str = "/etc/systemd/system/pdns-recursor.service.d/zz-drill-old-settings.conf";
const HERMETIC_YAML: &str = "recursor.d/zz-drill-hermetic.yml";
const RECURSOR_INCLUDE_DIR: &str = "/etc/powerdns/recursor.d";
/// Stands for the daemon's default `dont-query` in an old-style hermetic line until the
/// first-boot script fills it in (only the daemon on the VM knows it).
const DONT_QUERY_DEFAULTS_MARKER: &str = "@PDNS_DRILL_DEFAULT_DONT_QUERY@";
/// Where the recursor's default `dont_query` goes in the hermetic YAML, filled at first boot
/// (the script matches this line).
const DONT_QUERY_DEFAULTS: &str = "  # pdns-drill: default dont_query of this pdns_recursor";

/// The packaged unit's command line (bookworm's and trixie's are the same) plus the flag.
const OLD_SETTINGS_UNIT: &str = "# pdns-drill --recursor-settings old-settings-flag: the packaged command line plus
# --enable-old-settings, so pdns-recursor 5.2 still reads old-style settings.
[Service]
ExecStart=
ExecStart=/usr/sbin/pdns_recursor --daemon=no --write-pid=no --disable-syslog --log-timestamp=no --enable-old-settings
";

/// The hermetic settings in YAML, laid straight into the include dir (the converter reads only
/// `.conf` files there): the same four settings as the old-style drop-in.
pub fn hermetic_yaml(plan: &Plan) -> String {
    format!(
        "# pdns-drill: hermetic lab. Root hints point at the stand-in internet; its root is unsigned;\n# dont_query keeps the daemon's defaults but lets its private subnet through; no security polling.\ndnssec:\n  validation: process-no-validate\noutgoing:\n  dont_query:\n{DONT_QUERY_DEFAULTS}\n  - '!{}'\nrecursor:\n  hint_file: /etc/powerdns/drill-root.hints\n  security_poll_suffix: ''\n",
        plan.public
    )
}

/// Files a VM gets for the option, beside the operators' configs.
pub fn recursor_settings_files(mode: RecursorSettings) -> Vec<FileEntry> {
    match mode {
        RecursorSettings::AsIs => vec![],
        RecursorSettings::Yaml => vec![FileEntry::File {
            path: "/usr/lib/pdns-drill/recursor-yaml".into(),
            mode: 0o755,
            uid: 0,
            gid: 0,
            content: RECURSOR_YAML_SCRIPT.into(),
        }],
        RecursorSettings::OldSettingsFlag => vec![FileEntry::file(OLD_SETTINGS_DROPIN, OLD_SETTINGS_UNIT)],
    }
}

/// Runs from the provisioning unit before the recursor starts, once per VM (a rebuilt VM
/// converts again), and again (`reconvert`) after a fault edited the kept old-style source.
/// First boot fails, naming why, when the converter fails or its output does not validate;
/// `reconvert` writes what the converter gives and leaves validation to the daemon.
pub const RECURSOR_YAML_SCRIPT: &str = r#"#!/bin/sh
# pdns-drill --recursor-settings yaml: the operators' old-style recursor settings become YAML
# through the recursor's own converter. first-boot: the old-style files move to the kept
# source dir, then are converted (they must convert and validate). reconvert: the kept source,
# edited by a fault, is converted again and written as the converter gives it; the daemon
# judges it. Prints the converter's validation lines.
set -eu
etc=/etc/powerdns old=/etc/pdns-drill/recursor-old-style keep=/etc/pdns-drill/recursor-show-yaml.txt
mode=${1:-first-boot}
if [ "$mode" = first-boot ]; then
  [ -e "$keep" ] && exit 0
  # Appended old-style hermetic settings (no include-dir) name the default dont-query by a
  # marker: only this daemon knows its default.
  # (Asked with an empty YAML config: it would refuse the old-style file still in place.)
  if grep -q '@PDNS_DRILL_DEFAULT_DONT_QUERY@' "$etc/recursor.conf"; then
    empty=$(mktemp -d); : >"$empty/recursor.yml"
    defaults=$(pdns_recursor --config=default --config-dir="$empty" 2>/dev/null | sed -n '/^#   dont_query:$/,/^#####/s/^#   - \(.*\)$/\1/p' | paste -sd, - | sed 's/,/, /g')
    rm -rf "$empty"
    [ -n "$defaults" ] || { echo "error: no default dont_query in pdns_recursor --config=default" >&2; exit 1; }
    sed -i "s|@PDNS_DRILL_DEFAULT_DONT_QUERY@|$defaults|" "$etc/recursor.conf"
  fi
  mkdir -p "$old/recursor.d"
  mv "$etc/recursor.conf" "$old/recursor.conf"
  for f in "$etc"/recursor.d/*.conf; do
    if [ -e "$f" ]; then mv "$f" "$old/recursor.d/"; fi
  done
elif [ "$mode" != reconvert ]; then
  echo "usage: $0 [first-boot|reconvert]" >&2; exit 2
fi
out=$(mktemp)
# The converter reads include files from the include-dir the main file names: they lie there
# only while it runs (the recursor reads YAML from that dir).
copies=""
for f in "$old"/recursor.d/*.conf; do
  if [ -e "$f" ]; then cp "$f" "$etc/recursor.d/"; copies="$copies $etc/recursor.d/${f##*/}"; fi
done
rc=0
(cd "$etc" && rec_control show-yaml "$old/recursor.conf") >"$out" 2>&1 || rc=$?
if [ -n "$copies" ]; then rm -f $copies; fi
if [ "$rc" -ne 0 ]; then
  echo "error: rec_control show-yaml $old/recursor.conf failed: $(cat "$out")" >&2
  exit 1
fi
invalid=$(grep '^# Validation result:' "$out" | grep -v ': OK$' || true)
if [ -n "$invalid" ] && [ "$mode" = first-boot ]; then
  echo "error: converted settings do not validate: $invalid" >&2
  exit 1
fi
# One stream of sections: the main file's becomes recursor.conf (the packaged name, read as
# YAML), each include-dir X.conf's becomes X.yml beside it.
awk -v main="$etc/recursor.conf.yml-new" '
  /^# Start of converted recursor.yml based on / { out = main; next }
  /^# Converted include-dir .* to YAML format:$/ { p = $4; sub(/\.conf$/, ".yml", p); out = p; next }
  /^# End of converted / { out = ""; next }
  out != "" && !/^# Validation result:/ { print > out }
' "$out"
mv "$etc/recursor.conf.yml-new" "$etc/recursor.conf"
chmod 644 "$out"
grep -E '^# (Start of converted|Converted include-dir|Validation result:)' "$out"
if [ "$mode" = reconvert ]; then
  mv "$out" /etc/pdns-drill/recursor-show-yaml-reconverted.txt
  exit 0
fi
# In YAML a list in an include file replaces the built-in default unless an earlier file set
# it (old-style `+=` appended to the default): spell the default out where nothing else does.
hermetic=$etc/recursor.d/zz-drill-hermetic.yml
if [ -e "$hermetic" ] && ! grep -qs '^  dont_query:' "$etc/recursor.conf" $(ls "$etc"/recursor.d/*.yml | grep -v zz-drill-hermetic); then
  defaults=$(mktemp)
  pdns_recursor --config=default 2>/dev/null | sed -n '/^#   dont_query:$/,/^#####/s/^#   - \(.*\)$/  - \1/p' >"$defaults"
  [ -s "$defaults" ] || { echo "error: no default dont_query in pdns_recursor --config=default" >&2; exit 1; }
  sed -i "/^  # pdns-drill: default dont_query of this pdns_recursor$/r $defaults" "$hermetic"
  rm -f "$defaults"
fi
mv "$out" "$keep"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::config::default_config_dir;

    fn lab(mode: RecursorSettings) -> (Plan, ConfigDir) {
        let mut config = ConfigDir::load(&default_config_dir().unwrap()).unwrap();
        config.recursor_settings = mode;
        let plan = Plan::new(&config.addresses, &crate::testbed::listen::AuthEndpoint::of(&config), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &[]).unwrap();
        (plan, config)
    }

    fn file<'a>(files: &'a [FileEntry], path: &str) -> Option<&'a str> {
        files.iter().find_map(|f| match f {
            FileEntry::File { path: p, content, .. } if p == path => Some(std::str::from_utf8(content).unwrap()),
            _ => None,
        })
    }

    #[test]
    fn as_is_lays_the_operators_files_and_nothing_else() {
        let (plan, config) = lab(RecursorSettings::AsIs);
        let files = pdns_vm(&plan, &config, None, &[]);
        assert!(file(&files, "/etc/powerdns/recursor.d/zz-drill-hermetic.conf").unwrap().contains("dont-query+=!172.20.0.0/16"));
        assert!(file(&files, "/usr/lib/pdns-drill/recursor-yaml").is_none());
        assert!(file(&files, OLD_SETTINGS_DROPIN).is_none());
        assert!(RecursorSettings::AsIs.note().is_none());
    }

    #[test]
    fn yaml_converts_at_first_boot_and_writes_the_hermetic_settings_in_yaml() {
        let (plan, config) = lab(RecursorSettings::Yaml);
        let files = pdns_vm(&plan, &config, None, &[]);
        assert!(file(&files, "/usr/lib/pdns-drill/recursor-yaml").unwrap().contains("rec_control show-yaml \"$old/recursor.conf\""));
        assert!(file(&files, "/etc/powerdns/recursor.d/zz-drill-hermetic.conf").is_none(), "the converter must not see it");
        let yml = file(&files, "/etc/powerdns/recursor.d/zz-drill-hermetic.yml").unwrap();
        assert!(yml.contains("  - '!172.20.0.0/16'\n") && yml.contains("hint_file: /etc/powerdns/drill-root.hints"), "{yml}");
        // The script finds the line where the daemon's defaults go.
        assert!(yml.lines().any(|l| l == DONT_QUERY_DEFAULTS));
        assert!(RECURSOR_YAML_SCRIPT.contains(&format!("/^{DONT_QUERY_DEFAULTS}$/r")));
        // The operators' own files are laid unchanged, for the converter to read.
        assert!(file(&files, "/etc/powerdns/recursor.d/10-lab-forwarder.conf").unwrap().contains("allow-from=127.0.0.0/8, 172.19.0.0/16"));
        assert!(RecursorSettings::Yaml.note().unwrap().contains(CONVERTER));
    }

    #[test]
    fn old_settings_flag_adds_the_flag_to_the_packaged_command_line() {
        let (plan, config) = lab(RecursorSettings::OldSettingsFlag);
        let files = pdns_vm(&plan, &config, None, &[]);
        let unit = file(&files, OLD_SETTINGS_DROPIN).unwrap();
        assert!(unit.contains("\nExecStart=\nExecStart=/usr/sbin/pdns_recursor ") && unit.trim_end().ends_with(" --enable-old-settings"), "{unit}");
        assert!(file(&files, "/etc/powerdns/recursor.d/zz-drill-hermetic.conf").is_some());
    }

    fn set_recursor_conf(config: &mut ConfigDir, text: &str) {
        for (p, b) in config.files.iter_mut() {
            if p == "recursor.conf" {
                *b = text.as_bytes().to_vec();
            }
        }
    }

    #[test]
    fn yaml_takes_the_packaged_include_dir_or_none() {
        let (_, mut config) = lab(RecursorSettings::Yaml);
        assert!(RecursorSettings::Yaml.check(&config).is_ok());
        set_recursor_conf(&mut config, "setuid=pdns\n");
        assert!(RecursorSettings::Yaml.check(&config).is_ok());
        set_recursor_conf(&mut config, "include-dir=/etc/powerdns/rec.d\n");
        let e = RecursorSettings::Yaml.check(&config).unwrap_err();
        assert!(e.contains("include-dir=/etc/powerdns/recursor.d (or none)") && e.contains("/etc/powerdns/rec.d"), "{e}");
        assert!(RecursorSettings::OldSettingsFlag.check(&config).is_ok());
    }

    #[test]
    fn yaml_without_include_dir_appends_old_style_settings_for_the_converter() {
        let (plan, mut config) = lab(RecursorSettings::Yaml);
        set_recursor_conf(&mut config, "setuid=pdns\nallow-from=10.10.0.0/16\n");
        let files = pdns_vm(&plan, &config, None, &[]);
        let conf = file(&files, "/etc/powerdns/recursor.conf").unwrap();
        // No dont-query of the operators': the default is spelled out at first boot, since the
        // converter drops it from a bare `+=`.
        assert!(conf.contains(&format!("\ndont-query={DONT_QUERY_DEFAULTS_MARKER}, !172.20.0.0/16\n")), "{conf}");
        assert!(RECURSOR_YAML_SCRIPT.contains(DONT_QUERY_DEFAULTS_MARKER));
        assert!(file(&files, "/etc/powerdns/recursor.d/zz-drill-hermetic.yml").is_none());
        // Theirs set: appended to, as the old-style daemon would.
        set_recursor_conf(&mut config, "setuid=pdns\ndont-query=10.0.0.0/8\n");
        let conf = pdns_vm(&plan, &config, None, &[]);
        assert!(file(&conf, "/etc/powerdns/recursor.conf").unwrap().contains("\ndont-query+=!172.20.0.0/16\n"));
        // Other modes keep the plain append.
        config.recursor_settings = RecursorSettings::AsIs;
        set_recursor_conf(&mut config, "setuid=pdns\n");
        assert!(file(&pdns_vm(&plan, &config, None, &[]), "/etc/powerdns/recursor.conf").unwrap().contains("\ndont-query+=!172.20.0.0/16\n"));
    }

    #[test]
    fn the_stand_in_resolver_is_configured_for_either_recursor() {
        let (_, config) = lab(RecursorSettings::AsIs);
        let plan = Plan::new(&config.addresses, &crate::testbed::listen::AuthEndpoint::of(&config), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &["9.9.9.9".parse().unwrap()]).unwrap();
        let journal = crate::inputs::zone::journal::Journal::load(&crate::testbed::config::default_zone().unwrap()).unwrap();
        let files = internet(&plan, "", &journal);
        assert!(file(&files, "/etc/powerdns/recursor.conf").unwrap().contains("local-address=172.20.0.101\n"));
        let yml = file(&files, "/etc/powerdns/recursor.yml").unwrap();
        assert!(yml.contains("listen: ['172.20.0.101']") && yml.contains("dont_query: []"), "{yml}");
    }

    #[test]
    fn trixie_defaults_to_yaml_and_bookworm_to_the_files_as_written() {
        assert_eq!(RecursorSettings::default_for(crate::testbed::image::Suite::Trixie), RecursorSettings::Yaml);
        assert_eq!(RecursorSettings::default_for(crate::testbed::image::Suite::Bookworm), RecursorSettings::AsIs);
    }

    #[test]
    fn the_conversion_script_reconverts_leniently_and_first_boot_strictly() {
        // A fault's edit is converted and handed to the daemon even when it does not validate;
        // the operators' own files must.
        assert!(RECURSOR_YAML_SCRIPT.contains(r#"if [ -n "$invalid" ] && [ "$mode" = first-boot ]; then"#));
        assert!(RECONVERT.ends_with(" reconvert") && RECONVERT.starts_with("/usr/lib/pdns-drill/recursor-yaml"));
        assert!(RECURSOR_YAML_SCRIPT.contains(&format!("old={OLD_STYLE_DIR} ")));
    }
}
