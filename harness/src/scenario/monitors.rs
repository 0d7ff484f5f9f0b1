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
            Monitor::State => "the harness's state monitor: alerts when systemctl is-active is not active for pdns or pdns-recursor, sampled every second".into(),
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
                    if let [a, b] = words[..] {
                        s.state = Some((a.to_string(), b.to_string()));
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

/// One shell script on the VM reads every VM-side monitor at once (`{db}` filled by the
/// caller). It runs every second for every faulted lab, so it spawns as few processes as it
/// can: one per daemon asked (a hung daemon's control socket must not stall it: 2 s bounds).
pub const VM_SCRIPT: &str = "echo @state; systemctl is-active pdns pdns-recursor; \
echo @rec; rec_control --timeout=2 get cache-hits cache-misses 2>/dev/null; \
echo @auth; timeout 2 pdns_control show '*' 2>/dev/null; \
echo @size; stat -c %s {db} 2>/dev/null";

/// Whether `m` would alert on `s`, given the reading before the fault and the previous one.
pub fn alerts(m: Monitor, base: &Sample, prev: Option<&Sample>, s: &Sample) -> Option<String> {
    match m {
        Monitor::State => match &s.state {
            None => Some("the VM's units cannot be read".into()),
            Some((a, b)) if a != "active" || b != "active" => Some(format!("pdns {a}, pdns-recursor {b}")),
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

/// Each monitor's first alert over a series of samples.
pub fn detections(base: &Sample, samples: &[Sample]) -> Vec<Detection> {
    Monitor::ALL
        .iter()
        .map(|&m| {
            let hit = samples.iter().enumerate().find_map(|(i, s)| alerts(m, base, i.checked_sub(1).map(|p| &samples[p]), s).map(|why| (s.at_ms, why)));
            let last_reading = samples.last().map(|s| reading(m, base, s));
            Detection { monitor: m, first_ms: hit.as_ref().map(|h| h.0), evidence: hit.map(|h| h.1), samples: samples.len(), last_reading }
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
        }
    }

    #[test]
    fn the_sampling_script_output_is_read() {
        let s = Sample::parse_vm("@state\ninactive\nactive\n@rec\n12\n5\n@auth\nbackend-queries=3,latency=420,udp-answers=9,udp-queries=1500,udp4-queries=1500\n@size\n77824\n");
        assert_eq!(s.state, Some(("inactive".into(), "active".into())));
        assert_eq!(s.cache, Some((12, 5)));
        assert_eq!(s.auth, Some((1500, 420)));
        assert_eq!(s.sqlite_size, Some(77824));
        let down = Sample::parse_vm("@state\nactive\nactivating\n@rec\n@auth\n@size\n");
        assert_eq!((down.cache, down.auth, down.sqlite_size), (None, None, None));
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
        let d = detections(&base, &[down, flood]);
        let first = |m| d.iter().find(|x| x.monitor == m).unwrap().first_ms;
        assert_eq!(first(Monitor::State), Some(1000));
        assert_eq!(first(Monitor::Synthetic), Some(1000));
        assert_eq!(first(Monitor::AuthQps), Some(2000), "5000 queries in a second");
        assert_eq!(first(Monitor::SqliteSize), Some(2000));
        assert_eq!(first(Monitor::CacheRatio), None);
    }

    #[test]
    fn a_vm_that_cannot_be_read_alerts_every_vm_side_monitor() {
        let base = healthy(0, 100);
        let gone = Sample { at_ms: 500, ..Sample::default() };
        let d = detections(&base, &[gone]);
        assert!(d.iter().all(|d| d.first_ms == Some(500)), "{d:?}");
    }
}
