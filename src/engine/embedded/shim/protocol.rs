//! The shim's control protocol: one JSON request per line on a unix stream socket (0600,
//! path-based, in the private runtime directory), one JSON reply per line. `exec` sends the
//! caller's stdin/stdout/stderr (or a pty side) with the request as `SCM_RIGHTS`, so the
//! exec'd process talks to the caller directly and the shim only reports its exit code.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
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
    pub tty: bool,
    pub privileged: bool,
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
    reader: BufReader<UnixStream>,
}

impl ShimClient {
    pub fn connect(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(ShimClient { stream, reader })
    }

    /// Sends a request (with fds for `exec`).
    pub fn send(&mut self, req: &Request, fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(req).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if fds.is_empty() {
            return self.stream.write_all(&line);
        }
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&raw)];
        let iov = [std::io::IoSlice::new(&line)];
        let n = sendmsg::<()>(
            self.stream.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::empty(),
            None,
        )
        .map_err(std::io::Error::from)?;
        if n < line.len() {
            self.stream.write_all(&line[n..])?;
        }
        Ok(())
    }

    /// Waits for the next reply (`timeout` None: as long as it takes).
    pub fn recv(&mut self, timeout: Option<Duration>) -> std::io::Result<Reply> {
        self.stream.set_read_timeout(timeout)?;
        let mut line = String::new();
        let n = self.reader.read_line(&mut line)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the container's supervisor closed the connection",
            ));
        }
        serde_json::from_str(&line).map_err(std::io::Error::other)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_with_fds() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut client = ShimClient {
            reader: BufReader::new(a.try_clone().unwrap()),
            stream: a,
        };
        let (r, w) = nix::unistd::pipe().unwrap();
        let req = Request::Exec(ExecRequest {
            args: vec!["sh".into()],
            env: vec![],
            user: None,
            working_dir: None,
            tty: false,
            privileged: false,
        });
        use std::os::fd::AsFd;
        client
            .send(&req, &[r.as_fd(), w.as_fd(), w.as_fd()])
            .unwrap();
        let mut buf = Vec::new();
        let (got, fds) = read_request(b.as_fd(), &mut buf).unwrap().unwrap();
        assert_eq!(got, req);
        assert_eq!(fds.len(), 3);
        let mut bw = b.try_clone().unwrap();
        write_reply(&mut bw, &Reply::Exited { code: 7 }).unwrap();
        assert_eq!(
            client.recv(Some(Duration::from_secs(5))).unwrap(),
            Reply::Exited { code: 7 }
        );
    }
}
