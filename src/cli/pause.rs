//! `rcompose pause`: freezes the project's running containers, like `docker compose pause`
//! (its only progress line is ` Container x  Paused`).

use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// Services to pause (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &PauseArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |c| c.state == ContainerState::Running,
        async |_session, engine, list| {
            let all = vec![(String::new(), list.iter().collect::<Vec<_>>())];
            targets::each_in_order(&all, None, "Paused", |c| engine.pause_container(&c.id)).await
        },
    )
}
