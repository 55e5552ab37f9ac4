//! `rcompose port`: the public `host_ip:host_port` a service container's private port is
//! published on, like `docker compose port`.

use std::process::ExitCode;

use super::{targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct PortArgs {
    /// tcp or udp
    #[arg(long = "protocol", default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if service has multiple replicas
    #[arg(long = "index", default_value_t = 1)]
    pub index: u32,
    #[arg(value_name = "SERVICE")]
    pub service: String,
    #[arg(value_name = "PRIVATE_PORT")]
    pub private_port: u16,
}

pub fn run(global: &GlobalArgs, args: &PortArgs) -> ExitCode {
    targets::run_on_replica(
        global,
        &args.service,
        args.index,
        async |_engine, c| match c.ports.iter().find(|p| {
            p.host_port != 0 && p.container_port == args.private_port && p.protocol == args.protocol
        }) {
            Some(p) => {
                println!("{}:{}", p.host_ip, p.host_port);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "no port {}/{} for container {}: not found",
                    args.private_port, args.protocol, c.name
                );
                ExitCode::from(1)
            }
        },
    )
}
