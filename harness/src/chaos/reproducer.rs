//! A failing run written out as a scenario `pdns-drill run --scenarios DIR` accepts as is: its
//! faults, the first triage, the runbook steps the follower took (from the playbook, so the
//! file holds placeholders, not this testbed's addresses), and the check that fails when the
//! property does. Whether a scenario run reproduces the failure is read back from its records.

use super::follow::{End, Playbook};
use super::generator;
use super::properties::Property;
use super::run::ChaosRun;
use crate::claims::{ClaimId, Part};
use crate::judge::model::Phase;
use crate::scenario::facts::{LabFacts, NameRole};
use crate::scenario::{Action, Expect, OutcomeWant, Probe, ProbeTarget, RowWant, Scenario, Step, StepTable};
use crate::testbed::Role;
use anyhow::{Context, Result};

/// Notes that mark the step a property's failure shows at.
pub const BLIND_NOTE: &str = "chaos: a lab name through the recursor while the triage reads TRI-1";
pub const ZONE_NOTE: &str = "chaos: every journal record at the authoritative";
const JOURNAL_AT: &str = "workstation:/root/chaos-journal.md";

/// The journal's rows as `name type content`, one per line (names relative, `@` for the apex).
const ROWS: &str = r#"awk -F'|' '/^\| [0-9]+ \|/ {gsub(/^ +| +$/, "", $3); gsub(/ /, "", $4); gsub(/^ +| +$/, "", $5); print $3, $4, $5}' /root/chaos-journal.md"#;
/// A journal name made absolute.
const FQDN: &str = r#"case "$name" in '@') fq={zone}.;; *.) fq=$name;; *) fq=$name.{zone}.;; esac"#;

/// Lab clients asking the recursor for every journal name (first type, no wildcards) side by
/// side, as the follower does after each triage.
fn names_step() -> Step {
    let script = format!(
        r#"{ROWS} | awk '!seen[$1]++' | grep -v '^\*' | while read -r name type content; do {FQDN}; ( echo "$fq $type: $(dig @{{recursor}} "$fq" "$type" +time=2 +tries=1 | grep -oE 'status: [A-Z]+' || echo 'no reply')" ) & done; wait"#
    );
    Step::of(Action::Run { command: script, on: Role::Workstation, user: None }).noted(NAMES_NOTE)
}
pub const NAMES_NOTE: &str = "chaos: lab clients ask the recursor for every journal name";

/// The authoritative asked for each journal row's name and type; A data compared exactly.
fn zone_check_step() -> Step {
    let script = format!(
        r#"{ROWS} | while read -r name type content; do {FQDN}; out=$(dig @{{auth}} "$fq" "$type" +short +norecurse +time=2 +tries=2); if [ -z "$out" ]; then echo "MISSING $fq $type"; elif [ "$type" = A ] && ! printf '%s\n' "$out" | grep -qxF "$content"; then echo "MISSING $fq A $content"; fi; done; echo checked"#
    );
    Step {
        expect: Expect { stdout_contains: Some("checked".into()), stdout_lacks: Some("MISSING".into()), ..Expect::default() },
        ..Step::of(Action::Run { command: script, on: Role::Workstation, user: None }).noted(ZONE_NOTE)
    }
}

fn claims(ids: &[&str]) -> Vec<ClaimId> {
    ids.iter().map(|c| c.parse().expect("catalogued claim")).collect()
}

fn triage_step(row: Option<RowWant>, within: bool, note: &str) -> Step {
    Step {
        expect: Expect { row, ..Expect::default() },
        within: within.then(|| std::time::Duration::from_secs(10)),
        ..Step::of(Action::Triage { from: Role::Workstation }).noted(note)
    }
}

/// Each step with an expectation checks a part the reproducer's claims state: a triage is a
/// check; a step whose table's part the claims do not state (a triage row's claim states only
/// the check: the row's diagnosis leads to the steps that fail) checks what they do state,
/// the check first.
pub(super) fn fit_parts(s: &mut Scenario) {
    let stated: Vec<Part> = s.claims.iter().flat_map(|c| c.claim().parts.iter().copied()).collect();
    let fit = |st: &mut Step, table: StepTable| {
        if st.expect.is_empty() || st.part.is_some() {
            return;
        }
        let want = if matches!(st.action, Action::Triage { .. }) { Part::Check } else { Scenario::step_part(st, table).unwrap_or(Part::Check) };
        let part = if stated.contains(&want) { want } else if stated.contains(&Part::Check) { Part::Check } else { stated.first().copied().unwrap_or(want) };
        if Some(part) != Scenario::step_part(st, table) {
            st.part = Some(part);
        }
    };
    s.symptoms.iter_mut().for_each(|st| fit(st, StepTable::Symptom));
    s.recovery.iter_mut().for_each(|st| fit(st, StepTable::Recover));
}

/// The placeholder naming `fqdn` (absolute, trailing dot) by its role, if it has one.
fn placeholder_of(fqdn: &str, facts: &LabFacts) -> Option<String> {
    let roles = ["lab-name", "name.a2", "name.a3", "name.a4", "name.a5", "name.a6", "name.a7", "name.a8", "name.a9", "name.cname", "name.multi-a", "name.txt"];
    roles.into_iter().find_map(|r| {
        let role = NameRole::parse(r.strip_prefix("name.").unwrap_or("a"))?;
        (facts.name(role)? + ".").eq_ignore_ascii_case(fqdn).then(|| format!("{{{r}}}"))
    })
}

/// The scenario that replays `run` (the smallest failing one) up to where `property` fails.
pub fn scenario(property: Property, run: &ChaosRun, book: &Playbook, facts: &LabFacts) -> Scenario {
    let path = run.path.as_ref();
    let rounds = path.map(|p| p.rounds.as_slice()).unwrap_or_default();
    let first_row = rounds.first().map(|r| r.triage.row.clone());
    let last_row = rounds.last().map(|r| r.triage.row.clone()).unwrap_or_else(|| "unknown".into());
    // With TriageNeverBlind the replay stops at the first triage that read TRI-1 blind.
    let blind_at = rounds.iter().position(|r| r.triage.row == "TRI-1" && !r.triage.lab_names_failing.is_empty());
    let upto = match (property, blind_at) {
        (Property::TriageNeverBlind, Some(i)) => i + 1,
        _ => rounds.len(),
    };
    let mut s = generator::scenario(&format!("chaos-{}-{}", property.id(), run.seed), &run.faults);
    let journal_at = crate::scenario::parse_end(JOURNAL_AT).expect("a copy end");
    s.symptoms.push(Step::of(Action::Journal { to: journal_at }).noted("the journal on the workstation, for the lab clients' names"));
    s.symptoms.push(triage_step(first_row.as_deref().and_then(|r| RowWant::try_from(r.to_string()).ok()), true, "the first triage"));
    s.symptoms.push(names_step());
    for (i, r) in rounds[..upto].iter().enumerate() {
        let blind = property == Property::TriageNeverBlind && i + 1 == upto;
        if i > 0 {
            s.recovery.push(triage_step(blind.then_some(RowWant::Row(crate::dns::triage::Row::Tri1)), blind, "the triage again"));
            if !blind {
                s.recovery.push(names_step());
            }
        }
        if !blind && !r.steps.is_empty() {
            s.recovery.extend(book.steps(&r.triage.row));
        }
    }
    let play_claims = |row: &str| book.play(row).map(|p| p.claims.clone()).unwrap_or_else(|| claims(&["TRI-PROBES"]));
    match property {
        Property::TriageNeverBlind => {
            let failing = blind_at.map(|i| rounds[i].triage.lab_names_failing.clone()).unwrap_or_default();
            let name = failing.iter().find_map(|f| placeholder_of(f.split(' ').next().unwrap_or(""), facts)).unwrap_or_else(|| "{lab-name}".into());
            let ask = Probe { target: ProbeTarget::Recursor, qname: name, qtype: crate::dns::probe::RType::A, transport: crate::dns::probe::Transport::Udp };
            let probe = Step {
                expect: Expect { outcome: Some(OutcomeWant::Response), rcode: Some(crate::dns::probe::Rcode::NoError), answers: Some(true), ..Expect::default() },
                ..Step::of(Action::Probe(ask)).noted(BLIND_NOTE)
            };
            if upto <= 1 {
                s.symptoms.pop();
                s.symptoms[1].expect.row = Some(RowWant::Row(crate::dns::triage::Row::Tri1));
                s.symptoms.push(probe);
            } else {
                s.recovery.push(probe);
            }
            s.claims = claims(&["TRI-BLIND"]);
            s.steady_after = false;
        }
        Property::RunbookRestores => s.claims = play_claims(&last_row),
        Property::ZoneIntact => {
            s.recovery.push(zone_check_step());
            s.claims = play_claims(&last_row);
            s.steady_after = false;
        }
        Property::HealedNoLeak => {
            s.recovery.push(Step::of(Action::Heal).noted("every fault healed"));
            s.claims = play_claims(&last_row);
        }
    }
    fit_parts(&mut s);
    let section = book.play(&last_row).map(|p| p.section.clone()).unwrap_or_else(|| "\"DNS is down\" — first triage (no row)".into());
    s.section = format!("chaos: {section}");
    s.description = format!("Chaos reproducer for property {}: {}. Faults: {}.", property.id(), ending(run), generator::labels(&run.faults));
    s
}

fn ending(run: &ChaosRun) -> String {
    match run.path.as_ref().map(|p| (&p.end, p.rows())) {
        Some((End::DeadEnd { row, reason, .. }, rows)) => format!("rows {}; dead end at {row} ({reason})", rows.join(" → ")),
        Some((End::Restored { rounds, .. }, rows)) => format!("rows {}; steady state back after {rounds} procedure(s)", rows.join(" → ")),
        None => "the runbook was not followed".into(),
    }
}

/// The file's text: a comment header, then the scenario without the keys that only restate a
/// default; checked to parse back as the same scenario, placeholders from the vocabulary only.
pub fn render(s: &Scenario, header: &[String]) -> Result<String> {
    let body = toml::to_string(s).context("serialising the reproducer")?;
    let comments: String = header.iter().flat_map(|h| h.lines()).map(|l| format!("# {l}\n")).collect();
    let text = format!("{comments}\n{}", prune_defaults(&body));
    let back = Scenario::parse(&format!("{}.toml", s.name), &text).map_err(|e| anyhow::anyhow!("the reproducer does not parse back: {e}"))?;
    anyhow::ensure!(back.faults == s.faults && back.symptoms == s.symptoms && back.recovery == s.recovery && back.claims == s.claims, "the reproducer does not parse back to itself");
    Ok(text)
}

/// Drops `triage = false`, `remove = false`, empty arrays and empty `[x.expect]` tables.
fn prune_defaults(toml_text: &str) -> String {
    let lines: Vec<&str> = toml_text.lines().collect();
    let empty_array = regex::Regex::new(r"^[a-z_-]+ = \[\]$").expect("valid regex");
    let mut out: Vec<&str> = Vec::new();
    let mut first_fault = true;
    for (i, l) in lines.iter().enumerate() {
        let next_is_table_or_end = lines[i + 1..].iter().find(|n| !n.trim().is_empty()).is_none_or(|n| n.starts_with('['));
        let drop = *l == "triage = false" || *l == "remove = false" || empty_array.is_match(l) || (l.ends_with(".expect]") && l.starts_with('[') && next_is_table_or_end);
        let blank_again = l.trim().is_empty() && out.last().is_some_and(|p| p.trim().is_empty());
        if *l == "[[fault]]" && std::mem::take(&mut first_fault) {
            out.push("# Not a fault: the operators' copy of /etc/powerdns, which \"fix the .conf\" puts back.");
            out.push("# A `sleep N` shell fault is the gap the generator drew between two faults.");
        }
        if !drop && !blank_again {
            out.push(l);
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Whether a scenario run of the reproducer failed where the property does: the steady state
/// after the runbook's steps (a dead end, a fault that does not heal), the lab-name probe right
/// after a triage that read TRI-1, the zone check. Runbook steps that fail on the way are the
/// dead end's evidence, not a different failure.
pub fn reproduces(property: Property, r: &crate::runner::ScenarioRun) -> (bool, String) {
    let records: Vec<(Phase, &str, Option<&str>)> = r.records.iter().map(|x| (x.phase, x.action.as_str(), x.mismatch.as_deref())).collect();
    reproduces_in(property, r.error.as_deref(), &records)
}

/// The same over (phase, action, mismatch) of each record.
fn reproduces_in(property: Property, error: Option<&str>, records: &[(Phase, &str, Option<&str>)]) -> (bool, String) {
    if let Some(e) = error {
        // A heal that fails errors the scenario: that is this property's failure.
        return (property == Property::HealedNoLeak, format!("errored: {e}"));
    }
    let hit = records.iter().enumerate().find(|(i, (phase, action, mismatch))| {
        mismatch.is_some()
            && match property {
                Property::RunbookRestores | Property::HealedNoLeak => *phase == Phase::SteadyAfter,
                Property::TriageNeverBlind => action.contains(BLIND_NOTE) && *i > 0 && records[i - 1].2.is_none(),
                Property::ZoneIntact => action.contains(ZONE_NOTE),
            }
    });
    match (hit, records.iter().find_map(|x| x.2)) {
        (Some((_, x)), _) => (true, x.2.unwrap_or_default().to_string()),
        (None, Some(first)) => (false, format!("it failed elsewhere: {first}")),
        (None, None) => (false, "every step held: the failure did not show".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::follow::{Path, Round, StepRecord, TriageSeen};
    use crate::chaos::generator::{ChaosFault, Drawn, Net};
    use crate::inputs::settings::Daemon;

    fn facts() -> LabFacts {
        let c = crate::testbed::config::ConfigDir::load(&crate::testbed::config::default_config_dir().unwrap()).unwrap();
        let j = crate::inputs::zone::journal::Journal::load(&crate::testbed::config::default_zone().unwrap()).unwrap();
        LabFacts::read(&c, &j).unwrap()
    }

    fn failing_run(rows: &[(&str, Vec<String>)], end: End) -> ChaosRun {
        let faults = vec![Drawn { fault: ChaosFault::StopUnit(Daemon::Auth), gap_s: 0 }, Drawn { fault: ChaosFault::LinkDown(Net::Lab), gap_s: 2 }];
        let mut r: ChaosRun = serde_json::from_value(serde_json::json!({
            "seed": 77, "faults": faults, "labels": "", "lab_run_id": "x", "error": null, "not_simulated": null, "injected": [],
            "under_fault": [], "path": null, "zone": null, "heals": [], "steady_after_heal": null, "leftovers": null, "wall_ms": 0
        }))
        .unwrap();
        let step = StepRecord { on: "pdns-vm".into(), command: "x".into(), output: String::new(), held: None, at_ms: 0 };
        let rounds = rows
            .iter()
            .map(|(row, failing)| Round {
                triage: TriageSeen { row: row.to_string(), observation: String::new(), lab_names_failing: failing.clone(), lab_names_asked: 20, at_ms: 0 },
                steps: if *row == "TRI-1" { vec![] } else { vec![step.clone()] },
            })
            .collect();
        r.path = Some(Path { rounds, end });
        r
    }

    #[test]
    fn every_property_writes_a_scenario_that_parses_with_known_placeholders() {
        let book = Playbook::shipped();
        let f = facts();
        let dead = End::DeadEnd { row: "TRI-5".into(), reason: "again".into(), still_failing: vec![] };
        let blind = vec![("TRI-3", vec![]), ("TRI-1", vec!["registry.sub.comptech-lab.com. A: SERVFAIL 0 answer(s)".to_string()])];
        for p in Property::ALL {
            let run = if p == Property::TriageNeverBlind {
                failing_run(&blind, End::Restored { rounds: 1, at_ms: 0 })
            } else {
                failing_run(&[("TRI-5", vec![]), ("TRI-5", vec![])], dead.clone())
            };
            let s = scenario(p, &run, &book, &f);
            let text = render(&s, &["seed 77".into()]).unwrap_or_else(|e| panic!("{}: {e}", p.id()));
            if std::env::var("SHOW").is_ok() { println!("{text}"); }
            assert!(text.starts_with("# seed 77\n"), "{text}");
            assert!(!s.claims.is_empty(), "{}: a reproducer must decide a claim to fail a run", p.id());
            assert!(matches!(crate::scenario::plan::resolve(&s, &f), crate::scenario::plan::Resolved::Ready(_)), "{}: plans on the shipped lab", p.id());
        }
    }

    #[test]
    fn a_blind_triage_replays_up_to_the_probe_of_a_failing_name() {
        let blind = vec![("TRI-3", vec![]), ("TRI-1", vec!["registry.sub.comptech-lab.com. A: SERVFAIL".to_string()])];
        let s = scenario(Property::TriageNeverBlind, &failing_run(&blind, End::Restored { rounds: 1, at_ms: 0 }), &Playbook::shipped(), &facts());
        assert_eq!(s.symptoms[1].expect.row.map(|r| r.as_str()), Some("TRI-3"));
        assert_eq!(s.symptoms[2].note.as_deref(), Some(NAMES_NOTE), "lab clients ask for their names after the triage, as in the run");
        let last = s.recovery.last().unwrap();
        assert_eq!(last.note.as_deref(), Some(BLIND_NOTE));
        let before = &s.recovery[s.recovery.len() - 2];
        assert!(matches!(before.action, Action::Triage { .. }) && before.expect.row.map(|r| r.as_str()) == Some("TRI-1"));
        assert_eq!(s.recovery.len(), Playbook::shipped().steps("TRI-3").len() + 2);
        assert!(!s.steady_after);
    }

    #[test]
    fn a_dead_end_replays_every_round_and_ends_on_steady_state() {
        let dead = End::DeadEnd { row: "TRI-2".into(), reason: "again".into(), still_failing: vec![] };
        let s = scenario(Property::RunbookRestores, &failing_run(&[("TRI-2", vec![]), ("TRI-2", vec![])], dead), &Playbook::shipped(), &facts());
        let per_round = Playbook::shipped().steps("TRI-2").len();
        assert_eq!(s.recovery.len(), 2 * per_round + 2, "two rounds of steps, the second triage and the names after it");
        assert!(s.steady_after);
        assert_eq!(s.claims, claims(&["DAE-REC"]));
        assert_eq!(s.faults.len(), 4, "config copy, stop, gap, link-down");
    }

    #[test]
    fn reproduced_where_the_property_fails_not_at_the_first_mismatch() {
        let restart = (Phase::Recovery, "systemctl restart pdns", Some("exit expected 0, got 1"));
        let steady = (Phase::SteadyAfter, "steady-state check", Some("steady state after recovery: ✗ lab name"));
        assert!(reproduces_in(Property::RunbookRestores, None, &[restart, steady]).0, "a failed runbook step on the way is the dead end's evidence");
        let (hit, why) = reproduces_in(Property::RunbookRestores, None, &[restart, (Phase::SteadyAfter, "steady-state check", None)]);
        assert!(!hit && why.starts_with("it failed elsewhere"), "{why}");
        let blind = format!("recursor: udp x  # {BLIND_NOTE}");
        let triage_ok = (Phase::Recovery, "first triage", None);
        let triage_bad = (Phase::Recovery, "first triage", Some("triage row expected TRI-1, got TRI-3"));
        let probe = (Phase::Recovery, blind.as_str(), Some("rcode expected NOERROR, got SERVFAIL"));
        assert!(reproduces_in(Property::TriageNeverBlind, None, &[triage_ok, probe]).0);
        assert!(!reproduces_in(Property::TriageNeverBlind, None, &[triage_bad, probe]).0, "the triage must read TRI-1 first");
        assert!(reproduces_in(Property::HealedNoLeak, Some("heal: x"), &[]).0);
        assert!(!reproduces_in(Property::ZoneIntact, Some("lab did not come up"), &[]).0);
    }
}
