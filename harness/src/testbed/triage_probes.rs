//! Runs the runbook's four first-triage probes: in the testbed as written (dig and ping on the
//! operator workstation, the container's state as the libvirt column), or natively against any
//! lab given its addresses.

use crate::testbed::engine::{ExecOutput, State};
use crate::dns::probe::{self, Query, RType};
use crate::testbed::{Lab, Role};
use crate::dns::triage::{Observation, Reply, TriageResult, VmState};
use anyhow::Result;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One probe as run, for evidence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeRun {
    pub column: &'static str,
    pub command: String,
    pub output: String,
    pub reply: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TriageRun {
    pub result: TriageResult,
    pub probes: Vec<ProbeRun>,
}

const EXEC_DEADLINE: Duration = Duration::from_secs(15);

/// The runbook's probe commands, with the lab's placeholders filled in.
pub fn commands(recursor: IpAddr, auth: IpAddr, vm: IpAddr, zone: &str) -> [String; 3] {
    [
        format!("dig @{recursor} google.com A +short +time=2 +tries=1"),
        format!("dig @{auth} {zone} SOA +short +time=2 +tries=1"),
        format!("ping -c 2 -W 1 {vm}"),
    ]
}

/// Where the as-written triage runs: the workstation and the VM's container.
pub struct Site<'a> {
    pub engine: &'a crate::testbed::engine::Engine,
    pub workstation: String,
    pub vm_container: String,
    pub recursor: IpAddr,
    pub auth: IpAddr,
    pub vm: IpAddr,
    pub zone: String,
}

/// In the testbed, from the workstation, as written.
pub async fn in_lab(lab: &Lab) -> Result<TriageRun> {
    from_host(lab, Role::Workstation).await
}

/// In the testbed, from another lab host that has dig (the runbook allows any).
pub async fn from_host(lab: &Lab, from: Role) -> Result<TriageRun> {
    let p = &lab.plan;
    on_workstation(&Site {
        engine: &lab.engine,
        workstation: lab.name(from),
        vm_container: lab.name(Role::PdnsVm),
        recursor: p.recursor.into(),
        auth: p.auth.into(),
        vm: p.vm.into(),
        zone: lab.spec.zone.journal.zone.clone(),
    })
    .await
}

/// The four probes from a workstation container, the VM container's state as libvirt's column.
pub async fn on_workstation(site: &Site<'_>) -> Result<TriageRun> {
    let [rec_cmd, auth_cmd, ping_cmd] = commands(site.recursor, site.auth, site.vm, &site.zone);
    let run = |cmd: String| async move { site.engine.sh(&site.workstation, &cmd, EXEC_DEADLINE).await.map(|o| (cmd, o)) };
    let (rec, auth, ping) = tokio::try_join!(run(rec_cmd), run(auth_cmd), run(ping_cmd))?;
    let code = |o: &ExecOutput| o.exit_code.unwrap_or(-1);
    let recursor = Reply::from_dig(code(&rec.1), &rec.1.stdout);
    let auth_r = Reply::from_dig(code(&auth.1), &auth.1.stdout);
    let ping_r = Reply::from_ping(code(&ping.1));
    let state = site.engine.state(&site.vm_container).await;
    let vm = if state == State::Running { VmState::Running } else { VmState::Stopped };
    let probes = vec![
        probe_run("recursor", &rec.0, &rec.1, &recursor),
        probe_run("auth", &auth.0, &auth.1, &auth_r),
        probe_run("ping", &ping.0, &ping.1, &ping_r),
        ProbeRun {
            column: "libvirt",
            command: format!("docker inspect {} (stands in for `virsh list --all`)", site.vm_container),
            output: format!("{state:?}"),
            reply: vm.to_string(),
        },
    ];
    Ok(TriageRun { result: TriageResult::new(Observation { recursor, auth: auth_r, ping: ping_r, vm }), probes })
}

fn probe_run(column: &'static str, cmd: &str, o: &ExecOutput, r: &Reply) -> ProbeRun {
    ProbeRun { column, command: cmd.to_string(), output: o.summary(200), reply: r.label() }
}

/// Against any lab: native DNS probes and the host's ping; VM state from a command of the
/// operator's choice (exit 0 = running), or assumed running when none is given.
pub async fn against(recursor: IpAddr, auth: IpAddr, vm: IpAddr, zone: &str, vm_state_cmd: Option<&str>) -> Result<TriageRun> {
    let t = Duration::from_secs(2);
    let rq = Query::udp(SocketAddr::new(recursor, 53), "google.com.", RType::A).with_timeout(t);
    let aq = Query::udp(SocketAddr::new(auth, 53), &format!("{}.", zone.trim_end_matches('.')), RType::SOA).with_timeout(t);
    let (ro, ao) = tokio::join!(probe::probe(&rq), probe::probe(&aq));
    let ping = tokio::process::Command::new("ping").args(["-c", "2", "-W", "1", &vm.to_string()]).output().await;
    let ping_code = ping.as_ref().ok().and_then(|o| o.status.code()).unwrap_or(-1) as i64;
    let (vm_state, state_out) = match vm_state_cmd {
        Some(cmd) => {
            let o = tokio::process::Command::new("sh").args(["-c", cmd]).output().await?;
            (if o.status.success() { VmState::Running } else { VmState::Stopped }, format!("{} (exit {:?})", String::from_utf8_lossy(&o.stdout).trim(), o.status.code()))
        }
        None => (VmState::Running, "assumed running (no --vm-state-cmd)".to_string()),
    };
    let recursor_r = Reply::from_dns(&ro, true);
    let auth_r = Reply::from_dns(&ao, true);
    let ping_r = Reply::from_ping(ping_code);
    let probes = vec![
        ProbeRun { column: "recursor", command: rq.describe(), output: ro.summary(), reply: recursor_r.label() },
        ProbeRun { column: "auth", command: aq.describe(), output: ao.summary(), reply: auth_r.label() },
        ProbeRun { column: "ping", command: format!("ping -c 2 -W 1 {vm}"), output: format!("exit {ping_code}"), reply: ping_r.label() },
        ProbeRun { column: "libvirt", command: vm_state_cmd.unwrap_or("-").to_string(), output: state_out, reply: format!("{vm_state:?}").to_lowercase() },
    ];
    Ok(TriageRun {
        result: TriageResult::new(Observation { recursor: recursor_r, auth: auth_r, ping: ping_r, vm: vm_state }),
        probes,
    })
}
