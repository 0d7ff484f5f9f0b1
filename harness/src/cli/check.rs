//! `pdns-drill check`: what `run` verifies before it touches Docker, and nothing after it, so a
//! config repository's lint job gets the same verdict on its inputs in seconds, with no engine.

use super::{load_inputs, CheckArgs};
use anyhow::Result;
use pdns_drill::scenario::facts::LabFacts;
use pdns_drill::scenario::plan::{self, Resolved};
use pdns_drill::scenario::{self, Scenario};
use pdns_drill::testbed::config::{ConfigDir, ZoneInput};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code for bad input, as everywhere else in the binary.
const BAD_INPUT: u8 = 2;

/// Everything found, printed as text or as one JSON document.
#[derive(serde::Serialize, Default)]
struct Checked {
    inputs: Option<Inputs>,
    mappings: Vec<String>,
    scenarios: Vec<Row>,
    problems: Vec<String>,
}

#[derive(serde::Serialize)]
struct Inputs {
    config_dir: String,
    config_dir_hash: String,
    zone_file: String,
    zone_hash: String,
    zone: String,
    suite: &'static str,
    recursor_settings: &'static str,
}

#[derive(serde::Serialize)]
struct Row {
    name: String,
    claims: Vec<String>,
    status: &'static str,
    reason: Option<String>,
}

pub fn check(a: &CheckArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    let c = inspect(a);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", render(&c));
        println!("{} ({:.2} s)", summary(&c), t0.elapsed().as_secs_f64());
    }
    // The problems go to stderr in both forms: that is where a CI log shows failures.
    for p in &c.problems {
        eprintln!("error: {p}");
    }
    Ok(if c.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(BAD_INPUT) })
}

/// The scenarios and the inputs are checked independently, so one run names both kinds of
/// problem; scenarios are planned only against inputs that loaded.
fn inspect(a: &CheckArgs) -> Checked {
    let mut c = Checked::default();
    let selected = selected(a).unwrap_or_else(|e| {
        c.problems.push(format!("{e:#}"));
        Vec::new()
    });
    match inputs(a) {
        Ok((config, zone, facts)) => {
            c.inputs = Some(Inputs {
                config_dir: config.path.display().to_string(),
                config_dir_hash: config.hash.clone(),
                zone_file: zone.path.display().to_string(),
                zone_hash: zone.hash.clone(),
                zone: facts.zone.clone(),
                suite: a.lab.image.suite.as_str(),
                recursor_settings: config.recursor_settings.as_str(),
            });
            c.mappings = pdns_drill::testbed::mapping::describe(&config);
            c.scenarios = selected.iter().map(|s| row(s, plan::resolve(s, &facts))).collect();
        }
        Err(e) => c.problems.push(format!("{e:#}")),
    }
    c
}

fn selected(a: &CheckArgs) -> Result<Vec<Scenario>> {
    let all = scenario::load_dir(&pdns_drill::testbed::config::scenarios_dir(&a.scenarios))?;
    match pdns_drill::scenario::selection::Selection::choose(&all, &a.filters, None) {
        Some(chosen) => Ok(chosen.wanted),
        None => anyhow::bail!("no scenario in {} matches {:?}", a.scenarios.display(), a.filters),
    }
}

fn inputs(a: &CheckArgs) -> Result<(ConfigDir, ZoneInput, LabFacts)> {
    let (config, zone) = load_inputs(&a.lab)?;
    let facts = LabFacts::read(&config, &zone.journal)?;
    Ok((config, zone, facts))
}

fn row(s: &Scenario, r: Resolved) -> Row {
    let (status, reason) = match r {
        Resolved::Ready(_) => ("would-run", None),
        Resolved::NotSimulated(why) => ("not-simulated", Some(why)),
    };
    Row { name: s.name.clone(), claims: s.claims.iter().map(|c| c.as_str().to_string()).collect(), status, reason }
}

fn render(c: &Checked) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if let Some(i) = &c.inputs {
        let _ = writeln!(out, "inputs");
        let _ = writeln!(out, "  config dir  {}  sha256 {}", i.config_dir, i.config_dir_hash);
        let _ = writeln!(out, "  zone file   {}  sha256 {}  (zone {})", i.zone_file, i.zone_hash, i.zone);
        let _ = writeln!(out, "  suite {}, recursor settings {}", i.suite, i.recursor_settings);
        let _ = writeln!(out, "address mapping");
        for m in &c.mappings {
            let _ = writeln!(out, "  {m}");
        }
    }
    if !c.scenarios.is_empty() {
        let _ = writeln!(out, "scenarios");
    }
    let w = c.scenarios.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in &c.scenarios {
        let _ = writeln!(out, "  {:<14} {:<w$} {}", r.status, r.name, r.claims.join(","));
        if let Some(why) = &r.reason {
            let _ = writeln!(out, "  {:<14} {why}", "");
        }
    }
    out
}

fn summary(c: &Checked) -> String {
    let run = c.scenarios.iter().filter(|r| r.reason.is_none()).count();
    let verdict = match c.problems.len() {
        0 => "inputs valid".to_string(),
        n => format!("{n} problem(s)"),
    };
    format!("check: {verdict}; {} scenario(s): {run} would run, {} not-simulated", c.scenarios.len(), c.scenarios.len() - run)
}
