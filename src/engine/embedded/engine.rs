//! [`EmbeddedEngine`]: the [`Engine`] trait on the embedded engine. Each method is a short
//! blocking job on tokio's blocking pool over the state directory and the shims' sockets
//! (see [`super::containers`]); logs and events are files followed by polling.
//!
//! Not yet on this engine (each returns a clear error): network drivers other than `bridge`.
//! `build` is the classic builder of [`super::build`].

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;

use super::containers::{self as ct, backend};
use super::copy;
use super::copy_up;
use super::events;
use super::image_defaults;
use super::logs_reader;
use super::objects;
use super::record::{ContainerRecord, RunState};
use super::shim::protocol::{ExecRequest, ExecStdio, Reply, Request};
use super::state::StateRoot;
use super::store::gc::{ImageUser, RemoveError};
use super::store::images::{familiar_name, normalize_reference, ImageStore};
use super::terminal_relay;
use crate::engine::chunk_io::{ChannelReader, ChannelWriter};
use crate::engine::*;

/// The embedded engine of this process: the state directory it works on.
pub struct EmbeddedEngine {
    state: StateRoot,
    images: ImageStore,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> EngineResult<T> + Send + 'static,
) -> EngineResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Backend {
            message: format!("engine task failed: {e}"),
        })?
}

/// `network_mode` as the shim uses it: `host`, `none`, `container:<full id>` (a
/// `service:<name>` is the running container of that service in the same project), or
/// `None` for the container's own networks.
fn resolve_network_mode(st: &StateRoot, spec: &ContainerSpec) -> EngineResult<Option<String>> {
    let Some(mode) = spec.network_mode.as_deref() else {
        return Ok(None);
    };
    let target = if let Some(svc) = mode.strip_prefix("service:") {
        let project = spec
            .labels
            .get(crate::reconcile::container_spec::labels::PROJECT)
            .cloned()
            .unwrap_or_default();
        let (rec, _) = ct::all(st)?
            .into_iter()
            .filter(|(r, s)| {
                r.spec
                    .labels
                    .get(crate::reconcile::container_spec::labels::PROJECT)
                    == Some(&project)
                    && r.spec
                        .labels
                        .get(crate::reconcile::container_spec::labels::SERVICE)
                        .map(String::as_str)
                        == Some(svc)
                    && matches!(s.state, RunState::Running)
            })
            .min_by(|a, b| a.0.name.cmp(&b.0.name))
            .ok_or_else(|| EngineError::Backend {
                message: format!(
                    "{}: network_mode service:{svc}: no running container of service {svc}",
                    spec.name
                ),
            })?;
        rec.id
    } else if let Some(c) = mode.strip_prefix("container:") {
        ct::find(st, c)?.0.id
    } else {
        return match mode {
            "host" | "none" => Ok(Some(mode.to_string())),
            other => Err(EngineError::Backend {
                message: format!(
                    "{}: network_mode \"{other}\" is not supported by the embedded engine (host, none, service:<name>, container:<name>)",
                    spec.name
                ),
            }),
        };
    };
    Ok(Some(format!("container:{target}")))
}

impl EmbeddedEngine {
    /// Opens the state directory (root only for now: namespaces, cgroups and overlay mounts
    /// need it).
    pub fn open() -> EngineResult<Self> {
        if !nix::unistd::geteuid().is_root() {
            return Err(EngineError::Unavailable {
                message: "the embedded engine needs root (rootless mode is not supported yet); \
                          run as root or use --engine docker"
                    .into(),
            });
        }
        let state = StateRoot::open_default().map_err(|e| EngineError::Unavailable {
            message: format!("cannot open the state directory: {e}"),
        })?;
        ct::recover(&state);
        Ok(EmbeddedEngine {
            images: ImageStore::new(state.clone()),
            state,
        })
    }

    pub fn state(&self) -> &StateRoot {
        &self.state
    }

    fn st(&self) -> StateRoot {
        self.state.clone()
    }

    async fn record(&self, id: &str) -> EngineResult<ContainerRecord> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || ct::find(&st, &id).map(|(r, _)| r)).await
    }

    /// Runs `spec` in the container with `io`; returns the exit code (0 once started for
    /// `detach`).
    async fn exec_with(&self, id: &str, spec: &ExecSpec, io: ExecIo) -> EngineResult<i64> {
        let rec = self.record(id).await?;
        let mut env = spec.env.clone();
        if matches!(io, ExecIo::Terminal) && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        let stdio = match &io {
            ExecIo::Pipes(_) => ExecStdio::Pipes,
            ExecIo::Terminal => ExecStdio::Terminal {
                size: super::super::tty::window_size(),
            },
        };
        let req = Request::Exec(ExecRequest {
            args: spec.cmd.clone(),
            env,
            user: spec.user.clone(),
            working_dir: spec.working_dir.clone(),
            stdio,
            privileged: spec.privileged,
        });
        let (mut client, master) = blocking(move || {
            let Some(mut c) = ct::shim(&rec.id) else {
                return Err(EngineError::Conflict {
                    message: format!("container {} is not running", rec.id),
                });
            };
            match io {
                ExecIo::Pipes(fds) => {
                    let borrowed = [fds[0].as_fd(), fds[1].as_fd(), fds[2].as_fd()];
                    c.send(&req, &borrowed).map_err(backend)?;
                }
                ExecIo::Terminal => c.send(&req, &[]).map_err(backend)?,
            }
            match c
                .recv_with_fds(Some(Duration::from_secs(60)))
                .map_err(backend)?
            {
                (Reply::Started { .. }, mut fds) => {
                    let master = match stdio {
                        ExecStdio::Pipes => None,
                        ExecStdio::Terminal { .. } => {
                            Some(fds.pop().ok_or_else(|| EngineError::Backend {
                                message: "the supervisor sent no terminal for the exec".into(),
                            })?)
                        }
                    };
                    Ok((c, master))
                }
                (Reply::Error { message }, _) => Err(EngineError::Backend { message }),
                (other, _) => Err(unexpected(&other)),
            }
        })
        .await?;
        if spec.detach {
            return Ok(0);
        }
        let relay = match &master {
            Some(m) => Some((
                terminal_relay::Relay::start(m.try_clone().map_err(backend)?).map_err(backend)?,
                m,
            )),
            None => None,
        };
        let wait = blocking(move || match client.recv(None).map_err(backend)? {
            Reply::Exited { code } => Ok(code),
            Reply::Error { message } => Err(EngineError::Backend { message }),
            other => Err(unexpected(&other)),
        });
        let code = match &relay {
            Some((_, m)) => tokio::select! {
                r = wait => r,
                never = resize_on_winch(m.as_fd()) => match never {},
            },
            None => wait.await,
        };
        if let Some((r, _)) = relay {
            r.finish();
        }
        code
    }
}

/// How an exec'd process's streams reach the caller.
enum ExecIo {
    /// These three descriptors are its stdin, stdout and stderr.
    Pipes([OwnedFd; 3]),
    /// A terminal of its own, relayed to ours.
    Terminal,
}

fn unexpected(reply: &Reply) -> EngineError {
    EngineError::Backend {
        message: format!("unexpected reply from the supervisor: {reply:?}"),
    }
}

/// Gives `master` our terminal's size at every SIGWINCH, until dropped.
async fn resize_on_winch(master: std::os::fd::BorrowedFd<'_>) -> std::convert::Infallible {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut winch) = signal(SignalKind::window_change()) else {
        return std::future::pending().await;
    };
    loop {
        if winch.recv().await.is_none() {
            return std::future::pending().await;
        }
        if let Some((rows, cols)) = super::super::tty::window_size() {
            let _ = super::pty::set_window_size(master, rows, cols);
        }
    }
}

/// Every container of the store as an image user (read under the GC lock).
fn image_users(st: &StateRoot) -> EngineResult<Vec<ImageUser>> {
    Ok(ct::all(st)?
        .into_iter()
        .map(|(rec, status)| ImageUser {
            running: matches!(
                status.state,
                RunState::Running | RunState::Paused | RunState::Restarting
            ),
            container_id: rec.id,
            image_id: rec.image_id,
            lowers: rec.lowers,
        })
        .collect())
}

fn dup_std(fd: i32) -> EngineResult<OwnedFd> {
    // SAFETY: borrowing one of our standard descriptors to duplicate it.
    let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    b.try_clone_to_owned().map_err(backend)
}

fn devnull(write: bool) -> EngineResult<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .map_err(backend)?;
    Ok(f.into())
}

impl Engine for EmbeddedEngine {
    async fn list_containers(&self, filter: &[String]) -> EngineResult<Vec<ContainerInfo>> {
        let st = self.st();
        let filter = filter.to_vec();
        blocking(move || {
            Ok(ct::all(&st)?
                .iter()
                .filter(|(r, _)| ct::matches(r, &filter))
                .map(|(r, s)| ct::info(r, s))
                .collect())
        })
        .await
    }

    async fn inspect_container(&self, id: &str) -> EngineResult<ContainerInfo> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || ct::find(&st, &id).map(|(r, s)| ct::info(&r, &s))).await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        let st = self.st();
        let images = self.images.clone();
        let mut spec = spec.clone();
        blocking(move || {
            spec.network_mode = resolve_network_mode(&st, &spec)?;
            // No collection between resolving the image and the record naming its layers.
            let _gc = images.gc_shared().map_err(backend)?;
            let full = normalize_reference(&spec.image).unwrap_or_else(|| spec.image.clone());
            let image = images.resolve(&full).map_err(backend)?.ok_or_else(|| {
                EngineError::ImageNotFound {
                    image: spec.image.clone(),
                }
            })?;
            let lowers: Vec<PathBuf> = image
                .chain_ids
                .iter()
                .rev()
                .map(|c| images.layer_dir(c))
                .collect();
            let mut spec = spec;
            // What dockerd takes from the image's config: its healthcheck and volumes.
            let doc = super::build::image::ImageConfig::of_base(&images, &image);
            spec.healthcheck = image_defaults::merge_healthcheck(
                spec.healthcheck.take(),
                doc.config
                    .healthcheck
                    .as_ref()
                    .and_then(image_defaults::image_healthcheck),
            );
            let mut mount_sources = objects::mount_sources(&st, &spec.mounts)?;
            let mut populate = objects::volumes_to_populate(&spec.mounts, &mount_sources)?;
            let (inherited, sources) = objects::volumes_from(&st, &spec)?;
            spec.mounts.extend(inherited);
            mount_sources.extend(sources);
            let declared =
                image_defaults::image_volume_mounts(doc.config.volumes.keys(), &spec.mounts);
            let sources = objects::mount_sources(&st, &declared)?;
            populate.extend(objects::volumes_to_populate(&declared, &sources)?);
            spec.mounts.extend(declared);
            mount_sources.extend(sources);
            let lowers_for_copy = lowers.clone();
            let rec = ContainerRecord {
                id: String::new(),
                name: spec.name.clone(),
                created: events::now_nanos() / 1_000_000_000,
                hostname: spec.hostname.clone().unwrap_or_default(),
                image_ref: full,
                image_id: image.id.clone(),
                image_config: image.config.clone(),
                lowers,
                mount_sources,
                endpoints: Vec::new(),
                spec,
            };
            let id = ct::create(&st, rec)?;
            // Docker fills empty volumes from the image when the container is created.
            let rootfs = super::rootfs::RootfsPaths::in_container_dir(
                &super::record::ContainerPaths::new(&st, &id).dir,
            );
            if let Err(e) = copy_up::populate_volumes(&rootfs, &lowers_for_copy, &populate) {
                let _ = ct::remove(&st, &id, true);
                return Err(EngineError::Backend {
                    message: format!("cannot copy the image content into a volume: {e}"),
                });
            }
            Ok(id)
        })
        .await
    }

    async fn start_container(&self, id: &str) -> EngineResult<()> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || {
            ct::start(&st, &id)?;
            // The container runs: now make what was written for it durable.
            super::state::sync_deferred().map_err(backend)
        })
        .await
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || ct::stop(&st, &id, timeout)).await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> EngineResult<()> {
        let rec = self.record(id).await?;
        let signal = super::prepare::signal_number(signal).ok_or_else(|| EngineError::Backend {
            message: format!("invalid signal: {signal}"),
        })?;
        let st = self.st();
        blocking(move || {
            ct::simple(&rec.id, Request::Kill { signal }, "is not running")?;
            events::container_event(&st, &rec, "kill", &[("signal", signal.to_string())]);
            Ok(())
        })
        .await
    }

    async fn remove_container(&self, id: &str, force: bool, volumes: bool) -> EngineResult<()> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || {
            let (rec, _) = ct::find(&st, &id)?;
            ct::remove(&st, &rec.id, force)?;
            if volumes {
                objects::remove_anonymous_volumes(&st, &rec)?;
            }
            Ok(())
        })
        .await
    }

    async fn rename_container(&self, id: &str, name: &str) -> EngineResult<()> {
        let st = self.st();
        let (id, name) = (id.to_string(), name.to_string());
        blocking(move || ct::rename(&st, &id, &name)).await
    }

    async fn pause_container(&self, id: &str) -> EngineResult<()> {
        let rec = self.record(id).await?;
        blocking(move || ct::simple(&rec.id, Request::Pause, "is not running")).await
    }

    async fn unpause_container(&self, id: &str) -> EngineResult<()> {
        let rec = self.record(id).await?;
        blocking(move || ct::simple(&rec.id, Request::Resume, "is not paused")).await
    }

    async fn restart_container(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || {
            let (rec, _) = ct::find(&st, &id)?;
            ct::stop(&st, &rec.id, timeout)?;
            ct::start(&st, &rec.id)?;
            events::container_event(&st, &rec, "restart", &[]);
            Ok(())
        })
        .await
    }

    async fn top(&self, id: &str) -> EngineResult<ProcessList> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || {
            let (rec, s) = ct::find(&st, &id)?;
            if !matches!(s.state, RunState::Running | RunState::Paused) {
                return Err(EngineError::Conflict {
                    message: format!("container {} is not running", rec.id),
                });
            }
            let pids = super::runtime::cgroup_pids(&PathBuf::from(format!("/rcompose/{}", rec.id)));
            super::top::ps_ef(&pids)
        })
        .await
    }

    fn logs<'a>(&'a self, id: &str, opts: &LogOptions) -> LogChunks<'a> {
        logs_reader::stream(self.st(), id.to_string(), opts.clone())
    }

    async fn exec(&self, id: &str, spec: &ExecSpec) -> EngineResult<i64> {
        // With a terminal the process gets one of its own in the container (see
        // [`super::pty`]), never ours; our terminal is raw while we relay to it.
        let io = if spec.detach {
            ExecIo::Pipes([devnull(false)?, devnull(true)?, devnull(true)?])
        } else if spec.tty {
            ExecIo::Terminal
        } else {
            ExecIo::Pipes([dup_std(0)?, dup_std(1)?, dup_std(2)?])
        };
        let _raw = if matches!(io, ExecIo::Terminal) {
            super::super::tty::RawMode::enable()
        } else {
            None
        };
        self.exec_with(id, spec, io).await
    }

    async fn exec_output(&self, id: &str, spec: &ExecSpec) -> EngineResult<ExecOutput> {
        let (out_r, out_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| backend(e.into()))?;
        let (err_r, err_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| backend(e.into()))?;
        let read_all = |fd: OwnedFd| {
            std::thread::spawn(move || {
                use std::io::Read;
                let mut v = Vec::new();
                let _ = std::fs::File::from(fd).read_to_end(&mut v);
                v
            })
        };
        let (to, te) = (read_all(out_r), read_all(err_r));
        let mut spec = spec.clone();
        spec.detach = false;
        let code = self
            .exec_with(id, &spec, ExecIo::Pipes([devnull(false)?, out_w, err_w]))
            .await?;
        Ok(ExecOutput {
            exit_code: code,
            stdout: to.join().unwrap_or_default(),
            stderr: te.join().unwrap_or_default(),
        })
    }

    async fn wait_container(&self, id: &str) -> EngineResult<i64> {
        let st = self.st();
        let id = id.to_string();
        blocking(move || ct::wait(&st, &id)).await
    }

    async fn start_attached(&self, id: &str, spec: &AttachSpec) -> EngineResult<i64> {
        // Input goes to the init: without a terminal it reads our own stdin (a duplicate),
        // so our end of file is the command's, as with Docker's `stdin_once`; a `tty`
        // container's shim relays our stdin to the init's own terminal (see [`super::pty`]),
        // our terminal raw meanwhile.
        let stdin = if spec.stdin { Some(dup_std(0)?) } else { None };
        let _raw = if spec.tty {
            super::super::tty::RawMode::enable()
        } else {
            None
        };
        let st = self.st();
        let cid = id.to_string();
        blocking(move || {
            ct::start_with_stdin(&st, &cid, stdin)?;
            super::state::sync_deferred().map_err(backend)
        })
        .await?;
        if spec.tty {
            if let Some((rows, cols)) = super::super::tty::window_size() {
                // The container may already be gone: its size no longer matters then.
                let _ = self.resize_tty(id, rows, cols).await;
            }
        }
        // Output through the log: follow it to our stdout/stderr, return the exit code.
        let mut logs = self.logs(
            id,
            &LogOptions {
                follow: true,
                ..Default::default()
            },
        );
        use std::io::Write;
        while let Some(chunk) = logs.next().await {
            let chunk = chunk?;
            match chunk.stream {
                StdStream::Stdout => {
                    let mut o = std::io::stdout().lock();
                    let _ = o.write_all(&chunk.bytes);
                    let _ = o.flush();
                }
                StdStream::Stderr => {
                    let _ = std::io::stderr().write_all(&chunk.bytes);
                }
            }
        }
        self.wait_container(id).await
    }

    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> EngineResult<()> {
        let rec = self.record(id).await?;
        blocking(move || {
            let Some(mut c) = ct::shim(&rec.id) else {
                return Err(EngineError::Conflict {
                    message: format!("container {} is not running", rec.id),
                });
            };
            match c
                .call(
                    &Request::Resize { rows, cols },
                    Some(Duration::from_secs(10)),
                )
                .map_err(backend)?
            {
                Reply::Ok => Ok(()),
                Reply::Error { message } => Err(EngineError::Backend { message }),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    async fn list_networks(&self, filter: &[String]) -> EngineResult<Vec<NetworkInfo>> {
        let st = self.st();
        let filter = filter.to_vec();
        blocking(move || objects::list_networks(&st, &filter)).await
    }

    async fn find_network(&self, name: &str) -> EngineResult<Option<NetworkInfo>> {
        let st = self.st();
        let name = name.to_string();
        blocking(move || objects::find_network(&st, &name)).await
    }

    async fn create_network(&self, spec: &NetworkSpec) -> EngineResult<String> {
        let st = self.st();
        let spec = spec.clone();
        blocking(move || objects::create_network(&st, &spec)).await
    }

    async fn remove_network(&self, name: &str) -> EngineResult<()> {
        let st = self.st();
        let name = name.to_string();
        blocking(move || objects::remove_network(&st, &name)).await
    }

    async fn list_volumes(&self, filter: &[String]) -> EngineResult<Vec<VolumeInfo>> {
        let st = self.st();
        let filter = filter.to_vec();
        blocking(move || objects::list_volumes(&st, &filter)).await
    }

    async fn find_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>> {
        let st = self.st();
        let name = name.to_string();
        blocking(move || objects::find_volume(&st, &name)).await
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> EngineResult<()> {
        let st = self.st();
        let spec = spec.clone();
        blocking(move || objects::create_volume(&st, &spec)).await
    }

    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        let st = self.st();
        let name = name.to_string();
        blocking(move || objects::remove_volume(&st, &name)).await
    }

    async fn image_id(&self, reference: &str) -> EngineResult<Option<String>> {
        let images = self.images.clone();
        let r = normalize_reference(reference).unwrap_or_else(|| reference.to_string());
        blocking(move || Ok(images.resolve(&r).map_err(backend)?.map(|i| i.id))).await
    }

    async fn pull_image(&self, reference: &str, progress: PullProgress<'_>) -> EngineResult<()> {
        let events = |e: super::pull::PullEvent| {
            if let super::pull::PullEvent::Layer(l) = e {
                progress(l);
            }
        };
        match super::pull::pull(&self.images, reference, &events).await {
            Ok(_) => Ok(()),
            Err(super::pull::PullError::NotFound { .. }) => Err(EngineError::ImageNotFound {
                image: reference.to_string(),
            }),
            Err(e) => Err(EngineError::Backend {
                message: e.to_string(),
            }),
        }
    }

    async fn remove_image(&self, reference: &str, force: bool) -> EngineResult<Vec<ImageDeleted>> {
        let (st, images) = (self.st(), self.images.clone());
        let reference = reference.to_string();
        blocking(move || {
            let gc = images.gc_exclusive().map_err(backend)?;
            let users = image_users(&st)?;
            images
                .remove_image(&gc, &reference, force, &users)
                .map_err(|e| match e {
                    RemoveError::NotFound(image) => EngineError::ImageNotFound { image },
                    RemoveError::Conflict(message) => EngineError::Conflict { message },
                    RemoveError::Io(e) => backend(e),
                })
        })
        .await
    }

    async fn prune_images(&self, which: PruneImages) -> EngineResult<ImagePruneReport> {
        let (st, images) = (self.st(), self.images.clone());
        blocking(move || {
            let gc = images.gc_exclusive().map_err(backend)?;
            let users = image_users(&st)?;
            let report = images.prune(&gc, which, &users).map_err(backend)?;
            // Build cache entries of the layers just collected would only ever miss.
            super::build::cache::forget_missing(&images);
            Ok(report)
        })
        .await
    }

    fn events<'a>(&'a self, filter: &EventFilter) -> EngineEvents<'a> {
        events::follow(self.st(), filter.clone())
    }

    async fn inspect_image(&self, reference: &str) -> EngineResult<Option<ImageInfo>> {
        let images = self.images.clone();
        let r = normalize_reference(reference).unwrap_or_else(|| reference.to_string());
        blocking(move || {
            let Some(rec) = images.resolve(&r).map_err(backend)? else {
                return Ok(None);
            };
            let names: Vec<String> = images
                .refs()
                .map_err(backend)?
                .into_iter()
                .filter(|(_, id)| *id == rec.id)
                .map(|(n, _)| familiar_name(&n))
                .collect();
            let created_unix = rec
                .created
                .as_deref()
                .and_then(super::record::parse_rfc3339)
                .map(|n| (n / 1_000_000_000) as i64);
            Ok(Some(ImageInfo {
                id: rec.id.clone(),
                repo_tags: names,
                size: rec.size as i64,
                created: rec.created.clone().unwrap_or_default(),
                last_tag_time: String::new(),
                created_unix,
                last_tag_unix: None,
                os: rec.os.clone(),
                architecture: rec.architecture.clone(),
                volumes: super::build::image::ImageConfig::of_base(&images, &rec)
                    .config
                    .volumes
                    .into_keys()
                    .collect(),
                ..Default::default()
            }))
        })
        .await
    }

    async fn stat_path(&self, id: &str, path: &str) -> EngineResult<Option<PathStat>> {
        let (st, id, path) = (self.st(), id.to_string(), path.to_string());
        blocking(move || {
            copy::with_root(st, id, move |root| {
                copy::check_reachable(root, &path)?;
                Ok(copy::stat(&root.fd, &path)?)
            })
        })
        .await
    }

    fn copy_from<'a>(&'a self, id: &str, path: &str) -> ByteChunks<'a> {
        let (st, id, path) = (self.st(), id.to_string(), path.to_string());
        let (tx, rx) = tokio::sync::mpsc::channel::<EngineResult<Vec<u8>>>(8);
        tokio::task::spawn_blocking(move || {
            let failed = tx.clone();
            let packed = copy::with_root(st, id, move |root| {
                copy::check_reachable(root, &path)?;
                Ok(copy::archive(&root.fd, &path, ChannelWriter::new(tx))?)
            });
            if let Err(e) = packed {
                let _ = failed.blocking_send(Err(e));
            }
        });
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    async fn copy_to(
        &self,
        id: &str,
        dir: &str,
        mut tar: TarUpload,
        owner: Ownership,
    ) -> EngineResult<()> {
        let (st, id, dir) = (self.st(), id.to_string(), dir.to_string());
        let (tx, reader) = ChannelReader::<std::io::Error>::new();
        let extract = blocking(move || {
            copy::with_root(st, id, move |root| {
                copy::check_reachable(root, &dir)?;
                copy::check_writable(root, &dir)?;
                Ok(copy::extract(&root.fd, &dir, reader, owner)?)
            })
        });
        let forward = async move {
            while let Some(chunk) = tar.next().await {
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    break; // the extraction stopped (its error is the one reported)
                }
            }
        };
        let (extracted, ()) = tokio::join!(extract, forward);
        extracted
    }

    fn stats<'a>(&'a self, id: &str, stream: bool) -> StatsSamples<'a> {
        // The first sample compares two readings half a second apart (Docker's first one
        // has its `precpu` filled too); then one every second, against the previous.
        let st = self.st();
        let id = id.to_string();
        let read = move |st: StateRoot, id: String| async move {
            blocking(move || {
                let (rec, s) = ct::find(&st, &id)?;
                Ok(match (s.state, s.pid) {
                    (RunState::Running | RunState::Paused, Some(pid)) => {
                        super::stats::read(&rec.id, pid)
                    }
                    _ => StatsSample::default(),
                })
            })
            .await
        };
        Box::pin(futures_util::stream::unfold(
            (None::<StatsSample>, false),
            move |(prev, done)| {
                let (st, id) = (st.clone(), id.clone());
                async move {
                    if done {
                        return None;
                    }
                    let before = match prev {
                        Some(p) => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            p
                        }
                        None => match read(st.clone(), id.clone()).await {
                            Ok(c) => {
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                c
                            }
                            Err(e) => return Some((Err(e), (None, true))),
                        },
                    };
                    match read(st, id).await {
                        Ok(now) => {
                            let sample = super::stats::against(now.clone(), &before);
                            Some((Ok(sample), (Some(now), !stream)))
                        }
                        Err(e) => Some((Err(e), (None, true))),
                    }
                }
            },
        ))
    }

    fn build_image<'a>(&'a self, spec: &BuildSpec, context: TarUpload) -> BuildEvents<'a> {
        super::build::build(self.images.clone(), self.st(), spec.clone(), context)
    }
}
