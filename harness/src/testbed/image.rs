//! The lab image: one Debian rootfs serving every role, built offline from a Debian mirror with
//! debootstrap and imported into Docker. Tagged by a hash of the recipe, so a changed recipe
//! builds a new image and an unchanged one is reused.

use crate::testbed::engine::Engine;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The recipe travels inside the binary, so the tag can be computed anywhere.
const BUILD_SCRIPT: &str = include_str!("../../../images/build-rootfs.sh");
const PACKAGES: &str = include_str!("../../../images/packages.txt");
const CONFIGURE: &str = include_str!("../../../images/configure-rootfs.sh");
const INSTALL: &str = include_str!("../../../images/install-packages.sh");

pub const REPO: &str = "pdns-drill-lab";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    Bookworm,
    Trixie,
}

impl Suite {
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
        }
    }
}

/// The image reference for a suite: `pdns-drill-lab:<suite>-<recipe hash>`.
pub fn tag(suite: Suite) -> String {
    format!("{REPO}:{}-{}", suite.as_str(), recipe_hash(suite))
}

/// The image a scenario's VM is rebuilt from when it names another release than the run's:
/// `PDNS_DRILL_IMAGE_<SUITE>` (e.g. `PDNS_DRILL_IMAGE_TRIXIE`, an image built elsewhere), else
/// the recipe's tag. `PDNS_DRILL_IMAGE` stays the run's own image.
pub fn suite_image(suite: Suite) -> String {
    std::env::var(suite_image_var(suite)).unwrap_or_else(|_| tag(suite))
}

fn suite_image_var(suite: Suite) -> String {
    format!("PDNS_DRILL_IMAGE_{}", suite.as_str().to_ascii_uppercase())
}

/// Makes sure the image [`suite_image`] names exists, building the recipe's when missing.
pub async fn ensure_suite(engine: &Engine, suite: Suite, mirror: Option<String>, progress: Progress<'_>) -> Result<String> {
    let image = suite_image(suite);
    if engine.image_exists(&image).await {
        return Ok(image);
    }
    if std::env::var_os(suite_image_var(suite)).is_some() {
        bail!("{}={image}: no such image in the Docker Engine", suite_image_var(suite));
    }
    build(engine, &BuildOptions { suite, mirror, force: false }, progress).await
}

fn recipe_hash(suite: Suite) -> String {
    let mut h = Sha256::new();
    h.update(BUILD_SCRIPT.as_bytes());
    h.update(b"\0");
    h.update(PACKAGES.as_bytes());
    h.update(b"\0");
    h.update(CONFIGURE.as_bytes());
    h.update(b"\0");
    h.update(INSTALL.as_bytes());
    h.update(b"\0");
    h.update(suite.as_str().as_bytes());
    hex::encode(&h.finalize()[..6])
}

/// Where rootfs tarballs are kept between runs (never inside the repository).
pub fn cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("PDNS_DRILL_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|_| PathBuf::from("/var/cache"));
    base.join("pdns-drill")
}

/// Progress callback: one short message per build step.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub suite: Suite,
    pub mirror: Option<String>,
    /// Rebuild the rootfs even when a cached tarball exists.
    pub force: bool,
}

/// Makes sure the image exists; builds (or imports the cached rootfs) when missing.
/// Returns the tag.
pub async fn ensure(engine: &Engine, opts: &BuildOptions, progress: Progress<'_>) -> Result<String> {
    // An image built elsewhere (e.g. from images/Dockerfile through a registry).
    if let Ok(custom) = std::env::var("PDNS_DRILL_IMAGE") {
        if !engine.image_exists(&custom).await {
            bail!("PDNS_DRILL_IMAGE={custom}: no such image in the Docker Engine");
        }
        return Ok(custom);
    }
    build(engine, opts, progress).await
}

/// The recipe's image for `opts.suite`: reused when it exists (unless forced), else imported
/// from the cached rootfs or built.
async fn build(engine: &Engine, opts: &BuildOptions, progress: Progress<'_>) -> Result<String> {
    let tag = tag(opts.suite);
    if !opts.force && engine.image_exists(&tag).await {
        return Ok(tag);
    }
    let cache = cache_dir();
    std::fs::create_dir_all(&cache).with_context(|| format!("creating cache dir {}", cache.display()))?;
    let tarball = cache.join(format!("rootfs-{}-{}.tar", opts.suite.as_str(), recipe_hash(opts.suite)));
    if opts.force || !tarball.exists() {
        build_rootfs(opts, &tarball, progress).await?;
    }
    progress("importing rootfs into Docker");
    let (repo, t) = tag.split_once(':').expect("tag has a colon");
    engine.import_rootfs(&tarball, repo, t).await?;
    progress("image ready");
    Ok(tag)
}

async fn build_rootfs(opts: &BuildOptions, out: &Path, progress: Progress<'_>) -> Result<()> {
    if which("debootstrap").is_none() {
        bail!("debootstrap is not installed: `apt-get install -y debootstrap` (scripts/setup-host.sh does it)");
    }
    let mirror = crate::testbed::mirror::resolve(opts.mirror.as_deref())?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("build-rootfs.sh"), BUILD_SCRIPT)?;
    std::fs::write(dir.path().join("packages.txt"), PACKAGES)?;
    std::fs::write(dir.path().join("configure-rootfs.sh"), CONFIGURE)?;
    std::fs::write(dir.path().join("install-packages.sh"), INSTALL)?;
    progress(&format!("debootstrap {} (minbase + {} packages)", opts.suite.as_str(), package_count()));
    let mut child = tokio::process::Command::new("bash")
        .arg(dir.path().join("build-rootfs.sh"))
        .args([opts.suite.as_str(), &mirror])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running images/build-rootfs.sh")?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tail: Vec<String> = Vec::new();
    while let Some(l) = lines.next_line().await? {
        if let Some(step) = l.strip_prefix("step: ") {
            progress(step);
        }
        tail.push(l);
        if tail.len() > 60 {
            tail.remove(0);
        }
    }
    let mut err = String::new();
    use tokio::io::AsyncReadExt;
    child.stderr.take().unwrap().read_to_string(&mut err).await.ok();
    let status = child.wait().await?;
    if !status.success() {
        bail!("building the lab rootfs failed ({status}):\n{}\n{}", tail.join("\n"), err.trim());
    }
    Ok(())
}

pub fn package_count() -> usize {
    PACKAGES.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count()
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_depends_on_suite_and_is_stable() {
        assert_eq!(tag(Suite::Bookworm), tag(Suite::Bookworm));
        assert_ne!(tag(Suite::Bookworm), tag(Suite::Trixie));
        assert!(tag(Suite::Bookworm).starts_with("pdns-drill-lab:bookworm-"));
    }

    #[test]
    fn recipe_lists_the_daemons() {
        for p in ["pdns-server", "pdns-backend-sqlite3", "pdns-recursor", "systemd", "dnsperf"] {
            assert!(PACKAGES.lines().any(|l| l.trim() == p), "{p} missing from images/packages.txt");
        }
    }
}
