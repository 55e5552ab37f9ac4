//! The tar streams of `cp` on the embedded engine, inside a container root opened by
//! [`super::with_root`]: [`archive`] packs a path of the container, [`extract`] unpacks an
//! upload into one of its directories. Both go through fds only: a directory is opened with
//! `openat2(RESOLVE_IN_ROOT)` ([`super::open_in_root`]) and everything in it with `*at` calls
//! and `O_NOFOLLOW`, so nothing read or written is ever outside the container's root.
//!
//! [`archive`] stores symlinks as symlinks and never follows one below the path asked for;
//! a file is read through an fd checked to be a regular file (opened non-blocking, so a FIFO
//! swapped in cannot hang it) and stored with the size it had, padded or cut if it changes.
//! [`extract`] follows Docker's untar for `cp`: entries are joined to the directory and may
//! not climb out of it (`..`), an existing file or symlink is replaced (never written
//! through), a directory is merged, a directory never replaces a non-directory nor the other
//! way round (`noOverwriteDirNonDir`), missing parents are made root-owned 0755, owners are
//! the container's root unless [`Ownership::Preserve`], directory mtimes are set last.
//! Owner, mode, mtime and xattrs of an entry are read as the layer applier reads them.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::{io_err, open_in_root, split_last, CopyError, DIR_PATH};
use crate::engine::embedded::store::unpack::{fsat, read_meta};
use crate::engine::Ownership;

/// Opens a directory to read or write in it.
const DIR_FLAGS: libc::c_int = fsat::DIR_FLAGS;

// ---------------------------------------------------------------------------------------
// Out of the container.

/// Writes a tar of `path` (Docker's `GET /containers/{id}/archive`): entries rooted at its
/// base name, or its contents at the top for a path ending in `/.`.
pub fn archive(root: &OwnedFd, path: &str, out: impl Write) -> Result<(), CopyError> {
    let bytes = path.as_bytes();
    let missing = || CopyError::NoSuchPath {
        path: path.to_string(),
    };
    let absent = |e: &io::Error| matches!(fsat::errno(e), libc::ENOENT | libc::ENOTDIR);
    let mut packer = Packer {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
    };
    let name = super::base_name(bytes);
    match split_last(bytes) {
        (whole, None) => {
            let dir = match open_in_root(root, whole, DIR_FLAGS & !libc::O_NOFOLLOW) {
                Ok(d) => d,
                Err(e) if absent(&e) => return Err(missing()),
                Err(e) => return Err(io_err(bytes)(e)),
            };
            // `x/.` (and `/`, whose name a tar cannot hold): the contents at the top, with no
            // entry for the directory itself.
            let top = if name == b"." || name == b"/" {
                None
            } else {
                Some(PathBuf::from(OsStr::from_bytes(&name)))
            };
            packer.dir(dir, top.as_deref(), bytes)?;
        }
        (parent, Some(last)) => {
            let dir = match open_in_root(root, parent, DIR_PATH) {
                Ok(d) => d,
                Err(e) if absent(&e) => return Err(missing()),
                Err(e) => return Err(io_err(bytes)(e)),
            };
            let last = CString::new(last).map_err(|_| missing())?;
            if !packer.entry(&dir, &last, Path::new(OsStr::from_bytes(&name)), bytes)? {
                return Err(missing());
            }
        }
    }
    packer
        .tar
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io_err(bytes))
}

struct Packer<W: Write> {
    tar: tar::Builder<W>,
    /// Files with more than one link already stored: `(dev, ino)` → their name.
    links: HashMap<(u64, u64), PathBuf>,
}

fn header(st: &libc::stat, kind: EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(0);
    h
}

impl<W: Write> Packer<W> {
    /// Stores `name` of `dir` as `tar_name`; `false` when it is not there (any more).
    fn entry(
        &mut self,
        dir: &OwnedFd,
        name: &CStr,
        tar_name: &Path,
        shown: &[u8],
    ) -> Result<bool, CopyError> {
        let err = io_err(shown);
        let gone = |e: &io::Error| fsat::errno(e) == libc::ENOENT;
        let st = match fsat::fstatat(dir, name) {
            Ok(st) => st,
            Err(e) if gone(&e) => return Ok(false),
            Err(e) => return Err(err(e)),
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {
                let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
                let fd = match fsat::openat(dir, name, flags, 0) {
                    Ok(fd) => fd,
                    Err(e) if gone(&e) => return Ok(false),
                    Err(e) => return Err(err(e)),
                };
                // What was opened, which may not be what was stat'ed a moment ago.
                let st = fsat::fstat(&fd).map_err(&err)?;
                if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                    return Ok(false);
                }
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        let mut h = header(&st, EntryType::Link);
                        self.tar
                            .append_link(&mut h, tar_name, first)
                            .map_err(&err)?;
                        return Ok(true);
                    }
                    self.links.insert(key, tar_name.to_path_buf());
                }
                let size = u64::try_from(st.st_size).unwrap_or(0);
                let mut h = header(&st, EntryType::Regular);
                h.set_size(size);
                let data = File::from(fd).take(size).chain(io::repeat(0).take(size));
                self.tar
                    .append_data(&mut h, tar_name, data.take(size))
                    .map_err(&err)?;
            }
            libc::S_IFDIR => {
                let sub = match fsat::openat(dir, name, DIR_FLAGS, 0) {
                    Ok(fd) => fd,
                    Err(e) if gone(&e) => return Ok(false),
                    // Swapped for a symlink or a file since the stat: not followed.
                    Err(e) if matches!(fsat::errno(&e), libc::ELOOP | libc::ENOTDIR) => {
                        return Ok(false)
                    }
                    Err(e) => return Err(err(e)),
                };
                self.dir(sub, Some(tar_name), shown)?;
            }
            libc::S_IFLNK => {
                let target = match fsat::readlinkat(dir, name) {
                    Ok(t) => t,
                    Err(e) if gone(&e) => return Ok(false),
                    Err(e) => return Err(err(e)),
                };
                let mut h = header(&st, EntryType::Symlink);
                self.tar
                    .append_link(&mut h, tar_name, OsStr::from_bytes(&target))
                    .map_err(&err)?;
            }
            format @ (libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO) => {
                let kind = match format {
                    libc::S_IFCHR => EntryType::Char,
                    libc::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, kind);
                if format != libc::S_IFIFO {
                    h.set_device_major(libc::major(st.st_rdev)).map_err(&err)?;
                    h.set_device_minor(libc::minor(st.st_rdev)).map_err(&err)?;
                }
                self.tar
                    .append_data(&mut h, tar_name, io::empty())
                    .map_err(&err)?;
            }
            _ => {} // sockets: not archived (as Docker)
        }
        Ok(true)
    }

    /// Stores the open directory `dir` as `tar_name` (its contents at the top for `None`),
    /// then its entries, sorted.
    fn dir(
        &mut self,
        dir: OwnedFd,
        tar_name: Option<&Path>,
        shown: &[u8],
    ) -> Result<(), CopyError> {
        let err = io_err(shown);
        if let Some(name) = tar_name {
            let st = fsat::fstat(&dir).map_err(&err)?;
            let mut h = header(&st, EntryType::Directory);
            self.tar
                .append_data(&mut h, name, io::empty())
                .map_err(&err)?;
        }
        for child in super::super::copy_up::entries(&dir).map_err(&err)? {
            let child_name = Path::new(OsStr::from_bytes(child.to_bytes()));
            let tar_child = match tar_name {
                Some(n) => n.join(child_name),
                None => child_name.to_path_buf(),
            };
            let mut child_shown = shown.to_vec();
            child_shown.push(b'/');
            child_shown.extend_from_slice(child.to_bytes());
            self.entry(&dir, &child, &tar_child, &child_shown)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Into the container.

/// Extracts `tar` into the existing directory `dir` of the container (Docker's
/// `PUT /containers/{id}/archive` with `noOverwriteDirNonDir`; the caller checks
/// [`super::check_writable`] first).
pub fn extract(
    root: &OwnedFd,
    dir: &str,
    tar: impl Read,
    owner: Ownership,
) -> Result<(), CopyError> {
    let dest = dir.as_bytes();
    match open_in_root(root, dest, DIR_PATH) {
        Ok(_) => {}
        Err(e) if matches!(fsat::errno(&e), libc::ENOENT | libc::ENOTDIR) => {
            return Err(CopyError::NoSuchPath {
                path: dir.to_string(),
            })
        }
        Err(e) => return Err(io_err(dest)(e)),
    }
    let mut x = Extractor {
        root,
        dest: dest.to_vec(),
        owner,
        dir_times: Vec::new(),
        parent: None,
    };
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(CopyError::Tar)? {
        let mut entry = entry.map_err(CopyError::Tar)?;
        x.entry(&mut entry)?;
    }
    x.restore_dir_times()
}

struct Extractor<'a> {
    root: &'a OwnedFd,
    /// The directory extracted into, as given (absolute in the container).
    dest: Vec<u8>,
    owner: Ownership,
    /// Directory paths and their mtimes, set once everything is written.
    dir_times: Vec<(Vec<u8>, libc::timespec)>,
    /// The parent directory of the previous entry, by path.
    parent: Option<(Vec<u8>, OwnedFd)>,
}

impl Extractor<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), CopyError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let kind = if kind == EntryType::Regular && raw.ends_with(b"/") {
            EntryType::Directory
        } else {
            kind
        };
        let comps = self.components(&raw, &shown)?;
        let mut meta = read_meta(entry, &shown).map_err(|e| CopyError::Invalid {
            entry: shown.clone(),
            reason: e.to_string(),
        })?;
        if self.owner == Ownership::ContainerRoot {
            meta.uid = 0;
            meta.gid = 0;
        }
        let Some((name, parents)) = comps.split_last() else {
            // The directory itself (`.`): Docker leaves it as it is.
            return if kind == EntryType::Directory {
                Ok(())
            } else {
                Err(CopyError::DirWithNonDir {
                    path: self.shown_path(&[]),
                    dir: self.shown_dest(),
                })
            };
        };
        let full = self.shown_path(&comps);
        let io = io_err(full.as_bytes());
        let parent = self.parent_dir(parents)?;
        let is_dir = kind == EntryType::Directory;
        match fsat::fstatat(&parent, name) {
            Ok(st) => {
                let was_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
                match (was_dir, is_dir) {
                    (true, false) => {
                        return Err(CopyError::DirWithNonDir {
                            path: full.clone(),
                            dir: self.shown_dest(),
                        })
                    }
                    (false, true) => {
                        return Err(CopyError::NonDirWithDir {
                            path: full.clone(),
                            dir: self.shown_dest(),
                        })
                    }
                    (true, true) => {}
                    // A file or a symlink is replaced, never written through.
                    (false, false) => fsat::unlinkat(&parent, name).map_err(&io)?,
                }
            }
            Err(e) if fsat::errno(&e) == libc::ENOENT => {}
            Err(e) => return Err(io(e)),
        }
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let fd = fsat::openat(&parent, name, fsat::CREATE_FLAGS, 0o600).map_err(&io)?;
                let mut file = File::from(fd);
                io::copy(entry, &mut file).map_err(CopyError::Tar)?;
                fsat::meta_fd(&file, &meta, true).map_err(&io)
            }
            EntryType::Directory => {
                match fsat::mkdirat(&parent, name) {
                    Err(e) if fsat::errno(&e) != libc::EEXIST => return Err(io(e)),
                    _ => {}
                }
                let dir = fsat::openat(&parent, name, DIR_FLAGS, 0).map_err(&io)?;
                fsat::meta_fd(&dir, &meta, false).map_err(&io)?;
                self.dir_times.push((self.path_of(&comps), meta.mtime));
                Ok(())
            }
            EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = CString::new(target.as_ref()).map_err(|_| CopyError::Invalid {
                    entry: shown.clone(),
                    reason: "the link target contains a NUL byte".into(),
                })?;
                fsat::symlinkat(&target, &parent, name).map_err(&io)?;
                fsat::meta_at(&parent, name, &meta, false).map_err(&io)
            }
            EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                let target_shown = String::from_utf8_lossy(&target).into_owned();
                let tcomps = self.components(&target, &target_shown)?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(CopyError::Invalid {
                        entry: shown,
                        reason: "a hard link to the directory itself".into(),
                    });
                };
                let tdir = open_in_root(self.root, &self.path_of(tparents), DIR_PATH)
                    .map_err(io_err(target_shown.as_bytes()))?;
                fsat::linkat(&tdir, tname, &parent, name).map_err(&io)
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let header = entry.header();
                let number = |n: io::Result<Option<u32>>| {
                    n.map(Option::unwrap_or_default)
                        .map_err(|e| CopyError::Invalid {
                            entry: shown.clone(),
                            reason: e.to_string(),
                        })
                };
                let (format, dev) = match kind {
                    EntryType::Fifo => (libc::S_IFIFO, 0),
                    EntryType::Char => (
                        libc::S_IFCHR,
                        libc::makedev(
                            number(header.device_major())?,
                            number(header.device_minor())?,
                        ),
                    ),
                    _ => (
                        libc::S_IFBLK,
                        libc::makedev(
                            number(header.device_major())?,
                            number(header.device_minor())?,
                        ),
                    ),
                };
                fsat::mknodat(&parent, name, format | meta.mode, dev).map_err(&io)?;
                fsat::meta_at(&parent, name, &meta, true).map_err(&io)
            }
            other => Err(CopyError::Invalid {
                entry: shown,
                reason: format!("unsupported entry type {other:?}"),
            }),
        }
    }

    /// The entry's components below `dest`: `.` and empty ones dropped, `..` taking one off,
    /// none climbing above `dest` (Docker's breakout check).
    fn components(&self, raw: &[u8], shown: &str) -> Result<Vec<CString>, CopyError> {
        let mut comps: Vec<CString> = Vec::new();
        for part in raw.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if comps.pop().is_none() {
                        return Err(CopyError::Breakout {
                            entry: shown.to_string(),
                            dir: self.shown_dest(),
                        });
                    }
                }
                _ => comps.push(CString::new(part).map_err(|_| CopyError::Invalid {
                    entry: shown.to_string(),
                    reason: "the name contains a NUL byte".into(),
                })?),
            }
        }
        Ok(comps)
    }

    /// `dest/comps…` as a path of the container.
    fn path_of(&self, comps: &[CString]) -> Vec<u8> {
        let mut path = self.dest.clone();
        for c in comps {
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(c.to_bytes());
        }
        path
    }

    fn shown_path(&self, comps: &[CString]) -> String {
        String::from_utf8_lossy(&self.path_of(comps)).into_owned()
    }

    fn shown_dest(&self) -> String {
        String::from_utf8_lossy(&self.dest).into_owned()
    }

    /// The directory `dest/parents…`, resolved in the root; missing ones are made (root's,
    /// 0755, as Docker makes them).
    fn parent_dir(&mut self, parents: &[CString]) -> Result<OwnedFd, CopyError> {
        let path = self.path_of(parents);
        if let Some((cached, fd)) = &self.parent {
            if *cached == path {
                return fsat::dup_dir(fd).map_err(io_err(&path));
            }
        }
        let fd = self.open_or_make(parents)?;
        self.parent = Some((path.clone(), fsat::dup_dir(&fd).map_err(io_err(&path))?));
        Ok(fd)
    }

    fn open_or_make(&self, comps: &[CString]) -> Result<OwnedFd, CopyError> {
        let path = self.path_of(comps);
        let io = io_err(&path);
        let flags = DIR_FLAGS & !libc::O_NOFOLLOW;
        match open_in_root(self.root, &path, flags) {
            Ok(fd) => return Ok(fd),
            Err(e) if fsat::errno(&e) == libc::ENOENT && !comps.is_empty() => {}
            Err(e) => return Err(io(e)),
        }
        let (last, above) = comps
            .split_last()
            .ok_or_else(|| io(io::ErrorKind::NotFound.into()))?;
        let parent = self.open_or_make(above)?;
        match fsat::mkdirat(&parent, last) {
            Ok(()) => {
                let dir = fsat::openat(&parent, last, DIR_FLAGS, 0).map_err(&io)?;
                fsat::set_owner_mode(&dir, 0, 0, 0o755).map_err(&io)?;
                Ok(dir)
            }
            // Made meanwhile, or a symlink whose target is missing: resolved in the root.
            Err(e) if fsat::errno(&e) == libc::EEXIST => {
                open_in_root(self.root, &path, flags).map_err(io)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn restore_dir_times(&self) -> Result<(), CopyError> {
        for (path, mtime) in &self.dir_times {
            match open_in_root(self.root, path, DIR_FLAGS) {
                Ok(dir) => fsat::set_times(&dir, *mtime).map_err(io_err(path))?,
                Err(e) if matches!(fsat::errno(&e), libc::ENOENT | libc::ELOOP | libc::ENOTDIR) => {
                }
                Err(e) => return Err(io_err(path)(e)),
            }
        }
        Ok(())
    }
}
