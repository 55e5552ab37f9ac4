//! What a load is asked to do: the global CLI flags and environment, already parsed.

use std::path::PathBuf;

use indexmap::IndexMap;

/// Inputs of [`super::load`]. Built by the CLI from flags and the process environment; tests
/// build it directly (no process-global state is read by the loader).
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-f` files as given (`-` is stdin). Empty: `COMPOSE_FILE`, then discovery.
    pub files: Vec<String>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`.
    pub project_directory: Option<PathBuf>,
    /// `--env-file` (repeatable). Empty: `COMPOSE_ENV_FILES`, then `.env`.
    pub env_files: Vec<PathBuf>,
    /// `--profile` (repeatable). `None`: `COMPOSE_PROFILES`.
    pub profiles: Option<Vec<String>>,
    /// Services named on the command line: they enable their profiles, and the project is
    /// reduced to them and their dependencies when `select_services` is set.
    pub services: Vec<String>,
    pub select_services: bool,
    /// The process environment (the shell), which always wins over `.env` files.
    pub os_env: IndexMap<String, String>,
    /// The current directory.
    pub cwd: PathBuf,
    /// Content of standard input when a file is `-`.
    pub stdin: Option<String>,
    pub skip_interpolation: bool,
    pub skip_normalization: bool,
    pub skip_path_resolution: bool,
    pub skip_consistency: bool,
    /// Loading for a listing (`config --services`, `--volumes`, `--networks`, `--images`,
    /// `--profiles`, `--hash`): as in Docker Compose, `env_file` contents are not read and
    /// container names are not checked for uniqueness.
    pub listing: bool,
}
