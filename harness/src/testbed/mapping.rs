//! How an operator's lab lands on the testbed beyond drill.toml's addresses: forwarders outside
//! the lab go to a stand-in resolver on the stand-in internet, and settings the testbed cannot
//! honour are named before anything starts (not discovered as a crash loop).

use super::config::ConfigDir;
use super::listen::split_port;
use super::addresses::LabAddresses;
use crate::inputs::settings::{self, Daemon, Settings};
use std::net::{IpAddr, Ipv4Addr};

/// Settings that name upstream servers.
const FORWARD_KEYS: &[&str] = &["forward-zones", "forward-zones-recurse"];

/// One upstream named in a forward-zones setting or a forward-zones-file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarder {
    pub key: &'static str,
    pub zone: String,
    pub addr: IpAddr,
    pub port: Option<u16>,
    /// `file:line` that names it: where the operator edits it.
    pub set_at: String,
}

fn settings_of(config: &ConfigDir, d: Daemon) -> Settings {
    config.settings(d)
}

/// The upstreams of "zone=addr[:port][;addr…], zone2=…" settings and of the forward-zones-file.
pub fn forwarders(s: &Settings) -> Vec<Forwarder> {
    let mut out = Vec::new();
    for key in FORWARD_KEYS {
        let Some(v) = s.get(key) else { continue };
        for part in v.split(',') {
            let Some((zone, servers)) = part.split_once('=') else { continue };
            let zone = zone.trim().trim_start_matches('+');
            out.extend(servers_of(key, zone, servers, &[';'], &at(s, key)));
        }
    }
    for e in s.forward_file.iter().flat_map(|f| f.entries.iter().map(move |e| (f, e))) {
        let set_at = format!("{}:{}", e.0.file, e.1.line);
        out.extend(servers_of(settings::FORWARD_FILE_KEY, &e.1.zone, &e.1.servers, &[',', ';', ' ', '\t'], &set_at));
    }
    out
}

/// The servers of one zone's list, split where the recursor splits them.
fn servers_of(key: &'static str, zone: &str, servers: &str, seps: &[char], set_at: &str) -> Vec<Forwarder> {
    servers
        .split(seps)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .filter_map(|server| {
            let (addr, port) = split_port(server);
            let addr = addr.parse().ok()?;
            Some(Forwarder { key, zone: zone.to_string(), addr, port, set_at: set_at.to_string() })
        })
        .collect()
}


/// IPv4 upstreams outside the lab (and not the VM's public address): served by the stand-in
/// resolver, which resolves from the stand-in root as public resolvers would.
pub fn external_forwarders(config: &ConfigDir) -> Vec<Ipv4Addr> {
    let la = &config.addresses;
    let mut v: Vec<Ipv4Addr> = forwarders(&settings_of(config, Daemon::Recursor))
        .into_iter()
        .filter_map(|f| match f.addr {
            IpAddr::V4(a) if !la.lab_network.contains(&a) && a != la.public_auth && !a.is_loopback() => Some(a),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Settings the testbed cannot carry out, each with the file and what to do; empty when all
/// can run.
pub fn not_honoured(config: &ConfigDir) -> Vec<String> {
    let la = &config.addresses;
    let mut out = Vec::new();
    for d in Daemon::ALL {
        let s = settings_of(config, d);
        let listen = d_listen_ok(la, d);
        if s.setting("local-address").is_some() {
            let set_at = at(&s, "local-address");
            for item in s.get("local-address").map(|v| settings::items(&v)).unwrap_or_default() {
                let (addr, _) = split_port(&item);
                match addr.parse::<IpAddr>() {
                    Ok(ip) if listen(ip) => {}
                    Ok(ip) => out.push(format!(
                        "{set_at}: {} local-address {ip} is not an address of the VM in drill.toml (vm, recursor, auth, public-auth), loopback or a wildcard; add it to drill.toml or drop it",
                        d.unit()
                    )),
                    Err(_) => {}
                }
            }
        }
        if d == Daemon::Recursor {
            for f in forwarders(&s) {
                let external = match f.addr {
                    IpAddr::V4(a) => !la.lab_network.contains(&a) && a != la.public_auth && !a.is_loopback(),
                    IpAddr::V6(_) => true,
                };
                if f.addr.is_ipv6() {
                    out.push(format!("{}: {}: forwarder {} for {} is IPv6; the testbed's networks are IPv4 only", f.set_at, f.key, f.addr, f.zone));
                } else if external && f.port.is_some_and(|p| p != 53) {
                    out.push(format!(
                        "{}: {}: forwarder {}:{} for {} is outside the lab on a port other than 53; the stand-in resolver answers on 53 only",
                        f.set_at,
                        f.key,
                        f.addr,
                        f.port.unwrap(),
                        f.zone
                    ));
                }
            }
            if let Some(why) = s.forward_file_problem(settings::ETC) {
                out.push(format!("{}: {}: {why}", at(&s, settings::FORWARD_FILE_KEY), settings::FORWARD_FILE_KEY));
            }
        }
    }
    out
}

/// `file:line` of the line that sets `key`'s value: where the operator edits it.
fn at(s: &Settings, key: &str) -> String {
    s.setting(key).and_then(|st| st.base()).map(|a| format!("{}:{}", a.file, a.line)).unwrap_or_else(|| key.to_string())
}

fn d_listen_ok(la: &LabAddresses, _d: Daemon) -> impl Fn(IpAddr) -> bool + '_ {
    move |ip| match ip {
        IpAddr::V4(a) => a.is_loopback() || a.is_unspecified() || [la.vm, la.recursor, la.auth, la.public_auth].contains(&a),
        IpAddr::V6(a) => a.is_loopback() || a.is_unspecified(),
    }
}

/// What the harness maps, for every report (independent of the subnets Docker hands out).
pub fn describe(config: &ConfigDir) -> Vec<String> {
    let la = &config.addresses;
    let host = |ip: Ipv4Addr| u32::from(ip) - u32::from(la.lab_network.network());
    let mut out = vec![format!(
        "lab-network {} → the testbed's lab subnet, host parts kept (vm {} → .{}, recursor {} → .{}, auth {} → .{}, workstation {} → .{}, client {} → .{}, app {} → .{})",
        la.lab_network,
        la.vm,
        host(la.vm),
        la.recursor,
        host(la.recursor),
        la.auth,
        host(la.auth),
        la.workstation,
        host(la.workstation),
        la.client,
        host(la.client),
        la.app,
        host(la.app)
    )];
    out.push(format!("public-auth {} → the VM's address on the testbed's public network", la.public_auth));
    if let Some(f) = &settings_of(config, Daemon::Recursor).forward_file {
        out.push(format!("forward-zones-file {}/{}: its upstreams mapped as forward-zones's are, laid on the VM mapped", settings::ETC, f.file));
    }
    for a in external_forwarders(config) {
        out.push(format!("forwarder {a} → the stand-in resolver on the stand-in internet (resolves from the stand-in root)"));
    }
    out.push("::1 on every container's loopback (the lab networks are IPv4 only)".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(recursor: &str, pdns: &str) -> ConfigDir {
        super::super::config::for_test(&[("recursor.conf", recursor), ("pdns.conf", pdns)])
    }

    #[test]
    fn forwarders_with_ports_and_several_servers() {
        let c = config("forward-zones=lab.test=10.10.0.54:53;203.0.113.53, other.test=10.10.0.54\nforward-zones-recurse=.=9.9.9.9;1.1.1.1:53\n", "");
        let f = forwarders(&settings_of(&c, Daemon::Recursor));
        assert_eq!(f.len(), 5);
        assert_eq!(f[0], Forwarder { key: "forward-zones", zone: "lab.test".into(), addr: "10.10.0.54".parse().unwrap(), port: Some(53), set_at: "recursor.conf:1".into() });
        assert_eq!(external_forwarders(&c), ["1.1.1.1".parse::<Ipv4Addr>().unwrap(), "9.9.9.9".parse().unwrap()]);
        assert!(not_honoured(&c).is_empty(), "{:?}", not_honoured(&c));
    }

    #[test]
    fn unknown_listen_addresses_and_odd_ports_are_named() {
        let c = config("local-address=127.0.0.1, ::1, 10.10.0.99\nforward-zones-recurse=.=9.9.9.9:5353\n", "local-address=10.10.0.54, 203.0.113.53, ::\n");
        let n = not_honoured(&c);
        assert_eq!(n.len(), 2, "{n:?}");
        assert!(n[0].contains("recursor.conf:1") && n[0].contains("10.10.0.99"), "{}", n[0]);
        assert!(n[1].starts_with("recursor.conf:2: forward-zones-recurse: forwarder 9.9.9.9:5353"), "{}", n[1]);
    }

    fn with_file(fwd: &str) -> ConfigDir {
        super::super::config::for_test(&[("recursor.conf", "quiet=yes\nforward-zones-file=/etc/powerdns/fwd.zones\n"), ("pdns.conf", ""), ("fwd.zones", fwd)])
    }

    #[test]
    fn a_forward_zones_file_maps_like_forward_zones() {
        let c = with_file("# lab\nlab.test=10.10.0.54:53, 203.0.113.53\n+.=9.9.9.9 1.1.1.1:53\n");
        let f = forwarders(&settings_of(&c, Daemon::Recursor));
        assert_eq!(f.len(), 4);
        assert_eq!(f[0], Forwarder { key: "forward-zones-file", zone: "lab.test".into(), addr: "10.10.0.54".parse().unwrap(), port: Some(53), set_at: "fwd.zones:2".into() });
        assert_eq!(external_forwarders(&c), ["1.1.1.1".parse::<Ipv4Addr>().unwrap(), "9.9.9.9".parse().unwrap()]);
        assert!(not_honoured(&c).is_empty(), "{:?}", not_honoured(&c));
        assert!(describe(&c).iter().any(|d| d.starts_with("forward-zones-file /etc/powerdns/fwd.zones")));
        // Laid on the VM mapped: lab addresses moved, public resolvers onto the stand-in resolver.
        let plan = super::super::plan::Plan::new(&c.addresses, &super::super::listen::AuthEndpoint::of(&c), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &external_forwarders(&c)).unwrap();
        let laid = super::super::provision::etc_powerdns(&plan, &c);
        let fwd = laid
            .iter()
            .find_map(|e| match e {
                crate::testbed::engine::FileEntry::File { path, content, .. } if path == "/etc/powerdns/fwd.zones" => Some(String::from_utf8_lossy(content).into_owned()),
                _ => None,
            })
            .unwrap();
        assert_eq!(fwd, "# lab\nlab.test=172.19.0.54:53, 172.20.0.53\n+.=172.20.0.101 172.20.0.101:53\n");
    }

    #[test]
    fn a_forward_zones_file_the_testbed_cannot_honour_is_named_by_line() {
        let n = not_honoured(&with_file("lab.test=10.10.0.54\n+.=9.9.9.9:5353\n"));
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].starts_with("fwd.zones:2: forward-zones-file: forwarder 9.9.9.9:5353 for ."), "{}", n[0]);
        let c = super::super::config::for_test(&[("recursor.conf", "forward-zones-file=/srv/fwd.zones\n"), ("pdns.conf", "")]);
        let n = not_honoured(&c);
        assert!(n[0].starts_with("recursor.conf:1: forward-zones-file: /srv/fwd.zones is outside /etc/powerdns"), "{n:?}");
    }

    #[test]
    fn shipped_lab_maps_without_surprises() {
        let c = ConfigDir::load(&super::super::config::default_config_dir().unwrap()).unwrap();
        assert!(not_honoured(&c).is_empty());
        assert!(external_forwarders(&c).is_empty());
        assert!(describe(&c)[0].contains("recursor 10.10.0.53 → .53"));
    }
}
