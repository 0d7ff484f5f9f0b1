//! Upgrades against the real daemons: the runbook's rebuild on today's packages (UPG-CONF), and
//! setting faults on a recursor that reads settings converted to YAML.

use crate::common;

use pdns_drill::testbed::image::Suite;
use pdns_drill::judge::model::Phase;
use pdns_drill::runner;
use pdns_drill::scenario::facts::LabFacts;
use pdns_drill::scenario::plan::{self, Resolved};
use pdns_drill::scenario::Scenario;
use pdns_drill::testbed::config::{ConfigDir, ZoneInput};
use pdns_drill::testbed::config::RecursorSettings;
use pdns_drill::claims::verdict::Verdict;

async fn run_on(s: Scenario, image: String, inputs: (ConfigDir, ZoneInput)) -> runner::ScenarioRun {
    let facts = LabFacts::read(&inputs.0, &inputs.1.journal).unwrap();
    assert!(matches!(plan::resolve(&s, &facts), Resolved::Ready(_)), "{} does not plan on this lab", s.name);
    let run = common::run_scenario(s, image, inputs).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    run
}

/// The runbook's rebuild on trixie with the shipped lab's configs as they are: pdns 4.9 serves
/// the restored SQLite, pdns-recursor 5.2 refuses the old-style settings (its own words in the
/// verdict), and both corrections bring the lab to steady state.
#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_on_trixie_with_the_configs_as_they_are_is_decided_by_the_daemons() {
    if common::docker_missing() {
        return;
    }
    let engine = common::engine().await;
    let image = common::image(&engine).await;
    common::suite_image(&engine, Suite::Trixie).await;
    let s = common::scenario("upgrade-rebuild");
    let run = run_on(s, image, common::inputs()).await;
    let rebuilt = run.records.iter().find(|r| r.action.contains("rebuild-vm-scratch")).unwrap();
    assert!(rebuilt.observed.contains("pdns-recursor 5.2"), "{}", rebuilt.observed);
    // The lab's own packages stay the run's, whatever the VM was rebuilt on.
    assert!(run.versions.1.as_deref().is_some_and(|v| v.starts_with("4.8")), "{:?}", run.versions);
    let identical = run.records.iter().find(|r| r.phase == Phase::Recovery && r.action.contains("upg-answers-after")).unwrap();
    assert!(identical.held() && identical.checks(), "pdns 4.9 answers the restored zone as 4.7 did: {}", identical.observed);
    let c = common::verdict(&run, "UPG-CONF");
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
    let gist = c.first_mismatch.unwrap();
    assert!(gist.contains("Old-style settings syntax not enabled by default anymore"), "{gist}");
    let corr = c.correction.expect("a correction");
    assert!(corr.verified, "{:?}", corr.evidence.iter().filter(|e| !e.ok).collect::<Vec<_>>());
    assert!(corr.evidence.iter().any(|e| e.action.contains("recursor settings yaml")));
}

/// On a trixie lab whose recursor reads the converted YAML, a setting fault edits the kept
/// old-style file, the converter rewrites the YAML, the daemon reports the new value, and the
/// heal puts every file back.
#[tokio::test(flavor = "multi_thread")]
async fn a_setting_fault_reaches_a_recursor_that_reads_yaml() {
    if common::docker_missing() {
        return;
    }
    let engine = common::engine().await;
    let image = common::suite_image(&engine, Suite::Trixie).await;
    let (mut config, zone) = common::branch_office();
    config.recursor_settings = RecursorSettings::Yaml;
    let s = Scenario::parse(
        "yaml-acl.toml",
        r#"
name = "yaml-acl"
section = "DNS works locally but not from another VM"
claims = ["NET-ALLOW"]
[[fault]]
kind = "setting"
daemon = "recursor"
key = "allow-from"
set = "127.0.0.0/8"
[[symptom]]
note = "a sibling VM's query is dropped"
probe = "recursor"
qname = "www.google.com"
expect = { outcome = "timeout" }
within = "10s"
[[symptom]]
note = "the daemon reads it from the converted YAML"
run = "grep -A3 allow_from /etc/powerdns/recursor.conf"
on = "pdns-vm"
expect = { stdout_matches = 'allow_from:\n  - 127\.0\.0\.0/8\n  [a-z]' }
[[recover]]
action = "heal"
[[recover]]
part = "verification"
probe = "recursor"
qname = "www.google.com"
expect = { rcode = "NOERROR", answers = true }
within = "10s"
"#,
    )
    .unwrap();
    let run = run_on(s, image, (config, zone)).await;
    let inject = run.records.iter().find(|r| r.phase == Phase::Inject).unwrap();
    assert!(inject.action.contains("in /etc/pdns-drill/recursor-old-style/recursor.conf"), "{}", inject.action);
    assert!(inject.observed.contains("rec_control show-yaml: OK") && inject.observed.contains("pdns-recursor reports allow-from=127.0.0.0/8"), "{}", inject.observed);
    let c = common::verdict(&run, "NET-ALLOW");
    // The parts this scenario checks (the symptom, and the verification after the heal) hold;
    // the claim's check and recovery are the shipped scenario's, so unchecked here.
    let part = |p: &str| c.parts.iter().find(|x| x.part.as_str() == p).map(|x| x.verdict);
    assert_eq!(part("symptom"), Some(Verdict::Confirmed), "{:?}", c.parts);
    assert_eq!(part("verification"), Some(Verdict::Confirmed), "{:?}", c.parts);
    assert_eq!(c.verdict, Verdict::Unchecked, "{:?}", c.parts);
}
