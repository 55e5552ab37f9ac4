//! The caller's side of an `exec -t`: our stdin is copied to the master of the process's
//! pseudo-terminal and the master's output to our stdout (see [`super::pty`] for why the
//! process gets a terminal of its own rather than ours).
//!
//! One thread polls our stdin, the master and a stop pipe. The master is non-blocking and
//! input that does not fit waits (stdin is not read meanwhile), so a process that does not
//! read its input never stops its output from being shown. The relay ends when the master
//! reads end of file or EIO (every slave closed: the process and whatever it left behind
//! are gone), or at [`Relay::finish`], which drains what is left without waiting.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// A running relay; [`Relay::finish`] stops it and waits for the output to be written.
pub struct Relay {
    stop: OwnedFd,
    thread: JoinHandle<()>,
}

impl Relay {
    /// Starts relaying between our stdin/stdout and `master`.
    pub fn start(master: OwnedFd) -> std::io::Result<Relay> {
        nix::fcntl::fcntl(
            master.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        let (stop_r, stop_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let stdin = std::io::stdin().as_fd().try_clone_to_owned()?;
        let thread = std::thread::Builder::new()
            .name("tty-relay".into())
            .spawn(move || run(master, stdin, stop_r))?;
        Ok(Relay {
            stop: stop_w,
            thread,
        })
    }

    /// Stops reading our stdin, writes what the master still holds, and returns.
    pub fn finish(self) {
        let _ = nix::unistd::write(&self.stop, b"x");
        let _ = self.thread.join();
    }
}

fn write_out(bytes: &[u8]) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

/// Reads the master until it would block; false once it has ended.
fn drain_master(master: &OwnedFd, buf: &mut [u8]) -> bool {
    loop {
        match nix::unistd::read(master.as_raw_fd(), buf) {
            Ok(0) => return false,
            Ok(n) => write_out(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return true,
            Err(_) => return false,
        }
    }
}

fn run(master: OwnedFd, stdin: OwnedFd, stop: OwnedFd) {
    let mut buf = vec![0u8; 32 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut stdin_open = true;
    loop {
        let mut master_flags = PollFlags::POLLIN;
        if !pending.is_empty() {
            master_flags |= PollFlags::POLLOUT;
        }
        let read_stdin = stdin_open && pending.is_empty();
        let mut fds = vec![
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            PollFd::new(master.as_fd(), master_flags),
        ];
        if read_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if !revents[0].is_empty() {
            drain_master(&master, &mut buf);
            return;
        }
        if revents[1].contains(PollFlags::POLLOUT) {
            match nix::unistd::write(&master, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => pending.clear(),
            }
        }
        if revents[1].intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            && !drain_master(&master, &mut buf)
        {
            return;
        }
        if read_stdin && !revents[2].is_empty() {
            match nix::unistd::read(stdin.as_raw_fd(), &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => stdin_open = false,
            }
            if !pending.is_empty() {
                match nix::unistd::write(&master, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(_) => pending.clear(),
                }
            }
        }
    }
}
