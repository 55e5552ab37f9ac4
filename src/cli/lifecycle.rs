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

use super::{from_engine, GlobalArgs};

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
    session_of(loaded, services, colors)
}

/// For the commands that act on existing containers (`ps`, `down`, `logs`, `stop`, ...):
/// Compose's `projectOrName`. With `-p` and no `-f`, no file is read and the project is
/// rebuilt from the engine's labels; when the files cannot be loaded but
/// `COMPOSE_PROJECT_NAME` is set, that name is used the same way (see [`from_engine`]).
pub fn load_existing(global: &GlobalArgs, services: &[String]) -> Result<Session, ExitCode> {
    let colors = global.colors();
    if let Some(name) = from_engine::name_only(global) {
        if let Err(e) = crate::spec::project_name::validate(&name) {
            eprintln!("error: {}", e.message);
            return Err(ExitCode::from(1));
        }
        return from_engine::session(global, &name);
    }
    let mut opts = global.load_options().map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })?;
    opts.services = services.to_vec();
    match loader::load(&opts) {
        Ok(loaded) => session_of(loaded, services, colors),
        Err(e) => match from_engine::fallback_name() {
            Some(name) if crate::spec::project_name::validate(&name).is_ok() => {
                from_engine::session(global, &name)
            }
            _ => Err(super::report(&e, colors)),
        },
    }
}

/// The session of a loaded project (printing its warnings).
fn session_of(loaded: Loaded, services: &[String], colors: bool) -> Result<Session, ExitCode> {
    for w in &loaded.warnings {
        super::warn(w, colors);
    }
    let graph = DependencyGraph::build(&loaded.project).map_err(|cycle| {
        eprintln!("{}", cycle_error(&cycle));
        ExitCode::from(1)
    })?;
    for s in services {
        if !loaded.project.services.contains_key(s) {
            eprintln!("error: no such service: {s}");
            return Err(ExitCode::from(1));
        }
    }
    let ctx = project_context(&loaded);
    Ok(Session {
        project: loaded.project,
        graph,
        ctx,
    })
}

/// `error: dependency cycle detected: a -> b -> a` for the cycle `[a, b]`.
pub fn cycle_error(cycle: &[String]) -> String {
    let mut c = cycle.to_vec();
    if let Some(first) = cycle.first() {
        c.push(first.clone());
    }
    format!("error: dependency cycle detected: {}", c.join(" -> "))
}

/// The project-level label values of a loaded project: working directory, compose files,
/// explicit env files.
pub fn project_context(loaded: &Loaded) -> ProjectContext {
    ProjectContext {
        working_dir: loaded.project_dir.display().to_string(),
        config_files: loaded
            .files
            .iter()
            .filter_map(|f| match f {
                ConfigFile::Path(p) => Some(p.display().to_string()),
                ConfigFile::Stdin => None,
            })
            .collect(),
        env_files: loaded
            .env_files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        environment: loaded
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// An exclusive lock on one project, held while a command changes it, so that two
/// concurrent `up`s (or an `up` and a `down`) do not race to create or remove the same
/// containers. Released when dropped (the OS releases it if the process dies).
pub struct ProjectLock {
    _file: std::fs::File,
}

/// Takes the lock of `project`, waiting (with a message) while another command holds it.
pub fn lock_project(project: &str) -> Result<ProjectLock, ExitCode> {
    let fail = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    };
    let dir = crate::paths::runtime_dir("locks").map_err(fail)?;
    let path = dir.join(format!("{project}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            fail(format!(
                "cannot open the project lock {}: {e}",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!("waiting for another rcompose command on project {project:?} to finish");
            file.lock()
                .map_err(|e| fail(format!("cannot lock {}: {e}", path.display())))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(fail(format!("cannot lock {}: {e}", path.display())))
        }
    }
    Ok(ProjectLock { _file: file })
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

/// Starts the runtime, connects the engine of `--engine`, and runs `body` with it.
pub fn with_engine<B>(global: &GlobalArgs, body: B) -> ExitCode
where
    B: for<'x> AsyncFnOnce(&'x Backend) -> ExitCode,
{
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        match connect(global).await {
            Ok(engine) => body(&engine).await,
            Err(code) => code,
        }
    })
}

pub fn fail(e: ExecError) -> ExitCode {
    crate::reconcile::tty_progress::freeze();
    eprintln!("{e}");
    ExitCode::from(1)
}

/// `--parallel` / `COMPOSE_PARALLEL_LIMIT` as a permit count (0 = unlimited).
pub fn parallel(global: &GlobalArgs) -> usize {
    usize::try_from(global.parallel).unwrap_or(0)
}
