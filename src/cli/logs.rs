//! `rcompose logs`: the output of the project's containers, like `docker compose logs`.
//!
//! Every line is prefixed `NAME  | ` where NAME is the container name without the project
//! prefix (`web-1`, as Compose v2.40 prints it) padded to the longest one plus a space; each
//! container gets the next color of Compose's rainbow unless `--no-color`, `--ansi never`,
//! or stdout is not a terminal. The containers' streams are read at once and their lines
//! interleaved as they arrive (Compose writes both stdout and stderr lines to stdout). With
//! `-f` the streams stay open until the containers stop (or Ctrl+C).
//!
//! `--since`/`--until` take what the Docker CLI takes: a Unix time (`1700000000`,
//! `1700000000.5`), an RFC 3339 date-time (`2024-01-02T15:04:05Z`, `...+02:00`; without a
//! zone it is read as UTC, where Docker reads local time), a date `2024-01-02`, or a Go
//! duration before now (`10m`, `1h30m`, `2.5s`).

use std::io::IsTerminal;
use std::process::ExitCode;

use futures_util::stream::{select_all, StreamExt};

use crate::engine::{Engine, LogOptions};
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
            let names: Vec<&str> = list
                .iter()
                .map(|c| targets::short_name(c, &session.project.name))
                .collect();
            let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
            let prefixes: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    if args.no_log_prefix {
                        String::new()
                    } else if colors {
                        let code = RAINBOW[i % RAINBOW.len()];
                        format!("\x1b[{code}m{n:<width$} |\x1b[0m ")
                    } else {
                        format!("{n:<width$} | ")
                    }
                })
                .collect();
            let streams = list
                .iter()
                .enumerate()
                .map(|(i, c)| engine.logs(&c.id, &opts).map(move |r| (i, r)).boxed());
            let mut merged = select_all(streams);
            let mut printer = super::lines::LinePrinter::new(prefixes);
            let mut code = ExitCode::SUCCESS;
            while let Some((i, item)) = merged.next().await {
                match item {
                    Ok(chunk) => printer.chunk(i, chunk.stream, &chunk.bytes),
                    Err(e) => {
                        eprintln!("{}", e);
                        code = ExitCode::from(1);
                    }
                }
            }
            printer.finish();
            code
        },
    )
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
