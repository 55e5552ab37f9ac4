//! Image records and the name index: which images the store holds, what their layers are
//! and how a container made from them runs.
//!
//! An image is identified by its config digest (`sha256:...`, Docker's image id). Names map
//! to ids in `images/refs.json`; a record lives in `images/<hex>.json`. Layers are
//! identified by their chain id (the OCI rule: `chain(L0) = diff_id(L0)`,
//! `chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln))`) so that two images sharing a base
//! share its unpacked directories.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::super::runtime_spec::ImageRuntimeConfig;
use super::super::state::{read_json, write_json, FileLock, StateRoot};

/// One image in the store.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    /// The config digest (Docker's image id).
    pub id: String,
    /// The digest of the image manifest that was pulled.
    pub manifest_digest: String,
    /// `name@digest` of the manifest (or of the index it was chosen from).
    pub repo_digests: Vec<String>,
    /// The layers' diff ids, bottom first.
    pub diff_ids: Vec<String>,
    /// The layers' chain ids, bottom first.
    pub chain_ids: Vec<String>,
    /// The compressed layer blobs, bottom first.
    pub layer_blobs: Vec<String>,
    /// Unpacked bytes of all layers.
    pub size: u64,
    /// The config's `created` (RFC 3339), when it has one.
    pub created: Option<String>,
    pub architecture: String,
    pub os: String,
    pub config: ImageRuntimeConfig,
}

/// The name → image id index.
pub type Refs = BTreeMap<String, String>;

/// The image part of the state directory.
#[derive(Clone, Debug)]
pub struct ImageStore {
    state: StateRoot,
}

impl ImageStore {
    pub fn new(state: StateRoot) -> Self {
        ImageStore { state }
    }

    pub fn state(&self) -> &StateRoot {
        &self.state
    }

    pub(super) fn refs_path(&self) -> PathBuf {
        self.state.images_dir().join("refs.json")
    }

    pub(super) fn record_path(&self, id: &str) -> PathBuf {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        self.state.images_dir().join(format!("{hex}.json"))
    }

    /// The directory of the unpacked layer with this chain id.
    pub fn layer_dir(&self, chain_id: &str) -> PathBuf {
        self.state.layers_dir().join(short_layer_name(chain_id))
    }

    pub fn refs(&self) -> std::io::Result<Refs> {
        Ok(read_json(&self.refs_path())?.unwrap_or_default())
    }

    /// The image a name (already normalized, see [`normalize_reference`]) or an id points at.
    pub fn resolve(&self, name_or_id: &str) -> std::io::Result<Option<ImageRecord>> {
        let refs = self.refs()?;
        let id = match refs.get(name_or_id) {
            Some(id) => id.clone(),
            None if is_image_id(name_or_id) => full_id(name_or_id, &self.list_ids()?),
            None => return Ok(None),
        };
        if id.is_empty() {
            return Ok(None);
        }
        read_json(&self.record_path(&id))
    }

    pub fn get(&self, id: &str) -> std::io::Result<Option<ImageRecord>> {
        read_json(&self.record_path(id))
    }

    pub(super) fn list_ids(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for e in std::fs::read_dir(self.state.images_dir())? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".json") {
                if hex.len() == 64 {
                    ids.push(format!("sha256:{hex}"));
                }
            }
        }
        Ok(ids)
    }

    /// Every image with the names that point at it.
    pub fn list(&self) -> std::io::Result<Vec<(ImageRecord, Vec<String>)>> {
        let refs = self.refs()?;
        let mut out = Vec::new();
        for id in self.list_ids()? {
            if let Some(rec) = self.get(&id)? {
                let names = refs
                    .iter()
                    .filter(|(_, v)| **v == id)
                    .map(|(k, _)| k.clone())
                    .collect();
                out.push((rec, names));
            }
        }
        Ok(out)
    }

    /// Stores `record` and points `name` at it (under the store lock).
    pub fn commit(&self, name: &str, record: &ImageRecord) -> std::io::Result<()> {
        let _lock = FileLock::acquire(&self.state.images_dir().join(".lock"))?;
        write_json(&self.record_path(&record.id), record)?;
        let mut refs = self.refs()?;
        refs.insert(name.to_string(), record.id.clone());
        write_json(&self.refs_path(), &refs)
    }

    /// Removes a name; the record goes too when no name points at it any more. Returns the
    /// removed image id, if the record went.
    pub fn untag(&self, name: &str) -> std::io::Result<Option<String>> {
        let _lock = FileLock::acquire(&self.state.images_dir().join(".lock"))?;
        let mut refs = self.refs()?;
        let Some(id) = refs.remove(name) else {
            return Ok(None);
        };
        write_json(&self.refs_path(), &refs)?;
        if refs.values().any(|v| *v == id) {
            return Ok(None);
        }
        match std::fs::remove_file(self.record_path(&id)) {
            Ok(()) => Ok(Some(id)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(id)),
            Err(e) => Err(e),
        }
    }
}

/// The short directory name of a layer (keeps overlay's option string short: 40 layers fit
/// in one page with room to spare).
pub fn short_layer_name(chain_id: &str) -> String {
    let hex = chain_id.strip_prefix("sha256:").unwrap_or(chain_id);
    hex.chars().take(24).collect()
}

/// The chain ids of a list of diff ids, bottom first.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!("sha256:{}", hex(&Sha256::digest(format!("{prev} {d}")))),
        };
        out.push(next);
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (12..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A full id for a (possibly short) id that matches exactly one image.
pub(super) fn full_id(prefix: &str, ids: &[String]) -> String {
    let p = prefix.strip_prefix("sha256:").unwrap_or(prefix);
    let matches: Vec<&String> = ids
        .iter()
        .filter(|id| id.trim_start_matches("sha256:").starts_with(p))
        .collect();
    match matches.as_slice() {
        [one] => (*one).clone(),
        _ => String::new(),
    }
}

/// A reference in its full form (`docker.io/library/busybox:latest`), as Docker normalizes
/// it; `None` when it is not a valid reference.
///
/// Our own parser of the reference grammar: oci-spec's regex-based one costs ~40 ms to
/// compile on every command, most of the time of a `create`.
pub fn normalize_reference(reference: &str) -> Option<String> {
    let (name_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d.split_once(':')?;
        let ok_algo = !algo.is_empty()
            && algo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        if !ok_algo || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
    }
    // A tag is after the last ':' that follows the last '/'.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        let valid = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return None;
        }
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest.to_string())
        }
        Some(_) => ("docker.io", name.to_string()),
        None => ("docker.io", format!("library/{name}")),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let valid_domain = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let valid_path = !path.is_empty()
        && path.len() <= 255
        && path.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && c.bytes()
                    .last()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
    if !valid_domain || !valid_path {
        return None;
    }
    let mut out = format!("{domain}/{path}");
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    Some(out)
}

/// The short form Docker shows (`busybox:latest`, `127.0.0.1:5000/x:1`).
pub fn familiar_name(full: &str) -> String {
    let s = full.strip_prefix("docker.io/").unwrap_or(full);
    if full.starts_with("docker.io/") {
        s.strip_prefix("library/").unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let d = vec!["sha256:aa".to_string(), "sha256:bb".to_string()];
        let c = chain_ids(&d);
        assert_eq!(c[0], "sha256:aa");
        let expect = format!("sha256:{}", hex(&Sha256::digest("sha256:aa sha256:bb")));
        assert_eq!(c[1], expect);
    }

    #[test]
    fn references_normalize_like_docker() {
        assert_eq!(
            normalize_reference("busybox").as_deref(),
            Some("docker.io/library/busybox:latest")
        );
        assert_eq!(
            normalize_reference("127.0.0.1:5000/rcompose-test/busybox:1").as_deref(),
            Some("127.0.0.1:5000/rcompose-test/busybox:1")
        );
        assert_eq!(
            familiar_name("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar_name("docker.io/me/app:1"), "me/app:1");
        assert_eq!(
            familiar_name("127.0.0.1:5000/rcompose-test/busybox:1"),
            "127.0.0.1:5000/rcompose-test/busybox:1"
        );
        // An upper-case first component is a registry host (Docker's rule); paths are lower case.
        assert_eq!(
            normalize_reference("UPPER/case").as_deref(),
            Some("UPPER/case:latest")
        );
        assert!(normalize_reference("upper/CASE").is_none());
        assert!(normalize_reference("busybox:").is_none());
        assert!(normalize_reference("a//b").is_none());
        assert_eq!(
            normalize_reference("me/app").as_deref(),
            Some("docker.io/me/app:latest")
        );
        assert_eq!(
            normalize_reference("localhost/app:v1").as_deref(),
            Some("localhost/app:v1")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            normalize_reference(&format!("busybox@{d}")),
            Some(format!("docker.io/library/busybox@{d}"))
        );
        // The same results as oci-spec's regex grammar on ordinary references.
        for r in [
            "busybox",
            "me/app:1.2",
            "127.0.0.1:5000/x/y:z",
            "ghcr.io/o/r",
            "docker.io/library/alpine:3",
        ] {
            let theirs: oci_client::Reference = r.parse().unwrap();
            assert_eq!(normalize_reference(r), Some(theirs.whole()), "{r}");
        }
    }
}
