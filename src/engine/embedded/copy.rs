//! `cp` on the embedded engine: what a path in a container is ([`stat`]), a tar of it
//! ([`archive`], for `copy_from`) and a tar extracted into one of its directories
//! ([`extract`], for `copy_to`), with the semantics of Docker's archive API.
//!
//! Safe against the container (reliability-plan c.3 item 19). Nothing of the container is
//! executed: no tar binary, no NSS, no `setns`; all of it is this process's Rust
//! (CVE-2019-14271). Every path is resolved inside the container's root with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative to a directory fd of that
//! root, and then used only through the fds it gives, with `*at` calls that never follow a
//! symlink; a host path string is never re-resolved. A symlink the container swaps in, even
//! while the copy runs, therefore resolves as if the root were `/` and leads nowhere outside
//! it (CVE-2018-15664).
//!
//! Which root: a running container's `/proc/<init>/root`, which holds its mounts (volumes,
//! binds, tmpfs, secrets) as Docker's `cp` sees them; the `/proc/<init>` directory is opened
//! first and its start time checked, so a recycled pid is never taken for the init. A
//! container that is not running: its overlay, mounted in a private mount namespace of a
//! short-lived thread (it never shows on the host and goes away with the thread) while the
//! rootfs lock is held, so that a start waits rather than mount a second overlay on the same
//! upper directory. Its volumes and binds are mounted there too, as Docker mounts them; a
//! path below a mount that cannot be there (a tmpfs, a target the rootfs lacks) is refused
//! ([`check_reachable`]) rather than copied from or into the rootfs directory it hides.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use super::containers as ct;
use super::record::{ContainerPaths, ContainerRecord, ContainerStatus, RunState};
use super::rootfs::{self, RootfsPaths};
use super::state::StateRoot;
use super::store::unpack::fsat;
use crate::engine::{EngineError, EngineResult, Mount, PathKind, PathStat};

#[path = "copy_tar.rs"]
mod tar_io;

pub use tar_io::{archive, extract};

/// Why a copy failed; the messages are Docker's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("Could not find the file {path} in the container")]
    NoSuchPath { path: String },
    #[error("container rootfs is marked read-only")]
    ReadOnlyRootfs,
    #[error("mounted volume is marked read-only")]
    ReadOnlyVolume,
    #[error("cannot overwrite directory \"{path}\" with non-directory \"{dir}\"")]
    DirWithNonDir { path: String, dir: String },
    #[error("cannot overwrite non-directory \"{path}\" with directory \"{dir}\"")]
    NonDirWithDir { path: String, dir: String },
    #[error("\"{entry}\" is outside of \"{dir}\"")]
    Breakout { entry: String, dir: String },
    #[error("invalid archive entry `{entry}`: {reason}")]
    Invalid { entry: String, reason: String },
    #[error("cannot read the archive: {0}")]
    Tar(#[source] io::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{target} is a mount of the container, which the embedded engine reaches only while \
         the container runs"
    )]
    MountNotRunning { target: String },
    #[error("cp on the embedded engine needs openat2 (Linux 5.6 or later)")]
    NoOpenat2,
}

impl From<CopyError> for EngineError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::NoSuchPath { path } => EngineError::NotFound {
                what: format!("file {path} in the container"),
            },
            other => EngineError::Backend {
                message: other.to_string(),
            },
        }
    }
}

/// An [`io::Error`] on `path` as a [`CopyError`] (ENOSYS from openat2 said as such).
pub(crate) fn io_err(path: &[u8]) -> impl Fn(io::Error) -> CopyError + '_ {
    move |source| {
        if fsat::errno(&source) == libc::ENOSYS {
            return CopyError::NoOpenat2;
        }
        CopyError::Io {
            path: String::from_utf8_lossy(path).into_owned(),
            source,
        }
    }
}

/// A directory fd of a container's `/`, and the container's record.
pub struct Root {
    pub fd: OwnedFd,
    pub rec: ContainerRecord,
    pub mounts: Mounts,
}

/// Whether the container's mounts (volumes, binds, tmpfs) are in its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mounts {
    /// A running container's root, as its processes see it.
    Present,
    /// The overlay of a container that is not running, with its volumes and binds mounted
    /// at the `bound` targets (as Docker mounts them for a `cp`); its other mounts (tmpfs, a
    /// target the rootfs lacks) are absent.
    Absent { bound: Vec<String> },
}

/// Runs `job` on the root of the container `id` (see the module header for which root), on a
/// thread of its own.
pub fn with_root<T: Send + 'static>(
    st: StateRoot,
    id: String,
    job: impl FnOnce(&Root) -> EngineResult<T> + Send + 'static,
) -> EngineResult<T> {
    std::thread::spawn(move || in_root(&st, &id, job))
        .join()
        .map_err(|_| EngineError::Backend {
            message: "the copy thread panicked".into(),
        })?
}

fn in_root<T>(
    st: &StateRoot,
    id: &str,
    job: impl FnOnce(&Root) -> EngineResult<T>,
) -> EngineResult<T> {
    let backend = |e: io::Error| EngineError::Backend {
        message: format!("cannot reach the container's filesystem: {e}"),
    };
    // A container that starts or stops meanwhile is looked at again (a few times).
    for _ in 0..5 {
        let (rec, status) = ct::find(st, id)?;
        if let Some(fd) = running_root(&status).map_err(backend)? {
            let mounts = Mounts::Present;
            return job(&Root { fd, rec, mounts });
        }
        let paths = RootfsPaths::in_container_dir(&ContainerPaths::new(st, &rec.id).dir);
        let _lock = rootfs::lock(&paths).map_err(backend)?;
        let (rec, status) = ct::find(st, &rec.id)?;
        if live_init(&status).is_some() {
            continue; // started while we waited for the lock
        }
        if rootfs::is_mounted(&paths.merged) {
            // Its shim has it mounted (starting, or just stopped): that very overlay.
            let fd = open_dir(&paths.merged).map_err(backend)?;
            let mounts = Mounts::Absent { bound: Vec::new() };
            return job(&Root { fd, rec, mounts });
        }
        return private_overlay(&paths, rec, job, backend);
    }
    Err(EngineError::Backend {
        message: format!("container {id} kept starting and stopping during the copy"),
    })
}

/// The init's pid and start time when the record says it runs.
fn live_init(status: &ContainerStatus) -> Option<(i32, u64)> {
    let live = matches!(
        status.state,
        RunState::Running | RunState::Paused | RunState::Restarting
    );
    match (live, status.pid, status.pid_start) {
        (true, Some(pid), Some(start)) => Some((pid, start)),
        _ => None,
    }
}

/// `/proc/<init>/root` of a running container; `None` when its init is gone. The pid's
/// `/proc` directory pins the process: once its start time matches, `root` in it is that
/// process's, or nothing.
fn running_root(status: &ContainerStatus) -> io::Result<Option<OwnedFd>> {
    let Some((pid, start)) = live_init(status) else {
        return Ok(None);
    };
    let gone = |e: &io::Error| matches!(fsat::errno(e), libc::ENOENT | libc::ESRCH);
    let proc_dir = match open_dir(format!("/proc/{pid}")) {
        Ok(fd) => fd,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let stat = match fsat::openat(&proc_dir, c"stat", libc::O_RDONLY | libc::O_CLOEXEC, 0) {
        Ok(fd) => io::read_to_string(std::fs::File::from(fd)),
        Err(e) => Err(e),
    };
    match stat {
        Ok(text) if super::record::stat_start(&text) == Some(start) => {}
        Ok(_) => return Ok(None),
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    match fsat::openat(&proc_dir, c"root", flags, 0) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Mounts the overlay in a new mount namespace of this thread, runs `job` on it, unmounts.
fn private_overlay<T>(
    paths: &RootfsPaths,
    rec: ContainerRecord,
    job: impl FnOnce(&Root) -> EngineResult<T>,
    backend: impl Fn(io::Error) -> EngineError,
) -> EngineResult<T> {
    let lowers = rec.lowers.clone();
    private_overlays(&[(paths, &lowers)], move |fds| {
        let fd = fds.into_iter().next().expect("one overlay");
        let bound = bind_mounts(&fd, &rec);
        let mounts = Mounts::Absent { bound };
        job(&Root { fd, rec, mounts })
    })
    .map_err(backend)?
}

/// Mounts the volumes and bind sources of a stopped container over their targets in `root`
/// (its overlay, in this thread's private mount namespace), parents first, as Docker does
/// for `cp`. Both ends are opened first (the target resolved inside the root) and mounted
/// through their `/proc/self/fd` links, so a symlink in the rootfs never places a mount
/// outside it. A target the rootfs lacks (a container never started) is left out. Returns
/// the targets mounted.
fn bind_mounts(root: &OwnedFd, rec: &ContainerRecord) -> Vec<String> {
    use nix::mount::{mount, MsFlags};
    let mut mounts: Vec<(&Mount, &std::path::PathBuf)> = rec
        .spec
        .mounts
        .iter()
        .zip(&rec.mount_sources)
        .filter(|(m, _)| {
            matches!(
                m.kind,
                crate::engine::MountKind::Volume | crate::engine::MountKind::Bind
            )
        })
        .collect();
    mounts.sort_by_key(|(m, _)| m.target.trim_end_matches('/').matches('/').count());
    let mut bound = Vec::new();
    for (m, source) in mounts {
        let flags = libc::O_PATH | libc::O_CLOEXEC;
        let Ok(src) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(source)
        else {
            continue;
        };
        let Ok(dst) = open_in_root(root, m.target.as_bytes(), flags) else {
            continue;
        };
        let (s, d) = (
            format!("/proc/self/fd/{}", src.as_raw_fd()),
            format!("/proc/self/fd/{}", dst.as_raw_fd()),
        );
        let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
        if mount(
            Some(s.as_str()),
            d.as_str(),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .is_ok()
        {
            bound.push(m.target.clone());
        }
    }
    bound
}

/// Mounts each overlay (its paths and lower dirs, top first) in a new mount namespace of the
/// calling thread, runs `job` on directory fds of their roots, then unmounts them. The
/// mounts never show on the host; the thread keeps the namespace, so call it on a thread of
/// its own (the build's `COPY` does too).
pub(crate) fn private_overlays<T>(
    overlays: &[(&RootfsPaths, &[std::path::PathBuf])],
    job: impl FnOnce(Vec<OwnedFd>) -> T,
) -> io::Result<T> {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(io::Error::from)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(io::Error::from)?;
    let mut mounted = Vec::new();
    let mut fds = Vec::new();
    let mut failed = None;
    for (paths, lowers) in overlays {
        if let Err(e) = rootfs::mount(paths, lowers) {
            failed = Some(e);
            break;
        }
        mounted.push(paths.merged.clone());
        match open_dir(&paths.merged) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let result = match failed {
        None => Ok(job(fds)),
        Some(e) => {
            drop(fds);
            Err(e)
        }
    };
    // The root fds are closed: unmounted at once, with whatever `cp` mounted below (the
    // volumes of a stopped container).
    let mut unmounted = Ok(());
    for m in mounted.iter().rev() {
        if let Err(e) = umount2(m, MntFlags::MNT_DETACH) {
            unmounted = Err(io::Error::from(e));
        }
    }
    let value = result?;
    unmounted?;
    Ok(value)
}

pub(crate) fn open_dir(path: impl AsRef<std::path::Path>) -> io::Result<OwnedFd> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    Ok(file.into())
}

/// Opens `path` (absolute in the container, or relative to its `/`) with every symlink on the
/// way resolved inside `root`.
pub(crate) fn open_in_root(
    root: &impl AsRawFd,
    path: &[u8],
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let rel: &[u8] = match path.iter().position(|b| *b != b'/') {
        Some(i) => &path[i..],
        None => b".",
    };
    let c = CString::new(rel).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    fsat::openat2_in_root(root, &c, flags)
}

/// A directory, resolved in the root (its last component followed too).
pub(crate) const DIR_PATH: libc::c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// A path as its parent and its last component, `None` for a path that names a directory
/// through its last component (`/`, `x/`, `x/.`, `x/..`): Docker follows those.
pub(crate) fn split_last(path: &[u8]) -> (&[u8], Option<&[u8]>) {
    if path.ends_with(b"/") || path.is_empty() {
        return (path, None);
    }
    let (parent, last) = match path.iter().rposition(|b| *b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    if last == b"." || last == b".." {
        (path, None)
    } else {
        (parent, Some(last))
    }
}

/// Docker's base name of a path (Go's `filepath.Base`): `/` for the root, `.` for `x/.`.
pub(crate) fn base_name(path: &[u8]) -> Vec<u8> {
    let trimmed = match path.iter().rposition(|b| *b != b'/') {
        Some(i) => &path[..=i],
        None if path.is_empty() => return b".".to_vec(),
        None => return b"/".to_vec(),
    };
    match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => trimmed[i + 1..].to_vec(),
        None => trimmed.to_vec(),
    }
}

/// The `lstat` of `path` in the root (its last component not followed, unless it is one
/// of [`split_last`]'s directory forms); `None` when it does not exist.
pub(crate) fn lstat_in_root(root: &OwnedFd, path: &[u8]) -> io::Result<Option<libc::stat>> {
    let absent = |e: &io::Error| matches!(fsat::errno(e), libc::ENOENT | libc::ENOTDIR);
    let (dir, name) = match split_last(path) {
        (whole, None) => (open_in_root(root, whole, DIR_PATH), c".".to_owned()),
        (parent, Some(last)) => (
            open_in_root(root, parent, DIR_PATH),
            CString::new(last).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
        ),
    };
    let dir = match dir {
        Ok(d) => d,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    match fsat::fstatat(&dir, &name) {
        Ok(st) => Ok(Some(st)),
        Err(e) if absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `path` with every symlink evaluated inside the root, as an absolute path of the container
/// (Go's `FollowSymlinkInScope`); components that do not exist are kept as they are. Only a
/// name: whatever uses it resolves it in the root again.
pub(crate) fn resolve_in_root(root: &OwnedFd, path: &[u8]) -> io::Result<Vec<u8>> {
    let mut resolved: Vec<Vec<u8>> = Vec::new();
    let mut pending: Vec<Vec<u8>> = path
        .split(|b| *b == b'/')
        .rev()
        .map(<[u8]>::to_vec)
        .collect();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_slice() {
            b"" | b"." => continue,
            b".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let here = resolved.join(&b'/');
        let name =
            CString::new(comp.clone()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let st = open_in_root(root, &here, DIR_PATH).and_then(|dir| {
            let st = fsat::fstatat(&dir, &name)?;
            Ok((dir, st))
        });
        match st {
            Ok((dir, st)) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fsat::readlinkat(&dir, &name)?;
                if target.starts_with(b"/") {
                    resolved.clear();
                }
                pending.extend(target.split(|b| *b == b'/').rev().map(<[u8]>::to_vec));
            }
            Ok(_) => resolved.push(comp),
            Err(e) if matches!(fsat::errno(&e), libc::ENOENT | libc::ENOTDIR) => {
                resolved.push(comp)
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = b"/".to_vec();
    out.extend_from_slice(&resolved.join(&b'/'));
    Ok(out)
}

/// What `path` is in the container (Docker's `HEAD /containers/{id}/archive`): its own
/// `lstat`, and for a symlink its target fully evaluated in the root.
pub fn stat(root: &OwnedFd, path: &str) -> Result<Option<PathStat>, CopyError> {
    let bytes = path.as_bytes();
    let Some(st) = lstat_in_root(root, bytes).map_err(io_err(bytes))? else {
        return Ok(None);
    };
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => PathKind::Directory,
        libc::S_IFLNK => PathKind::Symlink,
        libc::S_IFREG => PathKind::File,
        _ => PathKind::Other,
    };
    let link_target = if kind == PathKind::Symlink {
        String::from_utf8_lossy(&resolve_in_root(root, bytes).map_err(io_err(bytes))?).into_owned()
    } else {
        String::new()
    };
    Ok(Some(PathStat {
        name: String::from_utf8_lossy(&base_name(bytes)).into_owned(),
        size: st.st_size,
        kind,
        link_target,
    }))
}

/// The innermost of the container's mounts that holds `path` (resolved in the root).
fn mount_of<'a>(root: &'a Root, path: &str) -> Result<Option<&'a Mount>, CopyError> {
    let resolved = resolve_in_root(&root.fd, path.as_bytes()).map_err(io_err(path.as_bytes()))?;
    let within = |target: &str| {
        let t = target.trim_end_matches('/').as_bytes();
        resolved.starts_with(t) && matches!(resolved.get(t.len()), None | Some(b'/'))
    };
    Ok(root
        .rec
        .spec
        .mounts
        .iter()
        .filter(|m| within(&m.target))
        .max_by_key(|m| m.target.trim_end_matches('/').len()))
}

/// Refuses a path below a mount target of a container that is not running: its root there
/// is the rootfs's own directory, hidden under the mount, not the mount's content.
pub fn check_reachable(root: &Root, path: &str) -> Result<(), CopyError> {
    let bound = match &root.mounts {
        Mounts::Present => return Ok(()),
        Mounts::Absent { bound } => bound,
    };
    match mount_of(root, path)? {
        Some(m) if bound.contains(&m.target) => Ok(()),
        Some(m) => Err(CopyError::MountNotRunning {
            target: m.target.clone(),
        }),
        None => Ok(()),
    }
}

/// Refuses a write into `dir` that Docker refuses: into a read-only volume or bind (the
/// innermost mount holding the resolved directory), or into a read-only rootfs.
pub fn check_writable(root: &Root, dir: &str) -> Result<(), CopyError> {
    match mount_of(root, dir)? {
        Some(m) if m.read_only => Err(CopyError::ReadOnlyVolume),
        Some(_) => Ok(()),
        None if root.rec.spec.read_only => Err(CopyError::ReadOnlyRootfs),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
