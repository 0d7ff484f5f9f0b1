//! One step of a scenario: what it does (a command as the runbook's user, a probe, a copy, a
//! journal edit, a triage, a harness action), polled until its expectation holds or its window
//! passes, and recorded with what the daemons did against what was expected.

use super::fault::{self, Injected};
use super::matcher::{self, Observed};
use super::record::Ctx;
use super::deadlines::STEADY_AFTER_DEADLINE;
use crate::claims::Part;
use crate::dns::probe::{Query, RType, Transport};
use crate::history::Phase;
use crate::scenario::{Scenario, Step, StepTable, AS_LANDED};
use crate::testbed::engine::{ExecOutput, EXEC_DEADLINE};
use crate::testbed::{Lab, Role};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Runs one step, polling until its expectation holds or `within` passes. Returns whether it held.
pub(super) async fn step(ctx: &mut Ctx<'_>, phase: Phase, table: StepTable, st: &Step, injected: &mut Vec<Injected>) -> anyhow::Result<bool> {
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
        Observed::Exec(x) => exec_failed(action, x),
        Observed::Probe(crate::dns::probe::Outcome::NetError(e)) if st.expect.outcome.as_deref() != Some("error") => {
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
pub(crate) async fn run_as_written(lab: &Lab, st: &Step, cmd: &str) -> anyhow::Result<(Role, String, ExecOutput)> {
    let on = st.on.unwrap_or(Role::PdnsVm);
    let out = lab.engine.exec(&lab.name(on), &["/bin/bash", "-c", cmd], st.user.as_deref(), EXEC_DEADLINE).await?;
    let action = st.user.as_ref().map_or_else(|| cmd.to_string(), |u| format!("(as {u}) {cmd}"));
    Ok((on, action, out))
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
        let (on, action, out) = run_as_written(lab, st, cmd).await?;
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

