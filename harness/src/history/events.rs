//! What happens while a job runs, as it happens: the one stream every job (`run`, `chaos`,
//! `drill restore`) emits and every reporter consumes (the progress display, the plain lines of
//! a CI log, `--progress json`, the partial report writer). Nothing that emits an event prints.
//!
//! A run speaks in scenarios; a chaos campaign and the restore drill speak in units (a chaos
//! run, a shrink, a reproducer's verification, a backup restored), each ending with a verdict in
//! the claims' own vocabulary. `progress`, `observed` and `interrupted` are every job's: their
//! `scenario` field names the scenario or the unit.

use crate::claims::verdict::Verdict;
use crate::claims::Severity;
use crate::history::ScenarioRun;
use schemars::JsonSchema;
use serde::Serialize;

/// The three jobs that emit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    Run,
    Chaos,
    Drill,
}

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
    /// A chaos campaign or a restore drill began; `units` when known beforehand.
    JobStarted { job: Job, id: String, report_dir: String, units: Option<usize> },
    /// Something said once, not about one unit (a fault this lab cannot take).
    Note { job: Job, message: String },
    /// One unit of a chaos campaign or the drill began; `about` says what it does.
    UnitStarted { job: Job, unit: String, about: String },
    /// It ended, judged in the claims' vocabulary: `severity` goes with a contradiction.
    UnitFinished { job: Job, unit: String, verdict: Verdict, severity: Option<Severity>, line: String },
    /// The job's reports are written: the exit code it makes, and why when it failed.
    JobFinished { job: Job, exit_code: u8, failed: bool, reasons: Vec<String> },
}

impl Event {
    /// A chaos campaign or a drill that ended in an error (exit 2): its stream ends too.
    pub fn job_errored(job: Job, e: &anyhow::Error) -> Event {
        Event::JobFinished { job, exit_code: 2, failed: true, reasons: vec![format!("{e:#}")] }
    }

    /// The event with the operators' secrets masked: what every reporter, log line and stored
    /// history is made from.
    pub fn redacted(&self, secrets: &crate::inputs::secrets::Secrets) -> Event {
        let t = |s: &String| secrets.text(s);
        match self {
            Event::Progress { scenario, message } => Event::Progress { scenario: t(scenario), message: t(message) },
            Event::Observed { scenario, ok, line } => Event::Observed { scenario: t(scenario), ok: *ok, line: t(line) },
            Event::ScenarioFinished { run } => match secrets.value(&**run) {
                Ok(r) => Event::ScenarioFinished { run: Box::new(r) },
                // A history that does not read back as itself cannot be shown safely at all.
                Err(e) => Event::Progress { scenario: run.scenario.name.clone(), message: format!("finished; its record could not be redacted: {e}") },
            },
            Event::RunFinished { outcome, exit_code, failed, reasons } => {
                Event::RunFinished { outcome: *outcome, exit_code: *exit_code, failed: *failed, reasons: reasons.iter().map(t).collect() }
            }
            Event::Note { job, message } => Event::Note { job: *job, message: t(message) },
            Event::UnitStarted { job, unit, about } => Event::UnitStarted { job: *job, unit: t(unit), about: t(about) },
            Event::UnitFinished { job, unit, verdict, severity, line } => {
                Event::UnitFinished { job: *job, unit: t(unit), verdict: *verdict, severity: *severity, line: t(line) }
            }
            Event::JobFinished { job, exit_code, failed, reasons } => {
                Event::JobFinished { job: *job, exit_code: *exit_code, failed: *failed, reasons: reasons.iter().map(t).collect() }
            }
            Event::JobStarted { job, id, report_dir, units } => Event::JobStarted { job: *job, id: id.clone(), report_dir: t(report_dir), units: *units },
            e @ (Event::RunStarted { .. } | Event::ScenarioStarted { .. } | Event::Interrupted { .. }) => e.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_event_is_masked() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pdns.conf"), "api-key=s3cr3t-key-value\n").unwrap();
        let secrets = crate::inputs::secrets::Secrets::from_dir(d.path());
        let leak = "saw s3cr3t-key-value";
        for e in [
            Event::Note { job: Job::Chaos, message: leak.into() },
            Event::UnitStarted { job: Job::Drill, unit: "restore b".into(), about: leak.into() },
            Event::UnitFinished { job: Job::Chaos, unit: "run 0".into(), verdict: Verdict::Contradicted, severity: Some(Severity::RecoveryFails), line: leak.into() },
            Event::JobFinished { job: Job::Drill, exit_code: 1, failed: true, reasons: vec![leak.into()] },
            Event::Observed { scenario: "restore b".into(), ok: false, line: leak.into() },
        ] {
            let json = serde_json::to_string(&e.redacted(&secrets)).unwrap();
            assert!(!json.contains("s3cr3t-key-value"), "{json}");
            assert!(json.contains("redacted"), "{json}");
        }
    }
}
