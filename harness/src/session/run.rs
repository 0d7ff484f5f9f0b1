//! `run` as the library does it. Before Docker: the scenarios chosen, the baseline read, each
//! scenario planned against the operators' lab ([`Plan::new`]). Then on a [`Session`]: the
//! preflight, the scenarios scheduled, every event handed to the caller and kept in the run
//! directory, the verdicts and the gate decided, the artefacts written ([`Plan::run`]). Prints
//! nothing: the caller hears [`Notice`]s and gets a [`Finished`].

use super::{Scheduling, Session, Stopped};
use crate::history::events::Event;
use crate::history::{RunInfo, ScenarioInfo};
use crate::inputs::secrets::Secrets;
use crate::judge::gate::Baseline;
use crate::judge::model::{GateOutcome, Preflight};
use crate::report::partial::PartialReports;
use crate::report::run_dir::{self, RunDir, Written};
use crate::report::write::Format;
use crate::runner::scheduler;
use crate::scenario::partition::Partition;
use crate::scenario::plan::{self, Resolved};
use crate::scenario::selection::Selection;
use crate::scenario::{self, Scenario};
use crate::testbed::config::{ConfigDir, ZoneInput};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where reports go without a report dir: a directory per run, and `latest` beside them.
pub const DEFAULT_REPORT_DIR: &str = "reports";

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    pub scenarios_dir: PathBuf,
    /// Scenario names or claim IDs (substring match); none: all.
    pub filters: Vec<String>,
    /// This run's share of the selection, for a CI matrix.
    pub partition: Option<Partition>,
    pub baseline: Option<PathBuf>,
    /// Where the queue's wall times come from; None: the newest default run's history, else
    /// the scenarios directory's durations.
    pub durations_from: Option<PathBuf>,
    pub shuffle: Option<u64>,
    pub formats: Vec<Format>,
    /// None: `reports/<run id>/`, with `reports/latest` pointing at it.
    pub report_dir: Option<PathBuf>,
    /// The lab image's release, as the run info names it.
    pub suite: String,
    /// Labs alive at once, wanted (the engine's address pools may cap it).
    pub jobs: usize,
    /// Lab boots at once.
    pub boots: usize,
    pub fresh_labs: bool,
    pub keep_on_failure: bool,
}

/// A run planned before any container starts.
pub struct Plan {
    request: Request,
    pub chosen: Selection,
    /// Each scenario of this run, and what it is on this lab (ready, or why not).
    pub planned: Vec<(Scenario, Resolved)>,
    baseline: Option<Baseline>,
    walls: HashMap<String, u64>,
    walls_from: String,
    /// The operators' secrets, masked in everything the run says and writes.
    pub secrets: Secrets,
}

/// What a run says while it goes on (the preflight's own progress goes to its `say`).
pub enum Notice<'a> {
    /// The preflight ended (whatever its finding).
    PreflightEnded,
    /// A line for the log.
    Line(String),
    /// A scenario's event, secrets masked: what every reporter shows.
    Event(&'a Event),
}

/// How a run ended.
pub enum Finished {
    /// The gate decided; the report as written.
    Gated(Written),
    /// The lab does not reach steady state on its own: the short report, no scenario run.
    PreflightFailed(Written),
    /// A signal stopped it; its partial reports (marked incomplete) are in `dir`, or could not
    /// be written (why).
    Stopped { stopped: Stopped, in_preflight: bool, partial: Result<PathBuf, String> },
    /// The engine or the harness failed: nothing decided, a retry may help. `troubles`: what
    /// could not be cleaned up or written on the way out.
    Undecided { why: String, code: u8, troubles: Vec<String> },
}

impl Plan {
    /// Everything that can be wrong with the input, found before Docker: the scenario files,
    /// the selection, the baseline, the durations file, the lab's facts.
    pub fn new(request: Request, config: &ConfigDir, zone: &ZoneInput) -> Result<Plan> {
        let all = scenario::load_dir(&request.scenarios_dir)?;
        let Some(chosen) = Selection::choose(&all, &request.filters, request.partition) else {
            bail!("no scenario matches {:?} (see `pdns-drill list`)", request.filters);
        };
        let baseline = request.baseline.as_deref().map(Baseline::load).transpose()?;
        let (walls, walls_from) = match &request.durations_from {
            Some(p) => (scheduler::walls_in(p).context("--durations-from")?, p.display().to_string()),
            None if request.shuffle.is_some() => Default::default(),
            None => [Path::new(DEFAULT_REPORT_DIR).join("latest/history.json"), request.scenarios_dir.join(scheduler::DURATIONS_FILE)]
                .into_iter()
                .find_map(|p| Some((scheduler::walls_in(&p).ok()?, p.display().to_string())))
                .unwrap_or_default(),
        };
        let secrets = Secrets::from_dir(&config.path);
        let facts = crate::scenario::facts::LabFacts::read(config, &zone.journal)?;
        let planned = chosen.selected.iter().map(|s| (s.clone(), plan::resolve(s, &facts))).collect();
        Ok(Plan { request, chosen, planned, baseline, walls, walls_from, secrets })
    }

    /// Each scenario this lab cannot run, and why (secrets masked).
    pub fn not_simulated(&self) -> Vec<String> {
        let why = |r: &Resolved| match r {
            Resolved::NotSimulated(why) => Some(self.secrets.text(why)),
            Resolved::Ready(_) => None,
        };
        self.planned.iter().filter_map(|(s, r)| Some(format!("{} not-simulated on this lab: {}", s.name, why(r)?))).collect()
    }

    /// The preflight's lab reset and proven clean for the scenarios (see
    /// [`crate::runner::from_preflight`]); what became of it goes into the run info, and is said
    /// when a scenario must boot another instead.
    async fn pool_preflight_lab(&self, session: &Session, lab: crate::testbed::Lab, partial: &mut PartialReports, notice: &mut impl FnMut(Notice)) -> Result<Option<crate::testbed::pool::Pooled>, Stopped> {
        notice(Notice::Line("preflight: resetting its lab for the scenarios and comparing its fingerprint with the pristine one".into()));
        let (ready, after) = session.until_stopped(crate::runner::from_preflight(lab)).await?;
        let why = match &after {
            crate::history::LabAfter::Discarded { differences, .. } => Some(format!("it differs after a reset: {}", differences.join("; "))),
            crate::history::LabAfter::Removed { why } => Some(why.clone()),
            _ => None,
        };
        if let Some(why) = why {
            notice(Notice::Line(self.secrets.text(&format!("preflight: its lab is not reused, a scenario boots another: {why}"))));
        }
        partial.run.preflight_lab = Some(after);
        Ok(ready)
    }

    /// Runs the plan on `session`: from here on a failure of the engine or the harness leaves
    /// the gate undecided, and a signal stops it with the labs removed and partial reports.
    pub async fn run(self, session: &Session, preflight_say: &(dyn Fn(&str) + Sync), mut notice: impl FnMut(Notice)) -> Result<Finished> {
        let (config, zone) = (&session.config, &session.zone);
        let run_id = crate::testbed::new_run_id();
        let dir = match &self.request.report_dir {
            Some(d) => d.clone(),
            None => Path::new(DEFAULT_REPORT_DIR).join(&run_id),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if self.request.report_dir.is_none() {
            run_dir::link_latest(&dir)?;
        }
        let chosen = &self.chosen;
        let info = RunInfo {
            id: run_id.clone(),
            started_at: crate::clock::now(),
            finished_at: None,
            complete: false,
            image_tag: session.image.clone(),
            suite: self.request.suite.clone(),
            pdns_version: None,
            recursor_version: None,
            config_dir: config.path.display().to_string(),
            config_dir_hash: config.hash.clone(),
            zone_file: zone.path.display().to_string(),
            zone_hash: zone.hash.clone(),
            dropins: vec![],
            filters: self.request.filters.clone(),
            mappings: crate::testbed::mapping::describe(config),
            tool: crate::history::tool_version(),
            partition: self.request.partition.map(|p| p.to_string()),
            selection: chosen.wanted.iter().map(|s| s.name.clone()).collect(),
            scope: chosen.scope.clone().map(|s| s.into_iter().collect()),
            selection_scope: chosen.selection_scope.clone().map(|s| s.into_iter().collect()),
            preflight_lab: None,
        };
        let mut partial = PartialReports {
            out: RunDir { path: dir.clone(), formats: self.request.formats.clone(), secrets: self.secrets.clone() },
            run: info,
            finished: vec![],
            planned: self.planned.iter().map(|(s, _)| ScenarioInfo::new(s, Vec::new())).collect(),
        };
        let baseline = self.baseline.as_ref();

        // The operators' lab must stand on its own before any fault is judged on it.
        // When labs are reused, the preflight's lab serves the scenarios too: one boot fewer.
        let reuse = !self.request.fresh_labs;
        let pre = session.preflight(&format!("{run_id}-00"), reuse, &|m: &str| preflight_say(&self.secrets.text(m))).await;
        notice(Notice::PreflightEnded);
        let kept = match pre {
            Err(stopped) => return Ok(stopped_in_preflight(&partial, baseline, stopped, dir)),
            Ok(Ok(Ok((t, kept)))) => {
                notice(Notice::Line(format!("preflight: the lab reached steady state in {:.1} s", t.as_secs_f64())));
                kept
            }
            Ok(Ok(Err(p))) => return preflight_failed(&partial, baseline, p).map(Finished::PreflightFailed),
            Ok(Err(e)) => return Ok(undecided(session, &partial, baseline, &format!("{:#}", e.context("the preflight could not run"))).await),
        };
        let ready = match kept {
            Some(lab) => match self.pool_preflight_lab(session, lab, &mut partial, &mut notice).await {
                Ok(ready) => ready,
                Err(stopped) => return Ok(stopped_in_preflight(&partial, baseline, stopped, dir)),
            },
            None => None,
        };

        // The scenarios, scheduled by resource: boots limited, longest waits first.
        let cap = session.capacity(self.request.jobs, usize::from(ready.is_some())).await;
        cap.notes.iter().for_each(|n| notice(Notice::Line(n.clone())));
        if cap.labs == 0 {
            // `undecided` removes every lab of this process, the preflight's too.
            return Ok(undecided(session, &partial, baseline, &cap.notes.join("; ")).await);
        }
        let (jobs, boots) = (cap.labs, self.request.boots.max(1));
        let planned = &self.planned;
        let share = self.request.partition.map(|p| format!(" (share {p} of {} selected)", chosen.wanted.len())).unwrap_or_default();
        notice(Notice::Line(format!("run {run_id}: {} scenario(s){share}, {jobs} at a time, {boots} lab boot(s) at a time; reports in {}", planned.len(), dir.display())));
        notice(Notice::Event(&Event::RunStarted { run_id: run_id.clone(), scenarios: planned.len(), jobs, boots, report_dir: dir.display().to_string() }));
        if self.request.shuffle.is_none() {
            let known = planned.iter().filter(|p| self.walls.contains_key(&p.0.name)).count();
            notice(Notice::Line(format!("order: longest first, {known} of {} by how long they held a lab before ({}), the rest by their own waits", planned.len(), self.walls_from)));
        }
        let order = scheduler::queue(planned, |name| chosen.number(name), self.request.shuffle, &self.walls);
        let how = Scheduling { jobs, boots, fresh_labs: self.request.fresh_labs, keep_on_failure: self.request.keep_on_failure };
        let followed = session
            .run_scenarios(&run_id, order, &how, ready, |ev: Event| {
                // Secrets are masked once, here: every reporter and the history get the same.
                let ev = ev.redacted(&self.secrets);
                notice(Notice::Event(&ev));
                if let Err(e) = partial.event(&ev) {
                    notice(Notice::Line(format!("could not write the partial reports (the run goes on): {e:#}")));
                }
            })
            .await;
        let finished = match followed {
            Ok(f) => f,
            Err(stopped) => {
                notice(Notice::Event(&Event::Interrupted { signal: stopped.signal.name().into() }));
                let partial = interrupted(&partial, baseline, &stopped).map(|_| dir);
                return Ok(Finished::Stopped { stopped, in_preflight: false, partial });
            }
        };
        if let Err(e) = finished {
            return Ok(undecided(session, &partial, baseline, &format!("the scenario runner failed: {e}")).await);
        }

        // The verdicts and the gate, then every artefact. Report order follows the files.
        partial.finished.sort_by_key(|r| chosen.rank(&r.scenario.name));
        let mut report = crate::judge::conclude::report(partial.info(true), &partial.finished);
        report.gate = Some(crate::judge::gate::decide(&report, &partial.finished, baseline, chosen.scope.as_ref()));
        partial.write_report(&report).map(Finished::Gated)
    }
}

/// A signal during the preflight (or while its lab was made ready for the scenarios): the
/// reports say interrupted.
fn stopped_in_preflight(partial: &PartialReports, baseline: Option<&Baseline>, stopped: Stopped, dir: PathBuf) -> Finished {
    let partial = interrupted(partial, baseline, &stopped).map(|_| dir);
    Finished::Stopped { stopped, in_preflight: true, partial }
}

/// The gate's finding when the lab does not reach steady state on its own: one short report,
/// the failing checks and the daemons' reasons, no scenario run.
fn preflight_failed(partial: &PartialReports, baseline: Option<&Baseline>, p: Preflight) -> Result<Written> {
    let mut report = crate::judge::conclude::preflight_report(partial.info(true), p);
    report.gate = Some(crate::judge::gate::decide(&report, &[], baseline, None));
    partial.write_report(&report)
}

/// The partial reports of a run that did not finish, marked incomplete, with its gate.
fn write_unfinished(partial: &PartialReports, baseline: Option<&Baseline>, outcome: GateOutcome, code: u8, why: String) -> Result<Written> {
    let mut report = crate::judge::conclude::report(partial.info(false), &partial.finished);
    report.gate = Some(crate::judge::gate::unfinished(&report, baseline, outcome, code, why));
    partial.write_report(&report)
}

/// A run stopped by a signal: the partial reports, marked incomplete, with an interrupted gate.
fn interrupted(partial: &PartialReports, baseline: Option<&Baseline>, s: &Stopped) -> Result<(), String> {
    let why = format!("stopped by {} before every scenario finished; the reports are partial", s.signal.name());
    write_unfinished(partial, baseline, GateOutcome::Interrupted, s.signal.exit_code(), why).map(|_| ()).map_err(|e| format!("{e:#}"))
}

/// Nothing decided: whatever the run created is removed and the reports say undecided.
async fn undecided(session: &Session, partial: &PartialReports, baseline: Option<&Baseline>, why: &str) -> Finished {
    let mut troubles = Vec::new();
    if let Err(e) = session.sweep_mine().await {
        troubles.push(format!("{e:#}"));
    }
    let why = partial.out.secrets.text(why);
    let code = GateOutcome::Undecided.exit_code();
    if let Err(e) = write_unfinished(partial, baseline, GateOutcome::Undecided, code, format!("the harness could not finish the run: {why}")) {
        troubles.push(format!("could not write the reports: {e:#}"));
    }
    Finished::Undecided { why, code, troubles }
}
