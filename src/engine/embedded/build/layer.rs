//! A build step's filesystem change as an image layer: the overlay upper directory the step
//! wrote into is packed as an OCI layer tar (whiteouts as `.wh.<name>`, opaque directories
//! as `.wh..wh..opq`), written deterministically (entries sorted by name, no user or group
//! names, whole-second mtimes, xattrs of files and directories as sorted PAX records,
//! overlay's own left out) so that the same change gives
//! the same `diff_id`. The tar is kept as the layer's blob and unpacked into the store's layer
//! directory by the store's own applier ([`apply_layer`]), so a built layer is laid out
//! exactly as a pulled one, keyed by its chain id.
//!
//! The upper directory is the build's own (no process of the step runs any more when it is
//! packed); entries are still opened with `O_NOFOLLOW` and symlinks are stored, never
//! followed.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::super::pull::LayerMeta;
use super::super::state::{make_private_dir, random_id, write_json};
use super::super::store::images::{chain_ids, hex, ImageStore};
use super::super::store::unpack::{apply_layer, fsat, Compression, UnpackLimits};
use super::image::Layers;

/// Paths a container's runtime creates as mount points (`/etc/hosts`, `/proc`, ...). When a
/// `RUN` step's upper directory holds one of them empty, and no layer below has it, it is the
/// runtime's and not the command's, and stays out of the layer (Docker keeps those in a
/// separate init layer).
const MOUNT_POINTS: &[&str] = &[
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "proc",
    "sys",
    "dev",
    "run/secrets",
    "sbin/docker-init",
];

/// Whether runtime mount points are left out (a `RUN` step) or kept (a `COPY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountPoints {
    Skip,
    Keep,
}

/// Packs `upper` as a layer on top of `layers`, stores it, and adds it to `layers`.
pub fn commit_upper(
    images: &ImageStore,
    upper: &Path,
    layers: &mut Layers,
    mount_points: MountPoints,
) -> io::Result<()> {
    let lowers: Vec<PathBuf> = layers
        .chain_ids
        .iter()
        .rev()
        .map(|c| images.layer_dir(c))
        .collect();
    let tmp_dir = images.state().blob_tmp_dir();
    std::fs::create_dir_all(&tmp_dir)?;
    let tar_path = tmp_dir.join(format!("build-{}", &random_id()[..16]));
    let result = (|| {
        let diff_id = {
            let file = File::create(&tar_path)?;
            let mut w = HashingWriter {
                inner: BufWriter::with_capacity(256 << 10, file),
                hasher: Sha256::new(),
            };
            let skip = match mount_points {
                MountPoints::Skip => skipped_mount_points(upper, &lowers)?,
                MountPoints::Keep => Vec::new(),
            };
            pack(upper, &mut w, &skip)?;
            let file = w.inner.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            format!("sha256:{}", hex(&w.hasher.finalize()))
        };
        let mut diffs = layers.diff_ids.clone();
        diffs.push(diff_id.clone());
        let chain = chain_ids(&diffs).pop().expect("one layer at least");
        let dir = images.layer_dir(&chain);
        let size = std::fs::metadata(&tar_path)?.len();
        if !dir.is_dir() {
            let tmp = images
                .state()
                .layers_dir()
                .join(format!(".tmp-{}", &random_id()[..16]));
            make_private_dir(&tmp)?;
            std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            let applied = apply_layer(
                io::BufReader::new(File::open(&tar_path)?),
                Compression::None,
                &tmp,
                &lowers,
                &UnpackLimits::default(),
            )
            .map_err(io::Error::other);
            let applied = match applied {
                Ok(a) if a.diff_id == diff_id => a,
                Ok(a) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(io::Error::other(format!(
                        "the built layer unpacked to {} instead of {diff_id}",
                        a.diff_id
                    )));
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(e);
                }
            };
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp); // committed meanwhile by another build
            }
            let meta = LayerMeta {
                chain_id: chain.clone(),
                diff_id: diff_id.clone(),
                size: applied.size,
            };
            write_json(&dir.with_extension("json"), &meta)?;
        }
        let blob = images.state().blob_path(&diff_id);
        if blob.exists() {
            std::fs::remove_file(&tar_path)?;
        } else {
            std::fs::rename(&tar_path, &blob)?;
        }
        layers.diff_ids.push(diff_id.clone());
        layers.chain_ids.push(chain);
        layers.blobs.push(diff_id);
        layers.size += size;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tar_path);
    }
    result
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The mount points of [`MOUNT_POINTS`] that `upper` holds empty and no lower layer has.
fn skipped_mount_points(upper: &Path, lowers: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    'next: for rel in MOUNT_POINTS {
        let p = upper.join(rel);
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let empty = if md.is_dir() {
            std::fs::read_dir(&p)?.next().is_none()
        } else {
            md.is_file() && md.len() == 0
        };
        if !empty {
            continue;
        }
        let comps: Vec<CString> = rel
            .split('/')
            .map(|c| CString::new(c).expect("no NUL"))
            .collect();
        let (name, parents) = comps.split_last().expect("non-empty");
        for lower in lowers {
            let root = fsat::open_path_dir(lower)?;
            if let Some(dir) = fsat::walk(&root, parents)? {
                if fsat::fstatat(&dir, name).is_ok() {
                    continue 'next;
                }
            }
        }
        out.push(PathBuf::from(rel));
    }
    // A directory copied up only to hold skipped mount points (`/etc` for `/etc/hosts`) goes
    // too, when a lower layer has it.
    let mut parents: Vec<PathBuf> = out
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    parents.retain(|p| !p.as_os_str().is_empty());
    parents.dedup();
    'parent: for parent in parents {
        let dir = upper.join(&parent);
        if is_opaque(&dir) {
            continue;
        }
        for e in std::fs::read_dir(&dir)? {
            if !out.contains(&parent.join(e?.file_name())) {
                continue 'parent;
            }
        }
        let comps: Vec<CString> = parent
            .iter()
            .map(|c| CString::new(c.as_bytes()).map_err(io::Error::other))
            .collect::<io::Result<_>>()?;
        for lower in lowers {
            if fsat::walk(&fsat::open_path_dir(lower)?, &comps)?.is_some() {
                out.push(parent);
                continue 'parent;
            }
        }
    }
    Ok(out)
}

/// Writes the layer tar of `upper`.
fn pack(upper: &Path, out: impl Write, skip: &[PathBuf]) -> io::Result<()> {
    let mut p = Packer {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
        skip,
    };
    p.dir(upper, Path::new(""))?;
    p.tar.into_inner()?.flush()
}

struct Packer<'a, W: Write> {
    tar: tar::Builder<W>,
    /// Hard-linked files already written: (dev, inode) to their path in the tar.
    links: HashMap<(u64, u64), PathBuf>,
    skip: &'a [PathBuf],
}

fn header(md: &std::fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(md.mode() & 0o7777);
    h.set_uid(u64::from(md.uid()));
    h.set_gid(u64::from(md.gid()));
    h.set_mtime(u64::try_from(md.mtime()).unwrap_or(0));
    h.set_size(0);
    h
}

impl<W: Write> Packer<'_, W> {
    /// The file's xattrs (`security.capability`, ...; overlayfs' own left out) as a PAX
    /// record before its entry, sorted by name.
    fn xattrs(&mut self, file: &File) -> io::Result<()> {
        let mut found = fsat::list_xattrs(file)?;
        if found.is_empty() {
            return Ok(());
        }
        found.sort();
        let records: Vec<(String, Vec<u8>)> = found
            .into_iter()
            .map(|(k, v)| (format!("SCHILY.xattr.{}", k.to_string_lossy()), v))
            .collect();
        self.tar
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }

    fn dir(&mut self, host: &Path, rel: &Path) -> io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(host)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let host_path = host.join(&name);
            let rel_path = rel.join(&name);
            if self.skip.contains(&rel_path) {
                continue;
            }
            let md = std::fs::symlink_metadata(&host_path)?;
            let ft = md.file_type();
            if ft.is_dir() {
                let dir = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
                    .open(&host_path)?;
                self.xattrs(&dir)?;
                let mut h = header(&md, tar::EntryType::Directory);
                self.tar
                    .append_data(&mut h, dir_name(&rel_path), io::empty())?;
                if is_opaque(&host_path) {
                    let mut w = header(&md, tar::EntryType::Regular);
                    w.set_mode(0o644);
                    self.tar
                        .append_data(&mut w, rel_path.join(".wh..wh..opq"), io::empty())?;
                }
                self.dir(&host_path, &rel_path)?;
            } else if ft.is_char_device() && md.rdev() == 0 {
                let mut w = header(&md, tar::EntryType::Regular);
                w.set_mode(0o644);
                let mut wh = std::ffi::OsString::from(".wh.");
                wh.push(&name);
                self.tar.append_data(&mut w, rel.join(wh), io::empty())?;
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&host_path)?;
                let mut h = header(&md, tar::EntryType::Symlink);
                self.tar.append_link(&mut h, &rel_path, &target)?;
            } else if ft.is_file() {
                if md.nlink() > 1 {
                    if let Some(first) = self.links.get(&(md.dev(), md.ino())) {
                        let mut h = header(&md, tar::EntryType::Link);
                        let first = first.clone();
                        self.tar.append_link(&mut h, &rel_path, &first)?;
                        continue;
                    }
                    self.links.insert((md.dev(), md.ino()), rel_path.clone());
                }
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(&host_path)?;
                self.xattrs(&file)?;
                let mut h = header(&md, tar::EntryType::Regular);
                h.set_size(md.len());
                use std::io::Read;
                self.tar
                    .append_data(&mut h, &rel_path, file.take(md.len()))?;
            } else {
                let kind = if ft.is_fifo() {
                    tar::EntryType::Fifo
                } else if ft.is_char_device() {
                    tar::EntryType::Char
                } else if ft.is_block_device() {
                    tar::EntryType::Block
                } else {
                    continue; // a socket: not part of an image
                };
                let mut h = header(&md, kind);
                if kind != tar::EntryType::Fifo {
                    let dev = md.rdev();
                    h.set_device_major(libc::major(dev))?;
                    h.set_device_minor(libc::minor(dev))?;
                }
                self.tar.append_data(&mut h, &rel_path, io::empty())?;
            }
        }
        Ok(())
    }
}

/// `a/b/` (tar's directory form).
fn dir_name(rel: &Path) -> PathBuf {
    let mut s = rel.as_os_str().to_os_string();
    s.push("/");
    PathBuf::from(s)
}

/// `trusted.overlay.opaque=y` on the directory.
fn is_opaque(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: lgetxattr into a stack buffer of the given size, with a NUL-terminated path.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_deterministic_and_writes_whiteouts() {
        let dir = std::env::temp_dir().join(format!("rcompose-layer-{}", &random_id()[..12]));
        std::fs::create_dir_all(dir.join("b/c")).unwrap();
        std::fs::write(dir.join("b/c/f"), "x").unwrap();
        std::fs::write(dir.join("a"), "yy").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("l")).unwrap();
        let run = || {
            let mut v = Vec::new();
            pack(&dir, &mut v, &[]).unwrap();
            v
        };
        let (one, two) = (run(), run());
        assert_eq!(one, two);
        let mut ar = tar::Archive::new(&one[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a", "b/", "b/c/", "b/c/f", "l"]);
        // An xattr travels as a PAX record (user.* needs a filesystem that has them).
        let c = CString::new(dir.join("a").as_os_str().as_bytes()).unwrap();
        // SAFETY: setxattr with NUL-terminated strings and a 1-byte value.
        let set =
            unsafe { libc::setxattr(c.as_ptr(), c"user.k".as_ptr(), b"v".as_ptr().cast(), 1, 0) };
        if set == 0 {
            let mut v = Vec::new();
            pack(&dir, &mut v, &[]).unwrap();
            let mut ar = tar::Archive::new(&v[..]);
            let mut e = ar.entries().unwrap().next().unwrap().unwrap();
            let pax: Vec<(String, Vec<u8>)> = e
                .pax_extensions()
                .unwrap()
                .unwrap()
                .map(|x| {
                    let x = x.unwrap();
                    (x.key().unwrap().to_string(), x.value_bytes().to_vec())
                })
                .collect();
            assert_eq!(
                pax,
                vec![("SCHILY.xattr.user.k".to_string(), b"v".to_vec())]
            );
        }
        let mut v = Vec::new();
        pack(&dir, &mut v, &[PathBuf::from("a")]).unwrap();
        let mut ar = tar::Archive::new(&v[..]);
        assert_eq!(ar.entries().unwrap().count(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runtime_mount_points_are_left_out_with_their_copied_up_parent() {
        let base = std::env::temp_dir().join(format!("rcompose-mp-{}", &random_id()[..12]));
        let (upper, lower) = (base.join("upper"), base.join("lower"));
        std::fs::create_dir_all(upper.join("etc")).unwrap();
        std::fs::create_dir_all(upper.join("proc")).unwrap();
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(upper.join("etc/hosts"), "").unwrap();
        std::fs::write(upper.join("etc/resolv.conf"), "").unwrap();
        let got = skipped_mount_points(&upper, std::slice::from_ref(&lower)).unwrap();
        let want: Vec<PathBuf> = ["etc/hosts", "etc/resolv.conf", "proc", "etc"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(got, want);
        // A real change in /etc keeps the directory; a non-empty file is the command's.
        std::fs::write(upper.join("etc/profile"), "x").unwrap();
        std::fs::write(upper.join("etc/hostname"), "mine\n").unwrap();
        let got = skipped_mount_points(&upper, &[lower]).unwrap();
        assert_eq!(
            got,
            vec![
                PathBuf::from("etc/hosts"),
                PathBuf::from("etc/resolv.conf"),
                PathBuf::from("proc")
            ]
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
