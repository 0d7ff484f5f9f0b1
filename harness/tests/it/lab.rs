//! The testbed against real containers: steady state, the runbook's triage rows for real
//! faults, and a clean tear-down.

use crate::common;

use pdns_drill::testbed::Role;
use pdns_drill::dns::triage::{row_id, Reply, VmState};
use pdns_drill::testbed::triage_probes;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn steady_state_after_up_and_down_leaves_nothing() {
    if common::docker_missing() {
        return;
    }
    let lab = common::lab().await;
    let steady = pdns_drill::testbed::steady::check(&lab, pdns_drill::testbed::steady::Scope::EveryName).await;
    let run = lab.spec.run_id.clone();
    let engine = lab.engine.clone();
    // Each of the four checks, by name, held.
    let names: Vec<&str> = steady.checks.iter().filter(|c| c.ok).map(|c| c.name).collect();
    assert_eq!(names.len(), 4, "{steady}");
    let tri = triage_probes::in_lab(&lab).await.unwrap();
    assert_eq!(row_id(tri.result.row), "TRI-1", "{tri:?}");
    // The same lab probed natively from this host, as `pdns-drill triage --recursor … --auth … --vm …`.
    let p = &lab.plan;
    let state_cmd = format!("docker inspect -f '{{{{.State.Running}}}}' {} | grep -q true", lab.name(Role::PdnsVm));
    let native = triage_probes::against(p.recursor.into(), p.auth.into(), p.vm.into(), &lab.spec.zone.journal.zone, Some(&state_cmd))
        .await
        .unwrap();
    assert_eq!(row_id(native.result.row), "TRI-1", "{native:?}");
    assert!(common::leftovers(&engine, &run).await > 0);
    lab.down().await.unwrap();
    assert_eq!(common::leftovers(&engine, &run).await, 0, "down left containers, networks or volumes behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn triage_rows_for_stopped_recursor_auth_and_vm() {
    if common::docker_missing() {
        return;
    }
    let lab = common::lab().await;
    let result = async {
        lab.sh(Role::PdnsVm, "systemctl stop pdns-recursor", T).await?;
        let t = triage_probes::in_lab(&lab).await?;
        assert_eq!(row_id(t.result.row), "TRI-2", "recursor stopped: {t:?}");
        assert_eq!(t.result.observation.recursor, Reply::NoReply);
        lab.sh(Role::PdnsVm, "systemctl start pdns-recursor && systemctl stop pdns", T).await?;
        let t = triage_probes::in_lab(&lab).await?;
        assert_eq!(row_id(t.result.row), "TRI-3", "authoritative stopped: {t:?}");
        lab.sh(Role::PdnsVm, "systemctl start pdns", T).await?;
        lab.wait_steady(T).await?;
        lab.engine.stop(&lab.name(Role::PdnsVm), Duration::from_secs(20)).await?;
        let t = triage_probes::in_lab(&lab).await?;
        assert_eq!(t.result.observation.vm, VmState::Stopped);
        assert_eq!(row_id(t.result.row), "TRI-6", "VM stopped: {t:?}");
        anyhow::Ok(())
    }
    .await;
    lab.down().await.unwrap();
    result.unwrap();
}
