//! Shares of a selection for a CI's job matrix (`--partition slice:M/N`, as nextest splits its
//! tests): every scenario in exactly one share, the shares balanced by expected duration, the
//! same shares on every machine for the same scenario files.

use super::Scenario;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What a scenario costs besides its waits: a lab's boot, the fault, the teardown.
const FIXED_COST: Duration = Duration::from_secs(15);

/// Share `index` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: usize,
    pub total: usize,
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a partition: expected slice:M/N with 1 <= M <= N (e.g. slice:1/2)");
        let (m, n) = s.strip_prefix("slice:").and_then(|r| r.split_once('/')).ok_or_else(bad)?;
        let (index, total): (usize, usize) = (m.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > total {
            return Err(bad());
        }
        Ok(Partition { index, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slice:{}/{}", self.index, self.total)
    }
}

/// Which share each scenario falls in (0-based), longest first onto the lightest share; ties
/// broken by name, so the split depends on the files only.
pub fn shares(scenarios: &[Scenario], total: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by(|&a, &b| scenarios[b].expected_wait().cmp(&scenarios[a].expected_wait()).then_with(|| scenarios[a].name.cmp(&scenarios[b].name)));
    let mut load = vec![Duration::ZERO; total.max(1)];
    let mut share = vec![0; scenarios.len()];
    for i in order {
        let lightest = (0..load.len()).min_by_key(|&k| (load[k], k)).unwrap_or(0);
        load[lightest] += FIXED_COST + scenarios[i].expected_wait();
        share[i] = lightest;
    }
    share
}

/// The scenarios of share `p`, in their original order.
pub fn select(scenarios: &[Scenario], p: Partition) -> Vec<Scenario> {
    let share = shares(scenarios, p.total);
    scenarios.iter().zip(share).filter(|(_, k)| *k == p.index - 1).map(|(s, _)| s.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<Scenario> {
        super::super::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).unwrap()
    }

    #[test]
    fn parses_slices_and_names_what_is_wrong() {
        assert_eq!("slice:2/3".parse::<Partition>().unwrap(), Partition { index: 2, total: 3 });
        assert_eq!(Partition { index: 1, total: 2 }.to_string(), "slice:1/2");
        for bad in ["slice:0/2", "slice:3/2", "hash:1/2", "slice:1", "slice:a/2", ""] {
            assert!(bad.parse::<Partition>().unwrap_err().contains("slice:M/N"), "{bad}");
        }
    }

    #[test]
    fn every_scenario_in_exactly_one_share_balanced_and_stable() {
        let all = shipped();
        for total in 1..=4 {
            let parts: Vec<Vec<Scenario>> = (1..=total).map(|index| select(&all, Partition { index, total })).collect();
            let mut names: Vec<&str> = parts.iter().flatten().map(|s| s.name.as_str()).collect();
            names.sort();
            let mut want: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            want.sort();
            assert_eq!(names, want, "{total} shares");
            let cost = |p: &[Scenario]| p.iter().map(|s| FIXED_COST + s.expected_wait()).sum::<Duration>();
            let longest = all.iter().map(|s| FIXED_COST + s.expected_wait()).max().unwrap();
            let (lo, hi) = (parts.iter().map(|p| cost(p)).min().unwrap(), parts.iter().map(|p| cost(p)).max().unwrap());
            assert!(hi - lo <= longest, "{total} shares unbalanced: {lo:?}..{hi:?}");
        }
        // The same files, in another order, give the same shares.
        let mut reversed = all.clone();
        reversed.reverse();
        let names = |v: Vec<Scenario>| v.into_iter().map(|s| s.name).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(names(select(&all, Partition { index: 1, total: 2 })), names(select(&reversed, Partition { index: 1, total: 2 })));
    }
}
