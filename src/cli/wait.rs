//! `rcompose wait`: blocks until the containers of the named services stop, prints each exit
//! status like `docker compose wait`, and exits with the last one; `--down-project` takes the
//! project down when the first one stops.

use std::process::ExitCode;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::engine::Engine;

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Drops project when the first container stops
    #[arg(long = "down-project")]
    pub down_project: bool,
    /// Services to wait for
    #[arg(value_name = "SERVICE", required = true)]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &WaitArgs) -> ExitCode {
    let code = targets::run_on_containers(
        global,
        &args.service,
        |_| true,
        async |_session, engine, list| {
            let mut waits: FuturesUnordered<_> = list
                .iter()
                .map(|c| async move { (c, engine.wait_container(&c.id).await) })
                .collect();
            let mut last = 0i64;
            while let Some((c, r)) = waits.next().await {
                match r {
                    Ok(code) => {
                        println!("container {:?} exited with status code {code}", c.id);
                        last = code;
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        last = 1;
                    }
                }
                if args.down_project {
                    break;
                }
            }
            ExitCode::from(u8::try_from(last.clamp(0, 255)).unwrap_or(1))
        },
    );
    if args.down_project {
        let down = super::down::DownArgs {
            volumes: false,
            remove_orphans: false,
            timeout: None,
            rmi: None,
        };
        let d = super::down::run(global, &down);
        if d != ExitCode::SUCCESS {
            return d;
        }
    }
    code
}
