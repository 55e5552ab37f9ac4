//! `rcompose kill`: sends a signal (default SIGKILL) to the project's running containers,
//! like `docker compose kill`.

use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container
    #[arg(short = 's', long = "signal", default_value = "SIGKILL")]
    pub signal: String,
    /// Remove containers for services not defined in the Compose file (accepted, no effect)
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Services to kill (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &KillArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |c| {
            matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting
            )
        },
        async |_session, engine, list| {
            let all = vec![(String::new(), list.iter().collect::<Vec<_>>())];
            targets::each_in_order(&all, Some("Killing"), "Killed", |c| {
                engine.kill_container(&c.id, &args.signal)
            })
            .await
        },
    )
}
