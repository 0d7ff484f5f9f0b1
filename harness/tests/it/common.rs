//! Shared set-up for integration tests: the real lab image (built once when missing) and labs
//! brought up from the shipped configs.
#![allow(dead_code)]

use pdns_drill::testbed::engine::Engine;
use pdns_drill::testbed::image::{self, BuildOptions, Suite};
use pdns_drill::testbed::config::{default_config_dir, default_zone, ConfigDir, ZoneInput};
use pdns_drill::testbed::{new_run_id, Lab, LabSpec};
use std::sync::OnceLock;

static IMAGE: OnceLock<String> = OnceLock::new();
static BUILD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether no Docker Engine answers here. The tests that run the daemons in containers then
/// skip with a message, so `cargo test` on a machine without Docker runs the pure ones; under CI
/// (`CI` set) a missing engine fails instead, so a gate never passes on tests that did not run.
pub fn docker_missing() -> bool {
    static MISSING: OnceLock<bool> = OnceLock::new();
    // A thread of its own: the caller may be inside a runtime, which cannot block on another.
    let missing = *MISSING.get_or_init(|| {
        std::thread::spawn(|| tokio::runtime::Runtime::new().unwrap().block_on(Engine::connect()).is_err()).join().unwrap()
    });
    if missing {
        assert!(std::env::var_os("CI").is_none(), "CI is set and no Docker Engine answers: these tests need one");
        eprintln!("skipped: no Docker Engine answers (this test runs the real daemons in containers)");
    }
    missing
}

pub async fn engine() -> Engine {
    Engine::connect().await.expect("integration tests need a Docker Engine")
}

/// The lab image tag, building it on first use (once per test binary).
pub async fn image(engine: &Engine) -> String {
    if let Some(t) = IMAGE.get() {
        return t.clone();
    }
    let _guard = BUILD.lock().await;
    if let Some(t) = IMAGE.get() {
        return t.clone();
    }
    let opts = BuildOptions { suite: Suite::Bookworm, mirror: std::env::var("PDNS_DRILL_MIRROR").ok(), force: false };
    let tag = image::ensure(engine, &opts, &|m: &str| eprintln!("image: {m}")).await.expect("building the lab image");
    IMAGE.get_or_init(|| tag).clone()
}

/// [`image`] from a test without a runtime: a test that times a run of the binary builds the
/// image first, so a fresh machine's image build is not in its figure.
pub fn image_built() -> String {
    std::thread::spawn(|| tokio::runtime::Runtime::new().unwrap().block_on(async { image(&engine().await).await })).join().unwrap()
}

/// The image a scenario rebuilds its VM on for `suite` (`PDNS_DRILL_IMAGE_<SUITE>` or the
/// recipe's), built on first use like the run's own.
pub async fn suite_image(engine: &Engine, suite: Suite) -> String {
    let _guard = BUILD.lock().await;
    image::ensure_suite(engine, suite, std::env::var("PDNS_DRILL_MIRROR").ok(), &|m: &str| eprintln!("image {}: {m}", suite.as_str()))
        .await
        .expect("building the lab image")
}

pub fn inputs() -> (ConfigDir, ZoneInput) {
    (ConfigDir::load(&default_config_dir().unwrap()).unwrap(), ZoneInput::load(&default_zone().unwrap()).unwrap())
}

/// The second lab in the repository (labs/branch-office): another zone and SOA, a /24, one
/// recursor.conf, public forwarders, ::1, the API on.
pub fn branch_office() -> (ConfigDir, ZoneInput) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/branch-office");
    (ConfigDir::load(&root.join("etc-powerdns")).unwrap(), ZoneInput::load(&root.join("zone/dns-records.md")).unwrap())
}

/// A lab from the shipped configs, at steady state. The caller must call `down`.
pub async fn lab() -> Lab {
    let engine = engine().await;
    let image = image(&engine).await;
    let (config, zone) = inputs();
    let spec = LabSpec { image, config, zone, run_id: format!("{}-t", new_run_id()), roles: pdns_drill::testbed::Role::ALL.to_vec() };
    let run = spec.run_id.clone();
    let lab = match Lab::up(engine.clone(), spec, &|_: &str| {}).await {
        Ok(l) => l,
        Err(e) => {
            engine.sweep(Some(&run)).await.ok();
            panic!("lab did not come up: {e:#}");
        }
    };
    if let Err(e) = lab.wait_steady(std::time::Duration::from_secs(60)).await {
        lab.down().await.ok();
        panic!("{e:#}");
    }
    lab
}

/// Containers, networks and volumes still labelled with `run`.
pub async fn leftovers(engine: &Engine, run: &str) -> usize {
    use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
    let f = std::collections::HashMap::from([("label".to_string(), vec![format!("{}={run}", pdns_drill::testbed::engine::LABEL)])]);
    let d = engine.docker();
    let c = d.list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&f).build())).await.unwrap().len();
    let n = d.list_networks(Some(ListNetworksOptionsBuilder::new().filters(&f).build())).await.unwrap().len();
    let v = d.list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&f).build())).await.unwrap().volumes.unwrap_or_default().len();
    c + n + v
}

/// Runs one scenario, planned against the given lab, on a lab of its own from `image`; checks
/// the lab was removed afterwards.
pub async fn run_scenario(s: pdns_drill::scenario::Scenario, image: String, (config, zone): (ConfigDir, ZoneInput)) -> pdns_drill::runner::ScenarioRun {
    use pdns_drill::scenario::{facts::LabFacts, plan};
    let engine = engine().await;
    let facts = LabFacts::read(&config, &zone.journal).unwrap();
    let planned = (s.clone(), plan::resolve(&s, &facts));
    let run_id = format!("{}-t", new_run_id());
    let inputs = pdns_drill::runner::Inputs { engine: engine.clone(), image, config, zone, run_id: run_id.clone(), keep_on_failure: false, boots: std::sync::Arc::new(tokio::sync::Semaphore::new(2)), pool: None };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let run = pdns_drill::runner::run_scenario(&inputs, 1, &planned, &tx).await;
    assert_eq!(leftovers(&engine, &format!("{run_id}-01")).await, 0, "scenario lab left behind");
    run
}

/// A shipped scenario (scenarios/) by name.
pub fn scenario(name: &str) -> pdns_drill::scenario::Scenario {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    pdns_drill::scenario::load_dir(&dir).unwrap().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// What one run makes of claim `id`.
pub fn verdict(run: &pdns_drill::runner::ScenarioRun, id: &str) -> pdns_drill::judge::model::ClaimResult {
    pdns_drill::judge::conclude::claim_results(std::slice::from_ref(run)).into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no claim {id}"))
}

/// A copy of a directory tree (a config dir to break one file of).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}
