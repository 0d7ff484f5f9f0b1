//! `pdns-drill schema`: what the command prints validates the documents on disk (the report and
//! history fixtures, the committed baselines), and rejects a broken one. No containers.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema(kind: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill")).args(["schema", kind]).output().unwrap();
    assert!(out.status.success(), "schema {kind}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).expect("the schema compiles");
    v.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[test]
fn the_fixtures_and_the_committed_baselines_validate() {
    let fixtures = root().join("harness/tests/fixtures");
    let mut docs = vec![("report", fixtures.join("report-sample.json")), ("history", fixtures.join("history-sample.json"))];
    for e in std::fs::read_dir(root().join("reports")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("baseline")) && p.extension().is_some_and(|x| x == "json") {
            docs.push(("baseline", p));
        }
    }
    assert!(docs.iter().any(|d| d.0 == "baseline"), "reports/baseline*.json are committed");
    for (kind, path) in docs {
        let errs = errors(&schema(kind), &read(&path));
        assert!(errs.is_empty(), "{} against `schema {kind}`:\n  {}", path.display(), errs.join("\n  "));
    }
}

#[test]
fn a_verdict_outside_the_vocabulary_fails() {
    let mut r = read(&root().join("harness/tests/fixtures/report-sample.json"));
    r["claims"][0]["verdict"] = "maybe".into();
    let errs = errors(&schema("report"), &r);
    assert!(errs.iter().any(|e| e.contains("\"maybe\"") && e.contains("/claims/0/verdict")), "{errs:?}");
}

#[test]
fn an_unknown_kind_is_bad_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_pdns-drill")).args(["schema", "reports"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report, history, gate, events, baseline"));
}
