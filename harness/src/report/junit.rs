//! `junit.xml`: one testsuite "pdns-drill", one testcase per claim ID, so CI dashboards track
//! each runbook claim by its stable name.
//!
//! Without a baseline: confirmed → success; contradicted → failure; errored → error;
//! not-simulated, unchecked, pending → skipped with the reason.
//!
//! Under a baseline the cases follow the gate, so a green gate is green here too: a verdict as
//! approved passes (an approved contradiction says so in a property and its output, like an
//! expected failure), a changed verdict or part is a failure naming before → after, errored is
//! an error, a claim the gate did not hold to the baseline (outside a filter or shard) is skipped.

use super::common::evidence_line;
use crate::judge::model::{ClaimResult, Gate, Report};
use crate::claims::verdict::Verdict;
use crate::claims::Severity;
use quick_junit::{NonSuccessKind, Property, Report as JReport, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The one JUnit document writer: a suite with its properties and its cases, as every job
/// (a run's claims, a chaos campaign's properties) hands them over.
pub fn document(suite_name: &str, properties: &[(&str, String)], cases: impl IntoIterator<Item = TestCase>) -> anyhow::Result<String> {
    let mut suite = TestSuite::new(suite_name);
    suite.add_properties(properties.iter().map(|(k, v)| Property::new(*k, v.as_str())));
    suite.add_test_cases(cases);
    let mut report = JReport::new(suite_name);
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

/// A failure or an error: a message, a type a dashboard can group by, and the body.
pub fn non_success(kind: NonSuccessKind, message: &str, type_: &str, body: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(type_);
    if !body.is_empty() {
        s.set_description(body);
    }
    s
}

/// Reported, not passed: nothing decided it.
pub fn skipped_because(message: &str, type_: Option<&str>) -> TestCaseStatus {
    let mut s = TestCaseStatus::skipped();
    s.set_message(message);
    if let Some(t) = type_ {
        s.set_type(t);
    }
    s
}

/// A case's status in every job's JUnit, from the claims' vocabulary: confirmed passes,
/// contradicted fails, errored is an error, anything else (nothing failed, nothing confirmed
/// it) is skipped with `message`: reported, not passed.
pub fn status_of(verdict: Verdict, message: &str, type_: &str, body: String) -> TestCaseStatus {
    match verdict {
        Verdict::Confirmed => TestCaseStatus::success(),
        Verdict::Contradicted => non_success(NonSuccessKind::Failure, message, type_, body),
        Verdict::Errored => non_success(NonSuccessKind::Error, message, type_, body),
        Verdict::NotSimulated | Verdict::Unchecked | Verdict::Pending => skipped_because(message, Some(type_)),
    }
}

/// A chaos campaign's or the drill's case: its status from its verdict, and the verdict and
/// the severity as properties, as a run's claims carry them.
pub fn judged_case(name: &str, classname: &str, judged: (Verdict, Option<Severity>), message: &str, type_: &str, body: String) -> TestCase {
    let mut tc = TestCase::new(name, status_of(judged.0, message, type_, body));
    tc.set_classname(classname);
    tc.add_property(Property::new("verdict", judged.0.as_str()));
    if let Some(s) = judged.1 {
        tc.add_property(Property::new("severity", s.as_str()));
    }
    tc
}

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

fn skipped(c: &ClaimResult, default: &str) -> TestCaseStatus {
    skipped_because(c.reason.as_deref().unwrap_or(default), Some(c.verdict.as_str()))
}

/// The status a claim gets without a baseline: its verdict.
fn by_verdict(c: &ClaimResult) -> TestCaseStatus {
    match c.verdict {
        Verdict::Contradicted | Verdict::Errored => {
            let message = c.first_mismatch.as_deref().or(c.reason.as_deref()).unwrap_or(c.verdict.as_str());
            status_of(c.verdict, message, c.verdict.as_str(), failure_body(c))
        }
        v => status_of(v, c.reason.as_deref().unwrap_or("not simulated (no reason given)"), v.as_str(), String::new()),
    }
}

/// The status a claim gets under a baseline: what the gate made of it.
fn by_gate(c: &ClaimResult, gate: &Gate) -> TestCaseStatus {
    if c.verdict == Verdict::Errored {
        return by_verdict(c);
    }
    if let Some(ch) = gate.change_for(&c.id) {
        let body = [ch.evidence.clone(), Some(failure_body(c))].into_iter().flatten().filter(|b| !b.is_empty()).collect::<Vec<_>>().join("\n");
        // As the gate counts it: a change the harness could not decide is an error, not a failure.
        return match ch.undecided {
            true => non_success(NonSuccessKind::Error, &format!("not decided this time: {}", ch.line), "undecided", body),
            false => non_success(NonSuccessKind::Failure, &format!("changed from the baseline: {}", ch.line), "changed", body),
        };
    }
    if !gate.in_scope(&c.id) {
        return skipped_because("not held to the baseline: scenarios this run did not select also decide it", Some("not-compared"));
    }
    match c.verdict {
        Verdict::NotSimulated | Verdict::Unchecked | Verdict::Pending => skipped(c, "not simulated (no reason given)"),
        _ => TestCaseStatus::success(),
    }
}

fn test_case(c: &ClaimResult, gate: Option<&Gate>) -> TestCase {
    let status = match gate {
        Some(g) if g.baseline.is_some() => by_gate(c, g),
        _ => by_verdict(c),
    };
    let approved_contradiction = gate.is_some_and(|g| g.baseline.is_some()) && matches!(status, TestCaseStatus::Success { .. }) && c.verdict == Verdict::Contradicted;
    let mut tc = TestCase::new(c.id.as_str(), status);
    tc.set_classname(c.scenario.as_deref().unwrap_or("unassigned"));
    tc.add_property(Property::new("verdict", c.verdict.as_str()));
    if approved_contradiction {
        // An expected failure: the runbook is wrong here, and that is approved.
        tc.add_property(Property::new("approved", "contradicted"));
        tc.set_system_out(format!("approved contradiction: {}", c.finding.as_deref().or(c.first_mismatch.as_deref()).unwrap_or("see the report")));
    }
    if let Some(t) = claim_time(c) {
        tc.set_time(t);
    }
    tc
}

pub fn render(r: &Report) -> anyhow::Result<String> {
    let mut properties = vec![("run", r.run.id.clone()), ("complete", r.run.complete.to_string()), ("image", r.run.image_tag.clone()), ("suite", r.run.suite.clone())];
    if let Some(g) = &r.gate {
        properties.push(("gate", g.outcome.as_str().to_string()));
    }
    document(SUITE, &properties, r.claims.iter().map(|c| test_case(c, r.gate.as_ref())))
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
                (Verdict::Contradicted, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, message, .. })
                | (Verdict::Errored, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, message, .. }) => {
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

    fn gated(r: &Report, changed: Option<&str>) -> Report {
        let b = crate::judge::gate::Baseline { snapshot: crate::judge::snapshot::from_report(r), reference: crate::judge::model::BaselineRef { path: "b".into(), sha256: "0".into() } };
        let mut now = r.clone();
        if let Some(id) = changed {
            let c = now.claims.iter_mut().find(|c| c.id == id).unwrap();
            c.verdict = Verdict::Contradicted;
            c.first_mismatch = Some("step 3: recursor probe expected NOERROR, got SERVFAIL".into());
        }
        now.gate = Some(crate::judge::gate::decide(&now, &[], Some(&b), None));
        now
    }

    fn cases(xml: &str) -> Vec<TestCase> {
        quick_junit::Report::deserialize_from_str(xml).unwrap().test_suites.remove(0).test_cases
    }

    #[test]
    fn under_an_approved_baseline_nothing_fails_and_contradictions_say_they_are_approved() {
        let r = gated(&sample_report(), None);
        let xml = render(&r).unwrap();
        for tc in cases(&xml) {
            let c = r.claims.iter().find(|c| c.id == tc.name.as_str()).unwrap();
            match (&c.verdict, &tc.status) {
                (Verdict::Errored, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, .. }) => {}
                (_, TestCaseStatus::NonSuccess { .. }) => panic!("{}: {:?} failed under an approved baseline", c.id, c.verdict),
                (Verdict::Contradicted, TestCaseStatus::Success { .. }) => {
                    assert!(tc.properties.iter().any(|p| p.name.as_str() == "approved" && p.value.as_str() == "contradicted"), "{}", c.id);
                }
                _ => {}
            }
        }
        assert!(!xml.contains("<failure"), "{xml}");
    }

    #[test]
    fn under_a_baseline_a_changed_verdict_is_the_failure_and_names_before_and_after() {
        let base = sample_report();
        let id = base.claims.iter().find(|c| c.verdict == Verdict::Confirmed).unwrap().id.clone();
        let r = gated(&base, Some(&id));
        let xml = render(&r).unwrap();
        let failures: Vec<TestCase> = cases(&xml).into_iter().filter(|t| matches!(t.status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, .. })).collect();
        assert_eq!(failures.len(), 1, "{xml}");
        assert_eq!(failures[0].name.as_str(), id);
        let TestCaseStatus::NonSuccess { message, description, .. } = &failures[0].status else { unreachable!() };
        assert_eq!(message.as_ref().unwrap().as_str(), format!("changed from the baseline: {id}: confirmed → contradicted"));
        assert!(description.as_ref().unwrap().as_str().contains("got SERVFAIL"));
    }

    #[test]
    fn under_a_baseline_a_correction_the_harness_could_not_run_is_an_error_not_a_failure() {
        let base = sample_report();
        let b = crate::judge::gate::Baseline { snapshot: crate::judge::snapshot::from_report(&base), reference: crate::judge::model::BaselineRef { path: "b".into(), sha256: "0".into() } };
        let mut now = base.clone();
        let c = now.claims.iter_mut().find(|c| c.correction.is_some()).unwrap();
        let id = c.id.clone();
        let k = c.correction.as_mut().unwrap();
        k.verified = false;
        k.error = Some("correction errored: fault did not take effect".into());
        now.gate = Some(crate::judge::gate::decide(&now, &[], Some(&b), None));
        let case = cases(&render(&now).unwrap()).into_iter().find(|t| t.name.as_str() == id).unwrap();
        assert!(matches!(case.status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, .. }), "{:?}", case.status);
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&sample_report()).unwrap());
    }
}
