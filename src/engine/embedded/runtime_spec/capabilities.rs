//! The container's capabilities, the way Docker computes them (moby `caps.TweakCapabilities`):
//! its 14 defaults, then `cap_drop` and `cap_add` (names with or without `CAP_`, any case,
//! `ALL`), or every capability when privileged.
//!
//! "Every capability" (`privileged`, `cap_add: ALL`) means every one in rcompose's own
//! bounding set, as containerd's `WithAllCurrentCapabilities` does: where the host withholds
//! one (a restricted root, rcompose in a container), Docker asks for it anyway and fails
//! every such container with "unable to apply caps: operation not permitted".
//!
//! Docker puts the result in the bounding, effective and permitted sets and leaves the
//! inheritable and ambient sets empty (since 20.10, CVE-2022-24769). For a non-root user the
//! kernel then clears effective and permitted at `execve` (no file capabilities, no ambient
//! set), which is why `docker run --user 1000` shows `CapEff: 0`; we write those two sets
//! empty in the spec directly, which the process sees the same way.

use std::collections::HashSet;

use libcontainer::oci_spec::runtime::{Capability, LinuxCapabilities};

use super::SpecError;

/// Every capability Linux defines (up to 6.x), with its number (its bit in `CapEff`).
#[rustfmt::skip]
pub const ALL_CAPABILITIES: &[(Capability, &str, u32)] = &[
    (Capability::Chown, "CAP_CHOWN", 0),
    (Capability::DacOverride, "CAP_DAC_OVERRIDE", 1),
    (Capability::DacReadSearch, "CAP_DAC_READ_SEARCH", 2),
    (Capability::Fowner, "CAP_FOWNER", 3),
    (Capability::Fsetid, "CAP_FSETID", 4),
    (Capability::Kill, "CAP_KILL", 5),
    (Capability::Setgid, "CAP_SETGID", 6),
    (Capability::Setuid, "CAP_SETUID", 7),
    (Capability::Setpcap, "CAP_SETPCAP", 8),
    (Capability::LinuxImmutable, "CAP_LINUX_IMMUTABLE", 9),
    (Capability::NetBindService, "CAP_NET_BIND_SERVICE", 10),
    (Capability::NetBroadcast, "CAP_NET_BROADCAST", 11),
    (Capability::NetAdmin, "CAP_NET_ADMIN", 12),
    (Capability::NetRaw, "CAP_NET_RAW", 13),
    (Capability::IpcLock, "CAP_IPC_LOCK", 14),
    (Capability::IpcOwner, "CAP_IPC_OWNER", 15),
    (Capability::SysModule, "CAP_SYS_MODULE", 16),
    (Capability::SysRawio, "CAP_SYS_RAWIO", 17),
    (Capability::SysChroot, "CAP_SYS_CHROOT", 18),
    (Capability::SysPtrace, "CAP_SYS_PTRACE", 19),
    (Capability::SysPacct, "CAP_SYS_PACCT", 20),
    (Capability::SysAdmin, "CAP_SYS_ADMIN", 21),
    (Capability::SysBoot, "CAP_SYS_BOOT", 22),
    (Capability::SysNice, "CAP_SYS_NICE", 23),
    (Capability::SysResource, "CAP_SYS_RESOURCE", 24),
    (Capability::SysTime, "CAP_SYS_TIME", 25),
    (Capability::SysTtyConfig, "CAP_SYS_TTY_CONFIG", 26),
    (Capability::Mknod, "CAP_MKNOD", 27),
    (Capability::Lease, "CAP_LEASE", 28),
    (Capability::AuditWrite, "CAP_AUDIT_WRITE", 29),
    (Capability::AuditControl, "CAP_AUDIT_CONTROL", 30),
    (Capability::Setfcap, "CAP_SETFCAP", 31),
    (Capability::MacOverride, "CAP_MAC_OVERRIDE", 32),
    (Capability::MacAdmin, "CAP_MAC_ADMIN", 33),
    (Capability::Syslog, "CAP_SYSLOG", 34),
    (Capability::WakeAlarm, "CAP_WAKE_ALARM", 35),
    (Capability::BlockSuspend, "CAP_BLOCK_SUSPEND", 36),
    (Capability::AuditRead, "CAP_AUDIT_READ", 37),
    (Capability::Perfmon, "CAP_PERFMON", 38),
    (Capability::Bpf, "CAP_BPF", 39),
    (Capability::CheckpointRestore, "CAP_CHECKPOINT_RESTORE", 40),
];

/// Docker's default capabilities (moby `caps.DefaultCapabilities`), `CapEff` 0xa80425fb.
pub const DEFAULT_CAPABILITIES: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The `CAP_*` name of a capability.
pub fn cap_name(cap: Capability) -> &'static str {
    ALL_CAPABILITIES
        .iter()
        .find(|(c, _, _)| *c == cap)
        .map_or("", |&(_, name, _)| name)
}

/// One `cap_add`/`cap_drop` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CapArg {
    All,
    One(Capability),
}

fn parse(setting: &'static str, value: &str) -> Result<CapArg, SpecError> {
    let upper = value.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(CapArg::All);
    }
    let name = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    ALL_CAPABILITIES
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|&(c, _, _)| CapArg::One(c))
        .ok_or_else(|| SpecError::Capability {
            setting,
            value: value.to_string(),
        })
}

/// The container's capability set, in a stable order (Docker's defaults first, then the
/// added ones; `ALL` in the kernel's numbering).
/// `available` is the bitmask of the capabilities we may grant ([`own_bounding_set`]).
pub fn container_capabilities(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    available: u64,
) -> Result<Vec<Capability>, SpecError> {
    let all = || {
        ALL_CAPABILITIES
            .iter()
            .filter(move |&&(_, _, bit)| available & (1 << bit) != 0)
            .map(|&(c, _, _)| c)
    };
    // Validate both lists even when privileged, so a typo is reported either way.
    let adds = cap_add
        .iter()
        .map(|v| parse("cap_add", v))
        .collect::<Result<Vec<_>, _>>()?;
    let drops = cap_drop
        .iter()
        .map(|v| parse("cap_drop", v))
        .collect::<Result<Vec<_>, _>>()?;
    if privileged {
        return Ok(all().collect());
    }
    let dropped = |c: &Capability| drops.contains(&CapArg::One(*c));
    let mut caps: Vec<Capability> = if adds.contains(&CapArg::All) {
        all().filter(|c| !dropped(c)).collect()
    } else if drops.contains(&CapArg::All) {
        Vec::new()
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .copied()
            .filter(|c| !dropped(c))
            .collect()
    };
    if !adds.contains(&CapArg::All) {
        for add in adds {
            if let CapArg::One(c) = add {
                if !caps.contains(&c) {
                    caps.push(c);
                }
            }
        }
    }
    Ok(caps)
}

/// The process's capability sets: `caps` bounding, and effective/permitted for root only;
/// inheritable and ambient empty.
pub fn process_capabilities(caps: &[Capability], root: bool) -> LinuxCapabilities {
    let set: HashSet<Capability> = caps.iter().copied().collect();
    let granted = if root { set.clone() } else { HashSet::new() };
    let mut c = LinuxCapabilities::default();
    c.set_bounding(Some(set))
        .set_effective(Some(granted.clone()))
        .set_permitted(Some(granted))
        .set_inheritable(Some(HashSet::new()))
        .set_ambient(Some(HashSet::new()));
    c
}

/// The `CapEff`-style bitmask of a capability set.
pub fn cap_mask(caps: &HashSet<Capability>) -> u64 {
    ALL_CAPABILITIES
        .iter()
        .filter(|(c, _, _)| caps.contains(c))
        .fold(0, |m, &(_, _, bit)| m | 1 << bit)
}

/// The names (`CAP_SYS_ADMIN`...) of every capability in `available` (a bitmask): what
/// `exec --privileged` adds to the exec'd process, as Docker gives it all of them.
pub fn capability_names(available: u64) -> Vec<String> {
    ALL_CAPABILITIES
        .iter()
        .filter(|&&(_, _, bit)| available & (1 << bit) != 0)
        .map(|&(_, name, _)| name.to_string())
        .collect()
}

/// The bounding set of this process (`CapBnd` of `/proc/self/status`): what a container
/// started by us can be given. Every capability when it cannot be read.
pub fn own_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let v = s.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
            u64::from_str_radix(v.trim(), 16).ok()
        })
        .unwrap_or(u64::MAX)
}
