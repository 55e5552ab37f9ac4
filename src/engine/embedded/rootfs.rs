//! A container's root filesystem: overlayfs with the image layers as lower dirs (top first)
//! and a per-container upper and work dir, mounted at `<container>/rootfs`.
//!
//! The classic `mount(2)` option string must fit in one page; with many layers the new mount
//! API (`fsopen` + one `fsconfig("lowerdir+")` per layer, Linux ≥ 6.5) is used instead.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The directories of one container's overlay.
#[derive(Clone, Debug)]
pub struct RootfsPaths {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

impl RootfsPaths {
    pub fn in_container_dir(dir: &Path) -> Self {
        RootfsPaths {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("rootfs"),
        }
    }
}

/// Whether `path` is a mount point (its device differs from its parent's, or
/// /proc/self/mountinfo lists it).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.as_os_str().as_bytes();
    text.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|mp| unescape_mountinfo(mp).as_slice() == want)
    })
}

fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Held while this process has the overlay of `paths` mounted or is mounting it: the shim
/// takes it around its mount, `cp` on a container that is not running for as long as it has
/// the overlay mounted in a namespace of its own, so that two overlay instances never share
/// one upper directory.
pub fn lock(paths: &RootfsPaths) -> std::io::Result<super::state::FileLock> {
    super::state::FileLock::acquire(&paths.merged.with_extension("lock"))
}

/// Mounts the overlay (creating upper/work/merged when missing). `lowers` are top first.
/// Mounting an already mounted rootfs is a no-op.
pub fn mount(paths: &RootfsPaths, lowers: &[PathBuf]) -> std::io::Result<()> {
    for d in [&paths.upper, &paths.work, &paths.merged] {
        std::fs::create_dir_all(d)?;
    }
    if is_mounted(&paths.merged) {
        return Ok(());
    }
    if lowers.is_empty() {
        return Err(std::io::Error::other(
            "an image without layers has no root filesystem",
        ));
    }
    let lower: Vec<String> = lowers.iter().map(|p| escape_option(p)).collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        escape_option(&paths.upper),
        escape_option(&paths.work)
    );
    if options.len() < 4000 {
        nix::mount::mount(
            Some("overlay"),
            &paths.merged,
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(options.as_str()),
        )
        .map_err(std::io::Error::from)
    } else {
        mount_with_fsconfig(paths, lowers)
    }
}

/// Unmounts the overlay; a rootfs that is not mounted is fine.
pub fn unmount(paths: &RootfsPaths) -> std::io::Result<()> {
    if !is_mounted(&paths.merged) {
        return Ok(());
    }
    match nix::mount::umount2(&paths.merged, nix::mount::MntFlags::empty()) {
        Ok(()) => Ok(()),
        // Busy (a process still has a cwd inside): detach it so the directory can go.
        Err(nix::errno::Errno::EBUSY) => {
            nix::mount::umount2(&paths.merged, nix::mount::MntFlags::MNT_DETACH)
                .map_err(std::io::Error::from)
        }
        Err(e) => Err(e.into()),
    }
}

/// overlayfs takes `:` and `,` as separators in the option string; escape them.
fn escape_option(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.replace('\\', "\\\\")
        .replace(':', "\\:")
        .replace(',', "\\,")
}

fn mount_with_fsconfig(paths: &RootfsPaths, lowers: &[PathBuf]) -> std::io::Result<()> {
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    let cstr = |s: &[u8]| CString::new(s).map_err(std::io::Error::other);
    let check = |rc: libc::c_long| -> std::io::Result<libc::c_long> {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    };
    let fstype = cstr(b"overlay")?;
    // SAFETY: plain syscalls with valid NUL-terminated strings; fds are closed below.
    unsafe {
        let fsfd = check(libc::syscall(
            libc::SYS_fsopen,
            fstype.as_ptr(),
            libc::FSOPEN_CLOEXEC,
        ))? as i32;
        let result = (|| -> std::io::Result<()> {
            let set = |key: &CString, val: &CString| {
                check(libc::syscall(
                    libc::SYS_fsconfig,
                    fsfd,
                    FSCONFIG_SET_STRING,
                    key.as_ptr(),
                    val.as_ptr(),
                    0,
                ))
                .map(|_| ())
            };
            let lowerdir_plus = cstr(b"lowerdir+")?;
            for l in lowers {
                set(&lowerdir_plus, &cstr(l.as_os_str().as_bytes())?)?;
            }
            set(
                &cstr(b"upperdir")?,
                &cstr(paths.upper.as_os_str().as_bytes())?,
            )?;
            set(
                &cstr(b"workdir")?,
                &cstr(paths.work.as_os_str().as_bytes())?,
            )?;
            check(libc::syscall(
                libc::SYS_fsconfig,
                fsfd,
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_void>(),
                0,
            ))?;
            let mfd = check(libc::syscall(
                libc::SYS_fsmount,
                fsfd,
                libc::FSMOUNT_CLOEXEC,
                0,
            ))? as i32;
            let target = cstr(paths.merged.as_os_str().as_bytes())?;
            let empty = cstr(b"")?;
            let moved = check(libc::syscall(
                libc::SYS_move_mount,
                mfd,
                empty.as_ptr(),
                libc::AT_FDCWD,
                target.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            ));
            libc::close(mfd);
            moved.map(|_| ())
        })();
        libc::close(fsfd);
        result
    }
}
