//! Command implementations behind `main.rs`: the glue from the arguments to the lab, the runner
//! and the reports. Printing happens here and in the reporters, nowhere in the library.

mod args;
mod chaos;
mod check;
mod merge;
mod reporters;
mod run;
mod schema;

pub use args::*;
pub use chaos::chaos;
pub use check::check;
pub use merge::{conclude, merge};
pub use run::run;
pub use schema::{schema, schema_kind_parser};

/// Exit code for "something was contradicted or errored" (also: baseline differs).
const FAILED: u8 = 1;

use pdns_drill::testbed::engine::Engine;
use pdns_drill::testbed::image::{self, BuildOptions, Suite};
use pdns_drill::session::{LabSource, Session, Stopped};
use pdns_drill::testbed::config::{self, ConfigDir, ZoneInput};
use pdns_drill::testbed::{self, Lab};
use pdns_drill::dns::triage;
use pdns_drill::testbed::triage_probes;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub fn spinner(prefix: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} [{elapsed}]").unwrap());
    pb.set_prefix(prefix.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

pub async fn connect() -> Result<Engine> {
    Engine::connect().await
}

pub async fn ensure_image(engine: &Engine, a: &ImageArgs) -> Result<String> {
    let pb = spinner("image");
    let r = image::ensure(engine, &build_options(a), &|m: &str| pb.set_message(m.to_string())).await;
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

fn build_options(a: &ImageArgs) -> BuildOptions {
    BuildOptions { suite: a.suite, mirror: a.mirror.clone(), force: a.force }
}

/// The operator inputs named on the command line (or the shipped lab) and the image options.
fn lab_source(a: &LabArgs) -> LabSource {
    LabSource { config_dir: a.config_dir.clone(), zone: a.zone.clone(), recursor_settings: a.recursor_settings, image: build_options(&a.image) }
}

/// Loads and checks the operator inputs: no Docker involved.
pub fn load_inputs(a: &LabArgs) -> Result<(ConfigDir, ZoneInput)> {
    lab_source(a).load()
}

/// Everything before a lab can start (inputs valid, Docker reachable, stale runs swept, the
/// image), with the image's progress on a spinner.
pub async fn open_session(a: &LabArgs) -> Result<Session> {
    let (config, zone) = load_inputs(a)?;
    connect_session(a, config, zone).await
}

/// `open_session` for inputs already loaded.
pub async fn connect_session(a: &LabArgs, config: ConfigDir, zone: ZoneInput) -> Result<Session> {
    let pb = spinner("image");
    let r = Session::connect(config, zone, &build_options(&a.image), &|m: &str| pb.set_message(m.to_string())).await;
    pb.finish_and_clear();
    let session = r?;
    if !session.swept.is_empty() {
        eprintln!("swept leftovers of dead runs: {}", session.swept.join(", "));
    }
    Ok(session)
}

/// The images planned scenarios rebuild their VM on, with a spinner while one is made.
pub async fn ensure_rebuild_images(session: &Session, planned: &[(pdns_drill::scenario::Scenario, pdns_drill::scenario::plan::Resolved)]) -> Result<()> {
    let pb = spinner("image");
    let t0 = std::time::Instant::now();
    let tags = session.ensure_rebuild_images(planned, &|suite: Suite, m: &str| pb.set_message(format!("{}: {m}", suite.as_str()))).await;
    pb.finish_and_clear();
    let tags = tags?;
    if t0.elapsed() > Duration::from_secs(2) {
        eprintln!("image(s) {} ready in {:.1} s", tags.join(", "), t0.elapsed().as_secs_f64());
    }
    Ok(())
}

/// A job stopped by a signal: what its sweep could not remove is said; the signal's exit code.
pub fn stopped(s: &Stopped, what: &str) -> ExitCode {
    eprintln!("{}: {what}", s.signal.name());
    if let Some(e) = &s.sweep_failed {
        eprintln!("{e}");
    }
    ExitCode::from(s.signal.exit_code())
}

pub async fn up(a: &LabArgs, check: bool) -> Result<ExitCode> {
    let session = open_session(a).await?;
    let run_id = testbed::new_run_id();
    let pb = spinner("up");
    let t0 = std::time::Instant::now();
    let show = |m: &str| pb.set_message(m.to_string());
    // The VM, its stand-in internet and the workstation the triage runs from; the lab client
    // (a systemd of its own, and one for the workstation's app) is for scenarios.
    let (lab, settled) = match session.bring_up(&run_id, vec![testbed::Role::Workstation], !check, &show).await {
        Ok(Ok(up)) => up,
        Ok(Err(e)) => {
            pb.finish_and_clear();
            return Err(e);
        }
        Err(s) => {
            pb.finish_and_clear();
            return Ok(stopped(&s, "the lab was removed"));
        }
    };
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
    let steady = pdns_drill::testbed::steady::check(&lab, pdns_drill::testbed::steady::Scope::EveryName).await;
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
        (Some(r), Some(au), Some(vm)) => {
            let zone = zone_name(a.zone_name.as_deref(), a.zone.as_deref())?;
            triage_probes::against(r, au, vm, &zone, a.vm_state_cmd.as_deref()).await?
        }
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
    let scenarios = pdns_drill::scenario::load_dir(&config::scenarios_dir(dir))?;
    println!("{:<28} {:<38} RUNBOOK SECTION", "SCENARIO", "CLAIMS");
    for s in &scenarios {
        println!("{:<28} {:<38} {}", s.name, s.claims.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","), s.section);
    }
    let covered: std::collections::BTreeSet<&str> = scenarios.iter().flat_map(|s| s.claims.iter().map(|c| c.as_str())).collect();
    let uncovered: Vec<&str> = pdns_drill::claims::CATALOGUE.iter().map(|c| c.id).filter(|id| !covered.contains(id)).collect();
    if !uncovered.is_empty() {
        println!("\nclaims no scenario decides (reported not-simulated): {}", uncovered.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The verdicts as a terminal table: claim, verdict, severity, parts, scenario, timings.
pub fn verdict_table(r: &pdns_drill::judge::model::Report) -> String {
    use pdns_drill::claims::verdict::Verdict;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "\n{:<20} {:<13} {:<16} {:<40} {:<26} {:>8} {:>8}", "CLAIM", "VERDICT", "SEVERITY", "PARTS", "SCENARIO", "DETECT", "RECOVER");
    let ms = |m: Option<u64>| m.map_or("-".to_string(), |m| format!("{:.1} s", m as f64 / 1000.0));
    for c in &r.claims {
        let scen = c.scenario.as_deref().unwrap_or("-");
        let scen = match scen.split_once(", ") {
            Some((first, rest)) => format!("{first} +{}", rest.split(", ").count()),
            None => scen.to_string(),
        };
        let parts: String = c
            .parts
            .iter()
            .map(|p| {
                let m = match p.verdict {
                    Verdict::Confirmed => '✓',
                    Verdict::Contradicted => '✗',
                    Verdict::Unchecked => '?',
                    Verdict::Errored => '!',
                    Verdict::NotSimulated | Verdict::Pending => '-',
                };
                format!("{}{m}", &p.part.as_str()[..4])
            })
            .collect::<Vec<_>>()
            .join(" ");
        let sev = c.severity.map_or("", |s| s.as_str());
        let _ = writeln!(o, "{:<20} {:<13} {:<16} {:<40} {:<26} {:>8} {:>8}", c.id, c.verdict.as_str(), sev, parts, scen, ms(c.detect_ms), ms(c.recover_ms));
    }
    let count = |v: Verdict| r.claims.iter().filter(|c| c.verdict == v).count();
    let _ = writeln!(
        o,
        "\n{} confirmed, {} contradicted, {} unchecked, {} not-simulated, {} errored",
        count(Verdict::Confirmed),
        count(Verdict::Contradicted),
        count(Verdict::Unchecked),
        count(Verdict::NotSimulated),
        count(Verdict::Errored)
    );
    let interpreted = r.claims.iter().filter(|c| matches!(c.basis, Some(pdns_drill::claims::verdict::Basis::Interpretation(_)))).count();
    if count(Verdict::Contradicted) > 0 {
        let _ = writeln!(o, "contradictions: {} on the runbook as written, {interpreted} on the harness's interpretation (report.md: Findings)", count(Verdict::Contradicted) - interpreted);
    }
    o
}

pub fn print_verdicts(r: &pdns_drill::judge::model::Report) {
    print!("{}", verdict_table(r));
}

/// The zone a command asks about: the one named, else the zone of the journal given (or of the
/// shipped lab's), never a constant.
pub fn zone_name(name: Option<&str>, journal: Option<&Path>) -> Result<String> {
    if let Some(n) = name {
        return Ok(n.to_string());
    }
    let path = match journal {
        Some(j) => j.to_path_buf(),
        None => config::default_zone()?,
    };
    Ok(pdns_drill::inputs::zone::journal::Journal::load(&path)?.zone)
}

pub fn zone_verify(file: &Path, zone: Option<&str>, journal: Option<&Path>) -> Result<ExitCode> {
    let zone = zone_name(zone, journal)?;
    let v = pdns_drill::inputs::zone::verify::verify(file, &zone)?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(if v.integrity == "ok" && v.schema_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn zone_diff(db: &Path, journal: &Path) -> Result<ExitCode> {
    let j = pdns_drill::inputs::zone::journal::Journal::load(journal)?;
    let rr = pdns_drill::inputs::zone::verify::db_rrsets(db, &j.zone)?;
    let d = pdns_drill::inputs::zone::diff::diff(&rr, &j);
    print!("{d}");
    Ok(if d.only_in_db.is_empty() && d.only_in_journal.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn baseline_accept(from: Option<&Path>, to: &Path) -> Result<ExitCode> {
    let from = match from {
        Some(f) => f.to_path_buf(),
        None => newest_report(Path::new("reports"))?,
    };
    let report: pdns_drill::judge::model::Report =
        serde_json::from_slice(&std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?)
            .with_context(|| format!("{} is not a pdns-drill report", from.display()))?;
    if !report.run.complete {
        bail!("{} is from an incomplete run; refusing to approve it", from.display());
    }
    let snap = pdns_drill::judge::snapshot::from_report(&report);
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    pdns_drill::judge::snapshot::save(to, &snap)?;
    eprintln!("baseline {} written from {}", to.display(), from.display());
    Ok(ExitCode::SUCCESS)
}

/// `compare`: exit 1 when a verdict differs; unreadable input is an error (exit 2).
pub fn compare(a: &CompareArgs) -> Result<ExitCode> {
    use pdns_drill::report::compare;
    let read = |which: &str, path: &Path| -> Result<compare::Side> {
        let text = std::fs::read_to_string(path).with_context(|| format!("report {which} {}: cannot read it", path.display()))?;
        compare::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("report {which} {}: {e}", path.display()))
    };
    let c = compare::compare(&read("A", &a.a)?, &read("B", &a.b)?);
    let md = compare::render_md(&c);
    match &a.out {
        Some(path) => pdns_drill::files::write_atomic(path, md.as_bytes()).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{md}"),
    }
    if let Some(path) = &a.json {
        pdns_drill::files::write_atomic(path, compare::render_json(&c).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
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
    let (files, policy) = pdns_drill::drill::read_backups(backups, backups_dir, time::OffsetDateTime::now_utc())?;
    let session = open_session(a).await?;
    let run_id = testbed::new_run_id();
    let pb = spinner("drill restore");
    let shown = pb.clone();
    let take_own_backup = backups.is_empty() && backups_dir.is_none();
    let inputs = pdns_drill::drill::Inputs {
        engine: session.engine.clone(),
        image: session.image.clone(),
        config: session.config.clone(),
        zone: session.zone.clone(),
        backups: files,
        take_own_backup,
        policy,
        report_dir: report_dir.to_path_buf(),
        run_id,
    };
    let done = session.until_stopped(pdns_drill::drill::restore(inputs, Box::new(move |m: &str| shown.set_message(m.to_string())))).await;
    pb.finish_and_clear();
    let (dir, ev) = match done {
        Ok(r) => r?,
        Err(s) => return Ok(stopped(&s, "the drill's lab was removed; no evidence written")),
    };
    print!("{}", pdns_drill::drill::evidence::summary(&ev));
    eprintln!("evidence in {}", dir.display());
    Ok(if ev.passed() { ExitCode::SUCCESS } else { ExitCode::from(FAILED) })
}
