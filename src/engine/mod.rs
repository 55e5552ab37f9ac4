//! The engine boundary: a small async trait over what a container engine must do for the
//! reconciler, with our own types (never a backend's).
//!
//! Two backends implement it: [`docker`] (the Docker Engine API through bollard) and
//! [`embedded`], the daemonless engine. The CLI picks one with [`EngineKind`] and holds it in the
//! [`Backend`] enum (no `dyn`: the trait uses `async fn`). Errors are typed ([`EngineError`])
//! so that callers can tell a missing object from a conflict or an unreachable engine.

pub mod chunk_io;
pub mod docker;
pub mod embedded;
pub mod tty;
pub mod types;

pub use types::*;

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;

/// A container's output as it arrives (see [`Engine::logs`]).
pub type LogChunks<'a> = Pin<Box<dyn Stream<Item = EngineResult<LogChunk>> + Send + 'a>>;

/// The engine's events as they happen (see [`Engine::events`]).
pub type EngineEvents<'a> = Pin<Box<dyn Stream<Item = EngineResult<EngineEvent>> + Send + 'a>>;
/// Chunks of a tar stream read from the engine (see [`Engine::copy_from`]).
pub type ByteChunks<'a> = Pin<Box<dyn Stream<Item = EngineResult<Vec<u8>>> + Send + 'a>>;

/// Tar bytes sent to the engine (`cp` into a container, a build context); an `Err` item
/// aborts the transfer.
pub type TarUpload = Pin<Box<dyn Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static>>;

/// A container's resource usage samples (see [`Engine::stats`]).
pub type StatsSamples<'a> = Pin<Box<dyn Stream<Item = EngineResult<StatsSample>> + Send + 'a>>;

/// What a build reports as it goes (see [`Engine::build_image`]).
pub type BuildEvents<'a> = Pin<Box<dyn Stream<Item = EngineResult<BuildOutput>> + Send + 'a>>;

/// Which backend runs the containers (`--engine`, `RCOMPOSE_ENGINE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EngineKind {
    /// rcompose's own daemonless engine (root only for now).
    #[default]
    Embedded,
    /// A Docker Engine, through its API socket (`DOCKER_HOST` or /var/run/docker.sock).
    Docker,
}

/// An engine error, typed by what the caller may do about it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("conflict: {message}")]
    Conflict { message: String },
    #[error("image {image} not found")]
    ImageNotFound { image: String },
    #[error("engine unavailable: {message}")]
    Unavailable { message: String },
    #[error("{message}")]
    Backend { message: String },
}

pub type EngineResult<T> = Result<T, EngineError>;

/// What the reconciler needs from a container engine. Every method is one engine operation;
/// none of them waits for health or ordering, which is the executor's job.
#[allow(async_fn_in_trait)]
pub trait Engine {
    /// Containers (running or not) carrying every label of `filter` (`key=value` or `key`).
    async fn list_containers(&self, filter: &[String]) -> EngineResult<Vec<ContainerInfo>>;
    async fn inspect_container(&self, id: &str) -> EngineResult<ContainerInfo>;
    /// Creates the container and returns its id.
    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String>;
    async fn start_container(&self, id: &str) -> EngineResult<()>;
    /// Sends the stop signal, waits up to `timeout`, then SIGKILL.
    async fn stop_container(&self, id: &str, timeout: Duration) -> EngineResult<()>;
    async fn kill_container(&self, id: &str, signal: &str) -> EngineResult<()>;
    /// Removes the container; `volumes` also removes its anonymous volumes.
    async fn remove_container(&self, id: &str, force: bool, volumes: bool) -> EngineResult<()>;
    async fn rename_container(&self, id: &str, name: &str) -> EngineResult<()>;
    /// Freezes every process of a running container.
    async fn pause_container(&self, id: &str) -> EngineResult<()>;
    async fn unpause_container(&self, id: &str) -> EngineResult<()>;
    /// Stops (stop signal, `timeout`, then SIGKILL) and starts again.
    async fn restart_container(&self, id: &str, timeout: Duration) -> EngineResult<()>;
    /// The container's processes, as `ps -ef` shows them.
    async fn top(&self, id: &str) -> EngineResult<ProcessList>;
    /// The container's output (stdout and stderr told apart), from the start or the last
    /// `tail` lines; with `follow` the stream stays open until the container stops or the
    /// stream is dropped.
    fn logs<'a>(&'a self, id: &str, opts: &LogOptions) -> LogChunks<'a>;
    /// Runs a command in a running container with its output on our stdout/stderr and our
    /// stdin forwarded to it; with `tty` and a terminal on stdin, the terminal is put in raw
    /// mode for the duration. Returns the command's exit code (0 for `detach`).
    async fn exec(&self, id: &str, spec: &ExecSpec) -> EngineResult<i64>;
    /// Runs a command in a running container (no stdin) and returns its captured output.
    async fn exec_output(&self, id: &str, spec: &ExecSpec) -> EngineResult<ExecOutput>;
    /// Waits until the container is not running and returns its exit code.
    async fn wait_container(&self, id: &str) -> EngineResult<i64>;
    /// Attaches our stdout/stderr (and stdin with `spec.stdin`) to a created container, starts
    /// it, writes its output as it comes until it ends, and returns its exit code. Attaching
    /// comes before starting, so no output is lost; EOF on our stdin closes the container's
    /// (when created with `stdin_once`). The container is left as it ends (not removed).
    async fn start_attached(&self, id: &str, spec: &AttachSpec) -> EngineResult<i64>;
    /// Gives the container's TTY a new size (`rows` x `cols`).
    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> EngineResult<()>;

    async fn list_networks(&self, filter: &[String]) -> EngineResult<Vec<NetworkInfo>>;
    /// The network called `name`, if any (also one not created by compose).
    async fn find_network(&self, name: &str) -> EngineResult<Option<NetworkInfo>>;
    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<String>;
    async fn remove_network(&self, name: &str) -> EngineResult<()>;

    async fn list_volumes(&self, filter: &[String]) -> EngineResult<Vec<VolumeInfo>>;
    async fn find_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>>;
    async fn create_volume(&self, spec: &VolumeSpec) -> EngineResult<()>;
    async fn remove_volume(&self, name: &str) -> EngineResult<()>;

    /// The local image's id (`sha256:...`), `None` when it is not present.
    async fn image_id(&self, reference: &str) -> EngineResult<Option<String>>;
    /// Pulls `reference` (the platform of this machine), reporting each layer's progress to
    /// `progress` as it goes.
    async fn pull_image(&self, reference: &str, progress: PullProgress<'_>) -> EngineResult<()>;
    /// Removes the name `reference`, or the image when it is an id (Docker's `image rm`): a
    /// name that is not the image's last one is only untagged; an image a container uses
    /// (running or not) is refused with a [`EngineError::Conflict`] in Docker's words unless
    /// `force` (never for a running container); a missing one is
    /// [`EngineError::ImageNotFound`]. Returns what was untagged and deleted.
    async fn remove_image(&self, reference: &str, force: bool) -> EngineResult<Vec<ImageDeleted>>;
    /// Removes the images `which` selects that no container uses, and the layers only they
    /// held.
    async fn prune_images(&self, which: PruneImages) -> EngineResult<ImagePruneReport>;

    /// The engine's events matching `filter`, from `filter.since` (or now) on, until
    /// `filter.until` or until the stream is dropped.
    fn events<'a>(&'a self, filter: &EventFilter) -> EngineEvents<'a>;
    /// The local image `reference` (a name or an id), `None` when it is not present.
    async fn inspect_image(&self, reference: &str) -> EngineResult<Option<ImageInfo>>;
    /// What `path` is in the container, `None` when it does not exist.
    async fn stat_path(&self, id: &str, path: &str) -> EngineResult<Option<PathStat>>;
    /// A tar of `path` in the container, its entries rooted at the path's base name (`.` for
    /// a path ending in `/.`: the directory's contents).
    fn copy_from<'a>(&'a self, id: &str, path: &str) -> ByteChunks<'a>;
    /// Extracts `tar` into the existing directory `dir` of the container.
    async fn copy_to(
        &self,
        id: &str,
        dir: &str,
        tar: TarUpload,
        owner: Ownership,
    ) -> EngineResult<()>;
    /// Resource usage: one sample (`stream` false), or one a second until the stream is
    /// dropped or the container goes away.
    fn stats<'a>(&'a self, id: &str, stream: bool) -> StatsSamples<'a>;
    /// Builds (and tags) an image from a context tar.
    fn build_image<'a>(&'a self, spec: &BuildSpec, context: TarUpload) -> BuildEvents<'a>;
}

/// The backend chosen for this run.
pub enum Backend {
    Docker(docker::DockerEngine),
    Embedded(embedded::engine::EmbeddedEngine),
}

impl Backend {
    /// Connects to the engine of `kind`.
    pub async fn connect(kind: EngineKind) -> EngineResult<Self> {
        match kind {
            EngineKind::Docker => Ok(Backend::Docker(docker::DockerEngine::connect().await?)),
            EngineKind::Embedded => {
                Ok(Backend::Embedded(embedded::engine::EmbeddedEngine::open()?))
            }
        }
    }
}

macro_rules! delegate {
    ($self:ident, $e:ident => $call:expr) => {
        match $self {
            Backend::Docker($e) => $call.await,
            Backend::Embedded($e) => $call.await,
        }
    };
}

impl Engine for Backend {
    async fn list_containers(&self, filter: &[String]) -> EngineResult<Vec<ContainerInfo>> {
        delegate!(self, e => e.list_containers(filter))
    }
    async fn inspect_container(&self, id: &str) -> EngineResult<ContainerInfo> {
        delegate!(self, e => e.inspect_container(id))
    }
    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        delegate!(self, e => e.create_container(spec))
    }
    async fn start_container(&self, id: &str) -> EngineResult<()> {
        delegate!(self, e => e.start_container(id))
    }
    async fn stop_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        delegate!(self, e => e.stop_container(id, timeout))
    }
    async fn kill_container(&self, id: &str, signal: &str) -> EngineResult<()> {
        delegate!(self, e => e.kill_container(id, signal))
    }
    async fn remove_container(&self, id: &str, force: bool, volumes: bool) -> EngineResult<()> {
        delegate!(self, e => e.remove_container(id, force, volumes))
    }
    async fn rename_container(&self, id: &str, name: &str) -> EngineResult<()> {
        delegate!(self, e => e.rename_container(id, name))
    }
    async fn pause_container(&self, id: &str) -> EngineResult<()> {
        delegate!(self, e => e.pause_container(id))
    }
    async fn unpause_container(&self, id: &str) -> EngineResult<()> {
        delegate!(self, e => e.unpause_container(id))
    }
    async fn restart_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        delegate!(self, e => e.restart_container(id, timeout))
    }
    async fn top(&self, id: &str) -> EngineResult<ProcessList> {
        delegate!(self, e => e.top(id))
    }
    fn logs<'a>(&'a self, id: &str, opts: &LogOptions) -> LogChunks<'a> {
        match self {
            Backend::Docker(e) => e.logs(id, opts),
            Backend::Embedded(e) => e.logs(id, opts),
        }
    }
    async fn exec(&self, id: &str, spec: &ExecSpec) -> EngineResult<i64> {
        delegate!(self, e => e.exec(id, spec))
    }
    async fn exec_output(&self, id: &str, spec: &ExecSpec) -> EngineResult<ExecOutput> {
        delegate!(self, e => e.exec_output(id, spec))
    }
    async fn wait_container(&self, id: &str) -> EngineResult<i64> {
        delegate!(self, e => e.wait_container(id))
    }
    async fn start_attached(&self, id: &str, spec: &AttachSpec) -> EngineResult<i64> {
        delegate!(self, e => e.start_attached(id, spec))
    }
    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> EngineResult<()> {
        delegate!(self, e => e.resize_tty(id, rows, cols))
    }
    async fn list_networks(&self, filter: &[String]) -> EngineResult<Vec<NetworkInfo>> {
        delegate!(self, e => e.list_networks(filter))
    }
    async fn find_network(&self, name: &str) -> EngineResult<Option<NetworkInfo>> {
        delegate!(self, e => e.find_network(name))
    }
    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<String> {
        delegate!(self, e => e.create_network(spec))
    }
    async fn remove_network(&self, name: &str) -> EngineResult<()> {
        delegate!(self, e => e.remove_network(name))
    }
    async fn list_volumes(&self, filter: &[String]) -> EngineResult<Vec<VolumeInfo>> {
        delegate!(self, e => e.list_volumes(filter))
    }
    async fn find_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>> {
        delegate!(self, e => e.find_volume(name))
    }
    async fn create_volume(&self, spec: &VolumeSpec) -> EngineResult<()> {
        delegate!(self, e => e.create_volume(spec))
    }
    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        delegate!(self, e => e.remove_volume(name))
    }
    async fn image_id(&self, reference: &str) -> EngineResult<Option<String>> {
        delegate!(self, e => e.image_id(reference))
    }
    async fn pull_image(&self, reference: &str, progress: PullProgress<'_>) -> EngineResult<()> {
        delegate!(self, e => e.pull_image(reference, progress))
    }
    async fn remove_image(&self, reference: &str, force: bool) -> EngineResult<Vec<ImageDeleted>> {
        delegate!(self, e => e.remove_image(reference, force))
    }
    async fn prune_images(&self, which: PruneImages) -> EngineResult<ImagePruneReport> {
        delegate!(self, e => e.prune_images(which))
    }
    fn events<'a>(&'a self, filter: &EventFilter) -> EngineEvents<'a> {
        match self {
            Backend::Docker(e) => e.events(filter),
            Backend::Embedded(e) => e.events(filter),
        }
    }
    async fn inspect_image(&self, reference: &str) -> EngineResult<Option<ImageInfo>> {
        delegate!(self, e => e.inspect_image(reference))
    }
    async fn stat_path(&self, id: &str, path: &str) -> EngineResult<Option<PathStat>> {
        delegate!(self, e => e.stat_path(id, path))
    }
    fn copy_from<'a>(&'a self, id: &str, path: &str) -> ByteChunks<'a> {
        match self {
            Backend::Docker(e) => e.copy_from(id, path),
            Backend::Embedded(e) => e.copy_from(id, path),
        }
    }
    async fn copy_to(
        &self,
        id: &str,
        dir: &str,
        tar: TarUpload,
        owner: Ownership,
    ) -> EngineResult<()> {
        delegate!(self, e => e.copy_to(id, dir, tar, owner))
    }
    fn stats<'a>(&'a self, id: &str, stream: bool) -> StatsSamples<'a> {
        match self {
            Backend::Docker(e) => e.stats(id, stream),
            Backend::Embedded(e) => e.stats(id, stream),
        }
    }
    fn build_image<'a>(&'a self, spec: &BuildSpec, context: TarUpload) -> BuildEvents<'a> {
        match self {
            Backend::Docker(e) => e.build_image(spec, context),
            Backend::Embedded(e) => e.build_image(spec, context),
        }
    }
}
