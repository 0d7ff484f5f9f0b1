//! `pdns-drill drill restore`: the operators' backups restored onto a lab, with evidence.

use super::{open_session, stopped, LabArgs, FAILED};
use anyhow::Result;
use pdns_drill::testbed;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `drill restore`: the backups are read before anything starts, so a missing file is exit 2
/// naming it; every finding is in the evidence and the exit code (1).
pub async fn drill_restore(a: &LabArgs, backups: &[PathBuf], backups_dir: Option<&Path>, report_dir: &Path) -> Result<ExitCode> {
    let (files, policy) = pdns_drill::drill::read_backups(backups, backups_dir, time::OffsetDateTime::now_utc())?;
    let session = open_session(a).await?;
    let run_id = testbed::new_run_id();
    let pb = super::Status::new("drill restore");
    let shown = pb.clone();
    let take_own_backup = backups.is_empty() && backups_dir.is_none();
    let inputs = pdns_drill::drill::Inputs {
        engine: session.engine.clone(),
        image: session.image.clone(),
        config: session.config.clone(),
        zone: session.zone.clone(),
        backups: files,
        take_own_backup,
        policy,
        report_dir: report_dir.to_path_buf(),
        run_id,
    };
    let done = session.until_stopped(pdns_drill::drill::restore(inputs, Box::new(move |m: &str| shown.set_message(m.to_string())))).await;
    pb.finish_and_clear();
    let (dir, ev) = match done {
        Ok(r) => r?,
        Err(s) => return Ok(stopped(&s, "the drill's lab was removed; no evidence written")),
    };
    print!("{}", pdns_drill::drill::evidence::summary(&ev));
    eprintln!("evidence in {}", dir.display());
    Ok(if ev.passed() { ExitCode::SUCCESS } else { ExitCode::from(FAILED) })
}
