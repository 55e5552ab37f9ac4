//! The layer applier: one image layer (a tar stream, plain, gzip or zstd) unpacked into its
//! own directory in overlayfs form (whiteouts as 0/0 character devices, opaque directories
//! marked with `trusted.overlay.opaque=y`), safe against archives that try to write outside
//! that directory.
//!
//! The `tar` crate only parses. Every write is an `*at` call relative to a directory fd that
//! was opened one component at a time with `O_NOFOLLOW`, and `..` is refused outright, so no
//! symlink (from this archive or an earlier entry) is ever followed and nothing lands outside
//! `dest` (reliability-plan c.3 items 1-4). Under the tar parser, the decompressed stream is
//! hashed (the `diff_id`), counted against the byte budget, and read to its very end (items
//! 5-6). Directory mtimes are set last, since writing into a directory changes its mtime.
//! The syscalls live in `unpack_fs.rs`, the decompression and digest in `unpack_stream.rs`.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tar::EntryType;

use fsat::{Lookup, Meta, CREATE_FLAGS, DIR_FLAGS};
use stream::{Budget, Decoder, ZstdFrames};

#[path = "unpack_fs.rs"]
pub(crate) mod fsat;
#[path = "unpack_stream.rs"]
mod stream;

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

impl Default for UnpackLimits {
    /// 16 GiB, a million entries, 4096-byte paths (Linux's `PATH_MAX`).
    fn default() -> Self {
        Self {
            max_bytes: 16 << 30,
            max_entries: 1_000_000,
            max_path: 4096,
        }
    }
}

/// What applying a layer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedLayer {
    /// `sha256:<hex>` of the uncompressed tar stream (the image config's `diff_id`).
    pub diff_id: String,
    /// Uncompressed bytes read.
    pub size: u64,
}

/// Why a layer was refused. After an error `dest` holds a partial layer: the caller removes it.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// A path (or hard-link target) with a `..` component.
    #[error("layer entry `{path}` escapes the layer directory")]
    Escape { path: String },
    /// `.wh.`, `.wh..` or `.wh...`: a whiteout that names no file.
    #[error("layer entry `{path}` is not a valid whiteout")]
    InvalidWhiteout { path: String },
    /// The same path twice, or a path where an earlier entry made something else.
    #[error("layer entry `{path}` clashes with an earlier entry of the same layer")]
    Duplicate { path: String },
    /// A parent directory of the entry is a symlink (made by an earlier entry).
    #[error("layer entry `{path}` would be written through the symbolic link `{link}`")]
    SymlinkParent { path: String, link: String },
    #[error("layer entry `{path}` needs `{parent}` to be a directory, but it is not one")]
    ParentNotDirectory { path: String, parent: String },
    #[error(
        "hard link `{path}` points to `{target}`, which is not a file in this layer or the layers below it"
    )]
    HardlinkTarget { path: String, target: String },
    #[error("layer entry `{path}` is invalid: {reason}")]
    InvalidArchive { path: String, reason: String },
    #[error("layer is larger than the limit of {limit} bytes once decompressed")]
    TooLarge { limit: u64 },
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("layer entry `{path}…` has a path longer than {limit} bytes")]
    PathTooLong { path: String, limit: usize },
    #[error("cannot open the layer directory `{}`: {source}", path.display())]
    Dest { path: PathBuf, source: io::Error },
    #[error("cannot unpack layer entry `{path}`: {source}")]
    Io { path: String, source: io::Error },
    /// The stream itself is broken: bad compression, bad tar headers, truncated.
    #[error("cannot read the layer archive: {0}")]
    Tar(#[source] io::Error),
}

/// Unpacks `src` into the empty directory `dest`. `lowers` are the directories of the layers
/// below, top first (a hardlink may name a file that only exists in a lower layer).
pub fn apply_layer(
    src: impl Read,
    compression: Compression,
    dest: &Path,
    lowers: &[PathBuf],
    limits: &UnpackLimits,
) -> Result<AppliedLayer, UnpackError> {
    let root = fsat::open_path_dir(dest).map_err(|source| UnpackError::Dest {
        path: dest.to_path_buf(),
        source,
    })?;
    let decoder = match compression {
        Compression::None => Decoder::Plain(src),
        Compression::Gzip => Decoder::Gzip(flate2::read::MultiGzDecoder::new(src)),
        Compression::Zstd => Decoder::Zstd(Box::new(
            ZstdFrames::new(BufReader::new(src)).map_err(UnpackError::Tar)?,
        )),
    };
    let mut archive = tar::Archive::new(Budget {
        inner: decoder,
        hasher: Sha256::new(),
        size: 0,
        limit: limits.max_bytes,
        exceeded: false,
    });
    let mut layer = Layer {
        root,
        lowers,
        limits,
        seen: HashSet::new(),
        dir_times: Vec::new(),
    };
    let unpacked = layer.unpack(&mut archive);
    let mut stream = archive.into_inner();
    // Bytes after the end-of-archive blocks are part of the diff_id too.
    let unpacked = unpacked.and_then(|()| {
        io::copy(&mut stream, &mut io::sink())
            .map(drop)
            .map_err(UnpackError::Tar)
    });
    if stream.exceeded {
        return Err(UnpackError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    unpacked?;
    layer.restore_dir_times()?;
    Ok(AppliedLayer {
        diff_id: format!("sha256:{:x}", stream.hasher.finalize()),
        size: stream.size,
    })
}

struct Layer<'a> {
    root: OwnedFd,
    lowers: &'a [PathBuf],
    limits: &'a UnpackLimits,
    /// Paths this archive named, joined with `/`, to refuse duplicates.
    seen: HashSet<Vec<u8>>,
    /// Directory mtimes, set after all entries are written.
    dir_times: Vec<(Vec<CString>, libc::timespec)>,
}

impl Layer<'_> {
    fn unpack<R: Read>(&mut self, archive: &mut tar::Archive<R>) -> Result<(), UnpackError> {
        let mut count = 0u64;
        for entry in archive.entries().map_err(UnpackError::Tar)? {
            let mut entry = entry.map_err(UnpackError::Tar)?;
            count += 1;
            if count > self.limits.max_entries {
                return Err(UnpackError::TooManyEntries {
                    limit: self.limits.max_entries,
                });
            }
            self.entry(&mut entry)?;
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let mut kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        if kind == EntryType::Regular && raw.ends_with(b"/") {
            kind = EntryType::Directory; // pre-POSIX tar marks directories this way
        }
        let shown = self.shown(&raw)?;
        let comps = components(&raw, &shown)?;
        let meta = read_meta(entry, &shown)?;
        if let Some((last, parents)) = comps.split_last() {
            if let Some(rest) = last.to_bytes().strip_prefix(b".wh.") {
                return self.whiteout(parents, rest, &meta, &shown);
            }
            if parents
                .first()
                .is_some_and(|c| c.to_bytes().starts_with(b".wh..wh."))
            {
                return Ok(()); // inside AUFS metadata (`.wh..wh.plnk/…`), not part of the tree
            }
        }
        if !self.seen.insert(key(&comps)) {
            return Err(UnpackError::Duplicate { path: shown });
        }
        let Some((name, parents)) = comps.split_last() else {
            return self.root_entry(kind, &meta, &shown);
        };
        let parent = self.open_parents(parents, &shown)?;
        let io = io_err(&shown);
        let exists = exists_err(&shown);
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let fd = fsat::openat(&parent, name, CREATE_FLAGS, 0o600).map_err(exists)?;
                let mut file = File::from(fd);
                let written =
                    io::copy(entry, &mut file).and_then(|_| fsat::meta_fd(&file, &meta, true));
                if let Err(e) = written {
                    // A bomb or a broken stream: the partial file does not stay behind.
                    drop(file);
                    let _ = fsat::unlinkat(&parent, name);
                    return Err(io(e));
                }
                Ok(())
            }
            EntryType::Directory => {
                match fsat::mkdirat(&parent, name) {
                    Err(e) if fsat::errno(&e) != libc::EEXIST => return Err(io(e)),
                    _ => {} // or made earlier as the parent of another entry
                }
                let dir =
                    fsat::openat(&parent, name, DIR_FLAGS, 0).map_err(|e| {
                        match fsat::errno(&e) {
                            libc::ELOOP | libc::ENOTDIR => {
                                exists(io::ErrorKind::AlreadyExists.into())
                            }
                            _ => io(e),
                        }
                    })?;
                fsat::meta_fd(&dir, &meta, false).map_err(&io)?;
                self.dir_times.push((comps.clone(), meta.mtime));
                Ok(())
            }
            EntryType::Symlink => {
                // Any target, absolute or with `..`, is fine: nothing here ever follows it.
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = CString::new(target.as_ref())
                    .map_err(|_| invalid(&shown, "the link target contains a NUL byte"))?;
                fsat::symlinkat(&target, &parent, name).map_err(exists)?;
                fsat::meta_at(&parent, name, &meta, false).map_err(&io)
            }
            EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                self.hardlink(&parent, name, &target, &shown)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (format, dev) = match kind {
                    EntryType::Fifo => (libc::S_IFIFO, 0), // its device fields may be empty
                    _ => {
                        let header = entry.header();
                        let number = |n: io::Result<Option<u32>>| {
                            n.map(Option::unwrap_or_default)
                                .map_err(|e| invalid(&shown, &e.to_string()))
                        };
                        let major = number(header.device_major())?;
                        let minor = number(header.device_minor())?;
                        let format = if kind == EntryType::Char {
                            libc::S_IFCHR
                        } else {
                            libc::S_IFBLK
                        };
                        (format, libc::makedev(major, minor))
                    }
                };
                fsat::mknodat(&parent, name, format | meta.mode, dev).map_err(exists)?;
                fsat::meta_at(&parent, name, &meta, true).map_err(&io)
            }
            other => Err(invalid(
                &shown,
                &format!("unsupported entry type {other:?}"),
            )),
        }
    }

    /// `.wh.<name>` becomes a 0/0 character device `<name>`; `.wh..wh..opq` marks its
    /// directory opaque.
    fn whiteout(
        &mut self,
        parents: &[CString],
        rest: &[u8],
        meta: &Meta,
        shown: &str,
    ) -> Result<(), UnpackError> {
        let duplicate = || UnpackError::Duplicate {
            path: shown.to_owned(),
        };
        if rest == b".wh..opq" {
            let mut marker = parents.to_vec();
            marker.push(c".wh..wh..opq".to_owned());
            if !self.seen.insert(key(&marker)) {
                return Err(duplicate());
            }
            let dir = self.open_parents(parents, shown)?;
            return fsat::set_opaque(&dir).map_err(io_err(shown));
        }
        if rest.starts_with(b".wh.") {
            return Ok(()); // other AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`)
        }
        let invalid = || UnpackError::InvalidWhiteout {
            path: shown.to_owned(),
        };
        if matches!(rest, b"" | b"." | b"..") {
            return Err(invalid());
        }
        let name = CString::new(rest).map_err(|_| invalid())?;
        let mut target = parents.to_vec();
        target.push(name.clone());
        if !self.seen.insert(key(&target)) {
            return Err(duplicate());
        }
        let dir = self.open_parents(parents, shown)?;
        fsat::mknodat(&dir, &name, libc::S_IFCHR, 0).map_err(exists_err(shown))?;
        fsat::chown_at(&dir, &name, meta.uid, meta.gid).map_err(io_err(shown))
    }

    /// `./` (or `/`): the metadata of the layer directory itself, which overlayfs shows as the
    /// container's `/` when this layer is the top one.
    fn root_entry(&mut self, kind: EntryType, meta: &Meta, shown: &str) -> Result<(), UnpackError> {
        if kind != EntryType::Directory {
            return Err(invalid(
                shown,
                "it names the layer root but is not a directory",
            ));
        }
        fsat::meta_fd(&self.root, meta, false).map_err(io_err(shown))?;
        self.dir_times.push((Vec::new(), meta.mtime));
        Ok(())
    }

    /// Opens the directory `comps` without following symlinks, creating missing ones.
    fn open_parents(&mut self, comps: &[CString], shown: &str) -> Result<OwnedFd, UnpackError> {
        let io = io_err(shown);
        let mut dir = fsat::dup_dir(&self.root).map_err(&io)?;
        for (i, comp) in comps.iter().enumerate() {
            dir = match fsat::openat(&dir, comp, DIR_FLAGS, 0) {
                Ok(next) => next,
                Err(e) if fsat::errno(&e) == libc::ENOENT => {
                    fsat::mkdirat(&dir, comp).map_err(&io)?;
                    let next = fsat::openat(&dir, comp, DIR_FLAGS, 0).map_err(&io)?;
                    self.implicit_dir(&next, &comps[..=i]).map_err(&io)?;
                    next
                }
                Err(e) if matches!(fsat::errno(&e), libc::ELOOP | libc::ENOTDIR) => {
                    let at = String::from_utf8_lossy(&key(&comps[..=i])).into_owned();
                    let path = shown.to_owned();
                    let st = fsat::fstatat(&dir, comp).map_err(&io)?;
                    return Err(if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                        UnpackError::SymlinkParent { path, link: at }
                    } else {
                        UnpackError::ParentNotDirectory { path, parent: at }
                    });
                }
                Err(e) => return Err(io(e)),
            };
        }
        Ok(dir)
    }

    /// A parent the archive did not list. In the overlay it hides the same directory of the
    /// layers below, so it takes that one's owner, mode and mtime (as containerd does); else
    /// root-owned 0755.
    fn implicit_dir(&mut self, dir: &OwnedFd, comps: &[CString]) -> io::Result<()> {
        for lower in self.lowers {
            if let Some(found) = fsat::walk(&fsat::open_path_dir(lower)?, comps)? {
                let st = fsat::fstat(&found)?;
                self.dir_times.push((comps.to_vec(), fsat::mtime_of(&st)));
                return fsat::set_owner_mode(dir, st.st_uid, st.st_gid, st.st_mode & 0o7777);
            }
        }
        fsat::set_owner_mode(dir, 0, 0, 0o755)
    }

    /// A hard link to a file of this layer, or a copy of the file when it is only in a lower
    /// layer (overlayfs cannot link across layers). The target is looked up without following
    /// any symlink; a symlink target is linked itself, never the file it points to.
    fn hardlink(
        &mut self,
        parent: &OwnedFd,
        name: &CStr,
        target: &[u8],
        shown: &str,
    ) -> Result<(), UnpackError> {
        let target_shown = self.shown(target)?;
        let missing = || UnpackError::HardlinkTarget {
            path: shown.to_owned(),
            target: target_shown.clone(),
        };
        let tcomps = components(target, &format!("{shown} -> {target_shown}"))?;
        let Some((tname, tparents)) = tcomps.split_last() else {
            return Err(missing());
        };
        let io = io_err(shown);
        match fsat::find(&self.root, tparents, tname).map_err(&io)? {
            Lookup::Found(dir) => {
                return fsat::linkat(&dir, tname, parent, name).map_err(exists_err(shown))
            }
            Lookup::Hidden => return Err(missing()),
            Lookup::Missing => {}
        }
        for lower in self.lowers {
            let lower = fsat::open_path_dir(lower).map_err(&io)?;
            match fsat::find(&lower, tparents, tname).map_err(&io)? {
                Lookup::Found(dir) => {
                    return fsat::copy_up(&dir, tname, parent, name).map_err(exists_err(shown))
                }
                Lookup::Hidden => break,
                Lookup::Missing => {}
            }
        }
        Err(missing())
    }

    fn restore_dir_times(&self) -> Result<(), UnpackError> {
        for (comps, mtime) in &self.dir_times {
            let shown = String::from_utf8_lossy(&key(comps)).into_owned();
            let io = io_err(&shown);
            if let Some(dir) = fsat::walk(&self.root, comps).map_err(&io)? {
                fsat::set_times(&dir, *mtime).map_err(&io)?;
            }
        }
        Ok(())
    }

    /// The path as shown in errors, after the length check.
    fn shown(&self, raw: &[u8]) -> Result<String, UnpackError> {
        let shown = String::from_utf8_lossy(raw).into_owned();
        if raw.len() > self.limits.max_path {
            return Err(UnpackError::PathTooLong {
                path: shown.chars().take(64).collect(),
                limit: self.limits.max_path,
            });
        }
        Ok(shown)
    }
}

/// Splits a tar path into components: leading `/` and `.` components dropped, `..` refused.
fn components(raw: &[u8], shown: &str) -> Result<Vec<CString>, UnpackError> {
    if raw.is_empty() {
        return Err(invalid(shown, "the name is empty"));
    }
    let mut comps = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(UnpackError::Escape {
                    path: shown.to_owned(),
                })
            }
            _ => comps.push(
                CString::new(part).map_err(|_| invalid(shown, "the name contains a NUL byte"))?,
            ),
        }
    }
    Ok(comps)
}

fn key(comps: &[CString]) -> Vec<u8> {
    comps
        .iter()
        .map(|c| c.to_bytes())
        .collect::<Vec<_>>()
        .join(&b'/')
}

/// Owner, mode and mtime from the header (the `tar` crate already applies PAX `uid`/`gid`),
/// a PAX `mtime` with its fraction, and the `SCHILY.xattr.*` records.
pub(crate) fn read_meta<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    shown: &str,
) -> Result<Meta, UnpackError> {
    let header = entry.header();
    let bad = |e: io::Error| invalid(shown, &e.to_string());
    let id = |v: u64, what: &str| {
        u32::try_from(v).map_err(|_| invalid(shown, &format!("{what} {v} is out of range")))
    };
    let uid = id(header.uid().map_err(bad)?, "uid")?;
    let gid = id(header.gid().map_err(bad)?, "gid")?;
    let mode = header.mode().map_err(bad)? & 0o7777;
    let secs = header.mtime().map_err(bad)?;
    let mut mtime = libc::timespec {
        tv_sec: i64::try_from(secs).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let mut xattrs = Vec::new();
    if let Some(extensions) = entry.pax_extensions().map_err(UnpackError::Tar)? {
        for extension in extensions {
            let extension = extension.map_err(UnpackError::Tar)?;
            let key = extension.key_bytes();
            if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                if let (false, Ok(name)) = (fsat::is_overlay_xattr(name), CString::new(name)) {
                    xattrs.push((name, extension.value_bytes().to_vec()));
                }
            } else if key == b"mtime" {
                mtime = parse_pax_time(extension.value_bytes()).unwrap_or(mtime);
            }
        }
    }
    Ok(Meta {
        uid,
        gid,
        mode,
        mtime,
        xattrs,
    })
}

/// A PAX time, `<seconds>[.<fraction>]`, possibly negative.
fn parse_pax_time(value: &[u8]) -> Option<libc::timespec> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut tv_sec: i64 = secs.parse().ok()?;
    let digits = frac.get(..frac.len().min(9))?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut tv_nsec = format!("{digits:0<9}").parse::<i64>().ok()?;
    if text.starts_with('-') && tv_nsec > 0 {
        tv_sec -= 1;
        tv_nsec = 1_000_000_000 - tv_nsec;
    }
    Some(libc::timespec { tv_sec, tv_nsec })
}

fn invalid(path: &str, reason: &str) -> UnpackError {
    UnpackError::InvalidArchive {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn io_err(path: &str) -> impl Fn(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `EEXIST` means an earlier entry of this layer made the path.
fn exists_err(path: &str) -> impl Fn(io::Error) -> UnpackError + '_ {
    move |source| match source.kind() {
        io::ErrorKind::AlreadyExists => UnpackError::Duplicate {
            path: path.to_owned(),
        },
        _ => UnpackError::Io {
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
