//! Image removal and the store's garbage collection: a name or an image record goes first
//! (Docker's rules for names, ids and containers that use the image), then every layer
//! directory and blob no image references and no container's overlay uses.
//!
//! Crash safety: the records are the truth and change first (the name index, then the image
//! record), so a crash leaves at worst unreferenced files, which the next collection removes.
//! A layer directory is renamed to `.gc-<name>` before it is deleted, because a pull takes
//! an existing layer directory as a complete layer: a crash in the middle of the deletion
//! leaves a `.gc-` directory (garbage), never a half layer under its real name.
//!
//! Concurrency: a collection holds the store's GC lock (`layers/.gc.lock`) exclusively, and
//! reads which containers use which layers under it; a pull and a container create hold it
//! shared (see [`ImageStore::gc_shared`]) from their first look at the layers until their
//! record is written, so no collection runs between a pull finding a layer present and its
//! image record naming it, nor between a create resolving its image and its record listing
//! the lower dirs. The lock order is the GC lock, then the image index lock.

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;

use super::super::state::{read_json, write_json, FileLock};
use super::images::{familiar_name, full_id, is_image_id, normalize_reference, ImageStore};
use crate::engine::{ImageDeleted, ImagePruneReport, PruneImages};

/// A container, as far as image removal cares.
#[derive(Clone, Debug)]
pub struct ImageUser {
    pub container_id: String,
    pub image_id: String,
    /// Running, paused or restarting: Docker refuses even a forced removal then.
    pub running: bool,
    /// Its overlay's lower dirs (kept whatever happens to its image).
    pub lowers: Vec<PathBuf>,
}

/// Why an image was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("No such image: {0}")]
    NotFound(String),
    /// Docker's conflict message (without its `conflict: ` prefix).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The exclusive hold of the GC lock: removals and collections happen under it.
pub struct GcGuard {
    _lock: FileLock,
}

/// What a collection freed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Chain ids of the layer directories removed.
    pub layers: Vec<String>,
    /// Bytes freed (unpacked layers and blobs).
    pub bytes: u64,
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

impl ImageStore {
    fn gc_lock_path(&self) -> PathBuf {
        self.state().layers_dir().join(".gc.lock")
    }

    /// Holds off collections while a pull or a create relies on the layers it saw.
    pub fn gc_shared(&self) -> io::Result<FileLock> {
        FileLock::acquire_shared(&self.gc_lock_path())
    }

    /// Waits for pulls and creates in flight, and holds off new ones.
    pub fn gc_exclusive(&self) -> io::Result<GcGuard> {
        Ok(GcGuard {
            _lock: FileLock::acquire(&self.gc_lock_path())?,
        })
    }

    /// Removes a name, or an image by id, as Docker's `image rm` does; then collects the
    /// layers no longer referenced. `users` are the store's containers, read under `_gc`.
    pub fn remove_image(
        &self,
        _gc: &GcGuard,
        reference: &str,
        force: bool,
        users: &[ImageUser],
    ) -> Result<Vec<ImageDeleted>, RemoveError> {
        let mut out = Vec::new();
        {
            let _lock = FileLock::acquire(&self.state().images_dir().join(".lock"))?;
            let mut refs = self.refs()?;
            let name = normalize_reference(reference).filter(|n| refs.contains_key(n));
            let using = |id: &str| users.iter().find(|u| u.image_id == id);
            let running = |id: &str| users.iter().find(|u| u.image_id == id && u.running);
            let id = match name {
                Some(name) => {
                    let id = refs[&name].clone();
                    let others = refs
                        .iter()
                        .filter(|(n, v)| **v == id && **n != name)
                        .count();
                    if others == 0 && !force {
                        if let Some(u) = using(&id) {
                            return Err(RemoveError::Conflict(format!(
                                "unable to remove repository reference \"{reference}\" (must force) - container {} is using its referenced image {}",
                                short(&u.container_id),
                                short(&id)
                            )));
                        }
                    }
                    refs.remove(&name);
                    write_json(&self.refs_path(), &refs)?;
                    out.push(ImageDeleted::Untagged(familiar_name(&name)));
                    if others > 0 || running(&id).is_some() {
                        // Other names keep it; a running container keeps it, dangling.
                        return Ok(out);
                    }
                    id
                }
                None if is_image_id(reference) => {
                    let id = full_id(reference, &self.list_ids()?);
                    if id.is_empty() {
                        return Err(RemoveError::NotFound(reference.to_string()));
                    }
                    let names: Vec<String> = refs
                        .iter()
                        .filter(|(_, v)| **v == id)
                        .map(|(n, _)| n.clone())
                        .collect();
                    if let Some(u) = running(&id) {
                        return Err(RemoveError::Conflict(format!(
                            "unable to delete {} (cannot be forced) - image is being used by running container {}",
                            short(&id),
                            short(&u.container_id)
                        )));
                    }
                    if !force {
                        if names.len() > 1 {
                            return Err(RemoveError::Conflict(format!(
                                "unable to delete {} (must be forced) - image is referenced in multiple repositories",
                                short(&id)
                            )));
                        }
                        if let Some(u) = using(&id) {
                            return Err(RemoveError::Conflict(format!(
                                "unable to delete {} (must be forced) - image is being used by stopped container {}",
                                short(&id),
                                short(&u.container_id)
                            )));
                        }
                    }
                    for n in &names {
                        refs.remove(n);
                        out.push(ImageDeleted::Untagged(familiar_name(n)));
                    }
                    if !names.is_empty() {
                        write_json(&self.refs_path(), &refs)?;
                    }
                    id
                }
                None => return Err(RemoveError::NotFound(reference.to_string())),
            };
            out.extend(self.delete_record(&id)?);
        }
        let collected = self.collect(users)?;
        out.extend(collected.layers.into_iter().map(ImageDeleted::Deleted));
        Ok(out)
    }

    /// Removes the images `which` selects that no container uses, then collects.
    pub fn prune(
        &self,
        _gc: &GcGuard,
        which: PruneImages,
        users: &[ImageUser],
    ) -> io::Result<ImagePruneReport> {
        let mut deleted = Vec::new();
        let mut record_bytes = 0u64;
        {
            let _lock = FileLock::acquire(&self.state().images_dir().join(".lock"))?;
            let mut refs = self.refs()?;
            let used: BTreeSet<&str> = users.iter().map(|u| u.image_id.as_str()).collect();
            for id in self.list_ids()? {
                let names: Vec<String> = refs
                    .iter()
                    .filter(|(_, v)| **v == id)
                    .map(|(n, _)| n.clone())
                    .collect();
                let selected = match which {
                    PruneImages::Dangling => names.is_empty(),
                    PruneImages::Unused => true,
                };
                if !selected || used.contains(id.as_str()) {
                    continue;
                }
                if !names.is_empty() {
                    for n in &names {
                        refs.remove(n);
                        deleted.push(ImageDeleted::Untagged(familiar_name(n)));
                    }
                    write_json(&self.refs_path(), &refs)?;
                }
                record_bytes += std::fs::metadata(self.record_path(&id)).map_or(0, |m| m.len());
                deleted.extend(self.delete_record(&id)?);
            }
        }
        let collected = self.collect(users)?;
        deleted.extend(collected.layers.into_iter().map(ImageDeleted::Deleted));
        Ok(ImagePruneReport {
            deleted,
            reclaimed: collected.bytes + record_bytes,
        })
    }

    /// Removes the record of `id` (its names are gone already): `Untagged` for its repo
    /// digests, as Docker reports them, and `Deleted` for the id.
    fn delete_record(&self, id: &str) -> io::Result<Vec<ImageDeleted>> {
        let mut out = Vec::new();
        if let Some(rec) = self.get(id)? {
            out.extend(
                rec.repo_digests
                    .iter()
                    .map(|d| ImageDeleted::Untagged(familiar_name(d))),
            );
        }
        match std::fs::remove_file(self.record_path(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        out.push(ImageDeleted::Deleted(id.to_string()));
        Ok(out)
    }

    /// Removes every layer directory, layer description and blob that no image record
    /// references and no container's overlay uses, and what an earlier collection left
    /// half done. Call it with the GC lock held exclusively ([`ImageStore::gc_exclusive`]).
    pub fn collect(&self, users: &[ImageUser]) -> io::Result<Collected> {
        let mut keep_layers: BTreeSet<String> = BTreeSet::new();
        let mut keep_blobs: BTreeSet<String> = BTreeSet::new();
        for id in self.list_ids()? {
            let Some(rec) = self.get(&id)? else { continue };
            let dirs = rec.chain_ids.iter().map(|c| self.layer_dir(c));
            keep_layers.extend(dirs.filter_map(|d| file_name(&d)));
            for d in rec
                .layer_blobs
                .iter()
                .chain([&rec.id, &rec.manifest_digest])
            {
                keep_blobs.insert(d.trim_start_matches("sha256:").to_string());
            }
        }
        for u in users {
            keep_layers.extend(u.lowers.iter().filter_map(|d| file_name(d)));
        }
        let mut collected = Collected::default();
        let layers = self.state().layers_dir();
        for entry in std::fs::read_dir(&layers)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(".gc-") {
                // An earlier collection renamed it and stopped before the end (or this one
                // did, and the listing shows it again).
                present(std::fs::remove_dir_all(&path))?;
                continue;
            }
            if name.starts_with('.') {
                continue; // a pull's unpack in progress, the locks
            }
            if let Some(stem) = name.strip_suffix(".json") {
                if !keep_layers.contains(stem) && !layers.join(stem).exists() {
                    present(std::fs::remove_file(&path))?;
                }
                continue;
            }
            if keep_layers.contains(&name) || !entry.file_type()?.is_dir() {
                continue;
            }
            let meta_path = layers.join(format!("{name}.json"));
            let meta: Option<super::super::pull::LayerMeta> = read_json(&meta_path).ok().flatten();
            let doomed = layers.join(format!(".gc-{name}"));
            std::fs::rename(&path, &doomed)?;
            present(std::fs::remove_file(&meta_path))?;
            std::fs::remove_dir_all(&doomed)?;
            match meta {
                Some(m) => {
                    collected.bytes += m.size;
                    collected.layers.push(m.chain_id);
                }
                None => collected.layers.push(name),
            }
        }
        let blobs = self.state().root().join("blobs/sha256");
        for entry in std::fs::read_dir(&blobs)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep_blobs.contains(&name) || name.starts_with('.') {
                continue;
            }
            let size = entry.metadata().map_or(0, |m| m.len());
            match std::fs::remove_file(entry.path()) {
                Ok(()) => collected.bytes += size,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(collected)
    }
}

/// A removal's result, where "already gone" is success (the directory listing may name what
/// this collection removed a moment ago).
fn present(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn file_name(p: &std::path::Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::super::pull::LayerMeta;
    use super::super::super::state::{random_id, StateRoot};
    use super::super::images::{chain_ids, ImageRecord};
    use super::*;

    fn store() -> (ImageStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!("rcompose-gc-{}", &random_id()[..12]));
        (ImageStore::new(StateRoot::open(dir.clone()).unwrap()), dir)
    }

    /// An image whose layers are `diffs` (bottom first), with its layer dirs, descriptions
    /// and blobs in the store, named `name`.
    fn image(s: &ImageStore, name: &str, id: &str, diffs: &[&str]) -> ImageRecord {
        let diff_ids: Vec<String> = diffs.iter().map(|d| format!("sha256:{d}")).collect();
        let chains = chain_ids(&diff_ids);
        let blobs: Vec<String> = diffs.iter().map(|d| format!("sha256:b{d}")).collect();
        for (c, b) in chains.iter().zip(&blobs) {
            let dir = s.layer_dir(c);
            std::fs::create_dir_all(dir.join("etc")).unwrap();
            std::fs::write(dir.join("etc/file"), c).unwrap();
            let meta = LayerMeta {
                chain_id: c.clone(),
                diff_id: c.clone(),
                size: 10,
            };
            write_json(&dir.with_extension("json"), &meta).unwrap();
            std::fs::write(s.state().blob_path(b), b"blob").unwrap();
        }
        let rec = ImageRecord {
            id: format!("sha256:{id:0>64}"),
            manifest_digest: format!("sha256:{:f>64}", id),
            repo_digests: vec![],
            diff_ids,
            chain_ids: chains,
            layer_blobs: blobs,
            size: 0,
            created: None,
            architecture: "amd64".into(),
            os: "linux".into(),
            config: Default::default(),
        };
        for b in [&rec.id, &rec.manifest_digest] {
            std::fs::write(s.state().blob_path(b), b"{}").unwrap();
        }
        s.commit(name, &rec).unwrap();
        rec
    }

    fn names(dir: &std::path::Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    }

    /// What the records reference (and nothing else) is what the layer and blob directories
    /// hold.
    fn assert_only_referenced(s: &ImageStore, users: &[ImageUser]) {
        let mut layers = BTreeSet::new();
        let mut blobs = BTreeSet::new();
        for (rec, _) in s.list().unwrap() {
            for c in &rec.chain_ids {
                let n = file_name(&s.layer_dir(c)).unwrap();
                layers.insert(format!("{n}.json"));
                layers.insert(n);
            }
            for b in rec
                .layer_blobs
                .iter()
                .chain([&rec.id, &rec.manifest_digest])
            {
                blobs.insert(b.trim_start_matches("sha256:").to_string());
            }
        }
        for u in users {
            for l in &u.lowers {
                let n = file_name(l).unwrap();
                layers.insert(format!("{n}.json"));
                layers.insert(n);
            }
        }
        assert_eq!(names(&s.state().layers_dir()), layers);
        assert_eq!(names(&s.state().root().join("blobs/sha256")), blobs);
    }

    #[test]
    fn removal_keeps_shared_layers_and_collects_the_rest() {
        let (s, dir) = store();
        let a = image(&s, "docker.io/library/a:1", "aa", &["base", "a1"]);
        let b = image(&s, "docker.io/library/b:1", "bb", &["base", "b1"]);
        let gc = s.gc_exclusive().unwrap();
        let out = s.remove_image(&gc, "b:1", false, &[]).unwrap();
        assert_eq!(out[0], ImageDeleted::Untagged("b:1".into()));
        assert_eq!(out[1], ImageDeleted::Deleted(b.id.clone()));
        assert_eq!(out[2..], [ImageDeleted::Deleted(b.chain_ids[1].clone())]);
        assert!(
            s.layer_dir(&a.chain_ids[0]).is_dir(),
            "the shared base stays"
        );
        assert!(!s.layer_dir(&b.chain_ids[1]).exists());
        assert_only_referenced(&s, &[]);
        let out = s.remove_image(&gc, "a:1", false, &[]).unwrap();
        assert_eq!(out.len(), 4, "{out:?}");
        assert_only_referenced(&s, &[]);
        assert!(names(&s.state().layers_dir()).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_image_a_container_uses_is_refused_in_dockers_words() {
        let (s, dir) = store();
        let a = image(&s, "docker.io/library/a:1", "a".repeat(64).as_str(), &["x"]);
        let user = |running| ImageUser {
            container_id: "c".repeat(64),
            image_id: a.id.clone(),
            running,
            lowers: vec![s.layer_dir(&a.chain_ids[0])],
        };
        let gc = s.gc_exclusive().unwrap();
        let e = s
            .remove_image(&gc, "a:1", false, &[user(false)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to remove repository reference \"a:1\" (must force) - container cccccccccccc is using its referenced image aaaaaaaaaaaa"
        );
        let e = s
            .remove_image(&gc, "aaaaaaaaaaaa", true, &[user(true)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to delete aaaaaaaaaaaa (cannot be forced) - image is being used by running container cccccccccccc"
        );
        let e = s.remove_image(&gc, "nothere:1", false, &[]).unwrap_err();
        assert!(matches!(e, RemoveError::NotFound(_)), "{e}");
        // Forced, a stopped container's image goes; its layers stay for the container.
        let out = s.remove_image(&gc, "a:1", true, &[user(false)]).unwrap();
        assert_eq!(out.len(), 2, "untagged and deleted, no layer: {out:?}");
        assert!(s.layer_dir(&a.chain_ids[0]).is_dir());
        assert_only_referenced(&s, &[user(false)]);
        // Once the container is gone, a collection frees them.
        let c = s.collect(&[]).unwrap();
        assert_eq!(c.layers, a.chain_ids);
        assert_eq!(c.bytes, 10);
        assert_only_referenced(&s, &[]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_collection_finishes_what_a_crash_interrupted() {
        let (s, dir) = store();
        let a = image(&s, "docker.io/library/a:1", "aa", &["base", "a1"]);
        let layers = s.state().layers_dir();
        // A crash after the rename of a layer dir; one after the record went, before any
        // layer did; a pull's unpack in progress (kept).
        std::fs::create_dir_all(layers.join(".gc-0123/etc")).unwrap();
        let b = image(&s, "docker.io/library/b:1", "bb", &["b0"]);
        std::fs::remove_file(s.record_path(&b.id)).unwrap();
        std::fs::create_dir_all(layers.join(".tmp-inflight")).unwrap();
        std::fs::write(layers.join("feedfeed.json"), b"{}").unwrap();
        let _gc = s.gc_exclusive().unwrap();
        let c = s.collect(&[]).unwrap();
        assert_eq!(c.layers, vec![b.chain_ids[0].clone()]);
        assert!(!layers.join(".gc-0123").exists());
        assert!(layers.join(".tmp-inflight").is_dir());
        assert!(s.layer_dir(&a.chain_ids[1]).is_dir());
        assert_only_referenced(&s, &[]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn prune_takes_dangling_images_then_every_unused_one() {
        let (s, dir) = store();
        let a = image(&s, "docker.io/library/a:1", "aa", &["base", "a1"]);
        // `a:1` pulled again as another image: the first one is dangling.
        let a2 = image(&s, "docker.io/library/a:1", "a2", &["base", "a2"]);
        let b = image(&s, "docker.io/library/b:1", "bb", &["b1"]);
        let user = ImageUser {
            container_id: "c1".into(),
            image_id: b.id.clone(),
            running: false,
            lowers: vec![s.layer_dir(&b.chain_ids[0])],
        };
        let gc = s.gc_exclusive().unwrap();
        let r = s
            .prune(&gc, PruneImages::Dangling, std::slice::from_ref(&user))
            .unwrap();
        assert_eq!(r.deleted[0], ImageDeleted::Deleted(a.id.clone()));
        assert_eq!(
            r.deleted[1..],
            [ImageDeleted::Deleted(a.chain_ids[1].clone())]
        );
        assert!(r.reclaimed > 10, "{r:?}");
        assert!(s.get(&a2.id).unwrap().is_some());
        let r = s
            .prune(&gc, PruneImages::Unused, std::slice::from_ref(&user))
            .unwrap();
        assert_eq!(r.deleted[0], ImageDeleted::Untagged("a:1".into()));
        assert!(s.get(&b.id).unwrap().is_some(), "a container uses it");
        assert_only_referenced(&s, &[user]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_collection_waits_for_pulls_and_creates() {
        let (s, dir) = store();
        let shared = s.gc_shared().unwrap();
        let s2 = s.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _gc = s2.gc_exclusive().unwrap();
            tx.send(()).unwrap();
        });
        let waited = rx.recv_timeout(std::time::Duration::from_millis(200));
        assert!(
            waited.is_err(),
            "the collection ran while a pull held the lock"
        );
        drop(shared);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
