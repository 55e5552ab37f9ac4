//! Normalization and semantic validation of the typed project.
//!
//! After binding: profiles and service selection, `env_file`/`label_file` contents, implicit
//! dependencies (`links`, `volumes_from`, `network_mode`/`ipc: service:x`), the default
//! network, resource names, build defaults, unused resources dropped; then the checks
//! compose-go runs (undefined references, image or build, container names, cycles...), all
//! collected, each with the dotted path and, via the merged tree, the position of the value.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use indexmap::IndexMap;

use super::dotenv;
use super::error::{LoadError, Problem};
use super::model::hash_view::Unresolved;
use super::model::*;
use super::node::{Node, Value};
use super::options::LoadOptions;
use super::source::Span;
use crate::graph::DependencyGraph;

pub struct Normalizer<'a> {
    pub opts: &'a LoadOptions,
    pub env: &'a IndexMap<String, String>,
    pub project_dir: &'a Path,
    pub tree: &'a Node,
    pub errors: &'a mut Vec<LoadError>,
    pub warnings: &'a mut Vec<String>,
}

/// Finds the node at a dotted path (`services.web.ports[0]`) in the merged tree.
pub fn node_at<'t>(tree: &'t Node, path: &str) -> Option<&'t Node> {
    let mut node = tree;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            node = node.get(key)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            node = node.as_seq()?.get(i)?;
        }
    }
    Some(node)
}

/// Position of the key of a mapping entry at `path` (falls back to the value's position).
pub fn key_span(tree: &Node, path: &str) -> Option<Span> {
    let (parent, key) = path.rsplit_once('.')?;
    let p = node_at(tree, parent)?;
    p.as_map()
        .and_then(|m| m.get(key))
        .map(|e| e.key_span)
        .or_else(|| node_at(tree, path).map(|n| n.span))
}

impl Normalizer<'_> {
    fn error(&mut self, problem: Problem, path: &str, message: String) {
        let span = key_span(self.tree, path).or_else(|| node_at(self.tree, path).map(|n| n.span));
        self.errors
            .push(LoadError::new(problem, message).at_opt(span).path(path));
    }

    pub fn run(&mut self, project: &mut Project) {
        if !self.opts.skip_normalization {
            self.profiles(project);
            self.env_files(project);
            self.defaults(project);
        }
        self.validate(project);
        if self.errors.is_empty() && !self.opts.skip_normalization {
            self.select(project);
            drop_unused(project);
        }
    }

    fn active_profiles(&self) -> Vec<String> {
        let list = match &self.opts.profiles {
            Some(p) => p.clone(),
            None => self
                .env
                .get("COMPOSE_PROFILES")
                .map(|s| vec![s.clone()])
                .unwrap_or_default(),
        };
        list.iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    fn profiles(&mut self, project: &mut Project) {
        let active = self.active_profiles();
        let all = active.iter().any(|p| p == "*");
        let targeted: BTreeSet<&String> = self.opts.services.iter().collect();
        let disabled: Vec<String> = project
            .services
            .iter()
            .filter(|(name, s)| {
                !(s.profiles.is_empty()
                    || all
                    || targeted.contains(name)
                    || s.profiles.iter().any(|p| active.contains(p)))
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in &disabled {
            project.services.remove(name);
        }
        for name in &self.opts.services {
            if !project.services.contains_key(name)
                && !disabled.contains(name)
                && self.opts.select_services
            {
                self.errors.push(LoadError::new(
                    Problem::Reference,
                    format!("no such service: {name}"),
                ));
            }
        }
    }

    fn lookup(&self, k: &str) -> Option<String> {
        self.env.get(k).cloned()
    }

    fn read(&mut self, path: &str, required: bool, at: &str) -> Option<String> {
        match std::fs::read_to_string(path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.error(
                    Problem::EnvFile,
                    at,
                    format!("env file {path} not found: stat {path}: no such file or directory"),
                );
                None
            }
            Err(e) => {
                self.error(Problem::EnvFile, at, format!("failed to read {path}: {e}"));
                None
            }
        }
    }

    fn env_files(&mut self, project: &mut Project) {
        let names: Vec<String> = project.services.keys().cloned().collect();
        for name in names {
            let Some(svc) = project.services.get(&name) else {
                continue;
            };
            let env_files = svc.env_file.clone();
            let label_files = svc.label_file.clone();
            let own_env = svc.environment.clone();
            let mut from_files: IndexMap<String, String> = IndexMap::new();
            for (i, f) in env_files.iter().enumerate().filter(|_| !self.opts.listing) {
                let at = format!("services.{name}.env_file[{i}]");
                let Some(text) = self.read(&f.path, f.required, &at) else {
                    continue;
                };
                let env = self.env;
                let lookup = |k: &str| {
                    env.get(k)
                        .cloned()
                        .or_else(|| own_env.get(k).cloned().flatten())
                };
                let earlier = from_files.clone();
                let base = |k: &str| {
                    own_env
                        .get(k)
                        .cloned()
                        .flatten()
                        .or_else(|| earlier.get(k).cloned())
                };
                let parsed = if f.format.as_deref() == Some("raw") {
                    dotenv::parse_raw_with_lookup(&text, &lookup)
                        .map_err(|e| format!("failed to parse env_file {}: {e}", f.path))
                } else {
                    dotenv::parse_layered(&text, &lookup, &base)
                        .map(|o| o.entries)
                        .map_err(|e| format!("failed to read {}: {e}", f.path))
                };
                match parsed {
                    Ok(entries) => {
                        for (k, v) in entries {
                            if let Some(v) = v {
                                from_files.insert(k, v);
                            }
                        }
                    }
                    Err(msg) => self.error(Problem::EnvFile, &at, msg),
                }
            }
            let mut labels_from: BTreeMap<String, String> = BTreeMap::new();
            for (i, f) in label_files.iter().enumerate() {
                let at = format!("services.{name}.label_file[{i}]");
                let Some(text) = self.read(f, true, &at) else {
                    continue;
                };
                let env = self.env;
                let lookup = |k: &str| env.get(k).cloned();
                match dotenv::parse(&text, &lookup) {
                    Ok(entries) => {
                        for (k, v) in entries {
                            if let Some(v) = v {
                                labels_from.insert(k, v);
                            }
                        }
                    }
                    Err(e) => self.error(Problem::EnvFile, &at, format!("failed to read {f}: {e}")),
                }
            }
            let resolved: BTreeMap<String, Option<String>> = {
                let mut m: BTreeMap<String, Option<String>> =
                    from_files.into_iter().map(|(k, v)| (k, Some(v))).collect();
                for (k, v) in own_env {
                    let v = v.or_else(|| self.lookup(&k));
                    m.insert(k, v);
                }
                m
            };
            let Some(svc) = project.services.get_mut(&name) else {
                continue;
            };
            // `env_file`/`label_file` stay (hidden from output) for the config hash.
            // The hash view: the keys the files set, with their final values, and no
            // values from `env_file` (labels from `label_file` are merged in it too).
            let own: MappingWithEquals = std::mem::take(&mut svc.environment)
                .into_keys()
                .map(|k| {
                    let v = resolved.get(&k).cloned().flatten();
                    (k, v)
                })
                .collect();
            svc.environment = resolved;
            svc.unresolved = Some(Box::new(Unresolved { environment: own }));
            for (k, v) in labels_from {
                svc.labels.entry(k).or_insert(v);
            }
            svc.label_file.clear();
            if let Some(b) = svc.build.as_mut() {
                for (k, v) in b.args.iter_mut() {
                    if v.is_none() {
                        *v = self.env.get(k).cloned();
                    }
                }
            }
        }
    }

    fn defaults(&mut self, project: &mut Project) {
        let names: BTreeSet<String> = project.services.keys().cloned().collect();
        let mut uses_default = false;
        for svc in project.services.values_mut() {
            // Implicit dependencies.
            let mut implicit: Vec<(String, bool)> = Vec::new();
            for l in &svc.links {
                let target = l.split(':').next().unwrap_or_default().to_string();
                implicit.push((target, true));
            }
            for v in &svc.volumes_from {
                if v.starts_with("container:") {
                    continue;
                }
                implicit.push((v.split(':').next().unwrap_or_default().to_string(), false));
            }
            for mode in [&svc.network_mode, &svc.ipc, &svc.pid] {
                if let Some(s) = mode.strip_prefix("service:") {
                    implicit.push((s.to_string(), true));
                }
            }
            for (dep, restart) in implicit {
                if names.contains(&dep) && !svc.depends_on.contains_key(&dep) {
                    svc.depends_on.insert(
                        dep,
                        DependsOn {
                            restart,
                            ..Default::default()
                        },
                    );
                }
            }
            if svc.network_mode.is_empty() && svc.networks.is_empty() && svc.provider.is_none() {
                svc.networks.insert("default".into(), None);
            }
            if svc.networks.contains_key("default") {
                uses_default = true;
            }
            if let Some(b) = svc.build.as_mut() {
                if b.context.is_empty() {
                    b.context = self.project_dir.display().to_string();
                }
                if b.dockerfile.is_empty() && b.dockerfile_inline.is_empty() {
                    b.dockerfile = "Dockerfile".into();
                }
            }
            for s in svc.secrets.iter_mut() {
                if s.target.is_empty() {
                    s.target = format!("/run/secrets/{}", s.source);
                }
            }
        }
        if uses_default {
            project.networks.entry("default".into()).or_default();
        }
        let pname = project.name.clone();
        let name_of = |key: &str, name: &mut String, external: bool| {
            if name.is_empty() {
                *name = if external {
                    key.to_string()
                } else {
                    format!("{pname}_{key}")
                };
            }
        };
        for (k, n) in project.networks.iter_mut() {
            name_of(k, &mut n.name, n.external);
        }
        for (k, v) in project.volumes.iter_mut() {
            name_of(k, &mut v.name, v.external);
        }
        for (k, s) in project.secrets.iter_mut().chain(project.configs.iter_mut()) {
            name_of(k, &mut s.name, s.external);
        }
    }

    fn validate(&mut self, project: &Project) {
        let consistency = !self.opts.skip_consistency;
        let mut container_names: HashMap<String, String> = HashMap::new();
        for (name, svc) in &project.services {
            let p = format!("services.{name}");
            if let Some(Value::String(cn)) =
                node_at(self.tree, &format!("{p}.container_name")).map(|n| &n.value)
            {
                if !valid_container_name(cn) {
                    self.error(
                        Problem::Schema,
                        &format!("{p}.container_name"),
                        format!("{p}.container_name '{cn}' does not match pattern '[a-zA-Z0-9][a-zA-Z0-9_.-]+'"),
                    );
                }
            }
            if svc.image.is_empty() && svc.build.is_none() && svc.provider.is_none() {
                self.error(
                    Problem::Invalid,
                    &p,
                    format!("service {name:?} has neither an image nor a build context specified: invalid compose project"),
                );
            }
            if !svc.container_name.is_empty() {
                if let Some(other) = container_names
                    .insert(svc.container_name.clone(), name.clone())
                    .filter(|_| !self.opts.listing)
                {
                    self.error(
                        Problem::Conflict,
                        &format!("{p}.container_name"),
                        format!("services.{other}: container name {:?} is already in use by service {name}", svc.container_name),
                    );
                }
                let replicas = svc
                    .scale
                    .or(svc.deploy.as_ref().and_then(|d| d.replicas))
                    .unwrap_or(1);
                if replicas > 1 {
                    self.error(
                        Problem::Conflict,
                        &format!("{p}.container_name"),
                        format!("services.{name}: container_name {:?} cannot be used with scale {replicas}: container names must be unique", svc.container_name),
                    );
                }
            }
            if let Some(scale) = svc.scale {
                if scale < 0 {
                    self.error(
                        Problem::Invalid,
                        &format!("{p}.scale"),
                        format!("{p}.scale must be greater than or equal to 0"),
                    );
                }
                if let Some(r) = svc.deploy.as_ref().and_then(|d| d.replicas) {
                    if r != scale {
                        self.error(
                            Problem::Conflict,
                            &format!("{p}.scale"),
                            format!("services.{name}: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"),
                        );
                    }
                }
            }
            if !svc.network_mode.is_empty()
                && !svc.networks.is_empty()
                && node_at(self.tree, &format!("{p}.networks")).is_some()
            {
                self.error(
                    Problem::Conflict,
                    &format!("{p}.network_mode"),
                    format!("service {name} declares mutually exclusive `network_mode` and `networks`: invalid compose project"),
                );
            }
            if let Some(hc) = &svc.healthcheck {
                // Docker Compose's `config` accepts this and its `up` refuses it; say so now.
                if hc.start_interval.is_some() && hc.start_period.is_none() {
                    self.warnings.push(format!(
                        "{p}.healthcheck.start_interval requires healthcheck.start_period to be set: `up` will refuse to create service {name:?}"
                    ));
                }
                if let Some(first) = hc.test.first() {
                    if !matches!(first.as_str(), "NONE" | "CMD" | "CMD-SHELL") {
                        self.error(
                            Problem::Invalid,
                            &format!("{p}.healthcheck.test"),
                            format!("{p}.healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\""),
                        );
                    }
                }
            }
            if let Some(b) = &svc.build {
                if !svc.platform.is_empty()
                    && !b.platforms.is_empty()
                    && !b.platforms.contains(&svc.platform)
                {
                    self.error(
                        Problem::Invalid,
                        &format!("{p}.platform"),
                        format!("service.build.platforms MUST include service.platform {:?}: invalid compose project", svc.platform),
                    );
                }
            }
            for (i, port) in svc.ports.iter().enumerate() {
                if port.target == 0 {
                    self.error(
                        Problem::Invalid,
                        &format!("{p}.ports[{i}]"),
                        format!("service ports {p}.ports.[{i}] is missing a target port"),
                    );
                }
            }
            for (i, v) in svc.volumes.iter().enumerate() {
                if v.target.is_empty() {
                    self.error(
                        Problem::Invalid,
                        &format!("{p}.volumes[{i}]"),
                        format!("service volume {p}.volumes.[{i}] is missing a mount target"),
                    );
                } else if !v.target.starts_with('/')
                    && !super::paths::is_windows_abs(&v.target)
                    && v.kind != "npipe"
                {
                    // A colon in the target means the short form had more sections than
                    // `source:target:mode`, which compose-go split elsewhere than meant.
                    let why = if v.target.contains("::")
                        || v.target.starts_with(':')
                        || v.target.ends_with(':')
                    {
                        " (empty section between colons)"
                    } else if v.target.contains(':') {
                        " (too many colons)"
                    } else {
                        ""
                    };
                    self.error(
                        Problem::Invalid,
                        &format!("{p}.volumes[{i}].target"),
                        format!(
                            "{p}.volumes[{i}].target {:?} must be an absolute path{why}",
                            v.target
                        ),
                    );
                }
            }
            for (kind, refs) in [("secrets", &svc.secrets), ("configs", &svc.configs)] {
                for (i, r) in refs.iter().enumerate() {
                    if r.target.split('/').any(|c| c == "..") {
                        self.error(
                            Problem::Invalid,
                            &format!("{p}.{kind}[{i}].target"),
                            format!(
                                "{p}.{kind}[{i}].target {:?} must not contain '..'",
                                r.target
                            ),
                        );
                    }
                }
            }
            if !consistency {
                continue;
            }
            for (dep, d) in &svc.depends_on {
                if !project.services.contains_key(dep) {
                    if d.required {
                        self.error(
                            Problem::Reference,
                            &format!("{p}.depends_on.{dep}"),
                            format!("service {name:?} depends on undefined service {dep:?}: invalid compose project"),
                        );
                    } else {
                        self.warnings.push(format!("service {name:?} depends on undefined service {dep:?}, which is not required"));
                    }
                }
            }
            for net in svc.networks.keys() {
                if !project.networks.contains_key(net) && net != "default" {
                    self.error(
                        Problem::Reference,
                        &format!("{p}.networks.{net}"),
                        format!("service {name:?} refers to undefined network {net}: invalid compose project"),
                    );
                }
            }
            for (i, v) in svc.volumes.iter().enumerate() {
                if v.kind == "volume"
                    && !v.source.is_empty()
                    && !project.volumes.contains_key(&v.source)
                {
                    self.error(
                        Problem::Reference,
                        &format!("{p}.volumes[{i}]"),
                        format!("service {name:?} refers to undefined volume {}: invalid compose project", v.source),
                    );
                }
            }
            let build_secrets = svc
                .build
                .as_ref()
                .map(|b| b.secrets.as_slice())
                .unwrap_or_default();
            for (i, s) in svc.secrets.iter().chain(build_secrets.iter()).enumerate() {
                if !project.secrets.contains_key(&s.source) {
                    self.error(
                        Problem::Reference,
                        &format!("{p}.secrets[{i}]"),
                        format!("service {name:?} refers to undefined secret {}: invalid compose project", s.source),
                    );
                }
            }
            for (i, c) in svc.configs.iter().enumerate() {
                if !project.configs.contains_key(&c.source) {
                    self.error(
                        Problem::Reference,
                        &format!("{p}.configs[{i}]"),
                        format!("service {name:?} refers to undefined config {}: invalid compose project", c.source),
                    );
                }
            }
        }
        if consistency {
            if let Err(cycle) = DependencyGraph::build(project) {
                let first = cycle.first().cloned().unwrap_or_default();
                self.error(
                    Problem::Cycle,
                    &format!("services.{first}.depends_on"),
                    cycle_message(&cycle),
                );
            }
        }
    }

    /// `config web` keeps `web` and its dependencies.
    fn select(&mut self, project: &mut Project) {
        if !self.opts.select_services || self.opts.services.is_empty() {
            return;
        }
        let Ok(graph) = DependencyGraph::build(project) else {
            return;
        };
        let keep: BTreeSet<String> = graph.closure(&self.opts.services).into_iter().collect();
        project.services.retain(|n, _| keep.contains(n));
    }
}

/// `dependency cycle detected: a -> b -> c -> a`.
pub fn cycle_message(cycle: &[String]) -> String {
    let mut parts = cycle.to_vec();
    if let Some(first) = cycle.first() {
        parts.push(first.clone());
    }
    format!("dependency cycle detected: {}", parts.join(" -> "))
}

fn valid_container_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// Drops top-level networks, volumes, secrets and configs no service uses (as `config` does).
pub fn drop_unused(project: &mut Project) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let mut configs = BTreeSet::new();
    for svc in project.services.values() {
        nets.extend(svc.networks.keys().cloned());
        for v in &svc.volumes {
            if v.kind == "volume" && !v.source.is_empty() {
                vols.insert(v.source.clone());
            }
        }
        secrets.extend(svc.secrets.iter().map(|s| s.source.clone()));
        if let Some(b) = &svc.build {
            secrets.extend(b.secrets.iter().map(|s| s.source.clone()));
        }
        configs.extend(svc.configs.iter().map(|c| c.source.clone()));
    }
    project.networks.retain(|k, _| nets.contains(k));
    project.volumes.retain(|k, _| vols.contains(k));
    project.secrets.retain(|k, _| secrets.contains(k));
    project.configs.retain(|k, _| configs.contains(k));
}

#[allow(dead_code)]
fn span_of(node: &Node) -> Span {
    node.span
}
