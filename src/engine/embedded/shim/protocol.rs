//! The shim's control protocol: one JSON request per line on a unix stream socket (0600,
//! path-based, in the private runtime directory), one JSON reply per line. Descriptors ride
//! along as `SCM_RIGHTS`, in both directions:
//!
//! - an `exec` with [`ExecStdio::Pipes`] sends the caller's stdin/stdout/stderr with the
//!   request, so the exec'd process talks to the caller directly and the shim only reports
//!   its exit code;
//! - an `exec` with [`ExecStdio::Terminal`] sends none: the shim opens a pseudo-terminal in
//!   the container's own devpts (see [`crate::engine::embedded::pty`]), gives the slave to the
//!   process and sends the master back with the `Started` reply, for the caller to relay its
//!   terminal to. The caller's terminal never enters the container.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// What a client asks of a shim.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Stop: `signal` to the init, then SIGKILL after `timeout_ms`; the reply comes when the
    /// container has exited. Marks the container as stopped by the user (no restart).
    Stop {
        signal: i32,
        timeout_ms: u64,
    },
    /// Send a signal to the init.
    Kill {
        signal: i32,
    },
    Pause,
    Resume,
    /// Run a process in the container; 3 fds (stdin, stdout, stderr) come with the request.
    /// The first reply is `Started`, the second `Exited` with the exit code.
    Exec(ExecRequest),
    /// Replies `Exited` when the container's init has exited for good (no restart follows).
    Wait,
    /// Gives the init's terminal (a `tty: true` container) a new size.
    Resize {
        rows: u16,
        cols: u16,
    },
    /// Restart the container in place (stop with the grace period, then start).
    Restart {
        signal: i32,
        timeout_ms: u64,
    },
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecRequest {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub stdio: ExecStdio,
    pub privileged: bool,
}

/// How an exec'd process's standard streams are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExecStdio {
    /// The three descriptors sent with the request.
    Pipes,
    /// A new pseudo-terminal of the container (its slave as 0/1/2 and the process's
    /// controlling terminal), the master returned with `Started`; `size` is its first
    /// window size (rows, columns).
    Terminal { size: Option<(u16, u16)> },
}

/// A shim's answer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    Started { pid: i32 },
    Exited { code: i64 },
    Error { message: String },
}

/// A client connection to one shim.
pub struct ShimClient {
    stream: UnixStream,
    /// Bytes received past the last reply line.
    buf: Vec<u8>,
}

impl ShimClient {
    pub fn connect(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        Ok(ShimClient {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends a request (with fds for `exec`).
    pub fn send(&mut self, req: &Request, fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(req).map_err(std::io::Error::other)?;
        line.push(b'\n');
        send_line(&mut self.stream, &line, fds)
    }

    /// Waits for the next reply (`timeout` None: as long as it takes).
    pub fn recv(&mut self, timeout: Option<Duration>) -> std::io::Result<Reply> {
        self.recv_with_fds(timeout).map(|(reply, _)| reply)
    }

    /// [`Self::recv`], with the descriptors that came with the reply.
    pub fn recv_with_fds(
        &mut self,
        timeout: Option<Duration>,
    ) -> std::io::Result<(Reply, Vec<OwnedFd>)> {
        self.stream.set_read_timeout(timeout)?;
        read_line_with_fds(self.stream.as_fd(), &mut self.buf)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the container's supervisor closed the connection",
            )
        })
    }

    /// One request, one reply.
    pub fn call(&mut self, req: &Request, timeout: Option<Duration>) -> std::io::Result<Reply> {
        self.send(req, &[])?;
        self.recv(timeout)
    }
}

/// Reads one request line from a connection the shim accepted, with any fds sent along.
/// Returns `Ok(None)` at end of stream.
pub fn read_request(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Request, Vec<OwnedFd>)>> {
    read_line_with_fds(fd, buf)
}

/// One JSON line from `fd` (what `buf` holds first), with the fds received meanwhile.
fn read_line_with_fds<T: serde::de::DeserializeOwned>(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(T, Vec<OwnedFd>)>> {
    use std::os::fd::FromRawFd;
    let mut fds = Vec::new();
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let req =
                serde_json::from_slice(&line[..line.len() - 1]).map_err(std::io::Error::other)?;
            return Ok(Some((req, fds)));
        }
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("request too large"));
        }
        let mut chunk = [0u8; 4096];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 8]);
        let (n, got) = {
            let mut iov = [std::io::IoSliceMut::new(&mut chunk)];
            let msg = recvmsg::<()>(
                fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .map_err(std::io::Error::from)?;
            let mut got = Vec::new();
            for c in msg.cmsgs().map_err(std::io::Error::from)? {
                if let ControlMessageOwned::ScmRights(list) = c {
                    got.extend(list);
                }
            }
            (msg.bytes, got)
        };
        // SAFETY: the kernel just installed these descriptors in our table for us.
        fds.extend(got.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Writes one reply line (blocking; replies are small).
pub fn write_reply(stream: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Writes one reply line with `fds` attached to its first byte.
pub fn write_reply_with_fds(
    stream: &mut UnixStream,
    reply: &Reply,
    fds: &[BorrowedFd<'_>],
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    send_line(stream, &line, fds)
}

fn send_line(stream: &mut UnixStream, line: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
    if fds.is_empty() {
        return stream.write_all(line);
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let iov = [std::io::IoSlice::new(line)];
    let n = sendmsg::<()>(stream.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(std::io::Error::from)?;
    if n < line.len() {
        stream.write_all(&line[n..])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_with_fds() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut client = ShimClient {
            stream: a,
            buf: Vec::new(),
        };
        let (r, w) = nix::unistd::pipe().unwrap();
        let req = Request::Exec(ExecRequest {
            args: vec!["sh".into()],
            env: vec![],
            user: None,
            working_dir: None,
            stdio: ExecStdio::Pipes,
            privileged: false,
        });
        client
            .send(&req, &[r.as_fd(), w.as_fd(), w.as_fd()])
            .unwrap();
        let mut buf = Vec::new();
        let (got, fds) = read_request(b.as_fd(), &mut buf).unwrap().unwrap();
        assert_eq!(got, req);
        assert_eq!(fds.len(), 3);
        let mut bw = b.try_clone().unwrap();
        write_reply_with_fds(&mut bw, &Reply::Started { pid: 9 }, &[r.as_fd()]).unwrap();
        write_reply(&mut bw, &Reply::Exited { code: 7 }).unwrap();
        // Two replies in one read: the second stays buffered, the fd goes with the first.
        std::thread::sleep(Duration::from_millis(50));
        let (first, got) = client.recv_with_fds(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(first, Reply::Started { pid: 9 });
        assert_eq!(got.len(), 1);
        assert_eq!(
            client.recv(Some(Duration::from_secs(5))).unwrap(),
            Reply::Exited { code: 7 }
        );
    }

    #[test]
    fn exec_stdio_is_tagged() {
        let t = serde_json::to_string(&ExecStdio::Terminal {
            size: Some((24, 80)),
        })
        .unwrap();
        assert_eq!(t, r#"{"kind":"terminal","size":[24,80]}"#);
        let p: ExecStdio = serde_json::from_str(r#"{"kind":"pipes"}"#).unwrap();
        assert_eq!(p, ExecStdio::Pipes);
    }
}
