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
    /// Capabilities added to the container's own (`exec --privileged`: all of ours), by
    /// name (`CAP_SYS_ADMIN`).
    pub extra_caps: Vec<String>,
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

/// What libcontainer 0.7 leaves out of the spec's mounts, done in the created container's
/// mount namespace between create and start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountFix {
    /// A bind's propagation (`rprivate`, `rshared`, ...): libcontainer mounts binds with
    /// `open_tree` + `move_mount` and drops it, so a bind would keep its host mount's (a
    /// slave of a shared host mount instead of Docker's rprivate).
    Propagation { target: PathBuf, mode: String },
    /// Makes the mount at `target` and every mount below it read-only. libcontainer 0.7
    /// ignores `ro` on the cgroup v1 tree (a tmpfs plus one mount per hierarchy, all
    /// writable), so a container could rewrite its own limits (`pids.max`, the memory
    /// limit); Docker's `/sys/fs/cgroup` is read-only unless privileged.
    ReadOnlyTree { target: PathBuf },
}

/// Creates and starts the container from `bundle/config.json`; returns the init's pid
/// (a child of the calling process) and, with a `console` (the spec's `terminal: true`),
/// the master of the init's terminal (`stdio` is then unused). `fixes` are applied between
/// create and start.
pub fn create_and_start(
    root: &Path,
    id: &str,
    bundle: &Path,
    stdio: Stdio,
    filter: Option<CompiledFilter>,
    fixes: &[MountFix],
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
    if !fixes.is_empty() {
        let pid = container
            .pid()
            .ok_or("the runtime reported no pid for the container")?;
        fix_mounts(pid.as_raw(), fixes)?;
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

/// One prepared system call of [`fix_mounts`].
enum MountCall {
    /// `mount(NULL, target, NULL, flags, NULL)`.
    Propagation(libc::c_ulong),
    /// `mount_setattr(AT_FDCWD, target, AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY})`.
    ReadOnlyTree,
}

/// The kernel's `struct mount_attr` (linux/mount.h), for `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Applies `fixes` in the created container's mount namespace: a forked child joins it
/// (its root is the container's, after pivot_root) and does what runc does itself: for a
/// bind, `mount(NULL, target, NULL, MS_[R]{PRIVATE,SHARED,SLAVE})`; for a read-only tree,
/// one recursive `mount_setattr` (Linux 5.12, which libcontainer 0.7 needs anyway).
fn fix_mounts(pid: i32, fixes: &[MountFix]) -> Result<(), String> {
    use std::ffi::CString;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let mut calls = Vec::with_capacity(fixes.len());
    for fix in fixes {
        let (target, call) = match fix {
            MountFix::Propagation { target, mode } => (
                target,
                MountCall::Propagation(propagation_flags(mode)?.bits()),
            ),
            MountFix::ReadOnlyTree { target } => (target, MountCall::ReadOnlyTree),
        };
        let path = CString::new(target.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        calls.push((path, call));
    }
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
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
            for (i, (path, call)) in calls.iter().enumerate() {
                let r = match call {
                    // SAFETY: NUL-terminated path; null source, type and data are allowed.
                    MountCall::Propagation(flags) => unsafe {
                        libc::mount(
                            std::ptr::null(),
                            path.as_ptr(),
                            std::ptr::null(),
                            *flags,
                            std::ptr::null(),
                        )
                    },
                    // SAFETY: NUL-terminated path, a valid struct and its size.
                    MountCall::ReadOnlyTree => unsafe {
                        libc::syscall(
                            libc::SYS_mount_setattr,
                            libc::AT_FDCWD,
                            path.as_ptr(),
                            libc::AT_RECURSIVE,
                            &attr as *const MountAttr,
                            std::mem::size_of::<MountAttr>(),
                        ) as libc::c_int
                    },
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
                let what = match fixes.get(index) {
                    None => "joining the container's mount namespace".to_string(),
                    Some(MountFix::Propagation { target, mode }) => {
                        format!("setting {mode} propagation on {}", target.display())
                    }
                    Some(MountFix::ReadOnlyTree { target }) => {
                        format!("making {} read-only", target.display())
                    }
                };
                return Err(format!(
                    "{what}: {}",
                    std::io::Error::from_raw_os_error(errno)
                ));
            }
            Ok(())
        }
    }
}

/// The `mount(2)` flags of a propagation mode.
fn propagation_flags(mode: &str) -> Result<nix::mount::MsFlags, String> {
    use nix::mount::MsFlags;
    Ok(match mode {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        other => return Err(format!("invalid propagation mode: {other}")),
    })
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
        // The working directory must lie inside the container's root: a symlink to
        // /proc/self/fd/N would put it on a host directory a descriptor still open here
        // points at (CVE-2024-21626). The kernel reports such a directory as unreachable
        // from our root, and getcwd then fails.
        if let Err(e) = std::env::current_dir() {
            return Err(libcontainer::workload::ExecutorError::Other(format!(
                "the working directory is not inside the container: {e}"
            )));
        }
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
        .with_capabilities(p.extra_caps)
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
