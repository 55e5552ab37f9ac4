//! `cp` on Docker: the archive API (`HEAD`/`GET`/`PUT /containers/{id}/archive`), tar streams
//! in both directions. Docker roots a downloaded tar at the path's base name (`.` for a path
//! ending in `/.`) and extracts an uploaded one into an existing directory.

use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{map_error, DockerEngine, Subject, NO_TIMEOUT};
use crate::engine::{
    ByteChunks, EngineError, EngineResult, Ownership, PathKind, PathStat, TarUpload,
};

/// Go's `os.FileMode` type bits, as the daemon encodes them in its path stat header.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_OTHER: u32 = (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

fn kind_of(mode: u32) -> PathKind {
    if mode & MODE_DIR != 0 {
        PathKind::Directory
    } else if mode & MODE_SYMLINK != 0 {
        PathKind::Symlink
    } else if mode & MODE_OTHER != 0 {
        PathKind::Other
    } else {
        PathKind::File
    }
}

impl DockerEngine {
    /// A 404 here is the path: the container was resolved by the caller (and a `HEAD`
    /// answer has no message to tell the two apart).
    pub(super) async fn archive_stat(
        &self,
        id: &str,
        path: &str,
    ) -> EngineResult<Option<PathStat>> {
        let options = ContainerArchiveInfoOptionsBuilder::new().path(path).build();
        match self
            .docker
            .get_container_archive_info(id, Some(options))
            .await
        {
            Ok(s) => Ok(Some(PathStat {
                name: s.name,
                size: s.size,
                kind: kind_of(s.file_mode),
                link_target: s.link_target,
            })),
            Err(e) => match map_error(e, Subject::Container(id), &self.socket) {
                EngineError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(super) fn archive_get<'a>(&'a self, id: &str, path: &str) -> ByteChunks<'a> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let id = id.to_string();
        let socket = self.socket.clone();
        let docker = self.docker.clone().with_timeout(NO_TIMEOUT);
        let stream = docker.download_from_container(&id, Some(options));
        Box::pin(stream.map(move |item| match item {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(e) => Err(map_error(e, Subject::Container(&id), &socket)),
        }))
    }

    /// `noOverwriteDirNonDir` as `docker cp` sets it: a directory never replaces a file, nor
    /// a file a directory.
    pub(super) async fn archive_put(
        &self,
        id: &str,
        dir: &str,
        tar: TarUpload,
        owner: Ownership,
    ) -> EngineResult<()> {
        let mut options = UploadToContainerOptionsBuilder::new()
            .path(dir)
            .no_overwrite_dir_non_dir("true");
        if owner == Ownership::Preserve {
            options = options.copy_uidgid("true");
        }
        let body = bollard::body_try_stream(tar.map(|r| r.map(Into::into)));
        self.docker
            .clone()
            .with_timeout(NO_TIMEOUT)
            .upload_to_container(id, Some(options.build()), body)
            .await
            .map_err(self.err(Subject::Container(id)))
    }
}
