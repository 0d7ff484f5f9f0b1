//! Files into and out of lab containers: laid before boot (in the container's own first
//! command when they fit in one argument, else with the archive API), copied while it runs
//! through its console, and read back.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::TryStreamExt;
use bollard::query_parameters::UploadToContainerOptionsBuilder;
use std::time::Duration;
use super::{Engine, EXEC_DEADLINE};

/// A file (or symlink) to lay into a container before it boots.
#[derive(Debug, Clone)]
pub enum FileEntry {
    File { path: String, mode: u32, uid: u64, gid: u64, content: Vec<u8> },
    Symlink { path: String, target: String },
    Dir { path: String, mode: u32, uid: u64, gid: u64 },
}

impl FileEntry {
    pub fn file(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        FileEntry::File { path: path.into(), mode: 0o644, uid: 0, gid: 0, content: content.into() }
    }
}

/// The lab image's command (its systemd, once /var is seeded).
pub const IMAGE_INIT: &str = "/usr/lib/pdns-drill/init";

/// Where a container notes that its first start laid its files (a restart must not lay them
/// again over what the lab changed since).
const LAID_MARK: &str = "/usr/lib/pdns-drill/laid";

/// The longest base64 tar carried in one command argument, which the kernel caps at 128 KiB.
const CARRIED_MAX: usize = 96 * 1024;

/// `sh` that lays the base64 tar in `$1` at `/` as the archive API would: owners and modes
/// from the tar, parents created, an existing file replaced by a new one.
const LAY_CARRIED: &str = r#"printf %s "$1" | base64 -d | tar -x -p -f - -C /"#;

/// `files` as a base64 tar, when it fits in one command argument. Carried in a command, files
/// cost the engine nothing; its archive API costs a mount of the container's root and a
/// re-exec of itself per call.
fn carried(files: &[FileEntry]) -> Result<Option<String>> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(build_tar(files)?);
    Ok((b64.len() <= CARRIED_MAX).then_some(b64))
}

/// The argv that lays `files` in a running container (through its console). None when too
/// large for one argument.
pub fn laying_argv(files: &[FileEntry]) -> Result<Option<Vec<String>>> {
    Ok(carried(files)?.map(|b64| vec!["/bin/sh".to_string(), "-c".into(), LAY_CARRIED.into(), "pdns-drill-lay".into(), b64]))
}

/// A command for a container's PID 1 that lays `files` at its first start, then execs `then`.
/// None when they are too large for one argument.
pub fn laying_cmd(files: &[FileEntry], then: &[String]) -> Result<Option<Vec<String>>> {
    let Some(b64) = carried(files)? else { return Ok(None) };
    let script = format!("[ -e {LAID_MARK} ] || {{ {LAY_CARRIED} && touch {LAID_MARK}; }} || exit 1; shift; exec \"$@\"");
    let mut cmd = vec!["/bin/sh".to_string(), "-c".into(), script, "pdns-drill-lay".into(), b64];
    cmd.extend(then.iter().cloned());
    Ok(Some(cmd))
}

/// How long a file copy through a console may take.
const FILE_DEADLINE: Duration = EXEC_DEADLINE;

pub fn build_tar(files: &[FileEntry]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for f in files {
        let mut h = tar::Header::new_gnu();
        match f {
            FileEntry::File { path, mode, uid, gid, content } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(content.len() as u64);
                h.set_mode(*mode);
                h.set_uid(*uid);
                h.set_gid(*gid);
                h.set_mtime(0);
                b.append_data(&mut h, path.trim_start_matches('/'), content.as_slice())?;
            }
            FileEntry::Symlink { path, target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, path.trim_start_matches('/'), target)?;
            }
            FileEntry::Dir { path, mode, uid, gid } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(*mode);
                h.set_uid(*uid);
                h.set_gid(*gid);
                b.append_data(&mut h, path.trim_start_matches('/'), std::io::empty())?;
            }
        }
    }
    Ok(b.into_inner()?)
}

impl Engine {
    /// Lays files into a container: through its console when it runs and they are small (see
    /// [`laying_argv`]), else with the archive API.
    pub async fn upload(&self, container: &str, files: &[FileEntry]) -> Result<()> {
        if let Some(argv) = laying_argv(files)? {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            match self.exec(container, &argv, None, FILE_DEADLINE).await {
                Ok(o) if o.success() => return Ok(()),
                Ok(o) => bail!("writing files into {container}: {}", o.summary(300)),
                // Not running (no console): the archive API writes into a stopped container too.
                Err(e) => tracing::debug!("console in {container}: {e:#}; using the archive API"),
            }
        }
        self.upload_archive(container, files).await
    }

    /// Lays files into a container (created or running) as one tar at `/`. Each call costs the
    /// engine a mount of the container's root and a re-exec of itself: before a container
    /// starts it is the only way.
    pub async fn upload_archive(&self, container: &str, files: &[FileEntry]) -> Result<()> {
        let tar = build_tar(files)?;
        let opts = UploadToContainerOptionsBuilder::new().path("/").build();
        self.docker
            .upload_to_container(container, Some(opts), bollard::body_full(tar.into()))
            .await
            .with_context(|| format!("copying files into {container}"))
    }

    /// Reads one regular file out of a container: base64 through its console when it runs,
    /// else with the archive API (a mount and a re-exec in the engine).
    pub async fn download(&self, container: &str, path: &str) -> Result<Vec<u8>> {
        match self.exec(container, &["base64", "-w0", "--", path], None, FILE_DEADLINE).await {
            Ok(o) if o.success() => {
                use base64::Engine as _;
                return base64::engine::general_purpose::STANDARD.decode(o.stdout.trim()).with_context(|| format!("copying {path} out of {container}: not base64"));
            }
            Ok(o) => bail!("copying {path} out of {container}: {}", o.summary(300)),
            Err(e) => tracing::debug!("console in {container}: {e:#}; using the archive API"),
        }
        self.download_archive(container, path).await
    }

    async fn download_archive(&self, container: &str, path: &str) -> Result<Vec<u8>> {
        let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new().path(path).build();
        let chunks: Vec<bytes::Bytes> = self
            .docker
            .download_from_container(container, Some(opts))
            .try_collect()
            .await
            .with_context(|| format!("copying {path} out of {container}"))?;
        let tarball: Vec<u8> = chunks.concat();
        let mut a = tar::Archive::new(tarball.as_slice());
        let mut entry = a.entries()?.next().ok_or_else(|| anyhow!("{path} in {container}: empty archive"))??;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioning_rides_in_the_command_unless_too_large_for_one_argument() {
        use base64::Engine as _;
        let then = vec![IMAGE_INIT.to_string()];
        let files = [FileEntry::file("/etc/x.conf", "a=1\n")];
        let cmd = laying_cmd(&files, &then).unwrap().unwrap();
        assert_eq!(&cmd[..2], &["/bin/sh", "-c"]);
        assert_eq!(cmd.last(), then.last(), "then the container's own init");
        let tar = base64::engine::general_purpose::STANDARD.decode(&cmd[4]).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["etc/x.conf"]);
        assert!(cmd[2].contains(&format!("[ -e {LAID_MARK} ] ||")), "a restart does not lay them again");
        let big = [FileEntry::file("/zone.md", vec![b'x'; CARRIED_MAX])];
        assert!(laying_cmd(&big, &then).unwrap().is_none(), "too large: the archive API lays them");
        assert!(laying_argv(&big).unwrap().is_none(), "too large for one argument: the archive API");
    }

    #[test]
    fn files_are_laid_as_the_archive_api_would() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let me = std::fs::metadata(dir.path()).unwrap();
        let (uid, gid) = (me.uid() as u64, me.gid() as u64);
        let at = |p: &str| format!("{}/{p}", dir.path().display());
        std::fs::write(at("old"), "replaced").unwrap();
        let bytes: Vec<u8> = (0u8..=255).chain(b"it's \"quoted\" $HOME `x`\n".iter().copied()).collect();
        let files = [
            FileEntry::File { path: at("new/sub/f.bin"), mode: 0o640, uid, gid, content: bytes.clone() },
            FileEntry::File { path: at("old"), mode: 0o600, uid, gid, content: b"no newline".to_vec() },
            FileEntry::Dir { path: at("d"), mode: 0o750, uid, gid },
            FileEntry::Symlink { path: at("l"), target: "new/sub/f.bin".into() },
        ];
        let argv = laying_argv(&files).unwrap().unwrap();
        let o = std::process::Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(at("new/sub/f.bin")).unwrap(), bytes);
        assert_eq!(std::fs::metadata(at("new/sub/f.bin")).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read(at("old")).unwrap(), b"no newline");
        assert_eq!(std::fs::metadata(at("old")).unwrap().permissions().mode() & 0o7777, 0o600);
        assert_eq!(std::fs::metadata(at("d")).unwrap().permissions().mode() & 0o7777, 0o750);
        assert_eq!(std::fs::read(at("l")).unwrap(), bytes, "the link points at the file");
        let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["d", "l", "new", "old"], "nothing else left behind");
    }

    #[test]
    fn tar_holds_files_links_and_dirs() {
        let t = build_tar(&[
            FileEntry::Dir { path: "/etc/x".into(), mode: 0o755, uid: 0, gid: 0 },
            FileEntry::file("/etc/x/a.conf", "a=1\n"),
            FileEntry::Symlink { path: "/etc/x/b".into(), target: "/lib/b".into() },
        ])
        .unwrap();
        let mut a = tar::Archive::new(t.as_slice());
        let names: Vec<String> = a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["etc/x", "etc/x/a.conf", "etc/x/b"]);
    }
}
