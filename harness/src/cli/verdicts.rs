//! Verdicts as the terminal shows them, and the commands that read reports: the baseline
//! approved from a report, two reports compared.

use super::{CompareArgs, FAILED};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The verdicts as a terminal table: claim, verdict, severity, parts, scenario, timings.
pub fn verdict_table(r: &pdns_drill::judge::model::Report) -> String {
    use pdns_drill::claims::verdict::Verdict;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "\n{:<20} {:<13} {:<16} {:<40} {:<26} {:>8} {:>8}", "CLAIM", "VERDICT", "SEVERITY", "PARTS", "SCENARIO", "DETECT", "RECOVER");
    let ms = |m: Option<u64>| m.map_or("-".to_string(), |m| format!("{:.1} s", m as f64 / 1000.0));
    for c in &r.claims {
        let scen = c.scenario.as_deref().unwrap_or("-");
        let scen = match scen.split_once(", ") {
            Some((first, rest)) => format!("{first} +{}", rest.split(", ").count()),
            None => scen.to_string(),
        };
        let parts: String = c
            .parts
            .iter()
            .map(|p| format!("{}{}", &p.part.as_str()[..4], p.verdict.mark().unwrap_or('-')))
            .collect::<Vec<_>>()
            .join(" ");
        let sev = c.severity.map_or("", |s| s.as_str());
        let _ = writeln!(o, "{:<20} {:<13} {:<16} {:<40} {:<26} {:>8} {:>8}", c.id, c.verdict.as_str(), sev, parts, scen, ms(c.detect_ms), ms(c.recover_ms));
    }
    let count = |v: Verdict| r.claims.iter().filter(|c| c.verdict == v).count();
    let _ = writeln!(
        o,
        "\n{} confirmed, {} contradicted, {} unchecked, {} not-simulated, {} errored",
        count(Verdict::Confirmed),
        count(Verdict::Contradicted),
        count(Verdict::Unchecked),
        count(Verdict::NotSimulated),
        count(Verdict::Errored)
    );
    let interpreted = r.claims.iter().filter(|c| matches!(c.basis, Some(pdns_drill::claims::verdict::Basis::Interpretation(_)))).count();
    if count(Verdict::Contradicted) > 0 {
        let _ = writeln!(o, "contradictions: {} on the runbook as written, {interpreted} on the harness's interpretation (report.md: Findings)", count(Verdict::Contradicted) - interpreted);
    }
    o
}

pub fn print_verdicts(r: &pdns_drill::judge::model::Report) {
    print!("{}", verdict_table(r));
}

pub fn baseline_accept(from: Option<&Path>, to: &Path) -> Result<ExitCode> {
    let from = match from {
        Some(f) => f.to_path_buf(),
        None => newest_report(Path::new("reports"))?,
    };
    let report: pdns_drill::judge::model::Report =
        serde_json::from_slice(&std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?)
            .with_context(|| format!("{} is not a pdns-drill report", from.display()))?;
    if !report.run.complete {
        bail!("{} is from an incomplete run; refusing to approve it", from.display());
    }
    let snap = pdns_drill::judge::snapshot::from_report(&report);
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    pdns_drill::judge::snapshot::save(to, &snap)?;
    eprintln!("baseline {} written from {}", to.display(), from.display());
    Ok(ExitCode::SUCCESS)
}

/// `compare`: exit 1 when a verdict differs; unreadable input is an error (exit 2).
pub fn compare(a: &CompareArgs) -> Result<ExitCode> {
    use pdns_drill::report::compare;
    let read = |which: &str, path: &Path| -> Result<compare::Side> {
        let text = std::fs::read_to_string(path).with_context(|| format!("report {which} {}: cannot read it", path.display()))?;
        compare::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("report {which} {}: {e}", path.display()))
    };
    let c = compare::compare(&read("A", &a.a)?, &read("B", &a.b)?);
    let md = compare::render_md(&c);
    match &a.out {
        Some(path) => pdns_drill::files::write_atomic(path, md.as_bytes()).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{md}"),
    }
    if let Some(path) = &a.json {
        pdns_drill::files::write_atomic(path, compare::render_json(&c).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let differ = c.claims.iter().filter(|r| r.differs()).count();
    eprintln!("compare: {}", if differ == 0 { "every verdict the same".to_string() } else { format!("{differ} claim(s) differ") });
    Ok(if c.differs() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
}

pub fn newest_report(dir: &Path) -> Result<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("report.json")))
        .filter(|p| p.is_file())
        .collect();
    runs.sort();
    runs.pop().with_context(|| format!("no report.json under {}", dir.display()))
}
