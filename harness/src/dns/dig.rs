//! A probe asked with dig on a lab host, read back as the native probe's [`Outcome`]: for a
//! daemon that listens on the VM's loopback only, which no packet from the harness reaches.

use crate::dns::probe::{Answer, Outcome, Query, Rcode, Response, Transport};

/// The dig command that asks what `q` asks, the way [`crate::dns::probe::probe`] does: one try,
/// no fallback to TCP on truncation, the same EDNS buffer, the header and answer printed.
pub fn command(q: &Query) -> String {
    let secs = q.timeout.as_millis().div_ceil(1000).max(1);
    let server = q.server.ip();
    let mut c = format!("dig @{server} -p {} {} {} +tries=1 +time={secs} +ignore +bufsize=1232 +noall +comments +answer", q.server.port(), q.name, q.rtype);
    if !q.recursion_desired {
        c.push_str(" +norecurse");
    }
    c.push_str(match q.transport {
        Transport::Udp => " +notcp",
        Transport::Tcp => " +tcp",
    });
    c.push_str(" 2>&1");
    c
}

/// dig's output (stdout and stderr together) as an outcome; `elapsed_ms` is dig's own
/// `Query time` when printed (not with `+noall`), else 0.
pub fn outcome(output: &str) -> Outcome {
    let header = output.lines().find_map(|l| l.split_once("status: ").map(|(_, r)| r));
    let Some(status) = header else {
        let low = output.to_ascii_lowercase();
        return if low.contains("timed out") {
            Outcome::Timeout
        } else if low.contains("connection refused") {
            Outcome::Refused
        } else if low.contains("connection reset") || low.contains("end of file") {
            Outcome::Reset
        } else {
            Outcome::NetError(format!("dig: {}", output.trim()))
        };
    };
    let rcode = status.split(',').next().unwrap_or("").trim();
    let flags: Vec<&str> = output
        .lines()
        .find_map(|l| l.strip_prefix(";; flags:"))
        .map(|f| f.split(';').next().unwrap_or("").split_whitespace().collect())
        .unwrap_or_default();
    let answers = output.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()).filter_map(answer).collect();
    Outcome::Response(Response {
        rcode: rcode.parse().unwrap_or_else(|_| Rcode::from_u16(u16::MAX)),
        aa: flags.contains(&"aa"),
        ra: flags.contains(&"ra"),
        tc: flags.contains(&"tc"),
        answers,
        elapsed_ms: 0,
    })
}

/// `name ttl class type rdata…` as dig prints an answer record.
fn answer(line: &str) -> Option<Answer> {
    let mut f = line.split_whitespace();
    let name = f.next()?.to_string();
    let ttl = f.next()?.parse().ok()?;
    let _class = f.next()?;
    let rtype = f.next()?.to_string();
    let data = f.collect::<Vec<_>>().join(" ");
    Some(Answer { name, rtype, ttl, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::probe::RType;

    #[test]
    fn the_command_asks_what_the_query_asks() {
        let mut q = Query::udp("127.0.0.1:5300".parse().unwrap(), "lab.example", RType::SOA).with_timeout(std::time::Duration::from_millis(1500));
        q.recursion_desired = false;
        assert_eq!(command(&q), "dig @127.0.0.1 -p 5300 lab.example. SOA +tries=1 +time=2 +ignore +bufsize=1232 +noall +comments +answer +norecurse +notcp 2>&1");
        assert!(command(&Query::tcp("127.0.0.1:53".parse().unwrap(), "x.", RType::A)).ends_with("+tcp 2>&1"));
    }

    #[test]
    fn a_response_keeps_rcode_flags_and_answers() {
        let out = ";; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242\n;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n;; ANSWER SECTION:\nlab.example.\t3600\tIN\tSOA\tns1.lab.example. hostmaster.lab.example. 2026010101 10800 3600 604800 3600\n";
        let Outcome::Response(r) = outcome(out) else { panic!("not a response") };
        assert_eq!((r.rcode, r.aa, r.ra, r.tc), (Rcode::NoError, true, false, false));
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].rtype, "SOA");
        assert_eq!(r.answers[0].data, "ns1.lab.example. hostmaster.lab.example. 2026010101 10800 3600 604800 3600");
        let Outcome::Response(r) = outcome(";; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 1\n;; flags: qr rd; QUERY: 1, ANSWER: 0\n") else { panic!() };
        assert_eq!((r.rcode, r.aa, r.answers.len()), (Rcode::Refused, false, 0));
    }

    #[test]
    fn no_response_is_told_apart_by_why() {
        assert_eq!(outcome(";; communications error to 127.0.0.1#5300: timed out\n;; no servers could be reached\n"), Outcome::Timeout);
        assert_eq!(outcome(";; connection timed out; no servers could be reached\n"), Outcome::Timeout);
        assert_eq!(outcome(";; communications error to 127.0.0.1#5300: connection refused\n"), Outcome::Refused);
        assert_eq!(outcome(";; communications error to 127.0.0.1#53: end of file\n"), Outcome::Reset);
        assert!(matches!(outcome("dig: command not found"), Outcome::NetError(e) if e.contains("command not found")));
    }
}
