//! `report.html`: one self-contained file (inline CSS, inline SVG, no scripts, no external
//! assets) that can be attached to a CI run and opened anywhere.

use super::common::*;
use crate::judge::model::{ClaimResult, Evidence, Report};
use super::svg;
use crate::claims::verdict::Verdict;
use std::fmt::Write;

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#212121;line-height:1.4}
h1{margin-bottom:.2rem}
.banner{background:#fff3e0;border:2px solid #e65100;color:#bf360c;padding:.6rem 1rem;border-radius:6px;font-weight:bold;margin:1rem 0}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border-radius:8px;padding:.7rem 1.2rem;color:#fff;min-width:8rem}
.card .n{font-size:2rem;font-weight:bold;display:block}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;width:100%}
th,td{border:1px solid #e0e0e0;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f5f5f5}
td.num{text-align:right;white-space:nowrap}
table.meta{width:auto}
table.meta th{width:10rem}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font-size:.8rem}
code{font-size:.85rem}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;color:#fff;font-size:.8rem;font-weight:bold;white-space:nowrap}
.ok{color:#2e7d32;font-weight:bold;text-align:center}
.bad{color:#c62828;font-weight:bold;text-align:center}
tr.mismatch td{background:#ffebee}
details{border:1px solid #e0e0e0;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
details[open]{padding-bottom:.8rem}
summary{cursor:pointer;font-weight:bold}
.muted{color:#757575}
.timeline svg{max-width:100%;height:auto;border:1px solid #eeeeee}
td.detected{background:#c8e6c9}
td.missed{background:#ef9a9a;font-weight:bold}
td.quiet{background:#f5f5f5;color:#9e9e9e}
"#;

fn badge(v: Verdict) -> String {
    format!(r#"<span class="badge" style="background:{}">{}</span>"#, verdict_colour(v), v)
}

/// Multi-line text as a preformatted block, trimmed for table cells.
fn pre(s: &str) -> String {
    format!("<pre>{}</pre>", escape_xml(&trim_chars(s, CELL_MAX)))
}

fn evidence_table(o: &mut String, evidence: &[Evidence]) {
    if evidence.is_empty() {
        o.push_str(r#"<p class="muted">No evidence recorded.</p>"#);
        return;
    }
    o.push_str("<table><thead><tr><th>step</th><th>phase</th><th>on</th><th>action</th><th>expected</th><th>observed</th><th>ok</th></tr></thead><tbody>\n");
    for e in evidence {
        let _ = writeln!(
            o,
            r#"<tr{}><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
            if e.ok { "" } else { r#" class="mismatch""# },
            e.step,
            e.phase.as_str(),
            escape_xml(&e.on),
            pre(&e.action),
            e.expected.as_deref().map(pre).unwrap_or_else(|| r#"<span class="muted">—</span>"#.into()),
            pre(&e.observed),
            if e.ok { "ok" } else { "bad" },
            if e.ok { "✓" } else { "✗" }
        );
    }
    o.push_str("</tbody></table>\n");
}

fn summary(o: &mut String, r: &Report) {
    let run = &r.run;
    let _ = writeln!(o, "<h1>pdns-drill report</h1><p class=\"muted\">run <code>{}</code></p>", escape_xml(&run.id));
    if !run.complete {
        o.push_str(r#"<div class="banner">INCOMPLETE RUN — the run is still going or was interrupted; verdicts are partial.</div>"#);
        o.push('\n');
    }
    if let Some(g) = r.gate.as_ref().filter(|g| g.baseline.is_some()) {
        let colour = if g.outcome == crate::judge::model::GateOutcome::Pass { "#2e7d32" } else { "#c62828" };
        let _ = write!(o, r#"<div class="banner" style="border-color:{colour}"><strong>{}</strong>"#, escape_xml(&gate_headline(g)));
        let lines: Vec<String> = g
            .changes
            .iter()
            .map(|c| format!("<code>{}</code>{}", escape_xml(&c.line), c.evidence.as_deref().map(|e| format!(": {}", escape_xml(e))).unwrap_or_default()))
            .chain(g.other_reasons().map(|r| escape_xml(r)))
            .collect();
        if !lines.is_empty() {
            let _ = write!(o, "<ul>{}</ul>", lines.iter().map(|l| format!("<li>{l}</li>")).collect::<String>());
        }
        o.push_str("</div>\n");
    }
    o.push_str(r#"<div class="cards">"#);
    for (v, n) in verdict_counts(r) {
        let _ = write!(o, r#"<div class="card" style="background:{}"><span class="n">{n}</span>{v}</div>"#, verdict_colour(v));
    }
    o.push_str("</div>\n<table class=\"meta\"><tbody>\n");
    let opt = |s: &Option<String>| s.as_deref().map(escape_xml).unwrap_or_else(|| "unknown".into());
    let code = |s: &str| format!("<code>{}</code>", escape_xml(s));
    let rows = [
        ("started", escape_xml(&run.started_at)),
        ("finished", run.finished_at.as_deref().map(escape_xml).unwrap_or_else(|| "—".into())),
        ("complete", if run.complete { "yes".into() } else { "<strong>no</strong>".into() }),
        ("pdns", opt(&run.pdns_version)),
        ("pdns-recursor", opt(&run.recursor_version)),
        ("image", code(&run.image_tag)),
        ("suite", escape_xml(&run.suite)),
        ("config dir", format!("{} ({})", code(&run.config_dir), escape_xml(short_hash(&run.config_dir_hash)))),
        ("zone", format!("{} ({})", code(&run.zone_file), escape_xml(short_hash(&run.zone_hash)))),
        (
            "drop-ins",
            if run.dropins.is_empty() { "none".into() } else { run.dropins.iter().map(|d| code(d)).collect::<Vec<_>>().join("<br>") },
        ),
        ("filters", if run.filters.is_empty() { "all scenarios".into() } else { escape_xml(&run.filters.join(", ")) }),
        ("mapped onto the testbed", run.mappings.iter().map(|m| escape_xml(m)).collect::<Vec<_>>().join("<br>")),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    for (k, v) in [("pdns-drill", &run.tool), ("partition", run.partition.as_ref().unwrap_or(&String::new()))] {
        if !v.is_empty() {
            let _ = writeln!(o, "<tr><th>{k}</th><td>{}</td></tr>", escape_xml(v));
        }
    }
    o.push_str("</tbody></table>\n");
    if let Some(p) = &r.preflight {
        o.push_str("<h2>Preflight failed: the lab does not reach steady state</h2>\n<p>No scenario ran. Fix these first:</p>\n<ul>\n");
        for l in p.failing.iter().chain(&p.daemons) {
            let _ = writeln!(o, "<li>{}</li>", escape_xml(l));
        }
        o.push_str("</ul>\n");
    }
}

fn triage(o: &mut String, r: &Report) {
    o.push_str("<h2>First triage</h2>\n<p>The runbook's table (paraphrased) and the scenarios whose triage probes landed on each row.</p>\n");
    o.push_str("<table><thead><tr><th>row</th><th>recursor</th><th>auth</th><th>ping</th><th>VM</th><th>likely cause</th><th>seen in this run</th></tr></thead><tbody>\n");
    for row in TRIAGE_ROWS {
        let seen = scenarios_on_triage_row(r, row.id);
        let seen = if seen.is_empty() { "—".into() } else { seen.iter().map(|s| format!("<code>{}</code>", escape_xml(s))).collect::<Vec<_>>().join(", ") };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            row.id, row.recursor, row.auth, row.ping, row.vm, escape_xml(row.likely_cause), seen
        );
    }
    o.push_str("</tbody></table>\n");
    let unknown = scenarios_on_triage_row(r, TRIAGE_UNKNOWN);
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|s| format!("<code>{}</code>", escape_xml(s))).collect();
        let _ = writeln!(o, "<p>Matched no row (<code>unknown</code>): {}</p>", names.join(", "));
    }
}

/// The contradictions, worst for the operator first, each with its correction.
fn findings_table(o: &mut String, r: &Report) {
    let f = findings(r);
    if f.is_empty() {
        return;
    }
    o.push_str("<h2>Findings, worst first</h2>\n");
    for (title, group) in by_basis(&f) {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(o, "<h3>{} ({})</h3>", escape_xml(title), group.len());
        o.push_str("<table><thead><tr><th>severity</th><th>claim</th><th>finding (with its condition)</th><th>basis</th><th>correction</th></tr></thead><tbody>\n");
        for c in group {
            let fix = match &c.correction {
                Some(k) => format!("{}{}", if k.verified { "verified: " } else { "<strong>not verified:</strong> " }, escape_xml(&k.summary)),
                None => "—".into(),
            };
            let finding = c.finding.clone().or_else(|| c.first_mismatch.clone()).unwrap_or_default();
            let basis = c.basis.as_ref().map_or("—".into(), |b| escape_xml(&b.describe()));
            let _ = writeln!(
                o,
                r##"<tr><td>{}</td><td><a href="#claim-{1}">{1}</a></td><td>{2}</td><td>{3}</td><td>{4}</td></tr>"##,
                c.severity.map_or("—", |s| s.as_str()),
                escape_xml(&c.id),
                escape_xml(&finding),
                basis,
                fix
            );
        }
        o.push_str("</tbody></table>\n");
    }
}

/// The detection matrix as a heat map: green noticed, red missed where the plan says it should
/// notice, grey quiet.
fn detection_matrix(o: &mut String, r: &Report) {
    let rows: Vec<_> = r.scenarios.iter().filter(|s| !s.detections.is_empty()).collect();
    if rows.is_empty() {
        return;
    }
    let ms = crate::scenario::monitors::Monitor::ALL;
    o.push_str("<h2>Detection matrix</h2>\n<p>Each planned monitor sampled about once a second while the fault was in place.</p>\n<table><thead><tr><th>scenario</th>");
    for m in ms {
        let _ = write!(o, "<th>{}</th>", escape_xml(m.as_str()));
    }
    o.push_str("</tr></thead><tbody>\n");
    for s in rows {
        let _ = write!(o, "<tr><td><code>{}</code></td>", escape_xml(&s.name));
        for m in ms {
            let (text, class) = matrix_cell(s, m);
            let _ = write!(o, r#"<td class="{class}">{}</td>"#, escape_xml(&text));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
}

fn verdicts(o: &mut String, r: &Report) {
    o.push_str("<h2>Verdicts</h2>\n<table><thead><tr><th>ID</th><th>verdict</th><th>parts</th><th>scenario</th><th>detect</th><th>recover</th></tr></thead><tbody>\n");
    for c in &r.claims {
        let _ = writeln!(
            o,
            r##"<tr><td><a href="#claim-{0}">{0}</a></td><td>{1}</td><td>{5}</td><td>{2}</td><td class="num">{3}</td><td class="num">{4}</td></tr>"##,
            escape_xml(&c.id),
            badge(c.verdict),
            c.scenario.as_deref().map(|s| format!("<code>{}</code>", escape_xml(s))).unwrap_or_else(|| "—".into()),
            fmt_ms(c.detect_ms),
            fmt_ms(c.recover_ms),
            escape_xml(&parts_summary(c))
        );
    }
    o.push_str("</tbody></table>\n");
}

fn claim(o: &mut String, r: &Report, c: &ClaimResult) {
    // Claims that need attention start open.
    let open = matches!(c.verdict, Verdict::Contradicted | Verdict::Errored) && !c.evidence.is_empty();
    let _ = writeln!(
        o,
        r#"<details id="claim-{0}"{1}><summary>{0} {2} <span class="muted">{3}</span></summary>"#,
        escape_xml(&c.id),
        if open { " open" } else { "" },
        badge(c.verdict),
        escape_xml(claim_summary(&c.id))
    );
    let _ = write!(o, "<p><strong>Section:</strong> {}", escape_xml(&c.section));
    if let Some(reason) = &c.reason {
        let _ = write!(o, "<br><strong>Reason:</strong> {}", escape_xml(reason));
    }
    if let Some(m) = &c.first_mismatch {
        let _ = write!(o, "<br><strong>First mismatch:</strong> {}", escape_xml(m));
    }
    if c.detect_ms.is_some() || c.recover_ms.is_some() {
        let _ = write!(o, "<br><strong>Detection:</strong> {} · <strong>recovery:</strong> {}", fmt_ms(c.detect_ms), fmt_ms(c.recover_ms));
    }
    match (&c.scenario, claim_scenario(r, c)) {
        (Some(_), Some(s)) => {
            let _ = write!(
                o,
                "<br><strong>Scenario:</strong> <a href=\"#scenario-{0}\"><code>{0}</code></a> ({1})",
                escape_xml(&s.name),
                outcome_str(s.outcome)
            );
        }
        (Some(name), None) => {
            let _ = write!(o, "<br><strong>Scenario:</strong> <code>{}</code> (did not run)", escape_xml(name));
        }
        (None, _) => {}
    }
    o.push_str("</p>\n");
    if !c.evidence.is_empty() || c.verdict != Verdict::NotSimulated {
        evidence_table(o, &c.evidence);
    }
    if let Some(k) = &c.correction {
        let _ = writeln!(
            o,
            "<p><strong>Correction ({}):</strong> {}</p>",
            if k.verified { "verified ✓" } else { "not verified ✗" },
            escape_xml(&k.summary)
        );
        evidence_table(o, &k.evidence);
    }
    o.push_str("</details>\n");
}

fn scenarios(o: &mut String, r: &Report) {
    if r.scenarios.is_empty() {
        return;
    }
    o.push_str("<h2>Scenarios</h2>\n");
    for s in &r.scenarios {
        let _ = writeln!(
            o,
            r#"<section id="scenario-{}"><h3><code>{}</code> — {}</h3><p class="muted">{} · claims {} · triage row {} · wall {}</p><div class="timeline">"#,
            escape_xml(&s.name),
            escape_xml(&s.name),
            outcome_str(s.outcome),
            escape_xml(&s.file),
            escape_xml(&s.claims.join(", ")),
            escape_xml(s.triage_row.as_deref().unwrap_or("—")),
            fmt_ms(Some(s.wall_ms))
        );
        o.push_str(&svg::timeline(s));
        o.push_str("</div></section>\n");
    }
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>pdns-drill {}{}</title><style>{CSS}</style></head><body>\n",
        escape_xml(&r.run.id),
        if r.run.complete { "" } else { " (incomplete)" }
    );
    summary(&mut o, r);
    findings_table(&mut o, r);
    triage(&mut o, r);
    verdicts(&mut o, r);
    detection_matrix(&mut o, r);
    o.push_str("<h2>Claims</h2>\n");
    for c in &r.claims {
        claim(&mut o, r, c);
    }
    scenarios(&mut o, r);
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn self_contained() {
        let html = render(&sample_report());
        assert!(html.contains("<svg"));
        for attr in ["src=", "href="] {
            for scheme in ["\"http://", "\"https://", "'http://", "'https://", "\"//"] {
                assert!(!html.contains(&format!("{attr}{scheme}")), "{attr}{scheme}");
            }
        }
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("@import"));
    }

    #[test]
    fn escapes_untrusted_text() {
        let mut r = sample_report();
        r.claims[0].evidence[0].observed = "<script>alert(1)</script> & \"x\"".into();
        let html = render(&r);
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
    }

    #[test]
    fn every_claim_has_a_details_block() {
        let r = sample_report();
        let html = render(&r);
        assert_eq!(html.matches("<details").count(), r.claims.len());
        assert_eq!(html.matches("<svg").count(), r.scenarios.len());
    }
}
