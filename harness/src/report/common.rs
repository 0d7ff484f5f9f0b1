//! Small pieces every renderer shares: verdict counts, the runbook's triage table, timings,
//! trimming and escaping. Renderers stay about layout; the wording of facts lives here.

use crate::judge::model::{ClaimResult, Evidence, Report, ScenarioOutcome, ScenarioResult};
use crate::claims;
use crate::claims::verdict::Verdict;

/// One row of the runbook's first-triage table (paraphrased), by its claim ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriageRow {
    pub id: &'static str,
    pub recursor: &'static str,
    pub auth: &'static str,
    pub ping: &'static str,
    /// `virsh list` in the lab; the container's state here.
    pub vm: &'static str,
    pub likely_cause: &'static str,
}

pub const TRIAGE_ROWS: [TriageRow; 6] = [
    TriageRow { id: "TRI-1", recursor: "ok", auth: "ok", ping: "ok", vm: "running", likely_cause: "DNS is fine; the problem is elsewhere" },
    TriageRow { id: "TRI-2", recursor: "no reply", auth: "ok", ping: "ok", vm: "running", likely_cause: "pdns-recursor daemon down" },
    TriageRow { id: "TRI-3", recursor: "ok", auth: "no reply", ping: "ok", vm: "running", likely_cause: "pdns authoritative daemon down" },
    TriageRow { id: "TRI-4", recursor: "no reply", auth: "no reply", ping: "ok", vm: "running", likely_cause: "both daemons down (rare) or a firewall change" },
    TriageRow { id: "TRI-5", recursor: "no reply", auth: "no reply", ping: "no reply", vm: "running", likely_cause: "VM-level networking broken" },
    TriageRow { id: "TRI-6", recursor: "no reply", auth: "no reply", ping: "no reply", vm: "stopped", likely_cause: "VM died" },
];

/// What the triage step produces when the probes match no row.
pub const TRIAGE_UNKNOWN: &str = "unknown";

/// Names of the scenarios whose triage step landed on `row` ("TRI-2", "unknown"), in run order.
pub fn scenarios_on_triage_row<'a>(r: &'a Report, row: &str) -> Vec<&'a str> {
    r.scenarios.iter().filter(|s| s.triage_row.as_deref() == Some(row)).map(|s| s.name.as_str()).collect()
}

/// How many claims got each verdict, in `Verdict::ALL` order.
pub fn verdict_counts(r: &Report) -> [(Verdict, usize); 6] {
    Verdict::ALL.map(|v| (v, r.claims.iter().filter(|c| c.verdict == v).count()))
}

/// The catalogue's paraphrase of a claim, or a note when the ID is the harness's own.
pub fn claim_summary(id: &str) -> &'static str {
    claims::lookup(id).map(|c| c.summary).unwrap_or("(not in the catalogue)")
}

pub fn find_scenario<'a>(r: &'a Report, name: &str) -> Option<&'a ScenarioResult> {
    r.scenarios.iter().find(|s| s.name == name)
}

/// The scenario a claim was judged in, when it ran.
pub fn claim_scenario<'a>(r: &'a Report, c: &ClaimResult) -> Option<&'a ScenarioResult> {
    c.scenario.as_deref().and_then(|n| find_scenario(r, n))
}

/// A hash shortened for people: algorithm prefix dropped, 12 hex digits kept.
/// The gate's outcome in one line, as report.md and report.html open with it.
pub fn gate_headline(g: &crate::judge::model::Gate) -> String {
    use crate::judge::model::GateOutcome;
    let against = match &g.baseline {
        Some(b) => format!("the baseline {} (sha256 {})", b.path, short_hash(&b.sha256)),
        None => "no baseline: every decided claim must be confirmed".into(),
    };
    let what = match g.outcome {
        GateOutcome::Pass => "GATE PASSED: every verdict as approved",
        GateOutcome::Fail => "GATE FAILED",
        GateOutcome::Undecided => "GATE UNDECIDED: the harness could not decide every claim (a retry may help)",
        GateOutcome::Interrupted => "GATE INTERRUPTED",
    };
    format!("{what} — {against}; exit {}", g.exit_code)
}

pub fn short_hash(h: &str) -> &str {
    let h = h.rsplit(':').next().unwrap_or(h);
    match h.char_indices().nth(12) {
        Some((i, _)) => &h[..i],
        None => h,
    }
}

/// "850 ms", "3.40 s", or "—" when unknown.
pub fn fmt_ms(ms: Option<u64>) -> String {
    match ms {
        None => "—".to_string(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{:.2} s", ms as f64 / 1000.0),
    }
}

pub fn outcome_str(o: ScenarioOutcome) -> &'static str {
    match o {
        ScenarioOutcome::Held => "held",
        ScenarioOutcome::Deviated => "deviated",
        ScenarioOutcome::Errored => "errored",
        ScenarioOutcome::Interrupted => "interrupted",
        ScenarioOutcome::NotSimulated => "not-simulated",
    }
}

/// Colours shared by the SVG timelines and the HTML badges.
pub fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Confirmed => "#2e7d32",
        Verdict::Contradicted => "#c62828",
        Verdict::NotSimulated => "#616161",
        Verdict::Errored => "#e65100",
        Verdict::Unchecked => "#f9a825",
        Verdict::Pending => "#90caf9",
    }
}

pub fn outcome_colour(o: ScenarioOutcome) -> &'static str {
    match o {
        ScenarioOutcome::Held => "#2e7d32",
        ScenarioOutcome::Deviated => "#c62828",
        ScenarioOutcome::Errored => "#e65100",
        ScenarioOutcome::Interrupted => "#616161",
        ScenarioOutcome::NotSimulated => "#9e9e9e",
    }
}

pub use crate::text::trim_chars;

/// How long an output may be inside a table cell before it is trimmed.
pub const CELL_MAX: usize = 300;

/// The file name a scenario's timeline gets under `timelines/`: anything outside
/// `[A-Za-z0-9._-]` becomes `_`, so a scenario name can never escape the directory.
pub fn timeline_file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    match stem.trim_start_matches('.') {
        "" => "_".to_string(),
        s => s.to_string(),
    }
}

/// Relative path of a scenario's timeline, as linked from report.md.
pub fn timeline_rel_path(name: &str) -> String {
    format!("timelines/{}.svg", timeline_file_stem(name))
}

/// Escapes text for XML/HTML content and attribute values.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One evidence item as a single plain-text line (JUnit bodies, logs).
pub fn evidence_line(e: &Evidence) -> String {
    let expected = e.expected.as_deref().map(|x| format!(" expected {x};")).unwrap_or_default();
    let observed = trim_chars(&e.observed, CELL_MAX).replace('\n', "⏎");
    let mark = if e.ok { "ok" } else { "MISMATCH" };
    format!("[{mark}] {} step {} on {}: {}:{expected} observed {observed}", e.phase.as_str(), e.step, e.on, e.action)
}

/// The contradicted claims, worst severity first (then catalogue order).
pub fn findings(r: &Report) -> Vec<&ClaimResult> {
    let mut f: Vec<&ClaimResult> = r.claims.iter().filter(|c| c.verdict == Verdict::Contradicted).collect();
    f.sort_by_key(|c| c.severity.unwrap_or(crate::claims::Severity::Cosmetic));
    f
}

/// Findings split by what they rest on: the runbook as written first, then the harness's
/// interpretation (a contradiction with no basis recorded, from an older history, goes last).
pub fn by_basis<'a>(findings: &[&'a ClaimResult]) -> [(&'static str, Vec<&'a ClaimResult>); 3] {
    use crate::claims::verdict::Basis;
    let of = |want: fn(&Option<Basis>) -> bool| findings.iter().copied().filter(|c| want(&c.basis)).collect::<Vec<_>>();
    [
        ("The runbook as written", of(|b| matches!(b, Some(Basis::AsWritten)))),
        ("The harness's interpretation", of(|b| matches!(b, Some(Basis::Interpretation(_))))),
        ("Basis not recorded", of(|b| b.is_none())),
    ]
}

/// A claim's parts in one short cell: "check ✓ · recovery ✗ · verification ?".
pub fn parts_summary(c: &ClaimResult) -> String {
    c.parts
        .iter()
        .map(|p| format!("{} {}", p.part, p.verdict.mark().unwrap_or('–')))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One cell of the detection matrix: text and class (detected, missed, quiet).
pub fn matrix_cell(s: &ScenarioResult, m: crate::scenario::monitors::Monitor) -> (String, &'static str) {
    let expected = s.monitors_expected.contains(&m);
    match s.detections.iter().find(|d| d.monitor == m) {
        Some(d) if d.first_ms.is_some() => (format!("✓ {}", fmt_ms(d.first_ms)), "detected"),
        Some(_) if expected => ("✗ missed".into(), "missed"),
        Some(_) => ("—".into(), "quiet"),
        None => ("".into(), "none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_names_stay_in_their_directory() {
        assert_eq!(timeline_file_stem("../etc/passwd"), "_etc_passwd");
        assert_eq!(timeline_file_stem("recursor-down"), "recursor-down");
        assert!(!timeline_file_stem("..").contains('/'));
    }

    #[test]
    fn short_hash_drops_prefix() {
        assert_eq!(short_hash("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_hash("abc"), "abc");
    }
}
