//! Which scenarios a run takes, and which claims its gate holds to the baseline: the files
//! the filters select, the share a CI job runs of them (`--partition`), and the claims that
//! selection decides in full (a claim some unselected scenario also decides is not compared).

use super::partition::{self, Partition};
use super::Scenario;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Selection {
    /// Every scenario the filters select, in file order: numbers the labs, so a shard's labs
    /// are named as the whole run's would be.
    pub wanted: Vec<Scenario>,
    /// What this run runs: `wanted`, or its share.
    pub selected: Vec<Scenario>,
    /// The claims the gate holds to the baseline; None: all of them.
    pub scope: Option<BTreeSet<String>>,
    /// The claims the whole filtered selection decides in full (None: unfiltered), which a
    /// merge of every share holds to the baseline.
    pub selection_scope: Option<BTreeSet<String>>,
}

impl Selection {
    /// None when the filters select nothing.
    pub fn choose(all: &[Scenario], filters: &[String], share: Option<Partition>) -> Option<Selection> {
        let wanted: Vec<Scenario> = all.iter().filter(|s| s.selected_by(filters)).cloned().collect();
        if wanted.is_empty() {
            return None;
        }
        let selected = match share {
            Some(p) => partition::select(&wanted, p),
            None => wanted.clone(),
        };
        let selection_scope = (!filters.is_empty()).then(|| super::decided_in_full(all, filters));
        let scope = match share {
            Some(_) => Some(super::decided_in_full_by(all, |s| selected.iter().any(|x| x.name == s.name))),
            None => selection_scope.clone(),
        };
        Some(Selection { wanted, selected, scope, selection_scope })
    }

    /// A scenario's number in the whole selection (0 when it is not in it).
    pub fn number(&self, name: &str) -> usize {
        self.wanted.iter().position(|w| w.name == name).unwrap_or(0)
    }

    /// Where a scenario stands in the files' order (reports follow it).
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.selected.iter().position(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Scenario> {
        super::super::load_dir(&crate::testbed::config::scenarios_dir(std::path::Path::new("scenarios"))).unwrap()
    }

    #[test]
    fn no_filter_runs_everything_and_holds_every_claim() {
        let all = all();
        let s = Selection::choose(&all, &[], None).unwrap();
        assert_eq!(s.selected.len(), all.len());
        assert!(s.scope.is_none() && s.selection_scope.is_none());
        assert_eq!(s.number(&all[3].name), 3);
        assert_eq!(s.rank(&all[5].name), Some(5));
    }

    #[test]
    fn a_filter_holds_only_what_it_decides_in_full_and_selecting_nothing_is_none() {
        let all = all();
        let s = Selection::choose(&all, &["recursor-down".into()], None).unwrap();
        assert!(s.selected.iter().all(|x| x.name.contains("recursor-down")));
        let scope = s.scope.clone().unwrap();
        // A claim another scenario also decides is not held to the baseline.
        for c in &scope {
            assert!(all.iter().filter(|x| x.claims.iter().any(|k| k.to_string() == *c)).all(|x| s.selected.iter().any(|y| y.name == x.name)), "{c}");
        }
        assert_eq!(s.scope, s.selection_scope);
        assert!(Selection::choose(&all, &["no-such-scenario-anywhere".into()], None).is_none());
    }

    #[test]
    fn shares_cover_the_selection_once_and_number_their_scenarios_as_the_whole_run() {
        let all = all();
        let parts: Vec<Selection> = (1..=2).map(|i| Selection::choose(&all, &[], Some(Partition { index: i, total: 2 })).unwrap()).collect();
        let mut names: Vec<&str> = parts.iter().flat_map(|p| p.selected.iter().map(|s| s.name.as_str())).collect();
        names.sort_unstable();
        let mut every: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        every.sort_unstable();
        assert_eq!(names, every);
        let first = &parts[1].selected[0];
        assert_eq!(parts[1].number(&first.name), all.iter().position(|s| s.name == first.name).unwrap());
        // A share holds to the baseline only the claims its own scenarios decide in full.
        assert!(parts.iter().all(|p| p.scope.is_some()));
    }
}
