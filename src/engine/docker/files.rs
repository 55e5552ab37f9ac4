//! Secrets and configs on Docker, as Docker Compose gives them: a `file:` source is a
//! read-only bind mount of the host file; an `environment:` or `content:` source is copied
//! into the created container through the archive API (`PUT /containers/{id}/archive` at
//! `/`), one tar entry per file with its mode, uid and gid (`pkg/compose/secrets.go`
//! `createTar`). Like Compose's, those copies live in the container's writable layer.

use bollard::models::{Mount as DockerMount, MountType};
use bollard::query_parameters::UploadToContainerOptionsBuilder;

use super::{DockerEngine, Subject};
use crate::engine::{EngineError, EngineResult, FileContent, FileSource, InjectedFile};

/// The read-only bind mounts of the `file:` sources.
pub(super) fn file_mounts(files: &[InjectedFile]) -> impl Iterator<Item = DockerMount> + '_ {
    files.iter().filter_map(|f| match &f.source {
        FileSource::HostFile(path) => Some(DockerMount {
            typ: Some(MountType::BIND),
            source: Some(path.display().to_string()),
            target: Some(f.target.clone()),
            read_only: Some(true),
            ..Default::default()
        }),
        FileSource::Content(_) => None,
    })
}

/// A tar holding `content` at `target` (absolute; stored relative to `/`).
pub(super) fn content_tar(target: &str, content: &FileContent) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_path(target.trim_start_matches('/'))?;
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(content.data.len() as u64);
    header.set_mode(content.mode & 0o7777);
    header.set_uid(u64::from(content.uid));
    header.set_gid(u64::from(content.gid));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    header.set_mtime(now);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, content.data.as_slice())?;
    builder.into_inner()
}

impl DockerEngine {
    /// Copies the `environment:` and `content:` files into the created container `id`.
    pub(super) async fn inject_files(&self, id: &str, files: &[InjectedFile]) -> EngineResult<()> {
        for f in files {
            let FileSource::Content(content) = &f.source else {
                continue;
            };
            let tar = content_tar(&f.target, content).map_err(|e| EngineError::Backend {
                message: format!("cannot pack {} `{}`: {e}", f.kind, f.name),
            })?;
            let mut options = UploadToContainerOptionsBuilder::new().path("/");
            // Compose keeps the tar's owner only when uid or gid is set (else the daemon
            // gives the file to the container's root).
            if content.uid != 0 || content.gid != 0 {
                options = options.copy_uidgid("true");
            }
            self.docker
                .upload_to_container(id, Some(options.build()), bollard::body_full(tar.into()))
                .await
                .map_err(self.err(Subject::Container(id)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::FileKind;

    #[test]
    fn content_tar_carries_path_mode_and_owner() {
        let content = FileContent {
            data: b"s3cr3t".to_vec(),
            uid: 1000,
            gid: 2000,
            mode: 0o400,
        };
        let tar = content_tar("/run/secrets/db", &content).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("run/secrets/db"));
        assert_eq!(e.header().mode().unwrap(), 0o400);
        assert_eq!(e.header().uid().unwrap(), 1000);
        assert_eq!(e.header().gid().unwrap(), 2000);
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        assert_eq!(body, "s3cr3t");
        assert!(entries.next().is_none());
    }

    #[test]
    fn only_file_sources_are_mounts() {
        let files = vec![
            InjectedFile {
                kind: FileKind::Secret,
                name: "f".into(),
                target: "/run/secrets/f".into(),
                source: FileSource::HostFile("/host/f".into()),
            },
            InjectedFile {
                kind: FileKind::Config,
                name: "c".into(),
                target: "/c".into(),
                source: FileSource::Content(FileContent::default()),
            },
        ];
        let mounts: Vec<DockerMount> = file_mounts(&files).collect();
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].source.as_deref(), Some("/host/f"));
        assert_eq!(mounts[0].target.as_deref(), Some("/run/secrets/f"));
        assert_eq!(mounts[0].read_only, Some(true));
    }
}
