//! The OCI runtime spec of a container: the service's settings merged with the image config
//! the way Docker merges them, on top of Docker's defaults (14 capabilities, the default
//! seccomp profile, masked and read-only paths, a private /dev, /dev/shm of 64 MiB).
//!
//! [`build_spec`] is pure apart from reading the image's /etc/passwd and /etc/group (safely,
//! inside the rootfs). The pieces, each after the moby code it mirrors:
//! - here: the process (args with the entrypoint/cmd merge and docker-init, env, cwd,
//!   terminal), `security_opt` (seccomp from [`super::seccomp_profile`] unless unconfined or
//!   privileged, no-new-privileges, `systempaths=unconfined`) and the namespaces;
//! - `user`: the user and groups, from the image's passwd and group files;
//! - `capabilities`: Docker's defaults, `cap_add`/`cap_drop`, privileged, non-root users;
//! - `mounts`: the default mounts, the network files, the service's mounts, masked paths;
//! - `limits`: rlimits, namespaced sysctls, cgroup resources and the device allowlist.
//!
//! It does no other host IO: the caller prepares the rootfs, the network files, the netns
//! and the mount sources, and passes them in [`HostPaths`].

mod capabilities;
mod limits;
pub mod mounts;
pub(crate) mod user;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use libcontainer::oci_spec::runtime::{
    Linux, LinuxNamespace, LinuxNamespaceType, Process, Root, Spec, User,
};

pub use capabilities::{
    cap_mask, capability_names, own_bounding_set, ALL_CAPABILITIES, DEFAULT_CAPABILITIES,
};
pub use limits::DEFAULT_NOFILE;
pub use mounts::{clean_container_path, DEFAULT_SHM_SIZE, INIT_PATH, MASKED_PATHS, READONLY_PATHS};
pub use user::{resolve_user, ResolvedUser};

use super::seccomp_profile;
use crate::engine::ContainerSpec;

/// Docker's `PATH` when neither the image nor the service sets one.
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The parts of an OCI image config (`config` object) that decide how a container runs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageRuntimeConfig {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub stop_signal: Option<String>,
    pub exposed_ports: Vec<String>,
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Host-side things the engine prepared for one container, which the spec points at.
#[derive(Clone, Debug)]
pub struct HostPaths {
    /// The container's root filesystem (the overlay mount point).
    pub rootfs: PathBuf,
    /// Files bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname.
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub hostname: PathBuf,
    /// The hostname when the service sets none (Docker: the first 12 characters of the
    /// container id).
    pub default_hostname: String,
    /// A network namespace to join (`None`: a new one).
    pub netns: Option<PathBuf>,
    /// The cgroup path (`/rcompose/<id>`).
    pub cgroups_path: PathBuf,
    /// The init binary bind-mounted at /sbin/docker-init when `init: true`.
    pub init_binary: Option<PathBuf>,
    /// Host sources of the service's mounts, in the order of `ContainerSpec::mounts`
    /// (named volumes and binds already resolved to host directories; tmpfs: unused).
    pub mount_sources: Vec<PathBuf>,
    /// Host sources of the secrets and configs, in the order of `ContainerSpec::files`.
    pub file_sources: Vec<PathBuf>,
}

/// Why a service cannot run as configured; each message names the service setting.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(
        "no command specified: set `command` or `entrypoint`, or use an image with a Cmd or Entrypoint"
    )]
    NoCommand,
    #[error("init: true needs the docker-init binary, and none was found")]
    NoInitBinary,
    #[error("user '{user}': {reason}")]
    UnknownUser { user: String, reason: String },
    #[error("user '{user}': cannot read {file} in the image: {source}")]
    UserDatabase {
        user: String,
        file: &'static str,
        source: std::io::Error,
    },
    #[error("working_dir '{dir}': {reason}")]
    WorkingDir { dir: String, reason: &'static str },
    #[error("{setting} '{value}': unknown capability")]
    Capability {
        setting: &'static str,
        value: String,
    },
    #[error("security_opt '{opt}': {reason}")]
    SecurityOpt { opt: String, reason: &'static str },
    #[error("mount target '{target}': {reason}")]
    MountTarget {
        target: String,
        reason: &'static str,
    },
    #[error("mount target '{target}': no host source was prepared for it")]
    MountSource { target: String },
    #[error("invalid tmpfs option {option:?}")]
    TmpfsOption { option: String },
    #[error("invalid propagation mode: {mode}")]
    Propagation { mode: String },
    #[error("ulimits '{name}': {reason}")]
    Ulimit { name: String, reason: String },
    #[error("sysctls '{key}': {reason}")]
    Sysctl { key: String, reason: &'static str },
}

/// Where the container's network namespace comes from (`network_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NetworkMode {
    /// Its own namespace (new, or one the engine made for its networks).
    Private,
    /// The host's: no network namespace at all.
    Host,
    /// Another container's (`container:` / `service:`), passed in `HostPaths::netns`.
    Joined,
}

impl NetworkMode {
    fn of(service: &ContainerSpec) -> Self {
        match service.network_mode.as_deref() {
            Some("host") => NetworkMode::Host,
            Some(m) if m.starts_with("container:") || m.starts_with("service:") => {
                NetworkMode::Joined
            }
            _ => NetworkMode::Private,
        }
    }
}

/// `security_opt`, parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SecurityOpts {
    no_new_privileges: bool,
    seccomp_unconfined: bool,
    systempaths_unconfined: bool,
}

impl SecurityOpts {
    /// Docker's syntax: `key=value`, or the legacy `key:value`.
    fn parse(opts: &[String]) -> Result<Self, SpecError> {
        let mut out = SecurityOpts::default();
        for opt in opts {
            let err = |reason| SpecError::SecurityOpt {
                opt: opt.clone(),
                reason,
            };
            let (key, value) = match opt.split_once('=').or_else(|| opt.split_once(':')) {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            };
            match (key, value) {
                ("no-new-privileges", None | Some("true")) => out.no_new_privileges = true,
                ("no-new-privileges", Some("false")) => out.no_new_privileges = false,
                ("no-new-privileges", Some(_)) => {
                    return Err(err("the value must be true or false"))
                }
                ("seccomp", Some("unconfined")) => out.seccomp_unconfined = true,
                ("seccomp", _) => {
                    return Err(err(
                        "only seccomp=unconfined is supported (no custom profiles)",
                    ));
                }
                ("systempaths", Some("unconfined")) => out.systempaths_unconfined = true,
                // The embedded engine applies no AppArmor or SELinux policy (Docker would,
                // where the host has the LSM), so these are accepted and have no effect.
                ("apparmor" | "label", Some(_)) => {}
                _ => {
                    return Err(err(
                        "unknown option (known: no-new-privileges, seccomp=unconfined, \
                         systempaths=unconfined, apparmor=..., label=...)",
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Builds the runtime spec of a container.
pub fn build_spec(
    service: &ContainerSpec,
    image: &ImageRuntimeConfig,
    paths: &HostPaths,
) -> Result<Spec, SpecError> {
    let security = SecurityOpts::parse(&service.security_opt)?;
    let network = NetworkMode::of(service);
    let init = service.init == Some(true);
    let hostname = service
        .hostname
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| paths.default_hostname.clone());

    let user_arg = service.user.as_deref().unwrap_or(&image.user);
    let user = resolve_user(&paths.rootfs, user_arg)?;
    let caps = capabilities::container_capabilities(
        service.privileged,
        &service.cap_add,
        &service.cap_drop,
        capabilities::own_bounding_set(),
    )?;

    let mut process = Process::default();
    let mut spec_user = User::default();
    spec_user
        .set_uid(user.uid)
        .set_gid(user.gid)
        .set_additional_gids(Some(user.additional_gids.clone()));
    process
        .set_terminal(Some(service.tty))
        .set_args(Some(process_args(service, image, init)?))
        .set_env(Some(process_env(
            &image.env,
            &service.env,
            &hostname,
            service.tty,
        )))
        .set_cwd(working_dir(service, image)?)
        .set_user(spec_user)
        .set_capabilities(Some(capabilities::process_capabilities(
            &caps,
            user.uid == 0,
        )))
        .set_rlimits(Some(limits::rlimits(&service.ulimits)?))
        // libcontainer 0.7 loads seccomp *before* dropping capabilities only when this is
        // None; with Some(false) it loads it afterwards, which fails without CAP_SYS_ADMIN.
        // So "off" must be None, never Some(false).
        .set_no_new_privileges(security.no_new_privileges.then_some(true))
        .set_oom_score_adj(None);

    let confined = !service.privileged;
    let seccomp = (confined && !security.seccomp_unconfined).then(|| {
        let names: Vec<String> = caps
            .iter()
            .map(|&c| capabilities::cap_name(c).to_string())
            .collect();
        // Docker tests the capability gates of its profile against the bounding set.
        seccomp_profile::default_profile(&names)
    });
    let (masked, readonly) = if confined && !security.systempaths_unconfined {
        let owned = |l: &[&str]| l.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        (Some(owned(MASKED_PATHS)), Some(owned(READONLY_PATHS)))
    } else {
        (None, None)
    };

    let mut linux = Linux::default();
    linux
        .set_namespaces(Some(namespaces(network, paths)))
        .set_resources(Some(limits::resources(service)))
        .set_cgroups_path(Some(paths.cgroups_path.clone()))
        .set_devices(Some(limits::default_devices()))
        .set_sysctl(Some(limits::sysctls(&service.sysctls, network)?))
        .set_seccomp(seccomp)
        .set_masked_paths(masked)
        .set_readonly_paths(readonly);

    let mut root = Root::default();
    root.set_path(paths.rootfs.clone())
        .set_readonly(Some(service.read_only));

    let mut spec = Spec::default();
    spec.set_version("1.0.2".to_string())
        .set_root(Some(root))
        .set_mounts(Some(mounts::container_mounts(service, paths, init)?))
        .set_process(Some(process))
        .set_hostname(Some(hostname))
        .set_domainname(service.domainname.clone().filter(|d| !d.is_empty()))
        .set_annotations(None)
        .set_linux(Some(linux));
    Ok(spec)
}

/// Docker's merge (moby `daemon/create.go`): without a service entrypoint (or with an empty
/// one) the image's Cmd is used when the service gives no command; a service entrypoint
/// drops the image's Cmd. `init: true` runs it all under docker-init.
fn process_args(
    service: &ContainerSpec,
    image: &ImageRuntimeConfig,
    init: bool,
) -> Result<Vec<String>, SpecError> {
    let command = service.command.clone().unwrap_or_default();
    let (entrypoint, cmd) = match &service.entrypoint {
        Some(ep) if !ep.is_empty() => (ep.clone(), command),
        // `entrypoint: []` clears the image's entrypoint but keeps its Cmd (as Docker).
        user_ep => {
            let cmd = if command.is_empty() {
                image.cmd.clone().unwrap_or_default()
            } else {
                command
            };
            let ep = if user_ep.is_none() {
                image.entrypoint.clone().unwrap_or_default()
            } else {
                Vec::new()
            };
            (ep, cmd)
        }
    };
    let mut args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    if init {
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }
    Ok(args)
}

/// Docker's `ReplaceOrAppendEnvValues`: an override replaces the entry with the same key in
/// place or is appended; a bare `KEY` removes it.
fn merge_env(mut base: Vec<String>, overrides: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    for o in overrides {
        let k = key(o);
        let pos = base.iter().position(|e| key(e) == k);
        match (o.contains('='), pos) {
            (true, Some(i)) => base[i] = o.clone(),
            (true, None) => base.push(o.clone()),
            (false, Some(i)) => {
                base.remove(i);
            }
            (false, None) => {}
        }
    }
    base
}

/// PATH, HOSTNAME and (with a tty) TERM first, then the image's env merged with the
/// service's (moby `CreateDaemonEnvironment`).
fn process_env(
    image_env: &[String],
    service_env: &[String],
    hostname: &str,
    tty: bool,
) -> Vec<String> {
    let config_env = merge_env(image_env.to_vec(), service_env);
    let mut base = vec![DEFAULT_PATH_ENV.to_string(), format!("HOSTNAME={hostname}")];
    if tty {
        base.push("TERM=xterm".to_string());
    }
    merge_env(base, &config_env)
}

/// The service's `working_dir`, else the image's, else `/`; absolute and not under /proc
/// (`/proc/self/fd/N` would start the process in a host directory: CVE-2024-21626).
fn working_dir(service: &ContainerSpec, image: &ImageRuntimeConfig) -> Result<PathBuf, SpecError> {
    let dir = service
        .working_dir
        .as_deref()
        .filter(|d| !d.is_empty())
        .or(Some(image.working_dir.as_str()).filter(|d| !d.is_empty()));
    let Some(dir) = dir else {
        return Ok(PathBuf::from("/"));
    };
    checked_working_dir(dir)
}

/// A working directory given for the init or an exec'd process (`exec -w`): absolute,
/// cleaned, and not /proc or under it (`/proc/self/fd/N` would start the process in
/// whatever directory a descriptor open at that moment points at: CVE-2024-21626).
pub fn checked_working_dir(dir: &str) -> Result<PathBuf, SpecError> {
    let err = |reason| SpecError::WorkingDir {
        dir: dir.to_string(),
        reason,
    };
    let clean = clean_container_path(dir).ok_or(err("must be an absolute path"))?;
    if clean.starts_with("/proc") {
        return Err(err("cannot be /proc or under it (CVE-2024-21626)"));
    }
    Ok(clean)
}

fn namespaces(network: NetworkMode, paths: &HostPaths) -> Vec<LinuxNamespace> {
    let ns = |typ, path: Option<PathBuf>| {
        let mut n = LinuxNamespace::default();
        n.set_typ(typ).set_path(path);
        n
    };
    let mut out = vec![
        ns(LinuxNamespaceType::Pid, None),
        ns(LinuxNamespaceType::Mount, None),
        ns(LinuxNamespaceType::Ipc, None),
        ns(LinuxNamespaceType::Uts, None),
        ns(LinuxNamespaceType::Cgroup, None),
    ];
    if network != NetworkMode::Host {
        out.push(ns(LinuxNamespaceType::Network, paths.netns.clone()));
    }
    out
}
