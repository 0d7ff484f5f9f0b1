//! Reporters: consumers of the events every job (run, chaos, drill) emits. Each shows the same
//! stream its own way; the jobs do not know them.

use super::spinner;
use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pdns_drill::history::events::Event;
use pdns_drill::history::ScenarioRun;
use pdns_drill::claims::verdict::Verdict;
use pdns_drill::claims::Severity;
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

/// The line a chaos run's, a shrink's, a reproducer's or a backup's end gets: its verdict
/// (loud when it is not confirmed), with the severity of a contradiction.
fn unit_line(verdict: Verdict, severity: Option<Severity>, line: &str) -> String {
    let word = match verdict {
        Verdict::Confirmed | Verdict::NotSimulated | Verdict::Unchecked | Verdict::Pending => verdict.as_str().to_string(),
        v => v.as_str().to_uppercase(),
    };
    let sev = severity.map(|s| format!(" ({s})", s = s.as_str())).unwrap_or_default();
    format!("{word:>12}{sev}  {}", line.trim_start())
}

/// The display `--progress` asks for.
pub fn display(p: Progress) -> Box<dyn Reporter> {
    match p.resolve() {
        Progress::Bars => Box::new(Bars::new()),
        Progress::Json => Box::new(JsonLines),
        _ => Box::new(Lines::default()),
    }
}

/// A job's closing summary: on stdout, unless stdout carries the events (`--progress json`).
pub fn print_summary(p: Progress, text: &str) {
    match p.resolve() {
        Progress::Json => eprint!("{text}"),
        _ => print!("{text}"),
    }
}

/// A reporter that fails is said, never a reason to stop the job or skip its cleanup.
pub fn show(display: &mut dyn Reporter, ev: &Event) {
    if let Err(e) = display.event(ev) {
        eprintln!("progress display failed (the work goes on): {e:#}");
    }
}

/// Bars for a terminal: one per running scenario or unit under an overall one.
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
            // Outside every scenario and unit (a drill's lab coming up): on the overall line.
            Event::Progress { scenario, message } => self.bars.get(scenario).unwrap_or(&self.overall).set_message(message.clone()),
            Event::Observed { scenario, ok, line } => {
                self.bars.get(scenario).unwrap_or(&self.overall).set_message(format!("{} {line}", if *ok { "✓" } else { "✗" }));
            }
            Event::ScenarioFinished { run } => {
                if let Some(pb) = self.bars.remove(&run.scenario.name) {
                    pb.finish_and_clear();
                }
                self.multi.println(finished_line(run)).ok();
                self.overall.inc(1);
            }
            Event::JobStarted { job, .. } => {
                // Units are not known beforehand (shrinks, reproducers): a count, not a bar.
                self.overall.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {pos} unit(s) done {wide_msg} [{elapsed}]").unwrap());
                self.overall.set_prefix(format!("{job:?}").to_lowercase());
                self.overall.enable_steady_tick(std::time::Duration::from_millis(200));
            }
            Event::UnitStarted { unit, about, .. } => {
                let pb = self.multi.insert_before(&self.overall, spinner(unit));
                pb.set_message(about.clone());
                self.bars.insert(unit.clone(), pb);
            }
            Event::UnitFinished { unit, verdict, severity, line, .. } => {
                if let Some(pb) = self.bars.remove(unit) {
                    pb.finish_and_clear();
                }
                self.multi.println(unit_line(*verdict, *severity, line)).ok();
                self.overall.inc(1);
            }
            Event::Note { message, .. } => {
                self.multi.println(message).ok();
            }
            Event::RunFinished { .. } | Event::JobFinished { .. } | Event::Interrupted { .. } => {
                self.bars.drain().for_each(|(_, pb)| pb.finish_and_clear());
                self.overall.finish_and_clear()
            }
        }
        Ok(())
    }
}

impl Drop for Bars {
    /// Whatever ended the job, no bar is left drawn on the terminal.
    fn drop(&mut self) {
        self.bars.drain().for_each(|(_, pb)| pb.finish_and_clear());
        self.overall.finish_and_clear();
    }
}

/// Plain lines on stderr: what a CI log shows (a hidden bar would print nothing). A scenario's
/// start and end only (a run has many, each with many steps); for chaos and the drill, whose
/// units are few and long, every progress message and observation too.
#[derive(Default)]
pub struct Lines {
    scenarios: std::collections::HashSet<String>,
}

impl Reporter for Lines {
    fn event(&mut self, ev: &Event) -> Result<()> {
        match ev {
            Event::ScenarioStarted { name } => {
                self.scenarios.insert(name.clone());
                eprintln!("   start  {name}");
            }
            Event::ScenarioFinished { run } => {
                self.scenarios.remove(&run.scenario.name);
                eprintln!("{}", finished_line(run));
            }
            Event::UnitStarted { unit, about, .. } => eprintln!("       start  {unit}: {about}"),
            Event::Progress { scenario, message } if !self.scenarios.contains(scenario) => eprintln!("              {scenario}: {message}"),
            Event::Observed { scenario, ok, line } if !self.scenarios.contains(scenario) => eprintln!("            {} {scenario}: {line}", if *ok { "✓" } else { "✗" }),
            Event::UnitFinished { verdict, severity, line, .. } => eprintln!("{}", unit_line(*verdict, *severity, line)),
            Event::Note { message, .. } => eprintln!("{message}"),
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


