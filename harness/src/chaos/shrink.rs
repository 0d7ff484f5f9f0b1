//! Shrinking: a failing sequence made smaller (fewer faults, no gaps, simpler parameters) for as
//! long as it still fails the same way. Pure: the caller runs each candidate (on a lab, or
//! against a synthetic property in tests) and reports whether it still failed, so the same
//! shrinker serves both.

use super::generator::{self, Drawn};
use serde::{Deserialize, Serialize};

/// One candidate tried and what it gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tried {
    pub faults: String,
    pub still_fails: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shrunk {
    pub sequence: Vec<Drawn>,
    pub tried: Vec<Tried>,
    /// Every simpler candidate of `sequence` was tried and passed (not cut short by the budget).
    pub minimal: bool,
}

/// Smaller variants of `seq`, the biggest cuts first: each fault left out (the last first),
/// then every gap removed, then each fault's simpler parameters.
pub fn candidates(seq: &[Drawn]) -> Vec<Vec<Drawn>> {
    let mut out: Vec<Vec<Drawn>> = Vec::new();
    if seq.len() > 1 {
        for i in (0..seq.len()).rev() {
            let mut s = seq.to_vec();
            s.remove(i);
            out.push(generator::normalise(s));
        }
    }
    if seq.iter().any(|d| d.gap_s > 0) {
        out.push(seq.iter().map(|d| Drawn { gap_s: 0, ..*d }).collect());
    }
    for (i, d) in seq.iter().enumerate() {
        for f in d.fault.simpler() {
            let mut s = seq.to_vec();
            s[i].fault = f;
            out.push(generator::normalise(s));
        }
    }
    out.retain(|c| c.as_slice() != seq);
    let mut seen = Vec::new();
    out.retain(|c| {
        let fresh = !seen.contains(c);
        seen.push(c.clone());
        fresh
    });
    out
}

/// Greedy shrinking within a budget of tries: take the first candidate that still fails and
/// start again from it; stop when none does (minimal) or the budget is spent.
pub struct Shrinker {
    current: Vec<Drawn>,
    queue: Vec<Vec<Drawn>>,
    tried: Vec<Tried>,
    budget: usize,
}

impl Shrinker {
    pub fn new(failing: Vec<Drawn>, budget: usize) -> Shrinker {
        let mut queue = candidates(&failing);
        queue.reverse();
        Shrinker { current: failing, queue, tried: vec![], budget }
    }

    /// The next candidate to run, or None when done.
    pub fn candidate(&mut self) -> Option<Vec<Drawn>> {
        if self.tried.len() >= self.budget {
            return None;
        }
        self.queue.last().cloned()
    }

    /// What running `candidate` (the one `candidate()` gave) showed.
    pub fn report(&mut self, candidate: &[Drawn], still_fails: bool) {
        self.tried.push(Tried { faults: generator::labels(candidate), still_fails });
        if still_fails {
            self.current = candidate.to_vec();
            self.queue = candidates(&self.current);
            self.queue.reverse();
        } else {
            self.queue.retain(|c| c.as_slice() != candidate);
        }
    }

    pub fn current(&self) -> &[Drawn] {
        &self.current
    }

    pub fn finish(self) -> Shrunk {
        Shrunk { minimal: self.queue.is_empty(), sequence: self.current, tried: self.tried }
    }
}

/// Shrinks with a synchronous check (tests, and any property that needs no lab).
pub fn shrink_with(failing: Vec<Drawn>, budget: usize, mut still_fails: impl FnMut(&[Drawn]) -> bool) -> Shrunk {
    let mut s = Shrinker::new(failing, budget);
    while let Some(c) = s.candidate() {
        let f = still_fails(&c);
        s.report(&c, f);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::generator::{ChaosFault, Corruption, Net, Proto};
    use crate::inputs::settings::Daemon;

    fn d(fault: ChaosFault, gap_s: u64) -> Drawn {
        Drawn { fault, gap_s }
    }

    /// A synthetic property, no containers: it fails when the recursor's unit is down (stopped
    /// or killed) and any firewall rule is in place.
    fn synthetic(seq: &[Drawn]) -> bool {
        let unit = seq.iter().any(|x| matches!(x.fault, ChaosFault::StopUnit(Daemon::Recursor) | ChaosFault::KillUnit(Daemon::Recursor)));
        let fw = seq.iter().any(|x| matches!(x.fault, ChaosFault::Iptables(_) | ChaosFault::Ufw));
        unit && fw
    }

    #[test]
    fn shrinks_to_the_smallest_sequence_that_still_fails() {
        let start = vec![
            d(ChaosFault::DiskFull, 0),
            d(ChaosFault::KillUnit(Daemon::Recursor), 3),
            d(ChaosFault::Corrupt(Corruption::Page), 0),
            d(ChaosFault::Iptables(Proto::Udp), 2),
            d(ChaosFault::KillVm, 4),
        ];
        assert!(synthetic(&start));
        let s = shrink_with(start, 100, synthetic);
        assert!(s.minimal);
        assert_eq!(s.sequence, vec![d(ChaosFault::StopUnit(Daemon::Recursor), 0), d(ChaosFault::Iptables(Proto::Both), 0)], "{}", generator::labels(&s.sequence));
        assert!(synthetic(&s.sequence));
        assert!(s.tried.iter().any(|t| !t.still_fails), "some cut must have made it pass");
    }

    #[test]
    fn the_budget_bounds_the_tries_and_keeps_the_smallest_failure_so_far() {
        let start = vec![d(ChaosFault::LinkDown(Net::Lab), 0), d(ChaosFault::KillUnit(Daemon::Recursor), 1), d(ChaosFault::Ufw, 0)];
        let s = shrink_with(start.clone(), 2, synthetic);
        assert_eq!(s.tried.len(), 2);
        assert!(!s.minimal);
        assert!(synthetic(&s.sequence) && s.sequence.len() <= start.len());
    }

    #[test]
    fn a_single_simplest_fault_has_nothing_to_try() {
        assert!(candidates(&[d(ChaosFault::StopVm, 0)]).is_empty());
        let c = candidates(&[d(ChaosFault::KillVm, 0)]);
        assert_eq!(c, vec![vec![d(ChaosFault::StopVm, 0)]]);
    }
}
