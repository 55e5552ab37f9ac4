//! IP address management for the embedded engine's bridge networks: which subnet a new
//! network gets, and which address a container gets inside it. Pure functions over what is
//! already in use; [`super::store`] supplies that state under its lock.
//!
//! Rules (Docker's, where users see them):
//! - a network without `ipam.config` gets the first free /24 of [`POOL`] that overlaps no
//!   other network of ours and no route of the host (Docker's own bridges included, so both
//!   engines coexist);
//! - the gateway is the subnet's first host unless `ipam.config[].gateway` names another;
//! - containers get the lowest free host address (inside `ip_range` when given), never the
//!   gateway, the network or the broadcast address;
//! - a static `ipv4_address`/`ipv6_address` must lie inside one of the network's subnets and
//!   be free.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Where automatic IPv4 subnets come from: 10.89.0.0/24 to 10.99.255.0/24 (outside Docker's
/// default pools 172.17.0.0/16–172.31.0.0/16 and 192.168.0.0/16).
pub const POOL: (u32, u32) = (0x0A59_0000, 0x0A63_FF00);

/// One subnet of a network with its gateway and the range addresses are given from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    pub gateway: IpAddr,
    /// `ipam.config[].ip_range`: containers get addresses from here only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<IpNet>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("invalid subnet \"{0}\"")]
    BadSubnet(String),
    #[error("invalid gateway \"{gateway}\": it is not inside subnet {subnet}")]
    GatewayOutside { gateway: String, subnet: String },
    #[error("invalid ip_range \"{range}\": it is not inside subnet {subnet}")]
    RangeOutside { range: String, subnet: String },
    #[error("no free subnet left in 10.89.0.0/16–10.99.255.0/24 for a new network")]
    PoolExhausted,
    #[error("subnet {0} overlaps with another network or a route of this host")]
    Overlap(String),
    #[error("invalid address \"{0}\"")]
    BadAddress(String),
    #[error("no configured subnet of network {network} contains IP address {address}")]
    NotInSubnet { network: String, address: String },
    #[error("address {address} on network {network} is already in use")]
    InUse { network: String, address: String },
    #[error("no available IPv{family} addresses on network {network}")]
    Exhausted { network: String, family: u8 },
}

/// Parses one `ipam.config` entry into a [`Subnet`].
pub fn parse_subnet(
    subnet: &str,
    gateway: Option<&str>,
    ip_range: Option<&str>,
) -> Result<Subnet, IpamError> {
    let net: IpNet = subnet
        .parse()
        .map_err(|_| IpamError::BadSubnet(subnet.to_string()))?;
    let net = net.trunc();
    let gateway = match gateway.filter(|g| !g.is_empty()) {
        Some(g) => {
            let ip: IpAddr = g
                .parse()
                .map_err(|_| IpamError::BadAddress(g.to_string()))?;
            if !net.contains(&ip) {
                return Err(IpamError::GatewayOutside {
                    gateway: g.to_string(),
                    subnet: net.to_string(),
                });
            }
            ip
        }
        None => first_host(&net).ok_or_else(|| IpamError::BadSubnet(subnet.to_string()))?,
    };
    let ip_range = match ip_range.filter(|r| !r.is_empty()) {
        Some(r) => {
            let range: IpNet = r.parse().map_err(|_| IpamError::BadSubnet(r.to_string()))?;
            if !net.contains(&range) {
                return Err(IpamError::RangeOutside {
                    range: r.to_string(),
                    subnet: net.to_string(),
                });
            }
            Some(range.trunc())
        }
        None => None,
    };
    Ok(Subnet {
        subnet: net,
        gateway,
        ip_range,
    })
}

fn first_host(net: &IpNet) -> Option<IpAddr> {
    match net {
        IpNet::V4(n) if n.prefix_len() <= 30 => {
            Some(IpAddr::V4((u32::from(n.network()) + 1).into()))
        }
        IpNet::V6(n) if n.prefix_len() <= 126 => {
            Some(IpAddr::V6((u128::from(n.network()) + 1).into()))
        }
        _ => None,
    }
}

/// The first /24 of [`POOL`] that overlaps nothing in `used`.
pub fn pick_v4_subnet(used: &[IpNet]) -> Result<Subnet, IpamError> {
    let mut base = POOL.0;
    while base <= POOL.1 {
        let candidate = IpNet::V4(Ipv4Net::new(base.into(), 24).expect("prefix 24 is valid"));
        if !used.iter().any(|u| overlaps(u, &candidate)) {
            return parse_subnet(&candidate.to_string(), None, None);
        }
        base += 256;
    }
    Err(IpamError::PoolExhausted)
}

/// A unique-local /64 derived from the network id (Docker's ULA choice for `enable_ipv6`
/// without a subnet), moved on while it overlaps something in `used`.
pub fn pick_v6_subnet(network_id: &str, used: &[IpNet]) -> Result<Subnet, IpamError> {
    let seed = u64::from_str_radix(network_id.get(..10).unwrap_or("0"), 16).unwrap_or(0);
    for bump in 0..1024u128 {
        // fdXX:XXXX:XXXX:YYYY::/64 with 40 global bits and 16 subnet bits from the id.
        let global = ((seed as u128) + bump) & 0xFF_FFFF_FFFF;
        let addr: u128 = (0xfd_u128 << 120) | (global << 80);
        let candidate = IpNet::V6(Ipv6Net::new(addr.into(), 64).expect("prefix 64 is valid"));
        if !used.iter().any(|u| overlaps(u, &candidate)) {
            return parse_subnet(&candidate.to_string(), None, None);
        }
    }
    Err(IpamError::PoolExhausted)
}

/// Whether two networks share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The lowest free address for a container in `subnet` (`taken`: addresses already given).
pub fn allocate(network: &str, subnet: &Subnet, taken: &[IpAddr]) -> Result<IpAddr, IpamError> {
    let from = subnet.ip_range.unwrap_or(subnet.subnet);
    let family = if subnet.subnet.addr().is_ipv4() { 4 } else { 6 };
    let exhausted = || IpamError::Exhausted {
        network: network.to_string(),
        family,
    };
    let usable = |ip: &IpAddr| {
        *ip != subnet.gateway
            && *ip != subnet.subnet.network()
            && (family == 6 || *ip != subnet.subnet.broadcast())
            && !taken.contains(ip)
    };
    match from {
        IpNet::V4(n) => {
            let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
            (lo..=hi)
                .map(|v| IpAddr::V4(v.into()))
                .find(usable)
                .ok_or_else(exhausted)
        }
        IpNet::V6(n) => {
            let lo = u128::from(n.network());
            // Scan at most a few thousand candidates: a /64 is never full in practice.
            (lo..lo.saturating_add(65536))
                .take_while(|v| n.contains(&std::net::Ipv6Addr::from(*v)))
                .map(|v| IpAddr::V6(v.into()))
                .find(usable)
                .ok_or_else(exhausted)
        }
    }
}

/// Checks a static address asked for by the service.
pub fn check_static(
    network: &str,
    subnets: &[Subnet],
    wanted: &str,
    taken: &[IpAddr],
) -> Result<IpAddr, IpamError> {
    let ip: IpAddr = wanted
        .parse()
        .map_err(|_| IpamError::BadAddress(wanted.to_string()))?;
    if !subnets.iter().any(|s| s.subnet.contains(&ip)) {
        return Err(IpamError::NotInSubnet {
            network: network.to_string(),
            address: wanted.to_string(),
        });
    }
    if taken.contains(&ip) || subnets.iter().any(|s| s.gateway == ip) {
        return Err(IpamError::InUse {
            network: network.to_string(),
            address: wanted.to_string(),
        });
    }
    Ok(ip)
}

/// IPv4 routes of the host (`/proc/net/route`), default route excluded: subnets a new
/// network must not overlap.
pub fn host_v4_routes() -> Vec<IpNet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<IpNet> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints the raw big-endian words as host-order numbers.
            let (dest, mask) = (u32::from_be(dest), u32::from_be(mask));
            let prefix = mask.count_ones() as u8;
            (prefix > 0)
                .then(|| Ipv4Net::new(dest.into(), prefix).ok().map(IpNet::V4))
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn picks_the_first_free_slash_24_of_the_pool() {
        let s = pick_v4_subnet(&[]).unwrap();
        assert_eq!(s.subnet, net("10.89.0.0/24"));
        assert_eq!(s.gateway.to_string(), "10.89.0.1");
        let s = pick_v4_subnet(&[net("10.89.0.0/24"), net("10.89.1.0/25")]).unwrap();
        assert_eq!(s.subnet, net("10.89.2.0/24"));
        // A wide host route covers many candidates.
        let s = pick_v4_subnet(&[net("10.89.0.0/16")]).unwrap();
        assert_eq!(s.subnet, net("10.90.0.0/24"));
        assert_eq!(
            pick_v4_subnet(&[net("10.0.0.0/8")]),
            Err(IpamError::PoolExhausted)
        );
    }

    #[test]
    fn explicit_subnets_check_gateway_and_range() {
        let s = parse_subnet("172.28.5.0/24", None, Some("172.28.5.128/25")).unwrap();
        assert_eq!(s.gateway.to_string(), "172.28.5.1");
        assert!(matches!(
            parse_subnet("172.28.0.0/16", Some("10.0.0.1"), None),
            Err(IpamError::GatewayOutside { .. })
        ));
        assert!(matches!(
            parse_subnet("172.28.0.0/16", None, Some("10.0.0.0/24")),
            Err(IpamError::RangeOutside { .. })
        ));
        assert!(matches!(
            parse_subnet("nope", None, None),
            Err(IpamError::BadSubnet(_))
        ));
        // Host bits are dropped, as Docker does.
        assert_eq!(
            parse_subnet("10.5.0.7/24", None, None).unwrap().subnet,
            net("10.5.0.0/24")
        );
    }

    #[test]
    fn allocation_skips_gateway_taken_and_broadcast() {
        let s = parse_subnet("10.1.0.0/30", None, None).unwrap();
        let a = allocate("n", &s, &[]).unwrap();
        assert_eq!(a.to_string(), "10.1.0.2");
        assert!(matches!(
            allocate("n", &s, &[a]),
            Err(IpamError::Exhausted { family: 4, .. })
        ));
        let s = parse_subnet("10.1.0.0/24", None, Some("10.1.0.128/25")).unwrap();
        // Docker gives the range's first address too (only the subnet's ends are reserved).
        assert_eq!(allocate("n", &s, &[]).unwrap().to_string(), "10.1.0.128");
        let s = parse_subnet("fd00:1::/64", None, None).unwrap();
        assert_eq!(allocate("n", &s, &[]).unwrap().to_string(), "fd00:1::2");
    }

    #[test]
    fn static_addresses_must_be_inside_and_free() {
        let subs = vec![parse_subnet("10.1.0.0/24", None, None).unwrap()];
        assert_eq!(
            check_static("n", &subs, "10.1.0.9", &[])
                .unwrap()
                .to_string(),
            "10.1.0.9"
        );
        assert!(matches!(
            check_static("n", &subs, "10.2.0.9", &[]),
            Err(IpamError::NotInSubnet { .. })
        ));
        assert!(matches!(
            check_static("n", &subs, "10.1.0.1", &[]),
            Err(IpamError::InUse { .. })
        ));
        let taken = ["10.1.0.9".parse().unwrap()];
        assert!(matches!(
            check_static("n", &subs, "10.1.0.9", &taken),
            Err(IpamError::InUse { .. })
        ));
    }

    #[test]
    fn v6_subnets_come_from_the_id_and_avoid_overlaps() {
        let a = pick_v6_subnet("0123456789abcdef", &[]).unwrap();
        assert_eq!(a.subnet.prefix_len(), 64);
        assert!(a.subnet.to_string().starts_with("fd"));
        let b = pick_v6_subnet("0123456789abcdef", &[a.subnet]).unwrap();
        assert_ne!(a.subnet, b.subnet);
    }

    #[test]
    fn proc_net_route_is_parsed_in_host_byte_order() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(parse_proc_route(text), vec![net("172.17.0.0/16")]);
    }
}
