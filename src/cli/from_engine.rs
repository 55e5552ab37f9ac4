//! A project known by its name only, rebuilt from what the engine has: Docker Compose's
//! `projectOrName`. With `-p NAME` and no `-f`, the commands that act on existing containers
//! (`ps`, `down`, `logs`, `stop`, `exec`, ...) do not read any compose file; and when the
//! file cannot be loaded but `COMPOSE_PROJECT_NAME` is set, they fall back to that name.
//!
//! The project is rebuilt from the `com.docker.compose.*` labels: a service per
//! `com.docker.compose.service` label (its image, its `depends_on` from the label, so that
//! stop order is kept, and the stop timeout its containers were created with), the networks and volumes labelled with the project (so `down`
//! removes exactly what the project created; an external volume or network never carries the
//! project label, so it is never touched).

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::engine::{Backend, Engine, EngineError};
use crate::graph::DependencyGraph;
use crate::reconcile::container_spec::{labels, ProjectContext};
use crate::spec::model::scalars::Duration as ScalarDuration;
use crate::spec::model::{Condition, DependsOn, Network, Project, Service, Volume};

use super::lifecycle::{self, Session};
use super::GlobalArgs;

/// The name to use without loading any file, when Compose would: `-p` given and no `-f`.
pub fn name_only(global: &GlobalArgs) -> Option<String> {
    match &global.project_name {
        Some(name) if global.file.is_empty() && !name.is_empty() => Some(name.clone()),
        _ => None,
    }
}

/// The name to fall back to when loading failed: `COMPOSE_PROJECT_NAME`, as Compose does.
pub fn fallback_name() -> Option<String> {
    std::env::var("COMPOSE_PROJECT_NAME")
        .ok()
        .filter(|n| !n.is_empty())
}

/// Rebuilds the project `name` from the engine (see the module header).
pub fn session(global: &GlobalArgs, name: &str) -> Result<Session, ExitCode> {
    let rt = lifecycle::runtime()?;
    let engine = rt.block_on(lifecycle::connect(global))?;
    let project = rt.block_on(project(&engine, name)).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    let graph = DependencyGraph::build(&project).map_err(|cycle| {
        eprintln!(
            "error: dependency cycle in the labels of project {name}: {}",
            cycle.join(" -> ")
        );
        ExitCode::from(1)
    })?;
    Ok(Session {
        project,
        graph,
        ctx: ProjectContext::default(),
    })
}

/// The project `name` as the engine's labels describe it.
pub async fn project(engine: &Backend, name: &str) -> Result<Project, EngineError> {
    let filter = [format!("{}={name}", labels::PROJECT)];
    let (containers, networks, volumes) = futures_util::try_join!(
        engine.list_containers(&filter),
        engine.list_networks(&filter),
        engine.list_volumes(&filter),
    )?;
    let mut project = Project {
        name: name.to_string(),
        ..Default::default()
    };
    for c in &containers {
        let Some(service) = c.labels.get(labels::SERVICE) else {
            continue;
        };
        // One-off containers carry the service label too; a regular one describes it best.
        let one_off = c.labels.get(labels::ONEOFF).map(String::as_str) == Some("True");
        if one_off && project.services.contains_key(service) {
            continue;
        }
        let svc = Service {
            name: service.clone(),
            image: c.image.clone(),
            depends_on: c
                .labels
                .get(labels::DEPENDS_ON)
                .map(|l| parse_depends_on(l))
                .unwrap_or_default(),
            ..Default::default()
        };
        project.services.insert(service.clone(), svc);
    }
    // Stop timeouts: the grace period each service's containers were created with (an
    // inspect per service), so `down`/`stop` wait what the compose file said, not 10 s.
    let firsts: Vec<(String, String)> = project
        .services
        .keys()
        .filter_map(|s| {
            let c = containers
                .iter()
                .find(|c| c.labels.get(labels::SERVICE) == Some(s))?;
            Some((s.clone(), c.id.clone()))
        })
        .collect();
    let inspected =
        futures_util::future::join_all(firsts.iter().map(|(_, id)| engine.inspect_container(id)))
            .await;
    for ((service, _), info) in firsts.iter().zip(inspected) {
        let grace = info.ok().and_then(|i| i.stop_timeout);
        if let (Some(svc), Some(d)) = (project.services.get_mut(service), grace) {
            svc.stop_grace_period = Some(ScalarDuration(d.as_nanos().min(i64::MAX as u128) as i64));
        }
    }
    // A dependency whose containers are gone is not required any more.
    let known: Vec<String> = project.services.keys().cloned().collect();
    for svc in project.services.values_mut() {
        svc.depends_on.retain(|d, _| known.contains(d));
    }
    for n in networks {
        if let Some(key) = n.labels.get(labels::NETWORK) {
            let net = Network {
                name: n.name.clone(),
                ..Default::default()
            };
            project.networks.insert(key.clone(), net);
        }
    }
    for v in volumes {
        if let Some(key) = v.labels.get(labels::VOLUME) {
            let vol = Volume {
                name: v.name.clone(),
                ..Default::default()
            };
            project.volumes.insert(key.clone(), vol);
        }
    }
    Ok(project)
}

/// The `com.docker.compose.depends_on` label (`name:condition:restart,...`); unknown
/// conditions read as `service_started`, malformed items are skipped.
pub fn parse_depends_on(label: &str) -> BTreeMap<String, DependsOn> {
    label
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(':');
            let name = parts.next().filter(|n| !n.is_empty())?;
            let condition = match parts.next() {
                Some("service_healthy") => Condition::ServiceHealthy,
                Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                _ => Condition::ServiceStarted,
            };
            let restart = parts.next() == Some("true");
            Some((
                name.to_string(),
                DependsOn {
                    condition,
                    restart,
                    required: true,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_label() {
        let d =
            parse_depends_on("db:service_healthy:false,job:service_completed_successfully:true,,x");
        assert_eq!(d.len(), 3);
        assert_eq!(d["db"].condition, Condition::ServiceHealthy);
        assert!(!d["db"].restart);
        assert_eq!(d["job"].condition, Condition::ServiceCompletedSuccessfully);
        assert!(d["job"].restart);
        assert_eq!(d["x"].condition, Condition::ServiceStarted);
        assert!(parse_depends_on("").is_empty());
    }
}
