//! Registry pulls into the image store: manifests (Docker v2 and OCI, lists and indexes with
//! the platform of this machine), the config, then every missing layer streamed to a
//! temporary file, its size and digest checked before it is committed by rename, unpacked,
//! and its `diff_id` checked against the config before the layer directory is committed.
//!
//! Registries on loopback addresses are spoken to over plain HTTP, as Docker does for
//! 127.0.0.0/8; all others over HTTPS (rustls with ring). Credentials come from
//! `~/.docker/config.json` (`auths.<registry>.auth`). A mirror for Docker Hub can be named in
//! `RCOMPOSE_REGISTRY_MIRROR` (`host[:port]`), the way dockerd's `registry-mirrors` works: the
//! mirror is tried first, Docker Hub itself after a failure.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use super::runtime_spec::ImageRuntimeConfig;
use super::state::{make_private_dir, random_id};
use super::store::images::{chain_ids, hex, normalize_reference, ImageRecord, ImageStore};
use super::store::unpack::{apply_layer, Compression, UnpackLimits};
use crate::engine::types::{LayerPhase, LayerProgress};

/// Size caps on what a registry sends before it is parsed (reliability-plan c.3 item 6).
pub const MAX_MANIFEST: usize = 4 << 20;
pub const MAX_CONFIG: usize = 8 << 20;
pub const MAX_INDEX_ENTRIES: usize = 1000;

const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Why a pull failed; the messages name the image and, for digests, both sides.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("invalid reference format: {0}")]
    Reference(String),
    #[error("{image}: {message}")]
    Registry { image: String, message: String },
    #[error("{image}: not found in the registry")]
    NotFound { image: String },
    #[error("{image}: {what} digest mismatch: expected {expected}, got {actual}")]
    Digest {
        image: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{image}: {what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        image: String,
        what: String,
        size: u64,
        limit: u64,
    },
    #[error("{image}: {message}")]
    Invalid { image: String, message: String },
    #[error("{image}: layer {digest}: {source}")]
    Unpack {
        image: String,
        digest: String,
        source: super::store::unpack::UnpackError,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What a pull reports as it goes (for the progress lines of `pull` and `up`).
#[derive(Clone, Debug, PartialEq)]
pub enum PullEvent {
    /// The manifest and config are known: so many layers, so many already present.
    Resolved { layers: usize, present: usize },
    /// A layer's step, in the order dockerd reports them: `Already exists`, or `Pulling fs
    /// layer`, `Downloading` (throttled as dockerd does), `Verifying Checksum`, `Download
    /// complete`, `Extracting` (throttled), `Pull complete`.
    Layer(LayerProgress),
}

/// Where [`pull`] reports; shared by the concurrent downloads.
pub type PullEvents<'a> = &'a (dyn Fn(PullEvent) + Sync);

/// The layer's short id, as dockerd shows it: the first 12 hex digits of its blob digest.
pub fn short_layer_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

fn layer_event(digest: &str, phase: LayerPhase, current: u64, total: u64) -> PullEvent {
    PullEvent::Layer(LayerProgress {
        layer: short_layer_id(digest),
        phase,
        current,
        total,
    })
}

/// dockerd's progress throttle (its `progressreader`): a new count is worth reporting after
/// 1% of the total or 512 KiB, whichever is less, and at most every 100 ms; the last count
/// always is.
#[derive(Debug)]
pub struct Throttle {
    every: u64,
    last_bytes: u64,
    last_time: Option<std::time::Instant>,
}

impl Throttle {
    pub fn new(total: u64) -> Self {
        Throttle {
            every: (total / 100).min(512 << 10),
            last_bytes: 0,
            last_time: None,
        }
    }

    /// Whether `current` (of `total`) should be reported at `now`.
    pub fn due(&mut self, current: u64, total: u64, now: std::time::Instant) -> bool {
        let last = current >= total;
        let enough = current.saturating_sub(self.last_bytes) > self.every;
        let later = self
            .last_time
            .is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_millis(100));
        if last || (enough && later) {
            self.last_bytes = current;
            self.last_time = Some(now);
            return true;
        }
        false
    }
}

#[derive(serde::Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Platform {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(serde::Deserialize)]
struct ManifestDoc {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(serde::Deserialize, Default)]
struct ConfigDoc {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: Option<ConfigInner>,
    rootfs: RootFs,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigInner {
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    stop_signal: Option<String>,
    #[serde(default)]
    exposed_ports: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(serde::Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// The architecture name OCI uses for this machine.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Whether a registry host is on a loopback address (plain HTTP allowed, as Docker does).
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Credentials for `registry` from `~/.docker/config.json` (`DOCKER_CONFIG` honoured).
pub fn registry_auth(registry: &str) -> RegistryAuth {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
    let Some(dir) = dir else {
        return RegistryAuth::Anonymous;
    };
    let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
        return RegistryAuth::Anonymous;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return RegistryAuth::Anonymous;
    };
    let keys: Vec<String> = if registry == "docker.io" || registry == "index.docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    for k in keys {
        let Some(auth) = doc["auths"][&k]["auth"].as_str() else {
            continue;
        };
        if let Some((user, pass)) = decode_basic(auth) {
            return RegistryAuth::Basic(user, pass);
        }
    }
    RegistryAuth::Anonymous
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Pulls `reference` into the store and names it; returns the image record.
pub async fn pull(
    store: &ImageStore,
    reference: &str,
    progress: PullEvents<'_>,
) -> Result<ImageRecord, PullError> {
    let full =
        normalize_reference(reference).ok_or_else(|| PullError::Reference(reference.into()))?;
    // No collection while this pull relies on the layers it finds present.
    let _gc = store
        .gc_shared()
        .map_err(|e| io_err(store.state().layers_dir(), e))?;
    let r: Reference = full
        .parse()
        .map_err(|_| PullError::Reference(reference.into()))?;
    let mirror = std::env::var("RCOMPOSE_REGISTRY_MIRROR")
        .ok()
        .filter(|m| !m.is_empty() && r.resolve_registry() == "index.docker.io");
    if let Some(m) = mirror {
        let mirrored: Option<Reference> = format!(
            "{m}/{}{}",
            r.repository(),
            r.digest()
                .map(|d| format!("@{d}"))
                .unwrap_or_else(|| format!(":{}", r.tag().unwrap_or("latest")))
        )
        .parse()
        .ok();
        if let Some(mr) = mirrored {
            match pull_from(store, &full, &mr, progress).await {
                Ok(rec) => return Ok(rec),
                Err(e) => tracing::warn!("registry mirror {m} failed ({e}); trying Docker Hub"),
            }
        }
    }
    pull_from(store, &full, &r, progress).await
}

fn client_for(r: &Reference) -> Client {
    let registry = r.resolve_registry().to_string();
    let protocol = if is_loopback_registry(&registry) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        read_timeout: Some(std::time::Duration::from_secs(60)),
        connect_timeout: Some(std::time::Duration::from_secs(15)),
        ..Default::default()
    })
}

async fn pull_from(
    store: &ImageStore,
    name: &str,
    r: &Reference,
    progress: PullEvents<'_>,
) -> Result<ImageRecord, PullError> {
    install_crypto_provider();
    remove_stale_temporaries(store);
    let client = client_for(r);
    let auth = registry_auth(r.resolve_registry());
    let img = name.to_string();
    let registry_err = |e: oci_client::errors::OciDistributionError| classify(&img, e);

    // The manifest (or list), then the platform's manifest.
    let accepted = [
        MT_DOCKER_MANIFEST,
        MT_DOCKER_LIST,
        MT_OCI_MANIFEST,
        MT_OCI_INDEX,
    ];
    let (bytes, _) = client
        .pull_manifest_raw(r, &auth, &accepted)
        .await
        .map_err(registry_err)?;
    let top_digest = check_manifest(&img, &bytes, r.digest())?;
    let mut doc: ManifestDoc = parse(&img, "manifest", &bytes)?;
    let mut manifest_bytes = bytes.to_vec();
    let mut manifest_digest = top_digest.clone();
    if let Some(list) = doc.manifests.take() {
        if list.len() > MAX_INDEX_ENTRIES {
            return Err(PullError::Invalid {
                image: img,
                message: format!(
                    "the index lists {} manifests, over the limit of {MAX_INDEX_ENTRIES}",
                    list.len()
                ),
            });
        }
        let chosen = choose_platform(&list).ok_or_else(|| PullError::Invalid {
            image: img.clone(),
            message: format!("no manifest for linux/{} in the index", host_architecture()),
        })?;
        let by_digest = r.clone_with_digest(chosen.to_string());
        let (bytes, _) = client
            .pull_manifest_raw(&by_digest, &auth, &[MT_DOCKER_MANIFEST, MT_OCI_MANIFEST])
            .await
            .map_err(registry_err)?;
        manifest_digest = check_manifest(&img, &bytes, Some(chosen))?;
        doc = parse(&img, "manifest", &bytes)?;
        manifest_bytes = bytes.to_vec();
    }
    if let Some(mt) = &doc.media_type {
        if mt != MT_DOCKER_MANIFEST && mt != MT_OCI_MANIFEST {
            return Err(PullError::Invalid {
                image: img,
                message: format!("unsupported manifest type {mt}"),
            });
        }
    }
    let (Some(config_desc), Some(layers)) = (doc.config, doc.layers) else {
        return Err(PullError::Invalid {
            image: img,
            message: "the manifest has no config or no layers".into(),
        });
    };

    // The config, capped and verified.
    if config_desc.size > MAX_CONFIG as u64 {
        return Err(PullError::TooLarge {
            image: img,
            what: "image config".into(),
            size: config_desc.size,
            limit: MAX_CONFIG as u64,
        });
    }
    let mut config_bytes = Vec::new();
    let mut stream = client
        .pull_blob_stream(r, config_desc.digest.as_str())
        .await
        .map_err(registry_err)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| PullError::Registry {
            image: img.clone(),
            message: e.to_string(),
        })?;
        config_bytes.extend_from_slice(&chunk);
        if config_bytes.len() > MAX_CONFIG {
            return Err(PullError::TooLarge {
                image: img,
                what: "image config".into(),
                size: config_bytes.len() as u64,
                limit: MAX_CONFIG as u64,
            });
        }
    }
    verify_digest(&img, "config", &config_desc.digest, &config_bytes)?;
    let config: ConfigDoc = parse(&img, "image config", &config_bytes)?;
    if config.rootfs.diff_ids.len() != layers.len() {
        return Err(PullError::Invalid {
            image: img,
            message: format!(
                "the manifest has {} layers but the config {} diff_ids",
                layers.len(),
                config.rootfs.diff_ids.len()
            ),
        });
    }
    let chains = chain_ids(&config.rootfs.diff_ids);
    let present = chains
        .iter()
        .filter(|c| store.layer_dir(c).is_dir())
        .count();
    progress(PullEvent::Resolved {
        layers: layers.len(),
        present,
    });

    // Missing layers: download (concurrently), then unpack bottom up.
    let state = store.state();
    let missing: Vec<bool> = chains
        .iter()
        .map(|c| !store.layer_dir(c).is_dir())
        .collect();
    // An image already in the store is "up to date" for dockerd: no layer lines at all.
    let up_to_date = !missing.contains(&true)
        && store
            .get(&config_desc.digest)
            .map_err(|e| io_err(store.state().images_dir(), e))?
            .is_some();
    for (l, &missing) in layers.iter().zip(&missing).filter(|_| !up_to_date) {
        let phase = if missing {
            LayerPhase::PullingFsLayer
        } else {
            LayerPhase::AlreadyExists
        };
        progress(layer_event(&l.digest, phase, 0, 0));
    }
    let mut downloads = Vec::new();
    for (l, &missing) in layers.iter().zip(&missing) {
        if !missing {
            continue;
        }
        compression_of(&img, &l.media_type)?;
        downloads.push(download_blob(
            &client,
            r,
            &img,
            l,
            state.blob_path(&l.digest),
            state.blob_tmp_dir(),
            progress,
        ));
    }
    for res in futures_util::future::join_all(downloads).await {
        res?;
    }
    let mut size = 0u64;
    for (i, l) in layers.iter().enumerate() {
        let dir = store.layer_dir(&chains[i]);
        if dir.is_dir() {
            size += super::state::read_json::<LayerMeta>(&dir.with_extension("json"))
                .ok()
                .flatten()
                .map_or(0, |m| m.size);
            continue;
        }
        let lowers: Vec<PathBuf> = chains[..i]
            .iter()
            .rev()
            .map(|c| store.layer_dir(c))
            .collect();
        let blob = state.blob_path(&l.digest);
        let tmp = store
            .state()
            .layers_dir()
            .join(format!(".tmp-{}", &random_id()[..16]));
        let expected = config.rootfs.diff_ids[i].clone();
        let compression = compression_of(&img, &l.media_type)?;
        let (img2, digest2) = (img.clone(), l.digest.clone());
        let tmp2 = tmp.clone();
        let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let read2 = read.clone();
        let mut unpack = tokio::task::spawn_blocking(move || -> Result<_, PullError> {
            make_private_dir(&tmp2).map_err(|e| io_err(&tmp2, e))?;
            // The layer directory itself is what the container sees as a lower dir.
            std::fs::set_permissions(&tmp2, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|e| io_err(&tmp2, e))?;
            let f = std::fs::File::open(&blob).map_err(|e| io_err(&blob, e))?;
            let counted = CountingReader {
                inner: f,
                count: read2,
            };
            apply_layer(
                std::io::BufReader::with_capacity(256 << 10, counted),
                compression,
                &tmp2,
                &lowers,
                &UnpackLimits::default(),
            )
            .map_err(|source| PullError::Unpack {
                image: img2,
                digest: digest2,
                source,
            })
        });
        // dockerd reports the compressed bytes read so far, at most every 100 ms.
        let mut throttle = Throttle::new(l.size);
        let applied = loop {
            tokio::select! {
                r = &mut unpack => break r,
                () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                    let n = read.load(std::sync::atomic::Ordering::Relaxed).min(l.size);
                    if n > 0 && throttle.due(n, l.size, std::time::Instant::now()) {
                        progress(layer_event(&l.digest, LayerPhase::Extracting, n, l.size));
                    }
                }
            }
        }
        .map_err(|e| PullError::Invalid {
            image: img.clone(),
            message: format!("layer unpack task failed: {e}"),
        })?;
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        if applied.diff_id != expected {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(PullError::Digest {
                image: img,
                what: format!("layer {} diff_id", l.digest),
                expected,
                actual: applied.diff_id,
            });
        }
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => {}
            // Another pull committed the same layer meanwhile: theirs is as good as ours.
            Err(_) if dir.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(e) => return Err(io_err(&dir, e)),
        }
        let meta = LayerMeta {
            chain_id: chains[i].clone(),
            diff_id: applied.diff_id.clone(),
            size: applied.size,
        };
        let meta_path = dir.with_extension("json");
        super::state::write_json(&meta_path, &meta).map_err(|e| io_err(&meta_path, e))?;
        size += applied.size;
        progress(layer_event(
            &l.digest,
            LayerPhase::Extracting,
            l.size,
            l.size,
        ));
        progress(layer_event(&l.digest, LayerPhase::PullComplete, 0, 0));
    }

    // Keep the manifest and config blobs too: the store holds what the image is made of.
    for (digest, bytes) in [
        (manifest_digest.clone(), &manifest_bytes),
        (config_desc.digest.clone(), &config_bytes),
    ] {
        let p = state.blob_path(&digest);
        if !p.exists() {
            super::state::write_atomic(&p, bytes).map_err(|e| io_err(&p, e))?;
        }
    }

    let inner = config.config.unwrap_or_default();
    let repo = name.split(['@']).next().unwrap_or(name);
    let repo = match repo.rfind(':') {
        Some(i) if !repo[i..].contains('/') => &repo[..i],
        _ => repo,
    };
    let record = ImageRecord {
        id: config_desc.digest.clone(),
        manifest_digest: manifest_digest.clone(),
        repo_digests: vec![format!("{repo}@{top_digest}")],
        diff_ids: config.rootfs.diff_ids.clone(),
        chain_ids: chains,
        layer_blobs: layers.iter().map(|l| l.digest.clone()).collect(),
        size,
        created: config.created,
        architecture: config.architecture,
        os: config.os,
        config: ImageRuntimeConfig {
            entrypoint: inner.entrypoint,
            cmd: inner.cmd,
            env: inner.env.unwrap_or_default(),
            working_dir: inner.working_dir.unwrap_or_default(),
            user: inner.user.unwrap_or_default(),
            stop_signal: inner.stop_signal,
            exposed_ports: inner
                .exposed_ports
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            labels: inner.labels.unwrap_or_default(),
        },
    };
    store
        .commit(name, &record)
        .map_err(|e| io_err(store.state().images_dir(), e))?;
    Ok(record)
}

/// Streams one blob to a temporary file, checking size and digest, then renames it into the
/// store. Returns the digest and the byte count.
async fn download_blob(
    client: &Client,
    r: &Reference,
    img: &str,
    desc: &Descriptor,
    dest: PathBuf,
    tmp_dir: PathBuf,
    progress: PullEvents<'_>,
) -> Result<(String, u64), PullError> {
    let report = |phase: LayerPhase, current: u64, total: u64| {
        progress(layer_event(&desc.digest, phase, current, total));
    };
    if dest.exists() {
        // The blob is kept from an earlier pull (its layer directory was collected).
        report(LayerPhase::DownloadComplete, 0, 0);
        return Ok((desc.digest.clone(), desc.size));
    }
    let tmp = tmp_dir.join(format!(
        "{}-{}",
        &random_id()[..16],
        desc.digest.trim_start_matches("sha256:")
    ));
    let result = async {
        let mut stream = client
            .pull_blob_stream(r, desc.digest.as_str())
            .await
            .map_err(|e| classify(img, e))?;
        let mut file = std::io::BufWriter::with_capacity(
            256 << 10,
            std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?,
        );
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        let mut throttle = Throttle::new(desc.size);
        // oci-client checks the digest itself at the end of the stream; our own checks of
        // size and digest below give the clearer error, so a stream error waits for them.
        let mut stream_error = None;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    stream_error = Some(e);
                    break;
                }
            };
            n += chunk.len() as u64;
            if n > desc.size {
                return Err(PullError::Invalid {
                    image: img.to_string(),
                    message: format!(
                        "blob {} is larger than the {} bytes its manifest gives",
                        desc.digest, desc.size
                    ),
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).map_err(|e| io_err(&tmp, e))?;
            if throttle.due(n, desc.size, std::time::Instant::now()) {
                report(LayerPhase::Downloading, n, desc.size);
            }
        }
        if n != desc.size {
            return Err(PullError::Invalid {
                image: img.to_string(),
                message: format!(
                    "blob {} is truncated: {n} of {} bytes",
                    desc.digest, desc.size
                ),
            });
        }
        report(LayerPhase::VerifyingChecksum, 0, 0);
        let actual = format!("sha256:{}", hex(&hasher.finalize()));
        if actual != desc.digest {
            return Err(PullError::Digest {
                image: img.to_string(),
                what: "layer blob".into(),
                expected: desc.digest.clone(),
                actual,
            });
        }
        if let Some(e) = stream_error {
            return Err(PullError::Registry {
                image: img.to_string(),
                message: format!("blob {}: {e}", desc.digest),
            });
        }
        let file = file
            .into_inner()
            .map_err(|e| io_err(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, e))?;
        report(LayerPhase::DownloadComplete, 0, 0);
        Ok((desc.digest.clone(), n))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A reader that counts what went through it (the unpack's progress).
struct CountingReader<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

fn choose_platform(list: &[Descriptor]) -> Option<&str> {
    let arch = host_architecture();
    let fits = |d: &&Descriptor| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == arch)
    };
    // Prefer the plain entry, then v8 for arm64 (Docker's order), then any variant.
    list.iter()
        .filter(fits)
        .min_by_key(
            |d| match d.platform.as_ref().and_then(|p| p.variant.as_deref()) {
                None => 0,
                Some("v8") => 1,
                Some(_) => 2,
            },
        )
        .map(|d| d.digest.as_str())
}

fn compression_of(img: &str, media_type: &str) -> Result<Compression, PullError> {
    Ok(match media_type {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.oci.image.layer.v1.tar+gzip" => Compression::Gzip,
        "application/vnd.oci.image.layer.v1.tar+zstd" => Compression::Zstd,
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Compression::None,
        other => {
            return Err(PullError::Invalid {
                image: img.to_string(),
                message: format!("unsupported layer media type '{other}'"),
            })
        }
    })
}

/// Checks a manifest's size and, when the reference pinned a digest, its digest; returns
/// its own digest.
fn check_manifest(img: &str, bytes: &[u8], pinned: Option<&str>) -> Result<String, PullError> {
    if bytes.len() > MAX_MANIFEST {
        return Err(PullError::TooLarge {
            image: img.to_string(),
            what: "manifest".into(),
            size: bytes.len() as u64,
            limit: MAX_MANIFEST as u64,
        });
    }
    let actual = format!("sha256:{}", hex(&Sha256::digest(bytes)));
    if let Some(expected) = pinned {
        if expected != actual {
            return Err(PullError::Digest {
                image: img.to_string(),
                what: "manifest".into(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(actual)
}

fn verify_digest(img: &str, what: &str, expected: &str, bytes: &[u8]) -> Result<(), PullError> {
    let actual = format!("sha256:{}", hex(&Sha256::digest(bytes)));
    if actual != expected {
        return Err(PullError::Digest {
            image: img.to_string(),
            what: what.into(),
            expected: expected.into(),
            actual,
        });
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(
    img: &str,
    what: &str,
    bytes: &[u8],
) -> Result<T, PullError> {
    serde_json::from_slice(bytes).map_err(|e| PullError::Invalid {
        image: img.to_string(),
        message: format!("invalid {what}: {e}"),
    })
}

fn classify(img: &str, e: oci_client::errors::OciDistributionError) -> PullError {
    use oci_client::errors::OciDistributionError as E;
    match &e {
        E::ImageManifestNotFoundError(_) => PullError::NotFound { image: img.into() },
        E::ServerError { code: 404, .. } => PullError::NotFound { image: img.into() },
        E::RegistryError { envelope, .. }
            if envelope.errors.iter().any(|x| {
                matches!(
                    x.code,
                    oci_client::errors::OciErrorCode::ManifestUnknown
                        | oci_client::errors::OciErrorCode::NameUnknown
                )
            }) =>
        {
            PullError::NotFound { image: img.into() }
        }
        _ => PullError::Registry {
            image: img.into(),
            message: e.to_string(),
        },
    }
}

fn io_err(path: impl AsRef<Path>, source: std::io::Error) -> PullError {
    PullError::Io {
        path: path.as_ref().display().to_string(),
        source,
    }
}

/// What the store knows of an unpacked layer (`layers/<name>.json` beside its directory).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct LayerMeta {
    pub chain_id: String,
    pub diff_id: String,
    pub size: u64,
}

/// Downloads and unpacks that a crash interrupted leave temporaries behind; those older than
/// an hour cannot belong to a pull still running, and go.
fn remove_stale_temporaries(store: &ImageStore) {
    let hour = std::time::Duration::from_secs(3600);
    let old = |p: &Path| {
        std::fs::symlink_metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > hour)
    };
    if let Ok(rd) = std::fs::read_dir(store.state().blob_tmp_dir()) {
        for e in rd.flatten() {
            if old(&e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(store.state().layers_dir()) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") && old(&e.path()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        assert!(is_loopback_registry("127.0.0.1:5000"));
        assert!(is_loopback_registry("localhost:5000"));
        assert!(is_loopback_registry("[::1]:5000"));
        assert!(is_loopback_registry("127.1.2.3"));
        assert!(!is_loopback_registry("index.docker.io"));
        assert!(!is_loopback_registry("10.0.0.1:5000"));
    }

    #[test]
    fn platform_choice_prefers_this_machine() {
        let list: Vec<Descriptor> = serde_json::from_str(&format!(
            r#"[{{"mediaType":"m","digest":"sha256:a","size":1,"platform":{{"architecture":"s390x","os":"linux"}}}},
                {{"mediaType":"m","digest":"sha256:b","size":1,"platform":{{"architecture":"{}","os":"linux"}}}},
                {{"mediaType":"m","digest":"sha256:c","size":1,"platform":{{"architecture":"{}","os":"windows"}}}}]"#,
            host_architecture(),
            host_architecture()
        ))
        .unwrap();
        assert_eq!(choose_platform(&list), Some("sha256:b"));
    }

    #[test]
    fn manifest_digest_pins_are_checked() {
        let e = check_manifest("x", b"{}", Some("sha256:00")).unwrap_err();
        assert!(e.to_string().contains("expected sha256:00"), "{e}");
        let big = vec![b' '; MAX_MANIFEST + 1];
        assert!(matches!(
            check_manifest("x", &big, None),
            Err(PullError::TooLarge { .. })
        ));
    }

    #[test]
    fn basic_auth_decodes() {
        assert_eq!(decode_basic("dTpw"), Some(("u".into(), "p".into())));
    }
}
