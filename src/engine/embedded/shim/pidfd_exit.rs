//! The exit code of a process that is not our child, read from its pidfd.
//!
//! A shim that takes over a running container after its first shim was killed is not the
//! parent of the container's init, so it cannot `wait` for it: it learns of the exit by
//! polling a pidfd. Since Linux 6.15 the kernel keeps the exit status of a pidfd's process
//! once it is reaped (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`); the orphaned init is reaped
//! by the host's init, a moment after it exits. Older kernels (or a reaper that never comes)
//! leave the code unknown, which the caller records as 255, as Docker does for a container
//! whose exit it could not see.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// `_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)`, with the first (64-byte) version of
/// the struct (`PIDFD_INFO_SIZE_VER0`).
const PIDFD_GET_INFO: libc::c_ulong = 0xC040_FF0B;
const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// `struct pidfd_info` up to `exit_code` (offset 60).
const INFO_SIZE: usize = 64;
const EXIT_CODE_OFFSET: usize = 60;

/// How long to wait for the reaper after the pidfd reported the exit.
const REAP_WAIT: Duration = Duration::from_secs(5);

/// The exit code (Docker's: the status, or 128 + the signal) of the exited process behind
/// `pidfd`; `None` when the kernel cannot say within [`REAP_WAIT`].
pub fn exit_code(pidfd: BorrowedFd<'_>) -> Option<i32> {
    let deadline = Instant::now() + REAP_WAIT;
    loop {
        match exit_status(pidfd) {
            Ok(Some(status)) => return Some(decode(status)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => return None,
            // ENOTTY/EINVAL: a kernel without PIDFD_GET_INFO or without exit information.
            Err(_) => return None,
        }
    }
}

/// The raw wait status, `None` while the kernel has none (not reaped yet).
fn exit_status(pidfd: BorrowedFd<'_>) -> std::io::Result<Option<i32>> {
    let mut info = [0u8; INFO_SIZE];
    info[..8].copy_from_slice(&PIDFD_INFO_EXIT.to_ne_bytes());
    // SAFETY: PIDFD_GET_INFO reads the request mask from and writes at most INFO_SIZE bytes
    // (the size encoded in the request) into this buffer, which lives across the call.
    let rc = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_INFO, info.as_mut_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mask = u64::from_ne_bytes(info[..8].try_into().expect("8 bytes"));
    if mask & PIDFD_INFO_EXIT == 0 {
        return Ok(None);
    }
    let code = &info[EXIT_CODE_OFFSET..EXIT_CODE_OFFSET + 4];
    Ok(Some(i32::from_ne_bytes(code.try_into().expect("4 bytes"))))
}

/// A wait status as Docker reports it: the exit status, or 128 + the terminating signal.
fn decode(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    #[test]
    fn statuses_read_as_docker_reports_them() {
        assert_eq!(decode(7 << 8), 7);
        assert_eq!(decode(libc::SIGKILL), 137);
        assert_eq!(decode(libc::SIGTERM), 143);
    }

    /// A grandchild reaped by its own parent, not by us: as an adopted container's init is
    /// reaped by the host's init, never by the shim watching it.
    #[test]
    fn the_exit_code_of_a_process_reaped_by_another() {
        let mut fds = [0; 2];
        // SAFETY: a pipe into a two-int array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only forks, writes, sleeps, waits and exits (async-signal-safe).
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: as above; the grandchild sleeps then exits with 7, and the child reaps
            // it a moment later.
            unsafe {
                let g = libc::fork();
                if g == 0 {
                    libc::usleep(300_000);
                    libc::_exit(7);
                }
                libc::write(fds[1], (&g as *const i32).cast(), 4);
                libc::usleep(500_000);
                libc::waitpid(g, std::ptr::null_mut(), 0);
                libc::_exit(0);
            }
        }
        let mut g: i32 = 0;
        // SAFETY: reads the grandchild's pid written by the child.
        unsafe {
            assert_eq!(libc::read(fds[0], (&mut g as *mut i32).cast(), 4), 4);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        // SAFETY: pidfd_open on the grandchild, which its parent reaps only after it exits.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, g, 0) };
        assert!(raw >= 0, "pidfd_open");
        // SAFETY: a fresh descriptor.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        let mut poll = [libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one pollfd.
        assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 5000) }, 1);
        let kernel_keeps_it = exit_status(pidfd.as_fd()).is_ok();
        let code = exit_code(pidfd.as_fd());
        // SAFETY: reaps our own child.
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
        if kernel_keeps_it {
            assert_eq!(code, Some(7));
        } else {
            assert_eq!(code, None, "a kernel before 6.15 cannot say");
        }
    }
}
