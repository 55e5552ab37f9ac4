//! Where rcompose keeps its own small runtime files (project locks, the Docker API version
//! cache): `/run/rcompose` as root, else `$XDG_RUNTIME_DIR/rcompose`, else
//! `/tmp/rcompose-<uid>`. Every directory is created 0700 and must be owned by us: one made
//! by someone else (a planted `/tmp/rcompose-1000`) is refused rather than trusted.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::PathBuf;

/// The private runtime directory `sub` (e.g. `locks`), created when missing.
pub fn runtime_dir(sub: &str) -> Result<PathBuf, String> {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    let base = if uid == 0 {
        PathBuf::from("/run/rcompose")
    } else if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        PathBuf::from(d).join("rcompose")
    } else {
        std::env::temp_dir().join(format!("rcompose-{uid}"))
    };
    let dir = base.join(sub);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for d in [&base, &dir] {
        let m = std::fs::symlink_metadata(d)
            .map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        if !m.is_dir() || m.uid() != uid {
            return Err(format!(
                "{} is not a directory owned by this user; refusing to use it",
                d.display()
            ));
        }
    }
    Ok(dir)
}
