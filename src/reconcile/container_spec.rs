//! From a service of the model to the engine's [`ContainerSpec`]: names, Docker Compose's
//! labels, networks with aliases, ports, mounts, healthcheck and the rest.
//!
//! Pure. The labels and names are exactly Docker Compose's, so that `docker compose ps` and
//! `down` see what rcompose created and the other way round.

use std::collections::BTreeMap;

use crate::engine::{
    ContainerSpec, Healthcheck, Labels, Mount, MountKind, MountSummary, NetworkAttachment,
    NetworkSpec, PortBinding, RestartPolicy, VolumeSpec,
};
use crate::spec::model::{Condition, Project, Service, Ulimit};

use super::files::{service_files, Environment, FileError};
use super::hash::service_hash;

/// The Docker Compose version whose labels we write (`com.docker.compose.version`).
pub const COMPOSE_VERSION: &str = "2.40.3";

pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    pub const ENV_FILE: &str = "com.docker.compose.project.environment_file";
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const IMAGE: &str = "com.docker.compose.image";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const REPLACE: &str = "com.docker.compose.replace";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
}

/// What the labels say about where the project comes from, and the environment its
/// `environment:` secrets and configs read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectContext {
    pub working_dir: String,
    /// Absolute paths of the compose files.
    pub config_files: Vec<String>,
    /// Absolute paths of the env files read (`.env`, `--env-file`).
    pub env_files: Vec<String>,
    /// The interpolation environment (Compose's `project.Environment`).
    pub environment: Environment,
}

/// The image a service runs: `image`, else the name Compose gives a built image.
pub fn service_image(project: &Project, svc: &Service) -> String {
    if svc.image.is_empty() {
        format!("{}-{}", project.name, svc.name)
    } else {
        svc.image.clone()
    }
}

/// `<project>-<service>-<n>`, or `container_name`.
pub fn container_name(project: &Project, svc: &Service, number: u32) -> String {
    if svc.container_name.is_empty() {
        format!("{}-{}-{}", project.name, svc.name, number)
    } else {
        svc.container_name.clone()
    }
}

/// How many containers the service wants: `scale`, else `deploy.replicas`, else 1.
pub fn desired_scale(svc: &Service) -> u32 {
    let n = svc
        .scale
        .or_else(|| svc.deploy.as_ref().and_then(|d| d.replicas))
        .unwrap_or(1);
    u32::try_from(n.max(0)).unwrap_or(0)
}

/// The `com.docker.compose.depends_on` label: `name:condition:restart` joined by commas.
pub fn depends_on_label(svc: &Service) -> String {
    svc.depends_on
        .iter()
        .map(|(name, d)| {
            let cond = match d.condition {
                Condition::ServiceStarted => "service_started",
                Condition::ServiceHealthy => "service_healthy",
                Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
            };
            format!("{name}:{cond}:{}", d.restart)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The labels of every container of `svc` (plus the service's own labels).
pub fn container_labels(
    project: &Project,
    svc: &Service,
    ctx: &ProjectContext,
    number: u32,
    image_id: Option<&str>,
) -> Labels {
    let mut l: Labels = svc.labels.clone().into_iter().collect();
    l.insert(labels::PROJECT.into(), project.name.clone());
    l.insert(labels::SERVICE.into(), svc.name.clone());
    l.insert(labels::NUMBER.into(), number.to_string());
    l.insert(labels::ONEOFF.into(), "False".into());
    l.insert(labels::CONFIG_HASH.into(), service_hash(svc));
    l.insert(labels::WORKING_DIR.into(), ctx.working_dir.clone());
    l.insert(labels::CONFIG_FILES.into(), ctx.config_files.join(","));
    if !ctx.env_files.is_empty() {
        l.insert(labels::ENV_FILE.into(), ctx.env_files.join(","));
    }
    l.insert(labels::DEPENDS_ON.into(), depends_on_label(svc));
    if let Some(id) = image_id {
        l.insert(labels::IMAGE.into(), id.to_string());
    }
    l.insert(labels::VERSION.into(), COMPOSE_VERSION.into());
    l
}

/// The engine name of the project network `key`.
pub fn network_name(project: &Project, key: &str) -> String {
    match project.networks.get(key) {
        Some(n) if !n.name.is_empty() => n.name.clone(),
        _ => format!("{}_{key}", project.name),
    }
}

/// The engine name of the project volume `key`.
pub fn volume_name(project: &Project, key: &str) -> String {
    match project.volumes.get(key) {
        Some(v) if !v.name.is_empty() => v.name.clone(),
        _ => format!("{}_{key}", project.name),
    }
}

/// The container spec of replica `number` of `svc`, and Compose's warnings about it. Fails
/// when a secret or config cannot be given to the container (see [`super::files`]).
pub fn container_spec(
    project: &Project,
    svc: &Service,
    ctx: &ProjectContext,
    number: u32,
    image_id: Option<&str>,
) -> Result<(ContainerSpec, Vec<String>), FileError> {
    let files = service_files(project, svc, &ctx.environment)?;
    let mut spec = ContainerSpec {
        name: container_name(project, svc, number),
        image: service_image(project, svc),
        labels: container_labels(project, svc, ctx, number, image_id),
        command: svc.command.clone(),
        entrypoint: svc.entrypoint.clone(),
        env: svc
            .environment
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect(),
        working_dir: non_empty(&svc.working_dir),
        user: non_empty(&svc.user),
        hostname: non_empty(&svc.hostname),
        domainname: non_empty(&svc.domainname),
        tty: svc.tty,
        stdin_open: svc.stdin_open,
        init: svc.init,
        privileged: svc.privileged,
        read_only: svc.read_only,
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        security_opt: svc.security_opt.clone(),
        extra_hosts: svc
            .extra_hosts
            .iter()
            .map(|h| match h.split_once('=') {
                // The model keeps `host=ip`; the engine API wants `host:ip`.
                Some((host, ip)) => format!("{host}:{ip}"),
                None => h.clone(),
            })
            .collect(),
        dns: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        network_mode: non_empty(&svc.network_mode),
        expose: svc.expose.clone(),
        stop_signal: non_empty(&svc.stop_signal),
        stop_timeout: svc.stop_grace_period.map(|d| d.as_std()),
        restart: restart_policy(&svc.restart),
        mem_limit: (svc.mem_limit.0 > 0).then_some(svc.mem_limit.0),
        nano_cpus: (svc.cpus.0 > 0.0).then(|| (f64::from(svc.cpus.0) * 1e9) as i64),
        pids_limit: (svc.pids_limit != 0).then_some(svc.pids_limit),
        shm_size: (svc.shm_size.0 > 0).then_some(svc.shm_size.0),
        sysctls: svc.sysctls.clone().into_iter().collect(),
        ulimits: svc
            .ulimits
            .iter()
            .map(|(name, u)| match u {
                Ulimit::Single(n) => (name.clone(), *n, *n),
                Ulimit::Range { soft, hard } => (name.clone(), *soft, *hard),
            })
            .collect(),
        log_driver: svc.logging.as_ref().and_then(|l| non_empty(&l.driver)),
        log_options: svc
            .logging
            .as_ref()
            .map(|l| l.options.clone().into_iter().collect())
            .unwrap_or_default(),
        ..Default::default()
    };
    if spec.network_mode.is_none() {
        spec.networks = attachments(project, svc);
    }
    spec.ports = svc
        .ports
        .iter()
        .map(|p| PortBinding {
            container_port: u16::try_from(p.target).unwrap_or(0),
            protocol: if p.protocol.is_empty() {
                "tcp".into()
            } else {
                p.protocol.clone()
            },
            host_ip: p.host_ip.clone(),
            host_port: p.published.clone(),
        })
        .collect();
    spec.mounts = svc
        .volumes
        .iter()
        .map(|v| {
            let kind = match v.kind.as_str() {
                "bind" => MountKind::Bind,
                "tmpfs" => MountKind::Tmpfs,
                _ => MountKind::Volume,
            };
            let source = match kind {
                MountKind::Volume if !v.source.is_empty() => volume_name(project, &v.source),
                _ => v.source.clone(),
            };
            Mount {
                kind,
                source,
                target: v.target.clone(),
                read_only: v.read_only,
                no_copy: v.volume.as_ref().is_some_and(|o| o.nocopy),
                // Docker Compose creates a missing bind source when the short syntax was used
                // (its `bind` says `create_host_path: true`) or when the long syntax has no
                // `bind` at all; a `bind` section without `create_host_path` means false (the
                // daemon then refuses a missing source).
                create_host_path: match &v.bind {
                    None => true,
                    Some(b) => b.create_host_path.unwrap_or(false),
                },
                tmpfs_size: v.tmpfs.as_ref().map(|t| t.size.0).filter(|s| *s > 0),
                tmpfs_mode: v
                    .tmpfs
                    .as_ref()
                    .and_then(|t| t.mode.as_ref())
                    .map(|m| m.0)
                    .filter(|m| *m != 0),
                tmpfs_options: None,
                propagation: v.bind.as_ref().and_then(|b| non_empty(&b.propagation)),
            }
        })
        .collect();
    for t in &svc.tmpfs {
        let (target, options) = match t.split_once(':') {
            Some((target, options)) => (target, options),
            None => (t.as_str(), ""),
        };
        spec.mounts.push(Mount {
            kind: MountKind::Tmpfs,
            target: target.to_string(),
            tmpfs_options: Some(options.to_string()),
            ..Default::default()
        });
    }
    spec.volumes_from = volumes_from(project, svc);
    spec.healthcheck = svc.healthcheck.as_ref().map(|h| Healthcheck {
        test: if h.disable {
            vec!["NONE".into()]
        } else {
            h.test.clone()
        },
        interval: h.interval.map(|d| d.as_std()),
        timeout: h.timeout.map(|d| d.as_std()),
        start_period: h.start_period.map(|d| d.as_std()),
        start_interval: h.start_interval.map(|d| d.as_std()),
        retries: h.retries,
    });
    spec.files = files.files;
    Ok((spec, files.warnings))
}

/// Docker Compose's recreate: an anonymous volume of the service (no source) takes the volume
/// the replaced container had at the same target, and so does every path the image declares
/// as a volume (`image_volumes`) that the service does not mount, so that their data survives
/// the recreate.
pub fn inherit_anonymous_volumes(
    spec: &mut ContainerSpec,
    old: &[MountSummary],
    image_volumes: &[String],
) {
    let clean = |t: &str| t.trim_end_matches('/').to_string();
    let old_volume = |target: &str| {
        old.iter()
            .find(|o| o.volume && !o.name.is_empty() && clean(&o.target) == clean(target))
    };
    for m in &mut spec.mounts {
        if m.kind != MountKind::Volume || !m.source.is_empty() {
            continue;
        }
        if let Some(o) = old_volume(&m.target) {
            m.source = o.name.clone();
        }
    }
    for path in image_volumes {
        if spec.mounts.iter().any(|m| clean(&m.target) == clean(path)) {
            continue;
        }
        if let Some(o) = old_volume(path) {
            spec.mounts.push(Mount {
                kind: MountKind::Volume,
                source: o.name.clone(),
                target: clean(path),
                ..Default::default()
            });
        }
    }
}

/// `volumes_from` as Docker Compose resolves it: `container:<name>[:mode]` is passed on,
/// `<service>[:mode]` names the service's first container. Unlike Docker Compose v2.40,
/// which drops the mode of the service form (`db:ro` mounts read-write), the mode is kept.
fn volumes_from(project: &Project, svc: &Service) -> Vec<String> {
    svc.volumes_from
        .iter()
        .filter_map(|v| {
            if let Some(rest) = v.strip_prefix("container:") {
                return Some(rest.to_string());
            }
            let (name, mode) = match v.split_once(':') {
                Some((name, mode)) => (name, Some(mode)),
                None => (v.as_str(), None),
            };
            let other = project.services.get(name)?;
            let container = container_name(project, other, 1);
            Some(match mode {
                Some(mode) => format!("{container}:{mode}"),
                None => container,
            })
        })
        .collect()
}

/// The networks a container joins, the service name and configured aliases on each,
/// highest `priority` first (Compose's order), then by name.
fn attachments(project: &Project, svc: &Service) -> Vec<NetworkAttachment> {
    let mut nets: Vec<(&String, i64)> = svc
        .networks
        .iter()
        .map(|(k, n)| (k, n.as_ref().map_or(0, |n| n.priority)))
        .collect();
    nets.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    nets.into_iter()
        .map(|(key, _)| {
            let cfg = svc.networks.get(key).and_then(|n| n.as_ref());
            let mut aliases = vec![svc.name.clone()];
            if let Some(c) = cfg {
                for a in &c.aliases {
                    if !aliases.contains(a) {
                        aliases.push(a.clone());
                    }
                }
            }
            NetworkAttachment {
                network: network_name(project, key),
                aliases,
                ipv4_address: cfg.and_then(|c| non_empty(&c.ipv4_address)),
                ipv6_address: cfg.and_then(|c| non_empty(&c.ipv6_address)),
            }
        })
        .collect()
}

fn restart_policy(s: &str) -> RestartPolicy {
    match s.split_once(':') {
        _ if s == "always" => RestartPolicy::Always,
        _ if s == "unless-stopped" => RestartPolicy::UnlessStopped,
        _ if s == "on-failure" => RestartPolicy::OnFailure(None),
        Some(("on-failure", n)) => RestartPolicy::OnFailure(n.parse().ok()),
        _ => RestartPolicy::No,
    }
}

/// The spec of project network `key` (not for external networks).
pub fn network_spec(project: &Project, key: &str) -> NetworkSpec {
    let n = project.networks.get(key).cloned().unwrap_or_default();
    let mut labels: Labels = n.labels.clone().into_iter().collect();
    labels.insert(labels::PROJECT.into(), project.name.clone());
    labels.insert(labels::NETWORK.into(), key.to_string());
    labels.insert(labels::VERSION.into(), COMPOSE_VERSION.into());
    NetworkSpec {
        name: network_name(project, key),
        driver: non_empty(&n.driver),
        driver_opts: n
            .driver_opts
            .clone()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        internal: n.internal,
        attachable: n.attachable,
        enable_ipv6: n.enable_ipv6,
        labels,
        ipam_driver: non_empty(&n.ipam.driver),
        ipam_pools: n
            .ipam
            .config
            .iter()
            .map(|p| {
                (
                    p.subnet.clone(),
                    non_empty(&p.gateway),
                    non_empty(&p.ip_range),
                )
            })
            .collect(),
    }
}

/// The spec of project volume `key` (not for external volumes).
pub fn volume_spec(project: &Project, key: &str) -> VolumeSpec {
    let v = project.volumes.get(key).cloned().unwrap_or_default();
    let mut labels: Labels = v.labels.clone().into_iter().collect();
    labels.insert(labels::PROJECT.into(), project.name.clone());
    labels.insert(labels::VOLUME.into(), key.to_string());
    labels.insert(labels::VERSION.into(), COMPOSE_VERSION.into());
    VolumeSpec {
        name: volume_name(project, key),
        driver: non_empty(&v.driver),
        driver_opts: v.driver_opts.clone().into_iter().collect(),
        labels,
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, target: &str, volume: bool) -> MountSummary {
        MountSummary {
            name: name.into(),
            local_volume: volume,
            target: target.into(),
            volume,
        }
    }

    fn mount(kind: MountKind, source: &str, target: &str) -> Mount {
        Mount {
            kind,
            source: source.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_recreate_keeps_the_anonymous_and_image_declared_volumes() {
        let mut spec = ContainerSpec {
            mounts: vec![
                mount(MountKind::Volume, "", "/anon"),
                mount(MountKind::Volume, "named", "/named"),
                mount(MountKind::Bind, "/srv/conf", "/etc/app"),
            ],
            ..Default::default()
        };
        let old = [
            summary("0123abc", "/anon/", true),
            summary("named", "/named", true),
            summary("4567def", "/var/lib/db", true),
            summary("89abcde", "/etc/app", true),
            summary("/srv/logs", "/logs", false),
        ];
        let image_volumes = [
            "/var/lib/db/".to_string(),
            "/etc/app".to_string(),
            "/logs".to_string(),
            "/fresh".to_string(),
        ];
        inherit_anonymous_volumes(&mut spec, &old, &image_volumes);
        let got: Vec<(MountKind, &str, &str)> = spec
            .mounts
            .iter()
            .map(|m| (m.kind, m.source.as_str(), m.target.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (MountKind::Volume, "0123abc", "/anon"),
                (MountKind::Volume, "named", "/named"),
                // The service's own mount wins over the image's declaration.
                (MountKind::Bind, "/srv/conf", "/etc/app"),
                // Taken over: the old container's volume at a declared path.
                (MountKind::Volume, "4567def", "/var/lib/db"),
            ]
        );
    }
}
