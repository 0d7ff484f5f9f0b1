//! A one-shot native DNS probe: one query, one server, one try, explicit timeout.
//!
//! This is deliberately not a resolver. Triage needs to tell "the daemon answered with an
//! error" apart from "nothing answered" and from "the port is closed", so every way a single
//! exchange can end is kept as its own [`Outcome`] instead of being retried or folded together.
//!
//! Wire format (query building, response parsing, rdata text) is hickory-proto. Transport is
//! plain tokio sockets: hickory-net 0.26's UDP stream never `connect()`s its socket, so an ICMP
//! port-unreachable would only show up as a timeout, which would erase the refused/timeout split.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as WireQuery};

pub use super::codes::{RType, Rcode, Transport};
use hickory_proto::rr::{Name, RData, Record};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Timeout used by the convenience constructors; mirrors `dig +time=2` from the runbook.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// EDNS buffer size we advertise, so UDP answers are sized the way dig's would be.
const EDNS_PAYLOAD: u16 = 1232;

/// One probe: everything needed to reproduce it is in here, so reports can quote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub server: SocketAddr,
    pub name: String,
    pub rtype: RType,
    pub transport: Transport,
    pub timeout: Duration,
    pub recursion_desired: bool,
}

impl Query {
    /// UDP, 2 s, RD set: the shape of the runbook's dig probes.
    pub fn udp(server: SocketAddr, name: &str, rtype: RType) -> Self {
        Query {
            server,
            name: fqdn(name),
            rtype,
            transport: Transport::Udp,
            timeout: DEFAULT_TIMEOUT,
            recursion_desired: true,
        }
    }

    /// Same as [`Query::udp`] over TCP.
    pub fn tcp(server: SocketAddr, name: &str, rtype: RType) -> Self {
        Query {
            transport: Transport::Tcp,
            ..Query::udp(server, name, rtype)
        }
    }

    pub fn with_timeout(self, timeout: Duration) -> Self {
        Query { timeout, ..self }
    }

    /// One-line label for logs and reports, e.g. `udp 10.1.0.53:53 google.com. A`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} {}",
            self.transport,
            self.server,
            fqdn(&self.name),
            self.rtype
        )
    }
}

/// Absolute names only: a relative name would depend on the probing host's search list.
fn fqdn(name: &str) -> String {
    let name = name.trim();
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// One answer-section record, with its rdata as zone-file text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    pub data: String,
}

impl Answer {
    fn from_record(r: &Record) -> Self {
        Answer {
            name: r.name.to_string(),
            rtype: r.record_type().to_string(),
            ttl: r.ttl,
            data: presentation(&r.data),
        }
    }
}

/// Rdata as zone-file text. hickory's TXT Display drops the quoting, which would make
/// multi-string TXT records ambiguous, so TXT is quoted here the way dig prints it.
fn presentation(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| quote_character_string(s))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

fn quote_character_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// A parsed DNS response: header bits that matter for triage plus the answer section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub rcode: Rcode,
    pub aa: bool,
    pub ra: bool,
    pub tc: bool,
    pub answers: Vec<Answer>,
    pub elapsed_ms: u64,
}

/// How a single exchange ended. The non-response variants are kept apart on purpose: a
/// closed port (daemon down), silence (firewall drop, dead VM) and a torn connection point
/// at different causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "lowercase")]
pub enum Outcome {
    /// A DNS message came back, whatever its rcode.
    Response(Response),
    /// Nothing usable arrived within the query's timeout.
    Timeout,
    /// ICMP port-unreachable on UDP, or RST in answer to the TCP SYN.
    Refused,
    /// The TCP connection was reset or closed before a full response arrived.
    Reset,
    /// Anything else (no route, malformed reply, bad query name, ...).
    #[serde(rename = "error")]
    NetError(String),
}

impl Outcome {
    /// One stable line for reports, e.g. `NOERROR aa 1 answer(s): 10.0.0.1`.
    /// Timing is left out on purpose so the line can be compared across runs.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Response(r) => {
                let mut s = r.rcode.to_string();
                for (set, flag) in [(r.aa, "aa"), (r.ra, "ra"), (r.tc, "tc")] {
                    if set {
                        s.push(' ');
                        s.push_str(flag);
                    }
                }
                s.push_str(&format!(" {} answer(s)", r.answers.len()));
                if !r.answers.is_empty() {
                    let data: Vec<&str> = r.answers.iter().map(|a| a.data.as_str()).collect();
                    s.push_str(": ");
                    s.push_str(&data.join(", "));
                }
                s
            }
            Outcome::Timeout => "timeout".to_string(),
            Outcome::Refused => "connection refused".to_string(),
            Outcome::Reset => "connection reset".to_string(),
            Outcome::NetError(e) => format!("error: {}", e.replace('\n', " ")),
        }
    }

    /// The rcode, when a response came back at all.
    pub fn rcode(&self) -> Option<Rcode> {
        match self {
            Outcome::Response(r) => Some(r.rcode),
            _ => None,
        }
    }

    /// Short machine tag; equals the serde `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Response(_) => "response",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::NetError(_) => "error",
        }
    }
}

/// Send `q` once and report how it ended. Never retries, never falls back from UDP to TCP
/// on truncation (the `tc` flag is reported instead), never waits longer than `q.timeout`.
pub async fn probe(q: &Query) -> Outcome {
    let (id, wire) = match build_query(q) {
        Ok(v) => v,
        Err(e) => return Outcome::NetError(e),
    };
    let started = Instant::now();
    let exchange = async {
        match q.transport {
            Transport::Udp => udp_exchange(q.server, id, &wire).await,
            Transport::Tcp => tcp_exchange(q.server, id, &wire).await,
        }
    };
    match tokio::time::timeout(q.timeout, exchange).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(outcome)) => outcome,
        Ok(Ok(msg)) => Outcome::Response(Response {
            rcode: msg.metadata.response_code.into(),
            aa: msg.metadata.authoritative,
            ra: msg.metadata.recursion_available,
            tc: msg.metadata.truncation,
            answers: msg.answers.iter().map(Answer::from_record).collect(),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }),
    }
}

fn build_query(q: &Query) -> Result<(u16, Vec<u8>), String> {
    let name = Name::from_ascii(fqdn(&q.name)).map_err(|e| format!("bad query name {:?}: {e}", q.name))?;
    let mut msg = Message::query();
    msg.metadata.recursion_desired = q.recursion_desired;
    msg.add_query(WireQuery::query(name, q.rtype.to_wire()));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    msg.set_edns(edns);
    let wire = msg.to_vec().map_err(|e| format!("encoding query: {e}"))?;
    Ok((msg.metadata.id, wire))
}

/// What a received message means for this exchange.
enum Received {
    Ours(Message),
    /// Not a reply to our query (wrong id, or a query): ignored, as dig does.
    Stray,
}

/// Check the id before trusting the parse: a late or spoofed datagram must not count.
fn accept(id: u16, buf: &[u8]) -> Result<Received, Outcome> {
    if buf.len() < 2 || u16::from_be_bytes([buf[0], buf[1]]) != id {
        return Ok(Received::Stray);
    }
    let msg =
        Message::from_vec(buf).map_err(|e| Outcome::NetError(format!("malformed response: {e}")))?;
    if msg.metadata.message_type != MessageType::Response || msg.metadata.op_code != OpCode::Query {
        return Ok(Received::Stray);
    }
    Ok(Received::Ours(msg))
}

async fn udp_exchange(server: SocketAddr, id: u16, wire: &[u8]) -> Result<Message, Outcome> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await.map_err(|e| io_outcome("bind", e))?;
    // Connected, so the kernel reports ICMP port-unreachable as ECONNREFUSED on recv.
    sock.connect(server).await.map_err(|e| io_outcome("connect", e))?;
    sock.send(wire).await.map_err(|e| io_outcome("send", e))?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| io_outcome("recv", e))?;
        if let Received::Ours(msg) = accept(id, &buf[..n])? {
            return Ok(msg);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, id: u16, wire: &[u8]) -> Result<Message, Outcome> {
    let mut stream = TcpStream::connect(server).await.map_err(|e| io_outcome("connect", e))?;
    let len = u16::try_from(wire.len()).map_err(|_| Outcome::NetError("query too large".into()))?;
    // One write for prefix and body, so the server sees the whole query in one segment.
    let mut framed = Vec::with_capacity(wire.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(wire);
    stream.write_all(&framed).await.map_err(|e| io_outcome("send", e))?;
    loop {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.map_err(|e| io_outcome("recv", e))?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await.map_err(|e| io_outcome("recv", e))?;
        if let Received::Ours(msg) = accept(id, &buf)? {
            return Ok(msg);
        }
    }
}

/// Map socket errors onto the outcomes triage distinguishes.
fn io_outcome(op: &str, e: io::Error) -> Outcome {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => Outcome::Refused,
        // A refused SYN surfaces from connect; anything torn later is a reset.
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Outcome::Reset,
        TimedOut => Outcome::Timeout,
        _ => Outcome::NetError(format!("{op}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::rdata::{A, SOA};
    use std::net::Ipv4Addr;
    use tokio::net::TcpListener;

    const SHORT: Duration = Duration::from_millis(200);

    fn localhost(port: u16) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, port).into()
    }

    /// Builds the reply a test server sends: same id and question, chosen rcode/flags/answers.
    fn reply(query: &[u8], rcode: ResponseCode, aa: bool, answers: Vec<RData>) -> Vec<u8> {
        let q = Message::from_vec(query).expect("test server got a parseable query");
        let mut r = Message::response(q.metadata.id, OpCode::Query);
        r.metadata.response_code = rcode;
        r.metadata.authoritative = aa;
        r.metadata.recursion_desired = q.metadata.recursion_desired;
        r.metadata.recursion_available = true;
        let question = q.queries[0].clone();
        let owner = question.name().clone();
        r.add_query(question);
        for data in answers {
            r.add_answer(Record::from_rdata(owner.clone(), 300, data));
        }
        r.to_vec().unwrap()
    }

    /// Answers exactly one UDP query with `make(query)` and returns its address.
    async fn udp_server(make: impl FnOnce(&[u8]) -> Vec<u8> + Send + 'static) -> SocketAddr {
        let sock = UdpSocket::bind(localhost(0)).await.unwrap();
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            sock.send_to(&make(&buf[..n]), peer).await.unwrap();
        });
        addr
    }

    /// Reads one length-prefixed query from a TCP stream.
    async fn read_tcp_query(s: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.unwrap();
        buf
    }

    /// A port that was free a moment ago: nothing listens there, so the kernel refuses.
    async fn closed_udp_port() -> SocketAddr {
        let s = std::net::UdpSocket::bind(localhost(0)).unwrap();
        s.local_addr().unwrap()
    }

    fn closed_tcp_port() -> SocketAddr {
        let l = std::net::TcpListener::bind(localhost(0)).unwrap();
        l.local_addr().unwrap()
    }

    fn response(o: Outcome) -> Response {
        match o {
            Outcome::Response(r) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn udp_answer_is_parsed() {
        let addr = udp_server(|q| {
            reply(q, ResponseCode::NoError, true, vec![RData::A(A::new(10, 0, 0, 1))])
        })
        .await;
        let o = probe(&Query::udp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o.kind(), "response");
        assert_eq!(o.rcode(), Some(Rcode::NoError));
        assert_eq!(o.summary(), "NOERROR aa ra 1 answer(s): 10.0.0.1");
        let r = response(o);
        assert!(r.aa && r.ra && !r.tc);
        assert_eq!(
            r.answers,
            vec![Answer {
                name: "google.com.".into(),
                rtype: "A".into(),
                ttl: 300,
                data: "10.0.0.1".into()
            }]
        );
    }

    #[tokio::test]
    async fn udp_soa_data_is_presentation_format() {
        let addr = udp_server(|q| {
            let soa = SOA::new(
                Name::from_ascii("ns1.sub.example.").unwrap(),
                Name::from_ascii("hostmaster.sub.example.").unwrap(),
                2024010101,
                10800,
                3600,
                604800,
                3600,
            );
            reply(q, ResponseCode::NoError, true, vec![RData::SOA(soa)])
        })
        .await;
        let r = response(probe(&Query::udp(addr, "sub.example.", RType::SOA).with_timeout(SHORT)).await);
        assert_eq!(r.answers[0].rtype, "SOA");
        assert_eq!(
            r.answers[0].data,
            "ns1.sub.example. hostmaster.sub.example. 2024010101 10800 3600 604800 3600"
        );
    }

    #[tokio::test]
    async fn refused_rcode_is_a_response_not_a_refused_outcome() {
        let addr = udp_server(|q| reply(q, ResponseCode::Refused, false, vec![])).await;
        let o = probe(&Query::udp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o.kind(), "response");
        assert_eq!(o.rcode(), Some(Rcode::Refused));
        assert_ne!(o, Outcome::Refused);
        assert_eq!(o.summary(), "REFUSED ra 0 answer(s)");
    }

    #[tokio::test]
    async fn udp_silence_is_timeout() {
        let silent = UdpSocket::bind(localhost(0)).await.unwrap();
        let q = Query::udp(silent.local_addr().unwrap(), "google.com", RType::A).with_timeout(SHORT);
        let t = Instant::now();
        assert_eq!(probe(&q).await, Outcome::Timeout);
        assert!(t.elapsed() < SHORT * 5, "timeout must be honoured");
        drop(silent);
    }

    #[tokio::test]
    async fn udp_reply_with_wrong_id_is_ignored() {
        let addr = udp_server(|q| {
            let mut r = reply(q, ResponseCode::NoError, true, vec![RData::A(A::new(10, 0, 0, 1))]);
            r[0] ^= 0xff;
            r
        })
        .await;
        let o = probe(&Query::udp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o, Outcome::Timeout);
    }

    #[tokio::test]
    async fn udp_closed_port_is_refused() {
        let addr = closed_udp_port().await;
        let o = probe(&Query::udp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o, Outcome::Refused);
        assert_eq!(o.summary(), "connection refused");
    }

    #[tokio::test]
    async fn tcp_answer_is_parsed() {
        let listener = TcpListener::bind(localhost(0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let q = read_tcp_query(&mut s).await;
            let r = reply(&q, ResponseCode::NXDomain, true, vec![]);
            let mut framed = (r.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&r);
            s.write_all(&framed).await.unwrap();
        });
        let o = probe(&Query::tcp(addr, "nope.sub.example", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o.rcode(), Some(Rcode::NxDomain));
        let r = response(o);
        assert!(r.aa);
        assert!(r.answers.is_empty());
    }

    #[tokio::test]
    async fn tcp_dropped_connection_is_reset() {
        let listener = TcpListener::bind(localhost(0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            drop(s);
        });
        let o = probe(&Query::tcp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o, Outcome::Reset);
        assert_eq!(o.kind(), "reset");
    }

    #[tokio::test]
    async fn tcp_closed_port_is_refused() {
        let addr = closed_tcp_port();
        let o = probe(&Query::tcp(addr, "google.com", RType::A).with_timeout(SHORT)).await;
        assert_eq!(o, Outcome::Refused);
    }

    #[tokio::test]
    async fn bad_name_is_an_error_without_traffic() {
        let q = Query::udp(localhost(9), &"x".repeat(300), RType::A);
        assert_eq!(probe(&q).await.kind(), "error");
    }

    #[test]
    fn describe_and_constructors() {
        let q = Query::udp("10.1.0.53:53".parse().unwrap(), "google.com", RType::A);
        assert_eq!(q.describe(), "udp 10.1.0.53:53 google.com. A");
        assert_eq!(q.timeout, DEFAULT_TIMEOUT);
        assert!(q.recursion_desired);
        let t = Query::tcp("10.1.0.53:53".parse().unwrap(), "sub.example.", RType::SOA)
            .with_timeout(SHORT);
        assert_eq!(t.describe(), "tcp 10.1.0.53:53 sub.example. SOA");
        assert_eq!(t.timeout, SHORT);
    }

    #[test]
    fn outcome_serde_kind_matches_kind() {
        let all = [
            Outcome::Response(Response {
                rcode: Rcode::NoError,
                aa: false,
                ra: true,
                tc: false,
                answers: vec![],
                elapsed_ms: 3,
            }),
            Outcome::Timeout,
            Outcome::Refused,
            Outcome::Reset,
            Outcome::NetError("no route".into()),
        ];
        for o in all {
            let v = serde_json::to_value(&o).unwrap();
            assert_eq!(v["kind"], o.kind());
            assert_eq!(serde_json::from_value::<Outcome>(v).unwrap(), o);
        }
        assert_eq!(serde_json::to_value(Transport::Tcp).unwrap(), "tcp");
    }

    #[test]
    fn txt_is_quoted() {
        let txt = hickory_proto::rr::rdata::TXT::new(vec!["v=spf1 -all".into(), "a\"b".into()]);
        assert_eq!(presentation(&RData::TXT(txt)), r#""v=spf1 -all" "a\"b""#);
    }
}
