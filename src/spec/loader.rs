//! The loading pipeline: files + environment → canonical tree → typed [`Project`].
//!
//! Per file: read (size-capped) → YAML with positions → interpolation → short→long →
//! relative paths → `extends` → `include`; then the files are merged in `-f` order, bound to
//! the typed model, normalized and validated (see `normalize.rs`). Errors are collected per
//! phase; a later phase only runs when the earlier ones succeeded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use tracing::{debug_span, trace};

use super::canonical;
use super::de;
use super::environment::{self, absolutize, ConfigFile, ProjectEnv};
use super::error::{LoadError, LoadErrors, Problem};
use super::interpolation;
use super::merge;
use super::model::Project;
use super::node::{Entry, Map, Node, Value};
use super::normalize;
use super::options::LoadOptions;
use super::paths::{self, Resolver};
use super::project_name;
use super::source::{FileId, SourceMap};
use super::tree_json;
use super::yaml;

/// Largest compose file accepted (checked before parsing).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// A loaded project with everything later layers and `config` need.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub project: Project,
    /// The merged canonical tree (for positions of semantic errors).
    pub tree: Node,
    pub sources: SourceMap,
    pub env: IndexMap<String, String>,
    pub project_dir: PathBuf,
    pub files: Vec<ConfigFile>,
    /// The env files named explicitly (see [`environment::ProjectEnv::explicit_env_files`]).
    pub env_files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// Loads a project.
pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadErrors> {
    let sources = SourceMap::new();
    let pe =
        environment::resolve(opts, &sources).map_err(|e| LoadErrors::one(e, sources.clone()))?;
    let mut loader = Loader::new(opts, sources.clone(), &pe);
    let result = loader.run(&pe);
    match result {
        Some(mut loaded) if loader.errors.is_empty() => {
            loaded.warnings.splice(0..0, pe.warnings.iter().cloned());
            Ok(loaded)
        }
        _ => Err(LoadErrors {
            errors: loader.errors,
            sources,
        }),
    }
}

/// Where and how one file is processed.
#[derive(Clone)]
struct FileCtx {
    env: IndexMap<String, String>,
    base: PathBuf,
    default_build_context: bool,
    /// Files being included (cycle detection).
    include_stack: Vec<String>,
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    sources: SourceMap,
    errors: Vec<LoadError>,
    warnings: Vec<String>,
    unset: Vec<String>,
    home: String,
    limits: yaml::Limits,
    /// Files loaded as `extends` sources, by path and base directory.
    extends_cache: HashMap<(String, PathBuf), Option<Node>>,
    /// (file, service) pairs whose `extends` is being resolved.
    extends_stack: Vec<(String, String)>,
}

impl<'a> Loader<'a> {
    fn new(opts: &'a LoadOptions, sources: SourceMap, pe: &ProjectEnv) -> Self {
        Loader {
            opts,
            sources,
            errors: Vec::new(),
            warnings: Vec::new(),
            unset: Vec::new(),
            home: pe.env.get("HOME").cloned().unwrap_or_default(),
            limits: yaml::Limits::default(),
            extends_cache: HashMap::new(),
            extends_stack: Vec::new(),
        }
    }

    fn run(&mut self, pe: &ProjectEnv) -> Option<Loaded> {
        let _span = debug_span!("load", files = pe.files.len()).entered();
        // Read and parse every file first: the project name (which may come from `name:`) is
        // needed in the environment before interpolation.
        let mut raws = Vec::new();
        for cf in &pe.files {
            if let Some((label, root)) = self.read_yaml(cf) {
                raws.push((label, root));
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        let mut env = pe.env.clone();
        let name = self.project_name(&raws, &env, &pe.project_dir)?;
        env.entry("COMPOSE_PROJECT_NAME".into())
            .or_insert_with(|| name.clone());

        let ctx = FileCtx {
            env: env.clone(),
            base: pe.project_dir.clone(),
            default_build_context: false,
            include_stack: Vec::new(),
        };
        let mut acc: Option<Node> = None;
        for (label, root) in raws {
            let Some(tree) = self.process(root, &label, &ctx) else {
                continue;
            };
            match &mut acc {
                None => acc = Some(tree),
                Some(a) => merge::merge(a, tree, &mut Vec::new()),
            }
        }
        self.flush_unset();
        if !self.errors.is_empty() {
            return None;
        }
        let mut tree = acc?;
        merge::strip_tags(&mut tree);

        let mut extensions = IndexMap::new();
        if let Some(map) = tree.as_map_mut() {
            for key in ["name", "include"] {
                map.shift_remove(key);
            }
            if map.shift_remove("version").is_some() {
                self.warnings.push("the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion".into());
            }
            let ext_keys: Vec<String> = map
                .keys()
                .filter(|k| k.starts_with("x-"))
                .cloned()
                .collect();
            for k in ext_keys {
                if let Some(e) = map.shift_remove(&k) {
                    extensions.insert(k, tree_json::to_json(&e.value));
                }
            }
        }
        let bound = de::from_node_all(&tree, "");
        self.warnings.extend(de::take_warnings());
        let mut project: Project = match bound {
            Ok(p) => p,
            Err(errors) => {
                for e in errors {
                    self.errors.push(
                        LoadError::new(Problem::Schema, e.describe())
                            .at_opt(e.span)
                            .path(e.path.as_deref().unwrap_or("")),
                    );
                }
                return None;
            }
        };
        project.name = name;
        project.extensions = extensions;
        let tree_services = tree.get("services").and_then(Node::as_map);
        for (n, s) in project.services.iter_mut() {
            s.name = n.clone();
            if let Some(svc) = tree_services
                .and_then(|m| m.get(n))
                .and_then(|e| e.value.as_map())
            {
                for (k, e) in svc.iter().filter(|(k, _)| k.starts_with("x-")) {
                    s.extensions.insert(k.clone(), tree_json::to_json(&e.value));
                }
            }
        }
        let mut norm = normalize::Normalizer {
            opts: self.opts,
            env: &env,
            project_dir: &pe.project_dir,
            tree: &tree,
            errors: &mut self.errors,
            warnings: &mut self.warnings,
        };
        norm.run(&mut project);
        if !self.errors.is_empty() {
            return None;
        }
        Some(Loaded {
            project,
            tree,
            sources: self.sources.clone(),
            env,
            project_dir: pe.project_dir.clone(),
            files: pe.files.clone(),
            env_files: pe.explicit_env_files.clone(),
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    fn flush_unset(&mut self) {
        let mut seen = std::collections::HashSet::new();
        for name in std::mem::take(&mut self.unset) {
            if seen.insert(name.clone()) {
                self.warnings.push(format!(
                    "The \"{name}\" variable is not set. Defaulting to a blank string."
                ));
            }
        }
    }

    /// `-p` > `COMPOSE_PROJECT_NAME` > last `name:` > directory name.
    fn project_name(
        &mut self,
        raws: &[(String, Node)],
        env: &IndexMap<String, String>,
        dir: &Path,
    ) -> Option<String> {
        let checked = |r: Result<String, LoadError>, errors: &mut Vec<LoadError>| match r {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let Some(p) = self.opts.project_name.as_deref().filter(|p| !p.is_empty()) {
            return checked(
                project_name::validate(p).map_err(|e| e.path("-p/--project-name")),
                &mut self.errors,
            );
        }
        if let Some(p) = env.get("COMPOSE_PROJECT_NAME").filter(|p| !p.is_empty()) {
            return checked(
                project_name::validate(p).map_err(|e| e.path("COMPOSE_PROJECT_NAME")),
                &mut self.errors,
            );
        }
        let mut from_file = None;
        for (_, root) in raws {
            if let Some(n) = root.get("name") {
                let mut n = n.clone();
                if !self.opts.skip_interpolation {
                    let lookup = |k: &str| env.get(k).cloned();
                    let mut unset = Vec::new();
                    interpolation::apply(
                        &mut n,
                        &mut "name".to_string(),
                        &lookup,
                        &mut unset,
                        &mut Vec::new(),
                    );
                }
                if let Some(s) = n.scalar_string().filter(|s| !s.is_empty()) {
                    from_file = Some(s);
                }
            }
        }
        let name = match from_file {
            Some(n) => project_name::normalize(&n),
            None => project_name::normalize(
                &dir.file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default(),
            ),
        };
        if name.is_empty() {
            self.errors.push(LoadError::new(
                Problem::Usage,
                "project name must not be empty",
            ));
            return None;
        }
        Some(name)
    }

    /// Reads and parses one file into a single mapping (documents merged).
    fn read_yaml(&mut self, cf: &ConfigFile) -> Option<(String, Node)> {
        let (label, bytes) = match cf {
            ConfigFile::Stdin => (
                "-".to_string(),
                self.opts.stdin.clone().unwrap_or_default().into_bytes(),
            ),
            ConfigFile::Path(p) => match read_capped(p) {
                Ok(b) => (p.display().to_string(), b),
                Err(e) => {
                    let msg = if e.kind() == std::io::ErrorKind::NotFound {
                        format!("open {}: no such file or directory", p.display())
                    } else {
                        format!("open {}: {e}", p.display())
                    };
                    self.errors.push(LoadError::new(Problem::Io, msg));
                    return None;
                }
            },
        };
        self.parse_bytes(label, bytes)
    }

    fn parse_bytes(&mut self, label: String, bytes: Vec<u8>) -> Option<(String, Node)> {
        if bytes.len() > MAX_FILE_BYTES {
            self.errors.push(LoadError::new(
                Problem::Io,
                format!("{label}: file too large: more than the limit of {MAX_FILE_BYTES} bytes"),
            ));
            return None;
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&e.as_bytes()[..at]);
                let line = valid.matches('\n').count() + 1;
                let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                self.errors.push(LoadError::new(
                    Problem::Io,
                    format!("{label}:{line}:{col}: invalid UTF-8 at byte offset {at}"),
                ));
                return None;
            }
        };
        let id: FileId = self.sources.add(&label, text.clone());
        let docs = match yaml::parse(&text, id, &self.limits) {
            Ok(d) => d,
            Err(e) => {
                self.errors
                    .push(LoadError::new(Problem::Syntax, format!("yaml: {e}")).at(e.span()));
                return None;
            }
        };
        let mut root: Option<Node> = None;
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            match &mut root {
                None => root = Some(doc),
                Some(r) => {
                    if r.as_map().is_some() && doc.as_map().is_some() {
                        merge::merge(r, doc, &mut Vec::new());
                    }
                }
            }
        }
        let Some(root) = root else {
            self.errors.push(
                LoadError::new(Problem::Syntax, format!("{label}: empty compose file"))
                    .at(super::source::Span::new(id, 1, 1)),
            );
            return None;
        };
        if root.as_map().is_none() {
            self.errors.push(
                LoadError::new(Problem::Schema, "top-level object must be a mapping").at(root.span),
            );
            return None;
        }
        Some((label, root))
    }

    /// Interpolation → canonical → paths → extends → include, for one file.
    fn process(&mut self, mut root: Node, label: &str, ctx: &FileCtx) -> Option<Node> {
        let _span = debug_span!("file", file = label).entered();
        let before = self.errors.len();
        if !self.opts.skip_interpolation {
            let env = &ctx.env;
            let lookup = |k: &str| env.get(k).cloned();
            interpolation::apply(
                &mut root,
                &mut String::new(),
                &lookup,
                &mut self.unset,
                &mut self.errors,
            );
        }
        canonical::file(&mut root, &mut self.errors);
        if !self.opts.skip_path_resolution {
            Resolver {
                base: &ctx.base,
                home: &self.home,
                default_build_context: ctx.default_build_context,
            }
            .file(&mut root);
        }
        if self.errors.len() > before {
            return None;
        }
        self.apply_extends(&mut root, label, ctx);
        self.apply_include(&mut root, label, ctx);
        trace!(file = label, "processed");
        (self.errors.len() == before).then_some(root)
    }

    fn apply_extends(&mut self, root: &mut Node, label: &str, ctx: &FileCtx) {
        let Some(services) = root.get_mut("services").and_then(|s| s.as_map_mut()) else {
            return;
        };
        let names: Vec<String> = services.keys().cloned().collect();
        for name in names {
            self.resolve_extends(services, &name, label, ctx);
        }
    }

    fn resolve_extends(&mut self, services: &mut Map, name: &str, label: &str, ctx: &FileCtx) {
        let Some(entry) = services.get(name) else {
            return;
        };
        let Some(ext) = entry.value.get("extends").cloned() else {
            return;
        };
        let path = format!("services.{name}.extends");
        let (base_name, file) = match &ext.value {
            Value::String(s) => (s.clone(), None),
            Value::Map(_) => {
                let Some(s) = ext.get("service").and_then(|s| s.as_str()) else {
                    self.errors.push(
                        LoadError::new(
                            Problem::Schema,
                            format!("{path} missing property 'service'"),
                        )
                        .at(ext.span),
                    );
                    return;
                };
                (
                    s.to_string(),
                    ext.get("file").and_then(|f| f.as_str()).map(str::to_string),
                )
            }
            _ => {
                self.errors.push(
                    LoadError::new(
                        Problem::Schema,
                        format!("{path} must be a string or a mapping"),
                    )
                    .at(ext.span),
                );
                return;
            }
        };
        if let Some(f) = file.as_deref().filter(|f| paths::is_remote_source(f)) {
            let span = ext.get("file").map_or(ext.span, |n| n.span);
            self.errors.push(
                LoadError::new(
                    Problem::Usage,
                    format!("{path}.file: remote source {f:?} is not supported: only local files can be extended"),
                )
                .at(span),
            );
            return;
        }
        let key = (label.to_string(), name.to_string());
        if self.extends_stack.contains(&key) {
            // compose-go's layout: the first service, then each `extends` step.
            let mut msg = String::from("Circular reference:");
            for (i, (f, s)) in self.extends_stack.iter().enumerate() {
                let step = if i == 0 { "" } else { "extends " };
                msg.push_str(&format!("\n  {step}{s} in {f}"));
            }
            msg.push_str(&format!("\n  extends {name} in {label}"));
            self.errors
                .push(LoadError::new(Problem::Cycle, msg).at(ext.span));
            return;
        }
        self.extends_stack.push(key);
        let base = match &file {
            None => {
                if services.contains_key(&base_name) {
                    self.resolve_extends(services, &base_name, label, ctx);
                    services.get(&base_name).map(|e| e.value.clone())
                } else {
                    None
                }
            }
            Some(f) => self.extends_source(f, &base_name, ctx),
        };
        self.extends_stack.pop();
        let Some(mut base) = base else {
            if self.errors.is_empty() {
                let from = file.clone().unwrap_or_else(|| label.to_string());
                self.errors.push(
                    LoadError::new(Problem::Reference, format!("cannot extend service {name:?} in {from}: service {base_name:?} not found"))
                        .at(ext.span),
                );
            }
            return;
        };
        let Some(entry) = services.get_mut(name) else {
            return;
        };
        let mut svc = entry.value.clone();
        if let Some(m) = svc.as_map_mut() {
            m.shift_remove("extends");
        }
        if let Some(m) = base.as_map_mut() {
            m.shift_remove("extends");
        }
        if base.is_null() {
            base = Node::map(svc.span);
        }
        merge::merge(
            &mut base,
            svc,
            &mut vec!["services".into(), name.to_string()],
        );
        entry.value = base;
    }

    /// The fully processed service `service` of another file.
    fn extends_source(&mut self, file: &str, service: &str, ctx: &FileCtx) -> Option<Node> {
        let path = PathBuf::from(absolutize(&ctx.base, file));
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ctx.base.clone());
        let key = (path.display().to_string(), dir.clone());
        if !self.extends_cache.contains_key(&key) {
            let tree = self
                .read_yaml(&ConfigFile::Path(path.clone()))
                .and_then(|(label, root)| {
                    let sub = FileCtx {
                        base: dir.clone(),
                        default_build_context: true,
                        ..ctx.clone()
                    };
                    self.process(root, &label, &sub)
                });
            self.extends_cache.insert(key.clone(), tree);
        }
        let tree = self.extends_cache.get(&key)?.as_ref()?;
        tree.get("services").and_then(|s| s.get(service)).cloned()
    }

    fn apply_include(&mut self, root: &mut Node, label: &str, ctx: &FileCtx) {
        let Some(map) = root.as_map_mut() else { return };
        let Some(inc) = map.shift_remove("include") else {
            return;
        };
        let Some(items) = inc.value.as_seq() else {
            self.errors
                .push(LoadError::new(Problem::Schema, "include must be a list").at(inc.value.span));
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("include[{i}]");
            let strings = |n: Option<&Node>| -> Vec<String> {
                match n.map(|n| &n.value) {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Seq(v)) => v.iter().filter_map(|x| x.scalar_string()).collect(),
                    _ => vec![],
                }
            };
            let (paths, project_dir, env_files) = match &item.value {
                Value::String(s) => (vec![s.clone()], None, vec![]),
                Value::Map(_) => (
                    strings(item.get("path")),
                    item.get("project_directory")
                        .and_then(|p| p.as_str())
                        .map(str::to_string),
                    strings(item.get("env_file")),
                ),
                _ => {
                    self.errors.push(
                        LoadError::new(
                            Problem::Schema,
                            format!("{ipath} must be a string or a mapping"),
                        )
                        .at(item.span),
                    );
                    continue;
                }
            };
            if paths.is_empty() {
                self.errors.push(
                    LoadError::new(Problem::Schema, format!("{ipath}.path is required"))
                        .at(item.span),
                );
                continue;
            }
            for p in &paths {
                if paths::is_remote_source(p) {
                    self.errors.push(
                        LoadError::new(Problem::Usage, format!("{ipath}: remote include {p:?} is not supported: only local files can be included"))
                            .at(item.span),
                    );
                }
            }
            let files: Vec<PathBuf> = paths
                .iter()
                .map(|p| PathBuf::from(absolutize(&ctx.base, p)))
                .collect();
            let proj_dir = match &project_dir {
                Some(d) => PathBuf::from(absolutize(&ctx.base, d)),
                None => files[0]
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| ctx.base.clone()),
            };
            let env_paths: Vec<PathBuf> = if env_files.is_empty() {
                let dot = proj_dir.join(".env");
                if dot.is_file() {
                    vec![dot]
                } else {
                    vec![]
                }
            } else {
                env_files
                    .iter()
                    .map(|p| PathBuf::from(absolutize(&ctx.base, p)))
                    .collect()
            };
            let values = match environment::read_env_files(
                &env_paths,
                &ctx.env,
                true,
                &mut self.warnings,
                &self.sources,
            ) {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e.at(item.span));
                    continue;
                }
            };
            let mut env = ctx.env.clone();
            for (k, v) in values {
                env.entry(k).or_insert(v);
            }
            let mut stack = ctx.include_stack.clone();
            stack.push(label.to_string());
            let mut included: Option<Node> = None;
            for f in &files {
                let fl = f.display().to_string();
                if stack.contains(&fl) {
                    let mut msg = String::from("include cycle detected:");
                    let mut first = true;
                    for s in stack.iter().chain(std::iter::once(&fl)) {
                        if first {
                            msg.push_str(&format!("\n{s}"));
                            first = false;
                        } else {
                            msg.push_str(&format!("\n include {s}"));
                        }
                    }
                    self.errors
                        .push(LoadError::new(Problem::Cycle, msg).at(item.span));
                    return;
                }
                let sub = FileCtx {
                    env: env.clone(),
                    base: proj_dir.clone(),
                    default_build_context: true,
                    include_stack: stack.clone(),
                };
                let Some((l, r)) = self.read_yaml(&ConfigFile::Path(f.clone())) else {
                    continue;
                };
                let Some(tree) = self.process(r, &l, &sub) else {
                    continue;
                };
                match &mut included {
                    None => included = Some(tree),
                    Some(a) => merge::merge(a, tree, &mut Vec::new()),
                }
            }
            if let Some(inc_tree) = included {
                self.import(root, inc_tree, item.span);
            }
        }
    }

    /// Adds the resources of an included project; a conflicting definition is an error.
    fn import(&mut self, root: &mut Node, included: Node, span: super::source::Span) {
        let Some(root_map) = root.as_map_mut() else {
            return;
        };
        let Value::Map(inc) = included.value else {
            return;
        };
        for (kind, entry) in inc {
            if !matches!(
                kind.as_str(),
                "services" | "networks" | "volumes" | "secrets" | "configs" | "models"
            ) {
                continue;
            }
            let Value::Map(items) = entry.value.value else {
                continue;
            };
            let target = root_map.entry(kind.clone()).or_insert_with(|| Entry {
                key_span: entry.key_span,
                value: Node::map(entry.key_span),
            });
            if target.value.is_null() {
                target.value = Node::map(entry.key_span);
            }
            let Some(tmap) = target.value.as_map_mut() else {
                continue;
            };
            for (name, e) in items {
                match tmap.get(&name) {
                    Some(existing) => {
                        if tree_json::to_json(&existing.value) != tree_json::to_json(&e.value) {
                            self.errors.push(
                                LoadError::new(
                                    Problem::Conflict,
                                    format!("{kind}.{name} conflicts with imported resource"),
                                )
                                .at(existing.key_span)
                                .at_opt(Some(span).filter(|_| existing.key_span.is_synthetic())),
                            );
                        }
                    }
                    None => {
                        tmap.insert(name, e);
                    }
                }
            }
        }
    }
}

/// The parsed files of a project, before any processing (for `config --variables`).
pub fn raw_files(opts: &LoadOptions) -> Result<Vec<Node>, LoadErrors> {
    let sources = SourceMap::new();
    let pe =
        environment::resolve(opts, &sources).map_err(|e| LoadErrors::one(e, sources.clone()))?;
    let mut loader = Loader::new(opts, sources.clone(), &pe);
    let mut out = Vec::new();
    for cf in &pe.files {
        if let Some((_, root)) = loader.read_yaml(cf) {
            out.push(root);
        }
    }
    if loader.errors.is_empty() {
        Ok(out)
    } else {
        Err(LoadErrors {
            errors: loader.errors,
            sources,
        })
    }
}

/// Reads a file, but at most one byte past [`MAX_FILE_BYTES`]: an oversized file is refused
/// without being read whole.
fn read_capped(p: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(p)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}
