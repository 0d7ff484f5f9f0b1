//! Scenario files (`scenarios/*.toml`): which claims a scenario decides, the faults it injects,
//! the symptoms it expects, the recovery it runs as written, and optional corrections.
//!
//! Shape of a file (every table and key is documented in scenarios/README.md):
//! ```toml
//! name = "recursor-down"
//! section = "Daemon-level recovery"
//! claims = ["DAE-REC", "TRI-2"]
//! [[fault]]        # injected by the harness, always healed afterwards
//! kind = "stop-unit"
//! unit = "pdns-recursor"
//! [[symptom]]      # polled until it holds or `within` passes
//! probe = "recursor"
//! qname = "www.google.com"
//! expect = { outcome = "timeout" }
//! [[recover]]      # the runbook's commands, as written
//! run = "systemctl restart pdns-recursor"
//! expect = { exit = 0 }
//! ```
//!
//! Imports the claims, the inputs, DNS and the testbed (the lab's facts come from it); never
//! the runner or the judge.

mod faults;
mod load;
mod step;
pub mod facts;
pub mod monitors;
pub mod partition;
pub mod plan;
pub mod selection;

pub use faults::{Fault, SettingEdit, SettingTarget};
pub use load::{load_dir, ScenarioError};
pub use step::{end_text, parse_copy, parse_duration, parse_end, Action, CopyEnd, Expect, HarnessAction, OutcomeWant, Probe, ProbeTarget, Rebuild, RebuildFrom, RowWant, Step};

use crate::claims::{ClaimId, Part};
use crate::testbed::Role;
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// Runbook section the scenario comes from.
    pub section: String,
    pub claims: Vec<ClaimId>,
    #[serde(default)]
    pub description: String,
    /// Claims the steady state after recovery bears on (default: all of `claims`).
    #[serde(default)]
    pub recovery_claims: Option<Vec<ClaimId>>,
    /// Skip the steady-state check after recovery (for scenarios that end in a changed lab).
    #[serde(default = "yes")]
    pub steady_after: bool,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default, rename = "symptom")]
    pub symptoms: Vec<Step>,
    #[serde(default, rename = "recover")]
    pub recovery: Vec<Step>,
    #[serde(default, rename = "correction")]
    pub corrections: Vec<Correction>,
    /// Claims this scenario cannot exercise, with the reason.
    #[serde(default, rename = "not-simulated")]
    pub not_simulated: Vec<NotSimulated>,
    /// Records the scenario adds to the zone as the lab does: with `pdnsutil add-record` (the
    /// `add-journal-rows` action) and journaled after the journal's HEAD (a `journal` step).
    #[serde(default, rename = "journal-row")]
    pub journal_rows: Vec<JournalRow>,
    /// The condition the scenario's verdicts hold under, when a claim behaves differently under
    /// others ("the SOA is in the recursor's cache"); another scenario runs the other variant.
    #[serde(default)]
    pub condition: Option<String>,
    /// The claims the condition bears on (default: all the scenario decides).
    #[serde(default, rename = "condition-for")]
    pub condition_for: Option<Vec<ClaimId>>,
    /// Durations the runbook states, checked against the timeline.
    #[serde(default, rename = "timing")]
    pub timings: Vec<Timing>,
    /// The planned monitors that, by the runbook's monitoring section, should notice this
    /// fault; the detection matrix decides each one's MON- claim from the samples.
    #[serde(default)]
    pub monitors: Vec<crate::scenario::monitors::Monitor>,
    /// Settings whose values bear on the outcome without being named in a step (a cache TTL):
    /// listed with their effective values in the report, e.g. `auth.negquery-cache-ttl`.
    #[serde(default, rename = "depends-on")]
    pub depends_on: Vec<String>,
    /// Why the scenario's lab cannot be handed on as it is (beyond what its faults and actions
    /// already imply, see [`Scenario::needs_fresh_lab`]): a heal known not to restore. The VM
    /// is renewed before the lab serves again; what is left elsewhere, the fingerprint finds.
    #[serde(default, rename = "fresh-lab")]
    pub fresh_lab: Option<String>,
    /// Set by the loader.
    #[serde(skip)]
    pub file: PathBuf,
}

fn yes() -> bool {
    true
}

/// One record a scenario adds, as a journal row would carry it (the serial is HEAD + n).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalRow {
    /// Relative to the zone, like the journal's `name` column.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub content: String,
    pub ttl: u32,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotSimulated {
    pub claim: ClaimId,
    /// One part the testbed cannot exercise (the others are still judged); none: the whole claim.
    #[serde(default)]
    pub part: Option<Part>,
    pub reason: String,
}

/// A duration the runbook states: the span of the scenario's timeline it bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub claim: ClaimId,
    /// recovery (recovery started → steady state), outage (fault → steady state),
    /// detect (fault → first symptom) or rebuild (base image → steady state + download).
    pub span: TimingSpan,
    /// The runbook's figure ("10m").
    #[serde(rename = "at-most", with = "duration")]
    #[schemars(with = "String")]
    pub at_most: Duration,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimingSpan {
    Recovery,
    Outage,
    Detect,
    /// A VM rebuilt `from = "packages"`: from the VM at its base image to steady state, plus
    /// the packages' mirror download measured at image build.
    Rebuild,
}

/// An alternative procedure for a contradicted claim: the faults are injected again, these
/// steps run, and steady state must return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub claim: ClaimId,
    pub summary: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

mod duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::parse_duration(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Which table a step comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTable {
    Symptom,
    Recover,
    Correction,
}

impl Scenario {
    /// Claims a step bears on.
    pub fn step_claims<'a>(&'a self, st: &'a Step) -> &'a [ClaimId] {
        st.claims.as_deref().unwrap_or(&self.claims)
    }

    /// The part a step checks: its own, or its table's.
    pub fn step_part(st: &Step, table: StepTable) -> Option<Part> {
        if st.precondition {
            return None;
        }
        st.part.or(match table {
            StepTable::Symptom => Some(Part::Symptom),
            StepTable::Recover => Some(Part::Recovery),
            StepTable::Correction => None,
        })
    }

    pub fn recovery_claims(&self) -> &[ClaimId] {
        self.recovery_claims.as_deref().unwrap_or(&self.claims)
    }

    /// Whether any fault or step acts in `role`'s container.
    pub fn uses_role(&self, role: Role) -> bool {
        let on_fault = self.faults.iter().any(|f| match f {
            Fault::EditFile { on, .. } | Fault::Shell { on, .. } => *on == role,
            _ => role == Role::PdnsVm,
        });
        let steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        let on_step = |st: &Step| st.action.roles().contains(&role);
        on_fault || steps.into_iter().any(on_step)
    }

    /// Why this scenario cannot hand its lab on as it is (it may start on one proven clean):
    /// it replaces, stops or rewires the VM's container (a reset does not bring those back), or
    /// says so. Its lab is handed on only once the VM is renewed (see `Lab::renew_vm`).
    pub fn needs_fresh_lab(&self) -> Option<String> {
        if let Some(why) = &self.fresh_lab {
            return Some(why.clone());
        }
        let fault = self.faults.iter().find_map(|f| match f {
            Fault::StopVm | Fault::KillVm => Some("its fault stops the VM container"),
            Fault::Disconnect { .. } => Some("its fault disconnects the VM from a network"),
            Fault::LinkDown { .. } => Some("its fault takes a NIC down, and the routes on it go with it"),
            _ => None,
        });
        let mut steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        let action = steps.find_map(|s| match s.action {
            Action::StartVm | Action::StopVm | Action::RestartVm => Some("a step powers the VM container off or on"),
            Action::Rebuild(_) => Some("a step replaces the VM container"),
            _ => None,
        });
        fault.or(action).map(str::to_string)
    }

    /// Roughly how long the scenario waits on the daemons (the `within`s of its steps), so the
    /// longest waiters can start first.
    pub fn expected_wait(&self) -> Duration {
        let steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        steps.filter_map(|s| s.within).sum()
    }

    /// Releases other than the lab's that the scenario rebuilds its VM on: their images must
    /// exist before it runs.
    pub fn suites(&self) -> Vec<crate::testbed::image::Suite> {
        let steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        let mut v: Vec<crate::testbed::image::Suite> = steps
            .filter_map(|s| match s.action {
                Action::Rebuild(r) => r.suite,
                _ => None,
            })
            .collect();
        v.sort_by_key(|s| s.as_str());
        v.dedup();
        v
    }

    /// Whether a filter (substring of the name or a claim ID) selects this scenario.
    pub fn selected_by(&self, filters: &[String]) -> bool {
        filters.is_empty()
            || filters.iter().any(|f| self.name.contains(f.as_str()) || self.claims.iter().any(|c| c.as_str() == f))
    }
}

/// The claims a filtered selection decides in full: those no unselected scenario also decides
/// (a filtered run is compared with its baseline on these only).
pub fn decided_in_full(all: &[Scenario], filters: &[String]) -> std::collections::BTreeSet<String> {
    decided_in_full_by(all, |s| s.selected_by(filters))
}

/// The claims the scenarios `selected` picks decide in full (a shard's, a filter's).
pub fn decided_in_full_by(all: &[Scenario], selected: impl Fn(&Scenario) -> bool) -> std::collections::BTreeSet<String> {
    let partly: std::collections::BTreeSet<String> =
        all.iter().filter(|s| !selected(s)).flat_map(|s| s.claims.iter().map(|c| c.to_string())).collect();
    all.iter().filter(|s| selected(s)).flat_map(|s| s.claims.iter().map(|c| c.to_string())).filter(|c| !partly.contains(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const OK: &str = r#"
name = "recursor-down"
section = "Daemon-level recovery"
claims = ["DAE-REC", "TRI-2"]
[[fault]]
kind = "stop-unit"
unit = "pdns-recursor"
[[symptom]]
part = "check"
probe = "recursor"
qname = "www.google.com"
expect = { outcome = "timeout" }
within = "10s"
[[symptom]]
part = "check"
triage = true
expect = { row = "TRI-2" }
claims = ["TRI-2"]
[[recover]]
run = "systemctl restart pdns-recursor"
on = "pdns-vm"
expect = { exit = 0 }
"#;

    #[test]
    fn valid_file_parses() {
        let s = Scenario::parse("x.toml", OK).unwrap();
        assert_eq!(s.claims.len(), 2);
        assert_eq!(s.symptoms[0].within, Some(Duration::from_secs(10)));
        assert_eq!(s.faults, vec![Fault::StopUnit { unit: "pdns-recursor".into() }]);
        assert_eq!(s.step_claims(&s.symptoms[1]).len(), 1);
        assert!(s.steady_after);
    }

    fn err(text: &str) -> String {
        Scenario::parse("bad.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let e = err(&OK.replace("within = \"10s\"", "witin = \"10s\""));
        assert!(e.starts_with("bad.toml: "), "{e}");
        assert!(e.contains("line 13") && e.contains("witin"), "{e}");
    }

    #[test]
    fn unknown_claim_is_rejected_with_its_line() {
        let e = err(&OK.replace("\"DAE-REC\", \"TRI-2\"]", "\"DAE-REC\", \"TRI-9\"]"));
        assert!(e.contains("TRI-9") && e.contains("line 4"), "{e}");
    }

    #[test]
    fn bad_duration_and_bad_fault_kind() {
        assert!(err(&OK.replace("\"10s\"", "\"10 parsecs\"")).contains("not a duration"));
        assert!(err(&OK.replace("stop-unit", "melt-unit")).contains("melt-unit"));
    }

    #[test]
    fn step_needs_exactly_one_action() {
        let e = err(&OK.replace("triage = true", "triage = true\nrun = \"x\"\non = \"pdns-vm\""));
        assert!(e.contains("[[symptom]] #2") && e.contains("exactly one"), "{e}");
        assert!(err(&OK.replace("on = \"pdns-vm\"\n", "")).contains("needs `on`"));
        assert!(err(&OK.replace("qname = \"www.google.com\"\n", "")).contains("needs `qname`"));
    }

    #[test]
    fn a_step_must_check_a_part_its_claims_state() {
        // DAE-REC and TRI-2 state no symptom part: an expectation under [[symptom]] must say which.
        let e = err(&OK.replacen("part = \"check\"\n", "", 1));
        assert!(e.contains("checks the symptom part (its table's default), which none of its claims (DAE-REC, TRI-2) states"), "{e}");
        let e = err(&OK.replacen("part = \"check\"", "part = \"timing\"", 1));
        assert!(e.contains("checks the timing part"), "{e}");
    }

    #[test]
    fn step_claims_must_be_scenario_claims() {
        let e = err(&OK.replace("claims = [\"TRI-2\"]", "claims = [\"TRI-3\"]"));
        assert!(e.contains("TRI-3") && e.contains("does not list"), "{e}");
    }

    #[test]
    fn harness_actions_are_typed_at_load() {
        let with_action = |a: &str| OK.replace("[[recover]]\nrun = \"systemctl restart pdns-recursor\"\non = \"pdns-vm\"\nexpect = { exit = 0 }", &format!("[[recover]]\naction = \"{a}\""));
        assert_eq!(Scenario::parse("ok.toml", &with_action("rebuild-vm-scratch")).unwrap().recovery[0].action.harness_action(), Some(HarnessAction::RebuildVmScratch));
        let e = err(&with_action("reboot-vm"));
        assert!(e.contains("bad.toml") && e.contains("reboot-vm") && e.contains("rebuild-vm-scratch"), "{e}");
        let e = err(&with_action("stop-vm").replace("action = \"stop-vm\"", "action = \"stop-vm\"\nsuite = \"trixie\""));
        assert!(e.contains("`suite` goes with"), "{e}");
        let ow = Scenario::parse("ok.toml", &with_action("overwrite-pages\"\nfile = \"{db}\"\nof = \"records")).unwrap();
        assert_eq!(ow.recovery[0].action, Action::OverwritePages { file: "{db}".into(), of: "records".into() });
        let e = err(&with_action("overwrite-pages\"\nfile = \"{db}"));
        assert!(e.contains("takes `file` and `of`"), "{e}");
        let e = err(&with_action("heal\"\nof = \"records"));
        assert!(e.contains("takes `file` and `of`"), "{e}");
    }

    #[test]
    fn bad_regex_and_unknown_role_are_caught() {
        let e = err(&OK.replace("expect = { exit = 0 }", "expect = { stdout_matches = \"(\" }"));
        assert!(e.contains("bad regex"), "{e}");
        assert!(err(&OK.replace("on = \"pdns-vm\"", "on = \"mainframe\"")).contains("mainframe"));
    }

    #[test]
    fn edit_file_needs_one_edit() {
        let t = OK.replace("kind = \"stop-unit\"\nunit = \"pdns-recursor\"", "kind = \"edit-file\"\npath = \"/x\"\nappend = \"a\"\nset = \"b\"");
        assert!(err(&t).contains("exactly one of `append`"));
    }

    #[test]
    fn setting_replace_text_keeps_separators() {
        let t = OK.replace(
            "kind = \"stop-unit\"\nunit = \"pdns-recursor\"",
            "kind = \"setting\"\ndaemon = \"recursor\"\nkey = \"forward-zones\"\nreplace = \"=10.0.0.35\"\nwith = \"=10.0.0.53\"",
        );
        let s = Scenario::parse("x.toml", &t).unwrap();
        let edit = s.faults[0].setting_edit().unwrap();
        assert_eq!(edit, SettingEdit::ReplaceText("=10.0.0.35".into(), "=10.0.0.53".into()));
        // `;` between forwarders stays `;` (a `,` would start another zone).
        let v = edit.apply("forward-zones", Some("lab.example=10.0.0.35:53;192.0.2.53:53")).unwrap();
        assert_eq!(v.as_deref(), Some("lab.example=10.0.0.53:53;192.0.2.53:53"));
        let e = edit.apply("forward-zones", Some("lab.example=10.0.0.54")).unwrap_err();
        assert!(e.contains("has no `=10.0.0.35`"), "{e}");
        assert!(err(&t.replace("with = \"=10.0.0.53\"", "")).contains("`replace` with `with`"));
    }

    #[test]
    fn copy_steps() {
        let ((from, fp), (to, tp)) = parse_copy("pdns-vm:/var/lib/powerdns/pdns.sqlite3 -> workstation:/srv/b/x").unwrap();
        assert_eq!((from, fp.as_str(), to, tp.as_str()), (Role::PdnsVm, "/var/lib/powerdns/pdns.sqlite3", Role::Workstation, "/srv/b/x"));
        assert!(parse_copy("pdns-vm:/a workstation:/b").is_err());
        assert!(parse_copy("moon:/a -> workstation:/b").is_err());
    }

    #[test]
    fn rebuild_on_another_release_needs_a_new_disk() {
        let with = |action: &str, extra: &str| OK.replace("[[recover]]\nrun = \"systemctl restart pdns-recursor\"\non = \"pdns-vm\"\nexpect = { exit = 0 }", &format!("[[recover]]\naction = \"{action}\"\n{extra}"));
        let s = Scenario::parse("x.toml", &with("rebuild-vm-scratch", "suite = \"trixie\"\nrecursor-settings = \"yaml\"\n")).unwrap();
        let rebuild = Rebuild { keep_disk: false, suite: Some(crate::testbed::image::Suite::Trixie), recursor_settings: Some(crate::testbed::config::RecursorSettings::Yaml), from: RebuildFrom::Image };
        assert_eq!(s.recovery[0].action, Action::Rebuild(rebuild));
        assert_eq!(s.suites(), [crate::testbed::image::Suite::Trixie]);
        assert!(err(&with("rebuild-vm", "suite = \"trixie\"\n")).contains("`suite` goes with `action = \"rebuild-vm-scratch\"`"));
        assert!(Scenario::parse("x.toml", &with("rebuild-vm", "recursor-settings = \"old-settings-flag\"\n")).is_ok());
        assert!(err(&with("stop-vm", "recursor-settings = \"yaml\"\n")).contains("`recursor-settings` goes with"));
        assert!(err(&with("rebuild-vm-scratch", "suite = \"sid\"\n")).contains("sid"));
        assert!(Scenario::parse("x.toml", OK).unwrap().suites().is_empty());
    }

    #[test]
    fn a_rebuild_from_packages_and_its_timing() {
        let with = |action: &str, extra: &str| OK.replace("[[recover]]\nrun = \"systemctl restart pdns-recursor\"\non = \"pdns-vm\"\nexpect = { exit = 0 }", &format!("[[recover]]\naction = \"{action}\"\n{extra}"));
        let s = Scenario::parse("x.toml", &with("rebuild-vm", "from = \"packages\"\n")).unwrap();
        assert!(matches!(s.recovery[0].action, Action::Rebuild(Rebuild { keep_disk: true, from: RebuildFrom::Packages, .. })));
        assert!(err(&with("rebuild-vm-scratch", "from = \"packages\"\n")).contains("`from` goes with `action = \"rebuild-vm\"`"));
        assert!(err(&with("rebuild-vm", "from = \"mirror\"\n")).contains("mirror"));
        // The rebuild span is read off a rebuild from packages only.
        let timing = "\n[[timing]]\nclaim = \"DAE-REC\"\nspan = \"rebuild\"\nat-most = \"10m\"\n";
        let claims = |t: String| t.replace("claims = [\"DAE-REC\", \"TRI-2\"]", "claims = [\"DAE-REC\", \"TRI-2\", \"VM-REBUILD\"]").replace("claim = \"DAE-REC\"\nspan", "claim = \"VM-REBUILD\"\nspan");
        let e = err(&claims(format!("{}{timing}", with("rebuild-vm", ""))));
        assert!(e.contains("span `rebuild` needs"), "{e}");
        let s = Scenario::parse("x.toml", &claims(format!("{}{timing}", with("rebuild-vm", "from = \"packages\"\n")))).unwrap();
        assert_eq!(s.timings[0].span, TimingSpan::Rebuild);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn shipped_scenarios_are_all_planned_against_the_shipped_labs() {
        use crate::testbed::config::{ConfigDir, ZoneInput};
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let all = load_dir(&root.join("scenarios")).unwrap();
        assert!(all.len() >= 50, "{} scenarios", all.len());
        let labs = [
            ("lab/etc-powerdns", "lab/zone/dns-records.md", "ze"),
            ("labs/branch-office/etc-powerdns", "labs/branch-office/zone/dns-records.md", "netops"),
            ("labs/edge-host/etc-powerdns", "labs/edge-host/zone/dns-records.md", "ze"),
        ];
        for (conf, zone, operator) in labs {
            let config = ConfigDir::load(&root.join(conf)).unwrap();
            let zone = ZoneInput::load(&root.join(zone)).unwrap();
            let facts = facts::LabFacts::read(&config, &zone.journal).unwrap();
            let mut ready = 0;
            for s in &all {
                match plan::resolve(s, &facts) {
                    plan::Resolved::Ready(planned) => {
                        let p = &planned.scenario;
                        ready += 1;
                        assert_eq!(p.name, s.name);
                        // Every placeholder filled from the lab, the runbook's login included.
                        let text = toml::to_string(p).unwrap();
                        assert!(!text.contains("{operator}") && !text.contains("{db}") && !text.contains("{zone}"), "{} on {conf}: placeholder left", s.name);
                        let users: Vec<_> = p.symptoms.iter().chain(&p.recovery).filter_map(|st| st.user()).collect();
                        assert!(users.iter().all(|u| *u == operator || *u == "pdns"), "{} on {conf}: steps as {users:?}", s.name);
                    }
                    // Only the edge host (one address, the authoritative on loopback) lacks
                    // what some scenarios need, and then it says what.
                    plan::Resolved::NotSimulated(why) => assert!(conf.contains("edge-host") && why.contains(&s.name), "{} on {conf}: {why}", s.name),
                }
            }
            assert!(ready >= 40, "{conf}: only {ready} scenarios plan");
        }
    }

    #[test]
    fn harness_steps_are_evidence_only() {
        let head = "name = \"x\"\nsection = \"Monitoring\"\nclaims = [\"MON-STATE\"]\n";
        let copy = format!("{head}[[recover]]\ncopy = \"pdns-vm:/a -> workstation:/b\"\nexpect = {{ exit = 0 }}\n");
        assert!(Scenario::parse("x.toml", &copy).unwrap_err().to_string().contains("evidence only"));
        let action = format!("{head}[[recover]]\naction = \"heal\"\npart = \"recovery\"\n");
        assert!(Scenario::parse("x.toml", &action).unwrap_err().to_string().contains("evidence only"));
        assert!(Scenario::parse("x.toml", &format!("{head}[[recover]]\naction = \"fix-file\"\n")).is_ok());
    }

    proptest::proptest! {
        /// Any scenario that serialises parses back to itself.
        #[test]
        fn round_trip(unit in "[a-z][a-z-]{0,12}", secs in 1u64..600, exit in -1i64..256, row in 1u8..7) {
            let mut s = Scenario::parse("x.toml", OK).unwrap();
            s.faults = vec![Fault::StopUnit { unit }];
            s.symptoms[0].within = Some(Duration::from_secs(secs));
            s.recovery[0].expect.exit = Some(exit);
            s.symptoms[1].expect.row = Some(RowWant::try_from(format!("TRI-{row}")).unwrap());
            let text = toml::to_string(&s).unwrap();
            let back = Scenario::parse("x.toml", &text).unwrap();
            proptest::prop_assert_eq!(back, s);
        }
    }
}
