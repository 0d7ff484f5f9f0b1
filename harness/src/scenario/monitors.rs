//! The runbook's planned monitors ("Things to monitor"), sampled while a fault is in place: which
//! of them would have noticed it, and how soon. A monitor whose data cannot be read counts as
//! noticing (an exporter that stops answering raises its own alert).

use serde::{Deserialize, Serialize};
use schemars::JsonSchema;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Monitor {
    /// systemctl state of pdns and pdns-recursor (MON-STATE).
    State,
    /// The recursor's cache-hits / cache-misses (MON-CACHE).
    CacheRatio,
    /// The authoritative's query rate and latency (MON-QPS).
    AuthQps,
    /// The SQLite file's size, alerting on a drop (MON-SIZE).
    SqliteSize,
    /// Synthetic digs of a lab record and a public name through the recursor (MON-SYNTH).
    Synthetic,
}

impl Monitor {
    pub const ALL: [Monitor; 5] = [Monitor::State, Monitor::CacheRatio, Monitor::AuthQps, Monitor::SqliteSize, Monitor::Synthetic];
    pub fn as_str(self) -> &'static str {
        match self {
            Monitor::State => "systemctl state",
            Monitor::CacheRatio => "cache hit ratio",
            Monitor::AuthQps => "auth QPS / latency",
            Monitor::SqliteSize => "SQLite size",
            Monitor::Synthetic => "synthetic digs",
        }
    }
    /// The claim whose verdict this monitor's column decides.
    /// The harness's model of the monitor the runbook's plan names: when it counts as alerting.
    pub fn model(self) -> String {
        match self {
            Monitor::State => format!("the harness's state monitor: alerts when pdns or pdns-recursor is not active (systemctl's ActiveState), sampled every second; a unit starting, stopping or with a job under way (a restart) only once it has been so for {} s, one that died (auto-restart, or its last run's result not success) at once", TRANSITION_GRACE_MS / 1000),
            Monitor::CacheRatio => "the harness's cache-ratio monitor: alerts only when the recursor's counters cannot be read".into(),
            Monitor::AuthQps => format!("the harness's QPS/latency monitor: alerts at a pdns latency of {SLOW_LATENCY_US} µs or {FLOOD_QPS:.0} queries/s"),
            Monitor::SqliteSize => "the harness's SQLite size monitor: alerts when the file is gone or smaller than before the fault".into(),
            Monitor::Synthetic => "the harness's synthetic dig: alerts when a known lab name through the recursor gets no answer".into(),
        }
    }

    pub fn claim(self) -> &'static str {
        match self {
            Monitor::State => "MON-STATE",
            Monitor::CacheRatio => "MON-CACHE",
            Monitor::AuthQps => "MON-QPS",
            Monitor::SqliteSize => "MON-SIZE",
            Monitor::Synthetic => "MON-SYNTH",
        }
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A query rate on the authoritative that a QPS alert would call a flood.
pub const FLOOD_QPS: f64 = 1000.0;
/// An average answer latency (µs) a slow-backend alert would fire on.
pub const SLOW_LATENCY_US: u64 = 100_000;

/// One reading of every monitor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the fault was injected.
    pub at_ms: u64,
    /// (pdns, pdns-recursor) `systemctl is-active`; None when the VM cannot be asked.
    pub state: Option<(String, String)>,
    pub cache: Option<(u64, u64)>,
    /// udp-queries counter and latency (µs).
    pub auth: Option<(u64, u64)>,
    pub sqlite_size: Option<u64>,
    /// Both synthetic digs got an answer.
    pub synthetic_ok: bool,
    /// Only the units' state was read ([`STATE_SCRIPT`]): a reading for the state monitor alone.
    #[serde(default)]
    pub state_only: bool,
}

impl Sample {
    /// Reads the VM side from the sampling script's output (see [`VM_SCRIPT`]): one `@section`
    /// line, then what the command printed.
    pub fn parse_vm(out: &str) -> Sample {
        let mut s = Sample::default();
        for block in out.split('@').skip(1) {
            let (head, body) = block.split_once('\n').unwrap_or((block, ""));
            let words: Vec<&str> = body.split_whitespace().collect();
            match head.trim() {
                "state" => {
                    // `systemctl show`, a block per unit: a unit systemd restarts after it
                    // died, and one with a start, stop or restart job under way, say so.
                    let units: Vec<String> = body
                        .split("\n\n")
                        .filter_map(|unit| {
                            let prop = |k: &str| unit.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix('=')).map(str::trim);
                            let active = prop("ActiveState")?;
                            let mut u = active.to_string();
                            if prop("SubState") == Some("auto-restart") {
                                u.push_str(" (auto-restart)");
                            }
                            if let Some(r) = prop("Result").filter(|r| !r.is_empty() && *r != "success") {
                                u.push_str(&format!(" ({FAILED}{r})"));
                            }
                            if prop("Job").is_some_and(|j| !j.is_empty()) {
                                u.push_str(JOB_RUNNING);
                            }
                            Some(u)
                        })
                        .collect();
                    if let [a, b] = &units[..] {
                        s.state = Some((a.clone(), b.clone()));
                    }
                }
                "rec" => s.cache = two(words.iter().copied()),
                "auth" => {
                    // `pdns_control show '*'`: name=value pairs, comma-separated.
                    let stat = |name: &str| body.trim().split(',').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.trim().parse().ok());
                    s.auth = stat("udp-queries").zip(stat("latency"));
                }
                "size" => s.sqlite_size = words.first().and_then(|v| v.parse().ok()),
                _ => {}
            }
        }
        s
    }
}

fn two<'a>(mut w: impl Iterator<Item = &'a str>) -> Option<(u64, u64)> {
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

macro_rules! state_script {
    () => {
        "echo @state; systemctl show -p ActiveState -p SubState -p Result -p Job pdns pdns-recursor"
    };
}

/// The units' state alone: read once as the fault lands, before any symptom step, since a
/// step may end what the fault did (start a unit it stopped) before a full reading is back.
pub const STATE_SCRIPT: &str = state_script!();

/// One shell script on the VM reads every VM-side monitor at once (`{db}` filled by the
/// caller). It runs every second for every faulted lab, so it spawns as few processes as it
/// can: one per daemon asked (a hung daemon's control socket must not stall it: 2 s bounds).
pub const VM_SCRIPT: &str = concat!(
    state_script!(),
    "; echo @rec; rec_control --timeout=2 get cache-hits cache-misses 2>/dev/null; \
echo @auth; timeout 2 pdns_control show '*' 2>/dev/null; \
echo @size; stat -c %s {db} 2>/dev/null"
);

/// Whether `m` would alert on `s`, given the reading before the fault and the previous one.
pub fn alerts(m: Monitor, base: &Sample, prev: Option<&Sample>, s: &Sample) -> Option<String> {
    match m {
        Monitor::State => match &s.state {
            None => Some("the VM's units cannot be read".into()),
            // A job queued on an active unit is not an alert.
            Some((a, b)) if !is_active(a) || !is_active(b) => Some(format!("pdns {a}, pdns-recursor {b}")),
            _ => None,
        },
        Monitor::CacheRatio => s.cache.is_none().then(|| "the recursor's counters cannot be read".into()),
        Monitor::AuthQps => match (s.auth, prev.and_then(|p| p.auth.map(|a| (p.at_ms, a)))) {
            (None, _) => Some("the authoritative's counters cannot be read".into()),
            (Some((_, lat)), _) if lat >= SLOW_LATENCY_US => Some(format!("latency {lat} µs")),
            (Some((q, _)), Some((t0, (q0, _)))) if s.at_ms > t0 => {
                let qps = q.saturating_sub(q0) as f64 * 1000.0 / (s.at_ms - t0) as f64;
                (qps >= FLOOD_QPS).then(|| format!("{qps:.0} queries/s"))
            }
            _ => None,
        },
        Monitor::SqliteSize => match (s.sqlite_size, base.sqlite_size) {
            (None, _) => Some("the SQLite file is gone or unreadable".into()),
            (Some(now), Some(before)) if now < before => Some(format!("size dropped from {before} to {now} bytes")),
            _ => None,
        },
        Monitor::Synthetic => (!s.synthetic_ok).then(|| "a synthetic dig through the recursor got no answer".into()),
    }
}

/// What one monitor made of one fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detection {
    pub monitor: Monitor,
    /// ms after the fault of the first sample it alerted on; None: it stayed quiet.
    pub first_ms: Option<u64>,
    /// What it saw then.
    pub evidence: Option<String>,
    /// Samples taken while the fault was in place.
    pub samples: usize,
    /// What it read at the last sample, so a quiet monitor shows what it was quiet about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reading: Option<String>,
}

/// One monitor's reading of one sample, as an operator's dashboard would show it.
pub fn reading(m: Monitor, base: &Sample, s: &Sample) -> String {
    let or_unread = |v: Option<String>| v.unwrap_or_else(|| "unreadable".into());
    match m {
        Monitor::State => or_unread(s.state.as_ref().map(|(a, b)| format!("pdns {a}, pdns-recursor {b}"))),
        Monitor::CacheRatio => or_unread(s.cache.map(|(h, m)| format!("cache-hits {h}, cache-misses {m}"))),
        Monitor::AuthQps => or_unread(s.auth.map(|(q, l)| format!("udp-queries {q}, latency {l} µs"))),
        Monitor::SqliteSize => {
            let before = base.sqlite_size.map_or("unread".into(), |b| format!("{b} bytes"));
            format!("{} (before the fault: {before})", or_unread(s.sqlite_size.map(|n| format!("{n} bytes"))))
        }
        Monitor::Synthetic => if s.synthetic_ok { "both digs answered" } else { "a dig got no answer" }.into(),
    }
}

const JOB_RUNNING: &str = " (job running)";
/// Marks a unit whose last run did not end well (systemd's `Result`: exit-code, signal, …).
const FAILED: &str = "last run: ";

/// A unit between states: a restart a step makes on purpose (the edit's own) runs a job
/// through deactivating, inactive and activating in a few seconds, so whether a sample lands in
/// it is chance, not a sign of the fault. A unit that died (systemd restarts it, or its last
/// run's result is not success) is not in transition: that is the sign.
pub fn in_transition(s: &Sample) -> bool {
    // A unit that died is no transition, whatever job systemd runs to restart it.
    let died = |u: &String| u.contains("(auto-restart)") || u.contains(FAILED);
    let moving = |u: &String| !died(u) && (u.ends_with(JOB_RUNNING) || ["activating", "deactivating", "reloading", "refreshing"].iter().any(|t| u.starts_with(t)));
    // Only when every unit off active is moving: a fault on one is not hidden by the other's restart.
    s.state.as_ref().is_some_and(|(a, b)| [a, b].iter().any(|u| moving(u)) && [a, b].iter().all(|u| is_active(u) || moving(u)))
}

/// A unit's reading is its ActiveState, then what it notes: active is the first word.
fn is_active(u: &str) -> bool {
    u.split(' ').next() == Some("active")
}

/// How long a unit may stay between states before the state monitor calls it a fault.
pub const TRANSITION_GRACE_MS: u64 = 5_000;

/// Each monitor's first alert over a series of samples.
pub fn detections(base: &Sample, samples: &[Sample]) -> Vec<Detection> {
    Monitor::ALL
        .iter()
        .map(|&m| {
            let series: Vec<&Sample> = samples.iter().filter(|s| m == Monitor::State || !s.state_only).collect();
            let alert = |i: usize| series.get(i).and_then(|s| alerts(m, base, i.checked_sub(1).map(|p| series[p]), s));
            // A reading in transition counts once the unit has not been back to active for the grace.
            let counts = |i: usize| {
                m != Monitor::State
                    || !in_transition(series[i])
                    || (i..series.len()).take_while(|&j| alert(j).is_some()).any(|j| series[j].at_ms >= series[i].at_ms + TRANSITION_GRACE_MS)
            };
            let hit = (0..series.len()).find_map(|i| alert(i).filter(|_| counts(i)).map(|why| (series[i].at_ms, why)));
            let last_reading = series.last().map(|s| reading(m, base, s));
            Detection { monitor: m, first_ms: hit.as_ref().map(|h| h.0), evidence: hit.map(|h| h.1), samples: series.len(), last_reading }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy(at_ms: u64, q: u64) -> Sample {
        Sample {
            at_ms,
            state: Some(("active".into(), "active".into())),
            cache: Some((10, 2)),
            auth: Some((q, 300)),
            sqlite_size: Some(77824),
            synthetic_ok: true,
            state_only: false,
        }
    }

    #[test]
    fn the_sampling_script_output_is_read() {
        let s = Sample::parse_vm("@state\nActiveState=inactive\nSubState=dead\n\nActiveState=active\nSubState=running\n@rec\n12\n5\n@auth\nbackend-queries=3,latency=420,udp-answers=9,udp-queries=1500,udp4-queries=1500\n@size\n77824\n");
        assert_eq!(s.state, Some(("inactive".into(), "active".into())));
        assert_eq!(s.cache, Some((12, 5)));
        assert_eq!(s.auth, Some((1500, 420)));
        assert_eq!(s.sqlite_size, Some(77824));
        let down = Sample::parse_vm("@state\nActiveState=active\nSubState=running\nJob=\n\nActiveState=activating\nSubState=auto-restart\nJob=\n@rec\n@auth\n@size\n");
        assert_eq!((down.cache, down.auth, down.sqlite_size), (None, None, None));
        assert_eq!(down.state, Some(("active".into(), "activating (auto-restart)".into())));
        let restarting = Sample::parse_vm("@state\nActiveState=active\nSubState=running\nResult=success\nJob=\n\nActiveState=inactive\nSubState=dead\nResult=success\nJob=79\n@rec\n");
        assert_eq!(restarting.state, Some(("active".into(), "inactive (job running)".into())));
        let looping = Sample::parse_vm("@state\nActiveState=activating\nSubState=start\nResult=exit-code\nJob=80\n\nActiveState=active\nSubState=running\nResult=success\nJob=\n@rec\n");
        assert_eq!(looping.state, Some(("activating (last run: exit-code) (job running)".into(), "active".into())));
    }

    #[test]
    fn a_quiet_lab_alerts_nothing() {
        let base = healthy(0, 100);
        let d = detections(&base, &[healthy(1000, 110), healthy(2000, 120)]);
        assert!(d.iter().all(|d| d.first_ms.is_none()), "{d:?}");
        let size = d.iter().find(|d| d.monitor == Monitor::SqliteSize).unwrap();
        assert_eq!(size.last_reading.as_deref(), Some("77824 bytes (before the fault: 77824 bytes)"), "a quiet monitor says what it read");
    }

    #[test]
    fn each_monitor_alerts_on_its_own_signal() {
        let base = healthy(0, 100);
        let mut down = healthy(1000, 100);
        down.state = Some(("inactive".into(), "active".into()));
        down.synthetic_ok = false;
        let mut flood = healthy(2000, 100 + 5000);
        flood.sqlite_size = Some(40000);
        let d = detections(&base, &[down.clone(), flood.clone()]);
        let first = |m| d.iter().find(|x| x.monitor == m).unwrap().first_ms;
        // A stopped unit is the fault's sign at once, even when a step starts it a moment later.
        assert_eq!(first(Monitor::State), Some(1000));
        assert_eq!(first(Monitor::Synthetic), Some(1000));
        assert_eq!(first(Monitor::AuthQps), Some(2000), "5000 queries in a second");
        assert_eq!(first(Monitor::SqliteSize), Some(2000));
        assert_eq!(first(Monitor::CacheRatio), None);
    }

    #[test]
    fn a_restart_is_no_alert_a_unit_stuck_or_dying_is() {
        let base = healthy(0, 100);
        let with = |at_ms, rec: &str| Sample { at_ms, state: Some(("active".into(), rec.into())), ..healthy(at_ms, 100) };
        let state = |samples: &[Sample]| detections(&base, samples).into_iter().find(|d| d.monitor == Monitor::State).unwrap().first_ms;
        // A restart of two seconds, over three samples: back to active before the grace.
        assert_eq!(state(&[with(100, "deactivating"), with(1200, "activating"), healthy(2300, 100)]), None);
        assert_eq!(state(&[with(100, "activating")]), None, "nothing after it shows it stuck");
        // Starting for longer than the grace: stuck.
        assert_eq!(state(&[with(100, "activating"), with(2100, "activating"), with(5100, "activating"), healthy(6000, 100)]), Some(100));
        // Stopped, failed, or dying and restarted by systemd: at once.
        assert_eq!(state(&[with(100, "deactivating"), with(1200, "failed")]), Some(1200));
        assert_eq!(state(&[with(100, "activating (auto-restart)"), healthy(1200, 100)]), Some(100));
        assert_eq!(state(&[with(100, "activating (auto-restart) (job running)"), healthy(1200, 100)]), Some(100));
        // A crash loop caught while systemd starts it again: its last run failed.
        assert_eq!(state(&[with(100, "activating (last run: exit-code) (job running)"), healthy(1200, 100)]), Some(100));
        assert!(in_transition(&with(0, "activating")) && !in_transition(&with(0, "activating (auto-restart)")));
        // Between the stop and the start of a restart the unit is inactive, its job still running.
        assert_eq!(state(&[with(100, "inactive (job running)"), healthy(1200, 100)]), None);
        assert_eq!(state(&[with(100, "inactive"), healthy(1200, 100)]), Some(100));
        let both = Sample { at_ms: 100, state: Some(("inactive".into(), "deactivating (job running)".into())), ..healthy(100, 100) };
        assert_eq!(state(&[both, healthy(1200, 100)]), Some(100), "pdns stopped by the fault, the recursor restarting: the fault counts");
        assert_eq!(state(&[with(100, "active (job running)"), with(1200, "active (job running)"), with(6300, "active (job running)")]), None, "active, a restart queued");
    }

    #[test]
    fn the_state_read_as_the_fault_lands_counts_for_the_state_monitor_alone() {
        let base = healthy(0, 100);
        let stopped = Sample { at_ms: 5, state: Some(("inactive".into(), "active".into())), state_only: true, ..Sample::default() };
        // A step started the unit again before the first full reading came back.
        let d = detections(&base, &[stopped, healthy(900, 100), healthy(2000, 100)]);
        let of = |m| d.iter().find(|x| x.monitor == m).unwrap();
        assert_eq!(of(Monitor::State).first_ms, Some(5));
        assert_eq!(of(Monitor::State).samples, 3);
        // The other monitors read nothing then: no "cannot be read" alert, one sample fewer.
        assert!(Monitor::ALL.iter().filter(|m| **m != Monitor::State).all(|m| of(*m).first_ms.is_none() && of(*m).samples == 2), "{d:?}");
    }

    #[test]
    fn a_vm_that_cannot_be_read_alerts_every_vm_side_monitor() {
        let base = healthy(0, 100);
        let gone = Sample { at_ms: 500, ..Sample::default() };
        let d = detections(&base, &[gone]);
        assert!(d.iter().all(|d| d.first_ms == Some(500)), "{d:?}");
    }
}
