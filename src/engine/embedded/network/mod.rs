//! Container networking on the embedded engine.
//!
//! - [`store`]: network records, subnets and address allocations (the state directory);
//! - [`ipam`]: the pure address arithmetic behind them;
//! - [`ports`]: published ports, reserved by sockets the shim holds;
//! - [`proxy`]: the userland relay for the ports on IPv6 host addresses;
//! - [`native`]: the default [`NetworkDriver`]: bridges and veths by rtnetlink, rules by
//!   `iptables-restore`, DNS by name by aardvark-dns;
//! - [`netavark`]: the first driver (netavark + aardvark-dns, one external call per start and
//!   stop), kept behind `RCOMPOSE_NETWORK_DRIVER=netavark`.
//!
//! Addresses are given at `create` (so `ps` and `/etc/hosts` know them before the start) and
//! given back at `rm`; the shim calls [`attach`] after it made the container's network
//! namespace and [`detach`] before it removes it.

pub mod ipam;
pub mod native;
pub mod netavark;
pub mod ports;
pub mod proxy;
pub mod store;

use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use self::ports::PortRecord;
use self::store::{Endpoint, NetworkRecord};
use super::record::ContainerRecord;
use super::state::StateRoot;

/// What a driver needs to wire one container into its networks.
pub struct SetupRequest {
    pub container_id: String,
    pub container_name: String,
    pub netns: PathBuf,
    pub networks: Vec<(NetworkRecord, Endpoint)>,
    pub ports: Vec<PortRecord>,
    /// Upstream resolvers for names the network DNS does not know (the service's `dns:`).
    pub dns_servers: Vec<IpAddr>,
}

/// A network backend: wires a container's namespace into its networks, and unwires it.
/// `setup` leaves nothing behind when it fails.
pub trait NetworkDriver {
    fn setup(&self, req: &SetupRequest) -> Result<(), String>;
    fn teardown(&self, req: &SetupRequest) -> Result<(), String>;
    /// What a network holds beyond its containers (its bridge, its rules), released when
    /// the network is removed.
    fn remove_network(&self, _net: &NetworkRecord) -> Result<(), String> {
        Ok(())
    }
}

/// The driver in use: `native` (the default) or `netavark`, by `RCOMPOSE_NETWORK_DRIVER`.
/// A container is torn down by the driver that set it up, so switch only with nothing
/// running.
pub fn driver() -> Result<Box<dyn NetworkDriver>, String> {
    match std::env::var("RCOMPOSE_NETWORK_DRIVER").as_deref() {
        Ok("netavark") => Ok(Box::new(netavark::Netavark::locate()?)),
        Ok("native") | Ok("") | Err(_) => Ok(Box::new(native::Native::locate()?)),
        Ok(other) => Err(format!(
            "RCOMPOSE_NETWORK_DRIVER: unknown network driver \"{other}\" (native or netavark)"
        )),
    }
}

/// What a started container holds on the host for its networks.
#[derive(Default)]
pub struct Attached {
    pub ports: Vec<PortRecord>,
    /// The port reservations; dropped (closed) when the container stops.
    pub held: Vec<OwnedFd>,
    /// The relays of the ports on IPv6 host addresses; killed when dropped.
    pub proxies: Vec<proxy::Proxy>,
}

impl Attached {
    /// The reservations `held` of `ports` (in the same order), with a relay to the
    /// container started for each one on an IPv6 address.
    pub fn new(
        st: &StateRoot,
        rec: &ContainerRecord,
        netns: &Path,
        ports: Vec<PortRecord>,
        held: Vec<OwnedFd>,
    ) -> Result<Attached, String> {
        let mut proxies = Vec::new();
        let v6: Vec<usize> = (0..ports.len())
            .filter(|&i| {
                ports[i]
                    .host_ip
                    .parse::<IpAddr>()
                    .is_ok_and(|a| a.is_ipv6())
            })
            .collect();
        if !v6.is_empty() {
            let req = request(st, rec, netns, ports.clone())?;
            let target = published_address(&req)
                .ok_or_else(|| format!("{}: no address to publish ports to", rec.name))?;
            for i in v6 {
                let (p, fd) = (&ports[i], &held[i]);
                let to = std::net::SocketAddr::new(target, p.container_port);
                proxies.push(proxy::spawn(fd, p.protocol, to)?);
            }
        }
        Ok(Attached {
            ports,
            held,
            proxies,
        })
    }
}

/// The container address published ports forward to: its first IPv4 address on a network
/// with egress (or on any network), else its first IPv6 one.
pub fn published_address(req: &SetupRequest) -> Option<IpAddr> {
    if req.ports.is_empty() {
        return None;
    }
    let first = |v4: bool, internal: Option<bool>| {
        req.networks
            .iter()
            .filter(|(n, _)| internal.is_none_or(|i| n.internal == i))
            .flat_map(|(_, e)| e.addresses.iter())
            .find(|a| a.is_ipv4() == v4)
            .copied()
    };
    first(true, Some(false))
        .or_else(|| first(true, None))
        .or_else(|| first(false, None))
}

fn request(
    st: &StateRoot,
    rec: &ContainerRecord,
    netns: &Path,
    ports: Vec<PortRecord>,
) -> Result<SetupRequest, String> {
    let mut networks = Vec::new();
    for ep in &rec.endpoints {
        match store::read(st, &ep.network).map_err(|e| e.to_string())? {
            Some(net) => networks.push((net, ep.clone())),
            None => return Err(format!("network {} not found", ep.network)),
        }
    }
    Ok(SetupRequest {
        container_id: rec.id.clone(),
        container_name: rec.name.clone(),
        netns: netns.to_path_buf(),
        networks,
        ports,
        dns_servers: rec.spec.dns.iter().filter_map(|d| d.parse().ok()).collect(),
    })
}

/// Whether the container is wired by a driver (it has networks of its own).
pub fn wired(rec: &ContainerRecord) -> bool {
    !rec.endpoints.is_empty()
}

/// Reserves the container's published ports and wires its namespace into its networks.
pub fn attach(st: &StateRoot, rec: &ContainerRecord, netns: &Path) -> Result<Attached, String> {
    if !wired(rec) {
        if !rec.spec.ports.is_empty() {
            tracing::warn!(
                "{}: published ports are ignored without a network (network_mode)",
                rec.name
            );
        }
        return Ok(Attached::default());
    }
    let (records, held) = ports::reserve_all(&rec.spec.ports).map_err(|e| {
        format!(
            "driver failed programming external connectivity on endpoint {}: {e}",
            rec.name
        )
    })?;
    let req = request(st, rec, netns, records.clone())?;
    let driver = driver()?;
    driver.setup(&req)?;
    if let Err(e) = loopback_guard(&rec.id, &records, Guard::Add) {
        let _ = driver.teardown(&req);
        return Err(e);
    }
    Attached::new(st, rec, netns, records, held).inspect_err(|_| {
        let _ = loopback_guard(&rec.id, &req.ports, Guard::Remove);
        let _ = driver.teardown(&req);
    })
}

/// Unwires the container (best effort: errors are returned for the log, after every step
/// was tried).
pub fn detach(
    st: &StateRoot,
    rec: &ContainerRecord,
    netns: &Path,
    ports: &[PortRecord],
) -> Result<(), String> {
    if !wired(rec) {
        return Ok(());
    }
    let mut errors = Vec::new();
    if let Err(e) = loopback_guard(&rec.id, ports, Guard::Remove) {
        errors.push(e);
    }
    match request(st, rec, netns, ports.to_vec()).and_then(|req| driver()?.teardown(&req)) {
        Ok(()) => {}
        Err(e) => errors.push(e),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The resolvers a wired container uses: the gateway of each of its networks, where
/// aardvark-dns answers (Docker's embedded DNS at 127.0.0.11 plays this part).
pub fn nameservers(st: &StateRoot, rec: &ContainerRecord) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for ep in &rec.endpoints {
        if let Ok(Some(net)) = store::read(st, &ep.network) {
            for s in &net.subnets {
                if ep
                    .addresses
                    .iter()
                    .any(|a| s.subnet.contains(a) && a.is_ipv4())
                    && !out.contains(&s.gateway)
                {
                    out.push(s.gateway);
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    Add,
    Remove,
}

/// Drops packets for a published loopback port that arrive on any interface but `lo`
/// (moby#45610: the DNAT rule for 127.0.0.1 has no interface match, and netavark sets
/// `route_localnet` on the bridge, so a neighbour on the bridge could reach the port).
fn loopback_guard(id: &str, ports: &[PortRecord], op: Guard) -> Result<(), String> {
    let comment = format!("rcompose:{}", &id[..id.len().min(12)]);
    for p in ports {
        let loopback_or_any = match p.host_ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => v4.is_loopback() || v4.is_unspecified(),
            _ => false,
        };
        if !loopback_or_any {
            continue;
        }
        let port = p.host_port.to_string();
        let rule = [
            "PREROUTING",
            "-p",
            p.protocol.as_str(),
            "-d",
            "127.0.0.0/8",
            "!",
            "-i",
            "lo",
            "--dport",
            port.as_str(),
            "-m",
            "comment",
            "--comment",
            comment.as_str(),
            "-j",
            "DROP",
        ];
        let flag = match op {
            Guard::Add => "-I",
            Guard::Remove => "-D",
        };
        let out = std::process::Command::new("iptables")
            .args(["-w", "-t", "raw", flag])
            .args(rule)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run iptables: {e}"))?;
        if !out.status.success() && op == Guard::Add {
            return Err(format!(
                "iptables: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}
