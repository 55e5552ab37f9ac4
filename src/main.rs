//! The `rcompose` binary: parses the command line and maps results to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let filter = std::env::var("RCOMPOSE_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    let cli = rcompose::cli::Cli::parse();
    rcompose::cli::run(cli)
}
