//! `junit.xml`: one testsuite "pdns-drill", one testcase per claim ID, so CI dashboards track
//! each runbook claim by its stable name.
//!
//! confirmed → success; contradicted / errored → failure (type says which); not-simulated →
//! skipped with the reason.

use super::common::evidence_line;
use super::model::{ClaimResult, Report};
use crate::verdict::Verdict;
use quick_junit::{NonSuccessKind, Property, Report as JReport, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub const SUITE: &str = "pdns-drill";

/// Detection plus recovery time, when either is known.
fn claim_time(c: &ClaimResult) -> Option<Duration> {
    match (c.detect_ms, c.recover_ms) {
        (None, None) => None,
        (d, r) => Some(Duration::from_millis(d.unwrap_or(0) + r.unwrap_or(0))),
    }
}

fn failure_body(c: &ClaimResult) -> String {
    let failing: Vec<String> = c.evidence.iter().filter(|e| !e.ok).map(evidence_line).collect();
    let mut body = if failing.is_empty() { c.reason.clone().unwrap_or_default() } else { failing.join("\n") };
    if let Some(k) = &c.correction {
        body.push_str(&format!("\ncorrection ({}): {}", if k.verified { "verified" } else { "not verified" }, k.summary));
    }
    body
}

fn test_case(c: &ClaimResult) -> TestCase {
    let status = match c.verdict {
        Verdict::Confirmed => TestCaseStatus::success(),
        Verdict::Contradicted | Verdict::Errored => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = c.first_mismatch.as_deref().or(c.reason.as_deref()).unwrap_or(c.verdict.as_str());
            s.set_message(message).set_type(c.verdict.as_str());
            let body = failure_body(c);
            if !body.is_empty() {
                s.set_description(body);
            }
            s
        }
        // Nothing failed, nothing confirmed it either: reported, not passed.
        Verdict::NotSimulated | Verdict::Unchecked | Verdict::Pending => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(c.reason.as_deref().unwrap_or("not simulated (no reason given)")).set_type(c.verdict.as_str());
            s
        }
    };
    let mut tc = TestCase::new(c.id.as_str(), status);
    tc.set_classname(c.scenario.as_deref().unwrap_or("unassigned"));
    if let Some(t) = claim_time(c) {
        tc.set_time(t);
    }
    tc
}

pub fn render(r: &Report) -> anyhow::Result<String> {
    let mut suite = TestSuite::new(SUITE);
    suite.add_properties([
        Property::new("run", r.run.id.as_str()),
        Property::new("complete", r.run.complete.to_string()),
        Property::new("image", r.run.image_tag.as_str()),
        Property::new("suite", r.run.suite.as_str()),
    ]);
    suite.add_test_cases(r.claims.iter().map(test_case));
    let mut report = JReport::new(SUITE);
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn one_testcase_per_claim_and_status_mapping() {
        let r = sample_report();
        let xml = render(&r).unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.test_suites.len(), 1);
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.name.as_str(), SUITE);
        assert_eq!(suite.test_cases.len(), r.claims.len());
        for c in &r.claims {
            let cases: Vec<_> = suite.test_cases.iter().filter(|t| t.name.as_str() == c.id).collect();
            assert_eq!(cases.len(), 1, "{}", c.id);
            let tc = cases[0];
            assert_eq!(tc.classname.as_ref().map(|s| s.as_str()), Some(c.scenario.as_deref().unwrap_or("unassigned")));
            match (&c.verdict, &tc.status) {
                (Verdict::Confirmed, TestCaseStatus::Success { .. }) => {}
                (Verdict::Contradicted | Verdict::Errored, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, message, .. }) => {
                    let want = c.first_mismatch.as_deref().or(c.reason.as_deref()).unwrap();
                    assert_eq!(message.as_ref().unwrap().as_str(), want);
                }
                (Verdict::NotSimulated, TestCaseStatus::Skipped { message, .. }) => {
                    assert_eq!(message.as_ref().unwrap().as_str(), c.reason.as_deref().unwrap());
                }
                (v, s) => panic!("{}: {v} mapped to {s:?}", c.id),
            }
        }
    }

    #[test]
    fn failure_body_holds_failing_evidence() {
        let r = sample_report();
        let xml = render(&r).unwrap();
        assert!(xml.contains("sudo: sqlite3: command not found"));
        // passing evidence of a contradicted claim is not in the body
        assert!(!xml.contains("systemctl stop pdns"));
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample_report()).unwrap());
    }
}
