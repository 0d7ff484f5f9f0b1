//! The CI gate: a config change that breaks a claim makes `run --baseline` fail with a
//! readable diff against the committed baseline.

use crate::common;

use common::copy_dir;
use std::path::Path;
use std::process::Command;

#[test]
fn recursor_without_loopback_breaks_dae_recs_correction_and_fails_the_gate() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let baseline = root.join("reports/baseline.json");
    let approved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&baseline).expect("reports/baseline.json is committed")).unwrap();
    let dae_rec = &approved["claims"]["DAE-REC"];
    assert_eq!((dae_rec["verdict"].as_str(), dae_rec["correction"].as_bool()), (Some("contradicted"), Some(true)), "the baseline approves DAE-REC contradicted with a verified correction: {dae_rec}");
    // An operator's edit: the recursor no longer listens on 127.0.0.1, so the runbook's
    // on-VM verification `dig @127.0.0.1 google.com A +short`, which the correction keeps after
    // its restart with sudo, cannot answer: the correction no longer verifies.
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("etc-powerdns");
    copy_dir(&root.join("lab/etc-powerdns"), &conf);
    let fwd = conf.join("recursor.d/10-lab-forwarder.conf");
    let text = std::fs::read_to_string(&fwd).unwrap().replace("local-address=127.0.0.1, ", "local-address=");
    std::fs::write(&fwd, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(&root)
        .args(["run", "recursor-down", "--format", "json,junit", "--baseline"])
        .arg(&baseline)
        .arg("--config-dir")
        .arg(&conf)
        .arg("--report-dir")
        .arg(d.path().join("reports"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "gate must fail\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("verdicts DIFFER"), "{stdout}");
    // The gate is an artefact where the CI looks: gate.json and the JUnit failure name the change.
    let reports = d.path().join("reports");
    let gate: serde_json::Value = serde_json::from_slice(&std::fs::read(reports.join("gate.json")).unwrap()).unwrap();
    assert_eq!((gate["outcome"].as_str(), gate["exit_code"].as_i64()), (Some("fail"), Some(1)), "{gate}");
    let change = gate["changes"].as_array().unwrap().iter().find(|c| c["claim"] == "DAE-REC").unwrap_or_else(|| panic!("{gate}"));
    assert!(change.to_string().contains("not verified"), "the correction stopped verifying: {gate}");
    assert_eq!(gate["baseline"]["path"].as_str(), Some(baseline.to_str().unwrap()));
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    let failures: Vec<&str> = junit.split("<testcase ").skip(1).filter(|c| c.contains("<failure")).collect();
    assert!(failures.iter().any(|f| f.starts_with("name=\"DAE-REC\"")), "the changed claim fails in the test view:\n{junit}");
    // What the runbook's restart met, as its operator: polkit's refusal, verbatim in the history.
    let history = std::fs::read_to_string(reports.join("history.json")).unwrap();
    assert!(history.contains("(as ze) systemctl restart pdns-recursor") && history.contains("Interactive authentication required"), "the runbook's restart ran as ze");
}

/// With every verdict as approved the gate is green in every view: exit 0, gate.json `pass`, no
/// JUnit failure (approved contradictions pass, marked as approved). The two conf-*-syntax
/// scenarios decide CAUSE-CONF between them, and contradict it on the shipped lab.
#[test]
fn as_approved_is_green_in_every_view() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tempfile::tempdir().unwrap();
    let run = |dir: &str, baseline: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pdns-drill"));
        c.current_dir(&root).args(["run", "conf-pdns-syntax", "conf-recursor-syntax", "--format", "json,junit", "--report-dir"]).arg(d.path().join(dir));
        if let Some(b) = baseline {
            c.arg("--baseline").arg(b);
        }
        c.output().unwrap()
    };
    let first = run("first", None);
    // Without a baseline a contradiction is new: exit 1 (CAUSE-CONF, asserted below).
    assert_eq!(first.status.code(), Some(1), "{}", String::from_utf8_lossy(&first.stderr));
    let b = d.path().join("baseline.json");
    let accept = Command::new(env!("CARGO_BIN_EXE_pdns-drill")).current_dir(&root).args(["baseline", "accept", "--from"]).arg(d.path().join("first/report.json")).arg("--to").arg(&b).output().unwrap();
    assert!(accept.status.success(), "{}", String::from_utf8_lossy(&accept.stderr));
    let again = run("again", Some(&b));
    let out = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&again.stderr));
    let gate: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("again/gate.json")).unwrap()).unwrap();
    assert_eq!(gate["outcome"], "pass", "{gate}");
    let junit = std::fs::read_to_string(d.path().join("again/junit.xml")).unwrap();
    assert!(!junit.contains("<failure") && !junit.contains("<error"), "{junit}");
    let first: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("first/report.json")).unwrap()).unwrap();
    let cause_conf = first["claims"].as_array().unwrap().iter().find(|c| c["id"] == "CAUSE-CONF").unwrap();
    assert_eq!(cause_conf["verdict"], "contradicted", "the premise of this test: {cause_conf}");
    let case = junit.split("<testcase ").find(|c| c.starts_with("name=\"CAUSE-CONF\"")).unwrap();
    assert!(case.contains("name=\"approved\" value=\"contradicted\"") && case.contains("approved contradiction"), "an approved contradiction says so:\n{case}");
}

/// A config the daemons refuse never reaches a scenario: the preflight is the finding, with the
/// failing checks and the recursor's own fatal line, exit 1, and no scenario lab.
#[test]
fn a_lab_that_does_not_settle_fails_the_preflight_with_the_daemons_reason() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("etc-powerdns");
    copy_dir(&root.join("lab/etc-powerdns"), &conf);
    let fwd = conf.join("recursor.d/10-lab-forwarder.conf");
    let text = std::fs::read_to_string(&fwd).unwrap();
    let broken: String = text.lines().map(|l| if l.starts_with("forward-zones=") { "forward-zones=sub.comptech-lab.com" } else { l }).collect::<Vec<_>>().join("\n");
    std::fs::write(&fwd, broken).unwrap();
    common::image_built();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(&root)
        .args(["run", "recursor-down", "--format", "json,md"])
        .arg("--config-dir")
        .arg(&conf)
        .arg("--report-dir")
        .arg(d.path().join("reports"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("PREFLIGHT FAILED"), "{stdout}");
    assert!(stdout.contains("pdns-recursor is") && stdout.contains("missing ="), "the recursor's own reason: {stdout}");
    assert!(!stderr.contains("start  recursor-down") && !stdout.contains("recursor-down"), "no scenario may run: {stdout}\n{stderr}");
    // A crash loop ends the wait early, not at the 60 s deadline.
    assert!(started.elapsed() < std::time::Duration::from_secs(50), "took {:?}", started.elapsed());
    let md = std::fs::read_to_string(d.path().join("reports/report.md")).unwrap();
    assert!(md.contains("Preflight failed"), "{md}");
    let gate = std::fs::read_to_string(d.path().join("reports/gate.json")).unwrap();
    assert!(gate.contains("\"outcome\": \"fail\"") && gate.contains("preflight"), "{gate}");
}

/// Verdicts are a pure function of the history: `pdns-drill conclude` on a run's directory
/// gives the same verdicts, parts and severities as the run did, without containers.
#[test]
fn conclude_reproduces_a_runs_verdicts_from_its_history_alone() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(&root)
        .args(["run", "recursor-down", "--format", "json", "--report-dir"])
        .arg(d.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some(), "{stderr}");
    // Not a terminal (a CI log): one plain line when the scenario starts and one when it ends.
    assert!(stderr.lines().any(|l| l == "   start  recursor-down"), "{stderr}");
    // Unbaselined, DAE-REC's contradiction (the runbook's restart refused to its operator) is
    // a deviation.
    assert!(stderr.lines().any(|l| l.starts_with("DEVIATED  recursor-down")), "{stderr}");
    let run_dir = d.path().to_path_buf();
    let before: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    std::fs::remove_file(run_dir.join("report.json")).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_pdns-drill")).args(["conclude", "--format", "json"]).arg(&run_dir).output().unwrap();
    assert_eq!(again.status.code(), out.status.code(), "{}", String::from_utf8_lossy(&again.stderr));
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    let verdicts = |r: &serde_json::Value| -> Vec<(String, String, String)> {
        r["claims"].as_array().unwrap().iter().map(|c| (c["id"].to_string(), c["verdict"].to_string(), c["parts"].to_string())).collect()
    };
    assert_eq!(verdicts(&before), verdicts(&after));
    assert!(verdicts(&after).iter().any(|(id, v, _)| id == "\"DAE-REC\"" && v == "\"contradicted\""), "{:?}", verdicts(&after));
}

/// A correction is verified by its own steps, judged before the harness rolls back the faults it
/// re-injected. NET-FW's correction with its repair cut off (it only shows the rules and their
/// hits) leaves the firewall in place: the rollback would restore the lab, but the check before
/// it does not hold, so the correction no longer verifies and the gate fails on exactly that.
#[test]
fn a_correction_that_does_not_restore_the_lab_fails_the_gate() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tempfile::tempdir().unwrap();
    // The whole directory, so the filter leaves out what else decides MON-SYNTH: NET-FW alone
    // is held to the baseline.
    let scenarios = d.path().join("scenarios");
    copy_dir(&root.join("scenarios"), &scenarios);
    let file = scenarios.join("42-net-fw-iptables.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let repair = text.find("[[correction.step]]\nrun = \"iptables -D INPUT").expect("the correction's repair step");
    std::fs::write(&file, &text[..repair]).unwrap();
    let baseline = root.join("reports/baseline.json");
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(&root)
        .args(["run", "net-fw-iptables", "net-fw-ufw", "--format", "json", "--scenarios"])
        .arg(&scenarios)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--report-dir")
        .arg(d.path().join("reports"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let gate: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("reports/gate.json")).unwrap()).unwrap();
    let changes = gate["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "only the correction changed: {gate}");
    assert_eq!(changes[0]["claim"], "NET-FW", "{gate}");
    assert!(changes[0].to_string().contains("not verified"), "{gate}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("reports/report.json")).unwrap()).unwrap();
    let history = std::fs::read_to_string(d.path().join("reports/history.json")).unwrap();
    assert!(history.contains("steady state not reached by the correction's own steps"), "the check before the rollback is what failed");
    let net_fw = report["claims"].as_array().unwrap().iter().find(|c| c["id"] == "NET-FW").unwrap();
    assert_eq!(net_fw["verdict"], "contradicted", "the claim's own verdict is unchanged: {net_fw}");
}
