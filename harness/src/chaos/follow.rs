//! The runbook followed as an operator would: the first triage, the row it lands on, that row's
//! checks and recovery (the playbook, `playbook.toml`), the triage again, up to a bound. The
//! path (rows, commands, outputs, how it ended) is recorded; nothing here judges a property.

use crate::claims::ClaimId;
use crate::runner::matcher::{self, Observed};
use crate::dns::probe::{self, Outcome, Query, RType, Rcode};
use crate::scenario::facts::LabFacts;
use crate::scenario::plan;
use crate::scenario::{Action, Step};
use crate::testbed::{Lab, Role};
use crate::dns::triage;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How many times the operator goes round triage → procedure before calling it a dead end.
pub const MAX_ROUNDS: usize = 3;
/// How long steady state may take to return after a procedure: the runner's bound for the
/// steady state after recovery, so a reproducer run as a scenario is judged the same way.
pub const RECOVERY_BOUND: Duration = crate::runner::STEADY_AFTER_DEADLINE;

/// One row's procedure, citing the runbook section it comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    pub row: String,
    pub section: String,
    pub claims: Vec<ClaimId>,
    pub note: String,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    /// Rows whose steps follow this row's own.
    #[serde(default, rename = "and-then")]
    pub and_then: Vec<String>,
}

/// The row → procedure table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    #[serde(rename = "row")]
    pub plays: Vec<Play>,
}

impl Playbook {
    pub fn shipped() -> Playbook {
        toml::from_str(include_str!("playbook.toml")).expect("playbook.toml parses")
    }

    pub fn play(&self, row: &str) -> Option<&Play> {
        self.plays.iter().find(|p| p.row == row)
    }

    /// Every step an operator runs on `row`, `and-then` rows included.
    pub fn steps(&self, row: &str) -> Vec<Step> {
        let Some(p) = self.play(row) else { return vec![] };
        let mut out = p.steps.clone();
        for r in &p.and_then {
            out.extend(self.play(r).map(|q| q.steps.clone()).unwrap_or_default());
        }
        out
    }

    /// Every string of every step mapped by `f` (placeholders filled, addresses bound).
    fn map(&self, f: &dyn Fn(&str) -> Result<String, String>) -> Result<Playbook, String> {
        let mut v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        plan::map_strings(&mut v, f)?;
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// The lab's facts filled in; Err names what the lab lacks.
    pub fn resolve(&self, facts: &LabFacts) -> Result<Playbook, String> {
        self.map(&|t| plan::fill_facts(t, facts))
    }

    /// Addresses moved onto this lab.
    pub fn bind(&self, lab: &Lab) -> Playbook {
        self.map(&|t| Ok(lab.bind_text(t))).expect("binding cannot fail")
    }
}

/// One command as the follower ran it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub on: String,
    pub command: String,
    pub output: String,
    /// Whether the step's own expectation held (its verification), when it has one.
    pub held: Option<bool>,
    pub at_ms: u64,
}

/// What one triage showed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriageSeen {
    /// `TRI-n`, or `unknown` when the table has no row for it.
    pub row: String,
    /// The four columns, e.g. `recursor=no reply auth=ok ping=ok libvirt=running`.
    pub observation: String,
    /// Lab names that did not resolve through the recursor right after this triage.
    pub lab_names_failing: Vec<String>,
    pub lab_names_asked: usize,
    pub at_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Round {
    pub triage: TriageSeen,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum End {
    /// Steady state held after `rounds` procedures (0: it held at the first triage).
    Restored { rounds: usize, at_ms: u64 },
    /// The runbook led nowhere: the last row, why the follower stopped, what still fails.
    DeadEnd { row: String, reason: String, still_failing: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Path {
    pub rounds: Vec<Round>,
    pub end: End,
}

impl Path {
    /// Rows visited, in order.
    pub fn rows(&self) -> Vec<String> {
        self.rounds.iter().map(|r| r.triage.row.clone()).collect()
    }
}

/// Follows the runbook on `lab` from its first triage. Err: the harness could not.
pub async fn follow(lab: &Lab, book: &Playbook, t0: Instant) -> Result<Path> {
    let names = lab_names(lab);
    let ms = || t0.elapsed().as_millis() as u64;
    let mut rounds: Vec<Round> = Vec::new();
    for n in 1..=MAX_ROUNDS {
        let t = crate::testbed::triage_probes::in_lab(lab).await?;
        let failing = failing_names(lab, &names).await;
        let o = &t.result.observation;
        let seen = TriageSeen {
            row: triage::row_id(t.result.row).to_string(),
            observation: format!("recursor={} auth={} ping={} libvirt={}", o.recursor.label(), o.auth.label(), o.ping.label(), o.vm),
            lab_names_failing: failing,
            lab_names_asked: names.len(),
            at_ms: ms(),
        };
        let row = seen.row.clone();
        let same_as_before = rounds.last().is_some_and(|r| r.triage.observation == seen.observation);
        rounds.push(Round { triage: seen, steps: vec![] });
        let steps = book.steps(&row);
        if steps.is_empty() || same_as_before {
            let steady = crate::testbed::steady::check(lab, crate::testbed::steady::Scope::EveryName).await;
            if steady.ok() {
                return Ok(Path { rounds, end: End::Restored { rounds: n - 1, at_ms: ms() } });
            }
            let reason = if same_as_before {
                format!("{row} again after its procedure, with the same four probes: repeating it changes nothing")
            } else if row == "unknown" {
                "pattern not in the runbook: the table has no row for these four probes".to_string()
            } else {
                format!("{row}: the runbook sends the operator elsewhere, yet steady state does not hold")
            };
            return Ok(Path { rounds, end: End::DeadEnd { row, reason, still_failing: still_failing(lab, &steady).await } });
        }
        for st in &steps {
            let rec = run_step(lab, st, t0).await?;
            rounds.last_mut().expect("pushed above").steps.push(rec);
        }
        if lab.wait_steady_after(RECOVERY_BOUND).await.is_ok() {
            return Ok(Path { rounds, end: End::Restored { rounds: n, at_ms: ms() } });
        }
    }
    let steady = crate::testbed::steady::check(lab, crate::testbed::steady::Scope::EveryName).await;
    let row = rounds.last().map(|r| r.triage.row.clone()).unwrap_or_default();
    let reason = format!("{MAX_ROUNDS} rounds of triage and procedure without steady state");
    Ok(Path { rounds, end: End::DeadEnd { row, reason, still_failing: still_failing(lab, &steady).await } })
}

/// The failing steady-state checks, then each daemon that is not running and why.
pub async fn still_failing(lab: &Lab, steady: &crate::testbed::steady::SteadyReport) -> Vec<String> {
    let mut out: Vec<String> = steady.failing().iter().map(|c| format!("✗ {}: {} → {}", c.name, c.query, c.observed)).collect();
    out.extend(crate::testbed::steady::inactive_units(lab).await);
    out
}

/// The journal's names with the type they are asked by (wildcards left out).
fn lab_names(lab: &Lab) -> Vec<(String, RType)> {
    let mut out: Vec<(String, RType)> = Vec::new();
    for e in &lab.spec.zone.journal.entries {
        let Ok(t) = e.rtype.parse::<RType>() else { continue };
        if e.fqdn.starts_with('*') || out.iter().any(|(n, _)| *n == e.fqdn) {
            continue;
        }
        out.push((e.fqdn.clone(), t));
    }
    out
}

/// Lab names the recursor does not answer with data, asked side by side.
async fn failing_names(lab: &Lab, names: &[(String, RType)]) -> Vec<String> {
    let server = SocketAddr::from((lab.plan.recursor, 53));
    let asks = names.iter().map(|(n, t)| async move {
        let q = Query::udp(server, n, *t).with_timeout(Duration::from_secs(2));
        let o = probe::probe(&q).await;
        let ok = matches!(&o, Outcome::Response(r) if r.rcode == Rcode::NoError && !r.answers.is_empty());
        (!ok).then(|| format!("{n} {}: {}", t.as_str(), o.summary()))
    });
    futures_util::future::join_all(asks).await.into_iter().flatten().collect()
}

/// Runs one playbook step, polling its expectation for `within` as a scenario's step is polled.
/// Only the kinds the playbook uses: a shell line, and starting the VM.
async fn run_step(lab: &Lab, st: &Step, t0: Instant) -> Result<StepRecord> {
    let window = crate::runner::Window::open(st);
    loop {
        let (on, command, observed) = match &st.action {
            Action::Run { command, on, user } => {
                let (command, out) = crate::runner::run_as_written(lab, command, *on, user.as_deref()).await?;
                crate::runner::exec_failed(&command, &out)?;
                (on.as_str().to_string(), command, Observed::Exec(out))
            }
            Action::StartVm => {
                lab.engine.start(&lab.name(Role::PdnsVm)).await?;
                lab.wait_booted(Role::PdnsVm).await?;
                ("harness".to_string(), "action: start-vm".to_string(), Observed::Done)
            }
            other => bail!("the follower runs `run` and `action = \"start-vm\"` steps only: {other:?}"),
        };
        let verdict = matcher::check(&st.expect, &observed);
        if verdict.is_ok() || window.over() {
            let output = match &observed {
                Observed::Exec(x) => x.summary(600),
                _ => "done".into(),
            };
            let held = (!st.expect.is_empty()).then_some(verdict.is_ok());
            let command = match &st.note {
                Some(n) => format!("{command}  # {n}"),
                None => command,
            };
            return Ok(StepRecord { on, command, output, held, at_ms: t0.elapsed().as_millis() as u64 });
        }
        window.next().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn every_row_has_a_play_citing_its_section() {
        let book = Playbook::shipped();
        for r in triage::Row::ALL {
            let p = book.play(r.id()).unwrap_or_else(|| panic!("no play for {}", r.id()));
            assert!(!p.section.is_empty() && !p.claims.is_empty(), "{}", r.id());
        }
        assert!(book.steps("TRI-1").is_empty(), "TRI-1 sends the operator elsewhere");
        assert!(book.steps("unknown").is_empty());
        let tri4 = book.steps("TRI-4");
        assert!(tri4.len() > book.steps("TRI-3").len() + book.steps("TRI-2").len(), "TRI-4 runs its own steps, then both daemon procedures");
    }

    #[test]
    fn play_steps_are_scenario_steps_with_known_placeholders() {
        let book = Playbook::shipped();
        for p in &book.plays {
            let mut s = Scenario::parse("x.toml", "name = \"x\"\nsection = \"x\"\nclaims = [\"TRI-1\"]\n[[fault]]\nkind = \"stop-vm\"\n").unwrap();
            s.claims = p.claims.clone();
            s.recovery = book.steps(&p.row);
            super::super::reproducer::fit_parts(&mut s);
            let text = toml::to_string(&s).unwrap();
            Scenario::parse(&format!("playbook {}", p.row), &text).unwrap_or_else(|e| panic!("{e}"));
        }
        let c = crate::testbed::config::ConfigDir::load(&crate::testbed::config::default_config_dir().unwrap()).unwrap();
        let j = crate::inputs::zone::journal::Journal::load(&crate::testbed::config::default_zone().unwrap()).unwrap();
        let facts = LabFacts::read(&c, &j).unwrap();
        let r = book.resolve(&facts).unwrap();
        let cmds: Vec<String> = r
            .steps("TRI-3")
            .into_iter()
            .filter_map(|s| match s.action {
                Action::Run { command, .. } => Some(command),
                _ => None,
            })
            .collect();
        assert!(cmds.iter().any(|c| c == "ls -l /var/lib/powerdns/pdns.sqlite3"), "{cmds:?}");
    }
}
