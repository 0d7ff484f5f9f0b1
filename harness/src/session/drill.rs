//! `drill restore` as the library does it: the operators' backups restored onto a lab of this
//! session, raced against signals, told as the events every job speaks (secrets masked).
//! Prints nothing: the caller hears the events and gets how it ended.

use super::{Session, Stopped};
use crate::drill::backup_check::{BackupFile, Policy};
use crate::drill::evidence::Evidence;
use crate::history::events::{Event, Job};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// What the drill restores: the backups as read before anything started (newest first), or
/// none and the lab's own backup taken instead.
pub struct Request {
    pub backups: Vec<BackupFile>,
    pub policy: Option<Policy>,
    /// No backup was named (an empty backups directory is a finding, not this).
    pub take_own_backup: bool,
    pub report_dir: PathBuf,
}

/// How the drill ended.
pub enum Finished {
    /// The evidence as written, and its directory.
    Done { dir: PathBuf, evidence: Box<Evidence> },
    /// A signal stopped it; the lab removed, no evidence written.
    Stopped(Stopped),
}

impl Session {
    pub async fn drill_restore(&self, req: Request, mut on: impl FnMut(&Event)) -> Result<Finished> {
        let run_id = crate::testbed::new_run_id();
        let mut tell = |e: Event| on(&e.redacted(&self.secrets));
        tell(Event::JobStarted { job: Job::Drill, id: run_id.clone(), report_dir: req.report_dir.display().to_string(), units: Some(req.backups.len().max(usize::from(req.take_own_backup))) });
        let inputs = crate::drill::Inputs {
            engine: self.engine.clone(),
            image: self.image.clone(),
            config: self.config.clone(),
            zone: self.zone.clone(),
            backups: req.backups,
            take_own_backup: req.take_own_backup,
            policy: req.policy,
            report_dir: req.report_dir,
            run_id,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let work = tokio::spawn(crate::drill::restore(inputs, Box::new(move |e| {
            let _ = tx.send(e);
        })));
        let (dir, evidence) = match self.follow(work, rx, &mut tell).await {
            Ok(done) => match done.context("the restore drill panicked").and_then(|r| r) {
                Ok(d) => d,
                Err(e) => {
                    tell(Event::job_errored(Job::Drill, &e));
                    return Err(e);
                }
            },
            Err(stopped) => {
                tell(Event::Interrupted { signal: stopped.signal.name().into() });
                return Ok(Finished::Stopped(stopped));
            }
        };
        let failed = !evidence.passed();
        let mut reasons: Vec<String> = evidence.backups.iter().filter(|b| b.verdict != crate::drill::restore::Verdict::Complete).map(|b| format!("{}: {}", b.check.file.name, b.verdict_text)).collect();
        reasons.extend(evidence.error.iter().map(|e| format!("the drill could not finish: {e}")));
        if evidence.backups.is_empty() && evidence.error.is_none() {
            reasons.push("no backup was restored".into());
        }
        tell(Event::JobFinished { job: Job::Drill, exit_code: u8::from(failed), failed, reasons });
        Ok(Finished::Done { dir, evidence: Box::new(evidence) })
    }
}
