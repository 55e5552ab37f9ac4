//! The `rcompose` binary: parses the command line and maps results to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The per-container supervisor of the embedded engine: must stay single-threaded, so it
    // is dispatched before anything else (no tokio runtime, no logging threads).
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__shim") {
        let code = rcompose::engine::embedded::shim::main(&args[2..]);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let filter = std::env::var("RCOMPOSE_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    let cli = rcompose::cli::Cli::parse();
    rcompose::cli::run(cli)
}
