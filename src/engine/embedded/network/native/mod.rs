//! The native network driver (the default): bridges, veth pairs, addresses and routes by
//! rtnetlink in-process ([`netlink`]), firewall rules by one `iptables-restore` per change
//! ([`firewall`]), DNS by name by aardvark-dns fed through its config files ([`dns`]).
//!
//! Why not netavark, the first driver: netavark 1.4 runs about 17 `iptables` processes per
//! container start (each re-reading the whole ruleset) and 5 per stop, 60–140 ms on this
//! machine, serialized; that was most of an `up` of 10 services. Here a container start
//! costs a few netlink round trips and, only with published ports, one `iptables-restore`;
//! a network's rules are written once, when its bridge is made.
//!
//! The bridge appears with a network's first running container and goes when the network
//! is removed (as Docker's does). Everything happens under one host-wide lock: the steps
//! are short, and a bridge must not be made and removed at once.

pub mod dns;
pub mod firewall;
pub mod netlink;

use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use self::firewall::Op;
use self::netlink::Netlink;
use super::store::NetworkRecord;
use super::{published_address, NetworkDriver, SetupRequest};
use crate::engine::embedded::state::FileLock;

/// What an internal-only container's DNS forwards to: an address whose sends fail at once
/// without SO_BROADCAST, so no query ever leaves the host (CVE-2024-29018; aardvark-dns
/// before 1.11 forwards internal networks' queries to the host's resolvers).
pub const NO_UPSTREAM: &str = "255.255.255.255";

/// The resolvers the network DNS forwards a container's other names to (aardvark-dns runs
/// in the host's namespace, so whatever it forwards to is reached from the host).
///
/// - On any non-internal network: the service's `dns:`, else (empty) the host's resolvers.
/// - On internal networks only: Docker (since 26.1, CVE-2024-29018) forwards nothing from the
///   host, only to resolvers the container itself can reach; here that is the `dns:`
///   addresses inside one of its internal subnets (a DNS server container on that network).
///   When none is left, [`NO_UPSTREAM`], so that nothing leaves.
fn upstream_for(
    networks: &[(NetworkRecord, super::store::Endpoint)],
    dns: &[IpAddr],
) -> Vec<String> {
    if !networks.iter().all(|(n, _)| n.internal) {
        return dns.iter().map(IpAddr::to_string).collect();
    }
    let inside: Vec<String> = dns
        .iter()
        .filter(|ip| {
            networks
                .iter()
                .flat_map(|(n, _)| &n.subnets)
                .any(|s| s.subnet.contains(*ip))
        })
        .map(IpAddr::to_string)
        .collect();
    if inside.is_empty() {
        vec![NO_UPSTREAM.to_string()]
    } else {
        inside
    }
}

pub struct Native {
    dns: dns::Aardvark,
    lock: PathBuf,
}

impl Native {
    pub fn locate() -> Result<Self, String> {
        let binary = super::netavark::find_binary("aardvark-dns", "RCOMPOSE_AARDVARK_DNS").ok_or(
            "aardvark-dns is not installed: the embedded engine needs it for DNS by \
                 service name (apt-get install aardvark-dns)",
        )?;
        let dir = crate::paths::runtime_dir("networks/aardvark")?;
        let lock = dir
            .parent()
            .map(|p| p.join("native.lock"))
            .unwrap_or_else(|| dir.join(".lock"));
        Ok(Native {
            dns: dns::Aardvark { binary, dir },
            lock,
        })
    }

    fn locked(&self) -> Result<FileLock, String> {
        FileLock::acquire(&self.lock).map_err(|e| format!("network lock: {e}"))
    }

    /// The veth end on the host for the container's `i`-th network (15 characters at most).
    fn host_if(id: &str, i: usize) -> String {
        format!("rv{}{}", &id[..id.len().min(12)], i)
    }

    /// The bridge of `net`, made with its addresses and rules when missing.
    fn ensure_bridge(host: &mut Netlink, net: &NetworkRecord) -> Result<u32, String> {
        if let Some(i) = host.link_index(&net.bridge).map_err(|e| e.to_string())? {
            return Ok(i);
        }
        let fail = |e: std::io::Error| format!("bridge {}: {e}", net.bridge);
        let v6 = net.subnets.iter().any(|s| s.subnet.addr().is_ipv6());
        firewall::ensure_chains(firewall::Family::V4)?;
        if v6 {
            firewall::ensure_chains(firewall::Family::V6)?;
        }
        tracing::debug!("network: firewall chains present");
        let idx = host.add_bridge(&net.bridge, mtu(net)).map_err(fail)?;
        for s in &net.subnets {
            host.add_address(idx, s.gateway, s.subnet.prefix_len())
                .map_err(fail)?;
        }
        host.set_up(idx, None).map_err(fail)?;
        sysctl("net/ipv4/ip_forward", "1")?;
        if v6 {
            // Egress for the IPv6 subnets (Docker does the same with ip6tables on); our
            // ip6tables rules keep the networks isolated.
            sysctl("net/ipv6/conf/all/forwarding", "1")?;
        }
        // Published ports on 127.0.0.1 are forwarded into the bridge.
        sysctl(&format!("net/ipv4/conf/{}/route_localnet", net.bridge), "1")?;
        tracing::debug!("network: bridge {} up", net.bridge);
        if let Err(e) = firewall::apply(&firewall::network_rules(net), Op::Add) {
            let _ = host.delete_link(&net.bridge);
            return Err(e);
        }
        tracing::debug!("network: bridge rules added");
        Ok(idx)
    }

    fn try_setup(&self, req: &SetupRequest) -> Result<(), String> {
        let io = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| format!("{what}: {e}")
        };
        let mut host = Netlink::open().map_err(io("netlink"))?;
        let ns = File::open(&req.netns).map_err(io(&req.netns.display().to_string()))?;
        let mut inside = Netlink::open_in(&req.netns).map_err(io("netlink in the container"))?;
        let upstream = upstream_for(&req.networks, &req.dns_servers);
        let mut routed = false;
        for (i, (net, ep)) in req.networks.iter().enumerate() {
            let bridge = Self::ensure_bridge(&mut host, net)?;
            tracing::debug!("network: bridge ready");
            let host_if = Self::host_if(&req.container_id, i);
            // Left by an earlier run whose namespace is still held (a container that joined
            // it with network_mode: service/container still runs).
            host.delete_link(&host_if)
                .map_err(io(&format!("veth {host_if}")))?;
            let hi = host
                .add_veth(&host_if, &ep.interface, &ns, mtu(net))
                .map_err(io(&format!("veth {host_if}")))?;
            host.set_up(hi, Some(bridge))
                .map_err(io(&format!("veth {host_if}")))?;
            let ci = inside
                .up_by_name(&ep.interface)
                .map_err(io(&ep.interface))?;
            for a in &ep.addresses {
                let prefix = net
                    .subnets
                    .iter()
                    .find(|s| s.subnet.contains(a))
                    .map(|s| s.subnet.prefix_len())
                    .unwrap_or(if a.is_ipv4() { 32 } else { 128 });
                inside
                    .add_address(ci, *a, prefix)
                    .map_err(io(&format!("address {a}")))?;
            }
            // The default route goes through the first network that has egress.
            if !routed && !net.internal {
                for s in &net.subnets {
                    if ep.addresses.iter().any(|a| s.subnet.contains(a)) {
                        inside
                            .add_default_route(s.gateway)
                            .map_err(io(&format!("default route via {}", s.gateway)))?;
                    }
                }
                routed = true;
            }
            tracing::debug!("network: veth and addresses set");
            let mut names = vec![req.container_name.clone()];
            names.extend(
                ep.aliases
                    .iter()
                    .filter(|a| **a != req.container_name)
                    .cloned(),
            );
            self.dns.add(
                net,
                &dns::Entry {
                    id: &req.container_id,
                    addresses: &ep.addresses,
                    names,
                    upstream: upstream.clone(),
                },
            )?;
        }
        tracing::debug!("network: dns entries written");
        if let Some(ip) = published_address(req) {
            firewall::apply(
                &firewall::port_rules(&req.container_id, ip, &req.ports),
                Op::Add,
            )?;
        }
        Ok(())
    }

    fn teardown_locked(&self, req: &SetupRequest) -> Result<(), String> {
        let mut errors = Vec::new();
        if let Some(ip) = published_address(req) {
            let _ = firewall::apply(
                &firewall::port_rules(&req.container_id, ip, &req.ports),
                Op::Delete,
            );
        }
        // The veth pairs are not deleted here: they go with the container's namespace, which
        // the kernel cleans up asynchronously once it is unmounted (deleting each link
        // synchronously costs tens of milliseconds in RCU waits). The bridge goes with the
        // network (`remove_network`), as Docker's does.
        for (net, _) in &req.networks {
            if let Err(e) = self.dns.remove(net, &req.container_id) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

impl NetworkDriver for Native {
    fn remove_network(&self, net: &NetworkRecord) -> Result<(), String> {
        let _lock = self.locked()?;
        let mut host = Netlink::open().map_err(|e| format!("netlink: {e}"))?;
        if host
            .link_index(&net.bridge)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            firewall::apply(&firewall::network_rules(net), Op::Delete)?;
            host.delete_link(&net.bridge)
                .map_err(|e| format!("bridge {}: {e}", net.bridge))?;
        }
        Ok(())
    }

    fn setup(&self, req: &SetupRequest) -> Result<(), String> {
        let _lock = self.locked()?;
        let result = self.try_setup(req);
        if result.is_err() {
            let _ = self.teardown_locked(req);
        }
        result
    }

    fn teardown(&self, req: &SetupRequest) -> Result<(), String> {
        let _lock = self.locked()?;
        self.teardown_locked(req)
    }
}

fn mtu(net: &NetworkRecord) -> Option<u32> {
    net.options
        .get("com.docker.network.driver.mtu")
        .and_then(|m| m.parse().ok())
}

fn sysctl(key: &str, value: &str) -> Result<(), String> {
    let path = Path::new("/proc/sys").join(key);
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::embedded::network::ipam::Subnet;
    use crate::engine::embedded::network::store::Endpoint;

    fn net(internal: bool, subnet: &str) -> (NetworkRecord, Endpoint) {
        let subnet: ipnet::IpNet = subnet.parse().unwrap();
        let record = NetworkRecord {
            id: "n".into(),
            name: "n".into(),
            labels: Default::default(),
            driver: "bridge".into(),
            internal,
            ipv6: false,
            subnets: vec![Subnet {
                subnet,
                gateway: subnet.hosts().next().unwrap(),
                ip_range: None,
            }],
            bridge: "rc-n".into(),
            options: Default::default(),
        };
        let ep = Endpoint {
            network: "n".into(),
            interface: "eth0".into(),
            addresses: vec![],
            aliases: vec![],
        };
        (record, ep)
    }

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn internal_only_containers_forward_only_inside_their_networks() {
        let internal = [net(true, "10.9.0.0/24")];
        assert_eq!(upstream_for(&internal, &[]), vec![NO_UPSTREAM]);
        // An outside resolver (or one on the host's loopback) is never used.
        assert_eq!(
            upstream_for(&internal, &ips(&["127.0.0.53", "8.8.8.8"])),
            vec![NO_UPSTREAM]
        );
        // A DNS server container on the internal network is (moby#47821).
        assert_eq!(
            upstream_for(&internal, &ips(&["8.8.8.8", "10.9.0.53"])),
            vec!["10.9.0.53"]
        );
    }

    #[test]
    fn containers_with_a_way_out_forward_to_their_dns_or_the_hosts() {
        let both = [net(true, "10.9.0.0/24"), net(false, "10.8.0.0/24")];
        assert!(upstream_for(&both, &[]).is_empty());
        assert_eq!(upstream_for(&both, &ips(&["8.8.8.8"])), vec!["8.8.8.8"]);
    }
}
