//! Labs kept up after `pdns-drill up` (or a failed scenario with --keep-on-failure): their
//! addresses remembered under the cache dir, so later commands (`triage`, `down`) find them.

use super::{image, Lab, Role};
use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::PathBuf;

/// A kept lab's addresses and containers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeptLab {
    pub run_id: String,
    pub recursor: IpAddr,
    pub auth: IpAddr,
    pub vm: IpAddr,
    pub vm_container: String,
    /// None: the lab has no workstation (a scenario that needed none, kept on failure).
    #[serde(default)]
    pub workstation: Option<String>,
    pub zone: String,
}

fn dir() -> PathBuf {
    image::cache_dir().join("labs")
}

impl KeptLab {
    /// Remembers `lab` as kept.
    pub fn save(lab: &Lab) -> Result<KeptLab> {
        std::fs::create_dir_all(dir())?;
        let k = KeptLab {
            run_id: lab.spec.run_id.clone(),
            recursor: lab.plan.recursor.into(),
            auth: lab.plan.auth.into(),
            vm: lab.plan.vm.into(),
            vm_container: lab.name(Role::PdnsVm),
            workstation: lab.spec.roles.contains(&Role::Workstation).then(|| lab.name(Role::Workstation)),
            zone: lab.spec.zone.journal.zone.clone(),
        };
        std::fs::write(dir().join(format!("{}.json", k.run_id)), serde_json::to_vec_pretty(&k)?)?;
        Ok(k)
    }

    /// The kept lab of `run`, else the newest one kept.
    pub fn load(run: Option<&str>) -> Result<KeptLab> {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(dir())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
            .unwrap_or_default();
        runs.sort();
        let path = match run {
            Some(r) => dir().join(format!("{r}.json")),
            None => runs.pop().context("no kept lab: start one with `pdns-drill up`, or pass --recursor/--auth/--vm")?,
        };
        Ok(serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("no kept lab at {}", path.display()))?)?)
    }

    /// Whether `run_id` is a lab kept for inspection: no sweep of dead runs removes it.
    pub fn is_kept(run_id: &str) -> bool {
        dir().join(format!("{run_id}.json")).is_file()
    }

    /// Forgets `run_id` (its containers are gone).
    pub fn forget(run_id: &str) {
        std::fs::remove_file(dir().join(format!("{run_id}.json"))).ok();
    }

    /// The first triage from the kept lab's workstation, as written.
    pub async fn triage(&self, engine: &super::engine::Engine) -> Result<super::triage_probes::TriageRun> {
        let Some(workstation) = self.workstation.clone() else {
            anyhow::bail!("kept lab {} has no workstation (its scenario needed none): ask its addresses with --recursor {} --auth {} --vm {}", self.run_id, self.recursor, self.auth, self.vm);
        };
        super::triage_probes::on_workstation(&super::triage_probes::Site {
            engine,
            workstation,
            vm_container: self.vm_container.clone(),
            recursor: self.recursor,
            auth: self.auth,
            vm: self.vm,
            zone: self.zone.clone(),
        })
        .await
    }
}
