//! The shim's process: daemonizing, the poll loop and the container's lifecycle (see the
//! module header of [`super`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::health::{self, Probe};
use super::logs::{LogWriter, Rotation};
use super::protocol::{
    read_request, write_reply, write_reply_with_fds, ExecRequest, ExecStdio, Reply, Request,
};
use super::restart::Backoff;
use crate::engine::embedded::events::container_event;
use crate::engine::embedded::pty::{self, ConsoleSocket};
use crate::engine::embedded::record::{
    now_rfc3339, process_start, read_record, read_status, socket_path, write_status,
    ContainerPaths, ContainerRecord, ContainerStatus, HealthResult, HealthState, HealthStatus,
    RunState,
};
use crate::engine::embedded::rootfs::{self, RootfsPaths};
use crate::engine::embedded::runtime::{self, ControllingTerminal, ExecProcess, Stdio};
use crate::engine::embedded::state::StateRoot;
use crate::engine::embedded::{netns, network, prepare};
use crate::engine::StdStream;

/// The write end of the self-pipe the SIGCHLD handler writes to.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = [0u8; 1];
        // SAFETY: write(2) is async-signal-safe; a full pipe just drops the byte.
        unsafe { libc::write(fd, b.as_ptr().cast(), 1) };
    }
}

extern "C" fn on_other(_: libc::c_int) {}

/// How the shim was asked to begin (the optional last argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Begin {
    /// Start the container, its stdin on `/dev/null`.
    Start,
    /// Start the container with our own stdin as its stdin (an attached `run`).
    StartWithStdin,
    /// The container is already running (its previous shim died): take it over.
    Adopt,
}

/// Entry point of `rcompose __shim <state-root> <id> <ready-fd> [adopt|stdin]`; returns the
/// exit code.
pub fn main(args: &[String]) -> i32 {
    let (root, id, ready_fd, begin) = match args {
        [root, id, ready_fd] => (root, id, ready_fd, Begin::Start),
        [root, id, ready_fd, mode] if mode == "adopt" => (root, id, ready_fd, Begin::Adopt),
        [root, id, ready_fd, mode] if mode == "stdin" => {
            (root, id, ready_fd, Begin::StartWithStdin)
        }
        _ => {
            eprintln!("usage: rcompose __shim <state-root> <id> <ready-fd> [adopt|stdin]");
            return 2;
        }
    };
    // The container's input, taken off our fd 0 (which then reads /dev/null): the shim
    // outlives the caller and must not keep its terminal or pipe.
    let container_stdin = match begin {
        Begin::StartWithStdin => match take_stdin() {
            Ok(fd) => Some(fd),
            Err(e) => {
                eprintln!("cannot take the container's stdin: {e}");
                return 1;
            }
        },
        _ => None,
    };
    let ready: Option<OwnedFd> = ready_fd
        .parse::<RawFd>()
        .ok()
        .filter(|fd| *fd > 2)
        // SAFETY: the CLI passes this descriptor to us and nothing else owns it.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    if let Some(fd) = &ready {
        // Nothing we start (the container, probes, execs) may hold the CLI's pipe open.
        let _ = nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    // Detach: the CLI reaps the first process; the second lives on in the same session.
    // SAFETY: single-threaded here.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            report(
                ready.as_ref(),
                &format!("error: cannot fork the supervisor: {e}"),
            );
            return 1;
        }
    }
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let mut sup = match Supervisor::new(Path::new(root), id) {
        Ok(s) => s,
        Err(e) => {
            report(ready.as_ref(), &format!("error: {e}"));
            return 1;
        }
    };
    let started = if begin == Begin::Adopt {
        sup.adopt()
    } else {
        sup.start_container_reading(container_stdin)
    };
    match started {
        Ok(()) => report(ready.as_ref(), "ok"),
        Err(e) if begin == Begin::Adopt => {
            report(ready.as_ref(), &format!("error: {e}"));
            return 1;
        }
        Err(e) => {
            sup.start_failed(&e);
            report(ready.as_ref(), &format!("error: {e}"));
            return 1;
        }
    }
    drop(ready);
    sup.run();
    0
}

/// Moves our fd 0 to a new close-on-exec descriptor and puts `/dev/null` in its place.
fn take_stdin() -> std::io::Result<OwnedFd> {
    let fd = nix::fcntl::fcntl(0, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: a fresh descriptor from fcntl(2), owned by nobody else.
    let taken = unsafe { OwnedFd::from_raw_fd(fd) };
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2(null.as_raw_fd(), 0)?;
    Ok(taken)
}

/// Our end of a container output FIFO: read-only, non-blocking, close-on-exec.
fn open_fifo_reader(fifo: &Path) -> Result<OwnedFd, String> {
    let fd = nix::fcntl::open(
        fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", fifo.display()))?;
    // SAFETY: a fresh descriptor from open(2).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn report(fd: Option<&OwnedFd>, line: &str) {
    if let Some(fd) = fd {
        let _ = nix::unistd::write(fd, format!("{line}\n").as_bytes());
    }
}

/// What a connected client is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Nothing,
    /// The final exit (stop, wait).
    Exit,
    /// The exit of an exec'd process.
    Exec(i32),
}

struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
    waiting: Waiting,
    closed: bool,
}

struct RunningProbe {
    pid: i32,
    output: OwnedFd,
    text: Vec<u8>,
    start: String,
    deadline: Instant,
    timed_out: bool,
}

/// Where and as whom an exec'd process or a probe runs (`None`: the runtime's default).
struct ExecIdentity {
    cwd: Option<PathBuf>,
    uid: Option<u32>,
    gid: Option<u32>,
}

/// The network namespace a container runs in.
enum NetNs {
    /// The host's (`network_mode: host`).
    Host,
    /// Its own, made and wired by this shim (`none`: made, not wired).
    Own(PathBuf),
    /// Another container's (`container:` / `service:`), never made or removed here.
    Joined(PathBuf),
}

impl NetNs {
    fn path(&self) -> Option<&Path> {
        match self {
            NetNs::Host => None,
            NetNs::Own(p) | NetNs::Joined(p) => Some(p),
        }
    }
}

struct Supervisor {
    state: StateRoot,
    paths: ContainerPaths,
    rec: ContainerRecord,
    status: ContainerStatus,
    runtime_root: PathBuf,
    cgroups_path: PathBuf,
    netns: NetNs,
    /// The container's place on its networks while it runs (ports held, driver wired).
    net: Option<network::Attached>,
    log: LogWriter,
    fifos: Option<(OwnedFd, OwnedFd)>,
    /// The master of a `tty: true` init's terminal (non-blocking): its output is logged as
    /// stdout, the attached caller's input is written to it.
    console: Option<OwnedFd>,
    /// An attached `run`'s input for the init's terminal, and what is read of it but not yet
    /// written to the master.
    console_input: Option<OwnedFd>,
    console_pending: Vec<u8>,
    init: Option<i32>,
    started: Instant,
    backoff: Backoff,
    restart_at: Option<Instant>,
    /// A stop in progress: the SIGKILL deadline, and whether to start again afterwards.
    stop: Option<(Instant, bool)>,
    listener: UnixListener,
    socket: PathBuf,
    wake: OwnedFd,
    clients: Vec<Client>,
    probe: Option<Probe>,
    next_probe: Option<Instant>,
    running_probe: Option<RunningProbe>,
    /// The adopted container's init is not our child: its exit is seen through a pidfd,
    /// and its code read from it ([`super::pidfd_exit`]; 255 where the kernel cannot say).
    adopted: Option<OwnedFd>,
    /// The container's seccomp filter, applied to exec'd processes and probes too.
    seccomp: Option<crate::engine::embedded::seccomp_bpf::CompiledFilter>,
    done: bool,
}

impl Supervisor {
    fn new(root: &Path, id: &str) -> Result<Self, String> {
        let state =
            StateRoot::open(root.to_path_buf()).map_err(|e| format!("state directory: {e}"))?;
        let paths = ContainerPaths::new(&state, id);
        let rec = read_record(&paths.record())
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no such container: {id}"))?;
        let status = read_status(&paths.status()).map_err(|e| e.to_string())?;
        let rotation = Rotation::from_options(&rec.spec.log_options)?;
        let log = LogWriter::open(&paths.log(), rotation).map_err(|e| format!("log file: {e}"))?;

        let (wake_r, wake_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .map_err(|e| e.to_string())?;
        WAKE_FD.store(wake_w.as_raw_fd(), Ordering::Relaxed);
        std::mem::forget(wake_w);
        install_handlers()?;

        let socket = socket_path(id)?;
        let _ = std::fs::remove_file(&socket);
        let listener =
            UnixListener::bind(&socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;

        let probe = rec
            .spec
            .healthcheck
            .as_ref()
            .and_then(|h| Probe::from_healthcheck(h, None));
        let netns = match rec.spec.network_mode.as_deref() {
            Some("host") => NetNs::Host,
            Some(m) if m.starts_with("container:") => {
                NetNs::Joined(netns::path_for(&m["container:".len()..])?)
            }
            _ => NetNs::Own(netns::path_for(id)?),
        };
        Ok(Supervisor {
            runtime_root: state.runtime_dir(),
            cgroups_path: PathBuf::from(format!("/rcompose/{id}")),
            state,
            paths,
            rec,
            status,
            netns,
            net: None,
            log,
            fifos: None,
            console: None,
            console_input: None,
            console_pending: Vec::new(),
            init: None,
            started: Instant::now(),
            backoff: Backoff::default(),
            restart_at: None,
            stop: None,
            listener,
            socket,
            wake: wake_r,
            clients: Vec::new(),
            probe,
            next_probe: None,
            running_probe: None,
            adopted: None,
            seccomp: None,
            done: false,
        })
    }

    fn save(&mut self) {
        if let Err(e) = write_status(&self.paths.status(), &self.status) {
            eprintln!("cannot write {}: {e}", self.paths.status().display());
        }
    }

    /// The runtime spec for this start (files prepared, the seccomp filter compiled or
    /// taken from the cache and kept for exec'd processes and probes).
    fn runtime_spec(
        &mut self,
        rp: &RootfsPaths,
    ) -> Result<libcontainer::oci_spec::runtime::Spec, String> {
        let (spec, filter) = prepare::runtime_spec(
            &self.rec,
            &self.paths,
            rp,
            self.netns.path(),
            &network::nameservers(&self.state, &self.rec),
            &self.cgroups_path,
            &self.state.root().join("seccomp"),
        )?;
        self.seccomp = filter;
        Ok(spec)
    }

    /// Mounts the rootfs, writes the bundle and starts the init (its stdin on `/dev/null`).
    fn start_container(&mut self) -> Result<(), String> {
        self.start_container_reading(None)
    }

    /// [`Self::start_container`] with the init reading `stdin` when given.
    fn start_container_reading(&mut self, stdin: Option<OwnedFd>) -> Result<(), String> {
        let id = self.rec.id.clone();
        let rp = RootfsPaths::in_container_dir(&self.paths.dir);
        tracing::debug!("start: begin");
        rootfs::lock(&rp)
            .and_then(|_lock| rootfs::mount(&rp, &self.rec.lowers))
            .map_err(|e| format!("cannot mount the root filesystem: {e}"))?;
        tracing::debug!("start: rootfs mounted");
        match &self.netns {
            NetNs::Own(ns) => {
                netns::create(ns)?;
                tracing::debug!("start: network namespace made");
                if self.net.is_none() {
                    let attached = network::attach(&self.state, &self.rec, ns)?;
                    self.status.ports = attached.ports.clone();
                    self.net = Some(attached);
                }
            }
            NetNs::Joined(ns) if !rootfs::is_mounted(ns) => {
                return Err(format!(
                    "cannot join the network namespace of container {}: it is not running",
                    self.rec.spec.network_mode.as_deref().unwrap_or_default()
                ));
            }
            _ => {}
        }
        tracing::debug!("start: network namespace ready");
        let spec = self.runtime_spec(&rp)?;
        tracing::debug!("start: runtime spec built");
        let fixes = crate::engine::embedded::runtime_spec::mounts::mount_fixes(
            spec.mounts().as_deref().unwrap_or_default(),
        );
        let bundle = self.paths.bundle();
        std::fs::create_dir_all(&bundle).map_err(|e| e.to_string())?;
        spec.save(bundle.join("config.json"))
            .map_err(|e| format!("cannot write the runtime spec: {e}"))?;

        // stdout/stderr: FIFOs, read-write for the container, read-only (non-blocking) here.
        let mut ends = Vec::new();
        for fifo in [self.paths.stdout_fifo(), self.paths.stderr_fifo()] {
            if !fifo.exists() {
                nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(|e| format!("{}: {e}", fifo.display()))?;
            }
            let ours = open_fifo_reader(&fifo)?;
            let theirs = nix::fcntl::open(
                &fifo,
                nix::fcntl::OFlag::O_RDWR,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| format!("{}: {e}", fifo.display()))?;
            // SAFETY: a fresh descriptor from open(2).
            ends.push((ours, unsafe { OwnedFd::from_raw_fd(theirs) }));
        }
        let (err_ours, err_theirs) = ends.pop().ok_or("fifo")?;
        let (out_ours, out_theirs) = ends.pop().ok_or("fifo")?;
        // A `tty: true` init opens its own terminal and sends us the master; the caller's
        // input, if any, is relayed to that master and never handed to the container.
        let console = if self.rec.spec.tty {
            Some(ConsoleSocket::bind(
                &crate::engine::embedded::record::socket_path(&id)?.with_extension("console"),
            )?)
        } else {
            None
        };
        let (stdin, console_input) = match (stdin, &console) {
            (Some(fd), None) => (fd, None),
            (input, _) => (
                std::fs::File::open("/dev/null")
                    .map_err(|e| e.to_string())?
                    .into(),
                input,
            ),
        };
        tracing::debug!("start: bundle written");
        let (pid, master) = runtime::create_and_start(
            &self.runtime_root,
            &id,
            &bundle,
            Stdio {
                stdin,
                stdout: out_theirs,
                stderr: err_theirs,
            },
            self.seccomp.clone(),
            &fixes,
            console.as_ref(),
        )?;
        tracing::debug!("start: container started");
        drop(console);
        if let Some(m) = &master {
            nix::fcntl::fcntl(
                m.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| format!("the terminal's master: {e}"))?;
        }
        self.console = master;
        self.console_input = console_input.filter(|_| self.console.is_some());
        self.console_pending.clear();
        self.fifos = Some((out_ours, err_ours));
        self.init = Some(pid);
        self.started = Instant::now();
        self.status.state = RunState::Running;
        self.status.pid = Some(pid);
        self.status.pid_start = process_start(pid);
        self.status.shim_pid = Some(std::process::id() as i32);
        self.status.shim_start = process_start(std::process::id() as i32);
        self.status.started_at = Some(now_rfc3339());
        self.status.exit_code = Some(0);
        self.status.oom_killed = false;
        self.status.error = None;
        if let Some(p) = &self.probe {
            self.status.health = Some(HealthState {
                status: HealthStatus::Starting,
                ..HealthState::default()
            });
            let first = p.next_delay(
                self.status
                    .health
                    .as_ref()
                    .unwrap_or(&HealthState::default()),
                Duration::ZERO,
            );
            self.next_probe = Some(Instant::now() + first);
        }
        self.save();
        container_event(&self.state, &self.rec, "start", &[]);
        Ok(())
    }

    /// Takes over a running container whose shim died: its output FIFOs, its init (watched
    /// through a pidfd), its socket, its healthcheck.
    fn adopt(&mut self) -> Result<(), String> {
        let (Some(pid), Some(start)) = (self.status.pid, self.status.pid_start) else {
            return Err("the container has no recorded process".into());
        };
        if process_start(pid) != Some(start) {
            return Err("the container's process is gone".into());
        }
        // The filter for exec'd processes and probes, as the start computed it (cached).
        self.runtime_spec(&RootfsPaths::in_container_dir(&self.paths.dir))?;
        let out = open_fifo_reader(&self.paths.stdout_fifo())?;
        let err = open_fifo_reader(&self.paths.stderr_fifo())?;
        // SAFETY: pidfd_open on a pid checked just above by its start time.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if pidfd < 0 {
            return Err(format!("pidfd_open: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: a fresh descriptor from pidfd_open.
        self.adopted = Some(unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) });
        if let NetNs::Own(ns) = &self.netns {
            // The dead shim's port reservations (and relays) closed with it: take them again.
            let ns = ns.clone();
            let held = network::ports::reserve_again(&self.status.ports);
            let ports = self.status.ports.clone();
            // A port taken meanwhile was skipped: relay only what is held again.
            self.net = Some(if held.len() == ports.len() {
                network::Attached::new(&self.state, &self.rec, &ns, ports, held).unwrap_or_else(
                    |e| {
                        tracing::warn!("port relays: {e}");
                        network::Attached::default()
                    },
                )
            } else {
                network::Attached {
                    ports,
                    held,
                    proxies: Vec::new(),
                }
            });
        }
        self.fifos = Some((out, err));
        self.init = Some(pid);
        self.started = Instant::now();
        self.status.shim_pid = Some(std::process::id() as i32);
        self.status.shim_start = process_start(std::process::id() as i32);
        if let Some(p) = &self.probe {
            self.next_probe = Some(Instant::now() + p.interval.min(Duration::from_secs(1)));
        }
        self.save();
        tracing::info!("adopted the running container (pid {pid})");
        Ok(())
    }

    fn start_failed(&mut self, message: &str) {
        self.status.state = if self.status.started_at.is_some() {
            RunState::Exited
        } else {
            RunState::Created
        };
        self.status.exit_code = Some(if message.contains("not found") {
            127
        } else {
            128
        });
        self.status.error = Some(message.to_string());
        self.status.pid = None;
        self.status.shim_pid = None;
        self.save();
        self.cleanup_after_exit();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Releases what a stopped container holds: the runtime state, the rootfs mount, the
    /// network namespace.
    fn cleanup_after_exit(&mut self) {
        if let Err(e) = runtime::delete(&self.runtime_root, &self.rec.id) {
            eprintln!("{e}");
        }
        if let Err(e) = rootfs::unmount(&RootfsPaths::in_container_dir(&self.paths.dir)) {
            eprintln!("cannot unmount the root filesystem: {e}");
        }
        if let NetNs::Own(ns) = &self.netns {
            if let Some(net) = self.net.take() {
                if let Err(e) = network::detach(&self.state, &self.rec, ns, &net.ports) {
                    eprintln!("{e}");
                }
            }
            if let Err(e) = netns::remove(ns) {
                eprintln!("{e}");
            }
        }
        if !self.status.ports.is_empty() {
            self.status.ports.clear();
            self.save();
        }
    }

    fn run(&mut self) {
        while !self.done {
            let timeout = self.next_timeout();
            self.poll_once(timeout);
            self.reap();
            self.fire_timers();
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    fn next_timeout(&self) -> Option<Instant> {
        [
            self.restart_at,
            self.stop.map(|(d, _)| d),
            self.next_probe,
            self.running_probe.as_ref().map(|p| p.deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn poll_once(&mut self, deadline: Option<Instant>) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(60_000) as u16;
                PollTimeout::from(ms)
            }
        };
        // Order: wake, listener, stdout, stderr, probe output, clients.
        let mut kinds = Vec::new();
        let mut fds: Vec<PollFd> = Vec::new();
        let ev = PollFlags::POLLIN;
        fds.push(PollFd::new(self.wake.as_fd(), ev));
        kinds.push(Slot::Wake);
        fds.push(PollFd::new(self.listener.as_fd(), ev));
        kinds.push(Slot::Listener);
        if let Some((o, e)) = &self.fifos {
            fds.push(PollFd::new(o.as_fd(), ev));
            kinds.push(Slot::Out(StdStream::Stdout));
            fds.push(PollFd::new(e.as_fd(), ev));
            kinds.push(Slot::Out(StdStream::Stderr));
        }
        if let Some(m) = &self.console {
            let mut flags = ev;
            if !self.console_pending.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(m.as_fd(), flags));
            kinds.push(Slot::Console);
        }
        if let Some(i) = self
            .console_input
            .as_ref()
            .filter(|_| self.console_pending.is_empty())
        {
            fds.push(PollFd::new(i.as_fd(), ev));
            kinds.push(Slot::ConsoleInput);
        }
        if let Some(p) = &self.running_probe {
            fds.push(PollFd::new(p.output.as_fd(), ev));
            kinds.push(Slot::Probe);
        }
        if let Some(p) = &self.adopted {
            fds.push(PollFd::new(p.as_fd(), ev));
            kinds.push(Slot::Adopted);
        }
        for (i, c) in self.clients.iter().enumerate() {
            fds.push(PollFd::new(c.stream.as_fd(), ev));
            kinds.push(Slot::Client(i));
        }
        if poll(&mut fds, timeout).is_err() {
            return;
        }
        let ready: Vec<(Slot, PollFlags)> = fds
            .iter()
            .zip(kinds)
            .filter_map(|(f, k)| f.revents().filter(|r| !r.is_empty()).map(|r| (k, r)))
            .collect();
        drop(fds);
        for (slot, revents) in ready {
            match slot {
                Slot::Console => {
                    if revents.contains(PollFlags::POLLOUT) {
                        self.write_console();
                    }
                    if revents
                        .intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                    {
                        self.pump_console();
                    }
                }
                Slot::ConsoleInput => self.read_console_input(),
                Slot::Wake => drain(self.wake.as_fd()),
                Slot::Listener => self.accept(),
                Slot::Out(s) => self.pump(s),
                Slot::Probe => self.read_probe_output(),
                Slot::Adopted => {
                    // The kernel's record of its exit (Linux 6.15+), else 255 as Docker.
                    let code = self
                        .adopted
                        .take()
                        .and_then(|fd| super::pidfd_exit::exit_code(fd.as_fd()))
                        .unwrap_or(255);
                    if self.init.is_some() {
                        self.init_exited(i64::from(code));
                    }
                }
                Slot::Client(i) => self.serve(i),
            }
        }
        self.clients.retain(|c| !c.closed);
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            let _ = stream.set_nonblocking(false);
            self.clients.push(Client {
                stream,
                buf: Vec::new(),
                waiting: Waiting::Nothing,
                closed: false,
            });
        }
    }

    fn pump(&mut self, stream: StdStream) {
        let Some((o, e)) = &self.fifos else {
            return;
        };
        let fd = match stream {
            StdStream::Stdout => o.as_raw_fd(),
            StdStream::Stderr => e.as_raw_fd(),
        };
        let mut buf = [0u8; 32 * 1024];
        for _ in 0..16 {
            // SAFETY: read into a local buffer from a descriptor we own.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let _ = self.log.write(stream, &buf[..n as usize], &now_rfc3339());
        }
    }

    /// Logs what the init's terminal has written, as stdout (a terminal has one stream),
    /// as it comes: terminal output has no line structure (a prompt ends without a newline)
    /// and an attached `run -t` shows the log as it is written. The master reads EIO once
    /// every slave is closed: it is then dropped.
    fn pump_console(&mut self) {
        let Some(m) = &self.console else {
            return;
        };
        let fd = m.as_raw_fd();
        let mut buf = [0u8; 32 * 1024];
        for _ in 0..16 {
            // SAFETY: read into a local buffer from a descriptor we own.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                let now = now_rfc3339();
                let _ = self.log.write(StdStream::Stdout, &buf[..n as usize], &now);
                let _ = self.log.flush_partial(StdStream::Stdout, &now);
                continue;
            }
            let e = std::io::Error::last_os_error();
            if n == 0 || e.kind() != std::io::ErrorKind::WouldBlock {
                if n < 0 && e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                self.console = None;
                self.console_input = None;
            }
            break;
        }
    }

    /// Reads the attached caller's input (poll said it is readable, so one read does not
    /// block) to write it to the terminal; its end stops the relay.
    fn read_console_input(&mut self) {
        let Some(i) = &self.console_input else {
            return;
        };
        let mut buf = [0u8; 4096];
        // SAFETY: read into a local buffer from a descriptor we own.
        let n = unsafe { libc::read(i.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                self.console_input = None;
            }
            return;
        }
        self.console_pending.extend_from_slice(&buf[..n as usize]);
        self.write_console();
    }

    /// Writes pending input to the terminal's master (non-blocking: what does not fit
    /// waits for POLLOUT).
    fn write_console(&mut self) {
        let Some(m) = &self.console else {
            self.console_pending.clear();
            return;
        };
        while !self.console_pending.is_empty() {
            match nix::unistd::write(m, &self.console_pending) {
                Ok(n) => {
                    self.console_pending.drain(..n);
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(_) => {
                    self.console_pending.clear();
                    self.console_input = None;
                    return;
                }
            }
        }
    }

    fn serve(&mut self, i: usize) {
        let result = {
            let c = &mut self.clients[i];
            // The request line is small; a blocking read of what is there is fine.
            read_request(c.stream.as_fd(), &mut c.buf)
        };
        match result {
            Ok(Some((req, fds))) => self.handle(i, req, fds),
            Ok(None) | Err(_) => self.clients[i].closed = true,
        }
    }

    fn reply(&mut self, i: usize, reply: &Reply) {
        let c = &mut self.clients[i];
        if write_reply(&mut c.stream, reply).is_err() {
            c.closed = true;
        }
    }

    fn handle(&mut self, i: usize, req: Request, fds: Vec<OwnedFd>) {
        match req {
            Request::Stop { signal, timeout_ms } | Request::Restart { signal, timeout_ms } => {
                let again = matches!(req, Request::Restart { .. });
                self.status.manually_stopped = !again;
                self.save();
                if again {
                    self.reply(i, &Reply::Ok);
                } else {
                    self.clients[i].waiting = Waiting::Exit;
                }
                if let Some(pid) = self.init {
                    let _ = runtime::resume(&self.runtime_root, &self.rec.id);
                    let _ = runtime::kill(&self.runtime_root, &self.rec.id, signal, false)
                        .or_else(|_| signal_pid(pid, signal));
                    self.stop = Some((Instant::now() + Duration::from_millis(timeout_ms), again));
                } else if again {
                    self.restart_at = Some(Instant::now());
                } else {
                    // Waiting for a restart: the stop cancels it.
                    self.restart_at = None;
                    self.finish();
                }
            }
            Request::Kill { signal } => {
                if signal == libc::SIGKILL || Some(signal) == self.stop_signal() {
                    self.status.manually_stopped = true;
                    self.save();
                }
                let r = match self.init {
                    Some(pid) => runtime::kill(&self.runtime_root, &self.rec.id, signal, false)
                        .or_else(|_| signal_pid(pid, signal)),
                    None => Err("the container is not running".to_string()),
                };
                self.reply(i, &ok_or_error(r));
            }
            Request::Pause | Request::Resume => {
                let pause = matches!(req, Request::Pause);
                let r = if self.init.is_none() {
                    Err("the container is not running".to_string())
                } else if pause {
                    runtime::pause(&self.runtime_root, &self.rec.id)
                } else {
                    runtime::resume(&self.runtime_root, &self.rec.id)
                };
                if r.is_ok() {
                    self.status.state = if pause {
                        RunState::Paused
                    } else {
                        RunState::Running
                    };
                    self.save();
                    container_event(
                        &self.state,
                        &self.rec,
                        if pause { "pause" } else { "unpause" },
                        &[],
                    );
                }
                self.reply(i, &ok_or_error(r));
            }
            Request::Exec(e) => match self.exec(e, fds) {
                Ok((pid, master)) => {
                    self.clients[i].waiting = Waiting::Exec(pid);
                    let c = &mut self.clients[i];
                    let sent = match &master {
                        Some(m) => write_reply_with_fds(
                            &mut c.stream,
                            &Reply::Started { pid },
                            &[m.as_fd()],
                        ),
                        None => write_reply(&mut c.stream, &Reply::Started { pid }),
                    };
                    if sent.is_err() {
                        c.closed = true;
                    }
                }
                Err(message) => self.reply(i, &Reply::Error { message }),
            },
            Request::Wait => self.clients[i].waiting = Waiting::Exit,
            Request::Resize { rows, cols } => {
                let r = match &self.console {
                    Some(m) => {
                        pty::set_window_size(m.as_fd(), rows, cols).map_err(|e| e.to_string())
                    }
                    None => Err(format!("container {} has no terminal", self.rec.id)),
                };
                self.reply(i, &ok_or_error(r));
            }
        }
    }

    fn stop_signal(&self) -> Option<i32> {
        let name = self
            .rec
            .spec
            .stop_signal
            .clone()
            .or_else(|| self.rec.image_config.stop_signal.clone())?;
        crate::engine::embedded::prepare::signal_number(&name)
    }

    /// The working directory and user of an exec'd process or a probe: the ones asked
    /// for, else the container's own (the service's, else the image's), as Docker's exec
    /// and healthchecks have them.
    fn exec_identity(
        &self,
        user: Option<&str>,
        working_dir: Option<&str>,
    ) -> Result<ExecIdentity, String> {
        fn nonempty(v: Option<&str>) -> Option<&str> {
            v.filter(|s| !s.is_empty())
        }
        let spec = &self.rec.spec;
        let image = &self.rec.image_config;
        let dir = nonempty(working_dir)
            .or(nonempty(spec.working_dir.as_deref()))
            .or(nonempty(Some(image.working_dir.as_str())));
        let cwd = match dir {
            Some(w) => Some(
                crate::engine::embedded::runtime_spec::checked_working_dir(w)
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let user = nonempty(user)
            .or(nonempty(spec.user.as_deref()))
            .or(nonempty(Some(image.user.as_str())));
        let (uid, gid) = match user {
            Some(u) => {
                let rootfs = self.paths.dir.join("rootfs");
                let (uid, gid, _) = crate::engine::embedded::prepare::resolve_user(&rootfs, u)?;
                (Some(uid), Some(gid))
            }
            None => (None, None),
        };
        Ok(ExecIdentity { cwd, uid, gid })
    }

    /// Starts an exec'd process: its pid, and the master of its new terminal for
    /// [`ExecStdio::Terminal`].
    fn exec(
        &mut self,
        e: ExecRequest,
        fds: Vec<OwnedFd>,
    ) -> Result<(i32, Option<OwnedFd>), String> {
        let Some(init) = self.init.filter(|_| self.status.state == RunState::Running) else {
            return Err(format!("container {} is not running", self.rec.id));
        };
        let (stdio, master, terminal) = match e.stdio {
            ExecStdio::Pipes => {
                let mut it = fds.into_iter();
                let (Some(stdin), Some(stdout), Some(stderr)) = (it.next(), it.next(), it.next())
                else {
                    return Err("exec needs three descriptors".into());
                };
                (
                    Stdio {
                        stdin,
                        stdout,
                        stderr,
                    },
                    None,
                    ControllingTerminal::None,
                )
            }
            ExecStdio::Terminal { size } => {
                if !fds.is_empty() {
                    return Err("an exec with a terminal takes no descriptors".into());
                }
                let p = pty::open_in_container(init, size)?;
                let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| e.to_string());
                (
                    Stdio {
                        stdin: dup(&p.slave)?,
                        stdout: dup(&p.slave)?,
                        stderr: p.slave,
                    },
                    Some(p.master),
                    ControllingTerminal::Stdin,
                )
            }
        };
        let ExecIdentity { cwd, uid, gid } =
            self.exec_identity(e.user.as_deref(), e.working_dir.as_deref())?;
        let pid = runtime::exec(
            &self.runtime_root,
            &self.rec.id,
            ExecProcess {
                args: e.args,
                env: e.env,
                cwd,
                uid,
                gid,
                // Docker's `exec --privileged`: every capability, under the container's
                // seccomp filter still.
                extra_caps: if e.privileged {
                    use crate::engine::embedded::runtime_spec::{
                        capability_names, own_bounding_set,
                    };
                    capability_names(own_bounding_set())
                } else {
                    Vec::new()
                },
            },
            stdio,
            self.seccomp.clone(),
            terminal,
        )?;
        Ok((pid, master))
    }

    /// Reaps every exited child: the init, exec'd processes, probes.
    fn reap(&mut self) {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        loop {
            let st = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(s) => s,
            };
            let (pid, code) = match st {
                WaitStatus::Exited(p, c) => (p.as_raw(), i64::from(c)),
                WaitStatus::Signaled(p, s, _) => (p.as_raw(), 128 + s as i64),
                _ => continue,
            };
            if Some(pid) == self.init {
                self.init_exited(code);
            } else if self.running_probe.as_ref().is_some_and(|p| p.pid == pid) {
                self.probe_exited(code);
            } else {
                for i in 0..self.clients.len() {
                    if self.clients[i].waiting == Waiting::Exec(pid) {
                        self.clients[i].waiting = Waiting::Nothing;
                        self.reply(i, &Reply::Exited { code });
                    }
                }
            }
        }
    }

    fn init_exited(&mut self, code: i64) {
        self.init = None;
        // Whatever is still in the pipes belongs to this run.
        self.pump(StdStream::Stdout);
        self.pump(StdStream::Stderr);
        self.pump_console();
        self.console = None;
        self.console_input = None;
        self.console_pending.clear();
        let now = now_rfc3339();
        let _ = self.log.flush_partial(StdStream::Stdout, &now);
        let _ = self.log.flush_partial(StdStream::Stderr, &now);
        self.fifos = None;
        if let Some(p) = self.running_probe.take() {
            let _ = signal_pid(p.pid, libc::SIGKILL);
        }
        self.next_probe = None;
        let oom = runtime::oom_killed(&self.cgroups_path);
        let ran_for = self.started.elapsed();
        self.status.exit_code = Some(code);
        self.status.oom_killed = oom;
        self.status.finished_at = Some(now);
        self.status.pid = None;
        self.status.pid_start = None;
        if let Some(h) = self.status.health.as_mut() {
            h.status = HealthStatus::Unhealthy;
        }
        if oom {
            container_event(&self.state, &self.rec, "oom", &[]);
        }
        container_event(
            &self.state,
            &self.rec,
            "die",
            &[("exitCode", code.to_string())],
        );
        if let Err(e) = runtime::delete(&self.runtime_root, &self.rec.id) {
            eprintln!("{e}");
        }
        let stop = self.stop.take();
        if let Some((_, true)) = stop {
            // `restart`: start again at once, without counting it as a policy restart.
            self.status.state = RunState::Restarting;
            self.save();
            self.restart_at = Some(Instant::now());
            return;
        }
        let delay = self.backoff.decide(
            &self.rec.spec.restart,
            code,
            self.status.manually_stopped,
            self.status.restart_count,
            ran_for,
        );
        match delay {
            Some(d) => {
                self.status.state = RunState::Restarting;
                self.status.restart_count += 1;
                self.save();
                self.restart_at = Some(Instant::now() + d);
            }
            None => self.finish(),
        }
    }

    /// The container is stopped for good: release everything, answer the waiters, exit.
    fn finish(&mut self) {
        // Released before the record says "exited": whoever sees that may start the
        // container again at once, and must not race this cleanup on the namespace, the
        // mounts or the socket path. The shim's own pid stays in the record until it is gone
        // (`start` waits for it).
        self.cleanup_after_exit();
        self.status.state = RunState::Exited;
        self.save();
        if self.stop.is_none() && self.status.manually_stopped {
            container_event(&self.state, &self.rec, "stop", &[]);
        }
        let code = self.status.exit_code.unwrap_or(0);
        for i in 0..self.clients.len() {
            if self.clients[i].waiting == Waiting::Exit {
                self.reply(i, &Reply::Exited { code });
            }
        }
        self.done = true;
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if let Some((deadline, _)) = self.stop {
            if now >= deadline && self.init.is_some() {
                let _ = runtime::kill(&self.runtime_root, &self.rec.id, libc::SIGKILL, true)
                    .or_else(|_| self.init.map_or(Ok(()), |p| signal_pid(p, libc::SIGKILL)));
                // Wait for the exit without a deadline now.
                self.stop = self
                    .stop
                    .map(|(_, again)| (now + Duration::from_secs(3600), again));
            }
        }
        if self.restart_at.is_some_and(|t| now >= t) {
            self.restart_at = None;
            if let Err(e) = self.start_container() {
                eprintln!("restart failed: {e}");
                self.status.error = Some(e);
                self.finish();
                return;
            }
        }
        if let Some(p) = &self.running_probe {
            if now >= p.deadline && !p.timed_out {
                let _ = signal_pid(p.pid, libc::SIGKILL);
                if let Some(p) = self.running_probe.as_mut() {
                    p.timed_out = true;
                    p.deadline = now + Duration::from_secs(3600);
                }
            }
        }
        if self.next_probe.is_some_and(|t| now >= t) && self.running_probe.is_none() {
            self.next_probe = None;
            self.start_probe();
        }
    }

    fn start_probe(&mut self) {
        let Some(probe) = self.probe.clone() else {
            return;
        };
        if self.status.state != RunState::Running {
            // Paused: try again later.
            self.next_probe = Some(Instant::now() + probe.interval);
            return;
        }
        let start = now_rfc3339();
        let result = (|| -> Result<(i32, OwnedFd), String> {
            let (r, w) =
                nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
            nix::fcntl::fcntl(
                r.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| e.to_string())?;
            let devnull = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            let w2 = w.try_clone().map_err(|e| e.to_string())?;
            let ExecIdentity { cwd, uid, gid } = self.exec_identity(None, None)?;
            let pid = runtime::exec(
                &self.runtime_root,
                &self.rec.id,
                ExecProcess {
                    args: probe.command.clone(),
                    env: Vec::new(),
                    cwd,
                    uid,
                    gid,
                    extra_caps: Vec::new(),
                },
                Stdio {
                    stdin: devnull.into(),
                    stdout: w,
                    stderr: w2,
                },
                self.seccomp.clone(),
                ControllingTerminal::None,
            )?;
            Ok((pid, r))
        })();
        match result {
            Ok((pid, output)) => {
                self.running_probe = Some(RunningProbe {
                    pid,
                    output,
                    text: Vec::new(),
                    start,
                    deadline: Instant::now() + probe.timeout,
                    timed_out: false,
                });
            }
            Err(e) => self.record_probe(HealthResult {
                start,
                end: now_rfc3339(),
                exit_code: -1,
                output: e,
            }),
        }
    }

    fn read_probe_output(&mut self) {
        let Some(p) = self.running_probe.as_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: read into a local buffer.
            let n = unsafe { libc::read(p.output.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let room = health::MAX_OUTPUT.saturating_sub(p.text.len());
            p.text.extend_from_slice(&buf[..(n as usize).min(room)]);
        }
    }

    fn probe_exited(&mut self, code: i64) {
        self.read_probe_output();
        let Some(p) = self.running_probe.take() else {
            return;
        };
        let timeout = self.probe.as_ref().map(|p| p.timeout).unwrap_or_default();
        let (exit_code, output) = if p.timed_out {
            (
                -1,
                format!("Health check exceeded timeout ({}s)", timeout.as_secs()),
            )
        } else {
            (code, String::from_utf8_lossy(&p.text).into_owned())
        };
        self.record_probe(HealthResult {
            start: p.start,
            end: now_rfc3339(),
            exit_code,
            output,
        });
    }

    fn record_probe(&mut self, result: HealthResult) {
        let Some(probe) = self.probe.clone() else {
            return;
        };
        if self.init.is_none() {
            return;
        }
        let since = self.started.elapsed();
        let h = self.status.health.get_or_insert_with(HealthState::default);
        let changed = health::record(&probe, h, result, since);
        let status = h.status;
        let delay = probe.next_delay(h, since);
        self.save();
        if changed {
            let word = match status {
                HealthStatus::Starting => "starting",
                HealthStatus::Healthy => "healthy",
                HealthStatus::Unhealthy => "unhealthy",
            };
            container_event(
                &self.state,
                &self.rec,
                &format!("health_status: {word}"),
                &[],
            );
        }
        self.next_probe = Some(Instant::now() + delay);
    }
}

#[derive(Clone, Copy)]
enum Slot {
    Wake,
    Listener,
    Out(StdStream),
    /// The master of the init's terminal.
    Console,
    /// The attached caller's input for it.
    ConsoleInput,
    Probe,
    Adopted,
    Client(usize),
}

fn drain(fd: BorrowedFd<'_>) {
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from a non-blocking pipe.
    while unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

fn signal_pid(pid: i32, signal: i32) -> Result<(), String> {
    // SAFETY: kill(2) on a pid we supervise.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

fn ok_or_error(r: Result<(), String>) -> Reply {
    match r {
        Ok(()) => Reply::Ok,
        Err(message) => Reply::Error { message },
    }
}

fn install_handlers() -> Result<(), String> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let chld = SigAction::new(
        SigHandler::Handler(on_sigchld),
        SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    let other = SigAction::new(
        SigHandler::Handler(on_other),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handlers only call write(2) or nothing.
    unsafe {
        sigaction(Signal::SIGCHLD, &chld).map_err(|e| e.to_string())?;
        for s in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGPIPE,
        ] {
            sigaction(s, &other).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
