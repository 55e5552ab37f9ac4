//! The one module that talks to libcontainer (pinned at =0.7.0): create and start a
//! container's init, exec a process into it, signal, pause, resume and delete it.
//!
//! libcontainer clones from the calling thread and runs Rust code in the child before
//! `execve`, so it must only be called from a single-threaded process: the shim. It also
//! makes the caller non-dumpable; the shim is the right place for that too.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;

use super::pty::ConsoleSocket;
use super::seccomp_bpf::CompiledFilter;

/// The three standard descriptors a process gets.
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Whether a process takes the terminal on its fd 0 as its controlling terminal (our
/// executor does, just before `execve`: see [`super::pty`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControllingTerminal {
    /// None (its streams are pipes or files).
    None,
    /// The pty slave on its stdin.
    Stdin,
}

/// A process to run inside a running container.
pub struct ExecProcess {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// The builder both the init and exec'd processes start from: our state root, the three
/// descriptors, the executor that loads the compiled seccomp filter.
fn builder(
    root: &Path,
    id: &str,
    stdio: Stdio,
    filter: Option<CompiledFilter>,
    terminal: ControllingTerminal,
) -> Result<ContainerBuilder, String> {
    Ok(ContainerBuilder::new(id.to_string(), SyscallType::Linux)
        .with_root_path(root)
        .map_err(|e| err("runtime root", e))?
        .with_stdin(stdio.stdin)
        .with_stdout(stdio.stdout)
        .with_stderr(stdio.stderr)
        .with_executor(FilterExecutor { filter, terminal }))
}

/// Creates and starts the container from `bundle/config.json`; returns the init's pid
/// (a child of the calling process) and, with a `console` (the spec's `terminal: true`),
/// the master of the init's terminal (`stdio` is then unused). `propagation`: the binds'
/// mount points and their propagation (`rprivate`, `rshared`, ...), applied between create
/// and start.
pub fn create_and_start(
    root: &Path,
    id: &str,
    bundle: &Path,
    stdio: Stdio,
    filter: Option<CompiledFilter>,
    propagation: &[(PathBuf, String)],
    console: Option<&ConsoleSocket>,
) -> Result<(i32, Option<OwnedFd>), String> {
    if root.join(id).exists() {
        delete(root, id)?;
    }
    let mut container = builder(root, id, stdio, filter, ControllingTerminal::None)?
        .with_console_socket(console.map(ConsoleSocket::path))
        .validate_id()
        .map_err(|e| err("container id", e))?
        .as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| err("cannot create the container", e))?;
    tracing::debug!("runtime: created");
    let master = match console {
        Some(c) => Some(c.receive(std::time::Duration::from_secs(10))?),
        None => None,
    };
    if !propagation.is_empty() {
        let pid = container
            .pid()
            .ok_or("the runtime reported no pid for the container")?;
        set_propagation(pid.as_raw(), propagation)?;
    }
    container
        .start()
        .map_err(|e| err("cannot start the container", e))?;
    let pid = container
        .pid()
        .map(|p| p.as_raw())
        .ok_or_else(|| "the runtime reported no pid for the container".to_string())?;
    Ok((pid, master))
}

/// Sets the propagation of the binds in the created container's mount namespace.
///
/// libcontainer 0.7 mounts binds with `open_tree` + `move_mount` and drops the propagation
/// options of the spec, so a bind would keep its host mount's propagation (a slave of a
/// shared host mount, instead of Docker's rprivate). A forked child joins the container's
/// mount namespace (whose root is the container's, after pivot_root) and does what runc does
/// after each bind: `mount(NULL, target, NULL, MS_[R]{PRIVATE,SHARED,SLAVE})`.
fn set_propagation(pid: i32, mounts: &[(PathBuf, String)]) -> Result<(), String> {
    use nix::mount::MsFlags;
    use std::ffi::CString;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let mut calls = Vec::with_capacity(mounts.len());
    for (target, mode) in mounts {
        let flags = match mode.as_str() {
            "private" => MsFlags::MS_PRIVATE,
            "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            "shared" => MsFlags::MS_SHARED,
            "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
            "slave" => MsFlags::MS_SLAVE,
            "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
            other => return Err(format!("invalid propagation mode: {other}")),
        };
        let path = CString::new(target.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        calls.push((path, flags.bits()));
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
        .map_err(|e| err("the container's mount namespace", e))?;
    let (mut read_end, write_end) = std::io::pipe().map_err(|e| err("pipe", e))?;
    // SAFETY: the shim is single-threaded; the child only makes raw syscalls on memory
    // prepared above and leaves with _exit.
    match unsafe { nix::unistd::fork() }.map_err(|e| err("fork", e))? {
        nix::unistd::ForkResult::Child => {
            drop(read_end);
            let fail = |index: usize| -> ! {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                let msg = [index as u32, errno as u32];
                // SAFETY: a valid fd and an 8-byte buffer; _exit never returns.
                unsafe {
                    libc::write(write_end.as_raw_fd(), msg.as_ptr().cast(), 8);
                    libc::_exit(1)
                }
            };
            // SAFETY: a valid namespace fd.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNS) } != 0 {
                fail(usize::MAX);
            }
            for (i, (path, flags)) in calls.iter().enumerate() {
                // SAFETY: NUL-terminated path; null source, type and data are allowed.
                let r = unsafe {
                    libc::mount(
                        std::ptr::null(),
                        path.as_ptr(),
                        std::ptr::null(),
                        *flags,
                        std::ptr::null(),
                    )
                };
                if r != 0 {
                    fail(i);
                }
            }
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(write_end);
            let mut buf = Vec::new();
            let _ = read_end.read_to_end(&mut buf);
            let _ = nix::sys::wait::waitpid(child, None);
            if buf.len() >= 8 {
                let index = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
                let what = mounts.get(index).map_or_else(
                    || "joining the container's mount namespace".to_string(),
                    |(t, m)| format!("setting {m} propagation on {}", t.display()),
                );
                return Err(format!(
                    "{what}: {}",
                    std::io::Error::from_raw_os_error(errno)
                ));
            }
            Ok(())
        }
    }
}

/// Our last step in the container's process, just before `execve`: takes the controlling
/// terminal for an `exec -t` (see [`super::pty`]), then loads the container's compiled
/// seccomp filter and drops the CAP_SYS_ADMIN lent for that (see [`super::seccomp_bpf`]).
/// Used for the init and for exec'd processes alike: libcontainer 0.7 would otherwise
/// compile the profile in every init and leave exec'd processes unfiltered.
#[derive(Clone)]
struct FilterExecutor {
    filter: Option<CompiledFilter>,
    terminal: ControllingTerminal,
}

impl libcontainer::workload::Executor for FilterExecutor {
    fn exec(
        &self,
        spec: &libcontainer::oci_spec::runtime::Spec,
    ) -> Result<(), libcontainer::workload::ExecutorError> {
        if self.terminal == ControllingTerminal::Stdin {
            super::pty::take_controlling_terminal().map_err(|e| {
                libcontainer::workload::ExecutorError::Other(format!(
                    "cannot make the terminal the controlling terminal: {e}"
                ))
            })?;
        }
        if let Some(f) = &self.filter {
            super::seccomp_bpf::load_and_settle(f).map_err(|e| {
                libcontainer::workload::ExecutorError::Other(format!("seccomp: {e}"))
            })?;
        }
        libcontainer::workload::default::DefaultExecutor {}.exec(spec)
    }

    fn validate(
        &self,
        spec: &libcontainer::oci_spec::runtime::Spec,
    ) -> Result<(), libcontainer::workload::ExecutorValidationError> {
        libcontainer::workload::default::DefaultExecutor {}.validate(spec)
    }
}

/// Starts a process in the running container; returns its pid (a child of the caller).
/// `filter` is the container's compiled seccomp filter, applied to the process too.
pub fn exec(
    root: &Path,
    id: &str,
    p: ExecProcess,
    stdio: Stdio,
    filter: Option<CompiledFilter>,
    terminal: ControllingTerminal,
) -> Result<i32, String> {
    let env: HashMap<String, String> = p
        .env
        .iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let pid = builder(root, id, stdio, filter, terminal)?
        .as_tenant()
        .with_container_args(p.args)
        .with_env(env)
        .with_cwd(p.cwd)
        .with_user(p.uid)
        .with_group(p.gid)
        .with_detach(true)
        .build()
        .map_err(|e| err("cannot exec in the container", e))?;
    // libcontainer leaves one notify socket per exec behind.
    clean_tenant_sockets(&root.join(id));
    Ok(pid.as_raw())
}

fn clean_tenant_sockets(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with("tenant-notify-")
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn load(root: &Path, id: &str) -> Result<Container, String> {
    Container::load(root.join(id)).map_err(|e| err("cannot load the container state", e))
}

/// Sends `signal` to the init (`all`: to every process of the container).
pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> Result<(), String> {
    let sig = Signal::try_from(signal).map_err(|e| err("signal", e))?;
    load(root, id)?
        .kill(sig, all)
        .map_err(|e| err("cannot signal the container", e))
}

pub fn pause(root: &Path, id: &str) -> Result<(), String> {
    load(root, id)?
        .pause()
        .map_err(|e| err("cannot pause the container", e))
}

pub fn resume(root: &Path, id: &str) -> Result<(), String> {
    load(root, id)?
        .resume()
        .map_err(|e| err("cannot resume the container", e))
}

/// Removes the runtime's state and cgroups of a stopped container (force: kills first).
pub fn delete(root: &Path, id: &str) -> Result<(), String> {
    let dir = root.join(id);
    if !dir.exists() {
        return Ok(());
    }
    match Container::load(dir.clone()) {
        Ok(mut c) => {
            let _ = c.refresh_status();
            c.delete(true)
                .map_err(|e| err("cannot delete the container's runtime state", e))
        }
        // A state the runtime cannot read any more: remove the directory ourselves.
        Err(_) => std::fs::remove_dir_all(&dir).map_err(|e| err("cannot remove runtime state", e)),
    }
}

/// Whether the kernel OOM-killed a process of the container's cgroup (v1 and v2 files).
pub fn oom_killed(cgroups_path: &Path) -> bool {
    let rel = cgroups_path.strip_prefix("/").unwrap_or(cgroups_path);
    let candidates = [
        Path::new("/sys/fs/cgroup/memory")
            .join(rel)
            .join("memory.oom_control"),
        Path::new("/sys/fs/cgroup").join(rel).join("memory.events"),
        Path::new("/sys/fs/cgroup/unified")
            .join(rel)
            .join("memory.events"),
    ];
    candidates.iter().any(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

/// The pids in the container's cgroup (for `top`), from the v1 `pids` or `memory`
/// controller or the unified tree, whichever has the cgroup.
pub fn cgroup_pids(cgroups_path: &Path) -> Vec<i32> {
    let rel = cgroups_path.strip_prefix("/").unwrap_or(cgroups_path);
    for base in [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup",
    ] {
        let p = Path::new(base).join(rel).join("cgroup.procs");
        if let Ok(t) = std::fs::read_to_string(&p) {
            return t.lines().filter_map(|l| l.trim().parse().ok()).collect();
        }
    }
    Vec::new()
}
