//! One step of a scenario: what it does (a command as the runbook's user, a probe, a copy, a
//! journal edit, a triage, a harness action), polled until its expectation holds or its window
//! passes, and recorded with what the daemons did against what was expected.

use super::fault::{self, Injected};
use super::matcher::{self, Observed};
use super::record::Ctx;
use super::deadlines::STEADY_AFTER_DEADLINE;
use crate::claims::Part;
use crate::dns::probe::{Query, Transport};
use crate::history::Phase;
use crate::scenario::{end_text, Action, OutcomeWant, ProbeTarget, RowWant, Scenario, Step, StepTable};
use crate::testbed::engine::{ExecOutput, EXEC_DEADLINE};
use crate::testbed::{Lab, Role};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Runs one step, polling until its expectation holds or `within` passes. Returns whether it held.
pub(super) async fn step(ctx: &mut Ctx<'_>, phase: Phase, table: StepTable, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<bool> {
    let window = Window::open(st);
    loop {
        let (on, action, observed) = act(ctx, phase, st, injected).await?;
        // What the harness could not ask yet (a VM still booting) is asked again while the
        // step's window lasts; only at its end is it the harness failing.
        if let Err(e) = harness_failure(st, &action, &observed) {
            if window.over() {
                return Err(e);
            }
            window.next().await;
            continue;
        }
        // `row = "as-landed"`: the row the scenario's first triage under the fault landed on
        // (the same probes from another host must agree with it, whatever it is on this lab).
        let landed;
        let expect = match st.expect.row {
            Some(RowWant::AsLanded) => {
                let row = ctx.triage_row.clone().ok_or_else(|| anyhow::anyhow!("`row = \"as-landed\"` with no triage taken before it under the fault"))?;
                let row = RowWant::try_from(row).map_err(anyhow::Error::msg)?;
                landed = crate::scenario::Expect { row: Some(row), ..st.expect.clone() };
                &landed
            }
            _ => &st.expect,
        };
        let verdict = matcher::check(expect, &observed);
        let holds = verdict.is_ok();
        if holds || window.over() {
            let mut claims = ctx.scenario.step_claims(st).to_vec();
            if matches!(phase, Phase::Correction) {
                claims.clear();
            }
            let expected = (!expect.is_empty()).then(|| matcher::describe(expect));
            let mismatch = verdict.err().map(|m| {
                let what = st.note.clone().unwrap_or_else(|| match &observed {
                    Observed::Probe(_) => match &st.action {
                        Action::Probe(p) => format!("{} probe", p.target),
                        _ => "dns probe".into(),
                    },
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
        window.next().await;
    }
}

/// A step's window: how long its expectation is asked for and how often. The one polling rule
/// for scenarios and chaos's follower.
pub(crate) struct Window {
    start: Instant,
    within: Duration,
    probe: bool,
}

impl Window {
    pub(crate) fn open(st: &Step) -> Window {
        Window { start: Instant::now(), within: st.within.unwrap_or(Duration::ZERO), probe: matches!(st.action, Action::Probe(_)) }
    }

    /// The window has passed: what was observed last is what the step observed.
    pub(crate) fn over(&self) -> bool {
        self.start.elapsed() >= self.within
    }

    /// Waits until the expectation is asked again.
    pub(crate) async fn next(&self) {
        tokio::time::sleep(poll_interval(self.probe, self.start.elapsed())).await
    }
}

/// How long to wait before asking again. A probe from the harness costs a datagram; a command
/// costs processes in the container (and, through its console, the engine's stream), and the
/// CPU a waiting scenario takes is a boot's, so commands are asked less often the longer the
/// wait (a held expectation is seen at most one interval late: 0.2 s in the first 2 s, 1 s
/// after 10 s).
fn poll_interval(probe: bool, waited: Duration) -> Duration {
    let ms = match waited.as_secs() {
        _ if probe => 200,
        0..2 => 200,
        2..10 => 500,
        _ => 1000,
    };
    Duration::from_millis(ms)
}

/// What the harness failed at, rather than what the daemons did: never judged as a symptom.
fn harness_failure(st: &Step, action: &str, o: &Observed) -> anyhow::Result<()> {
    match o {
        Observed::Exec(x) => exec_failed(action, x),
        Observed::Probe(crate::dns::probe::Outcome::NetError(e)) if st.expect.outcome != Some(OutcomeWant::Error) => {
            anyhow::bail!("{action}: the probe itself failed on this host: {e}")
        }
        _ => Ok(()),
    }
}

/// The harness failing at a command, not the daemons: past the exec's deadline, or systemd in
/// the container unreachable. Chaos's follower judges its commands by the same rule.
pub(crate) fn exec_failed(action: &str, x: &ExecOutput) -> anyhow::Result<()> {
    if x.exit_code.is_none() {
        anyhow::bail!("`{action}` did not finish within {} s (harness exec deadline)", EXEC_DEADLINE.as_secs());
    }
    if x.stderr.contains("Failed to connect to bus") {
        anyhow::bail!("`{action}`: systemd in the container was not reachable ({})", x.summary(160));
    }
    Ok(())
}

/// A `run` step as the runbook wrote it, on its container and as the user it names: where it
/// ran, what ran (the user included: who ran it is part of what was run) and what came back.
/// The one way a runbook command reaches a lab, for scenarios and chaos alike.
pub(crate) async fn run_as_written(lab: &Lab, cmd: &str, on: Role, user: Option<&str>) -> anyhow::Result<(String, ExecOutput)> {
    let out = lab.engine.exec(&lab.name(on), &["/bin/bash", "-c", cmd], user, EXEC_DEADLINE).await?;
    let action = user.map_or_else(|| cmd.to_string(), |u| format!("(as {u}) {cmd}"));
    Ok((action, out))
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
    let vm = lab.name(Role::PdnsVm);
    let done = |stdout: String| Observed::Exec(ExecOutput { exit_code: Some(0), stdout, stderr: String::new() });
    match &st.action {
        Action::Run { command, on, user } => {
            let (action, out) = run_as_written(lab, command, *on, user.as_deref()).await?;
            Ok((on.as_str().to_string(), action, Observed::Exec(out)))
        }
        Action::Probe(p) => {
            // The authoritative is asked where its own settings make it listen (inside the VM
            // when only on loopback); everything else on port 53.
            let server = match &p.target {
                ProbeTarget::Recursor => SocketAddr::from((lab.plan.recursor, 53)),
                ProbeTarget::Auth => lab.plan.auth_at,
                ProbeTarget::AuthPublic => SocketAddr::from((lab.plan.vm_public, lab.plan.auth_public_port)),
                ProbeTarget::Internet => SocketAddr::from((lab.plan.internet, 53)),
                ProbeTarget::Address(a) => SocketAddr::from((*a, 53)),
                ProbeTarget::Unfilled(t) => anyhow::bail!("probe target {t} was not filled by the plan (the scenario is bound before it runs)"),
            };
            let q = match p.transport {
                Transport::Udp => Query::udp(server, &p.qname, p.qtype),
                Transport::Tcp => Query::tcp(server, &p.qname, p.qtype),
            }
            .with_timeout(Duration::from_secs(2));
            let out = lab.probe(&q).await;
            let on = if crate::testbed::listen::inside_vm(q.server) { "pdns-vm" } else { "harness" };
            Ok((on.into(), format!("{}: {}", p.target, Lab::describe_probe(&q)), Observed::Probe(out)))
        }
        Action::Copy { from, to } => {
            // A copy that fails is the harness failing (scp would have), never a symptom.
            let what = format!("copy {} -> {}", end_text(from), end_text(to));
            let bytes = lab.engine.download(&lab.name(from.0), &from.1).await.with_context(|| what.clone())?;
            let n = bytes.len();
            put_file(lab, to.0, &to.1, bytes).await.with_context(|| what.clone())?;
            Ok(("harness".into(), what, done(format!("{n} bytes copied"))))
        }
        Action::Journal { to } => {
            let at = end_text(to);
            let text = journal_text(lab, &ctx.scenario.journal_rows);
            let rows = text.lines().filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit())).count();
            put_file(lab, to.0, &to.1, text.into_bytes()).await.with_context(|| format!("writing the journal to {at}"))?;
            Ok(("harness".into(), format!("journal → {at}"), done(format!("{rows} journal rows written"))))
        }
        Action::Triage { from } => {
            let t = crate::testbed::triage_probes::from_host(lab, *from).await?;
            let cmds = t.probes.iter().map(|p| p.command.clone()).collect::<Vec<_>>().join(" ; ");
            Ok((from.as_str().to_string(), format!("first triage: {cmds}"), Observed::Triage(t.result)))
        }
        Action::StartVm => {
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
            Ok(harness_done(&st.action))
        }
        Action::StopVm => {
            lab.engine.stop(&vm, Duration::from_secs(20)).await?;
            Ok(harness_done(&st.action))
        }
        Action::RestartVm => {
            lab.engine.stop(&vm, Duration::from_secs(20)).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
            Ok(harness_done(&st.action))
        }
        Action::Rebuild(r) => {
            let name = st.action.harness_action().map_or("rebuild", |a| a.as_str());
            // The old VM is gone: nothing of its faults remains to heal.
            injected.clear();
            let build = (r.suite.is_some() || r.recursor_settings.is_some()).then(|| {
                let now = lab.vm_build();
                crate::testbed::VmBuild {
                    image: r.suite.map(crate::testbed::image::suite_image).unwrap_or(now.image),
                    recursor_settings: r.recursor_settings.unwrap_or(now.recursor_settings),
                }
            });
            lab.recreate_vm(r.keep_disk, build.clone()).await?;
            lab.engine.start(&vm).await?;
            lab.wait_booted(Role::PdnsVm).await?;
            if r.from == crate::scenario::RebuildFrom::Packages {
                let out = from_packages(ctx, phase, st).await?;
                return Ok(("harness".into(), format!("action: {name} (from packages)"), Observed::Exec(out)));
            }
            let Some(b) = build else { return Ok(harness_done(&st.action)) };
            // What the rebuilt VM runs, as its package database says.
            let (pdns, rec) = lab.versions().await;
            let unknown = || "unknown".to_string();
            let out = done(format!("{}: pdns-server {}, pdns-recursor {}", b.image, pdns.unwrap_or_else(unknown), rec.unwrap_or_else(unknown)));
            Ok(("harness".into(), format!("action: {name} (image {}, recursor settings {})", b.image, b.recursor_settings.as_str()), out))
        }
        Action::AddJournalRows => {
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
            Ok(("pdns-vm".into(), "action: add-journal-rows (pdnsutil add-record per journal row)".into(), done(lines.join("\n"))))
        }
        Action::WaitSteady => {
            lab.wait_steady_after(STEADY_AFTER_DEADLINE).await?;
            Ok(harness_done(&st.action))
        }
        Action::Heal => {
            while let Some(i) = injected.pop() {
                fault::heal(lab, &i).await?;
            }
            Ok(harness_done(&st.action))
        }
        Action::OverwritePages { file, of } => {
            let (what, proof) = fault::overwrite_pages(lab, file, of).await?;
            Ok(("pdns-vm".into(), format!("action: overwrite-pages ({what})"), done(proof)))
        }
        Action::FixFile => {
            let out = fault::undo_edits(lab, injected).await?;
            let what = "action: fix-file (the operator's fix, modelled as the smallest edit that undoes the fault; nothing restarted)";
            Ok(("harness".into(), what.into(), Observed::Exec(out)))
        }
    }
}

/// A harness action that finished, as the history names it.
fn harness_done(a: &Action) -> (String, String, Observed) {
    let name = a.harness_action().map_or("?", |h| h.as_str());
    ("harness".into(), format!("action: {name}"), Observed::Done)
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

