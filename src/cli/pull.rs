//! `rcompose pull`: pulls the images of the project's services, in parallel, with Compose's
//! progress lines (` a Pulling`, ` a Pulled`, ` c Skipped - No image to be pulled`). The first
//! failure interrupts the others unless `--ignore-pull-failures`.

use std::process::ExitCode;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::engine::Engine;
use crate::reconcile::executor::{progress_mode, ProgressMode};

use super::{lifecycle, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Pull what it can and ignores images with pull failures
    #[arg(long = "ignore-pull-failures")]
    pub ignore_pull_failures: bool,
    /// Also pull services declared as dependencies
    #[arg(long = "include-deps")]
    pub include_deps: bool,
    /// Pull without printing progress information
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Services to pull (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

fn line(quiet: bool, service: &str, status: &str) {
    if !quiet && progress_mode() != ProgressMode::Quiet {
        eprintln!(" {service} {status} ");
    }
}

pub fn run(global: &GlobalArgs, args: &PullArgs) -> ExitCode {
    let session = match lifecycle::load(global, &args.services) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let services: Vec<String> = if args.services.is_empty() {
        session.graph.start_order()
    } else if args.include_deps {
        session.graph.closure(&args.services)
    } else {
        args.services.clone()
    };
    let project = &session.project;
    lifecycle::with_engine(global, async |engine| {
        let mut pulls = FuturesUnordered::new();
        for name in &services {
            let Some(svc) = project.services.get(name) else {
                continue;
            };
            if svc.image.is_empty() {
                line(args.quiet, name, "Skipped - No image to be pulled");
                continue;
            }
            line(args.quiet, name, "Pulling");
            pulls.push(async move { (name, engine.pull_image(&svc.image).await) });
        }
        let mut first_error = None;
        while let Some((name, r)) = pulls.next().await {
            match r {
                Ok(()) => line(args.quiet, name, "Pulled"),
                Err(e) => {
                    line(args.quiet, name, &format!("Error {e}"));
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                    if !args.ignore_pull_failures {
                        break;
                    }
                }
            }
        }
        // Returning drops the set, which interrupts the pulls still running.
        match first_error {
            Some(e) if !args.ignore_pull_failures => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
            _ => ExitCode::SUCCESS,
        }
    })
}
