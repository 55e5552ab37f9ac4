//! What the lifecycle commands (`up`, `down`, `ps`, ...) share: loading the project with its
//! graph and label context, connecting the engine, and a single-threaded tokio runtime.

use std::process::ExitCode;

use crate::engine::Backend;
use crate::graph::DependencyGraph;
use crate::reconcile::container_spec::ProjectContext;
use crate::reconcile::executor::ExecError;
use crate::spec::environment::ConfigFile;
use crate::spec::loader::{self, Loaded};
use crate::spec::model::Project;

use super::GlobalArgs;

/// A loaded project ready for the reconciler.
pub struct Session {
    pub project: Project,
    pub graph: DependencyGraph,
    pub ctx: ProjectContext,
}

/// Loads the project (printing warnings); `Err` carries the exit code after reporting.
pub fn load(global: &GlobalArgs, services: &[String]) -> Result<Session, ExitCode> {
    let colors = global.colors();
    let mut opts = global.load_options().map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    opts.services = services.to_vec();
    let loaded: Loaded = loader::load(&opts).map_err(|e| super::report(&e, colors))?;
    for w in &loaded.warnings {
        super::warn(w, colors);
    }
    let graph = DependencyGraph::build(&loaded.project).map_err(|cycle| {
        let mut c = cycle.clone();
        if let Some(first) = cycle.first() {
            c.push(first.clone());
        }
        eprintln!("error: dependency cycle detected: {}", c.join(" -> "));
        ExitCode::from(1)
    })?;
    for s in services {
        if !loaded.project.services.contains_key(s) {
            eprintln!("error: no such service: {s}");
            return Err(ExitCode::from(1));
        }
    }
    let ctx = ProjectContext {
        working_dir: loaded.project_dir.display().to_string(),
        config_files: loaded
            .files
            .iter()
            .filter_map(|f| match f {
                ConfigFile::Path(p) => Some(p.display().to_string()),
                ConfigFile::Stdin => None,
            })
            .collect(),
        env_files: Vec::new(),
    };
    Ok(Session {
        project: loaded.project,
        graph,
        ctx,
    })
}

/// A current-thread runtime (the engine calls are IO-bound; one thread is enough).
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(1)
        })
}

pub async fn connect(global: &GlobalArgs) -> Result<Backend, ExitCode> {
    Backend::connect(global.engine).await.map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

pub fn fail(e: ExecError) -> ExitCode {
    eprintln!("Error response from daemon: {e}");
    ExitCode::from(1)
}

/// `--parallel` / `COMPOSE_PARALLEL_LIMIT` as a permit count (0 = unlimited).
pub fn parallel(global: &GlobalArgs) -> usize {
    usize::try_from(global.parallel).unwrap_or(0)
}
