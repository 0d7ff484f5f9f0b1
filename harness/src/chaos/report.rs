//! The campaign's report: `chaos.json` (the model), `chaos.md`, and `junit.xml` with one test
//! case per property. Built from the campaign's events, so an interrupted campaign still
//! leaves a valid report, marked incomplete. The summary is a pure function of what was
//! recorded.

// One escaper for every Markdown table: `|`, newlines and `<`/`>` (command output) made safe.
use crate::report::md::cell;
use super::follow::End;
use super::properties::{Check, Property};
use super::{Record, Reproducer, RunResult, Settings, ShrinkRun};
use crate::text::trim_chars;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 1;
const JUNIT_SUITE: &str = "pdns-drill-chaos";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignInfo {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// False while it runs, or when it was stopped.
    pub complete: bool,
    /// The signal that stopped it.
    pub stopped_by: Option<String>,
    pub settings: Settings,
    pub image_tag: String,
    pub config_dir: String,
    pub zone_file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChaosReport {
    pub schema: u32,
    pub campaign: CampaignInfo,
    /// The faults this lab can take, and those it cannot (with the plan's reason).
    pub vocabulary: Vec<String>,
    pub not_simulated: Vec<String>,
    pub runs: Vec<RunResult>,
    pub shrink_runs: Vec<ShrinkRun>,
    pub reproducers: Vec<Reproducer>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PropertySummary {
    pub property: Option<Property>,
    pub statement: String,
    pub held: usize,
    pub violated: usize,
    pub undecided: usize,
    pub violating_seeds: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadEnd {
    pub seed: u64,
    pub faults: String,
    pub rows: Vec<String>,
    pub row: String,
    pub reason: String,
    pub commands: usize,
    pub still_failing: Vec<String>,
    /// The reproducer for this dead end's row, and whether it reproduced as a scenario.
    pub reproducer: Option<String>,
    pub reproduces: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub runs: usize,
    pub runs_errored: usize,
    pub runs_not_simulated: usize,
    /// Distinct sets of faults (parameters included; order and gaps ignored).
    pub distinct_combinations: usize,
    pub distinct_sequences: usize,
    pub properties: Vec<PropertySummary>,
    pub dead_ends: Vec<DeadEnd>,
    /// Labs brought up (runs, shrink runs, reproducer runs).
    pub labs: usize,
    /// Resources any of them left behind.
    pub left_behind: Vec<String>,
}

impl ChaosReport {
    pub fn new(campaign: CampaignInfo) -> ChaosReport {
        ChaosReport { schema: SCHEMA, campaign, vocabulary: vec![], not_simulated: vec![], runs: vec![], shrink_runs: vec![], reproducers: vec![], summary: Summary::default() }
    }

    /// Takes in one event; true when the report changed in a way worth writing.
    pub fn apply(&mut self, e: &Record) -> bool {
        match e {
            Record::Planned { vocabulary, not_simulated } => {
                self.vocabulary = vocabulary.clone();
                self.not_simulated = not_simulated.clone();
            }
            Record::RunFinished(r) => self.runs.push((**r).clone()),
            Record::ShrinkTried(s) => self.shrink_runs.push((**s).clone()),
            Record::Reproducer(r) => self.reproducers.push((**r).clone()),
            Record::Started { .. } | Record::Progress { .. } => return false,
        }
        self.summary = summarize(self);
        true
    }

    pub fn finish(&mut self, complete: bool, stopped_by: Option<&str>) {
        self.campaign.complete = complete;
        self.campaign.stopped_by = stopped_by.map(str::to_string);
        self.campaign.finished_at = Some(crate::clock::now());
        self.summary = summarize(self);
    }

    pub fn violated(&self) -> bool {
        self.summary.properties.iter().any(|p| p.violated > 0)
    }
}

pub fn summarize(r: &ChaosReport) -> Summary {
    let mut combos = BTreeSet::new();
    let mut seqs = BTreeSet::new();
    for x in &r.runs {
        let mut set: Vec<String> = x.run.faults.iter().map(|d| d.fault.label()).collect();
        set.sort();
        combos.insert(set);
        seqs.insert(x.run.labels.clone());
    }
    let properties = Property::ALL
        .into_iter()
        .map(|p| {
            let mut s = PropertySummary { property: Some(p), statement: p.statement().into(), ..PropertySummary::default() };
            for x in &r.runs {
                match x.checks.get(&p) {
                    Some(Check::Held) => s.held += 1,
                    Some(Check::Violated { .. }) => {
                        s.violated += 1;
                        s.violating_seeds.push(x.run.seed);
                    }
                    _ => s.undecided += 1,
                }
            }
            s
        })
        .collect();
    let dead_ends = r
        .runs
        .iter()
        .filter_map(|x| {
            let path = x.run.path.as_ref()?;
            let End::DeadEnd { row, reason, still_failing } = &path.end else { return None };
            let rep = r.reproducers.iter().find(|p| p.property == Property::RunbookRestores && p.signature == format!("dead end at {row}"));
            Some(DeadEnd {
                seed: x.run.seed,
                faults: x.run.labels.clone(),
                rows: path.rows(),
                row: row.clone(),
                reason: reason.clone(),
                commands: path.rounds.iter().map(|r| r.steps.len()).sum(),
                still_failing: still_failing.clone(),
                reproducer: rep.map(|p| p.file.clone()),
                reproduces: rep.and_then(|p| p.verified.as_ref().map(|v| v.reproduces)),
            })
        })
        .collect();
    let mut left_behind: Vec<String> = Vec::new();
    let mut labs = 0;
    let mut count = |left: Option<&Vec<String>>, id: &str| {
        labs += 1;
        match left {
            Some(l) => left_behind.extend(l.iter().map(|x| format!("{id}: {x}"))),
            None => left_behind.push(format!("{id}: not counted")),
        }
    };
    for x in r.runs.iter().filter(|x| x.run.not_simulated.is_none()) {
        count(x.run.leftovers.as_ref(), &x.run.lab_run_id);
    }
    for s in &r.shrink_runs {
        count(s.leftovers.as_ref(), &s.lab_run_id);
    }
    for v in r.reproducers.iter().filter_map(|p| p.verified.as_ref()) {
        count(Some(&v.leftovers), &v.lab_run_id);
    }
    Summary {
        runs: r.runs.len(),
        runs_errored: r.runs.iter().filter(|x| x.run.error.is_some()).count(),
        runs_not_simulated: r.runs.iter().filter(|x| x.run.not_simulated.is_some()).count(),
        distinct_combinations: combos.len(),
        distinct_sequences: seqs.len(),
        properties,
        dead_ends,
        labs,
        left_behind,
    }
}

fn mark(c: Option<&Check>) -> &'static str {
    match c {
        Some(Check::Held) => "held",
        Some(Check::Violated { .. }) => "**VIOLATED**",
        _ => "undecided",
    }
}

pub fn markdown(r: &ChaosReport) -> String {
    let s = &r.summary;
    let c = &r.campaign;
    let mut o = String::new();
    let _ = writeln!(o, "# pdns-drill chaos campaign {}\n", c.id);
    if !c.complete {
        let _ = writeln!(o, "**Incomplete**{}: the figures below cover what finished.\n", c.stopped_by.as_deref().map(|x| format!(" (stopped by {x})")).unwrap_or_default());
    }
    let _ = writeln!(
        o,
        "Seed {} (run i has seed {}+i; `pdns-drill chaos --seed <seed> --runs 1 --max-faults {}` on the same lab replays one), at most {} fault(s) per run, {} shrink run(s) per new failure. Lab: `{}`, zone `{}`, image `{}`. Started {}{}.\n",
        c.settings.seed,
        c.settings.seed,
        c.settings.max_faults,
        c.settings.max_faults,
        c.settings.shrink_runs,
        c.config_dir,
        c.zone_file,
        c.image_tag,
        c.started_at,
        c.finished_at.as_deref().map(|f| format!(", finished {f}")).unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "- runs: {} ({} errored, {} not simulated)\n- distinct fault combinations: {} ({} distinct sequences)\n- labs brought up: {}; resources left behind: {}\n",
        s.runs,
        s.runs_errored,
        s.runs_not_simulated,
        s.distinct_combinations,
        s.distinct_sequences,
        s.labs,
        if s.left_behind.is_empty() { "none".to_string() } else { s.left_behind.join(", ") }
    );
    let _ = writeln!(o, "## Properties\n\n| property | held | violated | undecided | seeds violating |\n|---|---|---|---|---|");
    for p in &s.properties {
        let id = p.property.map(|x| x.id()).unwrap_or_default();
        let seeds: Vec<String> = p.violating_seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(o, "| `{id}`: {} | {} | {} | {} | {} |", cell(&p.statement), p.held, p.violated, p.undecided, seeds.join(", "));
    }
    let _ = writeln!(o, "\n## Dead ends\n");
    if s.dead_ends.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for d in &s.dead_ends {
        let _ = writeln!(o, "- seed {}: {} → rows {} → **dead end at {}**: {} ({} command(s) run). Still failing: {}.", d.seed, d.faults, d.rows.join(" → "), d.row, d.reason, d.commands, trim_chars(&d.still_failing.join("; "), 400));
        if let Some(f) = &d.reproducer {
            let rep = match d.reproduces {
                Some(true) => "reproduces when run as a scenario",
                Some(false) => "does NOT reproduce when run as a scenario",
                None => "not run as a scenario",
            };
            let _ = writeln!(o, "  minimal reproducer `{f}` ({rep})");
        }
    }
    let _ = writeln!(o, "\n## Minimal reproducers\n");
    if r.reproducers.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for p in &r.reproducers {
        let v = match &p.verified {
            Some(v) => format!("run as a scenario ({}): {} — {}", v.lab_run_id, if v.reproduces { "reproduces" } else { "does not reproduce" }, trim_chars(&v.detail, 300)),
            None => "not run as a scenario".into(),
        };
        let _ = writeln!(
            o,
            "### `{}` — {} ({})\n\n- first seen: seed {}: {}\n- minimal: {} ({} shrink run(s), {})\n- violation: {}\n- {v}",
            p.file,
            p.property.id(),
            p.signature,
            p.seed,
            p.original,
            p.minimal_labels,
            p.shrink.tried.len(),
            if p.shrink.minimal { "no smaller variant fails" } else { "stopped by budget or time" },
            trim_chars(&p.detail, 600)
        );
        for t in &p.shrink.tried {
            let _ = writeln!(o, "- shrink tried {}: {}", t.faults, if t.still_fails { "still fails" } else { "passes" });
        }
        o.push('\n');
    }
    let _ = writeln!(o, "\n## Runs\n\n| # | seed | faults | rows | end | {} | time |\n|---|---|---|---|---|---|---|---|---|---|", Property::ALL.map(|p| format!("`{}`", p.id())).join(" | "));
    for x in &r.runs {
        let run = &x.run;
        let (rows, end) = match &run.path {
            Some(p) => (
                p.rows().join(" → "),
                match &p.end {
                    End::Restored { rounds, .. } => format!("restored after {rounds} procedure(s)"),
                    End::DeadEnd { row, .. } => format!("dead end at {row}"),
                },
            ),
            None => ("-".into(), run.not_simulated.clone().or_else(|| run.error.clone()).map(|e| format!("errored: {}", trim_chars(&e, 160))).unwrap_or_default()),
        };
        let marks: Vec<&str> = Property::ALL.iter().map(|p| mark(x.checks.get(p))).collect();
        let _ = writeln!(o, "| {} | {} | {} | {} | {} | {} | {:.0} s |", x.index, run.seed, cell(&run.labels), rows, cell(&end), marks.join(" | "), run.wall_ms as f64 / 1000.0);
    }
    let _ = writeln!(o, "\n## Paths\n");
    for x in &r.runs {
        let run = &x.run;
        let _ = writeln!(o, "### run {} (seed {}, lab {}): {}\n", x.index, run.seed, run.lab_run_id, run.labels);
        for i in &run.injected {
            let _ = writeln!(o, "- injected: {}", trim_chars(i, 300));
        }
        if !run.under_fault.is_empty() {
            let _ = writeln!(o, "- under the faults: {}", trim_chars(&run.under_fault.join("; "), 500));
        }
        for (n, round) in run.path.iter().flat_map(|p| p.rounds.iter()).enumerate() {
            let t = &round.triage;
            let _ = writeln!(o, "- triage {}: {} → **{}**; lab names failing through the recursor: {}/{}", n + 1, t.observation, t.row, t.lab_names_failing.len(), t.lab_names_asked);
            for st in &round.steps {
                let held = match st.held {
                    Some(true) => " ✓",
                    Some(false) => " ✗",
                    None => "",
                };
                let _ = writeln!(o, "  - `{}` on {}{held}: {}", trim_chars(&st.command, 200).replace('`', "'"), st.on, trim_chars(&st.output, 200).replace('\n', " ⏎ "));
            }
        }
        for (p, c) in &x.checks {
            if let Check::Violated { detail, .. } = c {
                let _ = writeln!(o, "- **{}** violated: {}", p.id(), trim_chars(detail, 600));
            }
        }
        for h in run.heals.iter().filter(|h| !h.ok) {
            let _ = writeln!(o, "- heal failed: {}: {}", h.fault, trim_chars(&h.output, 300));
        }
        o.push('\n');
    }
    o
}

/// One test case per property, judged in the claims' vocabulary over every run: contradicted
/// (a failure) when a run violated it so, errored when only the harness's own heal or
/// teardown failed it, skipped when no run decided it.
pub fn junit(r: &ChaosReport) -> anyhow::Result<String> {
    use crate::claims::verdict::Verdict;
    use crate::report::junit::{document, judged_case};
    let properties = [
        ("campaign", r.campaign.id.clone()),
        ("seed", r.campaign.settings.seed.to_string()),
        ("runs", r.summary.runs.to_string()),
        ("complete", r.campaign.complete.to_string()),
    ];
    let cases = r.summary.properties.iter().filter_map(|p| p.property.map(|prop| (p, prop))).map(|(p, prop)| {
        let judged = super::properties::judged_all(r.runs.iter().filter_map(|x| x.checks.get_key_value(&prop)));
        let judged = if p.violated == 0 && p.held == 0 { (Verdict::Unchecked, None) } else { judged };
        let (message, body) = if p.violated > 0 {
            let mut body: Vec<String> = r
                .runs
                .iter()
                .filter_map(|x| match x.checks.get(&prop) {
                    Some(Check::Violated { detail, .. }) => Some(format!("seed {}: {}: {}", x.run.seed, x.run.labels, detail)),
                    _ => None,
                })
                .collect();
            body.extend(r.reproducers.iter().filter(|x| x.property == prop).map(|x| {
                format!("minimal reproducer {}: {} ({})", x.file, x.minimal_labels, x.verified.as_ref().map_or("not run", |v| if v.reproduces { "reproduces" } else { "does not reproduce" }))
            }));
            (format!("violated in {} of {} run(s) (seeds {:?})", p.violated, r.summary.runs, p.violating_seeds), body.join("\n"))
        } else {
            ("no run decided it".to_string(), String::new())
        };
        judged_case(prop.id(), JUNIT_SUITE, judged, &message, if p.violated > 0 { "violated" } else { judged.0.as_str() }, body)
    });
    document(JUNIT_SUITE, &properties, cases)
}

/// Writes chaos.json, chaos.md and junit.xml into `dir`, the operators' secrets masked.
pub fn write(r: &ChaosReport, dir: &Path, secrets: &crate::inputs::secrets::Secrets) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let masked = secrets.value(r)?;
    let r = &masked;
    let mut json = serde_json::to_string_pretty(r)?;
    json.push('\n');
    let files = [("chaos.json", json), ("chaos.md", markdown(r)), ("junit.xml", junit(r)?)];
    let mut out = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        crate::files::write_atomic(&p, text.as_bytes()).map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?;
        out.push(p);
    }
    Ok(out)
}

/// One line per finished run, for the terminal: the four properties (✓ held, ✗ violated, ?
/// undecided), the faults, the rows and how it ended.
pub fn run_line(r: &RunResult) -> String {
    let marks: String = r.checks.values().map(|c| match c {
        Check::Held => '✓',
        Check::Violated { .. } => '✗',
        Check::Undecided { .. } => '?',
    }).collect();
    let end = match (&r.run.path, &r.run.error, &r.run.not_simulated) {
        (Some(p), _, _) => format!("{} → {}", p.rows().join(" → "), match &p.end {
            End::Restored { rounds, .. } => format!("restored after {rounds} procedure(s)"),
            End::DeadEnd { row, .. } => format!("DEAD END at {row}"),
        }),
        (None, Some(e), _) => format!("errored: {}", trim_chars(e, 160)),
        (None, None, Some(n)) => format!("not simulated: {n}"),
        _ => String::new(),
    };
    format!("{marks} run {:>3} seed {:<12} {:<60} {end} ({:.0} s)", r.index, r.run.seed, r.run.labels, r.run.wall_ms as f64 / 1000.0)
}

/// The closing figures, for the terminal.
pub fn summary_text(r: &ChaosReport) -> String {
    let s = &r.summary;
    let mut out = format!(
        "\nchaos {}: {} run(s) ({} errored), {} distinct fault combination(s), {} lab(s) brought up, left behind: {}\n",
        r.campaign.id, s.runs, s.runs_errored, s.distinct_combinations, s.labs,
        if s.left_behind.is_empty() { "none".to_string() } else { s.left_behind.join(", ") }
    );
    for p in &s.properties {
        out.push_str(&format!("  {:<20} held {:>3}  violated {:>3}  undecided {:>3}\n", p.property.map(|x| x.id()).unwrap_or_default(), p.held, p.violated, p.undecided));
    }
    for d in &s.dead_ends {
        out.push_str(&format!("  dead end: seed {} {} → {} ({})\n", d.seed, d.faults, d.row, d.reason));
    }
    for x in &r.reproducers {
        out.push_str(&format!("  reproducer {}: {}{}\n", x.file, x.minimal_labels,
            x.verified.as_ref().map(|v| format!(" — as a scenario it {}", if v.reproduces { "reproduces" } else { "does not reproduce" })).unwrap_or_default()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ChaosReport {
        let settings = Settings { seed: 5, runs: Some(2), duration: None, max_faults: 3, shrink_runs: 2, verify: true };
        let info = CampaignInfo {
            id: "c".into(),
            started_at: "t".into(),
            finished_at: None,
            complete: false,
            stopped_by: None,
            settings,
            image_tag: "img".into(),
            config_dir: "lab".into(),
            zone_file: "z".into(),
        };
        let mut r = ChaosReport::new(info);
        let run: super::super::run::ChaosRun = serde_json::from_value(serde_json::json!({
            "seed": 5, "faults": [{"fault": {"kind": "stop-vm"}, "gap_s": 0}], "labels": "stop-vm", "lab_run_id": "c-001", "error": null,
            "not_simulated": null, "injected": [], "under_fault": [], "zone": null, "heals": [], "steady_after_heal": [], "leftovers": [],
            "wall_ms": 1000, "path": {"rounds": [], "end": {"outcome": "dead-end", "row": "TRI-6", "reason": "r", "still_failing": ["✗ x"]}}
        }))
        .unwrap();
        let checks = super::super::properties::check_all(&run);
        r.apply(&Record::RunFinished(Box::new(RunResult { index: 0, run, checks })));
        r
    }

    #[test]
    fn figures_and_one_junit_case_per_property() {
        let r = report();
        assert_eq!(r.summary.runs, 1);
        assert_eq!(r.summary.distinct_combinations, 1);
        assert_eq!(r.summary.dead_ends.len(), 1);
        assert!(r.violated());
        let xml = junit(&r).unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        let names: Vec<&str> = parsed.test_suites[0].test_cases.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, Property::ALL.map(|p| p.id()));
        // The dead end is a contradiction in the claims' vocabulary, with its severity.
        let restores = &parsed.test_suites[0].test_cases[1];
        assert!(matches!(restores.status, quick_junit::TestCaseStatus::NonSuccess { kind: quick_junit::NonSuccessKind::Failure, .. }), "{:?}", restores.status);
        let props: Vec<(String, String)> = restores.properties.iter().map(|p| (p.name.to_string(), p.value.to_string())).collect();
        assert!(props.contains(&("verdict".into(), "contradicted".into())) && props.contains(&("severity".into(), "recovery fails".into())), "{props:?}");
        assert_eq!(r.runs[0].judged(), (crate::claims::verdict::Verdict::Contradicted, Some(crate::claims::Severity::RecoveryFails)));
        let md = markdown(&r);
        assert!(md.contains("**Incomplete**") && md.contains("dead end at TRI-6"), "{md}");
        let back: ChaosReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.summary.runs, 1);
    }
}
