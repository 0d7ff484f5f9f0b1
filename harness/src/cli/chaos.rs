//! `pdns-drill chaos`: runs a campaign and shows its events (runs, shrinks, reproducers) as
//! `--progress` asks.

use super::reporters::{display, print_summary, show};
use super::{open_session, stopped, ChaosArgs, FAILED};
use anyhow::Result;
use std::process::ExitCode;

/// `chaos`: exit 0 every property held in every run, 1 one was violated, 2 bad input, 128+n
/// stopped by a signal (partial report written, every lab removed).
pub async fn chaos(a: &ChaosArgs) -> Result<ExitCode> {
    use pdns_drill::chaos;
    use pdns_drill::history::events::Event;
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
    eprintln!("chaos {}: seed {}, {}; report in {}", campaign.run_id, settings.seed, match (settings.runs, settings.duration) {
        (Some(n), _) => format!("{n} run(s)"),
        (None, Some(d)) => format!("for {} s", d.as_secs()),
        _ => String::new(),
    }, campaign.dir.display());
    let mut shown = display(a.progress);
    let finished = campaign.run(|ev: &Event| show(shown.as_mut(), ev)).await?;
    match finished {
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
            print_summary(a.progress, &chaos::report::summary_text(&report));
            Ok(if report.violated() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
        }
    }
}
