//! The runbook's step 3 as a plan: the journal rows after a backup's serial, each as the
//! `pdnsutil add-record` argv the VM runs, then the SOA set to the journal's HEAD (claim
//! SQL-REPLAY). Built from the journal module alone, so the plan is exactly what the journal
//! says; nothing is parsed out of Markdown by a shell loop.

use crate::journal::{Entry, Journal};

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
    use proptest::prelude::*;

    const HEAD: &str = "zone: sub.comptech-lab.com\nprimary-ns: ns1.sub.comptech-lab.com.\nhostmaster: hostmaster.sub.comptech-lab.com.\n\n| serial | name | type | content | ttl | date | note |\n|---|---|---|---|---|---|---|\n";

    #[test]
    fn plan_from_the_shipped_journal() {
        let j = crate::zone::testdb::lab_journal();
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

    proptest! {
        /// The drill's plan is what the journal says: exactly the rows above the backup's
        /// serial, in order, each as its add-record argv, then the SOA at HEAD; together with
        /// the rows at or below the serial it is the whole journal.
        #[test]
        fn replay_plan_is_what_the_journal_says(
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
            let j = Journal::parse("j.md", &format!("{HEAD}{rows}")).unwrap();
            let from = 2026010100 + probe;
            let p = ReplayPlan::new(&j, from);
            let want: Vec<u32> = serials.iter().copied().filter(|s| *s > from).collect();
            prop_assert_eq!(p.entries.iter().map(|e| e.serial).collect::<Vec<_>>(), want.clone());
            prop_assert_eq!(p.commands.len(), want.len() + 1);
            for (e, c) in p.entries.iter().zip(&p.commands) {
                prop_assert_eq!(c, &Journal::add_record_args(e, &j.zone));
                prop_assert_eq!(&c[3], &e.name);
            }
            let soa = p.commands.last().unwrap();
            prop_assert_eq!(&soa[1], "replace-rrset");
            prop_assert_eq!(crate::zone::verify::soa_serial_of(&soa[6]), Some(j.head_serial().max(from)));
            let mut whole = j.up_to(from).entries;
            whole.extend(p.entries.iter().cloned());
            prop_assert_eq!(whole, j.entries);
        }
    }
}
