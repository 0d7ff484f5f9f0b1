//! `chaos` as the library does it: a campaign on a session, its report kept current as runs,
//! shrinks and reproducers come, and finished, or stopped by a signal with the report marked
//! incomplete. Prints nothing: the caller hears the events every job speaks (secrets masked)
//! and gets how it ended.

use super::{Session, Stopped};
use crate::chaos::report::{self, CampaignInfo, ChaosReport};
use crate::chaos::{self, Record, Settings};
use crate::history::events::{Event, Job};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A campaign about to start: its id and report directory are known before the first run.
pub struct Campaign<'a> {
    session: &'a Session,
    settings: Settings,
    pub run_id: String,
    pub dir: PathBuf,
}

/// How a campaign ended.
pub enum Finished {
    /// Every run done (or the time up): the report as written, and its files.
    Done { report: ChaosReport, written: Vec<PathBuf> },
    /// A signal stopped it; every lab removed, the report marked incomplete (or why it could
    /// not be written).
    Stopped { stopped: Stopped, partial: Result<PathBuf, String> },
}

impl<'a> Campaign<'a> {
    pub fn new(session: &'a Session, settings: Settings, report_dir: &Path) -> Campaign<'a> {
        let run_id = crate::testbed::new_run_id();
        let dir = report_dir.join(format!("chaos-{run_id}"));
        Campaign { session, settings, run_id, dir }
    }

    /// Runs the campaign; each record goes into the report, rewritten as it grows, and to `on`
    /// as events.
    pub async fn run(self, mut on: impl FnMut(&Event)) -> Result<Finished> {
        let s = self.session;
        let mut report = ChaosReport::new(CampaignInfo {
            id: self.run_id.clone(),
            started_at: crate::clock::now(),
            finished_at: None,
            complete: false,
            stopped_by: None,
            settings: self.settings.clone(),
            image_tag: s.image.clone(),
            config_dir: s.config.path.display().to_string(),
            zone_file: s.zone.path.display().to_string(),
        });
        // One lab at a time, each fresh: a run's faults are its own.
        let inputs = chaos::Inputs { lab: s.runner_inputs(&self.run_id, 1), dir: self.dir.clone() };
        let mut tell = |e: Event| on(&e.redacted(&s.secrets));
        tell(Event::JobStarted { job: Job::Chaos, id: self.run_id.clone(), report_dir: self.dir.display().to_string(), units: None });
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Record>();
        let work = tokio::spawn(chaos::campaign(inputs, self.settings.clone(), tx));
        let mut unwritten = None;
        let followed = s
            .follow(work, rx, |rec: Record| {
                rec.events(&self.dir).into_iter().for_each(&mut tell);
                if report.apply(&rec) {
                    if let Err(e) = report::write(&report, &self.dir, &s.secrets) {
                        unwritten.get_or_insert(e);
                    }
                }
            })
            .await;
        if let Some(e) = unwritten {
            let e = e.context("writing the chaos report");
            tell(Event::job_errored(Job::Chaos, &e));
            return Err(e);
        }
        let finished = match followed {
            Ok(f) => f,
            Err(stopped) => {
                tell(Event::Interrupted { signal: stopped.signal.name().into() });
                report.finish(false, Some(stopped.signal.name()));
                let partial = report::write(&report, &self.dir, &s.secrets).map(|_| self.dir.clone()).map_err(|e| format!("{e:#}"));
                return Ok(Finished::Stopped { stopped, partial });
            }
        };
        report.finish(true, None);
        let written = match finished.context("the chaos campaign panicked").and_then(|r| r).and_then(|()| report::write(&report, &self.dir, &s.secrets)) {
            Ok(w) => w,
            Err(e) => {
                tell(Event::job_errored(Job::Chaos, &e));
                return Err(e);
            }
        };
        let reasons: Vec<String> = report.summary.properties.iter().filter(|p| p.violated > 0).map(|p| format!("{}: violated in {} run(s)", p.property.map_or("?", |x| x.id()), p.violated)).collect();
        tell(Event::JobFinished { job: Job::Chaos, exit_code: u8::from(report.violated()), failed: report.violated(), reasons });
        Ok(Finished::Done { report, written })
    }
}
