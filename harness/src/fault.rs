//! Faults: each one injected for real into the lab and healed afterwards, whatever happened in
//! between. Acts only on this run's containers.

use crate::engine::ExecOutput;
use crate::scenario::Fault;
use crate::testbed::{Lab, Role};
use anyhow::{bail, Context, Result};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

/// What it takes to undo one injected fault.
#[derive(Debug, Clone)]
pub enum Undo {
    StartUnit(String),
    RestoreFile { on: Role, path: String, original: Option<String>, restart: Option<String> },
    Shell { on: Role, script: String },
    Remove(String),
    LinkUp(String),
    Reconnect { network: String, ip: std::net::Ipv4Addr },
    StartVm,
}

pub struct Injected {
    pub undo: Undo,
    /// What was done, for evidence.
    pub description: String,
}

async fn must(lab: &Lab, on: Role, script: &str) -> Result<ExecOutput> {
    let o = lab.sh(on, script, DEADLINE).await?;
    if !o.success() {
        bail!("`{script}` on {}: {}", on.as_str(), o.summary(300));
    }
    Ok(o)
}

/// The device holding `addr` on the VM.
async fn dev_of(lab: &Lab, addr: std::net::Ipv4Addr) -> Result<String> {
    let o = must(lab, Role::PdnsVm, &format!("ip -o -4 addr show | awk '$4 ~ /^{addr}\\// {{print $2; exit}}'")).await?;
    let dev = o.stdout.trim().to_string();
    if dev.is_empty() {
        bail!("no interface holds {addr} on the VM");
    }
    Ok(dev)
}

pub async fn inject(lab: &Lab, f: &Fault) -> Result<Injected> {
    let vm = Role::PdnsVm;
    Ok(match f {
        Fault::StopUnit { unit } => {
            must(lab, vm, &format!("systemctl stop {unit}")).await?;
            Injected { undo: Undo::StartUnit(unit.clone()), description: format!("systemctl stop {unit}") }
        }
        Fault::KillUnit { unit } => {
            must(lab, vm, &format!("systemctl kill -s KILL {unit}")).await?;
            Injected { undo: Undo::StartUnit(unit.clone()), description: format!("systemctl kill -s KILL {unit} (crash)") }
        }
        Fault::EditFile { on, path, append, set, replace, with, content, restart } => {
            let read = lab.exec(*on, &["cat", path], DEADLINE).await?;
            let original = read.success().then(|| read.stdout.clone());
            let old = original.clone().unwrap_or_default();
            let (new, what) = if let Some(a) = append {
                let a = lab.fill(a);
                (format!("{old}{}{a}\n", if old.ends_with('\n') || old.is_empty() { "" } else { "\n" }), format!("appended `{a}`"))
            } else if let Some(line) = set {
                let line = lab.fill(line);
                let key = line.split('=').next().unwrap_or("").trim().to_string();
                let mut found = false;
                let mut out: Vec<String> = old
                    .lines()
                    .map(|l| {
                        if l.split('=').next().is_some_and(|k| k.trim() == key) && !l.trim_start().starts_with('#') {
                            found = true;
                            line.clone()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                if !found {
                    out.push(line.clone());
                }
                (out.join("\n") + "\n", format!("set `{line}`"))
            } else if let (Some(r), Some(w)) = (replace, with) {
                let (r, w) = (lab.fill(r), lab.fill(w));
                if !old.contains(&r) {
                    bail!("edit-file {path}: `{r}` not found in the file");
                }
                (old.replace(&r, &w), format!("replaced `{r}` with `{w}`"))
            } else {
                let c = lab.fill(content.as_deref().unwrap_or(""));
                (c.clone(), "rewrote the file".to_string())
            };
            lab.engine.upload(&lab.name(*on), &[crate::engine::FileEntry::file(path.clone(), new)]).await?;
            if let Some(u) = restart {
                // The restart may fail: that is often the symptom under test.
                lab.sh(*on, &format!("systemctl restart {u}"), DEADLINE).await?;
            }
            Injected {
                undo: Undo::RestoreFile { on: *on, path: path.clone(), original, restart: restart.clone() },
                description: format!("{path} on {}: {what}{}", on.as_str(), restart.as_ref().map(|u| format!("; systemctl restart {u}")).unwrap_or_default()),
            }
        }
        Fault::Shell { on, inject, heal } => {
            let script = lab.fill(inject);
            must(lab, *on, &script).await?;
            Injected { undo: Undo::Shell { on: *on, script: lab.fill(heal) }, description: format!("on {}: {script}", on.as_str()) }
        }
        Fault::FillDisk { path } => {
            // dd stops at ENOSPC; that is the point.
            lab.sh(vm, &format!("dd if=/dev/zero of={path} bs=1M 2>/dev/null; sync; df -h $(dirname {path}) | tail -1"), DEADLINE).await?;
            Injected { undo: Undo::Remove(path.clone()), description: format!("filled the filesystem of {path} until ENOSPC") }
        }
        Fault::LinkDown { iface } => {
            let dev = match iface.as_str() {
                "lab" => dev_of(lab, lab.plan.vm).await?,
                "public" => dev_of(lab, lab.plan.vm_public).await?,
                other => other.to_string(),
            };
            must(lab, vm, &format!("ip link set {dev} down")).await?;
            Injected { undo: Undo::LinkUp(dev.clone()), description: format!("ip link set {dev} down (the VM's {iface} NIC)") }
        }
        Fault::Disconnect { network } => {
            let (net, ip) = match network.as_str() {
                "lab" => (lab.lab_net.clone(), lab.plan.vm),
                "public" => (lab.public_net.clone(), lab.plan.vm_public),
                other => bail!("disconnect: unknown network `{other}` (lab or public)"),
            };
            lab.engine.disconnect_network(&net, &lab.name(vm)).await?;
            Injected { undo: Undo::Reconnect { network: net, ip }, description: format!("docker network disconnect {network} pdns-vm") }
        }
        Fault::StopVm => {
            lab.engine.stop(&lab.name(vm), Duration::from_secs(20)).await?;
            Injected { undo: Undo::StartVm, description: "VM shut off (docker stop pdns-vm)".into() }
        }
        Fault::KillVm => {
            lab.engine.kill(&lab.name(vm)).await?;
            Injected { undo: Undo::StartVm, description: "VM died (docker kill -s KILL pdns-vm)".into() }
        }
    })
}

/// Undoes one fault; safe to call when the recovery already fixed things.
pub async fn heal(lab: &Lab, i: &Injected) -> Result<String> {
    let vm = Role::PdnsVm;
    Ok(match &i.undo {
        Undo::StartUnit(u) => {
            lab.sh(vm, &format!("systemctl reset-failed {u} 2>/dev/null; systemctl start {u}"), DEADLINE).await?.summary(200)
        }
        Undo::RestoreFile { on, path, original, restart } => {
            match original {
                Some(text) => lab.engine.upload(&lab.name(*on), &[crate::engine::FileEntry::file(path.clone(), text.clone())]).await?,
                None => {
                    lab.exec(*on, &["rm", "-f", path], DEADLINE).await?;
                }
            }
            if let Some(u) = restart {
                lab.sh(*on, &format!("systemctl reset-failed {u} 2>/dev/null; systemctl restart {u}"), DEADLINE).await?;
            }
            format!("restored {path}")
        }
        Undo::Shell { on, script } => must(lab, *on, script).await.context("healing")?.summary(200),
        Undo::Remove(path) => {
            lab.exec(vm, &["rm", "-f", path], DEADLINE).await?;
            format!("removed {path}")
        }
        Undo::LinkUp(dev) => {
            must(lab, vm, &format!("ip link set {dev} up; systemctl restart drill-provision")).await?;
            format!("ip link set {dev} up")
        }
        Undo::Reconnect { network, ip } => {
            if lab.state(vm).await == crate::engine::State::Running {
                lab.engine.connect_network(network, &lab.name(vm), Some(*ip), "pdns-vm").await.ok();
                // A new interface: the service addresses must be laid on it again.
                must(lab, vm, "systemctl restart drill-provision").await?;
            }
            format!("reconnected {network}")
        }
        Undo::StartVm => {
            if lab.state(vm).await != crate::engine::State::Running {
                lab.engine.start(&lab.name(vm)).await?;
            }
            "VM started".into()
        }
    })
}
