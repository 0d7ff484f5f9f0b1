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

/// The recursor is asked only once what it depends on answers: a SERVFAIL it gets while the
/// authoritative or the stand-in internet is still booting is cached (packet-cache SERVFAIL
/// TTL) and would keep the lab from settling.
pub async fn check(lab: &Lab) -> SteadyReport {
    let p = &lab.plan;
    let zone = format!("{}.", lab.spec.zone.journal.zone);
    let rec = SocketAddr::from((p.recursor, 53));
    let auth = SocketAddr::from((p.auth, 53));
    let timeout = std::time::Duration::from_millis(1500);
    let mut checks = Vec::new();
    let mut run = |name: &'static str, q: Query, want: Want, expected: &'static str, o: Option<Outcome>| {
        let q = q.with_timeout(timeout);
        let (observed, ok) = match o {
            Some(o) => (o.summary(), holds(want, &o)),
            None => ("not asked: an upstream is not answering yet".to_string(), false),
        };
        checks.push(Check { name, query: q.describe(), expected, observed, ok });
    };
    let soa_q = Query::udp(auth, &zone, RType::SOA).with_timeout(timeout);
    let soa = probe::probe(&soa_q).await;
    let auth_ready = holds(Want::AuthoritativeAnswer, &soa);
    let refuse_q = Query::udp(auth, "www.google.com.", RType::A).with_timeout(timeout);
    let refused = probe::probe(&refuse_q).await;
    let internet_q = Query::udp(SocketAddr::from((p.internet, 53)), "www.google.com.", RType::A).with_timeout(timeout);
    let internet_ready = holds(Want::Answer, &probe::probe(&internet_q).await);
    let lab_q = Query::udp(rec, &lab.known_lab_name(), RType::A);
    let lab_o = if auth_ready { Some(probe::probe(&lab_q.clone().with_timeout(timeout)).await) } else { None };
    let pub_q = Query::udp(rec, "www.google.com.", RType::A);
    let pub_o = if internet_ready { Some(probe::probe(&pub_q.clone().with_timeout(timeout)).await) } else { None };
    run("lab name via recursor", lab_q, Want::Answer, "NOERROR with an answer", lab_o);
    run("public name via recursor", pub_q, Want::Answer, "NOERROR with an answer", pub_o);
    run("auth answers its SOA", soa_q, Want::AuthoritativeAnswer, "NOERROR aa with the SOA", Some(soa));
    run("auth refuses other zones", refuse_q, Want::Refused, "REFUSED", Some(refused));
    SteadyReport { checks }
}
