//! File-level corruptions of the pdns SQLite, used as faults for SQL-DETECT / SQL-RESTORE and to
//! test MON-SIZE. Pure functions over bytes: the harness copies the database out of the
//! container, applies one, and copies it back (with pdns stopped, so nothing rewrites it).
//!
//! What [`super::verify::verify`] reported for each (`each_corruption_is_detected`: a
//! pdns-schema database holding the lab journal plus 400 filler TXT records, 39 pages of 4096
//! bytes, 159,744 bytes; bundled SQLite via rusqlite 0.37), and what the lab image's
//! `sqlite3` 3.40.1 printed for the runbook's `PRAGMA integrity_check;` on the same damage:
//!
//! * [`Corruption::HeaderOverwritten`]: `integrity` = `error: file is not a database`; schema,
//!   record count, zones and SOA all unreadable. CLI: `Error: in prepare, file is not a database
//!   (26)`. Size unchanged (159,744).
//! * [`Corruption::Truncated`] (to 19 pages, 77,824 bytes): `integrity` =
//!   `error: database disk image is malformed`; schema unreadable. CLI: `Error: in prepare,
//!   database disk image is malformed (11)`.
//! * [`Corruption::MiddlePageOverwritten`] (page 20, a `records` b-tree page): `integrity` =
//!   `*** in database main ***`, `Tree 5 page 20: btreeInitPage() returns error code 11`,
//!   `wrong # of entries in index records_order_idx` (and `records_lookup_id_idx`,
//!   `records_lookup_idx`), then `error: database disk image is malformed`. The schema still
//!   reads and `count(*)` still answers (427), but the SOA lookup fails. CLI: `Page 20:
//!   btreeInitPage() returns error code 11` plus `Error: stepping, database disk image is
//!   malformed (11)`, and the runbook's `select count(*) from records;` still printed a count.
//!   Size unchanged.
//!
//! So the runbook's readability check (`count(*)`) passes on the middle-page damage, and
//! since two of the three leave the size exactly as it was, a size-drop alert (MON-SIZE)
//! catches only truncation.

/// The SQLite header is the first 100 bytes of page 1; it starts `SQLite format 3\0`.
pub const HEADER_LEN: usize = 100;

/// Garbage written over data: recognisable in a hex dump.
const PATTERN: &[u8] = b"PDNS-DRILL-CORRUPTION!";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corruption {
    /// The 100-byte file header is overwritten: SQLite no longer recognises the file.
    HeaderOverwritten,
    /// The file is cut to half its pages (at least one page kept), as by a full disk or an
    /// interrupted copy.
    Truncated,
    /// One page in the middle of the file (never page 1) is overwritten with garbage.
    MiddlePageOverwritten,
}

impl Corruption {
    pub const ALL: [Corruption; 3] = [Corruption::HeaderOverwritten, Corruption::Truncated, Corruption::MiddlePageOverwritten];

    /// Damage `bytes` (a whole database file) in place. `page_size` is the database's page size
    /// (see [`page_size_of`]). Deterministic: the same input gives the same output.
    pub fn apply(self, bytes: &mut Vec<u8>, page_size: usize) {
        let page_size = page_size.max(512);
        match self {
            Corruption::HeaderOverwritten => {
                let n = HEADER_LEN.min(bytes.len());
                fill(&mut bytes[..n]);
            }
            Corruption::Truncated => {
                let pages = bytes.len() / page_size;
                let keep = (pages / 2).max(1) * page_size;
                bytes.truncate(keep.min(bytes.len()));
            }
            Corruption::MiddlePageOverwritten => {
                let pages = bytes.len() / page_size;
                if pages < 2 {
                    // Nothing but page 1: damage what follows its header.
                    let end = bytes.len();
                    fill(&mut bytes[HEADER_LEN.min(end)..end]);
                    return;
                }
                let page = (pages / 2).max(1); // 0-based, so never page 1
                fill(&mut bytes[page * page_size..(page + 1) * page_size]);
            }
        }
    }

    /// Read, damage and write back a file.
    pub fn apply_to_file(self, path: &std::path::Path) -> std::io::Result<()> {
        let mut b = std::fs::read(path)?;
        let ps = page_size_of(&b).unwrap_or(4096);
        self.apply(&mut b, ps);
        std::fs::write(path, b)
    }

    /// One line for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Corruption::HeaderOverwritten => "first 100 bytes (the SQLite header) overwritten with garbage",
            Corruption::Truncated => "file truncated to half its pages",
            Corruption::MiddlePageOverwritten => "one page in the middle of the file overwritten with garbage",
        }
    }
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

fn fill(buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = PATTERN[i % PATTERN.len()];
    }
}

/// The page size recorded in a database header (bytes 16-17, big-endian; 1 means 65536), or
/// `None` when the bytes do not start like an SQLite database.
pub fn page_size_of(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < HEADER_LEN || &bytes[..16] != b"SQLite format 3\0" {
        return None;
    }
    match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => Some(65536),
        n if n >= 512 && n.is_power_of_two() => Some(n as usize),
        _ => None,
    }
}

/// Where one table's or index's b-tree lies in a database file: the pages to overwrite so that
/// damage lands on that object, whatever the lab's layout (scenarios 72-76, 80).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtreePages {
    /// `table` or `index`, as `sqlite_master` says.
    pub kind: String,
    /// The table it belongs to (itself for a table).
    pub table: String,
    pub page_size: usize,
    /// Pages in the file.
    pub page_count: u32,
    /// The b-tree's pages (1-based, ascending): root, interior, leaf and overflow pages.
    pub pages: Vec<u32>,
}

/// The pages of the b-tree named `name` (a table or an index) in `bytes`, a whole database
/// file as it lies on disk (a `-wal` beside it is not read: see [`wal_pages`]). Read with
/// SQLite's `dbstat` on a private copy opened immutable.
pub fn btree_pages(bytes: &[u8], name: &str) -> anyhow::Result<BtreePages> {
    use rusqlite::{Connection, OpenFlags, OptionalExtension};
    let page_size = page_size_of(bytes).ok_or_else(|| anyhow::anyhow!("not an SQLite database (no header)"))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("layout.sqlite3");
    std::fs::write(&path, bytes)?;
    let uri = format!("file:{}?immutable=1", path.display());
    let c = Connection::open_with_flags(&uri, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let found: Option<(String, String)> =
        c.query_row("SELECT type, tbl_name FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'index')", [name], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let Some((kind, table)) = found else {
        let mut st = c.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY rootpage")?;
        let names: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        anyhow::bail!("no table or index `{name}` in the database (it has {})", names.join(", "));
    };
    let mut st = c.prepare("SELECT pageno FROM dbstat WHERE name = ?1 ORDER BY pageno")?;
    let pages: Vec<u32> = st.query_map([name], |r| r.get(0))?.collect::<Result<_, _>>()?;
    anyhow::ensure!(!pages.is_empty(), "dbstat lists no page of `{name}`");
    Ok(BtreePages { kind, table, page_size, page_count: (bytes.len() / page_size) as u32, pages })
}

/// The pages a `-wal` holds a copy of (its valid frames: those carrying the header's salts,
/// up to the first that does not). A reader takes such a page from the -wal, not the file, so
/// an overwrite of the file's copy would go unread, and a checkpoint would write over it.
pub fn wal_pages(wal: &[u8]) -> std::collections::BTreeSet<u32> {
    let mut out = std::collections::BTreeSet::new();
    let be = |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    if wal.len() < 32 || !matches!(be(wal, 0), 0x377f_0682 | 0x377f_0683) {
        return out;
    }
    let page_size = be(wal, 8) as usize;
    let salts = &wal[16..24];
    let mut at = 32;
    while page_size > 0 && at + 24 + page_size <= wal.len() {
        if &wal[at + 8..at + 16] != salts {
            break;
        }
        out.insert(be(wal, at));
        at += 24 + page_size;
    }
    out
}

/// One page of the garbage the overwrite writes: the fill pattern, recognisable in a hex dump
/// and by a read-back (its first byte is no b-tree page type, so SQLite refuses the page).
pub fn garbage_page(page_size: usize) -> Vec<u8> {
    let mut b = vec![0u8; page_size];
    fill(&mut b);
    b
}

/// "page 5 of 19", "pages 5, 6 and 9 of 40".
pub fn pages_phrase(pages: &[u32], of: u32) -> String {
    let list: Vec<String> = pages.iter().map(u32::to_string).collect();
    match list.as_slice() {
        [one] => format!("page {one} of {of}"),
        [init @ .., last] => format!("pages {} and {last} of {of}", init.join(", ")),
        [] => format!("no page of {of}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::zone::{testdb, verify::verify};

    fn lab_db(dir: &std::path::Path) -> std::path::PathBuf {
        let p = dir.join("pdns.sqlite3");
        let j = testdb::lab_journal();
        let c = testdb::from_journal(&p, &j, j.head_serial(), false);
        let id: i64 = c.query_row("SELECT id FROM domains", [], |r| r.get(0)).unwrap();
        for i in 0..400 {
            testdb::insert(&c, id, &format!("filler-{i}.sub.comptech-lab.com"), "TXT", &format!("\"filler record {i} for a multi-page file\""), 300, 0);
        }
        drop(c);
        p
    }

    #[test]
    fn page_size_from_header() {
        let dir = tempfile::tempdir().unwrap();
        let b = std::fs::read(lab_db(dir.path())).unwrap();
        assert_eq!(page_size_of(&b), Some(4096));
        assert_eq!(page_size_of(b"not a database"), None);
    }

    #[test]
    fn apply_is_deterministic_and_shaped() {
        let orig: Vec<u8> = (0..4096 * 10).map(|i| (i % 251) as u8).collect();
        let mut h = orig.clone();
        Corruption::HeaderOverwritten.apply(&mut h, 4096);
        assert_eq!(h.len(), orig.len());
        assert_ne!(h[..100], orig[..100]);
        assert_eq!(h[100..], orig[100..]);
        let mut t = orig.clone();
        Corruption::Truncated.apply(&mut t, 4096);
        assert_eq!(t.len(), 5 * 4096);
        let mut m = orig.clone();
        Corruption::MiddlePageOverwritten.apply(&mut m, 4096);
        assert_eq!(m[..5 * 4096], orig[..5 * 4096]);
        assert_ne!(m[5 * 4096..6 * 4096], orig[5 * 4096..6 * 4096]);
        assert_eq!(m[6 * 4096..], orig[6 * 4096..]);
        let mut m2 = orig.clone();
        Corruption::MiddlePageOverwritten.apply(&mut m2, 4096);
        assert_eq!(m, m2);
    }

    #[test]
    fn each_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let good = lab_db(dir.path());
        let before = verify(&good, "sub.comptech-lab.com").unwrap();
        assert!(before.is_ok(), "{before:?}");
        for c in Corruption::ALL {
            let p = dir.path().join(format!("{c:?}.sqlite3"));
            std::fs::copy(&good, &p).unwrap();
            c.apply_to_file(&p).unwrap();
            let v = verify(&p, "sub.comptech-lab.com").unwrap();
            let first: Vec<&str> = v.integrity.lines().take(8).collect();
            eprintln!(
                "{c:?}: integrity={:?} (+{} more lines) schema_ok={} records={:?} soa_serial={:?} size {} -> {}",
                first,
                v.integrity.lines().count().saturating_sub(8),
                v.schema_ok,
                v.records,
                v.soa_serial,
                before.size_bytes,
                v.size_bytes
            );
            assert_ne!(v.integrity, "ok", "{c:?} went unnoticed");
            assert!(!v.is_ok());
            match c {
                Corruption::HeaderOverwritten => {
                    assert_eq!(v.integrity, "error: file is not a database");
                    assert_eq!(v.size_bytes, before.size_bytes);
                }
                Corruption::Truncated => {
                    assert_eq!(v.size_bytes, before.size_bytes / 4096 / 2 * 4096);
                    assert_eq!(v.integrity, "error: database disk image is malformed");
                }
                Corruption::MiddlePageOverwritten => {
                    assert_eq!(v.size_bytes, before.size_bytes);
                    assert!(v.integrity.contains("btreeInitPage() returns error code 11"), "{}", v.integrity);
                    assert!(v.schema_ok && v.records.is_some(), "the damage is below the schema: {v:?}");
                }
            }
        }
    }

    #[test]
    fn a_btrees_pages_are_found_in_the_file_whatever_its_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = lab_db(dir.path());
        let b = std::fs::read(&p).unwrap();
        let root: u32 = rusqlite::Connection::open(&p).unwrap().query_row("SELECT rootpage FROM sqlite_master WHERE name = 'records'", [], |r| r.get(0)).unwrap();
        let r = btree_pages(&b, "records").unwrap();
        assert_eq!((r.kind.as_str(), r.table.as_str(), r.page_size), ("table", "records", 4096));
        assert_eq!(r.page_count as usize * 4096, b.len());
        assert!(r.pages.len() > 1 && r.pages.contains(&root), "400 filler rows span pages under the root {root}: {:?}", r.pages);
        let i = btree_pages(&b, "records_order_idx").unwrap();
        assert_eq!((i.kind.as_str(), i.table.as_str()), ("index", "records"));
        assert!(i.pages.iter().all(|p| !r.pages.contains(p)));
        let e = btree_pages(&b, "record").unwrap_err().to_string();
        assert!(e.contains("no table or index `record`") && e.contains("records_order_idx"), "{e}");
        assert!(btree_pages(b"not a database", "records").is_err());
        // The garbage on those pages is damage the integrity check sees, the size kept.
        let mut d = b.clone();
        for pg in &r.pages {
            let at = (*pg as usize - 1) * 4096;
            d[at..at + 4096].copy_from_slice(&garbage_page(4096));
        }
        let q = dir.path().join("records-overwritten.sqlite3");
        std::fs::write(&q, &d).unwrap();
        let v = verify(&q, "sub.comptech-lab.com").unwrap();
        assert_ne!(v.integrity, "ok");
        assert_eq!(v.size_bytes as usize, b.len());
        assert_eq!(pages_phrase(&[5], 19), "page 5 of 19");
        assert_eq!(pages_phrase(&[5, 6, 9], 40), "pages 5, 6 and 9 of 40");
    }

    #[test]
    fn the_wal_names_the_pages_it_holds_newer_copies_of() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.sqlite3");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE a(x); CREATE TABLE b(x); PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        let root_b: u32 = c.query_row("SELECT rootpage FROM sqlite_master WHERE name = 'b'", [], |r| r.get(0)).unwrap();
        c.execute("INSERT INTO b VALUES ('after the checkpoint')", []).unwrap();
        let wal = std::fs::read(dir.path().join("w.sqlite3-wal")).unwrap();
        let held = wal_pages(&wal);
        assert!(held.contains(&root_b), "{held:?}");
        let root_a: u32 = c.query_row("SELECT rootpage FROM sqlite_master WHERE name = 'a'", [], |r| r.get(0)).unwrap();
        assert!(!held.contains(&root_a), "{held:?}");
        assert!(wal_pages(b"").is_empty() && wal_pages(&[0u8; 64]).is_empty());
    }
}
