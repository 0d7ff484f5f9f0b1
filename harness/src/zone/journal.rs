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
//! [`crate::zone`]). The backup's serial therefore means something only when the operator set it
//! to the journal's HEAD at backup time, e.g. by loading [`Journal::zone_file`] or with
//! `pdnsutil increase-serial`.
//!
//! Every problem is reported, not just the first, so an operator fixes the file in one go:
//! `dns-records.md:17: field `content`: "10.0.0.999" is not an IPv4 address`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::Context as _;

use crate::zone::compare::{self, Rrset};

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

/// Collects errors for one file.
struct Errs<'a> {
    path: &'a str,
    list: Vec<JournalError>,
}

impl Errs<'_> {
    fn push(&mut self, line: usize, field: Option<&'static str>, message: impl Into<String>) {
        self.list.push(JournalError { path: self.path.to_string(), line, field, message: message.into() });
    }
}

fn is_prose(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with('>')
}

/// Split a Markdown table row into trimmed cells. `\|` is a literal pipe; the outer pipes are
/// optional.
fn split_row(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    let t = line.trim();
    if t.starts_with('|') && !cells.is_empty() {
        cells.remove(0);
    }
    if t.ends_with('|') && !t.ends_with("\\|") && !cells.is_empty() {
        cells.pop();
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

fn is_separator(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim_start_matches(':').trim_end_matches(':');
            c.len() >= 3 && c.chars().all(|ch| ch == '-')
        })
}

/// A hostname-ish label: letters, digits, `-`, `_` (for `_kafka._tcp`-style names), 1..=63.
fn valid_label(l: &str) -> bool {
    !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Check a domain name (relative or absolute). `allow_wildcard`: a leading `*` label.
fn check_domain(name: &str, allow_wildcard: bool) -> Result<(), String> {
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 254 {
        return Err(format!("{name:?} is longer than 253 characters"));
    }
    for (i, label) in body.split('.').enumerate() {
        if label == "*" && i == 0 && allow_wildcard {
            continue;
        }
        if !valid_label(label) {
            return Err(format!("{name:?} has an invalid label {label:?}"));
        }
    }
    Ok(())
}

/// A target name in content: must be absolute.
fn check_target(what: &str, target: &str) -> Result<(), String> {
    if target == "." {
        return Ok(());
    }
    check_domain(target, false).map_err(|e| format!("{what}: {e}"))?;
    if !target.ends_with('.') {
        return Err(format!(
            "{what} {target:?} must be absolute (end with `.`): pdnsutil add-record stores it as written, without appending the zone"
        ));
    }
    Ok(())
}

/// Is the token exactly one double-quoted string: opening quote, closing unescaped quote last?
fn quoted_string(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 2 || b[0] != b'"' {
        return false;
    }
    let mut esc = false;
    for (i, &c) in b.iter().enumerate().skip(1) {
        if esc {
            esc = false;
        } else if c == b'\\' {
            esc = true;
        } else if c == b'"' {
            return i == b.len() - 1;
        }
    }
    false
}

/// Is the content a sequence of one or more double-quoted strings, each at most 255 bytes?
fn check_txt(content: &str) -> Result<(), String> {
    let toks = compare::tokens(content);
    if toks.is_empty() {
        return Err("TXT content is empty".into());
    }
    for t in &toks {
        if !quoted_string(t) {
            return Err(format!("TXT content must be one or more double-quoted strings, got {content:?}"));
        }
        // Inner quotes must be escaped.
        let inner = &t[1..t.len() - 1];
        let mut esc = false;
        let mut len = 0usize;
        for c in inner.chars() {
            if esc {
                esc = false;
                len += 1;
                continue;
            }
            match c {
                '\\' => esc = true,
                '"' => return Err(format!("TXT content has an unescaped `\"` inside a string: {content:?}")),
                _ => len += c.len_utf8(),
            }
        }
        if len > 255 {
            return Err(format!("TXT string is {len} bytes; one string holds at most 255"));
        }
    }
    Ok(())
}

fn check_u16(what: &str, s: &str) -> Result<(), String> {
    s.parse::<u16>().map(|_| ()).map_err(|_| format!("{what} {s:?} is not a number 0..=65535"))
}

/// Validate content for its type. The message names the offending text.
fn check_content(rtype: &str, content: &str) -> Result<(), String> {
    if content.trim().is_empty() {
        return Err("content is empty".into());
    }
    let toks = compare::tokens(content);
    let want = |n: usize, shape: &str| -> Result<(), String> {
        if toks.len() == n {
            Ok(())
        } else {
            Err(format!("{rtype} content must be `{shape}`, got {content:?}"))
        }
    };
    match rtype {
        "A" => content
            .trim()
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| format!("{:?} is not an IPv4 address", content.trim())),
        "AAAA" => content
            .trim()
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("{:?} is not an IPv6 address", content.trim())),
        "CNAME" | "NS" | "PTR" => {
            want(1, "target.")?;
            check_target(&format!("{rtype} target"), &toks[0])
        }
        "MX" => {
            want(2, "prio target.")?;
            check_u16("MX priority", &toks[0])?;
            check_target("MX target", &toks[1])
        }
        "SRV" => {
            want(4, "prio weight port target.")?;
            check_u16("SRV priority", &toks[0])?;
            check_u16("SRV weight", &toks[1])?;
            check_u16("SRV port", &toks[2])?;
            check_target("SRV target", &toks[3])
        }
        "TXT" => check_txt(content),
        "CAA" => {
            want(3, "flags tag \"value\"")?;
            toks[0].parse::<u8>().map_err(|_| format!("CAA flags {:?} is not a number 0..=255", toks[0]))?;
            if !toks[1].chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("CAA tag {:?} must be letters and digits", toks[1]));
            }
            check_txt(&toks[2]).map_err(|_| format!("CAA value must be a quoted string, got {:?}", toks[2]))
        }
        _ => Ok(()),
    }
}

fn parse_date(s: &str) -> Result<(), String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return Err(format!("{s:?} is not a YYYY-MM-DD date"));
    }
    time::Date::parse(s, &fmt).map(|_| ()).map_err(|_| format!("{s:?} is not a YYYY-MM-DD date"))
}

impl Journal {
    /// Parse journal text. `path_label` only labels errors.
    pub fn parse(path_label: &str, text: &str) -> Result<Journal, JournalErrors> {
        let mut errs = Errs { path: path_label, list: Vec::new() };
        let mut front: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
        let keys: [&'static str; 8] = ["zone", "primary-ns", "hostmaster", "soa-ttl", "refresh", "retry", "expire", "minimum"];

        #[derive(PartialEq)]
        enum State {
            Front,
            Separator,
            Rows,
            After,
        }
        let mut state = State::Front;
        let mut header_line = 0usize;
        let mut header_ok = false;
        let mut raw_rows: Vec<(usize, Vec<String>)> = Vec::new();

        for (idx, line) in text.lines().enumerate() {
            let ln = idx + 1;
            let t = line.trim();
            match state {
                State::Front => {
                    if t.starts_with('|') {
                        header_line = ln;
                        let cells: Vec<String> = split_row(t).into_iter().map(|c| c.to_ascii_lowercase()).collect();
                        header_ok = cells.iter().map(String::as_str).eq(COLUMNS.iter().copied());
                        if !header_ok {
                            errs.push(ln, None, format!("table header must be `{}`, got `{}`", COLUMNS.join(" | "), cells.join(" | ")));
                        }
                        state = State::Separator;
                    } else if is_prose(t) {
                    } else if let Some((k, v)) = t.split_once(':') {
                        let k = k.trim().to_ascii_lowercase();
                        match keys.iter().find(|x| **x == k) {
                            Some(key) => {
                                if let Some((prev, _)) = front.get(key) {
                                    errs.push(ln, Some(key), format!("`{key}:` given twice (first on line {prev})"));
                                } else {
                                    front.insert(key, (ln, v.trim().to_string()));
                                }
                            }
                            None => errs.push(
                                ln,
                                None,
                                format!("unknown front-matter key `{k}:` (known: {}; prose lines start with `#` or `>`)", keys.join(", ")),
                            ),
                        }
                    } else {
                        errs.push(ln, None, format!("expected `key: value`, prose (`#`, `>`) or the table, got {t:?}"));
                    }
                }
                State::Separator => {
                    if is_separator(&split_row(t)) {
                        state = State::Rows;
                    } else {
                        errs.push(ln, None, "the table header must be followed by a `|---|` separator row");
                        state = State::Rows;
                        if t.starts_with('|') {
                            raw_rows.push((ln, split_row(t)));
                        }
                    }
                }
                State::Rows => {
                    if t.starts_with('|') {
                        raw_rows.push((ln, split_row(t)));
                    } else if is_prose(t) {
                        state = State::After;
                    } else {
                        errs.push(ln, None, format!("expected a table row starting with `|`, got {t:?}"));
                    }
                }
                State::After => {
                    if t.starts_with('|') {
                        errs.push(ln, None, "a second table; the journal has exactly one (continue the first one)");
                    } else if !is_prose(t) {
                        errs.push(ln, None, format!("after the table only prose (`#`, `>`) and blank lines may follow, got {t:?}"));
                    }
                }
            }
        }
        if header_line == 0 {
            errs.push(0, None, format!("no table found; expected a header `| {} |`", COLUMNS.join(" | ")));
        }

        // Front matter.
        let mut zone = String::new();
        let req = |key: &'static str, errs: &mut Errs| -> Option<(usize, String)> {
            match front.get(key) {
                Some((l, v)) if !v.is_empty() => Some((*l, v.clone())),
                Some((l, _)) => {
                    errs.push(*l, Some(key), format!("`{key}:` is empty"));
                    None
                }
                None => {
                    errs.push(0, Some(key), format!("front matter lacks the required `{key}:` line"));
                    None
                }
            }
        };
        if let Some((l, v)) = req("zone", &mut errs) {
            let z = v.trim_end_matches('.').to_ascii_lowercase();
            match check_domain(&z, false) {
                Ok(()) => zone = z,
                Err(e) => errs.push(l, Some("zone"), e),
            }
        }
        let fqdn_key = |key: &'static str, errs: &mut Errs| -> String {
            match req(key, errs) {
                Some((l, v)) => match check_domain(&v, false) {
                    Ok(()) => compare::normalise_name(&v),
                    Err(e) => {
                        errs.push(l, Some(key), e);
                        String::new()
                    }
                },
                None => String::new(),
            }
        };
        let mname = fqdn_key("primary-ns", &mut errs);
        let rname = fqdn_key("hostmaster", &mut errs);
        let num_key = |key: &'static str, default: u32, errs: &mut Errs| -> u32 {
            match front.get(key) {
                None => default,
                Some((l, v)) => v.parse::<u32>().unwrap_or_else(|_| {
                    errs.push(*l, Some(key), format!("{v:?} is not a whole number of seconds"));
                    default
                }),
            }
        };
        let soa = Soa {
            mname,
            rname,
            ttl: num_key("soa-ttl", 3600, &mut errs),
            refresh: num_key("refresh", 10800, &mut errs),
            retry: num_key("retry", 3600, &mut errs),
            expire: num_key("expire", 604800, &mut errs),
            minimum: num_key("minimum", 3600, &mut errs),
        };

        // Rows.
        let mut entries: Vec<Entry> = Vec::new();
        let mut last_serial: Option<(u32, usize)> = None;
        // (fqdn, type) -> (first line, ttl); per fqdn the set of types; per record its line.
        let mut rrset_ttl: BTreeMap<(String, String), (usize, u32)> = BTreeMap::new();
        let mut types_at: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
        let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        if header_ok {
            for (ln, cells) in raw_rows {
                if cells.len() != COLUMNS.len() {
                    errs.push(
                        ln,
                        None,
                        format!("row has {} cells, expected {} ({}); write a `|` inside content as `\\|`", cells.len(), COLUMNS.len(), COLUMNS.join(" | ")),
                    );
                    continue;
                }
                let before = errs.list.len();
                let serial = match cells[0].parse::<u32>() {
                    Ok(s) => {
                        if let Some((prev, prev_line)) = last_serial {
                            if s == prev {
                                errs.push(ln, Some("serial"), format!("serial {s} duplicates line {prev_line}; serials must strictly increase"));
                            } else if s < prev {
                                errs.push(ln, Some("serial"), format!("serial {s} is lower than {prev} on line {prev_line}; serials must strictly increase"));
                            }
                        }
                        if last_serial.is_none_or(|(p, _)| s > p) {
                            last_serial = Some((s, ln));
                        }
                        s
                    }
                    Err(_) => {
                        errs.push(ln, Some("serial"), format!("{:?} is not a serial (a number like 2026011201)", cells[0]));
                        0
                    }
                };
                let name = cells[1].clone();
                let fqdn = if zone.is_empty() { String::new() } else { resolve_name(&name, &zone, ln, &mut errs) };
                let rtype = cells[2].to_ascii_uppercase();
                let type_ok = RECORD_TYPES.contains(&rtype.as_str());
                if !type_ok {
                    errs.push(ln, Some("type"), format!("{:?} is not a journaled type (one of {})", cells[2], RECORD_TYPES.join(", ")));
                }
                let content = cells[3].clone();
                if type_ok {
                    if let Err(e) = check_content(&rtype, &content) {
                        errs.push(ln, Some("content"), e);
                    }
                }
                let ttl = cells[4].parse::<u32>().unwrap_or_else(|_| {
                    errs.push(ln, Some("ttl"), format!("{:?} is not a TTL in seconds", cells[4]));
                    0
                });
                if let Err(e) = parse_date(&cells[5]) {
                    errs.push(ln, Some("date"), e);
                }
                let row_ok = errs.list.len() == before;
                if row_ok && !fqdn.is_empty() {
                    // Zone-level checks, only for rows that are fine by themselves.
                    let norm = compare::normalise_rdata(&rtype, &content);
                    if let Some(first) = seen.get(&(fqdn.clone(), rtype.clone(), norm.clone())) {
                        errs.push(ln, Some("content"), format!("the same {rtype} record for {fqdn} was already added on line {first}"));
                    }
                    seen.entry((fqdn.clone(), rtype.clone(), norm)).or_insert(ln);
                    let here = types_at.entry(fqdn.clone()).or_default();
                    if let Some((t, l)) = here.iter().find(|(t, _)| rtype == "CNAME" || t == "CNAME") {
                        errs.push(ln, Some("type"), format!("{fqdn} already has a {t} record (line {l}); a CNAME cannot share its name with other data"));
                    } else {
                        here.push((rtype.clone(), ln));
                    }
                    match rrset_ttl.get(&(fqdn.clone(), rtype.clone())) {
                        Some((l, t)) if *t != ttl => errs.push(
                            ln,
                            Some("ttl"),
                            format!("the {fqdn} {rtype} RRset has TTL {t} (line {l}); pdnsutil add-record would leave it with mixed TTLs"),
                        ),
                        Some(_) => {}
                        None => {
                            rrset_ttl.insert((fqdn.clone(), rtype.clone()), (ln, ttl));
                        }
                    }
                }
                entries.push(Entry { line: ln, serial, name, fqdn, rtype, content, ttl, date: cells[5].clone(), note: cells[6].clone() });
            }
        }

        if errs.list.is_empty() {
            Ok(Journal { zone, soa, entries })
        } else {
            errs.list.sort_by_key(|e| e.line);
            Err(JournalErrors(errs.list))
        }
    }

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

    /// BIND zone-file text for `pdnsutil load-zone`: `$ORIGIN`, an SOA carrying `serial`, then
    /// every entry (absolute owner names, one line each, with its line and serial as a comment).
    pub fn zone_file(&self, serial: u32) -> String {
        let s = &self.soa;
        let mut out = format!(
            "; {zone}, generated from the dns-records journal (HEAD {head})\n$ORIGIN {zone}.\n$TTL {ttl}\n@\t{ttl}\tIN\tSOA\t{} {} {serial} {} {} {} {}\n",
            s.mname,
            s.rname,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum,
            zone = self.zone,
            head = self.head_serial(),
            ttl = s.ttl,
        );
        for e in &self.entries {
            out.push_str(&format!("{}\t{}\tIN\t{}\t{}\t; serial {} line {}\n", e.fqdn, e.ttl, e.rtype, e.content, e.serial, e.line));
        }
        out
    }

    /// The zone's SOA RRset at `serial`.
    pub fn soa_rrset(&self, serial: u32) -> Rrset {
        let s = &self.soa;
        Rrset::new(
            &self.zone,
            "SOA",
            s.ttl,
            [format!("{} {} {serial} {} {} {} {}", s.mname, s.rname, s.refresh, s.retry, s.expire, s.minimum)],
        )
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

    /// `pdnsutil replace-rrset ZONE @ SOA TTL CONTENT`: the zone's SOA as the journal has it at
    /// `serial`. `add-record` never moves the serial, so a replay ends with this to say where the
    /// zone stands.
    pub fn replace_soa_args(&self, serial: u32) -> Vec<String> {
        let soa = self.soa_rrset(serial);
        let content = soa.data.first().cloned().unwrap_or_default();
        vec!["pdnsutil".into(), "replace-rrset".into(), self.zone.clone(), "@".into(), "SOA".into(), self.soa.ttl.to_string(), content]
    }

    /// The journal as a file [`Journal::parse`] reads back to the same journal (line numbers
    /// aside): front matter, then the table. For journals the harness writes itself.
    pub fn to_markdown(&self) -> String {
        let s = &self.soa;
        let mut out = format!(
            "# dns-records: {}\n\nzone: {}\nprimary-ns: {}\nhostmaster: {}\nsoa-ttl: {}\nrefresh: {}\nretry: {}\nexpire: {}\nminimum: {}\n\n| {} |\n|{}\n",
            self.zone,
            self.zone,
            s.mname,
            s.rname,
            s.ttl,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum,
            COLUMNS.join(" | "),
            "---|".repeat(COLUMNS.len()),
        );
        let esc = |c: &str| c.replace('|', "\\|");
        for e in &self.entries {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                e.serial,
                esc(&e.name),
                e.rtype,
                esc(&e.content),
                e.ttl,
                e.date,
                esc(&e.note)
            ));
        }
        out
    }

    /// `pdnsutil add-record ZONE NAME TYPE TTL CONTENT` for one entry, NAME relative to the zone
    /// (`@` for the apex). Each item is one argv element, no shell quoting needed.
    pub fn add_record_args(e: &Entry, zone: &str) -> Vec<String> {
        let zone_l = zone.trim_end_matches('.').to_ascii_lowercase();
        let fq = e.fqdn.trim_end_matches('.').to_ascii_lowercase();
        let rel = if fq == zone_l {
            "@".to_string()
        } else if let Some(r) = fq.strip_suffix(&format!(".{zone_l}")) {
            r.to_string()
        } else {
            // Outside `zone` (the caller passed another zone): give the absolute name.
            e.fqdn.clone()
        };
        vec!["pdnsutil".into(), "add-record".into(), zone.trim_end_matches('.').to_string(), rel, e.rtype.clone(), e.ttl.to_string(), e.content.clone()]
    }
}

/// The serial of the first row journaled on `today` after `head`: `YYYYMMDD01`, or `head + 1`
/// when HEAD is already that day or later.
pub fn first_serial_after(head: u32, today: time::Date) -> u32 {
    let ymd = u32::try_from(today.year()).unwrap_or(0) * 10_000 + u32::from(u8::from(today.month())) * 100 + u32::from(today.day());
    (ymd * 100 + 1).max(head + 1)
}

/// Turn a `name` cell into an absolute lowercase name inside `zone`, or record why not.
fn resolve_name(name: &str, zone: &str, ln: usize, errs: &mut Errs) -> String {
    let zl = zone.to_ascii_lowercase();
    if name == "@" {
        return format!("{zl}.");
    }
    if name.is_empty() {
        errs.push(ln, Some("name"), "name is empty (use `@` for the zone apex)");
        return String::new();
    }
    if let Err(e) = check_domain(name, true) {
        errs.push(ln, Some("name"), e);
        return String::new();
    }
    let lower = name.to_ascii_lowercase();
    if let Some(abs) = lower.strip_suffix('.') {
        if abs == zl || abs.ends_with(&format!(".{zl}")) {
            format!("{abs}.")
        } else {
            errs.push(ln, Some("name"), format!("record outside the zone: {name:?} is not in {zone}"));
            String::new()
        }
    } else if lower == zl || lower.ends_with(&format!(".{zl}")) {
        errs.push(
            ln,
            Some("name"),
            format!("{name:?} is relative, so it would mean {lower}.{zl}.; write it relative to the zone or absolute with a trailing `.`"),
        );
        String::new()
    } else {
        format!("{lower}.{zl}.")
    }
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
        let j = crate::zone::testdb::lab_journal();
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
            prop_assert_eq!(crate::zone::verify::soa_serial_of(&soa[6]), Some(j.head_serial().max(n)));
            let mut whole = j.up_to(n).entries;
            whole.extend(plan.entries.iter().cloned());
            prop_assert_eq!(whole, j.entries.clone());
        }
    }
}
