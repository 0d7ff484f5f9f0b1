//! `pdns-drill drill restore`: the operators' backups restored onto a lab, with evidence.

use super::reporters::{display, print_summary, show, Progress};
use super::{open_session, stopped, LabArgs, FAILED};
use anyhow::Result;
use pdns_drill::history::events::Event;
use pdns_drill::session::drill::{Finished, Request};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `drill restore`: the backups are read before anything starts, so a missing file is exit 2
/// naming it; every finding is in the evidence and the exit code (1).
pub async fn drill_restore(a: &LabArgs, backups: &[PathBuf], backups_dir: Option<&Path>, report_dir: &Path, progress: Progress) -> Result<ExitCode> {
    let (files, policy) = pdns_drill::drill::read_backups(backups, backups_dir, time::OffsetDateTime::now_utc())?;
    let session = open_session(a).await?;
    let request = Request { backups: files, policy, take_own_backup: backups.is_empty() && backups_dir.is_none(), report_dir: report_dir.to_path_buf() };
    let mut shown = display(progress);
    let (dir, ev) = match session.drill_restore(request, |e: &Event| show(shown.as_mut(), e)).await? {
        Finished::Done { dir, evidence } => (dir, evidence),
        Finished::Stopped(s) => return Ok(stopped(&s, "the drill's lab was removed; no evidence written")),
    };
    print_summary(progress, &pdns_drill::drill::evidence::summary(&ev));
    eprintln!("evidence in {}", dir.display());
    Ok(if ev.passed() { ExitCode::SUCCESS } else { ExitCode::from(FAILED) })
}
