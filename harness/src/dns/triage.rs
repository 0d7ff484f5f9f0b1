//! The runbook's "DNS is down" first-triage table, as data and a lookup.
//!
//! Four probes (recursor query, authoritative SOA query, ping of the VM, VM state) are reduced
//! to ok / no reply, and the combination is looked up in the six documented rows (TRI-1..6).
//! The lookup never guesses: a combination the table does not list, or any probe result that
//! is neither "ok" nor "no reply", yields `None` so the report says the runbook has no answer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dns::probe::{Outcome, Rcode};

/// What one probe said, in the table's vocabulary plus one escape hatch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Reply {
    /// A usable answer (for ping: echo replies).
    Ok,
    /// Silence, refusal or a torn connection: nothing usable came back.
    NoReply,
    /// Something came back that is neither: a DNS error/empty answer, or a probe that did not
    /// run as written. The table has no column for it, so it always defeats classification.
    Answered(String),
}

impl Reply {
    /// Map a native probe outcome. `want_answer` demands at least one answer record, which is
    /// what "ok" means for the runbook's `dig +short` probes; without it any NOERROR counts
    /// (reachability only).
    pub fn from_dns(o: &Outcome, want_answer: bool) -> Reply {
        match o {
            Outcome::Response(r) if r.rcode != Rcode::NoError => Reply::Answered(r.rcode.to_string()),
            Outcome::Response(r) if !r.answers.is_empty() || !want_answer => Reply::Ok,
            Outcome::Response(r) if r.tc => Reply::Answered("truncated".into()),
            Outcome::Response(_) => Reply::Answered("empty answer".into()),
            Outcome::Timeout | Outcome::Refused | Outcome::Reset | Outcome::NetError(_) => {
                Reply::NoReply
            }
        }
    }

    /// Map a `dig +short` run.
    ///
    /// - exit 9 (no server reached) → `NoReply`.
    /// - exit 0 with any data line → `Ok`; `;;` lines are dig's own diagnostics, not data.
    /// - exit 0 with no data → `Answered("empty answer")`: under `+short` a REFUSED, SERVFAIL,
    ///   NXDOMAIN or NODATA reply all print nothing, so something answered but not usefully.
    /// - any other exit (usage error, internal error, killed) → `Answered("dig exit N")`: the
    ///   probe did not run as written, so we do not know whether the server replied, and
    ///   calling it "no reply" would blame a daemon for a harness problem.
    pub fn from_dig(exit_code: i64, stdout: &str) -> Reply {
        match exit_code {
            9 => Reply::NoReply,
            0 => {
                let has_data = stdout
                    .lines()
                    .map(str::trim)
                    .any(|l| !l.is_empty() && !l.starts_with(';'));
                if has_data {
                    Reply::Ok
                } else {
                    Reply::Answered("empty answer".into())
                }
            }
            n => Reply::Answered(format!("dig exit {n}")),
        }
    }

    /// Map an iputils `ping -c N` run: 0 = some echo came back, 1 = none did. Other exits
    /// (bad arguments, unknown host) say nothing about the VM, so they defeat classification
    /// the same way a failed dig does.
    pub fn from_ping(exit_code: i64) -> Reply {
        match exit_code {
            0 => Reply::Ok,
            1 => Reply::NoReply,
            n => Reply::Answered(format!("ping exit {n}")),
        }
    }

    /// The cell text the runbook's table uses.
    pub fn label(&self) -> String {
        match self {
            Reply::Ok => "ok".into(),
            Reply::NoReply => "no reply".into(),
            Reply::Answered(what) => format!("answered: {what}"),
        }
    }

    pub fn is_answered(&self) -> bool {
        matches!(self, Reply::Answered(_))
    }
}

/// Machine form used in JSON: `ok`, `no-reply`, `answered: REFUSED`.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => f.write_str("ok"),
            Reply::NoReply => f.write_str("no-reply"),
            Reply::Answered(what) => write!(f, "answered: {what}"),
        }
    }
}

impl FromStr for Reply {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(Reply::Ok),
            "no-reply" | "no reply" => Ok(Reply::NoReply),
            _ => s
                .strip_prefix("answered: ")
                .or_else(|| s.strip_prefix("answered:"))
                .map(|what| Reply::Answered(what.to_string()))
                .ok_or_else(|| format!("not a triage reply: {s:?}")),
        }
    }
}

impl From<Reply> for String {
    fn from(r: Reply) -> Self {
        r.to_string()
    }
}

impl TryFrom<String> for Reply {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The VM's state as the hypervisor (here: the container engine) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    Running,
    Stopped,
}

impl fmt::Display for VmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VmState::Running => "running",
            VmState::Stopped => "stopped",
        })
    }
}

/// One reading of the four triage probes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observation {
    pub recursor: Reply,
    pub auth: Reply,
    pub ping: Reply,
    pub vm: VmState,
}

/// The six rows of the triage table; the claim IDs are their names in every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Row {
    #[serde(rename = "TRI-1")]
    Tri1,
    #[serde(rename = "TRI-2")]
    Tri2,
    #[serde(rename = "TRI-3")]
    Tri3,
    #[serde(rename = "TRI-4")]
    Tri4,
    #[serde(rename = "TRI-5")]
    Tri5,
    #[serde(rename = "TRI-6")]
    Tri6,
}

impl Row {
    /// In the runbook's order, which is also the rendering order.
    pub const ALL: [Row; 6] = [Row::Tri1, Row::Tri2, Row::Tri3, Row::Tri4, Row::Tri5, Row::Tri6];

    pub fn id(self) -> &'static str {
        match self {
            Row::Tri1 => "TRI-1",
            Row::Tri2 => "TRI-2",
            Row::Tri3 => "TRI-3",
            Row::Tri4 => "TRI-4",
            Row::Tri5 => "TRI-5",
            Row::Tri6 => "TRI-6",
        }
    }

    /// The runbook's likely cause, paraphrased.
    pub fn cause(self) -> &'static str {
        match self {
            Row::Tri1 => "DNS is healthy; look elsewhere",
            Row::Tri2 => "recursor daemon (pdns-recursor) down",
            Row::Tri3 => "authoritative daemon (pdns) down",
            Row::Tri4 => "both daemons down, or a firewall change",
            Row::Tri5 => "networking inside the VM broken",
            Row::Tri6 => "the VM itself died",
        }
    }

    /// The exact observation that defines this row; every row pins all four columns.
    pub fn pattern(self) -> Observation {
        use Reply::{NoReply as N, Ok as K};
        let (recursor, auth, ping, vm) = match self {
            Row::Tri1 => (K, K, K, VmState::Running),
            Row::Tri2 => (N, K, K, VmState::Running),
            Row::Tri3 => (K, N, K, VmState::Running),
            Row::Tri4 => (N, N, K, VmState::Running),
            Row::Tri5 => (N, N, N, VmState::Running),
            Row::Tri6 => (N, N, N, VmState::Stopped),
        };
        Observation { recursor, auth, ping, vm }
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Look the observation up in the table. Exact match only: anything else is `None`.
pub fn classify(o: &Observation) -> Option<Row> {
    Row::ALL.into_iter().find(|r| r.pattern() == *o)
}

/// `"TRI-n"`, or `"unknown"` when the runbook has no row for what was seen.
pub fn row_id(r: Option<Row>) -> &'static str {
    r.map_or("unknown", Row::id)
}

/// The table as the operator would read it, the matching row marked, then what was observed.
pub fn render_table(o: &Observation, r: Option<Row>) -> String {
    const HEAD: [&str; 5] = ["Recursor", "Auth", "Ping", "libvirt", "Likely cause"];
    let rows: Vec<(bool, [String; 5])> = Row::ALL
        .into_iter()
        .map(|row| {
            let p = row.pattern();
            let cells = [
                p.recursor.label(),
                p.auth.label(),
                p.ping.label(),
                p.vm.to_string(),
                format!("{} ({})", row.cause(), row.id()),
            ];
            (Some(row) == r, cells)
        })
        .collect();

    let mut widths = HEAD.map(|h| h.chars().count());
    for (_, cells) in &rows {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |marker: &str, cells: [&str; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{marker} {}", padded.join("  ")).trim_end().to_string()
    };

    let mut out = vec![line(" ", HEAD)];
    for (hit, cells) in &rows {
        let cells: [&str; 5] = std::array::from_fn(|i| cells[i].as_str());
        out.push(line(if *hit { "▶" } else { " " }, cells));
    }
    out.push(String::new());
    out.push(format!(
        "observed: recursor={} auth={} ping={} libvirt={}",
        o.recursor.label(),
        o.auth.label(),
        o.ping.label(),
        o.vm
    ));
    out.push(match r {
        Some(row) => format!("row: {} — {}", row.id(), row.cause()),
        None => "row: unknown — pattern not in the runbook".to_string(),
    });
    out.join("\n")
}

/// An observation with its classification, as stored in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageResult {
    pub observation: Observation,
    pub row: Option<Row>,
}

impl TriageResult {
    /// Classify `observation` once, so the stored row can never disagree with the table.
    pub fn new(observation: Observation) -> Self {
        let row = classify(&observation);
        TriageResult { observation, row }
    }

    /// Flat JSON for reports: `{"recursor":"ok","auth":"no-reply",...,"row":"TRI-2"}`,
    /// with `"row":"unknown"` when no row matched.
    pub fn to_json(&self) -> serde_json::Value {
        let o = &self.observation;
        serde_json::json!({
            "recursor": o.recursor.to_string(),
            "auth": o.auth.to_string(),
            "ping": o.ping.to_string(),
            "vm": o.vm.to_string(),
            "row": row_id(self.row),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::probe::{Answer, Response};
    use proptest::prelude::*;
    use Reply::{NoReply as N, Ok as K};
    use VmState::{Running, Stopped};

    fn obs(recursor: Reply, auth: Reply, ping: Reply, vm: VmState) -> Observation {
        Observation { recursor, auth, ping, vm }
    }

    fn answered(s: &str) -> Reply {
        Reply::Answered(s.into())
    }

    fn dns(rcode: Rcode, answers: usize) -> Outcome {
        let a = Answer {
            name: "google.com.".into(),
            rtype: "A".into(),
            ttl: 60,
            data: "192.0.2.1".into(),
        };
        Outcome::Response(Response {
            rcode,
            aa: false,
            ra: true,
            tc: false,
            answers: vec![a; answers],
            elapsed_ms: 1,
        })
    }

    #[test]
    fn tri1_all_ok_running() {
        assert_eq!(classify(&obs(K, K, K, Running)), Some(Row::Tri1));
    }

    #[test]
    fn tri2_recursor_silent() {
        assert_eq!(classify(&obs(N, K, K, Running)), Some(Row::Tri2));
    }

    #[test]
    fn tri3_auth_silent() {
        assert_eq!(classify(&obs(K, N, K, Running)), Some(Row::Tri3));
    }

    #[test]
    fn tri4_both_daemons_silent_ping_ok() {
        assert_eq!(classify(&obs(N, N, K, Running)), Some(Row::Tri4));
    }

    #[test]
    fn tri5_nothing_replies_running() {
        assert_eq!(classify(&obs(N, N, N, Running)), Some(Row::Tri5));
    }

    #[test]
    fn tri6_nothing_replies_stopped() {
        assert_eq!(classify(&obs(N, N, N, Stopped)), Some(Row::Tri6));
    }

    #[test]
    fn every_row_matches_its_own_pattern_only() {
        for row in Row::ALL {
            assert_eq!(classify(&row.pattern()), Some(row));
            assert_eq!(row_id(Some(row)), row.id());
            assert_eq!(serde_json::to_value(row).unwrap(), serde_json::json!(row.id()));
        }
        assert_eq!(row_id(None), "unknown");
    }

    #[test]
    fn unknown_patterns_are_not_guessed() {
        let unknown = [
            obs(N, K, N, Running), // DNS reaches auth but not ICMP: not a row
            obs(K, K, K, Stopped), // answers from a stopped VM
            obs(K, N, N, Running),
            obs(N, K, K, Stopped),
            obs(N, N, K, Stopped),
            obs(answered("REFUSED"), K, K, Running),
            obs(K, answered("SERVFAIL"), K, Running),
            obs(answered("REFUSED"), answered("REFUSED"), N, Stopped),
            obs(K, K, answered("ping exit 2"), Running),
        ];
        for o in unknown {
            assert_eq!(classify(&o), None, "{o:?}");
        }
    }

    #[test]
    fn from_dns_mapping() {
        assert_eq!(Reply::from_dns(&dns(Rcode::NoError, 1), true), K);
        assert_eq!(Reply::from_dns(&dns(Rcode::NoError, 0), true), answered("empty answer"));
        assert_eq!(Reply::from_dns(&dns(Rcode::NoError, 0), false), K);
        assert_eq!(Reply::from_dns(&dns(Rcode::Refused, 0), true), answered("REFUSED"));
        assert_eq!(Reply::from_dns(&dns(Rcode::ServFail, 0), false), answered("SERVFAIL"));
        assert_eq!(Reply::from_dns(&dns(Rcode::NxDomain, 0), true), answered("NXDOMAIN"));
        for o in [
            Outcome::Timeout,
            Outcome::Refused,
            Outcome::Reset,
            Outcome::NetError("no route to host".into()),
        ] {
            assert_eq!(Reply::from_dns(&o, true), N, "{o:?}");
        }
    }

    #[test]
    fn from_dig_mapping() {
        assert_eq!(Reply::from_dig(0, "142.250.74.46\n"), K);
        assert_eq!(Reply::from_dig(0, "ns1.sub.example. hostmaster. 1 2 3 4 5\n"), K);
        assert_eq!(Reply::from_dig(0, ""), answered("empty answer"));
        assert_eq!(Reply::from_dig(0, ";; Warning: odd reply\n\n"), answered("empty answer"));
        assert_eq!(
            Reply::from_dig(9, ";; connection timed out; no servers could be reached\n"),
            N
        );
        assert_eq!(Reply::from_dig(1, ""), answered("dig exit 1"));
        assert_eq!(Reply::from_dig(10, ""), answered("dig exit 10"));
    }

    #[test]
    fn from_ping_mapping() {
        assert_eq!(Reply::from_ping(0), K);
        assert_eq!(Reply::from_ping(1), N);
        assert_eq!(Reply::from_ping(2), answered("ping exit 2"));
    }

    #[test]
    fn json_shape() {
        let r = TriageResult::new(obs(K, N, K, Running));
        assert_eq!(r.row, Some(Row::Tri3));
        assert_eq!(
            r.to_json(),
            serde_json::json!({"recursor":"ok","auth":"no-reply","ping":"ok","vm":"running","row":"TRI-3"})
        );
        let u = TriageResult::new(obs(answered("REFUSED"), K, K, Running));
        assert_eq!(u.to_json()["recursor"], "answered: REFUSED");
        assert_eq!(u.to_json()["row"], "unknown");
        let back: TriageResult = serde_json::from_value(serde_json::to_value(&u).unwrap()).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn table_marks_the_row_or_says_unknown() {
        let o = obs(N, K, K, Running);
        let t = render_table(&o, classify(&o));
        let marked: Vec<&str> = t.lines().filter(|l| l.starts_with('▶')).collect();
        assert_eq!(marked.len(), 1);
        assert!(marked[0].contains("TRI-2"), "{t}");
        assert!(t.contains("Recursor") && t.contains("libvirt") && t.contains("Likely cause"));
        assert!(t.contains("observed: recursor=no reply auth=ok ping=ok libvirt=running"));

        let o = obs(K, K, K, Stopped);
        let t = render_table(&o, classify(&o));
        assert!(!t.contains('▶'));
        assert!(t.contains("pattern not in the runbook"));
        assert_eq!(t.lines().filter(|l| l.contains("TRI-")).count(), 6);
    }

    fn reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            Just(Reply::Ok),
            Just(Reply::NoReply),
            "[A-Za-z :]{0,12}".prop_map(Reply::Answered),
        ]
    }

    fn observation() -> impl Strategy<Value = Observation> {
        (reply(), reply(), reply(), prop_oneof![Just(Running), Just(Stopped)])
            .prop_map(|(recursor, auth, ping, vm)| Observation { recursor, auth, ping, vm })
    }

    proptest! {
        #[test]
        fn classify_never_guesses(o in observation()) {
            let any_answered = o.recursor.is_answered() || o.auth.is_answered() || o.ping.is_answered();
            match classify(&o) {
                Some(row) => {
                    prop_assert!(!any_answered);
                    prop_assert_eq!(row.pattern(), o);
                }
                None => prop_assert!(any_answered || Row::ALL.iter().all(|r| r.pattern() != o)),
            }
        }

        #[test]
        fn reply_text_round_trips(r in reply()) {
            prop_assert_eq!(r.to_string().parse::<Reply>(), Ok(r.clone()));
            let json = serde_json::to_value(&r).unwrap();
            prop_assert_eq!(serde_json::from_value::<Reply>(json).unwrap(), r);
        }
    }
}
