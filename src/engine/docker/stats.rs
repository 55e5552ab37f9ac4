//! `stats` on Docker: `GET /containers/{id}/stats`, turned into raw [`StatsSample`]s
//! (network interfaces and block devices summed as the docker CLI does).

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

use super::{map_error, DockerEngine, Subject, NO_TIMEOUT};
use crate::engine::{StatsSample, StatsSamples};

/// Reads and writes of `blkio_stats.io_service_bytes_recursive` (cgroup v1 says `Read`,
/// v2 `read`).
fn block_io(s: &ContainerStatsResponse) -> (u64, u64) {
    let entries = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    let (mut read, mut write) = (0u64, 0u64);
    for e in entries.into_iter().flatten() {
        let v = e.value.unwrap_or(0);
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read = read.saturating_add(v),
            Some("write") => write = write.saturating_add(v),
            _ => {}
        }
    }
    (read, write)
}

fn sample(s: ContainerStatsResponse) -> StatsSample {
    let (block_read, block_write) = block_io(&s);
    let (net_rx, net_tx) = s
        .networks
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(rx, tx), (_, n)| {
            (
                rx.saturating_add(n.rx_bytes.unwrap_or(0)),
                tx.saturating_add(n.tx_bytes.unwrap_or(0)),
            )
        });
    let cpu = s.cpu_stats.unwrap_or_default();
    let precpu = s.precpu_stats.unwrap_or_default();
    let usage = cpu.cpu_usage.unwrap_or_default();
    let mem = s.memory_stats.unwrap_or_default();
    StatsSample {
        cpu_total: usage.total_usage.unwrap_or(0),
        precpu_total: precpu.cpu_usage.and_then(|u| u.total_usage).unwrap_or(0),
        system_cpu: cpu.system_cpu_usage.unwrap_or(0),
        presystem_cpu: precpu.system_cpu_usage.unwrap_or(0),
        online_cpus: cpu.online_cpus.unwrap_or(0),
        percpu_count: usage
            .percpu_usage
            .map_or(0, |v| u32::try_from(v.len()).unwrap_or(u32::MAX)),
        memory_usage: mem.usage.unwrap_or(0),
        memory_limit: mem.limit.unwrap_or(0),
        memory_stats: mem.stats.unwrap_or_default().into_iter().collect(),
        net_rx,
        net_tx,
        block_read,
        block_write,
        pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
    }
}

impl DockerEngine {
    /// Without `stream`, the daemon takes two samples a second apart so that the CPU delta
    /// is filled (`one-shot` would skip that).
    pub(super) fn stats_stream<'a>(&'a self, id: &str, stream: bool) -> StatsSamples<'a> {
        let options = StatsOptionsBuilder::new()
            .stream(stream)
            .one_shot(false)
            .build();
        let id = id.to_string();
        let socket = self.socket.clone();
        let docker = self.docker.clone().with_timeout(NO_TIMEOUT);
        let samples = docker.stats(&id, Some(options));
        Box::pin(samples.map(move |item| {
            item.map(sample)
                .map_err(|e| map_error(e, Subject::Container(&id), &socket))
        }))
    }
}
