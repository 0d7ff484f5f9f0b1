//! `pdns-drill chaos`: runs a campaign and prints its runs, shrinks and reproducers as they come.

use super::{open_session, stopped, ChaosArgs, FAILED};
use anyhow::Result;
use std::process::ExitCode;

/// `chaos`: exit 0 every property held in every run, 1 one was violated, 2 bad input, 128+n
/// stopped by a signal (partial report written, every lab removed).
pub async fn chaos(a: &ChaosArgs) -> Result<ExitCode> {
    use pdns_drill::chaos::{self, Event};
    use pdns_drill::session::chaos::{Campaign, Finished};
    let session = open_session(&a.lab).await?;
    let settings = chaos::Settings {
        seed: a.seed.unwrap_or_else(|| u64::from(rand::random::<u32>())),
        runs: a.runs.or(a.duration.is_none().then_some(5)),
        duration: a.duration,
        max_faults: a.max_faults as usize,
        shrink_runs: a.shrink_runs,
        verify: !a.no_verify,
    };
    let campaign = Campaign::new(&session, settings.clone(), &a.report_dir);
    let dir = campaign.dir.clone();
    eprintln!("chaos {}: seed {}, {}; report in {}", campaign.run_id, settings.seed, match (settings.runs, settings.duration) {
        (Some(n), _) => format!("{n} run(s)"),
        (None, Some(d)) => format!("for {} s", d.as_secs()),
        _ => String::new(),
    }, dir.display());
    let pb = super::Status::new("chaos");
    let say = |line: String| pb.println(line);
    let finished = campaign
        .run(|ev: &Event| match ev {
            Event::RunStarted { index, seed, faults } => pb.set_message(format!("run {index} (seed {seed}): {faults}")),
            Event::Progress(m) => pb.set_message(m.clone()),
            Event::RunFinished(r) => say(chaos::report::run_line(r)),
            Event::ShrinkTried(s) => say(format!("  shrink {}: {} → {}", s.property.id(), s.faults, if s.still_fails { "still fails" } else { "passes" })),
            Event::Reproducer(r) => say(format!("  reproducer {} ({}){}", dir.join(&r.file).display(), r.minimal_labels,
                r.verified.as_ref().map(|v| format!(": as a scenario it {}", if v.reproduces { "reproduces" } else { "does not reproduce" })).unwrap_or_default())),
            Event::Planned { not_simulated, .. } => for n in not_simulated { say(format!("not simulated on this lab: {n}")) },
        })
        .await;
    pb.finish_and_clear();
    match finished? {
        Finished::Stopped { stopped: s, partial } => {
            let code = stopped(&s, "this campaign's containers, networks and volumes were removed");
            match partial {
                Ok(dir) => eprintln!("partial report (marked incomplete) in {}", dir.display()),
                Err(e) => eprintln!("the partial report could not be written: {e}"),
            }
            Ok(code)
        }
        Finished::Done { report, written } => {
            for p in written {
                eprintln!("wrote {}", p.display());
            }
            print!("{}", chaos::report::summary_text(&report));
            Ok(if report.violated() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
        }
    }
}
