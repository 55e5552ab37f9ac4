//! `rcompose restart`: restarts the project's containers (running or stopped) in dependency
//! order, like `docker compose restart`: ` Container x  Restarting` then `Started`.

use std::process::ExitCode;

use crate::engine::Engine;
use crate::reconcile::planner::service_of;

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Don't restart dependent services (accepted; only the named services are restarted)
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Services to restart (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &RestartArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |_| true,
        async |session, engine, list| {
            let groups = targets::by_service(&session.graph.start_order(), &list);
            let project = &session.project;
            targets::each_in_order(&groups, Some("Restarting"), "Started", |c| {
                let timeout = targets::stop_timeout(project, service_of(c), args.timeout);
                engine.restart_container(&c.id, timeout)
            })
            .await
        },
    )
}
