//! Image inspection for `images`: id, tags, size, times and platform of a local image.

use super::{map_error, unix_seconds, DockerEngine, Subject};
use crate::engine::{EngineError, EngineResult, ImageInfo};

impl DockerEngine {
    pub(super) async fn image_inspect(&self, reference: &str) -> EngineResult<Option<ImageInfo>> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(Some(ImageInfo {
                created_unix: i.created.as_deref().and_then(unix_seconds),
                last_tag_unix: i
                    .metadata
                    .as_ref()
                    .and_then(|m| m.last_tag_time.as_deref())
                    .and_then(unix_seconds)
                    .filter(|&t| t > 0),
                id: i.id.unwrap_or_default(),
                repo_tags: i.repo_tags.unwrap_or_default(),
                size: i.size.unwrap_or_default(),
                created: i.created.unwrap_or_default(),
                last_tag_time: i.metadata.and_then(|m| m.last_tag_time).unwrap_or_default(),
                os: i.os.unwrap_or_default(),
                architecture: i.architecture.unwrap_or_default(),
                variant: i.variant.unwrap_or_default(),
                volumes: i.config.and_then(|c| c.volumes).unwrap_or_default(),
            })),
            Err(e) => match map_error(e, Subject::Image(reference), &self.socket) {
                EngineError::ImageNotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }
}
