//! The dns-records journal: every record addition to the lab zone, with a serial.
//!
//! The runbook counts on this file twice. After a restore it says to replay whatever was added
//! since the backup, from that backup's serial up to HEAD (claim SQL-REPLAY). With no backup at
//! all, it says the file is enough by itself to rebuild the zone on an empty SQLite with
//! `pdnsutil create-zone` and `pdnsutil add-record` (claim SQL-REBUILD). This module reads the
//! file strictly enough for both uses.
//!
//! # Format
//!
//! A Markdown file (the lab's copy is `lab/zone/dns-records.md`):
//!
//! * **Front matter** before the table, one `key: value` per line:
//!   `zone:` (required, e.g. `sub.comptech-lab.com`), `primary-ns:` (required, FQDN, the SOA
//!   mname), `hostmaster:` (required, the SOA rname written as a domain name), and optionally
//!   `soa-ttl:`, `refresh:`, `retry:`, `expire:`, `minimum:` (defaults 3600, 10800, 3600,
//!   604800, 3600). Blank lines and lines starting with `#` or `>` are prose and are skipped,
//!   before and after the table. Any other line is an error, so a typo in a key is caught.
//! * **One table** whose header is exactly `serial | name | type | content | ttl | date | note`
//!   (case and surrounding spaces do not matter), followed by the `|---|` separator row.
//! * **One row per record addition**:
//!   - `serial`: u32 in the `YYYYMMDDnn` style, strictly increasing down the table;
//!   - `name`: `@`, a name relative to the zone (`api.ocp`, `*.apps.ocp`), or an absolute name
//!     ending in `.` that lies inside the zone;
//!   - `type`: one of A, AAAA, CNAME, MX, TXT, NS, SRV, PTR, CAA;
//!   - `content`: presentation format, as `pdnsutil add-record` takes it. A and AAAA must be
//!     addresses; TXT must be quoted strings; target names (CNAME, NS, PTR, MX, SRV) must be
//!     absolute, ending in `.`, because `pdnsutil add-record` stores them as written and does
//!     not append the zone (observed with pdns 4.7.3: target `api.ocp` was stored as `api.ocp`,
//!     served as `api.ocp.`). MX is `prio target.`, SRV `prio weight port target.`, CAA
//!     `flags tag "value"`;
//!   - `ttl`: u32;
//!   - `date`: `YYYY-MM-DD`;
//!   - `note`: free text, may be empty.
//!
//!   A `|` inside a cell is written `\|`.
//!
//! Beyond single rows, the parser refuses what `pdnsutil add-record` would turn into a broken
//! zone: the same record added twice (pdnsutil stores a second row), a CNAME sharing its name
//! with other data (pdnsutil refuses it), and an addition to an RRset with a different TTL than
//! the RRset already has (pdnsutil keeps each row's own TTL, so the RRset would be served with
//! mixed TTLs).
//!
//! Where the replay starts is a serial, and the natural place to read one is the backup's SOA.
//! But `pdnsutil add-record` does not bump the SOA serial (seen with pdns 4.7.3; see
//! [`crate::inputs::zone`]). The backup's serial therefore means something only when the operator set it
//! to the journal's HEAD at backup time, e.g. by loading [`Journal::zone_file`] or with
//! `pdnsutil increase-serial`.
//!
//! Every problem is reported, not just the first, so an operator fixes the file in one go:
//! `dns-records.md:17: field `content`: "10.0.0.999" is not an IPv4 address`.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;

use crate::inputs::zone::compare::{self, Rrset};

/// Where the lab's journal lives, relative to the repository root.
pub const DEFAULT_JOURNAL_PATH: &str = "lab/zone/dns-records.md";

/// The record types the journal accepts.
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "PTR", "CAA"];

/// The table's columns, in order.
pub const COLUMNS: [&str; 7] = ["serial", "name", "type", "content", "ttl", "date", "note"];

/// The zone's SOA fields that are not the serial (the serial is whatever the caller asks for).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Soa {
    /// Primary nameserver, absolute with trailing dot.
    pub mname: String,
    /// Hostmaster mailbox as a domain name, absolute with trailing dot.
    pub rname: String,
    pub ttl: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

/// One journaled record addition (one table row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// 1-based line number in the file.
    pub line: usize,
    pub serial: u32,
    /// The name as written in the file.
    pub name: String,
    /// Absolute, lowercase, with the trailing dot.
    pub fqdn: String,
    /// Uppercase type mnemonic.
    pub rtype: String,
    /// Presentation-format content, with `\|` already turned into `|`.
    pub content: String,
    pub ttl: u32,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub note: String,
}

/// A parsed journal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Journal {
    /// The zone, lowercase, without trailing dot.
    pub zone: String,
    pub soa: Soa,
    /// Entries in file order, which is also strictly increasing serial order.
    pub entries: Vec<Entry>,
}

/// One problem in the journal file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JournalError {
    /// The label the file was parsed under (its path, or a name).
    pub path: String,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. a missing key).
    pub line: usize,
    /// The column or front-matter key at fault.
    pub field: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: ", self.path)?;
        } else {
            write!(f, "{}:{}: ", self.path, self.line)?;
        }
        if let Some(field) = self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for JournalError {}

/// Every problem found in one file, in line order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JournalErrors(pub Vec<JournalError>);

impl JournalErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, JournalError> {
        self.0.iter()
    }
}

impl fmt::Display for JournalErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JournalErrors {}

mod output;
mod parse;

impl Journal {
    /// Read and parse a journal file. The error lists every problem, one per line.
    pub fn load(path: &Path) -> anyhow::Result<Journal> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the dns-records journal {}", path.display()))?;
        Journal::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{} problem(s) in the dns-records journal:\n{e}", e.len()))
    }

    /// The last serial in the journal (HEAD); 0 for an empty journal.
    pub fn head_serial(&self) -> u32 {
        self.entries.last().map_or(0, |e| e.serial)
    }

    /// The replay plan after a restore: exactly the entries with a serial greater than `serial`
    /// (the backup's), in order.
    pub fn entries_after(&self, serial: u32) -> &[Entry] {
        let i = self.entries.partition_point(|e| e.serial <= serial);
        &self.entries[i..]
    }

    /// The zone as it stood at `serial`: the entries with a serial up to and including it.
    pub fn up_to(&self, serial: u32) -> Journal {
        let i = self.entries.partition_point(|e| e.serial <= serial);
        Journal { zone: self.zone.clone(), soa: self.soa.clone(), entries: self.entries[..i].to_vec() }
    }

    /// A copy with every entry's content rewritten by `f` (the testbed maps lab addresses onto
    /// its own network).
    pub fn map_content(&self, f: &dyn Fn(&Entry) -> String) -> Journal {
        let entries = self.entries.iter().map(|e| Entry { content: f(e), ..e.clone() }).collect();
        Journal { zone: self.zone.clone(), soa: self.soa.clone(), entries }
    }

    /// A copy with rows journaled on `today` after HEAD, as the lab journals a change: serials
    /// `YYYYMMDD01`, `02`, … of that day (or HEAD+1, … when HEAD is already later); `name`
    /// relative to the zone or `@`.
    pub fn with_rows(&self, rows: &[(String, String, String, u32, String)], today: time::Date) -> Journal {
        let first = first_serial_after(self.head_serial(), today);
        let date = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
        let mut j = self.clone();
        for (i, (name, rtype, content, ttl, note)) in rows.iter().enumerate() {
            let fqdn = if name == "@" { format!("{}.", self.zone) } else { format!("{}.{}.", name.to_ascii_lowercase(), self.zone) };
            j.entries.push(Entry {
                line: 0,
                serial: first + i as u32,
                name: name.clone(),
                fqdn,
                rtype: rtype.to_ascii_uppercase(),
                content: content.clone(),
                ttl: *ttl,
                date: date.clone(),
                note: note.clone(),
            });
        }
        j
    }

    /// The expected records, grouped and normalised (SOA not included; see [`Journal::soa_rrset`]).
    pub fn rrsets(&self) -> Vec<Rrset> {
        compare::group_rrsets(self.entries.iter().map(|e| (e.fqdn.as_str(), e.rtype.as_str(), e.ttl, e.content.as_str())))
    }
}

/// The serial of the first row journaled on `today` after `head`: `YYYYMMDD01`, or `head + 1`
/// when HEAD is already that day or later.
pub fn first_serial_after(head: u32, today: time::Date) -> u32 {
    let ymd = u32::try_from(today.year()).unwrap_or(0) * 10_000 + u32::from(u8::from(today.month())) * 100 + u32::from(today.day());
    (ymd * 100 + 1).max(head + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEAD: &str = "# dns-records\n\nzone: sub.comptech-lab.com\nprimary-ns: ns1.sub.comptech-lab.com.\nhostmaster: hostmaster.sub.comptech-lab.com.\n\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n";
    // HEAD has 8 lines; the first row is line 9.

    fn parse_rows(rows: &str) -> Result<Journal, JournalErrors> {
        Journal::parse("dns-records.md", &format!("{HEAD}{rows}"))
    }

    fn errors(rows: &str) -> Vec<JournalError> {
        parse_rows(rows).expect_err("should fail").0
    }

    #[test]
    fn markdown_round_trips_with_appended_rows() {
        let j = crate::inputs::zone::testdb::lab_journal();
        let more = j.with_rows(&[("late".into(), "txt".into(), "\"a|b\"".into(), 60, "x | y".into())], time::macros::date!(2026 - 11 - 26));
        let back = Journal::parse("again.md", &more.to_markdown()).unwrap();
        assert_eq!(back.entries.len(), j.entries.len() + 1);
        let last = back.entries.last().unwrap();
        assert_eq!((last.serial, last.fqdn.as_str(), last.content.as_str(), last.note.as_str()), (2026112601, "late.sub.comptech-lab.com.", "\"a|b\"", "x | y"));
        let later = j.with_rows(&[("x".into(), "A".into(), "192.0.2.1".into(), 60, String::new())], time::macros::date!(2020 - 01 - 01));
        assert_eq!(later.head_serial(), j.head_serial() + 1, "never below HEAD");
        assert_eq!(back.soa, j.soa);
        assert_eq!(back.entries_after(j.head_serial()).len(), 1);
    }

    #[test]
    fn parses_a_valid_file() {
        let j = parse_rows(
            "| 2026011201 | @ | NS | ns1.sub.comptech-lab.com. | 3600 | 2026-01-12 | apex NS |\n\
             | 2026011202 | ns1 | A | 10.10.0.54 | 3600 | 2026-01-12 | |\n\
             | 2026011203 | *.apps.ocp | A | 10.10.0.70 | 300 | 2026-01-12 | ingress |\n\
             | 2026011204 | API.OCP.sub.comptech-lab.com. | A | 10.10.0.70 | 300 | 2026-01-12 | absolute |\n\
             | 2026011205 | @ | MX | 10 mail.sub.comptech-lab.com. | 3600 | 2026-01-12 | |\n\
             | 2026011206 | _lab | TXT | \"owner=platform\" \"a b\" | 300 | 2026-01-12 | |\n",
        )
        .unwrap();
        assert_eq!(j.zone, "sub.comptech-lab.com");
        assert_eq!(j.soa.mname, "ns1.sub.comptech-lab.com.");
        assert_eq!(j.soa.rname, "hostmaster.sub.comptech-lab.com.");
        assert_eq!((j.soa.ttl, j.soa.refresh, j.soa.retry, j.soa.expire, j.soa.minimum), (3600, 10800, 3600, 604800, 3600));
        assert_eq!(j.entries.len(), 6);
        assert_eq!(j.head_serial(), 2026011206);
        let e = &j.entries[2];
        assert_eq!((e.line, e.name.as_str(), e.fqdn.as_str(), e.rtype.as_str(), e.ttl), (11, "*.apps.ocp", "*.apps.ocp.sub.comptech-lab.com.", "A", 300));
        assert_eq!(j.entries[3].fqdn, "api.ocp.sub.comptech-lab.com.");
        assert_eq!(j.entries[3].name, "API.OCP.sub.comptech-lab.com.");
        assert_eq!(j.entries[0].fqdn, "sub.comptech-lab.com.");
        assert_eq!(j.entries[1].note, "");
    }

    #[test]
    fn front_matter_optional_values_and_errors() {
        let text = "zone: example.org\nprimary-ns: ns.example.org.\nhostmaster: h.example.org.\nsoa-ttl: 60\nminimum: 30\nrefrsh: 5\nretry: soon\n> prose\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n";
        let errs = Journal::parse("j.md", text).unwrap_err();
        let s = errs.to_string();
        assert!(s.contains("j.md:6: unknown front-matter key `refrsh:`"), "{s}");
        assert!(s.contains("j.md:7: field `retry`: \"soon\" is not a whole number"), "{s}");
        assert_eq!(errs.len(), 2, "{s}");
        let ok = Journal::parse("j.md", &text.replace("refrsh: 5\nretry: soon\n", "")).unwrap();
        assert_eq!((ok.soa.ttl, ok.soa.minimum, ok.soa.refresh), (60, 30, 10800));
        assert!(ok.entries.is_empty());
        assert_eq!(ok.head_serial(), 0);
    }

    #[test]
    fn missing_required_keys_and_table() {
        let errs = Journal::parse("j.md", "# nothing here\n").unwrap_err();
        let s = errs.to_string();
        assert!(s.contains("j.md: no table found"), "{s}");
        assert!(s.contains("j.md: field `zone`: front matter lacks the required `zone:` line"), "{s}");
        assert!(s.contains("field `primary-ns`"), "{s}");
        assert!(s.contains("field `hostmaster`"), "{s}");
    }

    #[test]
    fn wrong_header_is_reported() {
        let text = HEAD.replace("| serial | name | type | content | ttl | date | note |", "| serial | name | type | value | ttl | date | note |");
        let s = Journal::parse("j.md", &text).unwrap_err().to_string();
        assert!(s.contains("j.md:7: table header must be `serial | name | type | content | ttl | date | note`"), "{s}");
        // Case and padding do not matter.
        let text = HEAD.replace("| serial | name |", "|SERIAL|  Name  |");
        Journal::parse("j.md", &text).unwrap();
    }

    #[test]
    fn each_bad_field_names_line_and_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("| x1 | a | A | 10.0.0.1 | 300 | 2026-01-12 | |", "serial", "\"x1\" is not a serial"),
            ("| 1 | a | A | 10.0.0.999 | 300 | 2026-01-12 | |", "content", "\"10.0.0.999\" is not an IPv4 address"),
            ("| 1 | a | AAAA | 2001:db8::g | 300 | 2026-01-12 | |", "content", "is not an IPv6 address"),
            ("| 1 | a | CNAME | b.sub.comptech-lab.com | 300 | 2026-01-12 | |", "content", "must be absolute"),
            ("| 1 | a | MX | mail.example.com. | 300 | 2026-01-12 | |", "content", "MX content must be `prio target.`"),
            ("| 1 | a | MX | 70000 mail.example.com. | 300 | 2026-01-12 | |", "content", "MX priority \"70000\""),
            ("| 1 | a | NS | bad..name. | 300 | 2026-01-12 | |", "content", "invalid label"),
            ("| 1 | a | TXT | hello world | 300 | 2026-01-12 | |", "content", "double-quoted"),
            ("| 1 | a | TXT | \"unterminated | 300 | 2026-01-12 | |", "content", "double-quoted"),
            ("| 1 | a | SRV | 0 5 9092 | 300 | 2026-01-12 | |", "content", "SRV content must be"),
            ("| 1 | a | CAA | 0 issue letsencrypt.org | 300 | 2026-01-12 | |", "content", "CAA value must be a quoted string"),
            ("| 1 | a | HINFO | \"x\" \"y\" | 300 | 2026-01-12 | |", "type", "\"HINFO\" is not a journaled type"),
            ("| 1 | a | A | 10.0.0.1 | 5m | 2026-01-12 | |", "ttl", "\"5m\" is not a TTL"),
            ("| 1 | a | A | 10.0.0.1 | 300 | 2026-13-01 | |", "date", "\"2026-13-01\" is not a YYYY-MM-DD date"),
            ("| 1 | a | A | 10.0.0.1 | 300 | 12/01/2026 | |", "date", "is not a YYYY-MM-DD date"),
            ("| 1 | a b | A | 10.0.0.1 | 300 | 2026-01-12 | |", "name", "invalid label"),
            ("| 1 | api.example.org. | A | 10.0.0.1 | 300 | 2026-01-12 | |", "name", "record outside the zone"),
            ("| 1 | api.sub.comptech-lab.com | A | 10.0.0.1 | 300 | 2026-01-12 | |", "name", "is relative"),
            ("| 1 |  | A | 10.0.0.1 | 300 | 2026-01-12 | |", "name", "name is empty"),
        ];
        for (row, field, msg) in cases {
            let errs = errors(&format!("{row}\n"));
            assert_eq!(errs.len(), 1, "{row}: {errs:?}");
            let e = &errs[0];
            assert_eq!((e.line, e.field), (9, Some(*field)), "{row}: {e}");
            assert!(e.message.contains(msg), "{row}: {e}");
            assert!(e.to_string().starts_with(&format!("dns-records.md:9: field `{field}`: ")), "{e}");
        }
    }

    #[test]
    fn error_display_matches_the_documented_shape() {
        let errs = errors("| 1 | a | A | 10.0.0.999 | 300 | 2026-01-12 | |\n");
        assert_eq!(errs[0].to_string(), "dns-records.md:9: field `content`: \"10.0.0.999\" is not an IPv4 address");
    }

    #[test]
    fn all_errors_are_collected() {
        let errs = errors(
            "| 10 | a | A | 10.0.0.999 | 300 | 2026-01-12 | |\n\
             | 11 | b | A | 10.0.0.2 | ttl | 2026-01-12 | |\n\
             | 12 | c | A | 10.0.0.3 | 300 | 2026-01-12 | |\n\
             | 9 | d.example.net. | BOGUS | x | 300 | yesterday | |\n\
             | 13 | e | A | 10.0.0.5 | 300 | 2026-01-12 |\n",
        );
        let got: Vec<(usize, Option<&str>)> = errs.iter().map(|e| (e.line, e.field)).collect();
        assert_eq!(
            got,
            vec![
                (9, Some("content")),
                (10, Some("ttl")),
                (12, Some("serial")),
                (12, Some("name")),
                (12, Some("type")),
                (12, Some("date")),
                (13, None),
            ],
            "{}",
            JournalErrors(errs.clone())
        );
        assert!(errs[6].message.contains("row has 6 cells, expected 7"));
    }

    #[test]
    fn duplicate_and_decreasing_serials_name_both_lines() {
        let errs = errors(
            "| 2026011201 | a | A | 10.0.0.1 | 300 | 2026-01-12 | |\n\
             | 2026011201 | b | A | 10.0.0.2 | 300 | 2026-01-12 | |\n\
             | 2026011105 | c | A | 10.0.0.3 | 300 | 2026-01-11 | |\n\
             | 2026011202 | d | A | 10.0.0.4 | 300 | 2026-01-12 | |\n",
        );
        assert_eq!(errs.len(), 2, "{}", JournalErrors(errs.clone()));
        assert_eq!(errs[0].to_string(), "dns-records.md:10: field `serial`: serial 2026011201 duplicates line 9; serials must strictly increase");
        assert_eq!(errs[1].to_string(), "dns-records.md:11: field `serial`: serial 2026011105 is lower than 2026011201 on line 9; serials must strictly increase");
    }

    #[test]
    fn zone_level_conflicts() {
        let errs = errors(
            "| 1 | a | A | 10.0.0.1 | 300 | 2026-01-12 | |\n\
             | 2 | A.sub.comptech-lab.com. | A | 10.0.0.1 | 300 | 2026-01-12 | same record again |\n\
             | 3 | a | CNAME | b.sub.comptech-lab.com. | 300 | 2026-01-12 | |\n\
             | 4 | a | A | 10.0.0.2 | 600 | 2026-01-12 | |\n",
        );
        let s = JournalErrors(errs.clone()).to_string();
        assert_eq!(errs.len(), 3, "{s}");
        assert!(s.contains("dns-records.md:10: field `content`: the same A record for a.sub.comptech-lab.com. was already added on line 9"), "{s}");
        assert!(s.contains("dns-records.md:11: field `type`: a.sub.comptech-lab.com. already has a A record (line 9)"), "{s}");
        assert!(s.contains("dns-records.md:12: field `ttl`: the a.sub.comptech-lab.com. A RRset has TTL 300 (line 9)"), "{s}");
    }

    #[test]
    fn escaped_pipe_in_content() {
        let j = parse_rows("| 1 | _x | TXT | \"a\\|b\" | 300 | 2026-01-12 | note with \\| pipe |\n").unwrap();
        assert_eq!(j.entries[0].content, "\"a|b\"");
        assert_eq!(j.entries[0].note, "note with | pipe");
        // Unescaped, the row has too many cells.
        let errs = errors("| 1 | _x | TXT | \"a|b\" | 300 | 2026-01-12 | |\n");
        assert!(errs[0].message.contains("row has 8 cells"), "{}", errs[0]);
    }

    #[test]
    fn prose_after_the_table_is_fine_a_second_table_is_not() {
        let j = parse_rows("| 1 | a | A | 10.0.0.1 | 300 | 2026-01-12 | |\n\n> more prose\n# heading\n").unwrap();
        assert_eq!(j.entries.len(), 1);
        let errs = errors("| 1 | a | A | 10.0.0.1 | 300 | 2026-01-12 | |\n\n| 2 | b | A | 10.0.0.2 | 300 | 2026-01-12 | |\n");
        assert!(errs[0].message.contains("second table"), "{}", errs[0]);
        assert_eq!(errs[0].line, 11);
    }

    fn sample() -> Journal {
        parse_rows(
            "| 2026011201 | @ | NS | ns1.sub.comptech-lab.com. | 3600 | 2026-01-12 | |\n\
             | 2026011202 | ns1 | A | 10.10.0.54 | 3600 | 2026-01-12 | |\n\
             | 2026011901 | app | A | 10.10.0.40 | 300 | 2026-01-19 | |\n\
             | 2026020301 | kafka | A | 10.10.0.101 | 300 | 2026-02-03 | |\n\
             | 2026020302 | kafka | A | 10.10.0.102 | 300 | 2026-02-03 | |\n",
        )
        .unwrap()
    }

    #[test]
    fn replay_plan_is_exactly_the_later_serials() {
        let j = sample();
        let serials = |es: &[Entry]| es.iter().map(|e| e.serial).collect::<Vec<_>>();
        assert_eq!(serials(j.entries_after(0)).len(), 5);
        assert_eq!(serials(j.entries_after(2026011202)), vec![2026011901, 2026020301, 2026020302]);
        assert_eq!(serials(j.entries_after(2026011500)), vec![2026011901, 2026020301, 2026020302]);
        assert!(j.entries_after(2026020302).is_empty());
        assert!(j.entries_after(u32::MAX).is_empty());
    }

    #[test]
    fn up_to_is_the_zone_at_that_serial() {
        let j = sample();
        let old = j.up_to(2026011901);
        assert_eq!(old.entries.len(), 3);
        assert_eq!(old.head_serial(), 2026011901);
        assert_eq!(old.zone, j.zone);
        assert_eq!(j.up_to(0).entries.len(), 0);
        assert_eq!(j.up_to(u32::MAX), j);
        // up_to(N) followed by entries_after(N) is the whole journal.
        let mut replayed = old.entries.clone();
        replayed.extend_from_slice(j.entries_after(2026011901));
        assert_eq!(replayed, j.entries);
    }

    #[test]
    fn rrsets_group_records() {
        let r = sample().rrsets();
        let kafka = r.iter().find(|r| r.name == "kafka.sub.comptech-lab.com.").unwrap();
        assert_eq!(kafka.data, vec!["10.10.0.101", "10.10.0.102"]);
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn add_record_args_are_relative() {
        let j = sample();
        assert_eq!(
            Journal::add_record_args(&j.entries[0], "sub.comptech-lab.com"),
            vec!["pdnsutil", "add-record", "sub.comptech-lab.com", "@", "NS", "3600", "ns1.sub.comptech-lab.com."]
        );
        assert_eq!(Journal::add_record_args(&j.entries[2], "sub.comptech-lab.com.")[2..5], ["sub.comptech-lab.com", "app", "A"]);
    }

    #[test]
    fn map_content_rewrites_only_content() {
        let j = sample().map_content(&|e| e.content.replace("10.10.", "172.30."));
        assert_eq!(j.entries[1].content, "172.30.0.54");
        assert_eq!(j.entries[0].content, "ns1.sub.comptech-lab.com.");
        assert_eq!(j.entries[1].serial, 2026011202);
    }

    #[test]
    fn markdown_round_trip_and_soa_args() {
        let j = Journal::load(&shipped_path()).unwrap();
        let back = Journal::parse("gen.md", &j.to_markdown()).unwrap_or_else(|e| panic!("{e}"));
        let strip = |j: &Journal| j.entries.iter().map(|e| Entry { line: 0, ..e.clone() }).collect::<Vec<_>>();
        assert_eq!(strip(&back), strip(&j));
        assert_eq!((back.zone.as_str(), &back.soa), (j.zone.as_str(), &j.soa));
        assert_eq!(
            j.replace_soa_args(2026040103),
            vec![
                "pdnsutil",
                "replace-rrset",
                "sub.comptech-lab.com",
                "@",
                "SOA",
                "3600",
                "ns1.sub.comptech-lab.com. hostmaster.sub.comptech-lab.com. 2026040103 10800 3600 604800 3600"
            ]
        );
    }

    fn shipped_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DEFAULT_JOURNAL_PATH)
    }

    #[test]
    fn shipped_lab_journal_parses() {
        let j = Journal::load(&shipped_path()).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(j.zone, "sub.comptech-lab.com");
        assert!(j.entries.len() >= 20, "{}", j.entries.len());
        let find = |fq: &str, t: &str| j.rrsets().into_iter().find(|r| r.name == fq && r.rtype == t);
        assert_eq!(find("ns1.sub.comptech-lab.com.", "A").unwrap().data, vec!["10.10.0.54"]);
        assert_eq!(find("app.sub.comptech-lab.com.", "A").unwrap().data, vec!["10.10.0.40"]);
        assert!(find("api.ocp.sub.comptech-lab.com.", "A").is_some());
        assert!(find("api-int.ocp.sub.comptech-lab.com.", "A").is_some());
        assert!(find("*.apps.ocp.sub.comptech-lab.com.", "A").is_some());
        assert!(find("sub.comptech-lab.com.", "NS").is_some());
    }

    #[test]
    fn zone_file_round_trip_of_the_shipped_journal() {
        let j = Journal::load(&shipped_path()).unwrap();
        let z = j.zone_file(j.head_serial());
        assert!(z.contains("$ORIGIN sub.comptech-lab.com.\n"), "{z}");
        let soa = format!("IN\tSOA\tns1.sub.comptech-lab.com. hostmaster.sub.comptech-lab.com. {} 10800 3600 604800 3600", j.head_serial());
        assert!(z.contains(&soa), "{z}");
        // Every entry appears, and reading the records back gives the journal's RRsets.
        let mut rows = Vec::new();
        for line in z.lines().filter(|l| !l.starts_with(';') && !l.starts_with('$')) {
            let body = line.split("\t;").next().unwrap();
            let f: Vec<&str> = body.splitn(5, '\t').collect();
            assert_eq!(f.len(), 5, "{line}");
            assert_eq!(f[2], "IN");
            let owner = if f[0] == "@" { format!("{}.", j.zone) } else { f[0].to_string() };
            rows.push((owner, f[3].to_string(), f[1].parse::<u32>().unwrap(), f[4].to_string()));
        }
        assert_eq!(rows.len(), j.entries.len() + 1);
        for e in &j.entries {
            assert!(z.contains(&format!("{}\t{}\tIN\t{}\t{}\t; serial {}", e.fqdn, e.ttl, e.rtype, e.content, e.serial)), "entry {e:?} missing");
        }
        let back = compare::group_rrsets(rows.iter().filter(|r| r.1 != "SOA").map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3.as_str())));
        assert_eq!(back, j.rrsets());
        // An older serial yields the same records with that serial in the SOA.
        assert!(j.up_to(2026011210).zone_file(2026011210).contains(" 2026011210 10800 "));
    }

    proptest! {
        #[test]
        fn entries_after_and_the_replay_plan_match_a_filter(
            steps in proptest::collection::vec(1u32..1000, 0..40),
            probe in 0u32..40_000,
        ) {
            let mut serial = 2026010100u32;
            let mut rows = String::new();
            let mut serials = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                serial += s;
                serials.push(serial);
                rows.push_str(&format!("| {serial} | h{i} | A | 10.10.{}.{} | 300 | 2026-01-01 | |\n", i / 200, i % 200));
            }
            let j = parse_rows(&rows).unwrap();
            let n = 2026010100 + probe;
            let want: Vec<u32> = serials.iter().copied().filter(|s| *s > n).collect();
            let got: Vec<u32> = j.entries_after(n).iter().map(|e| e.serial).collect();
            prop_assert_eq!(&got, &want);
            let old: Vec<u32> = j.up_to(n).entries.iter().map(|e| e.serial).collect();
            prop_assert!(old.iter().all(|s| *s <= n));
            prop_assert_eq!(old.len() + got.len(), serials.len());
            // Exact hits: after a serial that exists, it is not replayed again.
            if let Some(&mid) = serials.get(serials.len() / 2) {
                prop_assert!(j.entries_after(mid).iter().all(|e| e.serial > mid));
            }
            // The restore drill's plan from that serial is what the journal says: those rows,
            // in order, each as its add-record argv, then the SOA at HEAD.
            let plan = crate::drill::replay::ReplayPlan::new(&j, n);
            prop_assert_eq!(plan.entries.iter().map(|e| e.serial).collect::<Vec<_>>(), want.clone());
            prop_assert_eq!(plan.commands.len(), want.len() + 1);
            for (e, c) in plan.entries.iter().zip(&plan.commands) {
                prop_assert_eq!(c, &Journal::add_record_args(e, &j.zone));
            }
            let soa = plan.commands.last().unwrap();
            prop_assert_eq!(&soa[1], "replace-rrset");
            prop_assert_eq!(crate::inputs::zone::verify::soa_serial_of(&soa[6]), Some(j.head_serial().max(n)));
            let mut whole = j.up_to(n).entries;
            whole.extend(plan.entries.iter().cloned());
            prop_assert_eq!(whole, j.entries.clone());
        }
    }
}
