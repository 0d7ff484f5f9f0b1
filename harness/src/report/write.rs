//! Writing reports to disk. Every file is replaced atomically, so a run interrupted at any point
//! leaves the previous complete version or the new one, never half a file. The runner calls
//! `write_all` after every scenario (with `run.complete = false`) and once at the end.

use crate::files::write_atomic;
use super::common::timeline_rel_path;
use crate::judge::model::Report;
use super::{html, junit, md, svg};
use anyhow::Context;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An output format of `write_all`, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Md,
    Json,
    Junit,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Md, Format::Json, Format::Junit, Format::Html];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }

    /// The file this format is written to inside the report directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Md => "report.md",
            Format::Json => "report.json",
            Format::Junit => "junit.xml",
            Format::Html => "report.html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Md),
            "json" => Ok(Format::Json),
            "junit" | "xml" => Ok(Format::Junit),
            "html" => Ok(Format::Html),
            _ => Err(format!("unknown report format `{}` (expected a comma-separated list of md, json, junit, html)", s.trim())),
        }
    }
}

/// Parses "md,json,junit,html" (any subset, any order); duplicates are dropped, order kept.
pub fn parse_formats(s: &str) -> Result<Vec<Format>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        let f: Format = part.parse()?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err("no report format given (expected a comma-separated list of md, json, junit, html)".into());
    }
    Ok(out)
}


/// Renders `report` in each format into `dir` (created if needed) and returns the paths
/// written, timelines included. Markdown and HTML also get `timelines/<scenario>.svg`; a
/// report with its gate decided also gets `gate.json`.
pub fn write_all(report: &Report, dir: &Path, formats: &[Format]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating report directory {}", dir.display()))?;
    let mut written = Vec::new();
    let mut put = |rel: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = dir.join(rel);
        write_atomic(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };

    // The model first: it is what every other file is rendered from.
    let mut ordered: Vec<Format> = formats.to_vec();
    ordered.sort();
    ordered.dedup();
    ordered.sort_by_key(|f| *f != Format::Json);

    for f in &ordered {
        let bytes = match f {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(report).context("serialising report.json")?;
                s.push('\n');
                s.into_bytes()
            }
            Format::Md => md::render(report).into_bytes(),
            Format::Junit => junit::render(report).context("rendering junit.xml")?.into_bytes(),
            Format::Html => html::render(report).into_bytes(),
        };
        put(f.file_name(), &bytes)?;
    }

    if let Some(g) = &report.gate {
        let mut text = serde_json::to_string_pretty(g).context("serialising gate.json")?;
        text.push('\n');
        put(crate::judge::model::GATE_FILE, text.as_bytes())?;
    }

    if ordered.iter().any(|f| matches!(f, Format::Md | Format::Html)) && !report.scenarios.is_empty() {
        let timelines = dir.join("timelines");
        std::fs::create_dir_all(&timelines).with_context(|| format!("creating {}", timelines.display()))?;
        for s in &report.scenarios {
            put(&timeline_rel_path(&s.name), svg::timeline(s).as_bytes())?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(entries(dir.path()), vec!["report.json"]);
    }

    #[test]
    fn write_atomic_failure_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty directory fails.
        let target = dir.path().join("occupied");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        assert_eq!(entries(dir.path()), vec!["occupied"]);
    }

    #[test]
    fn parse_formats_accepts_lists_and_names_the_unknown() {
        assert_eq!(parse_formats("md,json,junit,html").unwrap(), Format::ALL.to_vec());
        assert_eq!(parse_formats(" json , md,json").unwrap(), vec![Format::Json, Format::Md]);
        let err = parse_formats("md,pdf").unwrap_err();
        assert!(err.contains("`pdf`"), "{err}");
        assert!(parse_formats("").is_err());
    }

    #[test]
    fn write_all_writes_every_format_and_timelines() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reports");
        let r = sample_report();
        let paths = write_all(&r, &out, &Format::ALL).unwrap();
        assert_eq!(entries(&out), vec!["junit.xml", "report.html", "report.json", "report.md", "timelines"]);
        assert_eq!(paths.len(), 4 + r.scenarios.len());
        let mut svgs = entries(&out.join("timelines"));
        svgs.sort();
        let mut want: Vec<String> = r.scenarios.iter().map(|s| format!("{}.svg", s.name)).collect();
        want.sort();
        assert_eq!(svgs, want);
        // report.json reads back as the same report, marked incomplete
        let back: Report = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(!back.run.complete);
        // every timeline linked from report.md exists
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        for link in md.lines().filter_map(|l| l.strip_prefix("![timeline](").and_then(|l| l.strip_suffix(')'))) {
            assert!(out.join(link).is_file(), "{link}");
        }
    }

    #[test]
    fn json_only_writes_no_timelines() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_all(&sample_report(), dir.path(), &[Format::Json]).unwrap();
        assert_eq!(paths, vec![dir.path().join("report.json")]);
        assert_eq!(entries(dir.path()), vec!["report.json"]);
    }

    /// `tests/fixtures/report-sample.json` is `sample_report()` on disk, for tests that start
    /// from a file. Regenerate with `PDNS_DRILL_UPDATE_FIXTURES=1 cargo test --lib report::`.
    #[test]
    fn fixture_file_matches_sample_report() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-sample.json");
        let mut want = serde_json::to_string_pretty(&sample_report()).unwrap();
        want.push('\n');
        if std::env::var_os("PDNS_DRILL_UPDATE_FIXTURES").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            write_atomic(&path, want.as_bytes()).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "{} is stale; regenerate with PDNS_DRILL_UPDATE_FIXTURES=1", path.display());
        let parsed: Report = serde_json::from_str(&have).unwrap();
        assert_eq!(parsed, sample_report());
    }

    #[test]
    fn json_snapshot() {
        // Timings become "[ms]" where present (absent milestones stay null); addresses in
        // evidence strings are redacted the way the CI snapshot redacts them.
        let ms = || insta::dynamic_redaction(|v, _| if v.as_u64().is_some() { "[ms]".into() } else { v });
        let addr = || {
            insta::dynamic_redaction(|v, _| match v.as_str() {
                Some(s) => crate::judge::snapshot::redact_addresses(s).into(),
                None => v,
            })
        };
        insta::assert_json_snapshot!(sample_report(), {
            ".claims[].detect_ms" => ms(),
            ".claims[].recover_ms" => ms(),
            ".claims[].evidence[].at_ms" => ms(),
            ".claims[].correction.evidence[].at_ms" => ms(),
            ".scenarios[].wall_ms" => ms(),
            ".scenarios[].timeline.*" => ms(),
            ".claims[].evidence[].action" => addr(),
            ".claims[].evidence[].observed" => addr(),
            ".claims[].correction.evidence[].action" => addr(),
            ".claims[].correction.evidence[].observed" => addr(),
        });
    }
}
