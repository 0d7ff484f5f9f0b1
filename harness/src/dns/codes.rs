//! The words a DNS exchange is described in: how it travels, the record types asked about and
//! the response codes, each with its presentation text (the scenario files and reports use it)
//! and its wire value.

use std::fmt;
use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde::{Deserialize, Serialize};

/// How the single exchange travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        })
    }
}

/// The record types the harness asks about; a closed set keeps scenario files checkable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum RType {
    A,
    AAAA,
    NS,
    SOA,
    MX,
    TXT,
    CNAME,
    PTR,
    SRV,
    ANY,
}

impl RType {
    /// Every variant, for exhaustive tests and CLI help.
    pub const ALL: [RType; 10] = [
        RType::A,
        RType::AAAA,
        RType::NS,
        RType::SOA,
        RType::MX,
        RType::TXT,
        RType::CNAME,
        RType::PTR,
        RType::SRV,
        RType::ANY,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::AAAA => "AAAA",
            RType::NS => "NS",
            RType::SOA => "SOA",
            RType::MX => "MX",
            RType::TXT => "TXT",
            RType::CNAME => "CNAME",
            RType::PTR => "PTR",
            RType::SRV => "SRV",
            RType::ANY => "ANY",
        }
    }

    pub(super) fn to_wire(self) -> RecordType {
        match self {
            RType::A => RecordType::A,
            RType::AAAA => RecordType::AAAA,
            RType::NS => RecordType::NS,
            RType::SOA => RecordType::SOA,
            RType::MX => RecordType::MX,
            RType::TXT => RecordType::TXT,
            RType::CNAME => RecordType::CNAME,
            RType::PTR => RecordType::PTR,
            RType::SRV => RecordType::SRV,
            RType::ANY => RecordType::ANY,
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Case-insensitive, since dig accepts `a` as well as `A`.
impl FromStr for RType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown record type {s:?}"))
    }
}

/// DNS response code, spelled the way dig prints `status:` so reports read like dig output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
    /// Any other code, by number; named in Display when it has a well-known mnemonic.
    Other(u16),
}

/// Mnemonics for codes outside the named variants (RFC 2136 / 6891).
const OTHER_NAMES: [(u16, &str); 6] = [
    (6, "YXDOMAIN"),
    (7, "YXRRSET"),
    (8, "NXRRSET"),
    (9, "NOTAUTH"),
    (10, "NOTZONE"),
    (16, "BADVERS"),
];

impl Rcode {
    /// Canonical mapping from the numeric code; `Other` never holds 0..=5.
    pub fn from_u16(code: u16) -> Self {
        match code {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            n => Rcode::Other(n),
        }
    }

    pub fn to_u16(self) -> u16 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(n) => n,
        }
    }
}

impl From<ResponseCode> for Rcode {
    fn from(rc: ResponseCode) -> Self {
        Rcode::from_u16(u16::from(rc))
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(n) => match OTHER_NAMES.iter().find(|(c, _)| c == n) {
                Some((_, name)) => f.write_str(name),
                None => write!(f, "RCODE{n}"),
            },
        }
    }
}

impl FromStr for Rcode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        let named = [
            Rcode::NoError,
            Rcode::FormErr,
            Rcode::ServFail,
            Rcode::NxDomain,
            Rcode::NotImp,
            Rcode::Refused,
        ];
        if let Some(r) = named.into_iter().find(|r| r.to_string() == up) {
            return Ok(r);
        }
        if let Some((n, _)) = OTHER_NAMES.iter().find(|(_, name)| *name == up) {
            return Ok(Rcode::Other(*n));
        }
        up.strip_prefix("RCODE")
            .and_then(|n| n.parse::<u16>().ok())
            .map(Rcode::from_u16)
            .ok_or_else(|| format!("unknown rcode {s:?}"))
    }
}

impl From<Rcode> for String {
    fn from(r: Rcode) -> Self {
        r.to_string()
    }
}

impl TryFrom<String> for Rcode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtype_and_rcode_text_round_trip() {
        for t in RType::ALL {
            assert_eq!(t.to_string().parse::<RType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!("aaaa".parse::<RType>(), Ok(RType::AAAA));
        for n in 0..=30u16 {
            let r = Rcode::from_u16(n);
            assert_eq!(r.to_string().parse::<Rcode>(), Ok(r), "rcode {n}");
            assert_eq!(r.to_u16(), n);
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(serde_json::from_value::<Rcode>(json).unwrap(), r);
        }
        assert_eq!(serde_json::to_value(Rcode::ServFail).unwrap(), serde_json::json!("SERVFAIL"));
        assert_eq!(Rcode::from(ResponseCode::NXDomain), Rcode::NxDomain);
        assert_eq!(Rcode::Other(9).to_string(), "NOTAUTH");
    }
}
