//! Where the authoritative answers, read from its own `local-address` and `local-port` (not
//! assumed from drill.toml): on a lab address the harness asks it from the lab network; on
//! loopback only (a recursor in front of it on the same VM) it is asked from inside the VM.

use super::config::ConfigDir;
use crate::inputs::settings::{self, Daemon, Settings};
use std::net::{IpAddr, Ipv4Addr};

/// The defaults pdns uses when its files do not say.
const AUTH_DEFAULT_ADDRESSES: &str = "0.0.0.0, ::";
const DEFAULT_PORT: u16 = 53;

/// One address the daemon binds, with its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub addr: IpAddr,
    pub port: u16,
}

/// Whether a server is asked from inside the VM: a loopback address is the VM's own, which no
/// packet from the harness reaches; any other is asked over the testbed's networks.
pub fn inside_vm(server: std::net::SocketAddr) -> bool {
    server.ip().is_loopback()
}

/// Where the harness (and a scenario's steps on the VM) ask the authoritative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEndpoint {
    /// In the operators' address space (a lab address, loopback or the public address).
    pub addr: IpAddr,
    pub port: u16,
    /// Its lab-network address, when it has one.
    pub lab: Option<Ipv4Addr>,
    /// The port it answers on at the public address (the delegation's target), if it binds it.
    pub public_port: Option<u16>,
    /// `file:line` of the `local-address` (or the default) that decided it, for reports.
    pub set_at: String,
}

/// `local-address` items with `local-port` applied where an item has no port of its own.
pub fn listeners(s: &Settings, defaults: &str) -> Vec<Listener> {
    let port = s.get("local-port").and_then(|p| p.trim().parse().ok()).unwrap_or(DEFAULT_PORT);
    let value = s.get("local-address").unwrap_or_else(|| defaults.to_string());
    settings::items(&value)
        .iter()
        .filter_map(|item| {
            let (addr, own) = split_port(item);
            Some(Listener { addr: addr.parse().ok()?, port: own.unwrap_or(port) })
        })
        .collect()
}

/// `addr`, `addr:port`, `[v6]:port` or a bare IPv6 address.
pub fn split_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']').unwrap_or((rest, ""));
        return (a, p.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') => (a, p.parse().ok()),
        _ => (s, None),
    }
}

impl AuthEndpoint {
    /// A lab address first (what lab clients and the runbook's dig would use), then a
    /// wildcard (on every address of the VM: its `auth` host), then loopback, then the public
    /// address.
    pub fn of(config: &ConfigDir) -> AuthEndpoint {
        let la = &config.addresses;
        let s = config.settings(Daemon::Auth);
        let set_at = s
            .setting("local-address")
            .and_then(|st| st.base())
            .map(|a| format!("{}:{} local-address", a.file, a.line))
            .unwrap_or_else(|| format!("pdns's default local-address ({AUTH_DEFAULT_ADDRESSES})"));
        let ls = listeners(&s, AUTH_DEFAULT_ADDRESSES);
        let v4 = |l: &Listener| match l.addr {
            IpAddr::V4(a) => Some((a, l.port)),
            IpAddr::V6(_) => None,
        };
        let on_lab = ls.iter().filter_map(v4).find(|(a, _)| la.lab_network.contains(a));
        let wildcard = ls.iter().find(|l| l.addr.is_unspecified() && l.addr.is_ipv4()).map(|l| (la.auth, l.port));
        let public_port = ls.iter().filter_map(v4).find(|(a, _)| *a == la.public_auth).map(|(_, p)| p).or(wildcard.map(|(_, p)| p));
        let network = |(a, port): (Ipv4Addr, u16), lab: Option<Ipv4Addr>| AuthEndpoint {
            addr: a.into(),
            port,
            lab,
            public_port,
            set_at: set_at.clone(),
        };
        if let Some(l) = on_lab.or(wildcard) {
            return network(l, Some(l.0));
        }
        if let Some(l) = ls.iter().find(|l| l.addr.is_loopback()) {
            return AuthEndpoint { addr: l.addr, port: l.port, lab: None, public_port, set_at };
        }
        match public_port {
            Some(p) => network((la.public_auth, p), None),
            // It binds nothing the lab knows: ask where drill.toml puts it; pdns will say why not.
            None => network((la.auth, DEFAULT_PORT), None),
        }
    }

    /// Where it listens, e.g. `127.0.0.1:5300 (pdns.conf:7 local-address)`.
    pub fn listens(&self) -> String {
        let at = match self.addr {
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
            IpAddr::V4(a) => format!("{a}:{}", self.port),
        };
        format!("{at} ({})", self.set_at)
    }

    /// For evidence: where the authoritative was asked and why there.
    pub fn describe(&self) -> String {
        if inside_vm(std::net::SocketAddr::new(self.addr, self.port)) {
            format!("the authoritative at {}, asked from inside the VM: it has no lab address", self.listens())
        } else {
            format!("the authoritative at {}", self.listens())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::config::for_test;

    fn endpoint(pdns: &str) -> AuthEndpoint {
        AuthEndpoint::of(&for_test(&[("pdns.conf", pdns), ("recursor.conf", "")]))
    }

    #[test]
    fn a_lab_address_is_asked_from_the_network() {
        let e = endpoint("local-address=10.10.0.54, 203.0.113.53\nlocal-port=53\n");
        assert_eq!((e.addr, e.port, e.lab, e.public_port), ("10.10.0.54".parse().unwrap(), 53, Some("10.10.0.54".parse().unwrap()), Some(53)));
        assert!(!inside_vm(std::net::SocketAddr::new(e.addr, e.port)));
        assert_eq!(e.set_at, "pdns.conf:1 local-address");
    }

    #[test]
    fn loopback_only_is_asked_from_inside_the_vm_on_its_port() {
        let e = endpoint("local-address=127.0.0.1:5300, 203.0.113.53\n");
        assert_eq!((e.addr, e.port, e.lab, e.public_port), ("127.0.0.1".parse().unwrap(), 5300, None, Some(53)));
        assert!(inside_vm(std::net::SocketAddr::new(e.addr, e.port)));
        let e = endpoint("local-address=127.0.0.1\nlocal-port=5300\n");
        assert_eq!((e.port, e.public_port), (5300, None));
        assert!(inside_vm(std::net::SocketAddr::new(e.addr, e.port)));
        assert_eq!(e.describe(), "the authoritative at 127.0.0.1:5300 (pdns.conf:1 local-address), asked from inside the VM: it has no lab address");
    }

    #[test]
    fn the_default_binds_every_address_of_the_auth_host() {
        let e = endpoint("launch=gsqlite3\n");
        assert_eq!((e.addr, e.port), ("10.10.0.54".parse().unwrap(), 53));
        assert!(!inside_vm(std::net::SocketAddr::new(e.addr, e.port)));
        assert!(e.set_at.starts_with("pdns's default"), "{}", e.set_at);
    }

    #[test]
    fn ports_are_split_from_addresses() {
        assert_eq!(split_port("127.0.0.1:5300"), ("127.0.0.1", Some(5300)));
        assert_eq!(split_port("[::1]:5300"), ("::1", Some(5300)));
        assert_eq!(split_port("::1"), ("::1", None));
        assert_eq!(split_port("10.0.0.1"), ("10.0.0.1", None));
    }
}
