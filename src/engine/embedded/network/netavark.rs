//! The netavark backend: bridges, veth pairs, NAT and port forwarding by `netavark`, DNS
//! by the `aardvark-dns` it starts (both are external programs; Debian ships them in
//! podman's helper directory).
//!
//! One `netavark setup <netns>` per container start, with a JSON description of the
//! container's networks, addresses and ports; `teardown` with the same JSON when it stops.
//! netavark does no IPAM (we pass static addresses) and leaves a half-made setup behind on
//! failure, so a failed setup is always followed by a teardown. Calls are serialized
//! host-wide by a lock: concurrent setups race on creating the same bridge.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::{NetworkDriver, SetupRequest};
use crate::engine::embedded::state::FileLock;

/// Where distributions put the binaries when they are not on `PATH`.
const HELPER_DIRS: &[&str] = &[
    "/usr/libexec/podman",
    "/usr/lib/podman",
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
];

use super::native::NO_UPSTREAM;

pub struct Netavark {
    netavark: PathBuf,
    aardvark: PathBuf,
    config: PathBuf,
}

pub fn find_binary(name: &str, env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(HELPER_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Netavark {
    /// Finds the binaries (`RCOMPOSE_NETAVARK`, `RCOMPOSE_AARDVARK_DNS`, `PATH`, podman's
    /// helper directories) and makes the config directory.
    pub fn locate() -> Result<Self, String> {
        let netavark = find_binary("netavark", "RCOMPOSE_NETAVARK").ok_or(
            "netavark is not installed: the embedded engine needs it for networks and ports \
             (apt-get install netavark aardvark-dns), or use network_mode: host|none",
        )?;
        let aardvark = find_binary("aardvark-dns", "RCOMPOSE_AARDVARK_DNS").ok_or(
            "aardvark-dns is not installed: the embedded engine needs it for DNS by service \
             name (apt-get install aardvark-dns)",
        )?;
        let config = crate::paths::runtime_dir("networks/netavark")?;
        Ok(Netavark {
            netavark,
            aardvark,
            config,
        })
    }

    fn run(&self, action: &str, req: &SetupRequest) -> Result<(), String> {
        let dir = self.config.parent().unwrap_or(&self.config).to_path_buf();
        let input = dir.join(format!("{}.json", &req.container_id));
        crate::engine::embedded::state::write_atomic(
            &input,
            request_json(req).to_string().as_bytes(),
        )
        .map_err(|e| format!("{}: {e}", input.display()))?;
        let _lock = FileLock::acquire(&dir.join("netavark.lock"))
            .map_err(|e| format!("network lock: {e}"))?;
        // aardvark-dns, started by the first setup of a network, inherits netavark's
        // descriptors and outlives it: its output goes to a shared log file, never a pipe
        // we would wait on.
        let log_path = dir.join("netavark.log");
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&log_path)
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let start = log.seek(std::io::SeekFrom::End(0)).unwrap_or(0);
        let status = Command::new(&self.netavark)
            .arg("--config")
            .arg(&self.config)
            .arg("--aardvark-binary")
            .arg(&self.aardvark)
            .arg("--file")
            .arg(&input)
            .arg(action)
            .arg(&req.netns)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.try_clone().map_err(|e| e.to_string())?)
            .env_remove("NOTIFY_SOCKET")
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.netavark.display()));
        let _ = std::fs::remove_file(&input);
        let status = status?;
        if status.success() {
            return Ok(());
        }
        let mut text = String::new();
        let _ = log.seek(std::io::SeekFrom::Start(start));
        let _ = log.take(16 * 1024).read_to_string(&mut text);
        Err(format!(
            "netavark {action} failed ({status}): {}",
            text.trim().replace('\n', "; ")
        ))
    }
}

impl NetworkDriver for Netavark {
    fn setup(&self, req: &SetupRequest) -> Result<(), String> {
        let result = self.run("setup", req);
        if result.is_err() {
            let _ = self.run("teardown", req);
        }
        result
    }

    fn teardown(&self, req: &SetupRequest) -> Result<(), String> {
        self.run("teardown", req)
    }
}

/// netavark's `NetworkOptions` JSON for one container.
pub fn request_json(req: &SetupRequest) -> Value {
    let mut networks = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for (net, ep) in &req.networks {
        let key = net.id.clone();
        let static_ips: Vec<String> = ep.addresses.iter().map(IpAddr::to_string).collect();
        networks.insert(
            key.clone(),
            json!({
                "interface_name": ep.interface,
                "static_ips": static_ips,
                "aliases": ep.aliases,
            }),
        );
        let subnets: Vec<Value> = net
            .subnets
            .iter()
            .map(|s| json!({"subnet": s.subnet.to_string(), "gateway": s.gateway.to_string()}))
            .collect();
        // Docker isolates bridge networks from one another (its DOCKER-ISOLATION chains).
        let mut options = BTreeMap::from([("isolate".to_string(), "true".to_string())]);
        if let Some(mtu) = net.options.get("com.docker.network.driver.mtu") {
            options.insert("mtu".to_string(), mtu.clone());
        }
        info.insert(
            key.clone(),
            json!({
                "name": key,
                "id": net.id,
                "driver": "bridge",
                "network_interface": net.bridge,
                "subnets": subnets,
                "ipv6_enabled": net.ipv6,
                "internal": net.internal,
                "dns_enabled": true,
                "options": options,
            }),
        );
    }
    let ports: Vec<Value> = req
        .ports
        .iter()
        .map(|p| {
            json!({
                "host_ip": if p.host_ip == "0.0.0.0" || p.host_ip == "::" { "" } else { p.host_ip.as_str() },
                "host_port": p.host_port,
                "container_port": p.container_port,
                "protocol": p.protocol.as_str(),
                "range": 1,
            })
        })
        .collect();
    let mut dns: Vec<String> = req.dns_servers.iter().map(IpAddr::to_string).collect();
    if dns.is_empty() && !req.networks.is_empty() && req.networks.iter().all(|(n, _)| n.internal) {
        dns.push(NO_UPSTREAM.to_string());
    }
    let mut v = json!({
        "container_id": req.container_id,
        "container_name": req.container_name,
        "networks": networks,
        "network_info": info,
    });
    if !ports.is_empty() {
        v["port_mappings"] = Value::Array(ports);
    }
    if !dns.is_empty() {
        v["dns_servers"] = json!(dns);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::ipam::parse_subnet;
    use super::super::ports::{PortRecord, Protocol};
    use super::super::store::{Endpoint, NetworkRecord};
    use super::*;

    fn net(name: &str, internal: bool) -> NetworkRecord {
        NetworkRecord {
            id: format!("{name}0123456789"),
            name: name.into(),
            labels: Default::default(),
            driver: "bridge".into(),
            internal,
            ipv6: false,
            subnets: vec![parse_subnet("10.89.3.0/24", None, None).unwrap()],
            bridge: "rc-x".into(),
            options: Default::default(),
        }
    }

    fn ep(i: usize) -> Endpoint {
        Endpoint {
            network: "n".into(),
            interface: format!("eth{i}"),
            addresses: vec!["10.89.3.2".parse().unwrap()],
            aliases: vec!["web".into()],
        }
    }

    #[test]
    fn request_has_static_ips_ports_and_network_info_keyed_by_id() {
        let req = SetupRequest {
            container_id: "c1".into(),
            container_name: "p-web-1".into(),
            netns: "/run/x".into(),
            networks: vec![(net("front", false), ep(0))],
            ports: vec![PortRecord {
                host_ip: "0.0.0.0".into(),
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
            }],
            dns_servers: vec![],
        };
        let v = request_json(&req);
        let key = "front0123456789";
        assert_eq!(v["networks"][key]["static_ips"][0], "10.89.3.2");
        assert_eq!(v["networks"][key]["interface_name"], "eth0");
        assert_eq!(v["network_info"][key]["subnets"][0]["gateway"], "10.89.3.1");
        assert_eq!(v["network_info"][key]["options"]["isolate"], "true");
        assert_eq!(v["port_mappings"][0]["host_ip"], "");
        assert_eq!(v["port_mappings"][0]["host_port"], 8080);
        assert!(v.get("dns_servers").is_none());
    }

    #[test]
    fn internal_only_containers_get_no_upstream_dns() {
        let mut req = SetupRequest {
            container_id: "c1".into(),
            container_name: "p-db-1".into(),
            netns: "/run/x".into(),
            networks: vec![(net("back", true), ep(0))],
            ports: vec![],
            dns_servers: vec![],
        };
        assert_eq!(request_json(&req)["dns_servers"][0], NO_UPSTREAM);
        req.networks.push((net("front", false), ep(1)));
        assert!(request_json(&req).get("dns_servers").is_none());
    }
}
