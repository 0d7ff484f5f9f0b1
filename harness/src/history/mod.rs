//! What a run records, and nothing it concludes: per scenario, every observation with the
//! claims and claim parts it bears on, the timeline, the corrections tried, and what the
//! harness could not do. Written beside the reports as `history.json`; `conclude` reads it and
//! nothing else, so verdicts can be recomputed without containers.
//! Imports the claims, the inputs, the testbed's preflight and the scenarios' words.

pub mod events;

use crate::claims::{ClaimId, Part, Severity};
pub use crate::testbed::steady::Preflight;
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;

/// Version of `history.json`.
pub const HISTORY_SCHEMA: u32 = 1;

/// Its name in a run's report directory.
pub const HISTORY_FILE: &str = "history.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    SteadyBefore,
    Inject,
    Symptom,
    Recovery,
    SteadyAfter,
    Correction,
    Rollback,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::SteadyBefore => "steady-before",
            Phase::Inject => "inject",
            Phase::Symptom => "symptom",
            Phase::Recovery => "recovery",
            Phase::SteadyAfter => "steady-after",
            Phase::Correction => "correction",
            Phase::Rollback => "rollback",
        }
    }
}

/// Milliseconds since scenario start of each milestone, where reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Timeline {
    /// The lab up and at steady state (the boot).
    #[serde(default)]
    pub booted_ms: Option<u64>,
    /// Waited for a free boot slot before that.
    #[serde(default)]
    pub queued_ms: Option<u64>,
    pub fault_injected_ms: Option<u64>,
    pub first_symptom_ms: Option<u64>,
    pub recovery_started_ms: Option<u64>,
    pub steady_ms: Option<u64>,
    /// A VM rebuilt from its packages: when it stood at its base image (booted, bare of the
    /// PowerDNS packages), where that rebuild's clock starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image_ms: Option<u64>,
    /// The packages' download from the mirror, measured when the image was built (what the
    /// testbed, offline, cannot time itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_download_ms: Option<u64>,
    pub end_ms: u64,
    /// CPU time the lab's containers used (as the engine counts it, read before teardown; a
    /// VM rebuilt mid-scenario counts from its rebuild): on a CPU-bound host, what a scenario
    /// costs the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
}

/// One thing done or asked, and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    pub phase: Phase,
    /// 1-based step number within the scenario.
    pub step: u32,
    /// Where it ran: a container role, or "harness".
    pub on: String,
    pub action: String,
    pub observed: String,
    /// What the scenario expected, when it expected something; without it the observation is
    /// evidence only and confirms nothing.
    #[serde(default)]
    pub expected: Option<String>,
    /// The first expectation that did not hold ("step 4: triage row expected TRI-2, got TRI-1").
    #[serde(default)]
    pub mismatch: Option<String>,
    pub at_ms: u64,
    /// Claims it bears on.
    #[serde(default)]
    pub claims: Vec<ClaimId>,
    /// The claim part it checks (None: context, e.g. injecting or rolling back).
    #[serde(default)]
    pub part: Option<Part>,
    /// What it costs the operator when this expectation fails, where the step says.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Where the expectation is the harness's reading rather than the runbook's: what it
    /// assumes (see [`crate::claims::verdict::Basis`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpretation: Option<String>,
    /// An expectation that missed its deadline and then held by itself, this long after the
    /// step began (a steady state back late after a recovery): the judge reads it as a slower
    /// recovery, not a failed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_late_ms: Option<u64>,
}

impl Observation {
    pub fn held(&self) -> bool {
        self.mismatch.is_none()
    }
    /// Whether it checks something: an expectation and a part.
    pub fn checks(&self) -> bool {
        self.expected.is_some() && self.part.is_some()
    }
}

/// A span of the timeline, measured.
pub trait TimingSpanExt {
    fn measure(&self, t: &Timeline) -> Option<u64>;
    fn label(&self) -> &'static str;
    /// The measured `ms` and what it is made of.
    fn took(&self, t: &Timeline, ms: u64) -> String;
}

/// An alternative procedure tried for a contradicted claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CorrectionRun {
    pub claim: ClaimId,
    pub summary: String,
    pub records: Vec<Observation>,
    /// Why it was not run (the scenario did not contradict its claim on this lab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
}

/// Whether an expectation on `claim` failed among `records`: what a correction is for.
pub fn contradicts(records: &[Observation], claim: &ClaimId) -> bool {
    records.iter().any(|o| o.checks() && !o.held() && o.claims.contains(claim))
}

/// How the runner marks a correction it could not carry out.
pub const CORRECTION_ERRORED: &str = "correction errored: ";

/// Whether a planned monitor in this scenario's detection matrix missed the fault, which
/// contradicts its claim as much as a failed step does (a correction for it then runs).
pub fn matrix_contradicts(run: &ScenarioRun, id: &ClaimId) -> bool {
    monitor_checks(run, id).iter().any(|o| !o.held())
}

/// The detection matrix as checks: each monitor the runbook's plan says should notice this
/// scenario's fault either did (while the fault was in place) or stayed quiet.
pub fn monitor_checks(run: &ScenarioRun, id: &ClaimId) -> Vec<Observation> {
    run.scenario
        .monitors
        .iter()
        .filter(|m| m.claim() == id.as_str())
        .filter_map(|m| run.detections.iter().find(|d| d.monitor == *m))
        .map(|d| Observation {
            phase: Phase::Symptom,
            step: 0,
            on: "harness".into(),
            action: format!("the {} monitor, sampled while the fault was in place", d.monitor),
            observed: match (&d.first_ms, &d.evidence) {
                (Some(ms), Some(why)) => format!("alerted after {:.1} s: {why}", *ms as f64 / 1000.0),
                _ => match &d.last_reading {
                    Some(last) => format!("quiet in {} sample(s); last reading: {last}", d.samples),
                    None => format!("quiet in {} sample(s)", d.samples),
                },
            },
            expected: Some("it notices the fault".into()),
            mismatch: d.first_ms.is_none().then(|| format!("detection matrix: the {} monitor did not notice the fault ({} sample(s))", d.monitor, d.samples)),
            at_ms: d.first_ms.unwrap_or(0),
            claims: vec![id.clone()],
            part: Some(Part::Check),
            severity: None,
            interpretation: Some(format!("{} (the runbook names the monitor, not when it alerts)", d.monitor.model())),
            back_late_ms: None,
        })
        .collect()
}

/// The scenario as the run knew it: enough for verdicts and reports without its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub section: String,
    pub claims: Vec<ClaimId>,
    /// Claims the scenario declares it cannot exercise, with the reason.
    #[serde(default)]
    pub not_simulated: Vec<(ClaimId, String)>,
    /// Parts of claims it cannot exercise, with the reason (the claim's other parts are judged).
    #[serde(default)]
    pub parts_not_simulated: Vec<(ClaimId, crate::claims::Part, String)>,
    /// The condition its verdicts hold under ("SOA in the recursor's cache").
    #[serde(default)]
    pub condition: Option<String>,
    /// The claims the condition bears on (None: all of the scenario's).
    #[serde(default)]
    pub condition_for: Option<Vec<ClaimId>>,
    /// Durations the runbook states, checked against the timeline.
    #[serde(default)]
    pub timings: Vec<crate::scenario::Timing>,
    /// Lab facts the plan filled in.
    #[serde(default)]
    pub facts: Vec<String>,
    /// Monitors that should notice the fault (by the runbook's monitoring plan).
    #[serde(default)]
    pub monitors: Vec<crate::scenario::monitors::Monitor>,
}

impl ScenarioInfo {
    /// A scenario known by name and claims only (what a test needs).
    pub fn named(name: &str, claims: Vec<ClaimId>) -> ScenarioInfo {
        ScenarioInfo {
            name: name.into(),
            file: format!("{name}.toml"),
            section: String::new(),
            claims,
            not_simulated: vec![],
            parts_not_simulated: vec![],
            condition: None,
            condition_for: None,
            timings: vec![],
            facts: vec![],
            monitors: vec![],
        }
    }
}

impl ScenarioInfo {
    /// What the history keeps of a scenario, with the lab facts its plan drew on.
    pub fn new(s: &crate::scenario::Scenario, facts: Vec<String>) -> Self {
        ScenarioInfo {
            name: s.name.clone(),
            file: s.file.display().to_string(),
            section: s.section.clone(),
            claims: s.claims.clone(),
            not_simulated: s.not_simulated.iter().filter(|n| n.part.is_none()).map(|n| (n.claim.clone(), n.reason.clone())).collect(),
            parts_not_simulated: s.not_simulated.iter().filter_map(|n| Some((n.claim.clone(), n.part?, n.reason.clone()))).collect(),
            condition: s.condition.clone(),
            condition_for: s.condition_for.clone(),
            timings: s.timings.clone(),
            facts,
            monitors: s.monitors.clone(),
        }
    }
}

/// Everything a scenario left behind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioRun {
    pub scenario: ScenarioInfo,
    pub records: Vec<Observation>,
    pub timeline: Timeline,
    /// Why the harness could not carry it out.
    #[serde(default)]
    pub error: Option<String>,
    /// The plan found this lab cannot run it: why.
    #[serde(default)]
    pub not_simulated: Option<String>,
    /// Stopped by a signal before it finished.
    #[serde(default)]
    pub interrupted: bool,
    /// The row of the first triage taken under the fault.
    #[serde(default)]
    pub triage_row: Option<String>,
    #[serde(default)]
    pub corrections: Vec<CorrectionRun>,
    pub wall_ms: u64,
    pub lab_run_id: String,
    #[serde(default)]
    pub kept: bool,
    #[serde(default)]
    pub versions: (Option<String>, Option<String>),
    #[serde(default)]
    pub dropins: Vec<String>,
    /// What each planned monitor made of the fault (empty when no fault was in place).
    #[serde(default)]
    pub detections: Vec<crate::scenario::monitors::Detection>,
    /// Which lab it ran on and what became of that lab (no verdict reads this).
    #[serde(default)]
    pub lab: LabUse,
}

/// A scenario's lab: booted for it or reused, and what became of it afterwards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LabUse {
    /// Reused: the scenarios it served before this one, in order (empty: booted for this one;
    /// `preflight` first: the preflight's lab, reset and proven clean like any other).
    #[serde(default)]
    pub served_before: Vec<String>,
    /// Reused: helpers the lab had that this scenario does not use (or of another kind),
    /// removed before it ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shed: Vec<String>,
    /// Reused: helpers it uses that the lab lacked, created and booted before it ran (their
    /// pristine reading taken then).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    #[serde(default)]
    pub after: Option<LabAfter>,
}

/// What the harness did with a lab once its scenario finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum LabAfter {
    /// Reset, fingerprinted equal to its pristine reading, and kept for another scenario.
    Pooled {
        reset_ms: u64,
        fields: usize,
        /// Fields that differed on the reading right after the reset and agreed later (by
        /// themselves within the settling time, or after a second reset); empty on most resets.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        settled: Vec<String>,
        /// The scenario ended the VM: why, and how long replacing it with the one the lab
        /// booted with took (before the reset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vm_renewed: Option<String>,
    },
    /// Reset, but the fingerprint differed (each difference as `field: pristine → now`), or
    /// the reset itself failed: removed, and the next scenario gets a fresh lab.
    Discarded {
        reset_ms: u64,
        differences: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vm_renewed: Option<String>,
    },
    /// Not offered for reuse: why (the scenario needs a fresh lab, it errored, reuse is off).
    Removed { why: String },
    /// Left up for inspection (--keep-on-failure).
    Kept,
}

impl LabUse {
    /// The scenario ran on a lab another scenario used first.
    pub fn reused(&self) -> bool {
        !self.served_before.is_empty()
    }
}

impl ScenarioRun {
    /// A run with nothing recorded yet.
    pub fn new(scenario: ScenarioInfo, lab_run_id: String) -> Self {
        ScenarioRun {
            scenario,
            records: Vec::new(),
            timeline: Timeline::default(),
            error: None,
            not_simulated: None,
            interrupted: false,
            triage_row: None,
            corrections: Vec::new(),
            wall_ms: 0,
            lab_run_id,
            kept: false,
            versions: (None, None),
            dropins: Vec::new(),
            detections: Vec::new(),
            lab: LabUse::default(),
        }
    }

    /// Whether anything went other than expected (a mismatch or a harness error).
    pub fn anything_failed(&self) -> bool {
        self.error.is_some() || self.records.iter().any(|r| !r.held())
    }
}

/// The run: what ran, on what, from which inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// False while the run is going on or when it was interrupted.
    pub complete: bool,
    pub image_tag: String,
    pub suite: String,
    pub pdns_version: Option<String>,
    pub recursor_version: Option<String>,
    pub config_dir: String,
    pub config_dir_hash: String,
    pub zone_file: String,
    pub zone_hash: String,
    /// systemd drop-ins applied to the packaged units, e.g. "pdns.service: PrivateDevices=no".
    pub dropins: Vec<String>,
    /// Scenario filters given on the command line; empty = all.
    #[serde(default)]
    pub filters: Vec<String>,
    /// How the operators' lab was mapped onto the testbed (addresses, forwarders, loopback).
    #[serde(default)]
    pub mappings: Vec<String>,
    /// The pdns-drill that ran it: "0.1.0 (commit 1a2b3c4d5e6f)".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool: String,
    /// This run's share of the selection ("slice:1/2"), when the run is one shard of several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Every scenario the whole selection holds (all shards together), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selection: Vec<String>,
    /// The claims this run decides in full, when filters or a partition left some scenarios out
    /// (None: all): only these are held to a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// The same for the whole selection (all shards together): what a merge is held to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_scope: Option<Vec<String>>,
    /// What became of the preflight's lab: reset, proven clean and pooled for the scenarios
    /// (the first one to take it lists `preflight` among the labs it served before), discarded
    /// with the fields that differed, or removed. None: removed as soon as it was steady (reuse
    /// off, or an older run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_lab: Option<LabAfter>,
}

/// The version and commit of this pdns-drill, as run info records it.
pub fn tool_version() -> String {
    format!("{} (commit {})", env!("CARGO_PKG_VERSION"), option_env!("PDNS_DRILL_COMMIT").unwrap_or("unknown"))
}

/// `history.json`: the scenarios of one run, in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunHistory {
    pub schema: u32,
    pub run: RunInfo,
    pub scenarios: Vec<ScenarioRun>,
    /// Set when the lab failed its preflight: then no scenario ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Preflight>,
}

impl RunHistory {
    pub fn load(path: &std::path::Path) -> anyhow::Result<RunHistory> {
        use anyhow::Context;
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let h: RunHistory = serde_json::from_slice(&bytes).with_context(|| format!("{} is not a pdns-drill history", path.display()))?;
        anyhow::ensure!(h.schema == HISTORY_SCHEMA, "{} has history schema {}, this pdns-drill reads {HISTORY_SCHEMA}", path.display(), h.schema);
        Ok(h)
    }
}
