//! The OCI runtime spec of a container: the service's settings merged with the image config
//! the way Docker merges them, on top of Docker's defaults (14 capabilities, the default
//! seccomp profile, masked and read-only paths, a private /dev, /dev/shm of 64 MiB).

use std::path::PathBuf;

use crate::engine::ContainerSpec;

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
    /// A network namespace to join (`None`: a new one).
    pub netns: Option<PathBuf>,
    /// The cgroup path (`/rcompose/<id>`).
    pub cgroups_path: PathBuf,
    /// The init binary bind-mounted at /sbin/docker-init when `init: true`.
    pub init_binary: Option<PathBuf>,
    /// Host sources of the service's mounts, in the order of `ContainerSpec::mounts`
    /// (named volumes and binds already resolved to host directories; tmpfs: unused).
    pub mount_sources: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {}

/// Builds the runtime spec of a container.
pub fn build_spec(
    _service: &ContainerSpec,
    _image: &ImageRuntimeConfig,
    _paths: &HostPaths,
) -> Result<libcontainer::oci_spec::runtime::Spec, SpecError> {
    todo!()
}
