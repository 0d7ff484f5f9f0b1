//! Verdicts from histories: reads what the scenarios recorded and decides, per catalogue claim,
//! confirmed / contradicted / not-simulated / errored. The only place verdicts are made.

use crate::claims::{ClaimId, CATALOGUE};
use crate::report::model::{ClaimResult, Correction, Evidence, Phase, RunInfo, Report, ScenarioOutcome, ScenarioResult, SCHEMA};
use crate::runner::{Record, ScenarioRun};
use crate::verdict::Verdict;

/// Why a claim no scenario decides is not simulated.
pub const NO_SCENARIO: &str = "no scenario in this run decides it (filtered out, or not written yet)";

/// One scenario's verdict on one claim.
fn verdict_in(run: &ScenarioRun, id: &ClaimId) -> (Verdict, Option<String>, Option<String>) {
    if let Some(why) = &run.not_simulated {
        return (Verdict::NotSimulated, Some(why.clone()), None);
    }
    if let Some(ns) = run.scenario.not_simulated.iter().find(|n| &n.claim == id) {
        return (Verdict::NotSimulated, Some(ns.reason.clone()), None);
    }
    let bearing: Vec<&Record> = run.records.iter().filter(|r| r.claims.contains(id)).collect();
    // A contradiction's gist is its first mismatch; `reason` stays for the other verdicts.
    if let Some(first) = bearing.iter().find_map(|r| r.mismatch.as_ref()) {
        return (Verdict::Contradicted, None, Some(format!("{id} {first}")));
    }
    if let Some(e) = &run.error {
        return (Verdict::Errored, Some(e.clone()), Some(format!("{id}: harness error: {e}")));
    }
    if run.outcome == ScenarioOutcome::Interrupted {
        return (Verdict::Errored, Some("interrupted".into()), None);
    }
    let decisive = bearing.iter().any(|r| !matches!(r.evidence.phase, Phase::SteadyBefore | Phase::Inject | Phase::Rollback));
    if !decisive {
        return (Verdict::Errored, Some(format!("scenario {} recorded nothing that bears on {id}", run.scenario.name)), None);
    }
    (Verdict::Confirmed, None, None)
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Contradicted => 3,
        Verdict::Errored => 2,
        Verdict::Confirmed => 1,
        Verdict::NotSimulated => 0,
    }
}

pub fn claim_results(runs: &[ScenarioRun]) -> Vec<ClaimResult> {
    CATALOGUE
        .iter()
        .map(|c| {
            let id: ClaimId = c.id.parse().expect("catalogue id");
            let deciding: Vec<&ScenarioRun> = runs.iter().filter(|r| r.scenario.claims.contains(&id)).collect();
            if deciding.is_empty() {
                return ClaimResult {
                    id: c.id.into(),
                    verdict: Verdict::NotSimulated,
                    section: c.section.into(),
                    scenario: None,
                    reason: Some(NO_SCENARIO.into()),
                    first_mismatch: None,
                    evidence: vec![],
                    detect_ms: None,
                    recover_ms: None,
                    correction: None,
                };
            }
            let mut best: Option<(Verdict, Option<String>, Option<String>, &ScenarioRun)> = None;
            let mut evidence: Vec<Evidence> = Vec::new();
            for r in &deciding {
                let (v, reason, mm) = verdict_in(r, &id);
                evidence.extend(r.records.iter().filter(|x| x.claims.contains(&id)).map(|x| tag(&x.evidence, &r.scenario.name, deciding.len())));
                if best.as_ref().is_none_or(|b| rank(v) > rank(b.0)) {
                    best = Some((v, reason, mm, r));
                }
            }
            let (verdict, reason, first_mismatch, run) = best.unwrap();
            let correction = run.corrections.iter().find(|k| k.claim == id).map(|k| Correction {
                summary: k.summary.clone(),
                verified: k.verified,
                evidence: k.records.iter().map(|x| x.evidence.clone()).collect(),
            });
            let t = &run.timeline;
            ClaimResult {
                id: c.id.into(),
                verdict,
                section: c.section.into(),
                scenario: Some(deciding.iter().map(|r| r.scenario.name.as_str()).collect::<Vec<_>>().join(", ")),
                reason,
                first_mismatch,
                evidence,
                detect_ms: t.first_symptom_ms.zip(t.fault_injected_ms).map(|(s, f)| s.saturating_sub(f)),
                recover_ms: t.steady_ms.zip(t.recovery_started_ms).map(|(s, r)| s.saturating_sub(r)),
                correction,
            }
        })
        .collect()
}

/// With several deciding scenarios, each evidence line says which one it came from.
fn tag(e: &Evidence, scenario: &str, n: usize) -> Evidence {
    let mut e = e.clone();
    if n > 1 {
        e.action = format!("[{scenario}] {}", e.action);
    }
    e
}

pub fn scenario_results(runs: &[ScenarioRun]) -> Vec<ScenarioResult> {
    runs.iter()
        .filter(|r| !r.scenario.faults.is_empty() || !r.scenario.symptoms.is_empty() || !r.scenario.recovery.is_empty())
        .map(|r| ScenarioResult {
            name: r.scenario.name.clone(),
            file: r.scenario.file.display().to_string(),
            section: r.scenario.section.clone(),
            claims: r.scenario.claims.iter().map(|c| c.to_string()).collect(),
            outcome: r.outcome,
            timeline: r.timeline.clone(),
            wall_ms: r.wall_ms,
            triage_row: r.triage_row.clone(),
            error: r.error.clone().or_else(|| r.not_simulated.clone()),
            facts: r.scenario.facts_used.clone(),
        })
        .collect()
}

pub fn report(run: RunInfo, runs: &[ScenarioRun]) -> Report {
    Report { schema: SCHEMA, run, claims: claim_results(runs), scenarios: scenario_results(runs), preflight: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Timeline;
    use crate::scenario::Scenario;

    fn scenario(claims: &[&str]) -> Scenario {
        let text = format!(
            "name = \"s\"\nsection = \"x\"\nclaims = [{}]\n[[fault]]\nkind = \"stop-unit\"\nunit = \"pdns\"\n",
            claims.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(",")
        );
        Scenario::parse("s.toml", &text).unwrap()
    }

    fn rec(phase: Phase, claims: &[&str], mismatch: Option<&str>) -> Record {
        Record {
            evidence: Evidence { phase, step: 1, on: "pdns-vm".into(), action: "a".into(), observed: "o".into(), expected: None, ok: mismatch.is_none(), at_ms: 0 },
            claims: claims.iter().map(|c| c.parse().unwrap()).collect(),
            mismatch: mismatch.map(String::from),
        }
    }

    fn run(claims: &[&str], records: Vec<Record>, error: Option<&str>) -> ScenarioRun {
        ScenarioRun {
            scenario: scenario(claims),
            records,
            timeline: Timeline { fault_injected_ms: Some(100), first_symptom_ms: Some(400), recovery_started_ms: Some(500), steady_ms: Some(1500), end_ms: 2000 },
            outcome: if error.is_some() { ScenarioOutcome::Errored } else { ScenarioOutcome::Held },
            error: error.map(String::from),
            triage_row: None,
            corrections: vec![],
            wall_ms: 2000,
            lab_run_id: "r".into(),
            kept: false,
            versions: (None, None),
            dropins: vec![],
            not_simulated: None,
        }
    }

    fn verdict_of(results: &[ClaimResult], id: &str) -> Verdict {
        results.iter().find(|c| c.id == id).unwrap().verdict
    }

    #[test]
    fn every_catalogue_claim_gets_a_verdict() {
        let r = claim_results(&[]);
        assert_eq!(r.len(), CATALOGUE.len());
        assert!(r.iter().all(|c| c.verdict == Verdict::NotSimulated && c.reason.is_some()));
    }

    #[test]
    fn held_symptoms_confirm_and_a_mismatch_contradicts_only_its_claims() {
        let runs = vec![run(
            &["DAE-REC", "TRI-2"],
            vec![rec(Phase::Symptom, &["DAE-REC", "TRI-2"], None), rec(Phase::Symptom, &["TRI-2"], Some("step 4: triage triage row expected TRI-2, got unknown"))],
            None,
        )];
        let r = claim_results(&runs);
        assert_eq!(verdict_of(&r, "DAE-REC"), Verdict::Confirmed);
        assert_eq!(verdict_of(&r, "TRI-2"), Verdict::Contradicted);
        let tri2 = r.iter().find(|c| c.id == "TRI-2").unwrap();
        assert_eq!(tri2.first_mismatch.as_deref(), Some("TRI-2 step 4: triage triage row expected TRI-2, got unknown"));
        assert_eq!(tri2.detect_ms, Some(300));
        assert_eq!(tri2.recover_ms, Some(1000));
    }

    #[test]
    fn harness_errors_are_not_contradictions() {
        let runs = vec![run(&["NET-FW"], vec![], Some("lab did not come up"))];
        assert_eq!(verdict_of(&claim_results(&runs), "NET-FW"), Verdict::Errored);
    }

    #[test]
    fn only_context_evidence_is_not_a_confirmation() {
        let runs = vec![run(&["NET-FW"], vec![rec(Phase::SteadyBefore, &["NET-FW"], None)], None)];
        assert_eq!(verdict_of(&claim_results(&runs), "NET-FW"), Verdict::Errored);
    }

    #[test]
    fn a_scenario_the_lab_cannot_run_is_not_simulated_with_the_plans_reason() {
        let mut r = run(&["CLI-CACHED"], vec![], None);
        r.not_simulated = Some("this lab cannot run scenario s: {name.multi-a}: the zone has no a name with several A records".into());
        let c = claim_results(&[r]);
        let cached = c.iter().find(|c| c.id == "CLI-CACHED").unwrap();
        assert_eq!(cached.verdict, Verdict::NotSimulated);
        assert!(cached.reason.as_deref().unwrap().contains("several A records"));
    }

    #[test]
    fn contradiction_in_any_scenario_wins() {
        let runs = vec![
            run(&["MON-STATE"], vec![rec(Phase::Symptom, &["MON-STATE"], None)], None),
            run(&["MON-STATE"], vec![rec(Phase::Symptom, &["MON-STATE"], Some("step 2: command exit expected 3, got 0"))], None),
        ];
        assert_eq!(verdict_of(&claim_results(&runs), "MON-STATE"), Verdict::Contradicted);
    }
}
