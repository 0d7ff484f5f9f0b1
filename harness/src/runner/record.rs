//! What one scenario's run holds while it runs: its lab, its clock, and the observations it
//! records, the one way observations enter the history (and, as events, the reporters).

use crate::claims::{ClaimId, Part, Severity};
use crate::history::events::Event;
use crate::history::{Observation, Phase};
use crate::scenario::Scenario;
use crate::testbed::Lab;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

pub(super) struct Ctx<'a> {
    pub(super) lab: &'a Lab,
    pub(super) scenario: &'a Scenario,
    pub(super) t0: Instant,
    pub(super) records: Vec<Observation>,
    pub(super) events: &'a UnboundedSender<Event>,
    pub(super) step_no: u32,
    pub(super) triage_row: Option<String>,
    /// The first heal that failed.
    pub(super) heal_failed: Option<String>,
    /// Why the lab is known not to be in steady state after the scenario's recovery.
    pub(super) lab_unsettled: Option<String>,
    /// A VM rebuilt from packages: when it stood at its base image, and the download measured
    /// at image build (the rebuild's timing), or why that timing could not be taken.
    pub(super) base_image_ms: Option<u64>,
    pub(super) mirror_download_ms: Option<u64>,
    pub(super) parts_not_simulated: Vec<(ClaimId, Part, String)>,
}

impl Ctx<'_> {
    pub(super) fn ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    /// The one place observations enter the history.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &mut self,
        phase: Phase,
        on: &str,
        action: String,
        observed: String,
        expected: Option<String>,
        mismatch: Option<String>,
        claims: Vec<ClaimId>,
        part: Option<Part>,
        severity: Option<Severity>,
        interpretation: Option<String>,
    ) -> bool {
        self.step_no += 1;
        let ok = mismatch.is_none();
        let o = Observation { phase, step: self.step_no, on: on.to_string(), action, observed, expected, mismatch, at_ms: self.ms(), claims, part, severity, interpretation, back_late_ms: None };
        let _ = self.events.send(Event::Observed {
            scenario: self.scenario.name.clone(),
            ok,
            line: format!("{} step {}: {}", phase.as_str(), o.step, o.action),
        });
        self.records.push(o);
        ok
    }

    /// The last observation's expectation held only late, by itself, `after` the step began.
    pub(super) fn back_late(&mut self, after: std::time::Duration) {
        if let Some(o) = self.records.last_mut() {
            o.back_late_ms = Some(after.as_millis() as u64);
        }
    }

    /// Context: no expectation, no part; checks nothing.
    pub(super) fn note(&mut self, phase: Phase, on: &str, action: String, observed: String, claims: Vec<ClaimId>) {
        self.record(phase, on, action, observed, None, None, claims, None, None, None);
    }

    pub(super) fn progress(&self, m: &str) {
        let _ = self.events.send(Event::Progress { scenario: self.scenario.name.clone(), message: m.to_string() });
    }
}

