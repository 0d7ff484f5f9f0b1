//! What happens during a run, as it happens: the runner and the run command emit these, and
//! reporters (the progress display, the plain lines of a CI log, `--progress json`, the partial
//! report writer) consume them. Nothing that emits an event prints.

use crate::history::ScenarioRun;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted { run_id: String, scenarios: usize, jobs: usize, boots: usize, report_dir: String },
    ScenarioStarted { name: String },
    Progress { scenario: String, message: String },
    Observed { scenario: String, ok: bool, line: String },
    ScenarioFinished { run: Box<ScenarioRun> },
    /// The reports are written; `failed` and `reasons` as the exit code will say.
    RunFinished { failed: bool, reasons: Vec<String> },
    Interrupted { signal: String },
}
