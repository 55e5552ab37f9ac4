//! `rcompose start`: starts the project's existing stopped containers in dependency order
//! (the graph's start order), like `docker compose start`. It creates nothing: that is `up`.

use std::process::ExitCode;

use crate::engine::{ContainerState, Engine};

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Services to start (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &StartArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |_| true,
        async |session, engine, list| {
            if list.is_empty() {
                eprintln!(
                    "no container found for project \"{}\": not found",
                    session.project.name
                );
                return ExitCode::from(1);
            }
            let stopped: Vec<_> = list
                .into_iter()
                .filter(|c| matches!(c.state, ContainerState::Exited | ContainerState::Created))
                .collect();
            let groups = targets::by_service(&session.graph.start_order(), &stopped);
            targets::each_in_order(&groups, Some("Starting"), "Started", |c| {
                engine.start_container(&c.id)
            })
            .await
        },
    )
}
