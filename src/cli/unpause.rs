//! `rcompose unpause`: resumes the project's paused containers, like `docker compose
//! unpause` (its only progress line is ` Container x  Unpaused`).

use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct UnpauseArgs {
    /// Services to unpause (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &UnpauseArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |c| c.state == ContainerState::Paused,
        async |_session, engine, list| {
            let all = vec![(String::new(), list.iter().collect::<Vec<_>>())];
            targets::each_in_order(&all, None, "Unpaused", |c| engine.unpause_container(&c.id))
                .await
        },
    )
}
