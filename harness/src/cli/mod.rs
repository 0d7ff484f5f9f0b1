//! Command implementations behind `main.rs`: the glue from the arguments to the lab, the runner
//! and the reports. Printing happens here and in the reporters, nowhere in the library.

mod args;
mod chaos;
mod check;
mod drill;
mod lab;
mod merge;
mod reporters;
mod run;
mod schema;
mod verdicts;
mod zone;

pub use args::*;
pub use reporters::Progress;
pub use chaos::chaos;
pub use check::check;
pub use drill::drill_restore;
pub use lab::{down, image_build, triage, up};
pub use merge::{conclude, merge};
pub use run::run;
pub use schema::{schema, schema_kind_parser};
pub use verdicts::{baseline_accept, compare, print_verdicts, verdict_table};
pub use zone::{zone_diff, zone_name, zone_verify};

/// Exit code for "something was contradicted or errored" (also: baseline differs).
const FAILED: u8 = 1;

use pdns_drill::testbed::engine::Engine;
use pdns_drill::testbed::image::{self, BuildOptions, Suite};
use pdns_drill::session::{LabSource, Session, Stopped};
use pdns_drill::testbed::config::{self, ConfigDir, ZoneInput};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub fn spinner(prefix: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} [{elapsed}]").unwrap());
    pb.set_prefix(prefix.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// How long work is getting on: a spinner on a terminal; elsewhere (a CI log, a pipe), where a
/// spinner draws nothing, each new message as a line of its own (the stages and steps the
/// library reports are few and each worth a line: no wait reports every poll).
#[derive(Clone)]
pub struct Status {
    pb: ProgressBar,
    prefix: String,
    /// Off a terminal: the message last printed, so a repeat is not.
    printed: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

impl Status {
    pub fn new(prefix: &str) -> Status {
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Status { pb: spinner(prefix), prefix: prefix.to_string(), printed: (!tty).then(Default::default) }
    }

    pub fn set_message(&self, m: impl Into<String>) {
        let m = m.into();
        let Some(printed) = &self.printed else { return self.pb.set_message(m) };
        let mut last = printed.lock().unwrap_or_else(|p| p.into_inner());
        if *last != m {
            eprintln!("{}: {m}", self.prefix);
            *last = m;
        }
    }

    pub fn finish_and_clear(&self) {
        self.pb.finish_and_clear();
    }
}

pub async fn connect() -> Result<Engine> {
    Engine::connect().await
}

pub async fn ensure_image(engine: &Engine, a: &ImageArgs) -> Result<String> {
    let pb = Status::new("image");
    let r = image::ensure(engine, &build_options(a), &|m: &str| pb.set_message(m.to_string())).await;
    pb.finish_and_clear();
    r
}

fn build_options(a: &ImageArgs) -> BuildOptions {
    BuildOptions { suite: a.suite, mirror: a.mirror.clone(), force: a.force }
}

/// The operator inputs named on the command line (or the shipped lab) and the image options.
fn lab_source(a: &LabArgs) -> LabSource {
    LabSource { config_dir: a.config_dir.clone(), zone: a.zone.clone(), recursor_settings: a.recursor_settings, image: build_options(&a.image) }
}

/// Loads and checks the operator inputs: no Docker involved.
pub fn load_inputs(a: &LabArgs) -> Result<(ConfigDir, ZoneInput)> {
    lab_source(a).load()
}

/// Everything before a lab can start (inputs valid, Docker reachable, stale runs swept, the
/// image), with the image's progress on a spinner.
pub async fn open_session(a: &LabArgs) -> Result<Session> {
    let (config, zone) = load_inputs(a)?;
    connect_session(a, config, zone).await
}

/// `open_session` for inputs already loaded.
pub async fn connect_session(a: &LabArgs, config: ConfigDir, zone: ZoneInput) -> Result<Session> {
    let pb = Status::new("image");
    let r = Session::connect(config, zone, &build_options(&a.image), &|m: &str| pb.set_message(m.to_string())).await;
    pb.finish_and_clear();
    let session = r?;
    if !session.swept.is_empty() {
        eprintln!("swept leftovers of dead runs: {}", session.swept.join(", "));
    }
    Ok(session)
}

/// The images planned scenarios rebuild their VM on, with a spinner while one is made.
pub async fn ensure_rebuild_images(session: &Session, planned: &[(pdns_drill::scenario::Scenario, pdns_drill::scenario::plan::Resolved)]) -> Result<()> {
    let pb = Status::new("image");
    let t0 = std::time::Instant::now();
    let tags = session.ensure_rebuild_images(planned, &|suite: Suite, m: &str| pb.set_message(format!("{}: {m}", suite.as_str()))).await;
    pb.finish_and_clear();
    let tags = tags?;
    if t0.elapsed() > Duration::from_secs(2) {
        eprintln!("image(s) {} ready in {:.1} s", tags.join(", "), t0.elapsed().as_secs_f64());
    }
    Ok(())
}

/// A job stopped by a signal: what its sweep could not remove is said; the signal's exit code.
pub fn stopped(s: &Stopped, what: &str) -> ExitCode {
    eprintln!("{}: {what}", s.signal.name());
    if let Some(e) = &s.sweep_failed {
        eprintln!("{e}");
    }
    ExitCode::from(s.signal.exit_code())
}

pub fn list(dir: &Path) -> Result<ExitCode> {
    let scenarios = pdns_drill::scenario::load_dir(&config::scenarios_dir(dir))?;
    println!("{:<28} {:<38} RUNBOOK SECTION", "SCENARIO", "CLAIMS");
    for s in &scenarios {
        println!("{:<28} {:<38} {}", s.name, s.claims.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","), s.section);
    }
    let covered: std::collections::BTreeSet<&str> = scenarios.iter().flat_map(|s| s.claims.iter().map(|c| c.as_str())).collect();
    let uncovered: Vec<&str> = pdns_drill::claims::CATALOGUE.iter().map(|c| c.id).filter(|id| !covered.contains(id)).collect();
    if !uncovered.is_empty() {
        println!("\nclaims no scenario decides (reported not-simulated): {}", uncovered.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

