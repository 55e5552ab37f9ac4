//! The state directory of the embedded engine: `/var/lib/rcompose` as root,
//! `$XDG_DATA_HOME/rcompose` otherwise, or `RCOMPOSE_ROOT` when set.
//!
//! Layout (every directory 0700, every record 0600):
//! ```text
//! blobs/sha256/<hex>       verified blobs (manifests, configs, compressed layers)
//! blobs/tmp/               downloads in progress (never read as content)
//! layers/<chain16>/        one unpacked layer in overlayfs form, named by its chain id
//! images/<id>.json         one image record; images/refs.json maps names to image ids
//! containers/<id>/         record.json (what was created), status.json (what the shim saw),
//!                          the log, the overlay upper/work dirs and the rootfs mount point
//! runtime/                 libcontainer's own state (one directory per container)
//! ```
//! Every record is written to a temporary file and renamed over the old one, so a crash
//! leaves either the old or the new record, never half of one. Records of truth are fsynced
//! first and their directory after (at the latest when the command returns); a container's
//! run state is not, recovery reconciles it with the processes (see [`Durability`]). Sockets live in the
//! runtime directory (`/run/rcompose/shims`): their paths must stay short, and they mean
//! nothing after a reboot.

use std::collections::BTreeSet;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The root of the state directory and the paths inside it.
#[derive(Clone, Debug)]
pub struct StateRoot {
    root: PathBuf,
}

impl StateRoot {
    /// The state directory this process uses, created (0700) when missing.
    pub fn open_default() -> std::io::Result<Self> {
        let root = match std::env::var_os("RCOMPOSE_ROOT").filter(|v| !v.is_empty()) {
            Some(r) => PathBuf::from(r),
            None if nix::unistd::geteuid().is_root() => PathBuf::from("/var/lib/rcompose"),
            None => match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d).join("rcompose"),
                None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/".into()))
                    .join(".local/share/rcompose"),
            },
        };
        Self::open(root)
    }

    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        let me = StateRoot { root };
        for d in [
            "",
            "blobs/sha256",
            "blobs/tmp",
            "layers",
            "images",
            "containers",
            "runtime",
            "volumes",
            "networks",
        ] {
            make_private_dir(&me.root.join(d))?;
        }
        Ok(me)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs/sha256").join(hex)
    }
    pub fn blob_tmp_dir(&self) -> PathBuf {
        self.root.join("blobs/tmp")
    }
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }
    /// libcontainer's root path (its `state.json` per container).
    pub fn runtime_dir(&self) -> PathBuf {
        self.root.join("runtime")
    }
}

/// Creates `dir` (and its parents) with mode 0700 when missing.
pub fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// What a record's write must survive. Every write is atomic (a temporary file renamed over
/// the record: a reader, or a process killed mid-write, never sees it empty or torn); the
/// difference is what a crash of the host itself (power loss) may bring back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The source of truth (container, network, volume and image records): fsync of the
    /// file, rename, fsync of the directory; on disk once the write returns.
    Durable,
    /// A cache of what the kernel knows (a container's run state, pids, exit code): written
    /// by the page cache, so a host crash may bring back the previous version, which
    /// recovery reconciles with the processes that really exist (none, after a reboot).
    /// It is on every start's path, where two fsyncs would cost more than the rest of the
    /// start.
    Reconciled,
}

/// Directories whose fsync a durable write left for [`sync_deferred`], when this process
/// asked for that with [`defer_directory_syncs`] (`None`: every write syncs its own).
static DEFERRED_DIRS: Mutex<Option<BTreeSet<PathBuf>>> = Mutex::new(None);

/// Group commit for the CLI: from now on a durable write still fsyncs its file before the
/// rename (the record is never empty or torn, even after a power loss), but the fsync of its
/// directory (which makes the rename itself durable) waits for [`sync_deferred`], once per
/// directory. The CLI calls it when a container has been started and before it exits, so
/// what a command wrote is on disk when it returns, without the directory syncs on the
/// path to a container's first output. The shim does not defer.
pub fn defer_directory_syncs() {
    let mut d = DEFERRED_DIRS.lock().unwrap_or_else(|e| e.into_inner());
    d.get_or_insert_with(BTreeSet::new);
}

/// Fsyncs the directories whose sync was deferred (a directory removed since is skipped).
pub fn sync_deferred() -> std::io::Result<()> {
    let dirs = {
        let mut d = DEFERRED_DIRS.lock().unwrap_or_else(|e| e.into_inner());
        match d.as_mut() {
            Some(set) => std::mem::take(set),
            None => return Ok(()),
        }
    };
    let mut first_error = None;
    for dir in dirs {
        match File::open(&dir).and_then(|f| f.sync_all()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!("cannot sync {}: {e}", dir.display());
                first_error.get_or_insert(e);
            }
            _ => {}
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Fsyncs `dir` now, or leaves it for [`sync_deferred`].
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    {
        let mut d = DEFERRED_DIRS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = d.as_mut() {
            set.insert(dir.to_path_buf());
            return Ok(());
        }
    }
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically, durably ([`Durability::Durable`]). The file is 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_as(path, bytes, Durability::Durable)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then
/// (durably: fsync,) rename (durably: and fsync of the directory, maybe deferred: see
/// [`defer_directory_syncs`]). The file is 0600.
pub fn write_atomic_as(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let durable = durability == Durability::Durable;
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serializes `value` as JSON and writes it atomically and durably.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    write_json_as(path, value, Durability::Durable)
}

/// Serializes `value` as JSON and writes it atomically with `durability`.
pub fn write_json_as<T: serde::Serialize>(
    path: &Path,
    value: &T,
    durability: Durability,
) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    write_atomic_as(path, &bytes, durability)
}

/// Reads a JSON record; `Ok(None)` when the file does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// An exclusive advisory lock on a file, released on drop.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock on `path` (created 0600 when missing) is ours.
    pub fn acquire(path: &Path) -> std::io::Result<Self> {
        Self::lock(path, libc::LOCK_EX)
    }

    /// Blocks until we hold the lock on `path` together with other shared holders (no
    /// exclusive holder meanwhile).
    pub fn acquire_shared(path: &Path) -> std::io::Result<Self> {
        Self::lock(path, libc::LOCK_SH)
    }

    fn lock(path: &Path, how: libc::c_int) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        loop {
            // SAFETY: flock on a file descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), how) };
            if rc == 0 {
                return Ok(FileLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// A new random 64-hex-digit id (containers, execs).
pub fn random_id() -> String {
    let mut buf = [0u8; 32];
    let mut filled = false;
    if let Ok(mut f) = File::open("/dev/urandom") {
        use std::io::Read;
        filled = f.read_exact(&mut buf).is_ok();
    }
    if !filled {
        // /dev/urandom is always there on Linux; this is only a last resort.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id());
        let h = <sha2::Sha256 as sha2::Digest>::digest(seed.to_le_bytes());
        buf.copy_from_slice(&h);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("rcompose-state-{}", random_id()));
        let st = StateRoot::open(dir.clone()).unwrap();
        let p = st.images_dir().join("refs.json");
        write_json(&p, &vec!["a"]).unwrap();
        write_json(&p, &vec!["b"]).unwrap();
        let v: Vec<String> = read_json(&p).unwrap().unwrap();
        assert_eq!(v, vec!["b"]);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let leftovers: Vec<_> = std::fs::read_dir(st.images_dir()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn random_ids_differ() {
        let a = random_id();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_id());
    }
}
