//! Verdicts from histories, and nothing else: reads what the scenarios recorded and decides, per
//! catalogue claim and per part it states, confirmed / contradicted / unchecked / not-simulated
//! / errored. The only place verdicts, outcomes and severities are made. Pure: a run's
//! `history.json` gives the same report again, without containers.

use crate::claims::{ClaimId, Part, Severity, CATALOGUE};
use crate::history::{Observation, RunInfo, ScenarioRun, TimingSpanExt};
use crate::judge::model::{ClaimResult, Correction, Evidence, PartResult, Report, ScenarioOutcome, ScenarioResult, VariantResult, SCHEMA};
use crate::claims::verdict::{Basis, Verdict};

/// Why a claim no scenario decides is not simulated.
pub const NO_SCENARIO: &str = "no scenario in this run decides it (filtered out, or not written yet)";

/// The report a run's histories make.
pub fn report(run: RunInfo, runs: &[ScenarioRun]) -> Report {
    Report { schema: SCHEMA, run, claims: claim_results(runs), scenarios: scenario_results(runs), preflight: None, gate: None }
}

/// The report when the lab did not reach steady state on its own: no scenario ran, and every
/// claim is errored by that finding.
pub fn preflight_report(run: RunInfo, preflight: crate::judge::model::Preflight) -> Report {
    let mut report = report(run, &[]);
    for c in report.claims.iter_mut() {
        c.verdict = Verdict::Errored;
        c.reason = Some("preflight: the lab does not reach steady state without any fault (see the preflight section)".into());
    }
    report.preflight = Some(preflight);
    report
}

/// A report written while the run goes on: claims that a scenario still to finish decides are
/// `pending`, not not-simulated.
pub fn partial_report(run: RunInfo, runs: &[ScenarioRun], still_to_run: &[crate::history::ScenarioInfo]) -> Report {
    let mut r = report(run, runs);
    for c in r.claims.iter_mut().filter(|c| c.verdict == Verdict::NotSimulated || c.scenario.is_none()) {
        if still_to_run.iter().any(|s| s.claims.iter().any(|id| id.as_str() == c.id)) {
            c.verdict = Verdict::Pending;
            c.reason = Some("not decided yet: a scenario that decides it is still running or queued".into());
        }
    }
    r
}

/// A scenario's outcome: how it went, not what it decided.
pub fn outcome(r: &ScenarioRun) -> ScenarioOutcome {
    if r.not_simulated.is_some() {
        ScenarioOutcome::NotSimulated
    } else if r.interrupted {
        ScenarioOutcome::Interrupted
    } else if r.error.is_some() {
        ScenarioOutcome::Errored
    } else if r.records.iter().any(|o| !o.held()) {
        ScenarioOutcome::Deviated
    } else {
        ScenarioOutcome::Held
    }
}

/// A correction counts as verified when it ran and every expectation in it held.
pub fn verified(c: &crate::history::CorrectionRun) -> bool {
    !c.records.is_empty() && c.records.iter().all(Observation::held)
}

/// One part of one claim in one scenario.
fn part_in(run: &ScenarioRun, id: &ClaimId, part: Part) -> PartResult {
    let pr = PartResult { part, verdict: Verdict::Unchecked, first_mismatch: None, severity: None, reason: None, basis: None };
    let mut pr = if part == Part::Timing { timing_in(run, id, pr) } else { checked_part_in(run, id, pr) };
    // A part the scenario says the testbed cannot exercise, and that nothing checked.
    if pr.verdict == Verdict::Unchecked {
        if let Some((_, _, why)) = run.scenario.parts_not_simulated.iter().find(|(c, p, _)| c == id && *p == part) {
            pr.verdict = Verdict::NotSimulated;
            pr.reason = Some(why.clone());
        }
    }
    pr
}

fn checked_part_in(run: &ScenarioRun, id: &ClaimId, mut pr: PartResult) -> PartResult {
    let part = pr.part;
    let matrix = crate::history::monitor_checks(run, id);
    let checks: Vec<&Observation> =
        run.records.iter().chain(matrix.iter()).filter(|o| o.claims.contains(id) && o.part == Some(part) && o.checks()).collect();
    if let Some(miss) = checks.iter().find(|o| !o.held()) {
        pr.verdict = Verdict::Contradicted;
        pr.first_mismatch = miss.mismatch.as_ref().map(|m| format!("{id} {m}"));
        pr.basis = Some(miss.interpretation.clone().map_or(Basis::AsWritten, Basis::Interpretation));
        pr.severity = checks.iter().filter(|o| !o.held()).map(|o| severity_of(o, id, part)).min();
    } else if run.error.is_some() || run.interrupted {
        // What was checked held, but the harness could not finish the part.
        pr.verdict = Verdict::Errored;
        pr.reason = Some(run.error.clone().unwrap_or_else(|| "interrupted".into()));
    } else if !checks.is_empty() {
        pr.verdict = Verdict::Confirmed;
    } else {
        pr.reason = Some(format!("no step of {} checks the {part} part with an expectation", run.scenario.name));
    }
    pr
}

/// What a failed check costs the operator: what its step says; else, service that came back by
/// itself after the deadline is a slower recovery, not a failed one; else the claim part's own.
fn severity_of(o: &Observation, id: &ClaimId, part: Part) -> Severity {
    o.severity.or(o.back_late_ms.map(|_| Severity::SlowerRecovery)).unwrap_or(id.claim().severity_of(part))
}

/// A timing part: the span the runbook bounds, read off the timeline.
fn timing_in(run: &ScenarioRun, id: &ClaimId, mut pr: PartResult) -> PartResult {
    let Some(t) = run.scenario.timings.iter().find(|t| &t.claim == id) else {
        pr.reason = Some(format!("{} states no timing for {id}", run.scenario.name));
        return pr;
    };
    match t.span.measure(&run.timeline) {
        Some(ms) => {
            let measured = format!("{} took {}, the runbook says at most {:.0} s", t.span.label(), t.span.took(&run.timeline, ms), t.at_most.as_secs_f64());
            if ms <= t.at_most.as_millis() as u64 {
                pr.verdict = Verdict::Confirmed;
                pr.reason = Some(measured);
            } else {
                pr.verdict = Verdict::Contradicted;
                pr.severity = Some(Severity::SlowerRecovery);
                pr.first_mismatch = Some(format!("{id} timing: {measured}"));
                pr.basis = Some(Basis::AsWritten);
            }
        }
        None if run.error.is_some() => {
            pr.verdict = Verdict::Errored;
            pr.reason = run.error.clone();
        }
        None => pr.reason = Some(format!("{} was never reached, so it was not timed", t.span.label())),
    }
    pr
}

/// What a set of part verdicts makes of the claim.
fn claim_verdict(parts: &[PartResult]) -> Verdict {
    if parts.iter().any(|p| p.verdict == Verdict::Contradicted) {
        Verdict::Contradicted
    } else if parts.iter().any(|p| p.verdict == Verdict::Errored) {
        Verdict::Errored
    } else if parts.iter().all(|p| p.verdict == Verdict::Confirmed) {
        Verdict::Confirmed
    } else if parts.iter().all(|p| p.verdict == Verdict::NotSimulated) {
        Verdict::NotSimulated
    } else {
        Verdict::Unchecked
    }
}

/// A claim's parts in one scenario (or why the scenario does not decide it).
fn parts_in(run: &ScenarioRun, id: &ClaimId) -> Result<Vec<PartResult>, String> {
    if let Some(why) = &run.not_simulated {
        return Err(why.clone());
    }
    if let Some((_, why)) = run.scenario.not_simulated.iter().find(|(c, _)| c == id) {
        return Err(why.clone());
    }
    Ok(id.claim().parts.iter().map(|p| part_in(run, id, *p)).collect())
}

/// Across scenarios, each part takes the strongest verdict any of them reached.
fn merge(per_run: &[Vec<PartResult>]) -> Vec<PartResult> {
    let Some(first) = per_run.first() else { return vec![] };
    first
        .iter()
        .enumerate()
        .map(|(i, _)| per_run.iter().map(|parts| parts[i].clone()).max_by_key(|p| p.verdict.rank()).unwrap())
        .collect()
}

pub fn claim_results(runs: &[ScenarioRun]) -> Vec<ClaimResult> {
    CATALOGUE.iter().map(|c| claim_result(c.id.parse().expect("catalogue id"), runs)).collect()
}

fn claim_result(id: ClaimId, runs: &[ScenarioRun]) -> ClaimResult {
    let c = id.claim();
    let deciding: Vec<&ScenarioRun> = runs.iter().filter(|r| r.scenario.claims.contains(&id)).collect();
    let why = crate::claims::OUT_OF_REACH.iter().find(|(i, _)| *i == c.id).map_or(NO_SCENARIO, |(_, why)| why);
    let mut result = ClaimResult { reason: Some(why.into()), ..ClaimResult::new(c.id, c.section, Verdict::NotSimulated) };
    if deciding.is_empty() {
        return result;
    }
    result.scenario = Some(deciding.iter().map(|r| r.scenario.name.as_str()).collect::<Vec<_>>().join(", "));
    let judged: Vec<(&ScenarioRun, Result<Vec<PartResult>, String>)> = deciding.iter().map(|r| (*r, parts_in(r, &id))).collect();
    let ran: Vec<(&ScenarioRun, &Vec<PartResult>)> = judged.iter().filter_map(|(r, p)| p.as_ref().ok().map(|p| (*r, p))).collect();
    if ran.is_empty() {
        // Every deciding scenario says why it cannot.
        let reasons: Vec<String> = judged.iter().filter_map(|(_, p)| p.as_ref().err().cloned()).collect();
        result.reason = Some(reasons.join("; "));
        return result;
    }
    let parts = merge(&ran.iter().map(|(_, p)| (*p).clone()).collect::<Vec<_>>());
    result.verdict = claim_verdict(&parts);
    result.severity = parts.iter().filter_map(|p| p.severity).min();
    result.first_mismatch = parts.iter().find_map(|p| p.first_mismatch.clone());
    // The basis of the part the finding quotes first.
    result.basis = if result.verdict == Verdict::Contradicted { parts.iter().find(|p| p.first_mismatch.is_some()).and_then(|p| p.basis.clone()) } else { None };
    result.reason = match result.verdict {
        Verdict::Errored => parts.iter().find_map(|p| (p.verdict == Verdict::Errored).then(|| p.reason.clone()).flatten()),
        Verdict::Unchecked => Some(unchecked_reason(&parts)),
        _ => None,
    };
    // A verdict from some of its scenarios says which this lab could not run: a variant that
    // contradicts elsewhere may be among them.
    let skipped: Vec<String> = judged.iter().filter_map(|(r, p)| p.as_ref().err().map(|why| format!("{}: {why}", r.scenario.name))).collect();
    if !skipped.is_empty() && matches!(result.verdict, Verdict::Confirmed | Verdict::Contradicted) && result.reason.is_none() {
        result.reason = Some(format!("decided by the scenarios this lab can run; not simulated here: {}", skipped.join("; ")));
    }
    result.variants = ran
        .iter()
        .filter_map(|(r, p)| {
            r.scenario.condition.as_ref().filter(|_| r.scenario.condition_for.as_ref().is_none_or(|ids| ids.contains(&id))).map(|cond| VariantResult { condition: cond.clone(), scenario: r.scenario.name.clone(), verdict: claim_verdict(p), parts: (*p).clone() })
        })
        .collect();
    result.finding = (result.verdict == Verdict::Contradicted).then(|| finding_line(&id, &parts, &result.variants));
    result.parts = parts;
    // The scenario the timings and the correction come from: the first that contradicted.
    let lead = ran.iter().find(|(_, p)| claim_verdict(p) == Verdict::Contradicted).or(ran.first()).map(|(r, _)| *r).unwrap();
    let t = &lead.timeline;
    result.detect_ms = t.first_symptom_ms.zip(t.fault_injected_ms).map(|(s, f)| s.saturating_sub(f));
    result.recover_ms = t.steady_ms.zip(t.recovery_started_ms).map(|(s, r)| s.saturating_sub(r));
    result.correction = ran.iter().find_map(|(r, _)| r.corrections.iter().find(|k| k.claim == id && k.not_run.is_none())).map(|k| Correction {
        summary: k.summary.clone(),
        verified: verified(k),
        evidence: k.records.iter().map(evidence).collect(),
        error: k.records.iter().find_map(|o| o.mismatch.clone().filter(|m| m.starts_with(crate::history::CORRECTION_ERRORED))),
    });
    let n = deciding.len();
    // The detection matrix's reading is evidence too: a monitor's verdict rests on it.
    result.evidence = deciding
        .iter()
        .flat_map(|r| {
            let own = r.records.iter().filter(|o| o.claims.contains(&id)).cloned();
            own.chain(crate::history::monitor_checks(r, &id)).map(move |o| tag(evidence(&o), &r.scenario.name, n))
        })
        .collect();
    result
}

/// Which parts kept the claim from being confirmed, and why each was not simulated.
fn unchecked_reason(parts: &[PartResult]) -> String {
    let unchecked: Vec<&str> = parts.iter().filter(|p| p.verdict == Verdict::Unchecked).map(|p| p.part.as_str()).collect();
    let mut out: Vec<String> = Vec::new();
    if !unchecked.is_empty() {
        out.push(format!("not checked by any expectation: {}", unchecked.join(", ")));
    }
    for p in parts.iter().filter(|p| p.verdict == Verdict::NotSimulated) {
        out.push(format!("{} not simulated: {}", p.part, p.reason.as_deref().unwrap_or("")));
    }
    out.join("; ")
}

/// "NEG-CACHE: recovery contradicted (false all-clear) while …; holds after it".
fn finding_line(id: &ClaimId, parts: &[PartResult], variants: &[VariantResult]) -> String {
    let bad: Vec<&str> = parts.iter().filter(|p| p.verdict == Verdict::Contradicted).map(|p| p.part.as_str()).collect();
    let mut s = format!("{id}: {} contradicted", bad.join(" and "));
    let contradicted: Vec<&str> = variants.iter().filter(|v| v.verdict == Verdict::Contradicted).map(|v| v.condition.as_str()).collect();
    let held: Vec<&str> = variants.iter().filter(|v| v.verdict == Verdict::Confirmed).map(|v| v.condition.as_str()).collect();
    if !contradicted.is_empty() {
        s.push_str(&format!(" when {}", contradicted.join(", or when ")));
    }
    if !held.is_empty() {
        s.push_str(&format!("; holds when {}", held.join(", or when ")));
    }
    s
}

fn evidence(o: &Observation) -> Evidence {
    Evidence {
        phase: o.phase,
        step: o.step,
        on: o.on.clone(),
        action: o.action.clone(),
        observed: o.observed.clone(),
        expected: o.expected.clone(),
        ok: o.held(),
        at_ms: o.at_ms,
    }
}

/// With several deciding scenarios, each evidence line says which one it came from.
fn tag(mut e: Evidence, scenario: &str, n: usize) -> Evidence {
    if n > 1 {
        e.action = format!("[{scenario}] {}", e.action);
    }
    e
}

pub fn scenario_results(runs: &[ScenarioRun]) -> Vec<ScenarioResult> {
    runs.iter()
        .map(|r| ScenarioResult {
            name: r.scenario.name.clone(),
            file: r.scenario.file.clone(),
            section: r.scenario.section.clone(),
            claims: r.scenario.claims.iter().map(|c| c.to_string()).collect(),
            outcome: outcome(r),
            timeline: r.timeline.clone(),
            wall_ms: r.wall_ms,
            triage_row: r.triage_row.clone(),
            error: r.error.clone().or_else(|| r.not_simulated.clone()),
            facts: r.scenario.facts.clone(),
            detections: r.detections.clone(),
            monitors_expected: r.scenario.monitors.clone(),
        })
        .collect()
}

/// The timing spans, read off a timeline.
impl TimingSpanExt for crate::scenario::TimingSpan {
    fn measure(&self, t: &crate::history::Timeline) -> Option<u64> {
        use crate::scenario::TimingSpan::*;
        match self {
            Recovery => t.steady_ms.zip(t.recovery_started_ms).map(|(s, r)| s.saturating_sub(r)),
            Outage => t.steady_ms.zip(t.fault_injected_ms).map(|(s, f)| s.saturating_sub(f)),
            Detect => t.first_symptom_ms.zip(t.fault_injected_ms).map(|(s, f)| s.saturating_sub(f)),
            // The download is added: the runbook's rebuild fetches the packages, the testbed's
            // installs the same files offline.
            Rebuild => t.steady_ms.zip(t.base_image_ms).map(|(s, b)| s.saturating_sub(b) + t.mirror_download_ms.unwrap_or(0)),
        }
    }
    fn label(&self) -> &'static str {
        match self {
            crate::scenario::TimingSpan::Recovery => "the recovery (documented recovery started → steady state)",
            crate::scenario::TimingSpan::Outage => "the outage (fault → steady state)",
            crate::scenario::TimingSpan::Detect => "detection (fault → first symptom)",
            crate::scenario::TimingSpan::Rebuild => {
                "the rebuild (the fresh VM at its base image, its creation and boot not counted → packages installed, configs and SQLite restored → steady state; plus the packages' mirror download, measured at image build)"
            }
        }
    }
    fn took(&self, t: &crate::history::Timeline, ms: u64) -> String {
        let s = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
        match (self, t.mirror_download_ms) {
            (crate::scenario::TimingSpan::Rebuild, Some(d)) => format!("{} ({} on the VM from its base image to steady state + {} mirror download at image build)", s(ms), s(ms.saturating_sub(d)), s(d)),
            _ => s(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{CorrectionRun, Phase, ScenarioInfo, Timeline};
    use crate::scenario::Timing;

    fn info(claims: &[&str]) -> ScenarioInfo {
        let mut i = ScenarioInfo::named("s", claims.iter().map(|c| c.parse().unwrap()).collect());
        i.section = "x".into();
        i
    }

    fn obs(phase: Phase, claims: &[&str], part: Option<Part>, expected: bool, mismatch: Option<&str>) -> Observation {
        Observation {
            phase,
            step: 1,
            on: "pdns-vm".into(),
            action: "a".into(),
            observed: "o".into(),
            expected: expected.then(|| "e".into()),
            mismatch: mismatch.map(String::from),
            at_ms: 0,
            claims: claims.iter().map(|c| c.parse().unwrap()).collect(),
            part,
            severity: None,
            interpretation: None,
            back_late_ms: None,
        }
    }

    fn run(claims: &[&str], records: Vec<Observation>, error: Option<&str>) -> ScenarioRun {
        let mut r = ScenarioRun::new(info(claims), "r".into());
        r.records = records;
        r.error = error.map(String::from);
        r.timeline = Timeline { booted_ms: Some(50), queued_ms: Some(0), fault_injected_ms: Some(100), first_symptom_ms: Some(400), recovery_started_ms: Some(500), steady_ms: Some(1500), end_ms: 2000, ..Timeline::default() };
        r
    }

    fn result<'a>(results: &'a [ClaimResult], id: &str) -> &'a ClaimResult {
        results.iter().find(|c| c.id == id).unwrap()
    }

    use Part::*;

    #[test]
    fn a_contradiction_says_whether_it_rests_on_the_runbook_or_on_a_reading_of_the_harness() {
        use crate::claims::verdict::Basis;
        let mut reading = obs(Phase::Symptom, &["MON-CACHE"], Some(Check), true, Some("step 6: ratio expected ≥ 80 %, got 0 %"));
        reading.interpretation = Some("80 % is the harness's threshold".into());
        let r = claim_results(&[run(&["MON-CACHE"], vec![reading], None)]);
        assert_eq!(result(&r, "MON-CACHE").basis, Some(Basis::Interpretation("80 % is the harness's threshold".into())));
        let as_written = obs(Phase::Recovery, &["DAE-REC"], Some(Recovery), true, Some("step 9: restart exit expected 0, got 1"));
        let r = claim_results(&[run(&["DAE-REC"], vec![obs(Phase::Symptom, &["DAE-REC"], Some(Check), true, None), as_written], None)]);
        let c = result(&r, "DAE-REC");
        assert_eq!((c.verdict, c.basis.clone()), (Verdict::Contradicted, Some(Basis::AsWritten)));
        // A verdict that is not a contradiction rests on nothing to weigh.
        let held = claim_results(&[run(&["MON-CACHE"], vec![obs(Phase::Symptom, &["MON-CACHE"], Some(Check), true, None)], None)]);
        assert_eq!(result(&held, "MON-CACHE").basis, None);
    }

    #[test]
    fn a_verdict_from_part_of_its_scenarios_names_the_ones_this_lab_could_not_run() {
        let ran = run(&["MON-QPS"], vec![obs(Phase::Symptom, &["MON-QPS"], Some(Check), true, None)], None);
        let mut skipped = run(&["MON-QPS"], vec![], None);
        skipped.scenario.name = "slow".into();
        skipped.not_simulated = Some("the authoritative has no lab address".into());
        let r = claim_results(&[ran, skipped]);
        let c = result(&r, "MON-QPS");
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert_eq!(c.reason.as_deref(), Some("decided by the scenarios this lab can run; not simulated here: slow: the authoritative has no lab address"));
    }

    #[test]
    fn a_catalogue_line_out_of_the_testbeds_reach_says_why_on_every_lab() {
        let r = claim_results(&[]);
        for (id, why) in crate::claims::OUT_OF_REACH {
            let c = result(&r, id);
            assert_eq!((c.verdict, c.reason.as_deref()), (Verdict::NotSimulated, Some(*why)));
        }
        assert!(crate::claims::OUT_OF_REACH.iter().all(|(id, _)| crate::claims::lookup(id).is_some()), "every out-of-reach line is a catalogue claim");
    }

    #[test]
    fn every_catalogue_claim_gets_a_verdict() {
        let r = claim_results(&[]);
        assert_eq!(r.len(), CATALOGUE.len());
        assert!(r.iter().all(|c| c.verdict == Verdict::NotSimulated && c.reason.is_some()));
    }

    #[test]
    fn a_claim_is_confirmed_only_when_every_part_it_states_was_checked() {
        // DAE-REC states check, recovery, verification.
        let all = run(
            &["DAE-REC"],
            vec![obs(Phase::Symptom, &["DAE-REC"], Some(Check), true, None), obs(Phase::Recovery, &["DAE-REC"], Some(Recovery), true, None), obs(Phase::Recovery, &["DAE-REC"], Some(Verification), true, None)],
            None,
        );
        assert_eq!(result(&claim_results(&[all]), "DAE-REC").verdict, Verdict::Confirmed);
        let no_check = run(&["DAE-REC"], vec![obs(Phase::Recovery, &["DAE-REC"], Some(Recovery), true, None), obs(Phase::Recovery, &["DAE-REC"], Some(Verification), true, None)], None);
        let r = claim_results(&[no_check]);
        let c = result(&r, "DAE-REC");
        assert_eq!(c.verdict, Verdict::Unchecked);
        assert_eq!(c.parts[0].verdict, Verdict::Unchecked);
        assert!(c.reason.as_deref().unwrap().contains("check"), "{c:?}");
    }

    #[test]
    fn a_part_the_testbed_cannot_exercise_says_why_and_confirms_nothing() {
        // VM-REBUILD states recovery, verification, timing; on an image that keeps no .debs the
        // rebuild was never at its base image, and the runner says why.
        let mut r = run(&["VM-REBUILD"], vec![obs(Phase::Recovery, &["VM-REBUILD"], Some(Recovery), true, None), obs(Phase::Recovery, &["VM-REBUILD"], Some(Verification), true, None)], None);
        r.scenario.timings = vec![Timing { claim: "VM-REBUILD".parse().unwrap(), span: crate::scenario::TimingSpan::Rebuild, at_most: std::time::Duration::from_secs(600), note: None }];
        let why = "the lab image x keeps no PowerDNS .debs";
        r.scenario.parts_not_simulated = vec![("VM-REBUILD".parse().unwrap(), Part::Timing, why.into())];
        let c = claim_results(&[r]);
        let v = result(&c, "VM-REBUILD");
        assert_eq!(v.verdict, Verdict::Unchecked, "{v:?}");
        let t = v.parts.iter().find(|p| p.part == Part::Timing).unwrap();
        assert_eq!((t.verdict, t.reason.as_deref()), (Verdict::NotSimulated, Some(why)));
        assert_eq!(v.reason.as_deref(), Some("timing not simulated: the lab image x keeps no PowerDNS .debs"));
    }

    #[test]
    fn a_rebuild_is_timed_from_the_base_image_with_the_download_added() {
        let mut r = run(&["VM-REBUILD"], vec![obs(Phase::Recovery, &["VM-REBUILD"], Some(Recovery), true, None), obs(Phase::Recovery, &["VM-REBUILD"], Some(Verification), true, None)], None);
        r.scenario.timings = vec![Timing { claim: "VM-REBUILD".parse().unwrap(), span: crate::scenario::TimingSpan::Rebuild, at_most: std::time::Duration::from_secs(600), note: None }];
        r.timeline.base_image_ms = Some(700);
        r.timeline.mirror_download_ms = Some(300);
        let c = claim_results(std::slice::from_ref(&r));
        let v = result(&c, "VM-REBUILD");
        assert_eq!(v.verdict, Verdict::Confirmed, "{v:?}");
        let t = v.parts.iter().find(|p| p.part == Part::Timing).unwrap();
        let said = t.reason.as_deref().unwrap();
        assert!(said.contains("took 1.1 s (0.8 s on the VM from its base image to steady state + 0.3 s mirror download at image build), the runbook says at most 600 s"), "{said}");
        r.scenario.timings[0].at_most = std::time::Duration::from_secs(1);
        let c = claim_results(&[r]);
        let v = result(&c, "VM-REBUILD");
        assert_eq!((v.verdict, v.severity), (Verdict::Contradicted, Some(Severity::SlowerRecovery)));
        assert!(v.first_mismatch.as_deref().unwrap().starts_with("VM-REBUILD timing: the rebuild"), "{v:?}");
    }

    #[test]
    fn steps_without_an_expectation_confirm_nothing() {
        // Evidence-only steps (no expectation) and harness context bearing on every part.
        let records = Part::ALL.iter().map(|p| obs(Phase::Recovery, &["DAE-REC"], Some(*p), false, None)).chain([obs(Phase::Inject, &["DAE-REC"], None, false, None)]).collect();
        let r = claim_results(&[run(&["DAE-REC"], records, None)]);
        let c = result(&r, "DAE-REC");
        assert_eq!(c.verdict, Verdict::Unchecked, "{c:?}");
        assert!(c.parts.iter().all(|p| p.verdict == Verdict::Unchecked));
    }

    #[test]
    fn a_part_the_claim_does_not_state_decides_nothing() {
        // TRI-2 states only the check (the triage row): a failed restart is DAE-REC's business.
        let r = run(
            &["DAE-REC", "TRI-2"],
            vec![obs(Phase::Symptom, &["TRI-2", "DAE-REC"], Some(Check), true, None), obs(Phase::Recovery, &["TRI-2", "DAE-REC"], Some(Recovery), true, Some("step 9: restart exit expected 0, got 1"))],
            None,
        );
        let c = claim_results(&[r]);
        assert_eq!(result(&c, "TRI-2").verdict, Verdict::Confirmed);
        let dae = result(&c, "DAE-REC");
        assert_eq!(dae.verdict, Verdict::Contradicted);
        assert_eq!(dae.severity, Some(Severity::RecoveryFails));
        assert_eq!(dae.first_mismatch.as_deref(), Some("DAE-REC step 9: restart exit expected 0, got 1"));
        assert_eq!(dae.detect_ms, Some(300));
        assert_eq!(dae.recover_ms, Some(1000));
    }

    #[test]
    fn severity_is_the_worst_of_the_failed_parts_and_a_step_may_say_it() {
        let mut loss = obs(Phase::Recovery, &["BAK-RESTORE"], Some(Verification), true, Some("step 5: 3 records missing"));
        loss.severity = Some(Severity::DataLoss);
        let r = run(&["BAK-RESTORE"], vec![obs(Phase::Recovery, &["BAK-RESTORE"], Some(Recovery), true, Some("step 4: replay failed")), loss], None);
        let c = claim_results(&[r]);
        assert_eq!(result(&c, "BAK-RESTORE").severity, Some(Severity::DataLoss));
    }

    #[test]
    fn a_steady_state_back_late_by_itself_is_a_slower_recovery_decided_here() {
        let missed = || obs(Phase::SteadyAfter, &["DAE-REC"], Some(Recovery), true, Some("steady state after recovery: …"));
        let never = claim_results(&[run(&["DAE-REC"], vec![missed()], None)]);
        assert_eq!(result(&never, "DAE-REC").severity, Some(Severity::RecoveryFails));
        let mut late = missed();
        late.back_late_ms = Some(60_000);
        let c = claim_results(&[run(&["DAE-REC"], vec![late], None)]);
        assert_eq!((result(&c, "DAE-REC").verdict, result(&c, "DAE-REC").severity), (Verdict::Contradicted, Some(Severity::SlowerRecovery)));
    }

    #[test]
    fn harness_errors_are_not_contradictions() {
        let runs = vec![run(&["NET-FW"], vec![], Some("fault did not take effect: …"))];
        assert_eq!(result(&claim_results(&runs), "NET-FW").verdict, Verdict::Errored);
    }

    #[test]
    fn a_scenario_the_lab_cannot_run_is_not_simulated_with_the_plans_reason() {
        let mut r = run(&["CLI-CACHED"], vec![], None);
        r.not_simulated = Some("this lab cannot run scenario s: {name.multi-a}: the zone has no a name with several A records".into());
        let c = claim_results(&[r]);
        let cached = result(&c, "CLI-CACHED");
        assert_eq!(cached.verdict, Verdict::NotSimulated);
        assert!(cached.reason.as_deref().unwrap().contains("several A records"));
        assert_eq!(outcome(&run(&["CLI-CACHED"], vec![], None)), ScenarioOutcome::Held);
    }

    #[test]
    fn contradiction_in_any_scenario_wins_and_conditions_are_stated() {
        let mut warm = run(&["NEG-CACHE"], Part::ALL[..4].iter().map(|p| obs(Phase::Symptom, &["NEG-CACHE"], Some(*p), true, None)).collect(), None);
        warm.records[2].mismatch = Some("step 7: recursor probe rcode expected NOERROR, got NXDOMAIN".into());
        warm.scenario.condition = Some("pdns's negative cache still holds the name".into());
        warm.scenario.name = "neg-cache".into();
        let mut cold = run(&["NEG-CACHE"], Part::ALL[..4].iter().map(|p| obs(Phase::Symptom, &["NEG-CACHE"], Some(*p), true, None)).collect(), None);
        cold.scenario.condition = Some("pdns's negative cache has expired".into());
        cold.scenario.name = "neg-cache-expired".into();
        let c = claim_results(&[warm, cold]);
        let n = result(&c, "NEG-CACHE");
        assert_eq!(n.verdict, Verdict::Contradicted);
        assert_eq!(n.variants.len(), 2);
        assert_eq!(
            n.finding.as_deref(),
            Some("NEG-CACHE: recovery contradicted when pdns's negative cache still holds the name; holds when pdns's negative cache has expired")
        );
    }

    #[test]
    fn the_detection_matrix_decides_the_monitor_claims() {
        use crate::scenario::monitors::{Detection, Monitor};
        let det = |monitor, first_ms| Detection { monitor, first_ms, evidence: first_ms.map(|_| "x".into()), samples: 3, last_reading: None };
        let mut r = run(&["MON-STATE", "MON-SYNTH"], vec![], None);
        r.scenario.monitors = vec![Monitor::State, Monitor::Synthetic];
        r.detections = vec![det(Monitor::State, Some(800)), det(Monitor::Synthetic, None), det(Monitor::SqliteSize, None)];
        let c = claim_results(&[r]);
        assert_eq!(result(&c, "MON-STATE").verdict, Verdict::Confirmed);
        let synth = result(&c, "MON-SYNTH");
        assert_eq!(synth.verdict, Verdict::Contradicted);
        assert_eq!(synth.severity, Some(Severity::FalseAllClear));
        assert!(synth.first_mismatch.as_deref().unwrap().contains("did not notice"), "{synth:?}");
        // The matrix's reading is the claim's evidence, even with no step of its own.
        assert_eq!(synth.evidence.len(), 1, "{synth:?}");
        assert!(synth.evidence[0].observed.starts_with("quiet in 3 sample(s)") && !synth.evidence[0].ok, "{synth:?}");
        assert!(result(&c, "MON-STATE").evidence[0].observed.starts_with("alerted after 0.8 s"));
        // A monitor the plan does not expect to notice decides nothing.
        assert_eq!(result(&c, "MON-SIZE").verdict, Verdict::NotSimulated);
    }

    #[test]
    fn a_monitor_that_missed_the_fault_calls_for_its_correction() {
        use crate::scenario::monitors::{Detection, Monitor};
        let det = |monitor, first_ms| Detection { monitor, first_ms, evidence: first_ms.map(|_| "x".into()), samples: 3, last_reading: None };
        let mut r = run(&["MON-STATE", "MON-SYNTH", "MON-SIZE"], vec![], None);
        r.scenario.monitors = vec![Monitor::State, Monitor::Synthetic];
        r.detections = vec![det(Monitor::State, Some(800)), det(Monitor::Synthetic, None), det(Monitor::SqliteSize, None)];
        let id = |s: &str| s.parse::<ClaimId>().unwrap();
        assert!(crate::history::matrix_contradicts(&r, &id("MON-SYNTH")));
        assert!(!crate::history::matrix_contradicts(&r, &id("MON-STATE")), "it noticed");
        assert!(!crate::history::matrix_contradicts(&r, &id("MON-SIZE")), "not a monitor the plan expects here");
        assert!(!crate::history::matrix_contradicts(&r, &id("DAE-AUTH")));
    }

    #[test]
    fn claims_a_queued_scenario_decides_are_pending_in_a_partial_report() {
        let done = run(&["DAE-REC"], vec![obs(Phase::Symptom, &["DAE-REC"], Some(Check), true, None)], None);
        let queued = info(&["NET-ALLOW"]);
        let r = partial_report(crate::report::fixture::sample_report().run, &[done], &[queued]);
        assert_eq!(result(&r.claims, "NET-ALLOW").verdict, Verdict::Pending);
        assert_eq!(result(&r.claims, "NET-FW").verdict, Verdict::NotSimulated);
        assert_eq!(result(&r.claims, "DAE-REC").verdict, Verdict::Unchecked);
    }

    #[test]
    fn timing_is_read_off_the_timeline() {
        let mut r = run(&["VM-REBUILD"], vec![obs(Phase::Recovery, &["VM-REBUILD"], Some(Recovery), true, None), obs(Phase::Recovery, &["VM-REBUILD"], Some(Verification), true, None)], None);
        r.scenario.timings = vec![Timing { claim: "VM-REBUILD".parse().unwrap(), span: crate::scenario::TimingSpan::Recovery, at_most: std::time::Duration::from_secs(600), note: None }];
        assert_eq!(result(&claim_results(std::slice::from_ref(&r)), "VM-REBUILD").verdict, Verdict::Confirmed);
        r.scenario.timings[0].at_most = std::time::Duration::from_millis(500);
        let c = claim_results(&[r]);
        let v = result(&c, "VM-REBUILD");
        assert_eq!(v.verdict, Verdict::Contradicted);
        assert_eq!(v.severity, Some(Severity::SlowerRecovery));
        assert!(v.first_mismatch.as_deref().unwrap().contains("took 1.0 s"), "{v:?}");
    }

    #[test]
    fn a_correction_is_verified_only_when_every_expectation_in_it_held() {
        let mut r = run(&["DAE-AUTH"], vec![], None);
        r.corrections = vec![CorrectionRun { claim: "DAE-AUTH".parse().unwrap(), summary: "x".into(), records: vec![obs(Phase::Correction, &[], None, true, None)], not_run: None }];
        assert!(verified(&r.corrections[0]));
        r.corrections[0].records.push(obs(Phase::Correction, &[], None, true, Some("steady state not reached")));
        assert!(!verified(&r.corrections[0]));
    }

    #[test]
    fn a_correction_is_for_a_scenario_that_contradicted_its_claim() {
        let id: crate::claims::ClaimId = "NET-FW".parse().unwrap();
        let held = vec![obs(Phase::Symptom, &["NET-FW"], Some(Symptom), true, None)];
        assert!(!crate::history::contradicts(&held, &id));
        let evidence_only = vec![obs(Phase::Symptom, &["NET-FW"], None, false, Some("x"))];
        assert!(!crate::history::contradicts(&evidence_only, &id), "evidence confirms and contradicts nothing");
        let other = vec![obs(Phase::Symptom, &["NET-ALLOW"], Some(Symptom), true, Some("x"))];
        assert!(!crate::history::contradicts(&other, &id));
        let failed = vec![obs(Phase::Symptom, &["NET-FW"], Some(Symptom), true, Some("x"))];
        assert!(crate::history::contradicts(&failed, &id));

        // A correction that was not run is not the claim's correction, even when listed first.
        let mut a = run(&["NET-FW"], held, None);
        a.corrections = vec![CorrectionRun { claim: id.clone(), summary: "skipped".into(), records: vec![], not_run: Some("held".into()) }];
        assert_eq!(result(&claim_results(std::slice::from_ref(&a)), "NET-FW").correction, None);
        let mut b = run(&["NET-FW"], failed, None);
        b.scenario.name = "b".into();
        b.corrections = vec![CorrectionRun { claim: id, summary: "ran".into(), records: vec![obs(Phase::Correction, &[], None, true, None)], not_run: None }];
        let c = claim_results(&[a, b]);
        assert_eq!(result(&c, "NET-FW").correction.as_ref().map(|k| k.summary.as_str()), Some("ran"));
    }
}
