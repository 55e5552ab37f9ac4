//! The kernel-side limits of a container: rlimits from `ulimits`, namespaced `sysctls`,
//! and the cgroup resources (memory, CPU quota, pids, the device allowlist) with the device
//! nodes every container gets. Docker's defaults where the service says nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use libcontainer::oci_spec::runtime::{
    LinuxCpu, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxPids,
    LinuxResources, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::{NetworkMode, SpecError};
use crate::engine::ContainerSpec;

/// `RLIMIT_NOFILE` when the service sets no `nofile` ulimit. Docker sets none itself: its
/// containers inherit the daemon's, which its systemd unit (or containerd's) raises to
/// 1048576; ours would otherwise inherit the user's shell limit (often 1024).
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// Docker's ulimit names (docker/go-units; `as` is disabled there too).
const ULIMITS: &[(&str, PosixRlimitType)] = &[
    ("core", PosixRlimitType::RlimitCore),
    ("cpu", PosixRlimitType::RlimitCpu),
    ("data", PosixRlimitType::RlimitData),
    ("fsize", PosixRlimitType::RlimitFsize),
    ("locks", PosixRlimitType::RlimitLocks),
    ("memlock", PosixRlimitType::RlimitMemlock),
    ("msgqueue", PosixRlimitType::RlimitMsgqueue),
    ("nice", PosixRlimitType::RlimitNice),
    ("nofile", PosixRlimitType::RlimitNofile),
    ("nproc", PosixRlimitType::RlimitNproc),
    ("rss", PosixRlimitType::RlimitRss),
    ("rtprio", PosixRlimitType::RlimitRtprio),
    ("rttime", PosixRlimitType::RlimitRttime),
    ("sigpending", PosixRlimitType::RlimitSigpending),
    ("stack", PosixRlimitType::RlimitStack),
];

fn rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> PosixRlimit {
    // The builder only fails on a field without a default, and every field has one.
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .expect("every PosixRlimit field has a default")
}

/// The service's ulimits (`-1`: unlimited), then `nofile` 1048576:1048576 unless set.
pub(super) fn rlimits(ulimits: &[(String, i64, i64)]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out: Vec<PosixRlimit> = Vec::new();
    for (name, soft, hard) in ulimits {
        let err = |reason: String| SpecError::Ulimit {
            name: name.clone(),
            reason,
        };
        let typ = ULIMITS
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, t)| t)
            .ok_or_else(|| {
                let known: Vec<&str> = ULIMITS.iter().map(|(n, _)| *n).collect();
                err(format!("unknown limit (known: {})", known.join(", ")))
            })?;
        let value = |v: i64| match v {
            -1 => Ok(u64::MAX),
            v => u64::try_from(v)
                .map_err(|_| err(format!("{v} is not a limit (-1 means unlimited)"))),
        };
        let (soft, hard) = (value(*soft)?, value(*hard)?);
        if soft > hard {
            return Err(err("the soft limit is above the hard limit".to_string()));
        }
        out.retain(|r| r.typ() != typ);
        out.push(rlimit(typ, soft, hard));
    }
    if !out.iter().any(|r| r.typ() == PosixRlimitType::RlimitNofile) {
        out.push(rlimit(
            PosixRlimitType::RlimitNofile,
            DEFAULT_NOFILE,
            DEFAULT_NOFILE,
        ));
    }
    Ok(out)
}

/// Sysctls of the IPC namespace that runc and Docker accept by name.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Docker's default sysctls for a container with its own network namespace (moby
/// `withCommonOptions`): ping without CAP_NET_RAW, and ports below 1024 without
/// CAP_NET_BIND_SERVICE (so non-root images can listen on :80). Then the service's, which
/// must belong to a namespace the container has (as runc checks), or they would change the
/// host.
pub(super) fn sysctls(
    service: &BTreeMap<String, String>,
    network: NetworkMode,
) -> Result<HashMap<String, String>, SpecError> {
    let mut out = HashMap::new();
    if network == NetworkMode::Private {
        out.insert(
            "net.ipv4.ping_group_range".to_string(),
            "0 2147483647".to_string(),
        );
        out.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "0".to_string(),
        );
    }
    for (key, value) in service {
        let err = |reason| SpecError::Sysctl {
            key: key.clone(),
            reason,
        };
        if key.starts_with("net.") {
            if network == NetworkMode::Host {
                return Err(err(
                    "not allowed with network_mode: host (it would change the host)",
                ));
            }
        } else if key == "kernel.hostname" {
            return Err(err("set `hostname` instead"));
        } else if !(IPC_SYSCTLS.contains(&key.as_str())
            || key.starts_with("fs.mqueue.")
            || key == "kernel.domainname")
        {
            return Err(err(
                "not namespaced, it would change the host (allowed: net.*, fs.mqueue.*, \
                 kernel.msg*, kernel.sem, kernel.shm*, kernel.domainname)",
            ));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// `(path, major, minor)` of the character devices every container gets, mode 0666.
const DEFAULT_DEVICES: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub(super) fn default_devices() -> Vec<LinuxDevice> {
    DEFAULT_DEVICES
        .iter()
        .map(|&(path, major, minor)| {
            let mut d = LinuxDevice::default();
            d.set_path(PathBuf::from(path))
                .set_typ(LinuxDeviceType::C)
                .set_major(major)
                .set_minor(minor)
                .set_file_mode(Some(0o666))
                .set_uid(Some(0))
                .set_gid(Some(0));
            d
        })
        .collect()
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow)
        .set_typ(typ)
        .set_major(major)
        .set_minor(minor)
        .set_access(Some(access.to_string()));
    r
}

/// The device cgroup: deny all, then mknod of any node (using one still needs a rule), the
/// default devices, /dev/console, /dev/ptmx and the ptys; fuse stays denied (moby defaults
/// plus runc's `AllowedDevices`). Privileged: every device.
fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    if privileged {
        return vec![device_rule(true, None, None, None, "rwm")];
    }
    let mut rules = vec![
        device_rule(false, None, None, None, "rwm"),
        device_rule(true, Some(C), None, None, "m"),
        device_rule(true, Some(B), None, None, "m"),
    ];
    let chars = DEFAULT_DEVICES.iter().map(|&(_, ma, mi)| (ma, Some(mi)));
    for (major, minor) in chars.chain([(5, Some(1)), (5, Some(2)), (136, None)]) {
        rules.push(device_rule(true, Some(C), Some(major), minor, "rwm"));
    }
    rules.push(device_rule(false, Some(C), Some(10), Some(229), "rwm"));
    rules
}

/// Cgroup limits: `mem_limit`, `cpus` (as a CFS quota over Docker's 100 ms period),
/// `pids_limit` (0 or less: unlimited), and the device rules.
pub(super) fn resources(service: &ContainerSpec) -> LinuxResources {
    let mut r = LinuxResources::default();
    r.set_devices(Some(device_rules(service.privileged)));
    if let Some(limit) = service.mem_limit.filter(|m| *m > 0) {
        let mut m = LinuxMemory::default();
        m.set_limit(Some(limit));
        r.set_memory(Some(m));
    }
    if let Some(nano) = service.nano_cpus.filter(|n| *n > 0) {
        const PERIOD: u64 = 100_000;
        let mut c = LinuxCpu::default();
        c.set_period(Some(PERIOD)).set_quota(Some(
            (i128::from(nano) * i128::from(PERIOD) / 1_000_000_000) as i64,
        ));
        r.set_cpu(Some(c));
    }
    if let Some(pids) = service.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(if pids > 0 { pids } else { -1 });
        r.set_pids(Some(p));
    }
    r
}
