//! RRsets, their normal form, and comparing two sets of them.
//!
//! Both sides of every comparison (the journal's expectation and the records read back from the
//! SQLite or from answers) go through [`normalise_rdata`], so a difference is a real difference
//! and not a spelling one: names are lowercased and absolute (trailing dot), whitespace outside
//! quoted strings is collapsed, addresses are printed canonically (`2001:DB8::0001` →
//! `2001:db8::1`, which is also what pdns 4.7 stores).
//!
//! SOA RRsets are left out of [`compare`] (the serial moves on every change); ask for them with
//! [`compare_with`] and `include_soa`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One RRset: every record of one owner name and type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rrset {
    /// Lowercase owner name, absolute, with the trailing dot.
    pub name: String,
    /// Uppercase type mnemonic (`A`, `MX`, ...).
    pub rtype: String,
    /// The RRset's TTL. Where the records disagree (pdnsutil add-record keeps each row's own TTL)
    /// this is the lowest of them.
    pub ttl: u32,
    /// Normalised presentation-format rdata, sorted, without duplicates.
    pub data: Vec<String>,
}

impl Rrset {
    /// Build an RRset from raw parts, normalising name and every datum.
    pub fn new(name: &str, rtype: &str, ttl: u32, data: impl IntoIterator<Item = impl AsRef<str>>) -> Rrset {
        let rtype = rtype.trim().to_ascii_uppercase();
        let mut data: Vec<String> = data.into_iter().map(|d| normalise_rdata(&rtype, d.as_ref())).collect();
        data.sort();
        data.dedup();
        Rrset { name: normalise_name(name), rtype, ttl, data }
    }

    fn key(&self) -> (String, String) {
        (self.name.clone(), self.rtype.clone())
    }
}

impl fmt::Display for Rrset {
    /// One RRset on one line: `name ttl TYPE data[ | data...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.name, self.ttl, self.rtype, self.data.join(" | "))
    }
}

/// Group `(name, type, ttl, content)` rows into normalised RRsets, sorted by name then type.
/// Mixed TTLs within an RRset collapse to the lowest.
pub fn group_rrsets<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, u32, &'a str)>) -> Vec<Rrset> {
    let mut map: BTreeMap<(String, String), (u32, Vec<String>)> = BTreeMap::new();
    for (name, rtype, ttl, content) in rows {
        let rtype = rtype.trim().to_ascii_uppercase();
        let slot = map.entry((normalise_name(name), rtype.clone())).or_insert((ttl, Vec::new()));
        slot.0 = slot.0.min(ttl);
        slot.1.push(normalise_rdata(&rtype, content));
    }
    map.into_iter()
        .map(|((name, rtype), (ttl, mut data))| {
            data.sort();
            data.dedup();
            Rrset { name, rtype, ttl, data }
        })
        .collect()
}

/// Lowercase, absolute (trailing dot), surrounding whitespace removed. The root stays `.`.
pub fn normalise_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.is_empty() || n == "." {
        return ".".to_string();
    }
    if n.ends_with('.') { n } else { format!("{n}.") }
}

/// Split presentation rdata into tokens: runs of non-whitespace, where a double-quoted string
/// (with `\"` escapes) is one token that keeps its inner whitespace.
pub fn tokens(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in content.chars() {
        if in_quotes {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            if c == '"' {
                in_quotes = true;
            }
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The normal form of one record's rdata, per type. Content that does not parse for its type is
/// kept with its whitespace collapsed (a comparison will then show it as differing, which is the
/// point).
pub fn normalise_rdata(rtype: &str, content: &str) -> String {
    let t = tokens(content);
    let collapsed = t.join(" ");
    match rtype.to_ascii_uppercase().as_str() {
        "A" => collapsed.parse::<Ipv4Addr>().map(|a| a.to_string()).unwrap_or(collapsed),
        "AAAA" => collapsed.parse::<Ipv6Addr>().map(|a| a.to_string()).unwrap_or(collapsed),
        "CNAME" | "NS" | "PTR" | "DNAME" if t.len() == 1 => normalise_name(&t[0]),
        "MX" if t.len() == 2 => format!("{} {}", num(&t[0]), normalise_name(&t[1])),
        "SRV" if t.len() == 4 => {
            format!("{} {} {} {}", num(&t[0]), num(&t[1]), num(&t[2]), normalise_name(&t[3]))
        }
        "CAA" if t.len() == 3 => format!("{} {} {}", num(&t[0]), t[1].to_ascii_lowercase(), t[2]),
        "SOA" if t.len() == 7 => format!(
            "{} {} {} {} {} {} {}",
            normalise_name(&t[0]),
            normalise_name(&t[1]),
            num(&t[2]),
            num(&t[3]),
            num(&t[4]),
            num(&t[5]),
            num(&t[6])
        ),
        _ => collapsed,
    }
}

/// Drop leading zeros from a decimal token; leave anything else alone.
fn num(s: &str) -> String {
    s.parse::<u64>().map(|n| n.to_string()).unwrap_or_else(|_| s.to_string())
}

/// What [`compare`] found. Every list is sorted by name then type.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Expected RRsets absent from the actual side.
    pub missing: Vec<Rrset>,
    /// Actual RRsets nobody expected.
    pub extra: Vec<Rrset>,
    /// Same name and type on both sides, different data (or TTL, unless ignored): (expected, actual).
    pub differing: Vec<(Rrset, Rrset)>,
}

impl Comparison {
    pub fn is_identical(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.differing.is_empty()
    }

    /// Number of differences (one per RRset).
    pub fn len(&self) -> usize {
        self.missing.len() + self.extra.len() + self.differing.len()
    }

    pub fn is_empty(&self) -> bool {
        self.is_identical()
    }
}

impl fmt::Display for Comparison {
    /// One difference per line; `identical` when there is none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_identical() {
            return writeln!(f, "identical");
        }
        for r in &self.missing {
            writeln!(f, "missing:   {r}")?;
        }
        for r in &self.extra {
            writeln!(f, "extra:     {r}")?;
        }
        for (e, a) in &self.differing {
            writeln!(f, "differing: {} {}: expected {} {} / actual {} {}", e.name, e.rtype, e.ttl, e.data.join(" | "), a.ttl, a.data.join(" | "))?;
        }
        Ok(())
    }
}

/// Options for [`compare_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// TTLs are not compared (answers from a cache count down; PowerDNS's own regression tests
    /// compare RRsets this way).
    pub ignore_ttl: bool,
    /// Compare SOA RRsets too (normally left out: the serial moves with every change).
    pub include_soa: bool,
}

/// Compare expected against actual RRsets, SOA excluded. Inputs are re-normalised, so callers may
/// pass RRsets built by hand.
pub fn compare(expected: &[Rrset], actual: &[Rrset], ignore_ttl: bool) -> Comparison {
    compare_with(expected, actual, CompareOptions { ignore_ttl, include_soa: false })
}

/// [`compare`] with every option spelled out.
pub fn compare_with(expected: &[Rrset], actual: &[Rrset], opts: CompareOptions) -> Comparison {
    let index = |side: &[Rrset]| -> BTreeMap<(String, String), Rrset> {
        let mut m: BTreeMap<(String, String), Rrset> = BTreeMap::new();
        for r in side {
            let r = Rrset::new(&r.name, &r.rtype, r.ttl, &r.data);
            if r.rtype == "SOA" && !opts.include_soa {
                continue;
            }
            // The same key given twice on one side: merge, as DNS would.
            m.entry(r.key())
                .and_modify(|x| {
                    x.ttl = x.ttl.min(r.ttl);
                    x.data.extend(r.data.iter().cloned());
                    x.data.sort();
                    x.data.dedup();
                })
                .or_insert(r);
        }
        m
    };
    let exp = index(expected);
    let act = index(actual);
    let mut out = Comparison::default();
    for (k, e) in &exp {
        match act.get(k) {
            None => out.missing.push(e.clone()),
            Some(a) => {
                if e.data != a.data || (!opts.ignore_ttl && e.ttl != a.ttl) {
                    out.differing.push((e.clone(), a.clone()));
                }
            }
        }
    }
    for (k, a) in &act {
        if !exp.contains_key(k) {
            out.extra.push(a.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(name: &str, t: &str, ttl: u32, data: &[&str]) -> Rrset {
        Rrset::new(name, t, ttl, data)
    }

    #[test]
    fn normalisation_per_type() {
        assert_eq!(normalise_rdata("AAAA", "2001:DB8::0001"), "2001:db8::1");
        assert_eq!(normalise_rdata("A", " 10.10.0.54 "), "10.10.0.54");
        assert_eq!(normalise_rdata("CNAME", "API.ocp.Sub.comptech-lab.com"), "api.ocp.sub.comptech-lab.com.");
        assert_eq!(normalise_rdata("MX", "010   Mail.example.com"), "10 mail.example.com.");
        assert_eq!(normalise_rdata("SRV", "0 5  9092 kafka-0.x."), "0 5 9092 kafka-0.x.");
        assert_eq!(normalise_rdata("TXT", "\"a  b\"    \"c\""), "\"a  b\" \"c\"");
        assert_eq!(normalise_rdata("CAA", "0 ISSUE \"letsencrypt.org\""), "0 issue \"letsencrypt.org\"");
        assert_eq!(
            normalise_rdata("SOA", "ns1.x hostmaster.x 0 10800 3600 604800 3600"),
            "ns1.x. hostmaster.x. 0 10800 3600 604800 3600"
        );
        assert_eq!(normalise_name("Sub.Comptech-Lab.com"), "sub.comptech-lab.com.");
        assert_eq!(normalise_name(""), ".");
    }

    #[test]
    fn compare_identical() {
        let a = vec![rs("x.example", "A", 300, &["10.0.0.1", "10.0.0.2"]), rs("example.", "NS", 3600, &["ns1.example."])];
        // Different order and spelling, same content.
        let b = vec![rs("example", "ns", 3600, &["NS1.example"]), rs("X.example.", "A", 300, &["10.0.0.2", "10.0.0.1"])];
        let c = compare(&a, &b, false);
        assert!(c.is_identical(), "{c}");
        assert_eq!(c.to_string(), "identical\n");
    }

    #[test]
    fn compare_missing_extra_differing() {
        let exp = vec![
            rs("a.example.", "A", 300, &["10.0.0.1"]),
            rs("b.example.", "A", 300, &["10.0.0.2"]),
            rs("c.example.", "A", 300, &["10.0.0.3"]),
        ];
        let act = vec![
            rs("b.example.", "A", 300, &["10.0.0.9"]),
            rs("c.example.", "A", 300, &["10.0.0.3"]),
            rs("d.example.", "A", 300, &["10.0.0.4"]),
        ];
        let c = compare(&exp, &act, false);
        assert_eq!(c.missing, vec![rs("a.example.", "A", 300, &["10.0.0.1"])]);
        assert_eq!(c.extra, vec![rs("d.example.", "A", 300, &["10.0.0.4"])]);
        assert_eq!(c.differing.len(), 1);
        assert_eq!(c.differing[0].1.data, vec!["10.0.0.9"]);
        let text = c.to_string();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("missing:   a.example. 300 A 10.0.0.1"), "{text}");
        assert!(text.contains("extra:     d.example. 300 A 10.0.0.4"), "{text}");
        assert!(text.contains("differing: b.example. A: expected 300 10.0.0.2 / actual 300 10.0.0.9"), "{text}");
    }

    #[test]
    fn compare_ttl_ignored_or_not() {
        let exp = vec![rs("a.example.", "A", 300, &["10.0.0.1"])];
        let act = vec![rs("a.example.", "A", 17, &["10.0.0.1"])];
        assert!(compare(&exp, &act, true).is_identical());
        let c = compare(&exp, &act, false);
        assert_eq!(c.differing.len(), 1, "{c}");
    }

    #[test]
    fn soa_left_out_unless_asked() {
        let exp = vec![rs("example.", "SOA", 3600, &["ns1.example. h.example. 5 1 1 1 1"])];
        let act = vec![rs("example.", "SOA", 3600, &["ns1.example. h.example. 6 1 1 1 1"])];
        assert!(compare(&exp, &act, false).is_identical());
        let c = compare_with(&exp, &act, CompareOptions { ignore_ttl: false, include_soa: true });
        assert_eq!(c.differing.len(), 1);
    }

    #[test]
    fn grouping_takes_lowest_ttl() {
        let g = group_rrsets([("k.example", "A", 600, "10.0.0.2"), ("k.example", "a", 300, "10.0.0.1")]);
        assert_eq!(g, vec![rs("k.example.", "A", 300, &["10.0.0.1", "10.0.0.2"])]);
    }
}
