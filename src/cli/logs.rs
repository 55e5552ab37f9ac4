//! `rcompose logs`: the output of the project's containers, like `docker compose logs`.
//!
//! Every line is prefixed `NAME  | ` where NAME is the container name without the project
//! prefix (`web-1`, as Compose v2.40 prints it) padded to the longest one plus a space; each
//! container gets the next color of Compose's rainbow unless `--no-color`, `--ansi never`,
//! or stdout is not a terminal. The containers' streams are read at once and their lines
//! interleaved as they arrive (Compose writes both stdout and stderr lines to stdout).
//!
//! With `-f` the command follows the services, not only the containers it found: it watches
//! the engine's events and starts reading a container again when it is restarted (restart
//! policy, `restart`) and a new one when it appears (recreate, scale up), from the second it
//! started; it ends when none of the selected containers is running, restarting or about to
//! start (created) and none appears within two seconds (the gap inside a recreate), or on
//! Ctrl+C. A restarted container's stream is opened from the start
//! second, so a line its previous run printed in that same second may show twice.
//!
//! `--since`/`--until` take what the Docker CLI takes: a Unix time (`1700000000`,
//! `1700000000.5`), an RFC 3339 date-time (`2024-01-02T15:04:05Z`, `...+02:00`; without a
//! zone it is read as UTC, where Docker reads local time), a date `2024-01-02`, or a Go
//! duration before now (`10m`, `1h30m`, `2.5s`).

use std::io::IsTerminal;
use std::process::ExitCode;

use std::collections::HashSet;

use futures_util::stream::{SelectAll, StreamExt};

use crate::engine::{
    ContainerState, Engine, EngineResult, EventFilter, EventKind, LogChunk, LogOptions,
};
use crate::reconcile::container_spec::labels as cs_labels;
use crate::reconcile::planner::number_of;

use super::{targets, Ansi, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long = "tail", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long = "since")]
    pub since: Option<String>,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long = "until")]
    pub until: Option<String>,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// index of the container if service has multiple replicas
    #[arg(long = "index")]
    pub index: Option<u32>,
    /// Services (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

/// Compose's rainbow: cyan, yellow, green, magenta, blue, then their intense variants.
const RAINBOW: [&str; 10] = [
    "36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
];

pub fn run(global: &GlobalArgs, args: &LogsArgs) -> ExitCode {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let tail = match args.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(n) if n < 0 => None,
            Ok(n) => Some(n.unsigned_abs()),
            Err(_) => {
                eprintln!("invalid value for --tail: {n:?} (a number or \"all\")");
                return ExitCode::from(1);
            }
        },
    };
    let mut times = [None, None];
    for (slot, (flag, value)) in times
        .iter_mut()
        .zip([("--since", &args.since), ("--until", &args.until)])
    {
        if let Some(v) = value {
            match parse_time(v, now) {
                Some(t) => *slot = Some(t),
                None => {
                    eprintln!("invalid value for {flag}: {v:?}");
                    return ExitCode::from(1);
                }
            }
        }
    }
    let opts = LogOptions {
        follow: args.follow,
        tail,
        since: times[0],
        until: times[1],
        timestamps: args.timestamps,
    };
    let colors = !args.no_color
        && match global.ansi {
            Ansi::Never => false,
            Ansi::Always => true,
            Ansi::Auto => std::io::stdout().is_terminal(),
        };
    targets::run_on_containers(
        global,
        &args.service,
        |c| args.index.is_none_or(|i| number_of(c) == i),
        async |session, engine, list| {
            let project = session.project.name.clone();
            let names: Vec<&str> = list
                .iter()
                .map(|c| targets::short_name(c, &project))
                .collect();
            let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
            let prefix = |i: usize, n: &str| {
                if args.no_log_prefix {
                    String::new()
                } else if colors {
                    let code = RAINBOW[i % RAINBOW.len()];
                    format!("\x1b[{code}m{n:<width$} |\x1b[0m ")
                } else {
                    format!("{n:<width$} | ")
                }
            };
            let prefixes: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| prefix(i, n))
                .collect();
            let mut printer = super::lines::LinePrinter::new(prefixes);
            let mut merged = SelectAll::new();
            // The id each printer index belongs to; the ids whose stream is open.
            let mut ids: Vec<String> = Vec::new();
            let mut open: HashSet<String> = HashSet::new();
            for (i, c) in list.iter().enumerate() {
                merged.push(tagged(engine.logs(&c.id, &opts), i));
                ids.push(c.id.clone());
                open.insert(c.id.clone());
            }
            let mut code = ExitCode::SUCCESS;
            if !args.follow {
                while let Some((i, item)) = merged.next().await {
                    match item {
                        Some(Ok(chunk)) => printer.chunk(i, chunk.stream, &chunk.bytes),
                        Some(Err(e)) => {
                            eprintln!("{e}");
                            code = ExitCode::from(1);
                        }
                        None => {}
                    }
                }
                printer.finish();
                return code;
            }
            let selected = |labels: &std::collections::BTreeMap<String, String>| {
                labels.get(cs_labels::PROJECT).map(String::as_str) == Some(project.as_str())
                    && labels.get(cs_labels::ONEOFF).map(String::as_str) != Some("True")
                    && labels.get(cs_labels::SERVICE).is_some_and(|s| {
                        args.service.is_empty() || args.service.iter().any(|x| x == s)
                    })
                    && args.index.is_none_or(|i| {
                        labels.get(cs_labels::NUMBER).and_then(|n| n.parse().ok()) == Some(i)
                    })
            };
            let filter = EventFilter {
                labels: vec![format!("{}={project}", cs_labels::PROJECT)],
                kinds: vec![EventKind::Container],
                since: Some(now as i64),
                until: None,
            };
            let mut events = engine.events(&filter);
            // Set when nothing selected is alive: the command ends then, unless a container
            // is created or started before it (a recreate stops the old container first).
            let mut ending: Option<tokio::time::Instant> = None;
            loop {
                let deadline = ending.unwrap_or_else(tokio::time::Instant::now);
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline), if ending.is_some() => break,
                    item = merged.next(), if !merged.is_empty() => match item {
                        Some((i, Some(Ok(chunk)))) => printer.chunk(i, chunk.stream, &chunk.bytes),
                        Some((i, Some(Err(e)))) => {
                            eprintln!("{e}");
                            code = ExitCode::from(1);
                            open.remove(&ids[i]);
                        }
                        Some((i, None)) => {
                            open.remove(&ids[i]);
                        }
                        None => {}
                    },
                    event = events.next() => match event {
                        Some(Ok(e)) if e.action == "start" && selected(&e.attributes)
                            && !open.contains(&e.id) => {
                            let i = match ids.iter().position(|id| *id == e.id) {
                                Some(i) => i,
                                None => {
                                    let name = e.attributes.get("name").map_or("", String::as_str);
                                    let short = name
                                        .strip_prefix(&format!("{project}-"))
                                        .unwrap_or(name)
                                        .to_string();
                                    ids.push(e.id.clone());
                                    printer.add(prefix(ids.len() - 1, &short))
                                }
                            };
                            let from = LogOptions {
                                since: Some(e.time_nanos.div_euclid(1_000_000_000)),
                                tail: None,
                                ..opts.clone()
                            };
                            merged.push(tagged(engine.logs(&e.id, &from), i));
                            open.insert(e.id.clone());
                        }
                        Some(Ok(e)) if e.action == "create" && selected(&e.attributes) => {
                            ending = None; // alive (created); rechecked after the next event
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            eprintln!("{e}");
                            code = ExitCode::from(1);
                            break;
                        }
                        None => break,
                    },
                }
                if !open.is_empty() {
                    ending = None;
                } else if ending.is_none() && !any_alive(engine, &project, &selected).await {
                    ending = Some(tokio::time::Instant::now() + QUIET_END);
                }
            }
            printer.finish();
            code
        },
    )
}

/// How long `logs -f` waits, once nothing it follows is alive, for a container to be
/// created or started (the gap inside a recreate) before it ends.
const QUIET_END: std::time::Duration = std::time::Duration::from_secs(2);

/// A log stream whose items carry container index `i`, ending with `(i, None)`.
fn tagged<'a>(
    stream: crate::engine::LogChunks<'a>,
    i: usize,
) -> futures_util::stream::BoxStream<'a, (usize, Option<EngineResult<LogChunk>>)> {
    stream
        .map(Some)
        .chain(futures_util::stream::once(async { None }))
        .map(move |item| (i, item))
        .boxed()
}

/// Whether a selected container of the project is running, restarting, or created (about to
/// be started: a recreate in progress).
async fn any_alive(
    engine: &crate::engine::Backend,
    project: &str,
    selected: &impl Fn(&std::collections::BTreeMap<String, String>) -> bool,
) -> bool {
    let filter = [format!("{}={project}", cs_labels::PROJECT)];
    match engine.list_containers(&filter).await {
        Ok(all) => all.iter().any(|c| {
            selected(&c.labels)
                && matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting | ContainerState::Created
                )
        }),
        Err(_) => false,
    }
}

/// A `--since`/`--until` value as Unix seconds (see the module header for the forms).
pub fn parse_time(s: &str, now: f64) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Some(secs.floor() as i64);
    }
    if let Some(d) = go_duration(s) {
        return Some((now - d).floor() as i64);
    }
    rfc3339(s)
}

/// A Go duration (`1h30m`, `2.5s`, `300ms`) in seconds.
fn go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Some(if neg { -total } else { total })
}

/// `YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH:MM]` as Unix seconds (no zone: UTC).
fn rfc3339(s: &str) -> Option<i64> {
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (sign, tz) = (if &time[i..=i] == "-" { -1 } else { 1 }, &time[i + 1..]);
        let (h, m) = tz.split_once(':').unwrap_or((tz, "0"));
        (&time[..i], sign * (num(h)? * 3600 + num(m)? * 60))
    } else {
        (time, 0)
    };
    let mut secs = 0;
    if !clock.is_empty() {
        let mut parts = clock.split(':');
        let h = num(parts.next()?)?;
        let m = num(parts.next()?)?;
        let sec = match parts.next() {
            Some(p) => num(p.split('.').next()?)?,
            None => 0,
        };
        secs = h * 3600 + m * 60 + sec;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + secs - offset)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000", 0.0), Some(1_700_000_000));
        assert_eq!(parse_time("10m", 1000.0), Some(400));
        assert_eq!(parse_time("1h30m", 10_000.0), Some(10_000 - 5400));
        assert_eq!(parse_time("1970-01-02", 0.0), Some(86_400));
        assert_eq!(parse_time("2024-01-02T15:04:05Z", 0.0), Some(1_704_207_845));
        assert_eq!(
            parse_time("2024-01-02T17:04:05+02:00", 0.0),
            Some(1_704_207_845)
        );
        assert_eq!(parse_time("yesterday", 0.0), None);
    }
}
