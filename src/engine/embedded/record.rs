//! What the state directory says about one container: the record written at create time
//! (what to run) and the status the shim keeps up to date (what happened), plus the check
//! that tells a live container from a record whose supervisor is gone.

use std::path::{Path, PathBuf};

use super::runtime_spec::ImageRuntimeConfig;
use super::state::{read_json, write_json_as, Durability, StateRoot};
use crate::engine::ContainerSpec;

/// Written once by `create` (`record.json`); renamed containers get a new record.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
    pub spec: ContainerSpec,
    /// The image as the service named it, in full form.
    pub image_ref: String,
    pub image_id: String,
    pub image_config: ImageRuntimeConfig,
    /// Unpacked layer directories, top first.
    pub lowers: Vec<PathBuf>,
    pub hostname: String,
    /// Host paths of `spec.mounts`, in order (volumes resolved to their directories).
    #[serde(default)]
    pub mount_sources: Vec<PathBuf>,
    /// Its addresses on its networks (given at create, given back at remove).
    #[serde(default)]
    pub endpoints: Vec<super::network::store::Endpoint>,
}

/// The run state as Docker names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
}

/// Health as the shim last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

/// One healthcheck run (Docker keeps the last five).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct HealthState {
    pub status: HealthStatus,
    pub failing_streak: u64,
    pub log: Vec<HealthResult>,
}

/// Kept by the shim in `status.json`.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ContainerStatus {
    pub state: RunState,
    /// The container's init on the host, and its start time (field 22 of /proc/<pid>/stat)
    /// so that a recycled pid is never mistaken for it.
    pub pid: Option<i32>,
    pub pid_start: Option<u64>,
    pub shim_pid: Option<i32>,
    pub shim_start: Option<u64>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub restart_count: u32,
    /// Stopped by a user (`stop`, `down`): no restart policy applies.
    pub manually_stopped: bool,
    pub health: Option<HealthState>,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The published ports in force while it runs.
    #[serde(default)]
    pub ports: Vec<super::network::ports::PortRecord>,
}

/// Paths of one container's files.
#[derive(Clone, Debug)]
pub struct ContainerPaths {
    pub dir: PathBuf,
}

impl ContainerPaths {
    pub fn new(state: &StateRoot, id: &str) -> Self {
        ContainerPaths {
            dir: state.container_dir(id),
        }
    }
    pub fn record(&self) -> PathBuf {
        self.dir.join("record.json")
    }
    pub fn status(&self) -> PathBuf {
        self.dir.join("status.json")
    }
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("container-json.log")
    }
    pub fn stdout_fifo(&self) -> PathBuf {
        self.dir.join("stdout.fifo")
    }
    pub fn stderr_fifo(&self) -> PathBuf {
        self.dir.join("stderr.fifo")
    }
    pub fn shim_log(&self) -> PathBuf {
        self.dir.join("shim.log")
    }
}

/// The control socket of a container's shim (short path in the runtime directory).
pub fn socket_path(id: &str) -> Result<PathBuf, String> {
    Ok(crate::paths::runtime_dir("shims")?.join(format!("{}.sock", &id[..id.len().min(24)])))
}

pub fn read_record(path: &Path) -> std::io::Result<Option<ContainerRecord>> {
    read_json(path)
}

pub fn read_status(path: &Path) -> std::io::Result<ContainerStatus> {
    Ok(read_json(path)?.unwrap_or_default())
}

/// The run state is reconciled with the processes at recovery: atomic, not fsynced (see
/// [`Durability::Reconciled`]).
pub fn write_status(path: &Path, status: &ContainerStatus) -> std::io::Result<()> {
    write_json_as(path, status, Durability::Reconciled)
}

/// The start time of a process (field 22 of `/proc/<pid>/stat`), `None` when it is gone.
pub fn process_start(pid: i32) -> Option<u64> {
    stat_start(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The start time in the text of a `/proc/<pid>/stat`.
pub fn stat_start(text: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: skip past it.
    let rest = text.get(text.rfind(')')? + 2..)?;
    rest.split(' ').nth(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` is still alive (and not a zombie).
pub fn alive(pid: Option<i32>, start: Option<u64>) -> bool {
    let (Some(pid), Some(start)) = (pid, start) else {
        return false;
    };
    if process_start(pid) != Some(start) {
        return false;
    }
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| t.rfind(')').map(|i| t[i + 2..].chars().next()))
        .flatten();
    !matches!(state, Some('Z') | Some('X') | None)
}

/// The status with what the record says checked against the processes that exist: a
/// running container whose init is gone (host reboot, a kill -9 of the shim and then the
/// init) reads as exited; its exit code is unknown then, given as 255 like Docker after a
/// daemon crash.
pub fn effective_status(status: &ContainerStatus) -> ContainerStatus {
    let mut s = status.clone();
    let live_states = matches!(
        s.state,
        RunState::Running | RunState::Paused | RunState::Restarting
    );
    if live_states && !alive(s.pid, s.pid_start) && !alive(s.shim_pid, s.shim_start) {
        s.state = RunState::Exited;
        s.exit_code = Some(255);
        s.pid = None;
    }
    s
}

/// Now as RFC 3339 with nanoseconds in UTC (Docker's time format in inspect and logs).
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

/// `secs.nanos` since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses what [`rfc3339`] writes (and any `Z`-suffixed RFC 3339 time) to epoch nanos.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut tp = hms.split(':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    let mut nanos: i128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += i128::from(c.to_digit(10)?) * 10i128.pow(8 - i as u32);
    }
    let days = days_from_civil(y, m, d);
    Some(i128::from(days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000_000 + nanos)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let s = rfc3339(1_700_000_000, 123_456_789);
        assert_eq!(s, "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_rfc3339(&s), Some(1_700_000_000_123_456_789));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
    }

    #[test]
    fn this_process_is_alive_and_a_wrong_start_is_not() {
        let me = std::process::id() as i32;
        let start = process_start(me);
        assert!(start.is_some());
        assert!(alive(Some(me), start));
        assert!(!alive(Some(me), start.map(|s| s + 1)));
    }
}
