//! Networks, DNS and published ports on the embedded engine, as root, end to end: bridges
//! and DNS by service name, alias and container name (netavark + aardvark-dns), static
//! addresses, `network_mode: service:x`, ports bound to exactly the address asked and
//! reachable from the host (IPv6 ones through the userland relay), a busy port failing
//! only its service (F17), internal networks
//! without egress or upstream DNS and projects isolated from each other (reliability-plan
//! c.3 items 15 and 16), and nothing of the networks left after `down`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::embedded::{down_and_check_clean, project, wait_for, DNS_DIRS};

/// `GET /` on the host, the body.
fn http_get(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Listening TCP sockets of the host (`ss -ltnH`: local address:port).
fn listening() -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args(["-ltnH"])
        .output()
        .expect("ss (iproute2)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect()
}

/// The host's `raw` table, as `iptables-save` prints it.
fn raw_rules() -> String {
    let out = std::process::Command::new("iptables-save")
        .args(["-t", "raw"])
        .output()
        .expect("iptables-save");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free TCP port on the host (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const WEB: &str = "[\"sh\", \"-c\", \"mkdir -p /www && echo hello-from-$$SVC > /www/index.html && exec httpd -f -p 80 -h /www\"]";
const IDLE: &str = "[\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1; done\"]";

#[test]
fn services_reach_each_other_by_name_and_ports_bind_exactly_the_address_asked() {
    let (lo_port, any_port) = (free_port(), free_port());
    let compose = format!(
        "services:
  web:
    image: $IMAGE
    environment: [SVC=web]
    command: {WEB}
    networks:
      default:
        aliases: [www]
      fixed:
        ipv4_address: 10.222.240.10
    ports:
      - \"127.0.0.1:{lo_port}:80\"
      - \"{any_port}:80\"
      - \"127.0.0.1::80\"
  cli:
    image: $IMAGE
    command: {IDLE}
    networks: [default, fixed]
  side:
    image: $IMAGE
    network_mode: service:web
    command: {IDLE}
networks:
  fixed:
    ipam:
      config:
        - subnet: 10.222.240.0/24
"
    );
    let (p, root) = project("net-basic", &compose);
    let up = p.rcompose(&["up", "-d"]);
    assert!(up.status.success(), "{up:?}");
    // c.3 item 15: the port bound on every address is named, the loopback ones are not.
    let err = String::from_utf8_lossy(&up.stderr).into_owned();
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("every host address"))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
    assert!(
        warned[0].contains(&format!("service \"web\" publishes {any_port}:80 on"))
            && warned[0].contains(&format!("\"127.0.0.1:{any_port}:80\"")),
        "{err}"
    );
    // A converged project is quiet.
    let again = p.rcompose(&["up", "-d"]);
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("every host address"),
        "{again:?}"
    );
    let get = |svc: &str, url: &str| {
        // (busybox's own `wget -T` crashes in this image: `timeout` bounds it.)
        let out = p.rcompose(&["exec", "-T", svc, "timeout", "3", "wget", "-qO-", url]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_for("httpd", Duration::from_secs(10), || {
        get("cli", "http://web/").contains("hello-from-web")
    });
    // DNS by alias, container name and on the second network; the static address.
    assert!(get("cli", "http://www/").contains("hello-from-web"));
    assert!(get("cli", &format!("http://{}/", p.container("web"))).contains("hello-from-web"));
    assert!(get("cli", "http://10.222.240.10/").contains("hello-from-web"));
    // A container in web's namespace reaches it on localhost.
    assert!(get("side", "http://127.0.0.1/").contains("hello-from-web"));

    // Published: on the host, on exactly the address asked.
    assert!(http_get(&format!("127.0.0.1:{lo_port}"))
        .unwrap_or_default()
        .contains("hello-from-web"));
    assert!(http_get(&format!("127.0.0.1:{any_port}"))
        .unwrap_or_default()
        .contains("hello-from-web"));
    let ls = listening();
    assert!(ls.contains(&format!("127.0.0.1:{lo_port}")), "{ls:?}");
    assert!(!ls.contains(&format!("0.0.0.0:{lo_port}")), "{ls:?}");
    assert!(ls.contains(&format!("0.0.0.0:{any_port}")), "{ls:?}");
    // The ephemeral one, as `port` reports it.
    let eph = p.ok(&["port", "web", "80"]);
    assert!(eph.trim().starts_with("127.0.0.1:"), "{eph}");
    let ps = p.ok(&["ps", "web"]);
    assert!(
        ps.contains(&format!("127.0.0.1:{lo_port}->80/tcp"))
            && ps.contains(&format!("0.0.0.0:{any_port}->80/tcp")),
        "{ps}"
    );
    // resolv.conf points at the network DNS; hosts has the container's own address.
    let resolv = p.ok(&["exec", "-T", "cli", "cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("options ndots:0"), "{resolv}");
    let hosts = p.ok(&["exec", "-T", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains("10.222.240.10\t"), "{hosts}");

    // moby#45610: a loopback-published port is guarded against other interfaces.
    let raw = raw_rules();
    assert!(
        raw.lines()
            .any(|l| l.contains(&format!("--dport {lo_port}"))
                && l.contains("! -i lo")
                && l.contains("-j DROP")),
        "{raw}"
    );

    down_and_check_clean(&p, &root);
    let raw = raw_rules();
    assert!(
        !raw.contains(&format!("--dport {lo_port} ")),
        "guard rule left: {raw}"
    );
    // The ports are free again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", lo_port)).is_ok());
}

/// The pids of the port relays (`__port-proxy` processes) that `shim` started.
fn relays(shim: i64) -> Vec<i64> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let is_relay = std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| c.windows(12).any(|w| w == b"__port-proxy"));
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse::<i64>().ok());
        if is_relay && ppid == Some(shim) {
            pids.extend(e.file_name().to_str().and_then(|n| n.parse::<i64>().ok()));
        }
    }
    pids
}

/// Whether none of `pids` runs any more (zombies count as gone).
fn all_gone(pids: &[i64]) -> bool {
    pids.iter().all(|p| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    })
}

/// Item 15's IPv6 half: `[::1]:P:80` binds only the IPv6 loopback, a bare `P:80` both
/// wildcards (as Docker), and both are reachable from the host over IPv6 (through the
/// userland relay: an IPv6 address cannot be DNAT'ed to the container's IPv4 one), the
/// wildcard over IPv4 too; the relays go with the container, and a shim that replaces a
/// killed one starts them again.
#[test]
fn ipv6_loopback_and_both_wildcards_are_bound_and_reachable() {
    let (v6_port, any_port) = (free_port(), free_port());
    let compose = format!(
        "services:
  web:
    image: $IMAGE
    environment: [SVC=web6]
    command: {WEB}
    ports:
      - \"[::1]:{v6_port}:80\"
      - \"{any_port}:80\"
"
    );
    let (p, root) = project("net-v6", &compose);
    p.ok(&["up", "-d"]);
    let ls = listening();
    assert!(ls.contains(&format!("[::1]:{v6_port}")), "{ls:?}");
    for other in ["0.0.0.0", "127.0.0.1", "[::]"] {
        assert!(
            !ls.contains(&format!("{other}:{v6_port}")),
            "{other}: {ls:?}"
        );
    }
    assert!(ls.contains(&format!("0.0.0.0:{any_port}")), "{ls:?}");
    assert!(ls.contains(&format!("[::]:{any_port}")), "{ls:?}");
    wait_for("httpd over IPv6", Duration::from_secs(10), || {
        http_get(&format!("[::1]:{v6_port}"))
            .unwrap_or_default()
            .contains("hello-from-web6")
    });
    for addr in [format!("[::1]:{any_port}"), format!("127.0.0.1:{any_port}")] {
        assert!(
            http_get(&addr)
                .unwrap_or_default()
                .contains("hello-from-web6"),
            "{addr}"
        );
    }
    assert!(
        http_get(&format!("127.0.0.1:{v6_port}")).is_none(),
        "the IPv6 loopback port answered on IPv4"
    );
    let ps = p.ok(&["ps", "web"]);
    assert!(
        ps.contains(&format!("[::1]:{v6_port}->80/tcp"))
            && ps.contains(&format!("[::]:{any_port}->80/tcp")),
        "{ps}"
    );
    let shim_of = || {
        support::embedded::status(&p, &root, "web")["shim_pid"]
            .as_i64()
            .unwrap()
    };
    let shim = shim_of();
    let first = relays(shim);
    assert_eq!(first.len(), 2, "one relay per IPv6 binding");

    // A shim killed: its relays die with it; the shim that takes over starts them again.
    // SAFETY: kill on a pid read from our own state record.
    unsafe { libc::kill(shim as i32, libc::SIGKILL) };
    wait_for(
        "relays gone with their shim",
        Duration::from_secs(5),
        || all_gone(&first),
    );
    p.ok(&["ps"]);
    let new_shim = shim_of();
    assert_ne!(new_shim, shim);
    wait_for("relays back", Duration::from_secs(5), || {
        relays(new_shim).len() == 2
    });
    let second = relays(new_shim);
    assert!(http_get(&format!("[::1]:{v6_port}"))
        .unwrap_or_default()
        .contains("hello-from-web6"));

    down_and_check_clean(&p, &root);
    assert!(all_gone(&second), "relays left after down");
    assert!(std::net::TcpListener::bind(("::1", v6_port)).is_ok());
    assert!(std::net::TcpListener::bind(("::", any_port)).is_ok());
}

/// The host's `ip6tables-save` output.
fn ip6_rules() -> String {
    let out = std::process::Command::new("ip6tables-save")
        .output()
        .expect("ip6tables-save");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// IPv6 networks: addresses usable at once (no duplicate address detection), names
/// resolving to them, the networks isolated from each other over IPv6 as over IPv4 (the
/// host forwards IPv6 once such a network is up), and their ip6tables rules gone after
/// `down`.
#[test]
fn ipv6_networks_are_usable_at_once_and_isolated() {
    let compose = format!(
        "services:
  a:
    image: $IMAGE
    command: {IDLE}
    networks: [v6a]
  b:
    image: $IMAGE
    command: {IDLE}
    networks: [v6a]
  c:
    image: $IMAGE
    command: {IDLE}
    networks: [v6b]
networks:
  v6a:
    enable_ipv6: true
    ipam:
      config:
        - subnet: fd00:5ee:a::/64
  v6b:
    enable_ipv6: true
    ipam:
      config:
        - subnet: fd00:5ee:b::/64
"
    );
    let (p, root) = project("net-v6nets", &compose);
    p.ok(&["up", "-d"]);
    let b6 = p.ok(&[
        "exec",
        "-T",
        "b",
        "sh",
        "-c",
        "ip -6 -o addr show eth0 scope global | awk '{print $4}' | cut -d/ -f1",
    ]);
    let b6 = b6.trim().to_string();
    assert!(b6.starts_with("fd00:5ee:a::"), "{b6}");
    // The first packet goes through: the address is not tentative.
    let ping = |from: &str, to: &str| {
        p.rcompose(&["exec", "-T", from, "ping", "-6", "-c", "1", "-W", "2", to])
            .status
            .success()
    };
    assert!(ping("a", &b6), "a cannot reach b at {b6} over IPv6");
    let flags = p.ok(&[
        "exec", "-T", "b", "ip", "-6", "addr", "show", "eth0", "scope", "global",
    ]);
    assert!(!flags.contains("tentative"), "{flags}");
    assert!(!ping("c", &b6), "another network reached {b6}");
    let rules = ip6_rules();
    assert!(
        rules.contains("RCOMPOSE-FWD") && rules.contains("-s fd00:5ee:a::/64"),
        "{rules}"
    );
    down_and_check_clean(&p, &root);
    let rules = ip6_rules();
    assert!(
        !rules.contains("fd00:5ee:a::/64") && !rules.contains("fd00:5ee:b::/64"),
        "{rules}"
    );
}

#[test]
fn a_busy_host_port_fails_only_its_service() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let compose = format!(
        "services:
  a:
    image: $IMAGE
    command: {IDLE}
    ports: [\"127.0.0.1:{port}:80\"]
  b:
    image: $IMAGE
    command: {IDLE}
"
    );
    let (p, root) = project("net-busy", &compose);
    let out = p.rcompose(&["up", "-d"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "Bind for 127.0.0.1:{port} failed: port is already allocated"
        )),
        "{err}"
    );
    let ps = p.ok(&["ps", "-a"]);
    let line = |svc: &str| {
        ps.lines()
            .find(|l| l.starts_with(&p.container(svc)))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("b").contains("Up "), "{ps}");
    assert!(!line("a").contains("Up "), "{ps}");
    drop(busy);
    // Once the port is free, `up` starts it.
    p.ok(&["up", "-d"]);
    assert!(p.ok(&["ps", "a"]).contains("Up "));
    down_and_check_clean(&p, &root);
}

/// A packet capture of DNS on every interface of the host (`tcpdump -i any`), as
/// `(source, destination)` addresses (ports cut) of the packets whose text mentions `name`.
struct DnsCapture {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl DnsCapture {
    fn start(tag: &str) -> Self {
        let out =
            std::env::temp_dir().join(format!("rcompose-dns-{tag}-{}.txt", std::process::id()));
        let err = out.with_extension("err");
        let child = std::process::Command::new("tcpdump")
            .args(["-i", "any", "-n", "-l", "-U", "port", "53"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("tcpdump (the test command installs it)");
        wait_for("tcpdump to listen", Duration::from_secs(10), || {
            std::fs::read_to_string(&err).is_ok_and(|e| e.contains("listening on"))
        });
        DnsCapture { child, out }
    }

    /// Stops the capture; the packets mentioning each of `names`.
    fn stop(mut self, names: &[&str]) -> Vec<Vec<(String, String)>> {
        // Lets the last forwards (and their retries) happen before the capture ends.
        std::thread::sleep(Duration::from_secs(1));
        // SAFETY: a plain signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(self.out.with_extension("err"));
        names
            .iter()
            .map(|name| {
                text.lines()
                    .filter(|l| l.contains(name))
                    .filter_map(|l| {
                        // `<time> <if> <dir> IP 10.0.0.2.41000 > 10.0.0.1.53: ...`
                        let w: Vec<&str> = l.split_whitespace().collect();
                        let i = w.iter().position(|t| *t == "IP" || *t == "IP6")?;
                        let host = |a: &str| {
                            let a = a.trim_end_matches(':');
                            a.rsplit_once('.').map_or(a, |(h, _)| h).to_string()
                        };
                        Some((host(w.get(i + 1)?), host(w.get(i + 3)?)))
                    })
                    .collect()
            })
            .collect()
    }
}

#[test]
fn internal_networks_have_no_egress_no_upstream_dns_and_projects_are_isolated() {
    // `dns:` names a resolver on the host's loopback: one the host reaches, the internal
    // network does not. Docker forwards nothing of an internal-only container to it
    // (CVE-2024-29018); `app`, which also has a way out, uses it.
    let compose = format!(
        "services:
  db:
    image: $IMAGE
    command: {IDLE}
    networks: [back]
    dns: [127.0.0.77]
  app:
    image: $IMAGE
    environment: [SVC=app]
    command: {WEB}
    networks: [back, default]
    dns: [127.0.0.77]
networks:
  back:
    internal: true
    ipam:
      config:
        - subnet: 10.222.241.0/24
"
    );
    let (p, root) = project("net-internal", &compose);
    p.ok(&["up", "-d"]);
    // Names on the internal network resolve.
    let out = p.rcompose(&["exec", "-T", "db", "nslookup", "app"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Address"),
        "{out:?}"
    );
    // No route out.
    let out = p.rcompose(&["exec", "-T", "db", "ip", "route"]);
    let routes = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!routes.contains("default"), "{routes}");
    // The DNS config of the internal-only container names no upstream but an address that
    // never leaves the host.
    let config = DNS_DIRS
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.flatten())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    let db_line = config
        .lines()
        .find(|l| l.contains(&p.container("db")))
        .unwrap_or_default()
        .to_string();
    assert!(db_line.ends_with(" 255.255.255.255"), "{db_line}");

    // c.3 item 16, on the wire: every packet of the internal-only container's query for an
    // outside name stays on the internal network (container <-> its network DNS), while the
    // same query from `app` is forwarded to its resolver (the capture sees forwards).
    let tag = format!("{:x}", std::process::id());
    let (leak, ctl) = (format!("leak-{tag}.example"), format!("ctl-{tag}.example"));
    let capture = DnsCapture::start(&tag);
    let out = p.rcompose(&["exec", "-T", "db", "timeout", "3", "nslookup", &leak]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Address: "),
        "{out:?}"
    );
    p.rcompose(&["exec", "-T", "app", "timeout", "3", "nslookup", &ctl]);
    let seen = capture.stop(&[&leak, &ctl]);
    let (leak_packets, ctl_packets) = (&seen[0], &seen[1]);
    assert!(!leak_packets.is_empty(), "the capture saw no query at all");
    for (src, dst) in leak_packets {
        assert!(
            src.starts_with("10.222.241.") && dst.starts_with("10.222.241."),
            "a query of the internal-only container left its network: {src} > {dst}"
        );
    }
    assert!(
        ctl_packets.iter().any(|(_, dst)| dst == "127.0.0.77"),
        "the control query was not forwarded: {ctl_packets:?}"
    );

    // A second project cannot reach the first one's containers.
    let (q, qroot) = project(
        "net-other",
        &format!("services:\n  probe:\n    image: $IMAGE\n    command: {IDLE}\n"),
    );
    q.ok(&["up", "-d"]);
    let ip = p.ok(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "ip -4 -o addr show eth1 | awk '{print $4}' | cut -d/ -f1",
    ]);
    let ip = ip.trim();
    assert!(!ip.is_empty());
    assert!(p
        .ok(&[
            "exec",
            "-T",
            "app",
            "timeout",
            "3",
            "wget",
            "-qO-",
            "http://127.0.0.1/"
        ])
        .contains("hello-from-app"));
    let out = q.rcompose(&[
        "exec",
        "-T",
        "probe",
        "timeout",
        "2",
        "wget",
        "-qO-",
        &format!("http://{ip}/"),
    ]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("hello-from-app"),
        "another project reached {ip}"
    );
    down_and_check_clean(&q, &qroot);
    down_and_check_clean(&p, &root);
}
