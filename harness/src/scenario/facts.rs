//! The lab's facts a scenario may name: its zone (apex, SOA as loaded, names by role), each
//! daemon's effective settings and where they are set, the database path. Read once from the
//! operators' config dir and zone journal; addresses come later, from the testbed.

use crate::inputs::zone::journal::Journal;
use crate::inputs::settings::{Daemon, Settings};
use crate::testbed::config::ConfigDir;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::inputs::settings::ETC;

/// Zone names a scenario asks for by what they are, not by what they are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameRole {
    /// The n-th name (1-based) that holds exactly one A record and nothing else.
    PlainA(usize),
    /// A CNAME whose target is a name of the zone with an A record.
    Cname,
    /// A name with two or more A records.
    MultiA,
    /// A name with a TXT record.
    Txt,
    /// A name the zone does not have (and no wildcard covers).
    Absent,
}

impl NameRole {
    pub fn parse(s: &str) -> Option<NameRole> {
        Some(match s {
            "a" => NameRole::PlainA(1),
            "cname" => NameRole::Cname,
            "multi-a" => NameRole::MultiA,
            "txt" => NameRole::Txt,
            "nx" => NameRole::Absent,
            _ => NameRole::PlainA(s.strip_prefix('a')?.parse().ok().filter(|n| (2..=9).contains(n))?),
        })
    }

    pub fn describe(self) -> String {
        match self {
            NameRole::PlainA(1) => "a name with exactly one A record".into(),
            NameRole::PlainA(n) => format!("{n} distinct names with exactly one A record each"),
            NameRole::Cname => "a CNAME to an in-zone name with an A record".into(),
            NameRole::MultiA => "a name with several A records".into(),
            NameRole::Txt => "a name with a TXT record".into(),
            NameRole::Absent => "a name the zone lacks that no wildcard covers".into(),
        }
    }
}

/// The zone's SOA as the lab loads it (journal header, serial = the journal's HEAD).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SoaFacts {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub ttl: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

impl SoaFacts {
    /// SOA rdata in presentation form, as pdnsutil list-zone and dig print it.
    pub fn rdata(&self) -> String {
        format!("{} {} {} {} {} {} {}", self.mname, self.rname, self.serial, self.refresh, self.retry, self.expire, self.minimum)
    }
}

#[derive(Debug, Clone)]
pub struct LabFacts {
    /// Apex, lowercase, no trailing dot.
    pub zone: String,
    pub soa: SoaFacts,
    /// Every name of the zone (absolute, trailing dot) with its (type, content) records, in
    /// the order the journal first adds them: appending rows never changes an earlier role.
    names: Vec<(String, Vec<(String, String)>)>,
    pub settings: BTreeMap<Daemon, Settings>,
    /// The authoritative's SQLite (gsqlite3-database).
    pub db: String,
    /// The lab's own addresses (drill.toml).
    pub addresses: crate::testbed::addresses::LabAddresses,
    /// Where the authoritative answers, from its own listen settings.
    pub auth: crate::testbed::listen::AuthEndpoint,
    /// Rows of the journal (records the zone is built from).
    pub journal_rows: usize,
    /// How the recursor gets its settings on this lab (converted to YAML, steps that edit the
    /// old-style files do not apply).
    pub recursor_settings: crate::testbed::config::RecursorSettings,
}

impl LabFacts {
    /// Facts from the inputs; an input the lab cannot run on at all is an error here.
    pub fn read(config: &ConfigDir, journal: &Journal) -> Result<LabFacts> {
        let mut settings = BTreeMap::new();
        for d in Daemon::ALL {
            let s = config.settings(d);
            if let Some(dir) = &s.include_dir_outside {
                bail!(
                    "{}: include-dir={dir} is outside {ETC}; the config dir must hold every file the daemon reads (put them under {ETC} and point include-dir there)",
                    config.path.join(d.main_file()).display()
                );
            }
            if !s.malformed.is_empty() {
                let lines: Vec<String> = s.malformed.iter().map(|m| format!("{}:{}: {}", config.path.join(&m.file).display(), m.line, m.why)).collect();
                bail!("{} malformed setting line(s) for {}:\n{}", lines.len(), d.unit(), lines.join("\n"));
            }
            settings.insert(d, s);
        }
        let auth = &settings[&Daemon::Auth];
        let launch = auth.get("launch").unwrap_or_default();
        if !crate::inputs::settings::items(&launch).iter().any(|b| b == "gsqlite3" || b.starts_with("gsqlite3:")) {
            bail!("{}: launch={launch} does not load gsqlite3; pdns-drill simulates the runbook's gsqlite3 lab", config.path.join("pdns.conf").display());
        }
        let db = auth
            .get("gsqlite3-database")
            .filter(|d| d.starts_with('/'))
            .ok_or_else(|| anyhow::anyhow!("{}: no absolute gsqlite3-database is set", config.path.join("pdns.conf").display()))?;
        let mut names: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for e in &journal.entries {
            let rr = (e.rtype.clone(), e.content.clone());
            match names.iter_mut().find(|(n, _)| *n == e.fqdn) {
                Some((_, v)) => v.push(rr),
                None => names.push((e.fqdn.clone(), vec![rr])),
            }
        }
        let s = &journal.soa;
        Ok(LabFacts {
            zone: journal.zone.clone(),
            soa: SoaFacts {
                mname: s.mname.clone(),
                rname: s.rname.clone(),
                serial: journal.head_serial(),
                ttl: s.ttl,
                refresh: s.refresh,
                retry: s.retry,
                expire: s.expire,
                minimum: s.minimum,
            },
            names,
            settings,
            db,
            addresses: config.addresses.clone(),
            auth: crate::testbed::listen::AuthEndpoint::of(config),
            journal_rows: journal.entries.len(),
            recursor_settings: config.recursor_settings,
        })
    }

    fn apex(&self) -> String {
        format!("{}.", self.zone)
    }

    fn only_a(&self) -> impl Iterator<Item = &String> {
        self.names
            .iter()
            .filter(|(n, rr)| !n.starts_with('*') && **n != self.apex() && rr.len() == 1 && rr[0].0 == "A")
            .map(|(n, _)| n)
    }

    fn records(&self, fqdn: &str) -> Option<&Vec<(String, String)>> {
        self.names.iter().find(|(n, _)| n == fqdn).map(|(_, rr)| rr)
    }

    /// The zone's name for a role, absolute without the trailing dot.
    pub fn name(&self, role: NameRole) -> Option<String> {
        let has_a = |n: &str| self.records(n).is_some_and(|rr| rr.iter().any(|(t, _)| t == "A"));
        let found = match role {
            NameRole::PlainA(n) => self.only_a().nth(n - 1).cloned(),
            NameRole::Cname => self
                .names
                .iter()
                .find(|(n, rr)| !n.starts_with('*') && rr.iter().any(|(t, c)| t == "CNAME" && has_a(&c.to_ascii_lowercase())))
                .map(|(n, _)| n.clone()),
            NameRole::MultiA => self.names.iter().find(|(n, rr)| !n.starts_with('*') && rr.iter().filter(|(t, _)| t == "A").count() >= 2).map(|(n, _)| n.clone()),
            NameRole::Txt => self
                .names
                .iter()
                .filter(|(n, rr)| !n.starts_with('*') && rr.iter().any(|(t, _)| t == "TXT"))
                .min_by_key(|(n, _)| **n == self.apex())
                .map(|(n, _)| n.clone()),
            NameRole::Absent => self.fresh_label("pdns-drill-absent").map(|l| format!("{l}.{}", self.apex())),
        }?;
        Some(found.trim_end_matches('.').to_string())
    }

    /// The first name (journal order) with an A record for `addr`, without the trailing dot.
    pub fn name_of_a(&self, addr: &str) -> Option<String> {
        self.names
            .iter()
            .find(|(n, rr)| !n.starts_with('*') && rr.iter().any(|(t, c)| t == "A" && c == addr))
            .map(|(n, _)| n.trim_end_matches('.').to_string())
    }

    /// The content of the (single or first) record of `rtype` at `fqdn`.
    pub fn content(&self, fqdn: &str, rtype: &str) -> Option<String> {
        let key = format!("{}.", fqdn.trim_end_matches('.').to_ascii_lowercase());
        self.records(&key)?.iter().find(|(t, _)| t == rtype).map(|(_, c)| c.clone())
    }

    /// A label directly under the apex that the zone does not have and no apex wildcard
    /// covers: `want` itself when free, else `want-2`, `want-3`, …
    pub fn fresh_label(&self, want: &str) -> Option<String> {
        if self.records(&format!("*.{}", self.apex())).is_some() {
            return None;
        }
        let taken: BTreeSet<String> = self
            .names
            .iter()
            .filter_map(|(n, _)| n.strip_suffix(&format!(".{}", self.apex())).map(|r| r.rsplit('.').next().unwrap_or(r).to_string()))
            .collect();
        std::iter::once(want.to_string()).chain((2..).map(|i| format!("{want}-{i}"))).take(100).find(|l| !taken.contains(l))
    }

    pub fn settings(&self, d: Daemon) -> &Settings {
        &self.settings[&d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn journal(rows: &str) -> Journal {
        let text = format!(
            "zone: example.test\nprimary-ns: ns.example.test.\nhostmaster: ops.example.net.\nminimum: 300\n\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n{rows}"
        );
        Journal::parse("j.md", &text).unwrap()
    }

    fn config(files: &[(&str, &str)]) -> ConfigDir {
        crate::testbed::config::for_test(files)
    }

    const AUTH: &str = "launch=gsqlite3\ngsqlite3-database=/var/lib/powerdns/pdns.sqlite3\n";

    fn facts(rows: &str) -> LabFacts {
        LabFacts::read(&config(&[("pdns.conf", AUTH), ("recursor.conf", "")]), &journal(rows)).unwrap()
    }

    const ROWS: &str = "| 2026010101 | @ | NS | ns.example.test. | 3600 | 2026-01-01 | |
| 2026010102 | ns | A | 10.0.0.2 | 3600 | 2026-01-01 | |
| 2026010103 | web | A | 10.0.0.3 | 300 | 2026-01-01 | |
| 2026010104 | www | CNAME | web.example.test. | 300 | 2026-01-01 | |
| 2026010105 | pool | A | 10.0.0.4 | 300 | 2026-01-01 | |
| 2026010106 | pool | A | 10.0.0.5 | 300 | 2026-01-01 | |
| 2026010107 | @ | TXT | \"hello\" | 300 | 2026-01-01 | |
| 2026010108 | *.apps | A | 10.0.0.6 | 300 | 2026-01-01 | |
";

    #[test]
    fn roles_come_from_the_zone() {
        let f = facts(ROWS);
        assert_eq!(f.name(NameRole::PlainA(1)).as_deref(), Some("ns.example.test"));
        assert_eq!(f.name(NameRole::PlainA(2)).as_deref(), Some("web.example.test"));
        assert_eq!(f.name(NameRole::PlainA(3)), None);
        assert_eq!(f.name(NameRole::Cname).as_deref(), Some("www.example.test"));
        assert_eq!(f.name(NameRole::MultiA).as_deref(), Some("pool.example.test"));
        assert_eq!(f.name(NameRole::Txt).as_deref(), Some("example.test"));
        assert_eq!(f.name(NameRole::Absent).as_deref(), Some("pdns-drill-absent.example.test"));
        assert_eq!(f.content("web.example.test", "A").as_deref(), Some("10.0.0.3"));
    }

    #[test]
    fn a_zone_without_a_role_says_so() {
        let f = facts("| 2026010101 | @ | NS | ns.example.test. | 3600 | 2026-01-01 | |\n| 2026010102 | ns | A | 10.0.0.2 | 3600 | 2026-01-01 | |\n");
        assert_eq!(f.name(NameRole::Cname), None);
        assert_eq!(f.name(NameRole::MultiA), None);
        assert_eq!(f.name(NameRole::Txt), None);
    }

    #[test]
    fn soa_is_the_header_with_the_head_serial() {
        let f = facts(ROWS);
        assert_eq!(f.soa.rdata(), "ns.example.test. ops.example.net. 2026010108 10800 3600 604800 300");
    }

    #[test]
    fn fresh_labels_avoid_existing_names_and_apex_wildcards() {
        let f = facts(ROWS);
        assert_eq!(f.fresh_label("web").as_deref(), Some("web-2"));
        assert_eq!(f.fresh_label("late").as_deref(), Some("late"));
        // `apps` exists as the parent of a wildcard name.
        assert_eq!(f.fresh_label("apps").as_deref(), Some("apps-2"));
        let wild = facts("| 2026010101 | * | A | 10.0.0.9 | 300 | 2026-01-01 | |\n");
        assert_eq!(wild.fresh_label("late"), None);
        assert_eq!(wild.name(NameRole::Absent), None);
    }

    #[test]
    fn role_names_parse() {
        assert_eq!(NameRole::parse("a"), Some(NameRole::PlainA(1)));
        assert_eq!(NameRole::parse("a3"), Some(NameRole::PlainA(3)));
        assert_eq!(NameRole::parse("a1"), None);
        assert_eq!(NameRole::parse("nx"), Some(NameRole::Absent));
        assert_eq!(NameRole::parse("mx"), None);
    }

    #[test]
    fn inputs_the_lab_cannot_run_are_refused() {
        let j = journal(ROWS);
        let no_db = LabFacts::read(&config(&[("pdns.conf", "launch=gsqlite3\n"), ("recursor.conf", "")]), &j).unwrap_err();
        assert!(no_db.to_string().contains("gsqlite3-database"), "{no_db}");
        let bind = LabFacts::read(&config(&[("pdns.conf", "launch=bind\n"), ("recursor.conf", "")]), &j).unwrap_err();
        assert!(bind.to_string().contains("does not load gsqlite3"), "{bind}");
        let outside = LabFacts::read(&config(&[("pdns.conf", AUTH), ("recursor.conf", "include-dir=/srv/rec.d\n")]), &j).unwrap_err();
        assert!(outside.to_string().contains("outside /etc/powerdns"), "{outside}");
        let typo = LabFacts::read(&config(&[("pdns.conf", AUTH), ("recursor.conf", "quiet=yes\nlocal-address 10.10.0.53\n")]), &j).unwrap_err();
        assert!(typo.to_string().contains("/cfg/recursor.conf:2: `local-address 10.10.0.53`"), "{typo}");
    }

    #[test]
    fn the_shipped_lab_has_every_role() {
        let c = ConfigDir::load(&crate::testbed::config::default_config_dir().unwrap()).unwrap();
        let j = Journal::load(&crate::testbed::config::default_zone().unwrap()).unwrap();
        let f = LabFacts::read(&c, &j).unwrap();
        for r in ["a", "a2", "a3", "a4", "a5", "cname", "multi-a", "txt", "nx"] {
            assert!(f.name(NameRole::parse(r).unwrap()).is_some(), "role {r}");
        }
        assert_eq!(f.settings(Daemon::Recursor).setting("allow-from").unwrap().file(), Some("recursor.d/10-lab-forwarder.conf"));
        assert_eq!(f.db, "/var/lib/powerdns/pdns.sqlite3");
    }
}
