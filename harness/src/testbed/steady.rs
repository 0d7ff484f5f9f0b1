//! Steady state, one reusable check: every journal name and a public name resolve through the recursor,
//! the authoritative answers its SOA and refuses names outside its zone.

use crate::dns::probe::{self, Outcome, Query, RType, Rcode};
use crate::testbed::engine::Engine;
use crate::testbed::{Lab, LabSpec, Role, STEADY_DEADLINE};
use std::time::Duration;
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

/// Which lab names the check asks through the recursor. Every answer lands in its cache, and
/// scenarios judge what a name not cached yet does (NET-FW, TRI-BLIND): before a fault the
/// check asks one name, as before any scenario; after a recovery, and for a lab's own health,
/// it asks them all, since one failing name is what a lab client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The first plain A name of the journal.
    OneName,
    /// Every journal name (wildcards aside).
    EveryName,
}

/// How many failing names a check's line quotes.
const NAMES_SHOWN: usize = 3;

/// Every name the journal holds (wildcards aside), with the first type journaled for it that
/// the probe can ask. A CNAME is asked as CNAME: the check must not depend on where its target
/// lives (outside the zone, the hermetic testbed has no answer). One name failing is what lab
/// clients see, so steady state asks them all, not one representative.
pub fn journal_names(j: &crate::inputs::zone::journal::Journal) -> Vec<(String, RType)> {
    let mut out: Vec<(String, RType)> = Vec::new();
    for e in &j.entries {
        if e.fqdn.starts_with('*') || out.iter().any(|(n, _)| *n == e.fqdn) {
            continue;
        }
        if let Ok(t) = e.rtype.parse::<RType>() {
            out.push((e.fqdn.clone(), t));
        }
    }
    if out.is_empty() {
        out.push((format!("{}.", j.zone), RType::SOA));
    }
    out
}

/// The recursor is asked only once what it depends on answers: a SERVFAIL it gets while the
/// authoritative or the stand-in internet is still booting is cached (packet-cache SERVFAIL
/// TTL) and would keep the lab from settling.
pub async fn check(lab: &Lab, scope: Scope) -> SteadyReport {
    let p = &lab.plan;
    let zone = format!("{}.", lab.spec.zone.journal.zone);
    let rec = SocketAddr::from((p.recursor, 53));
    let auth = p.auth_at;
    let timeout = std::time::Duration::from_millis(1500);
    let mut checks = Vec::new();
    let mut run = |name: &'static str, q: Query, want: Want, expected: &'static str, o: Option<Outcome>| {
        let q = q.with_timeout(timeout);
        let (observed, ok) = match o {
            Some(o) => (o.summary(), holds(want, &o)),
            None => ("not asked: an upstream is not answering yet".to_string(), false),
        };
        checks.push(Check { name, query: Lab::describe_probe(&q), expected, observed, ok });
    };
    let soa_q = Query::udp(auth, &zone, RType::SOA).with_timeout(timeout);
    let soa = lab.probe(&soa_q).await;
    let auth_ready = holds(Want::AuthoritativeAnswer, &soa);
    let refuse_q = Query::udp(auth, "www.google.com.", RType::A).with_timeout(timeout);
    let refused = lab.probe(&refuse_q).await;
    let internet_q = Query::udp(SocketAddr::from((p.internet, 53)), "www.google.com.", RType::A).with_timeout(timeout);
    let internet_ready = holds(Want::Answer, &probe::probe(&internet_q).await);
    let names = match scope {
        Scope::EveryName => journal_names(&lab.spec.zone.journal),
        Scope::OneName => vec![(lab.known_lab_name(), RType::A)],
    };
    let names_o = if auth_ready {
        let asks = names.iter().map(|(n, t)| async move { (n, *t, probe::probe(&Query::udp(rec, n, *t).with_timeout(timeout)).await) });
        Some(futures_util::future::join_all(asks).await)
    } else {
        None
    };
    let pub_q = Query::udp(rec, "www.google.com.", RType::A);
    let pub_o = if internet_ready { Some(probe::probe(&pub_q.clone().with_timeout(timeout)).await) } else { None };
    let names_query = match scope {
        Scope::EveryName => format!("every journal name ({}) @{rec}", names.len()),
        Scope::OneName => format!("{} A @{rec} (one name: the cache stays cold for the rest)", names[0].0),
    };
    let (observed, ok) = match names_o {
        None => ("not asked: the authoritative is not answering yet".to_string(), false),
        Some(outcomes) => {
            let failing: Vec<String> =
                outcomes.iter().filter(|(_, _, o)| !holds(Want::Answer, o)).map(|(n, t, o)| format!("{n} {t} → {}", o.summary())).collect();
            if failing.is_empty() {
                (format!("all {} answer", outcomes.len()), true)
            } else {
                let shown: Vec<&str> = failing.iter().take(NAMES_SHOWN).map(String::as_str).collect();
                (format!("{} of {} fail: {}{}", failing.len(), outcomes.len(), shown.join("; "), if failing.len() > NAMES_SHOWN { "; …" } else { "" }), false)
            }
        }
    };
    let names_check = Check { name: "lab names via recursor", query: names_query, expected: "NOERROR with an answer, for each", observed, ok };
    run("public name via recursor", pub_q, Want::Answer, "NOERROR with an answer", pub_o);
    run("auth answers its SOA", soa_q, Want::AuthoritativeAnswer, "NOERROR aa with the SOA", Some(soa));
    run("auth refuses other zones", refuse_q, Want::Refused, "REFUSED", Some(refused));
    checks.insert(0, names_check);
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

/// Restarts by systemd during one wait for steady state that mean a daemon is crash-looping.
const CRASH_LOOP_RESTARTS: u64 = 3;
const UNIT_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Waiting for steady state is the steady module's, on the testbed's lab.
impl Lab {
    /// Polls the steady-state check until it holds or the deadline passes; on failure, the last
    /// check and the daemons' own reasons.
    ///
    /// A daemon that keeps crashing while we wait (systemd restarted it three more times) will
    /// not settle: that ends the wait early instead of at the deadline.
    pub async fn wait_steady(&self, deadline: Duration) -> Result<crate::testbed::steady::SteadyReport, NotSteady> {
        self.wait(deadline, Scope::EveryName, false).await
    }

    /// `wait_steady` asking only the names `scope` says (before a fault: one).
    pub async fn wait_steady_asking(&self, deadline: Duration, scope: Scope) -> Result<crate::testbed::steady::SteadyReport, NotSteady> {
        self.wait(deadline, scope, false).await
    }

    /// `wait_steady` after something acted on the lab (a recovery, a correction, a heal): a
    /// daemon stopped with no job queued and nothing to trigger it stays down whatever the
    /// deadline, so that ends the wait too. Not while a lab boots: its units' start jobs may
    /// not be queued yet.
    pub async fn wait_steady_after(&self, deadline: Duration) -> Result<crate::testbed::steady::SteadyReport, NotSteady> {
        self.wait(deadline, Scope::EveryName, true).await
    }

    async fn wait(&self, deadline: Duration, scope: Scope, end_when_down: bool) -> Result<crate::testbed::steady::SteadyReport, NotSteady> {
        let start = tokio::time::Instant::now();
        let at_start = self.daemon_units().await;
        // Asking systemd costs a command in the VM: every 2 s still sees a loop (3 restarts)
        // well within the shortest wait.
        let mut next_unit_check = start + UNIT_CHECK_EVERY;
        // Down at two checks in a row: a unit between a stop and its queued start, or a VM
        // still queuing its boot, is not mistaken for one nothing will start.
        let mut down_before: Vec<String> = Vec::new();
        loop {
            let r = crate::testbed::steady::check(self, scope).await;
            if r.ok() {
                return Ok(r);
            }
            let (looping, down) = if tokio::time::Instant::now() >= next_unit_check {
                next_unit_check += UNIT_CHECK_EVERY;
                let now = self.daemon_units().await;
                let looping = crash_looping(&at_start, &now);
                let down_now: Vec<String> = if end_when_down { now.iter().filter(|u| u.down_for_good()).map(|u| u.unit.clone()).collect() } else { Vec::new() };
                let down = down_now.iter().filter(|u| down_before.contains(u)).cloned().collect();
                down_before = down_now;
                (looping, down)
            } else {
                (false, Vec::new())
            };
            if looping || !down.is_empty() || start.elapsed() > deadline {
                return Err(NotSteady {
                    waited: start.elapsed(),
                    last: r,
                    daemon_log: crate::testbed::steady::inactive_units(self).await,
                    crash_loop: looping,
                    down_for_good: down,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// After a missed deadline: asks the steady-state check every `every` until it holds or
    /// `bound` passes. Slower than `wait_steady`'s poll, as a
    /// monitor would ask: this only dates a recovery, it does not hurry one.
    pub async fn watch_late(&self, bound: Duration, every: Duration) -> Late {
        let start = tokio::time::Instant::now();
        while start.elapsed() < bound {
            tokio::time::sleep(every).await;
            if crate::testbed::steady::check(self, Scope::EveryName).await.ok() {
                return Late::Back(start.elapsed());
            }
        }
        Late::StillFailing(start.elapsed())
    }

    /// What systemd says of pdns and pdns-recursor now (nothing when it cannot be asked).
    async fn daemon_units(&self) -> Vec<UnitNow> {
        let o = self.sh(Role::PdnsVm, &format!("systemctl show -p {} pdns pdns-recursor", UNIT_PROPERTIES.join(",")), Duration::from_secs(10)).await;
        parse_units(&o.map(|o| o.stdout).unwrap_or_default())
    }
}

const UNIT_PROPERTIES: [&str; 5] = ["Id", "ActiveState", "Job", "TriggeredBy", "NRestarts"];

/// One daemon's unit as `systemctl show` put it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UnitNow {
    unit: String,
    active: String,
    job: String,
    triggered_by: String,
    restarts: u64,
}

impl UnitNow {
    /// Stopped or failed, no start or restart queued, no socket, timer or path to start it:
    /// nothing in the lab will bring it back by itself.
    fn down_for_good(&self) -> bool {
        matches!(self.active.as_str(), "inactive" | "failed") && self.job.is_empty() && self.triggered_by.is_empty()
    }
}

/// Whether a unit was restarted by systemd often enough since `at_start` to be looping; units
/// matched by name, counted from 0 where the first reading missed one.
fn crash_looping(at_start: &[UnitNow], now: &[UnitNow]) -> bool {
    let at_first = |u: &UnitNow| at_start.iter().find(|s| s.unit == u.unit).map_or(0, |s| s.restarts);
    now.iter().any(|n| n.restarts.saturating_sub(at_first(n)) >= CRASH_LOOP_RESTARTS)
}

/// `systemctl show -p …` of several units: one block per unit, blocks apart by a blank line.
fn parse_units(text: &str) -> Vec<UnitNow> {
    text.split("\n\n")
        .filter_map(|block| {
            let get = |k: &str| block.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('='))).map(str::trim).unwrap_or("").to_string();
            let unit = get("Id");
            (!unit.is_empty()).then(|| UnitNow {
                active: get("ActiveState"),
                job: get("Job"),
                triggered_by: get("TriggeredBy"),
                restarts: get("NRestarts").parse().unwrap_or(0),
                unit,
            })
        })
        .collect()
}

/// What watching past a missed deadline found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Late {
    /// Steady state came back by itself, this long after the deadline.
    Back(Duration),
    /// Still not back after watching this long.
    StillFailing(Duration),
    /// Not watched: a daemon was down or looping.
    NotWatched,
}

/// The lab did not reach steady state: the failing checks and the daemons' reasons.
#[derive(Debug)]
pub struct NotSteady {
    /// How long it waited.
    pub waited: Duration,
    pub last: crate::testbed::steady::SteadyReport,
    pub daemon_log: Vec<String>,
    /// A daemon kept being restarted by systemd while we waited.
    pub crash_loop: bool,
    /// The units that were down with nothing to start them, which ended the wait early.
    pub down_for_good: Vec<String>,
}

impl NotSteady {
    /// The first failing check, as one line.
    pub fn first_failing(&self) -> String {
        self.last.failing().first().map(|c| format!("✗ {} {} → {} (expected {})", c.name, c.query, c.observed, c.expected)).unwrap_or_else(|| "steady state not reached".into())
    }

    /// A steady state missed after a recovery, described: what was observed, the mismatch, and
    /// when service came back by itself if it did (the judge weighs that). `poll`: how often
    /// `late` asked.
    pub fn after_recovery(&self, late: Late, poll: Duration) -> (String, String, Option<Duration>) {
        let first = self.first_failing();
        let missed = self.waited.as_secs();
        match late {
            Late::Back(more) => {
                let when = format!("back by itself only {:.0} s after the recovery (not within {missed} s; the names asked every {} s)", (self.waited + more).as_secs_f64(), poll.as_secs());
                (format!("{when}; at {missed} s: {first}"), format!("steady state after recovery {when}; at {missed} s: {first}"), Some(self.waited + more))
            }
            Late::StillFailing(watched) => {
                let still = (self.waited + watched).as_secs();
                (format!("{first}; still failing {still} s after the recovery"), format!("steady state after recovery: {first} (still failing {still} s after the recovery)"), None)
            }
            Late::NotWatched => {
                let first = match self.why_ended_early() {
                    Some(why) => format!("{first} (the wait ended at {missed} s: {why})"),
                    None => first,
                };
                (first.clone(), format!("steady state after recovery: {first}"), None)
            }
        }
    }

    /// Why the wait ended before its deadline, if a stopped daemon ended it.
    pub fn why_ended_early(&self) -> Option<String> {
        (!self.down_for_good.is_empty()).then(|| format!("{} down with no job queued and nothing to start it", self.down_for_good.join(" and ")))
    }

    /// Every daemon is up and none is looping: what fails is answers, which may still come
    /// back by themselves (caches and throttles expire).
    pub fn daemons_up(&self) -> bool {
        self.daemon_log.is_empty() && !self.crash_loop
    }
}

impl std::fmt::Display for NotSteady {
    /// The cause first: reports and comparisons quote the start of this message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let early = self.why_ended_early().map(|why| format!(" (the wait ended there: {why})")).unwrap_or_default();
        writeln!(f, "steady state not reached after {:.1} s{early}:", self.waited.as_secs_f64())?;
        for l in &self.daemon_log {
            writeln!(f, "  {l}")?;
        }
        write!(f, "{}", self.last)
    }
}

impl std::error::Error for NotSteady {}

/// The operators' lab did not reach steady state on its own.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Preflight {
    pub waited_ms: u64,
    /// Each steady-state check that failed: "✗ name query → observed (expected …)".
    pub failing: Vec<String>,
    /// Each daemon that is not active, with its fatal journal lines.
    pub daemons: Vec<String>,
}

/// Before any scenario: the operators' lab, unfaulted, must reach steady state. Ok(Err) is that
/// finding (the failing checks and the daemons' reasons). The lab is removed, unless it reached
/// steady state and `keep` asks for it back (a run that reuses labs hands it to a scenario).
pub async fn preflight(engine: &Engine, spec: LabSpec, keep: bool, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<Result<(Duration, Option<Lab>), Preflight>> {
    let run = spec.run_id.clone();
    let t0 = tokio::time::Instant::now();
    let lab = match Lab::up(engine.clone(), spec, progress).await {
        Ok(l) => l,
        Err(e) => {
            engine.sweep(Some(&run)).await.ok();
            return Err(e.context("preflight: bringing the lab up"));
        }
    };
    progress("waiting for steady state (the lab as the operators gave it, no fault)");
    if let Err(e) = lab.wait_booted_lab().await {
        lab.down().await.ok();
        return Err(e.context("preflight"));
    }
    let r = lab.wait_steady(STEADY_DEADLINE).await;
    let took = t0.elapsed();
    let kept = match (&r, keep) {
        (Ok(_), true) => Some(lab),
        _ => {
            lab.down().await.ok();
            None
        }
    };
    Ok(match r {
        Ok(_) => Ok((took, kept)),
        Err(e) => Err(Preflight {
            waited_ms: took.as_millis() as u64,
            failing: e.last.failing().iter().map(|c| format!("✗ {}: {} → {} (expected {})", c.name, c.query, c.observed, c.expected)).collect(),
            daemons: e.daemon_log,
        }),
    })
}


#[cfg(test)]
mod tests {
    use super::*;

    fn missed(daemon_log: Vec<String>) -> NotSteady {
        let failing = Check { name: "lab names via recursor", query: "every journal name".into(), expected: "NOERROR", observed: "1 of 21 fail: ns1. A → SERVFAIL".into(), ok: false };
        let held = Check { name: "authoritative SOA", query: "SOA".into(), expected: "NOERROR aa", observed: "NOERROR aa".into(), ok: true };
        NotSteady { waited: Duration::from_secs(45), last: SteadyReport { checks: vec![held, failing] }, daemon_log, crash_loop: false, down_for_good: vec![] }
    }

    const SHOWN: &str = "NRestarts=0\nId=pdns.service\nTriggeredBy=\nActiveState=active\nJob=\n\nNRestarts=4\nId=pdns-recursor.service\nTriggeredBy=\nActiveState=inactive\nJob=\n";

    #[test]
    fn units_are_read_per_block_and_down_for_good_needs_no_job_and_no_trigger() {
        let u = parse_units(SHOWN);
        assert_eq!(u.iter().map(|u| (u.unit.as_str(), u.restarts)).collect::<Vec<_>>(), [("pdns.service", 0), ("pdns-recursor.service", 4)]);
        assert!(!u[0].down_for_good());
        assert!(u[1].down_for_good());
        let queued = UnitNow { job: "80".into(), ..u[1].clone() };
        assert!(!queued.down_for_good(), "a start job is queued");
        let socket = UnitNow { triggered_by: "pdns-recursor.socket".into(), ..u[1].clone() };
        assert!(!socket.down_for_good(), "a socket would start it");
        let restarting = UnitNow { active: "activating".into(), ..u[1].clone() };
        assert!(!restarting.down_for_good(), "in auto-restart");
        assert!(UnitNow { active: "failed".into(), ..u[1].clone() }.down_for_good());
        assert!(parse_units("").is_empty());
    }

    #[test]
    fn a_loop_is_three_restarts_of_one_unit_since_the_first_reading_whatever_the_order() {
        let u = parse_units(SHOWN);
        let later: Vec<UnitNow> = u.iter().rev().map(|x| UnitNow { restarts: x.restarts + 2, ..x.clone() }).collect();
        assert!(!crash_looping(&u, &later), "two more restarts each");
        let looped: Vec<UnitNow> = u.iter().rev().map(|x| UnitNow { restarts: x.restarts + 3, ..x.clone() }).collect();
        assert!(crash_looping(&u, &looped));
        assert!(crash_looping(&[], &u), "not read at first: counted from 0 (pdns-recursor at 4)");
        assert!(!crash_looping(&u, &u));
    }

    #[test]
    fn a_wait_a_stopped_daemon_ended_says_so_where_it_is_judged() {
        let mut e = missed(vec!["pdns-recursor is inactive; no fatal or error line in its journal".into()]);
        e.waited = Duration::from_secs(4);
        e.down_for_good = vec!["pdns-recursor.service".into()];
        assert!(!e.daemons_up());
        let (observed, mismatch, severity) = e.after_recovery(Late::NotWatched, Duration::from_secs(5));
        assert!(observed.ends_with("(the wait ended at 4 s: pdns-recursor.service down with no job queued and nothing to start it)"), "{observed}");
        assert!(mismatch.contains("ended at 4 s"), "{mismatch}");
        assert_eq!(severity, None);
        assert!(e.to_string().starts_with("steady state not reached after 4.0 s (the wait ended there: pdns-recursor.service"), "{e}");
    }

    #[test]
    fn a_late_recovery_is_slower_not_failed_and_says_when_and_how_it_was_asked() {
        let e = missed(vec![]);
        assert!(e.daemons_up());
        let (observed, mismatch, back) = e.after_recovery(Late::Back(Duration::from_secs(15)), Duration::from_secs(5));
        assert_eq!(back, Some(Duration::from_secs(60)));
        assert!(mismatch.contains("only 60 s after the recovery") && mismatch.contains("every 5 s"), "{mismatch}");
        assert!(observed.contains("at 45 s: ✗ lab names via recursor") && observed.contains("SERVFAIL"), "{observed}");
    }

    #[test]
    fn a_recovery_that_never_came_back_is_not_late_but_missed() {
        let (observed, mismatch, back) = missed(vec![]).after_recovery(Late::StillFailing(Duration::from_secs(150)), Duration::from_secs(5));
        assert_eq!(back, None);
        assert!(mismatch.contains("still failing 195 s after the recovery"), "{mismatch}");
        assert!(observed.starts_with("✗ lab names via recursor"), "{observed}");
        // A daemon down is not watched: nothing was waited past the deadline.
        let down = missed(vec!["pdns is failed".into()]);
        assert!(!down.daemons_up());
        let (_, mismatch, back) = down.after_recovery(Late::NotWatched, Duration::from_secs(5));
        assert_eq!((mismatch.as_str(), back), ("steady state after recovery: ✗ lab names via recursor every journal name → 1 of 21 fail: ns1. A → SERVFAIL (expected NOERROR)", None));
        let looping = NotSteady { crash_loop: true, ..missed(vec![]) };
        assert!(!looping.daemons_up());
    }

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
    fn every_journal_name_once_with_its_first_askable_type() {
        let j = crate::inputs::zone::journal::Journal::load(&crate::testbed::config::default_zone().unwrap()).unwrap();
        let names = journal_names(&j);
        let distinct: std::collections::BTreeSet<&str> = j.entries.iter().map(|e| e.fqdn.as_str()).filter(|n| !n.starts_with('*')).collect();
        assert_eq!(names.len(), distinct.len(), "{names:?}");
        for (n, t) in &names {
            let first = j.entries.iter().find(|e| e.fqdn == *n).unwrap();
            assert_eq!(first.rtype, t.to_string(), "{n}");
        }
        assert!(names.iter().all(|(n, _)| !n.starts_with('*')));
    }

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
