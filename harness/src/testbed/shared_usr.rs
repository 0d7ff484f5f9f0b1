//! The image's binaries and libraries, shared read-only by every lab container from volumes.
//! This engine's storage driver is fuse-overlayfs: every exec and library mapping inside a
//! container reads through a FUSE daemon, which took more CPU than the labs' daemons. A named
//! volume lives on the host's own filesystem, so a process started from one skips FUSE
//! (measured: 300 `dig`/`sqlite3` starts, 3.4 → 2.85 busy CPU-s).
//!
//! The volumes are a cache of one image, like the image itself: labelled with its id, made once
//! (the engine copies the image's directory into an empty volume), never written by a lab.

use crate::testbed::engine::Engine;
use anyhow::{Context, Result};
use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListVolumesOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use std::collections::HashMap;

/// Marks a volume as a copy of one image's directory (value: the image id).
pub const LABEL: &str = "pdns-drill.usr-of";

/// What is shared: where the exec-heavy files live, and the unit files systemd parses at each
/// boot and reload (it asks `isatty` of every line it reads, a FUSE round trip each: 2,400 of
/// a lab boot's 10,000 FUSE requests). Not all of /usr: the harness lays each lab's own files
/// under /usr/lib/pdns-drill, and a rebuilt VM installs packages into /usr.
fn dirs() -> Vec<String> {
    let triple = match std::env::consts::ARCH {
        "aarch64" => "aarch64-linux-gnu",
        _ => "x86_64-linux-gnu",
    };
    vec!["/usr/bin".into(), "/usr/sbin".into(), format!("/usr/lib/{triple}"), "/usr/lib/systemd".into()]
}

/// Off with `PDNS_DRILL_SHARED_USR=0` (each container then reads the image through the
/// engine's storage driver, as before; scripts/bench.sh compares the two).
pub fn enabled() -> bool {
    std::env::var("PDNS_DRILL_SHARED_USR").map_or(true, |v| v != "0")
}

/// The volumes each image got in this process, by tag: the first lab makes (or finds) them,
/// the rest wait on the lock and reuse the answer without asking the engine again.
static MADE: tokio::sync::Mutex<Option<HashMap<String, Vec<(String, String)>>>> = tokio::sync::Mutex::const_new(None);

/// (volume, mount point) for each shared directory of `image`, made on first use.
pub async fn volumes(engine: &Engine, image: &str) -> Result<Vec<(String, String)>> {
    let mut made = MADE.lock().await;
    if let Some(v) = made.get_or_insert_with(HashMap::new).get(image) {
        return Ok(v.clone());
    }
    let v = find_or_make(engine, image).await?;
    made.get_or_insert_with(HashMap::new).insert(image.to_string(), v.clone());
    Ok(v)
}

async fn find_or_make(engine: &Engine, image: &str) -> Result<Vec<(String, String)>> {
    let id = engine.docker().inspect_image(image).await.with_context(|| format!("inspecting {image}"))?.id.unwrap_or_default();
    let short: String = id.trim_start_matches("sha256:").chars().take(12).collect();
    let name = |dir: &str| format!("pdns-drill-usr-{short}{}", dir.replace('/', "-"));
    let dirs = dirs();
    // Per set of directories too: a harness that shares one more finds it unmade.
    let set: String = {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(dirs.join(":").as_bytes())[..4])
    };
    let ready = format!("pdns-drill-usr-{short}-ready-{set}");
    let wanted: Vec<(String, String)> = dirs.into_iter().map(|d| (name(&d), d)).collect();
    // Other processes (parallel shards, test binaries) may want the same volumes at the same
    // moment: a container name is the engine's one atomic claim, so the maker holds one while
    // it makes them and the rest wait for `ready`.
    let lock = format!("pdns-drill-usr-{short}-making");
    let deadline = tokio::time::Instant::now() + MAKING;
    loop {
        if volume_exists(engine, &ready).await? {
            return Ok(wanted);
        }
        match engine.docker().create_container(Some(CreateContainerOptionsBuilder::new().name(&lock).build()), no_op(engine, image, &lock, vec![])).await {
            Ok(_) => {
                let made = make(engine, image, &id, &short, &ready, &wanted).await;
                engine.remove(&lock).await.ok();
                return made.map(|()| wanted);
            }
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
                // Its maker died mid-copy (SIGKILL): the claim is stale, take it over.
                let labels = engine.docker().inspect_container(&lock, None).await.ok().and_then(|c| c.config).and_then(|c| c.labels);
                if labels.is_some_and(|l| !Engine::owner_lives(l.get(crate::testbed::engine::PID_LABEL).map(String::as_str))) {
                    engine.remove(&lock).await.ok();
                    continue;
                }
                anyhow::ensure!(tokio::time::Instant::now() < deadline, "another process has been making {image}'s shared volumes for over {} s", MAKING.as_secs());
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e).context("claiming the making of the shared volumes"),
        }
    }
}

/// How long a process waits for another to make the volumes (a copy takes seconds).
const MAKING: std::time::Duration = std::time::Duration::from_secs(300);

/// Makes the volumes afresh and marks them made; the caller holds the claim.
async fn make(engine: &Engine, image: &str, id: &str, short: &str, ready: &str, wanted: &[(String, String)]) -> Result<()> {
    if volume_exists(engine, ready).await? {
        return Ok(());
    }
    let labels = HashMap::from([(LABEL.to_string(), id.to_string())]);
    for (v, _) in wanted {
        // A copy a killed run left half made is made again.
        engine.docker().remove_volume(v, None::<bollard::query_parameters::RemoveVolumeOptions>).await.ok();
        let req = VolumeCreateRequest { name: Some(v.clone()), labels: Some(labels.clone()), ..Default::default() };
        engine.docker().create_volume(req).await.with_context(|| format!("creating volume {v}"))?;
    }
    fill(engine, image, short, wanted).await.with_context(|| format!("copying {image}'s binaries into volumes"))?;
    let req = VolumeCreateRequest { name: Some(ready.to_string()), labels: Some(labels), ..Default::default() };
    engine.docker().create_volume(req).await.context("marking the shared volumes made")?;
    Ok(())
}

async fn volume_exists(engine: &Engine, name: &str) -> Result<bool> {
    let f = HashMap::from([("name".to_string(), vec![name.to_string()])]);
    let list = engine.docker().list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&f).build())).await?;
    Ok(list.volumes.unwrap_or_default().iter().any(|v| v.name == name))
}

/// A container that only mounts the empty volumes: the engine copies the image's directories
/// into them when it starts.
async fn fill(engine: &Engine, image: &str, short: &str, wanted: &[(String, String)]) -> Result<()> {
    let d = engine.docker();
    let name = format!("pdns-drill-usr-{short}-filler-{}", std::process::id());
    // Owned like a lab's containers: a run killed during the copy leaves it to the next run's
    // sweep of dead runs.
    let body = no_op(engine, image, &name, wanted.iter().map(|(v, m)| format!("{v}:{m}")).collect());
    d.create_container(Some(CreateContainerOptionsBuilder::new().name(&name).build()), body).await?;
    let run = async {
        engine.start(&name).await?;
        let mut wait = d.wait_container(&name, Some(WaitContainerOptionsBuilder::new().build()));
        while let Some(r) = wait.next().await {
            r?;
        }
        anyhow::Ok(())
    };
    let out = run.await;
    engine.remove(&name).await.ok();
    out
}

/// A container of `image` that does nothing, on no network, owned like a lab's.
fn no_op(engine: &Engine, image: &str, name: &str, binds: Vec<String>) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(engine.labels(name)),
        cmd: Some(vec!["/usr/bin/true".into()]),
        host_config: Some(HostConfig { binds: Some(binds), network_mode: Some("none".into()), ..Default::default() }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shared_directories_leave_the_labs_own_files_writable() {
        let d = super::dirs();
        assert!(d.iter().all(|d| d.starts_with("/usr/") && !"/usr/lib/pdns-drill".starts_with(d.as_str())), "{d:?}");
    }
}
