//! `pdns-drill drill restore`: the restore drill the runbook says is overdue (BAK-RESTORE),
//! on the operators' own backups or, with none given, on a backup the drill takes itself from
//! the lab. Per backup, newest first: verify it ([`backup_check`]), restore it into a lab VM by
//! the documented procedure and the corrected one, replay the journal from its serial
//! ([`replay`]), ask the authoritative for every journal record ([`restore`]), time it, and
//! leave dated evidence ([`evidence`]).
//!
//! Nothing here prints; progress goes to the callback the caller passes.

pub mod backup_check;
pub mod evidence;
pub mod replay;
pub mod restore;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use time::OffsetDateTime;

use crate::history::events::Event;
use crate::testbed::engine::Engine;
use crate::inputs::zone::journal::Journal;
use crate::testbed::config::{ConfigDir, ZoneInput};
use crate::testbed::{Lab, LabSpec, Role};
use crate::clock::rfc3339;
use backup_check::{BackupFile, Policy};
use evidence::{BackupResult, Evidence, Input};
use restore::{Procedure, Recorder, Verdict};

pub use evidence::RUNBOOK_ESTIMATE_S;

const LAB_STEADY: Duration = Duration::from_secs(60);

pub struct Inputs {
    pub engine: Engine,
    pub image: String,
    pub config: ConfigDir,
    /// The dns-records journal the backups belong to (also the lab's zone).
    pub zone: ZoneInput,
    /// Newest first.
    pub backups: Vec<BackupFile>,
    /// No backup was named: the drill takes the lab's backup itself (an empty `--backups`
    /// directory is a finding, not this).
    pub take_own_backup: bool,
    pub policy: Option<Policy>,
    pub report_dir: PathBuf,
    pub run_id: String,
}

/// The backups named and those in `dir`, newest first, and the policy check of `dir`. A missing
/// or unreadable file is an error naming its path.
pub fn read_backups(files: &[PathBuf], dir: Option<&Path>, now: OffsetDateTime) -> anyhow::Result<(Vec<BackupFile>, Option<Policy>)> {
    let mut out: Vec<BackupFile> = files.iter().map(|p| BackupFile::read(p)).collect::<anyhow::Result<_>>()?;
    let mut policy = None;
    if let Some(dir) = dir {
        let in_dir: Vec<BackupFile> = backup_check::list_dir(dir)?.iter().map(|p| BackupFile::read(p)).collect::<anyhow::Result<_>>()?;
        policy = Some(backup_check::policy(dir, &in_dir, now));
        let known: Vec<PathBuf> = out.iter().filter_map(|b| b.path.canonicalize().ok()).collect();
        out.extend(in_dir.into_iter().filter(|b| b.path.canonicalize().is_ok_and(|p| !known.contains(&p))));
    }
    backup_check::newest_first(&mut out);
    Ok((out, policy))
}

/// The journal after the lab's backup: `j` plus three rows journaled now (two A records in the
/// lab network, a CNAME to the first), under names the journal does not use yet.
pub fn with_changes(j: &Journal, lab: ipnet::Ipv4Net, today: time::Date) -> anyhow::Result<Journal> {
    let taken = |p: &str| j.entries.iter().any(|e| e.fqdn.starts_with(p));
    let stem = (0..).map(|i| if i == 0 { "drill-restore".to_string() } else { format!("drill-restore{i}") }).find(|s| !taken(s)).unwrap_or_default();
    let host = |off: u32| std::net::Ipv4Addr::from(u32::from(lab.network()) + off).to_string();
    let note = || "restore drill: change after the backup".to_string();
    let rows = [
        (format!("{stem}-0"), "A".to_string(), host(3 * 256 + 10), 300, note()),
        (format!("{stem}-1"), "A".to_string(), host(3 * 256 + 11), 300, note()),
        (stem.clone(), "CNAME".to_string(), format!("{stem}-0.{}.", j.zone), 300, note()),
    ];
    // Through the parser, so the rows are checked as any journal row would be.
    let out = j.with_rows(&rows, today);
    Journal::parse("generated journal", &out.to_markdown()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The invoking user: the login variables, else the uid's name in /etc/passwd.
fn who() -> String {
    if let Some(u) = ["SUDO_USER", "USER", "LOGNAME"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())) {
        return u;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(str::to_string)));
    let Some(uid) = uid else { return "unknown".into() };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| p.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.get(2) == Some(&uid.as_str())).map(|f| format!("{} (uid {uid})", f[0])))
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// Runs the drill and writes its evidence; returns the evidence directory and the evidence. The
/// lab is removed on every path out.
pub async fn restore(inp: Inputs, tell: Box<dyn Fn(Event) + Send + Sync>) -> anyhow::Result<(PathBuf, Evidence)> {
    let started = OffsetDateTime::now_utc();
    let day = rfc3339(started).get(..10).unwrap_or("undated").to_string();
    let dir = inp.report_dir.join(format!("drill-restore-{day}-{}", inp.run_id));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rec = Recorder::new(tell);
    let mut results: Vec<BackupResult> = Vec::new();
    let mut extra_inputs: Vec<Input> = Vec::new();
    let (body, versions, docker_version) = if inp.take_own_backup || !inp.backups.is_empty() {
        let spec = LabSpec { image: inp.image.clone(), config: inp.config.clone(), zone: inp.zone.clone(), run_id: inp.run_id.clone(), roles: vec![] };
        rec.push("lab", "harness", format!("lab {} from image {}", inp.run_id, inp.image), "creating", true);
        let lab = match Lab::up(inp.engine.clone(), spec, &|m: &str| rec.say(m)).await {
            Ok(l) => l,
            Err(e) => {
                inp.engine.sweep(Some(&inp.run_id)).await.ok();
                return Err(e.context("the drill's lab did not come up"));
            }
        };
        let body = drive(&lab, &inp, &dir, &mut rec, &mut results, &mut extra_inputs).await;
        let versions = lab.versions().await;
        let docker_version = lab.engine.docker().version().await.ok().and_then(|v| v.version);
        lab.down().await.ok();
        (body, versions, docker_version)
    } else {
        // An empty backups directory: nothing to restore, the policy check says why.
        rec.push("backups", "harness", "backups to drill", "none found", false);
        (Ok(()), (None, None), inp.engine.docker().version().await.ok().and_then(|v| v.version))
    };

    let mut inputs: Vec<Input> = inp
        .backups
        .iter()
        .map(|b| Input { role: "backup", path: b.path.display().to_string(), bytes: Some(b.size_bytes), sha256: b.sha256.clone() })
        .collect();
    let journal_bytes = std::fs::metadata(&inp.zone.path).ok().map(|m| m.len());
    inputs.push(Input { role: "journal", path: inp.zone.path.display().to_string(), bytes: journal_bytes, sha256: inp.zone.hash.clone() });
    inputs.push(Input {
        role: "config-dir (sha256 over its files and drill.toml)",
        path: inp.config.path.display().to_string(),
        bytes: None,
        sha256: inp.config.hash.clone(),
    });
    inputs.extend(extra_inputs);
    let rto = results.iter().find_map(|b| b.attempt(Procedure::Corrected).and_then(|a| a.steady_ms).map(|ms| (ms, b.check.file.name.clone())));
    let ev = Evidence {
        drill: "restore",
        mode: if inp.take_own_backup { "self-made backup" } else { "operator backups" },
        run_id: inp.run_id.clone(),
        who: who(),
        host: host(),
        started_at: rfc3339(started),
        finished_at: crate::clock::now(),
        pdns_drill_version: env!("CARGO_PKG_VERSION"),
        docker_version,
        image: inp.image.clone(),
        pdns_version: versions.0,
        recursor_version: versions.1,
        inputs,
        policy: inp.policy.clone(),
        backups: results,
        rto_ms: rto.as_ref().map(|r| r.0),
        rto_backup: rto.map(|r| r.1),
        runbook_estimate_s: RUNBOOK_ESTIMATE_S,
        steps: rec.steps,
        error: body.err().map(|e| format!("{e:#}")),
    };
    evidence::write(&dir, &ev, &crate::inputs::secrets::Secrets::from_dir(&inp.config.path))?;
    Ok((dir, ev))
}

async fn drive(lab: &Lab, inp: &Inputs, dir: &Path, rec: &mut Recorder, results: &mut Vec<BackupResult>, extra: &mut Vec<Input>) -> anyhow::Result<()> {
    lab.wait_booted_lab().await?;
    let steady = lab.wait_steady(LAB_STEADY).await?;
    rec.push("lab", "harness", "steady-state check", steady.to_string(), true);
    let plan = &lab.plan;
    // The live zone as the lab serves it: the journal with lab addresses moved onto the testbed.
    let mapped = inp.zone.journal.map_content(&|e| plan.map_text(&e.content));
    let (journal, live, backups) = if inp.take_own_backup {
        let (g, b) = self_made_backup(lab, rec, &mapped, dir).await?;
        let path = dir.join("journal.md");
        extra.push(Input { role: "journal (generated: the lab's journal and the changes after the backup)", path: path.display().to_string(), bytes: std::fs::metadata(&path).ok().map(|m| m.len()), sha256: evidence::sha256_file(&path)? });
        extra.push(Input { role: "backup (self-made)", path: b.path.display().to_string(), bytes: Some(b.size_bytes), sha256: b.sha256.clone() });
        (g.clone(), g, vec![b])
    } else {
        (inp.zone.journal.clone(), mapped, inp.backups.clone())
    };
    restore::upload_live_zone(lab, &live).await?;
    for b in &backups {
        rec.begin(&b.name, "restored by the documented procedure, then the corrected one");
        if let Err(e) = drill_one(lab, b, &journal, rec, results).await {
            rec.end_errored(&e);
            return Err(e);
        }
    }
    Ok(())
}

/// One backup verified, put on the VM and restored by both procedures; its unit ended judged.
async fn drill_one(lab: &Lab, b: &BackupFile, journal: &Journal, rec: &mut Recorder, results: &mut Vec<BackupResult>) -> anyhow::Result<()> {
    let check = backup_check::check(b, journal)?;
    let v = &check.verification;
    rec.push(
        "verify",
        "harness",
        format!("PRAGMA integrity_check, schema, zone {}, SOA serial, records, against the journal", journal.zone),
        format!(
            "integrity {}; zones {:?}; {} records; SOA serial {}; replay after {}; lost {}, to replay {}{}",
            v.integrity.lines().next().unwrap_or(""),
            v.zones,
            v.records.map_or("-".into(), |r| r.to_string()),
            check.soa_serial.map_or("-".into(), |s| s.to_string()),
            check.serial.map_or("-".into(), |s| format!("{s} ({})", check.serial_from)),
            check.lost.len(),
            check.to_replay.len(),
            check.unrestorable.as_deref().map(|r| format!("; NOT RESTORABLE: {r}")).unwrap_or_default()
        ),
        check.unrestorable.is_none(),
    );
    if let Some(reason) = check.unrestorable.clone() {
        let verdict = Verdict::NotRestorable { reason };
        rec.end(&verdict);
        results.push(BackupResult { verdict_text: verdict.to_string(), verdict, attempts: Vec::new(), check });
        return Ok(());
    }
    restore::upload_backup(lab, &b.name, &b.bytes).await?;
    rec.push("backup onto the VM", "harness", format!("copy {} -> pdns-vm:{}/backups/{}", b.path.display(), restore::WORK, b.name), format!("{} bytes", b.size_bytes), true);
    let mut attempts = Vec::new();
    for p in [Procedure::Documented, Procedure::Corrected] {
        attempts.push(restore::attempt(lab, rec, journal, &check, p).await?);
    }
    let verdict = attempts.last().map(|a| a.verdict.clone()).unwrap_or(Verdict::NotRestorable { reason: "not attempted".into() });
    rec.end(&verdict);
    results.push(BackupResult { verdict_text: verdict.to_string(), verdict, attempts, check });
    Ok(())
}

/// The lab's backup by its own convention (the whole file copied while pdns runs), then three
/// changes journaled after it. Returns the journal at HEAD and the backup.
async fn self_made_backup(lab: &Lab, rec: &mut Recorder, mapped: &Journal, dir: &Path) -> anyhow::Result<(Journal, BackupFile)> {
    rec.preparing("self-made");
    let bytes = lab.engine.download(&lab.name(Role::PdnsVm), restore::DB).await?;
    let bdir = dir.join("self-made-backup");
    std::fs::create_dir_all(&bdir)?;
    let path = bdir.join(format!("pdns.sqlite3.{}", mapped.head_serial()));
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    rec.push("the lab's backup", "harness", format!("copy pdns-vm:{} -> {}", restore::DB, path.display()), format!("{} bytes", bytes.len()), true);
    let g = with_changes(mapped, lab.plan.lab, OffsetDateTime::now_utc().date())?;
    for e in g.entries_after(mapped.head_serial()) {
        let argv = Journal::add_record_args(e, &g.zone);
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = restore::vm_exec(lab, &args).await?;
        rec.push("journaled change after the backup", "pdns-vm", argv.join(" "), out.summary(300), out.success());
        anyhow::ensure!(out.success(), "journaled change failed: {}", out.summary(300));
    }
    std::fs::write(dir.join("journal.md"), g.to_markdown())?;
    Ok((g, BackupFile::read(&path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_after_the_backup_follow_the_journal() {
        let j = crate::inputs::zone::testdb::lab_journal();
        let g = with_changes(&j, "172.19.0.0/16".parse().unwrap(), time::macros::date!(2026 - 11 - 26)).unwrap();
        let new = g.entries_after(j.head_serial());
        assert_eq!(new.iter().map(|e| e.serial).collect::<Vec<_>>(), vec![2026112601, 2026112602, 2026112603]);
        assert_eq!(new[0].content, "172.19.3.10");
        assert_eq!(new[2].content, "drill-restore-0.sub.comptech-lab.com.");
        assert_eq!(new[2].date, "2026-11-26");
        assert_eq!(g.up_to(j.head_serial()).entries.len(), j.entries.len());
        // A journal already past today's date, and names already used, still give a valid one.
        let again = with_changes(&g, "172.19.0.0/16".parse().unwrap(), time::macros::date!(2026 - 11 - 26)).unwrap();
        let newer = again.entries_after(g.head_serial());
        assert_eq!(newer[0].serial, 2026112604);
        assert_eq!(newer[0].name, "drill-restore1-0");
    }

    #[test]
    fn backups_named_and_in_a_directory_newest_first() {
        let d = tempfile::tempdir().unwrap();
        for n in ["pdns.sqlite3.20260318", "pdns.sqlite3.20260320", "pdns.sqlite3.20260320-wal", ".hidden"] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let other = tempfile::tempdir().unwrap();
        let named = other.path().join("pdns.sqlite3.20260319");
        std::fs::write(&named, b"x").unwrap();
        let now = time::macros::datetime!(2026-03-21 00:00 UTC);
        let (b, p) = read_backups(&[named.clone(), d.path().join("pdns.sqlite3.20260318")], Some(d.path()), now).unwrap();
        let names: Vec<&str> = b.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, vec!["pdns.sqlite3.20260320", "pdns.sqlite3.20260319", "pdns.sqlite3.20260318"]);
        assert_eq!(p.unwrap().backups, 2);
        let e = read_backups(&[d.path().join("gone")], None, now).unwrap_err();
        assert!(format!("{e:#}").contains("gone"), "{e:#}");
    }
}
