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
                    let others = refs.iter().filter(|(n, v)| **v == id && **n != name).count();
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
                // An earlier collection renamed it and stopped before the end.
                std::fs::remove_dir_all(&path)?;
                continue;
            }
            if name.starts_with('.') {
                continue; // a pull's unpack in progress, the locks
            }
            if let Some(stem) = name.strip_suffix(".json") {
                if !keep_layers.contains(stem) && !layers.join(stem).exists() {
                    std::fs::remove_file(&path)?;
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
            match std::fs::remove_file(&meta_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
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

fn file_name(p: &std::path::Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}
