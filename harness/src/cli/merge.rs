//! `pdns-drill merge` and `pdns-drill conclude`: verdicts, gate and reports from run directories'
//! histories alone (verdicts are a pure function of histories). `merge` joins the shards of one
//! selection (`run --partition slice:M/N` on a CI's job matrix) into the report, the gate and the
//! JUnit the whole run would have written.

use super::run::announce;
use super::MergeArgs;
use anyhow::{bail, Context, Result};
use pdns_drill::judge::gate::Baseline;
use pdns_drill::history::{RunHistory, HISTORY_FILE};
use pdns_drill::judge::model::GateOutcome;
use pdns_drill::report::run_dir::RunDir;
use pdns_drill::report::write;
use pdns_drill::inputs::secrets::Secrets;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn merge(a: &MergeArgs) -> Result<ExitCode> {
    let formats = write::parse_formats(&a.format).map_err(anyhow::Error::msg)?;
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    let shards: Vec<(PathBuf, RunHistory)> = a.run_dirs.iter().map(|d| Ok((d.clone(), RunHistory::load(&d.join(HISTORY_FILE))?))).collect::<Result<_>>()?;
    let merged = join(shards)?;
    let out = RunDir { path: a.report_dir.clone(), formats, secrets: Secrets::default() };
    finish(&out, merged, baseline.as_ref(), a.run_dirs.len())
}

/// `conclude DIR`: the verdicts and the gate again, from DIR's history alone, written back there.
pub fn conclude(dir: &Path, format: &str, baseline: Option<&Path>) -> Result<ExitCode> {
    let formats = write::parse_formats(format).map_err(anyhow::Error::msg)?;
    let baseline = baseline.map(Baseline::load).transpose()?;
    let h = RunHistory::load(&dir.join(HISTORY_FILE))?;
    let out = RunDir { path: dir.to_path_buf(), formats, secrets: Secrets::default() };
    finish(&out, h, baseline.as_ref(), 1)
}

fn finish(out: &RunDir, h: RunHistory, baseline: Option<&Baseline>, shards: usize) -> Result<ExitCode> {
    let mut report = match &h.preflight {
        Some(p) => pdns_drill::judge::conclude::preflight_report(h.run.clone(), p.clone()),
        None => pdns_drill::judge::conclude::report(h.run.clone(), &h.scenarios),
    };
    let scope: Option<BTreeSet<String>> = h.run.scope.as_ref().map(|s| s.iter().cloned().collect());
    report.gate = Some(if h.run.complete || h.preflight.is_some() {
        pdns_drill::judge::gate::decide(&report, &h.scenarios, baseline, scope.as_ref())
    } else {
        let why = format!("{} of {shards} run(s) did not finish (interrupted or failed mid-run); the verdicts are partial", if shards == 1 { "the run" } else { "a shard" });
        pdns_drill::judge::gate::unfinished(&report, baseline, GateOutcome::Undecided, GateOutcome::Undecided.exit_code(), why)
    });
    let code = report.gate.as_ref().map_or(2, |g| g.exit_code);
    let written = out.write(&h, &report)?;
    announce(&written.report, &written.paths, false);
    Ok(ExitCode::from(code))
}

/// The shards as one run: the same inputs, each scenario of the selection exactly once.
fn join(mut shards: Vec<(PathBuf, RunHistory)>) -> Result<RunHistory> {
    let Some((first_dir, first)) = shards.first().cloned() else { bail!("no run directory given") };
    for (dir, h) in &shards[1..] {
        for (field, a, b) in [
            ("config dir hash", &first.run.config_dir_hash, &h.run.config_dir_hash),
            ("zone hash", &first.run.zone_hash, &h.run.zone_hash),
            ("suite", &first.run.suite, &h.run.suite),
            ("image", &first.run.image_tag, &h.run.image_tag),
        ] {
            if a != b {
                bail!("{} and {} are not shards of one run: their {field} differs ({a} vs {b})", first_dir.display(), dir.display());
            }
        }
        if h.run.selection != first.run.selection || h.run.filters != first.run.filters {
            bail!("{} and {} are not shards of one run: they select different scenarios", first_dir.display(), dir.display());
        }
    }
    let id = format!("{}-merged", first.run.id);
    let mut seen = BTreeSet::new();
    let mut scenarios = vec![];
    for (dir, h) in &mut shards {
        // One run id throughout, so evidence reads as one run's (and compares with a baseline).
        let text = serde_json::to_string(&h.scenarios)?.replace(&h.run.id, &id);
        let runs: Vec<pdns_drill::history::ScenarioRun> = serde_json::from_str(&text).context("re-reading a shard's scenarios")?;
        for r in runs {
            if !seen.insert(r.scenario.name.clone()) {
                bail!("scenario {} is in more than one shard ({} is one)", r.scenario.name, dir.display());
            }
            scenarios.push(r);
        }
    }
    let complete = shards.iter().all(|(_, h)| h.run.complete);
    let missing: Vec<&String> = first.run.selection.iter().filter(|n| !seen.contains(*n)).collect();
    let preflight = shards.iter().find_map(|(_, h)| h.preflight.clone());
    if !missing.is_empty() && complete && preflight.is_none() {
        bail!("no shard ran {} (a shard missing from the merge?)", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
    }
    // Report order follows the selection, as in the whole run.
    scenarios.sort_by_key(|r| first.run.selection.iter().position(|n| *n == r.scenario.name));
    let mut run = first.run.clone();
    run.id = id;
    run.partition = None;
    run.scope = first.run.selection_scope.clone();
    run.complete = complete;
    run.started_at = shards.iter().map(|(_, h)| h.run.started_at.clone()).min().unwrap_or_default();
    run.finished_at = if complete { shards.iter().filter_map(|(_, h)| h.run.finished_at.clone()).max() } else { None };
    for (_, h) in &shards {
        run.pdns_version = run.pdns_version.or(h.run.pdns_version.clone());
        run.recursor_version = run.recursor_version.or(h.run.recursor_version.clone());
        if run.dropins.is_empty() {
            run.dropins = h.run.dropins.clone();
        }
    }
    Ok(RunHistory { schema: first.schema, run, scenarios, preflight })
}
