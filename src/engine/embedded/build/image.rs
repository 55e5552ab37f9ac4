//! The image a build makes, as the store keeps it: the OCI image config document (its
//! digest is the image id, as Docker's), written as a blob, and an [`ImageRecord`] naming the
//! built layers, tagged with the names the build asks for.
//!
//! The base image's config is read back from its config blob (the pull keeps it), so that
//! what the record's lossy [`ImageRuntimeConfig`] leaves out (volumes, healthcheck, shell,
//! history) carries over to the built image.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::super::runtime_spec::ImageRuntimeConfig;
use super::super::state::write_atomic;
use super::super::store::images::{hex, ImageRecord, ImageStore};

/// The `config` object of an OCI image config, with Docker's field names.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

impl RunConfig {
    /// The value of `name` in `Env`.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v)
        })
    }

    /// Sets `name=value` in `Env` (replacing an earlier value in place, as Docker does).
    pub fn set_env(&mut self, name: &str, value: &str) {
        let entry = format!("{name}={value}");
        match self
            .env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == name)
        {
            Some(e) => *e = entry,
            None => self.env.push(entry),
        }
    }

    /// What the embedded runtime reads of it.
    pub fn runtime(&self) -> ImageRuntimeConfig {
        ImageRuntimeConfig {
            entrypoint: self.entrypoint.clone(),
            cmd: self.cmd.clone(),
            env: self.env.clone(),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            stop_signal: self.stop_signal.clone(),
            exposed_ports: self.exposed_ports.keys().cloned().collect(),
            labels: self.labels.clone(),
        }
    }

    /// From the record of an image whose config blob is missing.
    pub fn from_runtime(c: &ImageRuntimeConfig) -> Self {
        RunConfig {
            user: c.user.clone(),
            exposed_ports: c
                .exposed_ports
                .iter()
                .map(|p| (p.clone(), serde_json::json!({})))
                .collect(),
            env: c.env.clone(),
            entrypoint: c.entrypoint.clone(),
            cmd: c.cmd.clone(),
            working_dir: c.working_dir.clone(),
            labels: c.labels.clone(),
            stop_signal: c.stop_signal.clone(),
            ..Default::default()
        }
    }
}

/// One `history` entry.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

/// The image config document (what the image id is the digest of).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageConfig {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub config: RunConfig,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

impl ImageConfig {
    /// A fresh config for `FROM scratch`.
    pub fn scratch() -> Self {
        ImageConfig {
            architecture: super::super::pull::host_architecture().to_string(),
            os: "linux".into(),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: Vec::new(),
            },
            ..Default::default()
        }
    }

    /// The base image's config: its blob when the store has it, else rebuilt from the record.
    pub fn of_base(images: &ImageStore, rec: &ImageRecord) -> Self {
        let blob = images.state().blob_path(&rec.id);
        if let Some(doc) = std::fs::read(&blob)
            .ok()
            .and_then(|b| serde_json::from_slice::<ImageConfig>(&b).ok())
            .filter(|d| d.rootfs.diff_ids == rec.diff_ids)
        {
            return doc;
        }
        ImageConfig {
            architecture: rec.architecture.clone(),
            os: rec.os.clone(),
            created: rec.created.clone(),
            config: RunConfig::from_runtime(&rec.config),
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: rec.diff_ids.clone(),
            },
            history: Vec::new(),
        }
    }

    /// The canonical bytes and their digest (`sha256:...`, the image id).
    pub fn digest(&self) -> (Vec<u8>, String) {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let id = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
        (bytes, id)
    }
}

/// The layers of an image being built, bottom first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layers {
    pub diff_ids: Vec<String>,
    pub chain_ids: Vec<String>,
    pub blobs: Vec<String>,
    pub size: u64,
}

/// Writes the config blob and the record, and points every name of `tags` (full form) at it.
pub fn commit(
    images: &ImageStore,
    config: &ImageConfig,
    layers: &Layers,
    tags: &[String],
) -> std::io::Result<ImageRecord> {
    let (bytes, id) = config.digest();
    let blob = images.state().blob_path(&id);
    if !blob.exists() {
        write_atomic(&blob, &bytes)?;
    }
    let record = ImageRecord {
        id: id.clone(),
        // A local build has no manifest; the config digest stands in (GC keeps that blob).
        manifest_digest: id.clone(),
        repo_digests: Vec::new(),
        diff_ids: layers.diff_ids.clone(),
        chain_ids: layers.chain_ids.clone(),
        layer_blobs: layers.blobs.clone(),
        size: layers.size,
        created: config.created.clone(),
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        config: config.config.runtime(),
    };
    for t in tags {
        images.commit(t, &record)?;
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_replaced_in_place() {
        let mut c = RunConfig {
            env: vec!["PATH=/bin".into(), "A=1".into()],
            ..Default::default()
        };
        c.set_env("PATH", "/usr/bin");
        c.set_env("B", "2");
        assert_eq!(c.env, vec!["PATH=/usr/bin", "A=1", "B=2"]);
        assert_eq!(c.env_value("A"), Some("1"));
    }

    #[test]
    fn config_uses_docker_field_names() {
        let mut c = ImageConfig::scratch();
        c.config.working_dir = "/app".into();
        c.config.cmd = Some(vec!["sh".into()]);
        let (bytes, id) = c.digest();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"WorkingDir\":\"/app\""), "{text}");
        assert!(text.contains("\"Cmd\":[\"sh\"]"), "{text}");
        assert!(id.starts_with("sha256:") && id.len() == 71);
    }
}
