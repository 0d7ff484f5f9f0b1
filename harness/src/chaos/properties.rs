//! The invariants every chaos run is held to, each a named property judged from the run's
//! history after the fact (nothing asserts while the lab is being broken).

use super::follow::End;
use super::run::ChaosRun;
use crate::claims::verdict::Verdict;
use crate::claims::Severity;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// The triage lands on a row or says the pattern is not in the runbook, and never says
    /// "DNS is fine" while lab names fail through the recursor (TRI-1, TRI-BLIND).
    TriageNeverBlind,
    /// Following the runbook from that row restores steady state within the bound.
    RunbookRestores,
    /// After recovery every record of the journal answers at the authoritative.
    ZoneIntact,
    /// Every fault healed, steady state back, nothing of the run left after teardown.
    HealedNoLeak,
}

impl Property {
    pub const ALL: [Property; 4] = [Property::TriageNeverBlind, Property::RunbookRestores, Property::ZoneIntact, Property::HealedNoLeak];

    pub fn id(self) -> &'static str {
        match self {
            Property::TriageNeverBlind => "triage-never-blind",
            Property::RunbookRestores => "runbook-restores",
            Property::ZoneIntact => "zone-intact",
            Property::HealedNoLeak => "healed-no-leak",
        }
    }

    /// A violation (of the way `signature` names) in the claims' vocabulary.
    pub fn violated(self, signature: &str) -> (Verdict, Option<Severity>) {
        match self {
            Property::TriageNeverBlind => (Verdict::Contradicted, Some(Severity::FalseAllClear)),
            Property::RunbookRestores => (Verdict::Contradicted, Some(Severity::RecoveryFails)),
            Property::ZoneIntact => (Verdict::Contradicted, Some(Severity::DataLoss)),
            Property::HealedNoLeak if signature == NOT_HEALED => (Verdict::Contradicted, Some(Severity::RecoveryFails)),
            Property::HealedNoLeak => (Verdict::Errored, None),
        }
    }

    pub fn statement(self) -> &'static str {
        match self {
            Property::TriageNeverBlind => "the first triage lands on a row of the table or finds no row for what it saw, and never reads \"DNS is fine\" (TRI-1) while lab names fail through the recursor (TRI-BLIND); every journal name is asked right after each triage, as lab clients keep asking during an outage",
            Property::RunbookRestores => "following the runbook from the row the triage lands on (its section's checks and recovery, the triage again, at most 3 rounds) restores steady state; otherwise the run is a dead end",
            Property::ZoneIntact => "after recovery every record of the dns-records journal, and the SOA at HEAD, answers at the authoritative (the loss is named otherwise)",
            Property::HealedNoLeak => "every fault heals, steady state returns once they are healed, and none of the run's containers, networks or volumes is left after teardown",
        }
    }
}

/// A property's verdict on one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Check {
    Held,
    /// `signature` groups runs that fail the same way (one reproducer each).
    Violated { detail: String, signature: String },
    Undecided { why: String },
}

impl Check {
    pub fn violated(&self) -> bool {
        matches!(self, Check::Violated { .. })
    }
    pub fn signature(&self) -> Option<&str> {
        match self {
            Check::Violated { signature, .. } => Some(signature),
            _ => None,
        }
    }

    /// The check in the claims' vocabulary, with what a violation costs an operator who follows
    /// the runbook. A heal or a teardown of the harness's own that failed is the harness
    /// failing (errored), not a finding about the lab.
    pub fn judged(&self, p: Property) -> (Verdict, Option<Severity>) {
        match self {
            Check::Held => (Verdict::Confirmed, None),
            Check::Undecided { .. } => (Verdict::Unchecked, None),
            Check::Violated { signature, .. } => p.violated(signature),
        }
    }
}

/// Judged over every property: the verdict that wins (by the claims' rank) and the worst
/// severity among the contradictions.
pub fn judged_all<'a>(checks: impl IntoIterator<Item = (&'a Property, &'a Check)>) -> (Verdict, Option<Severity>) {
    let judged: Vec<(Verdict, Option<Severity>)> = checks.into_iter().map(|(p, c)| c.judged(*p)).collect();
    let verdict = judged.iter().map(|j| j.0).max_by_key(|v| v.rank()).unwrap_or(Verdict::Unchecked);
    (verdict, judged.iter().filter_map(|j| j.1).min())
}

const NOT_HEALED: &str = "not healed";

fn undecided(run: &ChaosRun) -> Check {
    let why = run.not_simulated.clone().or_else(|| run.error.clone()).unwrap_or_else(|| "the runbook was not followed".into());
    Check::Undecided { why }
}

pub fn check(p: Property, run: &ChaosRun) -> Check {
    match p {
        Property::TriageNeverBlind => {
            let Some(path) = &run.path else { return undecided(run) };
            for (i, r) in path.rounds.iter().enumerate() {
                let t = &r.triage;
                if t.row == "TRI-1" && !t.lab_names_failing.is_empty() {
                    return Check::Violated {
                        detail: format!(
                            "triage {} read TRI-1 (DNS is fine) while {} of {} lab names failed through the recursor: {}",
                            i + 1,
                            t.lab_names_failing.len(),
                            t.lab_names_asked,
                            t.lab_names_failing.join("; ")
                        ),
                        signature: "TRI-1 while lab names fail".into(),
                    };
                }
            }
            Check::Held
        }
        Property::RunbookRestores => {
            let Some(path) = &run.path else { return undecided(run) };
            match &path.end {
                End::Restored { .. } => Check::Held,
                End::DeadEnd { row, reason, still_failing } => Check::Violated {
                    detail: format!(
                        "dead end at {row}: {reason}; rows {}; {} command(s) run; still failing: {}",
                        path.rows().join(" → "),
                        path.rounds.iter().map(|r| r.steps.len()).sum::<usize>(),
                        still_failing.join("; ")
                    ),
                    signature: format!("dead end at {row}"),
                },
            }
        }
        Property::ZoneIntact => {
            if run.path.is_none() {
                return undecided(run);
            }
            match &run.zone {
                None => Check::Undecided { why: "the authoritative did not answer its SOA after the runbook was followed".into() },
                Some(z) if z.missing.is_empty() && z.soa_ok => Check::Held,
                Some(z) => Check::Violated {
                    detail: format!(
                        "{} of {} journal RRsets answered in full; missing: {}{}",
                        z.rrsets_matching,
                        z.rrsets_asked,
                        if z.missing.is_empty() { "none".into() } else { z.missing.join("; ") },
                        if z.soa_ok { String::new() } else { format!("; SOA answered: {}", z.soa_answered) }
                    ),
                    signature: "zone data lost".into(),
                },
            }
        }
        Property::HealedNoLeak => {
            if let Some(h) = run.heals.iter().find(|h| !h.ok) {
                return Check::Violated { detail: format!("heal failed: {}: {}", h.fault, h.output), signature: "heal failed".into() };
            }
            if let Some(f) = run.steady_after_heal.as_ref().filter(|f| !f.is_empty()) {
                return Check::Violated { detail: format!("steady state did not return once every fault was healed: {}", f.join("; ")), signature: NOT_HEALED.into() };
            }
            match &run.leftovers {
                None if run.not_simulated.is_some() => Check::Undecided { why: "no lab was brought up".into() },
                None => Check::Undecided { why: "the run's resources could not be listed after teardown".into() },
                Some(l) if !l.is_empty() => Check::Violated { detail: format!("left after teardown: {}", l.join(", ")), signature: "leaked".into() },
                Some(_) => Check::Held,
            }
        }
    }
}

pub fn check_all(run: &ChaosRun) -> std::collections::BTreeMap<Property, Check> {
    Property::ALL.into_iter().map(|p| (p, check(p, run))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::follow::{Path, Round, TriageSeen};

    fn run_with(rounds: Vec<(&str, Vec<&str>)>, end: End) -> ChaosRun {
        let rounds = rounds
            .into_iter()
            .map(|(row, failing)| Round {
                triage: TriageSeen { row: row.into(), observation: String::new(), lab_names_failing: failing.into_iter().map(String::from).collect(), lab_names_asked: 20, at_ms: 0 },
                steps: vec![],
            })
            .collect();
        let mut r: ChaosRun = serde_json::from_value(serde_json::json!({
            "seed": 1, "faults": [], "labels": "", "lab_run_id": "x", "error": null, "not_simulated": null, "injected": [],
            "under_fault": [], "path": null, "zone": null, "heals": [], "steady_after_heal": [], "leftovers": [], "wall_ms": 0
        }))
        .unwrap();
        r.path = Some(Path { rounds, end });
        r
    }

    #[test]
    fn tri1_with_failing_lab_names_is_blind() {
        let restored = End::Restored { rounds: 0, at_ms: 1 };
        assert_eq!(check(Property::TriageNeverBlind, &run_with(vec![("TRI-1", vec![])], restored.clone())), Check::Held);
        assert_eq!(check(Property::TriageNeverBlind, &run_with(vec![("unknown", vec!["a.x. A: SERVFAIL"])], restored.clone())), Check::Held);
        let blind = check(Property::TriageNeverBlind, &run_with(vec![("TRI-2", vec!["a"]), ("TRI-1", vec!["a.x. A: SERVFAIL"])], restored));
        assert!(matches!(&blind, Check::Violated { detail, .. } if detail.starts_with("triage 2 read TRI-1")), "{blind:?}");
    }

    #[test]
    fn a_dead_end_names_row_path_and_what_fails() {
        let end = End::DeadEnd { row: "TRI-2".into(), reason: "again".into(), still_failing: vec!["✗ lab name".into()] };
        let c = check(Property::RunbookRestores, &run_with(vec![("TRI-2", vec![]), ("TRI-2", vec![])], end));
        assert_eq!(c.signature(), Some("dead end at TRI-2"));
        assert!(matches!(&c, Check::Violated { detail, .. } if detail.contains("rows TRI-2 → TRI-2") && detail.contains("✗ lab name")), "{c:?}");
    }

    #[test]
    fn harness_failures_decide_nothing_but_the_heal() {
        let mut r = run_with(vec![], End::Restored { rounds: 0, at_ms: 0 });
        r.path = None;
        r.error = Some("fault did not take effect".into());
        assert!(matches!(check(Property::RunbookRestores, &r), Check::Undecided { .. }));
        assert_eq!(check(Property::HealedNoLeak, &r), Check::Held);
        r.leftovers = Some(vec!["network x".into()]);
        assert_eq!(check(Property::HealedNoLeak, &r).signature(), Some("leaked"));
    }
}
