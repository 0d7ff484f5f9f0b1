//! The address plan: where each role lives on the testbed, and how the operators' own lab
//! addresses (in their configs and zone) are moved onto it.

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;
use regex::Regex;
use super::addresses::LabAddresses;
use super::listen::AuthEndpoint;
use std::net::Ipv4Addr;
use std::sync::LazyLock;

/// Testbed addresses, derived from the subnets Docker handed out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub lab: Ipv4Net,
    pub public: Ipv4Net,
    pub vm: Ipv4Addr,
    pub recursor: Ipv4Addr,
    pub auth: Ipv4Addr,
    pub workstation: Ipv4Addr,
    pub client: Ipv4Addr,
    pub app: Ipv4Addr,
    pub vm_public: Ipv4Addr,
    pub internet: Ipv4Addr,
    /// The stand-in resolver on the stand-in internet (serves forwarders outside the lab).
    pub upstream: Ipv4Addr,
    /// The operators' forwarders outside the lab, all mapped onto `upstream`.
    pub external_forwarders: Vec<Ipv4Addr>,
    /// Where the authoritative answers (moved onto the testbed): a loopback address is asked
    /// from inside the VM ([`super::listen::inside_vm`]).
    pub auth_at: std::net::SocketAddr,
    /// Its port on the public address (53 when it does not bind it: the delegation's port).
    pub auth_public_port: u16,
    #[serde(skip)]
    pub lab_addresses: LabAddresses,
}

/// Host offsets on the public network.
const VM_PUBLIC_OFFSET: u32 = 53;
const INTERNET_OFFSET: u32 = 100;
const UPSTREAM_OFFSET: u32 = 101;

impl Plan {
    pub fn new(lab_addresses: &LabAddresses, auth: &AuthEndpoint, lab: Ipv4Net, public: Ipv4Net, external_forwarders: &[Ipv4Addr]) -> Result<Plan> {
        let map = |ip: Ipv4Addr| move_host(ip, lab_addresses.lab_network, lab);
        let on_public = |off: u32| -> Result<Ipv4Addr> { offset(public, off) };
        let auth_ip = match auth.addr {
            std::net::IpAddr::V4(a) if a == lab_addresses.public_auth => on_public(VM_PUBLIC_OFFSET)?.into(),
            std::net::IpAddr::V4(a) if lab_addresses.lab_network.contains(&a) => map(a)?.into(),
            other => other,
        };
        Ok(Plan {
            auth_at: std::net::SocketAddr::new(auth_ip, auth.port),
            auth_public_port: auth.public_port.unwrap_or(53),
            lab,
            public,
            vm: map(lab_addresses.vm)?,
            recursor: map(lab_addresses.recursor)?,
            auth: map(lab_addresses.auth)?,
            workstation: map(lab_addresses.workstation)?,
            client: map(lab_addresses.client)?,
            app: map(lab_addresses.app)?,
            vm_public: on_public(VM_PUBLIC_OFFSET)?,
            internet: on_public(INTERNET_OFFSET)?,
            upstream: on_public(UPSTREAM_OFFSET)?,
            external_forwarders: external_forwarders.to_vec(),
            lab_addresses: lab_addresses.clone(),
        })
    }

    /// Addresses Docker must never hand to a container: the two service addresses live on the
    /// VM's NIC and the app address on the workstation's, added from inside.
    pub fn lab_reserved(lab_addresses: &LabAddresses, lab: Ipv4Net) -> Vec<(String, Ipv4Addr)> {
        let mut extra = lab_addresses.on_vm_nic();
        extra.push(("app", lab_addresses.app));
        extra
            .into_iter()
            .filter_map(|(k, ip)| move_host(ip, lab_addresses.lab_network, lab).ok().map(|ip| (k.to_string(), ip)))
            .collect()
    }

    /// The addresses the VM's lab NIC carries beyond its own: the daemons' where drill.toml
    /// gives them one of their own.
    pub fn vm_extra_addresses(&self) -> Vec<Ipv4Addr> {
        let la = &self.lab_addresses;
        la.on_vm_nic().into_iter().filter_map(|(_, ip)| move_host(ip, la.lab_network, self.lab).ok()).collect()
    }

    /// Nothing to reserve on the public network: every container there has a static address.
    pub fn public_reserved(_public: Ipv4Net) -> Vec<(String, Ipv4Addr)> {
        Vec::new()
    }

    /// Rewrites every lab IPv4 literal (and the lab CIDR) in operator text onto the testbed.
    pub fn map_text(&self, text: &str) -> String {
        static IPV4: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(/\d{1,2})?\b").unwrap());
        let la = &self.lab_addresses;
        IPV4.replace_all(text, |c: &regex::Captures| {
            let whole = c.get(0).unwrap().as_str();
            let Ok(ip) = c[1].parse::<Ipv4Addr>() else { return whole.to_string() };
            if let Some(prefix) = c.get(2) {
                if ip == la.lab_network.network() && prefix.as_str()[1..].parse() == Ok(la.lab_network.prefix_len()) {
                    return self.lab.to_string();
                }
            }
            let moved = if ip == la.public_auth {
                Some(self.vm_public)
            } else if self.external_forwarders.contains(&ip) && c.get(2).is_none() {
                Some(self.upstream)
            } else if la.lab_network.contains(&ip) {
                move_host(ip, la.lab_network, self.lab).ok()
            } else {
                None
            };
            match moved {
                Some(m) => format!("{m}{}", c.get(2).map_or("", |p| p.as_str())),
                None => whole.to_string(),
            }
        })
        .into_owned()
    }
}

fn offset(net: Ipv4Net, off: u32) -> Result<Ipv4Addr> {
    let ip = Ipv4Addr::from(u32::from(net.network()) + off);
    if !net.contains(&ip) || ip == net.broadcast() {
        bail!("offset {off} does not fit in {net}");
    }
    Ok(ip)
}

/// Keeps the host part of `ip` in `from`, moved into `to`.
pub fn move_host(ip: Ipv4Addr, from: Ipv4Net, to: Ipv4Net) -> Result<Ipv4Addr> {
    let host = u32::from(ip) - u32::from(from.network());
    offset(to, host).with_context(|| format!("lab address {ip} (host part {host} of {from}) does not fit in the testbed network {to}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> LabAddresses {
        LabAddresses::parse("drill.toml", include_str!("../../../lab/etc-powerdns/drill.toml")).unwrap()
    }

    fn shipped_auth() -> AuthEndpoint {
        AuthEndpoint::of(&crate::testbed::config::for_test(&[("pdns.conf", include_str!("../../../lab/etc-powerdns/pdns.conf")), ("recursor.conf", "")]))
    }

    fn plan() -> Plan {
        Plan::new(&lab(), &shipped_auth(), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &["9.9.9.9".parse().unwrap()]).unwrap()
    }

    #[test]
    fn host_parts_are_kept() {
        let p = plan();
        assert_eq!(p.recursor, "172.19.0.53".parse::<Ipv4Addr>().unwrap());
        assert_eq!(p.auth, "172.19.0.54".parse::<Ipv4Addr>().unwrap());
        assert_eq!(p.vm_public, "172.20.0.53".parse::<Ipv4Addr>().unwrap());
    }

    #[test]
    fn config_text_is_mapped() {
        let p = plan();
        let t = p.map_text("allow-from=127.0.0.0/8, 10.10.0.0/16\nlocal-address=127.0.0.1, 10.10.0.53\nlocal-address=10.10.0.54, 203.0.113.53\nx=8.8.8.8\nforward-zones-recurse=.=9.9.9.9:53");
        assert_eq!(
            t,
            "allow-from=127.0.0.0/8, 172.19.0.0/16\nlocal-address=127.0.0.1, 172.19.0.53\nlocal-address=172.19.0.54, 172.20.0.53\nx=8.8.8.8\nforward-zones-recurse=.=172.20.0.101:53"
        );
    }

    #[test]
    fn subnet_too_small_is_an_error() {
        let e = Plan::new(&lab(), &shipped_auth(), "172.19.0.0/28".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &[]).unwrap_err();
        assert!(format!("{e:#}").contains("does not fit"), "{e:#}");
    }

    #[test]
    fn address_outside_lab_network_is_rejected() {
        let e = LabAddresses::parse("x", &include_str!("../../../lab/etc-powerdns/drill.toml").replace("vm = \"10.10.0.10\"", "vm = \"10.99.0.10\"")).unwrap_err();
        assert!(e.to_string().starts_with("x:8: `vm`"), "{e}");
    }

    #[test]
    fn two_hosts_on_one_address_are_refused_naming_both_keys() {
        let shipped = include_str!("../../../lab/etc-powerdns/drill.toml");
        let e = LabAddresses::parse("d.toml", &shipped.replace("workstation = \"10.10.0.20\"", "workstation = \"10.10.0.10\"")).unwrap_err().to_string();
        assert!(e.starts_with("d.toml:11: `workstation` = 10.10.0.10 is also `vm` (d.toml:8)"), "{e}");
        assert!(e.contains("only `recursor` and `auth` may share the VM's"), "{e}");
        let e = LabAddresses::parse("d.toml", &shipped.replace("app = \"10.10.0.40\"", "app = \"10.10.0.53\"")).unwrap_err().to_string();
        assert!(e.contains("`app` = 10.10.0.53 is also `recursor`"), "{e}");
    }

    #[test]
    fn the_daemons_may_share_the_vms_address_or_leave_auth_out() {
        let shipped = include_str!("../../../lab/etc-powerdns/drill.toml");
        let on_vm = LabAddresses::parse("d.toml", &shipped.replace("auth = \"10.10.0.54\"", "auth = \"10.10.0.10\"")).unwrap();
        let left_out = LabAddresses::parse("d.toml", &shipped.replace("auth = \"10.10.0.54\"", "")).unwrap();
        assert_eq!(on_vm, left_out);
        assert_eq!(left_out.auth, left_out.vm);
        let p = Plan::new(&left_out, &shipped_auth(), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &[]).unwrap();
        assert_eq!(p.vm_extra_addresses(), vec!["172.19.0.53".parse::<Ipv4Addr>().unwrap()]);
        assert!(!Plan::lab_reserved(&left_out, p.lab).iter().any(|(k, _)| k == "auth"));
        let both = LabAddresses::parse("d.toml", &shipped.replace("auth = \"10.10.0.54\"", "auth = \"10.10.0.10\"").replace("recursor = \"10.10.0.53\"", "recursor = \"10.10.0.10\"")).unwrap();
        let p = Plan::new(&both, &shipped_auth(), "172.19.0.0/16".parse().unwrap(), "172.20.0.0/16".parse().unwrap(), &[]).unwrap();
        assert!(p.vm_extra_addresses().is_empty());
    }

    #[test]
    fn addresses_the_testbed_cannot_build_are_refused() {
        let shipped = include_str!("../../../lab/etc-powerdns/drill.toml");
        for (ip, why) in [("10.10.0.0", "own address"), ("10.10.255.255", "broadcast"), ("10.10.0.1", "gateway")] {
            let e = LabAddresses::parse("d.toml", &shipped.replace("client = \"10.10.0.30\"", &format!("client = \"{ip}\""))).unwrap_err().to_string();
            assert!(e.starts_with(&format!("d.toml:12: `client` = {ip} is")) && e.contains(why), "{e}");
        }
    }

    #[test]
    fn syntax_errors_and_unknown_keys_name_the_line() {
        let shipped = include_str!("../../../lab/etc-powerdns/drill.toml");
        let bare = LabAddresses::parse("d.toml", &shipped.replace("vm = \"10.10.0.10\"", "vm = 10.10.0.10")).unwrap_err().to_string();
        assert!(bare.starts_with("d.toml:8: invalid address map: "), "{bare}");
        let unknown = LabAddresses::parse("d.toml", &format!("bogus = 1\n{shipped}")).unwrap_err().to_string();
        assert!(unknown.starts_with("d.toml:1: invalid address map: unknown field `bogus`"), "{unknown}");
        // The last table is [operator]: a key it does not know is named there.
        let op = LabAddresses::parse("d.toml", &format!("{shipped}bogus = 1\n")).unwrap_err().to_string();
        assert!(op.contains("unknown field `bogus`, expected one of `name`, `groups`, `sudo`"), "{op}");
        let root = LabAddresses::parse("d.toml", &shipped.replace("name = \"ze\"", "name = \"root\"")).unwrap_err().to_string();
        assert!(root.starts_with("d.toml:") && root.contains("[operator] `name` = \"root\""), "{root}");
        let missing = LabAddresses::parse("d.toml", &shipped.replace("zone = ", "# zone = ")).unwrap_err().to_string();
        assert!(missing.contains("missing field `zone`"), "{missing}");
    }
}
