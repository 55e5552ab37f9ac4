//! `rcompose stats`: the resource usage of the project's containers, as `docker stats` (and
//! so Docker Compose) prints it: CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O,
//! BLOCK I/O, PIDS, with the docker CLI's formulas:
//!
//! - CPU % = (container CPU delta / host CPU delta) x online CPUs x 100, the deltas against the
//!   engine's previous sample;
//! - memory used = usage minus `total_inactive_file` (cgroup v1) or `inactive_file` (v2) when
//!   that is smaller than usage; MEM % = used / limit x 100.
//!
//! `--no-stream` prints one table (or JSON lines) and exits; otherwise the screen is redrawn
//! every second until interrupted. The containers are those running when the command starts
//! (all with `-a`); containers started later are not picked up.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::stream::{select_all, StreamExt};
use serde::Serialize;

use crate::engine::{ContainerInfo, ContainerState, Engine, StatsSample};

use super::{human, targets, GlobalArgs};

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StatsFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output: 'table' (default) or 'json'
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Service (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
}

/// One container's line, with `docker stats --format json`'s keys (alphabetical, as Go
/// marshals a map).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsRow {
    #[serde(rename = "BlockIO")]
    pub block_io: String,
    #[serde(rename = "CPUPerc")]
    pub cpu_perc: String,
    #[serde(rename = "Container")]
    pub container: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "MemPerc")]
    pub mem_perc: String,
    #[serde(rename = "MemUsage")]
    pub mem_usage: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "NetIO")]
    pub net_io: String,
    #[serde(rename = "PIDs")]
    pub pids: String,
}

/// The docker CLI's `calculateCPUPercentUnix`.
pub fn cpu_percent(s: &StatsSample) -> f64 {
    let cpu_delta = s.cpu_total as f64 - s.precpu_total as f64;
    let system_delta = s.system_cpu as f64 - s.presystem_cpu as f64;
    let cpus = if s.online_cpus == 0 {
        s.percpu_count
    } else {
        s.online_cpus
    };
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * f64::from(cpus) * 100.0
    } else {
        0.0
    }
}

/// The docker CLI's `calculateMemUsageUnixNoCache`: usage less the inactive page cache.
pub fn memory_used(s: &StatsSample) -> f64 {
    let usage = s.memory_usage;
    if let Some(&v) = s.memory_stats.get("total_inactive_file") {
        if v < usage {
            return (usage - v) as f64;
        }
    }
    let inactive = s.memory_stats.get("inactive_file").copied().unwrap_or(0);
    if inactive < usage {
        (usage - inactive) as f64
    } else {
        usage as f64
    }
}

pub fn row(c: &ContainerInfo, s: &StatsSample, no_trunc: bool) -> StatsRow {
    let used = memory_used(s);
    let limit = s.memory_limit as f64;
    let mem_perc = if limit == 0.0 {
        0.0
    } else {
        used / limit * 100.0
    };
    StatsRow {
        block_io: format!(
            "{} / {}",
            human::size(s.block_read as f64),
            human::size(s.block_write as f64)
        ),
        cpu_perc: format!("{:.2}%", cpu_percent(s)),
        container: c.id.clone(),
        id: if no_trunc {
            c.id.clone()
        } else {
            c.id.chars().take(12).collect()
        },
        mem_perc: format!("{mem_perc:.2}%"),
        mem_usage: format!("{} / {}", human::bytes_size(used), human::bytes_size(limit)),
        name: c.name.clone(),
        net_io: format!(
            "{} / {}",
            human::size(s.net_rx as f64),
            human::size(s.net_tx as f64)
        ),
        pids: s.pids.to_string(),
    }
}

fn render(rows: &[StatsRow], format: StatsFormat) -> String {
    match format {
        StatsFormat::Json => rows
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default() + "\n")
            .collect(),
        StatsFormat::Table => {
            let mut table = vec![[
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET I/O",
                "BLOCK I/O",
                "PIDS",
            ]
            .map(String::from)
            .to_vec()];
            table.extend(rows.iter().map(|r| {
                vec![
                    r.id.clone(),
                    r.name.clone(),
                    r.cpu_perc.clone(),
                    r.mem_usage.clone(),
                    r.mem_perc.clone(),
                    r.net_io.clone(),
                    r.block_io.clone(),
                    r.pids.clone(),
                ]
            }));
            super::top::tabwrite(&table, 10, 3)
        }
    }
}

pub fn run(global: &GlobalArgs, args: &StatsArgs) -> ExitCode {
    let services: Vec<String> = args.service.iter().cloned().collect();
    let keep = |c: &ContainerInfo| args.all || c.state == ContainerState::Running;
    targets::run_on_containers(global, &services, keep, async |_session, engine, list| {
        if args.no_stream {
            let samples = futures_util::future::join_all(
                list.iter()
                    .map(|c| async { engine.stats(&c.id, false).next().await }),
            )
            .await;
            let mut rows = Vec::new();
            for (c, s) in list.iter().zip(samples) {
                match s {
                    Some(Ok(s)) => rows.push(row(c, &s, args.no_trunc)),
                    // Gone meanwhile (or no sample): shown as zeros, like the docker CLI.
                    None | Some(Err(crate::engine::EngineError::NotFound { .. })) => {
                        rows.push(row(c, &StatsSample::default(), args.no_trunc));
                    }
                    Some(Err(e)) => return targets::engine_error(e),
                }
            }
            print!("{}", render(&rows, args.format));
            return ExitCode::SUCCESS;
        }
        let mut latest: BTreeMap<usize, StatsRow> = list
            .iter()
            .enumerate()
            .map(|(i, c)| (i, row(c, &StatsSample::default(), args.no_trunc)))
            .collect();
        let mut samples = select_all(
            list.iter()
                .enumerate()
                .map(|(i, c)| engine.stats(&c.id, true).map(move |s| (i, s))),
        );
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                item = samples.next() => match item {
                    Some((i, Ok(s))) => {
                        latest.insert(i, row(&list[i], &s, args.no_trunc));
                    }
                    Some((_, Err(_))) => {}
                    None => {
                        tick.tick().await;
                        break;
                    }
                },
                _ = tick.tick() => {
                    let rows: Vec<StatsRow> = latest.values().cloned().collect();
                    if args.format == StatsFormat::Table {
                        print!("\x1b[2J\x1b[H");
                    }
                    print!("{}", render(&rows, args.format));
                    use std::io::Write;
                    let _ = std::io::stdout().flush();
                }
            }
        }
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_formulas() {
        let mut s = StatsSample {
            cpu_total: 300,
            precpu_total: 100,
            system_cpu: 2_000,
            presystem_cpu: 1_000,
            online_cpus: 2,
            memory_usage: 10 * 1024 * 1024,
            memory_limit: 100 * 1024 * 1024,
            ..Default::default()
        };
        assert!((cpu_percent(&s) - 40.0).abs() < 1e-9);
        s.memory_stats
            .insert("total_inactive_file".into(), 2 * 1024 * 1024);
        assert_eq!(memory_used(&s), 8.0 * 1024.0 * 1024.0);
        s.memory_stats.clear();
        s.memory_stats.insert("inactive_file".into(), 1024 * 1024);
        assert_eq!(memory_used(&s), 9.0 * 1024.0 * 1024.0);
        s.online_cpus = 0;
        s.percpu_count = 4;
        assert!((cpu_percent(&s) - 80.0).abs() < 1e-9);
        let c = ContainerInfo {
            id: "0123456789abcdef".into(),
            name: "p-web-1".into(),
            image: String::new(),
            image_id: None,
            labels: Default::default(),
            state: ContainerState::Running,
            health: crate::engine::Health::None,
            exit_code: None,
            last_health_output: None,
            status_text: String::new(),
            created: 0,
            ports: Vec::new(),
            command: String::new(),
            networks: Vec::new(),
            mounts: Vec::new(),
            stop_timeout: None,
        };
        let r = row(&c, &s, false);
        assert_eq!(r.id, "0123456789ab");
        assert_eq!(r.mem_usage, "9MiB / 100MiB");
        assert_eq!(r.mem_perc, "9.00%");
        assert_eq!(
            serde_json::to_string(&r).unwrap().split('"').nth(1),
            Some("BlockIO")
        );
    }
}
