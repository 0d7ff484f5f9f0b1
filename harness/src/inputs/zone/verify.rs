//! What the runbook's check (`PRAGMA integrity_check;` expecting `ok`) and a little more say about
//! a pdns SQLite file: does it hold the schema, how many records, which zones, which SOA serial,
//! how big it is (claims SQL-DETECT, BAK-VERIFY, MON-SIZE).
//!
//! A damaged file is a result, not an error: [`verify`] returns a [`Verification`] whose
//! `integrity` is not `ok` and carries SQLite's own words. Only a file that cannot be looked at at
//! all (missing, unreadable) is an `Err`.
//!
//! Side effect to know about: opening a WAL-mode file (pdns's databases are) read-only when no
//! `-wal` exists makes SQLite create an empty `-wal` and a `-shm` beside it, which a read-only
//! connection cannot remove. They hold no data; [`verify`] leaves them rather than delete a
//! `-shm` another process might be using.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, OpenFlags};

use super::compare::{self, Rrset};

/// Tables every pdns gsqlite3 database has (schema.sqlite3.sql, 4.7).
pub const REQUIRED_TABLES: &[&str] = &["domains", "records", "domainmetadata", "cryptokeys", "comments"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// `ok`, or the integrity check's lines joined with newlines, or `error: ...` when SQLite
    /// refused to run it (e.g. `file is not a database`).
    pub integrity: String,
    /// All of [`REQUIRED_TABLES`] exist.
    pub schema_ok: bool,
    pub missing_tables: Vec<String>,
    /// `count(*)` of `records` (every row, ENTs and disabled ones included); `None` if unreadable.
    pub records: Option<u64>,
    /// Names in `domains`, sorted.
    pub zones: Vec<String>,
    /// The serial in the given zone's SOA, if readable.
    pub soa_serial: Option<u32>,
    /// Size of the main database file in bytes (not counting a `-wal`).
    pub size_bytes: u64,
}

impl Verification {
    /// Integrity `ok` and the schema complete.
    pub fn is_ok(&self) -> bool {
        self.integrity == "ok" && self.schema_ok
    }
}

fn open_ro(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// Check a pdns SQLite file, read-only. `zone` with or without trailing dot.
pub fn verify(path: &Path, zone: &str) -> anyhow::Result<Verification> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a file", path.display());
    let size_bytes = meta.len();
    let mut v = Verification {
        integrity: String::new(),
        schema_ok: false,
        missing_tables: REQUIRED_TABLES.iter().map(|s| s.to_string()).collect(),
        records: None,
        zones: Vec::new(),
        soa_serial: None,
        size_bytes,
    };
    let conn = match open_ro(path) {
        Ok(c) => c,
        Err(e) => {
            v.integrity = format!("error: {e}");
            return Ok(v);
        }
    };
    v.integrity = integrity(&conn);
    if let Ok(tables) = table_names(&conn) {
        v.missing_tables = REQUIRED_TABLES.iter().filter(|t| !tables.iter().any(|x| x == *t)).map(|s| s.to_string()).collect();
        v.schema_ok = v.missing_tables.is_empty();
    }
    v.records = conn.query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0)).ok().map(|n| n as u64);
    if let Ok(mut st) = conn.prepare("SELECT name FROM domains ORDER BY name") {
        if let Ok(rows) = st.query_map([], |r| r.get::<_, String>(0)) {
            v.zones = rows.filter_map(Result::ok).collect();
        }
    }
    v.soa_serial = soa_content(&conn, zone).ok().flatten().and_then(|c| soa_serial_of(&c));
    Ok(v)
}

/// `PRAGMA integrity_check` as the sqlite3 CLI shows it: `ok`, or every row it produced and then,
/// if SQLite gave up part-way, `error: ...` (a damaged b-tree page yields both).
fn integrity(conn: &Connection) -> String {
    let mut lines: Vec<String> = Vec::new();
    let res = integrity_rows(conn, &mut lines);
    match res {
        Ok(()) if lines.len() == 1 && lines[0] == "ok" => "ok".to_string(),
        Ok(()) if lines.is_empty() => "error: integrity_check returned nothing".to_string(),
        Ok(()) => lines.join("\n"),
        Err(e) => {
            lines.push(format!("error: {e}"));
            lines.join("\n")
        }
    }
}

fn integrity_rows(conn: &Connection, lines: &mut Vec<String>) -> rusqlite::Result<()> {
    let mut st = conn.prepare("PRAGMA integrity_check")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        lines.push(r.get::<_, String>(0)?);
    }
    Ok(())
}

fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn bare(zone: &str) -> String {
    zone.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn soa_content(conn: &Connection, zone: &str) -> rusqlite::Result<Option<String>> {
    let z = bare(zone);
    let mut st = conn.prepare(
        "SELECT r.content FROM records r JOIN domains d ON r.domain_id = d.id \
         WHERE d.name = ?1 AND r.type = 'SOA' AND lower(r.name) = ?1 AND r.disabled = 0 LIMIT 1",
    )?;
    let mut rows = st.query([&z])?;
    match rows.next()? {
        Some(r) => r.get(0),
        None => Ok(None),
    }
}

/// The serial (third field) of SOA content.
pub fn soa_serial_of(content: &str) -> Option<u32> {
    content.split_whitespace().nth(2)?.parse().ok()
}

/// The zone's records as pdns would serve them (`disabled = 0`, ENT rows skipped), SOA
/// included, grouped into normalised RRsets. MX/SRV priorities are taken from `prio` when the
/// content lacks them (pdns 4.x) and from the content when it carries them.
pub fn db_rrsets(path: &Path, zone: &str) -> anyhow::Result<Vec<Rrset>> {
    let conn = open_ro(path).with_context(|| format!("opening {}", path.display()))?;
    let rows = record_rows(&conn, zone).with_context(|| format!("reading records of {zone} from {}", path.display()))?;
    Ok(compare::group_rrsets(rows.iter().map(|(n, t, ttl, c)| (n.as_str(), t.as_str(), *ttl, c.as_str()))))
}

/// Records stored more than once (same name, type and content): `pdnsutil add-record` does not
/// deduplicate, so replaying an entry twice leaves two rows. One line per duplicate:
/// `name TYPE content ×count`.
pub fn db_duplicate_rows(path: &Path, zone: &str) -> anyhow::Result<Vec<String>> {
    let conn = open_ro(path).with_context(|| format!("opening {}", path.display()))?;
    let rows = record_rows(&conn, zone)?;
    let mut count: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (n, t, _, c) in rows {
        let key = (compare::normalise_name(&n), t.clone(), compare::normalise_rdata(&t, &c));
        *count.entry(key).or_default() += 1;
    }
    Ok(count.into_iter().filter(|(_, n)| *n > 1).map(|((n, t, c), k)| format!("{n} {t} {c} ×{k}")).collect())
}

fn record_rows(conn: &Connection, zone: &str) -> rusqlite::Result<Vec<(String, String, u32, String)>> {
    let z = bare(zone);
    let mut st = conn.prepare(
        "SELECT r.name, r.type, r.content, r.ttl, r.prio FROM records r JOIN domains d ON r.domain_id = d.id \
         WHERE d.name = ?1 AND r.disabled = 0 AND r.type IS NOT NULL AND r.type != '' ORDER BY r.id",
    )?;
    let rows = st.query_map([&z], |r| {
        let name: String = r.get::<_, Option<String>>(0)?.unwrap_or_default();
        let t: String = r.get::<_, String>(1)?.to_ascii_uppercase();
        let content: String = r.get::<_, Option<String>>(2)?.unwrap_or_default();
        let ttl: i64 = r.get::<_, Option<i64>>(3)?.unwrap_or(0);
        let prio: i64 = r.get::<_, Option<i64>>(4)?.unwrap_or(0);
        let fields = content.split_whitespace().count();
        let content = match t.as_str() {
            "MX" if fields == 1 => format!("{prio} {content}"),
            "SRV" if fields == 3 => format!("{prio} {content}"),
            _ => content,
        };
        Ok((name, t, ttl.clamp(0, u32::MAX as i64) as u32, content))
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::zone::testdb;

    #[test]
    fn verify_a_good_database() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pdns.sqlite3");
        let j = testdb::lab_journal();
        drop(testdb::from_journal(&p, &j, j.head_serial(), false));
        let v = verify(&p, "sub.comptech-lab.com.").unwrap();
        assert!(v.is_ok(), "{v:?}");
        assert_eq!(v.integrity, "ok");
        assert!(v.missing_tables.is_empty());
        assert_eq!(v.records, Some(j.entries.len() as u64 + 2)); // + SOA + one ENT row
        assert_eq!(v.zones, vec!["sub.comptech-lab.com"]);
        assert_eq!(v.soa_serial, Some(j.head_serial()));
        assert!(v.size_bytes > 0 && v.size_bytes.is_multiple_of(4096));
        // Another zone has no SOA here.
        assert_eq!(verify(&p, "example.org").unwrap().soa_serial, None);
    }

    #[test]
    fn verify_reports_missing_tables_and_non_databases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("half.sqlite3");
        let c = Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE domains (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE records (id INTEGER PRIMARY KEY, domain_id INT, name TEXT, type TEXT, content TEXT, ttl INT, prio INT, disabled BOOL DEFAULT 0);").unwrap();
        drop(c);
        let v = verify(&p, "sub.comptech-lab.com").unwrap();
        assert_eq!(v.integrity, "ok");
        assert!(!v.schema_ok);
        assert_eq!(v.missing_tables, vec!["domainmetadata", "cryptokeys", "comments"]);
        assert_eq!(v.records, Some(0));

        let t = dir.path().join("notes.txt");
        std::fs::write(&t, "this is a text file, not a database\n".repeat(200)).unwrap();
        let v = verify(&t, "sub.comptech-lab.com").unwrap();
        assert_eq!(v.integrity, "error: file is not a database", "{v:?}");
        assert!(!v.is_ok());
        assert_eq!(v.records, None);

        assert!(verify(&dir.path().join("absent.sqlite3"), "x").is_err());
    }

    #[test]
    fn db_rrsets_read_pdns_storage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pdns.sqlite3");
        let j = testdb::lab_journal();
        let c = testdb::from_journal(&p, &j, 1, true);
        let id: i64 = c.query_row("SELECT id FROM domains", [], |r| r.get(0)).unwrap();
        // MX both ways: pdns 4.x (prio column) and priority in content.
        testdb::insert(&c, id, "sub.comptech-lab.com", "MX", "mail.sub.comptech-lab.com", 3600, 10);
        testdb::insert(&c, id, "sub.comptech-lab.com", "MX", "20 mx2.sub.comptech-lab.com", 3600, 0);
        testdb::insert(&c, id, "_x._tcp.sub.comptech-lab.com", "SRV", "5 9092 kafka-0.sub.comptech-lab.com", 300, 0);
        testdb::insert(&c, id, "off.sub.comptech-lab.com", "A", "10.10.0.99", 300, 0);
        c.execute("UPDATE records SET disabled = 1 WHERE name = 'off.sub.comptech-lab.com'", []).unwrap();
        drop(c);
        let r = db_rrsets(&p, "sub.comptech-lab.com").unwrap();
        let get = |n: &str, t: &str| r.iter().find(|x| x.name == n && x.rtype == t).cloned();
        assert_eq!(get("sub.comptech-lab.com.", "MX").unwrap().data, vec!["10 mail.sub.comptech-lab.com.", "20 mx2.sub.comptech-lab.com."]);
        assert_eq!(get("_x._tcp.sub.comptech-lab.com.", "SRV").unwrap().data, vec!["0 5 9092 kafka-0.sub.comptech-lab.com."]);
        assert!(get("off.sub.comptech-lab.com.", "A").is_none(), "disabled rows are not served");
        assert!(get("ocp.sub.comptech-lab.com.", "").is_none());
        assert_eq!(get("sub.comptech-lab.com.", "SOA").unwrap().data, vec!["ns1.sub.comptech-lab.com. hostmaster.sub.comptech-lab.com. 1 10800 3600 604800 3600"]);
        // Everything the journal expects is there.
        let cmp = compare::compare(&j.rrsets(), &r, false);
        assert!(cmp.missing.is_empty() && cmp.differing.is_empty(), "{cmp}");
        // Apex NS: the journal has one and create-zone added the same → stored twice.
        assert_eq!(db_duplicate_rows(&p, "sub.comptech-lab.com").unwrap(), vec!["sub.comptech-lab.com. NS ns1.sub.comptech-lab.com. ×2"]);
    }
}
