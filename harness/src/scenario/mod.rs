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

pub mod facts;
pub mod partition;
pub mod plan;

use crate::claims::{ClaimId, Part, Severity};
use crate::probe::{RType, Transport};
use crate::settings::Daemon;
use crate::testbed::Role;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::path::{Path, PathBuf};
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
    pub monitors: Vec<crate::monitors::Monitor>,
    /// Settings whose values bear on the outcome without being named in a step (a cache TTL):
    /// listed with their effective values in the report, e.g. `auth.negquery-cache-ttl`.
    #[serde(default, rename = "depends-on")]
    pub depends_on: Vec<String>,
    /// Why the scenario needs a lab no other scenario used (beyond what its faults and actions
    /// already imply, see [`Scenario::needs_fresh_lab`]): a heal known not to restore.
    #[serde(default, rename = "fresh-lab")]
    pub fresh_lab: Option<String>,
    /// Set by the loader.
    #[serde(skip)]
    pub file: PathBuf,
    /// Set by the plan: the lab facts it filled in, for the report.
    #[serde(skip)]
    pub facts_used: Vec<String>,
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

/// What `rebuild-vm` builds the new VM from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebuildFrom {
    /// The lab image, the PowerDNS packages installed in it.
    Image,
    /// The base image: the packages installed from the .debs the image build kept.
    Packages,
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

/// Something the harness does to the lab and later undoes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// `systemctl stop UNIT` (heal: start).
    StopUnit { unit: String },
    /// SIGKILL to the unit's processes, as a crash (heal: start).
    KillUnit { unit: String },
    /// Edit a file in a container (heal: its original content back). Exactly one of
    /// `append`, `set` (replace the whole line starting with `key=`), `replace`+`with`, `content`.
    EditFile {
        #[serde(default = "pdns_vm")]
        on: Role,
        path: String,
        #[serde(default)]
        append: Option<String>,
        #[serde(default)]
        set: Option<String>,
        #[serde(default)]
        replace: Option<String>,
        #[serde(default)]
        with: Option<String>,
        #[serde(default)]
        content: Option<String>,
        /// Also restart this unit after the edit (and after healing).
        #[serde(default)]
        restart: Option<String>,
    },
    /// A shell command on the VM as root with its undo (for faults best said in shell:
    /// chown, chmod, firewall rules, leftover files).
    Shell {
        #[serde(default = "pdns_vm")]
        on: Role,
        inject: String,
        heal: String,
        /// A command that exits 0 only when the fault is in place (the rule listed, the owner
        /// changed): run after `inject`, it proves the fault took effect.
        #[serde(default)]
        proof: Option<String>,
    },
    /// Changes one setting of one daemon in the file where the lab effectively sets it (the
    /// plan finds it), restarts the daemon, and proves the daemon took the new value. Heal: the
    /// files back byte for byte, and a restart. Exactly one of `set`, `remove = true`,
    /// `remove-item`, `add-item`, `replace-item` + `with`, `replace` + `with`.
    Setting {
        daemon: Daemon,
        key: String,
        #[serde(default)]
        set: Option<String>,
        #[serde(default)]
        remove: bool,
        /// Drop one item of a list value (e.g. one address of local-address).
        #[serde(default, rename = "remove-item")]
        remove_item: Option<String>,
        #[serde(default, rename = "add-item")]
        add_item: Option<String>,
        /// Replace one item of a list value with `with` (a typo in one ACL entry).
        #[serde(default, rename = "replace-item")]
        replace_item: Option<String>,
        /// Replace this text inside the value with `with`, separators kept (one address of a
        /// `forward-zones` entry whose form differs from lab to lab).
        #[serde(default)]
        replace: Option<String>,
        #[serde(default)]
        with: Option<String>,
        /// Restart the daemon after the edit (and after healing).
        #[serde(default = "yes")]
        restart: bool,
        /// Set by the plan: which file to edit.
        #[serde(skip)]
        target: Option<SettingTarget>,
    },
    /// Overwrite with garbage every page of one table's or index's b-tree in an SQLite file:
    /// the pages are found at run time in the file itself (SQLite's `dbstat`), so the damage
    /// lands on that object whatever the lab's layout; pages the `-wal` holds a newer copy of
    /// are left (nobody would read the overwrite). Proof: the pages read back as the garbage.
    /// Heal: the unit stopped, the file as it was (its -wal/-shm removed), the unit started.
    OverwritePages {
        /// The SQLite file (`{db}`), on the VM.
        file: String,
        /// The table or index whose pages are overwritten (`records`, `ip_nameserver_pk`).
        of: String,
        /// The daemon that has the file open.
        #[serde(default = "pdns_unit")]
        unit: String,
        /// Overwrite under the running daemon; by default it is stopped before the overwrite
        /// and started after (it opens the damaged file).
        #[serde(default, rename = "while-running")]
        while_running: bool,
    },
    /// Fill the filesystem holding `path` until it is full (heal: remove the filler).
    FillDisk { path: String },
    /// Take a network interface of the VM down (heal: up, addresses and routes restored).
    LinkDown { iface: String },
    /// Disconnect the VM from a network (heal: reconnect with the same address).
    Disconnect { network: String },
    /// Stop the VM container (the VM shut off; heal: start it).
    StopVm,
    /// SIGKILL the VM container (the VM died; heal: start it).
    KillVm,
}

fn pdns_vm() -> Role {
    Role::PdnsVm
}

fn pdns_unit() -> String {
    "pdns".into()
}

/// How a setting fault changes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingEdit {
    Set(String),
    Remove,
    RemoveItem(String),
    AddItem(String),
    ReplaceItem(String, String),
    ReplaceText(String, String),
}

impl SettingEdit {
    /// The value after the edit (None: the line removed), from the value before it. Err: the
    /// edit cannot apply to this value (an item that is not there).
    pub fn apply(&self, key: &str, current: Option<&str>) -> Result<Option<String>, String> {
        let cur = || current.ok_or_else(|| format!("{key} has no value in the files to edit"));
        let items = || cur().map(crate::settings::items);
        let has = |item: &str| -> Result<Vec<String>, String> {
            let items = items()?;
            if items.iter().any(|i| i == item) {
                Ok(items)
            } else {
                Err(format!("{key} = {} has no item {item}", cur()?))
            }
        };
        Ok(match self {
            SettingEdit::Set(v) => Some(v.clone()),
            SettingEdit::Remove => None,
            SettingEdit::RemoveItem(item) => {
                has(item)?;
                Some(edit_items(cur()?, item, None))
            }
            SettingEdit::AddItem(item) => Some(format!("{}, {item}", cur()?)),
            SettingEdit::ReplaceItem(from, to) => {
                has(from)?;
                Some(edit_items(cur()?, from, Some(to)))
            }
            SettingEdit::ReplaceText(from, to) => {
                let v = cur()?;
                if !v.contains(from.as_str()) {
                    return Err(format!("{key} = {v} has no `{from}` in it"));
                }
                Some(v.replace(from.as_str(), to))
            }
        })
    }
}

/// `value` with every item equal to `item` replaced by `with` (or removed with the separator
/// before it, or after it when first), every other byte kept: a `forward-zones` separates its
/// forwarders with `;` and its zones with `,`, and re-joining would change what it means.
fn edit_items(value: &str, item: &str, with: Option<&str>) -> String {
    let is_sep = |c: char| matches!(c, ',' | ' ' | '\t' | ';');
    // Alternating runs: separators and items, in order.
    let mut runs: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if i > start && is_sep(c) != is_sep(value[start..].chars().next().unwrap_or(' ')) {
            runs.push((is_sep(value[start..].chars().next().unwrap_or(' ')), &value[start..i]));
            start = i;
        }
    }
    if start < value.len() {
        runs.push((is_sep(value[start..].chars().next().unwrap_or(' ')), &value[start..]));
    }
    let mut out: Vec<(bool, String)> = Vec::new();
    for (sep, text) in runs {
        if !sep && text == item {
            match with {
                Some(w) => out.push((false, w.to_string())),
                None => {
                    if out.last().is_some_and(|(s, _)| *s) && out.len() > 1 {
                        out.pop();
                    } else {
                        out.push((true, String::new())); // marks "drop the next separator"
                    }
                }
            }
            continue;
        }
        if sep && out.last().is_some_and(|(s, t)| *s && t.is_empty()) {
            out.pop();
            continue;
        }
        out.push((sep, text.to_string()));
    }
    let joined: String = out.into_iter().map(|(_, t)| t).collect();
    joined.trim_matches(is_sep).to_string()
}

/// Where a setting fault edits, as the plan resolved it from the lab's config dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingTarget {
    /// The file on the VM holding the base `key=` line (or, unset, the last file read).
    pub file: String,
    /// That line, when the key is set there.
    pub line: Option<usize>,
    /// Files with `key+=` lines read after the base line: dropped so the edit is the value.
    pub appends: Vec<String>,
    /// Every file the daemon reads, in order, for reading back the effective value.
    pub daemon_files: Vec<String>,
    /// `file` is the recursor's forward-zones-file and `line` the forward to edit (the lab
    /// keeps the forwards of `key` there, not in the setting).
    pub forward_file: bool,
}

impl Fault {
    /// The edit a setting fault makes (None for other kinds or a malformed one).
    pub fn setting_edit(&self) -> Option<SettingEdit> {
        let Fault::Setting { set, remove, remove_item, add_item, replace_item, replace, with, .. } = self else { return None };
        match (set, remove, remove_item, add_item, replace_item, replace, with) {
            (Some(v), false, None, None, None, None, None) => Some(SettingEdit::Set(v.clone())),
            (None, true, None, None, None, None, None) => Some(SettingEdit::Remove),
            (None, false, Some(v), None, None, None, None) => Some(SettingEdit::RemoveItem(v.clone())),
            (None, false, None, Some(v), None, None, None) => Some(SettingEdit::AddItem(v.clone())),
            (None, false, None, None, Some(a), None, Some(b)) => Some(SettingEdit::ReplaceItem(a.clone(), b.clone())),
            (None, false, None, None, None, Some(a), Some(b)) => Some(SettingEdit::ReplaceText(a.clone(), b.clone())),
            _ => None,
        }
    }
}

/// One step: an action, what it must show, and how long to keep trying.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A shell command, as written in the runbook; `{recursor}` etc. are filled in.
    #[serde(default)]
    pub run: Option<String>,
    /// Container the command runs in.
    #[serde(default)]
    pub on: Option<Role>,
    /// Run as this user: `{operator}` for the runbook's steps after `ssh <operator>@` (its groups
    /// and sudo as drill.toml says); without it, root.
    #[serde(default)]
    pub user: Option<String>,
    /// A native DNS probe at a lab address: recursor | auth | auth-public | internet | ADDR.
    #[serde(default)]
    pub probe: Option<String>,
    #[serde(default)]
    pub qname: Option<String>,
    #[serde(default)]
    pub qtype: Option<RType>,
    #[serde(default)]
    pub transport: Option<Transport>,
    /// Copy a file between containers, as scp would: "pdns-vm:/path -> workstation:/path".
    #[serde(default)]
    pub copy: Option<String>,
    /// The runbook's first triage, from the workstation (`on` another lab host: the same four
    /// probes from there).
    #[serde(default)]
    pub triage: bool,
    /// Write the lab's dns-records journal (its addresses moved onto the testbed), plus the
    /// scenario's `[[journal-row]]`s after HEAD, to "ROLE:/path".
    #[serde(default)]
    pub journal: Option<String>,
    /// A harness action (heal: the faults healed now, as part of the documented recovery).
    #[serde(default)]
    pub action: Option<HarnessAction>,
    /// With `rebuild-vm-scratch`: the new VM comes from this Debian release's lab image (the
    /// packages a VM rebuilt on it gets), not the lab's.
    #[serde(default)]
    pub suite: Option<crate::image::Suite>,
    /// With `rebuild-vm`/`rebuild-vm-scratch`: how the new VM's recursor gets its settings
    /// (as-is, yaml, old-settings-flag; default: as the VM had them).
    #[serde(default, rename = "recursor-settings")]
    pub recursor_settings: Option<crate::testbed::config::RecursorSettings>,
    /// With `rebuild-vm`: `packages` makes the new VM bare of the PowerDNS packages (untimed:
    /// the base image) and installs them from the .debs the image build kept, as the runbook's
    /// rebuild installs them from a mirror (default `image`: the lab image, packages in it).
    #[serde(default)]
    pub from: Option<RebuildFrom>,
    /// With `overwrite-pages`: the SQLite file (`{db}`) on the VM.
    #[serde(default)]
    pub file: Option<String>,
    /// With `overwrite-pages`: the table or index whose pages are overwritten.
    #[serde(default)]
    pub of: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// Poll until the expectation holds, for at most this long ("10s", "500ms"); default once.
    #[serde(default, with = "opt_duration")]
    pub within: Option<Duration>,
    /// Claims this step bears on (default: all of the scenario's).
    #[serde(default)]
    pub claims: Option<Vec<ClaimId>>,
    /// The claim part the step checks (default: symptom for `[[symptom]]`, recovery for
    /// `[[recover]]`); only steps with an expectation check anything.
    #[serde(default)]
    pub part: Option<Part>,
    /// What it costs the operator when this expectation fails (default: by part).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The expectation is the harness's reading, not the runbook's own command and stated
    /// outcome: what it assumes and why (a threshold, a deadline). A contradiction it decides
    /// has this basis; without it, the basis is the runbook as written.
    #[serde(default)]
    pub interpretation: Option<String>,
    /// Set-up the scenario needs (a backup taken, changes made, a corruption written): when its
    /// expectation fails the scenario is errored, not judged; it checks no claim part.
    #[serde(default)]
    pub precondition: bool,
    /// Short label for reports.
    #[serde(default)]
    pub note: Option<String>,
}

/// Expectations; every one given must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Probe outcome kind: response | timeout | refused | reset | error | no-reply (any but response).
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub rcode: Option<String>,
    /// The answer section holds at least one record (true) or none (false).
    #[serde(default)]
    pub answers: Option<bool>,
    /// Some answer's data contains this text.
    #[serde(default)]
    pub answer_contains: Option<String>,
    #[serde(default)]
    pub aa: Option<bool>,
    #[serde(default)]
    pub exit: Option<i64>,
    #[serde(default)]
    pub exit_not: Option<i64>,
    #[serde(default)]
    pub stdout_contains: Option<String>,
    #[serde(default)]
    pub stdout_lacks: Option<String>,
    /// Regex on stdout.
    #[serde(default)]
    pub stdout_matches: Option<String>,
    /// Regex on stdout and stderr together.
    #[serde(default)]
    pub output_matches: Option<String>,
    /// Triage row: TRI-1..TRI-6 or unknown, or [`AS_LANDED`].
    #[serde(default)]
    pub row: Option<String>,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self == &Expect::default()
    }
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

mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| super::parse_duration(&s).map_err(serde::de::Error::custom)).transpose()
    }
}

/// Which table a step comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTable {
    Symptom,
    Recover,
    Correction,
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

/// A problem in a scenario file, naming the file and (where known) the line and field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub message: String,
}

impl Scenario {
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let err = |message: String| ScenarioError { file: file.to_string(), message };
        let mut s: Scenario = toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        s.file = PathBuf::from(file);
        let steps = s.symptoms.iter().map(|x| ("symptom", x)).chain(s.recovery.iter().map(|x| ("recover", x)));
        let steps: Vec<(&str, &Step)> = steps.chain(s.corrections.iter().flat_map(|c| c.steps.iter().map(|x| ("correction", x)))).collect();
        for (i, (table, st)) in steps.iter().enumerate() {
            let kinds = [st.run.is_some(), st.probe.is_some(), st.triage, st.action.is_some(), st.copy.is_some(), st.journal.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            let at = |m: &str| err(format!("[[{table}]] #{}: {m}", i + 1));
            if kinds != 1 {
                return Err(at("give exactly one of `run`, `probe`, `triage = true`, `action`, `copy`, `journal`"));
            }
            // The harness's own actions (copies, journal writes, actions) prove nothing about the
            // daemons: they are evidence, and when one fails the scenario is errored.
            let harness_kind = [(st.copy.is_some(), "a `copy`"), (st.journal.is_some(), "a `journal` write"), (st.action.is_some(), "an `action`")].into_iter().find(|(k, _)| *k);
            if let Some((_, what)) = harness_kind {
                if st.expect != Expect::default() || st.part.is_some() || st.severity.is_some() || st.interpretation.is_some() {
                    return Err(at(&format!("{what} is the harness's own doing: evidence only, it takes no `expect`, `part`, `severity` or `interpretation` (when it fails the scenario is errored)")));
                }
            }
            if st.triage && st.on.is_some_and(|r| !matches!(r, Role::Workstation | Role::Client | Role::PdnsVm)) {
                return Err(at("a triage runs on a lab host: `on` = \"workstation\", \"client\" or \"pdns-vm\""));
            }
            if let Some(c) = &st.copy {
                parse_copy(c).map_err(|m| at(&m))?;
            }
            if let Some(j) = &st.journal {
                parse_end(j).map_err(|m| at(&m))?;
            }
            if st.probe.is_some() && st.qname.is_none() {
                return Err(at("a `probe` needs `qname`"));
            }
            if st.run.is_some() && st.on.is_none() {
                return Err(at("a `run` needs `on` (pdns-vm, workstation, client, internet)"));
            }
            // A kept disk holds the old release's /var (its package database): another release
            // needs a new disk.
            if st.suite.is_some() && st.action != Some(HarnessAction::RebuildVmScratch) {
                return Err(at("`suite` goes with `action = \"rebuild-vm-scratch\"` (a kept disk carries the old release's /var)"));
            }
            if st.recursor_settings.is_some() && !matches!(st.action, Some(HarnessAction::RebuildVm | HarnessAction::RebuildVmScratch)) {
                return Err(at("`recursor-settings` goes with `action = \"rebuild-vm\"` or `\"rebuild-vm-scratch\"`"));
            }
            if st.from.is_some() && st.action != Some(HarnessAction::RebuildVm) {
                return Err(at("`from` goes with `action = \"rebuild-vm\"`"));
            }
            let overwrite = st.action == Some(HarnessAction::OverwritePages);
            if (overwrite && (st.file.is_none() || st.of.is_none())) || (!overwrite && (st.file.is_some() || st.of.is_some())) {
                return Err(at("`action = \"overwrite-pages\"` takes `file` and `of`, and they go with no other step"));
            }
            for re in [&st.expect.stdout_matches, &st.expect.output_matches].into_iter().flatten() {
                // Placeholders become literal text before the regex is compiled.
                let mut masked = re.clone();
                for (start, end, _) in plan::placeholders(re).into_iter().rev() {
                    masked.replace_range(start..end, "x");
                }
                regex::Regex::new(&masked).map_err(|e| at(&format!("bad regex in expect: {e}")))?;
            }
            for c in st.claims.iter().flatten() {
                if !s.claims.contains(c) {
                    return Err(at(&format!("step names claim {c}, which the scenario's `claims` does not list")));
                }
            }
            // A step with an expectation checks one part of the claims it bears on: one they
            // state (its own `part`, or its table's).
            let table_kind = match *table {
                "symptom" => StepTable::Symptom,
                "recover" => StepTable::Recover,
                _ => StepTable::Correction,
            };
            let bearing = st.claims.as_deref().unwrap_or(&s.claims);
            if let (Some(part), false, false) = (Scenario::step_part(st, table_kind), st.expect.is_empty(), bearing.is_empty()) {
                if !bearing.iter().any(|c| c.claim().parts.contains(&part)) {
                    let ids: Vec<&str> = bearing.iter().map(|c| c.as_str()).collect();
                    return Err(at(&format!(
                        "the step checks the {part} part{}, which none of its claims ({}) states; set `part` (or `claims`)",
                        if st.part.is_none() { " (its table's default)" } else { "" },
                        ids.join(", ")
                    )));
                }
            }
        }
        for f in &s.faults {
            if let Fault::EditFile { append, set, replace, with, content, .. } = f {
                let n = [append.is_some(), set.is_some(), replace.is_some(), content.is_some()].iter().filter(|b| **b).count();
                if n != 1 || replace.is_some() != with.is_some() {
                    return Err(err("[[fault]] edit-file: give exactly one of `append`, `set`, `replace` (with `with`), `content`".into()));
                }
            }
            if matches!(f, Fault::Setting { .. }) && f.setting_edit().is_none() {
                return Err(err("[[fault]] setting: give exactly one of `set`, `remove = true`, `remove-item`, `add-item`, `replace-item` with `with`, `replace` with `with`".into()));
            }
        }
        for (i, line) in text.lines().enumerate() {
            if let Some((_, _, name)) = plan::placeholders(line).into_iter().find(|p| !plan::is_known(p.2)) {
                return Err(err(format!("line {}: `{{{name}}}` is not a placeholder ({})", i + 1, plan::VOCABULARY)));
            }
        }
        for n in &s.not_simulated {
            if let Some(part) = n.part {
                if !n.claim.claim().parts.contains(&part) {
                    return Err(err(format!("[[not-simulated]] {}: the claim states no {part} part", n.claim)));
                }
            }
        }
        for m in &s.monitors {
            if !s.claims.iter().any(|c| c.as_str() == m.claim()) {
                return Err(err(format!("`monitors` expects {m} to notice the fault: the scenario must decide {} too", m.claim())));
            }
        }
        for t in &s.timings {
            if !s.claims.contains(&t.claim) || !t.claim.claim().parts.contains(&Part::Timing) {
                return Err(err(format!("[[timing]] for {}: the scenario must decide it and the claim must state a timing", t.claim)));
            }
            if t.span == TimingSpan::Rebuild && !s.recovery.iter().any(|st| st.from == Some(RebuildFrom::Packages)) {
                return Err(err(format!("[[timing]] for {}: span `rebuild` needs a [[recover]] step `action = \"rebuild-vm\"` with `from = \"packages\"`", t.claim)));
            }
        }
        if s.faults.is_empty() && s.symptoms.is_empty() && s.recovery.is_empty() && s.not_simulated.is_empty() {
            return Err(err("the scenario has no fault, symptom, recover or not-simulated entry".into()));
        }
        Ok(s)
    }

    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Scenario::parse(&path.display().to_string(), &text)?)
    }

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
        let on_step = |st: &Step| {
            st.on == Some(role)
                || st.copy.as_deref().and_then(|c| parse_copy(c).ok()).is_some_and(|((a, _), (b, _))| a == role || b == role)
                || st.journal.as_deref().and_then(|j| parse_end(j).ok()).is_some_and(|(r, _)| r == role)
                || (st.triage && role == st.on.unwrap_or(Role::Workstation))
        };
        on_fault || steps.into_iter().any(on_step)
    }

    /// Why this scenario cannot run on a lab another scenario used, or hand its lab on: it
    /// replaces, stops or rewires containers (a reset does not bring those back), or says so.
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
        let steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        let action = steps.filter_map(|s| s.action).find_map(|a| match a {
            HarnessAction::StartVm | HarnessAction::StopVm | HarnessAction::RestartVm => Some("a step powers the VM container off or on"),
            HarnessAction::RebuildVm | HarnessAction::RebuildVmScratch => Some("a step replaces the VM container"),
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
    pub fn suites(&self) -> Vec<crate::image::Suite> {
        let steps = self.symptoms.iter().chain(&self.recovery).chain(self.corrections.iter().flat_map(|c| &c.steps));
        let mut v: Vec<crate::image::Suite> = steps.filter_map(|s| s.suite).collect();
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

/// What the harness itself does as a step (the VM's power, a rebuild, a wait, a heal), as a
/// scenario writes it (`action = "rebuild-vm-scratch"`).
/// A triage expectation: the row the scenario's first triage under the fault landed on.
pub const AS_LANDED: &str = "as-landed";

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
    /// `pdnsutil add-record` for each of the scenario's journal rows.
    AddJournalRows,
    WaitSteady,
    Heal,
    /// The operator's "fix the file": the files the faults edited put back as they were,
    /// nothing restarted (the runbook's own restart follows).
    FixFile,
    /// The pages of one table's or index's b-tree in an SQLite file (`file`, `of`) overwritten
    /// with garbage where the daemon runs, as the `overwrite-pages` fault does (no heal of its
    /// own: a scenario's fault keeps the file for that).
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

/// Every `*.toml` in `dir`, sorted by name; all files are checked before anything runs.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading scenario dir {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in &paths {
        match Scenario::load(p) {
            Ok(s) => out.push(s),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("{} bad scenario file(s):\n{}", errors.len(), errors.join("\n"));
    }
    let mut names: Vec<&str> = out.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!("two scenarios are named `{}`", w[0]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn item_edits_keep_the_separators_they_do_not_touch() {
        let fz = "int.acme-lab.net=192.168.50.35:53;192.0.2.53:53, other.net=10.0.0.1";
        assert_eq!(edit_items(fz, "192.0.2.53:53", None), "int.acme-lab.net=192.168.50.35:53, other.net=10.0.0.1");
        assert_eq!(edit_items("a;b;c", "a", None), "b;c");
        assert_eq!(edit_items("a, b, c", "c", None), "a, b");
        assert_eq!(edit_items("a,b", "b", Some("x")), "a,x");
        assert_eq!(edit_items("127.0.0.0/8, 10.0.0.0/16", "10.0.0.0/16", Some("10.0.0.0/33")), "127.0.0.0/8, 10.0.0.0/33");
        assert_eq!(edit_items("only", "only", None), "");
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
        assert_eq!(Scenario::parse("ok.toml", &with_action("rebuild-vm-scratch")).unwrap().recovery[0].action, Some(HarnessAction::RebuildVmScratch));
        let e = err(&with_action("reboot-vm"));
        assert!(e.contains("bad.toml") && e.contains("reboot-vm") && e.contains("rebuild-vm-scratch"), "{e}");
        let e = err(&with_action("stop-vm").replace("action = \"stop-vm\"", "action = \"stop-vm\"\nsuite = \"trixie\""));
        assert!(e.contains("`suite` goes with"), "{e}");
        let ow = Scenario::parse("ok.toml", &with_action("overwrite-pages\"\nfile = \"{db}\"\nof = \"records")).unwrap();
        assert_eq!((ow.recovery[0].file.as_deref(), ow.recovery[0].of.as_deref()), (Some("{db}"), Some("records")));
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
        assert_eq!(s.recovery[0].suite, Some(crate::image::Suite::Trixie));
        assert_eq!(s.recovery[0].recursor_settings, Some(crate::testbed::config::RecursorSettings::Yaml));
        assert_eq!(s.suites(), [crate::image::Suite::Trixie]);
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
        assert_eq!(s.recovery[0].from, Some(RebuildFrom::Packages));
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
                    plan::Resolved::Ready(p) => {
                        ready += 1;
                        assert_eq!(p.name, s.name);
                        // Every placeholder filled from the lab, the runbook's login included.
                        let text = toml::to_string(&*p).unwrap();
                        assert!(!text.contains("{operator}") && !text.contains("{db}") && !text.contains("{zone}"), "{} on {conf}: placeholder left", s.name);
                        let users: Vec<_> = p.symptoms.iter().chain(&p.recovery).filter_map(|st| st.user.as_deref()).collect();
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
            s.symptoms[1].expect.row = Some(format!("TRI-{row}"));
            let text = toml::to_string(&s).unwrap();
            let back = Scenario::parse("x.toml", &text).unwrap();
            proptest::prop_assert_eq!(back, s);
        }
    }
}
