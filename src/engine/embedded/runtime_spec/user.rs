//! The container's user: `user:` (or the image's `User`) resolved against the image's
//! `/etc/passwd` and `/etc/group` the way Docker does (moby/sys/user `GetExecUser`):
//! - `name` or `uid`, optionally `:group` or `:gid`; empty means root;
//! - a name must exist in passwd (or group); a number need not (gid 0 then);
//! - the primary gid comes from passwd, or from the explicit group;
//! - supplementary gids are the groups listing the user as a member, only when no group was
//!   given; Docker puts the primary gid first in the list.
//!
//! The two files come from an image, so they are read without ever leaving the rootfs:
//! `openat2(RESOLVE_IN_ROOT)` resolves every symlink (absolute or `..`) as if the rootfs were
//! `/`; on kernels without openat2 each component is opened with `O_NOFOLLOW`, so a symlink
//! is refused. Only regular files are read (not a FIFO an image could leave there), and at
//! most [`MAX_DB_SIZE`] bytes.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::SpecError;

/// The most we read of `/etc/passwd` or `/etc/group`.
pub const MAX_DB_SIZE: u64 = 8 << 20;

/// The highest uid/gid Docker accepts (`math.MaxInt32`).
const MAX_ID: u32 = i32::MAX as u32;

/// The resolved identity of the container's process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// The primary gid first, then the supplementary groups (Docker's order).
    pub additional_gids: Vec<u32>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `user` (`name`, `uid`, `name:group`, `uid:gid`, or empty for root) inside
/// `rootfs`.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<ResolvedUser, SpecError> {
    let (user_arg, group_arg) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let unknown = |reason: String| SpecError::UnknownUser {
        user: user.to_string(),
        reason,
    };
    let db_error = |file: &'static str, source: io::Error| SpecError::UserDatabase {
        user: user.to_string(),
        file,
        source,
    };
    let parse_id = |s: &str| s.parse::<u32>().ok();

    let passwd = read_in_root(rootfs, "etc/passwd").map_err(|e| db_error("/etc/passwd", e))?;
    let entries: Vec<PasswdEntry> = passwd.as_deref().map(parse_passwd).unwrap_or_default();
    let uid_arg = parse_id(user_arg);
    let matched = entries.iter().find(|e| match (user_arg, uid_arg) {
        ("", _) => e.uid == 0,
        (_, Some(uid)) => e.uid == uid,
        (name, None) => e.name == name,
    });

    let (uid, mut gid, name) = match (matched, uid_arg) {
        (Some(e), _) => (e.uid, e.gid, Some(e.name.as_str())),
        (None, _) if user_arg.is_empty() => (0, 0, None),
        (None, Some(uid)) => (uid, 0, None),
        (None, None) => {
            return Err(unknown(format!(
                "no user '{user_arg}' in the image's /etc/passwd"
            )));
        }
    };
    if uid > MAX_ID {
        return Err(unknown(format!(
            "uid {uid} is out of range (0 to {MAX_ID})"
        )));
    }

    let mut supplementary = Vec::new();
    if group_arg.is_some() || name.is_some() {
        let group = read_in_root(rootfs, "etc/group").map_err(|e| db_error("/etc/group", e))?;
        let groups: Vec<GroupEntry> = group.as_deref().map(parse_group).unwrap_or_default();
        match group_arg {
            Some(g) => {
                let gid_arg = parse_id(g);
                // A numeric group is always a gid, like a numeric user is a uid.
                let found = groups.iter().find(|e| match gid_arg {
                    Some(gid) => e.gid == gid,
                    None => e.name == g,
                });
                gid = match found {
                    Some(e) => e.gid,
                    None => gid_arg.ok_or_else(|| {
                        unknown(format!("no group '{g}' in the image's /etc/group"))
                    })?,
                };
                if gid > MAX_ID {
                    return Err(unknown(format!(
                        "gid {gid} is out of range (0 to {MAX_ID})"
                    )));
                }
            }
            None => {
                let name = name.unwrap_or_default();
                supplementary = groups
                    .iter()
                    .filter(|e| e.members.iter().any(|m| m == name))
                    .map(|e| e.gid)
                    .collect();
            }
        }
    }
    let mut additional_gids = vec![gid];
    additional_gids.extend(supplementary);
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
    })
}

/// `name:password:uid:gid:gecos:home:shell` lines; malformed lines are skipped (Docker would
/// read a bad number as 0, which could make a bogus line match root).
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    db_lines(text)
        .filter_map(|f| {
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// `name:password:gid:member,member` lines.
fn parse_group(text: &str) -> Vec<GroupEntry> {
    db_lines(text)
        .filter_map(|f| {
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| m.split(',').map(str::trim).filter(|m| !m.is_empty()))
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

fn db_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

/// Reads `rel` (relative, no `..`) inside `root` without leaving it. `Ok(None)` when the
/// file does not exist.
pub fn read_in_root(root: &Path, rel: &str) -> io::Result<Option<String>> {
    let file = match open_in_root(root, rel) {
        Ok(f) => f,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_DB_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DB_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_DB_SIZE >> 20),
        ));
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Flags for the file itself: never block on a FIFO, never become our controlling tty.
const FILE_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;

fn open_in_root(root: &Path, rel: &str) -> io::Result<File> {
    let root = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(root)?;
    let path = CString::new(rel).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    match crate::engine::embedded::store::unpack::fsat::openat2_in_root(&root, &path, FILE_FLAGS) {
        Ok(fd) => Ok(File::from(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => open_no_symlinks(&root, rel),
        Err(e) => Err(e),
    }
}

/// The fallback without openat2: one component at a time with `O_NOFOLLOW`, so any symlink
/// on the way fails (ELOOP/ENOTDIR) instead of being followed.
fn open_no_symlinks(root: &File, rel: &str) -> io::Result<File> {
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut dir: Option<OwnedFd> = None;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let flags = if last {
            FILE_FLAGS | libc::O_NOFOLLOW
        } else {
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC
        };
        let name = CString::new(*part).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let at = dir.as_ref().map_or(root.as_raw_fd(), |d| d.as_raw_fd());
        // SAFETY: valid dirfd and NUL-terminated name.
        let fd = unsafe { libc::openat(at, name.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: openat returned a new descriptor that nothing else owns.
        dir = Some(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    dir.map(File::from)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}
