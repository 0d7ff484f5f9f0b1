//! The scenario proper, on a lab at steady state: faults injected and proven in effect,
//! symptoms (with the monitors sampled meanwhile), the documented recovery, steady state again,
//! the harness's faults rolled back, then each correction tried where its claim was contradicted.

use super::fault::{self, Injected};
use super::record::Ctx;
use super::step::step;
use super::deadlines::{CORRECTION_SETTLE, LATE_POLL, LATE_RECOVERY_BOUND, STEADY_AFTER_DEADLINE};
use crate::claims::Part;
use crate::dns::probe::{self, Query, RType};
use crate::history::{CorrectionRun, Phase, ScenarioRun};
use crate::scenario::StepTable;
use crate::testbed::engine::EXEC_DEADLINE;
use crate::testbed::{Lab, Role};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// The scenario proper. Faults are healed on every path out of here.
pub(super) async fn drive(ctx: &mut Ctx<'_>, run: &mut ScenarioRun, steady: crate::testbed::steady::SteadyReport) -> anyhow::Result<()> {
    let s = ctx.scenario;
    for c in &steady.checks {
        ctx.note(Phase::SteadyBefore, "harness", format!("{} (expected {})", c.query, c.expected), c.observed.clone(), s.claims.clone());
    }
    let mut injected: Vec<Injected> = Vec::new();
    let base = monitor_sample(ctx.lab, Instant::now()).await;
    let body = async {
        ctx.progress("injecting faults");
        for f in &s.faults {
            let i = fault::inject(ctx.lab, f).await?;
            ctx.note(Phase::Inject, "pdns-vm", i.description.clone(), format!("in effect: {}", i.proof), s.claims.clone());
            injected.push(i);
        }
        run.timeline.fault_injected_ms = Some(ctx.ms());
        ctx.progress("checking symptoms");
        // The planned monitors are sampled for as long as the fault is in place.
        let lab = ctx.lab;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let t0 = Instant::now();
        let landed = state_sample(lab, t0).await;
        let sampling = sample_monitors(lab, t0, landed, stopped);
        let symptoms = async {
            let r: anyhow::Result<()> = async {
                for st in &s.symptoms {
                    let ok = step(ctx, Phase::Symptom, StepTable::Symptom, st, &mut injected).await?;
                    if ok && run.timeline.first_symptom_ms.is_none() {
                        run.timeline.first_symptom_ms = Some(ctx.ms());
                    }
                }
                Ok(())
            }
            .await;
            let _ = stop.send(true);
            r
        };
        let (symptoms, samples) = futures_util::future::join(symptoms, sampling).await;
        run.detections = crate::scenario::monitors::detections(&base, &samples);
        symptoms?;
        run.timeline.recovery_started_ms = Some(ctx.ms());
        ctx.progress("running the documented recovery");
        for st in &s.recovery {
            step(ctx, Phase::Recovery, StepTable::Recover, st, &mut injected).await?;
        }
        // Service back after the harness undid its own faults shows the heal worked, not the
        // runbook's recovery: then the steady state is evidence, and checks no part.
        let healed = s.recovery.iter().any(|st| st.action == crate::scenario::Action::Heal);
        let recovery_part = (!healed).then_some(Part::Recovery);
        if s.steady_after {
            ctx.progress("waiting for steady state again");
            let r = ctx.lab.wait_steady_after(STEADY_AFTER_DEADLINE).await;
            let claims = s.recovery_claims().to_vec();
            match r {
                // Service back after the documented recovery: what the recovery part promises.
                Ok(_) => {
                    run.timeline.steady_ms = Some(ctx.ms());
                    ctx.record(Phase::SteadyAfter, "harness", "steady-state check".into(), "all checks hold".into(), Some("steady state".into()), None, claims, recovery_part, None, None);
                }
                Err(e) => {
                    // With every daemon up, answers may still come back by themselves: how late
                    // tells "slower recovery" from "recovery fails".
                    let late = if e.daemons_up() {
                        ctx.progress("steady state missed its deadline with the daemons up: watching for a late recovery");
                        ctx.lab.watch_late(LATE_RECOVERY_BOUND, LATE_POLL).await
                    } else {
                        crate::testbed::steady::Late::NotWatched
                    };
                    let (observed, mismatch, back_after) = e.after_recovery(late, LATE_POLL);
                    let back = back_after.is_some();
                    if back {
                        run.timeline.steady_ms = Some(ctx.ms());
                    }
                    ctx.lab_unsettled = (!back).then(|| "the scenario's recovery did not bring steady state back".to_string());
                    // Late is judged against a deadline of the harness's: the runbook names none.
                    let reading = back.then(|| {
                        format!("steady state within {} s of the documented recovery (the harness's deadline; the runbook states no time, and service came back by itself later)", STEADY_AFTER_DEADLINE.as_secs())
                    });
                    ctx.record(Phase::SteadyAfter, "harness", "steady-state check".into(), observed, Some("steady state".into()), Some(mismatch), claims, recovery_part, None, reading);
                    if let Some(after) = back_after {
                        ctx.back_late(after);
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    ctx.progress("rolling back");
    rollback(ctx, &mut injected).await;
    body?;
    for c in &s.corrections {
        // A correction mends a contradiction: where the runbook held on this lab there is
        // nothing to mend, and its steps would test a premise the lab does not share.
        // The monitor claims are contradicted by the detection matrix, not by a step.
        let contradicted = crate::history::contradicts(&ctx.records, &c.claim) || crate::history::matrix_contradicts(run, &c.claim);
        let cr = if contradicted {
            correction(ctx, c).await
        } else {
            let why = format!("scenario {} did not contradict {} on this lab", s.name, c.claim);
            CorrectionRun { claim: c.claim.clone(), summary: c.summary.clone(), records: Vec::new(), not_run: Some(why) }
        };
        run.corrections.push(cr);
    }
    Ok(())
}

/// Monitor readings taken since `t0`.
async fn monitor_sample(lab: &Lab, t0: Instant) -> crate::scenario::monitors::Sample {
    let script = crate::scenario::monitors::VM_SCRIPT.replace("{db}", &lab.spec.config.db_path());
    let vm = lab.sh(Role::PdnsVm, &script, Duration::from_secs(10)).await;
    let mut s = match vm {
        Ok(o) if o.success() => crate::scenario::monitors::Sample::parse_vm(&o.stdout),
        _ => crate::scenario::monitors::Sample::default(),
    };
    // The synthetic digs, as the monitoring VM would send them: a lab record and a public name.
    let rec = SocketAddr::from((lab.plan.recursor, 53));
    let answered = |o: &probe::Outcome| matches!(o, probe::Outcome::Response(r) if r.rcode == probe::Rcode::NoError && !r.answers.is_empty());
    let lab_q = Query::udp(rec, &lab.synthetic_lab_name(), RType::A).with_timeout(Duration::from_secs(2));
    let pub_q = Query::udp(rec, "www.google.com.", RType::A).with_timeout(Duration::from_secs(2));
    let (a, b) = futures_util::future::join(probe::probe(&lab_q), probe::probe(&pub_q)).await;
    s.synthetic_ok = answered(&a) && answered(&b);
    s.at_ms = t0.elapsed().as_millis() as u64;
    s
}

/// The units' state alone, since `t0` (see [`crate::scenario::monitors::STATE_SCRIPT`]).
async fn state_sample(lab: &Lab, t0: Instant) -> crate::scenario::monitors::Sample {
    let out = lab.sh(Role::PdnsVm, crate::scenario::monitors::STATE_SCRIPT, Duration::from_secs(10)).await;
    let state = match out {
        Ok(o) if o.success() => crate::scenario::monitors::Sample::parse_vm(&o.stdout).state,
        _ => None,
    };
    crate::scenario::monitors::Sample { at_ms: t0.elapsed().as_millis() as u64, state, state_only: true, ..Default::default() }
}

/// Samples the monitors about once a second until told to stop (at least two full readings),
/// after the state read as the fault landed. A unit still starting or stopping then is
/// followed until it settles or its grace is over, so the state monitor's finding does not
/// hang on when the symptom steps happened to end.
async fn sample_monitors(lab: &Lab, t0: Instant, landed: crate::scenario::monitors::Sample, mut stop: tokio::sync::watch::Receiver<bool>) -> Vec<crate::scenario::monitors::Sample> {
    use crate::scenario::monitors::{in_transition, TRANSITION_GRACE_MS};
    let mut samples = vec![landed];
    loop {
        samples.push(monitor_sample(lab, t0).await);
        let moving_since = samples.iter().rev().take_while(|s| in_transition(s)).last().map(|s| s.at_ms);
        let settled = moving_since.is_none_or(|since| samples.last().is_some_and(|l| l.at_ms >= since + TRANSITION_GRACE_MS));
        if *stop.borrow() && samples.iter().filter(|s| !s.state_only).count() >= 2 && settled {
            return samples;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn rollback(ctx: &mut Ctx<'_>, injected: &mut Vec<Injected>) {
    while let Some(i) = injected.pop() {
        let obs = match fault::heal(ctx.lab, &i).await {
            Ok(o) => o,
            Err(e) => {
                let m = format!("heal failed: {}: {e:#}", i.description);
                ctx.heal_failed.get_or_insert(m.clone());
                m
            }
        };
        ctx.note(Phase::Rollback, "pdns-vm", format!("undo: {}", i.description), obs, vec![]);
    }
}

async fn correction(ctx: &mut Ctx<'_>, c: &crate::scenario::Correction) -> CorrectionRun {
    let first = ctx.records.len();
    let mut injected = Vec::new();
    let claims = vec![c.claim.clone()];
    let r: anyhow::Result<()> = async {
        // Faults are re-injected into a settled lab; without any, the correction starts where
        // the recovery left the lab (its steps may rebuild the VM first).
        // The steady state after the recovery asked every lab name: the correction starts, as
        // the scenario did, with the recursor's cache of the lab zone cold.
        if !ctx.scenario.faults.is_empty() {
            // A lab the recovery did not bring back is not waited for again.
            let unsettled = if let Some(why) = ctx.lab_unsettled.clone() {
                Some(why)
            } else {
                ctx.lab.wait_steady_after(CORRECTION_SETTLE).await.err().map(|e| {
                    let first = e.last.failing().first().map(|c| format!("{} {} → {}", c.name, c.query, c.observed)).unwrap_or_default();
                    format!("not steady after {:.0?} ({first})", e.waited)
                })
            };
            if let Some(why) = unsettled {
                // Names asked while the lab was down keep failing through the recursor (its
                // SERVFAIL packet cache and its throttle, re-armed while they are asked: up to
                // ~2 min); a restart clears both, as on a fresh lab.
                let o = ctx.lab.sh(Role::PdnsVm, "systemctl restart pdns-recursor", EXEC_DEADLINE).await?;
                anyhow::ensure!(o.success(), "systemctl restart pdns-recursor failed: {}", o.summary(300));
                ctx.note(Phase::Correction, "pdns-vm", "systemctl restart pdns-recursor".into(), format!("{why}: the recursor restarted to start from a fresh lab's state"), claims.clone());
                ctx.lab.wait_steady_after(STEADY_AFTER_DEADLINE).await?;
            }
            let zone = &ctx.lab.spec.zone.journal.zone;
            let o = ctx.lab.sh(Role::PdnsVm, &format!("rec_control wipe-cache '{zone}$'"), EXEC_DEADLINE).await?;
            anyhow::ensure!(o.success(), "rec_control wipe-cache {zone}$ failed: {}", o.summary(300));
            ctx.note(Phase::Correction, "pdns-vm", format!("rec_control wipe-cache '{zone}$' (the lab zone's cache cold again, as at the scenario's start)"), o.stdout.trim().to_string(), claims.clone());
        }
        for f in &ctx.scenario.faults {
            let i = fault::inject(ctx.lab, f).await?;
            ctx.note(Phase::Correction, "pdns-vm", format!("re-inject: {}", i.description), format!("in effect: {}", i.proof), claims.clone());
            injected.push(i);
        }
        for st in &c.steps {
            step(ctx, Phase::Correction, StepTable::Correction, st, &mut injected).await?;
        }
        // The lab must serve again by the correction's own steps, before the harness undoes
        // anything it re-injected: checked after the rollback, it would show the rollback worked.
        let steady = ctx.lab.wait_steady_after(STEADY_AFTER_DEADLINE).await.is_ok();
        let observed = if steady { "all checks hold" } else { "not reached" };
        let mismatch = (!steady).then(|| "steady state not reached by the correction's own steps (checked before the harness rolls back its faults)".to_string());
        ctx.record(Phase::Correction, "harness", "steady-state check, before the rollback".into(), observed.into(), Some("steady state".into()), mismatch, claims.clone(), None, None, None);
        anyhow::Ok(())
    }
    .await;
    rollback(ctx, &mut injected).await;
    if let Err(e) = r {
        let m = format!("{}{e:#}", crate::history::CORRECTION_ERRORED);
        ctx.record(Phase::Correction, "harness", "correction".into(), format!("error: {e:#}"), Some("the procedure runs".into()), Some(m), claims.clone(), None, None, None);
    }
    let records = ctx.records.drain(first..).collect();
    CorrectionRun { claim: c.claim.clone(), summary: c.summary.clone(), records, not_run: None }
}

