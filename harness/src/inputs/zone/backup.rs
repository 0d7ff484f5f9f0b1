//! Backing up the pdns SQLite: the runbook's way and a consistent way.
//!
//! The runbook's convention (BAK-VERIFY, SQL-RESTORE) is to copy the database file and nothing
//! else: [`plain_copy`]. pdns 4.7's gsqlite3 backend opens the database in WAL mode, so while
//! any connection is open, committed transactions can live in `pdns.sqlite3-wal` until a
//! checkpoint moves them into the main file. A copy of the main file alone is then a consistent
//! but *older* database: it passes `PRAGMA integrity_check` and silently lacks the newest
//! records. [`wal_pending_bytes`] shows when that is the case; [`online_backup`] (SQLite's backup
//! API) reads through the WAL and copies every transaction committed before it started.
//!
//! Observed by `plain_copy_misses_wal_rows_online_backup_does_not` (WAL mode, default
//! autocheckpoint, a writer committing 5-row transactions every ~0.5 ms): 100 rows checkpointed
//! before the writer started; when copied, 815 rows were committed, the `-wal` held 618,032
//! bytes and the main file 8,192; the plain copy held 100 rows and passed `integrity_check`
//! (`ok`), silently missing 715 committed rows; the online backup held 820 rows, exactly those
//! committed before it started (820 before, 825 after), also `ok`. Each run prints its figures.
//!
//! pdns itself does not close the file cleanly: in the lab image (pdns 4.7.3), after nine
//! `pdnsutil add-record` while pdns ran, `systemctl stop pdns` left a 148,352-byte `-wal`
//! beside the 77,824-byte main file, so a copy of the main file taken after the stop had the
//! same sha256 as the plain copy taken while pdns ran after the first three, and lacked all
//! nine records (the restore drill's
//! integration test, `harness/tests/it/restore_drill.rs`). Stopping pdns is not a checkpoint.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// The runbook's backup: copy the database file's bytes (only the main file). Returns the number
/// of bytes copied.
pub fn plain_copy(src: &Path, dst: &Path) -> anyhow::Result<u64> {
    std::fs::copy(src, dst).with_context(|| format!("copying {} to {}", src.display(), dst.display()))
}

/// A consistent snapshot through SQLite's online backup API, safe while pdns is writing. `dst`
/// is overwritten. All pages are copied in one step, so the snapshot is of one moment.
pub fn online_backup(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let from = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("opening {}", src.display()))?;
    if dst.exists() {
        std::fs::remove_file(dst).with_context(|| format!("replacing {}", dst.display()))?;
    }
    let mut to = Connection::open(dst).with_context(|| format!("creating {}", dst.display()))?;
    {
        let b = Backup::new(&from, &mut to).context("starting the online backup")?;
        // step(-1): every page in one step, under one read transaction on the source. (rusqlite's
        // run_to_completion refuses -1.) Busy/Locked: a writer holds a lock; retry briefly.
        let mut waited = Duration::ZERO;
        loop {
            match b.step(-1).with_context(|| format!("backing up {} to {}", src.display(), dst.display()))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    anyhow::ensure!(waited < Duration::from_secs(30), "backing up {}: source stayed locked for 30 s", src.display());
                    std::thread::sleep(Duration::from_millis(10));
                    waited += Duration::from_millis(10);
                }
                _ => {}
            }
        }
    }
    // Closing the only connection to the copy checkpoints it: one self-contained file.
    to.close().map_err(|(_, e)| e).context("closing the backup")?;
    Ok(())
}

/// The `-wal` file beside a database.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// Bytes in the database's `-wal` file (0 when there is none): committed data a copy of the main
/// file alone may lack.
pub fn wal_pending_bytes(db: &Path) -> u64 {
    std::fs::metadata(wal_path(db)).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    fn count(p: &Path) -> u64 {
        let c = Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap() as u64
    }

    #[test]
    fn plain_copy_misses_wal_rows_online_backup_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pdns.sqlite3");
        let c = Connection::open(&db).unwrap();
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);").unwrap();
        for i in 0..100 {
            c.execute("INSERT INTO t (payload) VALUES (?1)", [format!("seed-{i}")]).unwrap();
        }
        // As after a pdns restart: everything so far is in the main file.
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        let seeded = count(&db);

        let committed = Arc::new(AtomicU64::new(seeded));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (committed, stop, db) = (committed.clone(), stop.clone(), db.clone());
            std::thread::spawn(move || {
                let mut w = Connection::open(&db).unwrap();
                w.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let tx = w.transaction().unwrap();
                    for _ in 0..5 {
                        tx.execute("INSERT INTO t (payload) VALUES (?1)", [format!("row-{n}")]).unwrap();
                        n += 1;
                    }
                    tx.commit().unwrap();
                    committed.fetch_add(5, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(500));
                }
            })
        };
        while committed.load(Ordering::SeqCst) < seeded + 700 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let plain = dir.path().join("plain.sqlite3");
        let online = dir.path().join("online.sqlite3");
        let before_copy = committed.load(Ordering::SeqCst);
        let wal_bytes = wal_pending_bytes(&db);
        let copied = plain_copy(&db, &plain).unwrap();
        let before_backup = committed.load(Ordering::SeqCst);
        online_backup(&db, &online).unwrap();
        assert!(!wal_path(&online).exists(), "the online backup is one self-contained file");
        let after_backup = committed.load(Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        drop(c);

        let in_plain = count(&plain);
        let in_online = count(&online);
        let plain_integrity = crate::inputs::zone::verify::verify(&plain, "x").unwrap().integrity;
        let online_integrity = crate::inputs::zone::verify::verify(&online, "x").unwrap().integrity;
        eprintln!(
            "WAL plain-copy observation: seeded+checkpointed {seeded}; committed before plain copy {before_copy}; \
             -wal {wal_bytes} bytes, main file {copied} bytes; plain copy rows {in_plain} (integrity {plain_integrity}); \
             committed before online backup {before_backup}, after {after_backup}; online backup rows {in_online} (integrity {online_integrity})"
        );
        assert!(wal_bytes > 0, "committed rows are in the -wal");
        assert_eq!(plain_integrity, "ok", "the plain copy looks healthy");
        assert_eq!(in_plain, seeded, "the plain copy has only what was checkpointed");
        assert!(in_plain < before_copy, "rows committed before the copy are missing from it");
        assert_eq!(online_integrity, "ok");
        assert!(in_online >= before_backup && in_online <= after_backup, "{in_online} not in {before_backup}..={after_backup}");
        // Reading the copies read-only left an empty -wal beside them (see verify's doc).
        assert_eq!(wal_pending_bytes(&online), 0);
    }

    #[test]
    fn plain_copy_of_a_closed_database_is_complete() {
        // With every connection closed (pdns stopped), the -wal is checkpointed away and the
        // runbook's copy is complete.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pdns.sqlite3");
        let c = Connection::open(&db).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT);").unwrap();
        for i in 0..50 {
            c.execute("INSERT INTO t (payload) VALUES (?1)", [i.to_string()]).unwrap();
        }
        assert!(wal_pending_bytes(&db) > 0);
        drop(c);
        assert_eq!(wal_pending_bytes(&db), 0);
        let dst = dir.path().join("copy.sqlite3");
        assert_eq!(plain_copy(&db, &dst).unwrap(), std::fs::metadata(&db).unwrap().len());
        assert_eq!(count(&dst), 50);
    }
}
