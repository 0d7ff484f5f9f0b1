//! Runs scenarios: each on a lab of its own, steady state → faults → symptoms → recovery →
//! steady state → rollback → corrections, recording every observation with its time, the
//! claims and the claim part it bears on. Emits events; reporters consume them. Nothing here
//! prints or judges: the history it returns is all `conclude` reads.
//! Imports every folder above it (claims to history); nothing below.
//!
//! Here: a scenario's lab (leased from the pool or booted, then reset and handed on). `drive`:
//! the scenario's phases; `step`: one step and its expectation; `record`: the run's
//! observations; `deadlines`: how long the phases wait on the daemons; `fault`: faults
//! injected, proven and healed; `matcher`: expectations against what was observed;
//! `scheduler`: which scenario runs when.

mod deadlines;
mod drive;
pub mod fault;
pub mod matcher;
mod record;
pub mod scheduler;
mod step;

pub(crate) use step::{exec_failed, run_as_written, Window};

use crate::history::ScenarioInfo;
use crate::scenario::plan::Resolved;
use crate::scenario::Scenario;
use crate::testbed::config::{ConfigDir, ZoneInput};
use crate::testbed::engine::Engine;
use crate::testbed::{Lab, LabSpec, Role};
use record::Ctx;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

pub use crate::history::events::Event;
pub use crate::history::{CorrectionRun, Observation, ScenarioRun};

/// What every scenario's lab is built from.
#[derive(Clone)]
pub struct Inputs {
    pub engine: Engine,
    pub image: String,
    pub config: ConfigDir,
    pub zone: ZoneInput,
    pub run_id: String,
    pub keep_on_failure: bool,
    /// Lab boots that may run at once: booting is what costs CPU, waiting on daemons does not.
    pub boots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Labs proven clean between scenarios; None: every scenario boots its own (`--fresh-labs`).
    pub pool: Option<std::sync::Arc<crate::testbed::pool::Pool>>,
}

pub use deadlines::STEADY_AFTER_DEADLINE;

/// Runs one planned scenario: a resolved one on a lab of its own, or records why the lab
/// cannot run it.
pub async fn run_scenario(inputs: &Inputs, index: usize, planned: &(Scenario, Resolved), events: &UnboundedSender<Event>) -> ScenarioRun {
    let (template, resolved) = planned;
    let (scenario, facts) = match resolved {
        Resolved::Ready(p) => (&p.scenario, p.facts_used.clone()),
        Resolved::NotSimulated(_) => (template, Vec::new()),
    };
    let _ = events.send(Event::ScenarioStarted { name: scenario.name.clone() });
    let t0 = Instant::now();
    let lab_run_id = format!("{}-{:02}", inputs.run_id, index);
    let mut run = ScenarioRun::new(ScenarioInfo::new(scenario, facts), lab_run_id.clone());
    run.not_simulated = match resolved {
        Resolved::NotSimulated(why) => Some(why.clone()),
        Resolved::Ready(_) => None,
    };
    if !needs_lab(planned) {
        let _ = events.send(Event::ScenarioFinished { run: Box::new(run.clone()) });
        return run;
    }
    let roles = lab_roles(scenario);
    // Why this scenario's lab is not offered to another one afterwards (None: it is, once proven clean).
    let not_reusable = match (&inputs.pool, scenario.needs_fresh_lab()) {
        (None, _) => Some("reuse is off (--fresh-labs)".to_string()),
        (Some(_), Some(why)) => Some(format!("the scenario needs a fresh lab: {why}")),
        (Some(_), None) => None,
    };
    let progress = |m: &str| {
        let _ = events.send(Event::Progress { scenario: scenario.name.clone(), message: m.to_string() });
    };
    // Any scenario may start on a lab proven clean (it is as good as a fresh one); only one
    // whose lab can be handed on afterwards keeps the chain going.
    let (taken, mut boot_slot) = match &inputs.pool {
        Some(pool) => match pool.lease(&roles, &inputs.boots).await {
            crate::testbed::pool::Lease::Reuse(p) => (Some(p), None),
            crate::testbed::pool::Lease::Boot { slot, evicted } => {
                crate::testbed::pool::remove(evicted).await;
                (None, Some(slot))
            }
        },
        None => (None, None),
    };
    // Every lab leased from the pool that does not go back to it is accounted for.
    let gone = || {
        if let Some(p) = &inputs.pool {
            p.gone();
        }
    };
    let (lab, pristine, steady, cpu_before) = match taken {
        Some(mut p) => {
            run.timeline.queued_ms = Some(t0.elapsed().as_millis() as u64);
            run.lab_run_id = p.lab.spec.run_id.clone();
            progress(&format!("on a lab proven clean after {}; waiting for steady state", p.served.last().map_or("", String::as_str)));
            run.lab.served_before = p.served;
            // Made into this scenario's lab; its pristine reading follows once it is steady.
            let reshaped = p.lab.reshape(&roles).await;
            if let Ok(r) = &reshaped {
                let names = |roles: &[crate::testbed::Role]| roles.iter().map(|r| r.as_str().to_string()).collect();
                (run.lab.shed, run.lab.added) = (names(&r.shed), names(&r.added));
            }
            let cpu_before = p.lab.cpu_time().await;
            let steady = match reshaped {
                Ok(r) => match p.lab.wait_steady_asking(crate::testbed::STEADY_DEADLINE, crate::testbed::steady::Scope::OneName).await {
                    Ok(steady) => crate::testbed::fingerprint::reshape_pristine(&p.lab, &mut p.pristine, &r).await.map(|()| steady),
                    Err(e) => Err(anyhow::Error::new(e)),
                },
                Err(e) => Err(e.context("reshaping the lab")),
            };
            (p.lab, Ok(p.pristine), steady, cpu_before)
        }
        None => {
            let spec = LabSpec { image: inputs.image.clone(), config: inputs.config.clone(), zone: inputs.zone.clone(), run_id: lab_run_id.clone(), roles: roles.clone() };
            // Until steady state, a boot holds one of the CPU's slots; the scenario then waits freely.
            let boot_slot = match boot_slot.take() {
                Some(slot) => slot,
                None => inputs.boots.clone().acquire_owned().await.expect("the boot semaphore is never closed"),
            };
            run.timeline.queued_ms = Some(t0.elapsed().as_millis() as u64);
            let lab = match Lab::up(inputs.engine.clone(), spec, &progress).await {
                Ok(l) => l,
                Err(e) => {
                    inputs.engine.sweep(Some(&lab_run_id)).await.ok();
                    gone();
                    run.error = Some(format!("lab did not come up: {e:#}"));
                    run.wall_ms = t0.elapsed().as_millis() as u64;
                    let _ = events.send(Event::ScenarioFinished { run: Box::new(run.clone()) });
                    return run;
                }
            };
            progress("waiting for steady state");
            // The deadline counts from the end of systemd's boot: on a loaded host the boot alone can
            // take most of it.
            let steady = match lab.wait_booted_lab().await {
                Ok(()) => lab.wait_steady_asking(crate::testbed::STEADY_DEADLINE, crate::testbed::steady::Scope::OneName).await.map_err(anyhow::Error::new),
                Err(e) => Err(e),
            };
            run.timeline.booted_ms = Some(t0.elapsed().as_millis() as u64);
            drop(boot_slot);
            // The state a later scenario on this lab must find again, read before any fault
            // (also when this scenario ends the VM: the helpers' part is kept when it is renewed).
            let pristine = match (&inputs.pool, &steady) {
                (Some(_), Ok(_)) => {
                    progress("copying the pristine state for reuse");
                    pristine(&lab).await
                }
                (None, _) => Err(anyhow::anyhow!("reuse is off (--fresh-labs)")),
                (Some(_), Err(_)) => Err(anyhow::anyhow!("the lab did not reach steady state")),
            };
            (lab, pristine, steady, Duration::ZERO)
        }
    };
    run.dropins = lab.dropins();
    // The lab's own packages, before any step may rebuild the VM on another release.
    run.versions = lab.versions().await;
    let Resolved::Ready(planned) = resolved else { unreachable!("a scenario not simulated needs no lab") };
    let bound = lab.bind(planned);
    let mut ctx = Ctx { lab: &lab, scenario: &bound.scenario, t0, records: Vec::new(), events, step_no: 0, triage_row: None, heal_failed: None, lab_unsettled: None, base_image_ms: None, mirror_download_ms: None, parts_not_simulated: Vec::new() };
    let result = match steady {
        Ok(steady) => drive::drive(&mut ctx, &mut run, steady).await,
        Err(e) => Err(e.context("the lab did not reach steady state before the fault")),
    };
    run.records = std::mem::take(&mut ctx.records);
    run.triage_row = ctx.triage_row.take();
    run.timeline.base_image_ms = ctx.base_image_ms;
    run.timeline.mirror_download_ms = ctx.mirror_download_ms;
    run.scenario.parts_not_simulated.append(&mut ctx.parts_not_simulated);
    if run.versions.0.is_none() {
        run.versions = lab.versions().await;
    }
    if let Err(e) = result {
        run.error = Some(format!("{e:#}"));
    } else if let Some(h) = ctx.heal_failed.take() {
        // A lab left with a fault in it proves nothing about what came after.
        run.error = Some(h);
    }
    run.timeline.end_ms = t0.elapsed().as_millis() as u64;
    run.wall_ms = run.timeline.end_ms;
    run.timeline.cpu_ms = Some(lab.cpu_time().await.saturating_sub(cpu_before).as_millis() as u64);
    run.lab.after = Some(if inputs.keep_on_failure && run.anything_failed() {
        run.kept = true;
        // Remembered as `pdns-drill up` remembers its lab: `triage --run` and `down` find it.
        if let Err(e) = crate::testbed::kept::KeptLab::save(&lab) {
            progress(&format!("the kept lab could not be remembered for `pdns-drill triage --run`: {e:#}"));
        }
        gone();
        crate::history::LabAfter::Kept
    } else {
        let pool = inputs.pool.as_ref().filter(|_| run.error.is_none());
        match (pool, pristine) {
            (Some(pool), Ok(pristine)) if pool.wanted() => match &not_reusable {
                None => {
                    progress("resetting the lab and comparing its fingerprint with the pristine one");
                    hand_on(pool, lab, pristine, run.lab.served_before.clone(), &scenario.name).await
                }
                Some(why) => {
                    progress("renewing the VM this scenario ended, then resetting the lab and comparing its fingerprint with the pristine one");
                    renew_and_hand_on(pool, &inputs.boots, lab, pristine, run.lab.served_before.clone(), &scenario.name, why).await
                }
            },
            (_, pristine) => {
                lab.down().await.ok();
                gone();
                let why = match (&run.error, &not_reusable, pristine) {
                    (Some(_), None, _) => "the scenario errored: its lab may hold what it left".to_string(),
                    (_, Some(why), _) => why.clone(),
                    (_, None, Err(e)) => format!("{e:#}"),
                    // A clean run whose lab could be handed on: the pool wants none any more.
                    (None, None, Ok(_)) => "every scenario of the run had its lab: no reset for a next one".to_string(),
                };
                crate::history::LabAfter::Removed { why }
            }
        }
    });
    let _ = events.send(Event::ScenarioFinished { run: Box::new(run.clone()) });
    run
}

/// Whether a scenario runs on a lab: one that only declares what it cannot simulate, or that
/// this lab cannot run, needs none.
pub fn needs_lab((_, resolved): &(Scenario, Resolved)) -> bool {
    match resolved {
        Resolved::NotSimulated(_) => false,
        Resolved::Ready(p) => !(p.scenario.faults.is_empty() && p.scenario.symptoms.is_empty() && p.scenario.recovery.is_empty()),
    }
}

/// The containers a scenario's lab is built with.
pub fn lab_roles(scenario: &Scenario) -> Vec<Role> {
    LabSpec::booting([Role::Workstation, Role::Client].into_iter().filter(|r| scenario.uses_role(*r)).collect())
}

/// The pristine copies and fingerprint of a lab at its first steady state.
async fn pristine(lab: &Lab) -> anyhow::Result<crate::testbed::fingerprint::Fingerprint> {
    crate::testbed::reset::capture_pristine(lab).await?;
    crate::testbed::fingerprint::take(lab).await
}

/// A lab whose scenario ended its VM (`why`): the VM renewed as the lab booted it
/// ([`Lab::renew_vm`], holding a boot slot until steady), its pristine copies and reading taken
/// again, then the whole lab reset and compared as any other ([`hand_on`]). A renewal that
/// fails removes the lab.
async fn renew_and_hand_on(
    pool: &crate::testbed::pool::Pool,
    boots: &std::sync::Arc<tokio::sync::Semaphore>,
    lab: Lab,
    mut pristine: crate::testbed::fingerprint::Fingerprint,
    served: Vec<String>,
    name: &str,
    why: &str,
) -> crate::history::LabAfter {
    let t = Instant::now();
    let renewed = async {
        let _slot = boots.clone().acquire_owned().await.expect("the boot semaphore is never closed");
        lab.renew_vm().await?;
        lab.wait_steady_asking(crate::testbed::STEADY_DEADLINE, crate::testbed::steady::Scope::OneName).await?;
        crate::testbed::reset::capture_pristine(&lab).await?;
        let vm = crate::testbed::Reshaped { shed: vec![crate::testbed::Role::PdnsVm], added: vec![crate::testbed::Role::PdnsVm] };
        crate::testbed::fingerprint::reshape_pristine(&lab, &mut pristine, &vm).await
    }
    .await;
    let renewal = format!("{why}; renewed in {} ms", t.elapsed().as_millis());
    match renewed {
        Ok(()) => {
            let mut after = hand_on(pool, lab, pristine, served, name).await;
            if let crate::history::LabAfter::Pooled { vm_renewed, .. } | crate::history::LabAfter::Discarded { vm_renewed, .. } = &mut after {
                *vm_renewed = Some(renewal);
            }
            after
        }
        Err(e) => {
            lab.down().await.ok();
            pool.gone();
            crate::history::LabAfter::Removed { why: format!("{why}; renewing its VM failed: {e:#}") }
        }
    }
}

/// Resets the lab and fingerprints it: equal to the pristine reading, it goes back to the pool;
/// otherwise it is removed and the history says which fields differed.
pub async fn hand_on(pool: &crate::testbed::pool::Pool, lab: Lab, pristine: crate::testbed::fingerprint::Fingerprint, mut served: Vec<String>, name: &str) -> crate::history::LabAfter {
    let (after, clean) = reset_for_next(lab, &pristine).await;
    match clean {
        Some(lab) => {
            served.push(name.to_string());
            pool.put(crate::testbed::pool::Pooled { lab, pristine, served });
        }
        None => pool.gone(),
    }
    after
}

/// The reset and the comparison with `pristine`: the lab back when they agree, else removed.
async fn reset_for_next(lab: Lab, pristine: &crate::testbed::fingerprint::Fingerprint) -> (crate::history::LabAfter, Option<Lab>) {
    let t = Instant::now();
    let now = crate::testbed::reset::reset_and_compare(&lab, pristine).await;
    let reset_ms = t.elapsed().as_millis() as u64;
    let (differences, settled) = match now {
        Ok(s) => (s.left.iter().map(|d| d.to_string()).collect::<Vec<_>>(), s.passing.iter().map(|d| d.to_string()).collect()),
        Err(e) => (vec![format!("the reset failed: {e:#}")], vec![]),
    };
    if differences.is_empty() {
        (crate::history::LabAfter::Pooled { reset_ms, fields: pristine.len(), settled, vm_renewed: None }, Some(lab))
    } else {
        lab.down().await.ok();
        (crate::history::LabAfter::Discarded { reset_ms, differences, vm_renewed: None }, None)
    }
}

/// How the preflight's lab shows among the labs a scenario's lab served before.
pub const PREFLIGHT: &str = "preflight";

/// The preflight's lab (at steady state, never faulted) made ready for a scenario as one that
/// served a scenario is, instead of removed while a scenario boots another: its pristine copies
/// and reading taken, then reset and compared with them. The lab for the pool, if it is clean,
/// and what became of it.
pub async fn from_preflight(lab: Lab) -> (Option<crate::testbed::pool::Pooled>, crate::history::LabAfter) {
    let pristine = match pristine(&lab).await {
        Ok(p) => p,
        Err(e) => {
            lab.down().await.ok();
            return (None, crate::history::LabAfter::Removed { why: format!("its pristine state could not be read: {e:#}") });
        }
    };
    let (after, clean) = reset_for_next(lab, &pristine).await;
    (clean.map(|lab| crate::testbed::pool::Pooled { lab, pristine, served: vec![PREFLIGHT.to_string()] }), after)
}
