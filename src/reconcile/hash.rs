//! The config hash of a service: Docker Compose's `com.docker.compose.config-hash`.
//!
//! A container is recreated when the hash of its service changes, so the hash must leave out
//! what never needs a recreate: `build`, `pull_policy`, `scale` and `deploy.replicas`,
//! `depends_on` and `profiles`. It is computed exactly as Docker Compose v2.40 does
//! (SHA-256 of the Go JSON encoding of the service in its hash view, see
//! [`crate::spec::model::hash_view`]) so that both tools agree on what is up to date and
//! `config --hash` prints the same digests.

use sha2::{Digest, Sha256};

use crate::cli::render::go_json;
use crate::spec::model::hash_view::with_hash_view;
use crate::spec::model::Service;

/// Version of the hash recipe, recorded next to the hash by the engines: a container created
/// under another recipe is compared field by field instead of by hash.
pub const HASH_VERSION: u32 = 1;

/// The hex SHA-256 config hash of `svc`.
pub fn service_hash(svc: &Service) -> String {
    let mut s = svc.clone();
    if let Some(u) = s.unresolved.take() {
        s.environment = u.environment;
    }
    s.build = None;
    s.pull_policy.clear();
    s.scale = None;
    s.depends_on.clear();
    s.profiles.clear();
    if let Some(d) = s.deploy.as_mut() {
        d.replicas = None;
    }
    let value = with_hash_view(|| serde_json::to_value(&s)).unwrap_or(serde_json::Value::Null);
    let digest = Sha256::digest(go_json(&value).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
