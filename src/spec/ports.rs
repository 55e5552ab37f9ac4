//! Short syntax of `services.*.ports` (`"[ip:][published:]target[/proto]"`), parsed exactly like
//! compose-go v2.9.1 `types.ParsePortConfig`, i.e. `nat.ParsePortSpecs` from
//! `github.com/docker/go-connections` v0.6.0 plus compose-go's ordering — as shipped in Docker
//! Compose v2.40.3.
//!
//! Why hand-rolled: compose users depend on the quirks, and the error messages are printed
//! verbatim by `docker compose` (no prefix, exit code 1):
//!
//! * The spec is split on every `:`; with more than three parts everything but the last two is the
//!   host IP (so `::1:80:80` has IP `::1`). A bracketed IP (`[::1]`) is unwrapped with Go's
//!   `net.SplitHostPort` rules, then the IP must satisfy Go 1.24's `net.ParseIP` (strict dotted
//!   quads without leading zeros, IPv6 groups of at most 4 hex digits, no zone). `[]` means no IP.
//! * The protocol (after the first `/` of the last part) is lower-cased and must be `tcp`, `udp`
//!   or `sctp`; an empty spec or an empty port therefore fails with `invalid proto: `.
//! * Ports are decimal `0..=65535` (leading zeros allowed, no sign, no `_`); a range `a-b` only
//!   looks at the first two `-`-separated fields (`1-2-3` is `1-2`). The published value is
//!   re-formatted (`080` → `80`).
//! * Host and container ranges must have the same length, unless the container side is a single
//!   port: then the whole host range is kept as the published value (`5000-5005:80`).
//! * compose-go sorts the resulting entries by the *string* `"<port>/<proto>"`, so `98-101`
//!   yields 100, 101, 98, 99.
//!
//! A YAML integer entry is formatted in decimal and parsed like a string (`8600`, `-1` →
//! `invalid containerPort: -1`). Compose later rejects target port 0 with
//! `service ports services.<svc>.ports.[<i>] is missing a target port`; that check is not done
//! here (`"0:0"` parses). Every entry has mode `ingress`, added by the caller.

/// One entry of the long syntax produced from a short-syntax port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortSpec {
    /// `host_ip`, `None` when not given (or given as `[]`).
    pub host_ip: Option<String>,
    /// Container port.
    pub target: u32,
    /// `published`: a port, or a range `start-end` when a host range maps to a single target.
    pub published: Option<String>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// Parses one short-syntax port spec into its long-syntax entries (in compose's order), or returns
/// compose's exact error message.
pub fn parse(spec: &str) -> Result<Vec<PortSpec>, String> {
    let (ip, host_port, container) = split_parts(spec);
    let (proto, container_port) = split_proto_port(container);
    let proto = go_to_lower(proto);
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut ip = ip.to_string();
    if ip.starts_with('[') {
        ip = strip_brackets(&ip).map_err(|e| format!("invalid IP address {ip}: {e}"))?;
    }
    if !ip.is_empty() && !go_parse_ip(&ip) {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let (start, end) = parse_port_range(container_port)
        .ok_or_else(|| format!("invalid containerPort: {container_port}"))?;
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        (host_start, host_end) =
            parse_port_range(host_port).ok_or_else(|| format!("invalid hostPort: {host_port}"))?;
        if end - start != host_end - host_start && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
            ));
        }
    }
    let count = end - start + 1;
    let mut out: Vec<(String, PortSpec)> = (0..count)
        .map(|i| {
            let target = start + i;
            let published = (!host_port.is_empty()).then(|| {
                let mut p = (host_start + i).to_string();
                if count == 1 && host_start != host_end {
                    p = format!("{p}-{host_end}");
                }
                p
            });
            let spec = PortSpec {
                host_ip: (!ip.is_empty()).then(|| ip.clone()),
                target,
                published,
                protocol: proto.clone(),
            };
            (format!("{target}/{proto}"), spec)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// `ip:host:container`; more than three parts → all but the last two form the IP.
fn split_parts(raw: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [c] => ("", "", c),
        [h, c] => ("", h, c),
        [ip, h, c] => (ip, h, c),
        _ => {
            // Position of the second-to-last colon: everything before it is the IP.
            let n = parts.len();
            let ip_len: usize = parts[..n - 2].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
            (&raw[..ip_len], parts[n - 2], parts[n - 1])
        }
    }
}

/// go-connections `SplitProtoPort`: `(proto, port)`; no port → both empty; no proto → `tcp`.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let (port, proto) = raw.split_once('/').unwrap_or((raw, ""));
    if port.is_empty() {
        return ("", "");
    }
    (if proto.is_empty() { "tcp" } else { proto }, port)
}

/// Go's `strconv.ParseUint(s, 10, 16)`.
fn parse_u16(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: u32 = 0;
    for c in s.bytes() {
        v = v * 10 + u32::from(c - b'0');
        if v > 65535 {
            return None;
        }
    }
    Some(v)
}

/// go-connections `ParsePortRange`: `port` or `start-end` (only the first two `-` fields are read).
fn parse_port_range(s: &str) -> Option<(u32, u32)> {
    if !s.contains('-') {
        let p = parse_u16(s)?;
        return Some((p, p));
    }
    let mut parts = s.split('-');
    let start = parse_u16(parts.next()?)?;
    let end = parse_u16(parts.next()?)?;
    (end >= start).then_some((start, end))
}

/// Go's `net.SplitHostPort(ip + ":")` host part for an IP starting with `[`, or its error text.
fn strip_brackets(ip: &str) -> Result<String, String> {
    let hostport = format!("{ip}:");
    let addr_err = |why: &str| format!("address {hostport}: {why}");
    let last_colon = hostport.len() - 1;
    let Some(end) = hostport.find(']') else {
        return Err(addr_err("missing ']' in address"));
    };
    if end + 1 != last_colon {
        if hostport.as_bytes()[end + 1] == b':' {
            return Err(addr_err("too many colons in address"));
        }
        return Err(addr_err("missing port in address"));
    }
    if hostport[1..].contains('[') {
        return Err(addr_err("unexpected '[' in address"));
    }
    Ok(hostport[1..end].to_string())
}

/// Go 1.24 `net.ParseIP(s) != nil`: `netip.ParseAddr` succeeds and there is no zone.
pub(crate) fn go_parse_ip(s: &str) -> bool {
    for &c in s.as_bytes() {
        match c {
            b'.' => return parse_ipv4(s.as_bytes()),
            b':' => return !s.contains('%') && parse_ipv6(s.as_bytes()),
            b'%' => return false,
            _ => {}
        }
    }
    false
}

fn parse_ipv4(s: &[u8]) -> bool {
    let (mut val, mut pos, mut dig_len) = (0u32, 0, 0);
    for (i, &c) in s.iter().enumerate() {
        if c.is_ascii_digit() {
            if dig_len == 1 && val == 0 {
                return false; // leading zero
            }
            val = val * 10 + u32::from(c - b'0');
            dig_len += 1;
            if val > 255 {
                return false;
            }
        } else if c == b'.' {
            if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' || pos == 3 {
                return false;
            }
            pos += 1;
            val = 0;
            dig_len = 0;
        } else {
            return false;
        }
    }
    pos == 3
}

fn parse_ipv6(mut s: &[u8]) -> bool {
    let mut ellipsis: Option<usize> = None;
    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return true;
        }
    }
    let mut i = 0;
    while i < 16 {
        let off = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if off == 0 || off > 4 {
            return false;
        }
        if s.get(off) == Some(&b'.') {
            if (ellipsis.is_none() && i != 12) || i + 4 > 16 || !parse_ipv4(s) {
                return false;
            }
            s = &[];
            i += 4;
            break;
        }
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return false;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return false;
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return false;
    }
    if i < 16 {
        ellipsis.is_some()
    } else {
        ellipsis.is_none()
    }
}

/// Go's `strings.ToLower` (simple per-character case mapping).
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                return 'i';
            }
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(host_ip: Option<&str>, target: u32, published: Option<&str>, protocol: &str) -> PortSpec {
        PortSpec {
            host_ip: host_ip.map(str::to_string),
            target,
            published: published.map(str::to_string),
            protocol: protocol.to_string(),
        }
    }

    fn ok(s: &str) -> Vec<PortSpec> {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> String {
        parse(s).expect_err(s)
    }

    fn targets(s: &str) -> Vec<u32> {
        ok(s).iter().map(|p| p.target).collect()
    }

    #[test]
    fn basic() {
        assert_eq!(ok("80:8080"), [p(None, 8080, Some("80"), "tcp")]);
        assert_eq!(ok("90:8090/udp"), [p(None, 8090, Some("90"), "udp")]);
        assert_eq!(ok("8600"), [p(None, 8600, None, "tcp")]);
        assert_eq!(
            ok("127.0.0.1:8001:8000"),
            [p(Some("127.0.0.1"), 8000, Some("8001"), "tcp")]
        );
        assert_eq!(ok("80/TCP"), [p(None, 80, None, "tcp")]);
        assert_eq!(
            ok("1.2.3.4:80:80/UDP"),
            [p(Some("1.2.3.4"), 80, Some("80"), "udp")]
        );
        assert_eq!(
            ok("65535:65535/sctp"),
            [p(None, 65535, Some("65535"), "sctp")]
        );
        assert_eq!(ok("080:0080"), [p(None, 80, Some("80"), "tcp")]);
        assert_eq!(ok("0:0"), [p(None, 0, Some("0"), "tcp")]);
        assert_eq!(ok(":80"), [p(None, 80, None, "tcp")]);
        assert_eq!(ok("0.0.0.0::80"), [p(Some("0.0.0.0"), 80, None, "tcp")]);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            ok("80-82:8080-8082"),
            [
                p(None, 8080, Some("80"), "tcp"),
                p(None, 8081, Some("81"), "tcp"),
                p(None, 8082, Some("82"), "tcp"),
            ]
        );
        assert_eq!(ok("5000-5005:80"), [p(None, 80, Some("5000-5005"), "tcp")]);
        assert_eq!(
            ok("0.0.0.0:80-81:80"),
            [p(Some("0.0.0.0"), 80, Some("80-81"), "tcp")]
        );
        assert_eq!(ok("80-80:90-90"), [p(None, 90, Some("80"), "tcp")]);
        assert_eq!(targets("3000-3005"), [3000, 3001, 3002, 3003, 3004, 3005]);
        assert!(ok("3000-3005").iter().all(|x| x.published.is_none()));
        assert_eq!(
            ok("8080-8081/udp"),
            [p(None, 8080, None, "udp"), p(None, 8081, None, "udp")]
        );
        assert_eq!(
            ok("1.2.3.4::80-82"),
            [
                p(Some("1.2.3.4"), 80, None, "tcp"),
                p(Some("1.2.3.4"), 81, None, "tcp"),
                p(Some("1.2.3.4"), 82, None, "tcp"),
            ]
        );
        // Only the first two fields of a range are read.
        assert_eq!(targets("1-2-3"), [1, 2]);
    }

    #[test]
    fn string_sorted_like_compose() {
        assert_eq!(targets("98-101"), [100, 101, 98, 99]);
        let r = ok("8-11:98-101");
        assert_eq!(
            r.iter()
                .map(|x| (x.target, x.published.clone().unwrap_or_default()))
                .collect::<Vec<_>>(),
            [
                (100, "10".to_string()),
                (101, "11".to_string()),
                (98, "8".to_string()),
                (99, "9".to_string())
            ]
        );
        assert_eq!(targets("79-81"), [79, 80, 81]);
        assert_eq!(targets("9-10"), [10, 9]);
    }

    #[test]
    fn ipv6() {
        assert_eq!(ok("[::1]:80:80"), [p(Some("::1"), 80, Some("80"), "tcp")]);
        assert_eq!(ok("::1:80:80"), [p(Some("::1"), 80, Some("80"), "tcp")]);
        assert_eq!(
            ok("::ffff:1.2.3.4:80:80"),
            [p(Some("::ffff:1.2.3.4"), 80, Some("80"), "tcp")]
        );
        assert_eq!(
            ok("1:2:3:4:5:6:7:8:80:80"),
            [p(Some("1:2:3:4:5:6:7:8"), 80, Some("80"), "tcp")]
        );
        assert_eq!(
            ok("[1.2.3.4]:80:80"),
            [p(Some("1.2.3.4"), 80, Some("80"), "tcp")]
        );
        assert_eq!(ok("[]:80:80"), [p(None, 80, Some("80"), "tcp")]);
    }

    #[test]
    fn errors() {
        assert_eq!(err("99999:80"), "invalid hostPort: 99999");
        assert_eq!(err("80:80/sctpx"), "invalid proto: sctpx");
        assert_eq!(err("80/FOO"), "invalid proto: foo");
        assert_eq!(err("a:b"), "invalid containerPort: b");
        assert_eq!(err("1.2.3.4:80:80:80"), "invalid IP address: 1.2.3.4:80");
        assert_eq!(
            err("8000-8001:80-82"),
            "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"
        );
        assert_eq!(
            err("80:8080-8081"),
            "invalid ranges specified for container and host Ports: 8080-8081 and 80"
        );
        assert_eq!(err(""), "invalid proto: ");
        assert_eq!(err("80:"), "invalid proto: ");
        assert_eq!(err("/tcp"), "invalid proto: ");
        assert_eq!(err("80/tcp/x"), "invalid proto: tcp/x");
        assert_eq!(err("-80"), "invalid containerPort: -80");
        assert_eq!(err("-1"), "invalid containerPort: -1");
        assert_eq!(err("80-"), "invalid containerPort: 80-");
        assert_eq!(err("82-80"), "invalid containerPort: 82-80");
        assert_eq!(err("80:82-80"), "invalid containerPort: 82-80");
        assert_eq!(err("82-80:80"), "invalid hostPort: 82-80");
        assert_eq!(err("+80"), "invalid containerPort: +80");
        assert_eq!(err("1_0"), "invalid containerPort: 1_0");
        assert_eq!(err("65536"), "invalid containerPort: 65536");
        assert_eq!(err("  80"), "invalid containerPort:   80");
        assert_eq!(err("1--2"), "invalid containerPort: 1--2");
    }

    #[test]
    fn ip_errors() {
        assert_eq!(
            err("[::1]:80"),
            "invalid IP address [:: address [::: missing ']' in address"
        );
        assert_eq!(
            err("[fe80::1%eth0]:80:80"),
            "invalid IP address: fe80::1%eth0"
        );
        assert_eq!(
            err("fe80::1%eth0:80:80"),
            "invalid IP address: fe80::1%eth0"
        );
        assert_eq!(err("fe80::1%:80:80"), "invalid IP address: fe80::1%");
        assert_eq!(err("localhost:80:80"), "invalid IP address: localhost");
        assert_eq!(
            err("[::1:80:80"),
            "invalid IP address [::1: address [::1:: missing ']' in address"
        );
        assert_eq!(
            err("[::1]x:80:80"),
            "invalid IP address [::1]x: address [::1]x:: missing port in address"
        );
        assert_eq!(
            err("[[::1]]:80:80"),
            "invalid IP address [[::1]]: address [[::1]]:: missing port in address"
        );
        assert_eq!(
            err("[::1]]:80:80"),
            "invalid IP address [::1]]: address [::1]]:: missing port in address"
        );
        assert_eq!(
            err("[::1]:80:80:80"),
            "invalid IP address [::1]:80: address [::1]:80:: too many colons in address"
        );
        assert_eq!(
            err("[::1][:80:80"),
            "invalid IP address [::1][: address [::1][:: missing port in address"
        );
        assert_eq!(
            err("[[1]:80:80"),
            "invalid IP address [[1]: address [[1]:: unexpected '[' in address"
        );
        assert_eq!(
            err("[:80:80"),
            "invalid IP address [: address [:: missing ']' in address"
        );
        assert_eq!(err(":::80"), "invalid IP address: :");
        assert_eq!(err("::80:80"), "invalid IP address: :");
        assert_eq!(
            err("0000000001::1:80:80"),
            "invalid IP address: 0000000001::1"
        );
        assert_eq!(err("[00000::1]:80:80"), "invalid IP address: 00000::1");
        assert_eq!(err("01.2.3.4:80:80"), "invalid IP address: 01.2.3.4");
        assert_eq!(
            err("1:2:3:4::5:6:7:8:80:80"),
            "invalid IP address: 1:2:3:4::5:6:7:8"
        );
        assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(err("256.1.1.1:80:80"), "invalid IP address: 256.1.1.1");
        assert_eq!(err("1.2.3.4.5:80:80"), "invalid IP address: 1.2.3.4.5");
        assert_eq!(err("%x:80:80"), "invalid IP address: %x");
    }

    #[test]
    fn ip_parser() {
        for good in [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "0001:02:3::4",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1::1.2.3.4",
            "FE80::ABCD",
        ] {
            assert!(go_parse_ip(good), "{good}");
        }
        for bad in [
            "",
            "1",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "00.1.2.3",
            "1.2.3.256",
            "1:2",
            ":1",
            "1:",
            ":::",
            "1::2::3",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::",
            "12345::",
            "::1.2.3.4.5",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::g",
            "fe80::1%z",
            "1:2:3:4:5:1.2.3.4",
            "x",
        ] {
            assert!(!go_parse_ip(bad), "{bad}");
        }
    }

    /// Pseudo-random inputs over an alphabet of significant characters must never panic.
    #[test]
    fn never_panics() {
        let alphabet: Vec<char> = "0189:-/[].%tcpudTCPx ef".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize;
            let mut s = String::new();
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                s.push(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            let _ = parse(&s);
        }
    }
}
