//! Network records and address allocations of the embedded engine.
//!
//! - `networks/<name>.json`: the network (id, subnets with gateways, bridge name, flags);
//! - `networks/<name>.ips.json`: which container holds which address;
//! - `<runtime>/subnets.json`: every subnet our networks hold, across state directories, so
//!   that two state roots on one host (tests, a user's and root's) never pick the same one.
//!
//! All three change under `networks/.lock` (and the runtime lock for the subnet registry).
//! Allocations of containers that no longer exist are dropped whenever the file is written,
//! so a crash between create and remove leaks nothing for long.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::ipam::{self, Subnet};
use crate::engine::embedded::containers::backend;
use crate::engine::embedded::follow::labels_match;
use crate::engine::embedded::objects::valid_name;
use crate::engine::embedded::record::RunState;
use crate::engine::embedded::state::{
    make_private_dir, random_id, read_json, write_json, FileLock, StateRoot,
};
use crate::engine::{EngineError, EngineResult, Labels, NetworkInfo, NetworkSpec};

/// One bridge network.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub labels: Labels,
    pub driver: String,
    pub internal: bool,
    #[serde(default)]
    pub ipv6: bool,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    /// The Linux bridge (`rc-<12 hex of the id>` unless `com.docker.network.bridge.name`).
    #[serde(default)]
    pub bridge: String,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// What one container holds on one network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub network: String,
    /// `eth0`, `eth1`, ... in the order of the container's networks.
    pub interface: String,
    pub addresses: Vec<IpAddr>,
    pub aliases: Vec<String>,
}

fn networks_dir(st: &StateRoot) -> PathBuf {
    st.root().join("networks")
}

fn record_path(st: &StateRoot, name: &str) -> PathBuf {
    networks_dir(st).join(format!("{name}.json"))
}

fn allocations_path(st: &StateRoot, name: &str) -> PathBuf {
    networks_dir(st).join(format!("{name}.ips.json"))
}

fn lock(st: &StateRoot) -> EngineResult<FileLock> {
    make_private_dir(&networks_dir(st)).map_err(backend)?;
    FileLock::acquire(&networks_dir(st).join(".lock")).map_err(backend)
}

fn invalid(message: String) -> EngineError {
    EngineError::Backend { message }
}

pub fn read(st: &StateRoot, name: &str) -> EngineResult<Option<NetworkRecord>> {
    if !valid_name(name) {
        return Ok(None);
    }
    read_json(&record_path(st, name)).map_err(backend)
}

/// The record of `name`, or a not-found error naming it.
pub fn get(st: &StateRoot, name: &str) -> EngineResult<NetworkRecord> {
    read(st, name)?.ok_or_else(|| EngineError::NotFound {
        what: format!("network {name}"),
    })
}

/// The host-wide registry of subnets held by our networks: subnet → record path.
struct SubnetRegistry {
    path: PathBuf,
    _lock: FileLock,
    entries: BTreeMap<String, String>,
}

impl SubnetRegistry {
    fn open() -> EngineResult<Self> {
        let dir = crate::paths::runtime_dir("networks").map_err(invalid)?;
        let lock = FileLock::acquire(&dir.join(".lock")).map_err(backend)?;
        let path = dir.join("subnets.json");
        let mut entries: BTreeMap<String, String> =
            read_json(&path).map_err(backend)?.unwrap_or_default();
        entries.retain(|_, owner| Path::new(owner).exists());
        Ok(SubnetRegistry {
            path,
            _lock: lock,
            entries,
        })
    }

    fn subnets(&self) -> Vec<IpNet> {
        self.entries.keys().filter_map(|k| k.parse().ok()).collect()
    }

    fn save(&self) -> EngineResult<()> {
        write_json(&self.path, &self.entries).map_err(backend)
    }
}

/// Creates a network record, choosing its subnets (Docker's `network create`).
pub fn create(st: &StateRoot, spec: &NetworkSpec) -> EngineResult<String> {
    if !valid_name(&spec.name) {
        return Err(invalid(format!(
            "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            spec.name
        )));
    }
    let driver = spec.driver.clone().unwrap_or_else(|| "bridge".into());
    if driver != "bridge" {
        return Err(invalid(format!(
            "network {}: driver \"{driver}\" is not supported by the embedded engine (only \"bridge\")",
            spec.name
        )));
    }
    if let Some(d) = spec.ipam_driver.as_deref().filter(|d| *d != "default") {
        return Err(invalid(format!(
            "network {}: IPAM driver \"{d}\" is not supported by the embedded engine (only \"default\")",
            spec.name
        )));
    }
    let _lock = lock(st)?;
    if let Some(existing) = read(st, &spec.name)? {
        return Err(EngineError::Conflict {
            message: format!(
                "network with name {} already exists ({})",
                spec.name, existing.id
            ),
        });
    }
    let mut registry = SubnetRegistry::open()?;
    // Explicit subnets may not overlap our other networks (Docker's rule); automatic ones
    // also avoid the host's routes (Docker's own bridges among them).
    let mut used: Vec<IpNet> = registry.subnets();
    for rec in all(st)? {
        used.extend(rec.subnets.iter().map(|s| s.subnet));
    }

    let id = random_id();
    let fail = |e: ipam::IpamError| invalid(format!("network {}: {e}", spec.name));
    let mut subnets = Vec::new();
    for (subnet, gateway, range) in &spec.ipam_pools {
        let s = ipam::parse_subnet(subnet, gateway.as_deref(), range.as_deref()).map_err(fail)?;
        if let Some(other) = used.iter().find(|u| ipam::overlaps(u, &s.subnet)) {
            return Err(invalid(format!(
                "network {}: invalid pool request: Pool overlaps with other one on this address space ({other})",
                spec.name
            )));
        }
        used.push(s.subnet);
        subnets.push(s);
    }
    used.extend(ipam::host_v4_routes());
    if !subnets.iter().any(|s| s.subnet.addr().is_ipv4()) {
        let s = ipam::pick_v4_subnet(&used).map_err(fail)?;
        used.push(s.subnet);
        subnets.insert(0, s);
    }
    let ipv6 = spec.enable_ipv6.unwrap_or(false);
    if ipv6 && !subnets.iter().any(|s| s.subnet.addr().is_ipv6()) {
        subnets.push(ipam::pick_v6_subnet(&id, &used).map_err(fail)?);
    }
    let bridge = spec
        .driver_opts
        .get("com.docker.network.bridge.name")
        .cloned()
        .unwrap_or_else(|| format!("rc-{}", &id[..12]));
    if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ']) {
        return Err(invalid(format!(
            "network {}: invalid bridge name \"{bridge}\" (at most 15 characters)",
            spec.name
        )));
    }
    let rec = NetworkRecord {
        id: id.clone(),
        name: spec.name.clone(),
        labels: spec.labels.clone(),
        driver,
        internal: spec.internal,
        ipv6,
        subnets,
        bridge,
        options: spec.driver_opts.clone(),
    };
    let path = record_path(st, &spec.name);
    write_json(&path, &rec).map_err(backend)?;
    for s in &rec.subnets {
        registry
            .entries
            .insert(s.subnet.to_string(), path.display().to_string());
    }
    registry.save()?;
    Ok(id)
}

/// Every network record.
pub fn all(st: &StateRoot) -> EngineResult<Vec<NetworkRecord>> {
    let mut out = Vec::new();
    let dir = match std::fs::read_dir(networks_dir(st)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(backend(e)),
    };
    for e in dir.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = n.strip_suffix(".json").filter(|n| !n.ends_with(".ips")) {
            if let Some(rec) = read(st, name)? {
                out.push(rec);
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn info(r: NetworkRecord) -> NetworkInfo {
    NetworkInfo {
        id: r.id,
        name: r.name,
        labels: r.labels,
    }
}

pub fn find(st: &StateRoot, name: &str) -> EngineResult<Option<NetworkInfo>> {
    Ok(read(st, name)?.map(info))
}

pub fn list(st: &StateRoot, filter: &[String]) -> EngineResult<Vec<NetworkInfo>> {
    Ok(all(st)?
        .into_iter()
        .filter(|n| labels_match(&n.labels, filter))
        .map(info)
        .collect())
}

/// Removes a network that no running container uses (Docker's "active endpoints" rule).
pub fn remove(st: &StateRoot, name: &str) -> EngineResult<()> {
    let _lock = lock(st)?;
    let rec = get(st, name)?;
    for (c, s) in crate::engine::embedded::containers::all(st)? {
        let live = matches!(
            s.state,
            RunState::Running | RunState::Paused | RunState::Restarting
        );
        if live && c.endpoints.iter().any(|e| e.network == name) {
            return Err(EngineError::Conflict {
                message: format!(
                    "error while removing network: network {name} id {} has active endpoints",
                    rec.id
                ),
            });
        }
    }
    super::driver()
        .and_then(|d| d.remove_network(&rec))
        .map_err(|message| EngineError::Backend {
            message: format!("removing network {name}: {message}"),
        })?;
    std::fs::remove_file(record_path(st, name)).map_err(backend)?;
    let _ = std::fs::remove_file(allocations_path(st, name));
    let mut registry = SubnetRegistry::open()?;
    for s in &rec.subnets {
        registry.entries.remove(&s.subnet.to_string());
    }
    registry.save()
}

/// One network a container asks to join (from its spec).
pub struct Join<'a> {
    pub network: &'a str,
    pub aliases: &'a [String],
    pub ipv4: Option<&'a str>,
    pub ipv6: Option<&'a str>,
}

/// Gives container `id` an address on every network of `joins` (static ones checked),
/// all or nothing.
pub fn allocate(st: &StateRoot, id: &str, joins: &[Join<'_>]) -> EngineResult<Vec<Endpoint>> {
    let _lock = lock(st)?;
    let mut out = Vec::new();
    let mut pending: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for (i, j) in joins.iter().enumerate() {
        let net = get(st, j.network)?;
        let mut held = read_allocations(st, j.network)?;
        held.retain(|_, owner| owner == id || st.container_dir(owner).exists());
        held.retain(|_, owner| owner != id);
        let taken: Vec<IpAddr> = held.keys().filter_map(|k| k.parse().ok()).collect();
        let fail = |e: ipam::IpamError| invalid(e.to_string());
        let mut addresses = Vec::new();
        for (wanted, v4) in [(j.ipv4, true), (j.ipv6, false)] {
            let subnets: Vec<Subnet> = net
                .subnets
                .iter()
                .filter(|s| s.subnet.addr().is_ipv4() == v4)
                .cloned()
                .collect();
            let Some(first) = subnets.first() else {
                if let Some(w) = wanted {
                    return Err(invalid(format!(
                        "network {}: no configured subnet contains IP address {w}",
                        j.network
                    )));
                }
                continue;
            };
            let ip = match wanted {
                Some(w) => ipam::check_static(j.network, &subnets, w, &taken).map_err(fail)?,
                None => ipam::allocate(j.network, first, &taken).map_err(fail)?,
            };
            addresses.push(ip);
        }
        for ip in &addresses {
            held.insert(ip.to_string(), id.to_string());
        }
        pending.push((j.network.to_string(), held));
        out.push(Endpoint {
            network: j.network.to_string(),
            interface: format!("eth{i}"),
            addresses,
            aliases: j.aliases.to_vec(),
        });
    }
    for (name, held) in pending {
        write_json(&allocations_path(st, &name), &held).map_err(backend)?;
    }
    Ok(out)
}

/// Gives back every address container `id` holds.
pub fn release(st: &StateRoot, id: &str, endpoints: &[Endpoint]) -> EngineResult<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let _lock = lock(st)?;
    for e in endpoints {
        let mut held = read_allocations(st, &e.network)?;
        let before = held.len();
        held.retain(|_, owner| owner != id);
        if held.len() != before && record_path(st, &e.network).exists() {
            write_json(&allocations_path(st, &e.network), &held).map_err(backend)?;
        }
    }
    Ok(())
}

fn read_allocations(st: &StateRoot, name: &str) -> EngineResult<BTreeMap<String, String>> {
    Ok(read_json(&allocations_path(st, name))
        .map_err(backend)?
        .unwrap_or_default())
}
