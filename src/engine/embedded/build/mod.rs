//! `build` on the embedded engine: a classic (non-BuildKit) Dockerfile builder, daemonless.
//!
//! The context tar is unpacked into a private scratch directory ([`context`]), the
//! Dockerfile parsed ([`dockerfile`]) and split into stages, of which only the target and
//! what it depends on are built ([`stages`]); arguments are substituted as Docker's shell
//! lexer does ([`substitute`]). [`executor`] runs the instructions: `RUN` in a short-lived
//! container of this engine ([`run_step`]), `COPY`/`ADD` through `cp`'s in-root copy
//! ([`copy_step`]); each of these packs its overlay upper directory as a layer of the store
//! ([`layer`]). The result is an image record like a pulled one ([`image`]).
//!
//! While it runs the build holds the store's GC lock shared, so no `image rm` or prune can
//! collect the layers it has made before its record names them. A build that fails leaves
//! its layers unreferenced; the next collection removes them.
//!
//! `RUN` steps are cached ([`cache`]): an unchanged step takes the layer of its earlier run.
//!
//! Not supported (refused with the Dockerfile line): `ONBUILD`, BuildKit flags (`RUN
//! --mount`, `COPY --link`...), `ADD` of URLs and of archives other than tar and tar.gz.

pub mod cache;
pub mod context;
pub mod copy_step;
pub mod dockerfile;
pub mod executor;
pub mod image;
pub mod layer;
pub mod run_step;
pub mod stages;
pub mod substitute;

use super::state::{make_private_dir, random_id, StateRoot};
use super::store::images::ImageStore;
use crate::engine::{BuildEvents, BuildOutput, BuildSpec, EngineError, TarUpload};

/// Why a build failed; the messages are dockerd's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Parse(#[from] dockerfile::ParseError),
    /// An instruction that cannot be carried out.
    #[error("Dockerfile line {line}: {message}")]
    Step { line: usize, message: String },
    /// A `RUN` whose command failed.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    Run { command: String, code: i64 },
    #[error("{0}")]
    Context(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(EngineError),
    /// A task of the builder that died (a bug).
    #[error("internal build error: {0}")]
    Internal(String),
}

impl BuildError {
    pub fn io(what: &str, source: std::io::Error) -> Self {
        BuildError::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// Builds `spec` from `upload`; the events end with the image id, or an error.
pub fn build(
    images: ImageStore,
    state: StateRoot,
    spec: BuildSpec,
    upload: TarUpload,
) -> BuildEvents<'static> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        let result = run(&images, &state, &spec, upload, &tx).await;
        let last = match result {
            Ok(id) => Ok(BuildOutput::ImageId(id)),
            Err(BuildError::Engine(e)) => Err(e),
            Err(e) => Err(EngineError::Backend {
                message: e.to_string(),
            }),
        };
        let _ = tx.send(last).await;
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

async fn run(
    images: &ImageStore,
    state: &StateRoot,
    spec: &BuildSpec,
    upload: TarUpload,
    out: &tokio::sync::mpsc::Sender<crate::engine::EngineResult<BuildOutput>>,
) -> Result<String, BuildError> {
    let work = state.root().join("build").join(&random_id()[..16]);
    let ctx_dir = work.join("context");
    let made = std::fs::create_dir_all(state.root().join("build"))
        .and_then(|()| make_private_dir(&work))
        .and_then(|()| std::fs::create_dir(&ctx_dir));
    made.map_err(|e| BuildError::io("the build directory", e))?;
    let result = async {
        // No collection while layers made here are not yet named by a record.
        let store = images.clone();
        let _gc = tokio::task::spawn_blocking(move || store.gc_shared())
            .await
            .map_err(|e| BuildError::Internal(e.to_string()))?
            .map_err(|e| BuildError::io("the image store lock", e))?;
        run_step::remove_stale(state).await;
        remove_stale_dirs(&state.root().join("build"));
        let ctx = context::receive(upload, ctx_dir).await?;
        let text = read_dockerfile(&ctx, &spec.dockerfile)?;
        let (instructions, escape) = dockerfile::parse_with_escape(&text)?;
        let plan = stages::plan(instructions, spec.target.as_deref(), &spec.args, escape)?;
        let builder = executor::Builder {
            images,
            state,
            spec,
            context: &ctx,
            work: &work,
            out,
            escape,
        };
        builder.run(&plan).await
    }
    .await;
    let w = work.clone();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(w)).await;
    result
}

/// Scratch directories of interrupted builds (untouched for an hour: no build running now
/// uses them; their mounts were private to threads that are gone).
fn remove_stale_dirs(dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The Dockerfile's text, looked up inside the context.
fn read_dockerfile(ctx: &context::Context, name: &str) -> Result<String, BuildError> {
    let fd = super::copy::open_in_root(&ctx.fd, name.as_bytes(), libc::O_RDONLY | libc::O_CLOEXEC)
        .map_err(|e| {
            BuildError::Context(format!("Cannot locate specified Dockerfile: {name} ({e})"))
        })?;
    let mut text = String::new();
    use std::io::Read;
    std::fs::File::from(fd)
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| BuildError::io(name, e))?;
    Ok(text)
}
