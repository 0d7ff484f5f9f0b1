//! The run directory kept current while a run goes on: after every scenario the history and
//! every report are written again, so a run stopped at any point leaves valid reports (marked
//! incomplete, claims still to be decided `pending`).

use crate::history::events::Event;
use crate::history::{RunHistory, RunInfo, ScenarioRun, HISTORY_SCHEMA};
use crate::judge::model::{Preflight, Report};
use crate::report::run_dir::{RunDir, Written};
use anyhow::Result;
use std::path::PathBuf;

/// Rewrites `history.json` and the reports after every scenario, so a run stopped at any point
/// leaves valid reports (marked incomplete).
pub struct PartialReports {
    pub out: RunDir,
    pub run: RunInfo,
    pub finished: Vec<ScenarioRun>,
    /// Every scenario of the run, so claims still to be decided read `pending`.
    pub planned: Vec<crate::history::ScenarioInfo>,
}

impl PartialReports {
    fn history(&self, run: RunInfo, preflight: Option<Preflight>) -> RunHistory {
        RunHistory { schema: HISTORY_SCHEMA, run, scenarios: self.finished.clone(), preflight }
    }

    /// The history and every report while the run goes on; claims still to be decided pending.
    pub fn write(&self, run: RunInfo) -> Result<Vec<PathBuf>> {
        let still: Vec<_> = self.planned.iter().filter(|p| !self.finished.iter().any(|f| f.scenario.name == p.name)).cloned().collect();
        let report = crate::judge::conclude::partial_report(run.clone(), &self.finished, &still);
        Ok(self.out.write(&self.history(run, None), &report)?.paths)
    }

    /// The history and `report` as concluded (its gate decided; its preflight, if it failed).
    pub fn write_report(&self, report: &Report) -> Result<Written> {
        self.out.write(&self.history(report.run.clone(), report.preflight.clone()), report)
    }

    /// Takes a finished scenario in and rewrites everything; other events change nothing.
    pub fn event(&mut self, ev: &Event) -> Result<()> {
        if let Event::ScenarioFinished { run } = ev {
            self.finished.push((**run).clone());
            self.write(self.info(false))?;
        }
        Ok(())
    }

    /// The run info with what the scenarios so far tell (versions, drop-ins).
    pub fn info(&self, complete: bool) -> RunInfo {
        let mut run = self.run.clone();
        run.complete = complete;
        run.finished_at = complete.then(crate::clock::now);
        if let Some(v) = self.finished.iter().map(|r| r.versions.clone()).find(|v| v.0.is_some()) {
            (run.pdns_version, run.recursor_version) = v;
        }
        if let Some(d) = self.finished.iter().map(|r| r.dropins.clone()).find(|d| !d.is_empty()) {
            run.dropins = d;
        }
        run
    }
}

