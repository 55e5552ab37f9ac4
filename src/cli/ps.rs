//! `rcompose ps`: the project's containers, as a table or JSON, like `docker compose ps`.

use std::process::ExitCode;

use crate::engine::{ContainerInfo, ContainerState, Engine, Health, PublishedPort};
use crate::reconcile::container_spec::labels;
use crate::reconcile::planner::service_of;

use super::human;
use super::timefmt::LocalTime;
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
    /// Filter services by a property (supported filters: status)
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Include orphaned services (not declared by project)
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub orphans: bool,
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
    let mut statuses = args.status.clone();
    for f in &args.filter {
        match f.split_once('=') {
            Some(("status", v)) => statuses.push(v.to_string()),
            Some((k, _)) => {
                eprintln!("unknown filter {k}");
                return ExitCode::from(1);
            }
            None => {
                eprintln!("invalid filter {f:?}: expected key=value");
                return ExitCode::from(1);
            }
        }
    }
    for s in &statuses {
        if ContainerState::parse(s).is_none() {
            eprintln!("error: invalid status: {s}");
            return ExitCode::from(1);
        }
    }
    for s in &args.service {
        if !session.project.services.contains_key(s) {
            eprintln!("no such service: {s}");
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
            let up = matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            );
            (args.all || !statuses.is_empty() || up)
                && (args.all || c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True"))
                && (args.service.is_empty() || args.service.iter().any(|s| s == service_of(c)))
                && (statuses.is_empty() || statuses.iter().any(|s| s == c.state.as_str()))
                && (args.orphans || session.project.services.contains_key(service_of(c)))
        });
        list.sort_by(|a, b| a.name.cmp(&b.name));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        print!("{}", render(&list, args, now));
        ExitCode::SUCCESS
    })
}

/// The listing as Compose prints it (`now`: Unix seconds, for `CREATED`).
fn render(list: &[ContainerInfo], args: &PsArgs, now: i64) -> String {
    let mut out = String::new();
    if args.services {
        let mut names: Vec<&str> = list.iter().map(service_of).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            out.push_str(n);
            out.push('\n');
        }
        return out;
    }
    let trunc = !args.no_trunc;
    if args.quiet {
        // Full ids, truncated or not (as Compose prints them).
        for c in list {
            out.push_str(&c.id);
            out.push('\n');
        }
        return out;
    }
    match args.format {
        PsFormat::Json => {
            for c in list {
                out.push_str(&json_row(c, trunc, now).to_string());
                out.push('\n');
            }
        }
        PsFormat::Table => {
            let head = [
                "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
            ];
            let rows: Vec<Vec<String>> = std::iter::once(head.map(String::from).to_vec())
                .chain(list.iter().map(|c| {
                    vec![
                        c.name.clone(),
                        c.image.clone(),
                        command(c, trunc),
                        service_of(c).to_string(),
                        format!("{} ago", human::duration((now - c.created) as f64)),
                        c.status_text.clone(),
                        ports_text(&c.ports),
                    ]
                }))
                .collect();
            out.push_str(&tabwriter(&rows, 3));
        }
    }
    out
}

/// One container as Compose's `ps --format json` prints it (fields in Compose's order).
fn json_row(c: &ContainerInfo, trunc: bool, now: i64) -> serde_json::Value {
    let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .map(|m| {
            if trunc {
                ellipsis(&m.name, 15)
            } else {
                m.name.clone()
            }
        })
        .collect();
    let local = c.mounts.iter().filter(|m| m.local_volume).count();
    serde_json::json!({
        "Command": command(c, trunc),
        "CreatedAt": LocalTime::at(c.created.saturating_mul(1_000_000_000)).go_string(),
        "ExitCode": c.exit_code.unwrap_or(0),
        "Health": match c.health {
            Health::None => "",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        },
        "ID": if trunc { short_id(&c.id) } else { &c.id },
        "Image": c.image,
        "Labels": labels.join(","),
        "LocalVolumes": local.to_string(),
        "Mounts": mounts.join(","),
        "Name": c.name,
        "Names": c.name,
        "Networks": c.networks.join(","),
        "Ports": ports_text(&c.ports),
        "Project": c.labels.get(labels::PROJECT).map_or("", String::as_str),
        "Publishers": c.ports.iter().map(|p| serde_json::json!({
            "URL": p.host_ip,
            "TargetPort": p.container_port,
            "PublishedPort": p.host_port,
            "Protocol": p.protocol,
        })).collect::<Vec<_>>(),
        "RunningFor": format!("{} ago", human::duration((now - c.created) as f64)),
        "Service": service_of(c),
        "Size": "0B",
        "State": c.state.as_str(),
        "Status": c.status_text,
    })
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The COMMAND cell: cut to 20 characters (`…` last) unless `--no-trunc`, then Go-quoted.
fn command(c: &ContainerInfo, trunc: bool) -> String {
    let cmd = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    go_quote(&cmd)
}

/// Docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The PORTS cell, as Docker's `DisplayablePorts`: ports sorted by (container port, address,
/// host port, protocol); unpublished ports and ports published on the same number grouped
/// into ranges per address and protocol (`7000/tcp`, `0.0.0.0:80-81->80-81/tcp`); every
/// other mapping listed after them (`[::]:8080->80/tcp`).
pub fn ports_text(ports: &[PublishedPort]) -> String {
    let mut sorted: Vec<&PublishedPort> = ports.iter().collect();
    sorted.sort_by(|a, b| {
        (a.container_port, &a.host_ip, a.host_port, &a.protocol).cmp(&(
            b.container_port,
            &b.host_ip,
            b.host_port,
            &b.protocol,
        ))
    });
    // (address, protocol) → (first, last) of the open range; keys in first-seen order.
    let mut open: Vec<((String, String), (u16, u16))> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in sorted {
        let current = p.container_port;
        let key = if p.host_ip.is_empty() {
            (String::new(), p.protocol.clone())
        } else {
            if p.host_port != current {
                mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.host_ip, &p.host_port.to_string()),
                    current,
                    p.protocol
                ));
                continue;
            }
            (p.host_ip.clone(), p.protocol.clone())
        };
        match open.iter_mut().find(|(k, _)| *k == key) {
            None => open.push((key, (current, current))),
            Some((_, range)) if range.1.checked_add(1) == Some(current) => range.1 = current,
            Some((k, range)) => {
                result.push(port_group(&k.0, &k.1, *range));
                *range = (current, current);
            }
        }
    }
    for (k, range) in &open {
        result.push(port_group(&k.0, &k.1, *range));
    }
    result.extend(mappings);
    result.join(", ")
}

fn port_group(ip: &str, protocol: &str, (first, last): (u16, u16)) -> String {
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{protocol}")
}

/// Go's `net.JoinHostPort`: IPv6 addresses in brackets.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's tabwriter as the Docker CLI uses it: every column but the last padded to its widest
/// cell plus `padding` spaces (trailing spaces kept, as Compose prints them).
pub fn tabwriter(rows: &[Vec<String>], padding: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < r.len() {
                let pad = widths[i] + padding - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(ip: &str, host: u16, container: u16, proto: &str) -> PublishedPort {
        PublishedPort {
            host_ip: ip.into(),
            host_port: host,
            container_port: container,
            protocol: proto.into(),
        }
    }

    #[test]
    fn ports_like_docker() {
        let ports = [
            port("", 0, 7000, "tcp"),
            port("0.0.0.0", 18505, 53, "udp"),
            port("::", 18505, 53, "udp"),
            port("127.0.0.1", 18501, 80, "tcp"),
            port("0.0.0.0", 8080, 8080, "tcp"),
            port("0.0.0.0", 8081, 8081, "tcp"),
            port("", 0, 7001, "tcp"),
            port("", 0, 7003, "tcp"),
        ];
        assert_eq!(
            ports_text(&ports),
            "7000-7001/tcp, 7003/tcp, 0.0.0.0:8080-8081->8080-8081/tcp, \
             0.0.0.0:18505->53/udp, [::]:18505->53/udp, 127.0.0.1:18501->80/tcp"
        );
        assert_eq!(ports_text(&[]), "");
    }

    #[test]
    fn quoting_and_ellipsis() {
        assert_eq!(go_quote("sh -c 'echo \"q\"'"), "\"sh -c 'echo \\\"q\\\"'\"");
        assert_eq!(go_quote("a\tb\u{1}"), "\"a\\tb\\x01\"");
        assert_eq!(
            ellipsis("sh -c 'trap 'exit 0' TERM", 20),
            "sh -c 'trap 'exit 0…"
        );
        assert_eq!(ellipsis("short", 20), "short");
    }
}
