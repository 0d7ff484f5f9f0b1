//! Steady state, one reusable check: lab names and public names resolve through the recursor,
//! the authoritative answers its SOA and refuses names outside its zone.

use crate::probe::{self, Outcome, Query, RType, Rcode};
use crate::testbed::Lab;
use std::fmt;
use std::net::SocketAddr;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub query: String,
    pub expected: &'static str,
    pub observed: String,
    pub ok: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SteadyReport {
    pub checks: Vec<Check>,
}

impl SteadyReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
    pub fn failing(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }
}

impl fmt::Display for SteadyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{} {:<28} {} → {} (expected {})", if c.ok { "✓" } else { "✗" }, c.name, c.query, c.observed, c.expected)?;
        }
        Ok(())
    }
}

/// What the steady state needs from one probe.
#[derive(Debug, Clone, Copy)]
enum Want {
    Answer,
    AuthoritativeAnswer,
    Refused,
}

fn holds(want: Want, o: &Outcome) -> bool {
    match (want, o) {
        (Want::Answer, Outcome::Response(r)) => r.rcode == Rcode::NoError && !r.answers.is_empty(),
        (Want::AuthoritativeAnswer, Outcome::Response(r)) => r.rcode == Rcode::NoError && r.aa && !r.answers.is_empty(),
        (Want::Refused, Outcome::Response(r)) => r.rcode == Rcode::Refused,
        _ => false,
    }
}

/// The recursor is asked only once what it depends on answers: a SERVFAIL it gets while the
/// authoritative or the stand-in internet is still booting is cached (packet-cache SERVFAIL
/// TTL) and would keep the lab from settling.
pub async fn check(lab: &Lab) -> SteadyReport {
    let p = &lab.plan;
    let zone = format!("{}.", lab.spec.zone.journal.zone);
    let rec = SocketAddr::from((p.recursor, 53));
    let auth = SocketAddr::from((p.auth, 53));
    let timeout = std::time::Duration::from_millis(1500);
    let mut checks = Vec::new();
    let mut run = |name: &'static str, q: Query, want: Want, expected: &'static str, o: Option<Outcome>| {
        let q = q.with_timeout(timeout);
        let (observed, ok) = match o {
            Some(o) => (o.summary(), holds(want, &o)),
            None => ("not asked: an upstream is not answering yet".to_string(), false),
        };
        checks.push(Check { name, query: q.describe(), expected, observed, ok });
    };
    let soa_q = Query::udp(auth, &zone, RType::SOA).with_timeout(timeout);
    let soa = probe::probe(&soa_q).await;
    let auth_ready = holds(Want::AuthoritativeAnswer, &soa);
    let refuse_q = Query::udp(auth, "www.google.com.", RType::A).with_timeout(timeout);
    let refused = probe::probe(&refuse_q).await;
    let internet_q = Query::udp(SocketAddr::from((p.internet, 53)), "www.google.com.", RType::A).with_timeout(timeout);
    let internet_ready = holds(Want::Answer, &probe::probe(&internet_q).await);
    let lab_q = Query::udp(rec, &lab.known_lab_name(), RType::A);
    let lab_o = if auth_ready { Some(probe::probe(&lab_q.clone().with_timeout(timeout)).await) } else { None };
    let pub_q = Query::udp(rec, "www.google.com.", RType::A);
    let pub_o = if internet_ready { Some(probe::probe(&pub_q.clone().with_timeout(timeout)).await) } else { None };
    run("lab name via recursor", lab_q, Want::Answer, "NOERROR with an answer", lab_o);
    run("public name via recursor", pub_q, Want::Answer, "NOERROR with an answer", pub_o);
    run("auth answers its SOA", soa_q, Want::AuthoritativeAnswer, "NOERROR aa with the SOA", Some(soa));
    run("auth refuses other zones", refuse_q, Want::Refused, "REFUSED", Some(refused));
    SteadyReport { checks }
}

/// The VM's units the steady state depends on.
const VM_UNITS: [&str; 3] = ["drill-provision", "pdns", "pdns-recursor"];

/// How many distinct error lines of a unit's journal a failure message quotes.
const ERROR_LINES: usize = 5;

/// For each VM unit that is not active: its state and the last distinct fatal/error lines of its
/// journal since boot, since a daemon looping in auto-restart names its cause only there. One
/// entry per unit; empty when every unit is active or the VM cannot be asked.
pub async fn inactive_units(lab: &Lab) -> Vec<String> {
    let script = format!(
        "for u in {}; do s=$(systemctl is-active \"$u\"); [ \"$s\" = active ] && continue; \
         echo \"@@ $u $s\"; journalctl -u \"$u\" -b --no-pager -o cat | grep -iE 'fatal|error' | tail -n 400; done",
        VM_UNITS.join(" ")
    );
    match lab.sh(crate::testbed::Role::PdnsVm, &script, std::time::Duration::from_secs(15)).await {
        Ok(o) => render_inactive(&o.stdout),
        Err(e) => vec![format!("the VM's units could not be asked: {e:#}")],
    }
}

/// The `@@ unit state` blocks `inactive_units` collects, one line each.
fn render_inactive(out: &str) -> Vec<String> {
    out.split("@@ ")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let (head, journal) = block.split_once('\n').unwrap_or((block, ""));
            let (unit, state) = head.trim().split_once(' ').unwrap_or((head.trim(), "unknown"));
            let lines = distinct_error_lines(journal, ERROR_LINES);
            if lines.is_empty() {
                format!("{unit} is {state}; no fatal or error line in its journal")
            } else {
                format!("{unit} is {state}; its journal says: {}", lines.join(" | "))
            }
        })
        .collect()
}

/// The last `max` distinct lines, in order of last appearance, with what changes between two
/// otherwise identical lines removed: the daemon's own timestamp prefix and `ts="…"`.
pub fn distinct_error_lines(journal: &str, max: usize) -> Vec<String> {
    static PREFIX: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} |\s*\bts="[^"]*""#).unwrap());
    let mut out: Vec<String> = Vec::new();
    for l in journal.lines() {
        let l = PREFIX.replace_all(l.trim(), "").trim().to_string();
        if l.is_empty() {
            continue;
        }
        out.retain(|x| *x != l);
        out.push(l);
    }
    let skip = out.len().saturating_sub(max);
    out.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As pdns-recursor 5.2 logs refusing old-style settings (each line twice: with and
    /// without its own timestamp), restarting in a loop.
    const RECURSOR_52: &str = r#"Nov 26 13:10:59 msg="YAML config found, but error occurred processing it" error="invalid type: string \"config-dir=/etc/powerdns\", expected struct Recursorsettings at line 2 column 1" subsystem="config" level="0" prio="Error" tid="0" ts="1795698659.617" configname="/etc/powerdns/recursor.conf"
msg="YAML config found, but error occurred processing it" error="invalid type: string \"config-dir=/etc/powerdns\", expected struct Recursorsettings at line 2 column 1" subsystem="config" level="0" prio="Error" tid="0" ts="1795698659.617" configname="/etc/powerdns/recursor.conf"
Nov 26 13:10:59 msg="Old-style settings syntax not enabled by default anymore. Use YAML or enable with --enable-old-settings on the command line" subsystem="config" level="0" prio="Error" tid="0" ts="1795698659.619" configname="/etc/powerdns/recursor.conf"
msg="Old-style settings syntax not enabled by default anymore. Use YAML or enable with --enable-old-settings on the command line" subsystem="config" level="0" prio="Error" tid="0" ts="1795698659.619" configname="/etc/powerdns/recursor.conf"
Nov 26 13:11:00 msg="YAML config found, but error occurred processing it" error="invalid type: string \"config-dir=/etc/powerdns\", expected struct Recursorsettings at line 2 column 1" subsystem="config" level="0" prio="Error" tid="0" ts="1795698660.057" configname="/etc/powerdns/recursor.conf"
Nov 26 13:11:00 msg="Old-style settings syntax not enabled by default anymore. Use YAML or enable with --enable-old-settings on the command line" subsystem="config" level="0" prio="Error" tid="0" ts="1795698660.058" configname="/etc/powerdns/recursor.conf"
"#;

    #[test]
    fn a_restart_loop_is_quoted_once_per_line() {
        let lines = distinct_error_lines(RECURSOR_52, 5);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[1].starts_with(r#"msg="Old-style settings syntax not enabled"#), "{}", lines[1]);
        assert!(!lines[1].contains("ts="), "{}", lines[1]);
        assert_eq!(distinct_error_lines(RECURSOR_52, 1), vec![lines[1].clone()]);
    }

    #[test]
    fn failure_message_names_the_unit_its_state_and_cause() {
        let lines = render_inactive(&format!("@@ pdns-recursor activating\n{RECURSOR_52}@@ drill-provision failed\n"));
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[0].starts_with("pdns-recursor is activating; its journal says: msg=\"YAML config found"), "{}", lines[0]);
        assert!(lines[0].contains("--enable-old-settings on the command line"), "{}", lines[0]);
        assert_eq!(lines[1], "drill-provision is failed; no fatal or error line in its journal");
        assert!(render_inactive("").is_empty());
    }
}
