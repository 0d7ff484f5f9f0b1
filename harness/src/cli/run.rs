//! `pdns-drill run`, in the order it happens: inputs checked, scenarios planned against the lab,
//! the preflight, the scenarios scheduled (longest waits first, boots limited), their events
//! handed to the reporters, the verdicts concluded, the baseline gate, the exit code.

use super::reporters::{Bars, JsonLines, Lines, PartialReports, Progress, Reporter};
use super::{load_inputs, now_rfc3339, prepare_engine, print_verdicts, spinner, RunArgs};
use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use pdns_drill::events::Event;
use pdns_drill::report::model::RunInfo;
use pdns_drill::report::write;
use pdns_drill::runner::{self, Inputs};
use pdns_drill::scenario::plan::{self, Resolved};
use pdns_drill::scenario::{self, Scenario};
use pdns_drill::testbed::{self, LabSpec};
use std::process::ExitCode;

/// Labs alive at once by default: each is four small containers, mostly idle while a scenario
/// waits on the daemons (the boots are what is limited).
const AUTO_JOBS: usize = 8;

pub async fn run(a: &RunArgs) -> Result<ExitCode> {
    // 1. Everything that can be wrong with the input is found before any container starts.
    let formats = write::parse_formats(&a.format).map_err(anyhow::Error::msg)?;
    let all = scenario::load_dir(&a.scenarios)?;
    let selected: Vec<Scenario> = all.iter().filter(|s| s.selected_by(&a.filters)).cloned().collect();
    if selected.is_empty() {
        bail!("no scenario matches {:?} (see `pdns-drill list`)", a.filters);
    }
    let baseline = a.baseline.as_deref().map(pdns_drill::report::snapshot::load).transpose()?;
    let (config, zone) = load_inputs(&a.lab)?;

    // 2. Each scenario resolved against this lab once.
    let facts = pdns_drill::scenario::facts::LabFacts::read(&config, &zone.journal)?;
    let planned: Vec<(Scenario, Resolved)> = selected.iter().map(|s| (s.clone(), plan::resolve(s, &facts))).collect();
    for (s, r) in &planned {
        if let Resolved::NotSimulated(why) = r {
            eprintln!("plan: {} not-simulated on this lab: {why}", s.name);
        }
    }

    let (engine, image) = prepare_engine(&a.lab.image).await?;
    super::ensure_rebuild_images(&engine, &a.lab.image, &planned).await?;
    let run_id = testbed::new_run_id();
    let dir = a.report_dir.join(&run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut partial = PartialReports {
        dir: dir.clone(),
        formats: formats.clone(),
        run: RunInfo {
            id: run_id.clone(),
            started_at: now_rfc3339(),
            finished_at: None,
            complete: false,
            image_tag: image.clone(),
            suite: a.lab.image.suite.as_str().to_string(),
            pdns_version: None,
            recursor_version: None,
            config_dir: config.path.display().to_string(),
            config_dir_hash: config.hash.clone(),
            zone_file: zone.path.display().to_string(),
            zone_hash: zone.hash.clone(),
            dropins: vec![],
            filters: a.filters.clone(),
            mappings: pdns_drill::testbed::mapping::describe(&config),
        },
        finished: vec![],
        planned: planned.iter().map(|(s, _)| pdns_drill::history::ScenarioInfo::from(s)).collect(),
    };

    // 3. The operators' lab must stand on its own before any fault is judged on it.
    let pb = spinner("preflight");
    let spec = LabSpec { image: image.clone(), config: config.clone(), zone: zone.clone(), run_id: format!("{run_id}-00"), roles: vec![] };
    let show = |m: &str| pb.set_message(m.to_string());
    let pre = tokio::select! {
        r = pdns_drill::steady::preflight(&engine, spec, &show) => r,
        sig = pdns_drill::signals::stopped() => {
            pb.finish_and_clear();
            super::sweep_mine(&engine).await;
            eprintln!("{}: stopped during the preflight; its lab was removed", sig.name());
            return Ok(ExitCode::from(sig.exit_code()));
        }
    };
    pb.finish_and_clear();
    match pre? {
        Ok(t) => eprintln!("preflight: the lab reached steady state in {:.1} s", t.as_secs_f64()),
        Err(p) => return preflight_failed(&partial, p),
    }

    // 4. The scenarios, scheduled by resource: boots limited to the CPUs, longest waits first.
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let boots = a.boots.unwrap_or(cpus).max(1);
    let mut jobs = a.jobs.unwrap_or(AUTO_JOBS).max(1);
    // Labs past what the host's inotify pool holds would never finish booting.
    if let Some(cap) = pdns_drill::testbed::host::capacity() {
        if cap.labs == 0 {
            bail!("no lab can boot: {}", cap.advice());
        }
        if cap.labs < jobs {
            eprintln!("running {} scenario(s) at a time, not {jobs}: {}", cap.labs, cap.advice());
            jobs = cap.labs;
        }
    }
    let inputs = Inputs {
        engine: engine.clone(),
        image,
        config,
        zone,
        run_id: run_id.clone(),
        keep_on_failure: a.keep_on_failure,
        boots: std::sync::Arc::new(tokio::sync::Semaphore::new(boots)),
    };
    let mut display: Box<dyn Reporter> = match a.progress.resolve() {
        Progress::Bars => Box::new(Bars::new()),
        Progress::Json => Box::new(JsonLines),
        _ => Box::new(Lines),
    };
    let json = a.progress.resolve() == Progress::Json;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let started = Event::RunStarted { run_id: run_id.clone(), scenarios: planned.len(), jobs, boots, report_dir: dir.display().to_string() };
    eprintln!("run {run_id}: {} scenario(s), {jobs} at a time, {boots} lab boot(s) at a time; reports in {}", planned.len(), dir.display());
    display.event(&started)?;
    let mut work = {
        let mut order: Vec<(usize, (Scenario, Resolved))> = planned.iter().cloned().enumerate().collect();
        order.sort_by_key(|(_, (s, _))| std::cmp::Reverse(s.expected_wait()));
        tokio::spawn(async move {
            futures_util::stream::iter(order)
                .map(move |(i, s)| {
                    let inputs = inputs.clone();
                    let tx = tx.clone();
                    async move { runner::run_scenario(&inputs, i + 1, &s, &tx).await }
                })
                .buffer_unordered(jobs)
                .collect::<Vec<_>>()
                .await
        })
    };
    let stop = pdns_drill::signals::stopped();
    tokio::pin!(stop);
    let interrupted = loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => {
                    display.event(&ev)?;
                    partial.event(&ev)?;
                }
                None => break None,
            },
            sig = &mut stop => break Some(sig),
        }
    };
    if let Some(sig) = interrupted {
        // Cancel what is being created first, then sweep by the run's label.
        work.abort();
        let _ = (&mut work).await;
        display.event(&Event::Interrupted { signal: sig.name().into() })?;
        eprintln!("{}: removing this run's containers, networks and volumes", sig.name());
        super::sweep_mine(&engine).await;
        partial.write(partial.info(false))?;
        eprintln!("partial report (marked incomplete) in {}", dir.display());
        return Ok(ExitCode::from(sig.exit_code()));
    }
    work.await.context("scenario runner panicked")?;

    // 5. The verdicts, the gate, the exit code. Report order follows the files.
    partial.finished.sort_by_key(|r| selected.iter().position(|s| s.name == r.scenario.name));
    let written = partial.write(partial.info(true))?;
    let report = pdns_drill::conclude::report(partial.info(true), &partial.finished);
    if json {
        // stdout carries the events: the people's table goes to stderr.
        eprint!("{}", super::verdict_table(&report));
    } else {
        print_verdicts(&report);
    }
    for p in &written {
        eprintln!("wrote {}", p.display());
    }
    let only = (!a.filters.is_empty()).then(|| scenario::decided_in_full(&all, &a.filters));
    let gate = baseline.as_ref().map(|b| pdns_drill::conclude::gate(&report, b, only.as_ref()));
    if let (Some(g), Some(path)) = (&gate, &a.baseline) {
        // The gate's finding goes beside the verdict table (stdout, unless stdout carries events).
        let mut lines: Vec<String> = g.changes.iter().map(|c| format!("baseline: {c}")).collect();
        lines.push(format!("baseline {}: {}", path.display(), if g.differ { "verdicts DIFFER" } else { "verdicts as approved" }));
        for l in lines {
            if json {
                eprintln!("{l}");
            } else {
                println!("{l}");
            }
        }
    }
    let outcome = pdns_drill::conclude::run_outcome(&report, &partial.finished, gate.as_ref());
    for r in outcome.reasons.iter().filter(|r| r.starts_with("scenario ")) {
        eprintln!("{r}");
    }
    display.event(&Event::RunFinished { failed: outcome.failed, reasons: outcome.reasons.clone() })?;
    Ok(ExitCode::from(outcome.exit_code()))
}

/// The gate's finding when the lab does not reach steady state on its own: one short report,
/// the failing checks and the daemons' reasons, exit 1, no scenario run.
fn preflight_failed(partial: &PartialReports, p: pdns_drill::report::model::Preflight) -> Result<ExitCode> {
    let mut report = pdns_drill::conclude::report(partial.info(false), &[]);
    for c in report.claims.iter_mut() {
        c.verdict = pdns_drill::verdict::Verdict::Errored;
        c.reason = Some("preflight: the lab does not reach steady state without any fault (see the preflight section)".into());
    }
    report.preflight = Some(p.clone());
    let written = write::write_all(&report, &partial.dir, &partial.formats)?;
    println!("PREFLIGHT FAILED: the lab does not reach steady state ({:.1} s); no scenario ran.", p.waited_ms as f64 / 1000.0);
    for l in p.failing.iter().chain(&p.daemons) {
        println!("  {l}");
    }
    for w in written {
        eprintln!("wrote {}", w.display());
    }
    Ok(ExitCode::from(1))
}
