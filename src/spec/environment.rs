//! The project environment and the compose files to load.
//!
//! Docker Compose's exact order: the shell environment always wins; `.env` (or the
//! `--env-file`s / `COMPOSE_ENV_FILES`, which replace it) is read from the working directory
//! first, so it may set `COMPOSE_FILE` and `COMPOSE_PROFILES`; after the compose files are
//! found, the `.env` of the project directory is read too, filling only what is still unset.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::dotenv;
use super::error::{LoadError, Problem};
use super::options::LoadOptions;
use super::source::{SourceMap, Span};
use super::volume_spec::clean_path;

/// Default compose file names, in order of preference.
pub const CANDIDATES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// Override files picked up next to a discovered file.
pub const OVERRIDES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Where a compose file comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigFile {
    Path(PathBuf),
    Stdin,
}

/// The resolved environment of a project.
#[derive(Clone, Debug)]
pub struct ProjectEnv {
    /// Shell environment plus `.env` values (shell wins).
    pub env: IndexMap<String, String>,
    pub files: Vec<ConfigFile>,
    /// The project directory: `--project-directory`, else the first file's directory.
    pub project_dir: PathBuf,
    /// The env files named explicitly (`--env-file`, `COMPOSE_ENV_FILES`), absolute, in
    /// order: Compose records them in the `project.environment_file` label.
    pub explicit_env_files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// Joins `rel` onto `base` like Go's `filepath.Join` (cleaned), unless `rel` is absolute.
pub fn absolutize(base: &Path, rel: &str) -> String {
    if rel.starts_with('/') {
        return clean_path(rel);
    }
    clean_path(&format!("{}/{}", base.display(), rel))
}

pub fn truthy(v: Option<&String>) -> bool {
    matches!(
        v.map(|s| s.to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "on" | "t" | "y")
    )
}

/// Reads env files in order and returns their merged values (later files win).
pub fn read_env_files(
    files: &[PathBuf],
    os_env: &IndexMap<String, String>,
    required: bool,
    warnings: &mut Vec<String>,
    sources: &SourceMap,
) -> Result<IndexMap<String, String>, LoadError> {
    let mut values: IndexMap<String, String> = IndexMap::new();
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    return Err(LoadError::new(
                        Problem::EnvFile,
                        format!("failed to read {}: invalid UTF-8", file.display()),
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LoadError::new(
                    Problem::EnvFile,
                    format!("couldn't find env file: {}", file.display()),
                ))
            }
            Err(e) => {
                return Err(LoadError::new(
                    Problem::EnvFile,
                    format!("failed to read {}: {e}", file.display()),
                ))
            }
        };
        let lookup = |k: &str| os_env.get(k).cloned();
        let earlier = values.clone();
        let base = |k: &str| earlier.get(k).cloned();
        let out = dotenv::parse_layered(&text, &lookup, &base).map_err(|e| {
            let line = e.start_line;
            let id = sources.add(file, text.clone());
            LoadError::new(
                Problem::EnvFile,
                format!("failed to read {}: {e}", file.display()),
            )
            .at(Span::new(id, u32::try_from(line).unwrap_or(u32::MAX), 1))
        })?;
        for name in out.unset {
            warnings.push(format!(
                "The \"{name}\" variable is not set. Defaulting to a blank string."
            ));
        }
        for (k, v) in out.entries {
            if let Some(v) = v {
                values.insert(k, v);
            }
        }
    }
    Ok(values)
}

fn merge_missing(env: &mut IndexMap<String, String>, values: IndexMap<String, String>) {
    for (k, v) in values {
        env.entry(k).or_insert(v);
    }
}

/// Resolves the environment and the list of compose files.
pub fn resolve(opts: &LoadOptions, sources: &SourceMap) -> Result<ProjectEnv, LoadError> {
    let mut warnings = Vec::new();
    let os_env = &opts.os_env;
    let mut env = os_env.clone();
    env.entry("PWD".into())
        .or_insert_with(|| opts.cwd.display().to_string());

    let abs = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            PathBuf::from(absolutize(&opts.cwd, &p.display().to_string()))
        }
    };
    let explicit_dir = opts.project_directory.as_deref().map(abs);
    let first_file_dir = opts.files.first().filter(|f| f.as_str() != "-").map(|f| {
        abs(Path::new(f))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| opts.cwd.clone())
    });
    let work_dir = explicit_dir
        .clone()
        .or(first_file_dir)
        .unwrap_or_else(|| opts.cwd.clone());

    // Phase 1: env files from the working directory.
    let (env_files, explicit_env) = if !opts.env_files.is_empty() {
        (
            opts.env_files.iter().map(|p| abs(p)).collect::<Vec<_>>(),
            true,
        )
    } else if let Some(list) = os_env.get("COMPOSE_ENV_FILES").filter(|s| !s.is_empty()) {
        (
            list.split(',').map(|p| abs(Path::new(p.trim()))).collect(),
            true,
        )
    } else if !truthy(os_env.get("COMPOSE_DISABLE_ENV_FILE")) {
        (vec![work_dir.join(".env")], false)
    } else {
        (vec![], false)
    };
    let dot_env_enabled = !truthy(os_env.get("COMPOSE_DISABLE_ENV_FILE"));
    let values = read_env_files(&env_files, os_env, explicit_env, &mut warnings, sources)?;
    merge_missing(&mut env, values);

    // The compose files.
    let files = if !opts.files.is_empty() {
        opts.files
            .iter()
            .map(|f| {
                if f == "-" {
                    ConfigFile::Stdin
                } else {
                    ConfigFile::Path(abs(Path::new(f)))
                }
            })
            .collect::<Vec<_>>()
    } else if let Some(list) = env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| ":".into());
        list.split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(|f| ConfigFile::Path(PathBuf::from(absolutize(&work_dir, f))))
            .collect()
    } else {
        discover(&work_dir, &mut warnings)?
    };

    let project_dir = explicit_dir.unwrap_or_else(|| match files.first() {
        Some(ConfigFile::Path(p)) => p
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| opts.cwd.clone()),
        _ => opts.cwd.clone(),
    });

    // Phase 2: the project directory's .env fills what is still unset.
    if !explicit_env && dot_env_enabled && project_dir != work_dir {
        let values = read_env_files(
            &[project_dir.join(".env")],
            &env,
            false,
            &mut warnings,
            sources,
        )?;
        merge_missing(&mut env, values);
    }

    Ok(ProjectEnv {
        env,
        files,
        project_dir,
        explicit_env_files: if explicit_env { env_files } else { Vec::new() },
        warnings,
    })
}

/// Finds the compose file in `dir` or a parent, plus its override file.
fn discover(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<ConfigFile>, LoadError> {
    let mut current = Some(dir);
    while let Some(d) = current {
        let found: Vec<PathBuf> = CANDIDATES
            .iter()
            .map(|c| d.join(c))
            .filter(|p| p.is_file())
            .collect();
        if let Some(first) = found.first() {
            if found.len() > 1 {
                warnings.push(format!(
                    "Found multiple config files with supported names: {}\nUsing {}",
                    found
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    first.display()
                ));
            }
            let mut files = vec![ConfigFile::Path(first.clone())];
            if let Some(o) = OVERRIDES.iter().map(|c| d.join(c)).find(|p| p.is_file()) {
                files.push(ConfigFile::Path(o));
            }
            return Ok(files);
        }
        current = d.parent();
    }
    Err(LoadError::new(
        Problem::Io,
        "no configuration file provided: not found",
    ))
}
