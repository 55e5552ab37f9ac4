//! Tests of the layer applier: moby's `testBreakout` and containerd's `TestBreakouts` cases as
//! one table, then whiteouts, digests, metadata, budgets and cross-layer hard links.

use super::*;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory with an empty `layer/` and a sibling `victim/hello` (known content and
/// mode) that hostile archives aim at.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rcompose-unpack-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("layer")).unwrap();
        fs::create_dir_all(dir.join("victim")).unwrap();
        fs::write(dir.join("victim/hello"), b"known content").unwrap();
        fs::set_permissions(dir.join("victim/hello"), fs::Permissions::from_mode(0o640)).unwrap();
        Scratch(dir)
    }

    fn layer(&self) -> PathBuf {
        self.0.join("layer")
    }

    fn apply(&self, tar: &[u8]) -> Result<AppliedLayer, UnpackError> {
        apply_layer(
            tar,
            Compression::None,
            &self.layer(),
            &[],
            &UnpackLimits::default(),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Everything under `root` except `layer/`: type, mode, owner, size, content or link target.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == "layer" {
                continue;
            }
            let md = fs::symlink_metadata(&path).unwrap();
            let body = if md.is_file() {
                format!("{:?}", fs::read(&path).unwrap())
            } else if md.file_type().is_symlink() {
                fs::read_link(&path).unwrap().to_string_lossy().into_owned()
            } else {
                String::new()
            };
            let desc = format!(
                "{:o} {}:{} {} {body}",
                md.mode(),
                md.uid(),
                md.gid(),
                md.len()
            );
            out.insert(rel, desc);
            if md.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Builds archives with raw header names, so `..` and absolute paths get through as written.
struct Tar(tar::Builder<Vec<u8>>);

fn header(name: &str, kind: EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_600_000_000);
    h.set_size(0);
    h
}

impl Tar {
    fn new() -> Self {
        Tar(tar::Builder::new(Vec::new()))
    }

    fn add(mut self, mut h: tar::Header, data: &[u8]) -> Self {
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    fn file(self, name: &str, data: &[u8]) -> Self {
        self.add(header(name, EntryType::Regular, 0o644), data)
    }

    fn dir(self, name: &str) -> Self {
        self.add(header(name, EntryType::Directory, 0o755), b"")
    }

    fn link(self, kind: EntryType, name: &str, target: &str) -> Self {
        let mut h = header(name, kind, 0o777);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.add(h, b"")
    }

    fn symlink(self, name: &str, target: &str) -> Self {
        self.link(EntryType::Symlink, name, target)
    }

    fn hardlink(self, name: &str, target: &str) -> Self {
        self.link(EntryType::Link, name, target)
    }

    fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        self.0
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn variant(e: &UnpackError) -> &'static str {
    match e {
        UnpackError::Escape { .. } => "Escape",
        UnpackError::InvalidWhiteout { .. } => "InvalidWhiteout",
        UnpackError::Duplicate { .. } => "Duplicate",
        UnpackError::SymlinkParent { .. } => "SymlinkParent",
        UnpackError::ParentNotDirectory { .. } => "ParentNotDirectory",
        UnpackError::HardlinkTarget { .. } => "HardlinkTarget",
        UnpackError::InvalidArchive { .. } => "InvalidArchive",
        UnpackError::TooLarge { .. } => "TooLarge",
        UnpackError::TooManyEntries { .. } => "TooManyEntries",
        UnpackError::PathTooLong { .. } => "PathTooLong",
        UnpackError::Dest { .. } => "Dest",
        UnpackError::Io { .. } => "Io",
        UnpackError::Tar(_) => "Tar",
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn xattr(path: &Path, name: &CStr) -> Option<Vec<u8>> {
    let path = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    usize::try_from(n).ok().map(|n| buf[..n].to_vec())
}

#[test]
fn breakouts_are_refused_and_the_victim_is_unchanged() {
    type Build = fn(&Path) -> Vec<u8>;
    // (case, archive given the victim's absolute path, expected error or None for success)
    let cases: &[(&str, Build, Option<&str>)] = &[
        // moby testBreakout
        (
            "dotdot",
            |_| Tar::new().file("../victim/dotdot", b"x").bytes(),
            Some("Escape"),
        ),
        (
            "slash-dotdot",
            |_| Tar::new().file("/../victim/slash-dotdot", b"x").bytes(),
            Some("Escape"),
        ),
        (
            "inner dotdot",
            |_| Tar::new().file("a/../../victim/x", b"x").bytes(),
            Some("Escape"),
        ),
        (
            "dotdot dir",
            |_| Tar::new().dir("../victim/newdir").bytes(),
            Some("Escape"),
        ),
        (
            "hardlink dotdot",
            |_| Tar::new().hardlink("dotdot", "../victim/hello").bytes(),
            Some("Escape"),
        ),
        (
            "hardlink slash-dotdot",
            |_| Tar::new().hardlink("dotdot", "/../victim/hello").bytes(),
            Some("Escape"),
        ),
        (
            "hardlink to a dir outside, then a file in it",
            |_| {
                Tar::new()
                    .hardlink("loophole", "../victim")
                    .file("loophole/file", b"x")
                    .bytes()
            },
            Some("Escape"),
        ),
        (
            "symlink to a dir outside, then a file through it",
            |_| {
                Tar::new()
                    .symlink("dir", "../victim")
                    .file("dir/hello", b"pwned")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "absolute symlink, then a file through it",
            |victim| {
                let target = victim.to_str().unwrap().to_owned();
                Tar::new()
                    .symlink("symlink", &target)
                    .file("symlink/hello", b"pwned")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "symlink to a dir outside, then a dir through it",
            |_| {
                Tar::new()
                    .symlink("dir", "../victim")
                    .dir("dir/sub")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "symlink to a dir outside, then a whiteout through it",
            |_| {
                Tar::new()
                    .symlink("d", "../victim")
                    .file("d/.wh.hello", b"")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "symlink to a dir outside, then an opaque marker through it",
            |_| {
                Tar::new()
                    .symlink("d", "../victim")
                    .file("d/.wh..wh..opq", b"")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        // containerd TestBreakouts
        (
            "symlink chain a -> b -> ../../.., then a/x",
            |_| {
                Tar::new()
                    .symlink("a", "b")
                    .symlink("b", "../../..")
                    .file("a/x", b"x")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "hardlink to a symlink, then a file through the hardlink",
            |_| {
                Tar::new()
                    .symlink("loophole", "../victim")
                    .hardlink("hl", "loophole")
                    .file("hl/hello", b"x")
                    .bytes()
            },
            Some("SymlinkParent"),
        ),
        (
            "hardlink to a symlink with mode 0777 (CVE-2021-32760)",
            |_| {
                Tar::new()
                    .symlink("loophole", "../victim/hello")
                    .hardlink("hl", "loophole")
                    .bytes()
            },
            None,
        ),
        (
            "hardlink to a symlink, then the same name as a file",
            |_| {
                Tar::new()
                    .symlink("loophole", "../victim/hello")
                    .hardlink("hl", "loophole")
                    .file("hl", b"x")
                    .bytes()
            },
            Some("Duplicate"),
        ),
        (
            "hardlink through a symlinked parent",
            |_| {
                Tar::new()
                    .symlink("d", "../victim")
                    .hardlink("x", "d/hello")
                    .bytes()
            },
            Some("HardlinkTarget"),
        ),
        (
            "hardlink to a target created later",
            |_| {
                Tar::new()
                    .hardlink("early", "late")
                    .file("late", b"x")
                    .bytes()
            },
            Some("HardlinkTarget"),
        ),
        (
            "hardlink to a missing absolute path",
            |_| Tar::new().hardlink("sh", "/etc/shadow").bytes(),
            Some("HardlinkTarget"),
        ),
        (
            "hardlink to an absolute path stays inside",
            |_| {
                Tar::new()
                    .file("etc/passwd", b"layer")
                    .hardlink("pw", "/etc/passwd")
                    .bytes()
            },
            None,
        ),
        (
            "file over a symlink to outside",
            |_| {
                Tar::new()
                    .symlink("hello", "../victim/hello")
                    .file("hello", b"pwned")
                    .bytes()
            },
            Some("Duplicate"),
        ),
        (
            "dir over a symlink to outside",
            |_| Tar::new().symlink("d", "../victim").dir("d").bytes(),
            Some("Duplicate"),
        ),
        (
            "symlink to outside is kept, not followed",
            |_| Tar::new().symlink("dotdot", "../victim/hello").bytes(),
            None,
        ),
    ];
    let host_passwd = fs::read("/etc/passwd").ok();
    for (case, build, expected) in cases {
        let scratch = Scratch::new("breakout");
        let before = snapshot(&scratch.0);
        let result = scratch.apply(&build(&scratch.0.join("victim")));
        match (expected, &result) {
            (Some(want), Err(e)) => assert_eq!(variant(e), *want, "{case}: {e}"),
            (None, Ok(_)) => {}
            _ => panic!("{case}: expected {expected:?}, got {result:?}"),
        }
        assert_eq!(
            snapshot(&scratch.0),
            before,
            "{case}: something outside the layer changed"
        );
    }
    assert_eq!(fs::read("/etc/passwd").ok(), host_passwd);
}

#[test]
fn hardlink_to_a_symlink_links_the_symlink_itself() {
    let scratch = Scratch::new("hl-symlink");
    let tar = Tar::new()
        .symlink("loophole", "../victim/hello")
        .hardlink("hl", "loophole")
        .bytes();
    scratch.apply(&tar).unwrap();
    let hl = fs::symlink_metadata(scratch.layer().join("hl")).unwrap();
    assert!(hl.file_type().is_symlink());
    assert_eq!(
        hl.ino(),
        fs::symlink_metadata(scratch.layer().join("loophole"))
            .unwrap()
            .ino()
    );
    assert_eq!(
        fs::metadata(scratch.0.join("victim/hello")).unwrap().mode() & 0o7777,
        0o640
    );
}

#[test]
fn escape_error_message_names_the_entry() {
    let scratch = Scratch::new("message");
    let err = scratch
        .apply(&Tar::new().file("../escape", b"x").bytes())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer entry `../escape` escapes the layer directory"
    );
}

#[test]
fn whiteouts_become_0_0_character_devices() {
    let scratch = Scratch::new("whiteout");
    let tar = Tar::new()
        .dir("etc")
        .file("etc/.wh.passwd", b"")
        .file(".wh.top", b"")
        .bytes();
    scratch.apply(&tar).unwrap();
    for name in ["etc/passwd", "top"] {
        let md = fs::symlink_metadata(scratch.layer().join(name)).unwrap();
        assert!(md.file_type().is_char_device(), "{name}");
        assert_eq!(md.rdev(), 0, "{name}");
    }
    assert!(fs::symlink_metadata(scratch.layer().join("etc/.wh.passwd")).is_err());
    assert!(fs::symlink_metadata(scratch.layer().join(".wh.top")).is_err());
}

#[test]
fn opaque_marker_sets_the_xattr_and_archive_overlay_xattrs_are_ignored() {
    let scratch = Scratch::new("opaque");
    let tar = Tar::new()
        .file("d/.wh..wh..opq", b"")
        .pax(&[
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.user.kept", b"v"),
        ])
        .dir("e")
        .bytes();
    scratch.apply(&tar).unwrap();
    let opaque = c"trusted.overlay.opaque";
    assert_eq!(
        xattr(&scratch.layer().join("d"), opaque).as_deref(),
        Some(&b"y"[..])
    );
    assert!(fs::symlink_metadata(scratch.layer().join("d/.wh..wh..opq")).is_err());
    assert_eq!(xattr(&scratch.layer().join("e"), opaque), None);
    assert_eq!(
        xattr(&scratch.layer().join("e"), c"user.kept").as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn invalid_whiteouts_are_refused() {
    for name in [".wh.", ".wh..", ".wh...", "etc/.wh..", "etc/.wh..."] {
        let scratch = Scratch::new("bad-whiteout");
        let err = scratch
            .apply(&Tar::new().file(name, b"").bytes())
            .unwrap_err();
        assert_eq!(variant(&err), "InvalidWhiteout", "{name}: {err}");
    }
}

#[test]
fn empty_names_and_nul_bytes_are_refused() {
    let cases: [(&str, Vec<u8>); 2] = [
        ("empty name", Tar::new().file("", b"").bytes()),
        (
            "NUL in a PAX path",
            Tar::new().pax(&[("path", b"a\0b")]).file("x", b"").bytes(),
        ),
    ];
    for (case, tar) in cases {
        let scratch = Scratch::new("names");
        let err = scratch.apply(&tar).unwrap_err();
        assert_eq!(variant(&err), "InvalidArchive", "{case}: {err}");
    }
}

#[test]
fn duplicate_paths_are_refused() {
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "file twice",
            Tar::new().file("a", b"1").file("a", b"2").bytes(),
        ),
        ("dir twice", Tar::new().dir("d").dir("./d/").bytes()),
        (
            "whiteout and file",
            Tar::new().file(".wh.a", b"").file("a", b"x").bytes(),
        ),
        ("file then dir", Tar::new().file("a", b"1").dir("a").bytes()),
    ];
    for (case, tar) in cases {
        let scratch = Scratch::new("dup");
        let err = scratch.apply(&tar).unwrap_err();
        assert_eq!(variant(&err), "Duplicate", "{case}: {err}");
    }
}

#[test]
fn diff_id_is_the_sha256_of_the_tar_for_every_compression() {
    let tar = Tar::new().dir("d").file("d/f", &[7u8; 100_000]).bytes();
    let want = sha256(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst =
        ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
    for (compression, blob) in [
        (Compression::None, &tar),
        (Compression::Gzip, &gz),
        (Compression::Zstd, &zst),
    ] {
        let scratch = Scratch::new("digest");
        let applied = apply_layer(
            &blob[..],
            compression,
            &scratch.layer(),
            &[],
            &UnpackLimits::default(),
        )
        .unwrap();
        assert_eq!(applied.diff_id, want, "{compression:?}");
        assert_eq!(applied.size, tar.len() as u64, "{compression:?}");
        assert_eq!(
            fs::read(scratch.layer().join("d/f")).unwrap(),
            vec![7u8; 100_000]
        );
    }
}

#[test]
fn trailing_bytes_after_the_tar_end_are_in_the_digest() {
    let mut tar = Tar::new().file("f", b"x").bytes();
    tar.extend_from_slice(&[0u8; 4096]);
    tar.extend_from_slice(b"trailing junk");
    let scratch = Scratch::new("trailing");
    let applied = scratch.apply(&tar).unwrap();
    assert_eq!(applied.diff_id, sha256(&tar));
    assert_eq!(applied.size, tar.len() as u64);
}

#[test]
fn zstd_with_several_frames_and_a_skippable_frame() {
    let tar = Tar::new()
        .file("a", &[1u8; 70_000])
        .file("b", &[2u8; 70_000])
        .bytes();
    let (head, tail) = tar.split_at(50_000);
    let mut blob =
        ruzstd::encoding::compress_to_vec(head, ruzstd::encoding::CompressionLevel::Fastest);
    blob.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]); // skippable, 3 bytes
    blob.extend(ruzstd::encoding::compress_to_vec(
        tail,
        ruzstd::encoding::CompressionLevel::Fastest,
    ));
    let scratch = Scratch::new("zstd-frames");
    let applied = apply_layer(
        &blob[..],
        Compression::Zstd,
        &scratch.layer(),
        &[],
        &UnpackLimits::default(),
    )
    .unwrap();
    assert_eq!(applied.diff_id, sha256(&tar));
    assert_eq!(
        fs::read(scratch.layer().join("b")).unwrap(),
        vec![2u8; 70_000]
    );
}

#[test]
fn corrupt_gzip_is_a_read_error() {
    let scratch = Scratch::new("corrupt");
    let err = apply_layer(
        &b"\x1f\x8bnot gzip at all"[..],
        Compression::Gzip,
        &scratch.layer(),
        &[],
        &UnpackLimits::default(),
    )
    .unwrap_err();
    assert_eq!(variant(&err), "Tar", "{err}");
}

#[test]
fn owner_mode_setuid_and_times_are_kept() {
    let scratch = Scratch::new("meta");
    let mut dir = header("d", EntryType::Directory, 0o2775);
    dir.set_mtime(1_400_000_000);
    dir.set_uid(55);
    let mut file = header("d/suid", EntryType::Regular, 0o4755);
    file.set_uid(1234);
    file.set_gid(5678);
    file.set_mtime(1_500_000_000);
    let mut link = header("d/link", EntryType::Symlink, 0o777);
    link.set_link_name("suid").unwrap();
    link.set_uid(42);
    link.set_mtime(1_300_000_000);
    let tar = Tar::new()
        .add(dir, b"")
        .add(file, b"#!/bin/sh\n")
        .add(link, b"")
        .pax(&[("mtime", b"1500000000.5")])
        .file("d/frac", b"")
        .bytes();
    scratch.apply(&tar).unwrap();
    let layer = scratch.layer();
    let md = fs::symlink_metadata(layer.join("d/suid")).unwrap();
    assert_eq!(
        (md.mode() & 0o7777, md.uid(), md.gid(), md.mtime()),
        (0o4755, 1234, 5678, 1_500_000_000)
    );
    let md = fs::symlink_metadata(layer.join("d")).unwrap();
    assert_eq!(
        (md.mode() & 0o7777, md.uid(), md.mtime()),
        (0o2775, 55, 1_400_000_000)
    );
    let md = fs::symlink_metadata(layer.join("d/link")).unwrap();
    assert_eq!((md.uid(), md.mtime()), (42, 1_300_000_000));
    let md = fs::symlink_metadata(layer.join("d/frac")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_500_000_000, 500_000_000));
}

#[test]
fn devices_and_fifos_are_created() {
    let scratch = Scratch::new("devices");
    let mut null = header("dev/null", EntryType::Char, 0o666);
    null.set_device_major(1).unwrap();
    null.set_device_minor(3).unwrap();
    let tar = Tar::new()
        .add(null, b"")
        .add(header("dev/fifo", EntryType::Fifo, 0o640), b"")
        .bytes();
    scratch.apply(&tar).unwrap();
    let md = fs::symlink_metadata(scratch.layer().join("dev/null")).unwrap();
    assert!(md.file_type().is_char_device());
    assert_eq!(
        (md.rdev(), md.mode() & 0o7777),
        (libc::makedev(1, 3), 0o666)
    );
    let md = fs::symlink_metadata(scratch.layer().join("dev/fifo")).unwrap();
    assert!(md.file_type().is_fifo());
    assert_eq!(md.mode() & 0o7777, 0o640);
}

#[test]
fn gzip_bomb_stops_at_the_budget_and_leaves_no_partial_file() {
    const SIZE: u64 = 64 << 20;
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut h = header("bomb", EntryType::Regular, 0o644);
    h.set_size(SIZE);
    h.set_cksum();
    builder.append(&h, io::repeat(0).take(SIZE)).unwrap();
    let blob = builder.into_inner().unwrap().finish().unwrap();
    assert!(blob.len() < 1 << 20);
    let scratch = Scratch::new("bomb");
    let limits = UnpackLimits {
        max_bytes: 10 << 20,
        ..UnpackLimits::default()
    };
    let err =
        apply_layer(&blob[..], Compression::Gzip, &scratch.layer(), &[], &limits).unwrap_err();
    assert_eq!(variant(&err), "TooLarge", "{err}");
    assert!(fs::symlink_metadata(scratch.layer().join("bomb")).is_err());
}

#[test]
fn entry_count_and_path_length_are_capped() {
    let scratch = Scratch::new("caps");
    let many = (0..5)
        .fold(Tar::new(), |t, i| t.file(&format!("f{i}"), b""))
        .bytes();
    let limits = UnpackLimits {
        max_entries: 3,
        ..UnpackLimits::default()
    };
    let err =
        apply_layer(&many[..], Compression::None, &scratch.layer(), &[], &limits).unwrap_err();
    assert_eq!(variant(&err), "TooManyEntries", "{err}");

    let scratch = Scratch::new("caps");
    let long = Tar::new().file(&"x".repeat(40), b"").bytes();
    let limits = UnpackLimits {
        max_path: 16,
        ..UnpackLimits::default()
    };
    let err =
        apply_layer(&long[..], Compression::None, &scratch.layer(), &[], &limits).unwrap_err();
    assert_eq!(variant(&err), "PathTooLong", "{err}");
}

#[test]
fn hardlink_in_the_same_layer_shares_the_inode() {
    let scratch = Scratch::new("hardlink");
    scratch
        .apply(&Tar::new().file("a/f", b"data").hardlink("b", "a/f").bytes())
        .unwrap();
    let ino = |p: &str| fs::symlink_metadata(scratch.layer().join(p)).unwrap().ino();
    assert_eq!(ino("a/f"), ino("b"));
}

#[test]
fn hardlink_to_a_lower_layer_file_copies_it() {
    let scratch = Scratch::new("lower");
    let lower = scratch.0.join("lower");
    fs::create_dir_all(lower.join("bin")).unwrap();
    fs::write(lower.join("bin/tool"), b"tool body").unwrap();
    std::os::unix::fs::chown(lower.join("bin/tool"), Some(7), Some(8)).unwrap();
    fs::set_permissions(lower.join("bin/tool"), fs::Permissions::from_mode(0o4711)).unwrap();
    fs::set_permissions(lower.join("bin"), fs::Permissions::from_mode(0o751)).unwrap();
    let tar = Tar::new().hardlink("bin/tool2", "bin/tool").bytes();
    let limits = UnpackLimits::default();
    apply_layer(
        &tar[..],
        Compression::None,
        &scratch.layer(),
        std::slice::from_ref(&lower),
        &limits,
    )
    .unwrap();
    let copy = scratch.layer().join("bin/tool2");
    assert_eq!(fs::read(&copy).unwrap(), b"tool body");
    let md = fs::symlink_metadata(&copy).unwrap();
    assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o4711, 7, 8));
    // the implicit parent takes the lower directory's mode
    assert_eq!(
        fs::symlink_metadata(scratch.layer().join("bin"))
            .unwrap()
            .mode()
            & 0o7777,
        0o751
    );

    // a whiteout in a layer between hides the lower file
    let scratch2 = Scratch::new("lower-hidden");
    let middle = scratch2.0.join("middle");
    fs::create_dir_all(middle.join("bin")).unwrap();
    let path = CString::new(
        middle
            .join("bin/tool")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR, 0) }, 0);
    let err = apply_layer(
        &tar[..],
        Compression::None,
        &scratch2.layer(),
        &[middle, lower],
        &limits,
    )
    .unwrap_err();
    assert_eq!(variant(&err), "HardlinkTarget", "{err}");
}

#[test]
fn root_entry_sets_the_layer_directory_mode() {
    let scratch = Scratch::new("root");
    let mut root = header("./", EntryType::Directory, 0o755);
    root.set_mtime(1_234_567_890);
    fs::set_permissions(scratch.layer(), fs::Permissions::from_mode(0o700)).unwrap();
    scratch
        .apply(&Tar::new().add(root, b"").file("f", b"").bytes())
        .unwrap();
    let md = fs::metadata(scratch.layer()).unwrap();
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o755, 1_234_567_890));
}
