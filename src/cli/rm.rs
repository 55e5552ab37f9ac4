//! `rcompose rm`: removes the project's stopped containers, like `docker compose rm`.
//!
//! `-s` stops running ones first. Compose asks `Going to remove ...` for confirmation unless
//! `-f`; here the question is asked only on a terminal (a `y`/`yes` answer removes). With no
//! terminal on stdin there is nobody to ask, so `-f` is required and the error says so.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::engine::{tty, Engine};
use crate::reconcile::planner::service_of;

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short = 's', long = "stop")]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// Services to remove (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &RmArgs) -> ExitCode {
    targets::run_on_containers(
        global,
        &args.service,
        |_| true,
        async |session, engine, list| {
            let project = &session.project;
            let mut list = list;
            if args.stop {
                let up: Vec<_> = list.iter().filter(|c| targets::is_up(c)).cloned().collect();
                let groups = targets::by_service(&session.graph.stop_order(), &up);
                let code = targets::each_in_order(&groups, Some("Stopping"), "Stopped", |c| {
                    let timeout = targets::stop_timeout(project, service_of(c), None);
                    engine.stop_container(&c.id, timeout)
                })
                .await;
                if code != ExitCode::SUCCESS {
                    return code;
                }
                list = match targets::containers(engine, project, &args.service, |_| true).await {
                    Ok(l) => l,
                    Err(code) => return code,
                };
            }
            let stopped: Vec<_> = list.iter().filter(|c| !targets::is_up(c)).collect();
            if stopped.is_empty() {
                eprintln!("No stopped containers");
                return ExitCode::SUCCESS;
            }
            let mut names: Vec<&str> = stopped.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            let names = names.join(", ");
            if args.force {
                eprintln!("Going to remove {names}");
            } else if !tty::stdin_is_terminal() {
                eprintln!("Going to remove {names}");
                eprintln!(
                    "error: rm asks for confirmation, and standard input is not a terminal: use \
                 -f (--force) to remove without asking"
                );
                return ExitCode::from(1);
            } else {
                eprint!("? Going to remove {names} (y/N) ");
                let _ = std::io::stderr().flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                    return ExitCode::SUCCESS;
                }
            }
            let all = vec![(String::new(), stopped)];
            targets::each_in_order(&all, Some("Removing"), "Removed", |c| {
                engine.remove_container(&c.id, true, args.volumes)
            })
            .await
        },
    )
}
