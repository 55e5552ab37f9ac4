//! Tar streams to and from the local filesystem, for `cp` and build contexts.
//!
//! [`pack`] writes a file or a directory tree (symbolic links kept as links, `.dockerignore`
//! rules applied for build contexts); [`unpack`] extracts a tar coming from a container into a
//! local directory and never writes outside it: entries with an absolute path or a `..`
//! component are rejected, and so is any entry that would be written *through* a symbolic link
//! (a link extracted earlier, or one already in the destination), and any hard link to a file
//! outside the destination. Symbolic links themselves are extracted as they are (a container's
//! `/etc/mtab -> /proc/mounts` is legitimate, and `docker cp` keeps it), but never followed.
//!
//! The engine speaks async byte streams and the `tar` crate is synchronous, so both directions
//! run on a blocking thread bridged by a bounded channel (`engine::chunk_io`, [`tar_upload`]).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use tokio::sync::mpsc;

use super::dockerignore::Ignore;
use crate::engine::chunk_io::ChannelWriter;
use crate::engine::TarUpload;

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("refusing to extract `{entry}`: absolute path in the archive")]
    Absolute { entry: String },
    #[error("refusing to extract `{entry}`: `..` in the archive path")]
    ParentDir { entry: String },
    #[error(
        "refusing to extract `{entry}`: it would be written through the symbolic link `{link}`"
    )]
    ThroughSymlink { entry: String, link: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Renames the archive's top entry: `from` (the source's base name, or `.` for a directory's
/// contents) becomes `to` (what the destination calls it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebase {
    pub from: String,
    pub to: String,
}

/// The entry's path relative to the destination, rebased, checked: only normal components.
pub fn entry_relative(entry: &Path, rebase: Option<&Rebase>) -> Result<PathBuf, UnpackError> {
    let shown = || entry.display().to_string();
    let mut parts: Vec<OsString> = Vec::new();
    for c in entry.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(UnpackError::ParentDir { entry: shown() }),
            Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::Absolute { entry: shown() })
            }
        }
    }
    if let Some(r) = rebase {
        if r.from == "." {
            parts.insert(0, OsString::from(&r.to));
        } else if parts.first().is_some_and(|p| *p == *r.from) {
            parts[0] = OsString::from(&r.to);
        }
    }
    Ok(parts.iter().collect())
}

/// Fails if a proper prefix of `rel` is a symbolic link under `dest`.
fn check_no_symlink_above(dest: &Path, rel: &Path, entry: &Path) -> Result<(), UnpackError> {
    let mut at = dest.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(UnpackError::ThroughSymlink {
                    entry: entry.display().to_string(),
                    link: at.display().to_string(),
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Extracts `tar` into the existing directory `dest` (see the module header for what is
/// refused). Modes and modification times are kept, ownership is not (like `docker cp`).
pub fn unpack(tar: impl Read, dest: &Path, rebase: Option<&Rebase>) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive.entries().map_err(io_err(dest))?;
    for entry in entries {
        let mut entry = entry.map_err(io_err(dest))?;
        let path = entry.path().map_err(io_err(dest))?.into_owned();
        let rel = entry_relative(&path, rebase)?;
        if rel.as_os_str().is_empty() {
            continue; // the destination directory itself
        }
        check_no_symlink_above(dest, &rel, &path)?;
        let full = dest.join(&rel);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let kind = entry.header().entry_type();
        // An existing link or file is replaced, never written through.
        if let Ok(m) = fs::symlink_metadata(&full) {
            if !m.is_dir() && !kind.is_dir() {
                fs::remove_file(&full).map_err(io_err(&full))?;
            }
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(io_err(&full))?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            let target_rel = entry_relative(&target, rebase)?;
            check_no_symlink_above(dest, &target_rel, &target)?;
            let source = dest.join(&target_rel);
            if fs::symlink_metadata(&source).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(UnpackError::ThroughSymlink {
                    entry: path.display().to_string(),
                    link: source.display().to_string(),
                });
            }
            fs::hard_link(&source, &full).map_err(io_err(&full))?;
            continue;
        }
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_contiguous()) {
            continue; // devices, fifos: not recreated on the host
        }
        entry.set_preserve_permissions(true);
        entry.set_preserve_mtime(true);
        entry.unpack(&full).map_err(io_err(&full))?;
    }
    Ok(())
}

/// How [`pack`] writes entries.
#[derive(Clone, Copy, Debug, Default)]
pub struct PackOptions<'a> {
    /// Record owner 0:0 (a build context, as the docker CLI sends it) rather than the files'.
    pub root_owner: bool,
    /// Follow `src` itself when it is a symbolic link (`cp -L`); links inside are kept.
    pub follow_top_link: bool,
    /// `.dockerignore` rules, matched against paths relative to `src`.
    pub ignore: Option<&'a Ignore>,
}

/// Writes `src` (a file or a directory tree) into `tar` under the name `name`; an empty name
/// writes a directory's contents at the top of the archive.
pub fn pack<W: Write>(
    tar: &mut tar::Builder<W>,
    src: &Path,
    name: &Path,
    opts: &PackOptions<'_>,
) -> io::Result<()> {
    let meta = if opts.follow_top_link {
        fs::metadata(src)
    } else {
        fs::symlink_metadata(src)
    }
    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", src.display())))?;
    walk(tar, src, name, Path::new(""), &meta, true, opts)
}

fn walk<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    rel: &Path,
    meta: &fs::Metadata,
    emit: bool,
    opts: &PackOptions<'_>,
) -> io::Result<()> {
    let ft = meta.file_type();
    if emit && !name.as_os_str().is_empty() {
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        if opts.root_owner {
            h.set_uid(0);
            h.set_gid(0);
        }
        if meta.is_file() {
            tar.append_data(&mut h, name, fs::File::open(path)?)?;
        } else if meta.is_dir() {
            h.set_size(0);
            tar.append_data(&mut h, name, io::empty())?;
        } else if ft.is_symlink() {
            tar.append_link(&mut h, name, fs::read_link(path)?)?;
        }
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let mut children: Vec<_> = fs::read_dir(path)?.collect::<Result<_, _>>()?;
    children.sort_by_key(fs::DirEntry::file_name);
    for child in children {
        let file_name = child.file_name();
        let child_rel = rel.join(&file_name);
        let child_meta = fs::symlink_metadata(child.path())?;
        let mut child_emit = true;
        if let Some(ignore) = opts.ignore {
            if ignore.excludes(&child_rel) {
                // An excluded directory is still walked when an exception may re-include
                // something below it; the daemon creates the missing parents.
                if child_meta.is_dir() && ignore.has_exceptions() {
                    child_emit = false;
                } else {
                    continue;
                }
            }
        }
        walk(
            tar,
            &child.path(),
            &name.join(&file_name),
            &child_rel,
            &child_meta,
            child_emit,
            opts,
        )?;
    }
    Ok(())
}

/// Runs `produce` on a blocking thread, its output streamed as a [`TarUpload`]; an error it
/// returns is sent as the last item, which aborts the upload.
pub fn tar_upload<F>(produce: F) -> TarUpload
where
    F: FnOnce(&mut ChannelWriter<io::Error>) -> io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<io::Result<Vec<u8>>>(8);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter::new(tx);
        if let Err(e) = produce(&mut w).and_then(|()| w.flush()) {
            let _ = err_tx.blocking_send(Err(e));
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Packs `src` as [`pack`] does, streamed.
pub fn pack_upload(
    src: PathBuf,
    name: PathBuf,
    root_owner: bool,
    follow_top_link: bool,
) -> TarUpload {
    tar_upload(move |w| {
        let mut tar = tar::Builder::new(w);
        let opts = PackOptions {
            root_owner,
            follow_top_link,
            ignore: None,
        };
        pack(&mut tar, &src, &name, &opts)?;
        tar.finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar with raw entries (the `tar` crate refuses to write `..` or absolute names, so
    /// the names are put in the header bytes directly).
    fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
        let mut out = tar::Builder::new(Vec::new());
        for (name, kind, link, data) in entries {
            let mut h = tar::Header::new_old();
            {
                let bytes = &mut h.as_old_mut().name;
                bytes[..name.len()].copy_from_slice(name.as_bytes());
            }
            if !link.is_empty() {
                let l = &mut h.as_old_mut().linkname;
                l[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_cksum();
            out.append(&h, *data).unwrap();
        }
        out.into_inner().unwrap()
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rcompose-tarfs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("dest")).unwrap();
        d
    }

    #[test]
    fn extracts_rebased_tree() {
        let d = tmp("ok");
        let t = raw_tar(&[
            ("etc/", tar::EntryType::Directory, "", b""),
            ("etc/a", tar::EntryType::Regular, "", b"A"),
            ("etc/l", tar::EntryType::Symlink, "/proc/mounts", b""),
            ("etc/h", tar::EntryType::Link, "etc/a", b""),
        ]);
        let rebase = Rebase {
            from: "etc".into(),
            to: "copy".into(),
        };
        unpack(&t[..], &d.join("dest"), Some(&rebase)).unwrap();
        assert_eq!(fs::read(d.join("dest/copy/a")).unwrap(), b"A");
        assert_eq!(fs::read(d.join("dest/copy/h")).unwrap(), b"A");
        assert_eq!(
            fs::read_link(d.join("dest/copy/l")).unwrap(),
            Path::new("/proc/mounts")
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rejects_escaping_entries() {
        let d = tmp("evil");
        let dest = d.join("dest");
        let cases: Vec<Vec<u8>> = vec![
            raw_tar(&[("../evil", tar::EntryType::Regular, "", b"x")]),
            raw_tar(&[("a/../../evil", tar::EntryType::Regular, "", b"x")]),
            raw_tar(&[("/tmp/evil-abs", tar::EntryType::Regular, "", b"x")]),
            raw_tar(&[
                ("l", tar::EntryType::Symlink, "..", b""),
                ("l/evil", tar::EntryType::Regular, "", b"x"),
            ]),
            raw_tar(&[("h", tar::EntryType::Link, "../outside", b"")]),
        ];
        fs::write(d.join("outside"), b"secret").unwrap();
        for (i, t) in cases.iter().enumerate() {
            let err = unpack(&t[..], &dest, None).expect_err(&format!("case {i} must fail"));
            assert!(
                matches!(
                    err,
                    UnpackError::ParentDir { .. }
                        | UnpackError::Absolute { .. }
                        | UnpackError::ThroughSymlink { .. }
                ),
                "case {i}: {err}"
            );
        }
        assert!(!d.join("evil").exists());
        assert!(!Path::new("/tmp/evil-abs").exists());
        assert_eq!(fs::read(d.join("outside")).unwrap(), b"secret");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn existing_symlink_in_destination_is_not_followed() {
        let d = tmp("existing");
        let dest = d.join("dest");
        std::os::unix::fs::symlink(&d, dest.join("up")).unwrap();
        let t = raw_tar(&[("up/evil", tar::EntryType::Regular, "", b"x")]);
        assert!(matches!(
            unpack(&t[..], &dest, None),
            Err(UnpackError::ThroughSymlink { .. })
        ));
        // A file entry named like the link replaces the link, not its target.
        let t = raw_tar(&[("up", tar::EntryType::Regular, "", b"x")]);
        unpack(&t[..], &dest, None).unwrap();
        assert!(fs::symlink_metadata(dest.join("up")).unwrap().is_file());
        assert!(!d.join("evil").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn pack_then_unpack_round_trip() {
        let d = tmp("round");
        let src = d.join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), b"F").unwrap();
        std::os::unix::fs::symlink("sub/f", src.join("link")).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        pack(&mut tar, &src, Path::new("src"), &PackOptions::default()).unwrap();
        let bytes = tar.into_inner().unwrap();
        unpack(&bytes[..], &d.join("dest"), None).unwrap();
        assert_eq!(fs::read(d.join("dest/src/sub/f")).unwrap(), b"F");
        assert_eq!(
            fs::read_link(d.join("dest/src/link")).unwrap(),
            Path::new("sub/f")
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
