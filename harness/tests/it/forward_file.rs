//! A lab whose recursor forwards through a `forward-zones-file` instead of `forward-zones`: it
//! reaches steady state, and the scenario that swaps a forward edits that file's line and gives
//! the shipped lab's verdict.

use crate::common;

use pdns_drill::inputs::settings::{self, Daemon};
use pdns_drill::testbed::config::{default_config_dir, default_zone, ConfigDir, ZoneInput};
use pdns_drill::claims::verdict::Verdict;
use std::path::Path;

/// The forwards file the copy's recursor reads (relative to the config dir).
const FORWARDS: &str = "forward-zones.list";

/// The shipped config dir copied into `into`, its `forward-zones` moved into a
/// forward-zones-file (one zone per line, after a comment); returns the dir and the line of
/// the first zone.
fn forwards_in_a_file(into: &Path) -> (ConfigDir, usize) {
    let dir = into.join("etc-powerdns");
    common::copy_dir(&default_config_dir().unwrap(), &dir);
    let shipped = ConfigDir::load(&dir).unwrap().settings(Daemon::Recursor);
    let base = shipped.setting("forward-zones").and_then(|s| s.base()).expect("the shipped lab sets forward-zones").clone();
    let path = dir.join(&base.file);
    let text = std::fs::read_to_string(&path).unwrap();
    let moved = settings::rewrite(&text, "forward-zones", Some(base.line), None, false);
    std::fs::write(&path, format!("{moved}forward-zones-file={}/{FORWARDS}\n", settings::ETC)).unwrap();
    let zones: Vec<String> = base.value.split(',').map(|z| z.trim().to_string()).collect();
    std::fs::write(dir.join(FORWARDS), format!("# the lab's forwards, one zone per line\n{}\n", zones.join("\n"))).unwrap();
    (ConfigDir::load(&dir).unwrap(), 2)
}

#[test]
fn the_copy_plans_its_forwards_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, line) = forwards_in_a_file(tmp.path());
    let s = config.settings(Daemon::Recursor);
    assert!(s.get("forward-zones").is_none(), "{:?}", s.get("forward-zones"));
    assert_eq!(s.forward_file.as_ref().unwrap().entries[0].line, line);
    assert!(pdns_drill::testbed::mapping::not_honoured(&config).is_empty(), "{:?}", pdns_drill::testbed::mapping::not_honoured(&config));
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_swapped_in_the_file_gives_the_shipped_verdict() {
    if common::docker_missing() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (config, line) = forwards_in_a_file(tmp.path());
    let zone = ZoneInput::load(&default_zone().unwrap()).unwrap();
    let s = common::scenario("tri-blind-forward-swapped");
    let image = common::image(&common::engine().await).await;
    let run = common::run_scenario(s, image, (config, zone)).await;
    assert!(run.error.is_none() && run.not_simulated.is_none(), "{:?} {:?}", run.error, run.not_simulated);
    let json = serde_json::to_string(&run).unwrap();
    let at = format!("{}/{FORWARDS}:{line}", settings::ETC);
    assert!(json.contains(&format!("forward-zones-file {at}")), "the injected fault names {at}: {json}");
    assert!(json.contains(&format!("{FORWARDS}:{line}")), "the facts name the file and line");
    // As on the shipped lab (reports/baseline.json): the triage says fine while lab names fail.
    let c = common::verdict(&run, "TRI-BLIND");
    assert_eq!(c.verdict, Verdict::Contradicted, "{c:?}");
}
