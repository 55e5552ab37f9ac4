//! The planner: from the project and what the engine has ([`Observed`]) to the list of steps
//! that converge them, each with its cause. Pure: no engine, no IO, golden-tested.
//!
//! Steps are grouped per service in dependency order; the executor runs the services of one
//! start level in parallel and waits for each service's dependency gates before starting it.
//! A container is recreated only when its config hash or image changed (or `--force-recreate`),
//! never for `scale`, `depends_on`, `profiles`, `build` or `pull_policy` alone (those are
//! outside the hash).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::engine::{ContainerInfo, ContainerState};
use crate::graph::DependencyGraph;
use crate::spec::model::Project;

use super::container_spec::{self as cs, labels};
use super::hash::service_hash;

/// What exists, as the engine reported it (only this project's objects).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Containers labelled with the project (one-off `run` containers excluded).
    pub containers: Vec<ContainerInfo>,
    /// The project's one-off `run` containers (removed by `down --remove-orphans` only).
    pub oneoffs: Vec<ContainerInfo>,
    /// Engine names of the networks that exist.
    pub networks: BTreeSet<String>,
    /// Engine names of the volumes that exist.
    pub volumes: BTreeSet<String>,
    /// Local image ids by reference, for the image-changed rule.
    pub images: BTreeMap<String, String>,
}

/// `up`'s recreate policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recreate {
    /// Recreate what changed (the default).
    #[default]
    Diverged,
    /// `--force-recreate`.
    Force,
    /// `--no-recreate`.
    Never,
}

#[derive(Clone, Debug, Default)]
pub struct UpOptions {
    /// Services named on the command line (empty: all active services).
    pub services: Vec<String>,
    /// `--no-deps`: do not add the dependencies of the named services.
    pub no_deps: bool,
    pub recreate: Recreate,
    /// `--always-recreate-deps`.
    pub always_recreate_deps: bool,
    pub remove_orphans: bool,
    /// `--no-start`.
    pub no_start: bool,
    /// `--scale SERVICE=N`.
    pub scale: BTreeMap<String, u32>,
}

/// Why a step is planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// It does not exist yet.
    Missing,
    /// The service's configuration changed (config hash differs).
    ConfigChanged,
    /// The image the service names now has another id.
    ImageChanged,
    /// `--force-recreate` (or a dependency was recreated with `--always-recreate-deps`).
    Forced,
    /// The container exists but is not running.
    NotRunning,
    /// More containers than the service's scale.
    ScaleDown,
    /// The container's service is no longer in the project.
    Orphan,
    /// A dependency with `restart: true` was recreated.
    DependencyReplaced(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cause::Missing => "missing",
            Cause::ConfigChanged => "config changed",
            Cause::ImageChanged => "image changed",
            Cause::Forced => "forced",
            Cause::NotRunning => "not running",
            Cause::ScaleDown => "scale down",
            Cause::Orphan => "orphan",
            Cause::DependencyReplaced(dep) => return write!(f, "dependency {dep} replaced"),
        })
    }
}

/// One engine operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    CreateNetwork {
        key: String,
        name: String,
    },
    CreateVolume {
        key: String,
        name: String,
    },
    /// Create replica `number` of the service (started later by [`Op::Start`] unless
    /// `--no-start`).
    Create {
        service: String,
        number: u32,
    },
    /// Replace the container `id` by a new one with the same number.
    Recreate {
        service: String,
        number: u32,
        id: String,
        name: String,
    },
    Start {
        service: String,
        number: u32,
    },
    /// Stop and start again a running container.
    Restart {
        service: String,
        number: u32,
    },
    /// Stop and remove a container (scale down, orphans).
    Remove {
        service: String,
        id: String,
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub op: Op,
    pub cause: Cause,
}

/// The work for one service, after its dependencies' gates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    pub service: String,
    pub steps: Vec<Step>,
    /// Containers already as wanted, by number (for `--wait` and gates).
    pub up_to_date: Vec<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Networks and volumes to create first.
    pub resources: Vec<Step>,
    /// Services by start level (each level after the previous one).
    pub levels: Vec<Vec<ServicePlan>>,
    /// Orphan containers (removed only with `--remove-orphans`).
    pub orphans: Vec<Step>,
    /// Orphans found but kept (reported as a warning).
    pub kept_orphans: Vec<String>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.resources.is_empty()
            && self.orphans.is_empty()
            && self.levels.iter().flatten().all(|s| s.steps.is_empty())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.resources {
            writeln!(f, "{}", StepLine(s))?;
        }
        for s in &self.orphans {
            writeln!(f, "{}", StepLine(s))?;
        }
        for name in &self.kept_orphans {
            writeln!(f, "keep orphan {name}")?;
        }
        for (i, level) in self.levels.iter().enumerate() {
            writeln!(f, "level {i}:")?;
            for sp in level {
                if sp.steps.is_empty() {
                    writeln!(f, "  {}: up to date", sp.service)?;
                }
                for s in &sp.steps {
                    writeln!(f, "  {}", StepLine(s))?;
                }
            }
        }
        Ok(())
    }
}

struct StepLine<'a>(&'a Step);

impl fmt::Display for StepLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.0.cause;
        match &self.0.op {
            Op::CreateNetwork { name, .. } => write!(f, "create network {name} ({c})"),
            Op::CreateVolume { name, .. } => write!(f, "create volume {name} ({c})"),
            Op::Create { service, number } => write!(f, "create {service} #{number} ({c})"),
            Op::Recreate {
                service,
                number,
                name,
                ..
            } => {
                write!(f, "recreate {service} #{number} {name} ({c})")
            }
            Op::Start { service, number } => write!(f, "start {service} #{number} ({c})"),
            Op::Restart { service, number } => write!(f, "restart {service} #{number} ({c})"),
            Op::Remove { name, .. } => write!(f, "remove {name} ({c})"),
        }
    }
}

/// The container number of an observed container (0 when the label is missing or bad).
pub fn number_of(c: &ContainerInfo) -> u32 {
    c.labels
        .get(labels::NUMBER)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn service_of(c: &ContainerInfo) -> &str {
    c.labels.get(labels::SERVICE).map_or("", String::as_str)
}

/// The services `up` acts on: the named ones plus their dependencies (unless `no_deps`).
pub fn selection(graph: &DependencyGraph, opts: &UpOptions) -> Vec<String> {
    if opts.services.is_empty() {
        graph.start_order()
    } else if opts.no_deps {
        let order = graph.start_order();
        order
            .into_iter()
            .filter(|s| opts.services.contains(s))
            .collect()
    } else {
        let closure = graph.closure(&opts.services);
        graph
            .start_order()
            .into_iter()
            .filter(|s| closure.contains(s))
            .collect()
    }
}

/// Plans `up`.
pub fn plan_up(
    project: &Project,
    graph: &DependencyGraph,
    observed: &Observed,
    opts: &UpOptions,
) -> Plan {
    let selected: BTreeSet<String> = selection(graph, opts).into_iter().collect();
    let mut plan = Plan::default();

    // Networks and volumes used by the selected services.
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    for name in &selected {
        let Some(svc) = project.services.get(name) else {
            continue;
        };
        if svc.network_mode.is_empty() {
            nets.extend(svc.networks.keys().cloned());
        }
        for v in &svc.volumes {
            if v.kind == "volume" && !v.source.is_empty() {
                vols.insert(v.source.clone());
            }
        }
    }
    for key in nets {
        let external = project.networks.get(&key).is_some_and(|n| n.external);
        let name = cs::network_name(project, &key);
        if !external && !observed.networks.contains(&name) {
            plan.resources.push(Step {
                op: Op::CreateNetwork { key, name },
                cause: Cause::Missing,
            });
        }
    }
    for key in vols {
        let external = project.volumes.get(&key).is_some_and(|v| v.external);
        let name = cs::volume_name(project, &key);
        if !external && !observed.volumes.contains(&name) {
            plan.resources.push(Step {
                op: Op::CreateVolume { key, name },
                cause: Cause::Missing,
            });
        }
    }

    // Orphans: containers of services that are not in the project.
    for c in &observed.containers {
        if !project.services.contains_key(service_of(c)) {
            if opts.remove_orphans {
                plan.orphans.push(Step {
                    op: Op::Remove {
                        service: service_of(c).to_string(),
                        id: c.id.clone(),
                        name: c.name.clone(),
                    },
                    cause: Cause::Orphan,
                });
            } else {
                plan.kept_orphans.push(c.name.clone());
            }
        }
    }

    let mut recreated: BTreeSet<String> = BTreeSet::new();
    for level in graph.start_levels() {
        let mut out = Vec::new();
        for name in level {
            if !selected.contains(&name) {
                continue;
            }
            let Some(svc) = project.services.get(&name) else {
                continue;
            };
            let dep_recreated = svc.depends_on.keys().any(|d| recreated.contains(d));
            // `depends_on.<dep>.restart: true`: restart this service when `dep` is replaced.
            let restart_for = svc
                .depends_on
                .iter()
                .find(|(d, cfg)| cfg.restart && recreated.contains(*d))
                .map(|(d, _)| d.clone());
            let mut sp = plan_service(project, svc, observed, opts, dep_recreated);
            if let Some(dep) = restart_for {
                for n in std::mem::take(&mut sp.up_to_date) {
                    sp.steps.push(Step {
                        op: Op::Restart {
                            service: name.clone(),
                            number: n,
                        },
                        cause: Cause::DependencyReplaced(dep.clone()),
                    });
                }
            }
            if sp
                .steps
                .iter()
                .any(|s| matches!(s.op, Op::Recreate { .. } | Op::Create { .. }))
            {
                recreated.insert(name.clone());
            }
            out.push(sp);
        }
        if !out.is_empty() {
            plan.levels.push(out);
        }
    }
    plan
}

fn plan_service(
    project: &Project,
    svc: &crate::spec::model::Service,
    observed: &Observed,
    opts: &UpOptions,
    dep_recreated: bool,
) -> ServicePlan {
    let scale = opts
        .scale
        .get(&svc.name)
        .copied()
        .unwrap_or_else(|| cs::desired_scale(svc));
    let hash = service_hash(svc);
    let image = cs::service_image(project, svc);
    let image_id = observed.images.get(&image);
    let mut mine: Vec<&ContainerInfo> = observed
        .containers
        .iter()
        .filter(|c| service_of(c) == svc.name)
        .collect();
    mine.sort_by_key(|c| (number_of(c), c.created));
    let mut sp = ServicePlan {
        service: svc.name.clone(),
        steps: Vec::new(),
        up_to_date: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for c in &mine {
        let n = number_of(c);
        if n == 0 || n > scale || !seen.insert(n) {
            sp.steps.push(Step {
                op: Op::Remove {
                    service: svc.name.clone(),
                    id: c.id.clone(),
                    name: c.name.clone(),
                },
                cause: Cause::ScaleDown,
            });
            continue;
        }
        let cause = match opts.recreate {
            Recreate::Never => None,
            Recreate::Force => Some(Cause::Forced),
            Recreate::Diverged => {
                if c.labels.get(labels::CONFIG_HASH) != Some(&hash) {
                    Some(Cause::ConfigChanged)
                } else if image_id.is_some_and(|id| c.image_id.as_ref() != Some(id)) {
                    Some(Cause::ImageChanged)
                } else if dep_recreated && opts.always_recreate_deps {
                    Some(Cause::Forced)
                } else {
                    None
                }
            }
        };
        match cause {
            Some(cause) => {
                sp.steps.push(Step {
                    op: Op::Recreate {
                        service: svc.name.clone(),
                        number: n,
                        id: c.id.clone(),
                        name: c.name.clone(),
                    },
                    cause,
                });
                if !opts.no_start {
                    sp.steps.push(Step {
                        op: Op::Start {
                            service: svc.name.clone(),
                            number: n,
                        },
                        cause: Cause::NotRunning,
                    });
                }
            }
            // Compose starts again what is stopped or exited.
            None if !opts.no_start
                && !matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Restarting
                ) =>
            {
                sp.steps.push(Step {
                    op: Op::Start {
                        service: svc.name.clone(),
                        number: n,
                    },
                    cause: Cause::NotRunning,
                });
            }
            None => sp.up_to_date.push(n),
        }
    }
    for n in 1..=scale {
        if !seen.contains(&n) {
            sp.steps.push(Step {
                op: Op::Create {
                    service: svc.name.clone(),
                    number: n,
                },
                cause: Cause::Missing,
            });
            if !opts.no_start {
                sp.steps.push(Step {
                    op: Op::Start {
                        service: svc.name.clone(),
                        number: n,
                    },
                    cause: Cause::Missing,
                });
            }
        }
    }
    sp
}

/// `down --rmi`: which of the services' images go (Docker Compose's rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RemoveImages {
    /// Only the images compose names itself (`<project>-<service>`, services without
    /// `image:`).
    Local,
    /// Every image the services use.
    All,
}

/// Why `down --rmi` removes an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageCause {
    /// The service names it in `image:` (`--rmi all`).
    Named { service: String },
    /// The service has no `image:`: compose named its build `<project>-<service>`.
    ProjectDefault { service: String },
}

impl fmt::Display for ImageCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageCause::Named { service } => write!(f, "image of service {service}"),
            ImageCause::ProjectDefault { service } => {
                write!(f, "built for service {service}")
            }
        }
    }
}

/// One image `down --rmi` removes (after the containers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRemoval {
    /// Compose's form: the familiar name with its tag (`busybox:latest`, `p-web:latest`).
    pub reference: String,
    pub cause: ImageCause,
}

/// What `down` is asked to remove besides the project's containers and networks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DownOptions {
    /// `--remove-orphans`.
    pub remove_orphans: bool,
    /// `-v`.
    pub remove_volumes: bool,
    /// `--rmi`.
    pub remove_images: Option<RemoveImages>,
}

/// Plans `down`: every container of the project (and orphans with `remove_orphans`), in
/// reverse dependency order, then the project's networks, the images of `--rmi`, then (with
/// `-v`) its volumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownPlan {
    /// Containers by stop level (dependents first).
    pub levels: Vec<Vec<(String, String)>>,
    /// Orphans kept (no `--remove-orphans`).
    pub kept_orphans: Vec<String>,
    /// Network engine names to remove.
    pub networks: Vec<String>,
    /// Images to remove (`--rmi`), sorted by reference.
    pub images: Vec<ImageRemoval>,
    /// Volume engine names to remove.
    pub volumes: Vec<String>,
    /// `-v`: containers are removed with their anonymous volumes (Compose's `RemoveVolumes`).
    pub remove_anonymous_volumes: bool,
}

impl fmt::Display for DownPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.kept_orphans {
            writeln!(f, "keep orphan {name}")?;
        }
        for (i, level) in self.levels.iter().enumerate() {
            writeln!(f, "level {i}:")?;
            for (_, name) in level {
                writeln!(f, "  stop and remove {name}")?;
            }
        }
        for name in &self.networks {
            writeln!(f, "remove network {name}")?;
        }
        for img in &self.images {
            writeln!(f, "remove image {} ({})", img.reference, img.cause)?;
        }
        for name in &self.volumes {
            writeln!(f, "remove volume {name}")?;
        }
        Ok(())
    }
}

/// `--rmi`'s images, as Compose chooses them: with `all` every `image:` of a service, with
/// both modes the `<project>-<service>` image of a service without `image:`, each only when
/// it exists (`observed.images`), deduplicated by its normalized familiar name.
///
/// Not yet here: Compose also takes the tagged images labelled with the project
/// (`com.docker.compose.project`, with a `com.docker.compose.service` of the project, any
/// with `--remove-orphans`), which its builds carry and ours do not yet. It matters for a
/// built service with an `image:` name under `--rmi local`, and for `down -p NAME` without a
/// file, where the services (rebuilt from the containers) all have an image name.
pub fn images_to_remove(
    project: &Project,
    observed: &Observed,
    mode: RemoveImages,
) -> Vec<ImageRemoval> {
    let mut out: BTreeMap<String, ImageCause> = BTreeMap::new();
    for svc in project.services.values() {
        let reference = cs::service_image(project, svc);
        let cause = if svc.image.is_empty() {
            ImageCause::ProjectDefault {
                service: svc.name.clone(),
            }
        } else if mode == RemoveImages::All {
            ImageCause::Named {
                service: svc.name.clone(),
            }
        } else {
            continue;
        };
        if !observed.images.contains_key(&reference) {
            continue;
        }
        out.entry(compose_image_name(&reference)).or_insert(cause);
    }
    out.into_iter()
        .map(|(reference, cause)| ImageRemoval { reference, cause })
        .collect()
}

/// `busybox` → `busybox:latest`, `docker.io/library/busybox:1` → `busybox:1` (Compose's
/// `TagNameOnly` then `FamiliarString`); a reference that does not parse stays as written.
fn compose_image_name(reference: &str) -> String {
    use crate::engine::embedded::store::images::{familiar_name, normalize_reference};
    normalize_reference(reference).map_or_else(|| reference.to_string(), |n| familiar_name(&n))
}

pub fn plan_down(
    project: &Project,
    graph: &DependencyGraph,
    observed: &Observed,
    opts: &DownOptions,
) -> DownPlan {
    let DownOptions {
        remove_orphans,
        remove_volumes,
        remove_images,
    } = *opts;
    let mut plan = DownPlan::default();
    let mut by_service: BTreeMap<&str, Vec<&ContainerInfo>> = BTreeMap::new();
    for c in &observed.containers {
        by_service.entry(service_of(c)).or_default().push(c);
    }
    let mut orphans = Vec::new();
    if remove_orphans {
        orphans.extend(
            observed
                .oneoffs
                .iter()
                .map(|c| (c.id.clone(), c.name.clone())),
        );
    }
    for (svc, cs) in &by_service {
        if !project.services.contains_key(*svc) {
            for c in cs {
                if remove_orphans {
                    orphans.push((c.id.clone(), c.name.clone()));
                } else {
                    plan.kept_orphans.push(c.name.clone());
                }
            }
        }
    }
    if !orphans.is_empty() {
        plan.levels.push(orphans);
    }
    let mut levels = graph.start_levels();
    levels.reverse();
    for level in levels {
        let mut out = Vec::new();
        for svc in level {
            for c in by_service.get(svc.as_str()).into_iter().flatten() {
                out.push((c.id.clone(), c.name.clone()));
            }
        }
        if !out.is_empty() {
            plan.levels.push(out);
        }
    }
    for (key, n) in &project.networks {
        let name = cs::network_name(project, key);
        if !n.external && observed.networks.contains(&name) {
            plan.networks.push(name);
        }
    }
    if let Some(mode) = remove_images {
        plan.images = images_to_remove(project, observed, mode);
    }
    plan.remove_anonymous_volumes = remove_volumes;
    if remove_volumes {
        for (key, v) in &project.volumes {
            let name = cs::volume_name(project, key);
            if !v.external && observed.volumes.contains(&name) {
                plan.volumes.push(name);
            }
        }
    }
    plan
}
