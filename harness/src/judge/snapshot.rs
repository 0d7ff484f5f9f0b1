//! The CI gate: an approved snapshot of verdicts and the stable part of their evidence.
//!
//! Only what should not change between two healthy runs is kept: verdicts, scenarios, and for
//! each expectation the step, where it ran, what was asked and what was expected. Addresses,
//! timings, timestamps, serials and the run id are redacted; observed output is left out.
//! A verdict change or a claim added/removed fails the gate; evidence drift is a warning.

use crate::judge::model::{Evidence, Report};
use crate::claims::verdict::Verdict;
use anyhow::Context;
use regex::Regex;
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::LazyLock;

/// 2: each claim's part verdicts are approved too (reports of schema 2). A schema-1 baseline is
/// refused: re-approve it from a new run with `pdns-drill baseline accept`.
pub const SNAPSHOT_SCHEMA: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Snapshot {
    pub schema: u32,
    pub claims: BTreeMap<String, SnapClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SnapClaim {
    pub verdict: Verdict,
    /// Verdict per claim part ("recovery" → contradicted).
    #[serde(default)]
    pub parts: BTreeMap<String, Verdict>,
    pub scenario: Option<String>,
    pub evidence: Vec<String>,
    /// Whether the claim's correction verified, where it has one: a correction that stops
    /// verifying fails the gate like a verdict that changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<bool>,
}

/// One difference between the approved snapshot and this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    VerdictChanged { id: String, from: Verdict, to: Verdict },
    /// One part of a claim changed verdict while the claim's did not.
    PartChanged { id: String, part: String, from: Option<Verdict>, to: Option<Verdict> },
    /// The approved correction no longer verifies (or is no longer tried).
    CorrectionChanged { id: String, from: bool, to: Option<bool> },
    ClaimAdded { id: String, verdict: Verdict },
    ClaimRemoved { id: String, verdict: Verdict },
    /// The claim is now judged in another scenario (a warning, like evidence drift).
    ScenarioChanged { id: String, from: Option<String>, to: Option<String> },
    /// Evidence lines as a diff: `-` approved only, `+` this run only, in order.
    EvidenceChanged { id: String, lines: Vec<DiffLine> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Removed(String),
    Added(String),
}

impl Change {
    pub fn claim(&self) -> &str {
        match self {
            Change::VerdictChanged { id, .. }
            | Change::PartChanged { id, .. }
            | Change::CorrectionChanged { id, .. }
            | Change::ClaimAdded { id, .. }
            | Change::ClaimRemoved { id, .. }
            | Change::ScenarioChanged { id, .. }
            | Change::EvidenceChanged { id, .. } => id,
        }
    }

    /// Whether this change fails the gate (as opposed to a printed warning).
    pub fn is_gating(&self) -> bool {
        matches!(
            self,
            Change::VerdictChanged { .. } | Change::PartChanged { .. } | Change::CorrectionChanged { .. } | Change::ClaimAdded { .. } | Change::ClaimRemoved { .. }
        )
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::VerdictChanged { id, from, to } => write!(f, "{id}: {from} → {to}"),
            Change::PartChanged { id, part, from, to } => {
                let v = |v: &Option<Verdict>| v.map_or("absent".to_string(), |v| v.to_string());
                write!(f, "{id} {part}: {} → {}", v(from), v(to))
            }
            Change::CorrectionChanged { id, from, to } => {
                let v = |v: Option<bool>| match v {
                    Some(true) => "verified",
                    Some(false) => "not verified",
                    None => "not tried",
                };
                write!(f, "{id} correction: {} → {}", v(Some(*from)), v(*to))
            }
            Change::ClaimAdded { id, verdict } => write!(f, "{id}: added ({verdict})"),
            Change::ClaimRemoved { id, verdict } => write!(f, "{id}: removed (was {verdict})"),
            Change::ScenarioChanged { id, from, to } => {
                let s = |o: &Option<String>| o.clone().unwrap_or_else(|| "unassigned".into());
                write!(f, "{id}: scenario {} → {}", s(from), s(to))
            }
            Change::EvidenceChanged { id, lines } => {
                write!(f, "{id}: evidence changed")?;
                for l in lines {
                    match l {
                        DiffLine::Removed(s) => write!(f, "\n  - {s}")?,
                        DiffLine::Added(s) => write!(f, "\n  + {s}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

// Order matters: timestamps before IPv6 (both have colons), serial-like dates before bare numbers.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\b\d{8}T\d{6}Z?\b|\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b",
    )
    .unwrap()
});
static IPV6_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)[0-9a-f:]*:[0-9a-f]*:[0-9a-f:.]*").unwrap());
static IPV4_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").unwrap());
static SERIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{2})?\b").unwrap());
// How much a trimmed line left out depends on the addresses in what it kept.
static TRIMMED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"… \[\d+ more chars\]").unwrap());
static DURATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\s?(?:ms|us|µs|ns|s|sec|secs|seconds|min|minutes)\b").unwrap());

/// Replaces the volatile parts of a line: IPv4/IPv6 literals → `<ip>`, durations → `<ms>`,
/// timestamps → `<ts>`, serial-like dates (YYYYMMDD, YYYYMMDDnn) → `<serial>`, the run id → `<run>`
/// and a lab's number in it → `<lab>`.
static IPV4_NETWORK: std::sync::LazyLock<Regex> =
    std::sync::LazyLock::new(|| Regex::new(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/\d{1,2}\b").unwrap());

// Which lab of the run served a scenario depends on the order scenarios finished in.
static LAB_NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<run>-\d+").unwrap());

pub fn redact(s: &str, run_id: &str) -> String {
    let mut s = if run_id.is_empty() { s.to_string() } else { LAB_NUMBER.replace_all(&s.replace(run_id, "<run>"), "<run>-<lab>").into_owned() };
    s = TIMESTAMP.replace_all(&s, "<ts>").into_owned();
    s = redact_addresses(&s);
    s = SERIAL.replace_all(&s, "<serial>").into_owned();
    s = TRIMMED.replace_all(&s, "… [more chars]").into_owned();
    DURATION.replace_all(&s, "<ms>").into_owned()
}

/// Replaces IPv4 and IPv6 literals with `<ip>` (only what parses as an address). A loopback
/// prefix keeps its length (`127.0.0.0/8` → `<ip>/8`: it means something); any other IPv4
/// network becomes `<net>`, since its length is whatever Docker handed out (/16 or /20).
pub fn redact_addresses(s: &str) -> String {
    let s = IPV4_NETWORK.replace_all(s, |c: &regex::Captures| match c[1].parse::<Ipv4Addr>() {
        Ok(ip) if !ip.is_loopback() => "<net>".to_string(),
        _ => c[0].to_string(),
    });
    let s = IPV6_CANDIDATE.replace_all(&s, |c: &regex::Captures| {
        let m = &c[0];
        if m.parse::<Ipv6Addr>().is_ok() { "<ip>".to_string() } else { m.to_string() }
    });
    IPV4_CANDIDATE
        .replace_all(&s, |c: &regex::Captures| {
            let m = &c[0];
            if m.parse::<Ipv4Addr>().is_ok() { "<ip>".to_string() } else { m.to_string() }
        })
        .into_owned()
}

/// The stable line for one evidence item, or None when it expected nothing.
pub fn evidence_key(e: &Evidence, run_id: &str) -> Option<String> {
    let expected = e.expected.as_deref()?;
    let line = format!("{} step {} {}: {} → expected {}, ok={}", e.phase.as_str(), e.step, e.on, e.action, expected, e.ok);
    // One line per item, whatever the command held.
    Some(redact(&line.replace(['\n', '\r'], " "), run_id))
}

pub fn from_report(r: &Report) -> Snapshot {
    let claims = r
        .claims
        .iter()
        .map(|c| {
            let evidence = c
                .evidence
                .iter()
                .chain(c.correction.iter().flat_map(|k| k.evidence.iter()))
                .filter_map(|e| evidence_key(e, &r.run.id))
                .collect();
            let parts = c.parts.iter().map(|p| (p.part.as_str().to_string(), p.verdict)).collect();
            let correction = c.correction.as_ref().map(|k| k.verified);
            (c.id.clone(), SnapClaim { verdict: c.verdict, parts, scenario: c.scenario.clone(), evidence, correction })
        })
        .collect();
    Snapshot { schema: SNAPSHOT_SCHEMA, claims }
}

/// Line diff by longest common subsequence; evidence lists are short.
fn diff_lines(a: &[String], b: &[String]) -> Vec<DiffLine> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(DiffLine::Added(b[j].clone()));
            j += 1;
        } else {
            out.push(DiffLine::Removed(a[i].clone()));
            i += 1;
        }
    }
    out
}

pub fn diff(approved: &Snapshot, actual: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    for (id, a) in &approved.claims {
        let Some(b) = actual.claims.get(id) else {
            changes.push(Change::ClaimRemoved { id: id.clone(), verdict: a.verdict });
            continue;
        };
        if a.verdict != b.verdict {
            changes.push(Change::VerdictChanged { id: id.clone(), from: a.verdict, to: b.verdict });
        } else {
            let names: std::collections::BTreeSet<&String> = a.parts.keys().chain(b.parts.keys()).collect();
            for part in names {
                let (from, to) = (a.parts.get(part).copied(), b.parts.get(part).copied());
                if from != to {
                    changes.push(Change::PartChanged { id: id.clone(), part: part.clone(), from, to });
                }
            }
        }
        // A baseline approved before corrections were recorded holds none: nothing to compare.
        if let Some(from) = a.correction.filter(|_| a.correction != b.correction) {
            changes.push(Change::CorrectionChanged { id: id.clone(), from, to: b.correction });
        }
        if a.scenario != b.scenario {
            changes.push(Change::ScenarioChanged { id: id.clone(), from: a.scenario.clone(), to: b.scenario.clone() });
        }
        if a.evidence != b.evidence {
            changes.push(Change::EvidenceChanged { id: id.clone(), lines: diff_lines(&a.evidence, &b.evidence) });
        }
    }
    for (id, b) in &actual.claims {
        if !approved.claims.contains_key(id) {
            changes.push(Change::ClaimAdded { id: id.clone(), verdict: b.verdict });
        }
    }
    changes
}

pub fn gate_fails(changes: &[Change]) -> bool {
    changes.iter().any(Change::is_gating)
}

/// Recursively sorts object keys so the bytes do not depend on struct field order or on
/// serde_json's `preserve_order` feature.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        v => v,
    }
}

/// The exact bytes `save` writes: pretty JSON, sorted keys, trailing newline.
pub fn to_bytes(s: &Snapshot) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_string_pretty(&sorted(serde_json::to_value(s)?))?;
    text.push('\n');
    Ok(text.into_bytes())
}

pub fn save(path: &Path, s: &Snapshot) -> anyhow::Result<()> {
    crate::files::write_atomic(path, &to_bytes(s)?).with_context(|| format!("writing snapshot {}", path.display()))
}

pub fn load(path: &Path) -> anyhow::Result<Snapshot> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading snapshot {}", path.display()))?;
    let s: Snapshot = serde_json::from_str(&text).with_context(|| format!("parsing snapshot {}", path.display()))?;
    anyhow::ensure!(
        s.schema == SNAPSHOT_SCHEMA,
        "baseline {} has schema {}, this pdns-drill reads schema {SNAPSHOT_SCHEMA} (claims now have part verdicts); re-approve it from a new run: pdns-drill baseline accept --from <run>/report.json --to <this file>",
        path.display(),
        s.schema
    );
    Ok(s)
}

#[cfg(test)]
mod tests {

    #[test]
    fn lab_network_lengths_are_redacted_loopback_kept() {
        assert_eq!(
            redact_addresses("allow-from=127.0.0.0/8, 172.19.0.0/16 via 10.0.0.1"),
            "allow-from=<ip>/8, <net> via <ip>"
        );
        assert_eq!(redact_addresses("192.168.160.0/20"), redact_addresses("172.19.0.0/16"));
    }

    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn redacts_addresses_timings_and_dates() {
        let run = "20250611T093000Z-4f2a";
        let cases = [
            ("udp 10.1.0.53 google.com. A", "udp <ip> google.com. A"),
            ("dig @::1 -p 5300 x", "dig @<ip> -p 5300 x"),
            ("udp fd00:1::53 google.com. A", "udp <ip> google.com. A"),
            ("allow-from=127.0.0.0/8", "allow-from=<ip>/8"),
            ("timeout after 2000ms", "timeout after <ms>"),
            ("answered in 1.5 s", "answered in <ms>"),
            ("SOA serial 2025061103", "SOA serial <serial>"),
            ("corrupt-20250611T093012Z copy", "corrupt-<ts> copy"),
            ("since 2025-06-11T09:31:04Z", "since <ts>"),
            ("at 09:31:04 today", "at <ts> today"),
            ("run 20250611T093000Z-4f2a done", "run <run> done"),
            ("sub.comptech-lab.com SOA +time=2 +tries=1", "sub.comptech-lab.com SOA +time=2 +tries=1"),
            ("dead:beef and 1.2.3", "dead:beef and 1.2.3"),
            ("got \"; <<>> DiG… [549 more chars]\"", "got \"; <<>> DiG… [more chars]\""),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input, run), want, "{input}");
        }
    }

    #[test]
    fn snapshot_keeps_only_stable_parts() {
        let snap = from_report(&sample_report());
        let all: Vec<&String> = snap.claims.values().flat_map(|c| c.evidence.iter()).collect();
        assert!(!all.is_empty());
        for line in &all {
            assert!(!IPV4_CANDIDATE.is_match(line), "{line}");
            assert!(!line.contains("10.1.0.53") && !line.contains("fd00:1::53"), "{line}");
            assert!(!DURATION.is_match(line), "{line}");
        }
        let net = &snap.claims["NET-ALLOW"].evidence;
        assert!(net.contains(&"symptom step 3 workstation: udp <ip> google.com. A → expected timeout, ok=true".to_string()), "{net:#?}");
        // observed output never lands in the snapshot
        assert!(!all.iter().any(|l| l.contains("142.250") || l.contains("communications error")));
        // the correction's evidence is part of the claim's
        assert!(snap.claims["DAE-AUTH"].evidence.iter().any(|l| l.starts_with("correction step 10")));
    }

    #[test]
    fn flipped_verdict_fails_the_gate() {
        let approved = from_report(&sample_report());
        let mut r = sample_report();
        let c = r.claims.iter_mut().find(|c| c.id == "NET-ALLOW").unwrap();
        c.verdict = Verdict::Contradicted;
        let actual = from_report(&r);
        let changes = diff(&approved, &actual);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to_string(), "NET-ALLOW: confirmed → contradicted");
        assert!(gate_fails(&changes));
        assert!(diff(&approved, &approved).is_empty());
    }

    #[test]
    fn a_part_that_flips_fails_the_gate_even_when_the_claim_does_not() {
        use crate::claims::Part;
        use crate::judge::model::PartResult;
        let part = |verdict| PartResult { part: Part::Verification, verdict, first_mismatch: None, severity: None, reason: None, basis: None };
        let mut r = sample_report();
        r.claims.iter_mut().find(|c| c.id == "DAE-AUTH").unwrap().parts = vec![part(Verdict::Contradicted)];
        let approved = from_report(&r);
        r.claims.iter_mut().find(|c| c.id == "DAE-AUTH").unwrap().parts = vec![part(Verdict::Confirmed)];
        let changes = diff(&approved, &from_report(&r));
        assert_eq!(changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(), ["DAE-AUTH verification: contradicted → confirmed"]);
        assert!(gate_fails(&changes));
    }

    #[test]
    fn added_and_removed_claims_fail_evidence_only_warns() {
        let approved = from_report(&sample_report());
        let mut actual = approved.clone();
        let v = actual.claims.remove("VM-SCRATCH").unwrap();
        actual.claims.insert("HARNESS-EXTRA".into(), v);
        let changes = diff(&approved, &actual);
        assert!(changes.contains(&Change::ClaimRemoved { id: "VM-SCRATCH".into(), verdict: Verdict::NotSimulated }));
        assert!(changes.iter().any(|c| c.to_string() == "HARNESS-EXTRA: added (not-simulated)"));
        assert!(gate_fails(&changes));

        let mut drift = approved.clone();
        let ev = &mut drift.claims.get_mut("NET-ALLOW").unwrap().evidence;
        let step3 = ev.iter_mut().find(|l| l.contains("step 3")).unwrap();
        *step3 = step3.replace("expected timeout", "expected REFUSED");
        let changes = diff(&approved, &drift);
        assert_eq!(changes.len(), 1);
        assert!(!gate_fails(&changes));
        let text = changes[0].to_string();
        assert!(text.starts_with("NET-ALLOW: evidence changed\n"), "{text}");
        assert!(text.contains("\n  - symptom step 3 workstation: udp <ip> google.com. A → expected timeout, ok=true"), "{text}");
        assert!(text.contains("\n  + symptom step 3 workstation: udp <ip> google.com. A → expected REFUSED, ok=true"), "{text}");
    }

    #[test]
    fn save_load_round_trip_with_stable_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approved.json");
        let snap = from_report(&sample_report());
        save(&path, &snap).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.ends_with(b"}\n"));
        assert_eq!(load(&path).unwrap(), snap);
        save(&path, &load(&path).unwrap()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        // keys sorted: "claims" before "schema", "evidence" before "scenario" before "verdict"
        assert!(text.find("\"claims\"").unwrap() < text.find("\"schema\"").unwrap());
        let net = text.find("\"NET-ALLOW\"").unwrap();
        let (e, s, v) = (text[net..].find("\"evidence\""), text[net..].find("\"scenario\""), text[net..].find("\"verdict\""));
        assert!(e < s && s < v);
    }

    #[test]
    fn a_correction_that_stops_verifying_fails_the_gate() {
        let r = sample_report();
        let id = r.claims.iter().find(|c| c.correction.as_ref().is_some_and(|k| k.verified)).expect("the fixture has a verified correction").id.clone();
        let approved = from_report(&r);
        assert_eq!(approved.claims[&id].correction, Some(true));
        let mut now = r.clone();
        now.claims.iter_mut().find(|c| c.id == id).unwrap().correction.as_mut().unwrap().verified = false;
        let changes = diff(&approved, &from_report(&now));
        assert!(gate_fails(&changes), "{changes:?}");
        assert!(changes.iter().any(|c| c.to_string() == format!("{id} correction: verified → not verified")), "{changes:?}");
        // A baseline from before corrections were approved compares nothing about them.
        let mut old = approved.clone();
        old.claims.values_mut().for_each(|c| c.correction = None);
        assert!(!gate_fails(&diff(&old, &from_report(&now))));
    }

    #[test]
    fn load_rejects_other_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approved.json");
        std::fs::write(&path, "{\"schema\": 99, \"claims\": {}}").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("schema 99"));
    }

    #[test]
    fn snapshot_file_of_fixture() {
        insta::assert_snapshot!(String::from_utf8(to_bytes(&from_report(&sample_report())).unwrap()).unwrap());
    }
}
