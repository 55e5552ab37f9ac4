//! The `rcompose` binary: parses the command line and maps results to exit codes.

use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The per-container supervisor of the embedded engine: must stay single-threaded, so it
    // is dispatched before anything else (no tokio runtime, no logging threads).
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__shim") {
        // Its stderr is the container's shim.log. The subscriber writes to a close-on-exec
        // copy of it: libcontainer's code also runs in the container's processes before
        // exec, after their fd 2 became the container's stderr. Unknown syscall names in
        // the seccomp profile (newer than libseccomp) are expected, not warnings.
        let filter = std::env::var("RCOMPOSE_LOG")
            .unwrap_or_else(|_| "warn,libcontainer::seccomp=error".into());
        if let Ok(log) = std::io::stderr().as_fd().try_clone_to_owned() {
            let log = std::sync::Mutex::new(std::fs::File::from(log));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(log)
                .with_ansi(false)
                .try_init();
        }
        let code = rcompose::engine::embedded::shim::main(&args[2..]);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    // A published port's userland relay (see engine::embedded::network::proxy).
    if args.get(1).map(String::as_str)
        == Some(rcompose::engine::embedded::network::proxy::PROXY_ARG)
    {
        let code = rcompose::engine::embedded::network::proxy::main(&args[2..]);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    // Asked-for logs (RCOMPOSE_LOG) carry timestamps, to line up with the shims' logs.
    let asked = std::env::var("RCOMPOSE_LOG").ok();
    let filter = tracing_subscriber::EnvFilter::new(asked.as_deref().unwrap_or("warn"));
    let _ = if asked.is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init()
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .without_time()
            .try_init()
    };
    let cli = rcompose::cli::Cli::parse();
    rcompose::engine::embedded::state::defer_directory_syncs();
    let code = rcompose::cli::run(cli);
    // What the command wrote is durable when it returns (see `defer_directory_syncs`).
    if let Err(e) = rcompose::engine::embedded::state::sync_deferred() {
        eprintln!("warning: cannot sync the state directory: {e}");
    }
    code
}
