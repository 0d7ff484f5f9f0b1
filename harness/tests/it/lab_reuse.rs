//! Lab reuse is proven, not assumed: the fingerprint sees each kind of fault a scenario could
//! leave behind; the reset puts back what it owns (the config tree, the zone database, the
//! daemons) and hides nothing else; a lab left with a fault is discarded; a lab made into one of
//! other helpers reads as clean against its pristine reading updated. And scenarios that
//! conflict (one closes port 53, one expects answers) run back to back on the same labs with
//! the verdicts they get on labs of their own.

use crate::common;

use pdns_drill::history::{LabAfter, RunHistory};
use pdns_drill::scenario::Fault;
use pdns_drill::testbed::{fingerprint, pool, reset, LabSpec, Role};
use std::path::Path;
use std::process::Command;

fn fault(text: &str) -> Fault {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fingerprint_sees_every_kind_of_leftover_and_a_lab_left_with_one_is_discarded() {
    if common::docker_missing() {
        return;
    }
    let mut lab = common::lab().await;
    let engine = lab.engine.clone();
    let run = lab.spec.run_id.clone();
    let db = lab.spec.config.db_path();
    // (what, the fault, the field it must show in, whether the reset puts it back)
    let cases = [
        ("a config edit", fault("kind = \"edit-file\"\npath = \"/etc/powerdns/pdns.conf\"\nappend = \"# left by a test\""), "pdns-vm content /etc/powerdns/pdns.conf".to_string(), true),
        ("an owner change", fault(&format!("kind = \"shell\"\non = \"pdns-vm\"\ninject = \"chown root:root {db}\"\nheal = \"chown pdns:pdns {db}\"")), format!("pdns-vm zone-db dir {db}"), true),
        ("a corrupt page", fault(&format!("kind = \"overwrite-pages\"\nfile = \"{db}\"\nof = \"records\"")), "pdns-vm zone-db dump".to_string(), true),
        ("a unit stopped", fault("kind = \"stop-unit\"\nunit = \"pdns-recursor\""), "pdns-vm unit pdns-recursor".to_string(), true),
        ("a firewall rule", fault("kind = \"shell\"\non = \"pdns-vm\"\ninject = \"iptables -I INPUT -p udp --dport 53 -j DROP\"\nheal = \"iptables -D INPUT -p udp --dport 53 -j DROP\""), "pdns-vm iptables".to_string(), false),
        ("a full disk", fault("kind = \"fill-disk\"\npath = \"/var/log/left-by-a-test.log\""), "pdns-vm var used KiB".to_string(), false),
    ];
    let result = async {
        reset::capture_pristine(&lab).await?;
        let pristine = fingerprint::take(&lab).await?;
        anyhow::ensure!(pristine.len() > 100, "a fingerprint of {} fields reads too little", pristine.len());
        // Read twice with nothing done: equal (a check that differs by itself would discard every lab).
        let again = fingerprint::take(&lab).await?.differences(&pristine);
        assert!(again.is_empty(), "the fingerprint is not stable: {again:?}");
        for (what, f, field, reset_restores) in &cases {
            let injected = pdns_drill::runner::fault::inject(&lab, f).await?;
            let left = fingerprint::take(&lab).await?.differences(&pristine);
            assert!(left.iter().any(|d| d.field == *field), "{what}: the fingerprint does not show it in `{field}`: {left:?}");
            let settled = reset::reset_and_compare(&lab, &pristine).await?;
            // One short line per field, so a CI log that cuts long lines still names it.
            for d in &settled.passing {
                eprintln!("{what}: differed right after the reset, then settled: {d}");
            }
            let after: Vec<String> = settled.left.iter().map(|d| d.to_string()).collect();
            for d in &after {
                eprintln!("{what}: still different after the reset: {d}");
            }
            if *reset_restores {
                assert!(after.is_empty(), "{what}: the reset owns it and must put it back: {after:?}");
            } else {
                // Not the reset's to undo: the lab would be discarded, the reason in the history.
                assert!(after.iter().any(|d| d.starts_with(field.as_str()) || d.starts_with("pdns-vm before")), "{what}: the reset must not hide it: {after:?}");
                pdns_drill::runner::fault::heal(&lab, &injected).await?;
                let healed = reset::reset_and_compare(&lab, &pristine).await?.left;
                assert!(healed.is_empty(), "{what}: healed and reset, the lab is as pristine: {healed:?}");
            }
        }
        // Made into the lab of a scenario with other helpers, as a reused lab is: the pristine
        // reading follows (the helpers removed go from it, those added are read as they boot),
        // and a reset proves the lab clean against it.
        let mut pristine = pristine;
        for needs in [vec![], vec![Role::Workstation], vec![Role::Client]] {
            let needs = LabSpec::booting(needs);
            let r = lab.reshape(&needs).await?;
            assert_eq!(lab.spec.roles, needs);
            lab.wait_steady(std::time::Duration::from_secs(60)).await?;
            fingerprint::reshape_pristine(&lab, &mut pristine, &r).await?;
            let left = reset::reset_and_compare(&lab, &pristine).await?.left;
            assert!(left.is_empty(), "reshaped to {needs:?} ({r:?}), the reset must prove it clean: {left:?}");
        }
        anyhow::Ok(pristine)
    }
    .await;
    let pristine = match result {
        Ok(p) => p,
        Err(e) => {
            lab.down().await.ok();
            panic!("{e:#}");
        }
    };
    // A link left down, handed on as a scenario's lab is: discarded, removed, the field named.
    let injected = pdns_drill::runner::fault::inject(&lab, &fault("kind = \"link-down\"\niface = \"lab\"")).await;
    let p = pool::Pool::new(1, 1);
    let _ = p.lease(&lab.spec.roles, &std::sync::Arc::new(tokio::sync::Semaphore::new(1))).await;
    let after = pdns_drill::runner::hand_on(&p, lab, pristine, vec![], "a test").await;
    injected.expect("the link went down");
    match &after {
        LabAfter::Discarded { differences, .. } => assert!(differences.iter().any(|d| d.starts_with("pdns-vm links")), "{differences:?}"),
        other => panic!("a lab left with a link down went back to the pool: {other:?}"),
    }
    assert!(p.idle_roles().is_empty());
    assert_eq!(common::leftovers(&engine, &run).await, 0, "a discarded lab is removed");
}

/// A scenario file under another name (the run tells scenarios apart by name).
fn copy_as(from: &Path, to: &Path, name: &str) {
    let text = std::fs::read_to_string(from).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("name = "), "{}: the name comes first", from.display());
    std::fs::write(to.join(format!("{name}.toml")), text.replacen(first, &format!("name = \"{name}\""), 1)).unwrap();
}

/// Runs copies of scenario files (`(file under scenarios/, name)`) on one lab at a time, in
/// the order `--shuffle seed` gives, and loads the run's history.
fn run_on_one_lab(copies: &[(&str, String)], seed: &str) -> (RunHistory, tempfile::TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tempfile::tempdir().unwrap();
    let sc = d.path().join("scenarios");
    std::fs::create_dir(&sc).unwrap();
    for (file, name) in copies {
        copy_as(&root.join("scenarios").join(file), &sc, name);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill"))
        .current_dir(&root)
        .args(["run", "--jobs", "1", "--shuffle", seed, "--format", "json", "--scenarios"])
        .arg(&sc)
        .arg("--report-dir")
        .arg(d.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "the run decided\n{stderr}");
    let h = RunHistory::load(&d.path().join("reports/history.json")).unwrap();
    assert_eq!(h.scenarios.len(), copies.len());
    (h, d)
}

/// Whether every expectation of the scenarios named `prefix…` held.
fn all_held(h: &RunHistory, prefix: &str) -> bool {
    h.scenarios.iter().filter(|s| s.scenario.name.starts_with(prefix)).flat_map(|s| &s.records).filter(|r| r.expected.is_some()).all(|r| r.mismatch.is_none())
}

#[test]
fn a_scenario_closing_53_and_one_expecting_answers_alternate_on_one_lab_with_the_same_verdicts() {
    if common::docker_missing() {
        return;
    }
    let copies: Vec<_> = (1..=3).flat_map(|i| [("14-firewall-53.toml", format!("closes-53-{i}")), ("11-healthy-lab.toml", format!("expects-answers-{i}"))]).collect();
    let (h, _dir) = run_on_one_lab(&copies, "3");
    // What each step met, per scenario: the same for every copy, whatever ran before it.
    let outcomes = |s: &pdns_drill::history::ScenarioRun| -> Vec<(String, bool)> {
        s.records.iter().filter(|r| r.expected.is_some()).map(|r| (format!("{} {}", r.phase.as_str(), r.action), r.mismatch.is_none())).collect()
    };
    for kind in ["closes-53", "expects-answers"] {
        let runs: Vec<_> = h.scenarios.iter().filter(|s| s.scenario.name.starts_with(kind)).collect();
        assert!(runs.iter().all(|s| s.error.is_none()), "{kind}: {:?}", runs.iter().map(|s| &s.error).collect::<Vec<_>>());
        let first = outcomes(runs[0]);
        assert!(!first.is_empty(), "{kind} checks something");
        for r in &runs[1..] {
            assert_eq!(outcomes(r), first, "{} met other outcomes than {}", r.scenario.name, runs[0].scenario.name);
        }
    }
    assert!(all_held(&h, "expects-answers"), "a healthy lab answers, after any scenario");
    // And they did share labs, both ways round: one lab for all six.
    let after = |a: &str, b: &str| h.scenarios.iter().any(|s| s.scenario.name.starts_with(b) && s.lab.served_before.last().is_some_and(|p| p.starts_with(a)));
    assert!(after("closes-53", "expects-answers") && after("expects-answers", "closes-53"), "{:?}", h.scenarios.iter().map(|s| (&s.scenario.name, &s.lab.served_before)).collect::<Vec<_>>());
    // Every reset proved clean; the last scenario's lab was not reset, nothing was left to take it.
    let pooled = h.scenarios.iter().filter(|s| matches!(s.lab.after, Some(LabAfter::Pooled { .. }))).count();
    let unreset = h.scenarios.iter().filter(|s| matches!(&s.lab.after, Some(LabAfter::Removed { why }) if why.contains("no reset for a next one"))).count();
    assert_eq!((pooled, unreset), (5, 1), "{:?}", h.scenarios.iter().map(|s| &s.lab.after).collect::<Vec<_>>());
}

#[test]
fn a_lab_whose_vm_a_scenario_ended_serves_on_once_its_vm_is_renewed() {
    if common::docker_missing() {
        return;
    }
    let copies: Vec<_> = (1..=2).flat_map(|i| [("18-vm-killed.toml", format!("kills-vm-{i}")), ("11-healthy-lab.toml", format!("expects-answers-{i}"))]).collect();
    let (h, _dir) = run_on_one_lab(&copies, "5");
    assert!(h.scenarios.iter().all(|s| s.error.is_none()), "{:?}", h.scenarios.iter().map(|s| &s.error).collect::<Vec<_>>());
    assert!(all_held(&h, "expects-answers"), "a lab whose VM was renewed answers");
    let kills: Vec<_> = h.scenarios.iter().filter(|s| s.scenario.name.starts_with("kills-vm")).collect();
    let met = |s: &pdns_drill::history::ScenarioRun| -> Vec<bool> { s.records.iter().filter(|r| r.expected.is_some()).map(|r| r.mismatch.is_none()).collect() };
    assert_eq!(met(kills[0]), met(kills[1]), "the VM killed on a renewed lab meets what it met on the first");
    // One lab for all four, the preflight's: each scenario but the last handed it on, a killed
    // VM renewed first.
    assert!(matches!(h.run.preflight_lab, Some(LabAfter::Pooled { .. })), "{:?}", h.run.preflight_lab);
    let chain = h.scenarios.iter().map(|s| s.lab.served_before.clone()).max_by_key(Vec::len).unwrap_or_default();
    assert_eq!((chain.len(), chain.first().map(String::as_str)), (4, Some("preflight")), "{:?}", h.scenarios.iter().map(|s| (&s.scenario.name, &s.lab.served_before)).collect::<Vec<_>>());
    assert!(h.scenarios.iter().all(|s| s.timeline.booted_ms.is_none()), "no scenario booted a lab");
    let renewed = |s: &&pdns_drill::history::ScenarioRun| matches!(&s.lab.after, Some(LabAfter::Pooled { vm_renewed: Some(_), .. }));
    let handed_on = h.scenarios.iter().filter(|s| s.lab.served_before.len() < 4).collect::<Vec<_>>();
    assert!(handed_on.iter().all(|s| matches!(s.lab.after, Some(LabAfter::Pooled { .. }))), "{:?}", h.scenarios.iter().map(|s| &s.lab.after).collect::<Vec<_>>());
    assert!(handed_on.iter().filter(|s| s.scenario.name.starts_with("kills-vm")).all(renewed), "{:?}", h.scenarios.iter().map(|s| &s.lab.after).collect::<Vec<_>>());
    assert!(handed_on.iter().any(renewed), "some scenario ran on a lab whose VM was renewed");
}
