//! `rcompose pull`: pulls the images of the project's services, in parallel, with Compose's
//! progress lines (` a Pulling`, the layers' steps, ` a Pulled`, ` c Skipped - No image to
//! be pulled`; see [`super::pulling`]). Which services are pulled follows Compose 2.40.3
//! ([`pull_command_decision`]); the first failure of an image that cannot be built
//! interrupts the others unless `--ignore-pull-failures`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::engine::Engine;
use crate::reconcile::pull_policy::{pull_command_decision, PullDecision};

use super::pulling::{pull_targets, PullLines, PullTarget};
use super::{lifecycle, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Ignore images that can be built
    #[arg(long = "ignore-buildable")]
    pub ignore_buildable: bool,
    /// Pull what it can and ignores images with pull failures
    #[arg(long = "ignore-pull-failures")]
    pub ignore_pull_failures: bool,
    /// Also pull services declared as dependencies
    #[arg(long = "include-deps")]
    pub include_deps: bool,
    /// Apply pull policy ("missing"|"always")
    #[arg(long = "policy", value_parser = ["missing", "always"])]
    pub policy: Option<String>,
    /// Pull without printing progress information
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Services to pull (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
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
    let lines = PullLines::current(args.quiet, true);
    lifecycle::with_engine(global, async |engine| {
        let mut targets = Vec::new();
        let mut pulled_by: BTreeMap<&str, &str> = BTreeMap::new();
        for name in &services {
            let Some(svc) = project.services.get(name) else {
                continue;
            };
            let policy = match (&args.policy, svc.image.is_empty()) {
                (Some(p), false) => p.as_str(),
                _ => svc.pull_policy.as_str(),
            };
            let present = !svc.image.is_empty()
                && matches!(policy, "missing" | "if_not_present")
                && match engine.image_id(&svc.image).await {
                    Ok(id) => id.is_some(),
                    Err(e) => return super::targets::engine_error(e),
                };
            let decision = pull_command_decision(
                &svc.image,
                policy,
                svc.build.is_some(),
                args.ignore_buildable,
                present,
                pulled_by.get(svc.image.as_str()).copied(),
            );
            match decision {
                PullDecision::Skip(why) => lines.service(name, &why, ""),
                PullDecision::Pull => {
                    pulled_by.insert(&svc.image, name);
                    targets.push(PullTarget {
                        id: name.clone(),
                        image: svc.image.clone(),
                        buildable: svc.build.is_some(),
                    });
                }
            }
        }
        let parallel = lifecycle::parallel(global);
        let failures = pull_targets(
            engine,
            &targets,
            lines,
            parallel,
            !args.ignore_pull_failures,
        )
        .await;
        let must_build: Vec<&str> = failures
            .iter()
            .filter(|(i, _)| targets[*i].buildable)
            .map(|(i, _)| targets[*i].id.as_str())
            .collect();
        if !must_build.is_empty() {
            eprintln!(
                "WARNING: Some service image(s) must be built from source by running:\n    docker compose build {}",
                must_build.join(" ")
            );
        }
        match failures.into_iter().next() {
            Some((_, e)) if !args.ignore_pull_failures => {
                crate::reconcile::tty_progress::freeze();
                eprintln!("{e}");
                ExitCode::from(1)
            }
            _ => ExitCode::SUCCESS,
        }
    })
}
