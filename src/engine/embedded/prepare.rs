//! What the shim prepares before a container starts: the files bind-mounted at
//! /etc/hostname, /etc/hosts and /etc/resolv.conf, and the runtime spec built from the
//! record; plus the small lookups (signal names, users) that the CLI and the shim share.

use std::path::Path;

use libcontainer::oci_spec::runtime::Spec;

use super::record::{ContainerPaths, ContainerRecord};
use super::rootfs::RootfsPaths;
use super::runtime_spec::{build_spec, HostPaths};

/// Writes the per-container files and builds the spec.
pub fn runtime_spec(
    rec: &ContainerRecord,
    paths: &ContainerPaths,
    rootfs: &RootfsPaths,
    netns: Option<&Path>,
    nameservers: &[std::net::IpAddr],
    cgroups_path: &Path,
    seccomp_cache: &Path,
) -> Result<(Spec, Option<super::seccomp_bpf::CompiledFilter>), String> {
    let hostname_file = paths.dir.join("hostname");
    let write = |p: &Path, text: String| {
        std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(&hostname_file, format!("{}\n", rec.hostname))?;
    // A container in another's network namespace shares its hosts and resolv.conf.
    let files_dir = match rec
        .spec
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("container:"))
    {
        Some(other) => paths.dir.with_file_name(other),
        None => {
            write(&paths.dir.join("hosts"), hosts_text(rec))?;
            write(
                &paths.dir.join("resolv.conf"),
                resolv_text(rec, nameservers),
            )?;
            paths.dir.clone()
        }
    };
    let hosts_file = files_dir.join("hosts");
    let resolv_file = files_dir.join("resolv.conf");
    let init_binary = if rec.spec.init == Some(true) {
        Some(find_init()?)
    } else {
        None
    };
    let mount_sources = rec.mount_sources.clone();
    let file_sources = super::files::sources(&paths.dir, &rec.spec.files);
    let host = HostPaths {
        rootfs: rootfs.merged.clone(),
        hosts: hosts_file,
        resolv_conf: resolv_file,
        hostname: hostname_file,
        default_hostname: rec.hostname.clone(),
        netns: netns.map(Path::to_path_buf),
        cgroups_path: cgroups_path.to_path_buf(),
        init_binary,
        mount_sources,
        file_sources,
    };
    let mut spec = build_spec(&rec.spec, &rec.image_config, &host).map_err(|e| e.to_string())?;
    bind_propagation(&mut spec)?;
    if !Path::new("/sys/fs/cgroup/devices").is_dir() && !rec.spec.privileged {
        drop_mknod_without_device_cgroup(&mut spec);
    }
    if !rec.spec.ulimits.iter().any(|(n, _, _)| n == "nofile") {
        clamp_default_nofile(&mut spec);
    }
    if let Some(cwd) = spec.process().as_ref().map(|p| p.cwd().clone()) {
        ensure_working_dir(&rootfs.merged, &cwd.to_string_lossy())?;
    }
    // Last: the capability sets are final, so the lent CAP_SYS_ADMIN is the only addition.
    let filter = super::seccomp_bpf::take_from_spec(&mut spec, seccomp_cache)?;
    // An explicit `false`: libcontainer 0.7 gives exec'd processes no_new_privs unless the
    // container's spec says otherwise (its process default is `true`). With the filter no
    // longer in the spec, `Some(false)` changes nothing else for the init.
    if let Some(mut p) = spec.process().clone() {
        if p.no_new_privileges().is_none() {
            p.set_no_new_privileges(Some(false));
            spec.set_process(Some(p));
        }
    }
    if netns.is_none() {
        // network_mode: host — no network namespace at all.
        if let Some(mut linux) = spec.linux().clone() {
            if let Some(ns) = linux.namespaces().clone() {
                let kept = ns
                    .into_iter()
                    .filter(|n| {
                        n.typ() != libcontainer::oci_spec::runtime::LinuxNamespaceType::Network
                    })
                    .collect();
                linux.set_namespaces(Some(kept));
            }
            spec.set_linux(Some(linux));
        }
    }
    Ok((spec, filter))
}

/// Docker's rules for binds that ask for shared or slave propagation (moby `withMounts`):
/// the host mount holding the source must be shared (`shared`, `rshared`) or shared or a
/// slave (`slave`, `rslave`), and a shared bind makes the container's root propagation
/// shared so the bind stays in its host peer group.
fn bind_propagation(spec: &mut Spec) -> Result<(), String> {
    let mut wants_shared = false;
    let mut mountinfo = None;
    for m in spec.mounts().iter().flatten() {
        let Some(mode) = super::runtime_spec::mounts::propagation_of(m) else {
            continue;
        };
        let shared = mode.ends_with("shared");
        if !shared && !mode.ends_with("slave") {
            continue;
        }
        wants_shared |= shared;
        let Some(source) = m.source() else { continue };
        if mountinfo.is_none() {
            mountinfo =
                Some(std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?);
        }
        let text = mountinfo.as_deref().unwrap_or_default();
        let source = std::fs::canonicalize(source).unwrap_or_else(|_| source.clone());
        check_source_propagation(&source, text, shared)?;
    }
    if wants_shared {
        if let Some(mut linux) = spec.linux().clone() {
            linux.set_rootfs_propagation(Some("shared".into()));
            spec.set_linux(Some(linux));
        }
    }
    Ok(())
}

/// Whether the host mount holding `source` has the propagation a bind needs (Docker's
/// `ensureShared` / `ensureSharedOrSlave`, with its messages).
pub fn check_source_propagation(
    source: &Path,
    mountinfo: &str,
    shared: bool,
) -> Result<(), String> {
    let mut best: Option<(&str, Vec<&str>)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(&point) = fields.get(4) else {
            continue;
        };
        let covers = source.starts_with(point);
        if covers && best.as_ref().is_none_or(|(p, _)| point.len() >= p.len()) {
            let optional = fields
                .iter()
                .skip(6)
                .take_while(|f| **f != "-")
                .copied()
                .collect();
            best = Some((point, optional));
        }
    }
    let Some((point, optional)) = best else {
        return Err(format!("no mount found for {}", source.display()));
    };
    let is_shared = optional.iter().any(|f| f.starts_with("shared:"));
    let is_slave = optional.iter().any(|f| f.starts_with("master:"));
    if shared && !is_shared {
        return Err(format!(
            "path {} is mounted on {point} but it is not a shared mount",
            source.display()
        ));
    }
    if !shared && !is_shared && !is_slave {
        return Err(format!(
            "path {} is mounted on {point} but it is not a shared or slave mount",
            source.display()
        ));
    }
    Ok(())
}

/// Without a v1 `devices` controller (a cgroup v2-only host) the device allowlist is not
/// enforced: libcontainer needs its eBPF device filter (the `cgroupsv2_devices` feature,
/// not built, it brings libbpf). CAP_MKNOD would then let a container create and open any
/// host device node, so it is dropped there (Docker keeps it and relies on the filter).
fn drop_mknod_without_device_cgroup(spec: &mut Spec) {
    use libcontainer::oci_spec::runtime::Capability;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "no cgroup v1 devices controller: containers run without CAP_MKNOD (the device \
             allowlist cannot be enforced on this host)"
        )
    });
    let Some(mut process) = spec.process().clone() else {
        return;
    };
    let Some(mut caps) = process.capabilities().clone() else {
        return;
    };
    let strip = |set: &Option<std::collections::HashSet<Capability>>| {
        set.as_ref().map(|s| {
            s.iter()
                .filter(|c| **c != Capability::Mknod)
                .cloned()
                .collect()
        })
    };
    caps.set_bounding(strip(caps.bounding()));
    caps.set_effective(strip(caps.effective()));
    caps.set_permitted(strip(caps.permitted()));
    caps.set_inheritable(strip(caps.inheritable()));
    caps.set_ambient(strip(caps.ambient()));
    process.set_capabilities(Some(caps));
    spec.set_process(Some(process));
}

/// The default `nofile` limit (Docker's daemon value) may be over what this process may
/// grant: without CAP_SYS_RESOURCE the hard limit cannot be raised. Raise ours as far as
/// allowed, then give the container no more than that, instead of failing every start.
fn clamp_default_nofile(spec: &mut Spec) {
    use libcontainer::oci_spec::runtime::PosixRlimitType;
    let want = super::runtime_spec::DEFAULT_NOFILE;
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, want, want);
    let Ok((_, hard)) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    else {
        return;
    };
    let Some(mut process) = spec.process().clone() else {
        return;
    };
    let Some(mut limits) = process.rlimits().clone() else {
        return;
    };
    for l in limits.iter_mut() {
        if l.typ() == PosixRlimitType::RlimitNofile && l.hard() > hard {
            let soft = l.soft().min(hard);
            if let Ok(r) = libcontainer::oci_spec::runtime::PosixRlimitBuilder::default()
                .typ(PosixRlimitType::RlimitNofile)
                .hard(hard)
                .soft(soft)
                .build()
            {
                *l = r;
            }
        }
    }
    process.set_rlimits(Some(limits));
    spec.set_process(Some(process));
}

fn hosts_text(rec: &ContainerRecord) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    // Its own addresses under its hostname, as Docker writes them.
    for ip in rec.endpoints.iter().flat_map(|e| e.addresses.iter()) {
        s.push_str(&format!("{ip}\t{}\n", rec.hostname));
    }
    for h in &rec.spec.extra_hosts {
        // `name:ip` or `name=ip` (the IP may itself hold colons).
        let (name, ip) = match h.split_once('=') {
            Some(p) => p,
            None => match h.split_once(':') {
                Some(p) => p,
                None => continue,
            },
        };
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    s
}

/// The container's resolv.conf: on networks, the network DNS (aardvark at each gateway,
/// which forwards other names to the service's `dns:` or the host's resolvers) with
/// Docker's `ndots:0`; otherwise the service's `dns:` or the host's resolvers.
fn resolv_text(rec: &ContainerRecord, nameservers: &[std::net::IpAddr]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    if !nameservers.is_empty() {
        for ns in nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        let search: Vec<&str> = if rec.spec.dns_search.is_empty() {
            host.lines()
                .filter_map(|l| l.trim().strip_prefix("search"))
                .flat_map(str::split_whitespace)
                .collect()
        } else {
            rec.spec.dns_search.iter().map(String::as_str).collect()
        };
        if !search.is_empty() {
            out.push_str(&format!("search {}\n", search.join(" ")));
        }
        out.push_str("options ndots:0\n");
        return out;
    }
    let custom_dns = !rec.spec.dns.is_empty();
    for ns in &rec.spec.dns {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !rec.spec.dns_search.is_empty() {
        out.push_str(&format!("search {}\n", rec.spec.dns_search.join(" ")));
    }
    for line in host.lines() {
        let l = line.trim();
        if l.starts_with("nameserver") {
            // A loopback resolver of the host is unreachable from the container's namespace.
            let addr = l.split_whitespace().nth(1).unwrap_or("");
            let loopback = addr
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
            if custom_dns || loopback {
                continue;
            }
        } else if l.starts_with("search") && !rec.spec.dns_search.is_empty() {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A static init for `init: true` (Docker ships tini as docker-init).
fn find_init() -> Result<std::path::PathBuf, String> {
    for p in [
        "/usr/bin/tini-static",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/docker-init",
    ] {
        if Path::new(p).exists() {
            return Ok(p.into());
        }
    }
    Err("init: true needs a static init binary (apt-get install tini provides /usr/bin/tini-static)".into())
}

/// A signal number for a name (`SIGTERM`, `TERM`, `15`).
pub fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// The uid, gid and additional gids of a `user` setting (`uid`, `uid:gid`, names looked up
/// in the container's /etc/passwd and /etc/group, read without leaving the rootfs).
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32, Vec<u32>), String> {
    let u = super::runtime_spec::resolve_user(rootfs, user).map_err(|e| e.to_string())?;
    Ok((u.uid, u.gid, u.additional_gids))
}

/// Creates the working directory inside the rootfs when the image lacks it (Docker does;
/// the runtime would fail). Components are created one by one relative to directory fds
/// opened with `O_NOFOLLOW`: a symlink on the way stops the walk, never followed out of the
/// root (the runtime resolves the rest inside the container).
pub fn ensure_working_dir(rootfs: &Path, dir: &str) -> Result<(), String> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let open_dir = |at: i32, name: &std::ffi::CStr| -> Option<OwnedFd> {
        // SAFETY: openat on a valid directory fd with a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                at,
                name.as_ptr(),
                libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        // SAFETY: a fresh descriptor from openat.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let root =
        std::ffi::CString::new(rootfs.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    let Some(mut cur) = open_dir(libc::AT_FDCWD, &root) else {
        return Err(format!(
            "cannot open the root filesystem {}",
            rootfs.display()
        ));
    };
    for comp in dir.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if comp == ".." {
            return Ok(());
        }
        let name = std::ffi::CString::new(comp).map_err(|e| e.to_string())?;
        if let Some(next) = open_dir(cur.as_raw_fd(), &name) {
            cur = next;
            continue;
        }
        // SAFETY: mkdirat relative to a directory fd we hold.
        let rc = unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), 0o755) };
        if rc != 0 {
            // Exists as something else (a symlink, a file): leave it to the runtime.
            return Ok(());
        }
        match open_dir(cur.as_raw_fd(), &name) {
            Some(next) => cur = next,
            None => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_needs_a_shared_or_slave_host_mount() {
        let info = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                    44 27 0:39 / /mnt/shr rw,relatime shared:5 - tmpfs tmpfs rw\n\
                    45 27 0:40 / /mnt/slv rw,relatime master:7 - tmpfs tmpfs rw\n";
        let p = Path::new;
        assert!(check_source_propagation(p("/mnt/shr/x"), info, true).is_ok());
        assert!(check_source_propagation(p("/mnt/shr"), info, false).is_ok());
        assert!(check_source_propagation(p("/mnt/slv/a"), info, false).is_ok());
        assert_eq!(
            check_source_propagation(p("/mnt/slv/a"), info, true).unwrap_err(),
            "path /mnt/slv/a is mounted on /mnt/slv but it is not a shared mount"
        );
        assert_eq!(
            check_source_propagation(p("/tmp/x"), info, false).unwrap_err(),
            "path /tmp/x is mounted on / but it is not a shared or slave mount"
        );
        // `/mnt/shrx` is not under `/mnt/shr`.
        assert!(check_source_propagation(p("/mnt/shrx"), info, true).is_err());
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGTERM"), Some(15));
        assert_eq!(signal_number("kill"), Some(9));
        assert_eq!(signal_number("SIGUSR1"), Some(10));
        assert_eq!(signal_number("3"), Some(3));
        assert_eq!(signal_number("NOPE"), None);
    }
}
