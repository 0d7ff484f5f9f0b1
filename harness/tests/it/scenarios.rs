//! Real scenarios through the runner: verdicts come from the daemons, not from the test.

use crate::common;

use common::{scenario, verdict};
use pdns_drill::judge::conclude;
use pdns_drill::runner;
use pdns_drill::scenario::facts::LabFacts;
use pdns_drill::scenario::plan::{self, Resolved};
use pdns_drill::scenario::Scenario;
use pdns_drill::testbed::config::{ConfigDir, ZoneInput};
use pdns_drill::claims::verdict::Verdict;

/// Runs a scenario, planned against the given lab, on a lab of its own; checks the lab was
/// removed afterwards.
async fn run_on(s: Scenario, inputs: (ConfigDir, ZoneInput)) -> runner::ScenarioRun {
    let image = common::image(&common::engine().await).await;
    common::run_scenario(s, image, inputs).await
}

/// Runs one shipped scenario on the shipped lab.
async fn run_shipped(name: &str) -> runner::ScenarioRun {
    let run = run_on(scenario(name), common::inputs()).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    run
}

/// A firewall rule put in the wrong chain does not close port 53: the symptoms the scenario
/// expects would not show, and that must read as errored (the fault did not land), never as a
/// contradiction of the runbook.
#[tokio::test(flavor = "multi_thread")]
async fn a_fault_that_does_not_take_effect_is_errored_not_contradicted() {
    if common::docker_missing() {
        return;
    }
    let s = Scenario::parse(
        "wrong-chain.toml",
        r#"
name = "wrong-chain"
section = "DNS works locally but not from another VM"
claims = ["NET-FW"]
[[fault]]
kind = "shell"
on = "pdns-vm"
inject = "iptables -I FORWARD -s {lab-net} -p udp --dport 53 -j DROP"
heal = "iptables -D FORWARD -s {lab-net} -p udp --dport 53 -j DROP"
proof = "iptables -S INPUT | grep -q -- '--dport 53 -j DROP'"
[[symptom]]
probe = "recursor"
qname = "www.google.com"
expect = { outcome = "no-reply" }
within = "3s"
"#,
    )
    .unwrap();
    let run = run_on(s, common::inputs()).await;
    let err = run.error.clone().expect("the run must be errored");
    assert!(err.contains("fault did not take effect"), "{err}");
    assert!(!run.records.iter().any(|r| r.mismatch.is_some()), "no symptom may be judged on a fault that did not land");
    let c = verdict(&run, "NET-FW");
    assert_eq!(c.verdict, Verdict::Errored, "{c:?}");
}

/// On the second lab (allow-from in its single recursor.conf, not in a recursor.d drop-in) the
/// NET-ALLOW fault edits the file that really sets it, proves the daemon took the value, and the
/// verdict is the daemons'.
#[tokio::test(flavor = "multi_thread")]
async fn setting_faults_edit_the_file_that_sets_the_value_on_another_lab() {
    if common::docker_missing() {
        return;
    }
    let run = run_on(scenario("net-allow"), common::branch_office()).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let inject = run.records.iter().find(|r| r.phase == pdns_drill::judge::model::Phase::Inject).unwrap();
    assert!(inject.action.contains("allow-from=127.0.0.0/8 in /etc/powerdns/recursor.conf"), "{}", inject.action);
    assert!(inject.observed.contains("pdns-recursor reports allow-from=127.0.0.0/8"), "{}", inject.observed);
    assert_eq!(verdict(&run, "NET-ALLOW").verdict, Verdict::Confirmed, "{:?}", verdict(&run, "NET-ALLOW").first_mismatch);
}

/// A scenario naming a role the zone lacks is not run: not-simulated, with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_role_the_zone_lacks_is_not_simulated_without_a_lab() {
    // No lab starts, but the runner holds an engine handle.
    if common::docker_missing() {
        return;
    }
    let (config, zone) = common::branch_office();
    let facts = LabFacts::read(&config, &zone.journal).unwrap();
    let s = Scenario::parse("x.toml", "name = \"x\"\nsection = \"y\"\nclaims = [\"CLI-CACHED\"]\n[[symptom]]\nprobe = \"recursor\"\nqname = \"{new.x}.{zone-parent}.invalid\"\n[[symptom]]\nrun = \"echo {recursor.nosuch-setting}\"\non = \"pdns-vm\"\n").unwrap();
    assert!(matches!(plan::resolve(&s, &facts), Resolved::NotSimulated(ref why) if why.contains("nosuch-setting")));
    let run = run_on(s, (config, zone)).await;
    assert!(run.records.is_empty() && run.error.is_none());
    let c = verdict(&run, "CLI-CACHED");
    assert_eq!(c.verdict, Verdict::NotSimulated);
    assert!(c.reason.as_deref().unwrap().contains("no file of the config dir sets nosuch-setting"), "{c:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recursor_down_is_decided_by_the_daemons() {
    if common::docker_missing() {
        return;
    }
    let run = run_shipped("recursor-down").await;
    // The history has real observations: the fault, a stopped unit in systemctl as the runbook's
    // operator sees it, and that operator's restart refused by polkit (no sudo in the runbook).
    assert!(run.records.iter().any(|r| r.action.contains("systemctl stop pdns-recursor")));
    assert!(run.records.iter().any(|r| r.action.starts_with("(as ze) systemctl status") && r.observed.contains("inactive (dead)")));
    assert!(run.records.iter().any(|r| r.action == "(as ze) systemctl restart pdns-recursor" && r.observed.contains("Interactive authentication required")));
    let claims = conclude::claim_results(std::slice::from_ref(&run));
    for id in ["TRI-2", "MON-STATE"] {
        let c = claims.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Confirmed, "{id}: {:?}", c.first_mismatch);
        assert!(!c.evidence.is_empty());
    }
    let c = claims.iter().find(|c| c.id == "DAE-REC").unwrap();
    assert_eq!(c.verdict, Verdict::Contradicted, "{:?}", c.first_mismatch);
    assert!(c.first_mismatch.as_deref().is_some_and(|m| m.contains("Interactive authentication required")), "{:?}", c.first_mismatch);
}

#[test]
fn malformed_scenario_is_rejected_before_any_container() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("bad.toml"), "name = \"x\"\nsection = \"y\"\nclaims = [\"NET-ALLOW\"]\n[[symptom]]\nprobe = \"recursor\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .args(["run", "--scenarios"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("needs `qname`"), "{err}");
}

/// Backup → journaled changes → corruption → the documented restore → journal replay →
/// record-by-record comparison, against the real daemon. The verdict is the daemons'; the test
/// holds the drill to having run every stage and to its corrected procedure being verified.
#[tokio::test(flavor = "multi_thread")]
async fn restore_drill_runs_every_stage_against_the_daemon() {
    if common::docker_missing() {
        return;
    }
    let run = run_shipped("restore-drill").await;
    let actions: Vec<&str> = run.records.iter().map(|r| r.action.as_str()).collect();
    for stage in ["the lab's backup", "journaled changes after the backup", "corruption", "the backup copied into place", "replay every journal row", "every record compared"] {
        assert!(actions.iter().any(|a| a.contains(stage)), "stage `{stage}` missing from the history: {actions:#?}");
    }
    assert!(run.timeline.recovery_started_ms.is_some() && run.timeline.steady_ms.is_some());
    let c = run.corrections.first().expect("the drill carries a corrected procedure");
    assert!(pdns_drill::judge::conclude::verified(c), "corrected restore not verified: {:?}", c.records.iter().filter(|r| !r.held()).collect::<Vec<_>>());
    let claim = verdict(&run, "BAK-RESTORE");
    // As written, the runbook's journal replay fails here (data loss), as the baseline approves.
    assert_eq!(claim.verdict, Verdict::Contradicted, "{claim:?}");
}

/// No scenario sees another's fault: three labs that close port 53 run side by side with three
/// that expect every answer, and each pair's verdicts are what each alone gives.
#[tokio::test(flavor = "multi_thread")]
async fn conflicting_scenarios_side_by_side_do_not_see_each_others_faults() {
    if common::docker_missing() {
        return;
    }
    let image = common::image(&common::engine().await).await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        for name in ["firewall-drops-53", "healthy-lab"] {
            runs.push(tokio::spawn(common::run_scenario(scenario(name), image.clone(), common::inputs())));
        }
    }
    for r in runs {
        let run = r.await.unwrap();
        assert!(run.error.is_none(), "{}: {:?}", run.scenario.name, run.error);
        let (id, closed) = if run.scenario.name == "healthy-lab" { ("TRI-1", false) } else { ("TRI-4", true) };
        let c = verdict(&run, id);
        assert_eq!(c.verdict, Verdict::Confirmed, "{}: {id} {:?}", run.scenario.name, c.first_mismatch);
        // The fault is in the firewall scenario's history only.
        assert_eq!(run.records.iter().any(|r| r.action.contains("--dport 53 -j DROP")), closed, "{}", run.scenario.name);
    }
}
