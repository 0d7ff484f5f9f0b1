//! `pdns-drill run`: the command line made into a run request, the library's run
//! ([`pdns_drill::session::run`]) followed, and what it says printed: the progress reporters,
//! the verdict table, the gate, the exit code.
//!
//! Exit codes: 2 before any container starts (bad input, no Docker, no image); after that the
//! gate's (0 pass, 1 fail, 3 undecided), 130/143/129 for a signal.

use super::reporters::{show, Progress};
use super::{connect_session, load_inputs, print_verdicts, stopped, RunArgs};
use anyhow::Result;
use pdns_drill::history::events::Event;
use pdns_drill::judge::model::{GateOutcome, Report};
use pdns_drill::report::run_dir::Written;
use pdns_drill::report::write;
use pdns_drill::session::run::{Finished, Notice, Plan, Request};
use std::process::ExitCode;

/// Labs alive at once by default: each is four small containers, mostly idle while a scenario
/// waits on the daemons (the boots are what is limited). With the image's binaries off FUSE the
/// suite no longer fills two cores at 8 (measured on lab/: 8 → 169 s, 12 → 134 s, 16 → 122 s,
/// about 200 busy CPU-s each): the long waits (TTLs, recovery deadlines) overlap instead.
const AUTO_JOBS: usize = 16;

pub async fn run(a: &RunArgs) -> Result<ExitCode> {
    // Everything that can be wrong with the input is found before any container starts.
    let formats = write::parse_formats(&a.format).map_err(anyhow::Error::msg)?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let request = Request {
        scenarios_dir: pdns_drill::testbed::config::scenarios_dir(&a.scenarios),
        filters: a.filters.clone(),
        partition: a.partition,
        baseline: a.baseline.clone(),
        durations_from: a.durations_from.clone(),
        shuffle: a.shuffle,
        formats,
        report_dir: a.report_dir.clone(),
        suite: a.lab.image.suite.as_str().to_string(),
        jobs: a.jobs.unwrap_or(AUTO_JOBS),
        boots: a.boots.unwrap_or(cpus),
        fresh_labs: a.fresh_labs,
        keep_on_failure: a.keep_on_failure,
    };
    let (config, zone) = load_inputs(&a.lab)?;
    let plan = Plan::new(request, &config, &zone)?;
    for line in plan.not_simulated() {
        eprintln!("plan: {line}");
    }
    let session = connect_session(&a.lab, config, zone).await?;
    super::ensure_rebuild_images(&session, &plan.planned).await?;

    let mut display = super::reporters::display(a.progress);
    let json = a.progress.resolve() == Progress::Json;
    let pb = super::Status::new("preflight");
    let finished = plan
        .run(&session, &|m: &str| pb.set_message(m.to_string()), |n| match n {
            Notice::PreflightEnded => pb.finish_and_clear(),
            Notice::Line(l) => eprintln!("{l}"),
            Notice::Event(ev) => show(display.as_mut(), ev),
        })
        .await;
    // Cleared whatever ended the run (an error before the preflight too).
    pb.finish_and_clear();
    let finished = finished?;
    match finished {
        Finished::Gated(Written { paths, report }) => {
            announce(&report, &paths, json);
            let g = report.gate.as_ref().expect("a gated run's report has its gate");
            show(display.as_mut(), &Event::RunFinished { outcome: g.outcome, exit_code: g.exit_code, failed: g.outcome != GateOutcome::Pass, reasons: g.reasons.clone() });
            Ok(ExitCode::from(g.exit_code))
        }
        Finished::PreflightFailed(Written { paths, report }) => {
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
        Finished::Stopped { stopped: s, in_preflight, partial } => {
            let what = if in_preflight { "stopped during the preflight; its lab was removed" } else { "this run's containers, networks and volumes were removed" };
            let code = stopped(&s, what);
            match partial {
                Ok(dir) => eprintln!("partial report (marked incomplete) in {}", dir.display()),
                Err(e) => eprintln!("the partial report could not be written: {e}"),
            }
            Ok(code)
        }
        Finished::Undecided { why, code, troubles } => {
            troubles.iter().for_each(|t| eprintln!("{t}"));
            eprintln!("error: {why}");
            eprintln!("gate: undecided (exit {code}): the harness could not finish the run; retrying may help");
            Ok(ExitCode::from(code))
        }
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
