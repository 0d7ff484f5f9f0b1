//! One use of the harness on one lab, whatever the job: the scenarios (`run`), chaos, the
//! restore drill, a lab kept up. The way in for the binary and the tests: the operators' inputs
//! read and checked before anything starts, Docker reached, dead runs swept, the lab images
//! there, how many labs this host holds at once, the preflight, and work raced against the
//! signals, this process's containers swept when one comes. Prints nothing: what it has to say
//! goes to the caller's `say`.

pub mod chaos;
pub mod drill;
pub mod run;

use crate::inputs::secrets::Secrets;
use crate::testbed::steady::Preflight;
use crate::history::events::Event;
use crate::history::ScenarioRun;
use crate::runner::scheduler::Queued;
use crate::scenario::plan::Resolved;
use crate::scenario::Scenario;
use crate::signals::Stop;
use crate::testbed::config::{self, ConfigDir, RecursorSettings, ZoneInput};
use crate::testbed::engine::Engine;
use crate::testbed::image::{self, BuildOptions, Suite};
use crate::testbed::{Lab, LabSpec, Role};
use anyhow::{bail, Context, Result};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// The operators' files and the lab image, as the caller names them (None: the shipped lab).
#[derive(Debug, Clone)]
pub struct LabSource {
    pub config_dir: Option<PathBuf>,
    pub zone: Option<PathBuf>,
    pub recursor_settings: Option<RecursorSettings>,
    pub image: BuildOptions,
}

impl LabSource {
    /// The inputs read and checked, no container involved: what the lab cannot run is said
    /// now (with the file that says it), not discovered as a crash loop in a container.
    pub fn load(&self) -> Result<(ConfigDir, ZoneInput)> {
        let dir = match &self.config_dir {
            Some(d) => d.clone(),
            None => config::default_config_dir()?,
        };
        let zone = match &self.zone {
            Some(z) => z.clone(),
            None => config::default_zone()?,
        };
        let mut config = ConfigDir::load(&dir)?;
        config.recursor_settings = self.recursor_settings()?;
        config.recursor_settings.check(&config).map_err(anyhow::Error::msg)?;
        let zone = ZoneInput::load(&zone)?;
        crate::scenario::facts::LabFacts::read(&config, &zone.journal)?;
        let unmet = crate::testbed::mapping::not_honoured(&config);
        if !unmet.is_empty() {
            bail!("{}: settings the testbed cannot honour:\n  {}", config.path.display(), unmet.join("\n  "));
        }
        Ok((config, zone))
    }

    /// Refused where the recursor cannot take it: bookworm's 4.8 has no converter and rejects
    /// the unknown flag.
    fn recursor_settings(&self) -> Result<RecursorSettings> {
        let suite = self.image.suite;
        let r = self.recursor_settings.unwrap_or(RecursorSettings::default_for(suite));
        if r != RecursorSettings::AsIs && suite == Suite::Bookworm && std::env::var_os("PDNS_DRILL_IMAGE").is_none() {
            bail!(
                "--recursor-settings {} needs pdns-recursor 5 (--suite trixie): bookworm's 4.8 has no `rec_control show-yaml` and refuses --enable-old-settings",
                r.as_str()
            );
        }
        Ok(r)
    }
}

/// Everything a job needs before its first lab: the inputs, the engine, the image.
pub struct Session {
    pub engine: Engine,
    /// The lab image's tag.
    pub image: String,
    pub build: BuildOptions,
    pub config: ConfigDir,
    pub zone: ZoneInput,
    /// What no artefact of this session may carry.
    pub secrets: Secrets,
    /// Runs of dead processes removed on the way in.
    pub swept: Vec<String>,
}

/// How the scenarios of a run share the host.
#[derive(Debug, Clone)]
pub struct Scheduling {
    /// Labs alive at once (see `capacity`).
    pub jobs: usize,
    /// Lab boots at once: booting is what costs CPU, waiting on daemons does not.
    pub boots: usize,
    /// Every scenario on a lab of its own (the reference for reuse).
    pub fresh_labs: bool,
    /// A scenario's lab kept up when anything in it failed.
    pub keep_on_failure: bool,
}

/// How many labs this host holds at once, and why fewer than asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    pub labs: usize,
    pub notes: Vec<String>,
}

impl Session {
    /// For inputs already checked (`LabSource::load`: bad input fails there, before Docker is
    /// asked anything): the engine reached, dead runs swept and the image built or found. `say`
    /// gets the image's progress.
    pub async fn connect(config: ConfigDir, zone: ZoneInput, build: &BuildOptions, say: &(dyn Fn(&str) + Sync)) -> Result<Session> {
        let engine = Engine::connect().await?;
        let swept = crate::testbed::sweep_stale(&engine).await?;
        let image = image::ensure(&engine, build, say).await?;
        let secrets = Secrets::from_dir(&config.path);
        Ok(Session { engine, image, build: build.clone(), config, zone, secrets, swept })
    }

    /// The images of the releases planned scenarios rebuild their VM on (UPG-CONF: today's),
    /// built when missing like the session's own. `say(suite, message)`; the tags made or
    /// found come back.
    pub async fn ensure_rebuild_images(&self, planned: &[(Scenario, Resolved)], say: &(dyn Fn(Suite, &str) + Sync)) -> Result<Vec<String>> {
        let mut suites: Vec<Suite> = planned
            .iter()
            .filter_map(|(_, r)| match r {
                Resolved::Ready(p) => Some(p.scenario.suites()),
                _ => None,
            })
            .flatten()
            .filter(|s| *s != self.build.suite)
            .collect();
        suites.sort_by_key(|s| s.as_str());
        suites.dedup();
        let mut tags = Vec::new();
        for suite in suites {
            let tag = image::ensure_suite(&self.engine, suite, self.build.mirror.clone(), &|m: &str| say(suite, m))
                .await
                .with_context(|| format!("the {} lab image (a scenario rebuilds its VM on it)", suite.as_str()))?;
            tags.push(tag);
        }
        Ok(tags)
    }

    /// At most `wanted` labs, fewer where this host cannot hold them: the inotify pool (a lab
    /// past it never finishes booting) and the engine's free address pools (a boot past them
    /// waits for a subnet that idle pooled labs keep). 0 labs: nothing can boot. `held`: labs
    /// of this run already up (the preflight's, handed on), counted in, not in what is free.
    pub async fn capacity(&self, wanted: usize, held: usize) -> Capacity {
        let mut c = Capacity { labs: wanted.max(1), notes: Vec::new() };
        if let Some(host) = crate::testbed::host::capacity() {
            let labs = host.labs + held;
            if labs == 0 {
                return Capacity { labs: 0, notes: vec![format!("no lab can boot: {}", host.advice())] };
            }
            if labs < c.labs {
                c.notes.push(format!("running {labs} scenario(s) at a time, not {}: {}", c.labs, host.advice()));
                c.labs = labs;
            }
        }
        // Seen: --jobs 24 on the engine's 30 free pools, a boot waiting 600 s.
        match self.engine.free_subnets().await.map(|f| f.len()) {
            Ok(free) if free / Lab::NETWORKS + held < c.labs => {
                let room = (free / Lab::NETWORKS + held).max(1);
                c.notes.push(format!(
                    "running {room} scenario(s) at a time, not {}: each lab takes {} of the engine's address pools and {free} are free (other networks hold the rest){}",
                    c.labs,
                    Lab::NETWORKS,
                    if held > 0 { format!("; {held} lab(s) already up counted in") } else { String::new() }
                ));
                c.labs = room;
            }
            Ok(_) => {}
            Err(e) => c.notes.push(format!("could not count the free address pools ({e:#}); running {} at a time", c.labs)),
        }
        c
    }

    /// The operators' lab, unfaulted, brought up as `run_id` and held to steady state: Ok(Ok)
    /// how long it took and, when `keep`, the lab; Ok(Err) the finding. Stopped by a signal:
    /// this session's containers are swept and the signal comes back.
    pub async fn preflight(&self, run_id: &str, keep: bool, say: &(dyn Fn(&str) + Sync)) -> Result<Result<Result<(Duration, Option<Lab>), Preflight>>, Stopped> {
        let spec = LabSpec { image: self.image.clone(), config: self.config.clone(), zone: self.zone.clone(), run_id: run_id.to_string(), roles: vec![] };
        self.until_stopped(crate::testbed::steady::preflight(&self.engine, spec, keep, say)).await
    }

    /// A lab of the operators' files brought up as `run_id` with `roles` and held to steady
    /// state: Ok((lab, Ok)) at steady state, Ok((lab, Err(why))) up but not steady, Err the
    /// bring-up's failure (nothing of it left). `kept`: labelled to outlive this process, as
    /// `pdns-drill up` leaves it. A signal removes the lab, kept or not, and comes back.
    pub async fn bring_up(&self, run_id: &str, roles: Vec<Role>, kept: bool, say: &(dyn Fn(&str) + Sync)) -> Result<Result<(Lab, Result<(), String>)>, Stopped> {
        let engine = if kept { self.engine.clone().kept() } else { self.engine.clone() };
        let spec = LabSpec { image: self.image.clone(), config: self.config.clone(), zone: self.zone.clone(), run_id: run_id.to_string(), roles };
        // A kept lab carries no owner process, so it is swept by its run id; twice, as a create
        // already sent when the signal came lands after the first sweep.
        let sweep_run = || async {
            let mut failed = None;
            for _ in 0..2 {
                failed = self.engine.sweep(Some(run_id)).await.err().map(|e| format!("{e:#}"));
            }
            failed
        };
        let up = tokio::select! {
            r = Lab::up(engine, spec, say) => r,
            signal = crate::signals::stopped() => return Err(Stopped { signal, sweep_failed: sweep_run().await }),
        };
        let lab = match up {
            Ok(l) => l,
            Err(e) => {
                sweep_run().await;
                return Ok(Err(e));
            }
        };
        say("waiting for steady state");
        let settled = tokio::select! {
            r = async {
                lab.wait_booted_lab().await.map_err(|e| format!("{e:#}"))?;
                lab.wait_steady(crate::testbed::STEADY_DEADLINE).await.map(|_| ()).map_err(|e| e.to_string())
            } => r,
            signal = crate::signals::stopped() => {
                let sweep_failed = lab.down().await.err().map(|e| format!("{e:#}"));
                return Err(Stopped { signal, sweep_failed });
            }
        };
        Ok(Ok((lab, settled)))
    }

    /// What the runner needs of this session to put labs up: `boots` at once, each on a lab of
    /// its own (no pool), none kept.
    fn runner_inputs(&self, run_id: &str, boots: usize) -> crate::runner::Inputs {
        crate::runner::Inputs {
            engine: self.engine.clone(),
            image: self.image.clone(),
            config: self.config.clone(),
            zone: self.zone.clone(),
            run_id: run_id.to_string(),
            keep_on_failure: false,
            boots: std::sync::Arc::new(tokio::sync::Semaphore::new(boots.max(1))),
            pool: None,
        }
    }

    /// The scenarios, `order` as queued (see `runner::scheduler`), on labs `how` says: boots
    /// limited, labs reused when proven clean (unless fresh labs are asked for), `ready` (a lab
    /// already proven clean) pooled first, the pool emptied at the end. `on` takes every event
    /// as it comes; the runs come back in the order they finished, or the signal that stopped
    /// them (the labs swept).
    pub async fn run_scenarios(&self, run_id: &str, order: Vec<Queued>, how: &Scheduling, ready: Option<crate::testbed::pool::Pooled>, on: impl FnMut(Event)) -> Result<Result<Vec<ScenarioRun>, tokio::task::JoinError>, Stopped> {
        let inputs = crate::runner::Inputs {
            keep_on_failure: how.keep_on_failure,
            pool: (!how.fresh_labs).then(|| {
                let leases = order.iter().filter(|q| crate::runner::needs_lab(&q.planned)).count();
                std::sync::Arc::new(crate::testbed::pool::Pool::new(how.jobs, leases))
            }),
            ..self.runner_inputs(run_id, how.boots)
        };
        // A lab already up and proven clean (the preflight's) is the first one leased.
        match (&inputs.pool, ready) {
            (Some(pool), Some(p)) => pool.adopt(p),
            (None, Some(p)) => {
                p.lab.down().await.ok();
            }
            _ => {}
        }
        let pool = inputs.pool.clone();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let work = tokio::spawn(crate::runner::scheduler::run_all(inputs, order, how.jobs, tx));
        let followed = self.follow(work, rx, on).await;
        // The labs still in the pool served their last scenario.
        if let Some(pool) = &pool {
            crate::testbed::pool::remove(pool.drain()).await;
        }
        followed
    }

    /// `work`, unless a signal comes first: then `work` is dropped (cancelling what it was
    /// creating), this session's containers, networks and volumes are swept, and the signal
    /// comes back.
    pub async fn until_stopped<T>(&self, work: impl Future<Output = T>) -> Result<T, Stopped> {
        let signal = tokio::select! {
            r = work => return Ok(r),
            sig = crate::signals::stopped() => sig,
        };
        Err(self.stopped_by(signal).await)
    }

    /// A spawned job whose events `on` takes as they come, until the job ends (its result) or
    /// a signal comes (the job aborted, this session swept, the signal).
    pub async fn follow<E, T>(&self, mut work: tokio::task::JoinHandle<T>, mut events: tokio::sync::mpsc::UnboundedReceiver<E>, mut on: impl FnMut(E)) -> Result<Result<T, tokio::task::JoinError>, Stopped> {
        let stop = crate::signals::stopped();
        tokio::pin!(stop);
        let sig = loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => on(ev),
                    None => return Ok(work.await),
                },
                sig = &mut stop => break sig,
            }
        };
        // Cancel what is being created first, then sweep by the session's label.
        work.abort();
        let _ = (&mut work).await;
        Err(self.stopped_by(sig).await)
    }

    /// Removes this process's runs; what was removed comes back.
    pub async fn sweep_mine(&self) -> Result<Vec<String>> {
        self.engine.sweep_mine().await.context("could not remove everything of this run (`pdns-drill down --all` removes what is left)")
    }

    async fn stopped_by(&self, signal: Stop) -> Stopped {
        Stopped { signal, sweep_failed: self.sweep_mine().await.err().map(|e| format!("{e:#}")) }
    }
}

/// A job a signal stopped; this session's containers were swept.
#[derive(Debug)]
pub struct Stopped {
    pub signal: Stop,
    /// What the sweep could not remove, when it could not.
    pub sweep_failed: Option<String>,
}
