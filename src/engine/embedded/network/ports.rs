//! Published ports: each `ports:` entry becomes a concrete host address and port, reserved
//! by a socket the shim holds for as long as the container runs (what docker-proxy's
//! listener does for Docker). The reservation makes a busy port a clear error at start
//! (fault F17), shows the port in `ss -ltn` on exactly the address asked, and keeps other
//! programs from binding it; the traffic itself is forwarded by the network backend's DNAT
//! rules, which match before the socket would see it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use crate::engine::PortBinding;

/// One published port as it is in force.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortRecord {
    /// `0.0.0.0`, `::` or the address asked for.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "" | "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            other => Err(format!(
                "protocol \"{other}\" is not supported by the embedded engine (tcp or udp)"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// The host ports a binding may use: one, a range, or any (ephemeral).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPorts {
    Any,
    Range(u16, u16),
}

pub fn parse_host_ports(s: &str) -> Result<HostPorts, String> {
    let bad = || format!("invalid published port \"{s}\"");
    if s.is_empty() || s == "0" {
        return Ok(HostPorts::Any);
    }
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || hi < lo {
        return Err(bad());
    }
    Ok(HostPorts::Range(lo, hi))
}

/// The host addresses a binding listens on: the one asked for, or both wildcards (Docker
/// binds `0.0.0.0` and `[::]` for a bare `8080:80`; the IPv6 half goes through the
/// [`super::proxy`]).
fn host_addresses(host_ip: &str) -> Result<Vec<IpAddr>, String> {
    if host_ip.is_empty() {
        return Ok(vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ]);
    }
    let ip: IpAddr = host_ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("invalid host address \"{host_ip}\" in published port"))?;
    Ok(vec![ip])
}

/// Binds (and for TCP listens on) `addr`; the socket is close-on-exec.
fn reserve(addr: SocketAddr, proto: Protocol) -> std::io::Result<(OwnedFd, u16)> {
    use socket2::{Domain, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let ty = match proto {
        Protocol::Tcp => Type::STREAM,
        Protocol::Udp => Type::DGRAM,
    };
    let sock = Socket::new(domain, ty, None)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    if proto == Protocol::Tcp {
        sock.set_reuse_address(true)?;
    }
    sock.bind(&addr.into())?;
    if proto == Protocol::Tcp {
        sock.listen(16)?;
    }
    let port = sock
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .unwrap_or(0);
    Ok((sock.into(), port))
}

/// Reserves every binding of a container: the records to publish and the sockets to hold.
/// A busy port fails the whole set (nothing stays reserved) with Docker's message.
pub fn reserve_all(bindings: &[PortBinding]) -> Result<(Vec<PortRecord>, Vec<OwnedFd>), String> {
    let mut records = Vec::new();
    let mut held = Vec::new();
    for b in bindings {
        let proto = Protocol::parse(&b.protocol)?;
        let ports = parse_host_ports(&b.host_port)?;
        for ip in host_addresses(&b.host_ip)? {
            // The IPv6 wildcard of a bare binding is skipped where the host has no IPv6.
            let optional = b.host_ip.is_empty() && ip.is_ipv6();
            let reserved = match ports {
                HostPorts::Any => {
                    // The same ephemeral port on every address of one binding, as Docker.
                    let same = records
                        .iter()
                        .rev()
                        .find(|r: &&PortRecord| {
                            r.container_port == b.container_port
                                && r.protocol == proto
                                && r.host_ip != ip.to_string()
                        })
                        .map(|r| r.host_port)
                        .filter(|_| b.host_ip.is_empty());
                    reserve(SocketAddr::new(ip, same.unwrap_or(0)), proto)
                        .map_err(|e| (same.unwrap_or(0), e))
                }
                HostPorts::Range(lo, hi) => {
                    let mut last = None;
                    let mut got = None;
                    for p in lo..=hi {
                        match reserve(SocketAddr::new(ip, p), proto) {
                            Ok(r) => {
                                got = Some(r);
                                break;
                            }
                            Err(e) => last = Some((p, e)),
                        }
                    }
                    match (got, last) {
                        (Some(r), _) => Ok(r),
                        (None, Some(failed)) => Err(failed),
                        (None, None) => return Err(format!("invalid port range {lo}-{hi}")),
                    }
                }
            };
            let (fd, port) = match reserved {
                Ok(r) => r,
                Err((_, e)) if optional && no_ipv6(&e) => {
                    tracing::warn!("IPv6 is not available: port published on 0.0.0.0 only");
                    continue;
                }
                Err((p, e)) => return Err(busy(ip, p, proto, e)),
            };
            held.push(fd);
            records.push(PortRecord {
                host_ip: ip.to_string(),
                host_port: port,
                container_port: b.container_port,
                protocol: proto,
            });
        }
    }
    Ok((records, held))
}

/// Whether a bind failed because the host has no IPv6 (disabled, or no such family).
fn no_ipv6(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

fn busy(ip: IpAddr, port: u16, proto: Protocol, e: std::io::Error) -> String {
    let shown = match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
    };
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!("Bind for {shown} failed: port is already allocated")
    } else {
        format!("cannot bind {shown}/{}: {e}", proto.as_str())
    }
}

/// Binds the recorded ports again (a shim adopting a running container): best effort, a
/// port taken meanwhile is reported and skipped.
pub fn reserve_again(records: &[PortRecord]) -> Vec<OwnedFd> {
    let mut held = Vec::new();
    for r in records {
        let Ok(ip) = r.host_ip.parse::<IpAddr>() else {
            continue;
        };
        match reserve(SocketAddr::new(ip, r.host_port), r.protocol) {
            Ok((fd, _)) => held.push(fd),
            Err(e) => eprintln!("{}", busy(ip, r.host_port, r.protocol, e)),
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(host_ip: &str, host_port: &str, container_port: u16, proto: &str) -> PortBinding {
        PortBinding {
            container_port,
            protocol: proto.into(),
            host_ip: host_ip.into(),
            host_port: host_port.into(),
        }
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(parse_host_ports(""), Ok(HostPorts::Any));
        assert_eq!(parse_host_ports("8080"), Ok(HostPorts::Range(8080, 8080)));
        assert_eq!(
            parse_host_ports("8000-8010"),
            Ok(HostPorts::Range(8000, 8010))
        );
        assert!(parse_host_ports("9-1").is_err());
        assert!(parse_host_ports("x").is_err());
        assert!(Protocol::parse("sctp").is_err());
    }

    #[test]
    fn ephemeral_ports_are_reserved_and_a_busy_port_is_a_clear_error() {
        let (recs, held) = reserve_all(&[binding("127.0.0.1", "", 80, "tcp")]).unwrap();
        assert_eq!(held.len(), 1);
        let port = recs[0].host_port;
        assert!(port > 0);
        assert_eq!(recs[0].host_ip, "127.0.0.1");
        let err = reserve_all(&[binding("127.0.0.1", &port.to_string(), 80, "tcp")]).unwrap_err();
        assert_eq!(
            err,
            format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
        // A range moves on to the next free port.
        let (recs2, _held2) = reserve_all(&[binding(
            "127.0.0.1",
            &format!("{port}-{}", port + 50),
            80,
            "tcp",
        )])
        .unwrap();
        assert!(recs2[0].host_port > port);
        drop(held);
        // Released: the port can be bound again.
        let (_, again) =
            reserve_all(&[binding("127.0.0.1", &port.to_string(), 80, "tcp")]).unwrap();
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn udp_ports_are_reserved_too() {
        let (recs, held) = reserve_all(&[binding("127.0.0.1", "", 53, "udp")]).unwrap();
        assert_eq!(recs[0].protocol, Protocol::Udp);
        let port = recs[0].host_port;
        assert!(std::net::UdpSocket::bind(("127.0.0.1", port)).is_err());
        drop(held);
    }
}

#[cfg(test)]
mod wildcard_tests {
    use super::*;

    #[test]
    fn a_bare_binding_takes_both_wildcards_on_one_port() {
        let b = PortBinding {
            container_port: 80,
            protocol: "tcp".into(),
            host_ip: String::new(),
            host_port: String::new(),
        };
        let (recs, held) = reserve_all(&[b]).unwrap();
        assert_eq!(held.len(), recs.len());
        assert_eq!(recs[0].host_ip, "0.0.0.0");
        if recs.len() == 2 {
            assert_eq!(recs[1].host_ip, "::");
            assert_eq!(recs[1].host_port, recs[0].host_port);
        }
        assert_eq!(
            host_addresses("[::1]").unwrap(),
            ["::1".parse::<IpAddr>().unwrap()]
        );
    }
}
