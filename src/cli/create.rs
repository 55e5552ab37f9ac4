//! `rcompose create`: creates the project's containers (and networks and volumes) without
//! starting them; `up --no-start` with `create`'s flags.

use std::process::ExitCode;

use super::up::UpArgs;
use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub images: super::up::ImageFlags,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate", conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans", env = "COMPOSE_REMOVE_ORPHANS")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances (SERVICE=NUM)
    #[arg(long = "scale")]
    pub scale: Vec<String>,
    /// Services to create (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &CreateArgs) -> ExitCode {
    let up = UpArgs {
        detach: true,
        no_start: true,
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        remove_orphans: args.remove_orphans,
        scale: args.scale.clone(),
        services: args.services.clone(),
        images: args.images.clone(),
        ..Default::default()
    };
    super::up::run(global, &up)
}
