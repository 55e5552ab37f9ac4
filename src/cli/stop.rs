//! `rcompose stop`: stops the project's running containers, dependents before their
//! dependencies (the graph's stop order), like `docker compose stop`.

use std::process::ExitCode;

use crate::engine::Engine;
use crate::reconcile::planner::service_of;

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Services to stop (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &StopArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        targets::is_up,
        async |session, engine, list| {
            let groups = targets::by_service(&session.graph.stop_order(), &list);
            let project = &session.project;
            targets::each_in_order(&groups, Some("Stopping"), "Stopped", |c| {
                let timeout = targets::stop_timeout(project, service_of(c), args.timeout);
                engine.stop_container(&c.id, timeout)
            })
            .await
        },
    )
}
