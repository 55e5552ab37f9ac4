//! `rcompose ps`: the project's containers, as a table or JSON, like `docker compose ps`.

use std::process::ExitCode;

use crate::engine::{ContainerInfo, ContainerState, Engine};
use crate::reconcile::container_spec::labels;
use crate::reconcile::planner::{number_of, service_of};

use super::{lifecycle, GlobalArgs};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PsFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show all stopped containers (including those created by the run command)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only display IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]
    #[arg(long = "status")]
    pub status: Vec<String>,
    /// Format the output
    #[arg(long, value_enum, default_value = "table")]
    pub format: PsFormat,
    /// Services to list (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &PsArgs) -> ExitCode {
    let session = match lifecycle::load_existing(global, &[]) {
        Ok(s) => s,
        Err(code) => return code,
    };
    for s in &args.status {
        if ContainerState::parse(s).is_none() {
            eprintln!("error: invalid status: {s}");
            return ExitCode::from(1);
        }
    }
    lifecycle::with_engine(global, async |engine| {
        let filter = [format!("{}={}", labels::PROJECT, session.project.name)];
        let mut list = match engine.list_containers(&filter).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        list.retain(|c| {
            (args.all
                || c.state == ContainerState::Running
                || c.state == ContainerState::Restarting
                || c.state == ContainerState::Paused)
                && (args.all || c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True"))
                && (args.service.is_empty() || args.service.iter().any(|s| s == service_of(c)))
                && (args.status.is_empty() || args.status.iter().any(|s| s == c.state.as_str()))
        });
        list.sort_by(|a, b| (service_of(a), number_of(a)).cmp(&(service_of(b), number_of(b))));
        print!("{}", render(&list, args));
        ExitCode::SUCCESS
    })
}

fn render(list: &[ContainerInfo], args: &PsArgs) -> String {
    let mut out = String::new();
    if args.services {
        let mut names: Vec<&str> = list.iter().map(service_of).collect();
        names.dedup();
        for n in names {
            out.push_str(n);
            out.push('\n');
        }
        return out;
    }
    if args.quiet {
        for c in list {
            out.push_str(&c.id);
            out.push('\n');
        }
        return out;
    }
    match args.format {
        PsFormat::Json => {
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "ID": c.id,
                        "Name": c.name,
                        "Image": c.image,
                        "Project": c.labels.get(labels::PROJECT),
                        "Service": service_of(c),
                        "State": c.state.as_str(),
                        "Health": match c.health {
                            crate::engine::Health::None => "",
                            crate::engine::Health::Starting => "starting",
                            crate::engine::Health::Healthy => "healthy",
                            crate::engine::Health::Unhealthy => "unhealthy",
                        },
                        "ExitCode": c.exit_code.unwrap_or(0),
                        "Status": c.status_text,
                        "Publishers": c.ports.iter().map(|p| serde_json::json!({
                            "URL": p.host_ip, "TargetPort": p.container_port,
                            "PublishedPort": p.host_port, "Protocol": p.protocol,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            for r in rows {
                out.push_str(&r.to_string());
                out.push('\n');
            }
        }
        PsFormat::Table => {
            let rows: Vec<[String; 6]> = list
                .iter()
                .map(|c| {
                    [
                        c.name.clone(),
                        c.image.clone(),
                        c.labels.get("com.docker.compose.service").cloned().unwrap_or_default(),
                        c.status_text.clone(),
                        c.ports
                            .iter()
                            .map(|p| {
                                format!("{}:{}->{}/{}", p.host_ip, p.host_port, p.container_port, p.protocol)
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                        String::new(),
                    ]
                })
                .collect();
            let head = ["NAME", "IMAGE", "SERVICE", "STATUS", "PORTS", ""];
            let mut widths = head.map(str::len);
            for r in &rows {
                for (i, cell) in r.iter().enumerate() {
                    widths[i] = widths[i].max(cell.len());
                }
            }
            let line = |cells: [&str; 6]| {
                let mut s = String::new();
                for (i, cell) in cells.iter().enumerate().take(5) {
                    if i == 4 {
                        s.push_str(cell);
                    } else {
                        s.push_str(&format!("{cell:<w$}   ", w = widths[i]));
                    }
                }
                s.trim_end().to_string() + "\n"
            };
            out.push_str(&line(head));
            for r in &rows {
                out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
            }
        }
    }
    out
}
