//! The runbook's step 3 as a plan: the journal rows after a backup's serial, each as the
//! `pdnsutil add-record` argv the VM runs, then the SOA set to the journal's HEAD (claim
//! SQL-REPLAY). Built from the journal module alone, so the plan is exactly what the journal
//! says; nothing is parsed out of Markdown by a shell loop.

use crate::inputs::zone::journal::{Entry, Journal};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplayPlan {
    /// The backup's serial: rows at or below it are not replayed.
    pub from: u32,
    /// The journal's HEAD: where the zone stands afterwards.
    pub head: u32,
    pub entries: Vec<Entry>,
    /// One argv per entry, in journal order, then the SOA at HEAD.
    pub commands: Vec<Vec<String>>,
}

impl ReplayPlan {
    pub fn new(journal: &Journal, from: u32) -> ReplayPlan {
        let entries = journal.entries_after(from).to_vec();
        let head = journal.head_serial().max(from);
        let mut commands: Vec<Vec<String>> = entries.iter().map(|e| Journal::add_record_args(e, &journal.zone)).collect();
        commands.push(journal.replace_soa_args(head));
        ReplayPlan { from, head, entries, commands }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The plan against arbitrary journals is the proptest beside `entries_after` (zone/journal/mod.rs).

    #[test]
    fn plan_from_the_shipped_journal() {
        let j = crate::inputs::zone::testdb::lab_journal();
        let p = ReplayPlan::new(&j, 2026030401);
        let names: Vec<&str> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, vec!["grafana", "dns-probe"]);
        assert_eq!(p.commands[0], vec!["pdnsutil", "add-record", "sub.comptech-lab.com", "grafana", "CNAME", "300", "monitoring.sub.comptech-lab.com."]);
        assert_eq!(p.commands[1][6], "\"synthetic probe target | do not delete\"");
        assert_eq!(p.commands.last().unwrap()[..5], ["pdnsutil", "replace-rrset", "sub.comptech-lab.com", "@", "SOA"]);
        assert!(p.commands.last().unwrap()[6].contains(" 2026032001 "));
        // At HEAD nothing is added; the SOA is still set.
        assert_eq!(ReplayPlan::new(&j, j.head_serial()).commands.len(), 1);
    }
}
