//! The Docker Engine backend (bollard). The only module where bollard types appear.
//!
//! [`DockerEngine`] implements [`Engine`] over the Docker Engine API, talking to the daemon's
//! unix socket (`DOCKER_HOST=unix://...` or `/var/run/docker.sock`). It exists so that rcompose
//! can drive an already installed Docker Engine exactly as Docker Compose does, while the rest of
//! the crate only sees the engine-neutral types of [`super::types`].
//!
//! Design points:
//! - The API version is negotiated down to the daemon's (the oldest daemon we target is Docker
//!   20.10, API 1.41), so every request body is restricted to what API 1.41 understands: a
//!   container is created on ONE network and joins the others afterwards, bind sources are
//!   created by us (no `BindOptions.CreateMountpoint`), and network names are checked for
//!   duplicates by us (the 1.41 daemon happily creates two networks with the same name).
//! - Every bollard error goes through [`map_error`], which types it as an [`EngineError`] so that
//!   callers can tell "not there" from "in the way" from "daemon unreachable".
//! - Nothing here unwraps data coming from the daemon: missing fields become defaults.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary,
    ContainerSummaryHealthStatusEnum, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, HostConfigLogConfig, Ipam, IpamConfig, Mount as DockerMount,
    MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions, NetworkConnectRequest,
    NetworkCreateRequest, NetworkingConfig, PortBinding as DockerPortBinding, PortMap,
    ResourcesUlimits, RestartPolicy as DockerRestart, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    InspectContainerOptions, InspectNetworkOptions, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    RenameContainerOptionsBuilder, ResizeContainerTTYOptions, RestartContainerOptionsBuilder,
    StartContainerOptions, StopContainerOptionsBuilder, TopOptions, WaitContainerOptionsBuilder,
};
use bollard::{ClientVersion, Docker};
use futures_util::StreamExt;

use super::types::*;
use super::{tty, Engine, EngineError, EngineEvents, EngineResult, LogChunks};
use super::{BuildEvents, ByteChunks, StatsSamples, TarUpload};

mod archive;
mod build;
mod files;
mod images;
mod stats;

/// The socket used when `DOCKER_HOST` does not name one (bollard's default too).
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Extra time granted to a request beyond the container's own stop timeout, so that bollard's
/// per-request timeout (2 minutes by default) never fires before the daemon's SIGKILL does.
const STOP_REQUEST_SLACK: Duration = Duration::from_secs(60);

/// bollard's own default per-request timeout; calls that may last longer set their own.
const DEFAULT_CLIENT_TIMEOUT_SECS: u64 = 120;

/// The API version negotiated with a daemon, remembered per socket so that a command does
/// not pay a `/version` round trip (a third of a no-op `up`) every time. The key is the
/// socket's inode and change time: a restarted (or upgraded) daemon makes a new socket, so a
/// stale entry is never used.
mod version_cache {
    use bollard::ClientVersion;
    use std::os::unix::fs::MetadataExt;

    fn key(socket: &str) -> Option<String> {
        let m = std::fs::metadata(socket).ok()?;
        Some(format!(
            "{socket} {} {} {}.{}",
            m.dev(),
            m.ino(),
            m.ctime(),
            m.ctime_nsec()
        ))
    }

    fn file() -> Option<std::path::PathBuf> {
        crate::paths::runtime_dir("docker")
            .ok()
            .map(|d| d.join("api-versions"))
    }

    /// The cached version for `socket`, if its entry matches the socket as it is now.
    pub fn load(socket: &str) -> Option<ClientVersion> {
        let key = key(socket)?;
        let text = std::fs::read_to_string(file()?).ok()?;
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str())?.strip_prefix(' '))?;
        let (major, minor) = line.trim().split_once('.')?;
        Some(ClientVersion {
            major_version: major.parse().ok()?,
            minor_version: minor.parse().ok()?,
        })
    }

    /// Remembers `version` for `socket` (best effort: a failure only costs a later lookup).
    pub fn store(socket: &str, version: &ClientVersion) {
        let (Some(key), Some(path)) = (key(socket), file()) else {
            return;
        };
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut text: String = old
            .lines()
            .filter(|l| l.split(' ').next() != Some(socket))
            .take(15)
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&format!(
            "{key} {}.{}\n",
            version.major_version, version.minor_version
        ));
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// A connection to a Docker Engine.
pub struct DockerEngine {
    docker: Docker,
    /// The socket path, for error messages.
    socket: String,
}

impl DockerEngine {
    /// Connects to the local daemon (`DOCKER_HOST` when it is a `unix://` URL, else
    /// `/var/run/docker.sock`) and negotiates the API version down to the daemon's.
    pub async fn connect() -> EngineResult<Self> {
        let docker_host = std::env::var("DOCKER_HOST").unwrap_or_default();
        let socket = match docker_host.strip_prefix("unix://") {
            Some(path) => path.to_string(),
            None if docker_host.is_empty() => DEFAULT_SOCKET.to_string(),
            None => {
                return Err(EngineError::Unavailable {
                    message: format!(
                        "DOCKER_HOST={docker_host} is not supported: rcompose reaches the Docker \
                         Engine through a unix socket only (unset DOCKER_HOST or use unix://PATH)"
                    ),
                })
            }
        };
        let connect = |version: &ClientVersion| {
            Docker::connect_with_unix(&socket, DEFAULT_CLIENT_TIMEOUT_SECS, version)
                .map_err(|e| map_error(e, Subject::Daemon, &socket))
        };
        if let Some(version) = version_cache::load(&socket) {
            return Ok(DockerEngine {
                docker: connect(&version)?,
                socket,
            });
        }
        let docker = connect(bollard::API_DEFAULT_VERSION)?
            .negotiate_version()
            .await
            .map_err(|e| map_error(e, Subject::Daemon, &socket))?;
        version_cache::store(&socket, &docker.client_version());
        Ok(DockerEngine { docker, socket })
    }

    /// A client whose request timeout outlasts a stop grace period of `grace` (the daemon
    /// answers a stop or restart only after it), never shorter than the default.
    fn outlasting(&self, grace: Duration) -> Docker {
        let timeout = grace
            .saturating_add(STOP_REQUEST_SLACK)
            .max(self.docker.timeout());
        self.docker.clone().with_timeout(timeout)
    }

    /// The error mapper for one call about `subject`.
    fn err<'a>(&'a self, subject: Subject<'a>) -> impl FnOnce(BollardError) -> EngineError + 'a {
        move |e| map_error(e, subject, &self.socket)
    }
}

/// Docker's removal report in our type (an item names what was untagged, or deleted).
fn deleted_items(items: Vec<bollard::models::ImageDeleteResponseItem>) -> Vec<ImageDeleted> {
    let mut out = Vec::new();
    for item in items {
        if let Some(name) = item.untagged {
            out.push(ImageDeleted::Untagged(name));
        }
        if let Some(id) = item.deleted {
            out.push(ImageDeleted::Deleted(id));
        }
    }
    out
}

/// What a failed call was about; decides how an HTTP 404 is typed and named.
#[derive(Clone, Copy, Debug)]
enum Subject<'a> {
    Daemon,
    Container(&'a str),
    /// A container being created: a 404 is its image (or a network/volume it refers to).
    NewContainer {
        name: &'a str,
        image: &'a str,
    },
    Network(&'a str),
    Volume(&'a str),
    Image(&'a str),
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Daemon => write!(f, "Docker daemon"),
            Subject::Container(c) => write!(f, "container {c}"),
            Subject::NewContainer { name, .. } => write!(f, "container {name}"),
            Subject::Network(n) => write!(f, "network {n}"),
            Subject::Volume(v) => write!(f, "volume {v}"),
            Subject::Image(i) => write!(f, "image {i}"),
        }
    }
}

/// Whether a 404 message is about the call's own object rather than one it refers to.
fn is_about(message: &str, subject: Subject<'_>) -> bool {
    let (kind, name) = match subject {
        Subject::Daemon | Subject::NewContainer { .. } => return false,
        Subject::Container(n) => ("container", n),
        Subject::Network(n) => ("network", n),
        Subject::Volume(n) => ("volume", n),
        Subject::Image(n) => ("image", n),
    };
    let lower = message.to_ascii_lowercase();
    lower.contains(&format!("no such {kind}")) || message.starts_with(&format!("{kind} {name}"))
}

/// What a 404 message names: `No such container: x` → `container x`, `network x not found` →
/// `network x`; otherwise the message itself, after the call's subject.
fn missing_object(message: &str, subject: Subject<'_>) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.starts_with("no such ") {
        return message["no such ".len()..].replacen(": ", " ", 1);
    }
    if let Some(what) = lower
        .strip_suffix(" not found")
        .map(|w| &message[..w.len()])
    {
        return what.to_string();
    }
    if message.is_empty() {
        subject.to_string()
    } else {
        format!("{subject} dependency ({message})")
    }
}

/// Types a bollard error: HTTP 404 → `NotFound` (`ImageNotFound` when it is about an image),
/// 409 → `Conflict`, transport failures (socket missing, connection refused, I/O, timeout) →
/// `Unavailable` naming the socket, anything else → `Backend` with the daemon's message.
fn map_error(err: BollardError, subject: Subject<'_>, socket: &str) -> EngineError {
    match err {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => {
            let message = message.trim();
            match subject {
                Subject::Image(image) => EngineError::ImageNotFound {
                    image: image.to_string(),
                },
                Subject::NewContainer { image, .. }
                    if message.to_ascii_lowercase().contains("no such image") =>
                {
                    EngineError::ImageNotFound {
                        image: image.to_string(),
                    }
                }
                // The call's own object ("No such container: web", "get v: no such volume",
                // "network n not found").
                _ if is_about(message, subject) => EngineError::NotFound {
                    what: subject.to_string(),
                },
                // Something else it refers to, e.g. starting a container whose network is gone
                // ("network foo not found").
                _ => EngineError::NotFound {
                    what: missing_object(message, subject),
                },
            }
        }
        BollardError::DockerResponseServerError {
            status_code: 409,
            message,
        } => EngineError::Conflict {
            message: message.trim().to_string(),
        },
        // Docker answers 403 for a network that still has endpoints: in use, like a 409.
        BollardError::DockerResponseServerError {
            status_code: 403,
            message,
        } if message.contains("active endpoints") => EngineError::Conflict {
            message: message.trim().to_string(),
        },
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => {
            let message = message.trim();
            EngineError::Backend {
                message: if message.is_empty() {
                    format!("{subject}: Docker daemon answered HTTP {status_code}")
                } else {
                    message.to_string()
                },
            }
        }
        BollardError::DockerStreamError { error } => EngineError::Backend { message: error },
        e @ (BollardError::SocketNotFoundError(_)
        | BollardError::IOError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::RequestTimeoutError) => EngineError::Unavailable {
            message: format!(
                "cannot talk to the Docker daemon at unix://{socket} ({e}); is dockerd running \
                 and is the socket readable by this user? Set DOCKER_HOST=unix://PATH for \
                 another socket"
            ),
        },
        e => EngineError::Backend {
            message: format!("{subject}: {e}"),
        },
    }
}

/// `{"label": [...]}`, or no filter at all when `labels` is empty.
fn label_filters(labels: &[String]) -> HashMap<String, Vec<String>> {
    let mut filters = HashMap::new();
    if !labels.is_empty() {
        filters.insert("label".to_string(), labels.to_vec());
    }
    filters
}

/// Our state for Docker's word. `stopping` (newer daemons) is still running; an unknown word is
/// reported as `Dead` so that callers treat the container as unusable rather than healthy.
fn parse_state(s: &str) -> ContainerState {
    ContainerState::parse(s).unwrap_or(if s == "stopping" {
        ContainerState::Running
    } else {
        ContainerState::Dead
    })
}

/// The health `docker ps` shows in its status text: `Up 3 seconds (healthy)`,
/// `Up 1 second (health: starting)`, `Up 2 minutes (unhealthy)`.
fn health_from_status(status: &str) -> Health {
    if status.contains("(health: starting)") {
        Health::Starting
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(healthy)") {
        Health::Healthy
    } else {
        Health::None
    }
}

/// The exit code in a `docker ps` status text (`Exited (3) 2 seconds ago`).
fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.trim().parse().ok()
}

/// Unix seconds of an RFC 3339 timestamp as the daemon writes them
/// (`2024-05-01T10:20:30.123456789Z`, or with a `+HH:MM` offset).
fn unix_seconds(s: &str) -> Option<i64> {
    let num = |from: usize, to: usize| s.get(from..to)?.parse::<i64>().ok();
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn to_labels(map: Option<HashMap<String, String>>) -> Labels {
    map.unwrap_or_default().into_iter().collect()
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// `Some(v)` unless `v` is empty: Docker treats an absent list like an empty one, and absent
/// fields keep the request readable in the daemon's debug log.
fn non_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn non_empty_map(
    m: &std::collections::BTreeMap<String, String>,
) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The published ports of a `NetworkSettings.Ports` map (`"80/tcp": [{HostIp, HostPort}]`).
fn ports_from_map(map: Option<PortMap>) -> Vec<PublishedPort> {
    let mut ports = Vec::new();
    for (key, bindings) in map.unwrap_or_default() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        let bindings = bindings.unwrap_or_default();
        if bindings.is_empty() {
            // Exposed, not published.
            ports.push(PublishedPort {
                host_ip: String::new(),
                host_port: 0,
                container_port,
                protocol: protocol.to_string(),
            });
        }
        for b in bindings {
            let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            ports.push(PublishedPort {
                host_ip: b.host_ip.unwrap_or_default(),
                host_port,
                container_port,
                protocol: protocol.to_string(),
            });
        }
    }
    ports.sort_by(|a, b| {
        (a.container_port, &a.protocol, &a.host_ip, a.host_port).cmp(&(
            b.container_port,
            &b.protocol,
            &b.host_ip,
            b.host_port,
        ))
    });
    ports
}

fn info_from_summary(c: ContainerSummary) -> ContainerInfo {
    let status_text = c.status.unwrap_or_default();
    let state = parse_state(c.state.as_ref().map(|s| s.as_ref()).unwrap_or(""));
    // Newer daemons report health in the list; API 1.41 only in the status text.
    let health = match c.health.and_then(|h| h.status) {
        Some(ContainerSummaryHealthStatusEnum::STARTING) => Health::Starting,
        Some(ContainerSummaryHealthStatusEnum::HEALTHY) => Health::Healthy,
        Some(ContainerSummaryHealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
        _ => health_from_status(&status_text),
    };
    let exit_code = match state {
        ContainerState::Exited | ContainerState::Dead => exit_code_from_status(&status_text),
        _ => Some(0),
    };
    let mut ports: Vec<PublishedPort> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| PublishedPort {
            host_ip: p.ip.unwrap_or_default(),
            host_port: p.public_port.unwrap_or(0),
            container_port: p.private_port,
            protocol: p
                .typ
                .map(|t| t.as_ref().to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "tcp".to_string()),
        })
        .collect();
    ports.sort_by(|a, b| {
        (a.container_port, &a.protocol, &a.host_ip, a.host_port).cmp(&(
            b.container_port,
            &b.protocol,
            &b.host_ip,
            b.host_port,
        ))
    });
    let name = c
        .names
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        image_id: c.image_id.filter(|i| !i.is_empty()),
        labels: to_labels(c.labels),
        state,
        health,
        exit_code,
        last_health_output: None,
        status_text,
        created: c.created.unwrap_or(0),
        ports,
        command: c.command.unwrap_or_default(),
        networks: {
            let mut n: Vec<String> = c
                .network_settings
                .and_then(|n| n.networks)
                .map(|n| n.into_keys().collect())
                .unwrap_or_default();
            n.sort();
            n
        },
        mounts: c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(mount_summary)
            .collect(),
        stop_timeout: None,
    }
}

/// A mount point as `ps` shows it: the volume name, else the host path.
fn mount_summary(m: bollard::models::MountPoint) -> MountSummary {
    let name = m
        .name
        .filter(|n| !n.is_empty())
        .or(m.source)
        .unwrap_or_default();
    MountSummary {
        local_volume: m.driver.as_deref() == Some("local"),
        name,
        target: m.destination.unwrap_or_default(),
        volume: m.typ.as_deref() == Some("volume"),
    }
}

/// From `docker inspect`: health from `State.Health`, the last probe's output, the exit code
/// and the image id (`Image`; the reference it was created from is `Config.Image`). Inspect has
/// no `docker ps` status text, so `status_text` is left empty.
fn info_from_inspect(c: ContainerInspectResponse) -> ContainerInfo {
    let st = c.state.unwrap_or_default();
    let state = parse_state(st.status.as_ref().map(|s| s.as_ref()).unwrap_or(""));
    let (health, last_health_output) = match st.health {
        Some(h) => {
            let health = match h.status {
                Some(HealthStatusEnum::STARTING) => Health::Starting,
                Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
                Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
                _ => Health::None,
            };
            let output = h
                .log
                .unwrap_or_default()
                .pop()
                .map(|r| r.output.unwrap_or_default().trim().to_string());
            (health, output)
        }
        None => (Health::None, None),
    };
    let config = c.config.unwrap_or_default();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        image_id: c.image.filter(|i| !i.is_empty()),
        labels: to_labels(config.labels),
        state,
        health,
        exit_code: Some(st.exit_code.unwrap_or(0)),
        last_health_output,
        status_text: String::new(),
        created: c.created.as_deref().and_then(unix_seconds).unwrap_or(0),
        command: std::iter::once(c.path.unwrap_or_default())
            .chain(c.args.unwrap_or_default())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        networks: {
            let nets = c
                .network_settings
                .as_ref()
                .and_then(|n| n.networks.as_ref());
            let mut n: Vec<String> = nets
                .map(|n| n.keys().cloned().collect())
                .unwrap_or_default();
            n.sort();
            n
        },
        ports: ports_from_map(c.network_settings.and_then(|n| n.ports)),
        mounts: c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(mount_summary)
            .collect(),
        stop_timeout: config
            .stop_timeout
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs),
    }
}

/// `ExposedPorts` keys for `expose:` entries: `80` → `80/tcp`, ranges `8000-8002/udp` expanded
/// (as `docker run --expose` does; the daemon does not expand them itself).
fn expose_keys(entry: &str, out: &mut Vec<String>) {
    let (ports, proto) = entry.split_once('/').unwrap_or((entry, "tcp"));
    let proto = if proto.is_empty() { "tcp" } else { proto };
    if let Some((lo, hi)) = ports.split_once('-') {
        if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
            for p in lo..=hi {
                out.push(format!("{p}/{proto}"));
            }
            return;
        }
    }
    out.push(format!("{}/{proto}", ports.trim()));
}

/// The endpoint of one attachment: its aliases and, when fixed, its addresses.
fn endpoint(att: &NetworkAttachment) -> EndpointSettings {
    let ipam_config =
        (att.ipv4_address.is_some() || att.ipv6_address.is_some()).then(|| EndpointIpamConfig {
            ipv4_address: att.ipv4_address.clone(),
            ipv6_address: att.ipv6_address.clone(),
            ..Default::default()
        });
    EndpointSettings {
        aliases: non_empty(&att.aliases),
        ipam_config,
        ..Default::default()
    }
}

/// Maps a mount. Docker Compose semantics: a volume with an empty source is anonymous, `nocopy`
/// goes to `VolumeOptions`, a tmpfs size to `TmpfsOptions`. Bind sources are created (when
/// `create_host_path`) by [`create_bind_sources`] beforehand, since API 1.41 has no
/// `BindOptions.CreateMountpoint`.
fn docker_mount(m: &Mount) -> DockerMount {
    let source = (!m.source.is_empty()).then(|| m.source.clone());
    let mut out = DockerMount {
        target: Some(m.target.clone()),
        read_only: m.read_only.then_some(true),
        ..Default::default()
    };
    match m.kind {
        MountKind::Volume => {
            out.typ = Some(MountType::VOLUME);
            out.source = source;
            if m.no_copy {
                out.volume_options = Some(MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                });
            }
        }
        MountKind::Bind => {
            out.typ = Some(MountType::BIND);
            // `BindOptions.CreateMountpoint` needs API 1.42+: left unset, see above.
            out.source = source;
            if let Some(p) = &m.propagation {
                out.bind_options = Some(MountBindOptions {
                    propagation: p.parse().ok(),
                    ..Default::default()
                });
            }
        }
        MountKind::Tmpfs => {
            out.typ = Some(MountType::TMPFS);
            if m.tmpfs_size.is_some() || m.tmpfs_mode.is_some() {
                out.tmpfs_options = Some(MountTmpfsOptions {
                    size_bytes: m.tmpfs_size,
                    mode: m.tmpfs_mode.map(i64::from),
                    ..Default::default()
                });
            }
        }
    }
    out
}

/// Creates the missing host directories of bind mounts marked `create_host_path`, as Docker
/// Compose does (the daemon is local: we only speak to unix sockets).
fn create_bind_sources(spec: &ContainerSpec) -> EngineResult<()> {
    for m in &spec.mounts {
        if m.kind == MountKind::Bind && m.create_host_path && !m.source.is_empty() {
            let path = Path::new(&m.source);
            if !path.exists() {
                std::fs::create_dir_all(path).map_err(|e| EngineError::Backend {
                    message: format!(
                        "cannot create bind mount source {} for container {}: {e}",
                        m.source, spec.name
                    ),
                })?;
            }
        }
    }
    Ok(())
}

/// The create request of a container, the way Docker Compose builds it. Returns the body and
/// the attachments to connect after creation (API 1.41 accepts one endpoint at create time).
fn create_body(spec: &ContainerSpec) -> (ContainerCreateBody, &[NetworkAttachment]) {
    // Ports: both `expose:` and published ports are exposed; bindings are grouped per port.
    let mut exposed = Vec::new();
    for e in &spec.expose {
        expose_keys(e, &mut exposed);
    }
    let mut bindings: PortMap = HashMap::new();
    for p in &spec.ports {
        let proto = if p.protocol.is_empty() {
            "tcp"
        } else {
            p.protocol.as_str()
        };
        let key = format!("{}/{proto}", p.container_port);
        exposed.push(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(DockerPortBinding {
                host_ip: (!p.host_ip.is_empty()).then(|| p.host_ip.clone()),
                host_port: (!p.host_port.is_empty()).then(|| p.host_port.clone()),
            });
    }
    let mut seen = std::collections::HashSet::new();
    exposed.retain(|k| seen.insert(k.clone()));

    let restart_policy = match &spec.restart {
        RestartPolicy::No => DockerRestart {
            name: Some(RestartPolicyNameEnum::NO),
            ..Default::default()
        },
        RestartPolicy::Always => DockerRestart {
            name: Some(RestartPolicyNameEnum::ALWAYS),
            ..Default::default()
        },
        RestartPolicy::UnlessStopped => DockerRestart {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            ..Default::default()
        },
        RestartPolicy::OnFailure(max) => DockerRestart {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: max.map(i64::from),
        },
    };

    let log_config =
        (spec.log_driver.is_some() || !spec.log_options.is_empty()).then(|| HostConfigLogConfig {
            typ: spec.log_driver.clone(),
            config: non_empty_map(&spec.log_options),
        });

    // Networks: an explicit mode wins (host, none, container:..., service:... resolved by the
    // caller); otherwise the first attachment is the mode and the only create-time endpoint.
    let (network_mode, networking_config, rest): (
        Option<String>,
        Option<NetworkingConfig>,
        &[NetworkAttachment],
    ) = match (&spec.network_mode, spec.networks.split_first()) {
        (Some(mode), _) => (Some(mode.clone()), None, &[]),
        (None, Some((first, rest))) => {
            let endpoints = HashMap::from([(first.network.clone(), endpoint(first))]);
            (
                Some(first.network.clone()),
                Some(NetworkingConfig {
                    endpoints_config: Some(endpoints),
                }),
                rest,
            )
        }
        (None, None) => (None, None, &[]),
    };

    let host_config = HostConfig {
        auto_remove: spec.auto_remove.then_some(true),
        init: spec.init,
        privileged: Some(spec.privileged),
        readonly_rootfs: Some(spec.read_only),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        security_opt: non_empty(&spec.security_opt),
        extra_hosts: non_empty(&spec.extra_hosts),
        dns: non_empty(&spec.dns),
        dns_search: non_empty(&spec.dns_search),
        restart_policy: Some(restart_policy),
        memory: spec.mem_limit,
        nano_cpus: spec.nano_cpus,
        pids_limit: spec.pids_limit,
        shm_size: spec.shm_size,
        sysctls: non_empty_map(&spec.sysctls),
        ulimits: (!spec.ulimits.is_empty()).then(|| {
            spec.ulimits
                .iter()
                .map(|(name, soft, hard)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        }),
        log_config,
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        // The service-level `tmpfs:` key goes to `HostConfig.Tmpfs` with its raw options, as
        // Docker Compose does; everything else (secrets and configs from files too) to
        // `Mounts`.
        mounts: non_empty(
            &spec
                .mounts
                .iter()
                .filter(|m| m.tmpfs_options.is_none())
                .map(docker_mount)
                .chain(files::file_mounts(&spec.files))
                .collect::<Vec<_>>(),
        ),
        tmpfs: {
            let tmpfs: HashMap<String, String> = spec
                .mounts
                .iter()
                .filter_map(|m| Some((m.target.clone(), m.tmpfs_options.clone()?)))
                .collect();
            (!tmpfs.is_empty()).then_some(tmpfs)
        },
        volumes_from: non_empty(&spec.volumes_from),
        network_mode,
        ..Default::default()
    };

    // Healthcheck durations are nanoseconds; `None` leaves the image's value (0 = inherit).
    let healthcheck = spec.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: h.interval.map(nanos),
        timeout: h.timeout.map(nanos),
        start_period: h.start_period.map(nanos),
        // Ignored by daemons older than API 1.44.
        start_interval: h.start_interval.map(nanos),
        retries: h.retries.map(|r| i64::try_from(r).unwrap_or(i64::MAX)),
    });

    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(
            spec.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        env: Some(spec.env.clone()),
        // `None` keeps the image's; `Some([])` is sent as an explicit empty list.
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        domainname: spec.domainname.clone(),
        tty: Some(spec.tty),
        open_stdin: Some(spec.stdin_open),
        attach_stdin: spec.stdin_once.then_some(true),
        stdin_once: spec.stdin_once.then_some(true),
        healthcheck,
        stop_signal: spec.stop_signal.clone(),
        // Whole seconds, truncated like Compose does.
        stop_timeout: spec
            .stop_timeout
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    };
    (body, rest)
}

/// `(image, tag)` for `POST /images/create`: the tag is what follows the last `:` unless that
/// `:` belongs to a registry port (`127.0.0.1:5000/app`); no tag means `latest`; a digest
/// reference (`app@sha256:...`) is passed whole, without a tag.
fn split_reference(reference: &str) -> (&str, Option<&str>) {
    if reference.contains('@') {
        return (reference, None);
    }
    match reference.rfind(':') {
        Some(i) if !reference[i + 1..].contains('/') => {
            (&reference[..i], Some(&reference[i + 1..]))
        }
        _ => (reference, Some("latest")),
    }
}

/// A client timeout for requests that last as long as a container does (wait, follow).
const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { 0 } else { i32::MAX })
}

/// Writes to our own stdout/stderr, flushing every chunk (interactive output).
fn write_local(stream: StdStream, bytes: &[u8]) {
    use std::io::Write;
    let _ = match stream {
        StdStream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        StdStream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        }
    };
}

/// Reads our stdin on a plain thread (blocking reads) into a channel; an empty chunk is EOF.
/// The thread may stay blocked in `read` after the exec ends; the process exit ends it.
fn stdin_pump() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let _ = std::thread::Builder::new()
        .name("exec-stdin".into())
        .spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.blocking_send(Vec::new());
                        return;
                    }
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    rx
}

impl DockerEngine {
    /// One exec: created, started attached (or detached), its output written to our stdio
    /// (`capture: None`, with stdin forwarded and raw mode for a TTY) or collected, then its
    /// exit code read from the daemon.
    async fn exec_run(
        &self,
        id: &str,
        spec: &ExecSpec,
        mut capture: Option<&mut ExecOutput>,
    ) -> EngineResult<i64> {
        let interactive = capture.is_none() && !spec.detach;
        let config = CreateExecOptions::<String> {
            attach_stdin: Some(interactive),
            attach_stdout: Some(!spec.detach),
            attach_stderr: Some(!spec.detach),
            tty: Some(spec.tty),
            env: non_empty(&spec.env),
            cmd: Some(spec.cmd.clone()),
            privileged: Some(spec.privileged),
            user: spec.user.clone(),
            working_dir: spec.working_dir.clone(),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(self.err(Subject::Container(id)))?;
        let exec_id = created.id;
        let docker = self.docker.clone().with_timeout(NO_TIMEOUT);
        let started = docker
            .start_exec(
                &exec_id,
                Some(StartExecOptions {
                    detach: spec.detach,
                    tty: spec.tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(self.err(Subject::Container(id)))?;
        let (mut output, mut input) = match started {
            StartExecResults::Detached => return Ok(0),
            StartExecResults::Attached { output, input } => (output, input),
        };
        // Raw mode only around the attached session; restored by drop on every path.
        let _raw = if interactive && spec.tty {
            tty::RawMode::enable()
        } else {
            None
        };
        if spec.tty && interactive {
            if let Some((rows, cols)) = tty::window_size() {
                let _ = self
                    .docker
                    .resize_exec(
                        &exec_id,
                        bollard::exec::ResizeExecOptions {
                            height: rows,
                            width: cols,
                        },
                    )
                    .await;
            }
        }
        let mut stdin = interactive.then(stdin_pump);
        loop {
            tokio::select! {
                item = output.next() => match item {
                    None => break,
                    Some(Ok(chunk)) => {
                        let (stream, bytes) = match chunk {
                            LogOutput::StdErr { message } => (StdStream::Stderr, message),
                            other => (StdStream::Stdout, other.into_bytes()),
                        };
                        match capture.as_deref_mut() {
                            Some(out) => match stream {
                                StdStream::Stdout => out.stdout.extend_from_slice(&bytes),
                                StdStream::Stderr => out.stderr.extend_from_slice(&bytes),
                            },
                            None => write_local(stream, &bytes),
                        }
                    }
                    Some(Err(e)) => return Err(map_error(e, Subject::Container(id), &self.socket)),
                },
                chunk = recv_stdin(&mut stdin) => {
                    use tokio::io::AsyncWriteExt;
                    if chunk.is_empty() {
                        // EOF: close the command's stdin, keep reading its output.
                        let _ = input.shutdown().await;
                        stdin = None;
                    } else if input.write_all(&chunk).await.is_err() {
                        stdin = None;
                    }
                }
            }
        }
        drop(_raw);
        // The output ends when the process does; its exit code may lag a little.
        let start = std::time::Instant::now();
        loop {
            let inspect = self
                .docker
                .inspect_exec(&exec_id)
                .await
                .map_err(self.err(Subject::Container(id)))?;
            if inspect.running != Some(true) || start.elapsed() > Duration::from_secs(10) {
                return inspect.exit_code.ok_or_else(|| EngineError::Backend {
                    message: format!("exec in container {id}: the daemon gave no exit code"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl DockerEngine {
    /// `start_attached`: attach (stdin only when asked), start, resize a TTY, pump stdin and
    /// output until the output ends, then read the exit code with a wait (the container has
    /// been started, so `not-running` cannot return early).
    async fn run_attached(&self, id: &str, spec: &AttachSpec) -> EngineResult<i64> {
        let options = AttachContainerOptionsBuilder::new()
            .stream(true)
            .stdin(spec.stdin)
            .stdout(true)
            .stderr(true)
            .build();
        let docker = self.docker.clone().with_timeout(NO_TIMEOUT);
        let attached = docker
            .attach_container(id, Some(options))
            .await
            .map_err(self.err(Subject::Container(id)))?;
        let (mut output, mut input) = (attached.output, attached.input);
        self.start_container(id).await?;
        // Raw mode only around the attached session; restored by drop on every path.
        let raw = if spec.stdin && spec.tty {
            tty::RawMode::enable()
        } else {
            None
        };
        if spec.tty {
            if let Some((rows, cols)) = tty::window_size() {
                let _ = self.resize_tty(id, rows, cols).await;
            }
        }
        let mut stdin = spec.stdin.then(stdin_pump);
        loop {
            tokio::select! {
                item = output.next() => match item {
                    None => break,
                    Some(Ok(LogOutput::StdErr { message })) => write_local(StdStream::Stderr, &message),
                    Some(Ok(other)) => write_local(StdStream::Stdout, &other.into_bytes()),
                    Some(Err(e)) => {
                        drop(raw);
                        return Err(map_error(e, Subject::Container(id), &self.socket));
                    }
                },
                chunk = recv_stdin(&mut stdin) => {
                    use tokio::io::AsyncWriteExt;
                    if chunk.is_empty() {
                        // EOF: close the container's stdin (`stdin_once`), keep its output.
                        let _ = input.shutdown().await;
                        stdin = None;
                    } else if input.write_all(&chunk).await.is_err() {
                        stdin = None;
                    }
                }
            }
        }
        drop(raw);
        self.wait_container(id).await
    }
}

/// The next stdin chunk, or never when stdin is not forwarded (any more).
async fn recv_stdin(rx: &mut Option<tokio::sync::mpsc::Receiver<Vec<u8>>>) -> Vec<u8> {
    match rx {
        Some(r) => r.recv().await.unwrap_or_default(),
        None => std::future::pending().await,
    }
}

impl Engine for DockerEngine {
    async fn list_containers(&self, filter: &[String]) -> EngineResult<Vec<ContainerInfo>> {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&label_filters(filter))
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(self.err(Subject::Daemon))?;
        Ok(list.into_iter().map(info_from_summary).collect())
    }

    async fn inspect_container(&self, id: &str) -> EngineResult<ContainerInfo> {
        let c = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(self.err(Subject::Container(id)))?;
        Ok(info_from_inspect(c))
    }

    /// Creates the container on its first network, then connects the others and copies in
    /// its `environment:`/`content:` secrets and configs; if one of those steps fails the
    /// container is removed again, so that a failed create leaves nothing.
    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        create_bind_sources(spec)?;
        let (body, rest) = create_body(spec);
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let subject = Subject::NewContainer {
            name: &spec.name,
            image: &spec.image,
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(self.err(subject))?;
        let id = created.id;
        for att in rest {
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(endpoint(att)),
            };
            if let Err(e) = self.docker.connect_network(&att.network, request).await {
                let err = map_error(e, Subject::Network(&att.network), &self.socket);
                let _ = self.remove_container(&id, true, true).await;
                return Err(err);
            }
        }
        if let Err(e) = self.inject_files(&id, &spec.files).await {
            let _ = self.remove_container(&id, true, true).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> EngineResult<()> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    /// `t` is whole seconds (truncated, as Compose does). The request itself may last as long as
    /// the grace period, so it gets a longer client timeout than bollard's default.
    async fn stop_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        let options = StopContainerOptionsBuilder::new()
            .t(whole_secs(timeout))
            .build();
        self.outlasting(timeout)
            .stop_container(id, Some(options))
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn kill_container(&self, id: &str, signal: &str) -> EngineResult<()> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        self.docker
            .kill_container(id, Some(options))
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn remove_container(&self, id: &str, force: bool, volumes: bool) -> EngineResult<()> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(force)
            .v(volumes)
            .build();
        self.docker
            .remove_container(id, Some(options))
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn rename_container(&self, id: &str, name: &str) -> EngineResult<()> {
        let options = RenameContainerOptionsBuilder::new().name(name).build();
        self.docker
            .rename_container(id, options)
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn pause_container(&self, id: &str) -> EngineResult<()> {
        self.docker
            .pause_container(id)
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn unpause_container(&self, id: &str) -> EngineResult<()> {
        self.docker
            .unpause_container(id)
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    /// Like `stop_container`: whole seconds, and a client timeout beyond the grace period.
    async fn restart_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        let options = RestartContainerOptionsBuilder::new()
            .t(whole_secs(timeout))
            .build();
        self.outlasting(timeout)
            .restart_container(id, Some(options))
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    /// The daemon's default `ps` arguments (`-ef`), as `docker top` and Compose use.
    async fn top(&self, id: &str) -> EngineResult<ProcessList> {
        let top = self
            .docker
            .top_processes(id, None::<TopOptions>)
            .await
            .map_err(self.err(Subject::Container(id)))?;
        Ok(ProcessList {
            titles: top.titles.unwrap_or_default(),
            processes: top.processes.unwrap_or_default(),
        })
    }

    /// The API's `since`/`until` are 32-bit here (bollard); times beyond 2038 saturate.
    fn logs<'a>(&'a self, id: &str, opts: &LogOptions) -> LogChunks<'a> {
        let tail = opts
            .tail
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        let mut options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(opts.follow)
            .timestamps(opts.timestamps)
            .tail(&tail);
        if let Some(since) = opts.since {
            options = options.since(clamp_i32(since));
        }
        if let Some(until) = opts.until {
            options = options.until(clamp_i32(until));
        }
        let id = id.to_string();
        let socket = self.socket.clone();
        let stream = self.docker.logs(&id, Some(options.build()));
        Box::pin(stream.map(move |item| match item {
            Ok(LogOutput::StdErr { message }) => Ok(LogChunk {
                stream: StdStream::Stderr,
                bytes: message.to_vec(),
            }),
            Ok(other) => Ok(LogChunk {
                stream: StdStream::Stdout,
                bytes: other.into_bytes().to_vec(),
            }),
            Err(e) => Err(map_error(e, Subject::Container(&id), &socket)),
        }))
    }

    async fn exec(&self, id: &str, spec: &ExecSpec) -> EngineResult<i64> {
        self.exec_run(id, spec, None).await
    }

    async fn exec_output(&self, id: &str, spec: &ExecSpec) -> EngineResult<ExecOutput> {
        let mut out = ExecOutput::default();
        out.exit_code = self.exec_run(id, spec, Some(&mut out)).await?;
        Ok(out)
    }

    /// `condition=not-running`: returns at once for a stopped container. bollard reports a
    /// non-zero exit as an error; that is turned back into the code.
    async fn wait_container(&self, id: &str) -> EngineResult<i64> {
        let options = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let docker = self.docker.clone().with_timeout(NO_TIMEOUT);
        let mut stream = docker.wait_container(id, Some(options));
        match stream.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            Some(Err(BollardError::DockerContainerWaitError { error, code })) => {
                if error.is_empty() {
                    Ok(code)
                } else {
                    Err(EngineError::Backend {
                        message: format!("waiting for container {id}: {error}"),
                    })
                }
            }
            Some(Err(e)) => Err(map_error(e, Subject::Container(id), &self.socket)),
            None => Err(EngineError::Backend {
                message: format!("waiting for container {id}: the daemon gave no exit code"),
            }),
        }
    }

    async fn start_attached(&self, id: &str, spec: &AttachSpec) -> EngineResult<i64> {
        self.run_attached(id, spec).await
    }

    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> EngineResult<()> {
        let options = ResizeContainerTTYOptions {
            h: i32::from(rows),
            w: i32::from(cols),
        };
        self.docker
            .resize_container_tty(id, options)
            .await
            .map_err(self.err(Subject::Container(id)))
    }

    async fn list_networks(&self, filter: &[String]) -> EngineResult<Vec<NetworkInfo>> {
        let options = ListNetworksOptionsBuilder::new()
            .filters(&label_filters(filter))
            .build();
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(self.err(Subject::Daemon))?;
        Ok(list
            .into_iter()
            .map(|n| NetworkInfo {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                labels: to_labels(n.labels),
            })
            .collect())
    }

    /// Docker resolves `name` as an id, a name or an id prefix, in that order; only a network
    /// actually called `name` counts.
    async fn find_network(&self, name: &str) -> EngineResult<Option<NetworkInfo>> {
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(n) if n.name.as_deref() == Some(name) => Ok(Some(NetworkInfo {
                id: n.id.unwrap_or_default(),
                name: name.to_string(),
                labels: to_labels(n.labels),
            })),
            Ok(_) => Ok(None),
            Err(e) => match map_error(e, Subject::Network(name), &self.socket) {
                EngineError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// API 1.41 creates a second network with an existing name (it only warns), so an existing
    /// name is reported as `Conflict`, checked before and, against races, after the creation.
    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<String> {
        if let Some(existing) = self.find_network(&spec.name).await? {
            return Err(EngineError::Conflict {
                message: format!(
                    "network with name {} already exists (id {})",
                    spec.name, existing.id
                ),
            });
        }
        let ipam = (spec.ipam_driver.is_some() || !spec.ipam_pools.is_empty()).then(|| Ipam {
            driver: spec.ipam_driver.clone(),
            config: Some(
                spec.ipam_pools
                    .iter()
                    .map(|(subnet, gateway, ip_range)| IpamConfig {
                        subnet: Some(subnet.clone()),
                        gateway: gateway.clone(),
                        ip_range: ip_range.clone(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            options: None,
        });
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: spec.driver.clone(),
            internal: Some(spec.internal),
            attachable: Some(spec.attachable),
            enable_ipv6: spec.enable_ipv6,
            options: non_empty_map(&spec.driver_opts),
            labels: Some(
                spec.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ipam,
            ..Default::default()
        };
        let created = self
            .docker
            .create_network(request)
            .await
            .map_err(self.err(Subject::Network(&spec.name)))?;
        if created.warning.contains("already exists") {
            let _ = self.docker.remove_network(&created.id).await;
            return Err(EngineError::Conflict {
                message: created.warning,
            });
        }
        Ok(created.id)
    }

    async fn remove_network(&self, name: &str) -> EngineResult<()> {
        self.docker
            .remove_network(name)
            .await
            .map_err(self.err(Subject::Network(name)))
    }

    async fn list_volumes(&self, filter: &[String]) -> EngineResult<Vec<VolumeInfo>> {
        let options = ListVolumesOptionsBuilder::new()
            .filters(&label_filters(filter))
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(self.err(Subject::Daemon))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })
            .collect())
    }

    async fn find_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => Ok(Some(VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })),
            Err(e) => match map_error(e, Subject::Volume(name), &self.socket) {
                EngineError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> EngineResult<()> {
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: spec.driver.clone(),
            driver_opts: non_empty_map(&spec.driver_opts),
            labels: Some(
                spec.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(self.err(Subject::Volume(&spec.name)))
    }

    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        let options = RemoveVolumeOptionsBuilder::new().force(false).build();
        self.docker
            .remove_volume(name, Some(options))
            .await
            .map_err(self.err(Subject::Volume(name)))
    }

    async fn image_id(&self, reference: &str) -> EngineResult<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id.filter(|i| !i.is_empty())),
            Err(e) => match map_error(e, Subject::Image(reference), &self.socket) {
                EngineError::ImageNotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Pulls with the daemon's own registry configuration (no credentials are sent); the
    /// progress stream is drained and its first error item returned.
    async fn pull_image(&self, reference: &str, progress: PullProgress<'_>) -> EngineResult<()> {
        let (image, tag) = split_reference(reference);
        let mut options = CreateImageOptionsBuilder::new().from_image(image);
        if let Some(tag) = tag {
            options = options.tag(tag);
        }
        let mut stream = self.docker.create_image(Some(options.build()), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(self.err(Subject::Image(reference)))?;
            if let Some(detail) = info.error_detail {
                return Err(EngineError::Backend {
                    message: detail
                        .message
                        .unwrap_or_else(|| format!("pulling image {reference} failed")),
                });
            }
            // Layer statuses carry a progress detail (maybe empty); messages such as
            // `Pulling from` or `Digest:` do not (Compose's filter).
            if let (Some(id), Some(status), Some(detail)) =
                (&info.id, &info.status, &info.progress_detail)
            {
                progress(LayerProgress {
                    layer: id.clone(),
                    phase: LayerPhase::from_text(status),
                    current: detail.current.unwrap_or(0).max(0) as u64,
                    total: detail.total.unwrap_or(0).max(0) as u64,
                });
            }
        }
        Ok(())
    }

    async fn inspect_image(&self, reference: &str) -> EngineResult<Option<ImageInfo>> {
        self.image_inspect(reference).await
    }

    async fn remove_image(&self, reference: &str, force: bool) -> EngineResult<Vec<ImageDeleted>> {
        let options = bollard::query_parameters::RemoveImageOptions {
            force,
            noprune: false,
            platforms: None,
        };
        let items = self
            .docker
            .remove_image(reference, Some(options), None)
            .await
            .map_err(self.err(Subject::Image(reference)))?;
        Ok(deleted_items(items))
    }

    async fn prune_images(&self, which: PruneImages) -> EngineResult<ImagePruneReport> {
        let dangling = match which {
            PruneImages::Dangling => "true",
            PruneImages::Unused => "false",
        };
        let filters = HashMap::from([("dangling".to_string(), vec![dangling.to_string()])]);
        let options = bollard::query_parameters::PruneImagesOptions {
            filters: Some(filters),
        };
        let report = self
            .docker
            .prune_images(Some(options))
            .await
            .map_err(self.err(Subject::Daemon))?;
        Ok(ImagePruneReport {
            deleted: deleted_items(report.images_deleted.unwrap_or_default()),
            reclaimed: report.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn stat_path(&self, id: &str, path: &str) -> EngineResult<Option<PathStat>> {
        self.archive_stat(id, path).await
    }

    fn copy_from<'a>(&'a self, id: &str, path: &str) -> ByteChunks<'a> {
        self.archive_get(id, path)
    }

    async fn copy_to(
        &self,
        id: &str,
        dir: &str,
        tar: TarUpload,
        owner: Ownership,
    ) -> EngineResult<()> {
        self.archive_put(id, dir, tar, owner).await
    }

    fn stats<'a>(&'a self, id: &str, stream: bool) -> StatsSamples<'a> {
        self.stats_stream(id, stream)
    }

    fn build_image<'a>(&'a self, spec: &BuildSpec, context: TarUpload) -> BuildEvents<'a> {
        self.build_stream(spec, context)
    }

    fn events<'a>(&'a self, filter: &EventFilter) -> EngineEvents<'a> {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        if !filter.labels.is_empty() {
            filters.insert("label".into(), filter.labels.clone());
        }
        if !filter.kinds.is_empty() {
            let kinds = filter
                .kinds
                .iter()
                .map(|k| k.as_str().to_string())
                .collect();
            filters.insert("type".into(), kinds);
        }
        let options = bollard::query_parameters::EventsOptions {
            since: filter.since.map(|t| t.to_string()),
            until: filter.until.map(|t| t.to_string()),
            filters: (!filters.is_empty()).then_some(filters),
        };
        // The stream lasts as long as the caller follows it: no client timeout.
        let stream = self
            .docker
            .clone()
            .with_timeout(NO_TIMEOUT)
            .events(Some(options));
        let socket = self.socket.clone();
        Box::pin(stream.filter_map(move |item| {
            let out = match item {
                Ok(msg) => engine_event(msg).map(Ok),
                Err(e) => Some(Err(map_error(e, Subject::Daemon, &socket))),
            };
            std::future::ready(out)
        }))
    }
}

/// A stop timeout in whole seconds, as the API takes it (truncated, as Compose does).
fn whole_secs(timeout: Duration) -> i32 {
    i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX)
}

/// A Docker event as our own type (`None` for one without a type or actor).
fn engine_event(msg: bollard::models::EventMessage) -> Option<EngineEvent> {
    use bollard::models::EventMessageTypeEnum as T;
    let (typ, actor) = (msg.typ?, msg.actor?);
    let kind = match typ {
        T::CONTAINER => EventKind::Container,
        T::NETWORK => EventKind::Network,
        T::VOLUME => EventKind::Volume,
        T::IMAGE => EventKind::Image,
        other => EventKind::Other(other.to_string()),
    };
    Some(EngineEvent {
        time_nanos: msg
            .time_nano
            .or_else(|| msg.time.map(|t| t.saturating_mul(1_000_000_000)))
            .unwrap_or_default(),
        kind,
        action: msg.action.unwrap_or_default(),
        id: actor.id.unwrap_or_default(),
        attributes: actor.attributes.unwrap_or_default().into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2024-02-29T12:34:56.123456789Z"),
            Some(1_709_210_096)
        );
        assert_eq!(
            unix_seconds("2024-02-29T13:34:56+01:00"),
            Some(1_709_210_096)
        );
        assert_eq!(unix_seconds("garbage"), None);
    }

    #[test]
    fn references() {
        assert_eq!(split_reference("busybox"), ("busybox", Some("latest")));
        assert_eq!(split_reference("a/b:1.2"), ("a/b", Some("1.2")));
        assert_eq!(
            split_reference("127.0.0.1:1/none"),
            ("127.0.0.1:1/none", Some("latest"))
        );
        assert_eq!(
            split_reference("127.0.0.1:1/none:v"),
            ("127.0.0.1:1/none", Some("v"))
        );
        assert_eq!(split_reference("a@sha256:00"), ("a@sha256:00", None));
    }

    #[test]
    fn status_text() {
        assert_eq!(
            health_from_status("Up 3 seconds (healthy)"),
            Health::Healthy
        );
        assert_eq!(
            health_from_status("Up 1 second (health: starting)"),
            Health::Starting
        );
        assert_eq!(
            health_from_status("Up 2 minutes (unhealthy)"),
            Health::Unhealthy
        );
        assert_eq!(health_from_status("Up 2 minutes"), Health::None);
        assert_eq!(
            exit_code_from_status("Exited (137) 2 seconds ago"),
            Some(137)
        );
    }

    #[test]
    fn expose() {
        let mut out = Vec::new();
        expose_keys("80", &mut out);
        expose_keys("53/udp", &mut out);
        expose_keys("8000-8002", &mut out);
        assert_eq!(
            out,
            ["80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"]
        );
    }
}
