//! The drill's evidence: one dated directory with `evidence.json` (everything) and
//! `evidence.md` (the same for a reader), whose last line carries the sha256 of both, plus a
//! `SHA256SUMS` that `sha256sum -c` checks.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::backup_check::{BackupCheck, Policy};
use super::restore::{Attempt, Procedure, Step, Verdict};
use crate::report::md::cell;
use crate::files::write_atomic;

/// The runbook's estimate for a recovery with a current backup (Recovery section).
pub const RUNBOOK_ESTIMATE_S: u64 = 600;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Input {
    /// `backup`, `journal`, `config-dir`.
    pub role: &'static str,
    pub path: String,
    pub bytes: Option<u64>,
    pub sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupResult {
    pub check: BackupCheck,
    pub attempts: Vec<Attempt>,
    /// From the corrected procedure (or the check, when the file cannot be restored at all).
    pub verdict: Verdict,
    pub verdict_text: String,
}

impl BackupResult {
    pub fn attempt(&self, p: Procedure) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.procedure == p)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Evidence {
    pub drill: &'static str,
    /// `operator backups`, or `self-made backup` (the drill takes the lab's backup itself).
    pub mode: &'static str,
    pub run_id: String,
    pub who: String,
    pub host: String,
    pub started_at: String,
    pub finished_at: String,
    pub pdns_drill_version: &'static str,
    pub docker_version: Option<String>,
    pub image: String,
    pub pdns_version: Option<String>,
    pub recursor_version: Option<String>,
    pub inputs: Vec<Input>,
    pub policy: Option<Policy>,
    /// Newest first.
    pub backups: Vec<BackupResult>,
    /// Restore start → steady state with the corrected procedure, for the newest backup that
    /// restored.
    pub rto_ms: Option<u64>,
    pub rto_backup: Option<String>,
    pub runbook_estimate_s: u64,
    pub steps: Vec<Step>,
    /// Why the drill could not finish, when it could not.
    pub error: Option<String>,
}

impl Evidence {
    /// Every backup restorable and complete, and the drill finished.
    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.backups.is_empty() && self.backups.iter().all(|b| b.verdict == Verdict::Complete)
    }
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

/// Writes the directory, the operators' secrets masked before anything is hashed; returns the
/// path of `evidence.md`.
pub fn write(dir: &Path, e: &Evidence, secrets: &crate::inputs::secrets::Secrets) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let json = secrets.json(serde_json::to_value(e)?);
    let json = serde_json::to_vec_pretty(&json)?;
    write_atomic(&dir.join("evidence.json"), &json)?;
    // Checkable with `head -n -1 evidence.md | sha256sum`.
    let above = format!("{}\n", secrets.text(&markdown(e)));
    let json_sha = hex::encode(Sha256::digest(&json));
    let above_sha = hex::encode(Sha256::digest(above.as_bytes()));
    let md = format!("{above}sha256: evidence.json {json_sha} · evidence.md above this line {above_sha}\n");
    write_atomic(&dir.join("evidence.md"), md.as_bytes())?;
    let md_sha = hex::encode(Sha256::digest(md.as_bytes()));
    let xml = junit(e, secrets)?;
    write_atomic(&dir.join("junit.xml"), xml.as_bytes())?;
    let xml_sha = hex::encode(Sha256::digest(xml.as_bytes()));
    write_atomic(&dir.join("SHA256SUMS"), format!("{json_sha}  evidence.json\n{md_sha}  evidence.md\n{xml_sha}  junit.xml\n").as_bytes())?;
    Ok(dir.join("evidence.md"))
}

/// `junit.xml`, through the one JUnit writer: a case per backup judged in the claims'
/// vocabulary (passed when restorable and complete, else a failure typed by what it came to,
/// with its severity; the documented procedure's own result in its output), an error case when the drill could not finish. Red exactly when the drill's
/// exit code is 1; the RTO and the backup policy's findings are properties, as they do not
/// fail the drill.
/// Every text is masked before the writer escapes it (a mask after would miss a secret the
/// writer escaped, and put its own `<redacted …>` into the XML raw).
pub fn junit(e: &Evidence, secrets: &crate::inputs::secrets::Secrets) -> anyhow::Result<String> {
    use crate::report::junit::{document, judged_case, non_success};
    use quick_junit::{NonSuccessKind, TestCase};
    let m = |t: &str| secrets.text(t);
    let mut props: Vec<(&str, String)> = vec![("mode", e.mode.to_string()), ("run-id", e.run_id.clone()), ("started-at", e.started_at.clone()), ("finished-at", e.finished_at.clone()), ("image", e.image.clone())];
    props.extend(e.pdns_version.clone().map(|v| ("pdns-version", v)));
    props.extend(e.recursor_version.clone().map(|v| ("recursor-version", v)));
    props.push(("rto", format!("{} (the runbook says ~{} minutes)", secs(e.rto_ms), e.runbook_estimate_s / 60)));
    props.extend(e.policy.iter().flat_map(|p| p.findings.iter().map(|f| ("policy-finding", f.clone()))));
    let props: Vec<(&str, String)> = props.into_iter().map(|(k, v)| (k, m(&v))).collect();
    let mut cases = Vec::new();
    for b in &e.backups {
        let mut case = judged_case(&m(&format!("restore {}", b.check.file.name)), "restore-drill", b.verdict.judged(), &m(&b.verdict_text), b.verdict.kind(), m(&b.verdict.to_string()));
        if let Some(ms) = b.attempt(Procedure::Corrected).and_then(|a| a.steady_ms) {
            case.set_time(std::time::Duration::from_millis(ms));
        }
        let attempts: Vec<String> = b.attempts.iter().map(|a| format!("{} procedure: {}", a.procedure.as_str(), a.verdict)).collect();
        if !attempts.is_empty() {
            case.set_system_out(m(&attempts.join("\n")));
        }
        cases.push(case);
    }
    if let Some(err) = &e.error {
        let mut case = TestCase::new("the drill", non_success(NonSuccessKind::Error, &m(err), "errored", String::new()));
        case.set_classname("restore-drill");
        cases.push(case);
    } else if e.backups.is_empty() {
        let mut case = TestCase::new("the drill", non_success(NonSuccessKind::Failure, "no backup was restored", "no-backup", String::new()));
        case.set_classname("restore-drill");
        cases.push(case);
    }
    document("pdns-drill restore drill", &props, cases)
}

fn secs(ms: Option<u64>) -> String {
    ms.map_or("not reached".into(), |m| format!("{:.1} s", m as f64 / 1000.0))
}

/// A few lines for the terminal.
pub fn summary(e: &Evidence) -> String {
    let mut s = format!("restore drill {} ({}): {}\n", e.started_at, e.mode, if e.passed() { "every backup restorable and complete" } else { "FINDINGS" });
    for b in &e.backups {
        let doc = b.attempt(Procedure::Documented).map(|a| a.verdict.to_string()).unwrap_or_else(|| "not run".into());
        s.push_str(&format!("  {}: {}\n      documented procedure as written: {doc}\n", b.check.file.name, b.verdict_text));
    }
    s.push_str(&format!(
        "  measured RTO (restore started → steady state, corrected procedure{}): {} — the runbook says ~{} minutes\n",
        e.rto_backup.as_deref().map(|b| format!(", {b}")).unwrap_or_default(),
        secs(e.rto_ms),
        e.runbook_estimate_s / 60
    ));
    if let Some(p) = &e.policy {
        for f in &p.findings {
            s.push_str(&format!("  policy: {f}\n"));
        }
    }
    if let Some(err) = &e.error {
        s.push_str(&format!("  drill error: {err}\n"));
    }
    s
}

pub fn markdown(e: &Evidence) -> String {
    let mut s = format!("# Restore drill — {}\n\n", e.started_at);
    s.push_str(&format!(
        "**{}**\n\n",
        if e.passed() { "Every backup is restorable and complete." } else { "Findings: not every backup is restorable and complete." }
    ));
    s.push_str("| | |\n|---|---|\n");
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    for (k, v) in [
        ("mode", e.mode.to_string()),
        ("who", e.who.clone()),
        ("host", e.host.clone()),
        ("started / finished (UTC)", format!("{} / {}", e.started_at, e.finished_at)),
        ("pdns-drill", e.pdns_drill_version.to_string()),
        ("Docker Engine", opt(&e.docker_version)),
        ("lab image", e.image.clone()),
        ("pdns-server / pdns-recursor", format!("{} / {}", opt(&e.pdns_version), opt(&e.recursor_version))),
        ("run id", e.run_id.clone()),
        ("measured RTO (restore started → steady state, corrected procedure)", format!("{}{}", secs(e.rto_ms), e.rto_backup.as_deref().map(|b| format!(" ({b})")).unwrap_or_default())),
        ("runbook's estimate with a current backup", format!("~{} minutes", e.runbook_estimate_s / 60)),
    ] {
        s.push_str(&format!("| {k} | {} |\n", cell(&v)));
    }
    if let Some(err) = &e.error {
        s.push_str(&format!("\n**The drill could not finish:** {}\n", cell(err)));
    }

    s.push_str("\n## Verdicts (newest backup first)\n\n| backup | taken | serial | verdict (corrected procedure) | documented procedure as written | restore → answering / replayed / steady |\n|---|---|---|---|---|---|\n");
    for b in &e.backups {
        let c = &b.check;
        let doc = b.attempt(Procedure::Documented).map(|a| a.verdict.to_string()).unwrap_or_else(|| "not run".into());
        let t = b
            .attempt(Procedure::Corrected)
            .map(|a| format!("{} / {} / {}", secs(a.answering_ms), secs(a.replayed_ms), secs(a.steady_ms)))
            .unwrap_or_else(|| "-".into());
        s.push_str(&format!(
            "| {} | {} ({}) | {} | {} | {} | {} |\n",
            cell(&c.file.name),
            c.file.taken_at,
            c.file.taken_from,
            c.serial.map_or("-".into(), |x| format!("{x} ({})", c.serial_from)),
            cell(&b.verdict_text),
            cell(&doc),
            t
        ));
    }

    s.push_str("\n## Inputs\n\n| role | path | bytes | sha256 |\n|---|---|---|---|\n");
    for i in &e.inputs {
        s.push_str(&format!("| {} | {} | {} | `{}` |\n", i.role, cell(&i.path), i.bytes.map_or("-".into(), |b| b.to_string()), i.sha256));
    }

    if let Some(p) = &e.policy {
        s.push_str(&format!("\n## Backup policy ({})\n\nThe runbook: a backup before any change run and on a daily timer, a few hundred KB each.\n\n| | |\n|---|---|\n", cell(&p.dir.display().to_string())));
        let age = p.newest_age_hours.map_or("-".into(), |h| format!("{h:.1} h"));
        for (k, v) in [
            ("backups", p.backups.to_string()),
            ("newest", format!("{} ({age} old)", p.newest.as_deref().unwrap_or("-"))),
            ("gaps over a day", if p.gaps_over_a_day.is_empty() { "none".into() } else { p.gaps_over_a_day.join("; ") }),
            ("size", p.size_note.clone()),
            ("findings", if p.findings.is_empty() { "none".into() } else { p.findings.join("; ") }),
        ] {
            s.push_str(&format!("| {k} | {} |\n", cell(&v)));
        }
    }

    for b in &e.backups {
        let c = &b.check;
        let v = &c.verification;
        s.push_str(&format!("\n## {}\n\n**{}**\n\n| | |\n|---|---|\n", cell(&c.file.name), cell(&b.verdict_text)));
        let rows = [
            ("path", c.file.path.display().to_string()),
            ("sha256", c.file.sha256.clone()),
            ("size", format!("{} bytes", c.file.size_bytes)),
            ("taken", format!("{} (from its {}), {:.1} h before the drill", c.file.taken_at, c.file.taken_from, c.file.age_hours)),
            ("PRAGMA integrity_check", v.integrity.clone()),
            ("schema", if v.schema_ok { "complete".into() } else { format!("missing {}", v.missing_tables.join(", ")) }),
            ("zones", if v.zones.is_empty() { "-".into() } else { v.zones.join(", ") }),
            ("records", v.records.map_or("-".into(), |r| r.to_string())),
            ("SOA serial", c.soa_serial.map_or("-".into(), |x| x.to_string())),
            ("replay starts after", c.serial.map_or("-".into(), |x| format!("{x} (from its {})", c.serial_from))),
            ("journal HEAD", c.journal_head.to_string()),
            ("lost writes (at or below the serial, not in the backup)", list(&c.lost)),
            ("the replay adds", list(&c.to_replay)),
            ("above the serial but already inside (the replay adds them twice)", list(&c.above_but_present)),
            ("in the backup, never journaled", if c.not_journaled.is_empty() { "none".into() } else { c.not_journaled.join("; ") }),
            ("notes", if c.notes.is_empty() { "-".into() } else { c.notes.join("; ") }),
        ];
        for (k, val) in rows {
            s.push_str(&format!("| {k} | {} |\n", cell(&val)));
        }
        if !b.attempts.is_empty() {
            s.push_str("\n| procedure | answering | replayed | steady (RTO) | replay commands (failed) | over the wire | check-zone | verdict |\n|---|---|---|---|---|---|---|---|\n");
            for a in &b.attempts {
                let wire = a.wire.as_ref().map_or("-".into(), |w| {
                    format!("{}/{} RRsets as journaled, SOA {}", w.rrsets_matching, w.rrsets_asked, if w.soa_ok { "as expected" } else { "differs" })
                });
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} ({}) | {} | {} | {} |\n",
                    a.procedure.as_str(),
                    secs(a.answering_ms),
                    secs(a.replayed_ms),
                    secs(a.steady_ms),
                    a.replay_commands,
                    a.replay_failed.len(),
                    cell(&wire),
                    cell(a.check_zone.as_deref().and_then(|c| c.lines().last()).unwrap_or("-")),
                    cell(&a.verdict.to_string())
                ));
            }
        }
    }

    s.push_str("\n## Steps\n\n| # | at | backup | procedure | stage | on | command | output | ok |\n|---|---|---|---|---|---|---|---|---|\n");
    for st in &e.steps {
        s.push_str(&format!(
            "| {} | {:.1} s | {} | {} | {} | {} | {} | {} | {} |\n",
            st.n,
            st.at_ms as f64 / 1000.0,
            cell(&st.backup),
            st.procedure.map_or("-", Procedure::as_str),
            st.stage,
            st.on,
            cell(&st.command),
            cell(&st.output),
            if st.ok { "✓" } else { "✗" }
        ));
    }
    s
}

fn list(rows: &[super::backup_check::Row]) -> String {
    if rows.is_empty() {
        "none".into()
    } else {
        format!("{}: {}", rows.len(), rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_hashes_the_json_and_everything_above_it() {
        let e = Evidence {
            drill: "restore",
            mode: "operator backups",
            run_id: "r".into(),
            who: "w".into(),
            host: "h".into(),
            started_at: "2026-11-26T00:00:00Z".into(),
            finished_at: "2026-11-26T00:01:00Z".into(),
            pdns_drill_version: "0",
            docker_version: None,
            image: "i".into(),
            pdns_version: None,
            recursor_version: None,
            inputs: vec![Input { role: "journal", path: "j.md".into(), bytes: Some(1), sha256: "x".into() }],
            policy: None,
            backups: Vec::new(),
            rto_ms: None,
            rto_backup: None,
            runbook_estimate_s: RUNBOOK_ESTIMATE_S,
            steps: Vec::new(),
            error: Some("lab did not come up".into()),
        };
        assert!(!e.passed());
        let d = tempfile::tempdir().unwrap();
        let md = std::fs::read_to_string(write(d.path(), &e, &crate::inputs::secrets::Secrets::default()).unwrap()).unwrap();
        let (above, last) = md.trim_end_matches('\n').rsplit_once('\n').unwrap();
        let json = sha256_file(&d.path().join("evidence.json")).unwrap();
        let above_sha = hex::encode(Sha256::digest(format!("{above}\n").as_bytes()));
        assert_eq!(last, format!("sha256: evidence.json {json} · evidence.md above this line {above_sha}"));
        let sums = std::fs::read_to_string(d.path().join("SHA256SUMS")).unwrap();
        let (md_sum, xml_sum) = (sha256_file(&d.path().join("evidence.md")).unwrap(), sha256_file(&d.path().join("junit.xml")).unwrap());
        assert_eq!(sums, format!("{json}  evidence.json\n{md_sum}  evidence.md\n{xml_sum}  junit.xml\n"));
        // The JUnit is red as the exit code is: the drill could not finish.
        let xml = quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(d.path().join("junit.xml")).unwrap()).unwrap();
        let case = &xml.test_suites[0].test_cases[0];
        assert_eq!((case.name.as_str(), xml.errors), ("the drill", 1), "{xml:?}");
        assert!(md.contains("**The drill could not finish:** lab did not come up"), "{md}");
    }
}
