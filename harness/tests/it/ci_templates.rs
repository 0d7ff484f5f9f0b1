//! The CI templates in `ci/`: valid against the CI systems' published schemas (as
//! check-jsonschema vendors them), and calling only commands and flags this pdns-drill has.
//! No containers. Without check-jsonschema the schema tests skip, except under CI (`CI` set),
//! where scripts/setup-host.sh installs it and its absence is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TEMPLATES: [(&str, &str); 2] = [("ci/github-actions.yml", "vendor.github-workflows"), ("ci/gitlab-ci.yml", "vendor.gitlab-ci")];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// None when check-jsonschema is missing and the test may skip.
fn check_jsonschema(schema: &str, file: &Path) -> Option<Output> {
    match Command::new("check-jsonschema").args(["--builtin-schema", schema]).arg(file).output() {
        Ok(out) => Some(out),
        Err(e) if std::env::var_os("CI").is_some() => panic!("check-jsonschema: {e} (scripts/setup-host.sh installs it)"),
        Err(e) => {
            eprintln!("skipping: check-jsonschema: {e} (pip install check-jsonschema)");
            None
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_templates_validate_against_their_ci_schemas() {
    for (path, schema) in TEMPLATES {
        let Some(out) = check_jsonschema(schema, &root().join(path)) else { return };
        assert!(out.status.success(), "{path} against {schema}:\n{}", text(&out));
    }
}

#[test]
fn a_misspelt_key_fails_validation() {
    // One key each schema closes: a GitHub job's `runs-on`, a GitLab job's `stage`.
    let typos = [("runs-on:", "runs_on:"), ("  stage: drill", "  stag: drill")];
    for ((path, schema), (good, bad)) in TEMPLATES.into_iter().zip(typos) {
        let src = template(path);
        assert!(src.contains(good), "{path} has no `{good}` to misspell");
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join(Path::new(path).file_name().unwrap());
        std::fs::write(&broken, src.replacen(good, bad, 1)).unwrap();
        let Some(out) = check_jsonschema(schema, &broken) else { return };
        assert!(!out.status.success(), "{path} with `{bad}` passed {schema}:\n{}", text(&out));
    }
}

/// Every `pdns-drill …` command line in a template's shell, continuation lines joined.
fn invocations(src: &str) -> Vec<String> {
    let joined = src.replace("\\\n", " ").replace("\"$PDNS_DRILL_HOME/bin/pdns-drill\"", "pdns-drill");
    joined
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.trim_start_matches("- ").trim_start_matches("run: "))
        .flat_map(|l| l.split("$("))
        .filter(|l| l.starts_with("pdns-drill "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn the_templates_run_the_documented_commands() {
    // Each CI system's way of naming the job's shard.
    let partitions = ["--partition slice:${{ matrix.shard }}/2", "--partition \"slice:$CI_NODE_INDEX/$CI_NODE_TOTAL\""];
    for ((path, _), partition) in TEMPLATES.into_iter().zip(partitions) {
        let calls = invocations(&template(path));
        let has = |prefix: &str, flags: &[&str]| calls.iter().any(|c| c.starts_with(prefix) && flags.iter().all(|f| c.contains(f)));
        assert!(has("pdns-drill check", &["--config-dir etc-powerdns", "--zone dns-records.md", "--scenarios"]), "{path}: check\n{calls:#?}");
        assert!(has("pdns-drill run", &[partition, "--config-dir etc-powerdns", "--zone dns-records.md", "--baseline baseline.json", "--report-dir"]), "{path}: run\n{calls:#?}");
        assert!(has("pdns-drill merge shard-1 shard-2", &["--baseline baseline.json", "--report-dir merged"]), "{path}: merge\n{calls:#?}");
        // Retry once on "undecided" only.
        let src = template(path);
        assert!(src.contains("for attempt in 1 2") && src.contains("\"$status\" -ne 3"), "{path}: the retry on exit 3");
    }
}

#[test]
fn every_flag_a_template_passes_is_one_the_command_has() {
    let pdns_drill = env!("CARGO_BIN_EXE_pdns-drill");
    for (path, _) in TEMPLATES {
        for call in invocations(&template(path)) {
            let words: Vec<&str> = call.split_whitespace().collect();
            let sub = words[1];
            let help = Command::new(pdns_drill).args([sub, "--help"]).output().unwrap();
            assert!(help.status.success(), "{path}: `pdns-drill {sub}` is not a command:\n{}", text(&help));
            let help = String::from_utf8_lossy(&help.stdout);
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap();
                assert!(help.contains(&format!("{flag} ")), "{path}: `pdns-drill {sub}` has no {flag}");
            }
        }
    }
}
