//! The layer applier: one image layer (a tar stream, plain, gzip or zstd) unpacked into its
//! own directory in overlayfs form (whiteouts as 0/0 character devices, opaque directories
//! marked with `trusted.overlay.opaque=y`), safe against archives that try to write outside
//! that directory.

use std::io::Read;
use std::path::{Path, PathBuf};

/// How a layer blob is compressed (from its media type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Budgets that stop hostile or broken archives (reliability-plan c.3 item 6).
#[derive(Clone, Debug)]
pub struct UnpackLimits {
    /// Decompressed bytes of the whole layer.
    pub max_bytes: u64,
    /// Tar entries in one layer.
    pub max_entries: u64,
    /// Bytes of one entry path.
    pub max_path: usize,
}

/// What applying a layer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedLayer {
    /// `sha256:<hex>` of the uncompressed tar stream (the image config's `diff_id`).
    pub diff_id: String,
    /// Uncompressed bytes read.
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {}

/// Unpacks `src` into the empty directory `dest`. `lowers` are the directories of the layers
/// below, top first (a hardlink may name a file that only exists in a lower layer).
pub fn apply_layer(
    _src: impl Read,
    _compression: Compression,
    _dest: &Path,
    _lowers: &[PathBuf],
    _limits: &UnpackLimits,
) -> Result<AppliedLayer, UnpackError> {
    todo!()
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 16 << 30,
            max_entries: 1_000_000,
            max_path: 4096,
        }
    }
}
