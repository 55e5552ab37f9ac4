//! Pulling images with Compose's progress: a line per service (` a Pulling`, ` a Pulled`,
//! ` a Error <why>`), and under it a line per layer step as the engine reports it
//! (` 4e2c508896db Downloading [=====>   ]  1.2MB/3.4MB`), in the plain, JSON and quiet modes
//! of `--progress` (the TTY block shows the service lines only).
//!
//! Used by `pull` and by the pull phase of `up`/`create`/`run`, which pulls what the
//! services' `pull_policy` requires before anything is created, as Compose does
//! ([`pull_for_up`]).

use std::process::ExitCode;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::engine::{Backend, Engine, EngineError, LayerPhase, LayerProgress};
use crate::reconcile::container_spec as cs;
use crate::reconcile::executor::{progress_mode, ProgressMode};
use crate::reconcile::pull_policy::{must_pull, PullPolicy};
use crate::spec::model::Project;

/// One image to pull, shown under `id` (the service's name).
#[derive(Clone, Debug)]
pub struct PullTarget {
    pub id: String,
    pub image: String,
    /// A failure is only a warning: the image can be built instead.
    pub buildable: bool,
}

/// Where the progress lines go.
#[derive(Clone, Copy, Debug)]
pub struct PullLines {
    pub mode: ProgressMode,
    /// Layer lines too (not with `--quiet-pull`).
    pub layers: bool,
}

impl PullLines {
    /// The lines of the current `--progress` mode; `quiet`: none at all.
    pub fn current(quiet: bool, layers: bool) -> PullLines {
        PullLines {
            mode: if quiet {
                ProgressMode::Quiet
            } else {
                progress_mode()
            },
            layers,
        }
    }

    /// A service-level line: `text` (`Pulling`, `Error`...) and `status` (details, maybe
    /// empty).
    pub fn service(&self, id: &str, text: &str, status: &str) {
        match self.mode {
            ProgressMode::Plain => eprintln!(" {id} {text} {status}"),
            ProgressMode::Json => eprintln!("{}", json_line(id, "", text, status, 0, 0, 0)),
            ProgressMode::Tty => crate::reconcile::tty_progress::update_id(id, text),
            ProgressMode::Quiet => {}
        }
    }

    /// A layer's step under service `parent`.
    pub fn layer(&self, parent: &str, l: &LayerProgress) {
        if !self.layers {
            return;
        }
        let bar = progress_text(l.current, l.total, progress_width());
        let (current, total, percent) = layer_counts(l);
        match self.mode {
            ProgressMode::Plain => eprintln!(" {} {} {bar}", l.layer, l.phase.text()),
            ProgressMode::Json => eprintln!(
                "{}",
                json_line(
                    &l.layer,
                    parent,
                    l.phase.text(),
                    &bar,
                    current,
                    total,
                    percent
                )
            ),
            ProgressMode::Tty | ProgressMode::Quiet => {}
        }
    }
}

/// The counts Compose keeps from a layer step: `(current, total, percent)`.
fn layer_counts(l: &LayerProgress) -> (u64, u64, u64) {
    match l.phase {
        LayerPhase::Downloading | LayerPhase::Extracting | LayerPhase::VerifyingChecksum => {
            let percent = (l.current * 100).checked_div(l.total).unwrap_or(0);
            (l.current, l.total, percent)
        }
        LayerPhase::DownloadComplete | LayerPhase::AlreadyExists | LayerPhase::PullComplete => {
            (0, 0, 100)
        }
        _ => (0, 0, 0),
    }
}

/// Compose's JSON progress line (empty and zero fields left out, in its order).
fn json_line(
    id: &str,
    parent: &str,
    text: &str,
    status: &str,
    current: u64,
    total: u64,
    percent: u64,
) -> String {
    let mut fields = Vec::new();
    for (k, v) in [
        ("id", id),
        ("parent_id", parent),
        ("text", text),
        ("status", status),
    ] {
        if !v.is_empty() {
            fields.push(format!("\"{k}\":{}", go_json_string(v)));
        }
    }
    for (k, v) in [("current", current), ("total", total), ("percent", percent)] {
        if v != 0 {
            fields.push(format!("\"{k}\":{v}"));
        }
    }
    format!("{{{}}}", fields.join(","))
}

/// A JSON string as Go's `encoding/json` writes it: `<`, `>` and `&` escaped too.
fn go_json_string(v: &str) -> String {
    serde_json::Value::from(v)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The width Docker's progress text assumes: the terminal on standard input, else 200.
fn progress_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct; the return value is checked.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0 {
        return usize::from(ws.ws_col);
    }
    200
}

/// Docker's progress text (`JSONProgress.String`): a 50-step bar when `width` is over 110,
/// then `current/total` in decimal units; only the count when there is no total; nothing
/// when there is neither.
pub fn progress_text(current: u64, total: u64, width: usize) -> String {
    if current == 0 && total == 0 {
        return String::new();
    }
    if total == 0 {
        return format!("{:>8}", human_size(current));
    }
    let steps = ((current as f64 / total as f64 * 100.0) as u64 / 2).min(50) as usize;
    let bar = if width > 110 {
        format!("[{}>{}] ", "=".repeat(steps), " ".repeat(50 - steps))
    } else {
        String::new()
    };
    let numbers = if current > total {
        format!("{:>8}", human_size(current))
    } else {
        format!("{:>8}/{}", human_size(current), human_size(total))
    };
    bar + &numbers
}

/// go-units' `HumanSize` (four significant digits, decimal units).
pub fn human_size(bytes: u64) -> String {
    crate::human::size4(bytes as f64)
}

/// Pulls `targets`, at most `parallel` at once (0: no limit), with their progress lines.
/// Returns each target's failure; after a failure that is not a warning (the target cannot
/// be built) the other pulls are abandoned and the result is cut short.
pub async fn pull_targets(
    engine: &Backend,
    targets: &[PullTarget],
    lines: PullLines,
    parallel: usize,
    stop_on_error: bool,
) -> Vec<(usize, EngineError)> {
    let permits = tokio::sync::Semaphore::new(if parallel == 0 {
        tokio::sync::Semaphore::MAX_PERMITS
    } else {
        parallel
    });
    let mut pulls = FuturesUnordered::new();
    for (i, t) in targets.iter().enumerate() {
        let permits = &permits;
        pulls.push(async move {
            let _permit = permits.acquire().await;
            lines.service(&t.id, "Pulling", "");
            let report = |l: LayerProgress| lines.layer(&t.id, &l);
            let r = engine.pull_image(&t.image, &report).await;
            match &r {
                Ok(()) => lines.service(&t.id, "Pulled", ""),
                Err(e) if t.buildable => lines.service(&t.id, "Warning", &e.to_string()),
                Err(e) => lines.service(&t.id, "Error", &e.to_string()),
            }
            (i, r)
        });
    }
    let mut failures = Vec::new();
    while let Some((i, r)) = pulls.next().await {
        if let Err(e) = r {
            let fatal = !targets[i].buildable;
            failures.push((i, e));
            if fatal && stop_on_error {
                // Dropping the set interrupts the pulls still running.
                break;
            }
        }
    }
    failures
}

/// The pull phase of `up`, `create` and `run`: the `selected` services whose policy
/// (`override_policy` from `--pull` replaces theirs) requires a pull, pulled in parallel.
/// A failure is a warning for an image that a service can build; any other ends the
/// command (exit 1) with the engine's message.
pub async fn pull_for_up(
    engine: &Backend,
    project: &Project,
    selected: &[String],
    override_policy: Option<&str>,
    quiet_pull: bool,
    parallel: usize,
) -> Result<(), ExitCode> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut wanted = Vec::new();
    for name in selected {
        let Some(svc) = project.services.get(name) else {
            continue;
        };
        if svc.image.is_empty() {
            continue;
        }
        let policy =
            PullPolicy::parse(override_policy.unwrap_or(&svc.pull_policy)).map_err(|e| {
                eprintln!("{e}");
                ExitCode::from(1)
            })?;
        wanted.push((name, svc, policy));
    }
    // The local images the policies look at, each once and all at once (a converged
    // project's `up` pays one round trip here, not one per service).
    let mut lookups: Vec<(&str, bool)> = Vec::new();
    for (_, svc, policy) in &wanted {
        let refresh = matches!(policy, PullPolicy::Refresh(_));
        if matches!(policy, PullPolicy::Missing | PullPolicy::Refresh(_))
            && !lookups.contains(&(svc.image.as_str(), refresh))
        {
            lookups.push((svc.image.as_str(), refresh));
        }
    }
    let found = futures_util::future::try_join_all(lookups.iter().map(|&(image, refresh)| {
        async move {
            // Only a refresh window needs the tag time; presence is an id lookup.
            if refresh {
                engine.inspect_image(image).await
            } else {
                Ok(engine
                    .image_id(image)
                    .await?
                    .map(|id| crate::engine::ImageInfo {
                        id,
                        ..Default::default()
                    }))
            }
        }
    }))
    .await
    .map_err(super::targets::engine_error)?;
    let mut targets = Vec::new();
    for (name, svc, policy) in wanted {
        let refresh = matches!(policy, PullPolicy::Refresh(_));
        let local = lookups
            .iter()
            .position(|&l| l == (svc.image.as_str(), refresh))
            .and_then(|i| found[i].as_ref());
        if must_pull(&svc.image, policy, local, now) {
            // Compose: buildable when this service or another with the same image has a
            // `build:` section.
            let buildable = project
                .services
                .values()
                .any(|s| s.build.is_some() && cs::service_image(project, s) == svc.image);
            targets.push(PullTarget {
                id: name.clone(),
                image: svc.image.clone(),
                buildable,
            });
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let lines = PullLines::current(false, !quiet_pull);
    let failures = pull_targets(engine, &targets, lines, parallel, true).await;
    match failures.into_iter().find(|(i, _)| !targets[*i].buildable) {
        Some((_, e)) => {
            crate::reconcile::tty_progress::freeze();
            eprintln!("{e}");
            Err(ExitCode::from(1))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(266), "266B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(32_768), "32.77kB");
        assert_eq!(human_size(3_623_000), "3.623MB");
        assert_eq!(human_size(999_960), "1000kB");
        assert_eq!(human_size(1_500_000_000), "1.5GB");
        assert_eq!(human_size(120_500), "120.5kB");
    }

    #[test]
    fn progress_text_as_docker_writes_it() {
        assert_eq!(progress_text(0, 0, 200), "");
        assert_eq!(
            progress_text(266, 266, 200),
            "[==================================================>]     266B/266B"
        );
        assert_eq!(
            progress_text(32_768, 3_623_000, 200),
            format!("[>{}]  32.77kB/3.623MB", " ".repeat(50))
        );
        assert_eq!(
            progress_text(1_811_500, 3_623_000, 200),
            format!("[{}>{}]  1.812MB/3.623MB", "=".repeat(25), " ".repeat(25))
        );
        // A narrow terminal: no bar; no total: the count alone; past the total: no total.
        assert_eq!(progress_text(266, 266, 80), "    266B/266B");
        assert_eq!(progress_text(5000, 0, 200), "     5kB");
        assert_eq!(progress_text(300, 266, 80), "    300B");
    }

    #[test]
    fn json_lines_leave_out_empty_fields() {
        assert_eq!(
            json_line("a", "", "Pulling", "", 0, 0, 0),
            r#"{"id":"a","text":"Pulling"}"#
        );
        assert_eq!(
            json_line("bb65305ae1d7", "a", "Download complete", "", 0, 0, 100),
            r#"{"id":"bb65305ae1d7","parent_id":"a","text":"Download complete","percent":100}"#
        );
        assert_eq!(
            json_line("x", "a", "Downloading", "[=>]", 1, 2, 50),
            r#"{"id":"x","parent_id":"a","text":"Downloading","status":"[=\u003e]","current":1,"total":2,"percent":50}"#
        );
        let l = LayerProgress {
            layer: "bb65305ae1d7".into(),
            phase: LayerPhase::Downloading,
            current: 133,
            total: 266,
        };
        assert_eq!(layer_counts(&l), (133, 266, 50));
    }
}
