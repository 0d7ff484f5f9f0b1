//! `pdns-drill run`, in the order it happens: inputs checked, scenarios planned against the lab
//! (and this shard's share taken), the preflight, the scenarios scheduled (longest waits first,
//! boots limited), their events handed to the reporters, the verdicts and the gate decided, the
//! artefacts written, the exit code.
//!
//! Exit codes: 2 before any container starts (bad input, no Docker, no image); after that the
//! gate's (0 pass, 1 fail, 3 undecided), 130/143/129 for a signal.

use super::reporters::{Bars, JsonLines, Lines, Progress, Reporter};
use pdns_drill::report::partial::PartialReports;
use super::{connect_session, load_inputs, print_verdicts, spinner, stopped, RunArgs};
use anyhow::{bail, Context, Result};
use pdns_drill::history::events::Event;
use pdns_drill::judge::gate::Baseline;
use pdns_drill::judge::model::{GateOutcome, Report, RunInfo};
use pdns_drill::report::run_dir::{self, RunDir, Written};
use pdns_drill::report::write;
use pdns_drill::scenario::selection::Selection;
use pdns_drill::scenario::plan::{self, Resolved};
use pdns_drill::scenario::{self, Scenario};
use pdns_drill::session::{Scheduling, Session};
use pdns_drill::testbed;
use std::process::ExitCode;

/// Labs alive at once by default: each is four small containers, mostly idle while a scenario
/// waits on the daemons (the boots are what is limited). With the image's binaries off FUSE the
/// suite no longer fills two cores at 8 (measured on lab/: 8 → 169 s, 12 → 134 s, 16 → 122 s,
/// about 200 busy CPU-s each): the long waits (TTLs, recovery deadlines) overlap instead.
const AUTO_JOBS: usize = 16;

/// Where reports go without `--report-dir`: a directory per run, and `latest` beside them.
pub const DEFAULT_REPORT_DIR: &str = "reports";

pub async fn run(a: &RunArgs) -> Result<ExitCode> {
    // 1. Everything that can be wrong with the input is found before any container starts.
    let formats = write::parse_formats(&a.format).map_err(anyhow::Error::msg)?;
    let scenarios_dir = pdns_drill::testbed::config::scenarios_dir(&a.scenarios);
    let all = scenario::load_dir(&scenarios_dir)?;
    let Some(chosen) = Selection::choose(&all, &a.filters, a.partition) else {
        bail!("no scenario matches {:?} (see `pdns-drill list`)", a.filters);
    };
    let (wanted, selected) = (&chosen.wanted, &chosen.selected);
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    // Measured wall times order the queue: the file named, else the newest default run's
    // history, else the durations the scenarios directory carries.
    let (walls, walls_from) = match &a.durations_from {
        Some(p) => (pdns_drill::runner::scheduler::walls_in(p).context("--durations-from")?, p.display().to_string()),
        None if a.shuffle.is_some() => Default::default(),
        None => {
            [std::path::Path::new(DEFAULT_REPORT_DIR).join("latest/history.json"), scenarios_dir.join(pdns_drill::runner::scheduler::DURATIONS_FILE)]
                .into_iter()
                .find_map(|p| Some((pdns_drill::runner::scheduler::walls_in(&p).ok()?, p.display().to_string())))
                .unwrap_or_default()
        }
    };
    let (config, zone) = load_inputs(&a.lab)?;
    let secrets = pdns_drill::inputs::secrets::Secrets::from_dir(&config.path);

    // 2. Each scenario resolved against this lab once.
    let facts = pdns_drill::scenario::facts::LabFacts::read(&config, &zone.journal)?;
    let planned: Vec<(Scenario, Resolved)> = selected.iter().map(|s| (s.clone(), plan::resolve(s, &facts))).collect();
    for (s, r) in &planned {
        if let Resolved::NotSimulated(why) = r {
            eprintln!("plan: {} not-simulated on this lab: {}", s.name, secrets.text(why));
        }
    }

    let session = connect_session(&a.lab, config, zone).await?;
    super::ensure_rebuild_images(&session, &planned).await?;
    let (config, zone) = (&session.config, &session.zone);
    let run_id = testbed::new_run_id();
    let dir = match &a.report_dir {
        Some(d) => d.clone(),
        None => std::path::Path::new(DEFAULT_REPORT_DIR).join(&run_id),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if a.report_dir.is_none() {
        run_dir::link_latest(&dir)?;
    }
    let info = RunInfo {
        id: run_id.clone(),
        started_at: pdns_drill::clock::now(),
        finished_at: None,
        complete: false,
        image_tag: session.image.clone(),
        suite: a.lab.image.suite.as_str().to_string(),
        pdns_version: None,
        recursor_version: None,
        config_dir: config.path.display().to_string(),
        config_dir_hash: config.hash.clone(),
        zone_file: zone.path.display().to_string(),
        zone_hash: zone.hash.clone(),
        dropins: vec![],
        filters: a.filters.clone(),
        mappings: pdns_drill::testbed::mapping::describe(config),
        tool: pdns_drill::history::tool_version(),
        partition: a.partition.map(|p| p.to_string()),
        selection: wanted.iter().map(|s| s.name.clone()).collect(),
        scope: chosen.scope.clone().map(|s| s.into_iter().collect()),
        selection_scope: chosen.selection_scope.clone().map(|s| s.into_iter().collect()),
    };
    let mut partial = PartialReports {
        out: RunDir { path: dir.clone(), formats, secrets: secrets.clone() },
        run: info,
        finished: vec![],
        planned: planned.iter().map(|(s, _)| pdns_drill::history::ScenarioInfo::new(s, Vec::new())).collect(),
    };

    // 3. The operators' lab must stand on its own before any fault is judged on it. From here
    // on, a failure of the engine or the harness leaves the gate undecided (exit 3), not "bad input".
    let pb = spinner("preflight");
    let show = |m: &str| pb.set_message(secrets.text(m));
    let pre = session.preflight(&format!("{run_id}-00"), &show).await;
    pb.finish_and_clear();
    match pre {
        Err(s) => {
            let code = stopped(&s, "stopped during the preflight; its lab was removed");
            interrupted(&partial, baseline.as_ref(), s.signal)?;
            return Ok(code);
        }
        Ok(Ok(Ok(t))) => eprintln!("preflight: the lab reached steady state in {:.1} s", t.as_secs_f64()),
        Ok(Ok(Err(p))) => return preflight_failed(&partial, baseline.as_ref(), p),
        Ok(Err(e)) => return undecided(&session, &partial, baseline.as_ref(), &format!("{:#}", e.context("the preflight could not run"))).await,
    }

    // 4. The scenarios, scheduled by resource: boots limited to the CPUs, longest waits first.
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let boots = a.boots.unwrap_or(cpus).max(1);
    let cap = session.capacity(a.jobs.unwrap_or(AUTO_JOBS)).await;
    cap.notes.iter().for_each(|n| eprintln!("{n}"));
    if cap.labs == 0 {
        return undecided(&session, &partial, baseline.as_ref(), &cap.notes.join("; ")).await;
    }
    let jobs = cap.labs;
    let mut display: Box<dyn Reporter> = match a.progress.resolve() {
        Progress::Bars => Box::new(Bars::new()),
        Progress::Json => Box::new(JsonLines),
        _ => Box::new(Lines),
    };
    let json = a.progress.resolve() == Progress::Json;
    let started = Event::RunStarted { run_id: run_id.clone(), scenarios: planned.len(), jobs, boots, report_dir: dir.display().to_string() };
    let share = a.partition.map(|p| format!(" (share {p} of {} selected)", wanted.len())).unwrap_or_default();
    eprintln!("run {run_id}: {} scenario(s){share}, {jobs} at a time, {boots} lab boot(s) at a time; reports in {}", planned.len(), dir.display());
    show_event(display.as_mut(), &started);
    if a.shuffle.is_none() {
        let known = planned.iter().filter(|p| walls.contains_key(&p.0.name)).count();
        eprintln!("order: longest first, {known} of {} by their measured wall time ({walls_from}), the rest by their own waits", planned.len());
    }
    let order = pdns_drill::runner::scheduler::queue(&planned, |name| chosen.number(name), a.shuffle, &walls);
    let how = Scheduling { jobs, boots, fresh_labs: a.fresh_labs, keep_on_failure: a.keep_on_failure };
    let followed = session
        .run_scenarios(&run_id, order, &how, |ev: Event| {
            // Secrets are masked once, here: every reporter and the history get the same.
            let ev = ev.redacted(&secrets);
            show_event(display.as_mut(), &ev);
            if let Err(e) = partial.event(&ev) {
                eprintln!("could not write the partial reports (the run goes on): {e:#}");
            }
        })
        .await;
    let finished = match followed {
        Ok(f) => f,
        Err(s) => {
            show_event(display.as_mut(), &Event::Interrupted { signal: s.signal.name().into() });
            let code = stopped(&s, "this run's containers, networks and volumes were removed");
            interrupted(&partial, baseline.as_ref(), s.signal)?;
            return Ok(code);
        }
    };
    if let Err(e) = finished {
        return undecided(&session, &partial, baseline.as_ref(), &format!("the scenario runner failed: {e}")).await;
    }

    // 5. The verdicts and the gate, then every artefact. Report order follows the files.
    partial.finished.sort_by_key(|r| chosen.rank(&r.scenario.name));
    let mut report = pdns_drill::judge::conclude::report(partial.info(true), &partial.finished);
    report.gate = Some(pdns_drill::judge::gate::decide(&report, &partial.finished, baseline.as_ref(), chosen.scope.as_ref()));
    let Written { paths, report } = partial.write_report(&report)?;
    announce(&report, &paths, json);
    let g = report.gate.as_ref().expect("decided above");
    show_event(display.as_mut(), &Event::RunFinished { outcome: g.outcome, exit_code: g.exit_code, failed: g.outcome != GateOutcome::Pass, reasons: g.reasons.clone() });
    Ok(ExitCode::from(g.exit_code))
}

/// A reporter that fails is said, never a reason to stop the run or skip its cleanup.
fn show_event(display: &mut dyn Reporter, ev: &Event) {
    if let Err(e) = display.event(ev) {
        eprintln!("progress display failed (the run goes on): {e:#}");
    }
}

/// The verdict table, the gate's finding and where the artefacts are: on stdout, unless stdout
/// carries events (`--progress json`), then on stderr.
pub fn announce(report: &Report, written: &[std::path::PathBuf], json: bool) {
    let mut lines: Vec<String> = vec![];
    if let Some(g) = &report.gate {
        if let Some(b) = &g.baseline {
            lines.extend(g.changes.iter().map(|c| format!("baseline: {}", c.line)));
            lines.extend(g.warnings.iter().map(|c| format!("baseline: {}", c.line)));
            lines.push(format!("baseline {}: {}", b.path, if g.differs() { "verdicts DIFFER" } else { "verdicts as approved" }));
        }
        lines.push(format!("gate: {} (exit {})", g.outcome.as_str(), g.exit_code));
        lines.extend(g.reasons.iter().map(|r| format!("  {r}")));
    }
    if json {
        eprint!("{}", super::verdict_table(report));
        lines.iter().for_each(|l| eprintln!("{l}"));
    } else {
        print_verdicts(report);
        lines.iter().for_each(|l| println!("{l}"));
    }
    for p in written {
        eprintln!("wrote {}", p.display());
    }
}

/// The gate's finding when the lab does not reach steady state on its own: one short report,
/// the failing checks and the daemons' reasons, exit 1, no scenario run.
fn preflight_failed(partial: &PartialReports, baseline: Option<&Baseline>, p: pdns_drill::judge::model::Preflight) -> Result<ExitCode> {
    let mut report = pdns_drill::judge::conclude::preflight_report(partial.info(true), p.clone());
    report.gate = Some(pdns_drill::judge::gate::decide(&report, &[], baseline, None));
    let Written { paths, report } = partial.write_report(&report)?;
    let p = report.preflight.as_ref().expect("a preflight report");
    println!("PREFLIGHT FAILED: the lab does not reach steady state ({:.1} s); no scenario ran.", p.waited_ms as f64 / 1000.0);
    for l in p.failing.iter().chain(&p.daemons) {
        println!("  {l}");
    }
    for w in paths {
        eprintln!("wrote {}", w.display());
    }
    Ok(ExitCode::from(report.gate.as_ref().map_or(1, |g| g.exit_code)))
}

/// The partial reports of a run that did not finish, marked incomplete, with its gate.
fn write_unfinished(partial: &PartialReports, baseline: Option<&Baseline>, outcome: GateOutcome, code: u8, why: String) -> Result<Written> {
    let mut report = pdns_drill::judge::conclude::report(partial.info(false), &partial.finished);
    report.gate = Some(pdns_drill::judge::gate::unfinished(&report, baseline, outcome, code, why));
    partial.write_report(&report)
}

/// A run stopped by a signal: the partial reports, marked incomplete, with an interrupted gate.
fn interrupted(partial: &PartialReports, baseline: Option<&Baseline>, sig: pdns_drill::signals::Stop) -> Result<ExitCode> {
    let why = format!("stopped by {} before every scenario finished; the reports are partial", sig.name());
    write_unfinished(partial, baseline, GateOutcome::Interrupted, sig.exit_code(), why)?;
    eprintln!("partial report (marked incomplete) in {}", partial.out.path.display());
    Ok(ExitCode::from(sig.exit_code()))
}

/// The engine or the harness failed once containers were involved: nothing was decided, a retry
/// may help. Whatever the run created is removed.
async fn undecided(session: &Session, partial: &PartialReports, baseline: Option<&Baseline>, why: &str) -> Result<ExitCode> {
    if let Err(e) = session.sweep_mine().await {
        eprintln!("{e:#}");
    }
    let why = partial.out.secrets.text(why);
    let code = GateOutcome::Undecided.exit_code();
    if let Err(e) = write_unfinished(partial, baseline, GateOutcome::Undecided, code, format!("the harness could not finish the run: {why}")) {
        eprintln!("could not write the reports: {e:#}");
    }
    eprintln!("error: {why}");
    eprintln!("gate: undecided (exit {code}): the harness could not finish the run; retrying may help");
    Ok(ExitCode::from(code))
}
