//! Steady state, one reusable check: lab names and public names resolve through the recursor,
//! the authoritative answers its SOA and refuses names outside its zone.

use crate::probe::{self, Outcome, Query, RType, Rcode};
use crate::testbed::Lab;
use std::fmt;
use std::net::SocketAddr;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub query: String,
    pub expected: &'static str,
    pub observed: String,
    pub ok: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SteadyReport {
    pub checks: Vec<Check>,
}

impl SteadyReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
    pub fn failing(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }
}

impl fmt::Display for SteadyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{} {:<28} {} → {} (expected {})", if c.ok { "✓" } else { "✗" }, c.name, c.query, c.observed, c.expected)?;
        }
        Ok(())
    }
}

/// What the steady state needs from one probe.
#[derive(Debug, Clone, Copy)]
enum Want {
    Answer,
    AuthoritativeAnswer,
    Refused,
}

fn holds(want: Want, o: &Outcome) -> bool {
    match (want, o) {
        (Want::Answer, Outcome::Response(r)) => r.rcode == Rcode::NoError && !r.answers.is_empty(),
        (Want::AuthoritativeAnswer, Outcome::Response(r)) => r.rcode == Rcode::NoError && r.aa && !r.answers.is_empty(),
        (Want::Refused, Outcome::Response(r)) => r.rcode == Rcode::Refused,
        _ => false,
    }
}

pub async fn check(lab: &Lab) -> SteadyReport {
    let p = &lab.plan;
    let zone = format!("{}.", lab.spec.zone.journal.zone);
    let rec = SocketAddr::from((p.recursor, 53));
    let auth = SocketAddr::from((p.auth, 53));
    let plan: Vec<(&'static str, Query, Want, &'static str)> = vec![
        ("lab name via recursor", Query::udp(rec, &lab.known_lab_name(), RType::A), Want::Answer, "NOERROR with an answer"),
        ("public name via recursor", Query::udp(rec, "www.google.com.", RType::A), Want::Answer, "NOERROR with an answer"),
        ("auth answers its SOA", Query::udp(auth, &zone, RType::SOA), Want::AuthoritativeAnswer, "NOERROR aa with the SOA"),
        ("auth refuses other zones", Query::udp(auth, "www.google.com.", RType::A), Want::Refused, "REFUSED"),
    ];
    let mut checks = Vec::new();
    for (name, q, want, expected) in plan {
        let q = q.with_timeout(std::time::Duration::from_millis(1500));
        let o = probe::probe(&q).await;
        checks.push(Check { name, query: q.describe(), expected, observed: o.summary(), ok: holds(want, &o) });
    }
    SteadyReport { checks }
}
