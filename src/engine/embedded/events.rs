//! The embedded engine's event log: one JSON line per container event (`create`, `start`,
//! `die`, `health_status: healthy`, ...), appended by the CLI and the shims with a single
//! `write` on an `O_APPEND` file so lines from several writers never interleave. `events`
//! and the health gates read it back from a point in time and follow it.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::record::ContainerRecord;
use super::state::StateRoot;
use crate::engine::{EngineEvent, EventKind};

/// The log keeps this many bytes before it is cut back to its newer half.
const MAX_LOG: u64 = 8 << 20;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventLine {
    pub time_nanos: i64,
    pub kind: String,
    pub action: String,
    pub id: String,
    pub attributes: BTreeMap<String, String>,
}

impl EventLine {
    pub fn into_event(self) -> EngineEvent {
        let kind = match self.kind.as_str() {
            "container" => EventKind::Container,
            "network" => EventKind::Network,
            "volume" => EventKind::Volume,
            "image" => EventKind::Image,
            other => EventKind::Other(other.to_string()),
        };
        EngineEvent {
            time_nanos: self.time_nanos,
            kind,
            action: self.action,
            id: self.id,
            attributes: self.attributes,
        }
    }
}

pub fn log_path(state: &StateRoot) -> PathBuf {
    state.root().join("events.log")
}

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Appends a container event with the container's labels, name and image as attributes.
pub fn container_event(
    state: &StateRoot,
    rec: &ContainerRecord,
    action: &str,
    extra: &[(&str, String)],
) {
    let mut attributes = rec.spec.labels.clone();
    attributes.insert("name".into(), rec.name.clone());
    attributes.insert("image".into(), rec.spec.image.clone());
    for (k, v) in extra {
        attributes.insert((*k).to_string(), v.clone());
    }
    append(
        &log_path(state),
        &EventLine {
            time_nanos: now_nanos(),
            kind: "container".into(),
            action: action.into(),
            id: rec.id.clone(),
            attributes,
        },
    );
}

/// Appends one line. Failing to log an event never fails the operation; it is traced.
pub fn append(path: &Path, line: &EventLine) {
    let result = (|| -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)?;
        f.write_all(&bytes)?;
        if f.metadata()?.len() > MAX_LOG {
            trim(path)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        tracing::warn!("cannot append to the event log {}: {e}", path.display());
    }
}

/// Keeps the newer half of the log (under the store's lock of the log file itself).
fn trim(path: &Path) -> std::io::Result<()> {
    let _lock = super::state::FileLock::acquire(&path.with_extension("lock"))?;
    let data = std::fs::read(path)?;
    if (data.len() as u64) <= MAX_LOG {
        return Ok(());
    }
    let half = data.len() / 2;
    let cut = data[half..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(data.len(), |p| half + p + 1);
    super::state::write_atomic(path, &data[cut..])
}

/// Reads the lines from byte `offset` on; returns them with the offset after the last
/// complete line (a line being written is left for the next read). When the file shrank
/// (trimmed), reading starts over from 0.
pub fn read_from(path: &Path, offset: u64) -> (Vec<EventLine>, u64) {
    let Ok(mut f) = std::fs::File::open(path) else {
        return (Vec::new(), 0);
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    super::follow::json_lines(&mut f, if len < offset { 0 } else { offset })
}

/// The events matching `filter` from `filter.since` (or now) on, following the log until
/// `filter.until` or until the stream is dropped.
pub fn follow(
    state: StateRoot,
    filter: crate::engine::EventFilter,
) -> crate::engine::EngineEvents<'static> {
    super::follow::thread_stream(move |tx| {
        let path = log_path(&state);
        let since = filter
            .since
            .map_or_else(now_nanos, |s| s.saturating_mul(1_000_000_000));
        let until = filter.until.map(|u| u.saturating_mul(1_000_000_000));
        let mut offset = 0;
        loop {
            let (lines, next) = read_from(&path, offset);
            offset = next;
            for l in lines {
                if l.time_nanos < since {
                    continue;
                }
                if until.is_some_and(|u| l.time_nanos >= u) {
                    return;
                }
                let ev = l.into_event();
                if !filter.kinds.is_empty() && !filter.kinds.contains(&ev.kind) {
                    continue;
                }
                let labels_ok = super::follow::labels_match(&ev.attributes, &filter.labels);
                if labels_ok && tx.blocking_send(Ok(ev)).is_err() {
                    return;
                }
            }
            if tx.is_closed() || until.is_some_and(|u| now_nanos() >= u) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    })
}
