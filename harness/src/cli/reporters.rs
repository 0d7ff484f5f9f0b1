//! Reporters: consumers of the run's events. Each shows or stores the same stream its own way;
//! the runner does not know them.

use super::spinner;
use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pdns_drill::events::Event;
use pdns_drill::history::{RunHistory, RunInfo, ScenarioRun, HISTORY_SCHEMA};
use pdns_drill::report::model::{Preflight, Report, ScenarioOutcome};
use pdns_drill::report::run_dir::{RunDir, Written};
use std::collections::HashMap;
use std::path::PathBuf;

pub trait Reporter {
    fn event(&mut self, ev: &Event) -> Result<()>;
}

/// `--progress`: how a run shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    /// Bars on a terminal, plain lines otherwise.
    Auto,
    /// Progress bars (a terminal).
    Bars,
    /// One line per scenario started and finished (CI logs).
    Lines,
    /// Every event as a JSON line on stdout (CI systems); people's text goes to stderr.
    Json,
}

impl Progress {
    pub fn resolve(self) -> Progress {
        match self {
            Progress::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => Progress::Bars,
            Progress::Auto => Progress::Lines,
            p => p,
        }
    }
}

/// The line a finished scenario gets, in every human display.
fn finished_line(r: &ScenarioRun) -> String {
    let mark = match pdns_drill::conclude::outcome(r) {
        ScenarioOutcome::Held => "held",
        ScenarioOutcome::Deviated => "DEVIATED",
        ScenarioOutcome::NotSimulated => "not-sim",
        ScenarioOutcome::Interrupted => "STOPPED",
        ScenarioOutcome::Errored => "ERRORED",
    };
    let why = r.error.clone().or_else(|| r.not_simulated.clone()).or_else(|| r.records.iter().find_map(|x| x.mismatch.clone())).unwrap_or_default();
    let mut line = format!("{mark:>8}  {:<26} {:>6.1} s  {why}", r.scenario.name, r.wall_ms as f64 / 1000.0);
    if r.kept {
        line.push_str(&format!("\n          lab kept: docker exec -it pdns-drill-{0}-pdns-vm bash ; pdns-drill down --run {0}", r.lab_run_id));
    }
    line
}

/// Bars for a terminal: one per running scenario under an overall one.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: HashMap<String, ProgressBar>,
}

impl Bars {
    pub fn new() -> Bars {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} scenarios {msg} [{elapsed}]").unwrap().progress_chars("=> "));
        overall.set_prefix("drill");
        Bars { multi, overall, bars: HashMap::new() }
    }
}

impl Reporter for Bars {
    fn event(&mut self, ev: &Event) -> Result<()> {
        match ev {
            Event::RunStarted { scenarios, .. } => self.overall.set_length(*scenarios as u64),
            Event::ScenarioStarted { name } => {
                let pb = self.multi.insert_before(&self.overall, spinner(name));
                self.bars.insert(name.clone(), pb);
            }
            Event::Progress { scenario, message } => {
                if let Some(pb) = self.bars.get(scenario) {
                    pb.set_message(message.clone());
                }
            }
            Event::Observed { scenario, ok, line } => {
                if let Some(pb) = self.bars.get(scenario) {
                    pb.set_message(format!("{} {line}", if *ok { "✓" } else { "✗" }));
                }
            }
            Event::ScenarioFinished { run } => {
                if let Some(pb) = self.bars.remove(&run.scenario.name) {
                    pb.finish_and_clear();
                }
                self.multi.println(finished_line(run)).ok();
                self.overall.inc(1);
            }
            Event::RunFinished { .. } | Event::Interrupted { .. } => self.overall.finish_and_clear(),
        }
        Ok(())
    }
}

/// Plain lines on stderr: what a CI log shows (a hidden bar would print nothing).
pub struct Lines;

impl Reporter for Lines {
    fn event(&mut self, ev: &Event) -> Result<()> {
        match ev {
            Event::ScenarioStarted { name } => eprintln!("   start  {name}"),
            Event::ScenarioFinished { run } => eprintln!("{}", finished_line(run)),
            _ => {}
        }
        Ok(())
    }
}

/// Every event as one JSON line on stdout.
pub struct JsonLines;

impl Reporter for JsonLines {
    fn event(&mut self, ev: &Event) -> Result<()> {
        println!("{}", serde_json::to_string(ev)?);
        Ok(())
    }
}

/// Rewrites `history.json` and the reports after every scenario, so a run stopped at any point
/// leaves valid reports (marked incomplete).
pub struct PartialReports {
    pub out: RunDir,
    pub run: RunInfo,
    pub finished: Vec<ScenarioRun>,
    /// Every scenario of the run, so claims still to be decided read `pending`.
    pub planned: Vec<pdns_drill::history::ScenarioInfo>,
}

impl PartialReports {
    fn history(&self, run: RunInfo, preflight: Option<Preflight>) -> RunHistory {
        RunHistory { schema: HISTORY_SCHEMA, run, scenarios: self.finished.clone(), preflight }
    }

    /// The history and every report while the run goes on; claims still to be decided pending.
    pub fn write(&self, run: RunInfo) -> Result<Vec<PathBuf>> {
        let still: Vec<_> = self.planned.iter().filter(|p| !self.finished.iter().any(|f| f.scenario.name == p.name)).cloned().collect();
        let report = pdns_drill::conclude::partial_report(run.clone(), &self.finished, &still);
        Ok(self.out.write(&self.history(run, None), &report)?.paths)
    }

    /// The history and `report` as concluded (its gate decided; its preflight, if it failed).
    pub fn write_report(&self, report: &Report) -> Result<Written> {
        self.out.write(&self.history(report.run.clone(), report.preflight.clone()), report)
    }

    /// The run info with what the scenarios so far tell (versions, drop-ins).
    pub fn info(&self, complete: bool) -> RunInfo {
        let mut run = self.run.clone();
        run.complete = complete;
        run.finished_at = complete.then(pdns_drill::clock::now);
        if let Some(v) = self.finished.iter().map(|r| r.versions.clone()).find(|v| v.0.is_some()) {
            (run.pdns_version, run.recursor_version) = v;
        }
        if let Some(d) = self.finished.iter().map(|r| r.dropins.clone()).find(|d| !d.is_empty()) {
            run.dropins = d;
        }
        run
    }
}

impl Reporter for PartialReports {
    fn event(&mut self, ev: &Event) -> Result<()> {
        if let Event::ScenarioFinished { run } = ev {
            self.finished.push((**run).clone());
            self.write(self.info(false))?;
        }
        Ok(())
    }
}
