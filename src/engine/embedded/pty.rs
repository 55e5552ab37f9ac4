//! Pseudo-terminals of a container, in the container's own devpts instance.
//!
//! A process that is given the caller's terminal could push input into the caller's shell
//! (`TIOCSTI`) and has no controlling terminal of its own, so an `exec -t` and a `tty: true`
//! init get a new pty whose slave is their stdin/stdout/stderr and controlling terminal, and
//! whose master stays on our side (the CLI relays its terminal to it; the shim logs a `tty`
//! init's output from it).
//!
//! Two ways in, one for each case:
//!
//! - **exec** ([`open_in_container`]): the shim opens `dev/pts/ptmx` under
//!   `/proc/<init>/root` with `openat2(RESOLVE_IN_ROOT)` (the container owns its rootfs, so no
//!   symlink may lead out of it), checks that it is a real devpts `ptmx` (the check runc and
//!   libcontainer make for CVE-2025-52565), and takes the slave with `TIOCGPTPEER`, never by a
//!   path looked up in the container. The slave goes to libcontainer as the three descriptors
//!   and our executor makes it the controlling terminal just before `execve`
//!   ([`take_controlling_terminal`]; libcontainer has already made the process a session
//!   leader). libcontainer's console socket would do the same for a tenant only through a
//!   process file with `terminal: true`, and would connect back to a listening socket of the
//!   single-threaded shim; opening the pty in the shim is direct and keeps the exec protocol
//!   one request, one reply with the master attached.
//! - **init** ([`ConsoleSocket`]): before the init exists there is no devpts instance to
//!   open, so the init uses libcontainer's console socket (`terminal: true` in the spec): the
//!   init opens the pty after `pivot_root`, mounts the slave on `/dev/console`, makes it its
//!   controlling terminal and sends the master over a unix socket the shim listens on. The
//!   connection and the message wait in the socket's queues, so the single-threaded shim
//!   accepts them after libcontainer's `create` returns.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// DEVPTS_SUPER_MAGIC from <linux/magic.h>.
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
/// `ptmx` in a devpts instance: inode 2, character device 5:2.
const PTMX_INO: u64 = 2;
const PTMX_DEV: (u32, u32) = (5, 2);

/// A new pseudo-terminal: the master for us, the slave for the container's process.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Opens a new pty in the devpts instance of the container whose init is `init_pid`, with
/// `size` (rows, columns) as its first window size. Both ends are close-on-exec.
pub fn open_in_container(init_pid: i32, size: Option<(u16, u16)>) -> Result<Pty, String> {
    let root = std::fs::File::open(format!("/proc/{init_pid}/root"))
        .map_err(|e| format!("the container's root: {e}"))?;
    let path: &CStr = c"dev/pts/ptmx";
    let master = crate::engine::embedded::store::unpack::fsat::openat2_in_root(
        &root,
        path,
        libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
    )
    .map_err(|e| format!("the container's /dev/pts/ptmx: {e}"))?;
    verify_ptmx(master.as_fd())?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int from the pointer; the return value is checked.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        return Err(os_err("unlockpt"));
    }
    if let Some((rows, cols)) = size {
        set_window_size(master.as_fd(), rows, cols).map_err(|e| format!("TIOCSWINSZ: {e}"))?;
    }
    // SAFETY: TIOCGPTPEER takes open flags and returns a new descriptor (checked).
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(os_err("TIOCGPTPEER"));
    }
    // SAFETY: a fresh descriptor from the ioctl, owned by nobody else.
    let slave = unsafe { OwnedFd::from_raw_fd(slave as RawFd) };
    Ok(Pty { master, slave })
}

/// Fails unless `fd` is the `ptmx` of a devpts instance.
fn verify_ptmx(fd: BorrowedFd<'_>) -> Result<(), String> {
    let fs = nix::sys::statfs::fstatfs(fd).map_err(|e| format!("fstatfs ptmx: {e}"))?;
    #[allow(clippy::unnecessary_cast)]
    let magic = fs.filesystem_type().0 as i64;
    if magic != DEVPTS_SUPER_MAGIC {
        return Err(format!(
            "the container's /dev/pts/ptmx is not on a devpts mount (filesystem {magic:#x})"
        ));
    }
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| format!("fstat ptmx: {e}"))?;
    let dev = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
    if st.st_ino != PTMX_INO || st.st_mode & libc::S_IFMT != libc::S_IFCHR || dev != PTMX_DEV {
        return Err(format!(
            "the container's /dev/pts/ptmx is not a ptmx device (inode {}, device {}:{})",
            st.st_ino, dev.0, dev.1
        ));
    }
    Ok(())
}

/// Gives the terminal of `fd` (either end) the window size `rows` x `cols`.
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct; the return value is checked.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Makes the terminal on fd 0 the calling process's controlling terminal. Called in the
/// container's process just before `execve`: libcontainer has made it a session leader.
pub fn take_controlling_terminal() -> std::io::Result<()> {
    // SAFETY: TIOCSCTTY with argument 0 (do not steal); the return value is checked.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The unix socket a `tty: true` init sends its pty master over (libcontainer's console
/// socket), removed when dropped.
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listens on `path` (0600 by the directory it is in: the private runtime directory).
    pub fn bind(path: &Path) -> Result<ConsoleSocket, String> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(ConsoleSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master the init sent (its connection is queued by the time libcontainer's
    /// `create` returns; `timeout` bounds the wait anyway).
    pub fn receive(&self, timeout: Duration) -> Result<OwnedFd, String> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let (conn, _) = self
            .listener
            .accept()
            .map_err(|e| format!("console socket: {e}"))?;
        conn.set_read_timeout(Some(timeout))
            .map_err(|e| format!("console socket: {e}"))?;
        let mut name = [0u8; 64];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [std::io::IoSliceMut::new(&mut name)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("console socket: {e}"))?;
        let mut got: Vec<OwnedFd> = Vec::new();
        for c in msg.cmsgs().map_err(|e| format!("console socket: {e}"))? {
            if let ControlMessageOwned::ScmRights(list) = c {
                // SAFETY: the kernel just installed these descriptors in our table.
                got.extend(list.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
            }
        }
        let master = got
            .into_iter()
            .next()
            .ok_or("the container sent no terminal over the console socket")?;
        verify_ptmx(master.as_fd())?;
        Ok(master)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_of_our_own_root_is_verified_and_sized() {
        // Our own root: the host's devpts (whose ptmx may be mode 000: the tests run as
        // root, as the README's test command does).
        let pty = open_in_container(std::process::id() as i32, Some((33, 101))).unwrap();
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::ioctl(pty.slave.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) },
            0
        );
        assert_eq!((ws.ws_row, ws.ws_col), (33, 101));
        nix::unistd::write(&pty.slave, b"hi\n").unwrap();
        let mut buf = [0u8; 16];
        let n = nix::unistd::read(pty.master.as_raw_fd(), &mut buf).unwrap();
        // The line discipline turns \n into \r\n, as a terminal does.
        assert_eq!(&buf[..n], b"hi\r\n");
    }

    #[test]
    fn a_file_that_is_not_ptmx_is_refused() {
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(verify_ptmx(f.as_fd()).is_err());
    }
}
