//! The lab by hand: the image built, a lab brought up (and kept) or taken down, the runbook's
//! first triage against a kept lab or any three addresses.

use super::{connect, ensure_image, open_session, stopped, zone_name, ImageArgs, LabArgs, TriageArgs};
use anyhow::Result;
use pdns_drill::dns::triage;
use pdns_drill::testbed::{self, kept::KeptLab, triage_probes};
use std::process::ExitCode;

pub async fn image_build(a: &ImageArgs) -> Result<ExitCode> {
    let engine = connect().await?;
    let t0 = std::time::Instant::now();
    let tag = ensure_image(&engine, a).await?;
    eprintln!("image {tag} ready in {:.1} s", t0.elapsed().as_secs_f64());
    println!("{tag}");
    Ok(ExitCode::SUCCESS)
}

pub async fn up(a: &LabArgs, check: bool) -> Result<ExitCode> {
    let session = open_session(a).await?;
    let run_id = testbed::new_run_id();
    let pb = super::Status::new("up");
    let t0 = std::time::Instant::now();
    let show = |m: &str| pb.set_message(m.to_string());
    // The VM, its stand-in internet and the workstation the triage runs from; the lab client
    // (a systemd of its own, and one for the workstation's app) is for scenarios.
    let (lab, settled) = match session.bring_up(&run_id, vec![testbed::Role::Workstation], !check, &show).await {
        Ok(Ok(up)) => up,
        Ok(Err(e)) => {
            pb.finish_and_clear();
            return Err(e);
        }
        Err(s) => {
            pb.finish_and_clear();
            return Ok(stopped(&s, "the lab was removed"));
        }
    };
    pb.finish_and_clear();
    if let Err(e) = settled {
        if check {
            lab.down().await.ok();
        } else {
            KeptLab::save(&lab)?;
            eprintln!("lab {run_id} left up for inspection; `pdns-drill down --run {run_id}` removes it");
        }
        eprint!("{e}");
        return Ok(ExitCode::from(1));
    }
    eprintln!("lab {run_id} at steady state in {:.1} s", t0.elapsed().as_secs_f64());
    let steady = pdns_drill::testbed::steady::check(&lab, pdns_drill::testbed::steady::Scope::EveryName).await;
    print!("{steady}");
    let tri = triage_probes::in_lab(&lab).await?;
    print_triage(&tri);
    if check {
        lab.down().await?;
    } else {
        KeptLab::save(&lab)?;
        let p = &lab.plan;
        println!(
            "\nlab {run_id} is up: recursor {} · authoritative {} · VM {} (public {}) · internet {}\n  \
             shell: docker exec -it {} bash\n  triage: pdns-drill triage\n  tear down: pdns-drill down --run {run_id}",
            p.recursor, p.auth, p.vm, p.vm_public, p.internet, lab.name(testbed::Role::PdnsVm)
        );
    }
    Ok(if steady.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub async fn down(run: Option<&str>, all: bool) -> Result<ExitCode> {
    let engine = connect().await?;
    let targets: Vec<String> = if all {
        engine.leftover_runs().await?
    } else {
        vec![match run {
            Some(r) => r.to_string(),
            None => KeptLab::load(None)?.run_id,
        }]
    };
    for r in &targets {
        let (c, n, v) = engine.sweep(Some(r)).await?;
        KeptLab::forget(r);
        eprintln!("run {r}: removed {c} container(s), {n} network(s), {v} volume(s)");
    }
    if all {
        let (c, n, v) = engine.sweep(None).await?;
        if c + n + v > 0 {
            eprintln!("unlabelled-run leftovers: removed {c} container(s), {n} network(s), {v} volume(s)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_triage(t: &triage_probes::TriageRun) {
    println!("\nFirst triage (runbook \"DNS is down\"):");
    for p in &t.probes {
        println!("  {:<9} {:<55} → {}", p.column, p.command, p.reply);
    }
    println!("{}", triage::render_table(&t.result.observation, t.result.row));
}

pub async fn triage(a: &TriageArgs) -> Result<ExitCode> {
    let t = match (a.recursor, a.auth, a.vm) {
        (Some(r), Some(au), Some(vm)) => {
            let zone = zone_name(a.zone_name.as_deref(), a.zone.as_deref())?;
            triage_probes::against(r, au, vm, &zone, a.vm_state_cmd.as_deref()).await?
        }
        _ => {
            let k = KeptLab::load(a.run.as_deref())?;
            let engine = connect().await?;
            k.triage(&engine).await?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t.result.to_json())?);
    } else {
        print_triage(&t);
    }
    Ok(if t.result.row == Some(triage::Row::Tri1) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
