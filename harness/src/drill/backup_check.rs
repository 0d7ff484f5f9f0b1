//! What a backup file is before anything restores it: the runbook's `PRAGMA integrity_check`
//! (BAK-VERIFY) and what an auditor asks next — schema, zone, SOA serial, records, size, age,
//! sha256 — and where it stands against the dns-records journal. Pure over the file and the
//! journal: the same inputs give the same result (only the age depends on the clock).
//!
//! Where a backup stands in the journal ("the backup serial"): the `YYYYMMDDnn` serial in its
//! name when it has one (a timer that stamps each copy with the journal HEAD it was taken at),
//! else the SOA serial inside it. The SOA serial alone is weak evidence: `pdnsutil add-record`
//! never moves it (see [`crate::inputs::zone`]).
//!
//! Against the journal: rows at or below that serial missing from the backup are writes the
//! backup lost (a plain copy of a live WAL database lacks what sits in the `-wal`, see
//! [`crate::inputs::zone::backup`]); the replay skips them, so they stay lost. Rows above it are what
//! the replay adds; those already inside the backup would be added twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::rfc3339;
use crate::inputs::zone::journal::{Entry, Journal};
use crate::inputs::zone::compare::{normalise_name, normalise_rdata};
use crate::inputs::zone::corrupt::{page_size_of, HEADER_LEN};
use crate::inputs::zone::verify::{db_rrsets, verify, Verification};

/// A backup file as found: bytes, hash, and when it was taken.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupFile {
    pub path: PathBuf,
    pub name: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// RFC 3339.
    pub taken_at: String,
    /// `name` (a date in the file name) or `mtime`.
    pub taken_from: &'static str,
    /// A `YYYYMMDDnn` serial in the name.
    pub name_serial: Option<u32>,
    /// Hours from `taken_at` to when the file was read (depends on the clock; no verdict uses it).
    pub age_hours: f64,
    #[serde(skip)]
    pub taken: OffsetDateTime,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl BackupFile {
    /// Reads the file. A missing or unreadable file is an error naming the path.
    pub fn read(path: &Path) -> anyhow::Result<BackupFile> {
        let meta = std::fs::metadata(path).with_context(|| format!("backup {}", path.display()))?;
        anyhow::ensure!(meta.is_file(), "backup {} is not a file", path.display());
        let bytes = std::fs::read(path).with_context(|| format!("reading backup {}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mtime = meta.modified().map(OffsetDateTime::from).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let (taken, taken_from, name_serial) = match stamp_of(&name) {
            Some((t, serial)) => (t, "name", serial),
            None => (mtime, "mtime", None),
        };
        Ok(BackupFile {
            path: path.to_path_buf(),
            name,
            sha256: hex::encode(Sha256::digest(&bytes)),
            size_bytes: bytes.len() as u64,
            taken_at: rfc3339(taken),
            taken_from,
            name_serial,
            age_hours: (OffsetDateTime::now_utc() - taken).as_seconds_f64() / 3600.0,
            taken,
            bytes,
        })
    }
}

/// When a name says it was taken, and the serial it carries. The last run of digits that reads
/// as `YYYYMMDDhhmmss`, `YYYYMMDD-hhmmss`, `YYYYMMDDnn` (a serial: its date) or `YYYYMMDD`.
pub fn stamp_of(name: &str) -> Option<(OffsetDateTime, Option<u32>)> {
    let runs: Vec<&str> = name.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()).collect();
    let date = |d: &str| -> Option<time::Date> {
        let (y, m, day) = (d[..4].parse().ok()?, d[4..6].parse::<u8>().ok()?, d[6..8].parse().ok()?);
        time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, day).ok()
    };
    let hms = |t: &str| -> Option<time::Time> { time::Time::from_hms(t[..2].parse().ok()?, t[2..4].parse().ok()?, t[4..6].parse().ok()?).ok() };
    for (i, r) in runs.iter().enumerate().rev() {
        let found = match r.len() {
            14 => date(r).zip(hms(&r[8..])).map(|(d, t)| (d.with_time(t), None)),
            10 => date(r).map(|d| (d.midnight(), r.parse().ok())),
            8 => match runs.get(i + 1).filter(|n| n.len() == 6).and_then(|n| hms(n)) {
                Some(t) => date(r).map(|d| (d.with_time(t), None)),
                None => date(r).map(|d| (d.midnight(), None)),
            },
            _ => None,
        };
        if let Some((dt, serial)) = found {
            return Some((dt.assume_utc(), serial));
        }
    }
    None
}

/// One journal row, as evidence names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub serial: u32,
    pub line: usize,
    pub name: String,
    pub rtype: String,
    pub content: String,
}

impl From<&Entry> for Row {
    fn from(e: &Entry) -> Row {
        Row { serial: e.serial, line: e.line, name: e.fqdn.clone(), rtype: e.rtype.clone(), content: e.content.clone() }
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} (serial {})", self.name, self.rtype, self.content, self.serial)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupCheck {
    pub file: BackupFile,
    pub verification: Verification,
    pub soa_serial: Option<u32>,
    /// Where the replay starts (see the module doc).
    pub serial: Option<u32>,
    /// `name` or `SOA`.
    pub serial_from: &'static str,
    pub journal_head: u32,
    /// Rows at or below the serial missing from the backup.
    pub lost: Vec<Row>,
    /// Rows above the serial: the replay adds them.
    pub to_replay: Vec<Row>,
    /// Rows above the serial already in the backup: the replay would add them twice.
    pub above_but_present: Vec<Row>,
    /// Records in the backup the journal never added.
    pub not_journaled: Vec<String>,
    pub notes: Vec<String>,
    /// Why it cannot be restored, when it cannot.
    pub unrestorable: Option<String>,
}

/// Inspects a copy in a scratch directory: opening a WAL-mode file leaves `-wal`/`-shm` beside
/// it, which must not appear next to the operators' backups.
pub fn check(file: &BackupFile, journal: &Journal) -> anyhow::Result<BackupCheck> {
    let scratch = tempfile::tempdir().context("scratch directory for the backup check")?;
    let copy = scratch.path().join("backup.sqlite3");
    std::fs::write(&copy, &file.bytes).with_context(|| format!("copying {} for inspection", file.path.display()))?;
    let v = verify(&copy, &journal.zone)?;
    let head = journal.head_serial();
    let serial = file.name_serial.or(v.soa_serial);
    let mut c = BackupCheck {
        file: file.clone(),
        soa_serial: v.soa_serial,
        serial,
        serial_from: if file.name_serial.is_some() { "name" } else { "SOA" },
        journal_head: head,
        lost: Vec::new(),
        to_replay: Vec::new(),
        above_but_present: Vec::new(),
        not_journaled: Vec::new(),
        notes: Vec::new(),
        unrestorable: unrestorable(&file.bytes, &v, journal, serial),
        verification: v,
    };
    if let (Some(n), Some(s)) = (file.name_serial, c.soa_serial) {
        if n != s {
            c.notes.push(format!("its name says serial {n}, its SOA says {s}: pdnsutil add-record does not move the SOA serial, so the name's serial is used"));
        }
    }
    let (Some(serial), None) = (serial, &c.unrestorable) else { return Ok(c) };
    let db = db_rrsets(&copy, &journal.zone)?;
    let present: BTreeSet<(String, String, String)> =
        db.iter().flat_map(|r| r.data.iter().map(|d| (r.name.clone(), r.rtype.clone(), d.clone()))).collect();
    for e in &journal.entries {
        let here = present.contains(&(normalise_name(&e.fqdn), e.rtype.clone(), normalise_rdata(&e.rtype, &e.content)));
        match (e.serial <= serial, here) {
            (true, false) => c.lost.push(e.into()),
            (false, false) => c.to_replay.push(e.into()),
            (false, true) => c.above_but_present.push(e.into()),
            (true, true) => {}
        }
    }
    let d = crate::inputs::zone::diff::diff(&db, journal);
    c.not_journaled = d.only_in_db.iter().flat_map(|r| r.data.iter().map(move |x| format!("{} {} {} {x}", r.name, r.ttl, r.rtype))).collect();
    Ok(c)
}

fn unrestorable(bytes: &[u8], v: &Verification, journal: &Journal, serial: Option<u32>) -> Option<String> {
    if bytes.is_empty() {
        return Some("an empty file".into());
    }
    if bytes.len() < HEADER_LEN || !bytes.starts_with(b"SQLite format 3\0") {
        return Some(format!("not an SQLite database (no SQLite header; integrity_check: {})", v.integrity.trim_start_matches("error: ")));
    }
    if let Some(t) = truncation(bytes) {
        return Some(t);
    }
    if v.integrity != "ok" {
        let lines: Vec<&str> = v.integrity.lines().take(3).collect();
        return Some(format!("integrity_check is not ok: {}", lines.join("; ")));
    }
    if !v.schema_ok {
        return Some(format!("not a pdns database: tables {} missing", v.missing_tables.join(", ")));
    }
    if !v.zones.iter().any(|z| z.eq_ignore_ascii_case(&journal.zone)) {
        let held = if v.zones.is_empty() { "no zone".to_string() } else { v.zones.join(", ") };
        return Some(format!("a backup of another zone: it holds {held}, the journal is for {}", journal.zone));
    }
    let Some(serial) = serial else {
        return Some(format!("no SOA for {} in it, and no serial in its name", journal.zone));
    };
    let head = journal.head_serial();
    if serial > head {
        return Some(format!("newer than the journal: its serial {serial} is above the journal's HEAD {head} (rows are missing from the journal, or it is another journal)"));
    }
    None
}

/// The header's page count against the bytes there are (a cut copy, a full disk).
fn truncation(bytes: &[u8]) -> Option<String> {
    let page = page_size_of(bytes)?;
    let pages = u32::from_be_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]) as u64;
    let want = pages * page as u64;
    let have = bytes.len() as u64;
    if have < want || !have.is_multiple_of(page as u64) {
        Some(format!("truncated: its header counts {pages} pages of {page} bytes ({want} bytes), the file has {have}"))
    } else {
        None
    }
}

/// The runbook's backup policy (before any change run and daily; a few hundred KB), checked on a
/// directory of backups. Depends on the clock, so it is reported beside the verdicts, not in them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Policy {
    pub dir: PathBuf,
    pub backups: usize,
    pub newest: Option<String>,
    pub newest_age_hours: Option<f64>,
    /// Consecutive backups more than a day apart: "older → newer: N h".
    pub gaps_over_a_day: Vec<String>,
    pub smallest_bytes: Option<u64>,
    pub largest_bytes: Option<u64>,
    pub size_note: String,
    /// What breaks the policy.
    pub findings: Vec<String>,
}

const DAY_H: f64 = 24.0;

pub fn policy(dir: &Path, files: &[BackupFile], now: OffsetDateTime) -> Policy {
    let mut by_time: Vec<&BackupFile> = files.iter().collect();
    by_time.sort_by_key(|f| f.taken);
    let hours = |a: OffsetDateTime, b: OffsetDateTime| (b - a).as_seconds_f64() / 3600.0;
    let newest = by_time.last();
    let age = newest.map(|f| hours(f.taken, now));
    let gaps: Vec<String> = by_time
        .windows(2)
        .filter(|w| hours(w[0].taken, w[1].taken) > DAY_H)
        .map(|w| format!("{} → {}: {:.1} h", w[0].name, w[1].name, hours(w[0].taken, w[1].taken)))
        .collect();
    let (small, large) = (files.iter().map(|f| f.size_bytes).min(), files.iter().map(|f| f.size_bytes).max());
    let size_note = match (small, large) {
        (Some(s), Some(l)) => {
            let kb = |b: u64| b as f64 / 1024.0;
            let verdict = if l < 100 * 1024 {
                "smaller than the runbook's \"a few hundred KB\""
            } else if l <= 1024 * 1024 {
                "in line with the runbook's \"a few hundred KB\""
            } else {
                "larger than the runbook's \"a few hundred KB\""
            };
            format!("{:.1}–{:.1} KiB: {verdict}", kb(s), kb(l))
        }
        _ => "no backups".into(),
    };
    let mut findings = Vec::new();
    match (newest, age) {
        (Some(f), Some(a)) if a > DAY_H => findings.push(format!("the newest backup ({}) is {a:.1} h old: the daily timer has not run", f.name)),
        (None, _) => findings.push(format!("no backups in {}", dir.display())),
        _ => {}
    }
    findings.extend(gaps.iter().map(|g| format!("more than a day between backups: {g}")));
    Policy {
        dir: dir.to_path_buf(),
        backups: files.len(),
        newest: newest.map(|f| f.name.clone()),
        newest_age_hours: age,
        gaps_over_a_day: gaps,
        smallest_bytes: small,
        largest_bytes: large,
        size_note,
        findings,
    }
}

/// The backup files in a directory: regular files, SQLite side files and dot files left out.
pub fn list_dir(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("backups directory {}", dir.display()))? {
        let p = e.with_context(|| format!("reading {}", dir.display()))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_file() && !name.starts_with('.') && !["-wal", "-shm", "-journal"].iter().any(|s| name.ends_with(s)) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Newest first, by when they were taken, then by name (so the order is the same every run).
pub fn newest_first(files: &mut [BackupFile]) {
    files.sort_by(|a, b| b.taken.cmp(&a.taken).then_with(|| b.name_serial.cmp(&a.name_serial)).then_with(|| a.name.cmp(&b.name)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::zone::corrupt::Corruption;
    use crate::inputs::zone::testdb;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> BackupFile {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        BackupFile::read(&p).unwrap()
    }

    /// A pdns database holding the lab journal up to `serial`, SOA at `serial`.
    fn db_bytes(dir: &Path, j: &Journal, serial: u32) -> Vec<u8> {
        let p = dir.join(format!("src-{serial}.sqlite3"));
        std::fs::remove_file(&p).ok();
        drop(testdb::from_journal(&p, &j.up_to(serial), serial, false));
        std::fs::read(&p).unwrap()
    }

    fn verdict(dir: &Path, name: &str, bytes: &[u8], j: &Journal) -> BackupCheck {
        check(&write(dir, name, bytes), j).unwrap()
    }

    #[test]
    fn a_good_backup_lists_what_the_replay_adds() {
        let d = tempfile::tempdir().unwrap();
        let j = testdb::lab_journal();
        let at = 2026030402;
        let c = verdict(d.path(), "pdns.sqlite3.20260305", &db_bytes(d.path(), &j, at), &j);
        assert_eq!(c.unrestorable, None, "{c:?}");
        assert_eq!((c.serial, c.serial_from, c.soa_serial), (Some(at), "SOA", Some(at)));
        assert!(c.lost.is_empty() && c.above_but_present.is_empty(), "{c:?}");
        assert_eq!(c.to_replay.iter().map(|r| r.serial).collect::<Vec<_>>(), vec![2026032001]);
        assert_eq!(c.to_replay[0].name, "dns-probe.sub.comptech-lab.com.");
        assert!(c.not_journaled.is_empty(), "{:?}", c.not_journaled);
        assert_eq!(c.file.taken_from, "name");
        assert_eq!(c.file.taken_at, "2026-03-05T00:00:00Z");
        assert_eq!(c.file.sha256.len(), 64);
        // Nothing was left beside the operators' file.
        assert!(!d.path().join("pdns.sqlite3.20260305-wal").exists());
        // Same inputs, same result.
        let again = verdict(d.path(), "pdns.sqlite3.20260305", &db_bytes(d.path(), &j, at), &j);
        assert_eq!((again.lost, again.to_replay, again.unrestorable), (c.lost, c.to_replay, c.unrestorable));
    }

    #[test]
    fn rows_at_or_below_the_named_serial_missing_from_the_backup_are_lost() {
        // As a plain copy of a live database: the file stops at 2026021702 while the timer
        // stamped it with the journal's HEAD at the time, 2026030402.
        let d = tempfile::tempdir().unwrap();
        let j = testdb::lab_journal();
        let c = verdict(d.path(), "pdns.sqlite3.2026030402", &db_bytes(d.path(), &j, 2026021702), &j);
        assert_eq!(c.unrestorable, None);
        assert_eq!((c.serial, c.serial_from), (Some(2026030402), "name"));
        let lost: Vec<&str> = c.lost.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(lost, vec!["monitoring.sub.comptech-lab.com.", "grafana.sub.comptech-lab.com."]);
        assert_eq!(c.to_replay.len(), 1);
        assert!(c.notes[0].contains("its name says serial 2026030402, its SOA says 2026021702"), "{:?}", c.notes);
        assert_eq!(c.lost[1].to_string(), "grafana.sub.comptech-lab.com. CNAME monitoring.sub.comptech-lab.com. (serial 2026030402)");
    }

    #[test]
    fn rows_above_the_serial_already_inside_would_be_added_twice() {
        let d = tempfile::tempdir().unwrap();
        let j = testdb::lab_journal();
        let p = d.path().join("stale-soa.sqlite3");
        drop(testdb::from_journal(&p, &j, 2026020306, false));
        let c = verdict(d.path(), "pdns.sqlite3.bak", &std::fs::read(&p).unwrap(), &j);
        assert_eq!((c.serial, c.serial_from), (Some(2026020306), "SOA"));
        assert!(c.to_replay.is_empty());
        assert_eq!(c.above_but_present.len(), j.entries_after(2026020306).len());
        assert_eq!(c.file.taken_from, "mtime");
    }

    #[test]
    fn each_bad_backup_kind_gets_its_verdict() {
        let d = tempfile::tempdir().unwrap();
        let j = testdb::lab_journal();
        let good = db_bytes(d.path(), &j, j.head_serial());
        let page = page_size_of(&good).unwrap();
        let reason = |name: &str, bytes: &[u8], j: &Journal| verdict(d.path(), name, bytes, j).unrestorable.unwrap_or_else(|| panic!("{name} passed"));

        let mut cut = good.clone();
        Corruption::Truncated.apply(&mut cut, page);
        let r = reason("truncated", &cut, &j);
        assert!(r.starts_with("truncated: its header counts"), "{r}");
        let half = reason("half-page", &good[..good.len() - 100], &j);
        assert!(half.starts_with("truncated:"), "{half}");

        let r = reason("notes.txt", "backup log: all fine\n".repeat(300).as_bytes(), &j);
        assert!(r.starts_with("not an SQLite database"), "{r}");
        assert!(r.contains("file is not a database"), "{r}");
        let mut header = good.clone();
        Corruption::HeaderOverwritten.apply(&mut header, page);
        assert!(reason("header", &header, &j).starts_with("not an SQLite database"));
        assert_eq!(reason("empty", b"", &j), "an empty file");

        let mut middle = good.clone();
        Corruption::MiddlePageOverwritten.apply(&mut middle, page);
        let r = reason("middle", &middle, &j);
        assert!(r.starts_with("integrity_check is not ok:"), "{r}");

        // Another zone: the same rows under example.org.
        let other = Journal::parse("o.md", &j.to_markdown().replace("sub.comptech-lab.com", "example.org")).unwrap();
        let r = reason("other-zone", &db_bytes(d.path(), &other, other.head_serial()), &j);
        assert_eq!(r, "a backup of another zone: it holds example.org, the journal is for sub.comptech-lab.com");

        // Newer than the journal: its serial is past HEAD, by SOA or by name.
        let r = reason("newer", &db_bytes(d.path(), &j, j.head_serial() + 5), &j);
        assert!(r.starts_with(&format!("newer than the journal: its serial {} is above the journal's HEAD {}", j.head_serial() + 5, j.head_serial())), "{r}");
        assert!(reason("pdns.sqlite3.2026120101", &good, &j).starts_with("newer than the journal: its serial 2026120101"));

        // Not a pdns database.
        let p = d.path().join("plain.sqlite3");
        rusqlite::Connection::open(&p).unwrap().execute_batch("CREATE TABLE t (x);").unwrap();
        let r = reason("plain", &std::fs::read(&p).unwrap(), &j);
        assert!(r.starts_with("not a pdns database: tables domains, records"), "{r}");

        // A missing file is an error naming the path, not a verdict.
        let e = BackupFile::read(&d.path().join("absent.sqlite3")).unwrap_err();
        assert!(format!("{e:#}").contains("absent.sqlite3"), "{e:#}");
    }

    #[test]
    fn stamps_in_names() {
        let t = |n: &str| stamp_of(n).map(|(t, s)| (rfc3339(t), s));
        assert_eq!(t("pdns.sqlite3.20260320"), Some(("2026-03-20T00:00:00Z".into(), None)));
        assert_eq!(t("pdns.sqlite3.2026040103"), Some(("2026-04-01T00:00:00Z".into(), Some(2026040103))));
        assert_eq!(t("pdns.sqlite3.20260320-101500"), Some(("2026-03-20T10:15:00Z".into(), None)));
        assert_eq!(t("pdns-20260320101500.sqlite3"), Some(("2026-03-20T10:15:00Z".into(), None)));
        assert_eq!(t("pdns.sqlite3"), None);
        assert_eq!(t("pdns.sqlite3.20261399"), None);
    }

    #[test]
    fn policy_against_a_day() {
        let d = tempfile::tempdir().unwrap();
        let mk = |n: &str, len: usize| write(d.path(), n, &vec![0u8; len]);
        let files = vec![mk("pdns.sqlite3.20260318", 300 * 1024), mk("pdns.sqlite3.20260319", 310 * 1024), mk("pdns.sqlite3.20260322", 320 * 1024)];
        let now = time::macros::datetime!(2026-03-22 12:00 UTC);
        let p = policy(d.path(), &files, now);
        assert_eq!(p.newest.as_deref(), Some("pdns.sqlite3.20260322"));
        assert_eq!(p.newest_age_hours, Some(12.0));
        assert_eq!(p.gaps_over_a_day, vec!["pdns.sqlite3.20260319 → pdns.sqlite3.20260322: 72.0 h"]);
        assert_eq!(p.findings.len(), 1, "{:?}", p.findings);
        assert!(p.size_note.contains("in line with"), "{}", p.size_note);
        let late = policy(d.path(), &files, time::macros::datetime!(2026-03-24 00:00 UTC));
        assert!(late.findings[0].contains("is 48.0 h old"), "{:?}", late.findings);
        let mut sorted = files.clone();
        newest_first(&mut sorted);
        assert_eq!(sorted[0].name, "pdns.sqlite3.20260322");
        assert!(policy(d.path(), &[], now).findings[0].starts_with("no backups"));
    }
}
