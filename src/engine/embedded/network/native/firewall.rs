//! The native driver's firewall: iptables rules in three chains of our own, applied in one
//! `iptables-restore --noflush` call per change (a network's first container, a container
//! with published ports), never one exec per rule.
//!
//! - `filter RCOMPOSE-FWD` (first in FORWARD, so Docker's `FORWARD DROP` policy and its
//!   chains do not see our traffic): per network, traffic inside the bridge is accepted,
//!   traffic to another of our bridges or from any other interface is dropped (Docker's
//!   isolation), replies and published ports come in, egress goes out unless the network
//!   is internal;
//! - `nat RCOMPOSE-POST` (POSTROUTING): masquerade of the subnet's egress, and of host-origin
//!   and hairpin traffic into published ports;
//! - `nat RCOMPOSE-DNAT` (PREROUTING and OUTPUT for local destinations): published ports.
//!
//! Every rule carries a comment naming its network or container, and is removed by
//! replaying it with `-D`.
//!
//! A network with IPv6 subnets gets the same filter rules and its masquerade in
//! `ip6tables` too (isolation must hold for both families once the host forwards IPv6).
//! Published ports on IPv6 host addresses go through the userland relay, not DNAT.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use crate::engine::embedded::network::ports::PortRecord;
use crate::engine::embedded::network::store::NetworkRecord;

pub const FWD: &str = "RCOMPOSE-FWD";
pub const POST: &str = "RCOMPOSE-POST";
pub const DNAT: &str = "RCOMPOSE-DNAT";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    Add,
    Delete,
}

/// Rules of each table, as `iptables-restore` lines without the `-A`/`-D`; the `6` ones
/// for `ip6tables-restore`.
#[derive(Default, Debug, PartialEq)]
pub struct Rules {
    pub filter: Vec<String>,
    pub nat: Vec<String>,
    pub filter6: Vec<String>,
    pub nat6: Vec<String>,
}

/// Which `iptables` a rule set is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn tool(self, what: &str) -> String {
        match self {
            Family::V4 => format!("iptables-{what}"),
            Family::V6 => format!("ip6tables-{what}"),
        }
    }
}

fn net_comment(net: &NetworkRecord) -> String {
    format!("-m comment --comment rcompose-net:{}", &net.id[..12])
}

/// The rules of a network, added with its bridge and removed with it.
pub fn network_rules(net: &NetworkRecord) -> Rules {
    let br = &net.bridge;
    let c = net_comment(net);
    let mut r = Rules::default();
    let v6 = net.subnets.iter().any(|s| s.subnet.addr().is_ipv6());
    r.filter
        .push(format!("{FWD} -i {br} -o {br} {c} -j ACCEPT"));
    if net.internal {
        r.filter.push(format!("{FWD} -i {br} {c} -j DROP"));
        r.filter.push(format!("{FWD} -o {br} {c} -j DROP"));
        if v6 {
            r.filter6 = r.filter.clone();
        }
        return r;
    }
    r.filter.push(format!("{FWD} -i {br} -o rc-+ {c} -j DROP"));
    r.filter.push(format!(
        "{FWD} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED {c} -j ACCEPT"
    ));
    r.filter.push(format!(
        "{FWD} -o {br} -m conntrack --ctstate DNAT {c} -j ACCEPT"
    ));
    r.filter.push(format!("{FWD} -o {br} {c} -j DROP"));
    r.filter.push(format!("{FWD} -i {br} {c} -j ACCEPT"));
    for s in net.subnets.iter().filter(|s| s.subnet.addr().is_ipv4()) {
        r.nat.push(format!(
            "{POST} -s {0} ! -d {0} ! -o {br} {c} -j MASQUERADE",
            s.subnet
        ));
    }
    // Host-origin traffic (127.0.0.1 among it, with route_localnet) into published ports.
    r.nat.push(format!(
        "{POST} -o {br} -m addrtype --src-type LOCAL {c} -j MASQUERADE"
    ));
    if v6 {
        r.filter6 = r.filter.clone();
        for s in net.subnets.iter().filter(|s| s.subnet.addr().is_ipv6()) {
            r.nat6.push(format!(
                "{POST} -s {0} ! -d {0} ! -o {br} {c} -j MASQUERADE",
                s.subnet
            ));
        }
    }
    r
}

/// The rules of one container's published ports.
pub fn port_rules(id: &str, ip: IpAddr, ports: &[PortRecord]) -> Rules {
    let c = format!("-m comment --comment rcompose:{}", &id[..id.len().min(12)]);
    let mut r = Rules::default();
    let IpAddr::V4(ip) = ip else {
        return r;
    };
    for p in ports {
        let Ok(IpAddr::V4(host)) = p.host_ip.parse::<IpAddr>() else {
            continue;
        };
        let proto = p.protocol.as_str();
        let dst = if host.is_unspecified() {
            String::new()
        } else {
            format!("-d {host}/32 ")
        };
        r.nat.push(format!(
            "{DNAT} {dst}-p {proto} -m {proto} --dport {} {c} -j DNAT --to-destination {ip}:{}",
            p.host_port, p.container_port
        ));
        // Hairpin: the container reaching itself through the published port.
        r.nat.push(format!(
            "{POST} -s {ip}/32 -d {ip}/32 -p {proto} -m {proto} --dport {} {c} -j MASQUERADE",
            p.container_port
        ));
    }
    r
}

/// The tables of `rules` for `family`.
fn tables(rules: &Rules, family: Family) -> [(&'static str, &Vec<String>); 2] {
    match family {
        Family::V4 => [("filter", &rules.filter), ("nat", &rules.nat)],
        Family::V6 => [("filter", &rules.filter6), ("nat", &rules.nat6)],
    }
}

/// The `iptables-restore` input that adds or deletes `rules` (the IPv4 ones).
pub fn restore_text(rules: &Rules, op: Op) -> String {
    restore_text_for(rules, op, Family::V4)
}

/// The `iptables-restore` (or `ip6tables-restore`) input that adds or deletes the rules of
/// `family`.
pub fn restore_text_for(rules: &Rules, op: Op, family: Family) -> String {
    let flag = match op {
        Op::Add => "-A",
        Op::Delete => "-D",
    };
    let mut s = String::new();
    for (table, lines) in tables(rules, family) {
        if lines.is_empty() {
            continue;
        }
        s.push_str(&format!("*{table}\n"));
        // Deleting in reverse keeps the order meaningful for a partial failure.
        let ordered: Vec<&String> = match op {
            Op::Add => lines.iter().collect(),
            Op::Delete => lines.iter().rev().collect(),
        };
        for l in ordered {
            s.push_str(&format!("{flag} {l}\n"));
        }
        s.push_str("COMMIT\n");
    }
    s
}

fn restore(text: &str, family: Family) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let tool = family.tool("restore");
    let mut child = Command::new(&tool)
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .map_err(|e| format!("{tool}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Applies `rules`. Deleting is best effort rule by rule (a rule already gone is fine), so
/// that one missing rule never leaves the others behind.
pub fn apply(rules: &Rules, op: Op) -> Result<(), String> {
    for family in [Family::V4, Family::V6] {
        match op {
            Op::Add => {
                if let Err(e) = restore(&restore_text_for(rules, op, family), family) {
                    if family == Family::V6 {
                        // The IPv4 half is in: take it out again.
                        apply_family(rules, Op::Delete, Family::V4);
                    }
                    return Err(e);
                }
            }
            Op::Delete => apply_family(rules, op, family),
        }
    }
    Ok(())
}

fn apply_family(rules: &Rules, op: Op, family: Family) {
    if restore(&restore_text_for(rules, op, family), family).is_ok() {
        return;
    }
    for (table, lines) in tables(rules, family) {
        for l in lines.iter().rev() {
            let _ = restore(&format!("*{table}\n-D {l}\nCOMMIT\n"), family);
        }
    }
}

/// Makes our chains and their jumps when missing (one `iptables-save` to look; under the
/// caller's firewall lock, so two processes never declare a chain twice: a declaration
/// flushes it).
pub fn ensure_chains(family: Family) -> Result<(), String> {
    let tool = family.tool("save");
    let out = Command::new(&tool)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let saved = String::from_utf8_lossy(&out.stdout).into_owned();
    restore(&bootstrap_text(&saved), family)
}

fn bootstrap_text(saved: &str) -> String {
    // A chain line carries its counters (`:NAME - [12:345]`): chains match by name.
    let has = |table: &str, line: &str| {
        let chain = line.strip_suffix(" - [0:0]");
        let mut in_table = false;
        for l in saved.lines() {
            if let Some(t) = l.strip_prefix('*') {
                in_table = t == table;
            } else if in_table {
                let hit = match chain {
                    Some(c) => l.starts_with(&format!("{c} ")),
                    None => l.trim() == line,
                };
                if hit {
                    return true;
                }
            }
        }
        false
    };
    let mut s = String::new();
    let mut filter = Vec::new();
    if !has("filter", &format!(":{FWD} - [0:0]")) {
        filter.push(format!(":{FWD} - [0:0]"));
    }
    if !has("filter", &format!("-A FORWARD -j {FWD}")) {
        filter.push(format!("-I FORWARD 1 -j {FWD}"));
    }
    if !filter.is_empty() {
        s.push_str(&format!("*filter\n{}\nCOMMIT\n", filter.join("\n")));
    }
    let mut nat = Vec::new();
    for chain in [POST, DNAT] {
        if !has("nat", &format!(":{chain} - [0:0]")) {
            nat.push(format!(":{chain} - [0:0]"));
        }
    }
    for (parent, jump) in [
        ("POSTROUTING", format!("-A POSTROUTING -j {POST}")),
        (
            "PREROUTING",
            format!("-A PREROUTING -m addrtype --dst-type LOCAL -j {DNAT}"),
        ),
        (
            "OUTPUT",
            format!("-A OUTPUT -m addrtype --dst-type LOCAL -j {DNAT}"),
        ),
    ] {
        if !has("nat", &jump) {
            nat.push(jump.replacen(&format!("-A {parent}"), &format!("-I {parent} 1"), 1));
        }
    }
    if !nat.is_empty() {
        s.push_str(&format!("*nat\n{}\nCOMMIT\n", nat.join("\n")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::embedded::network::ipam::parse_subnet;
    use crate::engine::embedded::network::ports::Protocol;

    fn net(internal: bool) -> NetworkRecord {
        NetworkRecord {
            id: "0123456789abcdef".into(),
            name: "p_default".into(),
            labels: Default::default(),
            driver: "bridge".into(),
            internal,
            ipv6: false,
            subnets: vec![parse_subnet("10.89.3.0/24", None, None).unwrap()],
            bridge: "rc-0123456789ab".into(),
            options: Default::default(),
        }
    }

    #[test]
    fn internal_networks_only_talk_inside_the_bridge() {
        let r = network_rules(&net(true));
        assert_eq!(r.filter.len(), 3);
        assert!(r.filter[0].contains("-i rc-0123456789ab -o rc-0123456789ab"));
        assert!(r.filter[1].ends_with("-j DROP") && r.filter[2].ends_with("-j DROP"));
        assert!(r.nat.is_empty(), "no masquerade: no egress");
    }

    #[test]
    fn open_networks_are_isolated_then_egress() {
        let r = network_rules(&net(false));
        let drop_other = r.filter.iter().position(|l| l.contains("-o rc-+")).unwrap();
        let egress = r
            .filter
            .iter()
            .position(|l| {
                l.ends_with(
                    "-i rc-0123456789ab -m comment --comment rcompose-net:0123456789ab -j ACCEPT",
                )
            })
            .unwrap();
        assert!(drop_other < egress);
        assert!(r.nat[0].contains("-s 10.89.3.0/24 ! -d 10.89.3.0/24"));
    }

    #[test]
    fn ports_dnat_to_the_container_and_delete_in_reverse() {
        let ports = vec![
            PortRecord {
                host_ip: "127.0.0.1".into(),
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
            },
            PortRecord {
                host_ip: "0.0.0.0".into(),
                host_port: 5353,
                container_port: 53,
                protocol: Protocol::Udp,
            },
        ];
        let r = port_rules("abcdef0123456789", "10.89.3.2".parse().unwrap(), &ports);
        assert_eq!(
            r.nat[0],
            "RCOMPOSE-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment rcompose:abcdef012345 -j DNAT --to-destination 10.89.3.2:80"
        );
        assert!(r.nat[2].starts_with("RCOMPOSE-DNAT -p udp"));
        let add = restore_text(&r, Op::Add);
        let del = restore_text(&r, Op::Delete);
        assert!(add.starts_with("*nat\n-A RCOMPOSE-DNAT -d 127.0.0.1/32"));
        assert!(del.lines().nth(1).unwrap().starts_with("-D RCOMPOSE-POST"));
    }

    #[test]
    fn ipv6_networks_get_the_same_filter_rules_and_their_masquerade() {
        let mut n = net(false);
        n.ipv6 = true;
        n.subnets
            .push(parse_subnet("fd00:1:2::/64", None, None).unwrap());
        let r = network_rules(&n);
        assert_eq!(r.filter6, r.filter);
        assert_eq!(r.nat6.len(), 1);
        assert!(r.nat6[0].contains("-s fd00:1:2::/64 ! -d fd00:1:2::/64"));
        assert!(r.nat.iter().all(|l| !l.contains("fd00")));
        let v6 = restore_text_for(&r, Op::Add, Family::V6);
        assert!(v6.starts_with("*filter\n-A RCOMPOSE-FWD -i rc-0123456789ab -o rc-0123456789ab"));
        let mut i = net(true);
        i.subnets
            .push(parse_subnet("fd00:1:2::/64", None, None).unwrap());
        let r = network_rules(&i);
        assert_eq!(r.filter6, r.filter);
        assert!(r.nat6.is_empty(), "internal: no egress");
        // An IPv4-only network has no IPv6 rules at all.
        assert_eq!(network_rules(&net(false)).filter6, Vec::<String>::new());
    }

    #[test]
    fn bootstrap_declares_only_what_is_missing() {
        let all = bootstrap_text("");
        assert!(
            all.contains(":RCOMPOSE-FWD - [0:0]") && all.contains("-I FORWARD 1 -j RCOMPOSE-FWD")
        );
        assert!(all.contains("-I PREROUTING 1 -m addrtype --dst-type LOCAL -j RCOMPOSE-DNAT"));
        let saved = "*filter\n:RCOMPOSE-FWD - [0:0]\n-A FORWARD -j RCOMPOSE-FWD\nCOMMIT\n*nat\n:RCOMPOSE-POST - [3:180]\n:RCOMPOSE-DNAT - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j RCOMPOSE-DNAT\n-A OUTPUT -m addrtype --dst-type LOCAL -j RCOMPOSE-DNAT\n-A POSTROUTING -j RCOMPOSE-POST\nCOMMIT\n";
        assert_eq!(bootstrap_text(saved), "");
    }
}
