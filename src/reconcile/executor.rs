//! The executor: observes the engine, and walks a plan on it with bounded parallelism,
//! health gates between dependency levels, and Compose's progress lines.
//!
//! Services of one start level run in parallel (at most `parallel` engine operations at once);
//! a service starts only after the gates of its `depends_on` are met (`service_started`,
//! `service_healthy`, `service_completed_successfully`); a failed gate fails the dependents
//! with the reason (the last healthcheck output, or the exit code). Gates follow the engine's
//! events (see [`super::watch`]): a waiter inspects its container again when the engine
//! reports something about it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Semaphore;

use crate::engine::{ContainerInfo, ContainerState, Engine, EngineError, Health, MountSummary};
use crate::spec::model::{Condition, Project, Service};

use super::container_spec::{self as cs, labels, ProjectContext};
use super::planner::{number_of, service_of, DownPlan, Observed, Op, Plan, Step};
use super::watch::ProjectWatch;

/// Where progress lines go (stderr, as Compose writes them).
pub trait Progress: Send + Sync {
    /// `kind` is `Container`, `Network`, `Volume` or `Image`; `status` is Compose's word
    /// (`Creating`, `Created`, `Starting`, `Started`, `Waiting`, `Healthy`, ...).
    fn event(&self, kind: &str, name: &str, status: &str);
}

/// How progress lines are written (`--progress`, `COMPOSE_PROGRESS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// ` Container p-web-1  Started`, a line per event.
    #[default]
    Plain,
    /// Compose's live block on a terminal (see [`super::tty_progress`]).
    Tty,
    /// `{"id":"Container p-web-1","status":"Started"}`, as Compose writes it.
    Json,
    Quiet,
}

static MODE: std::sync::OnceLock<ProgressMode> = std::sync::OnceLock::new();

/// Sets the process's progress mode once, from the command line (later calls are ignored).
pub fn set_progress_mode(mode: ProgressMode) {
    let _ = MODE.set(mode);
}

/// The process's progress mode (plain until set).
pub fn progress_mode() -> ProgressMode {
    MODE.get().copied().unwrap_or_default()
}

/// Compose's progress lines on stderr, in the chosen mode.
pub struct PlainProgress {
    pub mode: ProgressMode,
}

impl PlainProgress {
    /// One line for `kind name` reaching `status`, or nothing in quiet mode.
    pub fn line(mode: ProgressMode, kind: &str, name: &str, status: &str) {
        match mode {
            ProgressMode::Plain => eprintln!(" {kind} {name}  {status}"),
            ProgressMode::Tty => super::tty_progress::update(kind, name, status),
            ProgressMode::Json => eprintln!(
                "{}",
                serde_json::json!({ "id": format!("{kind} {name}"), "status": status })
            ),
            ProgressMode::Quiet => {}
        }
    }
}

impl Progress for PlainProgress {
    fn event(&self, kind: &str, name: &str, status: &str) {
        Self::line(self.mode, kind, name, status);
    }
}

/// An execution failure, with what the user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{context}: {source}")]
    Engine {
        context: String,
        #[source]
        source: EngineError,
    },
    #[error("dependency failed to start: {0}")]
    Gate(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{}", .0.join("\n"))]
    Several(Vec<String>),
    #[error("external {kind} \"{name}\" not found")]
    ExternalMissing { kind: &'static str, name: String },
    /// A secret or config that cannot be given to the container.
    #[error(transparent)]
    Files(#[from] super::files::FileError),
}

fn engine_err(context: impl Into<String>) -> impl FnOnce(EngineError) -> ExecError {
    let context = context.into();
    move |source| ExecError::Engine { context, source }
}

/// Reads the project's containers, networks, volumes and the ids of the images it names.
///
/// Every lookup is independent, so they are all in flight at once, and an image named by
/// several services is inspected once: a converged 30-service project costs one round trip.
pub async fn observe<E: Engine>(
    engine: &E,
    project: &Project,
    services: &[String],
) -> Result<Observed, ExecError> {
    use futures_util::future::try_join_all;
    let filter = [format!("{}={}", labels::PROJECT, project.name)];
    let containers = async {
        engine
            .list_containers(&filter)
            .await
            .map_err(engine_err("listing containers"))
    };
    let networks = try_join_all(project.networks.keys().map(|key| {
        let name = cs::network_name(project, key);
        async move {
            let found = engine
                .find_network(&name)
                .await
                .map_err(engine_err(format!("inspecting network {name}")))?;
            Ok::<_, ExecError>(found.map(|_| name))
        }
    }));
    let volumes = try_join_all(project.volumes.keys().map(|key| {
        let name = cs::volume_name(project, key);
        async move {
            let found = engine
                .find_volume(&name)
                .await
                .map_err(engine_err(format!("inspecting volume {name}")))?;
            Ok::<_, ExecError>(found.map(|_| name))
        }
    }));
    let distinct: BTreeSet<String> = services
        .iter()
        .filter_map(|s| project.services.get(s))
        .map(|svc| cs::service_image(project, svc))
        .collect();
    let images = try_join_all(distinct.into_iter().map(|image| async move {
        let id = engine
            .image_id(&image)
            .await
            .map_err(engine_err(format!("inspecting image {image}")))?;
        Ok::<_, ExecError>(id.map(|id| (image, id)))
    }));
    let (containers, networks, volumes, images) =
        futures_util::try_join!(containers, networks, volumes, images)?;
    let (oneoffs, containers) = containers
        .into_iter()
        .partition(|c| c.labels.get(labels::ONEOFF).map(String::as_str) == Some("True"));
    Ok(Observed {
        containers,
        oneoffs,
        networks: networks.into_iter().flatten().collect(),
        volumes: volumes.into_iter().flatten().collect(),
        images: images.into_iter().flatten().collect(),
    })
}

/// Settings of one execution.
pub struct ExecOptions {
    /// Most engine operations at once (`--parallel`; 0 = unlimited).
    pub parallel: usize,
    /// `-t/--timeout` for stops (default: each service's `stop_grace_period`, else 10 s).
    pub stop_timeout: Option<Duration>,
    /// How long a gate may wait (`--wait-timeout`; `None`: no limit).
    pub gate_timeout: Option<Duration>,
}

struct Ctx<'a, E: Engine> {
    engine: &'a E,
    project: &'a Project,
    pctx: &'a ProjectContext,
    progress: &'a dyn Progress,
    sem: Semaphore,
    opts: &'a ExecOptions,
    observed: &'a Observed,
    watch: &'a ProjectWatch,
}

impl<E: Engine> Ctx<'_, E> {
    async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.sem.acquire().await.expect("semaphore closed")
    }
}

fn semaphore(parallel: usize) -> Semaphore {
    Semaphore::new(if parallel == 0 {
        Semaphore::MAX_PERMITS
    } else {
        parallel
    })
}

/// Runs an `up` plan.
pub async fn execute_up<E: Engine>(
    engine: &E,
    project: &Project,
    pctx: &ProjectContext,
    plan: &Plan,
    observed: &Observed,
    opts: &ExecOptions,
    progress: &dyn Progress,
) -> Result<(), ExecError> {
    let watch = ProjectWatch::new();
    let ctx = Ctx {
        engine,
        project,
        pctx,
        progress,
        sem: semaphore(opts.parallel),
        opts,
        observed,
        watch: &watch,
    };
    tokio::select! {
        r = execute_up_steps(&ctx, plan) => r,
        e = watch.follow(engine, &project.name) => Err(engine_err("following engine events")(e)),
    }
}

async fn execute_up_steps<E: Engine>(ctx: &Ctx<'_, E>, plan: &Plan) -> Result<(), ExecError> {
    let (engine, project, progress) = (ctx.engine, ctx.project, ctx.progress);
    // External networks and volumes must exist.
    for (key, n) in &project.networks {
        let used = project
            .services
            .values()
            .any(|s| s.networks.contains_key(key));
        if n.external && used {
            let name = cs::network_name(project, key);
            if engine
                .find_network(&name)
                .await
                .map_err(engine_err("inspecting network"))?
                .is_none()
            {
                return Err(ExecError::ExternalMissing {
                    kind: "network",
                    name,
                });
            }
        }
    }
    for (key, v) in &project.volumes {
        let used = project.services.values().any(|s| {
            s.volumes
                .iter()
                .any(|m| m.kind == "volume" && &m.source == key)
        });
        if v.external && used {
            let name = cs::volume_name(project, key);
            if engine
                .find_volume(&name)
                .await
                .map_err(engine_err("inspecting volume"))?
                .is_none()
            {
                return Err(ExecError::ExternalMissing {
                    kind: "volume",
                    name,
                });
            }
        }
    }
    for step in &plan.resources {
        match &step.op {
            Op::CreateNetwork { key, name } => {
                progress.event("Network", name, "Creating");
                engine
                    .create_network(&cs::network_spec(project, key))
                    .await
                    .map_err(engine_err(format!("creating network {name}")))?;
                progress.event("Network", name, "Created");
            }
            Op::CreateVolume { key, name } => {
                progress.event("Volume", name, "Creating");
                engine
                    .create_volume(&cs::volume_spec(project, key))
                    .await
                    .map_err(engine_err(format!("creating volume {name}")))?;
                progress.event("Volume", name, "Created");
            }
            _ => {}
        }
    }
    for name in &plan.kept_orphans {
        crate::cli::warn(
            &format!(
                "Found orphan containers ([{name}]) for this project. If you removed or renamed \
                 this service in your compose file, you can run this command with the \
                 --remove-orphans flag to clean it up."
            ),
            false,
        );
    }
    let removals = plan.orphans.iter().map(|s| ctx.run_step(s));
    for r in join_all(removals).await {
        r?;
    }
    // A failed service fails its dependents (not started) but not the independent ones,
    // which go on (a busy host port of one service leaves the others running).
    let mut failed: Vec<(String, ExecError)> = Vec::new();
    for level in &plan.levels {
        let runs = level.iter().map(|sp| {
            let svc = &project.services[&sp.service];
            let broken = svc
                .depends_on
                .iter()
                .find(|(d, cfg)| cfg.required && failed.iter().any(|(f, _)| f == *d))
                .map(|(d, _)| d.clone());
            async move {
                if let Some(dep) = broken {
                    return Err(ExecError::Gate(format!(
                        "service \"{dep}\" failed, so \"{}\" was not started",
                        svc.name
                    )));
                }
                ctx.wait_dependencies(svc).await?;
                for step in &sp.steps {
                    ctx.run_step(step).await?;
                }
                Ok::<(), ExecError>(())
            }
        });
        let results = join_all(runs).await;
        for (sp, r) in level.iter().zip(results) {
            if let Err(e) = r {
                failed.push((sp.service.clone(), e));
            }
        }
    }
    match failed.len() {
        0 => Ok(()),
        1 => Err(failed.remove(0).1),
        _ => Err(ExecError::Several(
            failed.into_iter().map(|(_, e)| e.to_string()).collect(),
        )),
    }
}

impl<E: Engine> Ctx<'_, E> {
    async fn run_step(&self, step: &Step) -> Result<(), ExecError> {
        let _permit = self.permit().await;
        match &step.op {
            Op::Create { service, number } => {
                let svc = &self.project.services[service];
                self.create(svc, *number, &[]).await?;
            }
            Op::Recreate {
                service,
                number,
                id,
                name,
            } => {
                let svc = &self.project.services[service];
                self.recreate(svc, *number, id, name).await?;
            }
            Op::Start { service, number } => {
                let svc = &self.project.services[service];
                let name = cs::container_name(self.project, svc, *number);
                self.progress.event("Container", &name, "Starting");
                self.engine
                    .start_container(&name)
                    .await
                    .map_err(engine_err(format!("starting {name}")))?;
                self.progress.event("Container", &name, "Started");
            }
            Op::Restart { service, number } => {
                let svc = &self.project.services[service];
                let name = cs::container_name(self.project, svc, *number);
                self.progress.event("Container", &name, "Restarting");
                self.engine
                    .stop_container(&name, self.stop_timeout(Some(svc)))
                    .await
                    .map_err(engine_err(format!("stopping {name}")))?;
                self.engine
                    .start_container(&name)
                    .await
                    .map_err(engine_err(format!("starting {name}")))?;
                self.progress.event("Container", &name, "Restarted");
            }
            Op::Remove { id, name, service } => {
                let timeout = self.stop_timeout(self.project.services.get(service));
                self.progress.event("Container", name, "Stopping");
                self.engine
                    .stop_container(id, timeout)
                    .await
                    .map_err(engine_err(format!("stopping {name}")))?;
                self.progress.event("Container", name, "Stopped");
                self.progress.event("Container", name, "Removing");
                self.engine
                    .remove_container(id, true, false)
                    .await
                    .map_err(engine_err(format!("removing {name}")))?;
                self.progress.event("Container", name, "Removed");
            }
            Op::CreateNetwork { .. } | Op::CreateVolume { .. } => {}
        }
        Ok(())
    }

    fn stop_timeout(&self, svc: Option<&Service>) -> Duration {
        self.opts.stop_timeout.unwrap_or_else(|| {
            svc.and_then(|s| s.stop_grace_period)
                .map_or(Duration::from_secs(10), |d| d.as_std())
        })
    }

    /// Creates container `number` of `svc`; `inherit`: the mounts of the container it
    /// replaces, whose anonymous volumes it takes over.
    async fn create(
        &self,
        svc: &Service,
        number: u32,
        inherit: &[MountSummary],
    ) -> Result<String, ExecError> {
        let image = cs::service_image(self.project, svc);
        let name = cs::container_name(self.project, svc, number);
        self.progress.event("Container", &name, "Creating");
        // The pull phase (and the builds) ran before the plan: what is missing now stays
        // missing (`pull_policy: never`, a failed build), as with Compose.
        let Some(image_id) = self.observed.images.get(&image).cloned() else {
            self.progress.event("Container", &name, "Error");
            return Err(ExecError::Engine {
                context: format!("creating {name}"),
                source: EngineError::ImageNotFound { image },
            });
        };
        let image_id = Some(image_id);
        let (mut spec, warnings) =
            cs::container_spec(self.project, svc, self.pctx, number, image_id.as_deref())
                .inspect_err(|_| self.progress.event("Container", &name, "Error"))?;
        for w in &warnings {
            crate::cli::warn(w, false);
        }
        if !inherit.is_empty() {
            let image_volumes = match self.engine.inspect_image(&image).await {
                Ok(info) => info.map(|i| i.volumes).unwrap_or_default(),
                Err(e) => {
                    self.progress.event("Container", &name, "Error");
                    return Err(engine_err(format!("inspecting the image of {name}"))(e));
                }
            };
            cs::inherit_anonymous_volumes(&mut spec, inherit, &image_volumes);
        }
        let id = self
            .engine
            .create_container(&spec)
            .await
            .map_err(engine_err(format!("creating {}", spec.name)))?;
        self.progress.event("Container", &spec.name, "Created");
        Ok(id)
    }

    /// Compose's recreate: stop the old container, rename it out of the way, create the new
    /// one under the name, remove the old one.
    async fn recreate(
        &self,
        svc: &Service,
        number: u32,
        old_id: &str,
        old_name: &str,
    ) -> Result<(), ExecError> {
        self.progress.event("Container", old_name, "Recreate");
        // Compose keeps the old container's anonymous volumes (same target) for the new one.
        let inherited = self
            .engine
            .inspect_container(old_id)
            .await
            .map(|info| info.mounts)
            .unwrap_or_default();
        let timeout = self.stop_timeout(Some(svc));
        self.engine
            .stop_container(old_id, timeout)
            .await
            .map_err(engine_err(format!("stopping {old_name}")))?;
        let short: String = old_id.chars().take(12).collect();
        self.engine
            .rename_container(old_id, &format!("{short}_{old_name}"))
            .await
            .map_err(engine_err(format!("renaming {old_name}")))?;
        if let Err(e) = self.create(svc, number, &inherited).await {
            // Put the old container back under its name: nothing of the user's is lost.
            let _ = self.engine.rename_container(old_id, old_name).await;
            return Err(e);
        }
        self.engine
            .remove_container(old_id, true, false)
            .await
            .map_err(engine_err(format!("removing the old {old_name}")))?;
        self.progress.event("Container", old_name, "Recreated");
        Ok(())
    }

    /// Waits until every dependency of `svc` meets its condition.
    async fn wait_dependencies(&self, svc: &Service) -> Result<(), ExecError> {
        for (dep, d) in &svc.depends_on {
            if !self.project.services.contains_key(dep) {
                continue; // `required: false` and not active
            }
            let filter = [
                format!("{}={}", labels::PROJECT, self.project.name),
                format!("{}={dep}", labels::SERVICE),
            ];
            let containers = self
                .engine
                .list_containers(&filter)
                .await
                .map_err(engine_err("listing containers"))?;
            let names: Vec<String> = containers
                .iter()
                .filter(|c| c.labels.get(labels::ONEOFF).map(String::as_str) != Some("True"))
                .map(|c| c.name.clone())
                .collect();
            if names.is_empty() && d.required {
                return Err(ExecError::Gate(format!(
                    "service \"{dep}\" has no container"
                )));
            }
            for name in names {
                self.wait_gate(&name, d.condition).await?;
            }
        }
        Ok(())
    }

    async fn wait_gate(&self, name: &str, cond: Condition) -> Result<(), ExecError> {
        if cond == Condition::ServiceStarted {
            return Ok(());
        }
        self.progress.event("Container", name, "Waiting");
        let wait = async {
            let mut waiter = self.watch.subscribe();
            loop {
                let c = self
                    .engine
                    .inspect_container(name)
                    .await
                    .map_err(engine_err(format!("inspecting {name}")))?;
                match gate(&c, cond) {
                    Gate::Met => {
                        let word = match cond {
                            Condition::ServiceHealthy => "Healthy",
                            _ => "Exited",
                        };
                        self.progress.event("Container", name, word);
                        return Ok(());
                    }
                    Gate::Failed(why) => {
                        self.progress.event("Container", name, "Error");
                        return Err(ExecError::Gate(why));
                    }
                    Gate::Pending => waiter.changed(&c.id).await,
                }
            }
        };
        match self.opts.gate_timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait).await.unwrap_or_else(|_| {
                Err(ExecError::Timeout(format!(
                    "timeout waiting for container {name}"
                )))
            }),
        }
    }
}

/// The state of one gate for one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    Met,
    Pending,
    Failed(String),
}

/// Whether container `c` satisfies `cond` now (pure).
pub fn gate(c: &ContainerInfo, cond: Condition) -> Gate {
    let exited = matches!(c.state, ContainerState::Exited | ContainerState::Dead);
    match cond {
        Condition::ServiceStarted => Gate::Met,
        Condition::ServiceHealthy => match c.health {
            Health::Healthy => Gate::Met,
            Health::Unhealthy => Gate::Failed(format!(
                "container {} is unhealthy{}",
                c.name,
                c.last_health_output
                    .as_deref()
                    .filter(|o| !o.is_empty())
                    .map(|o| format!(" (last check: {o})"))
                    .unwrap_or_default()
            )),
            Health::None => Gate::Failed(format!(
                "container {} has no healthcheck configured",
                c.name
            )),
            Health::Starting if exited => Gate::Failed(format!(
                "container {} exited ({}) before it was healthy",
                c.name,
                c.exit_code.unwrap_or(-1)
            )),
            Health::Starting => Gate::Pending,
        },
        Condition::ServiceCompletedSuccessfully => {
            if !exited {
                Gate::Pending
            } else if c.exit_code == Some(0) {
                Gate::Met
            } else {
                Gate::Failed(format!(
                    "service \"{}\" didn't complete successfully: exit {}",
                    c.labels
                        .get(labels::SERVICE)
                        .map_or(c.name.as_str(), String::as_str),
                    c.exit_code.unwrap_or(-1)
                ))
            }
        }
    }
}

/// `up --wait`: waits until every container of the selected services is running (and
/// healthy when it has a healthcheck), or exited 0 for a one-shot that something waits on.
pub async fn wait_running<E: Engine>(
    engine: &E,
    project: &Project,
    services: &[String],
    timeout: Option<Duration>,
    progress: &dyn Progress,
) -> Result<(), ExecError> {
    let watch = ProjectWatch::new();
    let wait = async {
        let mut waiter = watch.subscribe();
        loop {
            match running_state(engine, project, services, progress).await? {
                Gate::Met => return Ok(()),
                Gate::Failed(why) => return Err(ExecError::Gate(why)),
                Gate::Pending => waiter.changed_any(|_| true).await,
            }
        }
    };
    let wait = async {
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait).await.unwrap_or_else(|_| {
                Err(ExecError::Timeout(
                    "timeout waiting for the services to be healthy".into(),
                ))
            }),
        }
    };
    tokio::select! {
        r = wait => r,
        e = watch.follow(engine, &project.name) => Err(engine_err("following engine events")(e)),
    }
}

/// One look at the selected services for `up --wait` (`Met` once all of them are ready; the
/// `Healthy` lines are printed then).
async fn running_state<E: Engine>(
    engine: &E,
    project: &Project,
    services: &[String],
    progress: &dyn Progress,
) -> Result<Gate, ExecError> {
    let filter = [format!("{}={}", labels::PROJECT, project.name)];
    let completion_waited: Vec<&String> = project
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
        .map(|(n, _)| n)
        .collect();
    let all = engine
        .list_containers(&filter)
        .await
        .map_err(engine_err("listing containers"))?;
    let selected: Vec<&ContainerInfo> = all
        .iter()
        .filter(|c| services.iter().any(|s| s == service_of(c)))
        .collect();
    let inspected = futures_util::future::try_join_all(selected.iter().map(|c| async move {
        engine
            .inspect_container(&c.id)
            .await
            .map_err(engine_err("inspecting"))
    }))
    .await?;
    let mut pending = false;
    for c in &inspected {
        let one_shot = completion_waited
            .iter()
            .any(|s| s.as_str() == service_of(c));
        let state = if one_shot {
            gate(c, Condition::ServiceCompletedSuccessfully)
        } else if c.health != Health::None {
            gate(c, Condition::ServiceHealthy)
        } else if c.state == ContainerState::Running {
            Gate::Met
        } else if matches!(c.state, ContainerState::Exited | ContainerState::Dead) {
            Gate::Failed(format!(
                "container {} exited ({})",
                c.name,
                c.exit_code.unwrap_or(-1)
            ))
        } else {
            Gate::Pending
        };
        match state {
            Gate::Failed(why) => return Ok(Gate::Failed(why)),
            Gate::Pending => pending = true,
            Gate::Met => {}
        }
    }
    if pending {
        return Ok(Gate::Pending);
    }
    // Compose's words: a one-shot that completed reads "Exited", the others "Healthy".
    for c in &inspected {
        let word = match c.state {
            ContainerState::Exited | ContainerState::Dead => "Exited",
            _ => "Healthy",
        };
        progress.event("Container", &c.name, word);
    }
    Ok(Gate::Met)
}

/// Runs a `down` plan.
pub async fn execute_down<E: Engine>(
    engine: &E,
    project: &Project,
    plan: &DownPlan,
    opts: &ExecOptions,
    progress: &dyn Progress,
) -> Result<(), ExecError> {
    let sem = Arc::new(semaphore(opts.parallel));
    for level in &plan.levels {
        let runs = level.iter().map(|(id, name)| {
            let sem = sem.clone();
            async move {
                let _p = sem.acquire().await.expect("semaphore closed");
                let c = engine.inspect_container(id).await.ok();
                let svc = c.as_ref().and_then(|c| project.services.get(service_of(c)));
                let timeout = opts.stop_timeout.unwrap_or_else(|| {
                    svc.and_then(|s| s.stop_grace_period)
                        .map_or(Duration::from_secs(10), |d| d.as_std())
                });
                progress.event("Container", name, "Stopping");
                match engine.stop_container(id, timeout).await {
                    Ok(()) | Err(EngineError::NotFound { .. }) => {}
                    Err(e) => return Err(engine_err(format!("stopping {name}"))(e)),
                }
                progress.event("Container", name, "Stopped");
                progress.event("Container", name, "Removing");
                match engine
                    .remove_container(id, true, plan.remove_anonymous_volumes)
                    .await
                {
                    Ok(()) | Err(EngineError::NotFound { .. }) => {}
                    Err(e) => return Err(engine_err(format!("removing {name}"))(e)),
                }
                progress.event("Container", name, "Removed");
                Ok(())
            }
        });
        for r in join_all(runs).await {
            r?;
        }
    }
    for name in &plan.kept_orphans {
        crate::cli::warn(
            &format!(
                "Found orphan container {name} for this project; use --remove-orphans to remove it"
            ),
            false,
        );
    }
    for name in &plan.networks {
        progress.event("Network", name, "Removing");
        match engine.remove_network(name).await {
            Ok(()) | Err(EngineError::NotFound { .. }) => {
                progress.event("Network", name, "Removed")
            }
            // Still used by a container down does not remove (a one-off `run` container,
            // another project's): kept, as Compose keeps it.
            Err(EngineError::Conflict { message }) => {
                progress.event("Network", name, "Error");
                crate::cli::warn(&format!("network {name} kept: {message}"), false);
            }
            Err(e) => return Err(engine_err(format!("removing network {name}"))(e)),
        }
    }
    for img in &plan.images {
        let name = img.reference.as_str();
        progress.event("Image", name, "Removing");
        match engine.remove_image(name, false).await {
            Ok(_) => progress.event("Image", name, "Removed"),
            // Used by a container down does not remove: kept, as Compose keeps it.
            Err(EngineError::Conflict { .. }) => {
                progress.event("Image", name, "Resource is still in use")
            }
            Err(EngineError::ImageNotFound { .. } | EngineError::NotFound { .. }) => {
                progress.event("Image", name, "Warning: No resource found to remove")
            }
            Err(e) => return Err(engine_err(format!("removing image {name}"))(e)),
        }
    }
    for name in &plan.volumes {
        progress.event("Volume", name, "Removing");
        match engine.remove_volume(name).await {
            Ok(()) | Err(EngineError::NotFound { .. }) => progress.event("Volume", name, "Removed"),
            Err(e) => return Err(engine_err(format!("removing volume {name}"))(e)),
        }
    }
    Ok(())
}

/// The container number recorded on an observed container (re-exported for the CLI).
pub fn container_number(c: &ContainerInfo) -> u32 {
    number_of(c)
}
