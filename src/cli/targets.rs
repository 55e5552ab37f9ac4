//! What the container commands (`stop`, `start`, `restart`, `kill`, `pause`, `unpause`, `rm`,
//! `logs`, `exec`, `top`, `port`) share: loading the project, finding its containers
//! (by the `com.docker.compose.*` labels, one-off containers excluded), naming them the way
//! Compose does, and Compose's plain progress lines.

use std::process::ExitCode;
use std::time::Duration;

use crate::engine::{Backend, ContainerInfo, ContainerState, Engine, EngineError};
use crate::reconcile::container_spec::labels;
use crate::reconcile::planner::{number_of, service_of};
use crate::spec::model::Project;

use super::lifecycle::{self, Session};
use super::GlobalArgs;

/// Loads the project and checks that every named service exists (`no such service: x`).
pub fn load(global: &GlobalArgs, services: &[String]) -> Result<Session, ExitCode> {
    let session = lifecycle::load_existing(global, &[])?;
    for s in services {
        if !session.project.services.contains_key(s) {
            eprintln!("no such service: {s}");
            return Err(ExitCode::from(1));
        }
    }
    Ok(session)
}

/// The project's containers (one-off excluded) of `services` (all when empty) for which
/// `keep` holds, sorted by service and number.
pub async fn containers(
    engine: &Backend,
    project: &Project,
    services: &[String],
    keep: impl Fn(&ContainerInfo) -> bool,
) -> Result<Vec<ContainerInfo>, ExitCode> {
    let filter = [format!("{}={}", labels::PROJECT, project.name)];
    let mut list = engine
        .list_containers(&filter)
        .await
        .map_err(engine_error)?;
    list.retain(|c| {
        c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True")
            && (services.is_empty() || services.iter().any(|s| s == service_of(c)))
            && keep(c)
    });
    list.sort_by(|a, b| (service_of(a), number_of(a)).cmp(&(service_of(b), number_of(b))));
    Ok(list)
}

/// Running, restarting or paused: what `stop` acts on.
pub fn is_up(c: &ContainerInfo) -> bool {
    matches!(
        c.state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// The containers of `list` grouped by service, in the service order `order`.
pub fn by_service<'a>(
    order: &[String],
    list: &'a [ContainerInfo],
) -> Vec<(String, Vec<&'a ContainerInfo>)> {
    order
        .iter()
        .map(|s| {
            (
                s.clone(),
                list.iter()
                    .filter(|c| service_of(c) == s)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Compose's name for a container in log prefixes: without the `<project>-` prefix
/// (`web-1`); a custom `container_name` stays whole.
pub fn short_name<'a>(c: &'a ContainerInfo, project: &str) -> &'a str {
    c.name
        .strip_prefix(project)
        .and_then(|r| r.strip_prefix('-'))
        .filter(|r| !r.is_empty())
        .unwrap_or(&c.name)
}

/// ` Container NAME  Status` on stderr, as Compose's plain progress prints it.
pub fn progress(name: &str, status: &str) {
    use crate::reconcile::executor::{progress_mode, PlainProgress};
    PlainProgress::line(progress_mode(), "Container", name, status);
}

/// Reports an engine error; exit code 1.
pub fn engine_error(e: EngineError) -> ExitCode {
    eprintln!("Error response from daemon: {e}");
    ExitCode::from(1)
}

/// `-t/--timeout`, else the service's `stop_grace_period`, else 10 s.
pub fn stop_timeout(project: &Project, service: &str, flag: Option<u64>) -> Duration {
    flag.map(Duration::from_secs).unwrap_or_else(|| {
        project
            .services
            .get(service)
            .and_then(|s| s.stop_grace_period)
            .map_or(Duration::from_secs(10), |d| d.as_std())
    })
}

/// Runs `op` on every container, group after group (the groups in dependency order, the
/// containers of one group at once), printing `before` (if any) and `after` progress lines.
/// Every failure is reported; the result is exit code 1 if any failed.
pub async fn each_in_order<'a, F, Fut>(
    groups: &[(String, Vec<&'a ContainerInfo>)],
    before: Option<&str>,
    after: &str,
    op: F,
) -> ExitCode
where
    F: Fn(&'a ContainerInfo) -> Fut,
    Fut: std::future::Future<Output = Result<(), EngineError>>,
{
    let mut failed = false;
    for (_, group) in groups {
        let runs = group.iter().map(|c| {
            let fut = op(c);
            async move {
                if let Some(b) = before {
                    progress(&c.name, b);
                }
                match fut.await {
                    Ok(()) => {
                        progress(&c.name, after);
                        true
                    }
                    Err(e) => {
                        progress(&c.name, "Error");
                        eprintln!("Error response from daemon: {e}");
                        false
                    }
                }
            }
        });
        if !futures_util::future::join_all(runs)
            .await
            .into_iter()
            .all(|ok| ok)
        {
            failed = true;
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Loads the project, starts the runtime, connects, and runs `body` with the project's
/// containers of `services` for which `keep` holds.
pub fn run_on_containers<B>(
    global: &GlobalArgs,
    services: &[String],
    keep: impl Fn(&ContainerInfo) -> bool,
    body: B,
) -> ExitCode
where
    B: for<'x> AsyncFnOnce(&'x Session, &'x Backend, Vec<ContainerInfo>) -> ExitCode,
{
    let session = match load(global, services) {
        Ok(s) => s,
        Err(code) => return code,
    };
    lifecycle::with_engine(global, async |engine| {
        match containers(engine, &session.project, services, keep).await {
            Ok(list) => body(&session, engine, list).await,
            Err(code) => code,
        }
    })
}

/// Like [`run_on_containers`] for the running replica `index` of one `service` (`exec`,
/// `port`): `service "x" is not running` and exit 1 when there is none.
pub fn run_on_replica<B>(global: &GlobalArgs, service: &str, index: u32, body: B) -> ExitCode
where
    B: for<'x> AsyncFnOnce(&'x Backend, &'x ContainerInfo) -> ExitCode,
{
    run_on_containers(
        global,
        &[service.to_string()],
        |c| number_of(c) == index && c.state == ContainerState::Running,
        async |_session, engine, list| match list.first() {
            Some(c) => body(engine, c).await,
            None => {
                eprintln!("service \"{service}\" is not running");
                ExitCode::from(1)
            }
        },
    )
}
