//! Reporters: consumers of the run's events. Each shows or stores the same stream its own way;
//! the runner does not know them.

use super::spinner;
use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pdns_drill::history::events::Event;
use pdns_drill::history::ScenarioRun;
use pdns_drill::judge::model::ScenarioOutcome;
use std::collections::HashMap;

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
    let mark = match pdns_drill::judge::conclude::outcome(r) {
        ScenarioOutcome::Held => "held",
        ScenarioOutcome::Deviated => "DEVIATED",
        ScenarioOutcome::NotSimulated => "not-sim",
        ScenarioOutcome::Interrupted => "STOPPED",
        ScenarioOutcome::Errored => "ERRORED",
    };
    let why = r.error.clone().or_else(|| r.not_simulated.clone()).or_else(|| r.records.iter().find_map(|x| x.mismatch.clone())).unwrap_or_default();
    let mut line = format!("{mark:>8}  {:<26} {:>6.1} s  {why}", r.scenario.name, r.wall_ms as f64 / 1000.0);
    if r.kept {
        line.push_str(&format!("\n          lab kept: docker exec -it pdns-drill-{0}-pdns-vm bash ; pdns-drill triage --run {0} ; pdns-drill down --run {0}", r.lab_run_id));
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


