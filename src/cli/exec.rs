//! `rcompose exec`: runs a command in a running service container, like `docker compose
//! exec`, and exits with the command's exit code.
//!
//! A TTY is allocated when stdin is a terminal, unless `-T`; then the local terminal is in
//! raw mode while the command runs (see [`crate::engine::tty`]). `-e KEY` without a value
//! takes KEY from our environment (and is dropped when unset), as Compose does.

use std::process::ExitCode;

use crate::engine::{tty, Engine, ExecSpec};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Detached mode: Run command in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Disable pseudo-TTY allocation. By default a TTY is allocated when stdin is a terminal
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Run the command as this user
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Index of the container if service has multiple replicas
    #[arg(long = "index", default_value_t = 1)]
    pub index: u32,
    /// Give extended privileges to the process
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Keep STDIN open even if not attached (always on, accepted for compatibility)
    #[arg(short = 'i', long = "interactive", default_value_t = true)]
    pub interactive: bool,
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The command and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// `KEY=VAL` as given; bare `KEY` from our environment, dropped when unset.
fn resolve_env(env: &[String]) -> Vec<String> {
    env.iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e.clone())
            } else {
                std::env::var(e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect()
}

pub fn run(global: &GlobalArgs, args: &ExecArgs) -> ExitCode {
    targets::run_on_replica(global, &args.service, args.index, async |engine, c| {
        let spec = ExecSpec {
            cmd: args.command.clone(),
            env: resolve_env(&args.env),
            user: args.user.clone(),
            working_dir: args.workdir.clone(),
            privileged: args.privileged,
            tty: !args.no_tty && !args.detach && tty::stdin_is_terminal(),
            detach: args.detach,
        };
        match engine.exec(&c.id, &spec).await {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(255)),
            Err(e) => targets::engine_error(e),
        }
    })
}
