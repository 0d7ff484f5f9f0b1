//! Faults: each one injected for real into the lab, proven to have taken effect, and healed
//! afterwards whatever happened in between. Acts only on this run's containers. The scenario
//! is already bound to the lab: nothing here fills placeholders.

use crate::testbed::engine::{ExecOutput, FileEntry, State};
use crate::scenario::{Fault, SettingEdit, SettingTarget};
use crate::inputs::settings::{self, Daemon, Settings};
use crate::testbed::config::RecursorSettings;
use crate::testbed::provision::{OLD_STYLE_DIR, RECONVERT};
use crate::testbed::{Lab, Role};
use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

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

/// A file's bytes and metadata, or None when it does not exist.
async fn read_original(lab: &Lab, on: Role, path: &str) -> Result<Option<Original>> {
    let st = lab.exec(on, &["stat", "-c", "%a %u %g", path], DEADLINE).await?;
    if !st.success() {
        return Ok(None);
    }
    let bytes = lab.engine.download(&lab.name(on), path).await.with_context(|| format!("reading {path}"))?;
    Ok(Some(Original { bytes, mode_owner: st.stdout.trim().to_string() }))
}

/// Writes `bytes` to `path` keeping the mode and owner `like` had.
async fn write_like(lab: &Lab, on: Role, path: &str, bytes: Vec<u8>, like: Option<&Original>) -> Result<()> {
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
async fn read_back(lab: &Lab, on: Role, path: &str, want: &[u8]) -> Result<String> {
    let got = lab.engine.download(&lab.name(on), path).await.with_context(|| format!("reading back {path}"))?;
    if got != want {
        return Err(NotInEffect(format!("{path} on {} does not read back as written", on.as_str())).into());
    }
    Ok(format!("{path} reads back as written ({} bytes)", got.len()))
}

/// The value a running daemon uses for `key`, from its control tool; None when it uses its
/// built-in default (pdns marks defaults as comments in current-config).
async fn daemon_value(lab: &Lab, d: Daemon, key: &str) -> Result<std::result::Result<Option<String>, String>> {
    let o = match d {
        Daemon::Recursor => lab.sh(Role::PdnsVm, &format!("rec_control get-parameter {key}"), DEADLINE).await?,
        Daemon::Auth => lab.sh(Role::PdnsVm, "pdns_control current-config", DEADLINE).await?,
    };
    if !o.success() {
        return Ok(Err(format!("{} control tool: {}", d.unit(), o.summary(200))));
    }
    let line = o.stdout.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix(&format!("{key}=")).map(|v| Some(v.trim().trim_matches('"').to_string())).or_else(|| l.strip_prefix(&format!("# {key}=")).map(|_| None))
    });
    Ok(line.ok_or_else(|| format!("{} does not report {key}", d.unit())))
}

fn same_items(a: &str, b: &str) -> bool {
    let mut x = settings::items(a);
    let mut y = settings::items(b);
    x.sort();
    y.sort();
    x == y
}

/// Reads the daemon's old-style files as they are on the VM now, from `base` (laid out like
/// /etc/powerdns).
async fn settings_on_vm(lab: &Lab, d: Daemon, t: &SettingTarget, base: &str) -> Result<Settings> {
    let mut files = Vec::new();
    for path in &t.daemon_files {
        let text = lab.engine.download(&lab.name(Role::PdnsVm), path).await.with_context(|| format!("reading {path}"))?;
        let rel = path.trim_start_matches(base).trim_start_matches('/').to_string();
        files.push((rel, String::from_utf8_lossy(&text).into_owned()));
    }
    Ok(Settings::read(d, &files, crate::inputs::settings::ETC))
}

/// A recursor whose settings were converted to YAML (`--recursor-settings yaml`) keeps the
/// operators' old-style files aside: the edit goes there, and the recursor's converter turns
/// them into the YAML it reads. The target moved into that dir, and the YAML files the
/// conversion rewrites (kept for the heal).
pub fn yaml_source(t: &SettingTarget) -> (SettingTarget, Vec<String>) {
    use crate::inputs::settings::ETC;
    let moved = |p: &String| format!("{OLD_STYLE_DIR}{}", p.strip_prefix(ETC).unwrap_or(p));
    let yaml: Vec<String> = t
        .daemon_files
        .iter()
        .map(|p| match p.strip_suffix(".conf") {
            Some(stem) if p.starts_with(&format!("{ETC}/recursor.d/")) => format!("{stem}.yml"),
            _ => p.clone(),
        })
        .collect();
    let moved_target = SettingTarget {
        file: moved(&t.file),
        line: t.line,
        appends: t.appends.iter().map(moved).collect(),
        daemon_files: t.daemon_files.iter().map(moved).collect(),
        forward_file: t.forward_file,
    };
    (moved_target, yaml)
}

/// A forward the lab keeps in its forward-zones-file: that line edited in place, the recursor
/// restarted as for `forward-zones` (it reads the file at start), and the journal of the new
/// process must show the file read.
async fn inject_forward_line(lab: &Lab, key: &str, edit: &SettingEdit, restart: bool, t: &SettingTarget) -> Result<Injected> {
    let vm = Role::PdnsVm;
    let line = t.line.ok_or_else(|| anyhow!("forward-zones-file edit of {key} was planned without a line"))?;
    let orig = read_original(lab, vm, &t.file).await?.ok_or_else(|| NotInEffect(format!("{} is not on the VM", t.file)))?;
    let text = String::from_utf8_lossy(&orig.bytes).into_owned();
    let (entries, _) = settings::parse_forward_file(&text);
    let old = entries.iter().find(|e| e.line == line).map(|e| e.entry()).ok_or_else(|| NotInEffect(format!("{}:{line} holds no forward", t.file)))?;
    let new = edit.apply(key, Some(&old)).map_err(NotInEffect)?;
    let out = settings::rewrite_forward_line(&text, line, new.as_deref()).into_bytes();
    write_like(lab, vm, &t.file, out.clone(), Some(&orig)).await?;
    let unit = Daemon::Recursor.unit();
    let undo = Undo::RestoreFiles { on: vm, files: vec![(t.file.clone(), Some(orig))], restart: restart.then(|| unit.to_string()) };
    let description = format!(
        "{unit} forward-zones-file {}:{line} ({key}): `{old}` → {}{}",
        t.file,
        new.as_deref().map_or("line removed".to_string(), |n| format!("`{n}`")),
        if restart { format!("; systemctl restart {unit}") } else { String::new() }
    );
    let proof = async {
        let mut proof = vec![read_back(lab, vm, &t.file, &out).await?];
        if restart {
            proof.push(restart_reading(lab, &t.file).await?);
        }
        Ok::<String, anyhow::Error>(proof.join("; "))
    }
    .await;
    settle(lab, undo, description, proof).await
}

/// Restarts the recursor and shows that the new process read `file` (its journal names it).
async fn restart_reading(lab: &Lab, file: &str) -> Result<String> {
    let vm = Role::PdnsVm;
    let unit = Daemon::Recursor.unit();
    // The restart may fail: that is often the symptom under test.
    lab.sh(vm, &format!("systemctl restart {unit}"), DEADLINE).await?;
    let script = format!("journalctl -u {unit} _PID=$(systemctl show -p MainPID --value {unit}) --no-pager -o cat | grep -F '{file}' | tail -1");
    prove(|| async {
        let o = lab.sh(vm, &script, DEADLINE).await?;
        let seen = o.stdout.trim();
        Ok(if seen.is_empty() { Err(format!("the restarted {unit} does not log reading {file}")) } else { Ok(format!("the restarted {unit} read it: {seen}")) })
    })
    .await
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

async fn inject_setting(lab: &Lab, d: Daemon, key: &str, edit: &SettingEdit, restart: bool, planned: &SettingTarget) -> Result<Injected> {
    if planned.forward_file {
        return inject_forward_line(lab, key, edit, restart, planned).await;
    }
    let vm = Role::PdnsVm;
    let yaml = d == Daemon::Recursor && lab.vm_build().recursor_settings == RecursorSettings::Yaml;
    let (target, yaml_files) = if yaml { yaml_source(planned) } else { (planned.clone(), vec![]) };
    let t = &target;
    let base = if yaml { OLD_STYLE_DIR } else { crate::inputs::settings::ETC };
    let before = settings_on_vm(lab, d, t, base).await?;
    let old = before.get(key);
    let new = edit.apply(key, old.as_deref()).map_err(NotInEffect)?;
    // Every file touched keeps its original for the heal.
    let mut touched: Vec<String> = vec![t.file.clone()];
    touched.extend(t.appends.iter().filter(|f| **f != t.file).cloned());
    let mut originals = Vec::new();
    let mut written = Vec::new();
    for path in &touched {
        let orig = read_original(lab, vm, path).await?;
        let text = orig.as_ref().map(|o| String::from_utf8_lossy(&o.bytes).into_owned()).unwrap_or_default();
        let out = if *path == t.file {
            match (&new, t.line) {
                (Some(v), Some(line)) => settings::rewrite(&text, key, Some(line), Some(v), true),
                (Some(v), None) => format!("{}{}{key}={v}\n", settings::rewrite(&text, key, None, None, true), if text.ends_with('\n') || text.is_empty() { "" } else { "\n" }),
                (None, line) => settings::rewrite(&text, key, line, None, true),
            }
        } else {
            settings::rewrite(&text, key, Some(0), None, true)
        };
        written.push((path.clone(), out.clone().into_bytes()));
        write_like(lab, vm, path, out.into_bytes(), orig.as_ref()).await?;
        originals.push((path.clone(), orig));
    }
    for path in &yaml_files {
        originals.push((path.clone(), read_original(lab, vm, path).await?));
    }
    let undo = Undo::RestoreFiles { on: vm, files: originals, restart: restart.then(|| d.unit().to_string()) };
    let what = match &new {
        Some(v) => format!("{key}={v}"),
        None => format!("{key} removed"),
    };
    let converted = if yaml { format!(", converted to the YAML the recursor reads ({RECONVERT}: `rec_control show-yaml`)") } else { String::new() };
    let description = format!(
        "{} {} in {} (was {}){converted}{}",
        d.unit(),
        what,
        t.file,
        old.as_deref().map_or("unset".to_string(), |o| format!("{key}={o}")),
        if restart { format!("; systemctl restart {}", d.unit()) } else { String::new() }
    );
    // From here on the heal must run whatever the proof says.
    let proof = async {
        let mut proof = Vec::new();
        for (path, bytes) in &written {
            proof.push(read_back(lab, vm, path, bytes).await?);
        }
        let after = settings_on_vm(lab, d, t, base).await?.get(key);
        if after != new {
            return Err(NotInEffect(format!("the files give {key}={} after the edit, not {}", after.unwrap_or_default(), new.clone().unwrap_or_default())).into());
        }
        if yaml {
            // The daemon judges what the converter wrote, valid or not.
            let o = lab.sh(vm, RECONVERT, DEADLINE).await?;
            if !o.success() {
                return Err(NotInEffect(format!("the recursor's converter refused the edited settings: {}", o.summary(300))).into());
            }
            let validation: Vec<&str> = o.stdout.lines().filter_map(|l| l.strip_prefix("# Validation result: ")).collect();
            proof.push(format!("rec_control show-yaml: {}", validation.join(", ")));
        }
        if !restart {
            return Ok(proof.join("; "));
        }
        // The restart may fail: that is often the symptom under test.
        lab.sh(vm, &format!("systemctl restart {}", d.unit()), DEADLINE).await?;
        let active = lab.sh(vm, &format!("systemctl is-active {}", d.unit()), DEADLINE).await?;
        if active.stdout.trim() != "active" {
            let log = lab
                .sh(vm, &format!("journalctl -u {} -n 30 --no-pager -o cat | grep -iE 'fatal|error|unable|exiting' | tail -2", d.unit()), DEADLINE)
                .await?;
            proof.push(format!("{} did not stay up with it ({}): {}", d.unit(), active.stdout.trim(), log.stdout.trim().replace('\n', " | ")));
            return Ok(proof.join("; "));
        }
        let want = new.clone();
        let seen = prove(|| async {
            Ok(match daemon_value(lab, d, key).await? {
                Err(e) => Err(e),
                Ok(v) => match (&want, &v) {
                    (Some(w), Some(v)) if same_items(w, v) => Ok(format!("{} reports {key}={v}", d.unit())),
                    (None, v) if v.as_deref() != old.as_deref() || v.is_none() => {
                        Ok(format!("{} reports {key}={}", d.unit(), v.as_deref().unwrap_or("<built-in default>")))
                    }
                    _ => Err(format!("{} still reports {key}={}", d.unit(), v.unwrap_or_default())),
                },
            })
        })
        .await?;
        proof.push(seen);
        Ok::<String, anyhow::Error>(proof.join("; "))
    }
    .await;
    settle(lab, undo, description, proof).await
}

/// Where the overwrite's garbage page is staged on the VM.
const GARBAGE: &str = "/root/.pdns-drill-garbage-page";

/// Overwrites with garbage every page of the b-tree of `of` (a table or an index) in the SQLite
/// `file` on the VM, as it lies there now: the pages found in the file itself, skipping those
/// its `-wal` holds a newer copy of (the overwrite would go unread). In place (`dd
/// conv=notrunc`), so a daemon holding the file open reads the damage. Proven by reading the
/// pages back. Returns what was done and the proof, naming the pages hit and how many the file
/// has; a fault that cannot land is a [`NotInEffect`].
pub async fn overwrite_pages(lab: &Lab, file: &str, of: &str) -> Result<(String, String)> {
    use crate::inputs::zone::corrupt;
    let vm = Role::PdnsVm;
    let before = lab.engine.download(&lab.name(vm), file).await.with_context(|| format!("reading {file}"))?;
    let layout = corrupt::btree_pages(&before, of).map_err(|e| NotInEffect(format!("{file}: {e:#}")))?;
    let ps = layout.page_size;
    let wal = format!("{file}-wal");
    let in_wal = match lab.exec(vm, &["stat", "-c", "%s", &wal], DEADLINE).await? {
        st if st.success() && st.stdout.trim() != "0" => corrupt::wal_pages(&lab.engine.download(&lab.name(vm), &wal).await.with_context(|| format!("reading {wal}"))?),
        _ => Default::default(),
    };
    let (masked, hit): (Vec<u32>, Vec<u32>) = layout.pages.iter().partition(|p| in_wal.contains(p));
    let object = format!("the {} `{of}`{}", layout.kind, if layout.kind == "index" { format!(" (of table {})", layout.table) } else { String::new() });
    let masked_note = if masked.is_empty() { String::new() } else { format!("; left: {} (newer copies in {wal})", corrupt::pages_phrase(&masked, layout.page_count)) };
    if hit.is_empty() {
        return Err(NotInEffect(format!("every page of {object} in {file} has a newer copy in {wal}: an overwrite would not be read ({})", corrupt::pages_phrase(&masked, layout.page_count))).into());
    }
    let garbage = corrupt::garbage_page(ps);
    lab.engine.upload(&lab.name(vm), &[FileEntry::file(GARBAGE.to_string(), garbage.clone())]).await?;
    let dd: Vec<String> = hit.iter().map(|p| format!("dd if={GARBAGE} of='{file}' bs={ps} seek={} count=1 conv=notrunc status=none", p - 1)).collect();
    must(lab, vm, &format!("{} && rm -f {GARBAGE}", dd.join(" && "))).await?;
    let description = format!(
        "{file}: {} ({ps} bytes each; the b-tree of {object}, {} page(s) in all) overwritten with garbage{masked_note}",
        corrupt::pages_phrase(&hit, layout.page_count),
        layout.pages.len()
    );
    let after = lab.engine.download(&lab.name(vm), file).await.with_context(|| format!("reading back {file}"))?;
    let wrong: Vec<u32> = hit.iter().copied().filter(|p| after.get((*p as usize - 1) * ps..*p as usize * ps) != Some(&garbage[..])).collect();
    if !wrong.is_empty() {
        return Err(NotInEffect(format!("{file}: {} do(es) not read back as the garbage written", corrupt::pages_phrase(&wrong, layout.page_count))).into());
    }
    let proof = format!(
        "{} read back as the garbage; the file is {} bytes ({} before){}",
        corrupt::pages_phrase(&hit, layout.page_count),
        after.len(),
        before.len(),
        if in_wal.is_empty() { format!("; {wal} holds no page") } else { format!("; {wal} holds {} page(s), none of those hit", in_wal.len()) }
    );
    Ok((description, proof))
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_operators_edit_is_the_lines_the_fault_changed() {
        let was = "launch=gsqlite3\nlocal-port=53\n";
        assert_eq!(super::edit_lines("launch=gsqlite3\nlocal-port=5x3\n", was), ["- local-port=5x3", "+ local-port=53"]);
        assert_eq!(super::edit_lines("launch=gsqlite3\nlocal-port=53\nlocal-adress=1.2.3.4\n", was), ["- local-adress=1.2.3.4"]);
    }

    use super::*;

    #[test]
    fn list_edits() {
        let e = SettingEdit::RemoveItem("10.0.0.53".into()).apply("local-address", Some("127.0.0.1, ::1, 10.0.0.53")).unwrap();
        assert_eq!(e.as_deref(), Some("127.0.0.1, ::1"));
        let missing = SettingEdit::RemoveItem("10.9.9.9".into()).apply("local-address", Some("127.0.0.1")).unwrap_err();
        assert!(missing.contains("has no item 10.9.9.9"), "{missing}");
        let typo = SettingEdit::ReplaceItem("10.0.0.0/16".into(), "10.0.0.0/33".into()).apply("allow-from", Some("127.0.0.0/8, 10.0.0.0/16"));
        assert_eq!(typo.unwrap().as_deref(), Some("127.0.0.0/8, 10.0.0.0/33"));
        assert_eq!(SettingEdit::AddItem("x".into()).apply("k", Some("a")).unwrap().as_deref(), Some("a, x"));
        assert_eq!(SettingEdit::Set("v".into()).apply("k", None).unwrap().as_deref(), Some("v"));
        assert_eq!(SettingEdit::Remove.apply("k", Some("v")).unwrap(), None);
        assert!(same_items("127.0.0.1, ::1", "::1 127.0.0.1"));
    }

    #[test]
    fn a_recursor_reading_yaml_is_edited_in_its_kept_old_style_source() {
        let t = SettingTarget {
            file: "/etc/powerdns/recursor.d/10-lab-forwarder.conf".into(),
            line: Some(3),
            appends: vec!["/etc/powerdns/recursor.d/20-more.conf".into()],
            daemon_files: vec!["/etc/powerdns/recursor.conf".into(), "/etc/powerdns/recursor.d/10-lab-forwarder.conf".into(), "/etc/powerdns/recursor.d/20-more.conf".into()],
            forward_file: false,
        };
        let (moved, yaml) = yaml_source(&t);
        assert_eq!(moved.file, "/etc/pdns-drill/recursor-old-style/recursor.d/10-lab-forwarder.conf");
        assert_eq!(moved.line, Some(3));
        assert_eq!(moved.appends, ["/etc/pdns-drill/recursor-old-style/recursor.d/20-more.conf"]);
        assert_eq!(moved.daemon_files[0], "/etc/pdns-drill/recursor-old-style/recursor.conf");
        // What the converter rewrites: the main file in place, each include file as X.yml.
        assert_eq!(yaml, ["/etc/powerdns/recursor.conf", "/etc/powerdns/recursor.d/10-lab-forwarder.yml", "/etc/powerdns/recursor.d/20-more.yml"]);
    }
}
