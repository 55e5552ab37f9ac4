//! `rcompose cp`: copies files and directories between a service container and the local
//! filesystem, with `docker cp`'s semantics, through the engine's tar archive API.
//!
//! - `SERVICE:SRC DEST`: from the service's first container (or `--index`); `DEST` `-` writes
//!   the raw tar to stdout. A file goes to a file, a directory to a directory, into `DEST`
//!   when it is an existing directory; `SRC/.` copies a directory's contents.
//! - `SRC SERVICE:DEST`: into every container of the service (or `--index`); `SRC` `-` reads
//!   a tar from stdin. `-a` keeps the files' uid/gid, else they belong to the container's root.
//! - `-L` follows `SRC` when it is a symbolic link. Extraction on the host never writes outside
//!   `DEST` (see [`super::tarfs`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures_util::StreamExt;

use crate::engine::{Backend, ContainerInfo, Engine, EngineError, Ownership, PathKind, PathStat};
use crate::reconcile::container_spec::labels;
use crate::reconcile::executor::{progress_mode, PlainProgress};
use crate::reconcile::planner::{number_of, service_of};

use super::tarfs::{self, Rebase};
use super::{lifecycle, targets, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct CpArgs {
    /// Include containers created by the run command
    #[arg(long)]
    pub all: bool,
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Index of the container if service has multiple replicas
    #[arg(long, default_value_t = 0)]
    pub index: u32,
    /// SERVICE:SRC_PATH or SRC_PATH|-
    #[arg(value_name = "SRC")]
    pub src: String,
    /// DEST_PATH|- or SERVICE:DEST_PATH
    #[arg(value_name = "DEST")]
    pub dest: String,
}

/// One side of the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(String),
    Service { service: String, path: String },
}

/// `docker cp`'s reading of an argument: an absolute or `.`-relative path (or `-`) is local,
/// otherwise `SERVICE:PATH` names a container path (relative to `/`).
pub fn parse_location(arg: &str) -> Location {
    if arg == "-" || arg.starts_with('/') || arg.starts_with('.') {
        return Location::Local(arg.to_string());
    }
    match arg.split_once(':') {
        Some((service, path)) if !service.is_empty() => Location::Service {
            service: service.to_string(),
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
        },
        _ => Location::Local(arg.to_string()),
    }
}

/// Why a copy failed (the message is the user's).
#[derive(Debug, thiserror::Error)]
enum CpError {
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("Could not find the file {path} in container {container}")]
    NoSource { path: String, container: String },
    #[error("{0}")]
    Local(String),
    #[error(transparent)]
    Unpack(#[from] tarfs::UnpackError),
}

/// The base name `docker cp` gives a path: `.` for `dir/.`, else the last component.
fn base_name(path: &str) -> String {
    if path.ends_with("/.") || path == "." {
        return ".".into();
    }
    Path::new(path.trim_end_matches('/'))
        .file_name()
        .map_or_else(|| "/".into(), |n| n.to_string_lossy().into_owned())
}

fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match Path::new(trimmed).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        Some(_) => ".".into(),
        None => "/".into(),
    }
}

/// A symbolic link's target resolved against the link's directory.
fn resolve_link(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{target}", parent_of(path).trim_end_matches('/'))
    }
}

async fn stat(engine: &Backend, c: &ContainerInfo, path: &str) -> Result<PathStat, CpError> {
    engine
        .stat_path(&c.id, path)
        .await?
        .ok_or_else(|| CpError::NoSource {
            path: path.to_string(),
            container: c.id.clone(),
        })
}

async fn copy_from(
    engine: &Backend,
    c: &ContainerInfo,
    src: &str,
    dest: &str,
    follow: bool,
) -> Result<(), CpError> {
    let mut path = src.to_string();
    let mut info = stat(engine, c, &path).await?;
    if follow && info.kind == PathKind::Symlink {
        path = resolve_link(&path, &info.link_target);
        info = stat(engine, c, &path).await?;
    }
    let mut chunks = engine.copy_from(&c.id, &path);
    if dest == "-" {
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = chunks.next().await {
            out.write_all(&chunk?)
                .map_err(|e| CpError::Local(format!("writing to stdout: {e}")))?;
        }
        return out
            .flush()
            .map_err(|e| CpError::Local(format!("writing to stdout: {e}")));
    }
    let root = base_name(&path);
    let wanted = base_name(src);
    let is_dir = info.kind == PathKind::Directory;
    let (into, rebase) = match std::fs::metadata(dest) {
        Ok(m) if m.is_dir() => (
            PathBuf::from(dest),
            (root != wanted).then_some((root, wanted)),
        ),
        Ok(_) if is_dir => {
            return Err(CpError::Local(format!(
                "cannot overwrite non-directory \"{dest}\" with directory \"{src}\""
            )))
        }
        Ok(_) => (
            PathBuf::from(parent_of(dest)),
            Some((root, base_name(dest))),
        ),
        Err(_) if dest.ends_with('/') && !is_dir => {
            return Err(CpError::Local(format!(
                "destination directory \"{dest}\" does not exist"
            )))
        }
        Err(_) => {
            let parent = parent_of(dest);
            if !Path::new(&parent).is_dir() {
                return Err(CpError::Local(format!(
                    "destination directory \"{parent}\" does not exist"
                )));
            }
            (PathBuf::from(parent), Some((root, base_name(dest))))
        }
    };
    let rebase = rebase.map(|(from, to)| Rebase { from, to });
    let (tx, reader) = crate::engine::chunk_io::ChannelReader::new();
    let extract =
        tokio::task::spawn_blocking(move || tarfs::unpack(reader, &into, rebase.as_ref()));
    while let Some(chunk) = chunks.next().await {
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            break; // the extraction stopped (its error is reported below)
        }
    }
    drop(tx);
    match extract.await {
        Ok(r) => r.map_err(CpError::from),
        Err(e) => Err(CpError::Local(format!("extraction failed: {e}"))),
    }
}

async fn copy_to(
    engine: &Backend,
    c: &ContainerInfo,
    src: &str,
    dest: &str,
    ownership: Ownership,
    follow: bool,
) -> Result<(), CpError> {
    let mut target = engine.stat_path(&c.id, dest).await?;
    let mut dest = dest.to_string();
    if let Some(PathStat {
        kind: PathKind::Symlink,
        link_target,
        ..
    }) = &target
    {
        dest = resolve_link(&dest, link_target);
        target = engine.stat_path(&c.id, &dest).await?;
    }
    let dest_is_dir = target
        .as_ref()
        .is_some_and(|t| t.kind == PathKind::Directory);
    if src == "-" {
        if !dest_is_dir {
            return Err(CpError::Local(format!(
                "destination \"{dest}\" must be a directory"
            )));
        }
        let upload =
            tarfs::tar_upload(|w| std::io::copy(&mut std::io::stdin().lock(), w).map(|_| ()));
        return Ok(engine.copy_to(&c.id, &dest, upload, ownership).await?);
    }
    let meta = if follow {
        std::fs::metadata(src)
    } else {
        std::fs::symlink_metadata(src)
    }
    .map_err(|e| CpError::Local(format!("{src}: {e}")))?;
    let (dir, name) = match &target {
        Some(_) if dest_is_dir => {
            let base = base_name(src);
            (dest.clone(), if base == "." { String::new() } else { base })
        }
        Some(_) if meta.is_dir() => {
            return Err(CpError::Local(format!(
                "cannot overwrite non-directory \"{dest}\" with directory \"{src}\""
            )))
        }
        Some(_) => (parent_of(&dest), base_name(&dest)),
        None if dest.ends_with('/') => {
            return Err(CpError::Local(format!(
                "destination directory \"{dest}\" does not exist"
            )))
        }
        None => (parent_of(&dest), base_name(&dest)),
    };
    let upload = tarfs::pack_upload(PathBuf::from(src), PathBuf::from(name), false, follow);
    engine
        .copy_to(&c.id, &dir, upload, ownership)
        .await
        .map_err(|e| match e {
            EngineError::NotFound { .. } => CpError::Local(format!(
                "destination directory \"{dir}\" does not exist in {}",
                c.name
            )),
            other => CpError::Engine(other),
        })
}

pub fn run(global: &GlobalArgs, args: &CpArgs) -> ExitCode {
    let (service, direction) = match (parse_location(&args.src), parse_location(&args.dest)) {
        (Location::Service { service, path }, Location::Local(dest)) => {
            (service, Direction::From { src: path, dest })
        }
        (Location::Local(src), Location::Service { service, path }) => {
            (service, Direction::To { src, dest: path })
        }
        (Location::Service { .. }, Location::Service { .. }) => {
            eprintln!("copying between services is not supported");
            return ExitCode::from(1);
        }
        (Location::Local(_), Location::Local(_)) => {
            eprintln!("unknown copy direction: one of SRC and DEST must be SERVICE:PATH");
            return ExitCode::from(1);
        }
    };
    let session = match targets::load(global, std::slice::from_ref(&service)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let project = &session.project;
    lifecycle::with_engine(global, async |engine| {
        let filter = [format!("{}={}", labels::PROJECT, project.name)];
        let mut list = match engine.list_containers(&filter).await {
            Ok(l) => l,
            Err(e) => return targets::engine_error(e),
        };
        let oneoff =
            |c: &ContainerInfo| c.labels.get(labels::ONEOFF).map(String::as_str) == Some("True");
        list.retain(|c| {
            service_of(c) == service
                && (args.index > 0 || args.all || !oneoff(c))
                && (args.index == 0 || number_of(c) == args.index)
        });
        list.sort_by_key(|c| (oneoff(c), number_of(c)));
        if list.is_empty() {
            if args.index > 0 {
                eprintln!(
                    "service \"{service}\" is not running container #{}",
                    args.index
                );
            } else {
                eprintln!("no container found for service \"{service}\"");
            }
            return ExitCode::from(1);
        }
        if matches!(direction, Direction::From { .. }) {
            list.truncate(1);
        }
        let ownership = if args.archive {
            Ownership::Preserve
        } else {
            Ownership::ContainerRoot
        };
        let mut failed = false;
        for c in &list {
            let what = match &direction {
                Direction::From { src, dest } => format!("copy {}:{src} to {dest}", c.name),
                Direction::To { src, dest } => format!("copy {src} to {}:{dest}", c.name),
            };
            PlainProgress::line(progress_mode(), &c.name, &what, "Copying");
            let result = match &direction {
                Direction::From { src, dest } => {
                    copy_from(engine, c, src, dest, args.follow_link).await
                }
                Direction::To { src, dest } => {
                    copy_to(engine, c, src, dest, ownership, args.follow_link).await
                }
            };
            match result {
                Ok(()) => PlainProgress::line(progress_mode(), &c.name, &what, "Copied"),
                Err(e) => {
                    match e {
                        CpError::Engine(_) | CpError::NoSource { .. } => {
                            eprintln!("Error response from daemon: {e}")
                        }
                        _ => eprintln!("{e}"),
                    }
                    failed = true;
                }
            }
        }
        if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Which way the copy goes, with both paths.
#[derive(Debug)]
enum Direction {
    From { src: String, dest: String },
    To { src: String, dest: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            parse_location("web:etc/x"),
            Location::Service {
                service: "web".into(),
                path: "/etc/x".into()
            }
        );
        assert_eq!(parse_location("./a:b"), Location::Local("./a:b".into()));
        assert_eq!(parse_location("-"), Location::Local("-".into()));
        assert_eq!(parse_location("file"), Location::Local("file".into()));
    }

    #[test]
    fn names() {
        assert_eq!(base_name("/etc/."), ".");
        assert_eq!(base_name("/etc/"), "etc");
        assert_eq!(base_name("/etc/hostname"), "hostname");
        assert_eq!(parent_of("/etc/hostname"), "/etc");
        assert_eq!(parent_of("/etc"), "/");
        assert_eq!(parent_of("out"), ".");
        assert_eq!(resolve_link("/a/b", "c"), "/a/c");
        assert_eq!(resolve_link("/a/b", "/x"), "/x");
    }
}
