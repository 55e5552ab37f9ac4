//! Container operations of the embedded engine as the CLI process performs them: records in
//! the state directory, shims spawned for `start`, requests on a shim's socket for the
//! rest. Blocking work runs on tokio's blocking pool; nothing here calls libcontainer (that
//! is the shim's job, single-threaded).

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::events::container_event;
use super::prepare::signal_number;
use super::record::{
    effective_status, read_record, read_status, socket_path, write_status, ContainerPaths,
    ContainerRecord, ContainerStatus, HealthStatus, RunState,
};
use super::shim::protocol::{Reply, Request, ShimClient};
use super::state::{random_id, read_json, write_json, StateRoot};
use crate::engine::{
    ContainerInfo, ContainerState, EngineError, EngineResult, Health, MountKind, MountSummary,
    PublishedPort,
};

/// Every container record with its effective status.
pub fn all(state: &StateRoot) -> EngineResult<Vec<(ContainerRecord, ContainerStatus)>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(state.containers_dir()) {
        Ok(rd) => rd,
        Err(e) => return Err(backend(e)),
    };
    for e in rd.flatten() {
        let paths = ContainerPaths { dir: e.path() };
        let Ok(Some(rec)) = read_record(&paths.record()) else {
            continue;
        };
        let status = read_status(&paths.status()).unwrap_or_default();
        out.push((rec, effective_status(&status)));
    }
    out.sort_by(|a, b| b.0.created.cmp(&a.0.created).then(a.0.name.cmp(&b.0.name)));
    Ok(out)
}

/// Recovery after a crash or a reboot (faults F12–F14): a record that says a container is
/// live while neither its shim nor its init exists any more is settled as exited (code 255,
/// as Docker reports a container it lost), and what the dead container held (rootfs mount,
/// network namespace, runtime state, cgroups) is released. Cheap: one status read and a
/// /proc lookup per container.
pub fn recover(state: &StateRoot) {
    let Ok(rd) = std::fs::read_dir(state.containers_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let paths = ContainerPaths { dir: e.path() };
        let Ok(st) = read_status(&paths.status()) else {
            continue;
        };
        let live = matches!(
            st.state,
            RunState::Running | RunState::Paused | RunState::Restarting
        );
        if !live {
            continue;
        }
        let Some(id) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let eff = effective_status(&st);
        if eff.state == st.state {
            // Still running, but its shim is gone (killed): a new shim adopts it, so that
            // logs, healthchecks, exec and restarts work again.
            let shim_alive = super::record::alive(st.shim_pid, st.shim_start);
            if !shim_alive && super::record::alive(st.pid, st.pid_start) {
                // One adopter, even with several commands running at once: the others wait
                // and then see the new shim alive.
                let Ok(_lock) = super::state::FileLock::acquire(&paths.dir.join("adopt.lock"))
                else {
                    continue;
                };
                let again = read_status(&paths.status()).unwrap_or_default();
                if super::record::alive(again.shim_pid, again.shim_start) {
                    continue;
                }
                match spawn_shim(state, &id, ShimStart::Adopt) {
                    Ok(()) => tracing::info!("container {id}: a new supervisor adopted it"),
                    Err(e) => tracing::warn!("container {id}: cannot adopt it: {e}"),
                }
            }
            continue;
        }
        let mut fixed = eff;
        fixed.shim_pid = None;
        fixed.shim_start = None;
        fixed.pid_start = None;
        fixed
            .finished_at
            .get_or_insert_with(super::record::now_rfc3339);
        tracing::info!("container {id}: its supervisor and process are gone; recorded as exited");
        let _ = write_status(&paths.status(), &fixed);
        release(state, &id);
    }
}

/// Finds a container by full id, unique id prefix or name.
pub fn find(state: &StateRoot, key: &str) -> EngineResult<(ContainerRecord, ContainerStatus)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let paths = ContainerPaths::new(state, key);
    if key.len() == 64 {
        if let Ok(Some(rec)) = read_record(&paths.record()) {
            let status = read_status(&paths.status()).unwrap_or_default();
            return Ok((rec, effective_status(&status)));
        }
    }
    let list = all(state)?;
    if let Some(hit) = list.iter().find(|(r, _)| r.name == key) {
        return Ok(hit.clone());
    }
    let by_prefix: Vec<_> = list
        .into_iter()
        .filter(|(r, _)| r.id.starts_with(key))
        .collect();
    match by_prefix.len() {
        1 => Ok(by_prefix.into_iter().next().expect("one")),
        0 => Err(EngineError::NotFound {
            what: format!("container {key}"),
        }),
        _ => Err(EngineError::Conflict {
            message: format!("multiple containers match '{key}'"),
        }),
    }
}

/// Whether a container's labels match every `key=value` (or bare `key`) filter.
pub fn matches(rec: &ContainerRecord, filter: &[String]) -> bool {
    super::follow::labels_match(&rec.spec.labels, filter)
}

/// The engine-neutral view of a container.
pub fn info(rec: &ContainerRecord, st: &ContainerStatus) -> ContainerInfo {
    let state = match st.state {
        RunState::Created => ContainerState::Created,
        RunState::Running => ContainerState::Running,
        RunState::Paused => ContainerState::Paused,
        RunState::Restarting => ContainerState::Restarting,
        RunState::Exited => ContainerState::Exited,
        RunState::Dead => ContainerState::Dead,
    };
    let health = match (&st.health, state) {
        (Some(h), ContainerState::Running | ContainerState::Paused) => match h.status {
            HealthStatus::Starting => Health::Starting,
            HealthStatus::Healthy => Health::Healthy,
            HealthStatus::Unhealthy => Health::Unhealthy,
        },
        (Some(_), _) => Health::Unhealthy,
        (None, _) => Health::None,
    };
    let exit_code = match state {
        ContainerState::Exited | ContainerState::Dead => st.exit_code,
        _ => None,
    };
    let mut args: Vec<String> = rec
        .spec
        .entrypoint
        .clone()
        .or_else(|| rec.image_config.entrypoint.clone())
        .unwrap_or_default();
    let cmd = match (&rec.spec.command, &rec.spec.entrypoint) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => Vec::new(),
        (None, None) => rec.image_config.cmd.clone().unwrap_or_default(),
    };
    args.extend(cmd);
    ContainerInfo {
        id: rec.id.clone(),
        name: rec.name.clone(),
        image: rec.spec.image.clone(),
        image_id: Some(rec.image_id.clone()),
        labels: rec.spec.labels.clone(),
        state,
        health,
        exit_code,
        last_health_output: st
            .health
            .as_ref()
            .and_then(|h| h.log.last())
            .map(|r| r.output.clone()),
        status_text: status_text(st, state, health),
        created: rec.created,
        ports: ports(rec, st),
        command: args.join(" "),
        networks: rec
            .spec
            .networks
            .iter()
            .map(|n| n.network.clone())
            .collect(),
        mounts: rec
            .spec
            .mounts
            .iter()
            .zip(&rec.mount_sources)
            .filter(|(m, _)| m.kind == MountKind::Volume)
            .map(|(m, data)| MountSummary {
                // An anonymous volume's name is only in its data path.
                name: super::objects::volume_name_of(data).unwrap_or_else(|| m.source.clone()),
                local_volume: true,
                target: m.target.clone(),
                volume: true,
            })
            .collect(),
        stop_timeout: rec.spec.stop_timeout,
    }
}

/// The published ports in force, then the exposed-only ones (host port 0), as Docker lists
/// them.
fn ports(rec: &ContainerRecord, st: &ContainerStatus) -> Vec<PublishedPort> {
    let mut out: Vec<PublishedPort> = st
        .ports
        .iter()
        .map(|p| PublishedPort {
            host_ip: p.host_ip.clone(),
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: p.protocol.as_str().to_string(),
        })
        .collect();
    let published = out.clone();
    for e in rec
        .spec
        .expose
        .iter()
        .chain(rec.image_config.exposed_ports.iter())
    {
        let (port, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        if let Ok(p) = port.parse::<u16>() {
            let pp = PublishedPort {
                host_ip: String::new(),
                host_port: 0,
                container_port: p,
                protocol: proto.to_string(),
            };
            let is_published = published
                .iter()
                .any(|q| q.container_port == p && q.protocol == proto);
            if !out.contains(&pp) && !is_published {
                out.push(pp);
            }
        }
    }
    out
}

/// Docker's `ps` status text (`Up 5 seconds (healthy)`, `Exited (0) 3 seconds ago`, ...).
fn status_text(st: &ContainerStatus, state: ContainerState, health: Health) -> String {
    let ago = |t: &Option<String>| {
        t.as_deref()
            .and_then(super::record::parse_rfc3339)
            .map(|n| {
                let now = super::events::now_nanos() as i128;
                ((now - n).max(0) as f64) / 1e9
            })
            .unwrap_or(0.0)
    };
    let h = match health {
        Health::Starting => " (health: starting)",
        Health::Healthy => " (healthy)",
        Health::Unhealthy => " (unhealthy)",
        Health::None => "",
    };
    match state {
        ContainerState::Created => "Created".into(),
        ContainerState::Running => format!("Up {}{h}", crate::human::duration(ago(&st.started_at))),
        ContainerState::Paused => {
            format!(
                "Up {} (Paused)",
                crate::human::duration(ago(&st.started_at))
            )
        }
        ContainerState::Restarting => format!(
            "Restarting ({}) {} ago",
            st.exit_code.unwrap_or(0),
            crate::human::duration(ago(&st.finished_at))
        ),
        ContainerState::Exited => match &st.finished_at {
            Some(_) => format!(
                "Exited ({}) {} ago",
                st.exit_code.unwrap_or(0),
                crate::human::duration(ago(&st.finished_at))
            ),
            None => "Created".into(),
        },
        ContainerState::Removing => "Removal In Progress".into(),
        ContainerState::Dead => "Dead".into(),
    }
}

/// Writes a new container record (`create`).
pub fn create(state: &StateRoot, mut rec: ContainerRecord) -> EngineResult<String> {
    // A start follows: pay the first cgroup migration's grace period in the background now.
    super::cgroup_warm::warm_up();
    let _lock =
        super::state::FileLock::acquire(&state.containers_dir().join(".lock")).map_err(backend)?;
    if all(state)?.iter().any(|(r, _)| r.name == rec.name) {
        return Err(EngineError::Conflict {
            message: format!(
                "the container name \"/{}\" is already in use; remove or rename that container",
                rec.name
            ),
        });
    }
    rec.id = random_id();
    if rec.hostname.is_empty() {
        rec.hostname = rec.id[..12].to_string();
    }
    if rec.spec.network_mode.is_none() {
        let joins: Vec<super::network::store::Join<'_>> = rec
            .spec
            .networks
            .iter()
            .map(|n| super::network::store::Join {
                network: &n.network,
                aliases: &n.aliases,
                ipv4: n.ipv4_address.as_deref(),
                ipv6: n.ipv6_address.as_deref(),
            })
            .collect();
        rec.endpoints = super::network::store::allocate(state, &rec.id, &joins)?;
    }
    let paths = ContainerPaths::new(state, &rec.id);
    super::state::make_private_dir(&paths.dir).map_err(backend)?;
    // The secrets' and configs' bytes go to files of their own (the record never holds them).
    if let Err(e) = super::files::materialize(&paths.dir, &rec.spec.files) {
        let _ = std::fs::remove_dir_all(&paths.dir);
        return Err(e);
    }
    // The rootfs directory is what the container sees as /: it must be traversable.
    write_json(&paths.record(), &rec).map_err(backend)?;
    write_status(&paths.status(), &ContainerStatus::default()).map_err(backend)?;
    container_event(state, &rec, "create", &[]);
    Ok(rec.id)
}

/// Starts a container: spawns its shim and waits for it to report the start.
pub fn start(state: &StateRoot, id: &str) -> EngineResult<()> {
    start_with_stdin(state, id, None)
}

/// Starts a container whose init reads `stdin` (an attached `run`: the caller's own input,
/// so that its end of file reaches the command, as Docker's `stdin_once` does). Only this
/// run gets it: a restart by policy reads `/dev/null`.
pub fn start_with_stdin(state: &StateRoot, id: &str, stdin: Option<OwnedFd>) -> EngineResult<()> {
    let _warm = super::cgroup_warm::hold();
    let (rec, st) = find(state, id)?;
    if matches!(
        st.state,
        RunState::Running | RunState::Paused | RunState::Restarting
    ) {
        return Ok(());
    }
    // The previous run's shim may still be finishing (it records "exited" just before it
    // goes): a new one must not share its socket path.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while super::record::alive(st.shim_pid, st.shim_start) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Record that no user stop is in force any more.
    let paths = ContainerPaths::new(state, &rec.id);
    let mut fresh = read_status(&paths.status()).map_err(backend)?;
    fresh.manually_stopped = false;
    write_status(&paths.status(), &fresh).map_err(backend)?;
    spawn_shim(state, &rec.id, ShimStart::Start { stdin })
}

/// How a shim begins.
enum ShimStart {
    /// Start the container; its init reads `stdin`, or `/dev/null`.
    Start { stdin: Option<OwnedFd> },
    /// Take over a container that is already running (its previous shim died).
    Adopt,
}

/// Starts the shim of `id` and waits for it to report.
fn spawn_shim(state: &StateRoot, id: &str, how: ShimStart) -> EngineResult<()> {
    let exe = std::env::current_exe().map_err(backend)?;
    let paths = ContainerPaths::new(state, id);
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| backend(e.into()))?;
    let shim_log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.shim_log())
        .map_err(backend)?;
    let ready_raw = ready_w.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.arg("__shim").arg(state.root()).arg(id).arg("3");
    match how {
        ShimStart::Adopt => {
            cmd.arg("adopt").stdin(Stdio::null());
        }
        // The shim's own stdin carries the container's; it hands it over and lets it go.
        ShimStart::Start { stdin: Some(fd) } => {
            cmd.arg("stdin").stdin(Stdio::from(fd));
        }
        ShimStart::Start { stdin: None } => {
            cmd.stdin(Stdio::null());
        }
    }
    cmd.stdout(Stdio::null()).stderr(shim_log);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(ready_raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| EngineError::Backend {
        message: format!("cannot start the container supervisor: {e}"),
    })?;
    drop(ready_w);
    let _ = child.wait();
    let mut line = String::new();
    let mut f = std::fs::File::from(ready_r);
    let _ = f.read_to_string(&mut line);
    let line = line.trim();
    if line == "ok" {
        return Ok(());
    }
    let message = line.strip_prefix("error: ").unwrap_or(line);
    let message = if message.is_empty() {
        let tail = std::fs::read_to_string(paths.shim_log()).unwrap_or_default();
        format!(
            "the container supervisor exited without starting the container{}",
            tail.lines()
                .last()
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        )
    } else {
        message.to_string()
    };
    Err(EngineError::Backend { message })
}

/// A connection to a running container's shim; `None` when no shim answers.
pub fn shim(id: &str) -> Option<ShimClient> {
    let path = socket_path(id).ok()?;
    ShimClient::connect(&path).ok()
}

/// The signal `stop` sends first.
pub fn stop_signal(rec: &ContainerRecord) -> i32 {
    rec.spec
        .stop_signal
        .as_deref()
        .or(rec.image_config.stop_signal.as_deref())
        .and_then(signal_number)
        .unwrap_or(libc::SIGTERM)
}

/// Stops a container: the stop signal, then SIGKILL after `timeout`; returns when it exited.
pub fn stop(state: &StateRoot, id: &str, timeout: Duration) -> EngineResult<()> {
    let (rec, st) = find(state, id)?;
    let req = Request::Stop {
        signal: stop_signal(&rec),
        timeout_ms: timeout.as_millis() as u64,
    };
    match shim(&rec.id) {
        Some(mut c) => match c.call(&req, Some(timeout + Duration::from_secs(30))) {
            Ok(Reply::Exited { .. }) | Ok(Reply::Ok) => {
                wait_shim_gone(state, &rec.id);
                container_event(state, &rec, "stop", &[]);
                Ok(())
            }
            Ok(Reply::Error { message }) => Err(EngineError::Backend { message }),
            Ok(other) => Err(EngineError::Backend {
                message: format!("unexpected reply from the supervisor: {other:?}"),
            }),
            // The shim went away while we waited: the container has stopped (or is orphaned).
            Err(_) => stop_orphan(state, &rec, timeout),
        },
        None if matches!(
            st.state,
            RunState::Running | RunState::Paused | RunState::Restarting
        ) =>
        {
            stop_orphan(state, &rec, timeout)
        }
        None => Ok(()),
    }
}

/// The shim writes its final status just before it exits; wait for that so that the next
/// reader sees the final state.
fn wait_shim_gone(state: &StateRoot, id: &str) {
    let paths = ContainerPaths::new(state, id);
    for _ in 0..200 {
        let st = read_status(&paths.status()).unwrap_or_default();
        if st.shim_pid.is_none() || !super::record::alive(st.shim_pid, st.shim_start) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A container whose shim is gone (killed): signal its init directly and record the stop.
fn stop_orphan(state: &StateRoot, rec: &ContainerRecord, timeout: Duration) -> EngineResult<()> {
    let paths = ContainerPaths::new(state, &rec.id);
    let mut st = read_status(&paths.status()).map_err(backend)?;
    if let (Some(pid), true) = (st.pid, super::record::alive(st.pid, st.pid_start)) {
        // SAFETY: kill(2) on the recorded init, checked by its start time just above.
        unsafe { libc::kill(pid, stop_signal(rec)) };
        let deadline = std::time::Instant::now() + timeout;
        while super::record::alive(st.pid, st.pid_start) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if super::record::alive(st.pid, st.pid_start) {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            for _ in 0..250 {
                if !super::record::alive(st.pid, st.pid_start) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    st.state = RunState::Exited;
    st.exit_code = Some(255);
    st.pid = None;
    st.shim_pid = None;
    st.manually_stopped = true;
    st.finished_at = Some(super::record::now_rfc3339());
    write_status(&paths.status(), &st).map_err(backend)?;
    release(state, &rec.id);
    container_event(state, rec, "die", &[("exitCode", "255".into())]);
    Ok(())
}

/// Releases mounts and runtime leftovers of a stopped container (idempotent).
pub fn release(state: &StateRoot, id: &str) {
    let paths = ContainerPaths::new(state, id);
    let _ = super::rootfs::unmount(&super::rootfs::RootfsPaths::in_container_dir(&paths.dir));
    if let Ok(ns) = super::netns::path_for(id) {
        if super::rootfs::is_mounted(&ns) {
            // The namespace outlived its shim: unwire it before it goes.
            if let (Ok(Some(rec)), Ok(st)) = (
                read_json::<ContainerRecord>(&paths.record()),
                read_status(&paths.status()),
            ) {
                if let Err(e) = super::network::detach(state, &rec, &ns, &st.ports) {
                    tracing::warn!("container {id}: {e}");
                }
            }
        }
        let _ = super::netns::remove(&ns);
    }
    let rt = state.runtime_dir().join(id);
    if rt.exists() {
        // The runtime's state of a dead container: its cgroup and state directory.
        let _ = std::fs::remove_dir_all(&rt);
    }
    remove_cgroups(id);
}

/// Removes the (empty) leaf cgroups of a container in every hierarchy; rmdir fails harmlessly
/// on a cgroup that still has processes.
fn remove_cgroups(id: &str) {
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let mut bases: Vec<PathBuf> = vec![PathBuf::from("/sys/fs/cgroup")];
    bases.extend(rd.flatten().map(|e| e.path()));
    for b in bases {
        let _ = std::fs::remove_dir(b.join("rcompose").join(id));
    }
}

/// Sends a request that answers `Ok`/`Error` to the shim.
pub fn simple(id: &str, req: Request, not_running: &str) -> EngineResult<()> {
    let Some(mut c) = shim(id) else {
        return Err(EngineError::Conflict {
            message: format!("container {id} {not_running}"),
        });
    };
    match c
        .call(&req, Some(Duration::from_secs(30)))
        .map_err(backend)?
    {
        Reply::Ok | Reply::Exited { .. } => Ok(()),
        Reply::Error { message } => Err(EngineError::Conflict { message }),
        Reply::Started { .. } => Ok(()),
    }
}

/// Removes a container's files (it must be stopped).
pub fn remove(state: &StateRoot, id: &str, force: bool) -> EngineResult<()> {
    let (rec, st) = find(state, id)?;
    if matches!(
        st.state,
        RunState::Running | RunState::Paused | RunState::Restarting
    ) {
        if !force {
            return Err(EngineError::Conflict {
                message: format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    rec.name
                ),
            });
        }
        stop(state, &rec.id, Duration::ZERO)?;
    }
    release(state, &rec.id);
    let paths = ContainerPaths::new(state, &rec.id);
    // Never follow anything out of the container directory: remove_dir_all does not follow
    // symlinks, and the rootfs is unmounted above (a still-mounted rootfs is refused).
    if super::rootfs::is_mounted(&paths.dir.join("rootfs")) {
        return Err(EngineError::Backend {
            message: format!("the root filesystem of {} is still mounted", rec.name),
        });
    }
    std::fs::remove_dir_all(&paths.dir).map_err(backend)?;
    super::network::store::release(state, &rec.id, &rec.endpoints)?;
    if let Ok(sock) = socket_path(&rec.id) {
        let _ = std::fs::remove_file(sock);
    }
    container_event(state, &rec, "destroy", &[]);
    Ok(())
}

/// Renames a container (its record).
pub fn rename(state: &StateRoot, id: &str, name: &str) -> EngineResult<()> {
    let _lock =
        super::state::FileLock::acquire(&state.containers_dir().join(".lock")).map_err(backend)?;
    let (mut rec, _) = find(state, id)?;
    if all(state)?
        .iter()
        .any(|(r, _)| r.name == name && r.id != rec.id)
    {
        return Err(EngineError::Conflict {
            message: format!("the container name \"/{name}\" is already in use"),
        });
    }
    rec.name = name.to_string();
    write_json(&ContainerPaths::new(state, &rec.id).record(), &rec).map_err(backend)?;
    container_event(state, &rec, "rename", &[]);
    Ok(())
}

/// Waits until the container has stopped for good; returns its exit code.
pub fn wait(state: &StateRoot, id: &str) -> EngineResult<i64> {
    let (rec, _) = find(state, id)?;
    if let Some(mut c) = shim(&rec.id) {
        if c.send(&Request::Wait, &[]).is_ok() {
            if let Ok(Reply::Exited { code }) = c.recv(None) {
                wait_shim_gone(state, &rec.id);
                return Ok(code);
            }
        }
    }
    // No shim (or it went away): poll the recorded status.
    loop {
        let (_, st) = find(state, &rec.id)?;
        if !matches!(
            st.state,
            RunState::Running | RunState::Paused | RunState::Restarting
        ) {
            return Ok(st.exit_code.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn backend(e: std::io::Error) -> EngineError {
    EngineError::Backend {
        message: e.to_string(),
    }
}
