//! Docker's volume copy-up (moby `populateVolume` / `copyExistingContents`): when a container
//! is created with a volume whose data directory is empty, what the image has at the mount
//! target is copied into the volume first (files, directories, symlinks, device nodes, FIFOs,
//! owners, modes, mtimes, xattrs and hard links), and the volume's root takes the owner and
//! mode of the image's directory. Not for binds, not with `volume.nocopy`, not for a volume
//! that already holds anything, and not when the target is missing from the image (or is not
//! a directory there).
//!
//! The rule is Docker's: the check is "empty at create time", with no mark kept, so a volume
//! emptied later is filled again by the next container created on it (a restart does not).
//!
//! The source is the container's own overlay, mounted for the copy in a private mount
//! namespace of a short-lived thread, so it never shows on the host and cannot leak if the
//! CLI dies. The target is resolved inside that rootfs with `openat2(RESOLVE_IN_ROOT)` (a
//! symlink in the image resolves as if the rootfs were `/`), and every entry below it is
//! opened relative to its parent with `O_NOFOLLOW`: nothing of the image can lead the copy
//! out of the rootfs or the volume.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::rootfs::{self, RootfsPaths};
use super::store::unpack::fsat;

/// One volume to fill: the mount target in the container and the volume's data directory.
#[derive(Clone, Debug)]
pub struct Populate {
    pub target: String,
    pub data: PathBuf,
}

/// Whether a directory has no entries.
pub fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(dir)?.next().is_none())
}

/// Mounts the container's rootfs in a private mount namespace and copies the image content
/// of each target into its (empty) volume.
pub fn populate_volumes(
    rootfs: &RootfsPaths,
    lowers: &[PathBuf],
    volumes: &[Populate],
) -> io::Result<()> {
    if volumes.is_empty() {
        return Ok(());
    }
    let rootfs = rootfs.clone();
    let lowers = lowers.to_vec();
    let volumes = volumes.to_vec();
    // A thread of its own: `unshare(CLONE_NEWNS)` moves only this thread into the new
    // namespace, which goes away with it.
    std::thread::spawn(move || -> io::Result<()> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(io::Error::from)?;
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(io::Error::from)?;
        rootfs::mount(&rootfs, &lowers)?;
        let copied = volumes
            .iter()
            .try_for_each(|v| copy_into(&rootfs.merged, &v.target, &v.data).map(|_| ()));
        // Unmounted here, synchronously, so the shim can mount the same upper dir at once.
        let unmounted = nix::mount::umount2(&rootfs.merged, nix::mount::MntFlags::empty())
            .map_err(io::Error::from);
        copied.and(unmounted)
    })
    .join()
    .map_err(|_| io::Error::other("the copy-up thread panicked"))?
}

/// Copies what `root` has at `target` into the empty directory `data`; `false` when there
/// was nothing to copy (no such directory in the image, or `data` not empty).
pub fn copy_into(root: &Path, target: &str, data: &Path) -> io::Result<bool> {
    let src = match open_dir_in_root(root, target) {
        Ok(fd) => fd,
        Err(e) if matches!(fsat::errno(&e), libc::ENOENT | libc::ENOTDIR) => return Ok(false),
        Err(e) => return Err(e),
    };
    let dst = open_dir_nofollow(data)?;
    if !entries(&dst)?.is_empty() {
        return Ok(false);
    }
    let mut copier = Copier {
        root: fsat::dup_dir(&dst)?,
        links: HashMap::new(),
        path: Vec::new(),
    };
    copier.dir(&src, &dst)?;
    dir_meta(&src, &dst)?;
    Ok(true)
}

struct Copier {
    /// The volume root, for hard links to entries copied earlier.
    root: OwnedFd,
    /// `(dev, ino)` of multiply-linked files → their path in the volume.
    links: HashMap<(u64, u64), Vec<CString>>,
    /// The directory being copied, relative to the root.
    path: Vec<CString>,
}

impl Copier {
    fn dir(&mut self, src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
        for name in entries(src)? {
            let st = fsat::fstatat(src, &name)?;
            let format = st.st_mode & libc::S_IFMT;
            if format == libc::S_IFDIR {
                fsat::mkdirat(dst, &name)?;
                let sub_src = fsat::openat(src, &name, fsat::DIR_FLAGS, 0)?;
                let sub_dst = fsat::openat(dst, &name, fsat::DIR_FLAGS, 0)?;
                self.path.push(name);
                self.dir(&sub_src, &sub_dst)?;
                self.path.pop();
                dir_meta(&sub_src, &sub_dst)?;
                continue;
            }
            let key = (st.st_dev, st.st_ino);
            if st.st_nlink > 1 && format != libc::S_IFLNK {
                if let Some(first) = self.links.get(&key) {
                    let (last, parents) = first.split_last().ok_or(io::ErrorKind::NotFound)?;
                    if let Some(dir) = fsat::walk(&self.root, parents)? {
                        fsat::linkat(&dir, last, dst, &name)?;
                        continue;
                    }
                }
                let mut here = self.path.clone();
                here.push(name.clone());
                self.links.insert(key, here);
            }
            fsat::copy_up(src, &name, dst, &name)?;
        }
        Ok(())
    }
}

/// Owner, mode, xattrs and mtime of a source directory onto its copy (after its entries, so
/// the mtime stays).
fn dir_meta(src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
    let st = fsat::fstatat(src, c".")?;
    let file = File::from(fsat::dup_dir(src)?);
    let meta = fsat::Meta {
        uid: st.st_uid,
        gid: st.st_gid,
        mode: st.st_mode & 0o7777,
        mtime: fsat::mtime_of(&st),
        xattrs: fsat::list_xattrs(&file)?,
    };
    fsat::meta_fd(dst, &meta, true)
}

/// The names in a directory (without `.` and `..`), sorted.
pub(super) fn entries(dir: &OwnedFd) -> io::Result<Vec<CString>> {
    // The fd's /proc link is the directory itself, whatever its path has become.
    let mut names = Vec::new();
    for e in std::fs::read_dir(format!("/proc/thread-self/fd/{}", dir.as_raw_fd()))? {
        let e = e?;
        names.push(CString::new(e.file_name().as_bytes()).map_err(io::Error::other)?);
    }
    names.sort();
    Ok(names)
}

fn open_dir_nofollow(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    fsat::openat(&CwdFd, &c, fsat::DIR_FLAGS, 0)
}

/// `AT_FDCWD` as an fd for the `*at` wrappers.
struct CwdFd;

impl AsRawFd for CwdFd {
    fn as_raw_fd(&self) -> i32 {
        libc::AT_FDCWD
    }
}

/// Opens the directory `target` of the rootfs `root`, every symlink resolved inside `root`.
pub fn open_dir_in_root(root: &Path, target: &str) -> io::Result<OwnedFd> {
    let root = open_dir_nofollow(root)?;
    let rel = target.trim_start_matches('/');
    if rel.is_empty() {
        return fsat::dup_dir(&root);
    }
    let path = CString::new(OsStr::new(rel).as_bytes()).map_err(io::Error::other)?;
    match fsat::openat2_in_root(&root, &path, fsat::DIR_FLAGS & !libc::O_NOFOLLOW) {
        // Without openat2: component by component, refusing any symlink.
        Err(e) if fsat::errno(&e) == libc::ENOSYS => walk_no_symlinks(&root, rel),
        other => other,
    }
}

fn walk_no_symlinks(root: &OwnedFd, rel: &str) -> io::Result<OwnedFd> {
    let comps = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(|c| CString::new(c).map_err(io::Error::other))
        .collect::<io::Result<Vec<_>>>()?;
    if comps.iter().any(|c| c.as_bytes() == b"..") {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    fsat::walk(root, &comps)?.ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rc-copyup-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn copies_a_tree_with_modes_symlinks_and_hard_links() {
        let base = tmp("tree");
        let root = base.join("root");
        let data = base.join("data");
        std::fs::create_dir_all(root.join("srv/sub")).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(root.join("srv/a"), "A").unwrap();
        std::fs::set_permissions(root.join("srv/a"), PermissionsExt::from_mode(0o640)).unwrap();
        std::fs::hard_link(root.join("srv/a"), root.join("srv/sub/a2")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("srv/link")).unwrap();
        std::fs::set_permissions(root.join("srv"), PermissionsExt::from_mode(0o1750)).unwrap();
        assert!(copy_into(&root, "/srv", &data).unwrap());
        assert_eq!(std::fs::read_to_string(data.join("a")).unwrap(), "A");
        let a = std::fs::metadata(data.join("a")).unwrap();
        assert_eq!(a.mode() & 0o7777, 0o640);
        assert_eq!(
            a.ino(),
            std::fs::metadata(data.join("sub/a2")).unwrap().ino()
        );
        assert_eq!(
            std::fs::read_link(data.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        // The volume root takes the image directory's mode.
        assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o7777, 0o1750);
        // Not empty any more: a second copy does nothing.
        assert!(!copy_into(&root, "/srv", &data).unwrap());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_missing_target_or_a_file_copies_nothing() {
        let base = tmp("missing");
        let root = base.join("root");
        let data = base.join("data");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(root.join("file"), "x").unwrap();
        assert!(!copy_into(&root, "/nope", &data).unwrap());
        assert!(!copy_into(&root, "/file", &data).unwrap());
        assert!(is_empty_dir(&data).unwrap());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let base = tmp("escape");
        let root = base.join("root");
        let data = base.join("data");
        std::fs::create_dir_all(root.join("inside")).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(root.join("inside/mine"), "in the rootfs").unwrap();
        // `/evil -> /` and `/up -> ../../..`: both stay in the rootfs.
        std::os::unix::fs::symlink("/", root.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../../../..", root.join("up")).unwrap();
        assert!(copy_into(&root, "/evil/inside", &data).unwrap());
        assert!(data.join("mine").exists());
        let data2 = base.join("data2");
        std::fs::create_dir_all(&data2).unwrap();
        assert!(copy_into(&root, "/up/inside", &data2).unwrap());
        assert!(data2.join("mine").exists());
        let _ = std::fs::remove_dir_all(&base);
    }
}
