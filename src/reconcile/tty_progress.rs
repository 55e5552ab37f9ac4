//! Compose's `tty` progress mode: one block on stderr, redrawn in place at every event,
//! a line per object with its latest status and how long it took:
//!
//! ```text
//! [+] Running 3/3
//!  ✔ Network p_default  Created     0.1s
//!  ✔ Container p-db-1   Healthy     5.6s
//!  ⠿ Container p-web-1  Starting    0.2s
//! ```
//!
//! Anything else written to the terminal while a block is on screen would be overwritten by
//! the next redraw, so whoever writes (a warning, attached logs) first calls [`freeze`]: the
//! block stays as it is and later events start a new one.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Statuses after which nothing more is expected for the object.
const DONE: &[&str] = &[
    "Created",
    "Started",
    "Healthy",
    "Exited",
    "Stopped",
    "Removed",
    "Running",
    "Recreated",
    "Pulled",
    "Built",
    "Killed",
    "Paused",
    "Unpaused",
    "Restarted",
    "Copied",
    "Skipped",
];
const FAILED: &[&str] = &["Error", "Errored", "Failed"];

struct Entry {
    id: String,
    status: String,
    since: Instant,
    ended: Option<Instant>,
    failed: bool,
}

#[derive(Default)]
struct View {
    entries: Vec<Entry>,
    /// Lines of the block on screen (0: nothing drawn yet).
    drawn: usize,
}

static VIEW: Mutex<Option<View>> = Mutex::new(None);

/// Records that `kind name` reached `status` and redraws the block.
pub fn update(kind: &str, name: &str, status: &str) {
    update_id(&format!("{kind} {name}"), status);
}

/// Records that the object shown as `id` (a service being pulled: its name alone) reached
/// `status` and redraws the block.
pub fn update_id(id: &str, status: &str) {
    let mut guard = VIEW.lock().unwrap_or_else(|e| e.into_inner());
    let view = guard.get_or_insert_with(View::default);
    let id = id.to_string();
    let now = Instant::now();
    let i = match view.entries.iter().position(|e| e.id == id) {
        Some(i) => i,
        None => {
            view.entries.push(Entry {
                id,
                status: String::new(),
                since: now,
                ended: None,
                failed: false,
            });
            view.entries.len() - 1
        }
    };
    let e = &mut view.entries[i];
    if e.ended.is_some() {
        // A new phase of the same object (Stopping after Started): time it afresh.
        e.since = now;
    }
    e.status = status.to_string();
    e.failed = FAILED.contains(&status);
    // `Skipped - Image is already present locally` and a pull's `Warning` end it too.
    let done = DONE.contains(&status) || status.starts_with("Skipped") || status == "Warning";
    e.ended = (e.failed || done).then_some(now);
    let text = render(view, now);
    let mut err = std::io::stderr().lock();
    // Back to the top of the block, then every line cleared and rewritten.
    if view.drawn > 0 {
        let _ = write!(err, "\x1b[{}A", view.drawn);
    }
    for line in text.lines() {
        let _ = writeln!(err, "\x1b[2K{line}");
    }
    let _ = err.flush();
    view.drawn = text.lines().count();
}

/// Leaves the block on screen as it is; the next event starts a new block below whatever
/// is written in between.
pub fn freeze() {
    let mut guard = VIEW.lock().unwrap_or_else(|e| e.into_inner());
    *guard = None;
}

/// The block's text at `now` (pure, for tests).
fn render(view: &View, now: Instant) -> String {
    let done = view.entries.iter().filter(|e| e.ended.is_some()).count();
    let mut out = format!("[+] Running {done}/{}\n", view.entries.len());
    let id_width = view
        .entries
        .iter()
        .map(|e| e.id.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = view
        .entries
        .iter()
        .map(|e| e.status.len())
        .max()
        .unwrap_or(0);
    for e in &view.entries {
        let icon = match (e.failed, e.ended.is_some()) {
            (true, _) => "\x1b[31m✘\x1b[0m",
            (false, true) => "\x1b[32m✔\x1b[0m",
            (false, false) => "\x1b[34m⠿\x1b[0m",
        };
        let took = e.ended.unwrap_or(now).duration_since(e.since).as_secs_f64();
        out.push_str(&format!(
            " {icon} {:<id_width$}  {:<status_width$}  {took:.1}s\n",
            e.id, e.status
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn block_counts_finished_objects_and_aligns_columns() {
        let t0 = Instant::now();
        let view = View {
            entries: vec![
                Entry {
                    id: "Network p_default".into(),
                    status: "Created".into(),
                    since: t0,
                    ended: Some(t0 + Duration::from_millis(100)),
                    failed: false,
                },
                Entry {
                    id: "Container p-web-1".into(),
                    status: "Starting".into(),
                    since: t0,
                    ended: None,
                    failed: false,
                },
                Entry {
                    id: "Container p-x-1".into(),
                    status: "Error".into(),
                    since: t0,
                    ended: Some(t0 + Duration::from_millis(300)),
                    failed: true,
                },
            ],
            drawn: 0,
        };
        let text = render(&view, t0 + Duration::from_millis(200));
        assert_eq!(
            text,
            "[+] Running 2/3\n \
             \x1b[32m✔\x1b[0m Network p_default  Created   0.1s\n \
             \x1b[34m⠿\x1b[0m Container p-web-1  Starting  0.2s\n \
             \x1b[31m✘\x1b[0m Container p-x-1    Error     0.3s\n"
        );
    }
}
