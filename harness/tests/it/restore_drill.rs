//! The restore drill on backups taken from a running lab, against real containers: the lab's
//! own plain copy while pdns runs with journaled writes in its -wal, SQLite's online backup,
//! a copy after `systemctl stop pdns`, and a corrupt copy. The verdicts are the daemons'.
//!
//! The backups and their journal stay in `<target>/tmp/restore-drill-backups/`, so the
//! command line can be run on the same inputs: `pdns-drill drill restore --backups
//! <that>/backups --journal <that>/journal.md`.

use crate::common;

use std::path::Path;
use std::time::Duration;

use pdns_drill::claims::verdict::Verdict as ClaimVerdict;
use pdns_drill::drill::{self, restore::Verdict};
use pdns_drill::history::events::{Event, Job};
use pdns_drill::inputs::zone::journal::Journal;
use pdns_drill::testbed::config::ZoneInput;
use pdns_drill::testbed::{Lab, Role};

const T: Duration = Duration::from_secs(60);
const DB: &str = "/var/lib/powerdns/pdns.sqlite3";

/// Journals three more changes and makes them with pdnsutil while pdns runs.
async fn change_run(lab: &Lab, j: &Journal) -> Journal {
    let next = drill::with_changes(j, lab.plan.lab, time::OffsetDateTime::now_utc().date()).unwrap();
    for e in next.entries_after(j.head_serial()) {
        let argv = Journal::add_record_args(e, &next.zone);
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = lab.exec(Role::PdnsVm, &args, T).await.unwrap();
        assert!(out.success(), "{argv:?}: {out:?}");
    }
    next
}

async fn save(lab: &Lab, from: &str, to: &Path) {
    let bytes = lab.engine.download(&lab.name(Role::PdnsVm), from).await.unwrap();
    std::fs::write(to, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_on_backups_taken_three_ways_from_a_running_lab_and_a_corrupt_one() {
    if common::docker_missing() {
        return;
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("restore-drill-backups");
    std::fs::remove_dir_all(&root).ok();
    let backups = root.join("backups");
    std::fs::create_dir_all(&backups).unwrap();

    let lab = common::lab().await;
    let taken = async {
        let (_, zone) = common::inputs();
        let live = zone.journal.map_content(&|e| lab.plan.map_text(&e.content));
        // The runbook's backup: the whole file copied while pdns holds it open.
        let j1 = change_run(&lab, &live).await;
        let wal = lab.sh(Role::PdnsVm, &format!("ls -l {DB}*"), T).await?;
        eprintln!("before the plain copy:\n{}", wal.stdout);
        save(&lab, DB, &backups.join(format!("pdns.sqlite3.{}", j1.head_serial()))).await;
        // SQLite's online backup API (the sqlite3 shell's .backup), same moment of the lab.
        let j2 = change_run(&lab, &j1).await;
        let out = lab.sh(Role::PdnsVm, &format!("rm -f /root/online.sqlite3 && sqlite3 {DB} '.backup /root/online.sqlite3'"), T).await?;
        anyhow::ensure!(out.success(), "online backup: {out:?}");
        save(&lab, "/root/online.sqlite3", &backups.join(format!("pdns.sqlite3.{}", j2.head_serial()))).await;
        // A copy with pdns stopped.
        let j3 = change_run(&lab, &j2).await;
        let out = lab.sh(Role::PdnsVm, &format!("systemctl stop pdns && ls -l {DB}*"), T).await?;
        eprintln!("after systemctl stop pdns:\n{}", out.stdout);
        let stopped = backups.join(format!("pdns.sqlite3.{}", j3.head_serial()));
        save(&lab, DB, &stopped).await;
        lab.sh(Role::PdnsVm, "systemctl start pdns", T).await?;
        // A corrupt one: the stopped copy with a page in the middle overwritten.
        let mut bytes = std::fs::read(&stopped)?;
        let page = pdns_drill::inputs::zone::corrupt::page_size_of(&bytes).unwrap();
        pdns_drill::inputs::zone::Corruption::MiddlePageOverwritten.apply(&mut bytes, page);
        std::fs::write(backups.join(format!("pdns.sqlite3.{}.corrupt", j3.head_serial())), bytes)?;
        std::fs::write(root.join("journal.md"), j3.to_markdown())?;
        anyhow::Ok((j1, j2, j3))
    }
    .await;
    lab.down().await.unwrap();
    let (j1, j2, j3) = taken.unwrap();

    let engine = common::engine().await;
    let image = common::image(&engine).await;
    let (config, _) = common::inputs();
    let zone = ZoneInput::load(&root.join("journal.md")).unwrap();
    let (files, policy) = drill::read_backups(&[], Some(&backups), time::OffsetDateTime::now_utc()).unwrap();
    let run_id = format!("{}-t", pdns_drill::testbed::new_run_id());
    let inputs = drill::Inputs { engine: engine.clone(), image, config, zone, backups: files, take_own_backup: false, policy, report_dir: root.join("evidence"), run_id: run_id.clone() };
    let (dir, ev) = drill::restore(inputs, Box::new(|e| eprintln!("{e:?}"))).await.unwrap();
    assert_eq!(common::leftovers(&engine, &run_id).await, 0, "the drill's lab was left behind");
    eprintln!("{}", drill::evidence::summary(&ev));
    assert!(ev.error.is_none(), "{:?}", ev.error);

    let verdict = |name: String| ev.backups.iter().find(|b| b.check.file.name == name).unwrap_or_else(|| panic!("{name} not drilled")).verdict.clone();
    // The online backup holds what was committed; the replay adds the last change run.
    assert_eq!(verdict(format!("pdns.sqlite3.{}", j2.head_serial())), Verdict::Complete);
    // The plain copy of the live file lacks the change run still in the -wal: the rows at or
    // below its serial it does not hold stay lost after the replay, and are named.
    let plain = verdict(format!("pdns.sqlite3.{}", j1.head_serial()));
    // The first change run: the last three rows of the plain copy's journal.
    let first_run: Vec<String> = j1.entries[j1.entries.len() - 3..].iter().map(|e| e.fqdn.clone()).collect();
    match &plain {
        Verdict::Lost { records } => {
            assert_eq!(records.len(), 3, "{records:?}");
            for n in &first_run {
                assert!(records.iter().any(|r| r.starts_with(n.as_str())), "{n} not named in {records:?}");
            }
        }
        v => panic!("plain copy: {v}"),
    }
    assert!(matches!(verdict(format!("pdns.sqlite3.{}.corrupt", j3.head_serial())), Verdict::NotRestorable { .. }));
    // After `systemctl stop pdns` the copy is restorable; whether it is complete is pdns's
    // doing (4.7.3 left its -wal behind on stop), so it is reported, not assumed.
    let stopped = verdict(format!("pdns.sqlite3.{}", j3.head_serial()));
    assert!(matches!(stopped, Verdict::Complete | Verdict::Lost { .. }), "{stopped}");
    // Evidence on disk, with the hashes it claims.
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (h, f) = line.split_once("  ").unwrap();
        assert_eq!(drill::evidence::sha256_file(&dir.join(f)).unwrap(), h, "{f}");
    }
    let md = std::fs::read_to_string(dir.join("evidence.md")).unwrap();
    assert!(md.lines().last().unwrap().starts_with("sha256: evidence.json "), "{}", md.lines().last().unwrap());
    eprintln!("evidence in {}", dir.display());
}

/// With no backup given, the drill takes the lab's backup itself, journals three changes after
/// it and restores; the corrected procedure brings the zone to the journal's HEAD.
#[tokio::test(flavor = "multi_thread")]
async fn the_drill_without_backups_takes_its_own() {
    if common::docker_missing() {
        return;
    }
    let engine = common::engine().await;
    let image = common::image(&engine).await;
    let (config, zone) = common::inputs();
    let out = tempfile::tempdir().unwrap();
    let run_id = format!("{}-t", pdns_drill::testbed::new_run_id());
    let inputs = drill::Inputs { engine: engine.clone(), image, config, zone, backups: Vec::new(), take_own_backup: true, policy: None, report_dir: out.path().to_path_buf(), run_id: run_id.clone() };
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = told.clone();
    let (dir, ev) = drill::restore(inputs, Box::new(move |e| heard.lock().unwrap().push(e))).await.unwrap();
    assert_eq!(common::leftovers(&engine, &run_id).await, 0, "the drill's lab was left behind");
    assert!(ev.error.is_none(), "{:?}", ev.error);
    assert_eq!(ev.mode, "self-made backup");
    let b = &ev.backups[0];
    assert_eq!(b.check.to_replay.len(), 3, "{:?}", b.check);
    assert_eq!(b.verdict, Verdict::Complete, "{}", drill::evidence::summary(&ev));
    // Told as every job's events: each step an observation, the backup one unit, judged in
    // the claims' vocabulary.
    let told = told.lock().unwrap();
    assert_eq!(told.iter().filter(|e| matches!(e, Event::Observed { .. })).count(), ev.steps.len());
    let units: Vec<(&str, Option<ClaimVerdict>)> = told
        .iter()
        .filter_map(|e| match e {
            Event::UnitStarted { job: Job::Drill, unit, .. } => Some((unit.as_str(), None)),
            Event::UnitFinished { job: Job::Drill, unit, verdict, .. } => Some((unit.as_str(), Some(*verdict))),
            _ => None,
        })
        .collect();
    assert_eq!(units, vec![(b.check.file.name.as_str(), None), (b.check.file.name.as_str(), Some(ClaimVerdict::Confirmed))]);
    let stages: Vec<&str> = ev.steps.iter().map(|s| s.stage).collect();
    for stage in ["the lab's backup", "journaled change after the backup", "verify", "restore", "replay", "over the wire", "steady state"] {
        assert!(stages.contains(&stage), "stage `{stage}` missing: {stages:?}");
    }
    // The generated journal in the evidence is the one the drill replayed.
    let j = Journal::load(&dir.join("journal.md")).unwrap();
    assert_eq!(j.entries_after(b.check.serial.unwrap()).len(), 3);
    assert!(ev.rto_ms.is_some());
}
