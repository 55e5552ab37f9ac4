//! `RUN`: the command runs in a short-lived container of the embedded engine, made the way
//! any container is (a record, its shim, libcontainer in the shim, Docker's default
//! capabilities and seccomp profile), over the stage's layers; its overlay upper directory
//! is the step's change. No second runtime: the container is an ordinary record named
//! `rcompose-build-<id>` with no labels (so no project lists it), removed when the step ends.
//!
//! Network: none by default (a loopback interface only), `host` when the build asks for it
//! (`build.network: host`); other networks are refused.

use std::path::PathBuf;

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;

use super::super::containers as ct;
use super::super::record::{ContainerPaths, ContainerRecord, RunState};
use super::super::rootfs::RootfsPaths;
use super::super::state::{random_id, StateRoot};
use super::image::RunConfig;
use super::BuildError;
use crate::engine::{BuildOutput, ContainerSpec, EngineResult, LogOptions};

/// What one `RUN` needs.
pub struct RunRequest {
    pub argv: Vec<String>,
    /// The stage's config (env with the build arguments in force, user, working dir).
    pub config: RunConfig,
    /// The layer directories, top first.
    pub lowers: Vec<PathBuf>,
    /// `none` or `host`.
    pub network: String,
    pub extra_hosts: Vec<String>,
    pub shm_size: Option<i64>,
}

/// A finished `RUN`'s container, kept until its upper directory has been taken.
pub struct Finished {
    pub id: String,
    pub upper: PathBuf,
    pub code: i64,
}

/// Runs the command with its output sent to `out` as it comes; returns its exit code and
/// where its change is. The caller removes the container with [`remove`].
pub async fn run(
    st: &StateRoot,
    req: RunRequest,
    out: &Sender<EngineResult<BuildOutput>>,
) -> Result<Finished, BuildError> {
    let spec = ContainerSpec {
        name: format!("{PREFIX}{}", &random_id()[..12]),
        image: String::new(),
        command: Some(req.argv),
        entrypoint: Some(Vec::new()),
        env: req.config.env.clone(),
        working_dir: Some(req.config.working_dir.clone()).filter(|w| !w.is_empty()),
        user: Some(req.config.user.clone()).filter(|u| !u.is_empty()),
        network_mode: Some(req.network),
        extra_hosts: req.extra_hosts,
        shm_size: req.shm_size,
        ..Default::default()
    };
    let rec = ContainerRecord {
        id: String::new(),
        name: spec.name.clone(),
        created: super::super::events::now_nanos() / 1_000_000_000,
        hostname: String::new(),
        image_ref: String::new(),
        image_id: String::new(),
        image_config: req.config.runtime(),
        lowers: req.lowers,
        mount_sources: Vec::new(),
        endpoints: Vec::new(),
        spec,
    };
    let st2 = st.clone();
    let id = blocking(move || ct::create(&st2, rec)).await?;
    let short: String = id.chars().take(12).collect();
    let _ = out
        .send(Ok(BuildOutput::Text(format!(" ---> Running in {short}\n"))))
        .await;
    let st2 = st.clone();
    let id2 = id.clone();
    if let Err(e) = blocking(move || ct::start(&st2, &id2)).await {
        remove(st, &id).await;
        return Err(e);
    }
    let mut logs = super::super::logs_reader::stream(
        st.clone(),
        id.clone(),
        LogOptions {
            follow: true,
            ..Default::default()
        },
    );
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(c) => {
                let text = String::from_utf8_lossy(&c.bytes).into_owned();
                let _ = out.send(Ok(BuildOutput::Text(text))).await;
            }
            Err(_) => break,
        }
    }
    let st2 = st.clone();
    let id2 = id.clone();
    let code = match blocking(move || {
        let code = ct::wait(&st2, &id2)?;
        // Unmounted before its upper directory is read.
        ct::release(&st2, &id2);
        Ok(code)
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            remove(st, &id).await;
            return Err(e);
        }
    };
    let upper = RootfsPaths::in_container_dir(&ContainerPaths::new(st, &id).dir).upper;
    Ok(Finished { id, upper, code })
}

/// The name prefix of the steps' containers.
const PREFIX: &str = "rcompose-build-";

/// Removes the step containers an interrupted build left behind (stopped, and older than ten
/// minutes, so that a step of a build running now, created and not yet started, is not
/// taken): they name no project, so nothing else would ever remove them, and their lower
/// dirs would keep the build's layers from being collected.
pub async fn remove_stale(st: &StateRoot) {
    let st = st.clone();
    let _ = blocking(move || {
        let now = super::super::events::now_nanos() / 1_000_000_000;
        for (rec, status) in ct::all(&st)? {
            let stopped = !matches!(
                status.state,
                RunState::Running | RunState::Paused | RunState::Restarting
            );
            if rec.name.starts_with(PREFIX) && stopped && now - rec.created > 600 {
                let _ = ct::remove(&st, &rec.id, true);
            }
        }
        Ok(())
    })
    .await;
}

/// Removes a step's container (best effort: a leftover is an ordinary stopped container,
/// see [`remove_stale`]).
pub async fn remove(st: &StateRoot, id: &str) {
    let (st, id) = (st.clone(), id.to_string());
    let _ = blocking(move || ct::remove(&st, &id, true)).await;
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> EngineResult<T> + Send + 'static,
) -> Result<T, BuildError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BuildError::Internal(format!("build task failed: {e}")))?
        .map_err(BuildError::Engine)
}
