//! The claim catalogue: every runbook claim the harness owes a verdict, by stable ID.
//! IDs mirror `shared/runbook-claims.md`; a unit test keeps the two in step when it is present.
//! Imports nothing of the crate: every other folder speaks in these words.

pub mod verdict;

use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::fmt;

/// What a claim says, split the way an operator follows it: what they see, what they run to
/// diagnose, what they do, how they know it worked, how long it takes. Each part gets its own
/// verdict; a claim is confirmed only when every part it states was checked and held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// What the fault looks like from outside (a lookup fails, a unit is failed).
    Symptom,
    /// What the operator runs to diagnose it (status, journal, a dig, a file to read).
    Check,
    /// The documented recovery, run as written.
    Recovery,
    /// The documented verification that service is back.
    Verification,
    /// A duration the runbook states.
    Timing,
}

impl Part {
    pub const ALL: [Part; 5] = [Part::Symptom, Part::Check, Part::Recovery, Part::Verification, Part::Timing];
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Symptom => "symptom",
            Part::Check => "check",
            Part::Recovery => "recovery",
            Part::Verification => "verification",
            Part::Timing => "timing",
        }
    }
    /// What following the runbook does to the operator when this part does not hold, unless the
    /// claim or a step says otherwise: a symptom or check that shows something else misleads, a
    /// recovery or verification that fails leaves the service down.
    pub fn default_severity(self) -> Severity {
        match self {
            Part::Symptom | Part::Check => Severity::Misdiagnosis,
            Part::Recovery | Part::Verification => Severity::RecoveryFails,
            Part::Timing => Severity::SlowerRecovery,
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a contradiction costs an operator who follows the runbook; ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A backup or restore silently loses records.
    DataLoss,
    /// A check passes while the fault is present.
    FalseAllClear,
    /// The documented steps do not restore service.
    RecoveryFails,
    /// The triage or a symptom points somewhere else.
    Misdiagnosis,
    /// Service comes back, later than the runbook says.
    SlowerRecovery,
    /// Wrong in detail, no effect on the outcome.
    Cosmetic,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::DataLoss => "data loss",
            Severity::FalseAllClear => "false all-clear",
            Severity::RecoveryFails => "recovery fails",
            Severity::Misdiagnosis => "misdiagnosis",
            Severity::SlowerRecovery => "slower recovery",
            Severity::Cosmetic => "cosmetic",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One claim of the runbook, as catalogued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: &'static str,
    /// The runbook section the claim comes from.
    pub section: &'static str,
    /// Our paraphrase of what the runbook promises.
    pub summary: &'static str,
    /// The parts the claim states.
    pub parts: &'static [Part],
}

const TRIAGE: &str = "\"DNS is down\" — first triage";
const DAEMON: &str = "Daemon-level recovery";
const SQLITE: &str = "SQLite corruption recovery";
const VM: &str = "VM-level recovery";
const CLIENTS: &str = "What lab clients see during a DNS outage";
const ONE_VM: &str = "\"It works on one VM but not another\"";
const ADDED: &str = "\"I added a record but it doesn't resolve\"";
const BACKUPS: &str = "Backups";
const LOCAL: &str = "\"DNS works locally but not from another VM\"";
const PUBLIC: &str = "Public-side gotcha";
const MONITOR: &str = "Things to monitor";
const UPGRADES: &str = "Upgrades (harness's own)";
const FINDINGS: &str = "Findings the runbook does not state (harness's own)";

use Part::{Check as C, Recovery as R, Symptom as S, Timing as T, Verification as V};

pub const CATALOGUE: &[Claim] = &[
    Claim { id: "TRI-PROBES", section: TRIAGE, summary: "the four triage probes run as written and each yields ok / no reply", parts: &[C] },
    Claim { id: "TRI-1", section: TRIAGE, summary: "all ok, VM running: DNS is fine", parts: &[C] },
    Claim { id: "TRI-2", section: TRIAGE, summary: "recursor silent, rest ok: pdns-recursor down", parts: &[C] },
    Claim { id: "TRI-3", section: TRIAGE, summary: "authoritative silent, rest ok: pdns down", parts: &[C] },
    Claim { id: "TRI-4", section: TRIAGE, summary: "both silent, ping ok: both daemons down or firewall change", parts: &[C] },
    Claim { id: "TRI-5", section: TRIAGE, summary: "nothing replies, VM running: VM networking broken", parts: &[C] },
    Claim { id: "TRI-6", section: TRIAGE, summary: "nothing replies, VM stopped: VM died", parts: &[C] },
    Claim { id: "TRI-BLIND", section: TRIAGE, summary: "when all four probes are fine, lab names really resolve through the recursor", parts: &[C] },
    Claim { id: "TRI-HOST", section: TRIAGE, summary: "the triage gives the same rows run from any lab VM that has dig, not only the operator workstation", parts: &[C] },
    Claim { id: "DAE-REC", section: DAEMON, summary: "recursor down: status/journal show it, restart restores, local dig answers", parts: &[C, R, V] },
    Claim { id: "DAE-AUTH", section: DAEMON, summary: "authoritative down: status/journal, sqlite readable, restart restores, local SOA dig answers", parts: &[C, R, V] },
    Claim { id: "CAUSE-CONF", section: DAEMON, summary: "invalid .conf: unit failed; fix and restart restores (both daemons)", parts: &[S, R] },
    Claim { id: "CAUSE-PERM", section: DAEMON, summary: "SQLite ownership changed: chown pdns:pdns and restart restore", parts: &[S, R] },
    Claim { id: "CAUSE-DISK", section: DAEMON, summary: "disk full: df shows it; freeing space restores; SQLite needs headroom", parts: &[S, C, R] },
    Claim { id: "SQL-DETECT", section: SQLITE, summary: "corrupt SQLite: errors or 'no zone'; integrity_check not ok", parts: &[S, C] },
    Claim { id: "SQL-RESTORE", section: SQLITE, summary: "documented restore sequence restores service", parts: &[R, V] },
    Claim { id: "SQL-REPLAY", section: SQLITE, summary: "journal replay from the backup serial to HEAD makes the zone current", parts: &[R, V] },
    Claim { id: "SQL-REBUILD", section: SQLITE, summary: "without backup, the journal alone rebuilds identical answers", parts: &[R, V] },
    Claim { id: "VM-START", section: VM, summary: "VM shut off: starting it brings DNS back by itself", parts: &[R, V] },
    Claim { id: "VM-REBUILD", section: VM, summary: "fresh VM + configs + SQLite backup: identical end state in ~10 minutes", parts: &[R, V, T] },
    Claim { id: "VM-SCRATCH", section: VM, summary: "rebuilt from scratch with same hostname/IP/MAC: identical end state", parts: &[R, V] },
    Claim { id: "VM-BASE", section: VM, summary: "the VM is the Ubuntu base image with pdns-server, pdns-backend-sqlite3, pdns-recursor and the two config files", parts: &[S] },
    Claim { id: "VM-CONSOLE", section: VM, summary: "virsh console shows the VM booting while it is started", parts: &[S] },
    Claim { id: "CLI-TCP", section: CLIENTS, summary: "existing TCP connections keep working during an outage", parts: &[S] },
    Claim { id: "CLI-GAI", section: CLIENTS, summary: "new hostname lookups fail at getaddrinfo (curl, ssh messages)", parts: &[S] },
    Claim { id: "CLI-CACHED", section: CLIENTS, summary: "cached consumers keep working only for what they resolved, until expiry", parts: &[S] },
    Claim { id: "CLI-APPS", section: CLIENTS, summary: "Kafka clients cannot refresh metadata, the OpenShift API by name fails, HAProxy keeps routing to backends it resolved while new clients that need DNS to reach it fail", parts: &[S] },
    Claim { id: "WRONG-RESOLVER", section: ONE_VM, summary: "resolver drop-in at the auth address: lab names work, public names REFUSED; fix restores", parts: &[S, C, R, V] },
    Claim { id: "NEG-CACHE", section: ADDED, summary: "cached NXDOMAIN hides a new record; auth shows it; wipe-cache fixes", parts: &[S, C, R, V] },
    Claim { id: "PARTIAL-COMMIT", section: ADDED, summary: "uncommitted API change: SOA ahead of rrset; pdnsutil shows and fixes it", parts: &[S, C, R] },
    Claim { id: "BAK-VERIFY", section: BACKUPS, summary: "a backup is the whole file; integrity_check returns ok", parts: &[C, V] },
    Claim { id: "BAK-SIZE", section: BACKUPS, summary: "a backup is a few hundred KB: many copies cost nothing", parts: &[C] },
    Claim { id: "BAK-RESTORE", section: BACKUPS, summary: "a backup taken before changes restores a working authoritative", parts: &[R, V] },
    Claim { id: "BAK-RECURSOR", section: BACKUPS, summary: "recursor configs alone recreate identical behaviour", parts: &[R, V] },
    Claim { id: "NET-ALLOW", section: LOCAL, summary: "allow-from 127.0.0.0/8: outside clients silently denied, local works", parts: &[S, C, R, V] },
    Claim { id: "NET-BIND", section: LOCAL, summary: "local-address without lab address: recursor stops listening there", parts: &[S, R, V] },
    Claim { id: "NET-FW", section: LOCAL, summary: "firewall closing 53 from the lab: outside fails, local works", parts: &[S, C, R, V] },
    Claim { id: "NET-PORTS", section: LOCAL, summary: "53/udp and 53/tcp both needed: one closed, what clients see and whether the check shows it", parts: &[S, C] },
    Claim { id: "PUB-REFUSE", section: PUBLIC, summary: "public NIC answers its zone, refuses others", parts: &[S] },
    Claim { id: "PUB-FLOOD", section: PUBLIC, summary: "no rate limiting on the public NIC; effect on lab answers measured", parts: &[S] },
    Claim { id: "MON-STATE", section: MONITOR, summary: "systemctl state reflects each daemon fault", parts: &[C] },
    Claim { id: "MON-CACHE", section: MONITOR, summary: "rec_control get cache-hits cache-misses yields the hit ratio", parts: &[C] },
    Claim { id: "MON-SIZE", section: MONITOR, summary: "an unexpected SQLite size drop signals corruption", parts: &[C] },
    Claim { id: "MON-QPS", section: MONITOR, summary: "authoritative QPS and slow-query counters show a flood and a slow backend", parts: &[C] },
    Claim { id: "MON-SYNTH", section: MONITOR, summary: "synthetic lab and public digs detect each outage", parts: &[C] },
    Claim { id: "UPG-CONF", section: UPGRADES, summary: "the lab's configs give the same verdicts on the packages a VM rebuilt today installs", parts: &[V] },
    Claim { id: "FIND-RESTART-LOOP", section: FINDINGS, summary: "a config the daemon refuses leaves its unit looping in activating/auto-restart; it never reaches failed", parts: &[S] },
    Claim { id: "FIND-ACCEPTED-VALUE", section: FINDINGS, summary: "a wrong value the daemon accepts (a port typo, an impossible netmask) leaves the unit active while service is broken", parts: &[S] },
    Claim { id: "FIND-WAL-OWNER", section: FINDINGS, summary: "root-owned -wal/-shm beside a healthy database: pdns keeps answering but every zone change fails (readonly database), while integrity_check and systemctl see nothing", parts: &[S] },
];

/// Runbook lines with a checkable claim that the shared catalogue (runbook-claims.md) misses:
/// the harness adds them, in the runbook's own sections.
pub const ADDED_LINES: &[&str] = &["TRI-HOST", "VM-BASE", "VM-CONSOLE", "CLI-APPS", "BAK-SIZE"];

/// Catalogue lines the testbed cannot exercise, each with why: their verdict is not-simulated
/// with this reason on every lab, instead of "no scenario".
pub const OUT_OF_REACH: &[(&str, &str)] = &[
    ("VM-BASE", "the testbed's VM is Debian built with debootstrap (bookworm: pdns 4.7.3, pdns-recursor 4.8.8; trixie: 4.9 and 5.2), not the Ubuntu base image and its cloud-init: every verdict holds for Debian's packages of these versions, and whether Ubuntu's archive ships the same is not measured here (VM-REBUILD installs the same three packages)"),
    ("VM-CONSOLE", "no libvirt in the testbed: the VM is a container, whose state stands in for `virsh list` (TRI-6, VM-START), and it has no serial console to watch"),
    ("CLI-APPS", "the lab holds no Kafka, OpenShift or HAProxy: what any resolver client sees is decided by CLI-GAI (new lookups fail at getaddrinfo) and CLI-CACHED (a consumer behind its own cache keeps what it resolved until it expires)"),
];

impl Claim {
    /// What a failed part of this claim costs, unless a step says: a monitor or an all-clear
    /// row that stays quiet while the fault is there is a false all-clear.
    pub fn severity_of(&self, part: Part) -> Severity {
        let quiet_alarm = self.id.starts_with("MON-") || self.id == "TRI-1" || self.id == "TRI-BLIND";
        if quiet_alarm && part == Part::Check {
            Severity::FalseAllClear
        } else {
            part.default_severity()
        }
    }
}

/// Whether a claim is the harness's own finding (not a runbook claim).
pub fn is_finding(id: &str) -> bool {
    id.starts_with("FIND-")
}

/// A claim ID known to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct ClaimId(String);

impl ClaimId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn claim(&self) -> &'static Claim {
        lookup(&self.0).expect("ClaimId is validated on construction")
    }
}

pub fn lookup(id: &str) -> Option<&'static Claim> {
    CATALOGUE.iter().find(|c| c.id == id)
}

#[derive(Debug, thiserror::Error)]
#[error("unknown claim ID `{0}` (see shared/runbook-claims.md; `pdns-drill list` prints the catalogue)")]
pub struct UnknownClaim(pub String);

impl TryFrom<String> for ClaimId {
    type Error = UnknownClaim;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if lookup(&s).is_some() { Ok(ClaimId(s)) } else { Err(UnknownClaim(s)) }
    }
}
impl std::str::FromStr for ClaimId {
    type Err = UnknownClaim;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClaimId::try_from(s.to_string())
    }
}
impl From<ClaimId> for String {
    fn from(c: ClaimId) -> String {
        c.0
    }
}
impl fmt::Display for ClaimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    /// The shared catalogue is the source of truth; every ID in it must be here.
    #[test]
    fn matches_shared_catalogue_when_present() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/runbook-claims.md");
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let re = regex::Regex::new(r"(?m)^\| ([A-Z][A-Z0-9-]+) \|").unwrap();
        let shared: Vec<&str> = re.captures_iter(&text).map(|c| c.get(1).unwrap().as_str()).filter(|id| *id != "ID").collect();
        assert!(shared.len() >= 30, "parsed too few IDs from {path}");
        for id in &shared {
            assert!(lookup(id).is_some(), "{id} is in shared/runbook-claims.md but not in CATALOGUE");
        }
        for c in CATALOGUE {
            assert!(shared.contains(&c.id) || is_finding(c.id) || ADDED_LINES.contains(&c.id), "{} is neither in the shared catalogue, nor a FIND- of the harness, nor a runbook line it adds", c.id);
        }
    }

    #[test]
    fn every_claim_states_a_part() {
        assert!(CATALOGUE.iter().all(|c| !c.parts.is_empty()));
    }

    #[test]
    fn unknown_id_is_rejected() {
        assert!("NOPE".parse::<ClaimId>().is_err());
        assert_eq!("NET-ALLOW".parse::<ClaimId>().unwrap().claim().section, LOCAL);
    }
}
