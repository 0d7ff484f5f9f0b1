//! Verdicts: what a run concluded about one claim.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Verdict::Confirmed, Verdict::Contradicted, Verdict::NotSimulated, Verdict::Errored];
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::NotSimulated => "not-simulated",
            Verdict::Errored => "errored",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
