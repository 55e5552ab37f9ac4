//! Filesystem calls of the layer applier, all relative to a directory fd and none following a
//! symlink: thin wrappers over the `*at` syscalls, metadata, xattrs, and the lookups of a
//! hard-link target through a layer directory the way overlayfs would see it.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens a directory, refusing a symlink in its place.
pub(crate) const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
/// Creates a new file, refusing anything already there (a symlink included).
pub(crate) const CREATE_FLAGS: libc::c_int =
    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Owner, mode, mtime and xattrs of an entry.
pub(crate) struct Meta {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) mtime: libc::timespec,
    pub(crate) xattrs: Vec<(CString, Vec<u8>)>,
}

/// Overlayfs' own xattrs: an archive must not set them (they would forge whiteouts,
/// opaqueness or redirects), and a copy must not carry them.
pub(super) fn is_overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// Where a hard-link target is in one layer directory, as overlayfs would see it.
pub(super) enum Lookup {
    /// The directory holding the target (neither a directory nor a whiteout).
    Found(OwnedFd),
    /// Not in this layer: look in the one below.
    Missing,
    /// Deleted here (a whiteout, an opaque directory, a non-directory on the way), or a
    /// directory, which cannot be linked.
    Hidden,
}

pub(super) fn find(root: &OwnedFd, parents: &[CString], name: &CStr) -> io::Result<Lookup> {
    let mut dir = dup_dir(root)?;
    let mut opaque = is_opaque(&dir);
    let absent = |opaque| {
        if opaque {
            Lookup::Hidden
        } else {
            Lookup::Missing
        }
    };
    for comp in parents {
        dir = match openat(&dir, comp, DIR_FLAGS, 0) {
            Ok(next) => next,
            Err(e) if errno(&e) == libc::ENOENT => return Ok(absent(opaque)),
            Err(e) if matches!(errno(&e), libc::ELOOP | libc::ENOTDIR) => {
                return Ok(Lookup::Hidden)
            }
            Err(e) => return Err(e),
        };
        opaque |= is_opaque(&dir);
    }
    match fstatat(&dir, name) {
        Ok(st) => {
            let format = st.st_mode & libc::S_IFMT;
            let whiteout = format == libc::S_IFCHR && st.st_rdev == 0;
            let hidden = whiteout || format == libc::S_IFDIR;
            Ok(if hidden {
                Lookup::Hidden
            } else {
                Lookup::Found(dir)
            })
        }
        Err(e) if errno(&e) == libc::ENOENT => Ok(absent(opaque)),
        Err(e) => Err(e),
    }
}

/// Opens the directory `comps` below `root` without following symlinks; `None` if it is not
/// there (or not a directory).
pub(crate) fn walk(root: &OwnedFd, comps: &[CString]) -> io::Result<Option<OwnedFd>> {
    let mut dir = dup_dir(root)?;
    for comp in comps {
        dir = match openat(&dir, comp, DIR_FLAGS, 0) {
            Ok(next) => next,
            Err(e) if matches!(errno(&e), libc::ENOENT | libc::ELOOP | libc::ENOTDIR) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
    }
    Ok(Some(dir))
}

/// Copies a lower layer's file (content, owner, mode, xattrs, mtime), symlink or node.
pub(crate) fn copy_up(
    src_dir: &OwnedFd,
    src: &CStr,
    dst_dir: &OwnedFd,
    dst: &CStr,
) -> io::Result<()> {
    let st = fstatat(src_dir, src)?;
    let meta = Meta {
        uid: st.st_uid,
        gid: st.st_gid,
        mode: st.st_mode & 0o7777,
        mtime: mtime_of(&st),
        xattrs: Vec::new(),
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {
            let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            let from = File::from(openat(src_dir, src, flags, 0)?);
            let mut to = File::from(openat(dst_dir, dst, CREATE_FLAGS, 0o600)?);
            io::copy(&mut &from, &mut to)?;
            let xattrs = list_xattrs(&from)?;
            meta_fd(&to, &Meta { xattrs, ..meta }, true)
        }
        libc::S_IFLNK => {
            let target = readlinkat(src_dir, src)?;
            symlinkat(
                &CString::new(target).map_err(io::Error::other)?,
                dst_dir,
                dst,
            )?;
            meta_at(dst_dir, dst, &meta, false)
        }
        _ => {
            mknodat(dst_dir, dst, st.st_mode, st.st_rdev)?;
            meta_at(dst_dir, dst, &meta, true)
        }
    }
}

/// A symlink's target, relative to a directory fd.
pub(crate) fn readlinkat(dir: &OwnedFd, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: valid dir fd, NUL-terminated name, a buffer of the given length.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    buf.truncate(usize::try_from(n).map_err(|_| io::Error::last_os_error())?);
    Ok(buf)
}

/// The xattrs of an open file, overlayfs' own left out.
pub(crate) fn list_xattrs(file: &File) -> io::Result<Vec<(CString, Vec<u8>)>> {
    let fd = file.as_raw_fd();
    // SAFETY (both closures): valid fd, a buffer of the given length (or none, size 0).
    let list =
        read_sized(|buf| unsafe { libc::flistxattr(fd, buf.as_mut_ptr().cast(), buf.len()) });
    let names = match list {
        Err(e) if errno(&e) == libc::ENOTSUP => return Ok(Vec::new()),
        other => other?,
    };
    let mut xattrs = Vec::new();
    for name in names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty() && !is_overlay_xattr(n))
    {
        let name = CString::new(name).map_err(io::Error::other)?;
        let value = read_sized(|buf| unsafe {
            libc::fgetxattr(fd, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        })?;
        xattrs.push((name, value));
    }
    Ok(xattrs)
}

/// Calls a `*xattr` getter twice: for the size, then for the bytes.
fn read_sized(mut call: impl FnMut(&mut [u8]) -> isize) -> io::Result<Vec<u8>> {
    let len = usize::try_from(call(&mut [])).map_err(|_| io::Error::last_os_error())?;
    let mut buf = vec![0u8; len];
    let n = usize::try_from(call(&mut buf)).map_err(|_| io::Error::last_os_error())?;
    buf.truncate(n);
    Ok(buf)
}

/// Owner, then mode (chown clears setuid bits), xattrs and, with `times`, the mtime,
/// through an fd.
pub(crate) fn meta_fd(fd: &impl AsRawFd, meta: &Meta, times: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: valid fd; the xattr names are NUL-terminated and the values sized.
    cvt(unsafe { libc::fchown(fd, meta.uid, meta.gid) })?;
    cvt(unsafe { libc::fchmod(fd, meta.mode) })?;
    for (name, value) in &meta.xattrs {
        skip_unsupported(unsafe {
            libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
        })?;
    }
    if times {
        set_times(&fd, meta.mtime)?;
    }
    Ok(())
}

/// [`meta_fd`] for a symlink or a device node, by name, never following the name.
pub(crate) fn meta_at(dir: &OwnedFd, name: &CStr, meta: &Meta, chmod: bool) -> io::Result<()> {
    let fd = dir.as_raw_fd();
    let nofollow = libc::AT_SYMLINK_NOFOLLOW;
    chown_at(dir, name, meta.uid, meta.gid)?;
    if chmod {
        // SAFETY: valid dir fd, NUL-terminated name (glibc refuses a symlink here).
        cvt(unsafe { libc::fchmodat(fd, name.as_ptr(), meta.mode, nofollow) })?;
    }
    if !meta.xattrs.is_empty() {
        // No `lsetxattrat` before Linux 6.13: the dir fd's /proc link stands for the directory.
        let mut path = format!("/proc/self/fd/{fd}/").into_bytes();
        path.extend_from_slice(name.to_bytes());
        let path = CString::new(path).map_err(io::Error::other)?;
        for (key, value) in &meta.xattrs {
            // SAFETY: NUL-terminated strings and a sized value.
            skip_unsupported(unsafe {
                libc::lsetxattr(
                    path.as_ptr(),
                    key.as_ptr(),
                    value.as_ptr().cast(),
                    value.len(),
                    0,
                )
            })?;
        }
    }
    let times = [meta.mtime, meta.mtime];
    // SAFETY: valid dir fd, NUL-terminated name, a two-element array.
    cvt(unsafe { libc::utimensat(fd, name.as_ptr(), times.as_ptr(), nofollow) })
}

/// Archive xattrs the filesystem cannot hold are dropped, as Docker does.
fn skip_unsupported(result: libc::c_int) -> io::Result<()> {
    match cvt(result) {
        Err(e) if matches!(errno(&e), libc::ENOTSUP | libc::EPERM) => Ok(()),
        other => other,
    }
}

pub(super) fn is_opaque(dir: &OwnedFd) -> bool {
    let mut value = [0u8; 2];
    let name = c"trusted.overlay.opaque";
    // SAFETY: valid fd, NUL-terminated name, a buffer of the given length.
    let n = unsafe {
        libc::fgetxattr(
            dir.as_raw_fd(),
            name.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

pub(super) fn set_opaque(dir: &OwnedFd) -> io::Result<()> {
    let name = c"trusted.overlay.opaque";
    // SAFETY: valid fd, NUL-terminated name, a 1-byte value.
    cvt(unsafe { libc::fsetxattr(dir.as_raw_fd(), name.as_ptr(), b"y".as_ptr().cast(), 1, 0) })
}

pub(crate) fn open_path_dir(path: &Path) -> io::Result<OwnedFd> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?;
    Ok(file.into())
}

pub(crate) fn dup_dir(dir: &OwnedFd) -> io::Result<OwnedFd> {
    openat(dir, c".", DIR_FLAGS, 0)
}

pub(crate) fn openat(
    dir: &impl AsRawFd,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let mode = libc::c_uint::from(mode);
    // SAFETY: valid dir fd and NUL-terminated name.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(crate) fn mkdirat(dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: valid dir fd and NUL-terminated name.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o700) })
}

pub(crate) fn symlinkat(target: &CStr, dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: valid dir fd and NUL-terminated strings.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// A hard link; flags 0: a symlink target is linked itself, never followed.
pub(crate) fn linkat(
    from_dir: &OwnedFd,
    from: &CStr,
    dir: &OwnedFd,
    name: &CStr,
) -> io::Result<()> {
    // SAFETY: valid dir fds and NUL-terminated names.
    cvt(unsafe {
        libc::linkat(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            name.as_ptr(),
            0,
        )
    })
}

pub(crate) fn mknodat(
    dir: &OwnedFd,
    name: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    // SAFETY: valid dir fd and NUL-terminated name.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) })
}

pub(crate) fn unlinkat(dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: valid dir fd and NUL-terminated name.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) })
}

pub(super) fn chown_at(dir: &OwnedFd, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    let nofollow = libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: valid dir fd and NUL-terminated name.
    cvt(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, nofollow) })
}

pub(crate) fn set_owner_mode(fd: &OwnedFd, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })?;
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

pub(crate) fn set_times(fd: &impl AsRawFd, mtime: libc::timespec) -> io::Result<()> {
    // SAFETY: a valid fd and a two-element array.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), [mtime, mtime].as_ptr()) })
}

/// `lstat` relative to a directory fd.
pub(crate) fn fstatat(dir: &OwnedFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    let nofollow = libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: valid dir fd, NUL-terminated name, room for a stat, filled when it returns 0.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), nofollow) })?;
    Ok(unsafe { st.assume_init() })
}

pub(crate) fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid fd and room for a stat, filled when it returns 0.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    Ok(unsafe { st.assume_init() })
}

pub(crate) fn mtime_of(st: &libc::stat) -> libc::timespec {
    libc::timespec {
        tv_sec: st.st_mtime,
        tv_nsec: st.st_mtime_nsec,
    }
}

pub(crate) fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

fn cvt(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `openat2(root, path)` with every symlink resolved inside `root` (`RESOLVE_IN_ROOT`, no
/// magic links), retried while a concurrent rename makes the kernel answer EAGAIN. ENOSYS
/// (no openat2) is returned for the caller's component-by-component fallback.
pub(crate) fn openat2_in_root(
    root: &impl AsRawFd,
    path: &CStr,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    // SAFETY: open_how is plain integers, for which all-zero is valid (libc marks it
    // non-exhaustive, so it cannot be built with a struct expression).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    for _ in 0..16 {
        // SAFETY: valid dirfd, NUL-terminated path and an open_how of the size we pass.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: openat2 returned a new descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) });
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EAGAIN) {
            return Err(err);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}
