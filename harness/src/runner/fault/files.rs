//! Files a fault edits: read with their mode and owner before, written back alike, proven to
//! read back as written, and the operator's "fix the file" (the edit undone, nothing restarted).

use super::{must, Injected, NotInEffect, Original, Undo, DEADLINE};
use crate::testbed::engine::{ExecOutput, FileEntry};
use crate::testbed::{Lab, Role};
use anyhow::{bail, Context, Result};

/// A file's bytes and metadata, or None when it does not exist.
pub(super) async fn read_original(lab: &Lab, on: Role, path: &str) -> Result<Option<Original>> {
    let st = lab.exec(on, &["stat", "-c", "%a %u %g", path], DEADLINE).await?;
    if !st.success() {
        return Ok(None);
    }
    let bytes = lab.engine.download(&lab.name(on), path).await.with_context(|| format!("reading {path}"))?;
    Ok(Some(Original { bytes, mode_owner: st.stdout.trim().to_string() }))
}

/// Writes `bytes` to `path` keeping the mode and owner `like` had.
pub(super) async fn write_like(lab: &Lab, on: Role, path: &str, bytes: Vec<u8>, like: Option<&Original>) -> Result<()> {
    lab.engine.upload(&lab.name(on), &[FileEntry::file(path.to_string(), bytes)]).await?;
    if let Some(o) = like {
        let mut p = o.mode_owner.split(' ');
        let (mode, uid, gid) = (p.next().unwrap_or("644"), p.next().unwrap_or("0"), p.next().unwrap_or("0"));
        must(lab, on, &format!("chmod {mode} '{path}' && chown {uid}:{gid} '{path}'")).await?;
    }
    Ok(())
}

/// The operator's "fix the file": every file a fault edited put back as it was, without the
/// restart the heal would add (the runbook's own restart follows). The evidence is the edit the
/// operator makes, as lines removed and added. The faults stay listed for the rollback.
pub async fn undo_edits(lab: &Lab, injected: &[Injected]) -> Result<ExecOutput> {
    let mut lines = Vec::new();
    for i in injected {
        let Undo::RestoreFiles { on, files, .. } = &i.undo else { continue };
        for (path, original) in files {
            let now = lab.engine.download(&lab.name(*on), path).await.unwrap_or_default();
            match original {
                Some(o) => {
                    lines.push(format!("{path} on {}:", on.as_str()));
                    lines.extend(edit_lines(&String::from_utf8_lossy(&now), &String::from_utf8_lossy(&o.bytes)));
                    write_like(lab, *on, path, o.bytes.clone(), Some(o)).await?;
                    read_back(lab, *on, path, &o.bytes).await?;
                }
                None => {
                    lines.push(format!("{path} on {}: removed (the fault created it)", on.as_str()));
                    lab.exec(*on, &["rm", "-f", path], DEADLINE).await?;
                }
            }
        }
    }
    if lines.is_empty() {
        bail!("fix-file: no fault of this scenario edited a file");
    }
    Ok(ExecOutput { exit_code: Some(0), stdout: lines.join("\n"), stderr: String::new() })
}

/// The edit from `now` back to `was`, line by line: `- ` what goes, `+ ` what comes back.
fn edit_lines(now: &str, was: &str) -> Vec<String> {
    let (n, w): (Vec<&str>, Vec<&str>) = (now.lines().collect(), was.lines().collect());
    let gone = n.iter().filter(|l| !w.contains(l)).map(|l| format!("- {l}"));
    let back = w.iter().filter(|l| !n.contains(l)).map(|l| format!("+ {l}"));
    gone.chain(back).collect()
}

/// The file must read back as written.
pub(super) async fn read_back(lab: &Lab, on: Role, path: &str, want: &[u8]) -> Result<String> {
    let got = lab.engine.download(&lab.name(on), path).await.with_context(|| format!("reading back {path}"))?;
    if got != want {
        return Err(NotInEffect(format!("{path} on {} does not read back as written", on.as_str())).into());
    }
    Ok(format!("{path} reads back as written ({} bytes)", got.len()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operators_edit_is_the_lines_the_fault_changed() {
        let was = "launch=gsqlite3\nlocal-port=53\n";
        assert_eq!(super::edit_lines("launch=gsqlite3\nlocal-port=5x3\n", was), ["- local-port=5x3", "+ local-port=53"]);
        assert_eq!(super::edit_lines("launch=gsqlite3\nlocal-port=53\nlocal-adress=1.2.3.4\n", was), ["- local-adress=1.2.3.4"]);
    }
}
