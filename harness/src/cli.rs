//! Command implementations behind `main.rs`: argument types and the glue from them to the lab,
//! the runner and the reports. Printing happens here, nowhere below.

use crate::engine::Engine;
use crate::image::{self, BuildOptions, Suite};
use crate::testbed::config::{self, ConfigDir, ZoneInput};
use crate::testbed::provision::RecursorSettings;
use crate::testbed::{self, Lab, LabSpec};
use crate::triage;
use crate::triage_probes;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// Debian suite for the lab image.
    #[arg(long, value_enum, default_value = "bookworm", env = "PDNS_DRILL_SUITE")]
    pub suite: Suite,
    /// Debian mirror URL (default: the one this machine's apt sources name).
    #[arg(long, env = "PDNS_DRILL_MIRROR")]
    pub mirror: Option<String>,
    /// Rebuild even when the image or a cached rootfs exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LabArgs {
    /// Operator config dir laid out like /etc/powerdns, with drill.toml mapping its addresses
    /// onto the testbed (default: lab/etc-powerdns).
    #[arg(long)]
    pub config_dir: Option<PathBuf>,
    /// dns-records journal (Markdown) the zone is loaded from (default: lab/zone/dns-records.md).
    #[arg(long)]
    pub zone: Option<PathBuf>,
    /// How the recursor's settings reach it. as-is: the files as written (pdns-recursor 5.2, on
    /// trixie, refuses old-style settings); yaml: converted at the VM's first boot by the
    /// recursor's own `rec_control show-yaml`; old-settings-flag: a unit drop-in adds
    /// --enable-old-settings. The last two need pdns-recursor 5 (trixie). Default: as-is on
    /// bookworm, yaml on trixie (the form trixie's package ships).
    #[arg(long, value_enum, env = "PDNS_DRILL_RECURSOR_SETTINGS")]
    pub recursor_settings: Option<RecursorSettings>,
    #[command(flatten)]
    pub image: ImageArgs,
}

#[derive(Args, Debug, Clone)]
pub struct TriageArgs {
    /// Run id of a kept lab (default: the newest one).
    #[arg(long)]
    pub run: Option<String>,
    /// Recursor address of any lab (with --auth and --vm: probe a real lab from this host).
    #[arg(long, requires_all = ["auth", "vm"])]
    pub recursor: Option<IpAddr>,
    #[arg(long)]
    pub auth: Option<IpAddr>,
    #[arg(long)]
    pub vm: Option<IpAddr>,
    /// Command whose exit 0 means "the VM is running" (e.g. "virsh domstate pdns | grep -q running").
    #[arg(long)]
    pub vm_state_cmd: Option<String>,
    /// Zone whose SOA the authoritative probe asks for.
    #[arg(long, default_value = "sub.comptech-lab.com")]
    pub zone_name: String,
    /// Print the four outcomes and the row as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario names or claim IDs (substring match); none = all.
    pub filters: Vec<String>,
    #[command(flatten)]
    pub lab: LabArgs,
    /// Scenario directory.
    #[arg(long, default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Scenarios run side by side, each on its own lab.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// Leave a failed scenario's lab up and print how to reach it.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Where reports go (a run id subdirectory is created).
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// Report formats, comma-separated: md,json,junit,html.
    #[arg(long, default_value = "md,json,junit,html")]
    pub format: String,
    /// Approved verdict snapshot: exit 1 when any verdict differs from it.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The first run's report.json (A).
    pub a: PathBuf,
    /// The second run's report.json (B).
    pub b: PathBuf,
    /// Write the Markdown here instead of standard output.
    #[arg(long, value_name = "FILE.md")]
    pub out: Option<PathBuf>,
    /// Also write the comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn spinner(prefix: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} [{elapsed}]").unwrap());
    pb.set_prefix(prefix.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

pub use crate::testbed::STEADY_DEADLINE;

pub async fn connect() -> Result<Engine> {
    Engine::connect().await
}

pub async fn ensure_image(engine: &Engine, a: &ImageArgs) -> Result<String> {
    let pb = spinner("image");
    let opts = BuildOptions { suite: a.suite, mirror: a.mirror.clone(), force: a.force };
    let r = image::ensure(engine, &opts, &|m: &str| pb.set_message(m.to_string())).await;
    pb.finish_and_clear();
    r
}

pub async fn image_build(a: &ImageArgs) -> Result<ExitCode> {
    let engine = connect().await?;
    let t0 = std::time::Instant::now();
    let tag = ensure_image(&engine, a).await?;
    eprintln!("image {tag} ready in {:.1} s", t0.elapsed().as_secs_f64());
    println!("{tag}");
    Ok(ExitCode::SUCCESS)
}

/// Loads the operator inputs named on the command line (or the shipped defaults).
pub fn load_inputs(a: &LabArgs) -> Result<(ConfigDir, ZoneInput)> {
    let dir = match &a.config_dir {
        Some(d) => d.clone(),
        None => config::default_config_dir()?,
    };
    let zone = match &a.zone {
        Some(z) => z.clone(),
        None => config::default_zone()?,
    };
    let mut config = ConfigDir::load(&dir)?;
    config.recursor_settings = recursor_settings(a)?;
    config.recursor_settings.check(&config).map_err(anyhow::Error::msg)?;
    let zone = ZoneInput::load(&zone)?;
    // What the lab cannot run is said now, not discovered as a crash loop in a container.
    crate::scenario::facts::LabFacts::read(&config, &zone.journal)?;
    let unmet = crate::testbed::mapping::not_honoured(&config);
    if !unmet.is_empty() {
        bail!("{}: settings the testbed cannot honour:\n  {}", config.path.display(), unmet.join("\n  "));
    }
    Ok((config, zone))
}

/// The option, refused where the recursor cannot take it: bookworm's 4.8 has no converter and
/// rejects the unknown flag.
fn recursor_settings(a: &LabArgs) -> Result<RecursorSettings> {
    let r = a.recursor_settings.unwrap_or(RecursorSettings::default_for(a.image.suite));
    if r != RecursorSettings::AsIs && a.image.suite == Suite::Bookworm && std::env::var_os("PDNS_DRILL_IMAGE").is_none() {
        bail!(
            "--recursor-settings {} needs pdns-recursor 5 (--suite trixie): bookworm's 4.8 has no `rec_control show-yaml` and refuses --enable-old-settings",
            r.as_str()
        );
    }
    Ok(r)
}

/// Everything before a lab can start: inputs valid, Docker reachable, stale runs swept, image.
pub async fn prepare(a: &LabArgs) -> Result<(Engine, ConfigDir, ZoneInput, String)> {
    let (config, zone) = load_inputs(a)?;
    let (engine, tag) = prepare_engine(&a.image).await?;
    Ok((engine, config, zone, tag))
}

/// Docker reachable, stale runs swept, the image there.
pub async fn prepare_engine(a: &ImageArgs) -> Result<(Engine, String)> {
    let engine = connect().await?;
    let swept = testbed::sweep_stale(&engine).await?;
    if !swept.is_empty() {
        eprintln!("swept leftovers of dead runs: {}", swept.join(", "));
    }
    let tag = ensure_image(&engine, a).await?;
    Ok((engine, tag))
}

/// The images of the releases planned scenarios rebuild their VM on (UPG-CONF: today's),
/// built when missing like the run's own.
async fn ensure_rebuild_images(engine: &Engine, a: &ImageArgs, planned: &[(crate::scenario::Scenario, crate::scenario::plan::Resolved)]) -> Result<()> {
    let mut suites: Vec<Suite> = planned
        .iter()
        .filter_map(|(_, r)| match r {
            crate::scenario::plan::Resolved::Ready(s) => Some(s.suites()),
            _ => None,
        })
        .flatten()
        .filter(|s| *s != a.suite)
        .collect();
    suites.sort_by_key(|s| s.as_str());
    suites.dedup();
    for suite in suites {
        let pb = spinner(&format!("image {}", suite.as_str()));
        let t0 = std::time::Instant::now();
        let r = image::ensure_suite(engine, suite, a.mirror.clone(), &|m: &str| pb.set_message(m.to_string())).await;
        pb.finish_and_clear();
        let tag = r.with_context(|| format!("the {} lab image (a scenario rebuilds its VM on it)", suite.as_str()))?;
        if t0.elapsed() > Duration::from_secs(2) {
            eprintln!("image {tag} ready in {:.1} s", t0.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

pub async fn up(a: &LabArgs, check: bool) -> Result<ExitCode> {
    let (engine, config, zone, image) = prepare(a).await?;
    let run_id = testbed::new_run_id();
    let engine = if check { engine } else { engine.kept() };
    let spec = LabSpec { image, config, zone, run_id: run_id.clone() };
    let pb = spinner("up");
    let t0 = std::time::Instant::now();
    let lab = match Lab::up(engine, spec, &|m: &str| pb.set_message(m.to_string())).await {
        Ok(l) => l,
        Err(e) => {
            pb.finish_and_clear();
            // Leave nothing behind when bring-up fails.
            connect().await?.sweep(Some(&run_id)).await.ok();
            return Err(e);
        }
    };
    pb.set_message("waiting for steady state");
    let settled = lab.wait_steady(STEADY_DEADLINE).await;
    pb.finish_and_clear();
    if let Err(e) = settled {
        if check {
            lab.down().await.ok();
        } else {
            save_kept(&lab)?;
            eprintln!("lab {run_id} left up for inspection; `pdns-drill down --run {run_id}` removes it");
        }
        eprint!("{e}");
        return Ok(ExitCode::from(1));
    }
    eprintln!("lab {run_id} at steady state in {:.1} s", t0.elapsed().as_secs_f64());
    let steady = crate::steady::check(&lab).await;
    print!("{steady}");
    let tri = triage_probes::in_lab(&lab).await?;
    print_triage(&tri);
    if check {
        lab.down().await?;
    } else {
        save_kept(&lab)?;
        let p = &lab.plan;
        println!(
            "\nlab {run_id} is up: recursor {} · authoritative {} · VM {} (public {}) · internet {}\n  \
             shell: docker exec -it {} bash\n  triage: pdns-drill triage\n  tear down: pdns-drill down --run {run_id}",
            p.recursor, p.auth, p.vm, p.vm_public, p.internet, lab.name(testbed::Role::PdnsVm)
        );
    }
    Ok(if steady.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn kept_dir() -> PathBuf {
    image::cache_dir().join("labs")
}

/// A kept lab's addresses, so later commands can find it.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptLab {
    run_id: String,
    recursor: IpAddr,
    auth: IpAddr,
    vm: IpAddr,
    vm_container: String,
    workstation: String,
    zone: String,
}

fn save_kept(lab: &Lab) -> Result<()> {
    std::fs::create_dir_all(kept_dir())?;
    let k = KeptLab {
        run_id: lab.spec.run_id.clone(),
        recursor: lab.plan.recursor.into(),
        auth: lab.plan.auth.into(),
        vm: lab.plan.vm.into(),
        vm_container: lab.name(testbed::Role::PdnsVm),
        workstation: lab.name(testbed::Role::Workstation),
        zone: lab.spec.zone.journal.zone.clone(),
    };
    std::fs::write(kept_dir().join(format!("{}.json", k.run_id)), serde_json::to_vec_pretty(&k)?)?;
    Ok(())
}

fn load_kept(run: Option<&str>) -> Result<KeptLab> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(kept_dir())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
        .unwrap_or_default();
    runs.sort();
    let path = match run {
        Some(r) => kept_dir().join(format!("{r}.json")),
        None => runs.pop().context("no kept lab: start one with `pdns-drill up`, or pass --recursor/--auth/--vm")?,
    };
    let k: KeptLab = serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("no kept lab at {}", path.display()))?)?;
    Ok(k)
}

pub async fn down(run: Option<&str>, all: bool) -> Result<ExitCode> {
    let engine = connect().await?;
    let targets: Vec<String> = if all {
        engine.leftover_runs().await?
    } else {
        vec![match run {
            Some(r) => r.to_string(),
            None => load_kept(None)?.run_id,
        }]
    };
    for r in &targets {
        let (c, n, v) = engine.sweep(Some(r)).await?;
        std::fs::remove_file(kept_dir().join(format!("{r}.json"))).ok();
        eprintln!("run {r}: removed {c} container(s), {n} network(s), {v} volume(s)");
    }
    if all {
        let (c, n, v) = engine.sweep(None).await?;
        if c + n + v > 0 {
            eprintln!("unlabelled-run leftovers: removed {c} container(s), {n} network(s), {v} volume(s)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_triage(t: &triage_probes::TriageRun) {
    println!("\nFirst triage (runbook \"DNS is down\"):");
    for p in &t.probes {
        println!("  {:<9} {:<55} → {}", p.column, p.command, p.reply);
    }
    println!("{}", triage::render_table(&t.result.observation, t.result.row));
}

pub async fn triage(a: &TriageArgs) -> Result<ExitCode> {
    let t = match (a.recursor, a.auth, a.vm) {
        (Some(r), Some(au), Some(vm)) => triage_probes::against(r, au, vm, &a.zone_name, a.vm_state_cmd.as_deref()).await?,
        _ => {
            let k = load_kept(a.run.as_deref())?;
            let engine = connect().await?;
            triage_in_kept(&engine, &k).await?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t.result.to_json())?);
    } else {
        print_triage(&t);
    }
    Ok(if t.result.row == Some(triage::Row::Tri1) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Triage of a kept lab from its workstation, as written.
async fn triage_in_kept(engine: &Engine, k: &KeptLab) -> Result<triage_probes::TriageRun> {
    triage_probes::on_workstation(&triage_probes::Site {
        engine,
        workstation: k.workstation.clone(),
        vm_container: k.vm_container.clone(),
        recursor: k.recursor,
        auth: k.auth,
        vm: k.vm,
        zone: k.zone.clone(),
    })
    .await
}

pub fn list(dir: &Path) -> Result<ExitCode> {
    let scenarios = crate::scenario::load_dir(dir)?;
    println!("{:<28} {:<38} RUNBOOK SECTION", "SCENARIO", "CLAIMS");
    for s in &scenarios {
        println!("{:<28} {:<38} {}", s.name, s.claims.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","), s.section);
    }
    let covered: std::collections::BTreeSet<&str> = scenarios.iter().flat_map(|s| s.claims.iter().map(|c| c.as_str())).collect();
    let uncovered: Vec<&str> = crate::claims::CATALOGUE.iter().map(|c| c.id).filter(|id| !covered.contains(id)).collect();
    if !uncovered.is_empty() {
        println!("\nclaims no scenario decides (reported not-simulated): {}", uncovered.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit code for "something was contradicted or errored" (also: baseline differs).
const FAILED: u8 = 1;

pub async fn run(a: &RunArgs) -> Result<ExitCode> {
    use crate::report::{model::RunInfo, write};
    use crate::runner::{self, Event, Inputs};
    use futures_util::StreamExt;

    // Everything that can be wrong with the input is found before any container starts.
    let formats = write::parse_formats(&a.format).map_err(anyhow::Error::msg)?;
    let all = crate::scenario::load_dir(&a.scenarios)?;
    let selected: Vec<_> = all.iter().filter(|s| s.selected_by(&a.filters)).cloned().collect();
    if selected.is_empty() {
        bail!("no scenario matches {:?} (see `pdns-drill list`)", a.filters);
    }
    let baseline = a.baseline.as_deref().map(crate::report::snapshot::load).transpose()?;
    let (config, zone) = load_inputs(&a.lab)?;
    // Each scenario resolved against this lab once, before anything starts.
    let facts = crate::scenario::facts::LabFacts::read(&config, &zone.journal)?;
    let planned: Vec<(crate::scenario::Scenario, crate::scenario::plan::Resolved)> =
        selected.iter().map(|s| (s.clone(), crate::scenario::plan::resolve(s, &facts))).collect();
    for (s, r) in &planned {
        if let crate::scenario::plan::Resolved::NotSimulated(why) = r {
            eprintln!("plan: {} not-simulated on this lab: {why}", s.name);
        }
    }
    let (engine, image) = prepare_engine(&a.lab.image).await?;
    ensure_rebuild_images(&engine, &a.lab.image, &planned).await?;
    let run_id = testbed::new_run_id();
    let dir = a.report_dir.join(&run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = now_rfc3339();
    let info = |complete: bool, versions: (Option<String>, Option<String>), dropins: Vec<String>| RunInfo {
        id: run_id.clone(),
        started_at: started.clone(),
        finished_at: complete.then(now_rfc3339),
        complete,
        image_tag: image.clone(),
        suite: a.lab.image.suite.as_str().to_string(),
        pdns_version: versions.0,
        recursor_version: versions.1,
        config_dir: config.path.display().to_string(),
        config_dir_hash: config.hash.clone(),
        zone_file: zone.path.display().to_string(),
        zone_hash: zone.hash.clone(),
        dropins,
        filters: a.filters.clone(),
        mappings: crate::testbed::mapping::describe(&config),
    };
    // The operators' lab must stand on its own before any fault is judged on it.
    {
        let pb = spinner("preflight");
        let spec = LabSpec { image: image.clone(), config: config.clone(), zone: zone.clone(), run_id: format!("{run_id}-00") };
        let show = |m: &str| pb.set_message(m.to_string());
        let pre = tokio::select! {
            r = testbed::preflight(&engine, spec, &show) => r,
            sig = crate::signals::stopped() => {
                pb.finish_and_clear();
                engine.sweep_mine().await.ok();
                eprintln!("{}: stopped during the preflight; its lab was removed", sig.name());
                return Ok(ExitCode::from(sig.exit_code()));
            }
        };
        pb.finish_and_clear();
        match pre? {
            Ok(t) => eprintln!("preflight: the lab reached steady state in {:.1} s", t.as_secs_f64()),
            Err(p) => {
                let mut report = crate::conclude::report(info(false, (None, None), vec![]), &[]);
                for c in report.claims.iter_mut() {
                    c.verdict = crate::verdict::Verdict::Errored;
                    c.reason = Some("preflight: the lab does not reach steady state without any fault (see the preflight section)".into());
                }
                report.preflight = Some(p.clone());
                let written = write::write_all(&report, &dir, &formats)?;
                println!("PREFLIGHT FAILED: the lab does not reach steady state ({:.1} s); no scenario ran.", p.waited_ms as f64 / 1000.0);
                for l in p.failing.iter().chain(&p.daemons) {
                    println!("  {l}");
                }
                for w in written {
                    eprintln!("wrote {}", w.display());
                }
                return Ok(ExitCode::from(FAILED));
            }
        }
    }
    let inputs = Inputs {
        engine: engine.clone(),
        image: image.clone(),
        config: config.clone(),
        zone: zone.clone(),
        run_id: run_id.clone(),
        keep_on_failure: a.keep_on_failure,
    };
    eprintln!("run {run_id}: {} scenario(s), {} at a time; reports in {}", selected.len(), a.jobs.max(1), dir.display());

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let multi = indicatif::MultiProgress::new();
    let overall = multi.add(ProgressBar::new(selected.len() as u64));
    overall.set_style(ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} scenarios {msg} [{elapsed}]").unwrap().progress_chars("=> "));
    overall.set_prefix("drill");
    let jobs = a.jobs.max(1);
    let mut work = {
        let inputs = inputs.clone();
        let planned = planned.clone();
        tokio::spawn(async move {
            futures_util::stream::iter(planned.into_iter().enumerate())
                .map(move |(i, s)| {
                    let inputs = inputs.clone();
                    let tx = tx.clone();
                    async move { runner::run_scenario(&inputs, i + 1, &s, &tx).await }
                })
                .buffer_unordered(jobs)
                .collect::<Vec<_>>()
                .await
        })
    };
    let mut finished: Vec<runner::ScenarioRun> = Vec::new();
    let mut bars: std::collections::HashMap<String, ProgressBar> = Default::default();
    // A hidden progress bar (CI logs: stderr is no terminal) prints nothing: say results directly.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let say = |line: String| {
        if tty {
            multi.println(line).ok();
        } else {
            eprintln!("{line}");
        }
    };
    let stop = crate::signals::stopped();
    tokio::pin!(stop);
    let interrupted = loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::ScenarioStarted { name }) => {
                    if !tty {
                        eprintln!("   start  {name}");
                    }
                    let pb = multi.insert_before(&overall, spinner(&name));
                    bars.insert(name, pb);
                }
                Some(Event::Progress { scenario, message }) => {
                    if let Some(pb) = bars.get(&scenario) { pb.set_message(message); }
                }
                Some(Event::Observed { scenario, ok, line }) => {
                    if let Some(pb) = bars.get(&scenario) { pb.set_message(format!("{} {line}", if ok { "✓" } else { "✗" })); }
                }
                Some(Event::ScenarioFinished(r)) => {
                    if let Some(pb) = bars.remove(&r.scenario.name) { pb.finish_and_clear(); }
                    let mark = match r.outcome {
                        crate::report::model::ScenarioOutcome::Held => "held",
                        crate::report::model::ScenarioOutcome::Deviated => "DEVIATED",
                        crate::report::model::ScenarioOutcome::NotSimulated => "not-sim",
                        _ => "ERRORED",
                    };
                    say(format!("{mark:>8}  {:<26} {:>6.1} s  {}", r.scenario.name, r.wall_ms as f64 / 1000.0,
                        r.error.clone().or_else(|| r.not_simulated.clone()).or_else(|| r.records.iter().find_map(|x| x.mismatch.clone())).unwrap_or_default()));
                    if r.kept {
                        say(format!("          lab kept: docker exec -it pdns-drill-{}-pdns-vm bash ; pdns-drill down --run {}", r.lab_run_id, r.lab_run_id));
                    }
                    finished.push(*r);
                    overall.inc(1);
                    let (v, d) = versions_of(&finished);
                    let partial = crate::conclude::report(info(false, v, d), &finished);
                    write::write_all(&partial, &dir, &formats)?;
                }
                None => break None,
            },
            sig = &mut stop => break Some(sig),
        }
    };
    overall.finish_and_clear();
    if let Some(sig) = interrupted {
        // Cancel what is being created first, then sweep by the run's label.
        work.abort();
        let _ = (&mut work).await;
        eprintln!("{}: removing this run's containers, networks and volumes", sig.name());
        engine.sweep_mine().await.ok();
        let (v, d) = versions_of(&finished);
        write::write_all(&crate::conclude::report(info(false, v, d), &finished), &dir, &formats)?;
        eprintln!("partial report (marked incomplete) in {}", dir.display());
        return Ok(ExitCode::from(sig.exit_code()));
    }
    work.await.context("scenario runner panicked")?;
    // Scenario order in the report follows the files, not completion.
    finished.sort_by_key(|r| selected.iter().position(|s| s.name == r.scenario.name));
    let (v, d) = versions_of(&finished);
    let report = crate::conclude::report(info(true, v, d), &finished);
    let written = write::write_all(&report, &dir, &formats)?;
    print_verdicts(&report);
    for p in &written {
        eprintln!("wrote {}", p.display());
    }
    // A scenario the harness could not carry out fails the run even when other scenarios
    // decided its claims: merged verdicts must not hide it.
    let errored: Vec<&runner::ScenarioRun> = finished.iter().filter(|r| r.error.is_some()).collect();
    for r in &errored {
        println!("scenario {} errored: {}", r.scenario.name, r.error.as_deref().unwrap_or(""));
    }
    let verdicts_failed = match &baseline {
        Some(b) => {
            let mut approved = b.clone();
            let mut actual = crate::report::snapshot::from_report(&report);
            if !a.filters.is_empty() {
                // A filtered run is compared on the claims it decides in full: those no
                // unselected scenario also decides.
                let partly: std::collections::BTreeSet<String> = all
                    .iter()
                    .filter(|s| !s.selected_by(&a.filters))
                    .flat_map(|s| s.claims.iter().map(|c| c.to_string()))
                    .collect();
                let decided: std::collections::BTreeSet<String> = selected
                    .iter()
                    .flat_map(|s| s.claims.iter().map(|c| c.to_string()))
                    .filter(|c| !partly.contains(c))
                    .collect();
                approved.claims.retain(|k, _| decided.contains(k));
                actual.claims.retain(|k, _| decided.contains(k));
            }
            let changes = crate::report::snapshot::diff(&approved, &actual);
            for c in &changes {
                println!("baseline: {c}");
            }
            let gate = crate::report::snapshot::gate_fails(&changes);
            println!("baseline {}: {}", a.baseline.as_ref().unwrap().display(), if gate { "verdicts DIFFER" } else { "verdicts as approved" });
            gate
        }
        None => report.claims.iter().any(|c| matches!(c.verdict, crate::verdict::Verdict::Contradicted | crate::verdict::Verdict::Errored)),
    };
    let failed = verdicts_failed || !errored.is_empty();
    Ok(if failed { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
}

fn versions_of(runs: &[crate::runner::ScenarioRun]) -> ((Option<String>, Option<String>), Vec<String>) {
    let v = runs.iter().map(|r| r.versions.clone()).find(|v| v.0.is_some()).unwrap_or((None, None));
    let d = runs.iter().map(|r| r.dropins.clone()).find(|d| !d.is_empty()).unwrap_or_default();
    (v, d)
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub fn print_verdicts(r: &crate::report::model::Report) {
    println!("\n{:<16} {:<14} {:<28} {:>9} {:>9}", "CLAIM", "VERDICT", "SCENARIO", "DETECT", "RECOVER");
    let ms = |m: Option<u64>| m.map_or("-".to_string(), |m| format!("{:.1} s", m as f64 / 1000.0));
    for c in &r.claims {
        let scen = c.scenario.as_deref().unwrap_or("-");
        let scen = match scen.split_once(", ") {
            Some((first, rest)) => format!("{first} +{}", rest.split(", ").count()),
            None => scen.to_string(),
        };
        println!("{:<16} {:<14} {:<28} {:>9} {:>9}", c.id, c.verdict.as_str(), scen, ms(c.detect_ms), ms(c.recover_ms));
    }
    let count = |v: crate::verdict::Verdict| r.claims.iter().filter(|c| c.verdict == v).count();
    println!(
        "\n{} confirmed, {} contradicted, {} not-simulated, {} errored",
        count(crate::verdict::Verdict::Confirmed),
        count(crate::verdict::Verdict::Contradicted),
        count(crate::verdict::Verdict::NotSimulated),
        count(crate::verdict::Verdict::Errored)
    );
}

pub fn zone_verify(file: &Path, zone: &str) -> Result<ExitCode> {
    let v = crate::zone::verify::verify(file, zone)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(if v.integrity == "ok" && v.schema_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn zone_diff(db: &Path, journal: &Path) -> Result<ExitCode> {
    let j = crate::journal::Journal::load(journal)?;
    let rr = crate::zone::verify::db_rrsets(db, &j.zone)?;
    let d = crate::zone::diff::diff(&rr, &j);
    print!("{d}");
    Ok(if d.only_in_db.is_empty() && d.only_in_journal.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn baseline_accept(from: Option<&Path>, to: &Path) -> Result<ExitCode> {
    let from = match from {
        Some(f) => f.to_path_buf(),
        None => newest_report(Path::new("reports"))?,
    };
    let report: crate::report::model::Report =
        serde_json::from_slice(&std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?)
            .with_context(|| format!("{} is not a pdns-drill report", from.display()))?;
    if !report.run.complete {
        bail!("{} is from an incomplete run; refusing to approve it", from.display());
    }
    let snap = crate::report::snapshot::from_report(&report);
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::report::snapshot::save(to, &snap)?;
    eprintln!("baseline {} written from {}", to.display(), from.display());
    Ok(ExitCode::SUCCESS)
}

/// `compare`: exit 1 when a verdict differs; unreadable input is an error (exit 2).
pub fn compare(a: &CompareArgs) -> Result<ExitCode> {
    use crate::report::compare;
    let read = |which: &str, path: &Path| -> Result<compare::Side> {
        let text = std::fs::read_to_string(path).with_context(|| format!("report {which} {}: cannot read it", path.display()))?;
        compare::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("report {which} {}: {e}", path.display()))
    };
    let c = compare::compare(&read("A", &a.a)?, &read("B", &a.b)?);
    let md = compare::render_md(&c);
    match &a.out {
        Some(path) => crate::report::write::write_atomic(path, md.as_bytes()).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{md}"),
    }
    if let Some(path) = &a.json {
        crate::report::write::write_atomic(path, compare::render_json(&c).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let differ = c.claims.iter().filter(|r| r.differs()).count();
    eprintln!("compare: {}", if differ == 0 { "every verdict the same".to_string() } else { format!("{differ} claim(s) differ") });
    Ok(if c.differs() { ExitCode::from(FAILED) } else { ExitCode::SUCCESS })
}

pub fn newest_report(dir: &Path) -> Result<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("report.json")))
        .filter(|p| p.is_file())
        .collect();
    runs.sort();
    runs.pop().with_context(|| format!("no report.json under {}", dir.display()))
}

/// `drill restore`: the backups are read before anything starts, so a missing file is exit 2
/// naming it; every finding is in the evidence and the exit code (1).
pub async fn drill_restore(a: &LabArgs, backups: &[PathBuf], backups_dir: Option<&Path>, report_dir: &Path) -> Result<ExitCode> {
    let (files, policy) = crate::drill::read_backups(backups, backups_dir, time::OffsetDateTime::now_utc())?;
    let (engine, config, zone, image) = prepare(a).await?;
    let run_id = testbed::new_run_id();
    let pb = spinner("drill restore");
    let shown = pb.clone();
    let take_own_backup = backups.is_empty() && backups_dir.is_none();
    let inputs = crate::drill::Inputs { engine: engine.clone(), image, config, zone, backups: files, take_own_backup, policy, report_dir: report_dir.to_path_buf(), run_id };
    let done = tokio::select! {
        r = crate::drill::restore(inputs, Box::new(move |m: &str| shown.set_message(m.to_string()))) => r,
        _ = tokio::signal::ctrl_c() => {
            pb.finish_and_clear();
            engine.sweep_mine().await.ok();
            bail!("interrupted; the drill's lab was removed");
        }
    };
    pb.finish_and_clear();
    let (dir, ev) = done?;
    print!("{}", crate::drill::evidence::summary(&ev));
    eprintln!("evidence in {}", dir.display());
    Ok(if ev.passed() { ExitCode::SUCCESS } else { ExitCode::from(FAILED) })
}
