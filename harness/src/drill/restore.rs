//! One backup restored into the lab VM, by the documented procedure and by the corrected one
//! (the corrupt database's `-wal`/`-shm` moved aside with it, as the SQL-RESTORE correction in
//! `scenarios/76-sql-restore.toml` found), then the journal replayed from the backup's serial
//! and every journal record asked of the authoritative over the wire.
//!
//! Before each procedure the VM is put back where the runbook's restore begins: its live
//! database at the journal's HEAD, a write of the day in the `-wal` (`pdnsutil
//! increase-serial` while pdns holds the file), then page 2 of the live file overwritten
//! (integrity_check no longer ok).

use std::time::Duration;

use tokio::time::Instant;

use super::backup_check::BackupCheck;
use super::replay::ReplayPlan;
use crate::history::events::{Event, Job};
use crate::testbed::engine::FileEntry;
use crate::inputs::zone::journal::Journal;
use crate::dns::probe::{Outcome, Query, RType, Rcode};
use crate::testbed::{Lab, Role};
use crate::inputs::zone::compare::{normalise_rdata, Rrset};

pub const DB: &str = "/var/lib/powerdns/pdns.sqlite3";
/// The packaged schema, as the VM's first boot uses it.
const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
/// Where the drill keeps its files on the VM (the runbook's `<backup-location>`).
pub const WORK: &str = "/root/drill";
use crate::testbed::engine::EXEC_DEADLINE as EXEC;
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);
const STEADY_DEADLINE: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Procedure {
    /// The runbook's sequence as written.
    Documented,
    /// The same with the live database's `-wal`/`-shm` moved aside together with it.
    Corrected,
}

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::Documented => "documented",
            Procedure::Corrected => "corrected",
        }
    }

    /// The shell lines, one step each, after `systemctl stop pdns`.
    fn commands(self, zone: &str, backup: &str) -> Vec<String> {
        let keep = match self {
            Procedure::Documented => format!("cp {DB} {DB}.corrupt-$(date -u +%Y%m%d-%H%M%S) && ls -l /var/lib/powerdns/"),
            Procedure::Corrected => format!(
                "ts=$(date -u +%Y%m%d-%H%M%S); for s in '' -wal -shm; do [ ! -e {DB}$s ] || mv {DB}$s {DB}.corrupt-$ts$s; done; ls -l /var/lib/powerdns/"
            ),
        };
        vec![
            "systemctl stop pdns".into(),
            keep,
            format!("cp {} {DB}", shell_words(&[format!("{WORK}/backups/{backup}")])),
            format!("chown pdns:pdns {DB}"),
            "systemctl start pdns".into(),
            format!("pdnsutil show-zone {zone} 2>&1 | head"),
        ]
    }
}

/// One observation of the drill, in order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub n: usize,
    /// Since the drill started.
    pub at_ms: u64,
    pub backup: String,
    pub procedure: Option<Procedure>,
    pub stage: &'static str,
    pub on: &'static str,
    pub command: String,
    pub output: String,
    pub ok: bool,
}

/// The one place steps enter the history.
pub struct Recorder {
    t0: Instant,
    pub steps: Vec<Step>,
    pub backup: String,
    pub procedure: Option<Procedure>,
    tell: Box<dyn Fn(Event) + Send + Sync>,
}

impl Recorder {
    /// `tell` hears the drill as the events every job speaks: a unit per backup (the lab's
    /// own making before the first), its steps as observations.
    pub fn new(tell: Box<dyn Fn(Event) + Send + Sync>) -> Recorder {
        Recorder { t0: Instant::now(), steps: Vec::new(), backup: String::new(), procedure: None, tell }
    }

    /// The unit the next steps belong to: the backup, or the lab before any.
    fn unit(&self) -> String {
        if self.backup.is_empty() { "lab".into() } else { self.backup.clone() }
    }

    /// What the next steps prepare (the lab, the lab's own backup): not a unit, nothing judged.
    pub fn preparing(&mut self, what: &str) {
        self.backup = what.to_string();
        self.procedure = None;
    }

    /// A unit begins: the backup `name`, to be restored and judged.
    pub fn begin(&mut self, name: &str, about: &str) {
        self.preparing(name);
        (self.tell)(Event::UnitStarted { job: Job::Drill, unit: self.unit(), about: about.to_string() });
    }

    /// The backup's restore ended, judged.
    pub fn end(&self, verdict: &Verdict) {
        let (v, severity) = verdict.judged();
        (self.tell)(Event::UnitFinished { job: Job::Drill, unit: self.unit(), verdict: v, severity, line: format!("{}: {verdict}", self.unit()) });
    }

    /// The backup's restore could not be carried out: the harness failed, nothing judged.
    pub fn end_errored(&self, why: &anyhow::Error) {
        let line = format!("{}: the drill could not restore it: {why:#}", self.unit());
        (self.tell)(Event::UnitFinished { job: Job::Drill, unit: self.unit(), verdict: crate::claims::verdict::Verdict::Errored, severity: None, line });
    }

    /// Progress only, not a step.
    pub fn say(&self, m: &str) {
        (self.tell)(Event::Progress { scenario: self.unit(), message: m.to_string() })
    }

    pub fn push(&mut self, stage: &'static str, on: &'static str, command: impl Into<String>, output: impl Into<String>, ok: bool) {
        let command = command.into();
        // Whole: a secret cut in two by a trim would escape the mask the session applies.
        (self.tell)(Event::Observed { scenario: self.unit(), ok, line: format!("{stage}: {command}") });
        self.steps.push(Step {
            n: self.steps.len() + 1,
            at_ms: self.t0.elapsed().as_millis() as u64,
            backup: self.backup.clone(),
            procedure: self.procedure,
            stage,
            on,
            command,
            output: crate::text::trim_chars(&output.into(), 2000),
            ok,
        });
    }

    /// A shell line on the VM, recorded with its output.
    pub async fn vm_sh(&mut self, lab: &Lab, stage: &'static str, script: &str) -> anyhow::Result<bool> {
        let out = vm_exec(lab, &["/bin/bash", "-c", script]).await?;
        let ok = out.success();
        self.push(stage, "pdns-vm", script, out.summary(2000), ok);
        Ok(ok)
    }
}

/// A command on the VM, as root. Past the exec deadline, or with systemd unreachable, it is the
/// harness failing (the drill errors, by the runner's rule), never a finding about a backup.
pub async fn vm_exec(lab: &Lab, argv: &[&str]) -> anyhow::Result<crate::testbed::engine::ExecOutput> {
    let out = lab.exec(Role::PdnsVm, argv, EXEC).await?;
    crate::runner::exec_failed(&argv.join(" "), &out)?;
    Ok(out)
}

/// What a backup's restore came to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    Complete,
    Lost { records: Vec<String> },
    /// Every journal record answers, but the zone is not what the journal says: replay
    /// commands failed, check-zone errors (duplicates), records or an SOA nobody journaled.
    Inconsistent { problems: Vec<String> },
    NotRestorable { reason: String },
}

impl Verdict {
    /// The backup's restore in the claims' vocabulary: a complete restore confirms that the
    /// backup restores; otherwise it is contradicted, at what that costs the operators.
    pub fn judged(&self) -> (crate::claims::verdict::Verdict, Option<crate::claims::Severity>) {
        use crate::claims::{verdict::Verdict as V, Severity};
        match self {
            Verdict::Complete => (V::Confirmed, None),
            Verdict::Lost { .. } => (V::Contradicted, Some(Severity::DataLoss)),
            // The zone served after the restore is not the journaled one: not recovered.
            Verdict::Inconsistent { .. } | Verdict::NotRestorable { .. } => (V::Contradicted, Some(Severity::RecoveryFails)),
        }
    }

    /// The word a dashboard groups by.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Complete => "complete",
            Verdict::Lost { .. } => "lost",
            Verdict::Inconsistent { .. } => "inconsistent",
            Verdict::NotRestorable { .. } => "not-restorable",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Complete => write!(f, "restorable and complete"),
            Verdict::Lost { records } => write!(f, "restorable, lost {} record(s): {}", records.len(), records.join("; ")),
            Verdict::Inconsistent { problems } => write!(f, "restorable, but not as journaled: {}", problems.join("; ")),
            Verdict::NotRestorable { reason } => write!(f, "not restorable: {reason}"),
        }
    }
}

/// Every journal record asked of the authoritative, and the SOA.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WireCheck {
    pub rrsets_asked: usize,
    pub rrsets_matching: usize,
    /// Journal records the authoritative does not answer: `name TYPE data`.
    pub missing: Vec<String>,
    /// Answered records the journal does not have, and TTLs that differ.
    pub other: Vec<String>,
    /// Types the probe does not ask for.
    pub not_asked: Vec<String>,
    pub soa_expected: String,
    pub soa_answered: String,
    pub soa_ok: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    pub procedure: Procedure,
    /// From `systemctl stop pdns` of the restore to: the authoritative answering its SOA, the
    /// replay done, steady state (the RTO).
    pub answering_ms: Option<u64>,
    pub replayed_ms: Option<u64>,
    pub steady_ms: Option<u64>,
    pub replay_commands: usize,
    /// The replay commands pdnsutil refused, with its words.
    pub replay_failed: Vec<String>,
    pub wire: Option<WireCheck>,
    pub check_zone: Option<String>,
    pub verdict: Verdict,
}

/// The live zone the VM is reset to before each procedure; uploaded once.
pub async fn upload_live_zone(lab: &Lab, live: &Journal) -> anyhow::Result<()> {
    let text = live.zone_file(live.head_serial());
    lab.engine.upload(&lab.name(Role::PdnsVm), &[FileEntry::file(format!("{WORK}/live.zone"), text)]).await
}

pub async fn upload_backup(lab: &Lab, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    lab.engine.upload(&lab.name(Role::PdnsVm), &[FileEntry::file(format!("{WORK}/backups/{name}"), bytes.to_vec())]).await
}

/// Restores `check`'s backup with `procedure`, replays `journal` from the backup's serial and
/// compares the answers with it.
pub async fn attempt(lab: &Lab, rec: &mut Recorder, journal: &Journal, check: &BackupCheck, procedure: Procedure) -> anyhow::Result<Attempt> {
    let zone = journal.zone.clone();
    let auth = lab;
    rec.procedure = Some(procedure);
    let reset = format!(
        "systemctl stop pdns; rm -f {DB} {DB}-wal {DB}-shm && sqlite3 {DB} < {SCHEMA} && pdnsutil load-zone {zone} {WORK}/live.zone >/dev/null && chown pdns:pdns /var/lib/powerdns {DB}* && systemctl reset-failed pdns; systemctl start pdns"
    );
    anyhow::ensure!(rec.vm_sh(lab, "live zone at the journal's HEAD", &reset).await?, "could not reset the VM's live database");
    anyhow::ensure!(wait_answering(auth, &zone, ANSWER_DEADLINE).await.is_some(), "the live zone did not answer after the reset");
    let disaster = format!(
        "pdnsutil increase-serial {zone} && yes PDNS-DRILL-CORRUPTION | head -c 4096 | dd of={DB} bs=4096 seek=1 count=1 conv=notrunc 2>/dev/null; ls -l /var/lib/powerdns/; sudo -u pdns sqlite3 {DB} 'PRAGMA integrity_check;' 2>&1 | head -3"
    );
    rec.vm_sh(lab, "a write in the -wal, then page 2 overwritten", &disaster).await?;

    let t0 = Instant::now();
    let since = |t: Instant| t.duration_since(t0).as_millis() as u64;
    for cmd in procedure.commands(&zone, &check.file.name) {
        rec.vm_sh(lab, "restore", &cmd).await?;
    }
    let answering = wait_answering(auth, &zone, ANSWER_DEADLINE).await.map(since);
    let q = format!("udp {} {zone}. SOA (every 200 ms, up to {} s)", lab.plan.auth_at, ANSWER_DEADLINE.as_secs());
    let mut a = Attempt {
        procedure,
        answering_ms: answering,
        replayed_ms: None,
        steady_ms: None,
        replay_commands: 0,
        replay_failed: Vec::new(),
        wire: None,
        check_zone: None,
        verdict: Verdict::Complete,
    };
    let Some(answering) = answering else {
        rec.push("authoritative answers", "harness", q, "no NOERROR aa answer", false);
        rec.vm_sh(lab, "why", "systemctl --no-pager status pdns 2>&1 | tail -15").await?;
        a.verdict = Verdict::NotRestorable { reason: format!("the authoritative did not answer for {zone} within {} s of the restore", ANSWER_DEADLINE.as_secs()) };
        return Ok(a);
    };
    rec.push("authoritative answers", "harness", q, format!("NOERROR aa after {:.1} s", answering as f64 / 1000.0), true);
    rec.vm_sh(lab, "restored database", &format!("sudo -u pdns sqlite3 {DB} 'PRAGMA integrity_check;' 2>&1 | head -5")).await?;

    let serial = check.serial.unwrap_or(0);
    let plan = ReplayPlan::new(journal, serial);
    rec.push("replay plan", "harness", format!("journal rows above serial {serial} up to HEAD {}", plan.head), format!("{} row(s), then the SOA at HEAD", plan.entries.len()), true);
    for argv in &plan.commands {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = vm_exec(lab, &args).await?;
        if !out.success() {
            a.replay_failed.push(format!("`{}` failed: {}", shell_words(argv), out.stderr.trim()));
        }
        rec.push("replay", "pdns-vm", shell_words(argv), out.summary(300), out.success());
    }
    a.replay_commands = plan.commands.len();
    // pdnsutil writes behind the daemon's back: its caches would serve the pre-replay answers
    // for their TTL.
    rec.vm_sh(lab, "cache purged so answers show the replay", &format!("pdns_control purge '{zone}$'")).await?;
    a.replayed_ms = Some(since(Instant::now()));

    let wire = compare_over_wire(auth, journal).await;
    rec.push(
        "over the wire",
        "harness",
        format!("{} journal RRsets and the SOA asked of {}", wire.rrsets_asked, lab.plan.auth_at),
        wire_summary(&wire),
        wire.missing.is_empty() && wire.other.is_empty() && wire.soa_ok,
    );
    let cz = vm_exec(lab, &["/bin/bash", "-c", &format!("pdnsutil check-zone {zone} 2>&1 | tail -20")]).await?;
    let cz_ok = cz.stdout.contains(" 0 errors");
    rec.push("check-zone", "pdns-vm", format!("pdnsutil check-zone {zone} | tail -20"), cz.summary(1500), cz_ok);
    a.check_zone = Some(cz.stdout.trim().to_string());
    match lab.wait_steady(STEADY_DEADLINE).await {
        Ok(_) => {
            a.steady_ms = Some(since(Instant::now()));
            rec.push("steady state", "harness", "steady-state check", "all checks hold", true);
        }
        Err(e) => {
            let first = format!("{e:#}").lines().find(|l| l.starts_with('✗')).unwrap_or("steady state not reached").to_string();
            rec.push("steady state", "harness", "steady-state check", first, false);
        }
    }
    a.verdict = verdict_of(&wire, &a.replay_failed, &cz.stdout);
    a.wire = Some(wire);
    Ok(a)
}

/// Lost records first; then anything else that keeps the zone from being the journal's.
pub fn verdict_of(wire: &WireCheck, replay_failed: &[String], check_zone: &str) -> Verdict {
    if !wire.missing.is_empty() {
        return Verdict::Lost { records: wire.missing.clone() };
    }
    let mut problems: Vec<String> = replay_failed.to_vec();
    problems.extend(check_zone.lines().filter(|l| l.contains("[Error]")).map(|l| format!("check-zone: {}", l.trim())));
    if !check_zone.contains(" 0 errors") && !check_zone.lines().any(|l| l.contains("[Error]")) {
        problems.push(format!("check-zone: {}", check_zone.trim()));
    }
    problems.extend(wire.other.iter().cloned());
    if !wire.soa_ok {
        problems.push(format!("SOA answered {} (journal at HEAD: {})", wire.soa_answered, wire.soa_expected));
    }
    if problems.is_empty() {
        Verdict::Complete
    } else {
        Verdict::Inconsistent { problems }
    }
}

fn wire_summary(w: &WireCheck) -> String {
    let mut s = format!("{} of {} RRsets as journaled; SOA {}", w.rrsets_matching, w.rrsets_asked, if w.soa_ok { "as expected" } else { "DIFFERS" });
    for m in &w.missing {
        s.push_str(&format!("\nmissing: {m}"));
    }
    for o in &w.other {
        s.push_str(&format!("\nother: {o}"));
    }
    if !w.soa_ok {
        s.push_str(&format!("\nSOA expected {} / answered {}", w.soa_expected, w.soa_answered));
    }
    s
}

/// argv as one copy-pasteable shell line.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| if a.chars().all(|c| c.is_ascii_alphanumeric() || "-._/@:*".contains(c)) { a.clone() } else { format!("'{}'", a.replace('\'', r"'\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Milliseconds until the authoritative gives an aa answer for the zone's SOA, polled.
pub async fn wait_answering(auth: &Lab, zone: &str, deadline: Duration) -> Option<Instant> {
    let start = Instant::now();
    loop {
        if let Outcome::Response(r) = ask(auth, zone, RType::SOA).await {
            if r.rcode == Rcode::NoError && r.aa && !r.answers.is_empty() {
                return Some(Instant::now());
            }
        }
        if start.elapsed() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One question to the lab's authoritative (where it listens), asked again when nothing
/// usable came back (UDP can drop).
async fn ask(lab: &Lab, name: &str, t: RType) -> Outcome {
    let q = Query::udp(lab.plan.auth_at, name, t).with_timeout(Duration::from_secs(1));
    let mut out = lab.probe(&q).await;
    for _ in 0..2 {
        if matches!(out, Outcome::Response(_)) {
            break;
        }
        out = lab.probe(&q).await;
    }
    out
}

/// Asks the authoritative for every RRset the journal holds and the SOA at HEAD.
pub async fn compare_over_wire(auth: &Lab, journal: &Journal) -> WireCheck {
    let mut w = WireCheck::default();
    for want in journal.rrsets() {
        let Ok(t) = want.rtype.parse::<RType>() else {
            w.not_asked.push(format!("{} {}", want.name, want.rtype));
            continue;
        };
        w.rrsets_asked += 1;
        let got = answered(&ask(auth, &want.name, t).await, &want);
        let missing: Vec<&String> = want.data.iter().filter(|d| !got.data.contains(d)).collect();
        let extra: Vec<&String> = got.data.iter().filter(|d| !want.data.contains(d)).collect();
        w.missing.extend(missing.iter().map(|d| format!("{} {} {d}", want.name, want.rtype)));
        w.other.extend(extra.iter().map(|d| format!("{} {} {d} (not journaled)", want.name, want.rtype)));
        if missing.is_empty() && !got.data.is_empty() && got.ttl != want.ttl {
            w.other.push(format!("{} {} TTL {} (journal: {})", want.name, want.rtype, got.ttl, want.ttl));
        }
        if missing.is_empty() && extra.is_empty() {
            w.rrsets_matching += 1;
        }
    }
    let soa = journal.soa_rrset(journal.head_serial());
    w.soa_expected = soa.data.join(" ");
    let got = answered(&ask(auth, &soa.name, RType::SOA).await, &soa);
    w.soa_answered = if got.data.is_empty() { "nothing".into() } else { got.data.join(" | ") };
    w.soa_ok = got.data == soa.data;
    w
}

/// The answer records of `want`'s owner and type, as one normalised RRset.
fn answered(o: &Outcome, want: &Rrset) -> Rrset {
    let mut ttl = u32::MAX;
    let mut data = Vec::new();
    if let Outcome::Response(r) = o {
        for a in r.answers.iter().filter(|a| a.rtype.eq_ignore_ascii_case(&want.rtype) && crate::inputs::zone::compare::normalise_name(&a.name) == want.name) {
            ttl = ttl.min(a.ttl);
            data.push(normalise_rdata(&want.rtype, &a.data));
        }
    }
    Rrset::new(&want.name, &want.rtype, if data.is_empty() { 0 } else { ttl }, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_wording() {
        assert_eq!(Verdict::Complete.to_string(), "restorable and complete");
        let lost = Verdict::Lost { records: vec!["a.x. A 10.0.0.1".into(), "b.x. A 10.0.0.2".into()] };
        assert_eq!(lost.to_string(), "restorable, lost 2 record(s): a.x. A 10.0.0.1; b.x. A 10.0.0.2");
        assert_eq!(Verdict::NotRestorable { reason: "truncated".into() }.to_string(), "not restorable: truncated");
    }

    #[test]
    fn verdict_from_what_the_wire_and_pdnsutil_said() {
        let ok = WireCheck { rrsets_asked: 2, rrsets_matching: 2, soa_ok: true, ..WireCheck::default() };
        let clean = "Checked 29 records of 'z', 0 errors, 0 warnings.";
        assert_eq!(verdict_of(&ok, &[], clean), Verdict::Complete);
        let dup = "[Error] Duplicate record found in rrset: 'a.z IN A 10.0.0.1'\nChecked 31 records of 'z', 1 errors, 0 warnings.";
        let failed = vec!["`pdnsutil add-record z c CNAME 300 a.z.` failed: already had existing records".to_string()];
        match verdict_of(&ok, &failed, dup) {
            Verdict::Inconsistent { problems } => {
                assert_eq!(problems.len(), 2, "{problems:?}");
                assert!(problems[1].starts_with("check-zone: [Error] Duplicate record"), "{problems:?}");
            }
            v => panic!("{v}"),
        }
        let soa = WireCheck { soa_ok: false, soa_answered: "x 1".into(), soa_expected: "x 2".into(), ..ok.clone() };
        assert_eq!(verdict_of(&soa, &[], clean).to_string(), "restorable, but not as journaled: SOA answered x 1 (journal at HEAD: x 2)");
        let lost = WireCheck { missing: vec!["a.z. A 10.0.0.1".into()], ..soa };
        assert_eq!(verdict_of(&lost, &failed, dup).to_string(), "restorable, lost 1 record(s): a.z. A 10.0.0.1");
    }

    #[test]
    fn shell_words_quote_what_needs_it() {
        let argv: Vec<String> = ["pdnsutil", "add-record", "z", "@", "TXT", "60", "\"a | b\""].iter().map(|s| s.to_string()).collect();
        assert_eq!(shell_words(&argv), "pdnsutil add-record z @ TXT 60 '\"a | b\"'");
        assert_eq!(Procedure::Corrected.commands("z", "it's a backup")[2], format!("cp '{WORK}/backups/it'\\''s a backup' {DB}"));
    }

    #[test]
    fn the_two_procedures_differ_only_in_what_is_moved_aside() {
        let d = Procedure::Documented.commands("z", "b");
        let c = Procedure::Corrected.commands("z", "b");
        assert_eq!(d.len(), c.len());
        assert!(!d[1].contains("-wal") && c[1].contains("-wal") && c[1].contains("-shm"));
        assert_eq!((&d[..1], &d[2..5]), (&c[..1], &c[2..5]));
    }
}
