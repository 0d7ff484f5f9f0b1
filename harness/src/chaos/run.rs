//! One chaos run on a fresh lab: steady state, the drawn faults (each proven in effect), the
//! runbook followed, the zone asked record by record, every fault healed, steady state again,
//! the lab torn down and its resources counted. What happened is recorded as a [`ChaosRun`];
//! the properties are judged from it afterwards.

use super::follow::{self, Playbook};
use super::generator::{self, Drawn};
use crate::testbed::engine::Engine;
use crate::runner::fault::{self, Injected};
use crate::scenario::facts::LabFacts;
use crate::scenario::plan::{self, Resolved};
use crate::testbed::{Lab, LabSpec};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// What every run's lab is built from, and the lab's facts and procedures.
#[derive(Clone)]
pub struct Ctx {
    pub lab: crate::runner::Inputs,
    pub facts: LabFacts,
    /// The playbook with this lab's facts filled in.
    pub playbook: Playbook,
}

/// The zone as the authoritative answered it after the follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneSeen {
    pub rrsets_asked: usize,
    pub rrsets_matching: usize,
    /// Journal records not answered: `name TYPE data`.
    pub missing: Vec<String>,
    pub soa_ok: bool,
    pub soa_answered: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealSeen {
    pub fault: String,
    pub ok: bool,
    pub output: String,
}

/// The history of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChaosRun {
    pub seed: u64,
    pub faults: Vec<Drawn>,
    /// The faults in one line, gaps included.
    pub labels: String,
    pub lab_run_id: String,
    /// The harness could not carry the run out (a lab that did not settle, a fault that did
    /// not take effect): no property but the last is judged.
    pub error: Option<String>,
    /// The lab cannot take one of the faults (the plan's reason).
    pub not_simulated: Option<String>,
    /// Each fault as injected, with how it was seen to be in effect.
    pub injected: Vec<String>,
    /// Steady-state checks failing right after the faults.
    pub under_fault: Vec<String>,
    pub path: Option<follow::Path>,
    /// None: the authoritative did not answer its SOA after the follow (or no follow).
    pub zone: Option<ZoneSeen>,
    pub heals: Vec<HealSeen>,
    /// After every heal: the failing steady-state checks (empty: it held); None when not checked.
    pub steady_after_heal: Option<Vec<String>>,
    /// This run's containers, networks and volumes still there after teardown; None: not counted.
    pub leftovers: Option<Vec<String>>,
    pub wall_ms: u64,
}

impl ChaosRun {
    fn new(seed: u64, seq: &[Drawn], lab_run_id: &str) -> ChaosRun {
        ChaosRun {
            seed,
            faults: seq.to_vec(),
            labels: generator::labels(seq),
            lab_run_id: lab_run_id.to_string(),
            error: None,
            not_simulated: None,
            injected: vec![],
            under_fault: vec![],
            path: None,
            zone: None,
            heals: vec![],
            steady_after_heal: None,
            leftovers: None,
            wall_ms: 0,
        }
    }
}

/// Runs `seq` on a lab of its own named `lab_run_id`.
pub async fn run(ctx: &Ctx, seed: u64, seq: &[Drawn], lab_run_id: &str, progress: &(dyn Fn(&str) + Sync)) -> ChaosRun {
    let t0 = Instant::now();
    let mut run = ChaosRun::new(seed, seq, lab_run_id);
    let template = generator::scenario(&format!("chaos-{seed}"), seq);
    let resolved = match plan::resolve(&template, &ctx.facts) {
        Resolved::Ready(s) => *s,
        Resolved::NotSimulated(why) => {
            run.not_simulated = Some(why);
            return run;
        }
    };
    let engine = &ctx.lab.engine;
    let spec = LabSpec { image: ctx.lab.image.clone(), config: ctx.lab.config.clone(), zone: ctx.lab.zone.clone(), run_id: lab_run_id.to_string(), roles: vec![crate::testbed::Role::Workstation] };
    let lab = match Lab::up(engine.clone(), spec, progress).await {
        Ok(l) => l,
        Err(e) => {
            engine.sweep(Some(lab_run_id)).await.ok();
            run.error = Some(format!("lab did not come up: {e:#}"));
            run.leftovers = leftovers(engine, lab_run_id).await.ok();
            run.wall_ms = t0.elapsed().as_millis() as u64;
            return run;
        }
    };
    let bound = lab.bind(&resolved);
    let book = ctx.playbook.bind(&lab);
    let mut injected: Vec<Injected> = Vec::new();
    let body = async {
        progress("waiting for steady state");
        lab.wait_booted_lab().await?;
        lab.wait_steady_asking(crate::testbed::STEADY_DEADLINE, crate::testbed::steady::Scope::OneName).await.map_err(|e| anyhow::anyhow!("the lab did not reach steady state before any fault: {e}"))?;
        progress("injecting faults");
        for f in &bound.scenario.faults {
            let i = fault::inject(&lab, f).await?;
            run.injected.push(format!("{} — {}", i.description, i.proof));
            injected.push(i);
        }
        run.under_fault = follow::still_failing(&lab, &crate::testbed::steady::check(&lab, crate::testbed::steady::Scope::EveryName).await).await;
        progress("following the runbook");
        run.path = Some(follow::follow(&lab, &book, t0).await?);
        progress("asking the authoritative for every journal record");
        run.zone = zone_seen(&lab).await;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = body {
        run.error = Some(format!("{e:#}"));
    }
    progress("healing every fault");
    while let Some(i) = injected.pop() {
        let (ok, output) = match fault::heal(&lab, &i).await {
            Ok(o) => (true, o),
            Err(e) => (false, format!("{e:#}")),
        };
        run.heals.push(HealSeen { fault: i.description.clone(), ok, output });
    }
    if run.heals.iter().all(|h| h.ok) && !run.heals.is_empty() {
        run.steady_after_heal = Some(match lab.wait_steady_after(follow::RECOVERY_BOUND).await {
            Ok(_) => vec![],
            Err(e) => follow::still_failing(&lab, &e.last).await,
        });
    }
    progress("tearing the lab down");
    lab.down().await.ok();
    run.leftovers = leftovers(engine, lab_run_id).await.ok();
    run.wall_ms = t0.elapsed().as_millis() as u64;
    run
}

/// Every journal record asked of the authoritative, when it answers at all.
async fn zone_seen(lab: &Lab) -> Option<ZoneSeen> {
    let journal = lab.spec.zone.journal.map_content(&|e| lab.plan.map_text(&e.content));
    crate::drill::restore::wait_answering(lab, &journal.zone, Duration::from_secs(3)).await?;
    let w = crate::drill::restore::compare_over_wire(lab, &journal).await;
    Some(ZoneSeen { rrsets_asked: w.rrsets_asked, rrsets_matching: w.rrsets_matching, missing: w.missing, soa_ok: w.soa_ok, soa_answered: w.soa_answered })
}

/// Containers, networks and volumes labelled with `run_id`, by kind and name.
pub async fn leftovers(engine: &Engine, run_id: &str) -> anyhow::Result<Vec<String>> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{}={run_id}", crate::testbed::engine::LABEL)])]);
    let d = engine.docker();
    let mut out = Vec::new();
    for c in d.list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build())).await? {
        out.push(format!("container {}", c.names.unwrap_or_default().join(",").trim_start_matches('/')));
    }
    for n in d.list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build())).await? {
        out.push(format!("network {}", n.name.unwrap_or_default()));
    }
    for v in d.list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filters).build())).await?.volumes.unwrap_or_default() {
        out.push(format!("volume {}", v.name));
    }
    Ok(out)
}
