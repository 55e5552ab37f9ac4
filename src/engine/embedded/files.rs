//! Secrets and configs on the embedded engine: the bytes of `environment:` and `content:`
//! sources are written at create time to `<container dir>/files/<n>` (`n`: the file's index
//! in `ContainerSpec::files`; the directory 0700, each file with the owner and mode the
//! service asks for), never to the record; every file, those and `file:` sources alike, is
//! then bind-mounted read-only at its target (see `runtime_spec/mounts.rs`).
//!
//! The container directory is itself 0700 and owned by root, so no other host user reaches
//! the files whatever their mode. Inside the container, a write gives EROFS: stricter than
//! Docker Compose, whose copies of `environment:`/`content:` sources are writable.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::engine::{EngineError, EngineResult, FileSource, InjectedFile};

/// The directory of a container's content files.
fn files_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("files")
}

/// The host source of every file, in the order of `files`.
pub fn sources(container_dir: &Path, files: &[InjectedFile]) -> Vec<PathBuf> {
    files
        .iter()
        .enumerate()
        .map(|(i, f)| match &f.source {
            FileSource::HostFile(p) => p.clone(),
            FileSource::Content(_) => files_dir(container_dir).join(i.to_string()),
        })
        .collect()
}

/// Checks the `file:` sources exist (as Docker does for binds of secrets) and writes the
/// content files under `container_dir` (which must exist).
pub fn materialize(container_dir: &Path, files: &[InjectedFile]) -> EngineResult<()> {
    for f in files {
        if let FileSource::HostFile(p) = &f.source {
            if !p.is_absolute() || !p.exists() {
                return Err(EngineError::Backend {
                    message: format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        p.display()
                    ),
                });
            }
        }
    }
    if !files
        .iter()
        .any(|f| matches!(f.source, FileSource::Content(_)))
    {
        return Ok(());
    }
    let dir = files_dir(container_dir);
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |e: std::io::Error| EngineError::Backend {
            message: format!("{what}: {e}"),
        }
    };
    DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io(&dir))?;
    for (f, path) in files.iter().zip(sources(container_dir, files)) {
        let FileSource::Content(c) = &f.source else {
            continue;
        };
        // Created private and exclusive (no link followed), filled, then given its owner and
        // mode through the open descriptor.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(&c.data).map_err(io(&path))?;
        std::os::unix::fs::fchown(&file, Some(c.uid), Some(c.gid)).map_err(io(&path))?;
        file.set_permissions(std::fs::Permissions::from_mode(c.mode & 0o7777))
            .map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;
    use crate::engine::{FileContent, FileKind};

    fn file(target: &str, source: FileSource) -> InjectedFile {
        InjectedFile {
            kind: FileKind::Secret,
            name: "s".into(),
            target: target.into(),
            source,
        }
    }

    #[test]
    fn content_files_are_written_private_with_their_mode() {
        let dir = std::env::temp_dir().join(format!("rcompose-files-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let host = dir.join("host.txt");
        std::fs::write(&host, "from host").unwrap();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let me = unsafe { libc::geteuid() };
        let my_gid = unsafe { libc::getegid() };
        let files = vec![
            file("/run/secrets/h", FileSource::HostFile(host.clone())),
            file(
                "/run/secrets/c",
                FileSource::Content(FileContent {
                    data: b"s3cr3t".to_vec(),
                    uid: if root { 1000 } else { me },
                    gid: if root { 2000 } else { my_gid },
                    mode: 0o400,
                }),
            ),
        ];
        materialize(&dir, &files).unwrap();
        let srcs = sources(&dir, &files);
        assert_eq!(srcs, vec![host, dir.join("files/1")]);
        let meta = std::fs::metadata(&srcs[1]).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o400);
        if root {
            assert_eq!((meta.uid(), meta.gid()), (1000, 2000));
        }
        let dmeta = std::fs::metadata(dir.join("files")).unwrap();
        assert_eq!(dmeta.mode() & 0o777, 0o700);
        if root {
            assert_eq!(std::fs::read(&srcs[1]).unwrap(), b"s3cr3t");
        }
        // A second materialization never overwrites (create_new).
        assert!(materialize(&dir, &files).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_host_files_are_refused() {
        let files = vec![file(
            "/run/secrets/h",
            FileSource::HostFile("/nonexistent/rcompose/secret".into()),
        )];
        let err = materialize(Path::new("/nonexistent"), &files).unwrap_err();
        assert!(
            err.to_string()
                .contains("bind source path does not exist: /nonexistent/rcompose/secret"),
            "{err}"
        );
    }
}
