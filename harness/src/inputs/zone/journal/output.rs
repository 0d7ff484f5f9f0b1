//! What the journal becomes: a zone file for `pdnsutil load-zone`, the zone's SOA, the
//! `pdnsutil` arguments that replay it, and Markdown that reads back to the same journal.

use super::{Entry, Journal, COLUMNS};
use crate::inputs::zone::compare::Rrset;

impl Journal {
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
