//! A scenario resolved against one lab before anything starts: every placeholder that names a
//! fact of the lab (zone, SOA, names by role, settings, paths) filled from [`LabFacts`], each
//! setting fault pointed at the file where the setting is effectively made. What the lab
//! cannot fill makes the scenario not-simulated, with the reason. Addresses are the lab's own
//! (drill.toml), so a plan reads as the operators know their lab; [`bind`] moves them onto the
//! testbed once it is up, and fills the stand-in internet's address.

use super::facts::{LabFacts, NameRole, ETC};
use super::{Fault, Scenario, SettingEdit, SettingTarget};
use crate::inputs::settings::{Daemon, Settings};
use crate::testbed::config::RecursorSettings;

/// The lab's addresses (drill.toml), filled in the plan.
pub const ADDRESSES: &[&str] = &["recursor", "auth", "vm", "vm-public", "workstation", "client", "app", "lab-net", "lab-net-addr"];

/// Where the authoritative answers, from its own `local-address`/`local-port`: `{auth}` is the
/// address a step on the VM asks it at (its lab address, else the loopback it listens on),
/// `{auth-port}` the port there, `{auth-lab}` its lab address, which a lab without one lacks
/// (a scenario whose premise is a lab host asking the authoritative is not-simulated there).
pub const AUTH_LISTEN: &[&str] = &["auth-port", "auth-lab"];

/// Exists only on the testbed (the stand-in internet): filled when the lab is up.
pub const TESTBED_ONLY: &[&str] = &["internet"];

/// The placeholder vocabulary, for messages and the README.
pub const VOCABULARY: &str = "addresses {recursor} {auth} {auth-port} {auth-lab} {vm} {vm-public} {workstation} {client} {app} {lab-net} {lab-net-addr} {internet}; \
zone {zone} {zone-parent} {lab-name} {soa} {soa.mname|rname|serial|ttl|refresh|retry|expire|minimum} {name.a|a2..a9|cname|multi-a|txt|nx} {content.<role>} {new.<label>}; \
settings {recursor.<key>} {auth.<key>} {recursor-file.<key>} {auth-file.<key>}; paths {db}; the runbook's login {operator}; journal {journal.rows} {journal.head} (HEAD after the scenario's journal rows)";

/// What one placeholder is.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// Filled later from the testbed.
    Address,
    Value(String),
    /// A fact this lab lacks: why.
    Missing(String),
    Unknown,
}

/// Placeholders in `text`: `{name}` not preceded by `$` (shell's `${x}` stays shell's), the
/// name made of lowercase letters, digits, `-`, and `.` between parts.
pub fn placeholders(text: &str) -> Vec<(usize, usize, &str)> {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\{([a-z][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)?)\}").unwrap());
    RE.captures_iter(text)
        .filter(|c| {
            let start = c.get(0).unwrap().start();
            !text[..start].ends_with('$')
        })
        .map(|c| {
            let m = c.get(0).unwrap();
            (m.start(), m.end(), c.get(1).unwrap().as_str())
        })
        .collect()
}

/// Whether a placeholder name belongs to the vocabulary (checked when a file is loaded).
pub fn is_known(name: &str) -> bool {
    if ADDRESSES.contains(&name) || TESTBED_ONLY.contains(&name) || AUTH_LISTEN.contains(&name) || ["zone", "zone-parent", "lab-name", "soa", "db", "operator"].contains(&name) {
        return true;
    }
    let Some((ns, key)) = name.split_once('.') else { return false };
    match ns {
        "soa" => ["mname", "rname", "serial", "ttl", "refresh", "retry", "expire", "minimum"].contains(&key),
        "journal" => key == "rows" || key == "head",
        "name" if key == "app" => true,
        "name" | "content" => NameRole::parse(key).is_some(),
        "new" | "recursor" | "auth" | "recursor-file" | "auth-file" => !key.is_empty(),
        _ => false,
    }
}

/// The value of one placeholder in this lab.
pub fn fill(name: &str, f: &LabFacts) -> Fill {
    if TESTBED_ONLY.contains(&name) {
        return Fill::Address;
    }
    let la = &f.addresses;
    let addr = match name {
        "recursor" => Some(la.recursor.to_string()),
        "auth" => Some(f.auth.addr.to_string()),
        "auth-port" => Some(f.auth.port.to_string()),
        "auth-lab" => {
            return match f.auth.lab {
                Some(a) => Fill::Value(a.to_string()),
                None => Fill::Missing(format!("the authoritative has no lab address: it listens at {} and the public address only", f.auth.listens())),
            }
        }
        "vm" => Some(la.vm.to_string()),
        "vm-public" => Some(la.public_auth.to_string()),
        "workstation" => Some(la.workstation.to_string()),
        "client" => Some(la.client.to_string()),
        "app" => Some(la.app.to_string()),
        "lab-net" => Some(la.lab_network.to_string()),
        "lab-net-addr" => Some(la.lab_network.network().to_string()),
        _ => None,
    };
    if let Some(a) = addr {
        return Fill::Value(a);
    }
    let role = |r: NameRole| f.name(r).ok_or_else(|| format!("the zone has no {}", r.describe()));
    let found = |r: Result<String, String>| match r {
        Ok(v) => Fill::Value(v),
        Err(e) => Fill::Missing(e),
    };
    match name {
        "zone" => return Fill::Value(f.zone.clone()),
        "zone-parent" => return found(f.zone.split_once('.').map(|(_, p)| p.to_string()).ok_or_else(|| format!("the zone {} has no parent zone below the root", f.zone))),
        "lab-name" => return found(role(NameRole::PlainA(1))),
        "soa" => return Fill::Value(f.soa.rdata()),
        "db" => return Fill::Value(f.db.clone()),
        "operator" => return Fill::Value(la.operator.name.clone()),
        _ => {}
    }
    let Some((ns, key)) = name.split_once('.') else { return Fill::Unknown };
    let s = &f.soa;
    match ns {
        "soa" => Fill::Value(match key {
            "mname" => s.mname.clone(),
            "rname" => s.rname.clone(),
            "serial" => s.serial.to_string(),
            "ttl" => s.ttl.to_string(),
            "refresh" => s.refresh.to_string(),
            "retry" => s.retry.to_string(),
            "expire" => s.expire.to_string(),
            "minimum" => s.minimum.to_string(),
            _ => return Fill::Unknown,
        }),
        "journal" if key == "rows" => Fill::Value(f.journal_rows.to_string()),
        "name" if key == "app" => found(f.name_of_a(&la.app.to_string()).ok_or_else(|| format!("no name of the zone has an A record for the app address {} (drill.toml `app`)", la.app))),
        "name" => match NameRole::parse(key) {
            Some(r) => found(role(r)),
            None => Fill::Unknown,
        },
        "content" => match NameRole::parse(key) {
            Some(NameRole::Absent) | None => Fill::Unknown,
            Some(r) => found(role(r).and_then(|n| {
                let t = match r {
                    NameRole::Cname => "CNAME",
                    NameRole::Txt => "TXT",
                    _ => "A",
                };
                f.content(&n, t).ok_or_else(|| format!("{n} has no {t} record"))
            })),
        },
        "new" => found(f.fresh_label(key).ok_or_else(|| "a wildcard at the apex covers every new name".to_string())),
        "recursor" | "auth" | "recursor-file" | "auth-file" => {
            let d = if ns.starts_with("recursor") { Daemon::Recursor } else { Daemon::Auth };
            if let Some(v) = forward_file_fill(ns.ends_with("-file"), key, f.settings(d)) {
                return Fill::Value(v);
            }
            let st = f.settings(d).setting(key);
            let unit = d.unit();
            found(match (ns.ends_with("-file"), st) {
                (_, None) => Err(format!("no file of the config dir sets {key} for {unit}")),
                (false, Some(st)) => st.value().ok_or_else(|| format!("{key} is only appended to (+=) for {unit}: its value depends on the built-in default")),
                (true, Some(st)) if d == Daemon::Recursor && f.recursor_settings == RecursorSettings::Yaml => Err(converted_file(key, st.file())),
                (true, Some(st)) => st.file().map(|p| format!("{ETC}/{p}")).ok_or_else(|| format!("{key} is only appended to (+=) for {unit}")),
            })
        }
        _ => Fill::Unknown,
    }
}

/// A forwards setting the lab does not set but says in its forward-zones-file: the value as the
/// setting would hold it, or (`file`) that file.
fn forward_file_fill(file: bool, key: &str, s: &Settings) -> Option<String> {
    let ff = s.forward_file.as_ref().filter(|_| s.setting(key).is_none())?;
    let value = ff.value_as(key)?;
    Some(if file { format!("{ETC}/{}", ff.file) } else { value })
}

/// Why a step naming the old-style file that sets a recursor key cannot run on a recursor that
/// reads YAML converted from it: the file the step would read or edit is gone.
fn converted_file(key: &str, file: Option<&str>) -> String {
    let file = file.unwrap_or("recursor.conf");
    let now = match file.strip_suffix(".conf") {
        Some(stem) if file.starts_with("recursor.d/") => format!("in {ETC}/{stem}.yml"),
        _ => format!("in {ETC}/{file}, rewritten"),
    };
    format!(
        "the step reads or edits {key} in the old-style {ETC}/{file}; with --recursor-settings yaml (pdns-recursor 5.2 reads YAML converted by rec_control show-yaml) that setting is {now} in YAML form, so the step does not apply as written"
    )
}

/// Fills the lab's facts into `text`; address placeholders stay. Err: the first fact missing.
pub fn fill_facts(text: &str, f: &LabFacts) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, name) in placeholders(text) {
        out.push_str(&text[at..start]);
        match fill(name, f) {
            Fill::Value(v) => out.push_str(&v),
            Fill::Address => out.push_str(&text[start..end]),
            Fill::Missing(why) => return Err(format!("{{{name}}}: {why}")),
            Fill::Unknown => return Err(format!("{{{name}}} is not a placeholder ({VOCABULARY})")),
        }
        at = end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// A scenario as it will run on one lab, or why it cannot.
#[derive(Debug, Clone)]
pub enum Resolved {
    Ready(Box<Planned>),
    NotSimulated(String),
}

/// A scenario planned for the operators' lab: every fact it names filled in from their files
/// and zone, its setting faults aimed at the file and line that set the value, and those facts
/// listed for the report. Its addresses are still the lab's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub scenario: Scenario,
    /// The lab facts it drew on, one line each.
    pub facts_used: Vec<String>,
}

/// A planned scenario bound to one testbed lab: its addresses are the testbed's, and nothing
/// is left to fill while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub scenario: Scenario,
}

/// Resolves `s` against the lab's facts.
pub fn resolve(s: &Scenario, f: &LabFacts) -> Resolved {
    match try_resolve(s, f) {
        Ok(r) => Resolved::Ready(Box::new(r)),
        Err(why) => Resolved::NotSimulated(format!("this lab cannot run scenario {}: {why}", s.name)),
    }
}

fn try_resolve(s: &Scenario, f: &LabFacts) -> Result<Planned, String> {
    let mut v = serde_json::to_value(s).map_err(|e| e.to_string())?;
    // The only fact that depends on the scenario: the journal's HEAD once its rows are added.
    let head = match s.journal_rows.len() as u32 {
        0 => f.soa.serial,
        n => crate::inputs::zone::journal::first_serial_after(f.soa.serial, time::OffsetDateTime::now_utc().date()) + n - 1,
    }
    .to_string();
    map_strings(&mut v, &|t| fill_facts(&t.replace("{journal.head}", &head), f))?;
    let mut r: Scenario = serde_json::from_value(v).map_err(|e| e.to_string())?;
    r.file = s.file.clone();
    for fault in r.faults.iter_mut() {
        let edit = fault.setting_edit();
        if let (Fault::Setting { daemon, key, target, .. }, Some(edit)) = (fault, edit) {
            *target = Some(setting_target(*daemon, key, &edit, f)?);
        }
    }
    Ok(Planned { scenario: r, facts_used: facts_used(s, f) })
}

/// The facts a scenario draws on, one line each: names by role, SOA fields, settings (with the
/// file and line that set them), the settings it declares it depends on, setting faults' keys.
pub fn facts_used(s: &Scenario, f: &LabFacts) -> Vec<String> {
    let text = serde_json::to_string(s).unwrap_or_default();
    let mut names: Vec<String> = placeholders(&text).into_iter().map(|p| p.2.to_string()).collect();
    names.extend(s.depends_on.iter().cloned());
    for fault in &s.faults {
        if let Fault::Setting { daemon, key, .. } = fault {
            names.push(format!("{daemon}.{key}"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    if names.iter().any(|n| n == "auth" || AUTH_LISTEN.contains(&n.as_str())) {
        out.push(format!("pdns answers at {}", f.auth.describe().trim_start_matches("the authoritative at ")));
    }
    // The runbook's triage asks the authoritative's host from the workstation: without a lab
    // address of its own, whoever answers there is not the authoritative.
    let triage = s.symptoms.iter().chain(&s.recovery).chain(s.corrections.iter().flat_map(|c| &c.steps)).any(|st| matches!(st.action, super::Action::Triage { .. }));
    if triage && f.auth.lab.is_none() {
        let la = &f.addresses;
        let host = if la.auth == la.vm { format!("{} (the VM)", la.auth) } else { la.auth.to_string() };
        let who = if la.recursor == la.auth { ", where the recursor answers" } else { "" };
        out.push(format!("the triage's authoritative probe asks drill.toml `auth` = {host}{who}: the authoritative has no lab address, it listens at {}", f.auth.listens()));
    }
    for n in names {
        if ADDRESSES.contains(&n.as_str()) || TESTBED_ONLY.contains(&n.as_str()) || AUTH_LISTEN.contains(&n.as_str()) || !seen.insert(n.clone()) {
            continue;
        }
        if n == "operator" {
            out.push(format!("the runbook's steps on the VM run as {} (drill.toml [operator])", f.addresses.operator.describe()));
            continue;
        }
        let setting = n.split_once('.').filter(|(ns, _)| *ns == "recursor" || *ns == "auth");
        out.push(match setting {
            Some((ns, key)) => {
                let d = if ns == "recursor" { Daemon::Recursor } else { Daemon::Auth };
                let s = f.settings(d);
                match s.setting(key) {
                    None if forward_file_fill(false, key, s).is_some() => {
                        let ff = s.forward_file.as_ref().expect("filled from it");
                        format!("{} {key} = {} (in forward-zones-file {ETC}/{}: {})", d.unit(), ff.value_as(key).unwrap_or_default(), ff.file, ff.lines_of(key).join(", "))
                    }
                    Some(st) => {
                        let at: Vec<String> = st.assignments.iter().map(|a| format!("{}:{}", a.file, a.line)).collect();
                        format!("{} {key} = {} ({})", d.unit(), st.value().unwrap_or_else(|| "<built-in default> + appended".into()), at.join(", "))
                    }
                    None => format!("{} {key}: not set (built-in default)", d.unit()),
                }
            }
            None => match fill(&n, f) {
                Fill::Value(v) => format!("{{{n}}} = {v}"),
                Fill::Missing(why) => format!("{{{n}}}: {why}"),
                _ => continue,
            },
        });
    }
    out
}

/// The file (and line) a setting fault edits: where the value is effectively set, with any
/// later `+=` lines that would otherwise extend the new value.
pub fn setting_target(d: Daemon, key: &str, edit: &SettingEdit, f: &LabFacts) -> Result<SettingTarget, String> {
    let settings = f.settings(d);
    if let Some(t) = forward_file_target(key, edit, settings)? {
        return Ok(t);
    }
    let st = settings.setting(key);
    if st.is_none() && !matches!(edit, SettingEdit::Set(_)) {
        return Err(format!("no file of the config dir sets {key} for {}, so there is nothing to edit", d.unit()));
    }
    edit.apply(key, settings.get(key).as_deref())?;
    match st.and_then(|s| s.base()) {
        Some(base) => Ok(SettingTarget {
            file: format!("{ETC}/{}", base.file),
            line: Some(base.line),
            appends: st.unwrap().appends_after_base().iter().map(|a| format!("{ETC}/{}", a.file)).collect(),
            daemon_files: settings.files.iter().map(|p| format!("{ETC}/{p}")).collect(),
            forward_file: false,
        }),
        None if matches!(edit, SettingEdit::Set(_)) => {
            // Unset (or only appended to): a line in the last file the daemon reads wins.
            let last = settings.files.last().ok_or_else(|| format!("{} is missing", d.main_file()))?;
            Ok(SettingTarget {
                file: format!("{ETC}/{last}"),
                line: None,
                appends: st.map(|s| s.assignments.iter().map(|a| format!("{ETC}/{}", a.file)).collect()).unwrap_or_default(),
                daemon_files: settings.files.iter().map(|p| format!("{ETC}/{p}")).collect(),
                forward_file: false,
            })
        }
        None => Err(format!("no file of the config dir sets {key} for {}, so there is nothing to edit", d.unit())),
    }
}

/// Where an edit of `key`'s forwards goes when the lab keeps them in its forward-zones-file
/// (and not in the setting): the first line standing for `key` that takes the edit. None when
/// the setting holds them, or the edit sets the setting outright (that needs no line).
fn forward_file_target(key: &str, edit: &SettingEdit, s: &Settings) -> Result<Option<SettingTarget>, String> {
    let Some(ff) = s.forward_file.as_ref().filter(|_| s.setting(key).is_none() && !matches!(edit, SettingEdit::Set(_))) else { return Ok(None) };
    let mut why = None;
    for e in ff.entries.iter().filter(|e| e.key() == key) {
        match edit.apply(key, Some(&e.entry())) {
            Ok(_) => {
                let daemon_files = s.files.iter().map(|p| format!("{ETC}/{p}")).collect();
                return Ok(Some(SettingTarget { file: format!("{ETC}/{}", ff.file), line: Some(e.line), appends: vec![], daemon_files, forward_file: true }));
            }
            Err(w) => why = Some(w),
        }
    }
    match why {
        Some(w) => Err(format!("the lab's {key} forwards are in forward-zones-file {ETC}/{}, and no line of it takes the edit ({w})", ff.file)),
        None => Ok(None),
    }
}

/// Applies `f` to every string in a JSON value.
pub fn map_strings(v: &mut serde_json::Value, f: &dyn Fn(&str) -> Result<String, String>) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => *s = f(s)?,
        serde_json::Value::Array(a) => a.iter_mut().try_for_each(|x| map_strings(x, f))?,
        serde_json::Value::Object(o) => o.values_mut().try_for_each(|x| map_strings(x, f))?,
        _ => {}
    }
    Ok(())
}

/// The scenario with the testbed's addresses filled and the operators' own lab addresses
/// (inside values taken from their files and zone) moved onto the testbed.
pub fn bind(p: &Planned, fill_address: &dyn Fn(&str) -> String) -> Bound {
    let s = &p.scenario;
    let mut v = serde_json::to_value(s).expect("a scenario serialises");
    map_strings(&mut v, &|t| Ok(fill_address(t))).expect("binding cannot fail");
    let mut r: Scenario = serde_json::from_value(v).expect("a bound scenario deserialises");
    r.file = s.file.clone();
    for (a, b) in r.faults.iter_mut().zip(&s.faults) {
        if let (Fault::Setting { target, .. }, Fault::Setting { target: t0, .. }) = (a, b) {
            *target = t0.clone();
        }
    }
    Bound { scenario: r }
}

impl crate::testbed::Lab {
    /// A resolved scenario bound to this lab: nothing is left to fill while it runs.
    pub fn bind(&self, p: &Planned) -> Bound {
        bind(p, &|t| self.bind_text(t))
    }

}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn facts(rows: &str, recursor_conf: &str) -> LabFacts {
        facts_with(rows, &[("recursor.conf", recursor_conf)])
    }

    /// Facts of a lab with the test authoritative and these other files.
    fn facts_with(rows: &str, files: &[(&str, &str)]) -> LabFacts {
        let journal = crate::inputs::zone::journal::Journal::parse(
            "j.md",
            &format!("zone: example.test\nprimary-ns: ns.example.test.\nhostmaster: ops.example.net.\n\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n{rows}"),
        )
        .unwrap();
        let mut all = vec![("pdns.conf", "launch=gsqlite3\ngsqlite3-database=/var/lib/powerdns/pdns.sqlite3\n")];
        all.extend_from_slice(files);
        LabFacts::read(&crate::testbed::config::for_test(&all), &journal).unwrap()
    }

    const ONE_A: &str = "| 2026010101 | web | A | 10.10.0.3 | 300 | 2026-01-01 | |\n";

    /// Facts of a lab whose authoritative listens where `listen` says.
    fn facts_listening(listen: &str) -> LabFacts {
        let journal = crate::inputs::zone::journal::Journal::parse(
            "j.md",
            &format!("zone: example.test\nprimary-ns: ns.example.test.\nhostmaster: ops.example.net.\n\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n{ONE_A}"),
        )
        .unwrap();
        let pdns = format!("launch=gsqlite3\ngsqlite3-database=/var/lib/powerdns/pdns.sqlite3\n{listen}\n");
        LabFacts::read(&crate::testbed::config::for_test(&[("pdns.conf", &pdns), ("recursor.conf", "")]), &journal).unwrap()
    }

    #[test]
    fn the_authoritative_is_asked_where_it_listens() {
        let s = scenario("[[symptom]]\nrun = \"dig @{auth} -p {auth-port} {zone} SOA\"\non = \"pdns-vm\"\n[[symptom]]\ntriage = true\nexpect = { row = \"TRI-1\" }\n");
        let Resolved::Ready(r) = resolve(&s, &facts_listening("local-address=10.10.0.54, 203.0.113.53")) else { panic!("not ready") };
        assert_eq!(r.scenario.symptoms[0].command(), Some("dig @10.10.0.54 -p 53 example.test SOA"));
        let lo = facts_listening("local-address=127.0.0.1:5300, 203.0.113.53");
        let Resolved::Ready(r) = resolve(&s, &lo) else { panic!("not ready") };
        assert_eq!(r.scenario.symptoms[0].command(), Some("dig @127.0.0.1 -p 5300 example.test SOA"));
        assert!(r.facts_used.iter().any(|f| f.starts_with("pdns answers at 127.0.0.1:5300 (pdns.conf:3 local-address), asked from inside the VM")), "{:?}", r.facts_used);
        // The shipped drill.toml gives the authoritative an address of its own: not the VM's.
        assert!(r.facts_used.iter().any(|f| f.contains("the triage's authoritative probe asks drill.toml `auth` = 10.10.0.54: the authoritative has no lab address")), "{:?}", r.facts_used);
        let lab_host = scenario("[[symptom]]\nrun = \"dig @{auth-lab} {zone} SOA\"\non = \"workstation\"\n");
        let Resolved::NotSimulated(why) = resolve(&lab_host, &lo) else { panic!("a lab host cannot ask a loopback-only authoritative") };
        assert!(why.contains("{auth-lab}: the authoritative has no lab address: it listens at 127.0.0.1:5300 (pdns.conf:3 local-address)"), "{why}");
    }

    fn scenario(body: &str) -> Scenario {
        Scenario::parse("s.toml", &format!("name = \"s\"\nsection = \"x\"\nclaims = [\"NET-ALLOW\"]\n{body}")).unwrap()
    }

    #[test]
    fn facts_are_filled_and_addresses_kept() {
        let f = facts(ONE_A, "allow-from=127.0.0.0/8, 10.10.0.0/16\n");
        let s = scenario("[[symptom]]\nrun = \"dig @{recursor} {lab-name} SOA; echo {soa.serial} {recursor.allow-from} ${HOME} {recursor-file.allow-from}\"\non = \"workstation\"\n");
        let Resolved::Ready(r) = resolve(&s, &f) else { panic!("not ready") };
        assert_eq!(
            r.scenario.symptoms[0].command(),
            Some("dig @10.10.0.53 web.example.test SOA; echo 2026010101 127.0.0.0/8, 10.10.0.0/16 ${HOME} /etc/powerdns/recursor.conf")
        );
        let s = scenario("[[symptom]]\nrun = \"dig @{internet} x\"\non = \"workstation\"\n");
        let Resolved::Ready(r) = resolve(&s, &f) else { panic!("not ready") };
        assert_eq!(r.scenario.symptoms[0].command(), Some("dig @{internet} x"), "the stand-in internet exists only on the testbed");
    }

    #[test]
    fn a_role_the_zone_lacks_is_not_simulated_with_the_reason() {
        let f = facts(ONE_A, "");
        let s = scenario("[[symptom]]\nprobe = \"recursor\"\nqname = \"{name.multi-a}\"\nexpect = { answers = true }\n");
        let Resolved::NotSimulated(why) = resolve(&s, &f) else { panic!("should not run") };
        assert!(why.contains("{name.multi-a}: the zone has no a name with several A records"), "{why}");
    }

    #[test]
    fn a_setting_no_file_sets_is_not_simulated() {
        let f = facts(ONE_A, "quiet=yes\n");
        let s = scenario("[[fault]]\nkind = \"setting\"\ndaemon = \"recursor\"\nkey = \"allow-from\"\nremove-item = \"{recursor}\"\n");
        let Resolved::NotSimulated(why) = resolve(&s, &f) else { panic!("should not run") };
        assert!(why.contains("no file of the config dir sets allow-from for pdns-recursor"), "{why}");
        let p = scenario("[[symptom]]\nrun = \"echo {recursor.local-address}\"\non = \"pdns-vm\"\n");
        assert!(matches!(resolve(&p, &f), Resolved::NotSimulated(_)));
    }

    #[test]
    fn an_edit_the_value_cannot_take_is_not_simulated() {
        let f = facts(ONE_A, "local-address=127.0.0.1\n");
        let s = scenario("[[fault]]\nkind = \"setting\"\ndaemon = \"recursor\"\nkey = \"local-address\"\nremove-item = \"{recursor}\"\n");
        let Resolved::NotSimulated(why) = resolve(&s, &f) else { panic!("should not run") };
        assert!(why.contains("local-address = 127.0.0.1 has no item 10.10.0.53"), "{why}");
    }

    #[test]
    fn setting_faults_target_the_file_that_sets_the_value() {
        let f = facts(ONE_A, "allow-from=127.0.0.0/8\n");
        let s = scenario("[[fault]]\nkind = \"setting\"\ndaemon = \"recursor\"\nkey = \"allow-from\"\nset = \"127.0.0.0/8\"\n");
        let Resolved::Ready(r) = resolve(&s, &f) else { panic!() };
        let Fault::Setting { target: Some(t), .. } = &r.scenario.faults[0] else { panic!() };
        assert_eq!(t.file, "/etc/powerdns/recursor.conf");
        assert_eq!(t.line, Some(1));
        let bound = bind(&r, &|t| t.to_string());
        assert!(matches!(&bound.scenario.faults[0], Fault::Setting { target: Some(_), .. }));
    }

    #[test]
    fn steps_on_old_style_recursor_files_do_not_apply_to_converted_settings() {
        let mut f = facts(ONE_A, "include-dir=/etc/powerdns/recursor.d\n");
        f.settings.insert(
            Daemon::Recursor,
            crate::inputs::settings::Settings::read(
                Daemon::Recursor,
                &[("recursor.conf".into(), "include-dir=/etc/powerdns/recursor.d\n".into()), ("recursor.d/10-fwd.conf".into(), "allow-from=127.0.0.0/8\n".into())],
                ETC,
            ),
        );
        let s = scenario("[[symptom]]\nrun = \"cat {recursor-file.allow-from}\"\non = \"pdns-vm\"\n");
        assert!(matches!(resolve(&s, &f), Resolved::Ready(_)));
        f.recursor_settings = RecursorSettings::Yaml;
        let Resolved::NotSimulated(why) = resolve(&s, &f) else { panic!("should not run") };
        assert!(why.contains("/etc/powerdns/recursor.d/10-fwd.conf") && why.contains("is in /etc/powerdns/recursor.d/10-fwd.yml in YAML form"), "{why}");
        let mut main = facts(ONE_A, "allow-from=127.0.0.0/8\n");
        main.recursor_settings = RecursorSettings::Yaml;
        let Resolved::NotSimulated(why) = resolve(&s, &main) else { panic!("should not run") };
        assert!(why.contains("is in /etc/powerdns/recursor.conf, rewritten in YAML form"), "{why}");
        // Values and the setting faults still plan: the fault edits the kept old-style source.
        let v = scenario("[[fault]]\nkind = \"setting\"\ndaemon = \"recursor\"\nkey = \"allow-from\"\nset = \"127.0.0.1\"\n[[symptom]]\nrun = \"echo {recursor.allow-from}\"\non = \"pdns-vm\"\n");
        assert!(matches!(resolve(&v, &f), Resolved::Ready(_)));
    }

    fn facts_with_forward_file(fwd: &str) -> LabFacts {
        facts_with(ONE_A, &[("recursor.conf", "forward-zones-file=/etc/powerdns/fwd.zones\n"), ("fwd.zones", fwd)])
    }

    const SWAP: &str = "[[fault]]\nkind = \"setting\"\ndaemon = \"recursor\"\nkey = \"forward-zones\"\nreplace = \"={auth}\"\nwith = \"={recursor}\"\n";

    #[test]
    fn forwards_in_a_forward_zones_file_are_edited_there_by_line() {
        let f = facts_with_forward_file("# forwards\n+.=9.9.9.9\nother.test=10.10.0.99\nexample.test=10.10.0.54;10.10.0.55\n");
        let s = scenario(&format!("{SWAP}[[symptom]]\nrun = \"echo {{recursor.forward-zones}} {{recursor-file.forward-zones}}\"\non = \"pdns-vm\"\n"));
        let Resolved::Ready(r) = resolve(&s, &f) else { panic!("not ready") };
        let Fault::Setting { target: Some(t), .. } = &r.scenario.faults[0] else { panic!() };
        assert_eq!((t.file.as_str(), t.line, t.forward_file), ("/etc/powerdns/fwd.zones", Some(4), true));
        assert_eq!(r.scenario.symptoms[0].command(), Some("echo other.test=10.10.0.99, example.test=10.10.0.54;10.10.0.55 /etc/powerdns/fwd.zones"));
        assert!(
            r.facts_used.iter().any(|l| l == "pdns-recursor forward-zones = other.test=10.10.0.99, example.test=10.10.0.54;10.10.0.55 (in forward-zones-file /etc/powerdns/fwd.zones: fwd.zones:3, fwd.zones:4)"),
            "{:?}",
            r.facts_used
        );
    }

    #[test]
    fn a_forward_zones_file_without_the_forward_is_not_simulated_with_the_reason() {
        let f = facts_with_forward_file("example.test=10.10.0.99\n");
        let Resolved::NotSimulated(why) = resolve(&scenario(SWAP), &f) else { panic!("should not run") };
        assert!(why.contains("forwards are in forward-zones-file /etc/powerdns/fwd.zones, and no line of it takes the edit"), "{why}");
    }

    #[test]
    fn placeholder_syntax_leaves_shell_and_awk_alone() {
        let names: Vec<&str> = placeholders("${x} {zone} awk '{print $1}' {\"a\":1} {soa.serial} {a,b}").into_iter().map(|p| p.2).collect();
        assert_eq!(names, ["zone", "soa.serial"]);
        assert!(is_known("name.a3") && is_known("recursor.allow-from") && is_known("new.late"));
        assert!(!is_known("name.mx") && !is_known("kafka") && !is_known("soa.owner"));
    }
}
