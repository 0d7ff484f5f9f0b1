//! JSON Schemas of the documents a run writes, derived from the types that write them, so a
//! consumer (a CI step, a dashboard) can validate what it reads without reading the Rust.
//!
//! Each schema describes what this pdns-drill accepts when it reads the document back: a field
//! added later with a default is optional. Everything it writes is valid against it.

use schemars::schema_for;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Declares the kinds: one line each, its name on the command line and the type that writes it.
macro_rules! schema_kinds {
    ($($variant:ident => $name:literal, $ty:ty;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum SchemaKind {
            $($variant,)+
        }

        impl SchemaKind {
            pub const ALL: &'static [SchemaKind] = &[$(SchemaKind::$variant,)+];

            pub fn name(self) -> &'static str {
                match self {
                    $(SchemaKind::$variant => $name,)+
                }
            }

            fn generate(self) -> schemars::Schema {
                match self {
                    $(SchemaKind::$variant => schema_for!($ty),)+
                }
            }
        }
    };
}

schema_kinds! {
    Report => "report", crate::judge::model::Report;
    History => "history", crate::history::RunHistory;
    Gate => "gate", crate::judge::model::Gate;
    // One line of `--progress json` (JSON Lines: one event per line).
    Events => "events", crate::history::events::Event;
    Baseline => "baseline", crate::judge::snapshot::Snapshot;
}

/// The schema of one kind of document, as a JSON value.
pub fn schema(kind: SchemaKind) -> Value {
    kind.generate().to_value()
}

impl fmt::Display for SchemaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SchemaKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchemaKind::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = SchemaKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown schema `{s}` (one of: {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::events::{Event, Job};
    use crate::history::RunHistory;
    use crate::report::fixture::{sample_history, sample_report};
    use crate::judge::snapshot;
    use std::path::Path;

    fn errors(kind: SchemaKind, doc: &Value) -> Vec<String> {
        let validator = jsonschema::validator_for(&schema(kind)).expect("the schema compiles");
        validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }

    fn assert_valid(kind: SchemaKind, doc: &Value) {
        let errs = errors(kind, doc);
        assert!(errs.is_empty(), "{kind} document invalid:\n  {}", errs.join("\n  "));
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for &k in SchemaKind::ALL {
            assert_eq!(k.name().parse::<SchemaKind>().unwrap(), k);
        }
        let err = "gates".parse::<SchemaKind>().unwrap_err();
        assert!(err.contains("report, history, gate, events, baseline"), "{err}");
    }

    #[test]
    fn every_schema_is_a_titled_object_schema() {
        for &k in SchemaKind::ALL {
            let s = schema(k);
            assert!(s["$schema"].as_str().is_some_and(|u| u.contains("json-schema.org")), "{k}: {s}");
            assert!(s["title"].is_string(), "{k}");
        }
    }

    #[test]
    fn the_written_documents_validate() {
        assert_valid(SchemaKind::Report, &serde_json::to_value(sample_report()).unwrap());
        assert_valid(SchemaKind::History, &serde_json::to_value(sample_history()).unwrap());
        assert_valid(SchemaKind::Baseline, &serde_json::to_value(snapshot::from_report(&sample_report())).unwrap());
        // gate.json as a changed verdict writes it, and inside the report it belongs to.
        let mut r = sample_report();
        let b = crate::judge::gate::Baseline { snapshot: snapshot::from_report(&r), reference: crate::judge::model::BaselineRef { path: "b.json".into(), sha256: "0".into() } };
        r.claims[0].verdict = crate::claims::verdict::Verdict::Contradicted;
        let g = crate::judge::gate::decide(&r, &[], Some(&b), None);
        assert!(!g.changes.is_empty());
        assert_valid(SchemaKind::Gate, &serde_json::to_value(&g).unwrap());
        r.gate = Some(g);
        assert_valid(SchemaKind::Report, &serde_json::to_value(&r).unwrap());
        let run = Box::new(sample_history().scenarios.remove(1));
        for e in [
            Event::RunStarted { run_id: "r".into(), scenarios: 6, jobs: 2, boots: 2, report_dir: "out".into() },
            Event::ScenarioFinished { run },
            Event::RunFinished { outcome: crate::judge::model::GateOutcome::Fail, exit_code: 1, failed: true, reasons: vec!["DAE-AUTH: contradicted".into()] },
            Event::Interrupted { signal: "SIGINT".into() },
            Event::JobStarted { job: Job::Chaos, id: "c".into(), report_dir: "out".into(), units: None },
            Event::Note { job: Job::Chaos, message: "not simulated on this lab: x".into() },
            Event::UnitStarted { job: Job::Drill, unit: "pdns.sqlite3.1".into(), about: "restored".into() },
            Event::UnitFinished { job: Job::Drill, unit: "pdns.sqlite3.1".into(), verdict: crate::claims::verdict::Verdict::Contradicted, severity: Some(crate::claims::Severity::DataLoss), line: "lost 1".into() },
            Event::JobFinished { job: Job::Drill, exit_code: 1, failed: true, reasons: vec!["pdns.sqlite3.1: lost 1".into()] },
        ] {
            assert_valid(SchemaKind::Events, &serde_json::to_value(e).unwrap());
        }
    }

    #[test]
    fn a_wrong_verdict_or_a_missing_field_fails() {
        let mut r = serde_json::to_value(sample_report()).unwrap();
        r["claims"][0]["verdict"] = "maybe".into();
        assert!(errors(SchemaKind::Report, &r).iter().any(|e| e.contains("/claims/0/verdict")), "{:?}", errors(SchemaKind::Report, &r));
        let mut h = serde_json::to_value(sample_history()).unwrap();
        h["scenarios"][0].as_object_mut().unwrap().remove("records");
        assert!(!errors(SchemaKind::History, &h).is_empty());
        // A scenario timing's keys are closed (`deny_unknown_fields`), as the reader's are.
        let mut h = serde_json::to_value(sample_history()).unwrap();
        h["scenarios"][0]["scenario"]["timings"][0]["at_most"] = "1s".into();
        assert!(!errors(SchemaKind::History, &h).is_empty());
    }

    /// `tests/fixtures/history-sample.json` is `sample_history()` on disk, for tests that start
    /// from a file. Regenerate with `PDNS_DRILL_UPDATE_FIXTURES=1 cargo test --lib report::`.
    #[test]
    fn history_fixture_file_matches_sample_history() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history-sample.json");
        let mut want = serde_json::to_string_pretty(&sample_history()).unwrap();
        want.push('\n');
        if std::env::var_os("PDNS_DRILL_UPDATE_FIXTURES").is_some() {
            crate::files::write_atomic(&path, want.as_bytes()).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "{} is stale; regenerate with PDNS_DRILL_UPDATE_FIXTURES=1", path.display());
        let parsed: RunHistory = serde_json::from_str(&have).unwrap();
        assert_eq!(parsed, sample_history());
    }
}
