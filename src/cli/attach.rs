//! Attached `up`: after the project is up, print the containers' output with Compose's
//! `name  | ` prefixes until they all exit, or until Ctrl+C (SIGINT) or SIGTERM, which stops
//! the containers gracefully (`stop_signal`, then SIGKILL after the grace period); a second
//! Ctrl+C kills them at once. `--abort-on-container-exit` / `--abort-on-container-failure`
//! stop everything when a container exits (with a non-zero code, for the latter);
//! `--exit-code-from SERVICE` makes that service's exit code the command's.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::stream::{select_all, StreamExt};

use crate::engine::{Backend, ContainerInfo, Engine, LogOptions, StdStream};
use crate::graph::DependencyGraph;
use crate::reconcile::container_spec::labels;
use crate::reconcile::planner::{number_of, service_of};
use crate::spec::model::Project;

/// Compose's colors for the prefixes, in order of the containers.
const COLORS: [&str; 10] = [
    "36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
];

/// How attached mode ends.
#[derive(Clone, Debug, Default)]
pub struct AttachOptions {
    /// Services whose output is printed (empty: all selected ones with `attach` not false).
    pub attach: Vec<String>,
    pub no_attach: Vec<String>,
    pub abort_on_exit: bool,
    pub abort_on_failure: bool,
    pub exit_code_from: Option<String>,
    pub no_log_prefix: bool,
    pub timestamps: bool,
    pub colors: bool,
    /// Only output after this time (Unix seconds): the start of this `up`.
    pub since: i64,
    /// `-t`: stop timeout instead of each service's grace period.
    pub stop_timeout: Option<Duration>,
}

enum Event {
    Line(usize, StdStream, Vec<u8>),
    /// The log stream of container `i` ended: it stopped.
    Ended(usize),
    Failed(usize, String),
}

/// Follows the output of the selected services' containers; returns the exit code.
pub async fn attach(
    engine: &Backend,
    project: &Project,
    graph: &DependencyGraph,
    selected: &[String],
    opts: &AttachOptions,
) -> ExitCode {
    // The containers' output goes below the progress block, which stays as it is.
    crate::reconcile::tty_progress::freeze();
    let filter = [format!("{}={}", labels::PROJECT, project.name)];
    let mut list: Vec<ContainerInfo> = match engine.list_containers(&filter).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    list.retain(|c| {
        let s = service_of(c);
        c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True")
            && selected.iter().any(|x| x == s)
    });
    list.sort_by(|a, b| (service_of(a), number_of(a)).cmp(&(service_of(b), number_of(b))));
    let shown = |c: &ContainerInfo| {
        let s = service_of(c);
        if !opts.attach.is_empty() {
            return opts.attach.iter().any(|a| a == s);
        }
        !opts.no_attach.iter().any(|a| a == s)
            && project.services.get(s).and_then(|svc| svc.attach) != Some(false)
    };
    // Compose's prefix: the name without `<project>-`, two spaces and a bar (not aligned).
    let names: Vec<&str> = list
        .iter()
        .map(|c| super::targets::short_name(c, &project.name))
        .collect();
    let prefixes: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if opts.no_log_prefix {
                String::new()
            } else if opts.colors {
                let code = COLORS[i % COLORS.len()];
                format!("\x1b[{code}m{n}  |\x1b[0m ")
            } else {
                format!("{n}  | ")
            }
        })
        .collect();
    let attached: Vec<&str> = list
        .iter()
        .zip(&names)
        .filter(|(c, _)| shown(c))
        .map(|(_, n)| *n)
        .collect();
    println!("Attaching to {}", attached.join(", "));
    let log_opts = LogOptions {
        follow: true,
        tail: None,
        since: Some(opts.since),
        until: None,
        timestamps: opts.timestamps,
    };
    // Every container's end is watched (for abort and exit codes); only shown ones print.
    let streams = list.iter().enumerate().map(|(i, c)| {
        let show = shown(c);
        engine
            .logs(&c.id, &log_opts)
            .filter_map(move |r| async move {
                match r {
                    Ok(chunk) if show => Some(Event::Line(i, chunk.stream, chunk.bytes)),
                    Ok(_) => None,
                    Err(e) => Some(Event::Failed(i, e.to_string())),
                }
            })
            .chain(futures_util::stream::once(async move { Event::Ended(i) }))
            .boxed()
    });
    let mut merged = select_all(streams);
    let mut printer = super::lines::LinePrinter::new(prefixes);
    let mut running = list.len();
    let mut exit_codes: Vec<Option<i64>> = vec![None; list.len()];
    let mut aborted_by: Option<usize> = None;
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot handle signals: {e}");
            return ExitCode::from(1);
        }
    };
    // The stop of every container, once asked (abort, Ctrl+C); output keeps flowing meanwhile.
    let mut stopping: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>> = None;
    let mut interrupted = false;
    while running > 0 {
        tokio::select! {
            ev = merged.next() => {
                let Some(ev) = ev else { break };
                match ev {
                    Event::Line(i, stream, bytes) => printer.chunk(i, stream, &bytes),
                    Event::Failed(i, e) => eprintln!("{}: {e}", list[i].name),
                    Event::Ended(i) => {
                        running -= 1;
                        let code = engine.wait_container(&list[i].id).await.unwrap_or(-1);
                        exit_codes[i] = Some(code);
                        if shown(&list[i]) {
                            println!("{} exited with code {code}", names[i]);
                        }
                        let abort = opts.abort_on_exit
                            || (opts.abort_on_failure && code != 0)
                            || opts.exit_code_from.as_deref() == Some(service_of(&list[i]));
                        if abort && aborted_by.is_none() && stopping.is_none() {
                            aborted_by = Some(i);
                            eprintln!("Aborting on container exit...");
                            stopping = Some(Box::pin(stop_all(
                                engine, project, graph, &list, opts.stop_timeout,
                            )));
                        }
                    }
                }
            }
            () = async { stopping.as_mut().expect("guarded").await }, if stopping.is_some() => {
                // Stopped: what is left of the streams ends by itself.
                stopping = Some(Box::pin(std::future::pending()));
            }
            () = signals.next() => {
                if interrupted {
                    // Second Ctrl+C: kill at once.
                    for c in &list {
                        let _ = engine.kill_container(&c.id, "SIGKILL").await;
                    }
                    return ExitCode::from(130);
                }
                interrupted = true;
                eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
                stopping = Some(Box::pin(stop_all(
                    engine, project, graph, &list, opts.stop_timeout,
                )));
            }
        }
    }
    printer.finish();
    if interrupted {
        return ExitCode::SUCCESS;
    }
    if let Some(service) = &opts.exit_code_from {
        let code = list
            .iter()
            .zip(&exit_codes)
            .find(|(c, _)| service_of(c) == service)
            .and_then(|(_, code)| *code)
            .unwrap_or(0);
        return ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1));
    }
    match aborted_by.and_then(|i| exit_codes[i]) {
        Some(code) if opts.abort_on_failure || opts.abort_on_exit => {
            ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
        }
        _ => ExitCode::SUCCESS,
    }
}

/// SIGINT and SIGTERM, taken over from the default (which would kill us mid-stop).
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves on the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Stops the containers, dependents first, each with its grace period.
async fn stop_all(
    engine: &Backend,
    project: &Project,
    graph: &DependencyGraph,
    list: &[ContainerInfo],
    timeout: Option<Duration>,
) {
    for service in graph.stop_order() {
        let stops = list.iter().filter(|c| service_of(c) == service).map(|c| {
            let grace = timeout.unwrap_or_else(|| {
                project
                    .services
                    .get(&service)
                    .and_then(|s| s.stop_grace_period)
                    .map_or(Duration::from_secs(10), |d| d.as_std())
            });
            async move {
                eprintln!(" Container {}  Stopping", c.name);
                let _ = engine.stop_container(&c.id, grace).await;
                eprintln!(" Container {}  Stopped", c.name);
            }
        });
        futures_util::future::join_all(stops).await;
    }
}
