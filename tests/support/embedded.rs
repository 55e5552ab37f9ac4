//! The embedded-engine test harness: a project with its own state directory
//! (`RCOMPOSE_ROOT`), and the check that `down` leaves nothing of it behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::project::Project;

/// aardvark-dns config directories of the native and the netavark network drivers.
pub const DNS_DIRS: [&str; 2] = [
    "/run/rcompose/networks/aardvark",
    "/run/rcompose/networks/netavark/aardvark-dns",
];

pub const IMAGE: &str = "127.0.0.1:5000/rcompose-test/busybox:1";

pub fn project(tag: &str, compose: &str) -> (Project, PathBuf) {
    project_with("rcemb", IMAGE, tag, compose)
}

/// A project named `<prefix>-<tag>-<pid>` (`$IMAGE` in `compose` is `image`) with a state
/// directory of its own; the test must run as root.
pub fn project_with(prefix: &str, image: &str, tag: &str, compose: &str) -> (Project, PathBuf) {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the embedded-engine tests need root; the README test command runs them as root"
    );
    let mut p = Project::new(prefix, tag, "embedded", image, compose);
    let root = std::env::temp_dir().join(format!(
        "rcompose-root-{prefix}-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    p.env
        .push(("RCOMPOSE_ROOT".into(), root.display().to_string()));
    (p, root)
}

/// `down` and the checks that nothing of the project is left: no mount under the state
/// directory, no shim, no container process.
pub fn down_and_check_clean(p: &Project, root: &Path) {
    let networks = network_records(root);
    p.ok(&["down", "-t", "1"]);
    check_networks_gone(&networks);
    check_clean(root);
    let _ = std::fs::remove_dir_all(root);
}

/// `down -v` and the checks that nothing of the project is left (see [`check_clean`]);
/// removes the state directory and the project directory.
pub fn down_volumes_and_check_clean(p: &Project, root: &Path) {
    let networks = network_records(root);
    p.ok(&["down", "-v", "-t", "0"]);
    check_networks_gone(&networks);
    check_clean(root);
    let _ = std::fs::remove_dir_all(root);
    let _ = std::fs::remove_dir_all(&p.dir);
}

/// Nothing of a state directory is left in use: no mount under it, no container directory,
/// no shim.
pub fn check_clean(root: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root_s = root.display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&root_s)),
        "mounts left under {root_s}:\n{}",
        mounts
            .lines()
            .filter(|l| l.contains(&root_s))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let containers = std::fs::read_dir(root.join("containers"))
        .map(|rd| rd.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    assert_eq!(containers, 0, "container directories left after down");
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        assert!(
            !(cmd.contains("__shim") && cmd.contains(&root_s)),
            "a shim is still running: {cmd}"
        );
    }
}

pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// The network records of a state directory: `(id, bridge, subnets)`.
pub fn network_records(root: &Path) -> Vec<(String, String, Vec<String>)> {
    let Ok(rd) = std::fs::read_dir(root.join("networks")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.ends_with(".ips.json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        let subnets = v["subnets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["subnet"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            v["id"].as_str().unwrap_or("").to_string(),
            v["bridge"].as_str().unwrap_or("").to_string(),
            subnets,
        ));
    }
    out
}

/// After `down`: no bridge, no firewall rule naming a subnet, no DNS config and no
/// aardvark-dns of the given networks.
pub fn check_networks_gone(networks: &[(String, String, Vec<String>)]) {
    let rules = |table: &str| {
        let out = std::process::Command::new("iptables-save")
            .args(["-t", table])
            .output()
            .expect("iptables-save");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let all_rules = format!("{}{}{}", rules("nat"), rules("filter"), rules("raw"));
    for (id, bridge, subnets) in networks {
        assert!(
            !Path::new("/sys/class/net").join(bridge).exists(),
            "bridge {bridge} left after down"
        );
        for s in subnets {
            assert!(
                !all_rules.contains(s.as_str()),
                "firewall rules for {s} left after down:\n{all_rules}"
            );
        }
        for d in DNS_DIRS {
            let dns = Path::new(d).join(id);
            assert!(!dns.exists(), "DNS config {} left", dns.display());
        }
    }
}

/// The status record of the only container of `service`.
pub fn status(p: &Project, root: &Path, service: &str) -> serde_json::Value {
    let name = p.container(service);
    for e in std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten()
    {
        let Ok(rec) = std::fs::read_to_string(e.path().join("record.json")) else {
            continue;
        };
        let rec: serde_json::Value = serde_json::from_str(&rec).unwrap();
        if rec["name"] == name.as_str() {
            let st = std::fs::read_to_string(e.path().join("status.json")).unwrap();
            return serde_json::from_str(&st).unwrap();
        }
    }
    panic!("no container {name}");
}
