//! `report.json`, schema 1: the one document every renderer reads. Keep field names stable;
//! add fields rather than change them, and bump `SCHEMA` when a reader would break.

use crate::claims::{Part, Severity};
use crate::claims::verdict::Verdict;
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;

pub use crate::history::{Phase, Preflight, RunInfo, Timeline};
pub use crate::claims::verdict::GateOutcome;

/// 2: claims carry parts, severity, variants by condition and a finding line; verdicts may be
/// `unchecked`. Baselines from schema 1 must be re-approved (`pdns-drill baseline accept`).
pub const SCHEMA: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub run: RunInfo,
    /// One entry per catalogue claim, in catalogue order.
    pub claims: Vec<ClaimResult>,
    /// One entry per scenario that ran, with its timeline.
    #[serde(default)]
    pub scenarios: Vec<ScenarioResult>,
    /// Set when the lab failed its preflight (steady state before any scenario): then no
    /// scenario ran, and this is the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Preflight>,
    /// How the run ends for the CI around it (also written alone as `gate.json`); absent in a
    /// report still being written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

/// Version of `gate.json`.
pub const GATE_SCHEMA: u32 = 1;

/// Its name in a run's report directory.
pub const GATE_FILE: &str = "gate.json";

/// `gate.json`: the run's outcome as a CI system acts on it, beside the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gate {
    pub schema: u32,
    pub run: String,
    pub outcome: GateOutcome,
    /// What the process exits with (see `GateOutcome`).
    pub exit_code: u8,
    /// The approved verdicts the run was held to; absent: every claim must be confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineRef>,
    /// Claims held to the baseline when the run decided only some (filters, a shard); absent:
    /// all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// What fails the gate: a verdict or part that changed, a claim added or removed.
    pub changes: Vec<GateChange>,
    /// What changed without failing it (the deciding scenario, evidence lines).
    #[serde(default)]
    pub warnings: Vec<GateChange>,
    /// Why the outcome is what it is, one line each.
    pub reasons: Vec<String>,
}

/// The baseline file, by path and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineRef {
    pub path: String,
    pub sha256: String,
}

/// One difference from the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GateChange {
    pub claim: String,
    /// verdict, part, added, removed, scenario, evidence.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// This run's evidence for it: the first mismatch, else the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// As printed: "NET-ALLOW: confirmed → contradicted".
    pub line: String,
    /// The harness could not carry the claim (or its correction) out this time: the change
    /// leaves the gate undecided instead of failing it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undecided: bool,
}

impl Gate {
    /// How a reason that restates a failing change begins (renderers list the changes
    /// themselves and skip these).
    pub const CHANGED: &'static str = "verdict changed: ";

    /// The reasons that are not a failing change restated.
    pub fn other_reasons(&self) -> impl Iterator<Item = &String> {
        self.reasons.iter().filter(|r| !r.starts_with(Gate::CHANGED))
    }

    /// Whether a verdict, part or correction differs from the baseline in a way that fails the
    /// gate (a change the harness could not decide leaves it undecided instead).
    pub fn differs(&self) -> bool {
        self.changes.iter().any(|c| !c.undecided)
    }

    /// The gating change on `claim`, if any.
    pub fn change_for(&self, claim: &str) -> Option<&GateChange> {
        self.changes.iter().find(|c| c.claim == claim)
    }

    /// Whether `claim` was held to the baseline.
    pub fn in_scope(&self, claim: &str) -> bool {
        self.baseline.is_some() && self.scope.as_ref().is_none_or(|s| s.iter().any(|c| c == claim))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimResult {
    pub id: String,
    pub verdict: Verdict,
    /// Runbook section the claim comes from.
    pub section: String,
    pub scenario: Option<String>,
    /// Why not-simulated or errored; for contradicted, the one-line gist.
    #[serde(default)]
    pub reason: Option<String>,
    /// First mismatch, Deckard style: "NET-ALLOW step 3: recursor probe expected timeout, got REFUSED".
    #[serde(default)]
    pub first_mismatch: Option<String>,
    pub evidence: Vec<Evidence>,
    pub detect_ms: Option<u64>,
    pub recover_ms: Option<u64>,
    /// A verified alternative procedure, run and reported beside a contradiction.
    #[serde(default)]
    pub correction: Option<Correction>,
    /// One verdict per part the claim states.
    #[serde(default)]
    pub parts: Vec<PartResult>,
    /// For a contradiction: what following the runbook costs (the worst of its parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// One entry per deciding scenario that states a condition (cache warm or cold, inside or
    /// after a TTL, one fault variant of several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantResult>,
    /// The finding in one line, its condition included ("NEG-CACHE: recovery contradicted
    /// while pdns's negative cache holds the name; holds after it").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// For a contradiction: the basis of the part that decided it (as written, or the
    /// harness's interpretation with its value and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<crate::claims::verdict::Basis>,
}

impl ClaimResult {
    /// A claim with a verdict and nothing else yet: no scenario, evidence, parts or finding.
    pub fn new(id: impl Into<String>, section: impl Into<String>, verdict: Verdict) -> ClaimResult {
        ClaimResult {
            id: id.into(),
            verdict,
            section: section.into(),
            scenario: None,
            reason: None,
            first_mismatch: None,
            evidence: vec![],
            detect_ms: None,
            recover_ms: None,
            correction: None,
            parts: vec![],
            severity: None,
            variants: vec![],
            finding: None,
            basis: None,
        }
    }
}

/// One part of a claim, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PartResult {
    pub part: Part,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_mismatch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Why unchecked, not simulated or errored; for a timing, what was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a contradicted part: what the contradiction rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<crate::claims::verdict::Basis>,
}

/// A claim under one condition, as one scenario decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VariantResult {
    pub condition: String,
    pub scenario: String,
    pub verdict: Verdict,
    pub parts: Vec<PartResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Correction {
    pub summary: String,
    pub verified: bool,
    pub evidence: Vec<Evidence>,
    /// Why the harness could not carry the correction out (a re-injected fault that did not
    /// land): then "not verified" says nothing about the procedure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One observation: what was done or asked, what came back, what was expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub phase: Phase,
    /// 1-based step number within the scenario.
    pub step: u32,
    /// Where it ran: a container role ("pdns-vm", "workstation"), or "harness".
    pub on: String,
    /// What was run or asked: a command line, a probe ("udp 10.1.0.53 google.com. A").
    pub action: String,
    /// What came back, trimmed: rcode, exit status and output, unit state.
    pub observed: String,
    /// What the scenario expected, when it expected something.
    #[serde(default)]
    pub expected: Option<String>,
    /// Whether the observation met the expectation (true when nothing was expected).
    pub ok: bool,
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioResult {
    pub name: String,
    pub file: String,
    pub section: String,
    pub claims: Vec<String>,
    pub outcome: ScenarioOutcome,
    pub timeline: Timeline,
    pub wall_ms: u64,
    /// The triage row the scenario's triage step produced, when it ran one ("TRI-2", "unknown").
    #[serde(default)]
    pub triage_row: Option<String>,
    /// Why the harness could not carry the scenario out (outcome `errored`), or why this lab
    /// cannot run it (outcome `not-simulated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The lab's facts the plan filled in (names by role, settings with the file that sets
    /// them): where a verdict differs between two labs, these say which setting explains it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
    /// The detection matrix's row: what each planned monitor made of the fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<crate::scenario::monitors::Detection>,
    /// The monitors the runbook's plan says should notice it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors_expected: Vec<crate::scenario::monitors::Monitor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioOutcome {
    /// Every expectation held.
    Held,
    /// An expectation did not hold: the daemons did something else.
    Deviated,
    /// The harness could not carry the scenario out.
    Errored,
    /// Interrupted before it finished.
    Interrupted,
    /// The plan found this lab cannot run it (a role its zone lacks, a setting no file sets).
    NotSimulated,
}

