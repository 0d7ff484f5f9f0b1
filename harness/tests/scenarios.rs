//! Real scenarios through the runner: verdicts come from the daemons, not from the test.

mod common;

use pdns_drill::conclude;
use pdns_drill::runner::{self, Inputs};
use pdns_drill::scenario::{load_dir, Scenario};
use pdns_drill::verdict::Verdict;
use std::path::Path;

fn scenario(name: &str) -> Scenario {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    load_dir(&dir).unwrap().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Runs one shipped scenario on its own lab; checks its lab was removed afterwards.
async fn run_shipped(name: &str) -> runner::ScenarioRun {
    let engine = common::engine().await;
    let image = common::image(&engine).await;
    let (config, zone) = common::inputs();
    let run_id = format!("{}-t", pdns_drill::testbed::new_run_id());
    let inputs = Inputs { engine: engine.clone(), image, config, zone, run_id: run_id.clone(), keep_on_failure: false };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let run = runner::run_scenario(&inputs, 1, &scenario(name), &tx).await;
    assert_eq!(common::leftovers(&engine, &format!("{run_id}-01")).await, 0, "scenario lab left behind");
    assert!(run.error.is_none(), "{:?}", run.error);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn recursor_down_is_decided_by_the_daemons() {
    let run = run_shipped("recursor-down").await;
    // The history has real observations: the fault, a timeout or refusal from the recursor, a
    // failed unit in systemctl, and the restored steady state.
    assert!(run.records.iter().any(|r| r.evidence.action.contains("systemctl stop pdns-recursor")));
    assert!(run.records.iter().any(|r| r.evidence.observed.contains("inactive (dead)")));
    assert!(run.timeline.steady_ms.is_some());
    let claims = conclude::claim_results(std::slice::from_ref(&run));
    for id in ["DAE-REC", "TRI-2", "MON-STATE"] {
        let c = claims.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Confirmed, "{id}: {:?}", c.first_mismatch);
        assert!(!c.evidence.is_empty());
    }
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
    let run = run_shipped("restore-drill").await;
    let actions: Vec<&str> = run.records.iter().map(|r| r.evidence.action.as_str()).collect();
    for stage in ["the lab's backup", "journaled changes after the backup", "corruption", "the backup copied into place", "replay every journal row", "every record compared"] {
        assert!(actions.iter().any(|a| a.contains(stage)), "stage `{stage}` missing from the history: {actions:#?}");
    }
    assert!(run.timeline.recovery_started_ms.is_some() && run.timeline.steady_ms.is_some());
    let c = run.corrections.first().expect("the drill carries a corrected procedure");
    assert!(c.verified, "corrected restore not verified: {:?}", c.records.iter().filter(|r| !r.evidence.ok).map(|r| &r.evidence).collect::<Vec<_>>());
    let claim = conclude::claim_results(std::slice::from_ref(&run)).into_iter().find(|c| c.id == "BAK-RESTORE").unwrap();
    assert!(matches!(claim.verdict, Verdict::Confirmed | Verdict::Contradicted), "{claim:?}");
}
