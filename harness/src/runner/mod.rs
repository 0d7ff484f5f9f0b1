//! Runs scenarios: each on a lab of its own, steady state → faults → symptoms → recovery →
//! steady state → rollback → corrections, recording every observation with its time, the
//! claims and the claim part it bears on. Emits events; reporters consume them. Nothing here
//! prints or judges: the history it returns is all `conclude` reads.
//! Imports every folder above it (claims to history); nothing below.

pub mod fault;
pub mod matcher;
pub mod scheduler;

use crate::claims::{ClaimId, Part, Severity};
use crate::testbed::engine::{Engine, EXEC_DEADLINE};
use fault::Injected;
use crate::history::{Phase, ScenarioInfo};
use matcher::Observed;
use crate::scenario::AS_LANDED;
use crate::dns::probe::{self, Query, RType, Transport};
use crate::scenario::plan::Resolved;
use crate::scenario::{Scenario, Step, StepTable};
use crate::testbed::config::{ConfigDir, ZoneInput};
use crate::testbed::{Lab, LabSpec, Role};
use anyhow::Context as _;
use std::net::SocketAddr;
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

/// How long steady state may take to return after a recovery (chaos judges by the same bound).
pub const STEADY_AFTER_DEADLINE: Duration = Duration::from_secs(45);
/// Past that deadline, with the daemons up, how long steady state is watched for: the
/// recursor keeps SERVFAILing names asked during an outage for up to ~2 min while they are
/// asked (its SERVFAIL packet cache and per-name throttle), which is a slow recovery, not a
/// failed one.
const LATE_RECOVERY_BOUND: Duration = Duration::from_secs(150);
const LATE_POLL: Duration = Duration::from_secs(5);
/// How long a correction waits for the lab to settle by itself before restarting the recursor.
const CORRECTION_SETTLE: Duration = Duration::from_secs(10);

struct Ctx<'a> {
    lab: &'a Lab,
    scenario: &'a Scenario,
    t0: Instant,
    records: Vec<Observation>,
    events: &'a UnboundedSender<Event>,
    step_no: u32,
    triage_row: Option<String>,
    /// The first heal that failed.
    heal_failed: Option<String>,
    /// Why the lab is known not to be in steady state after the scenario's recovery.
    lab_unsettled: Option<String>,
    /// A VM rebuilt from packages: when it stood at its base image, and the download measured
    /// at image build (the rebuild's timing), or why that timing could not be taken.
    base_image_ms: Option<u64>,
    mirror_download_ms: Option<u64>,
    parts_not_simulated: Vec<(ClaimId, Part, String)>,
}

impl Ctx<'_> {
    fn ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    /// The one place observations enter the history.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        phase: Phase,
        on: &str,
        action: String,
        observed: String,
        expected: Option<String>,
        mismatch: Option<String>,
        claims: Vec<ClaimId>,
        part: Option<Part>,
        severity: Option<Severity>,
        interpretation: Option<String>,
    ) -> bool {
        self.step_no += 1;
        let ok = mismatch.is_none();
        let o = Observation { phase, step: self.step_no, on: on.to_string(), action, observed, expected, mismatch, at_ms: self.ms(), claims, part, severity, interpretation };
        let _ = self.events.send(Event::Observed {
            scenario: self.scenario.name.clone(),
            ok,
            line: format!("{} step {}: {}", phase.as_str(), o.step, o.action),
        });
        self.records.push(o);
        ok
    }

    /// Context: no expectation, no part; checks nothing.
    fn note(&mut self, phase: Phase, on: &str, action: String, observed: String, claims: Vec<ClaimId>) {
        self.record(phase, on, action, observed, None, None, claims, None, None, None);
    }

    fn progress(&self, m: &str) {
        let _ = self.events.send(Event::Progress { scenario: self.scenario.name.clone(), message: m.to_string() });
    }
}

/// Runs one planned scenario: a resolved one on a lab of its own, or records why the lab
/// cannot run it.
pub async fn run_scenario(inputs: &Inputs, index: usize, planned: &(Scenario, Resolved), events: &UnboundedSender<Event>) -> ScenarioRun {
    let (template, resolved) = planned;
    let scenario = match resolved {
        Resolved::Ready(s) => s.as_ref(),
        Resolved::NotSimulated(_) => template,
    };
    let _ = events.send(Event::ScenarioStarted { name: scenario.name.clone() });
    let t0 = Instant::now();
    let lab_run_id = format!("{}-{:02}", inputs.run_id, index);
    let mut run = ScenarioRun::new(ScenarioInfo::from(scenario), lab_run_id.clone());
    run.not_simulated = match resolved {
        Resolved::NotSimulated(why) => Some(why.clone()),
        Resolved::Ready(_) => None,
    };
    // A scenario that only declares what it cannot simulate, or that this lab cannot run,
    // needs no lab.
    if run.not_simulated.is_some() || (scenario.faults.is_empty() && scenario.symptoms.is_empty() && scenario.recovery.is_empty()) {
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
    let taken = match &inputs.pool {
        Some(pool) => match pool.lease(&roles, not_reusable.is_none()) {
            crate::testbed::pool::Lease::Reuse(p) => Some(p),
            crate::testbed::pool::Lease::Boot { evicted } => {
                futures_util::future::join_all(evicted.iter().map(|p| p.lab.down())).await;
                None
            }
        },
        None => None,
    };
    // Every lab leased from the pool that does not go back to it is accounted for.
    let gone = || {
        if let Some(p) = &inputs.pool {
            p.gone();
        }
    };
    let (lab, pristine, steady, cpu_before) = match taken {
        Some(p) => {
            run.timeline.queued_ms = Some(t0.elapsed().as_millis() as u64);
            run.lab_run_id = p.lab.spec.run_id.clone();
            progress(&format!("on a lab proven clean after {}; waiting for steady state", p.served.last().map_or("", String::as_str)));
            run.lab.served_before = p.served;
            let cpu_before = p.lab.cpu_time().await;
            let steady = p.lab.wait_steady_asking(crate::testbed::STEADY_DEADLINE, crate::testbed::steady::Scope::OneName).await.map_err(anyhow::Error::new);
            (p.lab, Ok(p.pristine), steady, cpu_before)
        }
        None => {
            let spec = LabSpec { image: inputs.image.clone(), config: inputs.config.clone(), zone: inputs.zone.clone(), run_id: lab_run_id.clone(), roles: roles.clone() };
            // Until steady state, a boot holds one of the CPU's slots; the scenario then waits freely.
            let boot_slot = inputs.boots.clone().acquire_owned().await.expect("the boot semaphore is never closed");
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
            // The state a later scenario on this lab must find again, read before any fault.
            let pristine = match (&not_reusable, &steady) {
                (None, Ok(_)) => {
                    progress("copying the pristine state for reuse");
                    pristine(&lab).await
                }
                (Some(why), _) => Err(anyhow::anyhow!("{why}")),
                (None, Err(_)) => Err(anyhow::anyhow!("the lab did not reach steady state")),
            };
            (lab, pristine, steady, Duration::ZERO)
        }
    };
    run.dropins = lab.dropins();
    // The lab's own packages, before any step may rebuild the VM on another release.
    run.versions = lab.versions().await;
    let bound = lab.bind(scenario);
    let mut ctx = Ctx { lab: &lab, scenario: &bound, t0, records: Vec::new(), events, step_no: 0, triage_row: None, heal_failed: None, lab_unsettled: None, base_image_ms: None, mirror_download_ms: None, parts_not_simulated: Vec::new() };
    let result = match steady {
        Ok(steady) => drive(&mut ctx, &mut run, steady).await,
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
        gone();
        crate::history::LabAfter::Kept
    } else {
        let pool = inputs.pool.as_ref().filter(|_| run.error.is_none());
        match (pool, pristine) {
            (Some(pool), Ok(pristine)) => {
                progress("resetting the lab and comparing its fingerprint with the pristine one");
                hand_on(pool, lab, pristine, run.lab.served_before.clone(), &scenario.name).await
            }
            (_, pristine) => {
                lab.down().await.ok();
                gone();
                let why = match (&run.error, pristine) {
                    (Some(_), _) if not_reusable.is_none() => "the scenario errored: its lab may hold what it left".to_string(),
                    (_, Err(e)) => format!("{e:#}"),
                    (_, Ok(_)) => "the scenario errored".to_string(),
                };
                crate::history::LabAfter::Removed { why }
            }
        }
    });
    let _ = events.send(Event::ScenarioFinished { run: Box::new(run.clone()) });
    run
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

/// Resets the lab and fingerprints it: equal to the pristine reading, it goes back to the pool;
/// otherwise it is removed and the history says which fields differed.
pub async fn hand_on(pool: &crate::testbed::pool::Pool, lab: Lab, pristine: crate::testbed::fingerprint::Fingerprint, mut served: Vec<String>, name: &str) -> crate::history::LabAfter {
    let t = Instant::now();
    let now = crate::testbed::reset::reset_and_compare(&lab, &pristine).await;
    let reset_ms = t.elapsed().as_millis() as u64;
    let (differences, settled) = match now {
        Ok(s) => (s.left.iter().map(|d| d.to_string()).collect(), s.passing.iter().map(|d| d.to_string()).collect()),
        Err(e) => (vec![format!("the reset failed: {e:#}")], vec![]),
    };
    if differences.is_empty() {
        let fields = pristine.len();
        served.push(name.to_string());
        pool.put(crate::testbed::pool::Pooled { lab, pristine, served });
        crate::history::LabAfter::Pooled { reset_ms, fields, settled }
    } else {
        lab.down().await.ok();
        pool.gone();
        crate::history::LabAfter::Discarded { reset_ms, differences }
    }
}

/// The scenario proper. Faults are healed on every path out of here.
async fn drive(ctx: &mut Ctx<'_>, run: &mut ScenarioRun, steady: crate::testbed::steady::SteadyReport) -> anyhow::Result<()> {
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
        let sampling = sample_monitors(lab, stopped);
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
        let healed = s.recovery.iter().any(|st| st.action == Some(crate::scenario::HarnessAction::Heal));
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
                    let (observed, mismatch, severity) = e.after_recovery(late, LATE_POLL);
                    let back = matches!(late, crate::testbed::steady::Late::Back(_));
                    if back {
                        run.timeline.steady_ms = Some(ctx.ms());
                    }
                    ctx.lab_unsettled = (!back).then(|| "the scenario's recovery did not bring steady state back".to_string());
                    // Late is judged against a deadline of the harness's: the runbook names none.
                    let reading = back.then(|| {
                        format!("steady state within {} s of the documented recovery (the harness's deadline; the runbook states no time, and service came back by itself later)", STEADY_AFTER_DEADLINE.as_secs())
                    });
                    ctx.record(Phase::SteadyAfter, "harness", "steady-state check".into(), observed, Some("steady state".into()), Some(mismatch), claims, recovery_part, severity, reading);
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

/// Samples the monitors about once a second until told to stop (at least twice).
async fn sample_monitors(lab: &Lab, mut stop: tokio::sync::watch::Receiver<bool>) -> Vec<crate::scenario::monitors::Sample> {
    let t0 = Instant::now();
    let mut samples = Vec::new();
    loop {
        samples.push(monitor_sample(lab, t0).await);
        if *stop.borrow() && samples.len() >= 2 {
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

/// Runs one step, polling until its expectation holds or `within` passes. Returns whether it held.
async fn step(ctx: &mut Ctx<'_>, phase: Phase, table: StepTable, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<bool> {
    let deadline = st.within.unwrap_or(Duration::ZERO);
    let start = Instant::now();
    loop {
        let (on, action, observed) = act(ctx, phase, st, injected).await?;
        // What the harness could not ask yet (a VM still booting) is asked again while the
        // step's window lasts; only at its end is it the harness failing.
        if let Err(e) = harness_failure(st, &action, &observed) {
            if start.elapsed() >= deadline {
                return Err(e);
            }
            tokio::time::sleep(poll_interval(st, start.elapsed())).await;
            continue;
        }
        // `row = "as-landed"`: the row the scenario's first triage under the fault landed on
        // (the same probes from another host must agree with it, whatever it is on this lab).
        let landed;
        let expect = match st.expect.row.as_deref() {
            Some(AS_LANDED) => {
                let row = ctx.triage_row.clone().ok_or_else(|| anyhow::anyhow!("`row = \"{AS_LANDED}\"` with no triage taken before it under the fault"))?;
                landed = crate::scenario::Expect { row: Some(row), ..st.expect.clone() };
                &landed
            }
            _ => &st.expect,
        };
        let verdict = matcher::check(expect, &observed);
        let holds = verdict.is_ok();
        if holds || start.elapsed() >= deadline {
            let mut claims = ctx.scenario.step_claims(st).to_vec();
            if matches!(phase, Phase::Correction) {
                claims.clear();
            }
            let expected = (!expect.is_empty()).then(|| matcher::describe(expect));
            let mismatch = verdict.err().map(|m| {
                let what = st.note.clone().unwrap_or_else(|| match &observed {
                    Observed::Probe(_) => format!("{} probe", st.probe.as_deref().unwrap_or("dns")),
                    Observed::Triage(_) => "triage".into(),
                    _ => "command".into(),
                });
                format!("step {}: {what} {m}", ctx.step_no + 1)
            });
            // The row a scenario "landed on" is the first triage taken under the fault.
            if let Observed::Triage(t) = &observed {
                if phase == Phase::Symptom && ctx.triage_row.is_none() {
                    ctx.triage_row = Some(crate::dns::triage::row_id(t.row).to_string());
                }
            }
            let text = observed_text(&observed);
            let label = match &st.note {
                Some(n) => format!("{action}  # {n}"),
                None => action,
            };
            let part = Scenario::step_part(st, table);
            let failed_precondition = st.precondition && mismatch.is_some();
            ctx.record(phase, &on, label, text, expected, mismatch.clone(), claims, part, st.severity, st.interpretation.clone());
            if failed_precondition {
                anyhow::bail!("precondition did not hold, so nothing after it can be judged: {}", mismatch.unwrap_or_default());
            }
            return Ok(holds);
        }
        tokio::time::sleep(poll_interval(st, start.elapsed())).await;
    }
}

/// How long to wait before asking again. A probe from the harness costs a datagram; a command
/// costs processes in the container (and, through its console, the engine's stream), and the
/// CPU a waiting scenario takes is a boot's, so commands are asked less often the longer the
/// wait (a held expectation is seen at most one interval late: 0.2 s in the first 2 s, 1 s
/// after 10 s).
fn poll_interval(st: &Step, waited: Duration) -> Duration {
    let ms = match waited.as_secs() {
        _ if st.probe.is_some() => 200,
        0..2 => 200,
        2..10 => 500,
        _ => 1000,
    };
    Duration::from_millis(ms)
}

/// What the harness failed at, rather than what the daemons did: never judged as a symptom.
fn harness_failure(st: &Step, action: &str, o: &Observed) -> anyhow::Result<()> {
    match o {
        Observed::Exec(x) if x.exit_code.is_none() => anyhow::bail!("`{action}` did not finish within {} s (harness exec deadline)", EXEC_DEADLINE.as_secs()),
        Observed::Exec(x) if x.stderr.contains("Failed to connect to bus") => {
            anyhow::bail!("`{action}`: systemd in the container was not reachable ({})", x.summary(160))
        }
        Observed::Probe(crate::dns::probe::Outcome::NetError(e)) if st.expect.outcome.as_deref() != Some("error") => {
            anyhow::bail!("{action}: the probe itself failed on this host: {e}")
        }
        _ => Ok(()),
    }
}

fn observed_text(o: &Observed) -> String {
    match o {
        Observed::Probe(p) => p.summary(),
        Observed::Exec(x) => x.summary(600),
        Observed::Triage(t) => {
            let ob = &t.observation;
            format!(
                "recursor={} auth={} ping={} libvirt={} → {}",
                ob.recursor.label(),
                ob.auth.label(),
                ob.ping.label(),
                ob.vm,
                crate::dns::triage::row_id(t.row)
            )
        }
        Observed::Done => "done".into(),
    }
}

async fn act(ctx: &mut Ctx<'_>, phase: Phase, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<(String, String, Observed)> {
    let lab = ctx.lab;
    if let Some(cmd) = &st.run {
        let on = st.on.unwrap_or(Role::PdnsVm);
        let argv = ["/bin/bash", "-c", cmd.as_str()];
        let out = lab.engine.exec(&lab.name(on), &argv, st.user.as_deref(), EXEC_DEADLINE).await?;
        // Who ran it is part of what was run: the runbook's steps run as its operator.
        let action = st.user.as_ref().map_or_else(|| cmd.clone(), |u| format!("(as {u}) {cmd}"));
        return Ok((on.as_str().to_string(), action, Observed::Exec(out)));
    }
    if let Some(target) = &st.probe {
        // The authoritative is asked where its own settings make it listen (inside the VM when
        // only on loopback); everything else on port 53.
        let server = match target.as_str() {
            "recursor" => SocketAddr::from((lab.plan.recursor, 53)),
            "auth" => lab.plan.auth_at,
            "auth-public" => SocketAddr::from((lab.plan.vm_public, lab.plan.auth_public_port)),
            "internet" => SocketAddr::from((lab.plan.internet, 53)),
            other => SocketAddr::from((
                other.parse::<std::net::IpAddr>().map_err(|_| anyhow::anyhow!("probe target `{other}` is not recursor, auth, auth-public, internet or an address"))?,
                53,
            )),
        };
        let qname = st.qname.clone().unwrap_or_else(|| ".".into());
        let rtype = st.qtype.unwrap_or(RType::A);
        let mut q = match st.transport.unwrap_or(Transport::Udp) {
            Transport::Udp => Query::udp(server, &qname, rtype),
            Transport::Tcp => Query::tcp(server, &qname, rtype),
        };
        q = q.with_timeout(Duration::from_secs(2));
        let out = lab.probe(&q).await;
        let on = if crate::testbed::listen::inside_vm(q.server) { "pdns-vm" } else { "harness" };
        return Ok((on.into(), format!("{target}: {}", Lab::describe_probe(&q)), Observed::Probe(out)));
    }
    if let Some(c) = &st.copy {
        // A copy that fails is the harness failing (scp would have), never a symptom.
        let ((from, fp), (to, tp)) = crate::scenario::parse_copy(c).map_err(anyhow::Error::msg)?;
        let bytes = lab.engine.download(&lab.name(from), &fp).await.with_context(|| format!("copy {c}"))?;
        let n = bytes.len();
        put_file(lab, to, &tp, bytes).await.with_context(|| format!("copy {c}"))?;
        let out = crate::testbed::engine::ExecOutput { exit_code: Some(0), stdout: format!("{n} bytes copied"), stderr: String::new() };
        return Ok(("harness".into(), format!("copy {c}"), Observed::Exec(out)));
    }
    if let Some(j) = &st.journal {
        let (to, path) = crate::scenario::parse_end(j).map_err(anyhow::Error::msg)?;
        let text = journal_text(lab, &ctx.scenario.journal_rows);
        let rows = text.lines().filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit())).count();
        put_file(lab, to, &path, text.into_bytes()).await.with_context(|| format!("writing the journal to {j}"))?;
        let out = crate::testbed::engine::ExecOutput { exit_code: Some(0), stdout: format!("{rows} journal rows written"), stderr: String::new() };
        return Ok(("harness".into(), format!("journal → {j}"), Observed::Exec(out)));
    }
    if st.triage {
        let from = st.on.unwrap_or(Role::Workstation);
        let t = crate::testbed::triage_probes::from_host(lab, from).await?;
        let cmds = t.probes.iter().map(|p| p.command.clone()).collect::<Vec<_>>().join(" ; ");
        return Ok((from.as_str().to_string(), format!("first triage: {cmds}"), Observed::Triage(t.result)));
    }
    use crate::scenario::HarnessAction as A;
    let action = st.action.ok_or_else(|| anyhow::anyhow!("a step with nothing to do (the scenario loader admits none)"))?;
    let vm = lab.name(Role::PdnsVm);
    match action {
        A::StartVm => {
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
        }
        A::StopVm => lab.engine.stop(&vm, Duration::from_secs(20)).await?,
        A::RestartVm => {
            lab.engine.stop(&vm, Duration::from_secs(20)).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
        }
        A::RebuildVm | A::RebuildVmScratch => {
            // The old VM is gone: nothing of its faults remains to heal.
            injected.clear();
            let build = (st.suite.is_some() || st.recursor_settings.is_some()).then(|| {
                let now = lab.vm_build();
                crate::testbed::VmBuild {
                    image: st.suite.map(crate::testbed::image::suite_image).unwrap_or(now.image),
                    recursor_settings: st.recursor_settings.unwrap_or(now.recursor_settings),
                }
            });
            lab.recreate_vm(action == A::RebuildVm, build.clone()).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
            if st.from == Some(crate::scenario::RebuildFrom::Packages) {
                let out = from_packages(ctx, phase, st).await?;
                let what = format!("action: {} (from packages)", action.as_str());
                return Ok(("harness".into(), what, Observed::Exec(out)));
            }
            if let Some(b) = build {
                // What the rebuilt VM runs, as its package database says.
                let (pdns, rec) = lab.versions().await;
                let unknown = || "unknown".to_string();
                let out = crate::testbed::engine::ExecOutput {
                    exit_code: Some(0),
                    stdout: format!("{}: pdns-server {}, pdns-recursor {}", b.image, pdns.unwrap_or_else(unknown), rec.unwrap_or_else(unknown)),
                    stderr: String::new(),
                };
                let what = format!("action: {} (image {}, recursor settings {})", action.as_str(), b.image, b.recursor_settings.as_str());
                return Ok(("harness".into(), what, Observed::Exec(out)));
            }
        }
        A::AddJournalRows => {
            let zone = &lab.spec.zone.journal.zone;
            let mut lines = Vec::new();
            for r in &ctx.scenario.journal_rows {
                let argv = ["pdnsutil", "add-record", zone, &r.name, &r.rtype, &r.ttl.to_string(), &r.content];
                let o = lab.exec(Role::PdnsVm, &argv, EXEC_DEADLINE).await?;
                // The scenario's set-up, not a symptom: a row that does not go in is the
                // harness failing.
                if !o.success() {
                    anyhow::bail!("adding the scenario's journal rows: {} → {}", argv.join(" "), o.summary(300));
                }
                lines.push(format!("{} → {}", argv.join(" "), o.summary(120)));
            }
            let out = crate::testbed::engine::ExecOutput { exit_code: Some(0), stdout: lines.join("\n"), stderr: String::new() };
            return Ok(("pdns-vm".into(), format!("action: {} (pdnsutil add-record per journal row)", action.as_str()), Observed::Exec(out)));
        }
        A::WaitSteady => {
            lab.wait_steady_after(STEADY_AFTER_DEADLINE).await?;
        }
        A::Heal => {
            while let Some(i) = injected.pop() {
                fault::heal(lab, &i).await?;
            }
        }
        A::OverwritePages => {
            let (Some(file), Some(of)) = (st.file.as_deref(), st.of.as_deref()) else { anyhow::bail!("overwrite-pages without `file` and `of` (the scenario loader admits none)") };
            let (what, proof) = fault::overwrite_pages(lab, file, of).await?;
            let out = crate::testbed::engine::ExecOutput { exit_code: Some(0), stdout: proof, stderr: String::new() };
            return Ok(("pdns-vm".into(), format!("action: {} ({what})", action.as_str()), Observed::Exec(out)));
        }
        A::FixFile => {
            let out = fault::undo_edits(lab, injected).await?;
            let what = format!("action: {} (the operator's fix, modelled as the smallest edit that undoes the fault; nothing restarted)", action.as_str());
            return Ok(("harness".into(), what, Observed::Exec(out)));
        }
    }
    Ok(("harness".into(), format!("action: {}", action.as_str()), Observed::Done))
}

/// The fresh VM stripped to its base image (untimed), then the runbook's install and configs: the
/// rebuild's clock starts at the base image. An image that keeps no .debs leaves the VM with
/// its packages, and the timing not simulated.
async fn from_packages(ctx: &mut Ctx<'_>, phase: Phase, st: &Step) -> anyhow::Result<crate::testbed::engine::ExecOutput> {
    let lab = ctx.lab;
    let claims = ctx.scenario.step_claims(st).to_vec();
    let done = |stdout: String| crate::testbed::engine::ExecOutput { exit_code: Some(0), stdout, stderr: String::new() };
    let Some(kept) = lab.kept_debs().await? else {
        let why = format!(
            "the lab image {} keeps no PowerDNS .debs (built before the image build kept them, or from images/Dockerfile): the rebuilt VM came with the packages installed, so the rebuild could not be timed",
            lab.vm_build().image
        );
        for t in ctx.scenario.timings.iter().filter(|t| t.span == crate::scenario::TimingSpan::Rebuild) {
            ctx.parts_not_simulated.push((t.claim.clone(), Part::Timing, why.clone()));
        }
        return Ok(done(why));
    };
    let o = lab.strip_to_base(&kept).await?;
    let purge = format!("its configs put aside; apt-get purge {}; rm -rf /etc/powerdns", kept.closure.join(" "));
    ctx.note(phase, "pdns-vm", format!("the fresh VM stripped to the base image, before the clock starts (untimed): {purge}"), o.stdout.trim().to_string(), claims.clone());
    let base = ctx.ms();
    ctx.base_image_ms.get_or_insert(base);
    ctx.mirror_download_ms.get_or_insert(kept.download_ms);
    let t = Instant::now();
    let o = lab.install_kept(&kept).await?;
    let install_s = t.elapsed().as_secs_f64();
    ctx.note(phase, "pdns-vm", kept.install_command(), format!("{install_s:.1} s: {}", o.stdout.trim()), claims.clone());
    let t = Instant::now();
    let o = lab.restore_configs().await?;
    ctx.note(phase, "pdns-vm", "the configs dropped in (what the VM had under /etc/powerdns beyond the packages' own files); systemctl restart pdns-recursor pdns".into(), format!("{:.1} s: {}", t.elapsed().as_secs_f64(), o.stdout.trim()), claims);
    Ok(done(format!(
        "timed from the base image: install {install_s:.1} s, then the configs, the SQLite restore and settling until steady state; the packages' mirror download at image build ({}) is added",
        kept.describe()
    )))
}

async fn put_file(lab: &Lab, to: Role, path: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
    let dir = std::path::Path::new(path).parent().and_then(|p| p.to_str()).unwrap_or("/");
    let o = lab.exec(to, &["mkdir", "-p", dir], EXEC_DEADLINE).await?;
    anyhow::ensure!(o.success(), "mkdir -p {dir} on {}: {}", to.as_str(), o.summary(200));
    lab.engine.upload(&lab.name(to), &[crate::testbed::engine::FileEntry::file(path.to_string(), bytes)]).await
}

/// The lab's journal as the operators keep it, its addresses moved onto the testbed, with the
/// scenario's rows journaled after HEAD.
fn journal_text(lab: &Lab, rows: &[crate::scenario::JournalRow]) -> String {
    let j = lab.spec.zone.journal.map_content(&|e| lab.plan.map_text(&e.content));
    let rows: Vec<_> = rows.iter().map(|r| (r.name.clone(), r.rtype.clone(), r.content.clone(), r.ttl, r.note.clone())).collect();
    j.with_rows(&rows, time::OffsetDateTime::now_utc().date()).to_markdown()
}
