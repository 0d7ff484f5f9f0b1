//! Chaos mode: random combinations of the scenarios' faults, each on a fresh lab, with the
//! runbook followed from the first triage as an operator would, and four properties held to
//! every run. A run that fails one is shrunk to the smallest sequence that still fails the
//! same way and written out as a scenario; that scenario is then run as `pdns-drill run` would,
//! to see whether it reproduces the failure.
//!
//! The campaign emits events and prints nothing: the CLI shows them and writes the report.
//!
//! - `generator`: seeded fault sequences (proptest strategies)
//! - `follow`: the runbook follower and its row → procedure table (`playbook.toml`)
//! - `run`: one run on a fresh lab, recorded as a history
//! - `properties`: the invariants, judged from a history
//! - `shrink`: minimising a failing sequence
//! - `reproducer`: a failing run as a scenario file, and whether a scenario run reproduces it
//! - `report`: md, json and junit

pub mod follow;
pub mod generator;
pub mod properties;
pub mod report;
pub mod reproducer;
pub mod run;
pub mod shrink;

use crate::claims::verdict::Verdict;
use crate::history::events::{Event, Job};
use crate::claims::Severity;
use crate::scenario::facts::LabFacts;
use anyhow::{anyhow, Result};
use generator::Drawn;
use properties::{Check, Property};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

/// What every lab of the campaign is built from (its `run_id` is the campaign's; each lab is
/// `<id>-NNN`), and where its files go.
#[derive(Clone)]
pub struct Inputs {
    pub lab: crate::runner::Inputs,
    /// The campaign's report directory (reproducers go to `chaos/` in it).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Run i uses seed `seed + i`.
    pub seed: u64,
    pub runs: Option<usize>,
    /// No run, shrink or verification starts after this much time.
    pub duration: Option<Duration>,
    pub max_faults: usize,
    /// Lab runs spent shrinking each new failure.
    pub shrink_runs: usize,
    /// Run each reproducer as a scenario to see whether it reproduces.
    pub verify: bool,
}

/// One campaign run with its properties judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub index: usize,
    pub run: run::ChaosRun,
    pub checks: BTreeMap<Property, Check>,
}

impl RunResult {
    /// The run in the claims' vocabulary: its properties decide, except that a run the harness
    /// could not carry out is errored and one the lab cannot take is not simulated, unless a
    /// property was contradicted all the same.
    pub fn judged(&self) -> (Verdict, Option<Severity>) {
        let (verdict, severity) = properties::judged_all(&self.checks);
        match (&self.run.error, &self.run.not_simulated) {
            // A contradiction, or a heal or teardown of the harness's that failed, stands.
            _ if verdict.rank() >= Verdict::Errored.rank() => (verdict, severity),
            (Some(_), _) => (Verdict::Errored, None),
            (None, Some(_)) => (Verdict::NotSimulated, None),
            (None, None) => (verdict, severity),
        }
    }
}

/// A reproducer scenario run as `pdns-drill run` runs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub reproduces: bool,
    /// The first mismatch (or error) of the scenario run.
    pub detail: String,
    pub lab_run_id: String,
    pub leftovers: Vec<String>,
}

/// The smallest failing sequence found for one way of failing one property.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reproducer {
    pub property: Property,
    pub signature: String,
    /// The campaign run that first failed this way.
    pub seed: u64,
    pub original: String,
    pub minimal: Vec<Drawn>,
    pub minimal_labels: String,
    /// The violation as the smallest failing run showed it.
    pub detail: String,
    pub shrink: shrink::Shrunk,
    /// Relative to the campaign directory.
    pub file: String,
    pub verified: Option<Verification>,
}

/// One lab run spent shrinking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShrinkRun {
    pub property: Property,
    /// The way of failing being shrunk.
    #[serde(default)]
    pub signature: String,
    pub seed: u64,
    pub faults: String,
    pub still_fails: bool,
    pub lab_run_id: String,
    pub leftovers: Option<Vec<String>>,
}

/// What a campaign records as it goes: the entries its report is folded from, each also told
/// to the caller as the events every job speaks ([`Record::events`]).
#[derive(Debug, Clone)]
pub enum Record {
    Planned { vocabulary: Vec<String>, not_simulated: Vec<String> },
    /// A lab run began: a campaign run, a shrink, a reproducer run as a scenario.
    Started { unit: String, about: String },
    Progress { unit: String, message: String },
    RunFinished(Box<RunResult>),
    ShrinkTried(Box<ShrinkRun>),
    Reproducer(Box<Reproducer>),
}

/// The unit names a campaign's events use.
fn run_unit(index: usize) -> String {
    format!("run {index}")
}
fn shrink_unit(p: Property, faults: &str) -> String {
    format!("shrink {}: {faults}", p.id())
}
fn reproducer_unit(p: Property, seed: u64) -> String {
    format!("reproducer {}-{seed}", p.id())
}

impl Record {
    /// The record as the events every job speaks, a unit's end judged in the claims'
    /// vocabulary; `dir` is the campaign's report directory (reproducers are files in it).
    pub fn events(&self, dir: &std::path::Path) -> Vec<Event> {
        let job = Job::Chaos;
        match self {
            Record::Planned { not_simulated, .. } => {
                not_simulated.iter().map(|n| Event::Note { job, message: format!("not simulated on this lab: {n}") }).collect()
            }
            Record::Started { unit, about } => vec![Event::UnitStarted { job, unit: unit.clone(), about: about.clone() }],
            Record::Progress { unit, message } => vec![Event::Progress { scenario: unit.clone(), message: message.clone() }],
            Record::RunFinished(r) => {
                let (verdict, severity) = r.judged();
                vec![Event::UnitFinished { job, unit: run_unit(r.index), verdict, severity, line: report::run_line(r) }]
            }
            Record::ShrinkTried(s) => {
                // The unit's claim is the property's violation: still failing contradicts again.
                // Passing, failing otherwise or undecided: the shrink did not reproduce it.
                let (verdict, severity) = if s.still_fails { s.property.violated(&s.signature) } else { (Verdict::Unchecked, None) };
                let line = format!("  shrink {}: {} → {}", s.property.id(), s.faults, if s.still_fails { "still fails" } else { "passes" });
                vec![Event::UnitFinished { job, unit: shrink_unit(s.property, &s.faults), verdict, severity, line }]
            }
            Record::Reproducer(r) => {
                let written = format!("  reproducer {} ({})", dir.join(&r.file).display(), r.minimal_labels);
                // Run as a scenario it is a unit; not run (--no-verify, the time up), a file.
                let Some(v) = &r.verified else { return vec![Event::Note { job, message: format!("{written}: not run as a scenario") }] };
                let (verdict, severity) = if v.reproduces { r.property.violated(&r.signature) } else { (Verdict::Unchecked, None) };
                let line = format!("{written}: as a scenario it {}", if v.reproduces { "reproduces" } else { "does not reproduce" });
                vec![Event::UnitFinished { job, unit: reproducer_unit(r.property, r.seed), verdict, severity, line }]
            }
        }
    }
}

struct Campaign<'a> {
    inputs: &'a Inputs,
    settings: &'a Settings,
    ctx: run::Ctx,
    events: &'a UnboundedSender<Record>,
    deadline: Option<Instant>,
    labs: usize,
}

impl Campaign<'_> {
    fn in_time(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() < d)
    }

    fn send(&self, e: Record) {
        let _ = self.events.send(e);
    }

    fn next_lab(&mut self) -> String {
        self.labs += 1;
        format!("{}-{:03}", self.inputs.lab.run_id, self.labs)
    }

    async fn run(&mut self, unit: String, seed: u64, seq: &[Drawn]) -> run::ChaosRun {
        let id = self.next_lab();
        self.send(Record::Started { unit: unit.clone(), about: format!("seed {seed}: {}", generator::labels(seq)) });
        let events = self.events.clone();
        let progress = move |m: &str| {
            let _ = events.send(Record::Progress { unit: unit.clone(), message: m.to_string() });
        };
        run::run(&self.ctx, seed, seq, &id, &progress).await
    }

    /// Shrinks `failed` for `property`, writes the reproducer and runs it as a scenario.
    async fn reproduce(&mut self, property: Property, signature: &str, failed: &run::ChaosRun) -> Result<Reproducer> {
        let mut best = failed.clone();
        let mut sh = shrink::Shrinker::new(failed.faults.clone(), self.settings.shrink_runs);
        while let Some(c) = sh.candidate() {
            if !self.in_time() {
                break;
            }
            let r = self.run(shrink_unit(property, &generator::labels(&c)), failed.seed, &c).await;
            let still_fails = properties::check(property, &r).signature() == Some(signature);
            self.send(Record::ShrinkTried(Box::new(ShrinkRun {
                property,
                signature: signature.to_string(),
                seed: failed.seed,
                faults: generator::labels(&c),
                still_fails,
                lab_run_id: r.lab_run_id.clone(),
                leftovers: r.leftovers.clone(),
            })));
            if still_fails {
                best = r;
            }
            sh.report(&c, still_fails);
        }
        let shrunk = sh.finish();
        let detail = match properties::check(property, &best) {
            Check::Violated { detail, .. } => detail,
            _ => String::new(),
        };
        let book = follow::Playbook::shipped();
        let scenario = reproducer::scenario(property, &best, &book, &self.ctx.facts);
        let file = format!("chaos/{}-{}.toml", property.id(), failed.seed);
        let header = vec![
            format!("pdns-drill chaos reproducer: property {} ({signature})", property.id()),
            property.statement().to_string(),
            format!("first seen in campaign {} run seed {}: {}", self.inputs.lab.run_id, failed.seed, failed.labels),
            format!(
                "shrunk to: {} ({} lab run(s) tried, {})",
                best.labels,
                shrunk.tried.len(),
                if shrunk.minimal { "no smaller variant fails" } else { "shrinking stopped by its budget or the campaign's time" }
            ),
            format!("violation: {}", crate::text::trim_chars(&detail, 600)),
            format!(
                "replay the original run: pdns-drill chaos --seed {} --runs 1 --max-faults {} --config-dir {} --zone {}",
                failed.seed,
                self.settings.max_faults,
                self.inputs.lab.config.path.display(),
                self.inputs.lab.zone.path.display()
            ),
            format!("run this file: pdns-drill run --scenarios {} {}", self.inputs.dir.join("chaos").display(), scenario.name),
        ];
        let text = reproducer::render(&scenario, &header)?;
        let path = self.inputs.dir.join(&file);
        std::fs::create_dir_all(path.parent().expect("chaos/ has a parent"))?;
        crate::files::write_atomic(&path, text.as_bytes()).map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
        let verified = if self.settings.verify && self.in_time() { Some(self.verify(property, failed.seed, &scenario).await) } else { None };
        Ok(Reproducer {
            property,
            signature: signature.to_string(),
            seed: failed.seed,
            original: failed.labels.clone(),
            minimal: best.faults.clone(),
            minimal_labels: best.labels.clone(),
            detail,
            shrink: shrunk,
            file,
            verified,
        })
    }

    /// The reproducer run by the scenario runner, exactly as `pdns-drill run` runs it.
    async fn verify(&mut self, property: Property, seed: u64, s: &crate::scenario::Scenario) -> Verification {
        self.labs += 1;
        let inputs = crate::runner::Inputs { run_id: format!("{}-verify", self.inputs.lab.run_id), keep_on_failure: false, ..self.inputs.lab.clone() };
        self.send(Record::Started { unit: reproducer_unit(property, seed), about: format!("the reproducer {} run as a scenario", s.name) });
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let planned = (s.clone(), crate::scenario::plan::resolve(s, &self.ctx.facts));
        let r = crate::runner::run_scenario(&inputs, self.labs, &planned, &tx).await;
        let (reproduces, detail) = reproducer::reproduces(property, &r);
        let leftovers = run::leftovers(&self.inputs.lab.engine, &r.lab_run_id).await.unwrap_or_else(|e| vec![format!("could not list: {e:#}")]);
        Verification { reproduces, detail, lab_run_id: r.lab_run_id, leftovers }
    }
}

/// Runs a campaign. Err: the inputs do not fit (no fault plannable, a playbook this lab cannot
/// fill), or a reproducer could not be written.
pub async fn campaign(inputs: Inputs, settings: Settings, events: UnboundedSender<Record>) -> Result<()> {
    let facts = LabFacts::read(&inputs.lab.config, &inputs.lab.zone.journal)?;
    let playbook = follow::Playbook::shipped().resolve(&facts).map_err(|e| anyhow!("the runbook playbook does not fit this lab: {e}"))?;
    let (vocab, not) = generator::vocabulary(&facts);
    anyhow::ensure!(!vocab.is_empty(), "this lab can take none of the chaos faults: {}", not.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>().join("; "));
    let _ = events.send(Record::Planned {
        vocabulary: vocab.iter().map(|f| f.label()).collect(),
        not_simulated: not.iter().map(|(f, why)| format!("{}: {why}", f.label())).collect(),
    });
    let ctx = run::Ctx { lab: inputs.lab.clone(), facts, playbook };
    let mut c = Campaign { inputs: &inputs, settings: &settings, ctx, events: &events, deadline: settings.duration.map(|d| Instant::now() + d), labs: 0 };
    let mut reproduced: BTreeSet<(Property, String)> = BTreeSet::new();
    for index in 0usize.. {
        if settings.runs.is_some_and(|n| index >= n) || !c.in_time() {
            break;
        }
        let seed = settings.seed.wrapping_add(index as u64);
        let seq = generator::draw(seed, &vocab, settings.max_faults);
        let run = c.run(run_unit(index), seed, &seq).await;
        let checks = properties::check_all(&run);
        c.send(Record::RunFinished(Box::new(RunResult { index, run: run.clone(), checks: checks.clone() })));
        for (p, check) in &checks {
            let Some(sig) = check.signature() else { continue };
            if reproduced.insert((*p, sig.to_string())) {
                let r = c.reproduce(*p, sig, &run).await?;
                c.send(Record::Reproducer(Box::new(r)));
            }
        }
    }
    Ok(())
}
