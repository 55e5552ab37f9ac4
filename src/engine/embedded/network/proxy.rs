//! The userland proxy for the published ports the firewall cannot forward: those on an IPv6
//! host address (`[::1]:8080:80`, and the `[::]` half of a bare `8080:80`, which Docker also
//! binds). A packet to an IPv6 address cannot be DNAT'ed to the container's IPv4 address,
//! and one to `::1` cannot leave the loopback at all, so, as docker-proxy does, a small
//! process accepts on the reserved socket and relays each connection (TCP) or each client's
//! datagrams (UDP) to the container.
//!
//! The shim starts one per such port ([`spawn`]) with the reservation as fd 3, and kills it
//! through a pidfd when the container stops ([`Proxy`]'s drop), so a reused pid is never
//! signalled; the proxy also dies with the shim (`PR_SET_PDEATHSIG`). Connections arrive
//! from the proxy's address on the container's network, as with docker-proxy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ports::Protocol;

/// The argument that makes `rcompose` a proxy (dispatched in `main` before anything else).
pub const PROXY_ARG: &str = "__port-proxy";

/// How long a UDP client's relay lives without traffic (docker-proxy's 90 s).
const UDP_IDLE: Duration = Duration::from_secs(90);
/// How long a TCP connection to the container may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running proxy; killed when dropped.
#[derive(Debug)]
pub struct Proxy {
    pidfd: OwnedFd,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SAFETY: pidfd_send_signal on our own pidfd; a process already gone gives ESRCH.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }
}

/// Starts a proxy relaying what arrives on `listener` (a bound, and for TCP listening,
/// socket) to `target`. Called by the (single-threaded) shim.
pub fn spawn(listener: &OwnedFd, proto: Protocol, target: SocketAddr) -> Result<Proxy, String> {
    let exe = std::env::current_exe().map_err(|e| format!("port proxy: {e}"))?;
    let fd: RawFd = listener.as_raw_fd();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([PROXY_ARG, proto.as_str(), &target.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec: dup2 (which leaves the
    // copy without close-on-exec) and prctl.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the port proxy: {e}"))?;
    // SAFETY: pidfd_open on our child, which no one else reaps before this returns (the
    // shim reaps only in its loop).
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if pidfd < 0 {
        return Err(format!(
            "port proxy: pidfd_open: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(Proxy {
        // SAFETY: a fresh descriptor from pidfd_open.
        pidfd: unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) },
    })
}

/// The proxy process: `__port-proxy <tcp|udp> <target>`, the socket on fd 3.
pub fn main(args: &[String]) -> i32 {
    let (Some(proto), Some(target)) = (args.first(), args.get(1)) else {
        eprintln!("usage: rcompose {PROXY_ARG} tcp|udp ADDRESS:PORT (socket on fd 3)");
        return 2;
    };
    let (Ok(proto), Ok(target)) = (Protocol::parse(proto), target.parse::<SocketAddr>()) else {
        eprintln!("{PROXY_ARG}: bad arguments {args:?}");
        return 2;
    };
    // The shim may have gone between our fork and the PDEATHSIG setting.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } == 1 {
        return 1;
    }
    // SAFETY: fd 3 is the socket `spawn` put there; nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(3) };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{PROXY_ARG}: {e}");
            return 1;
        }
    };
    let result = rt.block_on(async move {
        match proto {
            Protocol::Tcp => relay_tcp(socket, target).await,
            Protocol::Udp => relay_udp(socket, target).await,
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{PROXY_ARG} to {target}: {e}");
            1
        }
    }
}

async fn relay_tcp(socket: OwnedFd, target: SocketAddr) -> std::io::Result<()> {
    let listener = std::net::TcpListener::from(socket);
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let mut inbound = match listener.accept().await {
            Ok((s, _)) => s,
            // Out of descriptors and the like: wait, and go on serving the others.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let connect = tokio::net::TcpStream::connect(target);
            if let Ok(Ok(mut outbound)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

async fn relay_udp(socket: OwnedFd, target: SocketAddr) -> std::io::Result<()> {
    let front = std::net::UdpSocket::from(socket);
    front.set_nonblocking(true)?;
    let front = Arc::new(tokio::net::UdpSocket::from_std(front)?);
    // One socket towards the container per client, so that replies find their way back.
    let clients: Arc<Mutex<HashMap<SocketAddr, Arc<tokio::net::UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, client) = front.recv_from(&mut buf).await?;
        let known = clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&client)
            .cloned();
        let back = match known {
            Some(b) => b,
            None => {
                let local: SocketAddr = if target.is_ipv4() {
                    "0.0.0.0:0".parse().expect("an address")
                } else {
                    "[::]:0".parse().expect("an address")
                };
                let b = tokio::net::UdpSocket::bind(local).await?;
                b.connect(target).await?;
                let b = Arc::new(b);
                clients
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(client, b.clone());
                let (front, clients, back) = (front.clone(), clients.clone(), b.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, back.recv(&mut buf)).await
                    {
                        if front.send_to(&buf[..n], client).await.is_err() {
                            break;
                        }
                    }
                    clients
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&client);
                });
                b
            }
        };
        let _ = back.send(&buf[..n]).await;
    }
}
