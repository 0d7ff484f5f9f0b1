//! `report.md`: the report a person reads first. Summary, the runbook's triage table with what
//! this run saw, the verdict table, then one section per claim with its evidence.

use super::common::*;
use crate::judge::model::{ClaimResult, Evidence, Report};
use std::fmt::Write;

/// Makes text safe inside a Markdown table cell: `|` escaped, newlines as `<br>`, and `<`, `>`
/// as entities so command output never turns into HTML.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let s = s.replace("\r\n", "\n");
    for c in s.trim_end().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline text outside tables: newlines kept on one line, `<`/`>` as entities.
pub fn inline(s: &str) -> String {
    cell(s).replace("\\|", "|").replace("<br>", " ⏎ ")
}

fn evidence_table(o: &mut String, evidence: &[Evidence]) {
    if evidence.is_empty() {
        o.push_str("_No evidence recorded._\n\n");
        return;
    }
    o.push_str("| step | phase | on | action | expected | observed | ok |\n");
    o.push_str("|---:|---|---|---|---|---|:-:|\n");
    for e in evidence {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            e.step,
            e.phase.as_str(),
            cell(&e.on),
            cell(&trim_chars(&e.action, CELL_MAX)),
            e.expected.as_deref().map(|x| cell(&trim_chars(x, CELL_MAX))).unwrap_or_else(|| "—".into()),
            cell(&trim_chars(&e.observed, CELL_MAX)),
            if e.ok { "✓" } else { "✗" }
        );
    }
    o.push('\n');
}

fn summary(o: &mut String, r: &Report) {
    let run = &r.run;
    o.push_str("# pdns-drill report\n\n");
    if !run.complete {
        o.push_str("> **INCOMPLETE RUN** — the run is still going or was interrupted; verdicts below are partial.\n\n");
    }
    if let Some(g) = r.gate.as_ref().filter(|g| g.baseline.is_some()) {
        let _ = writeln!(o, "> **{}**", inline(&gate_headline(g)));
        for c in &g.changes {
            let _ = writeln!(o, "> - `{}`{}", c.line.replace('`', "'"), c.evidence.as_deref().map(|e| format!(": {}", inline(e))).unwrap_or_default());
        }
        for reason in g.other_reasons() {
            let _ = writeln!(o, "> - {}", inline(reason));
        }
        o.push('\n');
    }
    let counts = verdict_counts(r);
    let counts: Vec<String> = counts.iter().map(|(v, n)| format!("**{n}** {v}")).collect();
    let _ = writeln!(o, "{} claims: {}\n", r.claims.len(), counts.join(" · "));
    o.push_str("| | |\n|---|---|\n");
    let opt = |s: &Option<String>| s.as_deref().map(cell).unwrap_or_else(|| "unknown".into());
    let rows = [
        ("run", format!("`{}`", cell(&run.id))),
        ("started", cell(&run.started_at)),
        ("finished", run.finished_at.as_deref().map(cell).unwrap_or_else(|| "—".into())),
        ("complete", if run.complete { "yes".into() } else { "**no**".into() }),
        ("pdns", opt(&run.pdns_version)),
        ("pdns-recursor", opt(&run.recursor_version)),
        ("image", format!("`{}`", cell(&run.image_tag))),
        ("suite", cell(&run.suite)),
        ("config dir", format!("`{}` ({})", cell(&run.config_dir), cell(short_hash(&run.config_dir_hash)))),
        ("zone", format!("`{}` ({})", cell(&run.zone_file), cell(short_hash(&run.zone_hash)))),
        (
            "drop-ins",
            if run.dropins.is_empty() { "none".into() } else { run.dropins.iter().map(|d| format!("`{}`", cell(d))).collect::<Vec<_>>().join("<br>") },
        ),
        ("filters", if run.filters.is_empty() { "all scenarios".into() } else { cell(&run.filters.join(", ")) }),
        ("mapped onto the testbed", if run.mappings.is_empty() { "—".into() } else { run.mappings.iter().map(|m| cell(m)).collect::<Vec<_>>().join("<br>") }),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    // Which pdns-drill made it, and the share of a partitioned run.
    for (k, v) in [("pdns-drill", &run.tool), ("partition", run.partition.as_ref().unwrap_or(&String::new()))] {
        if !v.is_empty() {
            let _ = writeln!(o, "| {k} | {} |", cell(v));
        }
    }
    o.push('\n');
}

/// The gate's finding when the operators' lab never reached steady state.
fn preflight(o: &mut String, r: &Report) {
    let Some(p) = &r.preflight else { return };
    let _ = writeln!(o, "## Preflight failed: the lab does not reach steady state

Waited {}; no scenario ran. Fix these first:
", fmt_ms(Some(p.waited_ms)));
    for f in &p.failing {
        let _ = writeln!(o, "- {}", inline(f));
    }
    for d in &p.daemons {
        let _ = writeln!(o, "- {}", inline(d));
    }
    o.push('\n');
}

fn triage(o: &mut String, r: &Report) {
    o.push_str("## First triage\n\n");
    o.push_str("The runbook's table (paraphrased) and the scenarios whose triage probes landed on each row.\n\n");
    o.push_str("| row | recursor | auth | ping | VM | likely cause | seen in this run |\n");
    o.push_str("|---|---|---|---|---|---|---|\n");
    for row in TRIAGE_ROWS {
        let seen = scenarios_on_triage_row(r, row.id);
        let seen = if seen.is_empty() { "—".into() } else { seen.iter().map(|s| format!("`{}`", cell(s))).collect::<Vec<_>>().join(", ") };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.id, row.recursor, row.auth, row.ping, row.vm, row.likely_cause, seen
        );
    }
    let unknown = scenarios_on_triage_row(r, TRIAGE_UNKNOWN);
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|s| format!("`{}`", inline(s))).collect();
        let _ = writeln!(o, "\nMatched no row (`unknown`): {}", names.join(", "));
    }
    o.push('\n');
}

/// What the runbook gets wrong, worst for the operator first, each with its verified fix.
fn findings_section(o: &mut String, r: &Report) {
    let f = findings(r);
    if f.is_empty() {
        return;
    }
    o.push_str("## Findings, worst first\n\n");
    for (title, group) in by_basis(&f) {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {title} ({})\n\n| severity | claim | finding (with its condition) | basis | correction |\n|---|---|---|---|---|", group.len());
        for c in group {
            let fix = match &c.correction {
                Some(k) if k.verified => format!("verified: {}", cell(&k.summary)),
                Some(k) => format!("**not verified:** {}", cell(&k.summary)),
                None => "—".into(),
            };
            let finding = c.finding.clone().or_else(|| c.first_mismatch.clone()).unwrap_or_default();
            let basis = c.basis.as_ref().map_or("—".into(), |b| cell(&b.describe()));
            let _ = writeln!(o, "| {} | {} | {} | {basis} | {fix} |", c.severity.map_or("—", |s| s.as_str()), cell(&c.id), cell(&finding));
        }
        o.push('\n');
    }
}

fn verdicts(o: &mut String, r: &Report) {
    o.push_str("## Verdicts\n\n| ID | verdict | parts | scenario | detect | recover |\n|---|---|---|---|---:|---:|\n");
    for c in &r.claims {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&c.id),
            c.verdict,
            cell(&parts_summary(c)),
            c.scenario.as_deref().map(|s| format!("`{}`", cell(s))).unwrap_or_else(|| "—".into()),
            fmt_ms(c.detect_ms),
            fmt_ms(c.recover_ms)
        );
    }
    o.push('\n');
}

fn scenarios(o: &mut String, r: &Report) {
    if r.scenarios.is_empty() {
        return;
    }
    o.push_str("## Scenarios\n\n| scenario | outcome | claims | triage row | wall |\n|---|---|---|---|---:|\n");
    for s in &r.scenarios {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            cell(&s.name),
            outcome_str(s.outcome),
            cell(&s.claims.join(", ")),
            s.triage_row.as_deref().map(cell).unwrap_or_else(|| "—".into()),
            fmt_ms(Some(s.wall_ms))
        );
    }
    o.push('\n');
    for s in r.scenarios.iter().filter(|s| s.error.is_some()) {
        let _ = writeln!(o, "- **`{}` errored:** {}", cell(&s.name), cell(s.error.as_deref().unwrap_or("")));
    }
    if r.scenarios.iter().any(|s| s.error.is_some()) {
        o.push('\n');
    }
    let with_facts: Vec<_> = r.scenarios.iter().filter(|s| !s.facts.is_empty()).collect();
    if !with_facts.is_empty() {
        o.push_str("### What each scenario took from this lab\n\n| scenario | facts and settings (file:line) |\n|---|---|\n");
        for s in with_facts {
            let _ = writeln!(o, "| `{}` | {} |", cell(&s.name), s.facts.iter().map(|f| cell(f)).collect::<Vec<_>>().join("<br>"));
        }
        o.push('\n');
    }
}

fn claim(o: &mut String, r: &Report, c: &ClaimResult) {
    let _ = writeln!(o, "### {} — {}\n", inline(&c.id), c.verdict);
    let _ = writeln!(o, "- **Section:** {}", inline(&c.section));
    let _ = writeln!(o, "- **Claim:** {}", inline(claim_summary(&c.id)));
    if let Some(reason) = &c.reason {
        let _ = writeln!(o, "- **Reason:** {}", inline(reason));
    }
    if let Some(m) = &c.first_mismatch {
        let _ = writeln!(o, "- **First mismatch:** {}", inline(m));
    }
    if let Some(sev) = c.severity {
        let _ = writeln!(o, "- **Severity:** {sev}");
    }
    if let Some(b) = &c.basis {
        let _ = writeln!(o, "- **Basis:** {}", inline(&b.describe()));
    }
    for p in &c.parts {
        let why = p.first_mismatch.as_deref().or(p.reason.as_deref()).map(|w| format!(": {}", inline(w))).unwrap_or_default();
        let _ = writeln!(o, "- **{}:** {}{why}", p.part, p.verdict);
    }
    for v in &c.variants {
        let _ = writeln!(o, "- **When {}** (`{}`): {} ({})", inline(&v.condition), inline(&v.scenario), v.verdict, inline(&parts_summary_of(&v.parts)));
    }
    if c.detect_ms.is_some() || c.recover_ms.is_some() {
        let _ = writeln!(o, "- **Detection:** {} · **recovery:** {}", fmt_ms(c.detect_ms), fmt_ms(c.recover_ms));
    }
    match (&c.scenario, claim_scenario(r, c)) {
        (Some(_), Some(s)) => {
            let _ = writeln!(o, "- **Scenario:** `{}` ({})\n", inline(&s.name), outcome_str(s.outcome));
            let _ = writeln!(o, "![timeline]({})", timeline_rel_path(&s.name));
        }
        (Some(name), None) => {
            let _ = writeln!(o, "- **Scenario:** `{}` (did not run)", inline(name));
        }
        (None, _) => {}
    }
    o.push('\n');
    if !c.evidence.is_empty() || c.verdict != crate::claims::verdict::Verdict::NotSimulated {
        evidence_table(o, &c.evidence);
    }
    if let Some(k) = &c.correction {
        let status = if k.verified { "verified ✓" } else { "not verified ✗" };
        let _ = writeln!(o, "**Correction ({status}):** {}\n", inline(&k.summary));
        evidence_table(o, &k.evidence);
    }
}

/// Every fault × every planned monitor: who noticed, how soon; `✗ missed` where the runbook's
/// monitoring plan says it should have.
fn detection_matrix(o: &mut String, r: &Report) {
    let rows: Vec<_> = r.scenarios.iter().filter(|s| !s.detections.is_empty()).collect();
    if rows.is_empty() {
        return;
    }
    let ms = crate::scenario::monitors::Monitor::ALL;
    o.push_str("## Detection matrix\n\nEach planned monitor (runbook, *Things to monitor*) sampled about once a second while the fault was in place: `✓` noticed after that long, `✗ missed` where the plan says it should notice, `—` quiet.\n\n");
    let _ = writeln!(o, "| scenario | {} |", ms.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(o, "|---|{}", "---|".repeat(ms.len()));
    for s in rows {
        let cells: Vec<String> = ms.iter().map(|m| matrix_cell(s, *m).0).collect();
        let _ = writeln!(o, "| `{}` | {} |", cell(&s.name), cells.join(" | "));
    }
    o.push('\n');
}

/// Where the run's wall time went: queueing for a boot slot, booting, and the scenarios proper
/// (waiting on the daemons, mostly), so the next slow-down is visible.
fn time_spent(o: &mut String, r: &Report) {
    let ran: Vec<_> = r.scenarios.iter().filter(|s| s.timeline.booted_ms.is_some()).collect();
    if ran.is_empty() {
        return;
    }
    let sum = |f: &dyn Fn(&crate::judge::model::ScenarioResult) -> u64| ran.iter().map(|s| f(s)).sum::<u64>();
    let queued = sum(&|s| s.timeline.queued_ms.unwrap_or(0));
    let booting = sum(&|s| s.timeline.booted_ms.unwrap_or(0).saturating_sub(s.timeline.queued_ms.unwrap_or(0)));
    let total = sum(&|s| s.wall_ms);
    let longest = ran.iter().max_by_key(|s| s.wall_ms).unwrap();
    let _ = writeln!(
        o,
        "## Where the time went\n\n{} lab boot(s): {} booting, {} queued for a boot slot; {} in the scenarios after their boots (faults, symptoms, recovery: mostly waiting on the daemons); {} of scenario time in all. Longest: `{}` ({}).\n",
        ran.len(),
        fmt_ms(Some(booting)),
        fmt_ms(Some(queued)),
        fmt_ms(Some(total.saturating_sub(booting + queued))),
        fmt_ms(Some(total)),
        cell(&longest.name),
        fmt_ms(Some(longest.wall_ms))
    );
    // On a CPU-bound host a scenario's CPU is other scenarios' wall time.
    let mut by_cpu: Vec<_> = ran.iter().filter_map(|s| s.timeline.cpu_ms.map(|c| (c, s.name.as_str()))).collect();
    if !by_cpu.is_empty() {
        by_cpu.sort_by_key(|c| std::cmp::Reverse(c.0));
        let most: Vec<String> = by_cpu.iter().take(5).map(|(c, n)| format!("`{}` {}", cell(n), fmt_ms(Some(*c)))).collect();
        let _ = writeln!(
            o,
            "CPU inside the labs' containers: {} in all (the engine's own per-container and per-command work comes on top). Most: {}.\n",
            fmt_ms(Some(by_cpu.iter().map(|(c, _)| c).sum())),
            most.join(", ")
        );
    }
}

fn parts_summary_of(parts: &[crate::judge::model::PartResult]) -> String {
    parts.iter().map(|p| format!("{} {}", p.part, p.verdict)).collect::<Vec<_>>().join(", ")
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    summary(&mut o, r);
    preflight(&mut o, r);
    findings_section(&mut o, r);
    triage(&mut o, r);
    verdicts(&mut o, r);
    detection_matrix(&mut o, r);
    scenarios(&mut o, r);
    o.push_str("## Claims\n\n");
    for c in &r.claims {
        claim(&mut o, r, c);
    }
    time_spent(&mut o, r);
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn the_run_table_names_the_tool_and_the_share() {
        let mut r = sample_report();
        assert!(!render(&r).contains("| pdns-drill |"), "no row for what the run did not record");
        r.run.tool = "0.1.0 (commit 1a2b3c4d5e6f)".into();
        r.run.partition = Some("slice:1/2".into());
        let md = render(&r);
        assert!(md.contains("| pdns-drill | 0.1.0 (commit 1a2b3c4d5e6f) |") && md.contains("| partition | slice:1/2 |"), "{md}");
    }

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a | b\nc<d>"), "a \\| b<br>c&lt;d&gt;");
    }

    #[test]
    fn banner_only_when_incomplete() {
        let mut r = sample_report();
        assert!(render(&r).contains("INCOMPLETE"));
        r.run.complete = true;
        assert!(!render(&r).contains("INCOMPLETE"));
    }

    #[test]
    fn time_spent_names_the_longest_scenario_and_the_costliest_in_cpu() {
        let mut r = sample_report();
        let mut o = String::new();
        time_spent(&mut o, &r);
        assert!(o.is_empty(), "no scenario booted a lab in the fixture: nothing to say");
        for (i, s) in r.scenarios.iter_mut().enumerate() {
            s.timeline.queued_ms = Some(100);
            s.timeline.booted_ms = Some(2_100);
            s.wall_ms = 10_000 * (i as u64 + 1);
            s.timeline.cpu_ms = Some(if i == 0 { 9_000 } else { 1_000 });
        }
        time_spent(&mut o, &r);
        let first = r.scenarios[0].name.clone();
        let last = r.scenarios.last().unwrap().name.clone();
        assert!(o.contains(&format!("Longest: `{last}`")), "{o}");
        assert!(o.contains(&format!("Most: `{first}` 9.0")), "{o}");
    }

    #[test]
    fn triage_rows_list_their_scenarios() {
        let md = render(&sample_report());
        assert!(md.lines().any(|l| l.starts_with("| TRI-2 ") && l.contains("`recursor-down`")));
        assert!(md.contains("Matched no row (`unknown`): `vm-uplink-down`"));
    }

    #[test]
    fn evidence_rows_keep_table_shape() {
        let md = render(&sample_report());
        // Every evidence row has exactly 8 unescaped pipes, whatever the output held.
        for l in md.lines().filter(|l| l.ends_with(" ✓ |") || l.ends_with(" ✗ |")) {
            let pipes = l.replace("\\|", "").matches('|').count();
            assert_eq!(pipes, 8, "{l}");
        }
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample_report()));
    }

    proptest::proptest! {
        /// Whatever a command printed, its cell never breaks the table row.
        #[test]
        fn cell_never_breaks_a_row(s in "\\PC*|[|\\n\\r<>a-z ]*") {
            let c = cell(&s);
            proptest::prop_assert!(!c.contains('\n') && !c.contains('\r'));
            proptest::prop_assert_eq!(c.replace("\\|", "").matches('|').count(), 0);
        }
    }
}
