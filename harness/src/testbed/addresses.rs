//! drill.toml: the lab as its operators know it (its network, each role's address, the zone,
//! the account the runbook logs in as), read strictly: every key checked, every address one
//! the testbed can give a container, errors naming the file and line.

use anyhow::{bail, Result};
use ipnet::Ipv4Net;
use serde::Deserialize;
use std::net::Ipv4Addr;

/// The lab as its operators know it: `drill.toml` in the config dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabAddresses {
    pub lab_network: Ipv4Net,
    pub vm: Ipv4Addr,
    /// The recursor's host on the lab network: its own address on the VM's NIC, or `vm`.
    pub recursor: Ipv4Addr,
    /// The authoritative's host on the lab network: its own address on the VM's NIC, or `vm`
    /// (also when drill.toml leaves it out: an authoritative on loopback and the public NIC
    /// only). Where it answers comes from its own `local-address`/`local-port` ([`super::listen`]).
    pub auth: Ipv4Addr,
    pub workstation: Ipv4Addr,
    pub client: Ipv4Addr,
    pub app: Ipv4Addr,
    pub public_auth: Ipv4Addr,
    pub zone: String,
    /// The account the runbook logs in as (`[operator]`; default: a sudoer that is not root).
    pub operator: super::operator::Operator,
}

/// drill.toml as written.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Written {
    lab_network: Ipv4Net,
    vm: Ipv4Addr,
    recursor: Ipv4Addr,
    auth: Option<Ipv4Addr>,
    workstation: Ipv4Addr,
    client: Ipv4Addr,
    app: Ipv4Addr,
    public_auth: Ipv4Addr,
    zone: String,
    operator: Option<super::operator::Operator>,
}

impl LabAddresses {
    /// Errors start `label:line:` where the line is known (`label:` for a missing key).
    pub fn parse(label: &str, text: &str) -> Result<Self> {
        let w: Written = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|r| text[..r.start.min(text.len())].matches('\n').count() + 1);
            anyhow::anyhow!("{}: invalid address map: {}", at(label, line), e.message().trim_end())
        })?;
        let a = LabAddresses {
            lab_network: w.lab_network,
            vm: w.vm,
            recursor: w.recursor,
            auth: w.auth.unwrap_or(w.vm),
            workstation: w.workstation,
            client: w.client,
            app: w.app,
            public_auth: w.public_auth,
            zone: w.zone,
            operator: w.operator.unwrap_or_default(),
        };
        if let Err(e) = a.operator.check() {
            let line = text.lines().position(|l| l.trim() == "[operator]").map(|i| i + 1);
            bail!("{}: [operator] {e}", at(label, line));
        }
        for (name, ip) in a.lab_roles() {
            if !a.lab_network.contains(&ip) {
                bail!("{}: `{name}` = {ip} is outside lab-network {}", at(label, key_line(text, name)), a.lab_network);
            }
            if let Some(why) = a.unbuildable(ip) {
                bail!("{}: `{name}` = {ip} is {why}; the testbed cannot give a container that address", at(label, key_line(text, name)));
            }
        }
        a.distinct_roles(label, text)?;
        Ok(a)
    }

    /// The daemons' addresses the VM's lab NIC carries beyond its own, by role: those drill.toml
    /// gives them apart from `vm`, one entry per address.
    pub(super) fn on_vm_nic(&self) -> Vec<(&'static str, Ipv4Addr)> {
        let mut v = vec![("recursor", self.recursor), ("auth", self.auth)];
        v.retain(|(_, ip)| *ip != self.vm);
        v.dedup_by_key(|(_, ip)| *ip);
        v
    }

    /// The roles that live on the lab network, as drill.toml names them.
    fn lab_roles(&self) -> [(&'static str, Ipv4Addr); 6] {
        [("vm", self.vm), ("recursor", self.recursor), ("auth", self.auth), ("workstation", self.workstation), ("client", self.client), ("app", self.app)]
    }

    /// Why a lab address cannot exist on the testbed: its host part is kept, so the network's
    /// own address, its broadcast and host 1 (where Docker puts the network's gateway) are taken.
    fn unbuildable(&self, ip: Ipv4Addr) -> Option<String> {
        let net = self.lab_network;
        if ip == net.network() {
            Some(format!("lab-network {net}'s own address"))
        } else if ip == net.broadcast() {
            Some(format!("lab-network {net}'s broadcast address"))
        } else if u32::from(ip) - u32::from(net.network()) == GATEWAY_HOST {
            Some(format!("host {GATEWAY_HOST} of lab-network {net}, which becomes the testbed network's gateway (Docker takes it)"))
        } else {
            None
        }
    }

    /// The daemons live on the VM, so `recursor` and `auth` may share its address (or each
    /// other's: two daemons on one address, told apart by port); every other role is a host
    /// of its own and needs its own address (two containers on one address would fail at
    /// start with the engine's "Address already in use").
    fn distinct_roles(&self, label: &str, text: &str) -> Result<()> {
        let roles: Vec<(&str, Ipv4Addr)> = self.lab_roles().into_iter().chain([("public-auth", self.public_auth)]).collect();
        let on_vm = |k: &str| ["vm", "recursor", "auth"].contains(&k);
        for (i, (first, ip)) in roles.iter().enumerate() {
            if let Some((second, _)) = roles[i + 1..].iter().find(|(k, other)| other == ip && !(on_vm(first) && on_vm(k))) {
                bail!(
                    "{}: `{second}` = {ip} is also `{first}` ({}); the testbed gives each host its own address on the lab network (only `recursor` and `auth` may share the VM's), so `{first}` and `{second}` need two addresses",
                    at(label, key_line(text, second)),
                    at(label, key_line(text, first))
                );
            }
        }
        Ok(())
    }
}

/// The host part Docker takes for a network's gateway (the first host of the subnet).
const GATEWAY_HOST: u32 = 1;

fn at(label: &str, line: Option<usize>) -> String {
    line.map_or_else(|| label.to_string(), |l| format!("{label}:{l}"))
}

/// The 1-based line of a top-level `key = …` (serde does not keep where a value came from).
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|l| l.split_once('=').is_some_and(|(k, _)| k.trim().trim_matches('"') == key)).map(|i| i + 1)
}
