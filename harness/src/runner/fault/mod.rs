//! Faults: each one injected for real into the lab, proven to have taken effect, and healed
//! afterwards whatever happened in between. Acts only on this run's containers. The scenario
//! is already bound to the lab: nothing here fills placeholders.

use crate::testbed::engine::{ExecOutput, State};
use crate::scenario::Fault;
use crate::testbed::{Lab, Role};
use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

mod files;
mod pages;
mod setting;

pub use files::undo_edits;
pub use pages::overwrite_pages;
use files::{read_back, read_original, write_like};
use setting::inject_setting;

use crate::testbed::engine::EXEC_DEADLINE as DEADLINE;
/// How long a fault may take to show (a unit to stop, a PID to vanish, a rule to list).
const PROOF_WINDOW: Duration = Duration::from_secs(10);

/// A fault that was injected but cannot be shown to be in place: the scenario is errored,
/// never judged on symptoms of a fault that is not there.
#[derive(Debug, thiserror::Error)]
#[error("fault did not take effect: {0}")]
pub struct NotInEffect(pub String);

/// What it takes to undo one injected fault.
#[derive(Debug, Clone)]
pub enum Undo {
    StartUnit(String),
    /// Files as they were (None: the file did not exist), then an optional unit restart.
    RestoreFiles { on: Role, files: Vec<(String, Option<Original>)>, restart: Option<String> },
    Shell { on: Role, script: String },
    Remove(String),
    LinkUp(String),
    Reconnect { network: String, ip: std::net::Ipv4Addr },
    StartVm,
}

/// A file's bytes and metadata before the harness touched it.
#[derive(Debug, Clone)]
pub struct Original {
    pub bytes: Vec<u8>,
    /// `stat -c '%a %u %g'`.
    pub mode_owner: String,
}

pub struct Injected {
    pub undo: Undo,
    /// What was done, for evidence.
    pub description: String,
    /// How the harness saw that the fault is in place.
    pub proof: String,
}

async fn must(lab: &Lab, on: Role, script: &str) -> Result<ExecOutput> {
    lab.sh_ok(on, script, DEADLINE).await.with_context(|| format!("`{script}`"))
}

/// Polls `check` until it returns Ok or the proof window closes; the last reason otherwise.
async fn prove<F, Fut>(mut check: F) -> Result<String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<std::result::Result<String, String>>>,
{
    let start = tokio::time::Instant::now();
    loop {
        match check().await? {
            Ok(proof) => return Ok(proof),
            Err(why) if start.elapsed() >= PROOF_WINDOW => return Err(NotInEffect(why).into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
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

/// The injected fault, or (its proof failed) the fault healed and the error.
async fn settle(lab: &Lab, undo: Undo, description: String, proof: Result<String>) -> Result<Injected> {
    match proof {
        Ok(proof) => Ok(Injected { undo, description, proof }),
        Err(e) => {
            heal(lab, &Injected { undo, description: description.clone(), proof: String::new() }).await.ok();
            Err(e.context(description))
        }
    }
}

/// Injects `f` and proves it took effect. On a failed proof the fault is healed and the error
/// is a [`NotInEffect`].
pub async fn inject(lab: &Lab, f: &Fault) -> Result<Injected> {
    let vm = Role::PdnsVm;
    let injected = match f {
        Fault::StopUnit { unit } => {
            must(lab, vm, &format!("systemctl stop {unit}")).await?;
            Injected { undo: Undo::StartUnit(unit.clone()), description: format!("systemctl stop {unit}"), proof: String::new() }
        }
        Fault::KillUnit { unit } => {
            let pid = must(lab, vm, &format!("systemctl show -p MainPID --value {unit}")).await?.stdout.trim().to_string();
            if pid.is_empty() || pid == "0" {
                return Err(NotInEffect(format!("{unit} has no main process to kill")).into());
            }
            must(lab, vm, &format!("systemctl kill -s KILL {unit}")).await?;
            let proof = prove(|| async {
                let o = lab.sh(vm, &format!("kill -0 {pid} 2>/dev/null && echo alive || echo gone"), DEADLINE).await?;
                Ok(if o.stdout.trim() == "gone" { Ok(format!("PID {pid} of {unit} is gone")) } else { Err(format!("PID {pid} of {unit} still runs")) })
            })
            .await?;
            return Ok(Injected { undo: Undo::StartUnit(unit.clone()), description: format!("systemctl kill -s KILL {unit} (crash)"), proof });
        }
        Fault::EditFile { on, path, append, set, replace, with, content, restart } => {
            let orig = read_original(lab, *on, path).await?;
            let old = orig.as_ref().map(|o| String::from_utf8_lossy(&o.bytes).into_owned()).unwrap_or_default();
            let (new, what) = if let Some(a) = append {
                (format!("{old}{}{a}\n", if old.ends_with('\n') || old.is_empty() { "" } else { "\n" }), format!("appended `{a}`"))
            } else if let Some(line) = set {
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
                if !old.contains(r.as_str()) {
                    return Err(NotInEffect(format!("edit-file {path}: `{r}` not found in the file")).into());
                }
                (old.replace(r.as_str(), w), format!("replaced `{r}` with `{w}`"))
            } else {
                (content.clone().unwrap_or_default(), "rewrote the file".to_string())
            };
            write_like(lab, *on, path, new.clone().into_bytes(), orig.as_ref()).await?;
            let undo = Undo::RestoreFiles { on: *on, files: vec![(path.clone(), orig)], restart: restart.clone() };
            let description = format!("{path} on {}: {what}{}", on.as_str(), restart.as_ref().map(|u| format!("; systemctl restart {u}")).unwrap_or_default());
            let proof = read_back(lab, *on, path, new.as_bytes()).await;
            if let Some(u) = restart {
                // The restart may fail: that is often the symptom under test.
                lab.sh(*on, &format!("systemctl restart {u}"), DEADLINE).await?;
            }
            Injected { undo, description, proof: proof? }
        }
        Fault::Setting { daemon, key, restart, target, .. } => {
            let t = target.as_ref().ok_or_else(|| anyhow!("setting fault on {key} was not planned (no target file)"))?;
            let edit = f.setting_edit().ok_or_else(|| anyhow!("setting fault on {key}: no edit"))?;
            return inject_setting(lab, *daemon, key, &edit, *restart, t).await;
        }
        Fault::Shell { on, inject, heal, proof } => {
            must(lab, *on, inject).await?;
            Injected { undo: Undo::Shell { on: *on, script: heal.clone() }, description: format!("on {}: {inject}", on.as_str()), proof: proof.clone().unwrap_or_default() }
        }
        Fault::OverwritePages { file, of, unit, while_running } => {
            let name = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or("db");
            // One copy per injection: a second overwrite's heal puts back the first's damage,
            // and the first's heal the file as it was.
            let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let pristine = format!("/root/pdns-drill-pristine-{name}-{stamp}");
            if !while_running {
                must(lab, vm, &format!("systemctl stop {unit}")).await?;
            }
            // Taken with the daemon stopped when it will be (a consistent copy); the -wal and
            // -shm go at the heal, as a restore of the file alone leaves them.
            let undo = Undo::Shell {
                on: vm,
                script: format!("systemctl stop {unit}; cp -a '{pristine}' '{file}' && rm -f '{file}-wal' '{file}-shm' && systemctl reset-failed {unit}; systemctl start {unit}"),
            };
            let r = match must(lab, vm, &format!("cp -a '{file}' '{pristine}'")).await {
                Ok(_) => overwrite_pages(lab, file, of).await,
                Err(e) => Err(e),
            };
            if !while_running {
                // The start may fail: that is often the symptom under test.
                lab.sh(vm, &format!("systemctl start {unit}"), DEADLINE).await?;
            }
            let when = if *while_running { format!("under the running {unit}") } else { format!("{unit} stopped before, started after") };
            let (description, proof) = match r {
                Ok((d, p)) => (format!("{d}; {when}"), p),
                Err(e) => {
                    heal(lab, &Injected { undo, description: String::new(), proof: String::new() }).await.ok();
                    return Err(e.context(format!("overwriting the pages of `{of}` in {file}")));
                }
            };
            return Ok(Injected { undo, description, proof });
        }
        Fault::FillDisk { path } => {
            // dd stops at ENOSPC; that is the point.
            lab.sh(vm, &format!("dd if=/dev/zero of={path} bs=1M 2>/dev/null; sync"), DEADLINE).await?;
            Injected { undo: Undo::Remove(path.clone()), description: format!("filled the filesystem of {path} until ENOSPC"), proof: String::new() }
        }
        Fault::LinkDown { iface } => {
            let dev = match iface.as_str() {
                "lab" => dev_of(lab, lab.plan.vm).await?,
                "public" => dev_of(lab, lab.plan.vm_public).await?,
                other => other.to_string(),
            };
            must(lab, vm, &format!("ip link set {dev} down")).await?;
            Injected { undo: Undo::LinkUp(dev.clone()), description: format!("ip link set {dev} down (the VM's {iface} NIC)"), proof: String::new() }
        }
        Fault::Disconnect { network } => {
            let (net, ip) = match network.as_str() {
                "lab" => (lab.lab_net.clone(), lab.plan.vm),
                "public" => (lab.public_net.clone(), lab.plan.vm_public),
                other => bail!("disconnect: unknown network `{other}` (lab or public)"),
            };
            lab.engine.disconnect_network(&net, &lab.name(vm)).await?;
            Injected { undo: Undo::Reconnect { network: net, ip }, description: format!("docker network disconnect {network} pdns-vm"), proof: String::new() }
        }
        Fault::StopVm => {
            // The guest shuts itself off, as `virsh shutdown` asks it to: the engine then reports
            // what the VM's own init did, not a state the harness set. The exec may end with it.
            let asked = lab.sh(vm, "systemctl poweroff", DEADLINE).await.map(|o| o.summary(200)).unwrap_or_else(|e| format!("{e:#}"));
            let ended = lab.engine.wait_stopped(&lab.name(vm), Duration::from_secs(60)).await.map_err(|e| NotInEffect(format!("{e:#} ({asked})")))?;
            Injected { undo: Undo::StartVm, description: "VM shut off from inside (systemctl poweroff, as virsh shutdown asks the guest)".into(), proof: format!("the engine reports the VM {ended}") }
        }
        Fault::KillVm => {
            lab.engine.kill(&lab.name(vm)).await?;
            Injected { undo: Undo::StartVm, description: "VM died (docker kill -s KILL pdns-vm)".into(), proof: String::new() }
        }
    };
    match proof_of(lab, f, &injected).await {
        Ok(proof) => Ok(Injected { proof, ..injected }),
        Err(e) => {
            heal(lab, &injected).await.ok();
            Err(e.context(injected.description.clone()))
        }
    }
}

/// How each kind shows it is in place, once injected.
async fn proof_of(lab: &Lab, f: &Fault, i: &Injected) -> Result<String> {
    let vm = Role::PdnsVm;
    match f {
        Fault::StopUnit { unit } => {
            prove(|| async {
                let o = lab.sh(vm, &format!("systemctl is-active {unit}"), DEADLINE).await?;
                let s = o.stdout.trim().to_string();
                Ok(if s == "active" || s == "activating" || s == "reloading" { Err(format!("{unit} is still {s}")) } else { Ok(format!("systemctl is-active {unit}: {s}")) })
            })
            .await
        }
        Fault::Shell { on, proof: Some(cmd), .. } => {
            prove(|| async {
                let o = lab.sh(*on, cmd, DEADLINE).await?;
                Ok(if o.success() { Ok(format!("`{cmd}`: {}", o.summary(200))) } else { Err(format!("`{cmd}` on {}: {}", on.as_str(), o.summary(200))) })
            })
            .await
        }
        Fault::Shell { .. } => Ok("the inject command exited 0".into()),
        Fault::FillDisk { path } => {
            let dir = std::path::Path::new(path).parent().and_then(|p| p.to_str()).unwrap_or("/");
            let o = must(lab, vm, &format!("df -k --output=avail {dir} | tail -1")).await?;
            let avail: u64 = o.stdout.trim().parse().map_err(|_| anyhow!("df printed `{}`", o.stdout.trim()))?;
            if avail >= 1024 {
                return Err(NotInEffect(format!("{dir} still has {avail} KB free")).into());
            }
            Ok(format!("df {dir}: {avail} KB available"))
        }
        Fault::LinkDown { .. } => {
            let Undo::LinkUp(dev) = &i.undo else { unreachable!() };
            let o = must(lab, vm, &format!("ip -o link show dev {dev}")).await?;
            let flags = o.stdout.split(['<', '>']).nth(1).unwrap_or("").to_string();
            if flags.split(',').any(|f| f == "UP") {
                return Err(NotInEffect(format!("{dev} is still up: <{flags}>")).into());
            }
            Ok(format!("{dev} flags <{flags}>"))
        }
        Fault::Disconnect { .. } => {
            let Undo::Reconnect { network, .. } = &i.undo else { unreachable!() };
            if lab.engine.networks_of(&lab.name(vm)).await?.iter().any(|n| n == network) {
                return Err(NotInEffect(format!("the VM is still attached to {network}")).into());
            }
            Ok(format!("the VM is no longer attached to {network}"))
        }
        Fault::StopVm => Ok(i.proof.clone()),
        Fault::KillVm => match lab.state(vm).await {
            State::Running => Err(NotInEffect("the VM container still runs".into()).into()),
            s => Ok(format!("VM container state: {s:?}")),
        },
        Fault::KillUnit { .. } | Fault::EditFile { .. } | Fault::Setting { .. } | Fault::OverwritePages { .. } => Ok(i.proof.clone()),
    }
}

/// Undoes one fault; safe to call when the recovery already fixed things.
pub async fn heal(lab: &Lab, i: &Injected) -> Result<String> {
    let vm = Role::PdnsVm;
    Ok(match &i.undo {
        Undo::StartUnit(u) => {
            lab.sh(vm, &format!("systemctl reset-failed {u} 2>/dev/null; systemctl start {u}"), DEADLINE).await?.summary(200)
        }
        Undo::RestoreFiles { on, files, restart } => {
            for (path, original) in files {
                match original {
                    Some(o) => write_like(lab, *on, path, o.bytes.clone(), Some(o)).await?,
                    None => {
                        lab.exec(*on, &["rm", "-f", path], DEADLINE).await?;
                    }
                }
            }
            if let Some(u) = restart {
                lab.sh(*on, &format!("systemctl reset-failed {u} 2>/dev/null; systemctl restart {u}"), DEADLINE).await?;
            }
            format!("restored {}", files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", "))
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
            if lab.state(vm).await == State::Running {
                lab.engine.connect_network(network, &lab.name(vm), Some(*ip), None, "pdns-vm").await.ok();
                // A new interface: the service addresses must be laid on it again.
                must(lab, vm, "systemctl restart drill-provision").await?;
            }
            format!("reconnected {network}")
        }
        Undo::StartVm => {
            if lab.state(vm).await != State::Running {
                lab.engine.start(&lab.name(vm)).await?;
            }
            // The heals of earlier faults run commands on the VM: systemd must be up.
            lab.wait_booted(vm).await?;
            "VM started".into()
        }
    })
}
