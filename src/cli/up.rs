//! `rcompose up`: create and start the project's containers, converging what exists.
//!
//! Detached mode (`-d`) only, so far: attached mode (log streaming, Ctrl+C handling) is not
//! written yet and is refused with an explicit message rather than silently detaching.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use crate::reconcile::executor::{self, ExecOptions, PlainProgress};
use crate::reconcile::planner::{self, Recreate, UpOptions};

use super::{lifecycle, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Detached mode: run containers in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Wait for services to be running|healthy. Implies detached mode.
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long = "wait-timeout", default_value_t = 0)]
    pub wait_timeout: u64,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate", conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Recreate dependent containers
    #[arg(long = "always-recreate-deps")]
    pub always_recreate_deps: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans", env = "COMPOSE_REMOVE_ORPHANS")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long = "scale")]
    pub scale: Vec<String>,
    /// Use this timeout in seconds for container shutdown when containers are already running
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Services to start (default: all)
    pub services: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &UpArgs) -> ExitCode {
    if !args.detach && !args.wait {
        eprintln!(
            "error: attached mode is not supported yet; run `rcompose up -d` (or `--wait`)"
        );
        return ExitCode::from(1);
    }
    let mut scale = BTreeMap::new();
    for s in &args.scale {
        match s.split_once('=').and_then(|(k, v)| Some((k, v.parse::<u32>().ok()?))) {
            Some((k, n)) => {
                scale.insert(k.to_string(), n);
            }
            None => {
                eprintln!("error: invalid --scale value {s:?}: expected SERVICE=NUM");
                return ExitCode::from(1);
            }
        }
    }
    let session = match lifecycle::load(global, &args.services) {
        Ok(s) => s,
        Err(code) => return code,
    };
    for k in scale.keys() {
        if !session.project.services.contains_key(k) {
            eprintln!("error: no such service: {k}");
            return ExitCode::from(1);
        }
    }
    let opts = UpOptions {
        services: args.services.clone(),
        no_deps: args.no_deps,
        recreate: if args.force_recreate {
            Recreate::Force
        } else if args.no_recreate {
            Recreate::Never
        } else {
            Recreate::Diverged
        },
        always_recreate_deps: args.always_recreate_deps,
        remove_orphans: args.remove_orphans,
        no_start: args.no_start,
        scale,
    };
    let exec = ExecOptions {
        parallel: lifecycle::parallel(global),
        stop_timeout: args.timeout.map(Duration::from_secs),
        gate_timeout: (args.wait_timeout > 0).then(|| Duration::from_secs(args.wait_timeout)),
    };
    let _lock = match lifecycle::lock_project(&session.project.name) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let rt = match lifecycle::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let engine = match lifecycle::connect(global).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let selected = planner::selection(&session.graph, &opts);
        let observed =
            match executor::observe(&engine, &session.project, &selected).await {
                Ok(o) => o,
                Err(e) => return lifecycle::fail(e),
            };
        let plan = planner::plan_up(&session.project, &session.graph, &observed, &opts);
        tracing::debug!(plan = %plan, "up plan");
        let progress = PlainProgress { quiet: false };
        if global.dry_run {
            print!("{plan}");
            return ExitCode::SUCCESS;
        }
        if let Err(e) = executor::execute_up(
            &engine,
            &session.project,
            &session.ctx,
            &plan,
            &observed,
            &exec,
            &progress,
        )
        .await
        {
            return lifecycle::fail(e);
        }
        if args.wait && !args.no_start {
            if let Err(e) = executor::wait_running(
                &engine,
                &session.project,
                &selected,
                exec.gate_timeout,
                &progress,
            )
            .await
            {
                return lifecycle::fail(e);
            }
        }
        ExitCode::SUCCESS
    })
}
