//! Runs scenarios: each on a lab of its own, steady state → faults → symptoms → recovery →
//! steady state → rollback, recording every observation with its time. Emits events; the CLI
//! and the report writer consume them. Nothing here prints or decides a verdict.

use crate::claims::ClaimId;
use crate::engine::Engine;
use crate::fault::{self, Injected};
use crate::matcher::{self, Observed};
use crate::probe::{self, Query, RType, Transport};
use crate::report::model::{Evidence, Phase, ScenarioOutcome, Timeline};
use crate::scenario::plan::Resolved;
use crate::scenario::{Scenario, Step};
use anyhow::Context as _;
use crate::testbed::config::{ConfigDir, ZoneInput};
use crate::testbed::{Lab, LabSpec, Role};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

/// One observation with the claims it bears on and, when it failed, why.
#[derive(Debug, Clone)]
pub struct Record {
    pub evidence: Evidence,
    pub claims: Vec<ClaimId>,
    pub mismatch: Option<String>,
}

/// A correction's run.
#[derive(Debug, Clone)]
pub struct CorrectionRun {
    pub claim: ClaimId,
    pub summary: String,
    pub records: Vec<Record>,
    pub verified: bool,
}

/// Everything a scenario left behind: the history the verdicts are read from.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub scenario: Scenario,
    pub records: Vec<Record>,
    pub timeline: Timeline,
    pub outcome: ScenarioOutcome,
    /// Why the harness could not carry it out.
    pub error: Option<String>,
    pub triage_row: Option<String>,
    pub corrections: Vec<CorrectionRun>,
    pub wall_ms: u64,
    pub lab_run_id: String,
    pub kept: bool,
    pub versions: (Option<String>, Option<String>),
    pub dropins: Vec<String>,
    /// The plan found this lab cannot run the scenario: why (its claims are not-simulated).
    pub not_simulated: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    ScenarioStarted { name: String },
    Progress { scenario: String, message: String },
    Observed { scenario: String, ok: bool, line: String },
    ScenarioFinished(Box<ScenarioRun>),
}

/// What every scenario's lab is built from.
#[derive(Clone)]
pub struct Inputs {
    pub engine: Engine,
    pub image: String,
    pub config: ConfigDir,
    pub zone: ZoneInput,
    pub run_id: String,
    pub keep_on_failure: bool,
}

const STEADY_AFTER_DEADLINE: Duration = Duration::from_secs(45);
const EXEC_DEADLINE: Duration = Duration::from_secs(60);

struct Ctx<'a> {
    lab: &'a Lab,
    scenario: &'a Scenario,
    t0: Instant,
    records: Vec<Record>,
    events: &'a UnboundedSender<Event>,
    step_no: u32,
    triage_row: Option<String>,
    /// The first heal that failed.
    heal_failed: Option<String>,
}

impl Ctx<'_> {
    fn ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    /// The one place observations enter the history.
    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, phase: Phase, on: &str, action: String, observed: String, expected: Option<String>, mismatch: Option<String>, claims: Vec<ClaimId>) -> bool {
        self.step_no += 1;
        let ok = mismatch.is_none();
        let e = Evidence { phase, step: self.step_no, on: on.to_string(), action, observed, expected, ok, at_ms: self.ms() };
        let _ = self.events.send(Event::Observed {
            scenario: self.scenario.name.clone(),
            ok,
            line: format!("{} step {}: {}", phase.as_str(), e.step, e.action),
        });
        self.records.push(Record { evidence: e, claims, mismatch });
        ok
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
    let mut run = ScenarioRun {
        scenario: scenario.clone(),
        records: Vec::new(),
        timeline: Timeline::default(),
        outcome: ScenarioOutcome::Errored,
        error: None,
        triage_row: None,
        corrections: Vec::new(),
        wall_ms: 0,
        lab_run_id: lab_run_id.clone(),
        kept: false,
        versions: (None, None),
        dropins: Vec::new(),
        not_simulated: match resolved {
            Resolved::NotSimulated(why) => Some(why.clone()),
            Resolved::Ready(_) => None,
        },
    };
    // A scenario that only declares what it cannot simulate, or that this lab cannot run,
    // needs no lab.
    if run.not_simulated.is_some() || (scenario.faults.is_empty() && scenario.symptoms.is_empty() && scenario.recovery.is_empty()) {
        run.outcome = if run.not_simulated.is_some() { ScenarioOutcome::NotSimulated } else { ScenarioOutcome::Held };
        let _ = events.send(Event::ScenarioFinished(Box::new(run.clone())));
        return run;
    }
    let spec = LabSpec { image: inputs.image.clone(), config: inputs.config.clone(), zone: inputs.zone.clone(), run_id: lab_run_id.clone() };
    let progress = |m: &str| {
        let _ = events.send(Event::Progress { scenario: scenario.name.clone(), message: m.to_string() });
    };
    let lab = match Lab::up(inputs.engine.clone(), spec, &progress).await {
        Ok(l) => l,
        Err(e) => {
            inputs.engine.sweep(Some(&lab_run_id)).await.ok();
            run.error = Some(format!("lab did not come up: {e:#}"));
            run.wall_ms = t0.elapsed().as_millis() as u64;
            let _ = events.send(Event::ScenarioFinished(Box::new(run.clone())));
            return run;
        }
    };
    run.dropins = lab.dropins();
    let bound = lab.bind(scenario);
    let mut ctx = Ctx { lab: &lab, scenario: &bound, t0, records: Vec::new(), events, step_no: 0, triage_row: None, heal_failed: None };
    let result = drive(&mut ctx, &mut run).await;
    run.records = std::mem::take(&mut ctx.records);
    run.triage_row = ctx.triage_row.take();
    if run.versions.0.is_none() {
        run.versions = lab.versions().await;
    }
    if let Err(e) = result {
        run.error = Some(format!("{e:#}"));
    } else if let Some(h) = ctx.heal_failed.take() {
        // A lab left with a fault in it proves nothing about what came after.
        run.error = Some(h);
    }
    run.outcome = if run.error.is_some() {
        ScenarioOutcome::Errored
    } else if run.records.iter().any(|r| r.mismatch.is_some()) {
        ScenarioOutcome::Deviated
    } else {
        ScenarioOutcome::Held
    };
    run.timeline.end_ms = t0.elapsed().as_millis() as u64;
    run.wall_ms = run.timeline.end_ms;
    if inputs.keep_on_failure && run.outcome != ScenarioOutcome::Held {
        run.kept = true;
    } else {
        lab.down().await.ok();
    }
    let _ = events.send(Event::ScenarioFinished(Box::new(run.clone())));
    run
}

/// The scenario proper. Faults are healed on every path out of here.
async fn drive(ctx: &mut Ctx<'_>, run: &mut ScenarioRun) -> anyhow::Result<()> {
    let s = ctx.scenario;
    ctx.progress("waiting for steady state");
    ctx.lab.wait_booted_lab().await?;
    let steady = ctx.lab.wait_steady(crate::testbed::STEADY_DEADLINE).await?;
    // The lab's own packages, before any step may rebuild the VM on others.
    run.versions = ctx.lab.versions().await;
    for c in &steady.checks {
        ctx.record(Phase::SteadyBefore, "harness", c.query.clone(), c.observed.clone(), Some(c.expected.to_string()), None, s.claims.clone());
    }
    let mut injected: Vec<Injected> = Vec::new();
    let body = async {
        ctx.progress("injecting faults");
        for f in &s.faults {
            let i = fault::inject(ctx.lab, f).await?;
            ctx.record(Phase::Inject, "pdns-vm", i.description.clone(), format!("in effect: {}", i.proof), None, None, s.claims.clone());
            injected.push(i);
        }
        run.timeline.fault_injected_ms = Some(ctx.ms());
        ctx.progress("checking symptoms");
        for st in &s.symptoms {
            let ok = step(ctx, Phase::Symptom, st, &mut injected).await?;
            if ok && run.timeline.first_symptom_ms.is_none() {
                run.timeline.first_symptom_ms = Some(ctx.ms());
            }
        }
        run.timeline.recovery_started_ms = Some(ctx.ms());
        ctx.progress("running the documented recovery");
        for st in &s.recovery {
            step(ctx, Phase::Recovery, st, &mut injected).await?;
        }
        if s.steady_after {
            ctx.progress("waiting for steady state again");
            let r = ctx.lab.wait_steady(STEADY_AFTER_DEADLINE).await;
            let claims = s.recovery_claims().to_vec();
            match r {
                Ok(_) => {
                    run.timeline.steady_ms = Some(ctx.ms());
                    ctx.record(Phase::SteadyAfter, "harness", "steady-state check".into(), "all checks hold".into(), Some("steady state".into()), None, claims);
                }
                Err(e) => {
                    let first = e.last.failing().first().map(|c| format!("✗ {} {} → {} (expected {})", c.name, c.query, c.observed, c.expected)).unwrap_or_else(|| "steady state not reached".into());
                    ctx.record(Phase::SteadyAfter, "harness", "steady-state check".into(), first.clone(), Some("steady state".into()), Some(format!("steady state after recovery: {first}")), claims);
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
        let cr = correction(ctx, c).await;
        run.corrections.push(cr);
    }
    Ok(())
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
        ctx.record(Phase::Rollback, "pdns-vm", format!("undo: {}", i.description), obs, None, None, vec![]);
    }
}

async fn correction(ctx: &mut Ctx<'_>, c: &crate::scenario::Correction) -> CorrectionRun {
    let first = ctx.records.len();
    let mut verified = true;
    let mut injected = Vec::new();
    let claims = vec![c.claim.clone()];
    let r: anyhow::Result<()> = async {
        // Faults are re-injected into a settled lab; without any, the correction starts where
        // the recovery left the lab (its steps may rebuild the VM first).
        if !ctx.scenario.faults.is_empty() {
            ctx.lab.wait_steady(STEADY_AFTER_DEADLINE).await?;
        }
        for f in &ctx.scenario.faults {
            let i = fault::inject(ctx.lab, f).await?;
            ctx.record(Phase::Correction, "pdns-vm", format!("re-inject: {}", i.description), format!("in effect: {}", i.proof), None, None, claims.clone());
            injected.push(i);
        }
        for st in &c.steps {
            verified &= step(ctx, Phase::Correction, st, &mut injected).await?;
        }
        anyhow::Ok(())
    }
    .await;
    rollback(ctx, &mut injected).await;
    if let Err(e) = r {
        verified = false;
        ctx.record(Phase::Correction, "harness", "correction".into(), format!("error: {e:#}"), None, Some(format!("correction errored: {e:#}")), claims.clone());
    }
    let steady = ctx.lab.wait_steady(STEADY_AFTER_DEADLINE).await.is_ok();
    verified &= steady;
    ctx.record(Phase::Correction, "harness", "steady-state check".into(), if steady { "all checks hold".into() } else { "not reached".into() }, Some("steady state".into()), (!steady).then(|| "steady state not reached after the correction".into()), claims);
    let records = ctx.records.drain(first..).collect();
    CorrectionRun { claim: c.claim.clone(), summary: c.summary.clone(), records, verified }
}

/// Runs one step, polling until its expectation holds or `within` passes. Returns whether it held.
async fn step(ctx: &mut Ctx<'_>, phase: Phase, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<bool> {
    let deadline = st.within.unwrap_or(Duration::ZERO);
    let start = Instant::now();
    loop {
        let (on, action, observed) = act(ctx, st, injected).await?;
        harness_failure(st, &action, &observed)?;
        let expect = &st.expect;
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
                    ctx.triage_row = Some(crate::triage::row_id(t.row).to_string());
                }
            }
            let text = observed_text(&observed);
            let label = match &st.note {
                Some(n) => format!("{action}  # {n}"),
                None => action,
            };
            ctx.record(phase, &on, label, text, expected, mismatch, claims);
            return Ok(holds);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the harness failed at, rather than what the daemons did: never judged as a symptom.
fn harness_failure(st: &Step, action: &str, o: &Observed) -> anyhow::Result<()> {
    match o {
        Observed::Exec(x) if x.exit_code.is_none() => anyhow::bail!("`{action}` did not finish within {} s (harness exec deadline)", EXEC_DEADLINE.as_secs()),
        Observed::Exec(x) if x.stderr.contains("Failed to connect to bus") => {
            anyhow::bail!("`{action}`: systemd in the container was not reachable ({})", x.summary(160))
        }
        Observed::Probe(crate::probe::Outcome::NetError(e)) if st.expect.outcome.as_deref() != Some("error") => {
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
                crate::triage::row_id(t.row)
            )
        }
        Observed::Done => "done".into(),
    }
}

async fn act(ctx: &mut Ctx<'_>, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<(String, String, Observed)> {
    let lab = ctx.lab;
    if let Some(cmd) = &st.run {
        let on = st.on.unwrap_or(Role::PdnsVm);
        let argv = ["/bin/bash", "-c", cmd.as_str()];
        let out = lab.engine.exec(&lab.name(on), &argv, st.user.as_deref(), EXEC_DEADLINE).await?;
        return Ok((on.as_str().to_string(), cmd.clone(), Observed::Exec(out)));
    }
    if let Some(target) = &st.probe {
        let addr = match target.as_str() {
            "recursor" => lab.plan.recursor,
            "auth" => lab.plan.auth,
            "auth-public" => lab.plan.vm_public,
            "internet" => lab.plan.internet,
            other => other.parse().map_err(|_| anyhow::anyhow!("probe target `{other}` is not recursor, auth, auth-public, internet or an address"))?,
        };
        let qname = st.qname.clone().unwrap_or_else(|| ".".into());
        let rtype = st.qtype.unwrap_or(RType::A);
        let mut q = match st.transport.unwrap_or(Transport::Udp) {
            Transport::Udp => Query::udp(SocketAddr::from((addr, 53)), &qname, rtype),
            Transport::Tcp => Query::tcp(SocketAddr::from((addr, 53)), &qname, rtype),
        };
        q = q.with_timeout(Duration::from_secs(2));
        let out = probe::probe(&q).await;
        return Ok(("harness".into(), format!("{target}: {}", q.describe()), Observed::Probe(out)));
    }
    if let Some(c) = &st.copy {
        // A copy that fails is the harness failing (scp would have), never a symptom.
        let ((from, fp), (to, tp)) = crate::scenario::parse_copy(c).map_err(anyhow::Error::msg)?;
        let bytes = lab.engine.download(&lab.name(from), &fp).await.with_context(|| format!("copy {c}"))?;
        let n = bytes.len();
        put_file(lab, to, &tp, bytes).await.with_context(|| format!("copy {c}"))?;
        let out = crate::engine::ExecOutput { exit_code: Some(0), stdout: format!("{n} bytes copied"), stderr: String::new() };
        return Ok(("harness".into(), format!("copy {c}"), Observed::Exec(out)));
    }
    if let Some(j) = &st.journal {
        let (to, path) = crate::scenario::parse_end(j).map_err(anyhow::Error::msg)?;
        let text = journal_text(lab, &ctx.scenario.journal_rows);
        let rows = text.lines().filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit())).count();
        put_file(lab, to, &path, text.into_bytes()).await.with_context(|| format!("writing the journal to {j}"))?;
        let out = crate::engine::ExecOutput { exit_code: Some(0), stdout: format!("{rows} journal rows written"), stderr: String::new() };
        return Ok(("harness".into(), format!("journal → {j}"), Observed::Exec(out)));
    }
    if st.triage {
        let t = crate::triage_probes::in_lab(lab).await?;
        let cmds = t.probes.iter().map(|p| p.command.clone()).collect::<Vec<_>>().join(" ; ");
        return Ok(("workstation".into(), format!("first triage: {cmds}"), Observed::Triage(t.result)));
    }
    let action = st.action.as_deref().unwrap_or("");
    let vm = lab.name(Role::PdnsVm);
    match action {
        "start-vm" => {
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
        }
        "stop-vm" => lab.engine.stop(&vm, Duration::from_secs(20)).await?,
        "restart-vm" => {
            lab.engine.stop(&vm, Duration::from_secs(20)).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
        }
        "rebuild-vm" | "rebuild-vm-scratch" => {
            // The old VM is gone: nothing of its faults remains to heal.
            injected.clear();
            let build = (st.suite.is_some() || st.recursor_settings.is_some()).then(|| {
                let now = lab.vm_build();
                crate::testbed::VmBuild {
                    image: st.suite.map(crate::image::suite_image).unwrap_or(now.image),
                    recursor_settings: st.recursor_settings.unwrap_or(now.recursor_settings),
                }
            });
            lab.recreate_vm(action == "rebuild-vm", build.clone()).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
            if let Some(b) = build {
                // What the rebuilt VM runs, as its package database says.
                let (pdns, rec) = lab.versions().await;
                let unknown = || "unknown".to_string();
                let out = crate::engine::ExecOutput {
                    exit_code: Some(0),
                    stdout: format!("{}: pdns-server {}, pdns-recursor {}", b.image, pdns.unwrap_or_else(unknown), rec.unwrap_or_else(unknown)),
                    stderr: String::new(),
                };
                let what = format!("action: {action} (image {}, recursor settings {})", b.image, b.recursor_settings.as_str());
                return Ok(("harness".into(), what, Observed::Exec(out)));
            }
        }
        "add-journal-rows" => {
            let zone = &lab.spec.zone.journal.zone;
            let mut lines = Vec::new();
            let mut code = 0;
            for r in &ctx.scenario.journal_rows {
                let argv = ["pdnsutil", "add-record", zone, &r.name, &r.rtype, &r.ttl.to_string(), &r.content];
                let o = lab.exec(Role::PdnsVm, &argv, EXEC_DEADLINE).await?;
                lines.push(format!("{} → {}", argv.join(" "), o.summary(120)));
                if !o.success() {
                    code = o.exit_code.unwrap_or(1);
                    break;
                }
            }
            let out = crate::engine::ExecOutput { exit_code: Some(code), stdout: lines.join("\n"), stderr: String::new() };
            return Ok(("pdns-vm".into(), format!("action: {action} (pdnsutil add-record per journal row)"), Observed::Exec(out)));
        }
        "wait-steady" => {
            lab.wait_steady(STEADY_AFTER_DEADLINE).await?;
        }
        "heal" => {
            while let Some(i) = injected.pop() {
                fault::heal(lab, &i).await?;
            }
        }
        other => anyhow::bail!("action `{other}` is not available in this runner"),
    }
    Ok(("harness".into(), format!("action: {action}"), Observed::Done))
}

async fn put_file(lab: &Lab, to: Role, path: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
    let dir = std::path::Path::new(path).parent().and_then(|p| p.to_str()).unwrap_or("/");
    let o = lab.exec(to, &["mkdir", "-p", dir], EXEC_DEADLINE).await?;
    anyhow::ensure!(o.success(), "mkdir -p {dir} on {}: {}", to.as_str(), o.summary(200));
    lab.engine.upload(&lab.name(to), &[crate::engine::FileEntry::file(path.to_string(), bytes)]).await
}

/// The lab's journal as the operators keep it, its addresses moved onto the testbed, with the
/// scenario's rows journaled after HEAD.
fn journal_text(lab: &Lab, rows: &[crate::scenario::JournalRow]) -> String {
    let j = lab.spec.zone.journal.map_content(&|e| lab.plan.map_text(&e.content));
    let rows: Vec<_> = rows.iter().map(|r| (r.name.clone(), r.rtype.clone(), r.content.clone(), r.ttl, r.note.clone())).collect();
    j.with_rows(&rows, time::OffsetDateTime::now_utc().date()).to_markdown()
}
