//! `stats` on the embedded engine: the counters of a running container, read from its
//! cgroup (`/rcompose/<id>` in every v1 hierarchy, or the v2 tree), its network namespace
//! (`/proc/<pid>/net/dev`) and the host's `/proc/stat`, in Docker's units so that the CLI
//! computes the same percentages for both engines. A reading is a [`StatsSample`] whose
//! `pre*` fields [`against`] fills from the previous reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::StatsSample;

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// `key value` lines (memory.stat, cpu.stat).
fn key_values(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// Host CPU time in nanoseconds, from the first line of /proc/stat (Docker's `system_cpu_usage`).
pub fn system_cpu(proc_stat: &str) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    proc_stat
        .lines()
        .next()
        .filter(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
        })
        .unwrap_or(0)
        .saturating_mul(1_000_000_000 / hz)
}

/// Received and sent bytes of every interface but `lo` (/proc/<pid>/net/dev).
pub fn net_bytes(net_dev: &str) -> (u64, u64) {
    net_dev
        .lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            if name.trim() == "lo" {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            Some((*f.first()?, *f.get(8)?))
        })
        .fold((0, 0), |(r, t), (a, b)| (r + a, t + b))
}

/// Bytes read and written, from v1 `blkio.throttle.io_service_bytes` or v2 `io.stat`.
fn block_bytes(v1: Option<String>, v2: Option<String>) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    if let Some(t) = v1 {
        for l in t.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() == 3 {
                let n: u64 = f[2].parse().unwrap_or(0);
                match f[1] {
                    "Read" => r += n,
                    "Write" => w += n,
                    _ => {}
                }
            }
        }
    } else if let Some(t) = v2 {
        for l in t.lines() {
            for kv in l.split_whitespace().skip(1) {
                match kv.split_once('=') {
                    Some(("rbytes", n)) => r += n.parse().unwrap_or(0),
                    Some(("wbytes", n)) => w += n.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
    }
    (r, w)
}

/// Reads the counters of container `id` whose init is `pid` (the `pre*` fields are left
/// for [`against`]).
pub fn read(id: &str, pid: i32) -> StatsSample {
    let base = Path::new("/sys/fs/cgroup");
    let rel = format!("rcompose/{id}");
    let v1 = |ctl: &str| -> PathBuf { base.join(ctl).join(&rel) };
    let v2 = base.join(&rel);
    let is_v1 = v1("memory").is_dir();
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    let mut c = StatsSample {
        online_cpus: cpus,
        percpu_count: cpus,
        system_cpu: system_cpu(&std::fs::read_to_string("/proc/stat").unwrap_or_default()),
        ..Default::default()
    };
    if is_v1 {
        c.cpu_total = read_u64(&v1("cpuacct").join("cpuacct.usage"))
            .or_else(|| read_u64(&v1("cpu,cpuacct").join("cpuacct.usage")))
            .unwrap_or(0);
        c.memory_usage = read_u64(&v1("memory").join("memory.usage_in_bytes")).unwrap_or(0);
        c.memory_limit = read_u64(&v1("memory").join("memory.limit_in_bytes")).unwrap_or(0);
        c.memory_stats = key_values(
            &std::fs::read_to_string(v1("memory").join("memory.stat")).unwrap_or_default(),
        );
        c.pids = read_u64(&v1("pids").join("pids.current")).unwrap_or(0);
        let (r, w) = block_bytes(
            std::fs::read_to_string(v1("blkio").join("blkio.throttle.io_service_bytes")).ok(),
            None,
        );
        (c.block_read, c.block_write) = (r, w);
    } else {
        let cpu = key_values(&std::fs::read_to_string(v2.join("cpu.stat")).unwrap_or_default());
        c.cpu_total = cpu.get("usage_usec").copied().unwrap_or(0) * 1000;
        c.memory_usage = read_u64(&v2.join("memory.current")).unwrap_or(0);
        c.memory_limit = read_u64(&v2.join("memory.max")).unwrap_or(0);
        c.memory_stats =
            key_values(&std::fs::read_to_string(v2.join("memory.stat")).unwrap_or_default());
        c.pids = read_u64(&v2.join("pids.current")).unwrap_or(0);
        let (r, w) = block_bytes(None, std::fs::read_to_string(v2.join("io.stat")).ok());
        (c.block_read, c.block_write) = (r, w);
    }
    // No limit reads as a huge number (v1) or is missing ("max", v2): Docker shows the
    // host's memory then.
    let host = host_memory();
    if c.memory_limit == 0 || c.memory_limit > host {
        c.memory_limit = host;
    }
    let (rx, tx) =
        net_bytes(&std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default());
    (c.net_rx, c.net_tx) = (rx, tx);
    c
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(u64::MAX)
}

/// The reading `now` with the CPU counters of the previous one, for the deltas.
pub fn against(mut now: StatsSample, before: &StatsSample) -> StatsSample {
    now.precpu_total = before.cpu_total;
    now.presystem_cpu = before.system_cpu;
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        let stat = "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 1 2 3\n";
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        assert_eq!(system_cpu(stat), 1150 * (1_000_000_000 / hz));
        let dev = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 254 3 0 0 0 0 0 0 90 1 0 0 0 0 0 0\n";
        assert_eq!(net_bytes(dev), (254, 90));
        let v1 = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\nTotal 4608\n";
        assert_eq!(block_bytes(Some(v1.into()), None), (4096, 512));
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n";
        assert_eq!(block_bytes(None, Some(v2.into())), (100, 20));
        assert_eq!(key_values("total_inactive_file 5\ncache 7\n")["cache"], 7);
    }
}
