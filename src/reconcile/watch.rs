//! Follows the engine's container events of one project and wakes whoever waits on a
//! container (health gates, `up --wait`), so that a gate reacts the moment the engine reports
//! `health_status: healthy` or `die`, instead of polling inspect.
//!
//! The stream is opened with `since` one second in the past, so an event that happens
//! between a waiter's inspect and the stream being established is replayed, not lost. A
//! waiter subscribes before it inspects; after an event about its container (or a lagging
//! receiver, or the [`RECHECK`] interval as a guard against a missed wake-up) it inspects
//! again and decides from the inspected state: the event only says *when* to look.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::engine::{Engine, EngineError, EngineEvent, EventFilter, EventKind};

use super::container_spec::labels;

/// The longest a waiter sleeps without an event before it inspects again.
pub const RECHECK: Duration = Duration::from_secs(5);

/// The events of one project's containers, fanned out to waiters.
pub struct ProjectWatch {
    tx: broadcast::Sender<EngineEvent>,
}

impl Default for ProjectWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl ProjectWatch {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        ProjectWatch { tx }
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> Waiter {
        Waiter {
            rx: self.tx.subscribe(),
        }
    }

    /// Follows `engine`'s container events of `project` and hands them to the waiters.
    /// Runs until the stream fails or ends (the engine went away): that is returned as an
    /// error, because the waiters would otherwise only see [`RECHECK`]-paced inspects.
    pub async fn follow<E: Engine>(&self, engine: &E, project: &str) -> EngineError {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64 - 1);
        let filter = EventFilter {
            labels: vec![format!("{}={project}", labels::PROJECT)],
            kinds: vec![EventKind::Container],
            since: Some(since),
            until: None,
        };
        let mut events = engine.events(&filter);
        while let Some(item) = events.next().await {
            match item {
                // No receiver at the moment is fine: nobody waits.
                Ok(event) => drop(self.tx.send(event)),
                Err(e) => return e,
            }
        }
        EngineError::Unavailable {
            message: "the engine's event stream ended".into(),
        }
    }
}

/// One waiter's view of the project's events.
pub struct Waiter {
    rx: broadcast::Receiver<EngineEvent>,
}

impl Waiter {
    /// Returns when there is reason to look at container `id` again: an event about it, a
    /// lag (events were dropped, so anything may have happened), or [`RECHECK`] elapsed.
    pub async fn changed(&mut self, id: &str) {
        self.changed_any(|e| e.id == id).await
    }

    /// Like [`Waiter::changed`] for any event `relevant` accepts.
    pub async fn changed_any(&mut self, relevant: impl Fn(&EngineEvent) -> bool) {
        let wait = async {
            loop {
                match self.rx.recv().await {
                    Ok(e) if relevant(&e) => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    // The sender lives as long as the watch; closed means we are shutting
                    // down: the recheck timer still ends the wait.
                    Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                }
            }
        };
        let _ = tokio::time::timeout(RECHECK, wait).await;
    }
}
