//! The container's mounts, in Docker's order and with Docker's options (moby
//! `DefaultLinuxSpec` and `withMounts`):
//! 1. the defaults: /proc, a private /dev (tmpfs), /dev/pts, a read-only /sys and
//!    /sys/fs/cgroup, /dev/mqueue and /dev/shm (64 MiB unless `shm_size`), then the init binary
//!    at /sbin/docker-init when `init: true`; a default is dropped when the service mounts
//!    something at the same place (and everything under /dev when it mounts /dev);
//! 2. the "user" mounts sorted by depth, so a parent is mounted before its children: the
//!    /etc/hosts, /etc/resolv.conf and /etc/hostname files the engine wrote (unless the service
//!    mounts its own there), then the service's volumes, binds and tmpfs, and its secrets and
//!    configs (read-only binds of their files).
//!
//! A read-only root makes every default read-only except /proc, /dev, /dev/pts, /dev/mqueue
//! and /dev/shm, and the three network files too. Privileged containers get a writable /sys
//! and /sys/fs/cgroup.
//!
//! Targets are checked here: absolute, not `/`, not under /proc (a mount over /proc entries
//! could hide the masked paths).

use std::path::{Component, Path, PathBuf};

use libcontainer::oci_spec::runtime::Mount;

use super::{HostPaths, SpecError};
use crate::engine::embedded::runtime::MountFix;
use crate::engine::{ContainerSpec, MountKind};

/// Docker's /dev/shm size when `shm_size` is not set.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// Where the init binary goes (`init: true`).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Docker's masked paths (moby `defaultLinuxMaskedPaths`; Docker also masks each CPU's
/// `thermal_throttle` directory when the host has one, which needs a look at the host and is
/// left to the caller).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Docker's read-only paths.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Defaults that stay writable under a read-only root.
const WRITABLE_UNDER_READ_ONLY_ROOT: &[&str] =
    &["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/dev/shm"];

fn mount(destination: &str, typ: &str, source: &Path, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination))
        .set_typ(Some(typ.to_string()))
        .set_source(Some(source.to_path_buf()))
        .set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// Docker's default mounts, `/dev/shm` sized.
fn default_mounts(shm_size: i64) -> Vec<Mount> {
    let shm_opt = format!("size={shm_size}");
    vec![
        mount(
            "/proc",
            "proc",
            Path::new("proc"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev",
            "tmpfs",
            Path::new("tmpfs"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            Path::new("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            Path::new("sysfs"),
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        // libcontainer mounts the host's layout (cgroup v1 controllers or cgroup2) here.
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            Path::new("cgroup"),
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            Path::new("mqueue"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            Path::new("shm"),
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt],
        ),
    ]
}

/// The propagation modes a bind may ask for.
pub const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// A tmpfs mount's options the way Docker builds them (moby `withMounts`, `ConvertTmpfsOptions`
/// and `MergeTmpfsOptions`): `noexec,nosuid,nodev,rprivate`, then `ro`, `mode=` and `size=`
/// of the long syntax or the raw options of the `tmpfs:` key; a later option wins over an
/// earlier one of the same kind (`exec` over `noexec`), and only `size`, `mode`, `uid`,
/// `gid`, `nr_inodes`, `nr_blocks` and `mpol` are accepted as data.
pub fn tmpfs_options(m: &crate::engine::Mount) -> Result<Vec<String>, SpecError> {
    let mut options: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
        .map(String::from)
        .to_vec();
    match &m.tmpfs_options {
        Some(raw) => options.extend(raw.split(',').filter(|o| !o.is_empty()).map(String::from)),
        None => {
            if m.read_only {
                options.push("ro".into());
            }
            if let Some(mode) = m.tmpfs_mode {
                options.push(format!("mode={mode:o}"));
            }
            if let Some(size) = m.tmpfs_size.filter(|s| *s > 0) {
                options.push(format!("size={}", size_with_suffix(size)));
            }
        }
    }
    merge_tmpfs_options(&options)
}

/// `1g`, `64m`, `4k` when the size divides evenly, else the bytes (moby's formatting).
fn size_with_suffix(size: i64) -> String {
    for (suffix, divisor) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if size % divisor == 0 {
            return format!("{}{suffix}", size / divisor);
        }
    }
    size.to_string()
}

/// The kind of a mount flag, for "the last one wins"; `None` for data options.
fn flag_kind(option: &str) -> Option<&'static str> {
    Some(match option {
        "ro" | "rw" => "rdonly",
        "exec" | "noexec" => "noexec",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "bind" => "bind",
        "rbind" => "rbind",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
        | "runbindable" => "propagation",
        _ => return None,
    })
}

fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    const DATA: &[&str] = &[
        "size",
        "mode",
        "uid",
        "gid",
        "nr_inodes",
        "nr_blocks",
        "mpol",
    ];
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        let key = match flag_kind(option) {
            Some(kind) => kind,
            None => match option.split_once('=') {
                Some((k, _)) if DATA.contains(&k) => k,
                _ => {
                    return Err(SpecError::TmpfsOption {
                        option: option.clone(),
                    })
                }
            },
        };
        if seen.insert(key) {
            out.push(option.clone());
        }
    }
    out.reverse();
    Ok(out)
}

/// The propagation a bind asks for, from its options (`None` for other mounts).
pub fn propagation_of(m: &Mount) -> Option<&str> {
    if m.typ().as_deref() != Some("bind") {
        return None;
    }
    m.options()
        .iter()
        .flatten()
        .map(String::as_str)
        .rfind(|o| PROPAGATIONS.contains(o))
}

/// What must be done to the spec's mounts after libcontainer created them (see
/// [`MountFix`]): each bind's propagation, then a read-only `/sys/fs/cgroup` tree where the
/// spec asks for it (every container but a privileged one).
pub fn mount_fixes(mounts: &[Mount]) -> Vec<MountFix> {
    let mut fixes: Vec<MountFix> = mounts
        .iter()
        .filter_map(|m| {
            propagation_of(m).map(|p| MountFix::Propagation {
                target: m.destination().clone(),
                mode: p.to_string(),
            })
        })
        .collect();
    fixes.extend(
        mounts
            .iter()
            .filter(|m| {
                m.typ().as_deref() == Some("cgroup")
                    && m.options().iter().flatten().any(|o| o == "ro")
            })
            .map(|m| MountFix::ReadOnlyTree {
                target: m.destination().clone(),
            }),
    );
    fixes
}

/// Lexically cleans an absolute container path (`//`, `.`, `..`, trailing `/`), like Go's
/// `filepath.Clean`; `None` when it is not absolute.
pub fn clean_container_path(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

fn check_target(target: &str) -> Result<PathBuf, SpecError> {
    let err = |reason| SpecError::MountTarget {
        target: target.to_string(),
        reason,
    };
    let clean = clean_container_path(target).ok_or(err("must be an absolute path"))?;
    if clean == Path::new("/") {
        return Err(err("cannot mount over the container's root"));
    }
    if clean.starts_with("/proc") {
        return Err(err("cannot mount over /proc or anything under it"));
    }
    Ok(clean)
}

/// All the container's mounts, in mount order.
pub fn container_mounts(
    service: &ContainerSpec,
    paths: &HostPaths,
    init: bool,
) -> Result<Vec<Mount>, SpecError> {
    let ro_root = service.read_only;
    // The service's own mounts.
    let mut user = Vec::with_capacity(service.mounts.len() + 3);
    for (i, m) in service.mounts.iter().enumerate() {
        let target = check_target(&m.target)?;
        let dest = target.to_string_lossy();
        let spec_mount = match m.kind {
            MountKind::Tmpfs => {
                let mut t = mount(&dest, "tmpfs", Path::new("tmpfs"), &[]);
                t.set_options(Some(tmpfs_options(m)?));
                t
            }
            MountKind::Volume | MountKind::Bind => {
                let source = paths
                    .mount_sources
                    .get(i)
                    .filter(|s| !s.as_os_str().is_empty())
                    .ok_or_else(|| SpecError::MountSource {
                        target: m.target.clone(),
                    })?;
                let mut opts = vec!["rbind"];
                if m.read_only {
                    // `rro` makes the mounts under the source read-only too (Docker does so
                    // on kernels >= 5.12, which libcontainer's fd-based mounts need anyway).
                    opts.extend(["ro", "rro"]);
                }
                // Docker's default propagation for binds is rprivate; volumes get none.
                if m.kind == MountKind::Bind {
                    let mode = m.propagation.as_deref().unwrap_or("rprivate");
                    if !PROPAGATIONS.contains(&mode) {
                        return Err(SpecError::Propagation {
                            mode: mode.to_string(),
                        });
                    }
                    opts.push(mode);
                }
                mount(&dest, "bind", source, &opts)
            }
        };
        user.push((target, spec_mount));
    }
    // Secrets and configs: read-only binds of their files (the reconciler already dropped
    // those a service mount shadows). libcontainer creates a missing target, and its
    // parents (/run/secrets), inside the rootfs without following links out of it.
    for (i, f) in service.files.iter().enumerate() {
        let target = check_target(&f.target)?;
        let source = paths
            .file_sources
            .get(i)
            .filter(|s| !s.as_os_str().is_empty())
            .ok_or_else(|| SpecError::MountSource {
                target: f.target.clone(),
            })?;
        let dest = target.to_string_lossy().into_owned();
        if !user.iter().any(|(t, _)| *t == target) {
            user.push((
                target,
                mount(&dest, "bind", source, &["rbind", "rprivate", "ro"]),
            ));
        }
    }
    // The engine's network files, unless the service mounts its own there.
    let net_opts: &[&str] = if ro_root {
        &["rbind", "rprivate", "ro"]
    } else {
        &["rbind", "rprivate"]
    };
    for (dest, source) in [
        ("/etc/resolv.conf", &paths.resolv_conf),
        ("/etc/hostname", &paths.hostname),
        ("/etc/hosts", &paths.hosts),
    ] {
        if !user.iter().any(|(t, _)| t == Path::new(dest)) {
            user.push((PathBuf::from(dest), mount(dest, "bind", source, net_opts)));
        }
    }
    // Parents before children (moby `sortMounts`); stable, so equal depths keep their order.
    user.sort_by_key(|(t, _)| t.components().count());

    let user_mounts_dev = user.iter().any(|(t, _)| t == Path::new("/dev"));
    let mut defaults = default_mounts(
        service
            .shm_size
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_SHM_SIZE),
    );
    if init {
        let binary = paths
            .init_binary
            .as_deref()
            .ok_or(SpecError::NoInitBinary)?;
        defaults.push(mount(INIT_PATH, "bind", binary, &["bind", "ro"]));
    }
    defaults.retain(|d| {
        let dest = d.destination();
        let overridden = user.iter().any(|(t, _)| t == dest);
        !(overridden || user_mounts_dev && dest.starts_with("/dev/"))
    });
    for d in &mut defaults {
        let dest = d.destination().to_string_lossy().into_owned();
        let opts = d.options_mut().get_or_insert_with(Vec::new);
        if ro_root
            && !WRITABLE_UNDER_READ_ONLY_ROOT.contains(&dest.as_str())
            && !opts.iter().any(|o| o == "ro")
        {
            opts.push("ro".into());
        }
        if service.privileged && (dest == "/sys" || dest == "/sys/fs/cgroup") {
            opts.retain(|o| o != "ro");
        }
    }
    defaults.extend(user.into_iter().map(|(_, m)| m));
    Ok(defaults)
}
