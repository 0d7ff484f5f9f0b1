//! Verdicts: what a run concluded about one claim, and what the gate concluded about a run.

use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Fault injected, documented symptom seen, documented recovery restored steady state.
    Confirmed,
    /// The real daemons behaved otherwise; the evidence says how.
    Contradicted,
    /// Honestly out of reach; the reason is given.
    NotSimulated,
    /// The harness itself failed (lab did not come up, a step could not run): no conclusion.
    Errored,
    /// Nothing contradicted it, but a part it states was checked by no expectation: not
    /// confirmed.
    Unchecked,
    /// In a report written while the run goes on: a scenario that decides it has not finished.
    Pending,
}

impl Verdict {
    pub const ALL: [Verdict; 6] =
        [Verdict::Confirmed, Verdict::Contradicted, Verdict::Unchecked, Verdict::NotSimulated, Verdict::Errored, Verdict::Pending];
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::NotSimulated => "not-simulated",
            Verdict::Errored => "errored",
            Verdict::Unchecked => "unchecked",
            Verdict::Pending => "pending",
        }
    }

    /// A part's mark in a table: ✓ ✗ ? !; None where nothing was decided (not simulated,
    /// pending), which each table draws as its own dash.
    pub fn mark(self) -> Option<char> {
        match self {
            Verdict::Confirmed => Some('✓'),
            Verdict::Contradicted => Some('✗'),
            Verdict::Unchecked => Some('?'),
            Verdict::Errored => Some('!'),
            Verdict::NotSimulated | Verdict::Pending => None,
        }
    }

    /// Which verdict wins when several scenarios decide one claim part: a contradiction
    /// anywhere, then a harness failure, then a check that held, then none at all.
    pub fn rank(self) -> u8 {
        match self {
            Verdict::Contradicted => 4,
            Verdict::Errored => 3,
            Verdict::Confirmed => 2,
            Verdict::Unchecked => 1,
            Verdict::NotSimulated | Verdict::Pending => 0,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a contradiction rests on: the runbook's own command and its stated outcome, or a
/// reading of the harness's (a threshold, a deadline, a model of a monitor the runbook only
/// names), said with its value and why. A reader weighs the two differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "what", rename_all = "kebab-case")]
pub enum Basis {
    AsWritten,
    Interpretation(String),
}

impl Basis {
    pub fn label(&self) -> &'static str {
        match self {
            Basis::AsWritten => "as written",
            Basis::Interpretation(_) => "interpretation",
        }
    }

    /// "as written" or "interpretation: the harness's 45 s recovery deadline …".
    pub fn describe(&self) -> String {
        match self {
            Basis::AsWritten => "as written: the runbook's own command and the outcome it states".into(),
            Basis::Interpretation(what) => format!("interpretation: {what}"),
        }
    }
}

/// The gate's verdict on a run, and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GateOutcome {
    /// 0: every verdict as approved (without a baseline: every decided claim confirmed).
    Pass,
    /// 1: a verdict or part changed, a new contradiction, or the lab failed its preflight: what
    /// the change did to DNS.
    Fail,
    /// 3: the harness could not decide (a scenario errored, the engine failed mid-run): a retry
    /// may help; nothing here says the change is wrong.
    Undecided,
    /// 130/143/129: stopped by SIGINT/SIGTERM/SIGHUP before the end.
    Interrupted,
}

impl GateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Pass => "pass",
            GateOutcome::Fail => "fail",
            GateOutcome::Undecided => "undecided",
            GateOutcome::Interrupted => "interrupted",
        }
    }

    /// The exit code, for every outcome but an interruption (whose code is the signal's).
    pub fn exit_code(self) -> u8 {
        match self {
            GateOutcome::Pass => 0,
            GateOutcome::Fail => 1,
            GateOutcome::Undecided => 3,
            GateOutcome::Interrupted => 130,
        }
    }
}
