//! `rcompose up`: create and start the project's containers, converging what exists.
//!
//! Detached with `-d` (or `--wait`); otherwise attached: the output of the containers follows
//! (see [`super::attach`]) until they exit or Ctrl+C stops them.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use crate::reconcile::executor::{self, ExecOptions, PlainProgress};
use crate::reconcile::planner::{self, Recreate, UpOptions};
use crate::reconcile::pull_policy::PULL_FLAG_VALUES;
use crate::reconcile::wide_ports;

use super::{lifecycle, GlobalArgs};

#[derive(Debug, Default, clap::Args)]
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
    /// Stops all containers if any container was stopped. Incompatible with -d
    #[arg(long = "abort-on-container-exit", conflicts_with = "detach")]
    pub abort_on_container_exit: bool,
    /// Stops all containers if any container exited with failure. Incompatible with -d
    #[arg(long = "abort-on-container-failure", conflicts_with = "detach")]
    pub abort_on_container_failure: bool,
    /// Return the exit code of the selected service container. Implies --abort-on-container-exit
    #[arg(long = "exit-code-from", conflicts_with = "detach")]
    pub exit_code_from: Option<String>,
    /// Restrict attaching to the specified services
    #[arg(long = "attach")]
    pub attach: Vec<String>,
    /// Do not attach (stream logs) to the specified services
    #[arg(long = "no-attach")]
    pub no_attach: Vec<String>,
    /// Automatically attach to log output of dependent services
    #[arg(long = "attach-dependencies")]
    pub attach_dependencies: bool,
    /// Don't prefix log lines with the container name
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Show timestamps
    #[arg(long)]
    pub timestamps: bool,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    #[command(flatten)]
    pub images: ImageFlags,
    /// Services to start (default: all)
    pub services: Vec<String>,
}

/// The image flags of `up` and `create`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ImageFlags {
    /// Build images before starting containers
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Pull image before running ("always"|"missing"|"never"|"build")
    #[arg(long = "pull", default_value = "policy")]
    pub pull: String,
    /// Pull without printing progress information
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
}

/// Compose's `ensureImagesExists`: the pull phase, then the builds (`--build` builds every
/// selected service with a `build:` section, which then is not pulled; `--no-build` none).
pub async fn prepare_images(
    engine: &crate::engine::Backend,
    session: &lifecycle::Session,
    selected: &[String],
    pull_override: Option<&str>,
    args: &ImageFlags,
    parallel: usize,
) -> Result<(), ExitCode> {
    let project = &session.project;
    let pull_selected: Vec<String> = selected
        .iter()
        .filter(|n| {
            !(args.build
                && project
                    .services
                    .get(n.as_str())
                    .is_some_and(|s| s.build.is_some()))
        })
        .cloned()
        .collect();
    super::pulling::pull_for_up(
        engine,
        project,
        &pull_selected,
        pull_override,
        args.quiet_pull,
        parallel,
    )
    .await?;
    if args.no_build {
        return Ok(());
    }
    super::build::build_for_up(engine, session, selected, args.build, pull_override).await
}

pub fn run(global: &GlobalArgs, args: &UpArgs) -> ExitCode {
    let flags = &args.images;
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let mut scale = BTreeMap::new();
    for s in &args.scale {
        match s
            .split_once('=')
            .and_then(|(k, v)| Some((k, v.parse::<u32>().ok()?)))
        {
            Some((k, n)) => {
                scale.insert(k.to_string(), n);
            }
            None => {
                eprintln!("error: invalid --scale value {s:?}: expected SERVICE=NUM");
                return ExitCode::from(1);
            }
        }
    }
    let pull_override = match flags.pull.as_str() {
        "policy" | "" => None,
        p if PULL_FLAG_VALUES.contains(&p) => Some(p),
        p => {
            eprintln!("invalid --pull option {p:?}");
            return ExitCode::from(1);
        }
    };
    let session = match lifecycle::load(global, &args.services) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(s) = &args.exit_code_from {
        if !session.project.services.contains_key(s) {
            eprintln!("error: no such service: {s}");
            return ExitCode::from(1);
        }
    }
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
    let mut lock = match lifecycle::lock_project(&session.project.name) {
        Ok(l) => Some(l),
        Err(code) => return code,
    };
    lifecycle::with_engine(global, async |engine| {
        let selected = planner::selection(&session.graph, &opts);
        if !global.dry_run {
            if let Err(code) = prepare_images(
                engine,
                &session,
                &selected,
                pull_override,
                flags,
                lifecycle::parallel(global),
            )
            .await
            {
                return code;
            }
        }
        let observed = match executor::observe(engine, &session.project, &selected).await {
            Ok(o) => o,
            Err(e) => return lifecycle::fail(e),
        };
        let plan = planner::plan_up(&session.project, &session.graph, &observed, &opts);
        tracing::debug!(plan = %plan, "up plan");
        let progress = PlainProgress {
            mode: executor::progress_mode(),
        };
        if global.dry_run {
            print!("{plan}");
            return ExitCode::SUCCESS;
        }
        for w in wide_ports::warnings(&session.project, &plan) {
            super::warn(&w, global.colors());
        }
        if let Err(e) = executor::execute_up(
            engine,
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
                engine,
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
        if args.detach || args.wait || args.no_start {
            return ExitCode::SUCCESS;
        }
        // Attached: the project is converged; another command (a `down` in another terminal)
        // may go on while we follow the output.
        drop(lock.take());
        let attach =
            if args.attach.is_empty() && !args.services.is_empty() && !args.attach_dependencies {
                args.services.clone()
            } else {
                args.attach.clone()
            };
        let colors = !args.no_color && global.colors();
        let opts = super::attach::AttachOptions {
            attach,
            no_attach: args.no_attach.clone(),
            abort_on_exit: args.abort_on_container_exit || args.exit_code_from.is_some(),
            abort_on_failure: args.abort_on_container_failure,
            exit_code_from: args.exit_code_from.clone(),
            no_log_prefix: args.no_log_prefix,
            timestamps: args.timestamps,
            colors,
            since: started_at,
            stop_timeout: exec.stop_timeout,
        };
        super::attach::attach(engine, &session.project, &session.graph, &selected, &opts).await
    })
}
