//! The CI gate: a run's verdicts held to the approved baseline (or, without one, to "every
//! claim confirmed"), decided into one outcome and exit code. Pure, like `conclude`: a merged
//! set of shard histories gets the same gate as the whole run.
//!
//! Outcomes keep apart what a CI must treat differently: `fail` (the change did something to
//! DNS: act on it), `undecided` (the harness could not carry a scenario out: retry), `pass`.

use crate::history::ScenarioRun;
use crate::judge::model::{BaselineRef, ClaimResult, Gate, GateChange, GateOutcome, Report, GATE_SCHEMA};
use crate::judge::snapshot::{self, Change, Snapshot};
use crate::claims::verdict::Verdict;
use std::collections::BTreeSet;
use std::path::Path;

/// An approved baseline as loaded, with what identifies it in `gate.json`.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub snapshot: Snapshot,
    pub reference: BaselineRef,
}

impl Baseline {
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        use sha2::Digest;
        let snapshot = snapshot::load(path)?;
        let bytes = std::fs::read(path)?;
        let reference = BaselineRef { path: path.display().to_string(), sha256: hex::encode(sha2::Sha256::digest(&bytes)) };
        Ok(Baseline { snapshot, reference })
    }
}

/// Decides the gate. `scope`: the claims this run decides in full (a filtered run or a shard);
/// only those are held to the baseline.
pub fn decide(report: &Report, runs: &[ScenarioRun], baseline: Option<&Baseline>, scope: Option<&BTreeSet<String>>) -> Gate {
    let errored: Vec<String> = runs.iter().filter_map(|r| r.error.as_ref().map(|e| format!("scenario {} errored: {e}", r.scenario.name))).collect();
    let mut gate = new_gate(report, baseline, GateOutcome::Pass, 0);
    gate.scope = scope.map(|s| s.iter().cloned().collect());
    let mut failing: Vec<String> = vec![];
    let mut undecided: Vec<String> = errored;
    if report.preflight.is_some() {
        failing.push("preflight: the lab does not reach steady state without any fault; no scenario ran".into());
    } else if let Some(b) = baseline {
        let mut approved = b.snapshot.clone();
        let mut actual = snapshot::from_report(report);
        if let Some(only) = scope {
            approved.claims.retain(|k, _| only.contains(k));
            actual.claims.retain(|k, _| only.contains(k));
        }
        for change in snapshot::diff(&approved, &actual) {
            let claim = report.claims.iter().find(|c| c.id == change.claim());
            let mut entry = gate_change(&change, claim);
            if !change.is_gating() {
                gate.warnings.push(entry);
                continue;
            }
            // A claim (or correction) the harness could not carry out this time is undecided,
            // not changed.
            entry.undecided = becomes_errored(&change, claim);
            if entry.undecided {
                undecided.push(format!("not decided this time: {}", entry.line));
            } else {
                failing.push(format!("{}{}", Gate::CHANGED, entry.line));
            }
            gate.changes.push(entry);
        }
    } else {
        failing.extend(report.claims.iter().filter(|c| c.verdict == Verdict::Contradicted).map(|c| {
            format!("{} contradicted: {}", c.id, c.finding.as_deref().or(c.first_mismatch.as_deref()).unwrap_or("see the report"))
        }));
    }
    // Under a baseline, an errored claim counts through its change (or its scenario's error).
    undecided.extend(report.claims.iter().filter(|c| c.verdict == Verdict::Errored && report.preflight.is_none() && baseline.is_none()).map(|c| {
        format!("{} errored: {}", c.id, c.reason.as_deref().unwrap_or("the harness could not decide it"))
    }));
    gate.outcome = if !failing.is_empty() {
        GateOutcome::Fail
    } else if !undecided.is_empty() {
        GateOutcome::Undecided
    } else {
        GateOutcome::Pass
    };
    gate.exit_code = gate.outcome.exit_code();
    gate.reasons = failing.into_iter().chain(undecided).collect();
    gate
}

/// The gate of a run that did not finish (a signal, the engine failing mid-run): nothing was
/// decided in full, so no verdict is compared.
pub fn unfinished(report: &Report, baseline: Option<&Baseline>, outcome: GateOutcome, exit_code: u8, why: String) -> Gate {
    let mut gate = new_gate(report, baseline, outcome, exit_code);
    gate.reasons.push(why);
    gate
}

/// A gate for `report` with nothing compared yet.
fn new_gate(report: &Report, baseline: Option<&Baseline>, outcome: GateOutcome, exit_code: u8) -> Gate {
    Gate {
        schema: GATE_SCHEMA,
        run: report.run.id.clone(),
        outcome,
        exit_code,
        baseline: baseline.map(|b| b.reference.clone()),
        scope: None,
        changes: vec![],
        warnings: vec![],
        reasons: vec![],
    }
}

fn becomes_errored(c: &Change, claim: Option<&ClaimResult>) -> bool {
    match c {
        Change::VerdictChanged { to, .. } => *to == Verdict::Errored,
        Change::ClaimAdded { verdict, .. } => *verdict == Verdict::Errored,
        Change::CorrectionChanged { .. } => claim.and_then(|c| c.correction.as_ref()).is_some_and(|k| k.error.is_some()),
        _ => false,
    }
}

/// One change as `gate.json` and the JUnit failure show it, with this run's evidence.
fn gate_change(change: &Change, claim: Option<&ClaimResult>) -> GateChange {
    let claim_evidence = || claim.and_then(|c| c.first_mismatch.clone().or_else(|| c.reason.clone()).or_else(|| c.finding.clone()));
    let (kind, part, before, after, evidence) = match change {
        Change::VerdictChanged { from, to, .. } => ("verdict", None, Some(from.to_string()), Some(to.to_string()), claim_evidence()),
        Change::PartChanged { part, from, to, .. } => {
            let p = claim.and_then(|c| c.parts.iter().find(|p| p.part.as_str() == part));
            let evidence = p.and_then(|p| p.first_mismatch.clone().or_else(|| p.reason.clone())).or_else(claim_evidence);
            ("part", Some(part.clone()), from.map(|v| v.to_string()), to.map(|v| v.to_string()), evidence)
        }
        Change::CorrectionChanged { from, to, .. } => {
            let evidence = claim.and_then(|c| c.correction.as_ref()).map(|k| k.summary.clone());
            let v = |v: bool| if v { "verified" } else { "not verified" }.to_string();
            ("correction", None, Some(v(*from)), to.map(v), evidence)
        }
        Change::ClaimAdded { verdict, .. } => ("added", None, None, Some(verdict.to_string()), claim_evidence()),
        Change::ClaimRemoved { verdict, .. } => ("removed", None, Some(verdict.to_string()), None, None),
        Change::ScenarioChanged { from, to, .. } => ("scenario", None, from.clone(), to.clone(), None),
        Change::EvidenceChanged { .. } => ("evidence", None, None, None, None),
    };
    GateChange { claim: change.claim().to_string(), kind: kind.into(), part, before, after, evidence, line: change.to_string(), undecided: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    fn baseline_of(r: &Report) -> Baseline {
        Baseline { snapshot: snapshot::from_report(r), reference: BaselineRef { path: "b.json".into(), sha256: "00".into() } }
    }

    fn errored_run(name: &str) -> ScenarioRun {
        let mut r = ScenarioRun::new(crate::history::ScenarioInfo::named(name, vec![]), "lab".into());
        r.error = Some("fault did not take effect: x".into());
        r
    }

    #[test]
    fn as_approved_passes_and_says_so() {
        let r = sample_report();
        let b = baseline_of(&r);
        let g = decide(&r, &[], Some(&b), None);
        assert_eq!((g.outcome, g.exit_code), (GateOutcome::Pass, 0), "{g:?}");
        assert!(g.changes.is_empty() && g.reasons.is_empty());
        assert_eq!(g.baseline.as_ref().unwrap().path, "b.json");
    }

    #[test]
    fn a_changed_verdict_fails_and_names_before_after_and_evidence() {
        let r = sample_report();
        let b = baseline_of(&r);
        let mut now = r.clone();
        let c = now.claims.iter_mut().find(|c| c.verdict == Verdict::Confirmed).unwrap();
        c.verdict = Verdict::Contradicted;
        c.first_mismatch = Some("step 3: expected NOERROR, got SERVFAIL".into());
        let id = c.id.clone();
        let g = decide(&now, &[], Some(&b), None);
        assert_eq!((g.outcome, g.exit_code), (GateOutcome::Fail, 1));
        let ch = g.change_for(&id).unwrap();
        assert_eq!((ch.before.as_deref(), ch.after.as_deref()), (Some("confirmed"), Some("contradicted")));
        assert_eq!(ch.evidence.as_deref(), Some("step 3: expected NOERROR, got SERVFAIL"));
        assert!(g.reasons[0].contains(&format!("{id}: confirmed → contradicted")), "{:?}", g.reasons);
    }

    #[test]
    fn a_harness_error_is_undecided_even_when_verdicts_match() {
        let r = sample_report();
        let b = baseline_of(&r);
        let g = decide(&r, &[errored_run("s")], Some(&b), None);
        assert_eq!((g.outcome, g.exit_code), (GateOutcome::Undecided, 3));
        assert_eq!(g.reasons, ["scenario s errored: fault did not take effect: x"]);
    }

    #[test]
    fn a_claim_now_errored_is_undecided_not_failed() {
        let r = sample_report();
        let b = baseline_of(&r);
        let mut now = r.clone();
        let c = now.claims.iter_mut().find(|c| c.verdict == Verdict::Confirmed).unwrap();
        c.verdict = Verdict::Errored;
        let g = decide(&now, &[], Some(&b), None);
        assert_eq!(g.outcome, GateOutcome::Undecided, "{g:?}");
        assert_eq!(g.changes.len(), 1, "the change is listed all the same");
        assert!(g.changes[0].undecided && !g.differs());
    }

    #[test]
    fn without_a_baseline_a_contradiction_fails_and_an_error_alone_is_undecided() {
        let r = sample_report();
        let has_contradiction = r.claims.iter().any(|c| c.verdict == Verdict::Contradicted);
        assert!(has_contradiction, "the fixture holds a contradiction");
        assert_eq!(decide(&r, &[], None, None).outcome, GateOutcome::Fail);
        let mut calm = r.clone();
        calm.claims.retain(|c| !matches!(c.verdict, Verdict::Contradicted | Verdict::Errored));
        assert_eq!(decide(&calm, &[], None, None).outcome, GateOutcome::Pass);
        assert_eq!(decide(&calm, &[errored_run("s")], None, None).outcome, GateOutcome::Undecided);
    }

    #[test]
    fn only_the_scope_is_held_to_the_baseline() {
        let r = sample_report();
        let b = baseline_of(&r);
        let mut now = r.clone();
        let c = now.claims.iter_mut().find(|c| c.verdict == Verdict::Confirmed).unwrap();
        c.verdict = Verdict::Contradicted;
        let changed = c.id.clone();
        let other: BTreeSet<String> = r.claims.iter().map(|c| c.id.clone()).filter(|id| *id != changed).collect();
        assert_eq!(decide(&now, &[], Some(&b), Some(&other)).outcome, GateOutcome::Pass);
        let g = decide(&now, &[], Some(&b), Some(&BTreeSet::from([changed.clone()])));
        assert_eq!(g.outcome, GateOutcome::Fail);
        assert!(g.in_scope(&changed) && !g.in_scope("NOT-IN-SCOPE"));
    }

    #[test]
    fn a_correction_that_stops_verifying_fails_one_that_errored_is_undecided() {
        let r = sample_report();
        let b = baseline_of(&r);
        let mut now = r.clone();
        let k = now.claims.iter_mut().find_map(|c| c.correction.as_mut().filter(|k| k.verified)).expect("a verified correction in the fixture");
        k.verified = false;
        assert_eq!(decide(&now, &[], Some(&b), None).outcome, GateOutcome::Fail);
        let k = now.claims.iter_mut().find_map(|c| c.correction.as_mut().filter(|k| !k.verified && k.error.is_none())).unwrap();
        k.error = Some("correction errored: fault did not take effect".into());
        let g = decide(&now, &[], Some(&b), None);
        assert_eq!(g.outcome, GateOutcome::Undecided, "{g:?}");
        assert!(g.changes.iter().all(|c| c.undecided) && !g.differs(), "{g:?}");
    }

    #[test]
    fn a_failed_preflight_fails_the_gate() {
        let mut r = crate::judge::conclude::preflight_report(sample_report().run, crate::judge::model::Preflight { waited_ms: 1, failing: vec!["x".into()], daemons: vec![] });
        r.run.complete = true;
        let g = decide(&r, &[], None, None);
        assert_eq!((g.outcome, g.exit_code), (GateOutcome::Fail, 1));
        assert!(g.reasons[0].starts_with("preflight"), "{:?}", g.reasons);
    }
}
