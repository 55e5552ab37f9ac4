//! `cp`'s path rules and tar streams on a directory standing for a container root, with a
//! host canary next to it that symlinks of the "container" point at.

use super::*;
use crate::engine::Ownership;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

struct Fixture {
    base: PathBuf,
    root: OwnedFd,
    root_path: PathBuf,
    canary: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// `root/` with `inside/a`, `inside/link -> a`, `evil -> /`, `up -> ../../..` and
/// `esc -> <host canary dir>`; the canary dir holds `secret`.
fn fixture(tag: &str) -> Fixture {
    let base = std::env::temp_dir().join(format!("rc-cp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root_path = base.join("root");
    let canary = base.join("canary");
    std::fs::create_dir_all(root_path.join("inside")).unwrap();
    std::fs::create_dir_all(&canary).unwrap();
    std::fs::write(canary.join("secret"), "HOST").unwrap();
    std::fs::write(root_path.join("inside/a"), "A").unwrap();
    std::os::unix::fs::symlink("a", root_path.join("inside/link")).unwrap();
    std::os::unix::fs::symlink("/", root_path.join("evil")).unwrap();
    std::os::unix::fs::symlink("../../..", root_path.join("up")).unwrap();
    std::os::unix::fs::symlink(&canary, root_path.join("esc")).unwrap();
    let root = open_dir(&root_path).unwrap();
    Fixture {
        base,
        root,
        root_path,
        canary,
    }
}

impl Fixture {
    fn canary_intact(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.canary)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"], "the host canary directory changed");
        assert_eq!(
            std::fs::read_to_string(self.canary.join("secret")).unwrap(),
            "HOST"
        );
    }
}

/// A tar of raw entries (names written into the header bytes, so `..` is possible).
fn raw_tar(entries: &[(&str, tar::EntryType, &[u8], u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data, uid) in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_uid(*uid);
        h.set_gid(*uid);
        let data: &[u8] = if *kind == tar::EntryType::Symlink {
            h.as_old_mut().linkname[..data.len()].copy_from_slice(data);
            b""
        } else {
            data
        };
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn names_in(tar: &[u8]) -> Vec<String> {
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn paths_split_and_base_names_as_docker() {
    assert_eq!(split_last(b"/a/b"), (&b"/a"[..], Some(&b"b"[..])));
    assert_eq!(split_last(b"/a/"), (&b"/a/"[..], None));
    assert_eq!(split_last(b"/a/."), (&b"/a/."[..], None));
    assert_eq!(split_last(b"/"), (&b"/"[..], None));
    assert_eq!(base_name(b"/a/b/"), b"b");
    assert_eq!(base_name(b"/a/."), b".");
    assert_eq!(base_name(b"/"), b"/");
}

#[test]
fn symlinks_resolve_inside_the_root() {
    let f = fixture("resolve");
    let st = |p: &str| stat(&f.root, p).unwrap();
    assert_eq!(st("/evil/inside/a").unwrap().kind, PathKind::File);
    assert_eq!(st("/up/inside/a").unwrap().kind, PathKind::File);
    assert_eq!(
        st("/evil/../../up/inside").unwrap().kind,
        PathKind::Directory
    );
    // The canary's path, taken inside the root, does not exist.
    assert!(st("/esc/secret").is_none());
    let esc = st("/esc").unwrap();
    assert_eq!(esc.kind, PathKind::Symlink);
    assert_eq!(esc.link_target, f.canary.display().to_string());
    assert_eq!(st("/inside/link").unwrap().link_target, "/inside/a");
    assert_eq!(st("/evil").unwrap().link_target, "/");
    assert_eq!(st("/up").unwrap().link_target, "/");
    assert_eq!(st("/inside/.").unwrap().name, ".");
    f.canary_intact();
}

#[test]
fn archive_keeps_symlinks_and_never_leaves_the_root() {
    let f = fixture("archive");
    let mut tar = Vec::new();
    archive(&f.root, "/up/inside", &mut tar).unwrap();
    assert_eq!(names_in(&tar), ["inside", "inside/a", "inside/link"]);
    let mut tar = Vec::new();
    archive(&f.root, "/inside/.", &mut tar).unwrap();
    assert_eq!(names_in(&tar), ["a", "link"]);
    // The root's own symlinks are stored as symlinks, not followed.
    let mut tar = Vec::new();
    archive(&f.root, "/", &mut tar).unwrap();
    let all = names_in(&tar);
    assert!(all.iter().any(|n| n.ends_with("esc")), "{all:?}");
    assert!(!all.iter().any(|n| n.contains("secret")), "{all:?}");
    assert!(matches!(
        archive(&f.root, "/esc/secret", &mut Vec::new()),
        Err(CopyError::NoSuchPath { .. })
    ));
    f.canary_intact();
}

#[test]
fn extract_stays_in_the_root_and_replaces_links_without_following_them() {
    let f = fixture("extract");
    let put = |dir: &str, tar: Vec<u8>, owner| extract(&f.root, dir, &tar[..], owner);
    use tar::EntryType::{Directory, Regular, Symlink};
    // Through `/evil` (-> /): into the root's own `inside`.
    put(
        "/evil/inside",
        raw_tar(&[("new/", Directory, b"", 0), ("new/f", Regular, b"x", 1234)]),
        Ownership::ContainerRoot,
    )
    .unwrap();
    let made = f.root_path.join("inside/new/f");
    assert_eq!(std::fs::read_to_string(&made).unwrap(), "x");
    assert_eq!(std::fs::metadata(&made).unwrap().uid(), 0);
    put(
        "/inside",
        raw_tar(&[("kept", Regular, b"k", 1234)]),
        Ownership::Preserve,
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(f.root_path.join("inside/kept"))
            .unwrap()
            .uid(),
        1234
    );
    // An entry through the root's symlink to the canary: resolved in the root, not found.
    assert!(put(
        "/",
        raw_tar(&[("esc/secret", Regular, b"PWNED", 0)]),
        Ownership::ContainerRoot
    )
    .is_err());
    assert!(matches!(
        put(
            "/esc",
            raw_tar(&[("x", Regular, b"PWNED", 0)]),
            Ownership::ContainerRoot
        ),
        Err(CopyError::NoSuchPath { .. })
    ));
    // `..` out of the directory is refused.
    assert!(matches!(
        put(
            "/inside",
            raw_tar(&[("../../x", Regular, b"PWNED", 0)]),
            Ownership::ContainerRoot
        ),
        Err(CopyError::Breakout { .. })
    ));
    // A symlink to the canary, then a file of the same name: the link is replaced.
    let canary_secret = f.canary.join("secret").display().to_string();
    std::os::unix::fs::symlink(&canary_secret, f.root_path.join("inside/trap")).unwrap();
    put(
        "/inside",
        raw_tar(&[("trap", Regular, b"PWNED", 0)]),
        Ownership::ContainerRoot,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(f.root_path.join("inside/trap")).unwrap(),
        "PWNED"
    );
    // A symlink entry to the canary, then a file below it: resolved in the root, where the
    // canary's path does not exist.
    let to_canary = f.canary.display().to_string();
    assert!(put(
        "/inside",
        raw_tar(&[
            ("hop", Symlink, to_canary.as_bytes(), 0),
            ("hop/x", Regular, b"PWNED", 0)
        ]),
        Ownership::ContainerRoot,
    )
    .is_err());
    // A directory never replaces a file, nor a file a directory.
    assert!(matches!(
        put(
            "/inside",
            raw_tar(&[("a/", Directory, b"", 0)]),
            Ownership::ContainerRoot
        ),
        Err(CopyError::NonDirWithDir { .. })
    ));
    assert!(matches!(
        put(
            "/",
            raw_tar(&[("inside", Regular, b"", 0)]),
            Ownership::ContainerRoot
        ),
        Err(CopyError::DirWithNonDir { .. })
    ));
    f.canary_intact();
    assert!(Path::new(&canary_secret).exists());
}
