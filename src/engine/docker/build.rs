//! `build` on Docker: `POST /build` with the classic builder (no BuildKit session needed),
//! the context sent as a streamed tar. The builder's JSON messages become [`BuildOutput`]s;
//! an error message (a failing step) ends the stream with an error.

use std::collections::HashMap;

use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;

use super::{map_error, DockerEngine, Subject};
use crate::engine::{BuildEvents, BuildOutput, BuildSpec, EngineError, TarUpload};

fn options(spec: &BuildSpec) -> BuildImageOptions {
    let map = |m: &std::collections::BTreeMap<String, String>| -> Option<HashMap<String, String>> {
        (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    BuildImageOptions {
        dockerfile: spec.dockerfile.clone(),
        t: Some(spec.tag.clone()),
        extrahosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.join(",")),
        q: spec.quiet,
        nocache: spec.no_cache,
        pull: spec.pull.then(|| "true".to_string()),
        rm: true,
        forcerm: true,
        buildargs: map(&spec.args),
        shmsize: spec.shm_size.map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
        labels: map(&spec.labels),
        networkmode: spec.network.clone(),
        target: spec.target.clone().unwrap_or_default(),
        ..Default::default()
    }
}

impl DockerEngine {
    pub(super) fn build_stream<'a>(
        &'a self,
        spec: &BuildSpec,
        context: TarUpload,
    ) -> BuildEvents<'a> {
        let tag = spec.tag.clone();
        let socket = self.socket.clone();
        let body = bollard::body_try_stream(context.map(|r| r.map(Into::into)));
        // The client timeout covers the response head only, which the builder sends at once.
        let events = self.docker.build_image(options(spec), None, Some(body));
        Box::pin(events.filter_map(move |item| {
            let out = match item {
                Ok(info) => {
                    if let Some(id) = info.aux.and_then(|a| a.id) {
                        Some(Ok(BuildOutput::ImageId(id)))
                    } else if let Some(text) = info.stream.filter(|t| !t.is_empty()) {
                        Some(Ok(BuildOutput::Text(text)))
                    } else {
                        info.status
                            .filter(|t| !t.is_empty())
                            .map(|t| Ok(BuildOutput::Text(format!("{t}\n"))))
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    Some(Err(EngineError::Backend { message: error }))
                }
                Err(e) => Some(Err(map_error(e, Subject::Image(&tag), &socket))),
            };
            std::future::ready(out)
        }))
    }
}
