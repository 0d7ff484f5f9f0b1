//! The operators' config dir (laid out like /etc/powerdns) and zone journal, as loaded inputs.

use super::addresses::LabAddresses;
use crate::inputs::zone::journal::Journal;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The runbook's database path, where the stand-in internet keeps its zones too.
pub const DEFAULT_DB: &str = "/var/lib/powerdns/pdns.sqlite3";

/// How the recursor's settings reach the daemon: a lab option for recursors (5.2 on) that refuse
/// old-style settings unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecursorSettings {
    /// The operators' files as they are, under the packaged unit.
    #[default]
    AsIs,
    /// Converted to YAML at the VM's first boot by the recursor's own `rec_control show-yaml`.
    Yaml,
    /// Kept old-style; a unit drop-in adds `--enable-old-settings` to the packaged command line.
    OldSettingsFlag,
}

impl RecursorSettings {
    pub fn as_str(self) -> &'static str {
        match self {
            RecursorSettings::AsIs => "as-is",
            RecursorSettings::Yaml => "yaml",
            RecursorSettings::OldSettingsFlag => "old-settings-flag",
        }
    }

    /// The suite's default: the files as written on bookworm; on trixie, whose recursor refuses
    /// them and whose package ships its recursor.conf in YAML, converted by its own converter.
    pub fn default_for(suite: crate::testbed::image::Suite) -> RecursorSettings {
        match suite {
            crate::testbed::image::Suite::Bookworm => RecursorSettings::AsIs,
            crate::testbed::image::Suite::Trixie => RecursorSettings::Yaml,
        }
    }
}

/// Where the shipped defaults live, relative to the repository root.
pub const DEFAULT_CONFIG_DIR: &str = "lab/etc-powerdns";
pub const DEFAULT_ZONE: &str = "lab/zone/dns-records.md";
pub const ADDRESS_MAP: &str = "drill.toml";

#[derive(Debug, Clone)]
pub struct ConfigDir {
    pub path: PathBuf,
    /// Files relative to the dir (forward slashes), with their bytes; `drill.toml` excluded.
    pub files: Vec<(String, Vec<u8>)>,
    pub addresses: LabAddresses,
    pub hash: String,
    /// How the recursor's settings reach the daemon: a lab option, not part of the files (nor
    /// of the hash); the report lists it among the drop-ins.
    pub recursor_settings: RecursorSettings,
}

impl ConfigDir {
    pub fn load(path: &Path) -> Result<ConfigDir> {
        if !path.is_dir() {
            bail!("config dir {} does not exist or is not a directory", path.display());
        }
        let mut files = Vec::new();
        walk(path, path, &mut files)?;
        files.sort();
        for required in ["pdns.conf", "recursor.conf"] {
            if !files.iter().any(|(p, _)| p == required) {
                bail!("config dir {}: {required} is missing", path.display());
            }
        }
        let map_path = path.join(ADDRESS_MAP);
        let text = std::fs::read_to_string(&map_path).with_context(|| {
            format!("config dir {}: {ADDRESS_MAP} (the address map) is missing; copy {DEFAULT_CONFIG_DIR}/{ADDRESS_MAP} and edit it", path.display())
        })?;
        let addresses = LabAddresses::parse(&map_path.display().to_string(), &text)?;
        let mut h = Sha256::new();
        for (p, b) in &files {
            h.update(p.as_bytes());
            h.update([0]);
            h.update(b);
            h.update([0]);
        }
        h.update(text.as_bytes());
        let files = files.into_iter().filter(|(p, _)| p != ADDRESS_MAP).collect();
        Ok(ConfigDir { path: path.to_path_buf(), files, addresses, hash: hex::encode(h.finalize()), recursor_settings: Default::default() })
    }
}

/// A config dir from texts, with the shipped drill.toml, for unit tests.
#[cfg(test)]
pub fn for_test(files: &[(&str, &str)]) -> ConfigDir {
    ConfigDir {
        path: "/cfg".into(),
        files: files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect(),
        addresses: LabAddresses::parse("drill.toml", include_str!("../../../lab/etc-powerdns/drill.toml")).unwrap(),
        hash: String::new(),
        recursor_settings: Default::default(),
    }
}

impl ConfigDir {
    /// A daemon's settings as its files give them (the way the daemon reads them).
    pub fn settings(&self, d: crate::inputs::settings::Daemon) -> crate::inputs::settings::Settings {
        let texts: Vec<(String, String)> = self.files.iter().map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned())).collect();
        crate::inputs::settings::Settings::read(d, &texts, crate::inputs::settings::ETC)
    }

    /// The authoritative's SQLite, as `gsqlite3-database` sets it (the runbook's path otherwise).
    pub fn db_path(&self) -> String {
        self.settings(crate::inputs::settings::Daemon::Auth).get("gsqlite3-database").unwrap_or_else(|| DEFAULT_DB.to_string())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?));
        }
    }
    Ok(())
}

/// The zone journal plus its file hash.
#[derive(Debug, Clone)]
pub struct ZoneInput {
    pub path: PathBuf,
    pub journal: Journal,
    pub hash: String,
}

impl ZoneInput {
    pub fn load(path: &Path) -> Result<ZoneInput> {
        let bytes = std::fs::read(path).with_context(|| format!("reading zone journal {}", path.display()))?;
        let journal = Journal::load(path)?;
        Ok(ZoneInput { path: path.to_path_buf(), journal, hash: hex::encode(Sha256::digest(&bytes)) })
    }
}

/// The repository root, found from the current directory or the binary's location, so the
/// shipped defaults are found whether run from the repo, from `target/`, or from tests.
pub fn repo_root() -> Option<PathBuf> {
    let here = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    let manifest = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    [here, exe, manifest]
        .into_iter()
        .flatten()
        .flat_map(|p| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .find(|p| p.join(DEFAULT_CONFIG_DIR).join("pdns.conf").is_file())
}

/// The scenario directory: as given, except that the default (`scenarios`, relative) falls back
/// to the one beside the shipped lab when the working directory has none, so an installed
/// binary (`cargo install`) finds the scenarios of the checkout it was built from.
pub fn scenarios_dir(given: &Path) -> PathBuf {
    if given != Path::new("scenarios") || given.is_dir() {
        return given.to_path_buf();
    }
    repo_root().map(|r| r.join("scenarios")).filter(|d| d.is_dir()).unwrap_or_else(|| given.to_path_buf())
}

pub fn default_config_dir() -> Result<PathBuf> {
    repo_root().map(|r| r.join(DEFAULT_CONFIG_DIR)).context("cannot find the shipped lab/etc-powerdns; pass --config-dir")
}

pub fn default_zone() -> Result<PathBuf> {
    repo_root().map(|r| r.join(DEFAULT_ZONE)).context("cannot find the shipped lab/zone/dns-records.md; pass --zone")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_dir_loads() {
        let c = ConfigDir::load(&default_config_dir().unwrap()).unwrap();
        assert!(c.files.iter().any(|(p, _)| p == "recursor.d/10-lab-forwarder.conf"));
        assert!(!c.files.iter().any(|(p, _)| p == ADDRESS_MAP));
        assert_eq!(c.hash.len(), 64);
    }

    #[test]
    fn missing_recursor_conf_is_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pdns.conf"), "launch=gsqlite3\n").unwrap();
        let e = ConfigDir::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("recursor.conf is missing"), "{e}");
    }
}
