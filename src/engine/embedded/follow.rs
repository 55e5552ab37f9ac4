//! What the embedded engine's readers share: the `key=value` / `key` label filter, JSON
//! lines read from a byte offset of a growing file, and a blocking producer thread turned
//! into the async stream the engine trait returns (logs and events are files followed by
//! polling).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;

use futures_util::Stream;

use crate::engine::{EngineResult, Labels};

/// Whether `labels` carry every `key=value` (or bare `key`) of `filter`.
pub fn labels_match(labels: &Labels, filter: &[String]) -> bool {
    filter.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(f.as_str()),
    })
}

/// The complete JSON lines of `f` from byte `offset` on, with the offset after the last
/// complete one (a line being written is left for the next read). Lines that do not parse
/// are skipped.
pub fn json_lines<T: serde::de::DeserializeOwned>(f: &mut File, offset: u64) -> (Vec<T>, u64) {
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(offset)).is_err() || f.read_to_end(&mut buf).is_err() {
        return (Vec::new(), offset);
    }
    let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let items = buf[..end]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    (items, offset + end as u64)
}

/// The sending side a producer thread writes to; a failed send means the stream was dropped.
pub type Sender<T> = tokio::sync::mpsc::Sender<EngineResult<T>>;

/// Runs `produce` on its own thread and returns what it sends as a stream.
pub fn thread_stream<T: Send + 'static>(
    produce: impl FnOnce(Sender<T>) + Send + 'static,
) -> Pin<Box<dyn Stream<Item = EngineResult<T>> + Send + 'static>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<EngineResult<T>>(256);
    std::thread::spawn(move || produce(tx));
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}
