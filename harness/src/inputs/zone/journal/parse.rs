//! Reading the journal: the front matter, the table and each field, checked strictly enough
//! that a replay (SQL-REPLAY) or a rebuild (SQL-REBUILD) from it cannot make a broken zone.
//! Every problem is collected with its line, not just the first.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::inputs::zone::compare;

use super::{Entry, Journal, JournalError, JournalErrors, Soa, COLUMNS, RECORD_TYPES};

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
