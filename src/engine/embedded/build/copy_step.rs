//! `COPY` and `ADD` of local files: sources from the build context (or, with `--from`, from
//! another stage's or image's filesystem) copied into the stage's root with Docker's rules.
//!
//! The step's root is an overlay of the stage's layers with a fresh upper directory (which
//! becomes the new layer), mounted in a private mount namespace of a thread of its own
//! ([`copy::private_overlays`], as `cp` mounts a stopped container). Both sides go through
//! `cp`'s machinery, so every path is resolved inside its root (`openat2` with
//! `RESOLVE_IN_ROOT`): a source is packed with [`copy::archive`], its entries renamed and
//! given their owner and mode, and unpacked with [`copy::extract`] into the destination
//! directory; a symlink in the image or the context never leads outside either root.
//!
//! Docker's rules: a directory source copies its contents; several sources (or a wildcard)
//! need a destination ending in `/`; a destination ending in `/`, or an existing directory,
//! receives a file under its own name, else the file is written as the destination; missing
//! destination directories are made (0755, owned like the copied files); files are owned by
//! root unless `--chown`, keep their mode unless `--chmod`. `ADD` of a local tar (plain or
//! gzip) unpacks it into the destination directory; other archive formats are refused.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::super::copy::{self, open_in_root, DIR_PATH};
use super::super::rootfs::RootfsPaths;
use super::super::store::unpack::fsat;
use super::context::{clean_components, expand, has_wildcards};
use crate::engine::Ownership;

/// One `COPY`/`ADD`, its words substituted.
#[derive(Clone, Debug)]
pub struct CopyRequest {
    pub sources: Vec<String>,
    /// As written, made absolute against the working directory (a trailing `/` kept).
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
    /// The instruction (`COPY`/`ADD`), for messages.
    pub keyword: String,
}

/// Where the sources are read from.
pub enum SourceRoot {
    /// The build context directory (an fd of its root).
    Context(OwnedFd),
    /// Another stage or an image: an overlay of these layer dirs (top first), mounted
    /// beside the destination at `paths`.
    Layers {
        paths: RootfsPaths,
        lowers: Vec<PathBuf>,
    },
}

/// Runs `req` on a thread of its own: the destination overlay (`dest` over `lowers`) and
/// the source are mounted, the files copied, everything unmounted. `scratch` holds the
/// temporary tars.
pub fn run(
    dest: RootfsPaths,
    lowers: Vec<PathBuf>,
    source: SourceRoot,
    req: CopyRequest,
    scratch: PathBuf,
) -> Result<(), String> {
    std::thread::spawn(move || -> Result<(), String> {
        let dest_lowers = lowers;
        match source {
            SourceRoot::Context(ctx) => {
                let overlays = [(&dest, dest_lowers.as_slice())];
                copy::private_overlays(&overlays, |fds| {
                    let root = fds.into_iter().next().expect("one overlay");
                    copy_all(&ctx, &root, &dest.merged, &req, &scratch)
                })
                .map_err(|e| format!("cannot mount the build root: {e}"))?
            }
            SourceRoot::Layers { paths, lowers } => {
                let overlays = [(&dest, dest_lowers.as_slice()), (&paths, lowers.as_slice())];
                copy::private_overlays(&overlays, |fds| {
                    let mut it = fds.into_iter();
                    let root = it.next().expect("two overlays");
                    let src = it.next().expect("two overlays");
                    copy_all(&src, &root, &dest.merged, &req, &scratch)
                })
                .map_err(|e| format!("cannot mount the build root: {e}"))?
            }
        }
    })
    .join()
    .map_err(|_| "the copy thread panicked".to_string())?
}

/// `WORKDIR`: makes `dir` (root's, 0755, as dockerd's `ContainerCreateWorkdir`) in an overlay
/// of the stage's layers, on a thread of its own. Returns whether anything was made (when the
/// directory exists already the step leaves no layer).
pub fn make_workdir(dest: RootfsPaths, lowers: Vec<PathBuf>, dir: String) -> Result<bool, String> {
    std::thread::spawn(move || -> Result<bool, String> {
        let overlays = [(&dest, lowers.as_slice())];
        copy::private_overlays(&overlays, |fds| {
            let root = fds.into_iter().next().expect("one overlay");
            if open_in_root(&root, dir.as_bytes(), DIR_PATH).is_ok() {
                return Ok(false);
            }
            make_dirs(&root, &dir, 0, 0).map_err(|e| format!("mkdir {dir}: {e}"))?;
            Ok(true)
        })
        .map_err(|e| format!("cannot mount the build root: {e}"))?
    })
    .join()
    .map_err(|_| "the workdir thread panicked".to_string())?
}

fn copy_all(
    src: &OwnedFd,
    root: &OwnedFd,
    merged: &Path,
    req: &CopyRequest,
    scratch: &Path,
) -> Result<(), String> {
    let (uid, gid) = match &req.chown {
        None => (0, 0),
        Some(c) => owner(merged, c)?,
    };
    let mut matched = Vec::new();
    for s in &req.sources {
        let found = expand(src, s).map_err(|e| format!("{s}: {e}"))?;
        if found.is_empty() {
            return Err(if has_wildcards(s) {
                format!("{} failed: no source files were specified", req.keyword)
            } else {
                format!(
                    "{} failed: file not found in build context or excluded by .dockerignore: stat {s}: file does not exist",
                    req.keyword
                )
            });
        }
        matched.extend(found);
    }
    let dest_dir_form = req.dest.ends_with('/') || req.dest.ends_with("/.");
    if (req.sources.len() > 1 || matched.len() > 1) && !dest_dir_form {
        return Err(format!(
            "When using {} with more than one source file, the destination must be a directory and end with a /",
            req.keyword
        ));
    }
    let dest_comps = clean_components(&req.dest);
    let dest_path = format!("/{}", dest_comps.join("/"));
    for (i, rel) in matched.iter().enumerate() {
        let st = copy::lstat_in_root(src, rel.as_bytes())
            .map_err(|e| format!("{rel}: {e}"))?
            .ok_or_else(|| format!("{rel}: vanished from the source"))?;
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let packed = scratch.join(format!("src-{i}.tar"));
        let renamed = scratch.join(format!("dst-{i}.tar"));
        let (target_dir, rename) = if is_dir {
            (dest_path.clone(), None)
        } else {
            let base = rel.rsplit('/').next().unwrap_or(rel).to_string();
            let existing_dir = open_in_root(root, dest_path.as_bytes(), DIR_PATH).is_ok();
            if dest_dir_form || existing_dir || dest_comps.is_empty() {
                (dest_path.clone(), Some(base))
            } else {
                let (last, parent) = dest_comps.split_last().expect("not empty");
                (format!("/{}", parent.join("/")), Some(last.clone()))
            }
        };
        if req.keyword == "ADD" && !is_dir {
            match archive_kind(src, rel).map_err(|e| format!("{rel}: {e}"))? {
                Archive::NotOne => {}
                Archive::Unsupported(kind) => {
                    return Err(format!(
                        "ADD of the {kind} archive {rel} is not supported by the embedded engine's builder (plain and gzip tars are); use COPY and RUN, or --engine docker"
                    ))
                }
                kind @ (Archive::Tar | Archive::Gzip) => {
                    // A local archive is unpacked into the destination directory.
                    make_dirs(root, &dest_path, uid, gid).map_err(|e| format!("{dest_path}: {e}"))?;
                    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
                    let f = File::from(
                        open_in_root(src, rel.as_bytes(), flags).map_err(|e| format!("{rel}: {e}"))?,
                    );
                    let r = io::BufReader::new(f);
                    let unpacked = match kind {
                        Archive::Gzip => copy::extract(
                            root,
                            &dest_path,
                            flate2::read::MultiGzDecoder::new(r),
                            Ownership::Preserve,
                        ),
                        _ => copy::extract(root, &dest_path, r, Ownership::Preserve),
                    };
                    unpacked.map_err(|e| format!("ADD failed: {rel}: {e}"))?;
                    continue;
                }
            }
        }
        let what = if is_dir {
            format!("{rel}/.")
        } else {
            rel.clone()
        };
        let f = File::create(&packed).map_err(|e| e.to_string())?;
        copy::archive(src, &what, f).map_err(|e| format!("{rel}: {e}"))?;
        retag(&packed, &renamed, rename.as_deref(), uid, gid, req.chmod)
            .map_err(|e| format!("{rel}: {e}"))?;
        make_dirs(root, &target_dir, uid, gid).map_err(|e| format!("{target_dir}: {e}"))?;
        let f = File::open(&renamed).map_err(|e| e.to_string())?;
        copy::extract(root, &target_dir, f, Ownership::Preserve)
            .map_err(|e| format!("{} failed: {e}", req.keyword))?;
        let _ = std::fs::remove_file(&packed);
        let _ = std::fs::remove_file(&renamed);
    }
    Ok(())
}

/// What a file given to `ADD` is.
enum Archive {
    NotOne,
    Tar,
    Gzip,
    Unsupported(&'static str),
}

/// Docker's archive detection for `ADD`: by magic number (a tar by its `ustar` header).
fn archive_kind(src: &OwnedFd, rel: &str) -> io::Result<Archive> {
    use std::io::Read;
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let fd = match open_in_root(src, rel.as_bytes(), flags) {
        Ok(fd) => fd,
        Err(e) if fsat::errno(&e) == libc::ELOOP => return Ok(Archive::NotOne), // a symlink
        Err(e) => return Err(e),
    };
    let mut head = Vec::with_capacity(512);
    File::from(fd).take(512).read_to_end(&mut head)?;
    Ok(match head.as_slice() {
        [0x1f, 0x8b, ..] => Archive::Gzip,
        [b'B', b'Z', b'h', ..] => Archive::Unsupported("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Archive::Unsupported("xz"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Archive::Unsupported("zstd"),
        h if h.len() >= 262 && &h[257..262] == b"ustar" => Archive::Tar,
        _ => Archive::NotOne,
    })
}

/// `--chown=user[:group]`: numbers, or names looked up in the stage's `/etc/passwd` and
/// `/etc/group`; a user alone gives its number as the group too (Docker's rule).
fn owner(merged: &Path, spec: &str) -> Result<(u32, u32), String> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let resolved = super::super::runtime_spec::user::resolve_user(merged, spec)
        .map_err(|e| format!("--chown={spec}: {e}"))?;
    let uid: u32 = u.parse().unwrap_or(resolved.uid);
    let gid: u32 = match g {
        Some(g) => g.parse().unwrap_or(resolved.gid),
        None => uid,
    };
    Ok((uid, gid))
}

/// Rewrites the tar `input` into `output`: every entry owned `uid:gid`, with mode `chmod`
/// when given, and the single entry of a file source renamed to `rename`.
fn retag(
    input: &Path,
    output: &Path,
    rename: Option<&str>,
    uid: u32,
    gid: u32,
    chmod: Option<u32>,
) -> io::Result<()> {
    let mut ar = tar::Archive::new(io::BufReader::new(File::open(input)?));
    let mut out = tar::Builder::new(io::BufWriter::new(File::create(output)?));
    for entry in ar.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let path: PathBuf = match rename {
            Some(r) => PathBuf::from(r),
            None => entry.path()?.into_owned(),
        };
        let mut h = entry.header().clone();
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        if let (Some(m), false) = (chmod, kind == tar::EntryType::Symlink) {
            h.set_mode(m);
        }
        match kind {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()?
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                out.append_link(&mut h, &path, &target)?;
            }
            _ => out.append_data(&mut h, &path, &mut entry)?,
        }
    }
    out.into_inner()?;
    Ok(())
}

/// Makes the directory `dir` of the root and its missing parents (mode 0755, owned
/// `uid:gid`), resolving every existing component inside the root.
fn make_dirs(root: &OwnedFd, dir: &str, uid: u32, gid: u32) -> io::Result<()> {
    let mut path = String::from("/");
    for comp in clean_components(dir) {
        let parent = path.clone();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(&comp);
        match open_in_root(root, path.as_bytes(), DIR_PATH) {
            Ok(_) => continue,
            Err(e) if fsat::errno(&e) == libc::ENOENT => {}
            Err(e) => return Err(e),
        }
        let flags = fsat::DIR_FLAGS & !libc::O_NOFOLLOW;
        let p = open_in_root(root, parent.as_bytes(), flags)?;
        let name = std::ffi::CString::new(comp).map_err(io::Error::other)?;
        match fsat::mkdirat(&p, &name) {
            Ok(()) => {
                let d = fsat::openat(&p, &name, fsat::DIR_FLAGS, 0)?;
                fsat::set_owner_mode(&d, uid, gid, 0o755)?;
            }
            Err(e) if fsat::errno(&e) == libc::EEXIST => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `--chmod=` as an octal mode.
pub fn parse_chmod(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_is_octal() {
        assert_eq!(parse_chmod("755"), Some(0o755));
        assert_eq!(parse_chmod("0644"), Some(0o644));
        assert_eq!(parse_chmod("9"), None);
        assert_eq!(parse_chmod("77777"), None);
    }
}
