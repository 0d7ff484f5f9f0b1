//! Who owns what the engine created: every container, network and volume carries its run id
//! and its owner process, so a run removes its own, and a later run sweeps a dead run's
//! leftovers without touching a live parallel run's or a lab kept up on purpose.

use anyhow::Result;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};
use std::collections::HashMap;
use std::time::Duration;
use super::{Engine, LABEL};

/// Owner process of a run's resources, so a later run can tell a dead run's leftovers from a
/// live parallel run's.
pub const PID_LABEL: &str = "pdns-drill.pid";

/// Owner value of a lab left up on purpose (`pdns-drill up`): never swept as stale.
pub const KEPT: &str = "kept";

fn label_filter(run_id: Option<&str>) -> HashMap<String, Vec<String>> {
    let v = match run_id {
        Some(id) => format!("{LABEL}={id}"),
        None => LABEL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![v])])
}

/// A process lives when /proc has it and it is not a zombie: a SIGKILLed owner can linger
/// unreaped for a moment, and its leftovers are already orphans.
fn process_lives(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself hold spaces.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

impl Engine {
    /// Resources created from now on belong to no process: only `down` removes them.
    pub fn kept(mut self) -> Self {
        self.owner = KEPT.to_string();
        self
    }

    /// Whether the owner a resource's owner label names still lives (a kept lab's always does;
    /// no owner label counts as dead).
    pub(crate) fn owner_lives(owner: Option<&str>) -> bool {
        match owner {
            Some(KEPT) => true,
            Some(p) => p.parse::<u32>().is_ok_and(process_lives),
            None => false,
        }
    }

    pub(crate) fn labels(&self, run_id: &str) -> HashMap<String, String> {
        HashMap::from([(LABEL.to_string(), run_id.to_string()), (PID_LABEL.to_string(), self.owner.clone())])
    }

    /// Removes every container, network and volume labelled with `run_id`, or with any run id.
    /// Returns how many of each were removed.
    pub async fn sweep(&self, run_id: Option<&str>) -> Result<(usize, usize, usize)> {
        self.consoles.forget(&format!("pdns-drill-{}", run_id.unwrap_or_default()));
        let filters = label_filter(run_id);
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
            .await?;
        let mut n_c = 0;
        let mut failed: Option<anyhow::Error> = None;
        for c in containers {
            if let Some(id) = c.id {
                match self.remove(&id).await {
                    Ok(()) => n_c += 1,
                    Err(e) => failed = failed.or(Some(e)),
                }
            }
        }
        let networks = self.docker.list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build())).await?;
        let mut n_n = 0;
        for n in networks {
            if let Some(id) = n.id {
                match self.docker.remove_network(&id).await {
                    // Gone already: another sweep, or its run's own teardown, removed it.
                    Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) | Ok(()) => n_n += 1,
                    Err(e) => failed = failed.or(Some(anyhow::Error::new(e).context(format!("removing network {id}")))),
                }
            }
        }
        let vols = self.docker.list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filters).build())).await?;
        let mut n_v = 0;
        for v in vols.volumes.unwrap_or_default() {
            match self.docker.remove_volume(&v.name, Some(RemoveVolumeOptionsBuilder::new().force(true).build())).await {
                Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => n_v += 1,
                Err(e) => failed = failed.or(Some(anyhow::Error::new(e).context(format!("removing volume {}", v.name)))),
            }
        }
        // Everything that could go went; the first failure says what is left.
        match failed {
            Some(e) => Err(e),
            None => Ok((n_c, n_n, n_v)),
        }
    }

    /// The containers labelled with `run_id`, as `name state`, sorted.
    pub async fn containers_of(&self, run_id: &str) -> Result<Vec<String>> {
        let filters = label_filter(Some(run_id));
        let cs = self.docker.list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build())).await?;
        let mut v: Vec<String> = cs
            .into_iter()
            .map(|c| format!("{} {}", c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/'), c.state.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default()))
            .collect();
        v.sort();
        Ok(v)
    }

    /// The owner label of a run's resources: its networks', else its containers'.
    async fn run_owner(&self, run_id: &str) -> Result<Option<String>> {
        let filters = label_filter(Some(run_id));
        let nets = self.docker.list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build())).await?;
        if let Some(o) = nets.into_iter().find_map(|n| n.labels.and_then(|mut l| l.remove(PID_LABEL))) {
            return Ok(Some(o));
        }
        let cs = self
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
            .await?;
        if let Some(o) = cs.into_iter().find_map(|c| c.labels.and_then(|mut l| l.remove(PID_LABEL))) {
            return Ok(Some(o));
        }
        // A volume outlives its containers and networks when its removal failed while a
        // container still held it: it alone then says whose run it is.
        let vols = self.docker.list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filters).build())).await?;
        Ok(vols.volumes.unwrap_or_default().into_iter().find_map(|mut v| v.labels.remove(PID_LABEL)))
    }

    /// Whether the process that created `run_id` still lives (unknown owner counts as dead;
    /// an engine that does not answer counts as alive, so nothing is swept on a guess).
    pub async fn run_owner_alive(&self, run_id: &str) -> bool {
        match self.run_owner(run_id).await {
            Err(_) => true,
            Ok(owner) => Self::owner_lives(owner.as_deref()),
        }
    }

    /// Removes every run this process created (Ctrl-C, a fatal error). A create already sent
    /// when the run was cancelled still lands afterwards, and removing a network fails while a
    /// container that just landed uses it: so passes repeat, past errors, until several in a
    /// row find nothing of this process's (or the deadline passes).
    pub async fn sweep_mine(&self) -> Result<Vec<String>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut swept = Vec::new();
        let mut quiet = 0;
        loop {
            let mut found = false;
            let mut failed = None;
            match self.leftover_runs().await {
                Ok(runs) => {
                    for run in runs {
                        if self.run_owner(&run).await.ok().flatten().as_deref() != Some(self.owner.as_str()) {
                            continue;
                        }
                        found = true;
                        if let Err(e) = self.sweep(Some(&run)).await {
                            failed = Some(e);
                        }
                        if !swept.contains(&run) {
                            swept.push(run);
                        }
                    }
                }
                Err(e) => failed = Some(e),
            }
            quiet = if found || failed.is_some() { 0 } else { quiet + 1 };
            if quiet >= 3 {
                return Ok(swept);
            }
            if tokio::time::Instant::now() >= deadline {
                return match failed {
                    Some(e) => Err(e.context("sweeping this process's runs")),
                    None => Ok(swept),
                };
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Run ids that still have containers, networks or volumes.
    pub async fn leftover_runs(&self) -> Result<Vec<String>> {
        let filters = label_filter(None);
        let mut ids: Vec<String> = Vec::new();
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
            .await?;
        ids.extend(containers.into_iter().filter_map(|c| c.labels.and_then(|mut l| l.remove(LABEL))));
        let networks = self.docker.list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filters).build())).await?;
        ids.extend(networks.into_iter().filter_map(|n| n.labels.and_then(|mut l| l.remove(LABEL))));
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_liveness() {
        assert!(process_lives(std::process::id()));
        // A reaped child is gone; a zombie child (exited, not yet waited on) counts as dead too.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z")) {
            std::thread::yield_now();
        }
        assert!(!process_lives(pid), "zombie counted as alive");
        child.wait().unwrap();
        assert!(!process_lives(pid));
    }
}
