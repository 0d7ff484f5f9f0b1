//! `pdns-drill check` validates a lab's inputs without Docker: with DOCKER_HOST pointing
//! nowhere it still passes the shipped labs, and names the file and line of a broken one.

use crate::common;

use common::copy_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary with no engine reachable: any attempt to use Docker would fail the command.
fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent")
        .env_remove("PDNS_DRILL_SUITE")
        .env_remove("PDNS_DRILL_RECURSOR_SETTINGS")
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A copy of the shipped config dir, for breaking one file of it.
fn shipped_copy(into: &Path) -> PathBuf {
    let to = into.join("etc-powerdns");
    copy_dir(&root().join("lab/etc-powerdns"), &to);
    to
}

/// Replaces the one line of `file` that starts with `prefix`; returns its 1-based number.
fn break_line(file: &Path, prefix: &str, with: &str) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = lines.iter().position(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{} has no line {prefix:?}", file.display()));
    lines[i] = with.to_string();
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
    i + 1
}

#[test]
fn shipped_lab_is_valid_without_docker() {
    let o = check(&[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("lab/etc-powerdns") && out.contains("sha256 "), "{out}");
    assert!(out.contains("lab-network 10.10.0.0/16"), "{out}");
    assert!(out.contains("would-run      recursor-down"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("check: inputs valid; "), "{out}");
}

#[test]
fn branch_office_is_valid_without_docker() {
    let o = check(&["--config-dir", "labs/branch-office/etc-powerdns", "--zone", "labs/branch-office/zone/dns-records.md"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("labs/branch-office/etc-powerdns"), "{out}");
}

/// The authoritative on loopback:5300 behind the recursor, both on the VM's one lab address:
/// accepted, and exactly the scenarios whose premise is a lab host asking the authoritative are
/// not-simulated, each with the setting that says why.
#[test]
fn edge_host_is_valid_and_names_why_a_scenario_cannot_apply() {
    let o = check(&["--json", "--config-dir", "labs/edge-host/etc-powerdns", "--zone", "labs/edge-host/zone/dns-records.md"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let scenarios = doc["scenarios"].as_array().unwrap();
    let status = |name: &str| scenarios.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no {name}"))["status"].as_str().unwrap().to_string();
    // A workstation pointed at the authoritative, a forward naming its lab address, a triage
    // probe that skips the recursor: no premise here.
    for name in ["wrong-resolver", "tri-blind-forward-swapped", "tri-blind-hop-blocked"] {
        let s = scenarios.iter().find(|s| s["name"] == name).unwrap();
        assert_eq!(s["status"], "not-simulated", "{s}");
        assert!(s["reason"].as_str().unwrap().contains("the authoritative has no lab address: it listens at 127.0.0.1:5300 (pdns.conf:7 local-address)"), "{s}");
    }
    // Asked from inside the VM instead: these run.
    for name in ["auth-down", "recursor-down", "partial-commit", "sqlite-truncated", "healthy-lab"] {
        assert_eq!(status(name), "would-run", "{name}");
    }
}

/// `auth` = `vm` is a layout, not an error: what the testbed cannot build then is pdns still
/// listening on the address drill.toml no longer has, named by its own file and line (exit 2).
/// Two hosts on one address is exit 2 naming both keys.
#[test]
fn drill_toml_shared_addresses_are_honoured_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let conf = shipped_copy(dir.path());
    let drill = conf.join("drill.toml");
    break_line(&drill, "auth =", "auth = \"10.10.0.10\"");
    let listen = break_line(&conf.join("pdns.conf"), "local-address=", "local-address=127.0.0.1:5300, 203.0.113.53");
    let o = check(&["--config-dir", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    break_line(&conf.join("pdns.conf"), "local-address=", "local-address=10.10.0.54, 203.0.113.53");
    let (o, (_, err)) = { let o = check(&["--config-dir", conf.to_str().unwrap()]); let t = text(&o); (o, t) };
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("pdns.conf:{listen}: pdns local-address 10.10.0.54 is not an address of the VM in drill.toml")), "{err}");
    let line = break_line(&drill, "workstation =", "workstation = \"10.10.0.10\"");
    let o = check(&["--config-dir", conf.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("drill.toml:{line}: `workstation` = 10.10.0.10 is also `vm`")), "{err}");
    assert!(err.contains("only `recursor` and `auth` may share the VM's"), "{err}");
}

#[test]
fn json_carries_the_same_facts() {
    let o = check(&["--json", "--suite", "trixie"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["inputs"]["recursor_settings"], "yaml");
    assert_eq!(doc["inputs"]["config_dir_hash"].as_str().map(str::len), Some(64));
    assert!(doc["mappings"].as_array().is_some_and(|m| !m.is_empty()));
    assert_eq!(doc["problems"].as_array().map(Vec::len), Some(0));
    // Steps that edit the old-style recursor files do not apply once they are converted.
    let scenarios = doc["scenarios"].as_array().unwrap();
    let net_bind = scenarios.iter().find(|s| s["name"] == "net-bind").unwrap();
    assert_eq!(net_bind["status"], "not-simulated");
    assert!(net_bind["reason"].as_str().is_some_and(|r| r.contains("YAML")), "{net_bind}");
}

#[test]
fn broken_recursor_conf_line_is_exit_2_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let conf = shipped_copy(d.path());
    let line = break_line(&conf.join("recursor.conf"), "quiet=", "quiet yes");
    let o = check(&["--config-dir", conf.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("recursor.conf:{line}: `quiet yes` is not a setting name")), "{err}");
}

#[test]
fn broken_drill_toml_is_exit_2_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let conf = shipped_copy(d.path());
    let line = break_line(&conf.join("drill.toml"), "recursor =", "recursor = 10.10.0.53");
    let o = check(&["--config-dir", conf.to_str().unwrap(), "--json"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("drill.toml:{line}: invalid address map")), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["problems"][0].as_str().is_some_and(|p| p.contains("drill.toml:")), "{doc}");
}
