//! Engine-neutral descriptions of containers, networks and volumes: what the reconciler asks
//! an engine to create ([`ContainerSpec`], [`NetworkSpec`], [`VolumeSpec`]) and what it reads
//! back ([`ContainerInfo`], [`NetworkInfo`], [`VolumeInfo`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub type Labels = BTreeMap<String, String>;

/// A container's lifecycle state, as engines report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    /// Docker's word for the state (`docker ps`, `compose ps` STATE column).
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => ContainerState::Created,
            "running" => ContainerState::Running,
            "paused" => ContainerState::Paused,
            "restarting" => ContainerState::Restarting,
            "removing" => ContainerState::Removing,
            "exited" => ContainerState::Exited,
            "dead" => ContainerState::Dead,
            _ => return None,
        })
    }
}

/// A container's health, `None` when it has no healthcheck.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// What an engine knows of one container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// The image reference it was created from.
    pub image: String,
    /// The image id it runs (`sha256:...`), when known.
    pub image_id: Option<String>,
    pub labels: Labels,
    pub state: ContainerState,
    pub health: Health,
    /// Exit code of the last run (0 while running).
    pub exit_code: Option<i64>,
    /// Output of the last healthcheck probe, for error messages.
    pub last_health_output: Option<String>,
    /// `docker ps`-style status text (`Up 3 seconds (healthy)`), when the engine gives one.
    pub status_text: String,
    /// Unix seconds.
    pub created: i64,
    /// Published ports, and exposed ones that are not published (`host_port` 0, no address).
    pub ports: Vec<PublishedPort>,
    /// The command line as the engine shows it (`docker ps`'s COMMAND, untruncated).
    pub command: String,
    /// Names of the networks it is attached to, sorted.
    pub networks: Vec<String>,
    /// Its mounts, in the engine's order.
    pub mounts: Vec<MountSummary>,
    /// The stop timeout it was created with (`stop_grace_period`), when known (inspect only).
    pub stop_timeout: Option<Duration>,
}

/// One mount as `ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSummary {
    /// The volume name, or the host path for a bind mount.
    pub name: String,
    /// A volume of the `local` driver (counted in `ps`'s `LocalVolumes`).
    pub local_volume: bool,
    /// Where it is mounted in the container.
    pub target: String,
    /// A volume (not a bind or tmpfs).
    pub volume: bool,
}

/// A port as the engine reports it (published or only exposed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// `restart:` of a service.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    OnFailure(Option<u32>),
}

/// One network a container joins, with its DNS aliases.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct NetworkAttachment {
    /// The engine-level network name (`<project>_default`).
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
}

/// A port to publish.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: String,
    /// Empty: every address.
    pub host_ip: String,
    /// Empty: an ephemeral port; may be a range `8000-8010`.
    pub host_port: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MountKind {
    #[default]
    Volume,
    Bind,
    Tmpfs,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub kind: MountKind,
    /// Volume name (empty for an anonymous volume) or host path; empty for tmpfs.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// `volume.nocopy`.
    pub no_copy: bool,
    /// `bind.create_host_path` (compose creates missing bind sources by default).
    pub create_host_path: bool,
    pub tmpfs_size: Option<i64>,
    /// `tmpfs.mode` of the long syntax (Docker's default: 1777).
    #[serde(default)]
    pub tmpfs_mode: Option<u32>,
    /// The raw options of the service-level `tmpfs:` key (`/run:size=64k,mode=700,exec`):
    /// `Some` for those, which Docker Compose passes as `HostConfig.Tmpfs`, `None` for the
    /// long syntax.
    #[serde(default)]
    pub tmpfs_options: Option<String>,
    /// `bind.propagation` (`rprivate`, `private`, `rshared`, `shared`, `rslave`, `slave`);
    /// `None`: Docker's default, `rprivate` for binds.
    #[serde(default)]
    pub propagation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u64>,
}

/// Everything needed to create one container.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: Labels,
    /// `None`: the image's; `Some(vec![])`: explicitly empty.
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value` (or bare `KEY` to unset).
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub tty: bool,
    pub stdin_open: bool,
    /// Close the container's stdin when the attached client closes its end (`run`: EOF on
    /// our stdin reaches the command).
    pub stdin_once: bool,
    /// The engine removes the container when it exits (`run --rm -d`).
    pub auto_remove: bool,
    pub init: Option<bool>,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    /// `network_mode` when it is not a list of networks (`host`, `none`, `container:<id>`).
    pub network_mode: Option<String>,
    /// The first is joined at create time, the others after.
    pub networks: Vec<NetworkAttachment>,
    pub ports: Vec<PortBinding>,
    pub expose: Vec<String>,
    pub mounts: Vec<Mount>,
    /// `volumes_from`, resolved to containers: `<container name or id>[:ro|:rw]`.
    #[serde(default)]
    pub volumes_from: Vec<String>,
    pub healthcheck: Option<Healthcheck>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<Duration>,
    pub restart: RestartPolicy,
    pub mem_limit: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    pub shm_size: Option<i64>,
    pub sysctls: BTreeMap<String, String>,
    pub ulimits: Vec<(String, i64, i64)>,
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    /// The service's secrets and configs, at their final targets.
    #[serde(default)]
    pub files: Vec<InjectedFile>,
}

/// Whether an [`InjectedFile`] is a secret or a config (for messages and defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    Secret,
    Config,
}

impl FileKind {
    /// `secret` or `config`, as Docker Compose's messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Secret => "secret",
            FileKind::Config => "config",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret or config a container sees as a file at `target`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InjectedFile {
    pub kind: FileKind,
    /// The secret's or config's key in the project.
    pub name: String,
    /// Absolute and lexically clean (`/run/secrets/db`).
    pub target: String,
    pub source: FileSource,
}

/// Where an injected file's bytes come from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FileSource {
    /// A host file (`file:`), bind-mounted read-only; Docker Compose ignores `uid`, `gid` and
    /// `mode` for these (the host file's own owner and mode show through).
    HostFile(PathBuf),
    /// Bytes the engine writes for the container (`environment:`, `content:`).
    Content(FileContent),
}

/// The bytes of an `environment:` or `content:` secret or config, with the owner and mode the
/// file gets in the container.
///
/// The bytes are never serialized (an engine that keeps records on disk stores them in a file
/// of their own, readable by root only) and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FileContent {
    #[serde(skip)]
    pub data: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (Docker Compose's default: 0444).
    pub mode: u32,
}

impl fmt::Debug for FileContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileContent")
            .field(
                "data",
                &format_args!("<{} bytes redacted>", self.data.len()),
            )
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("mode", &format_args!("{:#o}", self.mode))
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetworkSpec {
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: Option<bool>,
    pub labels: Labels,
    pub ipam_driver: Option<String>,
    /// `(subnet, gateway, ip_range)`.
    pub ipam_pools: Vec<(String, Option<String>, Option<String>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub labels: Labels,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct VolumeSpec {
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: Labels,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: Labels,
}

/// Which output stream a log or exec chunk came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StdStream {
    Stdout,
    Stderr,
}

/// A piece of a container's output, as the engine delivers it (usually one line, with its
/// newline; a TTY container's output is all `Stdout`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogChunk {
    pub stream: StdStream,
    pub bytes: Vec<u8>,
}

/// What `logs` reads.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Keep the stream open and deliver new output until the container stops.
    pub follow: bool,
    /// Only the last N lines (`None`: all).
    pub tail: Option<u64>,
    /// Only output at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only output before this time (Unix seconds).
    pub until: Option<i64>,
    /// Prefix every line with its RFC 3339 timestamp (the engine's format).
    pub timestamps: bool,
}

/// A command to run in a running container (`exec`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExecSpec {
    pub cmd: Vec<String>,
    /// `KEY=value`.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub privileged: bool,
    /// Allocate a pseudo-terminal (output is then one stream).
    pub tty: bool,
    /// Start it and return at once (exit code 0) without attaching.
    pub detach: bool,
}

/// What `exec_output` captured.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// `top`: the column titles and one row per process, as `ps` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProcessList {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// How [`super::Engine::start_attached`] connects our standard streams to a container.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AttachSpec {
    /// Forward our stdin to the container (it must have been created with `stdin_open`).
    pub stdin: bool,
    /// The container has a TTY: with a terminal on our stdin, it is put in raw mode for the
    /// duration and its size is given to the container's TTY.
    pub tty: bool,
}

/// What kind of object an engine event is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    Container,
    Network,
    Volume,
    Image,
    /// Any other kind the engine reports (its own word).
    Other(String),
}

impl EventKind {
    /// The engine's word for it (`container`, `network`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Container => "container",
            EventKind::Network => "network",
            EventKind::Volume => "volume",
            EventKind::Image => "image",
            EventKind::Other(s) => s,
        }
    }
}

/// One thing that happened in the engine (`create`, `start`, `die`,
/// `health_status: healthy`, ...), as the events stream reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineEvent {
    /// When, in nanoseconds since the Unix epoch.
    pub time_nanos: i64,
    pub kind: EventKind,
    /// The engine's action word (`start`, `die`, `health_status: healthy`, ...).
    pub action: String,
    /// The object's id (a container id for container events).
    pub id: String,
    /// The actor's attributes: for containers their labels, `name`, `image`, `exitCode`.
    pub attributes: BTreeMap<String, String>,
}

/// Which events to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventFilter {
    /// `key=value` labels the object must carry (all of them).
    pub labels: Vec<String>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<EventKind>,
    /// Replay events from this time on (Unix seconds), then keep following.
    pub since: Option<i64>,
    /// Stop at this time (Unix seconds).
    pub until: Option<i64>,
}

/// One line of an image removal, as Docker reports it (`Untagged: busybox:1`,
/// `Deleted: sha256:...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageDeleted {
    /// A name no longer points at the image.
    Untagged(String),
    /// An image id, or a layer the removal freed.
    Deleted(String),
}

impl std::fmt::Display for ImageDeleted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageDeleted::Untagged(n) => write!(f, "Untagged: {n}"),
            ImageDeleted::Deleted(id) => write!(f, "Deleted: {id}"),
        }
    }
}

/// Which images an image prune removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneImages {
    /// Images no name points at (and no container uses): Docker's default.
    Dangling,
    /// Every image no container uses (`-a`).
    Unused,
}

/// What an image prune removed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ImagePruneReport {
    pub deleted: Vec<ImageDeleted>,
    /// Bytes freed.
    pub reclaimed: u64,
}

/// What an engine knows of one local image (`images`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ImageInfo {
    /// `sha256:...`.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Bytes.
    pub size: i64,
    /// RFC 3339, as the engine writes it (empty when unknown).
    pub created: String,
    /// When it was last tagged locally (RFC 3339; empty or `0001-01-01T00:00:00Z` when never).
    pub last_tag_time: String,
    /// `created` and `last_tag_time` in Unix seconds (`None`: unknown or never).
    pub created_unix: Option<i64>,
    pub last_tag_unix: Option<i64>,
    pub os: String,
    pub architecture: String,
    pub variant: String,
    /// The paths its config declares as volumes (`VOLUME`), which a recreated container
    /// takes over from the one it replaces (Compose).
    pub volumes: Vec<String>,
}

/// A layer's phase during a pull, in dockerd's words (Compose prints them under the service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerPhase {
    /// Present locally: nothing to fetch.
    AlreadyExists,
    /// Queued for download.
    PullingFsLayer,
    /// Waiting for another layer (dockerd's `Waiting`).
    Waiting,
    /// Bytes arriving (`current` of `total`).
    Downloading,
    VerifyingChecksum,
    DownloadComplete,
    /// Being unpacked (`current` of `total` compressed bytes read).
    Extracting,
    PullComplete,
    /// Any other status an engine reports for a layer (`Retrying in 5 seconds`...).
    Other(String),
}

impl LayerPhase {
    /// The status text, as dockerd writes it.
    pub fn text(&self) -> &str {
        match self {
            LayerPhase::AlreadyExists => "Already exists",
            LayerPhase::PullingFsLayer => "Pulling fs layer",
            LayerPhase::Waiting => "Waiting",
            LayerPhase::Downloading => "Downloading",
            LayerPhase::VerifyingChecksum => "Verifying Checksum",
            LayerPhase::DownloadComplete => "Download complete",
            LayerPhase::Extracting => "Extracting",
            LayerPhase::PullComplete => "Pull complete",
            LayerPhase::Other(s) => s,
        }
    }

    /// The phase for dockerd's status text.
    pub fn from_text(s: &str) -> LayerPhase {
        match s {
            "Already exists" => LayerPhase::AlreadyExists,
            "Pulling fs layer" => LayerPhase::PullingFsLayer,
            "Waiting" => LayerPhase::Waiting,
            "Downloading" => LayerPhase::Downloading,
            "Verifying Checksum" => LayerPhase::VerifyingChecksum,
            "Download complete" => LayerPhase::DownloadComplete,
            "Extracting" => LayerPhase::Extracting,
            "Pull complete" => LayerPhase::PullComplete,
            other => LayerPhase::Other(other.to_string()),
        }
    }
}

/// One step of one layer of a pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerProgress {
    /// The layer's short id: the first 12 hex digits of its blob digest.
    pub layer: String,
    pub phase: LayerPhase,
    /// Bytes done and in all (0 when the phase has no count).
    pub current: u64,
    pub total: u64,
}

/// Where a pull reports its layers' progress (see [`super::Engine::pull_image`]).
pub type PullProgress<'a> = &'a (dyn Fn(LayerProgress) + Send + Sync);

/// No progress wanted.
pub fn no_pull_progress(_: LayerProgress) {}

/// A path in a container, as the engine stats it before a copy (`cp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathStat {
    /// The base name.
    pub name: String,
    pub size: i64,
    pub kind: PathKind,
    /// A symbolic link's target (empty otherwise).
    pub link_target: String,
}

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    File,
    Directory,
    Symlink,
    /// Devices, sockets, pipes.
    Other,
}

/// How a tar is extracted into a container (`cp SRC SERVICE:DEST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ownership {
    /// Files belong to the container's root user (`docker cp` without `-a`).
    #[default]
    ContainerRoot,
    /// Keep the uid/gid recorded in the tar (`-a/--archive`).
    Preserve,
}

/// One sample of a container's resource usage, the raw counters as the engine reports them;
/// the CLI derives `docker stats`'s percentages from them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StatsSample {
    /// Total CPU time of the container (ns), now and at the previous sample.
    pub cpu_total: u64,
    pub precpu_total: u64,
    /// Host CPU time (ns), now and at the previous sample.
    pub system_cpu: u64,
    pub presystem_cpu: u64,
    /// CPUs online (0 when the engine did not say; then `percpu_count`).
    pub online_cpus: u32,
    pub percpu_count: u32,
    pub memory_usage: u64,
    pub memory_limit: u64,
    /// The cgroup memory counters (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
    pub memory_stats: BTreeMap<String, u64>,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// An image build (`build`, `up --build`): the context is sent as a tar.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BuildSpec {
    /// The tag of the built image.
    pub tag: String,
    /// The Dockerfile's path inside the context tar.
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub labels: Labels,
    pub target: Option<String>,
    pub network: Option<String>,
    pub extra_hosts: Vec<String>,
    pub shm_size: Option<i64>,
    pub no_cache: bool,
    /// Always try to pull a newer version of the base images.
    pub pull: bool,
    /// Suppress the builder's step output.
    pub quiet: bool,
}

/// What a build reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildOutput {
    /// Builder output (step lines, command output), with its newlines.
    Text(String),
    /// The built image's id.
    ImageId(String),
}
