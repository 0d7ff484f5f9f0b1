//! Two runs side by side (`pdns-drill compare A/report.json B/report.json`): the run headers,
//! then claim by claim, and part by part where reports carry parts, with the evidence line
//! that differs. For two suites, two config dirs, or two runs of the same lab.
//!
//! Pure: the caller reads the files; `parse` says what is wrong with one.

use super::common::{short_hash, trim_chars};
use super::md::{cell, inline};
use crate::judge::model::{Report, RunInfo, SCHEMA};
use crate::judge::snapshot::{redact, redact_addresses};
use crate::claims::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Version of the JSON this module writes.
pub const COMPARE_SCHEMA: u32 = 1;

/// One part of a claim's verdict (symptom, check, recovery, verification, timing), as compare
/// shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartVerdict {
    pub part: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub first_mismatch: Option<String>,
}

/// One report as compare reads it.
#[derive(Debug, Clone)]
pub struct Side {
    /// How the user named it (the path given).
    pub label: String,
    pub report: Report,
    /// Parts by claim ID, for the claims that carry any.
    pub parts: BTreeMap<String, Vec<PartVerdict>>,
}

/// Reads one `report.json`; the error says what is wrong, without the label (the caller adds it).
pub fn parse(label: &str, text: &str) -> Result<Side, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let schema = value.get("schema").ok_or("not a pdns-drill report: no `schema` field")?;
    // Schema 2 only added fields (parts, severity, variants), so schema 1 reports read as is.
    if !schema.as_u64().is_some_and(|v| (1..=u64::from(SCHEMA)).contains(&v)) {
        return Err(format!("report schema {schema}, this pdns-drill reads schemas 1 to {SCHEMA}"));
    }
    let report: Report = serde_json::from_str(text).map_err(|e| format!("not a pdns-drill report: {e}"))?;
    let parts = report
        .claims
        .iter()
        .filter(|c| !c.parts.is_empty())
        .map(|c| {
            let parts = c
                .parts
                .iter()
                .map(|p| PartVerdict { part: p.part.as_str().into(), verdict: p.verdict, reason: p.reason.clone(), first_mismatch: p.first_mismatch.clone() })
                .collect();
            (c.id.clone(), parts)
        })
        .collect();
    Ok(Side { label: label.to_string(), report, parts })
}

/// How one claim, or one part, compares from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Same verdict, same evidence line (addresses, timings and run ids aside).
    Same,
    /// Same verdict, another evidence line.
    Evidence,
    /// Another verdict.
    Verdict,
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
}

impl Change {
    /// Whether this is a verdict difference (what makes `compare` exit 1).
    pub fn differs(self) -> bool {
        matches!(self, Change::Verdict | Change::Added | Change::Removed)
    }

    fn label(self) -> &'static str {
        match self {
            Change::Same => "",
            Change::Evidence => "evidence",
            Change::Verdict => "**verdict**",
            Change::Added => "**only in B**",
            Change::Removed => "**only in A**",
        }
    }
}

/// A verdict and the line that says why: the first mismatch, else the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub verdict: Verdict,
    pub evidence: Option<String>,
}

impl Outcome {
    fn new(verdict: Verdict, first_mismatch: &Option<String>, reason: &Option<String>) -> Outcome {
        Outcome { verdict, evidence: first_mismatch.clone().or_else(|| reason.clone()) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartRow {
    pub part: String,
    pub change: Change,
    pub a: Option<Outcome>,
    pub b: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimRow {
    pub id: String,
    pub change: Change,
    pub a: Option<Outcome>,
    pub b: Option<Outcome>,
    /// Empty when neither report carries parts for this claim.
    pub parts: Vec<PartRow>,
}

impl ClaimRow {
    /// The claim's verdict, or one of its parts' verdicts, differs.
    pub fn differs(&self) -> bool {
        self.change.differs() || self.parts.iter().any(|p| p.change.differs())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaderRow {
    pub field: &'static str,
    pub a: String,
    pub b: String,
    /// Values differ (never set for the run id, which always does).
    pub differs: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub schema: u32,
    pub a: String,
    pub b: String,
    pub a_complete: bool,
    pub b_complete: bool,
    pub header: Vec<HeaderRow>,
    /// A's claims in A's order, then those only in B in B's order.
    pub claims: Vec<ClaimRow>,
}

impl Comparison {
    /// Any claim or part verdict differs, or a claim is in one report only.
    pub fn differs(&self) -> bool {
        self.claims.iter().any(ClaimRow::differs)
    }

    pub fn count(&self, change: Change) -> usize {
        self.claims.iter().filter(|c| c.change == change).count()
    }
}

/// Decides how an (A, B) pair of outcomes compares; evidence lines are compared with the volatile
/// parts (addresses, timings, serials, run ids) redacted.
fn classify(a: Option<&Outcome>, b: Option<&Outcome>, run_a: &str, run_b: &str) -> Change {
    match (a, b) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        (Some(a), Some(b)) if a.verdict != b.verdict => Change::Verdict,
        (Some(a), Some(b)) => {
            let gist = |o: &Outcome, run: &str| o.evidence.as_deref().map(|s| redact(s, run));
            if gist(a, run_a) == gist(b, run_b) {
                Change::Same
            } else {
                Change::Evidence
            }
        }
    }
}

fn compare_parts(a: &[PartVerdict], b: &[PartVerdict], run_a: &str, run_b: &str) -> Vec<PartRow> {
    let names = a.iter().map(|p| &p.part).chain(b.iter().map(|p| &p.part).filter(|n| !a.iter().any(|p| &p.part == *n)));
    names
        .map(|name| {
            let find = |ps: &[PartVerdict]| ps.iter().find(|p| &p.part == name).map(|p| Outcome::new(p.verdict, &p.first_mismatch, &p.reason));
            let (oa, ob) = (find(a), find(b));
            PartRow { part: name.clone(), change: classify(oa.as_ref(), ob.as_ref(), run_a, run_b), a: oa, b: ob }
        })
        .collect()
}

fn header(a: &RunInfo, b: &RunInfo) -> Vec<HeaderRow> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "unknown".into());
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join("; ") };
    let rows: [(&'static str, String, String); 11] = [
        ("run", a.id.clone(), b.id.clone()),
        ("complete", yes_no(a.complete), yes_no(b.complete)),
        ("suite", a.suite.clone(), b.suite.clone()),
        ("pdns", opt(&a.pdns_version), opt(&b.pdns_version)),
        ("pdns-recursor", opt(&a.recursor_version), opt(&b.recursor_version)),
        ("image", a.image_tag.clone(), b.image_tag.clone()),
        ("config dir", format!("{} ({})", a.config_dir, short_hash(&a.config_dir_hash)), format!("{} ({})", b.config_dir, short_hash(&b.config_dir_hash))),
        ("zone", format!("{} ({})", a.zone_file, short_hash(&a.zone_hash)), format!("{} ({})", b.zone_file, short_hash(&b.zone_hash))),
        ("drop-ins", list(&a.dropins), list(&b.dropins)),
        ("filters", list(&a.filters), list(&b.filters)),
        ("finished", a.finished_at.clone().unwrap_or_else(|| "—".into()), b.finished_at.clone().unwrap_or_else(|| "—".into())),
    ];
    // Drop-in notes name the lab's addresses, which differ between any two labs.
    let same = |field: &str, va: &str, vb: &str| match field {
        "run" | "finished" => true,
        "drop-ins" => redact_addresses(va) == redact_addresses(vb),
        _ => va == vb,
    };
    rows.into_iter().map(|(field, va, vb)| HeaderRow { field, differs: !same(field, &va, &vb), a: va, b: vb }).collect()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

pub fn compare(a: &Side, b: &Side) -> Comparison {
    let (ra, rb) = (&a.report, &b.report);
    let (run_a, run_b) = (ra.run.id.as_str(), rb.run.id.as_str());
    let ids = ra.claims.iter().map(|c| &c.id).chain(rb.claims.iter().map(|c| &c.id).filter(|id| !ra.claims.iter().any(|c| &c.id == *id)));
    let claims = ids
        .map(|id| {
            let find = |r: &Report| r.claims.iter().find(|c| &c.id == id).map(|c| Outcome::new(c.verdict, &c.first_mismatch, &c.reason));
            let (oa, ob) = (find(ra), find(rb));
            let none = Vec::new();
            let parts = compare_parts(a.parts.get(id).unwrap_or(&none), b.parts.get(id).unwrap_or(&none), run_a, run_b);
            ClaimRow { id: id.clone(), change: classify(oa.as_ref(), ob.as_ref(), run_a, run_b), a: oa, b: ob, parts }
        })
        .collect();
    Comparison {
        schema: COMPARE_SCHEMA,
        a: a.label.clone(),
        b: b.label.clone(),
        a_complete: ra.run.complete,
        b_complete: rb.run.complete,
        header: header(&ra.run, &rb.run),
        claims,
    }
}

fn verdict_cell(o: &Option<Outcome>) -> String {
    o.as_ref().map_or("—".to_string(), |o| o.verdict.to_string())
}

/// How much of a multi-line reason (a harness error with its journal lines) a detail shows.
const BLOCK_MAX: usize = 1500;

fn evidence_lines(out: &mut String, prefix: &str, a: &Option<Outcome>, b: &Option<Outcome>) {
    for (side, o) in [("A", a), ("B", b)] {
        match o.as_ref().map(|o| o.evidence.as_deref()) {
            None => {
                let _ = writeln!(out, "- {prefix}{side}: not in this report");
            }
            Some(None) => {
                let _ = writeln!(out, "- {prefix}{side}: no mismatch or reason recorded");
            }
            Some(Some(e)) if e.trim_end().contains('\n') => {
                let block = trim_chars(e, BLOCK_MAX).replace("```", "'''");
                let block: Vec<String> = block.lines().map(|l| format!("  {l}")).collect();
                let _ = writeln!(out, "- {prefix}{side}:\n\n  ```text\n{}\n  ```", block.join("\n"));
            }
            Some(Some(e)) => {
                let _ = writeln!(out, "- {prefix}{side}: {}", inline(e));
            }
        }
    }
}

fn claim_detail(out: &mut String, c: &ClaimRow) {
    let arrow = match c.change {
        Change::Verdict | Change::Added | Change::Removed => format!("{} → {}", verdict_cell(&c.a), verdict_cell(&c.b)),
        _ => verdict_cell(&c.a),
    };
    let _ = writeln!(out, "### {}: {arrow}\n", inline(&c.id));
    evidence_lines(out, "", &c.a, &c.b);
    out.push('\n');
    if c.parts.is_empty() {
        return;
    }
    out.push_str("| part | A | B | change |\n|---|---|---|---|\n");
    for p in &c.parts {
        let _ = writeln!(out, "| {} | {} | {} | {} |", cell(&p.part), verdict_cell(&p.a), verdict_cell(&p.b), p.change.label());
    }
    out.push('\n');
    for p in c.parts.iter().filter(|p| p.change != Change::Same) {
        evidence_lines(out, &format!("{} ", inline(&p.part)), &p.a, &p.b);
    }
    if c.parts.iter().any(|p| p.change != Change::Same) {
        out.push('\n');
    }
}

/// The comparison as Markdown: summary, run headers, every claim, then the details of each
/// difference.
pub fn render_md(c: &Comparison) -> String {
    let mut o = String::new();
    o.push_str("# pdns-drill compare\n\n");
    let _ = writeln!(o, "A: `{}` · B: `{}`\n", inline(&c.a), inline(&c.b));
    for (side, complete) in [("A", c.a_complete), ("B", c.b_complete)] {
        if !complete {
            let _ = writeln!(o, "> **{side} is from an incomplete run**: its verdicts are partial.\n");
        }
    }
    let differ = c.claims.iter().filter(|r| r.differs()).count();
    let parts_only = c.claims.iter().filter(|r| r.differs() && !r.change.differs()).count();
    let _ = writeln!(
        o,
        "**{differ} claim(s) differ** ({} verdict(s) changed, {} only in A, {} only in B, {parts_only} in parts only) · {} same verdict with other evidence · {} the same\n",
        c.count(Change::Verdict),
        c.count(Change::Removed),
        c.count(Change::Added),
        c.count(Change::Evidence),
        c.claims.iter().filter(|r| r.change == Change::Same && !r.differs()).count(),
    );
    o.push_str("| | A | B |\n|---|---|---|\n");
    for h in &c.header {
        let field = if h.differs { format!("**{}**", h.field) } else { h.field.to_string() };
        let _ = writeln!(o, "| {field} | {} | {} |", cell(&h.a), cell(&h.b));
    }
    o.push_str("\n## Claims\n\n| claim | A | B | change |\n|---|---|---|---|\n");
    for r in &c.claims {
        let change = if !r.change.differs() && r.differs() { "**parts**" } else { r.change.label() };
        let _ = writeln!(o, "| {} | {} | {} | {change} |", cell(&r.id), verdict_cell(&r.a), verdict_cell(&r.b));
    }
    o.push('\n');
    let differing: Vec<&ClaimRow> = c.claims.iter().filter(|r| r.differs()).collect();
    if !differing.is_empty() {
        o.push_str("## Differences\n\n");
        for r in differing {
            claim_detail(&mut o, r);
        }
    }
    let evidence: Vec<&ClaimRow> = c.claims.iter().filter(|r| !r.differs() && (r.change == Change::Evidence || r.parts.iter().any(|p| p.change == Change::Evidence))).collect();
    if !evidence.is_empty() {
        o.push_str("## Same verdict, other evidence\n\n");
        for r in evidence {
            claim_detail(&mut o, r);
        }
    }
    while o.ends_with("\n\n") {
        o.pop();
    }
    o
}

/// The comparison as JSON (schema `COMPARE_SCHEMA`), with a trailing newline.
pub fn render_json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(c).expect("a comparison always serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    fn side(label: &str, r: &Report) -> Side {
        parse(label, &serde_json::to_string(r).unwrap()).unwrap()
    }

    /// A report's JSON with `parts` added to one claim, as the writer will lay them.
    fn with_parts(r: &Report, id: &str, parts: serde_json::Value) -> Side {
        let mut v = serde_json::to_value(r).unwrap();
        let claim = v["claims"].as_array_mut().unwrap().iter_mut().find(|c| c["id"] == id).unwrap();
        claim["parts"] = parts;
        parse("with-parts", &v.to_string()).unwrap()
    }

    fn row<'a>(c: &'a Comparison, id: &str) -> &'a ClaimRow {
        c.claims.iter().find(|r| r.id == id).unwrap()
    }

    fn trixie(mut r: Report) -> Report {
        r.run.id = "20250612T101500Z-77aa".into();
        r.run.complete = true;
        r.run.suite = "trixie".into();
        r.run.image_tag = "pdns-drill-lab:trixie-1a2b3c4d".into();
        r.run.pdns_version = Some("4.9.18".into());
        r.run.recursor_version = Some("5.2.13".into());
        r
    }

    #[test]
    fn same_report_compares_equal() {
        let a = side("a", &sample_report());
        let c = compare(&a, &a);
        assert!(!c.differs());
        assert!(c.claims.iter().all(|r| r.change == Change::Same), "{:?}", c.claims.iter().find(|r| r.change != Change::Same));
        assert_eq!(c.claims.len(), sample_report().claims.len());
    }

    #[test]
    fn changed_added_and_removed_claims() {
        let a = sample_report();
        let mut b = trixie(sample_report());
        let net = b.claims.iter_mut().find(|c| c.id == "NET-ALLOW").unwrap();
        net.verdict = Verdict::Errored;
        net.reason = Some("lab did not come up".into());
        b.claims.retain(|c| c.id != "CLI-CACHED");
        let mut extra = b.claims[0].clone();
        extra.id = "UPG-EXTRA".into();
        b.claims.push(extra);
        let c = compare(&side("a", &a), &side("b", &b));
        assert!(c.differs());
        let net = row(&c, "NET-ALLOW");
        assert_eq!(net.change, Change::Verdict);
        assert_eq!(net.b.as_ref().unwrap().evidence.as_deref(), Some("lab did not come up"));
        assert_eq!(row(&c, "CLI-CACHED").change, Change::Removed);
        assert!(row(&c, "CLI-CACHED").b.is_none());
        assert_eq!(row(&c, "UPG-EXTRA").change, Change::Added);
        assert_eq!(c.claims.last().unwrap().id, "UPG-EXTRA", "B-only claims come last");
        assert_eq!(row(&c, "TRI-1").change, Change::Same);
        assert_eq!((c.count(Change::Verdict), c.count(Change::Removed), c.count(Change::Added)), (1, 1, 1));
    }

    #[test]
    fn evidence_only_changes_do_not_differ_and_volatile_parts_are_ignored() {
        let a = sample_report();
        let mut b = trixie(sample_report());
        let tri5 = b.claims.iter_mut().find(|c| c.id == "TRI-5").unwrap();
        // Same words, other addresses: the same evidence.
        tri5.first_mismatch = tri5.first_mismatch.as_ref().map(|m| format!("{m} via 172.20.0.53"));
        let auth = b.claims.iter_mut().find(|c| c.id == "DAE-AUTH").unwrap();
        auth.first_mismatch = Some("DAE-AUTH step 6: sqlite3 count expected exit 0 and a count, got exit 127".into());
        let mut a2 = a.clone();
        a2.claims.iter_mut().find(|c| c.id == "TRI-5").unwrap().first_mismatch =
            a.claims.iter().find(|c| c.id == "TRI-5").unwrap().first_mismatch.as_ref().map(|m| format!("{m} via 172.18.0.53"));
        let c = compare(&side("a", &a2), &side("b", &b));
        assert_eq!(row(&c, "TRI-5").change, Change::Same);
        assert_eq!(row(&c, "DAE-AUTH").change, Change::Evidence);
        assert!(!c.differs());
    }

    #[test]
    fn parts_added_removed_and_changed() {
        let r = sample_report();
        let a = with_parts(
            &r,
            "DAE-REC",
            serde_json::json!([
                {"part": "symptom", "verdict": "confirmed"},
                {"part": "recovery", "verdict": "confirmed"},
                {"part": "timing", "verdict": "confirmed"},
            ]),
        );
        let b = with_parts(
            &r,
            "DAE-REC",
            serde_json::json!([
                {"part": "symptom", "verdict": "confirmed"},
                {"part": "recovery", "verdict": "contradicted", "first_mismatch": "DAE-REC step 7: restart expected exit 0, got exit 1"},
                {"part": "verification", "verdict": "confirmed"},
            ]),
        );
        let c = compare(&a, &b);
        let rec = row(&c, "DAE-REC");
        assert_eq!(rec.change, Change::Same, "the claim's own verdict is unchanged");
        assert!(rec.differs() && c.differs(), "a part verdict differs");
        let part = |n: &str| rec.parts.iter().find(|p| p.part == n).unwrap();
        assert_eq!(part("symptom").change, Change::Same);
        assert_eq!(part("recovery").change, Change::Verdict);
        assert_eq!(part("recovery").b.as_ref().unwrap().evidence.as_deref(), Some("DAE-REC step 7: restart expected exit 0, got exit 1"));
        assert_eq!(part("timing").change, Change::Removed);
        assert_eq!(part("verification").change, Change::Added);
        assert_eq!(rec.parts.iter().map(|p| p.part.as_str()).collect::<Vec<_>>(), ["symptom", "recovery", "timing", "verification"]);
        assert!(row(&c, "TRI-1").parts.is_empty());
    }

    #[test]
    fn parts_on_one_side_only_differ() {
        let r = sample_report();
        let a = side("a", &r);
        let b = with_parts(&r, "NET-ALLOW", serde_json::json!([{"part": "check", "verdict": "confirmed"}]));
        let c = compare(&a, &b);
        assert_eq!(row(&c, "NET-ALLOW").parts[0].change, Change::Added);
        assert!(c.differs());
    }

    #[test]
    fn headers_mark_what_differs() {
        let c = compare(&side("a", &sample_report()), &side("b", &trixie(sample_report())));
        let h = |f: &str| c.header.iter().find(|h| h.field == f).unwrap();
        assert!(h("suite").differs && h("pdns").differs && h("pdns-recursor").differs);
        assert!(!h("config dir").differs && !h("zone").differs);
        assert!(!h("run").differs, "run ids always differ; not worth marking");
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert!(parse("x", "{").unwrap_err().starts_with("not JSON"));
        assert!(parse("x", "{\"claims\": []}").unwrap_err().contains("no `schema` field"));
        assert!(parse("x", "{\"schema\": 9, \"claims\": []}").unwrap_err().contains("schema 9"));
        let e = parse("x", "{\"schema\": 2, \"claims\": []}").unwrap_err();
        assert!(e.starts_with("not a pdns-drill report") && e.contains("run"), "{e}");
        let mut v = serde_json::to_value(sample_report()).unwrap();
        v["claims"][0]["parts"] = serde_json::json!([{"part": "symptom", "verdict": "maybe"}]);
        assert!(parse("x", &v.to_string()).unwrap_err().contains("maybe"));
    }

    #[test]
    fn multi_line_reasons_render_as_blocks() {
        let mut b = trixie(sample_report());
        let c = b.claims.iter_mut().find(|c| c.id == "TRI-1").unwrap();
        c.verdict = Verdict::Errored;
        c.reason = Some("steady state not reached within 60s:\npdns-recursor is activating; its journal says:\n  msg=\"Old-style settings syntax not enabled\"".into());
        let md = render_md(&compare(&side("a", &sample_report()), &side("b", &b)));
        assert!(md.contains("- B:\n\n  ```text\n  steady state not reached within 60s:\n  pdns-recursor is activating"), "{md}");
    }

    #[test]
    fn json_names_the_changes() {
        let mut b = trixie(sample_report());
        b.claims.iter_mut().find(|c| c.id == "TRI-1").unwrap().verdict = Verdict::Contradicted;
        let v: serde_json::Value = serde_json::from_str(&render_json(&compare(&side("a", &sample_report()), &side("b", &b)))).unwrap();
        assert_eq!(v["schema"], COMPARE_SCHEMA);
        let tri1 = v["claims"].as_array().unwrap().iter().find(|c| c["id"] == "TRI-1").unwrap();
        assert_eq!(tri1["change"], "verdict");
        assert_eq!(tri1["a"]["verdict"], "confirmed");
        assert_eq!(tri1["b"]["verdict"], "contradicted");
    }

    #[test]
    fn markdown_snapshot() {
        // A: an older report, from before the catalogue had UPG-CONF.
        let mut ra = sample_report();
        ra.claims.retain(|c| c.id != "UPG-CONF");
        let a = with_parts(
            &ra,
            "DAE-REC",
            serde_json::json!([{"part": "symptom", "verdict": "confirmed"}, {"part": "recovery", "verdict": "confirmed"}]),
        );
        let mut rb = trixie(sample_report());
        let net = rb.claims.iter_mut().find(|c| c.id == "NET-ALLOW").unwrap();
        net.verdict = Verdict::Contradicted;
        net.first_mismatch = Some("NET-ALLOW step 3: recursor probe expected timeout, got REFUSED | rcode 5".into());
        rb.claims.iter_mut().find(|c| c.id == "DAE-AUTH").unwrap().first_mismatch =
            Some("DAE-AUTH step 6: sqlite3 count expected exit 0 and a count, got exit 127".into());
        rb.claims.retain(|c| c.id != "CLI-CACHED");
        let upg = rb.claims.iter_mut().find(|c| c.id == "UPG-CONF").unwrap();
        upg.verdict = Verdict::Contradicted;
        upg.reason = Some("pdns-recursor 5.2 refuses the old-style recursor.conf".into());
        let mut b = with_parts(
            &rb,
            "DAE-REC",
            serde_json::json!([
                {"part": "symptom", "verdict": "confirmed"},
                {"part": "recovery", "verdict": "contradicted", "reason": "restart loops: <old-style settings>"},
            ]),
        );
        b.label = "reports/trixie/report.json".into();
        let mut a = a;
        a.label = "reports/bookworm/report.json".into();
        insta::assert_snapshot!(render_md(&compare(&a, &b)));
    }
}
