//! `rcompose build` (and the builds of `up --build`): builds the images of services that have
//! a `build:` section with the engine's classic builder, tagged as the service's `image`, else
//! Compose's `<project>-<service>`.
//!
//! The context directory is sent as a tar (owner 0:0, like the docker CLI) filtered by its
//! `.dockerignore` (see [`super::dockerignore`]; the Dockerfile is always sent). Supported:
//! `dockerfile` (relative to the context, or a path outside it), `dockerfile_inline`, `args`
//! (a key without value takes the environment's), `target`, `labels`, `network`,
//! `extra_hosts`, `shm_size`, `no_cache`, `pull`. BuildKit-only keys (`secrets`, `ssh`,
//! `cache_to`, `platforms`, `additional_contexts`...) and extra `tags` are not supported.
//! Builder output goes to stdout, ` Service x  Building`/`Built` progress to stderr; a failing
//! step ends the command with exit 1 and the builder's message.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures_util::StreamExt;

use crate::engine::{Backend, BuildOutput, BuildSpec, Engine};
use crate::reconcile::container_spec as cs;
use crate::reconcile::executor::{progress_mode, PlainProgress};
use crate::spec::model::{Project, Service};

use super::dockerignore::Ignore;
use super::tarfs::{self, PackOptions};
use super::{lifecycle, GlobalArgs};

/// Where an inline or out-of-context Dockerfile is put in the context tar.
const EXTRA_DOCKERFILE: &str = ".rcompose.Dockerfile";

#[derive(Debug, Default, clap::Args)]
pub struct BuildArgs {
    /// Set build-time variables for services
    #[arg(long = "build-arg", value_name = "KEY=VAL")]
    pub build_arg: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Services to build (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

/// What the command line adds to every build.
#[derive(Clone, Debug, Default)]
pub struct BuildFlags {
    pub no_cache: bool,
    pub pull: bool,
    pub quiet: bool,
    /// `--build-arg` (`KEY=VAL`, or `KEY` for the environment's value).
    pub args: Vec<String>,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Engine(#[from] crate::engine::EngineError),
    #[error("service \"{service}\": {message}")]
    Context { service: String, message: String },
}

/// The Dockerfile as the builder sees it: a path inside the context tar, plus what to add to
/// the tar when it is not already there (inline text or a file outside the context).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dockerfile {
    InContext(String),
    Extra(Vec<u8>),
}

fn dockerfile(svc: &Service, context: &Path) -> Result<Dockerfile, String> {
    let Some(b) = &svc.build else {
        return Ok(Dockerfile::InContext("Dockerfile".into()));
    };
    if !b.dockerfile_inline.is_empty() {
        return Ok(Dockerfile::Extra(b.dockerfile_inline.clone().into_bytes()));
    }
    let name = if b.dockerfile.is_empty() {
        "Dockerfile"
    } else {
        &b.dockerfile
    };
    let path = context.join(name);
    match path.strip_prefix(context) {
        Ok(rel) if !name.contains("..") => Ok(Dockerfile::InContext(rel.display().to_string())),
        _ => std::fs::read(&path)
            .map(Dockerfile::Extra)
            .map_err(|e| format!("cannot read Dockerfile {}: {e}", path.display())),
    }
}

/// Build arguments: the service's, then `--build-arg`; a key without value takes the
/// environment's (and is dropped when the environment has none).
fn build_args(svc: &Service, flags: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.or_else(|| std::env::var(k).ok()) {
            out.insert(k.to_string(), v);
        }
    };
    if let Some(b) = &svc.build {
        for (k, v) in &b.args {
            put(k, v.clone());
        }
    }
    for a in flags {
        match a.split_once('=') {
            Some((k, v)) => put(k, Some(v.to_string())),
            None => put(a, None),
        }
    }
    out
}

/// The engine's description of the build of `svc` and its context directory.
fn spec(
    project: &Project,
    project_dir: &Path,
    svc: &Service,
    flags: &BuildFlags,
) -> Result<(BuildSpec, PathBuf, Dockerfile), String> {
    let b = svc.build.clone().unwrap_or_default();
    let context = if b.context.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(&b.context)
    };
    let context = if context.is_absolute() {
        context
    } else {
        project_dir.join(context)
    };
    if !context.is_dir() {
        return Err(format!(
            "build context {} is not a directory",
            context.display()
        ));
    }
    let file = dockerfile(svc, &context)?;
    let mut labels: BTreeMap<String, String> = b.labels.clone();
    labels.insert("com.docker.compose.image.builder".into(), "classic".into());
    let spec = BuildSpec {
        tag: cs::service_image(project, svc),
        dockerfile: match &file {
            Dockerfile::InContext(p) => p.clone(),
            Dockerfile::Extra(_) => EXTRA_DOCKERFILE.into(),
        },
        args: build_args(svc, &flags.args),
        labels,
        target: (!b.target.is_empty()).then(|| b.target.clone()),
        network: (!b.network.is_empty()).then(|| b.network.clone()),
        extra_hosts: b.extra_hosts.clone(),
        shm_size: (b.shm_size.0 > 0).then_some(b.shm_size.0),
        no_cache: flags.no_cache || b.no_cache,
        pull: flags.pull || b.pull,
        quiet: flags.quiet,
    };
    Ok((spec, context, file))
}

/// The context tar, streamed: the directory filtered by `.dockerignore`, plus the Dockerfile
/// when it is inline, outside the context, or ignored.
fn context_upload(context: PathBuf, file: Dockerfile) -> io::Result<crate::engine::TarUpload> {
    let ignore = Ignore::load(&context)?;
    Ok(tarfs::tar_upload(move |w| {
        let mut tar = tar::Builder::new(w);
        let opts = PackOptions {
            root_owner: true,
            follow_top_link: true,
            ignore: ignore.as_ref(),
        };
        tarfs::pack(&mut tar, &context, Path::new(""), &opts)?;
        let extra = match file {
            Dockerfile::Extra(bytes) => Some((EXTRA_DOCKERFILE.to_string(), bytes)),
            Dockerfile::InContext(rel)
                if ignore.as_ref().is_some_and(|i| i.excludes(Path::new(&rel))) =>
            {
                Some((rel.clone(), std::fs::read(context.join(&rel))?))
            }
            Dockerfile::InContext(_) => None,
        };
        if let Some((name, bytes)) = extra {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(bytes.len() as u64);
            // Every numeric field set: a strict reader (the embedded engine's) refuses blanks.
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
            tar.append_data(&mut h, name, &bytes[..])?;
        }
        tar.finish()
    }))
}

/// Builds `services` (those with a `build:` section), one after the other.
pub async fn build_services(
    engine: &Backend,
    project: &Project,
    project_dir: &Path,
    services: &[String],
    flags: &BuildFlags,
) -> Result<(), BuildError> {
    for name in services {
        let Some(svc) = project.services.get(name).filter(|s| s.build.is_some()) else {
            continue;
        };
        let context_err = |message: String| BuildError::Context {
            service: name.clone(),
            message,
        };
        let (spec, context, file) = spec(project, project_dir, svc, flags).map_err(context_err)?;
        let upload = context_upload(context, file).map_err(|e| context_err(e.to_string()))?;
        PlainProgress::line(progress_mode(), "Service", name, "Building");
        let mut events = engine.build_image(&spec, upload);
        while let Some(event) = events.next().await {
            match event {
                Ok(BuildOutput::Text(text)) if !flags.quiet => print!("{text}"),
                Ok(_) => {}
                Err(e) => {
                    PlainProgress::line(progress_mode(), "Service", name, "Error");
                    return Err(e.into());
                }
            }
        }
        PlainProgress::line(progress_mode(), "Service", name, "Built");
    }
    Ok(())
}

pub fn run(global: &GlobalArgs, args: &BuildArgs) -> ExitCode {
    let session = match lifecycle::load(global, &args.services) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let services = if args.services.is_empty() {
        session.graph.start_order()
    } else {
        args.services.clone()
    };
    let flags = BuildFlags {
        no_cache: args.no_cache,
        pull: args.pull,
        quiet: args.quiet,
        args: args.build_arg.clone(),
    };
    let dir = PathBuf::from(&session.ctx.working_dir);
    lifecycle::with_engine(global, async |engine| {
        match build_services(engine, &session.project, &dir, &services, &flags).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        }
    })
}

/// `up`'s builds: the selected services with a `build:` section whose image is missing (or
/// whose `pull_policy`, or `--pull`, is `build`), or all of them with `always` (`up --build`).
pub async fn build_for_up(
    engine: &Backend,
    session: &lifecycle::Session,
    selected: &[String],
    always: bool,
    pull_override: Option<&str>,
) -> Result<(), ExitCode> {
    let project = &session.project;
    let mut wanted = Vec::new();
    for name in selected {
        let Some(svc) = project.services.get(name).filter(|s| s.build.is_some()) else {
            continue;
        };
        let needed = always
            || pull_override.unwrap_or(&svc.pull_policy) == "build"
            || engine
                .image_id(&cs::service_image(project, svc))
                .await
                .map_err(super::targets::engine_error)?
                .is_none();
        if needed {
            wanted.push(name.clone());
        }
    }
    let dir = PathBuf::from(&session.ctx.working_dir);
    build_services(engine, project, &dir, &wanted, &BuildFlags::default())
        .await
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(1)
        })
}
