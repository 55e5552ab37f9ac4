//! `rcompose events`: the project's container events as they happen, printed the way Docker
//! Compose v2.40 prints them.
//!
//! Plain: `2026-11-24 21:40:03.627788 container create <id> (image=..., name=...)` followed
//! by an empty line (Compose's event string ends with a newline and is printed with
//! `Println`); attributes sorted by key (Compose prints Go map order, which is random).
//! `--json`: one object per line with `action`, `attributes`, `id`, `service`, `time`
//! (RFC 3339 with nanoseconds, trailing zeros trimmed, local offset) and `type`. The
//! `com.docker.compose.*` labels are left out of the attributes and one-off containers are
//! skipped, as Compose does.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use futures_util::StreamExt;

use crate::engine::{Engine, EngineEvent, EventFilter, EventKind};
use crate::reconcile::container_spec::labels;

use super::timefmt::LocalTime;
use super::{lifecycle, logs, targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects
    #[arg(long)]
    pub json: bool,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Services (default: all)
    #[arg(value_name = "SERVICE")]
    pub service: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &EventsArgs) -> ExitCode {
    let session = match targets::load(global, &args.service) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut filter = EventFilter {
        labels: vec![format!("{}={}", labels::PROJECT, session.project.name)],
        kinds: vec![EventKind::Container],
        ..Default::default()
    };
    for (flag, value, slot) in [
        ("--since", &args.since, &mut filter.since),
        ("--until", &args.until, &mut filter.until),
    ] {
        if let Some(v) = value {
            match logs::parse_time(v, now) {
                Some(t) => *slot = Some(t),
                None => {
                    eprintln!("invalid value for {flag}: {v:?}");
                    return ExitCode::from(1);
                }
            }
        }
    }
    lifecycle::with_engine(global, async |engine| {
        let mut events = engine.events(&filter);
        let mut out = std::io::stdout().lock();
        while let Some(item) = events.next().await {
            let event = match item {
                Ok(e) => e,
                Err(e) => return targets::engine_error(e),
            };
            let Some(line) = render(&event, &args.service, args.json) else {
                continue;
            };
            // A closed stdout (`events | head`) ends the command quietly.
            if out
                .write_all(line.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::SUCCESS;
            }
        }
        ExitCode::SUCCESS
    })
}

/// One event as Compose prints it, or `None` when Compose would skip it (a one-off
/// container, another service than those asked for, not a container).
pub fn render(event: &EngineEvent, services: &[String], json: bool) -> Option<String> {
    render_at(event, services, json, LocalTime::at(event.time_nanos))
}

fn render_at(event: &EngineEvent, services: &[String], json: bool, t: LocalTime) -> Option<String> {
    if event.kind != EventKind::Container
        || event.attributes.get(labels::ONEOFF).map(String::as_str) == Some("True")
    {
        return None;
    }
    let service = event
        .attributes
        .get(labels::SERVICE)
        .map_or("", String::as_str);
    if !services.is_empty() && !services.iter().any(|s| s == service) {
        return None;
    }
    let attributes: BTreeMap<&str, &str> = event
        .attributes
        .iter()
        .filter(|(k, _)| !k.starts_with("com.docker.compose."))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if json {
        let value = serde_json::json!({
            "action": event.action,
            "attributes": attributes,
            "id": event.id,
            "service": service,
            "time": t.rfc3339_nanos(),
            "type": "container",
        });
        return Some(format!("{value}\n"));
    }
    let attrs: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some(format!(
        "{} container {} {} ({})\n\n",
        t.plain(),
        event.action,
        event.id,
        attrs.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, attrs: &[(&str, &str)]) -> EngineEvent {
        EngineEvent {
            time_nanos: 1_795_556_403_627_788_769,
            kind: EventKind::Container,
            action: action.into(),
            id: "cc09".into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn render(e: &EngineEvent, services: &[String], json: bool) -> Option<String> {
        render_at(e, services, json, LocalTime::utc(e.time_nanos))
    }

    #[test]
    fn like_compose_in_utc() {
        let e = event(
            "kill",
            &[
                ("name", "evp-web-1"),
                ("signal", "15"),
                ("image", "busybox"),
                ("com.docker.compose.service", "web"),
                ("com.docker.compose.project", "evp"),
            ],
        );
        assert_eq!(
            render(&e, &[], false).unwrap(),
            "2026-11-24 21:40:03.627788 container kill cc09 (image=busybox, name=evp-web-1, \
             signal=15)\n\n"
        );
        assert_eq!(
            render(&e, &[], true).unwrap(),
            "{\"action\":\"kill\",\"attributes\":{\"image\":\"busybox\",\"name\":\"evp-web-1\",\
             \"signal\":\"15\"},\"id\":\"cc09\",\"service\":\"web\",\
             \"time\":\"2026-11-24T21:40:03.627788769Z\",\"type\":\"container\"}\n"
        );
        assert!(render(&e, &["db".into()], true).is_none());
        let one_off = event("start", &[("com.docker.compose.oneoff", "True")]);
        assert!(render(&one_off, &[], true).is_none());
    }
}
