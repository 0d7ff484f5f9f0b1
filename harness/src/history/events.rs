//! What happens during a run, as it happens: the runner and the run command emit these, and
//! reporters (the progress display, the plain lines of a CI log, `--progress json`, the partial
//! report writer) consume them. Nothing that emits an event prints.

use crate::history::ScenarioRun;
use serde::Serialize;
use schemars::JsonSchema;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted { run_id: String, scenarios: usize, jobs: usize, boots: usize, report_dir: String },
    ScenarioStarted { name: String },
    Progress { scenario: String, message: String },
    Observed { scenario: String, ok: bool, line: String },
    ScenarioFinished { run: Box<ScenarioRun> },
    /// The reports are written; the gate's outcome, the exit code it makes, and why.
    RunFinished { outcome: crate::claims::verdict::GateOutcome, exit_code: u8, failed: bool, reasons: Vec<String> },
    Interrupted { signal: String },
}

impl Event {
    /// The event with the operators' secrets masked: what every reporter, log line and stored
    /// history is made from.
    pub fn redacted(&self, secrets: &crate::inputs::secrets::Secrets) -> Event {
        match self {
            Event::Progress { scenario, message } => Event::Progress { scenario: scenario.clone(), message: secrets.text(message) },
            Event::Observed { scenario, ok, line } => Event::Observed { scenario: scenario.clone(), ok: *ok, line: secrets.text(line) },
            Event::ScenarioFinished { run } => match secrets.value(&**run) {
                Ok(r) => Event::ScenarioFinished { run: Box::new(r) },
                // A history that does not read back as itself cannot be shown safely at all.
                Err(e) => Event::Progress { scenario: run.scenario.name.clone(), message: format!("finished; its record could not be redacted: {e}") },
            },
            Event::RunFinished { outcome, exit_code, failed, reasons } => {
                Event::RunFinished { outcome: *outcome, exit_code: *exit_code, failed: *failed, reasons: reasons.iter().map(|r| secrets.text(r)).collect() }
            }
            e => e.clone(),
        }
    }
}
