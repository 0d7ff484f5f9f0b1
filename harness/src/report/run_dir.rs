//! A run's directory: every artefact of one run (`history.json`, the reports, `gate.json`),
//! written with the operators' secrets masked, whoever writes it (`run` after each scenario and
//! at the end, `merge`, `conclude`).

use crate::judge::model::Report;
use super::write::{self, Format};
use crate::history::{RunHistory, HISTORY_FILE};
use crate::inputs::secrets::Secrets;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The link in the default report directory to the newest run's directory.
pub const LATEST: &str = "latest";

pub struct RunDir {
    pub path: PathBuf,
    pub formats: Vec<Format>,
    pub secrets: Secrets,
}

/// What `RunDir::write` wrote: the files, and the report as written (secrets masked), for
/// whatever prints it next.
pub struct Written {
    pub paths: Vec<PathBuf>,
    pub report: Report,
}

impl RunDir {
    /// Writes the history and every report (the gate too, when decided).
    pub fn write(&self, history: &RunHistory, report: &Report) -> Result<Written> {
        let history = self.secrets.value(history).context("masking secrets in history.json")?;
        let report = self.secrets.value(report).context("masking secrets in the report")?;
        std::fs::create_dir_all(&self.path).with_context(|| format!("creating {}", self.path.display()))?;
        let path = self.path.join(HISTORY_FILE);
        crate::files::write_atomic(&path, &serde_json::to_vec_pretty(&history)?).with_context(|| format!("writing {}", path.display()))?;
        let mut paths = vec![path];
        paths.extend(write::write_all(&report, &self.path, &self.formats)?);
        Ok(Written { paths, report })
    }
}

/// Points `<parent>/latest` at `run_dir` (a relative symlink, replaced atomically), so scripts
/// and people find the newest run without listing run ids.
#[cfg(unix)]
pub fn link_latest(run_dir: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (run_dir.parent(), run_dir.file_name()) else { return Ok(()) };
    let tmp = parent.join(format!(".{LATEST}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp).with_context(|| format!("linking {}", tmp.display()))?;
    std::fs::rename(&tmp, parent.join(LATEST)).with_context(|| format!("replacing {}", parent.join(LATEST).display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn every_artefact_is_masked_and_latest_follows_the_newest_run() {
        let root = tempfile::tempdir().unwrap();
        let mut report = sample_report();
        report.run.mappings.push("api-key=Top-Secret-1".into());
        report.claims[0].evidence[0].observed = "api-key=Top-Secret-1".into();
        report.gate = Some(crate::judge::gate::decide(&report, &[], None, None));
        let history = RunHistory { schema: crate::history::HISTORY_SCHEMA, run: report.run.clone(), scenarios: vec![], preflight: None };
        let dir = RunDir { path: root.path().join("run-1"), formats: Format::ALL.to_vec(), secrets: Secrets::from_values(["Top-Secret-1".to_string()]) };
        let written = dir.write(&history, &report).unwrap();
        assert!(written.paths.iter().any(|p| p.ends_with("gate.json")));
        assert!(!serde_json::to_string(&written.report).unwrap().contains("Top-Secret-1"), "the report handed back is the one written");
        for p in written.paths {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(!text.contains("Top-Secret-1"), "{} leaks the secret", p.display());
        }
        link_latest(&dir.path).unwrap();
        link_latest(&root.path().join("run-2")).unwrap();
        assert_eq!(std::fs::read_link(root.path().join(LATEST)).unwrap(), Path::new("run-2"));
    }
}
