//! A realistic, fixed `Report` for renderer tests and snapshots: every verdict, a verified
//! correction, triage rows "TRI-2", "TRI-3" and "unknown", multi-line outputs with `|`, and an
//! interrupted (incomplete) run. All values are fixed so snapshots are stable.
//!
//! Illustrative data only: these are not results of a real run.

use crate::judge::model::*;
use crate::claims::CATALOGUE;
use crate::claims::verdict::Verdict;

#[allow(clippy::too_many_arguments)]
fn ev(phase: Phase, step: u32, on: &str, action: &str, observed: &str, expected: Option<&str>, ok: bool, at_ms: u64) -> Evidence {
    Evidence {
        phase,
        step,
        on: on.into(),
        action: action.into(),
        observed: observed.into(),
        expected: expected.map(Into::into),
        ok,
        at_ms,
    }
}

fn claim(id: &str, verdict: Verdict, scenario: Option<&str>) -> ClaimResult {
    let section = crate::claims::lookup(id).map(|c| c.section).unwrap_or("harness").to_string();
    ClaimResult { scenario: scenario.map(Into::into), ..ClaimResult::new(id, section, verdict) }
}

const DIG_REC: &str = "dig @10.1.0.53 google.com A +short +time=2 +tries=1";
const DIG_AUTH: &str = "dig @10.1.0.53 -p 5300 sub.comptech-lab.com SOA +short +time=2 +tries=1";
const SOA: &str = "ns1.sub.comptech-lab.com. hostmaster.comptech-lab.com. 2025061103 10800 3600 604800 3600";

fn recursor_down_evidence() -> Vec<Evidence> {
    use Phase::*;
    vec![
        ev(SteadyBefore, 1, "workstation", DIG_REC, "142.250.74.46", Some("an A record"), true, 310),
        ev(Inject, 2, "pdns-vm", "systemctl kill --signal=SIGKILL pdns-recursor", "exit 0", None, true, 1200),
        ev(Symptom, 3, "workstation", DIG_REC, ";; communications error to 10.1.0.53#53: timed out\n;; no servers could be reached", Some("no reply"), true, 3400),
        ev(Symptom, 4, "harness", "triage probes", "recursor=no reply auth=ok ping=ok vm=running → TRI-2", Some("TRI-2"), true, 3420),
        ev(Symptom, 5, "pdns-vm", "systemctl status pdns-recursor", "× pdns-recursor.service - PowerDNS Recursor\n     Active: failed (Result: signal) since Wed 2025-06-11 09:31:04 UTC; 2s ago", Some("failed"), true, 3600),
        ev(
            Symptom,
            6,
            "pdns-vm",
            "journalctl -u pdns-recursor -n 200 --no-pager | tail -n 3",
            "Jun 11 09:31:04 pdns-vm systemd[1]: pdns-recursor.service: Main process exited, code=killed, status=9/KILL\nJun 11 09:31:04 pdns-vm systemd[1]: pdns-recursor.service: Failed with result 'signal'.\nJun 11 09:31:04 pdns-vm systemd[1]: pdns-recursor.service: Consumed 1.204s CPU time.",
            Some("the kill is logged"),
            true,
            3700,
        ),
        ev(Recovery, 7, "pdns-vm", "systemctl restart pdns-recursor", "exit 0", None, true, 5100),
        ev(SteadyAfter, 8, "pdns-vm", "dig @127.0.0.1 google.com A +short", "142.250.74.46", Some("an A record"), true, 6900),
    ]
}

fn auth_down_evidence() -> Vec<Evidence> {
    use Phase::*;
    vec![
        ev(SteadyBefore, 1, "workstation", DIG_AUTH, SOA, Some("the SOA"), true, 280),
        ev(Inject, 2, "pdns-vm", "systemctl stop pdns", "exit 0", None, true, 1100),
        ev(Symptom, 3, "workstation", DIG_AUTH, ";; communications error to 10.1.0.53#5300: timed out", Some("no reply"), true, 3300),
        ev(Symptom, 4, "harness", "triage probes", "recursor=ok auth=no reply ping=ok vm=running → TRI-3", Some("TRI-3"), true, 3320),
        ev(
            Symptom,
            5,
            "pdns-vm",
            "systemctl status pdns",
            "○ pdns.service - PowerDNS Authoritative Server\n     Loaded: loaded (/lib/systemd/system/pdns.service; enabled; preset: enabled)\n    Drop-In: /etc/systemd/system/pdns.service.d\n             └─10-pdns-drill.conf\n     Active: inactive (dead) since Wed 2025-06-11 09:32:11 UTC; 2s ago\n   Duration: 1min 58.204s\n       Docs: man:pdns_server(1)\n             man:pdns_control(1)\n    Process: 211 ExecStart=/usr/sbin/pdns_server --guardian=no --daemon=no --disable-syslog --log-timestamp=no --write-pid=no (code=exited, status=0/SUCCESS)\n   Main PID: 211 (code=exited, status=0/SUCCESS)",
            Some("inactive"),
            true,
            3500,
        ),
        ev(
            Recovery,
            6,
            "pdns-vm",
            "sudo -u pdns sqlite3 /var/lib/powerdns/pdns.sqlite3 \"select count(*) from records;\"",
            "exit 1\nsudo: sqlite3: command not found",
            Some("exit 0 and a count"),
            false,
            4800,
        ),
        ev(Recovery, 7, "pdns-vm", "systemctl restart pdns", "exit 0", None, true, 5200),
        ev(SteadyAfter, 8, "pdns-vm", "dig @127.0.0.1 sub.comptech-lab.com SOA +short", SOA, Some("the SOA"), true, 9100),
    ]
}

fn auth_down_correction() -> Correction {
    use Phase::Correction as Fix;
    Correction {
        summary: "the sqlite3 CLI is not installed with pdns-backend-sqlite3: install it (`apt-get install sqlite3`) before the check, or ask pdns itself with `pdnsutil list-all-zones`".into(),
        verified: true,
        evidence: vec![
            ev(Fix, 9, "pdns-vm", "apt-get install -y sqlite3", "exit 0", None, true, 9800),
            ev(Fix, 10, "pdns-vm", "sudo -u pdns sqlite3 /var/lib/powerdns/pdns.sqlite3 \"select count(*) from records;\"", "42", Some("exit 0 and a count"), true, 11900),
            ev(Fix, 11, "pdns-vm", "sudo -u pdns pdnsutil list-all-zones", "sub.comptech-lab.com\nAll zonecount: 1", Some("sub.comptech-lab.com listed"), true, 12400),
        ],
        error: None,
    }
}

fn uplink_evidence() -> Vec<Evidence> {
    use Phase::*;
    vec![
        ev(SteadyBefore, 1, "harness", "triage probes", "recursor=ok auth=ok ping=ok vm=running → TRI-1", Some("TRI-1"), true, 400),
        ev(Inject, 2, "pdns-vm", "ip route del default", "exit 0", None, true, 900),
        ev(
            Symptom,
            3,
            "workstation",
            DIG_REC,
            ";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 4711\n;; flags: qr rd ra; QUERY: 1, ANSWER: 0 | AUTHORITY: 0",
            Some("no reply"),
            false,
            2900,
        ),
        ev(Symptom, 4, "harness", "triage probes", "recursor=SERVFAIL auth=ok ping=ok vm=running → no row", Some("TRI-5"), false, 2950),
        ev(Recovery, 5, "pdns-vm", "ip route add default via 10.1.0.1", "exit 0", None, true, 4000),
        ev(SteadyAfter, 6, "workstation", DIG_REC, "142.250.74.46", Some("an A record"), true, 5200),
    ]
}

fn net_allow_evidence() -> Vec<Evidence> {
    use Phase::*;
    vec![
        ev(SteadyBefore, 1, "workstation", "udp 10.1.0.53 google.com. A", "NOERROR 142.250.74.46 in 12ms", Some("NOERROR"), true, 200),
        ev(Inject, 2, "pdns-vm", "sed -i 's|^allow-from=.*|allow-from=127.0.0.0/8|' /etc/powerdns/recursor.d/10-lab-forwarder.conf && systemctl restart pdns-recursor", "exit 0", None, true, 800),
        ev(Symptom, 3, "workstation", "udp 10.1.0.53 google.com. A", "timeout after 2000ms", Some("timeout"), true, 2900),
        ev(Symptom, 4, "pdns-vm", "udp 127.0.0.1 google.com. A", "NOERROR 142.250.74.46 in 3ms", Some("NOERROR"), true, 3000),
        ev(Recovery, 5, "pdns-vm", "restore 10-lab-forwarder.conf && systemctl restart pdns-recursor", "exit 0", None, true, 3600),
        ev(SteadyAfter, 6, "workstation", "udp fd00:1::53 google.com. A", "NOERROR 142.250.74.46 in 9ms", Some("NOERROR"), true, 4700),
    ]
}

fn sql_detect_evidence() -> Vec<Evidence> {
    use Phase::*;
    vec![
        ev(Inject, 1, "pdns-vm", "dd if=/dev/urandom of=/var/lib/powerdns/pdns.sqlite3 bs=4096 seek=3 count=2 conv=notrunc", "exit 0", None, true, 1000),
        ev(
            Symptom,
            2,
            "pdns-vm",
            "sudo -u pdns sqlite3 /var/lib/powerdns/pdns.sqlite3 \"PRAGMA integrity_check;\" | head -n 3",
            "*** in database main ***\nPage 4: btree page has invalid cell | content offset\nPage 5: never used",
            Some("not ok"),
            true,
            2600,
        ),
    ]
}

/// The fixture every renderer test uses. Hidden from docs; public so integration tests can use it.
#[doc(hidden)]
pub fn sample_report() -> Report {
    let mut claims = Vec::new();
    for c in CATALOGUE {
        let mut r = claim(c.id, Verdict::Errored, None);
        r.reason = Some("not reached: the run was interrupted during sql-corrupt".into());
        match c.id {
            "TRI-PROBES" | "TRI-1" | "MON-STATE" | "MON-SYNTH" => {
                r = claim(c.id, Verdict::Confirmed, Some("recursor-down"));
                r.evidence = recursor_down_evidence().into_iter().filter(|e| e.step <= 4).collect();
                r.detect_ms = Some(2200);
                r.recover_ms = Some(1800);
            }
            "TRI-2" | "DAE-REC" => {
                r = claim(c.id, Verdict::Confirmed, Some("recursor-down"));
                r.evidence = recursor_down_evidence();
                r.detect_ms = Some(2200);
                r.recover_ms = Some(1800);
            }
            "TRI-3" => {
                r = claim(c.id, Verdict::Confirmed, Some("auth-down"));
                r.evidence = auth_down_evidence().into_iter().filter(|e| e.step <= 4).collect();
                r.detect_ms = Some(2200);
                r.recover_ms = Some(4300);
            }
            "DAE-AUTH" => {
                r = claim(c.id, Verdict::Contradicted, Some("auth-down"));
                r.reason = Some("the documented SQLite readability check cannot run: sqlite3 is not installed on the VM".into());
                r.first_mismatch = Some("DAE-AUTH step 6: sqlite3 count expected exit 0 and a count, got exit 1 (sudo: sqlite3: command not found)".into());
                r.evidence = auth_down_evidence();
                r.detect_ms = Some(2200);
                r.recover_ms = Some(4300);
                r.correction = Some(auth_down_correction());
                let part = |part, verdict, m: Option<&str>| PartResult {
                    part,
                    verdict,
                    first_mismatch: m.map(String::from),
                    severity: m.map(|_| crate::claims::Severity::FalseAllClear),
                    reason: None,
                    basis: m.map(|_| crate::claims::verdict::Basis::AsWritten),
                };
                use crate::claims::Part;
                r.parts = vec![
                    part(Part::Check, Verdict::Contradicted, Some("DAE-AUTH step 6: sqlite3 count expected exit 0 and a count, got exit 1")),
                    part(Part::Recovery, Verdict::Confirmed, None),
                    part(Part::Verification, Verdict::Unchecked, None),
                ];
                r.severity = Some(crate::claims::Severity::FalseAllClear);
                r.variants = vec![VariantResult { condition: "the zone's SOA is in the recursor's cache".into(), scenario: "auth-down".into(), verdict: Verdict::Contradicted, parts: r.parts.clone() }];
                r.finding = Some("DAE-AUTH: check contradicted when the zone's SOA is in the recursor's cache".into());
                r.basis = Some(crate::claims::verdict::Basis::AsWritten);
            }
            "TRI-5" => {
                r = claim(c.id, Verdict::Contradicted, Some("vm-uplink-down"));
                r.reason = Some("with the VM's uplink broken the recursor answers SERVFAIL instead of staying silent; the probes match no triage row".into());
                r.first_mismatch = Some("TRI-5 step 4: triage expected TRI-5, got recursor=SERVFAIL auth=ok ping=ok vm=running (no row)".into());
                r.basis = Some(crate::claims::verdict::Basis::Interpretation("SERVFAIL read as 'no reply' is the harness's reading of the runbook's ok / no reply column".into()));
                r.evidence = uplink_evidence();
                r.detect_ms = Some(2000);
                r.recover_ms = Some(1200);
            }
            "NET-ALLOW" => {
                r = claim(c.id, Verdict::Confirmed, Some("net-allow"));
                r.evidence = net_allow_evidence();
                r.detect_ms = Some(2100);
                r.recover_ms = Some(1100);
            }
            "SQL-DETECT" | "SQL-RESTORE" => {
                r = claim(c.id, Verdict::Errored, Some("sql-corrupt"));
                r.reason = Some("interrupted (SIGINT) after step 2; no verdict".into());
                if c.id == "SQL-DETECT" {
                    r.evidence = sql_detect_evidence();
                }
            }
            "VM-REBUILD" => {
                r = claim(c.id, Verdict::Errored, Some("vm-rebuild"));
                r.reason = Some("lab image build failed: apt-get install pdns-server exited 100 (mirror unreachable)".into());
            }
            "VM-SCRATCH" => {
                r = claim(c.id, Verdict::NotSimulated, None);
                r.reason = Some("containers get their MAC from the engine's network; \"same MAC\" has no equivalent to exercise".into());
            }
            "CLI-CACHED" => {
                r = claim(c.id, Verdict::NotSimulated, None);
                r.reason = Some("the testbed has no cluster CoreDNS or HAProxy consumer".into());
            }
            "TRI-4" => r.scenario = Some("both-down".into()),
            _ => {}
        }
        claims.push(r);
    }

    use ScenarioOutcome::*;
    let scenario = |name: &str, claims: &[&str], outcome, timeline, triage_row: Option<&str>| {
        let section = crate::claims::lookup(claims[0]).map(|c| c.section).unwrap_or("").to_string();
        let timeline: Timeline = timeline;
        ScenarioResult {
            name: name.into(),
            file: format!("scenarios/{name}.toml"),
            section,
            claims: claims.iter().map(|c| c.to_string()).collect(),
            outcome,
            wall_ms: timeline.end_ms,
            timeline,
            triage_row: triage_row.map(Into::into),
            error: None,
            facts: vec![],
            detections: vec![],
            monitors_expected: vec![],
        }
    };
    let tl = |f, s, r, st, end| Timeline { booted_ms: None, queued_ms: None, fault_injected_ms: f, first_symptom_ms: s, recovery_started_ms: r, steady_ms: st, end_ms: end, ..Timeline::default() };
    let scenarios = vec![
        scenario(
            "recursor-down",
            &["TRI-PROBES", "TRI-1", "TRI-2", "DAE-REC", "MON-STATE", "MON-SYNTH"],
            Held,
            tl(Some(1200), Some(3400), Some(5100), Some(6900), 7400),
            Some("TRI-2"),
        ),
        scenario("auth-down", &["TRI-3", "DAE-AUTH"], Deviated, tl(Some(1100), Some(3300), Some(4800), Some(9100), 12_600), Some("TRI-3")),
        scenario("vm-uplink-down", &["TRI-5"], Deviated, tl(Some(900), Some(2900), Some(4000), Some(5200), 5600), Some("unknown")),
        scenario("net-allow", &["NET-ALLOW"], Held, tl(Some(800), Some(2900), Some(3600), Some(4700), 5000), None),
        scenario("vm-rebuild", &["VM-REBUILD"], Errored, tl(None, None, None, None, 15_000), None),
        scenario("sql-corrupt", &["SQL-DETECT", "SQL-RESTORE"], Interrupted, tl(Some(1000), Some(2600), None, None, 4100), None),
    ];

    Report {
        schema: SCHEMA,
        run: RunInfo {
            id: "20250611T093000Z-4f2a".into(),
            started_at: "2025-06-11T09:30:00Z".into(),
            finished_at: None,
            complete: false,
            image_tag: "pdns-drill-lab:bookworm-0c1d2e3f".into(),
            suite: "bookworm".into(),
            pdns_version: Some("4.7.3".into()),
            recursor_version: Some("4.8.4".into()),
            config_dir: "lab/config".into(),
            config_dir_hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            zone_file: "lab/dns-records.md".into(),
            zone_hash: "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".into(),
            dropins: vec!["pdns.service: PrivateDevices=no".into(), "pdns-recursor.service: ProtectClock=no".into()],
            mappings: vec!["lab-network 10.10.0.0/16 → the testbed's lab subnet, host parts kept".into()],
            filters: vec![],
            tool: String::new(),
            partition: None,
            selection: vec![],
            scope: None,
            selection_scope: None,
            preflight_lab: None,
        },
        claims,
        scenarios,
        preflight: None,
        gate: None,
    }
}

/// `sample_report()`'s run as its `history.json` would record it: each scenario's evidence as
/// observations on the claims it decides, with a timing, a correction, a detection, the
/// not-simulated reasons and the interrupted and errored scenarios, so every field of the
/// history appears at least once.
#[doc(hidden)]
pub fn sample_history() -> crate::history::RunHistory {
    use crate::claims::{ClaimId, Part, Severity};
    use crate::history::*;
    use crate::scenario::monitors::{Detection, Monitor};
    use crate::scenario::{Timing, TimingSpan};

    let report = sample_report();
    let id = |s: &str| -> ClaimId { s.parse().unwrap() };
    let obs = |e: &Evidence, claims: &[ClaimId]| {
        let part = match e.phase {
            Phase::Symptom if e.on == "harness" => Some(Part::Check),
            Phase::Symptom => Some(Part::Symptom),
            Phase::Recovery => Some(Part::Recovery),
            Phase::SteadyAfter | Phase::Correction => Some(Part::Verification),
            _ => None,
        }
        .filter(|_| e.expected.is_some());
        Observation {
            phase: e.phase,
            step: e.step,
            on: e.on.clone(),
            action: e.action.clone(),
            observed: e.observed.clone(),
            expected: e.expected.clone(),
            mismatch: (!e.ok).then(|| format!("step {}: expected {}, got {}", e.step, e.expected.as_deref().unwrap_or("-"), e.observed.lines().next().unwrap_or(""))),
            at_ms: e.at_ms,
            claims: claims.to_vec(),
            part,
            severity: (!e.ok).then_some(Severity::FalseAllClear),
            interpretation: None,
            back_late_ms: None,
        }
    };
    let scenarios = report
        .scenarios
        .iter()
        .map(|s| {
            let claims: Vec<ClaimId> = s.claims.iter().map(|c| id(c)).collect();
            // The longest evidence among its claims is the scenario's whole record.
            let deciding = report.claims.iter().filter(|c| c.scenario.as_deref() == Some(s.name.as_str()));
            let evidence = deciding.clone().map(|c| &c.evidence).max_by_key(|e| e.len()).cloned().unwrap_or_default();
            let mut info = ScenarioInfo {
                file: s.file.clone(),
                section: s.section.clone(),
                facts: vec!["{name.a} = www.sub.comptech-lab.com. (dns-records.md:12)".into()],
                monitors: vec![Monitor::State, Monitor::Synthetic],
                ..ScenarioInfo::named(&s.name, claims.clone())
            };
            let mut run = ScenarioRun::new(info.clone(), format!("{}-{}", report.run.id, s.name));
            run.records = evidence.iter().map(|e| obs(e, &claims)).collect();
            run.timeline = s.timeline.clone();
            run.wall_ms = s.wall_ms;
            run.triage_row = s.triage_row.clone();
            run.versions = (report.run.pdns_version.clone(), report.run.recursor_version.clone());
            run.dropins = report.run.dropins.clone();
            match s.name.as_str() {
                "recursor-down" => {
                    info.timings = vec![Timing { claim: id("DAE-REC"), span: TimingSpan::Recovery, at_most: std::time::Duration::from_secs(600), note: Some("\"back within 10 minutes\"".into()) }];
                    run.detections = vec![
                        Detection { monitor: Monitor::State, first_ms: Some(1100), evidence: Some("pdns-recursor failed".into()), samples: 4, last_reading: None },
                        Detection { monitor: Monitor::SqliteSize, first_ms: None, evidence: None, samples: 4, last_reading: Some("77824 bytes (before the fault: 77824 bytes)".into()) },
                    ];
                }
                "auth-down" => {
                    info.condition = Some("the zone's SOA is in the recursor's cache".into());
                    info.condition_for = Some(vec![id("DAE-AUTH")]);
                    info.parts_not_simulated = vec![(id("DAE-AUTH"), Part::Timing, "the runbook's figure is for a real VM's boot".into())];
                    let fix = deciding.filter_map(|c| c.correction.as_ref()).next().unwrap();
                    run.corrections = vec![
                        CorrectionRun { claim: id("DAE-AUTH"), summary: fix.summary.clone(), records: fix.evidence.iter().map(|e| obs(e, &[id("DAE-AUTH")])).collect(), not_run: None },
                        CorrectionRun { claim: id("TRI-3"), summary: "ask the authoritative on its public address".into(), records: vec![], not_run: Some("TRI-3 held on this lab".into()) },
                    ];
                }
                "vm-rebuild" => run.error = Some("lab image build failed: apt-get install pdns-server exited 100 (mirror unreachable)".into()),
                "sql-corrupt" => run.interrupted = true,
                _ => {}
            }
            run.scenario = info;
            run
        })
        .collect();
    let mut not_simulated = ScenarioRun::new(
        ScenarioInfo {
            file: "scenarios/vm-scratch.toml".into(),
            section: "VM rebuilt from scratch".into(),
            not_simulated: vec![(id("VM-SCRATCH"), "containers get their MAC from the engine's network".into())],
            ..ScenarioInfo::named("vm-scratch", vec![id("VM-SCRATCH")])
        },
        format!("{}-vm-scratch", report.run.id),
    );
    not_simulated.not_simulated = Some("the lab has no client address in drill.toml".into());
    let mut scenarios: Vec<ScenarioRun> = scenarios;
    scenarios.push(not_simulated);
    RunHistory { schema: HISTORY_SCHEMA, run: report.run, scenarios, preflight: None }
}
