//! A step as the runner takes it: one typed action, what it must show, how long to keep asking.
//!
//! Files write a step as one flat table ([`StepFile`], the keys scenarios/README.md documents).
//! It is read into a [`Step`] with every "exactly one of" and "goes with" rule checked there, so
//! no later module meets a step with two actions or an option its action ignores; it is written
//! back the same way, so a planned scenario or a chaos reproducer serialises as a file does.
//! The small grammars a step's values use (copy ends, durations) live here too.

use crate::claims::{ClaimId, Part, Severity};
use crate::dns::codes::{RType, Rcode, Transport};
use crate::dns::probe::Outcome;
use crate::dns::triage::Row;
use crate::testbed::config::RecursorSettings;
use crate::testbed::image::Suite;
use crate::testbed::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One step: an action, what it must show, and how long to keep trying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StepFile", into = "StepFile")]
pub struct Step {
    pub action: Action,
    pub expect: Expect,
    /// Poll until the expectation holds, for at most this long; `None`: once.
    pub within: Option<Duration>,
    /// Claims this step bears on (default: all of the scenario's).
    pub claims: Option<Vec<ClaimId>>,
    /// The claim part the step checks (default: its table's).
    pub part: Option<Part>,
    /// What it costs the operator when this expectation fails (default: by part).
    pub severity: Option<Severity>,
    /// The expectation is the harness's reading, not the runbook's own command and stated
    /// outcome: what it assumes and why. A contradiction it decides has this basis.
    pub interpretation: Option<String>,
    /// Set-up the scenario needs: when its expectation fails the scenario is errored, not judged.
    pub precondition: bool,
    /// Short label for reports.
    pub note: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A shell line as the runbook writes it, on a lab host, as a user (root without one).
    Run { command: String, on: Role, user: Option<String> },
    /// A native DNS query at a lab address.
    Probe(Probe),
    /// A file copied between containers, as scp would.
    Copy { from: CopyEnd, to: CopyEnd },
    /// The lab's journal (its addresses on the testbed) plus the scenario's rows after HEAD.
    Journal { to: CopyEnd },
    /// The runbook's first triage, from a lab host.
    Triage { from: Role },
    StartVm,
    StopVm,
    RestartVm,
    Rebuild(Rebuild),
    /// `pdnsutil add-record` for each of the scenario's journal rows.
    AddJournalRows,
    WaitSteady,
    Heal,
    /// The files the faults edited put back as they were, nothing restarted.
    FixFile,
    /// The pages of one table's or index's b-tree in an SQLite file overwritten with garbage.
    OverwritePages { file: String, of: String },
}

impl Action {
    /// The harness's own doing (evidence only), named as the file names it; `None` for the
    /// actions that ask the daemons something (run, probe, triage).
    pub fn harness_action(&self) -> Option<HarnessAction> {
        Some(match self {
            Action::Run { .. } | Action::Probe(_) | Action::Triage { .. } | Action::Copy { .. } | Action::Journal { .. } => return None,
            Action::StartVm => HarnessAction::StartVm,
            Action::StopVm => HarnessAction::StopVm,
            Action::RestartVm => HarnessAction::RestartVm,
            Action::Rebuild(r) if r.keep_disk => HarnessAction::RebuildVm,
            Action::Rebuild(_) => HarnessAction::RebuildVmScratch,
            Action::AddJournalRows => HarnessAction::AddJournalRows,
            Action::WaitSteady => HarnessAction::WaitSteady,
            Action::Heal => HarnessAction::Heal,
            Action::FixFile => HarnessAction::FixFile,
            Action::OverwritePages { .. } => HarnessAction::OverwritePages,
        })
    }

    /// Whether the harness did it rather than asking the daemons: copies, journal writes and
    /// the `action`s. Such a step is evidence only; when it fails the scenario is errored.
    pub fn is_harness_own(&self) -> bool {
        matches!(self, Action::Copy { .. } | Action::Journal { .. }) || self.harness_action().is_some()
    }

    /// The containers the step acts in.
    pub fn roles(&self) -> Vec<Role> {
        match self {
            Action::Run { on, .. } => vec![*on],
            Action::Copy { from, to } => vec![from.0, to.0],
            Action::Journal { to } => vec![to.0],
            Action::Triage { from } => vec![*from],
            _ => vec![],
        }
    }
}

/// Where a probe is sent: a daemon of the lab by its role, or an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub target: ProbeTarget,
    pub qname: String,
    pub qtype: RType,
    pub transport: Transport,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeTarget {
    Recursor,
    /// The authoritative where its own settings make it listen.
    Auth,
    /// The authoritative's public address and port.
    AuthPublic,
    Internet,
    Address(std::net::IpAddr),
    /// An address placeholder (`{vm}`), until the plan or the binding fills it.
    Unfilled(String),
}

impl ProbeTarget {
    fn parse(s: &str) -> Result<ProbeTarget, String> {
        Ok(match s {
            "recursor" => ProbeTarget::Recursor,
            "auth" => ProbeTarget::Auth,
            "auth-public" => ProbeTarget::AuthPublic,
            "internet" => ProbeTarget::Internet,
            p if p.starts_with('{') && p.ends_with('}') => ProbeTarget::Unfilled(p.to_string()),
            other => ProbeTarget::Address(other.parse().map_err(|_| format!("probe target `{other}` is not recursor, auth, auth-public, internet, an address or an address placeholder"))?),
        })
    }
}

impl fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeTarget::Recursor => f.write_str("recursor"),
            ProbeTarget::Auth => f.write_str("auth"),
            ProbeTarget::AuthPublic => f.write_str("auth-public"),
            ProbeTarget::Internet => f.write_str("internet"),
            ProbeTarget::Address(a) => write!(f, "{a}"),
            ProbeTarget::Unfilled(p) => f.write_str(p),
        }
    }
}

/// A new VM container in place of the old one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rebuild {
    /// On the old VM's disk (`rebuild-vm`), or a new one too (`rebuild-vm-scratch`).
    pub keep_disk: bool,
    /// The new VM from this release's lab image (a new disk only: a kept one carries the old
    /// release's /var).
    pub suite: Option<Suite>,
    /// How the new VM's recursor gets its settings (default: as the VM had them).
    pub recursor_settings: Option<RecursorSettings>,
    /// Packages from the image, or installed from the kept .debs (a kept disk only).
    pub from: RebuildFrom,
}

/// What `rebuild-vm` builds the new VM from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebuildFrom {
    /// The lab image, the PowerDNS packages installed in it.
    #[default]
    Image,
    /// The base image: the packages installed from the .debs the image build kept.
    Packages,
}

/// What the harness itself does as a step, as a file names it (`action = "rebuild-vm-scratch"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HarnessAction {
    StartVm,
    StopVm,
    RestartVm,
    /// A new VM container on the old one's disk.
    RebuildVm,
    /// A new VM from nothing: a new disk too.
    RebuildVmScratch,
    AddJournalRows,
    WaitSteady,
    Heal,
    FixFile,
    OverwritePages,
}

impl HarnessAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HarnessAction::StartVm => "start-vm",
            HarnessAction::StopVm => "stop-vm",
            HarnessAction::RestartVm => "restart-vm",
            HarnessAction::RebuildVm => "rebuild-vm",
            HarnessAction::RebuildVmScratch => "rebuild-vm-scratch",
            HarnessAction::AddJournalRows => "add-journal-rows",
            HarnessAction::WaitSteady => "wait-steady",
            HarnessAction::Heal => "heal",
            HarnessAction::FixFile => "fix-file",
            HarnessAction::OverwritePages => "overwrite-pages",
        }
    }
}

/// Expectations; every one given must hold.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    pub outcome: Option<OutcomeWant>,
    pub rcode: Option<Rcode>,
    /// The answer section holds at least one record (true) or none (false).
    pub answers: Option<bool>,
    /// Some answer's data contains this text.
    pub answer_contains: Option<String>,
    pub aa: Option<bool>,
    pub exit: Option<i64>,
    pub exit_not: Option<i64>,
    pub stdout_contains: Option<String>,
    pub stdout_lacks: Option<String>,
    /// Regex on stdout.
    pub stdout_matches: Option<String>,
    /// Regex on stdout and stderr together.
    pub output_matches: Option<String>,
    pub row: Option<RowWant>,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self == &Expect::default()
    }
}

/// How a probe must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeWant {
    Response,
    Timeout,
    Refused,
    Reset,
    Error,
    /// Anything but a response.
    NoReply,
}

impl OutcomeWant {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeWant::Response => "response",
            OutcomeWant::Timeout => "timeout",
            OutcomeWant::Refused => "refused",
            OutcomeWant::Reset => "reset",
            OutcomeWant::Error => "error",
            OutcomeWant::NoReply => "no-reply",
        }
    }

    pub fn admits(self, o: &Outcome) -> bool {
        match self {
            OutcomeWant::NoReply => !matches!(o, Outcome::Response(_)),
            want => want.as_str() == o.kind(),
        }
    }
}

/// The triage row a step expects: a row, none of them, or the row the scenario's first triage
/// under the fault landed on (the same probes from another host must agree, whatever it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum RowWant {
    Row(Row),
    Unknown,
    AsLanded,
}

impl RowWant {
    /// The row a triage landed on, as an expectation.
    pub fn landed(row: Option<Row>) -> RowWant {
        row.map_or(RowWant::Unknown, RowWant::Row)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RowWant::Row(r) => r.id(),
            RowWant::Unknown => "unknown",
            RowWant::AsLanded => "as-landed",
        }
    }
}

impl From<RowWant> for String {
    fn from(r: RowWant) -> String {
        r.as_str().to_string()
    }
}

impl TryFrom<String> for RowWant {
    type Error = String;
    fn try_from(s: String) -> Result<RowWant, String> {
        match s.as_str() {
            "unknown" => Ok(RowWant::Unknown),
            "as-landed" => Ok(RowWant::AsLanded),
            id => Row::ALL.into_iter().find(|r| r.id() == id).map(RowWant::Row).ok_or_else(|| format!("`row = \"{id}\"` is not TRI-1..TRI-6, unknown or as-landed")),
        }
    }
}

/// One end of a copy: a container and a path in it.
pub type CopyEnd = (Role, String);

/// "ROLE:/path -> ROLE:/path" into its two ends.
pub fn parse_copy(s: &str) -> Result<(CopyEnd, CopyEnd), String> {
    let bad = || format!("`copy = \"{s}\"` is not \"ROLE:/path -> ROLE:/path\"");
    let (a, b) = s.split_once("->").ok_or_else(bad)?;
    Ok((parse_end(a).map_err(|_| bad())?, parse_end(b).map_err(|_| bad())?))
}

/// "ROLE:/path" into a container and a path.
pub fn parse_end(x: &str) -> Result<CopyEnd, String> {
    let bad = || format!("`{}` is not \"ROLE:/path\"", x.trim());
    let (r, p) = x.trim().split_once(':').ok_or_else(bad)?;
    // A path may start with a placeholder that the plan fills with an absolute path ({db}).
    if !p.starts_with('/') && !p.starts_with('{') {
        return Err(bad());
    }
    Ok((r.parse::<Role>()?, p.to_string()))
}

/// "10s", "1500ms", "2m".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 10s, 500ms or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{s}` is not a duration like 10s, 500ms or 2m")),
    }
}

/// A step as a file writes it: one flat table, each action a key of its own.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepFile {
    pub run: Option<String>,
    pub on: Option<Role>,
    pub user: Option<String>,
    pub probe: Option<String>,
    pub qname: Option<String>,
    pub qtype: Option<RType>,
    pub transport: Option<Transport>,
    pub copy: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub triage: bool,
    pub journal: Option<String>,
    pub action: Option<HarnessAction>,
    pub suite: Option<Suite>,
    #[serde(rename = "recursor-settings")]
    pub recursor_settings: Option<RecursorSettings>,
    pub from: Option<RebuildFrom>,
    pub file: Option<String>,
    pub of: Option<String>,
    #[serde(skip_serializing_if = "Expect::is_empty")]
    pub expect: Expect,
    pub within: Option<String>,
    pub claims: Option<Vec<ClaimId>>,
    pub part: Option<Part>,
    pub severity: Option<Severity>,
    pub interpretation: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub precondition: bool,
    pub note: Option<String>,
}

impl TryFrom<StepFile> for Step {
    type Error = String;

    fn try_from(f: StepFile) -> Result<Step, String> {
        let kinds = [f.run.is_some(), f.probe.is_some(), f.triage, f.action.is_some(), f.copy.is_some(), f.journal.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("a step: give exactly one of `run`, `probe`, `triage = true`, `action`, `copy`, `journal`".into());
        }
        // Each option belongs to one action: given to another, it would be silently ignored.
        let stray = |key: &str, given: bool, goes_with: &str| if given { Err(format!("`{key}` goes with {goes_with}")) } else { Ok(()) };
        stray("user", f.user.is_some() && f.run.is_none(), "`run`")?;
        stray("qname", f.qname.is_some() && f.probe.is_none(), "`probe`")?;
        stray("qtype", f.qtype.is_some() && f.probe.is_none(), "`probe`")?;
        stray("transport", f.transport.is_some() && f.probe.is_none(), "`probe`")?;
        stray("on", f.on.is_some() && f.run.is_none() && !f.triage, "`run` or `triage = true`")?;
        // A kept disk holds the old release's /var (its package database): another release
        // needs a new disk.
        stray("suite", f.suite.is_some() && f.action != Some(HarnessAction::RebuildVmScratch), "`action = \"rebuild-vm-scratch\"` (a kept disk carries the old release's /var)")?;
        let rebuild = matches!(f.action, Some(HarnessAction::RebuildVm | HarnessAction::RebuildVmScratch));
        stray("recursor-settings", f.recursor_settings.is_some() && !rebuild, "`action = \"rebuild-vm\"` or `\"rebuild-vm-scratch\"`")?;
        stray("from", f.from.is_some() && f.action != Some(HarnessAction::RebuildVm), "`action = \"rebuild-vm\"`")?;
        let overwrite = f.action == Some(HarnessAction::OverwritePages);
        if (overwrite && (f.file.is_none() || f.of.is_none())) || (!overwrite && (f.file.is_some() || f.of.is_some())) {
            return Err("`action = \"overwrite-pages\"` takes `file` and `of`, and they go with no other step".into());
        }
        let action = if let Some(command) = f.run {
            let on = f.on.ok_or("a `run` needs `on` (pdns-vm, workstation, client, internet)")?;
            Action::Run { command, on, user: f.user }
        } else if let Some(target) = f.probe {
            let qname = f.qname.ok_or("a `probe` needs `qname`")?;
            let target = ProbeTarget::parse(&target)?;
            Action::Probe(Probe { target, qname, qtype: f.qtype.unwrap_or(RType::A), transport: f.transport.unwrap_or(Transport::Udp) })
        } else if f.triage {
            let from = f.on.unwrap_or(Role::Workstation);
            if !matches!(from, Role::Workstation | Role::Client | Role::PdnsVm) {
                return Err("a triage runs on a lab host: `on` = \"workstation\", \"client\" or \"pdns-vm\"".into());
            }
            Action::Triage { from }
        } else if let Some(c) = f.copy {
            let (from, to) = parse_copy(&c)?;
            Action::Copy { from, to }
        } else if let Some(j) = f.journal {
            Action::Journal { to: parse_end(&j)? }
        } else {
            match f.action.expect("one kind is given") {
                HarnessAction::StartVm => Action::StartVm,
                HarnessAction::StopVm => Action::StopVm,
                HarnessAction::RestartVm => Action::RestartVm,
                a @ (HarnessAction::RebuildVm | HarnessAction::RebuildVmScratch) => Action::Rebuild(Rebuild {
                    keep_disk: a == HarnessAction::RebuildVm,
                    suite: f.suite,
                    recursor_settings: f.recursor_settings,
                    from: f.from.unwrap_or_default(),
                }),
                HarnessAction::AddJournalRows => Action::AddJournalRows,
                HarnessAction::WaitSteady => Action::WaitSteady,
                HarnessAction::Heal => Action::Heal,
                HarnessAction::FixFile => Action::FixFile,
                HarnessAction::OverwritePages => Action::OverwritePages { file: f.file.expect("checked above"), of: f.of.expect("checked above") },
            }
        };
        // The harness's own actions prove nothing about the daemons: evidence only.
        if action.is_harness_own() && (!f.expect.is_empty() || f.part.is_some() || f.severity.is_some() || f.interpretation.is_some()) {
            let what = match &action {
                Action::Copy { .. } => "a `copy`",
                Action::Journal { .. } => "a `journal` write",
                _ => "an `action`",
            };
            return Err(format!("{what} is the harness's own doing: evidence only, it takes no `expect`, `part`, `severity` or `interpretation` (when it fails the scenario is errored)"));
        }
        if f.expect.row.is_some() && !matches!(action, Action::Triage { .. }) {
            return Err("`expect.row` goes with `triage = true`".into());
        }
        let within = f.within.as_deref().map(parse_duration).transpose()?;
        Ok(Step {
            action,
            expect: f.expect,
            within,
            claims: f.claims,
            part: f.part,
            severity: f.severity,
            interpretation: f.interpretation,
            precondition: f.precondition,
            note: f.note,
        })
    }
}

/// A copy end as a file writes it, "ROLE:/path".
pub fn end_text((role, path): &CopyEnd) -> String {
    format!("{}:{path}", role.as_str())
}

impl From<Step> for StepFile {
    fn from(s: Step) -> StepFile {
        let mut f = StepFile {
            expect: s.expect,
            within: s.within.map(|d| format!("{}ms", d.as_millis())),
            claims: s.claims,
            part: s.part,
            severity: s.severity,
            interpretation: s.interpretation,
            precondition: s.precondition,
            note: s.note,
            action: s.action.harness_action(),
            ..StepFile::default()
        };
        match s.action {
            Action::Run { command, on, user } => {
                f.run = Some(command);
                f.on = Some(on);
                f.user = user;
            }
            Action::Probe(p) => {
                f.probe = Some(p.target.to_string());
                f.qname = Some(p.qname);
                f.qtype = Some(p.qtype);
                f.transport = Some(p.transport);
            }
            Action::Copy { from, to } => f.copy = Some(format!("{} -> {}", end_text(&from), end_text(&to))),
            Action::Journal { to } => f.journal = Some(end_text(&to)),
            Action::Triage { from } => {
                f.triage = true;
                f.on = Some(from);
            }
            Action::Rebuild(r) => {
                f.suite = r.suite;
                f.recursor_settings = r.recursor_settings;
                f.from = (r.keep_disk && r.from != RebuildFrom::Image).then_some(r.from);
            }
            Action::OverwritePages { file, of } => {
                f.file = Some(file);
                f.of = Some(of);
            }
            Action::StartVm | Action::StopVm | Action::RestartVm | Action::AddJournalRows | Action::WaitSteady | Action::Heal | Action::FixFile => {}
        }
        f
    }
}

impl Step {
    /// A step that does `action` once and expects nothing of it.
    pub fn of(action: Action) -> Step {
        Step { action, expect: Expect::default(), within: None, claims: None, part: None, severity: None, interpretation: None, precondition: false, note: None }
    }

    /// The shell line of a `run` step.
    pub fn command(&self) -> Option<&str> {
        match &self.action {
            Action::Run { command, .. } => Some(command),
            _ => None,
        }
    }

    /// Who a `run` step runs as, when not root.
    pub fn user(&self) -> Option<&str> {
        match &self.action {
            Action::Run { user, .. } => user.as_deref(),
            _ => None,
        }
    }

    pub fn noted(mut self, note: impl Into<String>) -> Step {
        self.note = Some(note.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(toml_text: &str) -> Result<Step, String> {
        #[derive(Deserialize)]
        struct One {
            step: Step,
        }
        toml::from_str::<One>(&format!("[step]\n{toml_text}")).map(|o| o.step).map_err(|e| e.to_string())
    }

    #[test]
    fn each_action_is_read_into_its_own_variant_with_its_defaults() {
        assert_eq!(step("run = \"x\"\non = \"pdns-vm\"").unwrap().action, Action::Run { command: "x".into(), on: Role::PdnsVm, user: None });
        let p = step("probe = \"auth\"\nqname = \"{zone}\"").unwrap();
        assert_eq!(p.action, Action::Probe(Probe { target: ProbeTarget::Auth, qname: "{zone}".into(), qtype: RType::A, transport: Transport::Udp }));
        assert_eq!(step("triage = true").unwrap().action, Action::Triage { from: Role::Workstation });
        assert_eq!(step("journal = \"workstation:/tmp/j.md\"").unwrap().action, Action::Journal { to: (Role::Workstation, "/tmp/j.md".into()) });
        let r = step("action = \"rebuild-vm-scratch\"\nsuite = \"trixie\"").unwrap();
        assert_eq!(r.action, Action::Rebuild(Rebuild { keep_disk: false, suite: Some(Suite::Trixie), recursor_settings: None, from: RebuildFrom::Image }));
        let ow = step("action = \"overwrite-pages\"\nfile = \"{db}\"\nof = \"records\"").unwrap();
        assert_eq!(ow.action, Action::OverwritePages { file: "{db}".into(), of: "records".into() });
    }

    #[test]
    fn options_of_another_action_and_typed_expectations_are_refused() {
        for (text, says) in [
            ("probe = \"auth\"\nqname = \"x\"\nuser = \"ze\"", "`user` goes with `run`"),
            ("run = \"x\"\non = \"pdns-vm\"\nqname = \"x\"", "`qname` goes with `probe`"),
            ("action = \"heal\"\non = \"pdns-vm\"", "`on` goes with"),
            ("action = \"rebuild-vm\"\nsuite = \"trixie\"", "`suite` goes with"),
            ("action = \"rebuild-vm-scratch\"\nfrom = \"packages\"", "`from` goes with"),
            ("probe = \"moon\"\nqname = \"x\"", "not recursor, auth"),
            ("triage = true\non = \"internet\"", "runs on a lab host"),
            ("triage = true\nexpect = { row = \"TRI-9\" }", "TRI-9"),
            ("probe = \"auth\"\nqname = \"x\"\nexpect = { outcome = \"slow\" }", "slow"),
            ("probe = \"auth\"\nqname = \"x\"\nexpect = { rcode = \"MAYBE\" }", "MAYBE"),
            ("run = \"x\"\non = \"pdns-vm\"\nexpect = { row = \"TRI-1\" }", "`expect.row` goes with"),
        ] {
            let e = step(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn a_step_written_back_reads_as_the_same_step() {
        for text in [
            "run = \"systemctl restart pdns\"\non = \"pdns-vm\"\nuser = \"{operator}\"\nexpect = { exit = 0, stdout_contains = \"x\" }\nwithin = \"10s\"",
            "probe = \"10.0.0.1\"\nqname = \"a.\"\nqtype = \"SOA\"\ntransport = \"tcp\"\nexpect = { outcome = \"no-reply\" }",
            "probe = \"recursor\"\nqname = \"a.\"\nexpect = { rcode = \"nxdomain\", aa = false }\nseverity = \"misdiagnosis\"",
            "copy = \"pdns-vm:/a -> workstation:/b\"",
            "triage = true\non = \"client\"\nexpect = { row = \"as-landed\" }",
            "action = \"rebuild-vm\"\nfrom = \"packages\"\nrecursor-settings = \"yaml\"",
            "action = \"heal\"\nnote = \"n\"",
        ] {
            let s = step(text).unwrap();
            let back: StepFile = s.clone().into();
            let again = Step::try_from(back).unwrap();
            assert_eq!(again, s, "{text}");
        }
        assert_eq!(step("probe = \"a\"\nqname = \"x\"\nexpect = { rcode = \"nxdomain\" }").ok(), None, "`a` is no target");
        // An address placeholder loads, and is an address once filled.
        let p = step("probe = \"{vm}\"\nqname = \"x.\"").unwrap();
        assert!(matches!(&p.action, Action::Probe(Probe { target: ProbeTarget::Unfilled(t), .. }) if t == "{vm}"));
        let mut file: StepFile = p.into();
        file.probe = file.probe.map(|t| t.replace("{vm}", "10.0.0.9"));
        assert!(matches!(Step::try_from(file).unwrap().action, Action::Probe(Probe { target: ProbeTarget::Address(_), .. })));
    }

    #[test]
    fn outcome_wants_admit_what_they_name() {
        assert!(OutcomeWant::NoReply.admits(&Outcome::Timeout) && !OutcomeWant::NoReply.admits(&crate::dns::dig::outcome(";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1")));
        assert!(OutcomeWant::Error.admits(&Outcome::NetError("x".into())) && !OutcomeWant::Timeout.admits(&Outcome::Refused));
    }
}
