//! The per-container supervisor: `rcompose __shim <state-root> <id>`, started by `start` and
//! detached from the CLI (it forks once more and lives in its own session), so that killing
//! the CLI never touches containers.
//!
//! It is single-threaded (libcontainer must be called that way) and event-driven: one
//! `poll` over a self-pipe fed by the SIGCHLD handler, the control socket and its clients,
//! the container's stdout/stderr FIFOs and the output of a running healthcheck, with the
//! next deadline (stop grace period, restart backoff, next probe, probe timeout) as the poll
//! timeout. It owns the container's init (libcontainer makes it our child; we are also a
//! child subreaper), writes the json-file log, records exits and OOM kills, restarts per
//! policy and runs healthchecks.
//!
//! Signals: the shim installs handlers and never blocks or ignores signals, because a
//! blocked mask or `SIG_IGN` would be inherited through `execve` by the container's init.
//!
//! The container's stdout and stderr are FIFOs in the container directory, opened
//! read-write for the container: if the shim dies, output blocks once the pipe is full but
//! never kills the container with SIGPIPE, and the next shim can open the FIFO again.
//! A `tty: true` init writes to its own terminal instead (see
//! [`crate::engine::embedded::pty`]): the shim holds the master, logs its output as stdout
//! and relays an attached `run`'s input to it. A shim that takes over a running container
//! has no master (it died with the previous shim), so that output is not logged any more.

pub mod health;
pub mod logs;
mod pidfd_exit;
pub mod protocol;
pub mod restart;
mod supervisor;

pub use supervisor::main;
