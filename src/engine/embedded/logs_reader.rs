//! Reading a container's json-file log for `logs`: every kept file oldest first, `since`,
//! `until` and `tail` applied, then (with `follow`) the live file polled for new lines until
//! the container has stopped for good, across rotations.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use super::containers as ct;
use super::record::{parse_rfc3339, ContainerPaths, RunState};
use super::shim::logs::{files_oldest_first, Entry};
use super::state::StateRoot;
use crate::engine::{EngineError, EngineResult, LogChunk, LogChunks, LogOptions, StdStream};

const POLL: Duration = Duration::from_millis(100);

/// The log as a stream of chunks, one per entry.
pub fn stream(state: StateRoot, id: String, opts: LogOptions) -> LogChunks<'static> {
    super::follow::thread_stream(move |tx| {
        if let Err(e) = produce(&state, &id, &opts, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    })
}

type Tx = super::follow::Sender<LogChunk>;

fn chunk(e: &Entry, opts: &LogOptions) -> Option<LogChunk> {
    let t = parse_rfc3339(&e.time).unwrap_or(0);
    if opts
        .since
        .is_some_and(|s| t < i128::from(s) * 1_000_000_000)
    {
        return None;
    }
    if opts
        .until
        .is_some_and(|u| t >= i128::from(u) * 1_000_000_000)
    {
        return None;
    }
    let stream = if e.stream == "stderr" {
        StdStream::Stderr
    } else {
        StdStream::Stdout
    };
    let mut bytes = Vec::with_capacity(e.log.len() + 32);
    if opts.timestamps {
        bytes.extend_from_slice(e.time.as_bytes());
        bytes.push(b' ');
    }
    bytes.extend_from_slice(e.log.as_bytes());
    Some(LogChunk { stream, bytes })
}

fn produce(state: &StateRoot, id: &str, opts: &LogOptions, tx: &Tx) -> EngineResult<()> {
    let (rec, _) = ct::find(state, id)?;
    let paths = ContainerPaths::new(state, &rec.id);
    let log = paths.log();
    // What is there now: every file, oldest first.
    let files = files_oldest_first(&log);
    let mut chunks: Vec<LogChunk> = Vec::new();
    let mut live: Option<(File, u64, u64)> = None;
    for (i, p) in files.iter().enumerate() {
        let Ok(mut f) = File::open(p) else {
            continue;
        };
        let (entries, off) = super::follow::json_lines::<Entry>(&mut f, 0);
        chunks.extend(entries.iter().filter_map(|e| chunk(e, opts)));
        if i + 1 == files.len() {
            let ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
            live = Some((f, off, ino));
        }
    }
    if let Some(n) = opts.tail {
        let n = n as usize;
        if chunks.len() > n {
            chunks.drain(..chunks.len() - n);
        }
    }
    for c in chunks {
        if tx.blocking_send(Ok(c)).is_err() {
            return Ok(());
        }
    }
    if !opts.follow {
        return Ok(());
    }
    let mut idle_after_stop = false;
    loop {
        let mut got = false;
        if let Some((f, off, ino)) = live.as_mut() {
            let (entries, next) = super::follow::json_lines::<Entry>(f, *off);
            *off = next;
            for e in &entries {
                got = true;
                if let Some(c) = chunk(e, opts) {
                    if tx.blocking_send(Ok(c)).is_err() {
                        return Ok(());
                    }
                }
            }
            // Rotated: the old file is read to its end above; go on with the new one.
            if !got {
                if let Ok(m) = std::fs::metadata(&log) {
                    if m.ino() != *ino {
                        if let Ok(nf) = File::open(&log) {
                            let nino = nf.metadata().map(|m| m.ino()).unwrap_or(0);
                            live = Some((nf, 0, nino));
                            continue;
                        }
                    }
                }
            }
        } else if let Ok(f) = File::open(&log) {
            let ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
            live = Some((f, 0, ino));
            continue;
        }
        if tx.is_closed() {
            return Ok(());
        }
        if !got {
            let running = match ct::find(state, &rec.id) {
                Ok((_, s)) => matches!(
                    s.state,
                    RunState::Running | RunState::Paused | RunState::Restarting
                ),
                Err(EngineError::NotFound { .. }) => false,
                Err(e) => return Err(e),
            };
            if !running {
                // One more read after the stop, for what the shim wrote last.
                if idle_after_stop {
                    return Ok(());
                }
                idle_after_stop = true;
            } else {
                idle_after_stop = false;
            }
            std::thread::sleep(POLL);
        }
    }
}
