//! A daemon setting changed where the operators' files set it (the line, or a forward-zones-file
//! entry), restarted where the fault says, and proven by the daemon's own report of the value.

use super::files::{read_back, read_original, write_like};
use super::{prove, settle, Injected, NotInEffect, Undo, DEADLINE};
use crate::inputs::settings::{self, Daemon, Settings};
use crate::scenario::{SettingEdit, SettingTarget};
use crate::testbed::config::RecursorSettings;
use crate::testbed::provision::{OLD_STYLE_DIR, RECONVERT};
use crate::testbed::{Lab, Role};
use anyhow::{anyhow, Context, Result};

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

pub(super) async fn inject_setting(lab: &Lab, d: Daemon, key: &str, edit: &SettingEdit, restart: bool, planned: &SettingTarget) -> Result<Injected> {
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

#[cfg(test)]
mod tests {
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
