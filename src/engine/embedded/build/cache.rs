//! The build cache of `RUN` steps, as the classic builder's: a step whose parent layers, run
//! configuration (environment with the build arguments, user, working directory, shell...),
//! command and network are those of an earlier run takes that run's layer instead of running
//! again (` ---> Using cache`), until `--no-cache`.
//!
//! Only `RUN` is cached: it is the step that costs (a package install). `COPY`/`ADD` always
//! copy, which is cheap, and their layer is content-addressed: the packer is deterministic,
//! so an unchanged copy yields the same layer, and the `RUN` after it hits the cache again.
//! (Docker hashes the sources without their mtimes; here a touched but unchanged file
//! makes a new layer, a miss rather than a wrong hit.)
//!
//! Every step is also dated by its first run ([`step_time`]), so that an unchanged
//! Dockerfile makes the same image id again, as Docker's cache does.
//!
//! An entry is a small file under `<state>/build-cache/` naming the layer the run made. The
//! layers stay the store's: an entry whose layer was collected since (no image holds it) is
//! a miss, and the entry is replaced by the next run. The build holds the GC lock shared, so
//! a layer found here cannot go before the build's record names it.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::super::state::write_atomic;
use super::super::store::images::{hex, ImageStore};
use super::image::{Layers, RunConfig};

/// What one `RUN` depends on.
pub struct RunKey<'a> {
    pub parent: &'a Layers,
    /// The run configuration the command ran with (build arguments in its environment).
    pub config: &'a RunConfig,
    pub argv: &'a [String],
    pub network: &'a str,
}

impl RunKey<'_> {
    /// The entry's name: a digest of everything the step depends on.
    pub fn digest(&self) -> String {
        let doc = serde_json::json!({
            "parent": self.parent.chain_ids.last(),
            "config": self.config,
            "argv": self.argv,
            "network": self.network,
        });
        hex(&Sha256::digest(doc.to_string().as_bytes()))
    }
}

/// The layer a cached run made.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub diff_id: String,
    pub chain_id: String,
    pub blob: String,
    pub size: u64,
}

fn path(images: &ImageStore, kind: &str, digest: &str) -> PathBuf {
    images
        .state()
        .root()
        .join("build-cache")
        .join(kind)
        .join(digest)
}

fn write(p: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(p.parent().expect("in build-cache"))?;
    write_atomic(p, bytes)
}

/// What one step of any kind depends on and made: the image before it (its config digest,
/// history included, so every earlier step counts), the instruction, and the image config
/// and layers after it. Equal keys mean the same step on the same parent with the same
/// outcome, which then keeps the time of its first run (see [`step_time`]).
pub fn step_key(
    before: &str,
    instruction: &str,
    after: &super::image::RunConfig,
    layers: &Layers,
) -> String {
    let doc = serde_json::json!({
        "before": before,
        "instruction": instruction,
        "config": after,
        "diff_ids": layers.diff_ids,
    });
    hex(&Sha256::digest(doc.to_string().as_bytes()))
}

/// The history time of the step `key`: the one recorded by its first run, or `now`, which is
/// recorded then. A step is dated by its first run, as the classic builder's cached
/// intermediate images are, so that an unchanged Dockerfile builds the very same image id
/// (and `up --build` recreates nothing). `None` when `fresh` (`--no-cache`) or not cached.
pub fn step_time(images: &ImageStore, key: &str, now: &str, fresh: bool) -> Option<String> {
    let p = path(images, "steps", key);
    if !fresh {
        if let Ok(t) = std::fs::read_to_string(&p) {
            if !t.is_empty() {
                return Some(t);
            }
        }
    }
    if let Err(e) = write(&p, now.as_bytes()) {
        tracing::warn!("build cache: cannot record the step: {e}");
    }
    None
}

/// The cached layer for `key`, when there is one and the store still has its layer.
pub fn lookup(images: &ImageStore, key: &RunKey<'_>) -> Option<Entry> {
    let bytes = std::fs::read(path(images, "run", &key.digest())).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let present = images.layer_dir(&entry.chain_id).is_dir()
        && images.state().blob_path(&entry.blob).is_file();
    present.then_some(entry)
}

/// Remembers that the run `key` made the top layer of `after`.
pub fn store(images: &ImageStore, key: &RunKey<'_>, after: &Layers) -> std::io::Result<()> {
    let (Some(diff_id), Some(chain_id), Some(blob)) = (
        after.diff_ids.last(),
        after.chain_ids.last(),
        after.blobs.last(),
    ) else {
        return Ok(());
    };
    let entry = Entry {
        diff_id: diff_id.clone(),
        chain_id: chain_id.clone(),
        blob: blob.clone(),
        size: after.size.saturating_sub(key.parent.size),
    };
    let p = path(images, "run", &key.digest());
    write(
        &p,
        &serde_json::to_vec(&entry).map_err(std::io::Error::other)?,
    )
}

/// Removes the `RUN` entries whose layer the store no longer has (after an image prune),
/// so that the cache does not grow with dead entries. Best effort: an entry left is a miss.
pub fn forget_missing(images: &ImageStore) {
    let dir = images.state().root().join("build-cache").join("run");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let live = std::fs::read(e.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
            .is_some_and(|entry| images.layer_dir(&entry.chain_id).is_dir());
        if !live {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `parent` with the cached layer on top.
pub fn apply(parent: &Layers, entry: &Entry) -> Layers {
    let mut l = parent.clone();
    l.diff_ids.push(entry.diff_id.clone());
    l.chain_ids.push(entry.chain_id.clone());
    l.blobs.push(entry.blob.clone());
    l.size += entry.size;
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(chain: &[&str]) -> Layers {
        Layers {
            diff_ids: chain.iter().map(|c| format!("d{c}")).collect(),
            chain_ids: chain.iter().map(|c| c.to_string()).collect(),
            blobs: chain.iter().map(|c| format!("b{c}")).collect(),
            size: 10 * chain.len() as u64,
        }
    }

    #[test]
    fn the_key_changes_with_each_input() {
        let parent = layers(&["a"]);
        let other_parent = layers(&["a", "b"]);
        let config = RunConfig::default();
        let mut with_env = RunConfig::default();
        with_env.set_env("V", "1");
        let argv = vec!["/bin/sh".to_string(), "-c".into(), "make".into()];
        let argv2 = vec!["/bin/sh".to_string(), "-c".into(), "make install".into()];
        let key = |parent, config, argv: &[String], network| {
            RunKey {
                parent,
                config,
                argv,
                network,
            }
            .digest()
        };
        let base = key(&parent, &config, &argv, "none");
        assert_eq!(base, key(&parent, &config, &argv, "none"));
        for other in [
            key(&other_parent, &config, &argv, "none"),
            key(&parent, &with_env, &argv, "none"),
            key(&parent, &config, &argv2, "none"),
            key(&parent, &config, &argv, "host"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn an_entry_adds_its_layer_on_top() {
        let parent = layers(&["a"]);
        let after = layers(&["a", "b"]);
        let entry = Entry {
            diff_id: "db".into(),
            chain_id: "b".into(),
            blob: "bb".into(),
            size: 10,
        };
        assert_eq!(apply(&parent, &entry), after);
    }
}
