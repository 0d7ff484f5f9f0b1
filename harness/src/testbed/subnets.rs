//! Which subnet a lab network gets. The engine could pick one, but then a network with fixed
//! addresses (the lab's reserved ones) must be created a second time on it; picking it here,
//! as the engine would, makes it one call.

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// The engine's default address pools, in the order it hands them out: 172.17-31.0.0/16, then
/// 192.168.0.0/16 in /20s.
pub fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let wide = (17..=31u8).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).unwrap());
    let narrow = (0..16u8).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).unwrap());
    wide.chain(narrow)
}

/// The pools that overlap nothing `taken` holds, in the engine's order.
pub fn free(taken: &[Ipv4Net]) -> Vec<Ipv4Net> {
    default_pools().filter(|p| !taken.iter().any(|t| t.contains(&p.network()) || p.contains(&t.network()))).collect()
}

/// The destinations of this host's IPv4 routes (`/proc/net/route`: little-endian hex), default
/// route aside: a lab subnet over one of them would shadow a network the host reaches.
pub fn routes(proc_net_route: &str) -> Vec<Ipv4Net> {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok().map(|v| Ipv4Addr::from(v.swap_bytes()));
    proc_net_route
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dst, mask) = (hex(f.get(1)?)?, hex(f.get(7)?)?);
            let prefix = u32::from(mask).leading_ones() as u8;
            (prefix > 0).then(|| Ipv4Net::new(dst, prefix).ok()).flatten()
        })
        .collect()
}

/// This host's routes (none when they cannot be read: the engine's own check still applies).
pub fn host_routes() -> Vec<Ipv4Net> {
    std::fs::read_to_string("/proc/net/route").map(|t| routes(&t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
br-1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00F0FFFF\t0\t0\t0
";

    #[test]
    fn routes_are_read_as_the_kernel_writes_them_default_aside() {
        let r: Vec<String> = routes(ROUTE).iter().map(|n| n.to_string()).collect();
        assert_eq!(r, ["10.0.0.0/16", "172.17.0.0/16", "192.168.16.0/20"]);
    }

    #[test]
    fn free_pools_skip_what_overlaps_a_route_or_a_network_in_either_direction() {
        assert_eq!(default_pools().count(), 31);
        let taken: Vec<Ipv4Net> = ["172.17.0.0/16", "172.18.5.0/24", "172.16.0.0/12", "192.168.16.0/20"].iter().map(|s| s.parse().unwrap()).collect();
        // 172.16.0.0/12 covers every 172 pool; a /24 inside 172.18 alone would have taken it too.
        let f = free(&taken);
        assert_eq!(f.first().unwrap().to_string(), "192.168.0.0/20");
        assert!(!f.iter().any(|n| n.to_string() == "192.168.16.0/20"));
        assert_eq!(f.len(), 15);
        let f = free(&taken[..2]);
        assert_eq!(f[0].to_string(), "172.19.0.0/16");
        assert_eq!(f.len(), 29);
    }
}
