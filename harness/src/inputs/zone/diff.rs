//! What differs between the zone in a pdns SQLite and the dns-records journal: the operator's
//! view after a restore (SQL-REPLAY: what still has to be replayed) or a rebuild (SQL-REBUILD).
//!
//! Rules:
//! * SOA is ignored on both sides (its serial is the restore's business, not the records').
//! * The apex NS: `pdnsutil create-zone ZONE NS` adds one apex NS by itself. If the journal has
//!   no apex NS, the database's apex NS is ignored (it came from create-zone). If the journal
//!   has one, it is compared like any other RRset.
//! * Records are compared one by one (name, type, normalised content). An RRset present on
//!   both sides with a different TTL is listed on both sides, with each side's TTL.

use std::collections::BTreeMap;
use std::fmt;

use super::compare::Rrset;
use crate::inputs::zone::journal::Journal;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ZoneDiff {
    /// Records in the database the journal never added (each RRset holds only those records).
    pub only_in_db: Vec<Rrset>,
    /// Records journaled but absent from the database: the ones to replay.
    pub only_in_journal: Vec<Rrset>,
}

impl ZoneDiff {
    pub fn is_empty(&self) -> bool {
        self.only_in_db.is_empty() && self.only_in_journal.is_empty()
    }
}

impl fmt::Display for ZoneDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "the database matches the journal");
        }
        for r in &self.only_in_journal {
            for d in &r.data {
                writeln!(f, "only in journal (not in the database): {} {} {} {d}", r.name, r.ttl, r.rtype)?;
            }
        }
        for r in &self.only_in_db {
            for d in &r.data {
                writeln!(f, "only in the database (not journaled):  {} {} {} {d}", r.name, r.ttl, r.rtype)?;
            }
        }
        Ok(())
    }
}

/// Compare the database's RRsets (from [`super::verify::db_rrsets`]) with the journal.
pub fn diff(db_rrsets: &[Rrset], journal: &Journal) -> ZoneDiff {
    let apex = format!("{}.", journal.zone.to_ascii_lowercase());
    let expected = journal.rrsets();
    let journal_has_apex_ns = expected.iter().any(|r| r.name == apex && r.rtype == "NS");
    let index = |rs: &[Rrset], is_db: bool| -> BTreeMap<(String, String), Rrset> {
        let mut m = BTreeMap::new();
        for r in rs {
            let r = Rrset::new(&r.name, &r.rtype, r.ttl, &r.data);
            if r.rtype == "SOA" || (is_db && !journal_has_apex_ns && r.rtype == "NS" && r.name == apex) {
                continue;
            }
            m.insert((r.name.clone(), r.rtype.clone()), r);
        }
        m
    };
    let db = index(db_rrsets, true);
    let jr = index(&expected, false);
    let mut out = ZoneDiff::default();
    let only = |a: &Rrset, b: Option<&Rrset>| -> Option<Rrset> {
        let data: Vec<String> = match b {
            Some(b) if b.ttl != a.ttl => a.data.clone(),
            Some(b) => a.data.iter().filter(|d| !b.data.contains(d)).cloned().collect(),
            None => a.data.clone(),
        };
        (!data.is_empty()).then(|| Rrset { data, ..a.clone() })
    };
    for (k, r) in &jr {
        out.only_in_journal.extend(only(r, db.get(k)));
    }
    for (k, r) in &db {
        out.only_in_db.extend(only(r, jr.get(k)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::zone::{testdb, verify::db_rrsets};

    #[test]
    fn full_rebuild_matches() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pdns.sqlite3");
        let j = testdb::lab_journal();
        drop(testdb::from_journal(&p, &j, j.head_serial(), true));
        let d = diff(&db_rrsets(&p, &j.zone).unwrap(), &j);
        assert!(d.is_empty(), "{d}");
        assert_eq!(d.to_string(), "the database matches the journal\n");
    }

    #[test]
    fn restored_backup_lists_what_to_replay() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pdns.sqlite3");
        let j = testdb::lab_journal();
        let backup_serial = j.entries[j.entries.len() - 4].serial;
        let c = testdb::from_journal(&p, &j.up_to(backup_serial), backup_serial, true);
        let id: i64 = c.query_row("SELECT id FROM domains", [], |r| r.get(0)).unwrap();
        testdb::insert(&c, id, "stray.sub.comptech-lab.com", "A", "10.10.9.9", 60, 0);
        drop(c);
        let d = diff(&db_rrsets(&p, &j.zone).unwrap(), &j);
        let replay: Vec<&str> = j.entries_after(backup_serial).iter().map(|e| e.fqdn.as_str()).collect();
        let listed: usize = d.only_in_journal.iter().map(|r| r.data.len()).sum();
        assert_eq!(listed, replay.len(), "{d}");
        for name in replay {
            assert!(d.only_in_journal.iter().any(|r| r.name == name), "{name} not listed:\n{d}");
        }
        assert_eq!(d.only_in_db, vec![Rrset::new("stray.sub.comptech-lab.com", "A", 60, ["10.10.9.9"])]);
        let text = d.to_string();
        assert!(text.contains("only in the database (not journaled):  stray.sub.comptech-lab.com. 60 A 10.10.9.9"), "{text}");
        assert_eq!(text.lines().count(), listed + 1);
    }

    #[test]
    fn apex_ns_rule() {
        let text = "zone: example.org\nprimary-ns: ns1.example.org.\nhostmaster: h.example.org.\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n| 1 | www | A | 10.0.0.1 | 300 | 2026-01-01 | |\n";
        let j = Journal::parse("j.md", text).unwrap();
        let db = vec![
            Rrset::new("example.org", "SOA", 3600, ["ns1.example.org h.example.org 0 10800 3600 604800 3600"]),
            Rrset::new("example.org", "NS", 3600, ["ns1.example.org"]),
            Rrset::new("www.example.org", "A", 300, ["10.0.0.1"]),
        ];
        // The journal has no apex NS: create-zone's is not a difference.
        assert!(diff(&db, &j).is_empty());
        // The journal has one: it is compared.
        let text2 = format!("{text}| 2 | @ | NS | ns2.example.org. | 3600 | 2026-01-01 | |\n");
        let j2 = Journal::parse("j.md", &text2).unwrap();
        let d = diff(&db, &j2);
        assert_eq!(d.only_in_journal, vec![Rrset::new("example.org", "NS", 3600, ["ns2.example.org."])]);
        assert_eq!(d.only_in_db, vec![Rrset::new("example.org", "NS", 3600, ["ns1.example.org."])]);
    }

    #[test]
    fn ttl_change_shows_on_both_sides() {
        let text = "zone: example.org\nprimary-ns: ns1.example.org.\nhostmaster: h.example.org.\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n| 1 | www | A | 10.0.0.1 | 300 | 2026-01-01 | |\n";
        let j = Journal::parse("j.md", text).unwrap();
        let d = diff(&[Rrset::new("www.example.org", "A", 60, ["10.0.0.1"])], &j);
        assert_eq!(d.only_in_journal[0].ttl, 300);
        assert_eq!(d.only_in_db[0].ttl, 60);
    }
}
