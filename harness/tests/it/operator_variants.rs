//! The runbook's user is an input too: the shipped lab with drill.toml's `[operator]` changed
//! the way real lab VMs differ (an account outside `adm`; sudo that asks for a password) runs
//! the runbook's steps with exactly those privileges, and what fails that way is a finding.

use crate::common;

use pdns_drill::history::Observation;
use pdns_drill::runner::ScenarioRun;
use pdns_drill::testbed::config::{default_config_dir, ConfigDir, ZoneInput};
use pdns_drill::claims::verdict::Verdict;
use std::path::Path;

/// The shipped config dir in `into`, its `[operator]` table replaced by `table`.
fn with_operator(into: &Path, table: &str) -> ConfigDir {
    let dir = into.join("etc-powerdns");
    common::copy_dir(&default_config_dir().unwrap(), &dir);
    let path = dir.join("drill.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, _) = text.split_once("[operator]").expect("the shipped drill.toml has an [operator] table");
    std::fs::write(&path, format!("{head}[operator]\n{table}\n")).unwrap();
    ConfigDir::load(&dir).unwrap()
}

async fn run(table: &str, scenario: &str) -> ScenarioRun {
    let tmp = tempfile::tempdir().unwrap();
    let config = with_operator(tmp.path(), table);
    let zone = ZoneInput::load(&pdns_drill::testbed::config::default_zone().unwrap()).unwrap();
    let s = common::scenario(scenario);
    let image = common::image(&common::engine().await).await;
    let run = common::run_scenario(s, image, (config, zone)).await;
    assert!(run.error.is_none() && run.not_simulated.is_none(), "{:?} {:?}", run.error, run.not_simulated);
    run
}

/// The step that ran `command` as the operator.
fn step<'a>(run: &'a ScenarioRun, command: &str) -> &'a Observation {
    run.records.iter().find(|o| o.action.contains(command) && o.action.contains("(as ze)")).unwrap_or_else(|| panic!("no step `{command}` as ze: {:#?}", run.records))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_outside_adm_reads_no_journal() {
    if common::docker_missing() {
        return;
    }
    let run = run("name = \"ze\"\ngroups = [\"sudo\"]\nsudo = \"nopasswd\"", "recursor-down").await;
    let journal = step(&run, "journalctl -u pdns-recursor");
    eprintln!("{} → {}", journal.action, journal.observed);
    assert!(!journal.held(), "outside adm/systemd-journal, journalctl shows no unit lines: {journal:#?}");
    assert!(journal.observed.contains("not seeing messages from other users") || journal.observed.contains("No entries"), "journalctl says why: {journal:#?}");
    // systemctl status needs no group: it still shows the unit inactive.
    assert!(step(&run, "systemctl status pdns-recursor").held());
    let c = common::verdict(&run, "DAE-REC");
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sudo_that_asks_for_a_password_fails_the_restore_in_a_session_without_a_terminal() {
    if common::docker_missing() {
        return;
    }
    let run = run("name = \"ze\"\ngroups = [\"adm\", \"sudo\"]\nsudo = \"password\"", "sql-restore").await;
    let stop = step(&run, "sudo systemctl stop");
    eprintln!("{} → {}", stop.action, stop.observed);
    assert!(!stop.held(), "{stop:#?}");
    assert!(stop.observed.contains("a password is required") || stop.observed.contains("a terminal is required"), "sudo says why: {stop:#?}");
    let c = common::verdict(&run, "SQL-RESTORE");
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
}
