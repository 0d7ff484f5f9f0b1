//! `pdns-drill chaos`: runs a campaign and prints its runs, shrinks and reproducers as they come.

use super::{open_session, stopped, ChaosArgs, FAILED};
use anyhow::{Context, Result};
use pdns_drill::testbed;
use std::process::ExitCode;

/// `chaos`: exit 0 every property held in every run, 1 one was violated, 2 bad input, 128+n
/// stopped by a signal (partial report written, every lab removed).
pub async fn chaos(a: &ChaosArgs) -> Result<ExitCode> {
    use pdns_drill::chaos::{self, report::ChaosReport, Event};
    let session = open_session(&a.lab).await?;
    let (config, zone, secrets) = (&session.config, &session.zone, &session.secrets);
    let run_id = testbed::new_run_id();
    let dir = a.report_dir.join(format!("chaos-{run_id}"));
    let settings = chaos::Settings {
        seed: a.seed.unwrap_or_else(|| u64::from(rand::random::<u32>())),
        runs: a.runs.or(a.duration.is_none().then_some(5)),
        duration: a.duration,
        max_faults: a.max_faults as usize,
        shrink_runs: a.shrink_runs,
        verify: !a.no_verify,
    };
    let mut report = ChaosReport::new(chaos::report::CampaignInfo {
        id: run_id.clone(),
        started_at: pdns_drill::clock::now(),
        finished_at: None,
        complete: false,
        stopped_by: None,
        settings: settings.clone(),
        image_tag: session.image.clone(),
        config_dir: config.path.display().to_string(),
        zone_file: zone.path.display().to_string(),
    });
    eprintln!("chaos {run_id}: seed {}, {}; report in {}", settings.seed, match (settings.runs, settings.duration) {
        (Some(n), _) => format!("{n} run(s)"),
        (None, Some(d)) => format!("for {} s", d.as_secs()),
        _ => String::new(),
    }, dir.display());
    let lab = pdns_drill::runner::Inputs { engine: session.engine.clone(), image: session.image.clone(), config: config.clone(), zone: zone.clone(), run_id, keep_on_failure: false,
        boots: std::sync::Arc::new(tokio::sync::Semaphore::new(1)), pool: None };
    let inputs = chaos::Inputs { lab, dir: dir.clone() };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let work = tokio::spawn(chaos::campaign(inputs, settings, tx));
    let pb = super::Status::new("chaos");
    let say = |line: String| pb.println(line);
    let mut unwritten = None;
    let followed = session
        .follow(work, rx, |ev: Event| {
            match &ev {
                Event::RunStarted { index, seed, faults } => pb.set_message(format!("run {index} (seed {seed}): {faults}")),
                Event::Progress(m) => pb.set_message(m.clone()),
                Event::RunFinished(r) => say(chaos::report::run_line(r)),
                Event::ShrinkTried(s) => say(format!("  shrink {}: {} → {}", s.property.id(), s.faults, if s.still_fails { "still fails" } else { "passes" })),
                Event::Reproducer(r) => say(format!("  reproducer {} ({}){}", dir.join(&r.file).display(), r.minimal_labels,
                    r.verified.as_ref().map(|v| format!(": as a scenario it {}", if v.reproduces { "reproduces" } else { "does not reproduce" })).unwrap_or_default())),
                Event::Planned { not_simulated, .. } => for n in not_simulated { say(format!("not simulated on this lab: {n}")) },
            }
            if report.apply(&ev) {
                if let Err(e) = chaos::report::write(&report, &dir, secrets) {
                    unwritten.get_or_insert(e);
                }
            }
        })
        .await;
    pb.finish_and_clear();
    if let Some(e) = unwritten {
        return Err(e.context("writing the chaos report"));
    }
    let finished = match followed {
        Ok(f) => f,
        Err(s) => {
            let code = stopped(&s, "this campaign's containers, networks and volumes were removed");
            report.finish(false, Some(s.signal.name()));
            chaos::report::write(&report, &dir, secrets)?;
            eprintln!("partial report (marked incomplete) in {}", dir.display());
            return Ok(code);
        }
    };
    finished.context("the chaos campaign panicked")??;
    report.finish(true, None);
    for p in chaos::report::write(&report, &dir, secrets)? {
        eprintln!("wrote {}", p.display());
    }
    print!("{}", chaos::report::summary_text(&report));
    Ok(if report.violated() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
}
