//! `rcompose down`: stop and remove the project's containers and networks (its volumes with
//! `-v`, the services' images with `--rmi`). External networks and volumes are never removed.
//! `--dry-run` prints the plan.

use std::process::ExitCode;
use std::time::Duration;

use crate::reconcile::executor::{self, ExecOptions, PlainProgress};
use crate::reconcile::planner;

use super::{lifecycle, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the "volumes" section of the Compose file and
    /// anonymous volumes attached to containers
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans", env = "COMPOSE_REMOVE_ORPHANS")]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Remove images used by services. "local" remove only images that don't have a
    /// custom tag ("local"|"all")
    #[arg(long = "rmi", value_enum)]
    pub rmi: Option<planner::RemoveImages>,
}

pub fn run(global: &GlobalArgs, args: &DownArgs) -> ExitCode {
    let session = match lifecycle::load_existing(global, &[]) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let _lock = match lifecycle::lock_project(&session.project.name) {
        Ok(l) => l,
        Err(code) => return code,
    };
    lifecycle::with_engine(global, async |engine| {
        // The images' ids are only needed to choose what `--rmi` removes.
        let services: Vec<String> = match args.rmi {
            Some(_) => session.project.services.keys().cloned().collect(),
            None => Vec::new(),
        };
        let observed = match executor::observe(engine, &session.project, &services).await {
            Ok(o) => o,
            Err(e) => return lifecycle::fail(e),
        };
        let opts = planner::DownOptions {
            remove_orphans: args.remove_orphans,
            remove_volumes: args.volumes,
            remove_images: args.rmi,
        };
        let plan = planner::plan_down(&session.project, &session.graph, &observed, &opts);
        tracing::debug!(plan = %plan, "down plan");
        if global.dry_run {
            print!("{plan}");
            return ExitCode::SUCCESS;
        }
        let exec = ExecOptions {
            parallel: lifecycle::parallel(global),
            stop_timeout: args.timeout.map(Duration::from_secs),
            gate_timeout: None,
        };
        let progress = PlainProgress {
            mode: executor::progress_mode(),
        };
        match executor::execute_down(engine, &session.project, &plan, &exec, &progress).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => lifecycle::fail(e),
        }
    })
}
