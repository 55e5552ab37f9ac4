//! The build context on the builder's side: the uploaded tar unpacked into a private
//! directory by `cp`'s extractor (paths resolved inside that directory, nothing written
//! outside it), then looked up only through `openat2(RESOLVE_IN_ROOT)`, so a symlink in the
//! context never leads a `COPY` source out of it. Also the expansion of `COPY` source
//! patterns (`*.txt`, `dir/?`), Go's `filepath.Match` per path component as Docker does.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;

use super::super::copy::{self, open_in_root};
use super::super::store::unpack::fsat;
use super::BuildError;
use crate::engine::chunk_io::ChannelReader;
use crate::engine::{Ownership, TarUpload};

/// The unpacked context.
pub struct Context {
    pub dir: PathBuf,
    pub fd: OwnedFd,
}

/// Unpacks `upload` into the (existing, empty) directory `dir`.
pub async fn receive(mut upload: TarUpload, dir: PathBuf) -> Result<Context, BuildError> {
    let fd = copy::open_dir(&dir).map_err(|e| BuildError::io("the build context directory", e))?;
    let root = fd
        .try_clone()
        .map_err(|e| BuildError::io("the build context directory", e))?;
    let (tx, reader) = ChannelReader::<std::io::Error>::new();
    let extract =
        tokio::task::spawn_blocking(move || copy::extract(&root, "/", reader, Ownership::Preserve));
    let forward = async move {
        while let Some(chunk) = upload.next().await {
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    };
    let (extracted, ()) = tokio::join!(extract, forward);
    extracted
        .map_err(|e| BuildError::Internal(format!("context task failed: {e}")))?
        .map_err(|e| BuildError::Context(format!("cannot unpack the build context: {e}")))?;
    Ok(Context { dir, fd })
}

/// Whether a source pattern has wildcard characters.
pub fn has_wildcards(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The paths (relative, `/`-separated, no `.`/`..`) of `root` matching `pattern`; a pattern
/// without wildcards gives itself when it exists. Empty when nothing matches.
pub fn expand(root: &OwnedFd, pattern: &str) -> std::io::Result<Vec<String>> {
    let comps = clean_components(pattern);
    if !has_wildcards(pattern) {
        let joined = comps.join("/");
        return Ok(match copy::lstat_in_root(root, joined.as_bytes())? {
            Some(_) => vec![if joined.is_empty() {
                ".".into()
            } else {
                joined
            }],
            None => Vec::new(),
        });
    }
    let mut found: Vec<String> = vec![String::new()];
    for comp in &comps {
        let mut next = Vec::new();
        for base in &found {
            if !has_wildcards(comp) {
                let p = join(base, comp);
                if copy::lstat_in_root(root, p.as_bytes())?.is_some() {
                    next.push(p);
                }
                continue;
            }
            for name in list(root, base)? {
                if crate::cli::dockerignore::glob(comp.as_bytes(), name.as_bytes()) {
                    next.push(join(base, &name));
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

/// The components of a path after lexical cleaning (leading `/`, `.` and `..` above the top
/// dropped).
pub fn clean_components(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

/// The names in directory `rel` of the root (empty when it is not a directory).
fn list(root: &OwnedFd, rel: &str) -> std::io::Result<Vec<String>> {
    let flags = fsat::DIR_FLAGS & !libc::O_NOFOLLOW;
    let dir = match open_in_root(root, rel.as_bytes(), flags) {
        Ok(d) => d,
        Err(e) if matches!(fsat::errno(&e), libc::ENOENT | libc::ENOTDIR) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let path = Path::new("/proc/self/fd").join(dir.as_raw_fd().to_string());
    let mut names: Vec<String> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        assert_eq!(clean_components("/a/./b/../c/"), vec!["a", "c"]);
        assert_eq!(clean_components("../../x"), vec!["x"]);
        assert!(clean_components(".").is_empty());
    }

    #[test]
    fn expansion_matches_per_component() {
        let dir = std::env::temp_dir().join(format!(
            "rcompose-ctx-{}",
            &super::super::super::state::random_id()[..12]
        ));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        for f in ["a.txt", "b.txt", "c.log", "d/e.txt"] {
            std::fs::write(dir.join(f), f).unwrap();
        }
        let fd = copy::open_dir(&dir).unwrap();
        assert_eq!(expand(&fd, "*.txt").unwrap(), vec!["a.txt", "b.txt"]);
        assert_eq!(expand(&fd, "/*/e.*").unwrap(), vec!["d/e.txt"]);
        assert_eq!(expand(&fd, "c.log").unwrap(), vec!["c.log"]);
        assert_eq!(expand(&fd, ".").unwrap(), vec!["."]);
        assert!(expand(&fd, "nope").unwrap().is_empty());
        assert!(expand(&fd, "*.md").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
