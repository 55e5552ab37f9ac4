//! Network namespaces as files (`/run/rcompose/netns/<id>`), made before the container so
//! that a network backend can configure them and the runtime joins them by path. A new
//! namespace gets its loopback interface up (a fresh one has `lo` down).
//!
//! Creating one forks a short-lived child that unshares its network namespace; the parent
//! bind-mounts the child's `/proc/<pid>/ns/net` onto the file. Call it from a
//! single-threaded process (the shim) or accept fork's usual multi-threading caveats: the
//! child only makes raw syscalls.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where the namespace file of container `id` lives.
pub fn path_for(id: &str) -> Result<PathBuf, String> {
    Ok(crate::paths::runtime_dir("netns")?.join(&id[..id.len().min(24)]))
}

/// Creates the namespace file at `path` (an existing mounted one is reused).
pub fn create(path: &Path) -> Result<(), String> {
    if super::rootfs::is_mounted(path) {
        return Ok(());
    }
    std::fs::write(path, b"").map_err(|e| format!("{}: {e}", path.display()))?;
    let (to_parent_r, to_parent_w) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    let (to_child_r, to_child_w) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    // SAFETY: the child only calls async-signal-safe functions (unshare, socket, ioctl,
    // read, write, _exit).
    match unsafe { nix::unistd::fork() }.map_err(|e| e.to_string())? {
        nix::unistd::ForkResult::Child => {
            // The parent's ends: closed here, or the read below never sees end of file.
            unsafe {
                libc::close(to_parent_r.as_raw_fd());
                libc::close(to_child_w.as_raw_fd());
            }
            let ok = unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 && loopback_up();
            let byte = [if ok { b'1' } else { b'0' }];
            unsafe {
                libc::write(to_parent_w.as_raw_fd(), byte.as_ptr().cast(), 1);
                let mut b = [0u8; 1];
                libc::read(to_child_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                libc::_exit(0);
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(to_parent_w);
            drop(to_child_r);
            let mut b = [0u8; 1];
            let n = nix::unistd::read(to_parent_r.as_raw_fd(), &mut b).unwrap_or(0);
            let result = if n == 1 && b[0] == b'1' {
                nix::mount::mount(
                    Some(Path::new(&format!("/proc/{}/ns/net", child.as_raw()))),
                    path,
                    None::<&str>,
                    nix::mount::MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| {
                    format!(
                        "cannot bind the network namespace to {}: {e}",
                        path.display()
                    )
                })
            } else {
                Err("cannot create a network namespace".to_string())
            };
            drop(to_child_w);
            let _ = nix::sys::wait::waitpid(child, None);
            if result.is_err() {
                let _ = std::fs::remove_file(path);
            }
            result
        }
    }
}

/// Unmounts and removes the namespace file; a missing one is fine.
pub fn remove(path: &Path) -> Result<(), String> {
    if super::rootfs::is_mounted(path) {
        nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| format!("cannot unmount {}: {e}", path.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Sets `lo` up in the current network namespace (raw syscalls only).
fn loopback_up() -> bool {
    // SAFETY: a datagram socket and two ioctls on a zeroed ifreq naming "lo".
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return false;
        }
        let sock = OwnedFd::from_raw_fd(fd);
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as libc::c_char;
        req.ifr_name[1] = b'o' as libc::c_char;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return false;
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req) >= 0
    }
}
