//! Volumes and mounts on the embedded engine, as root, against Docker's behaviour (issue 5):
//! the copy-up of image content into a fresh volume (and when it does not happen), named,
//! external and anonymous volumes across `down`, `down -v` and a recreate, binds (read-only,
//! `create_host_path`, propagation, `:z`), tmpfs size and mode, `volumes_from`, and a mount
//! target behind a symlink that points out of the rootfs. Every test has its own state
//! directory and ends with the checks that nothing is left mounted or running.
//!
//! The image `127.0.0.1:5000/rcompose-test/vols:1` (busybox plus `/srv/data` owned by
//! 1000:1000 with mode 0750, a 0600 file, a symlink and a hard link, and `/evil -> /`) is
//! built with the docker CLI and pushed to the local registry on first use.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use support::embedded::{check_clean, down_volumes_and_check_clean};
use support::project::Project;

const IMAGE: &str = "127.0.0.1:5000/rcompose-test/vols:1";
const BASE: &str = "127.0.0.1:5000/rcompose-test/busybox:1";

fn ensure_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("rcompose-vols-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Dockerfile"),
            format!(
                "FROM {BASE}\nRUN mkdir -p /srv/data/sub && echo hello > /srv/data/file \
                 && chmod 600 /srv/data/file && ln -s file /srv/data/link \
                 && ln /srv/data/file /srv/data/sub/hard && chown -R 1000:1000 /srv/data \
                 && chmod 750 /srv/data && ln -s / /evil\n"
            ),
        )
        .unwrap();
        for args in [
            vec!["build", "-q", "-t", IMAGE, dir.to_str().unwrap()],
            vec!["push", "-q", IMAGE],
        ] {
            let out = Command::new("docker").args(&args).output().unwrap();
            assert!(
                out.status.success(),
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

fn project(tag: &str, compose: &str) -> (Project, PathBuf) {
    ensure_image();
    support::embedded::project_with("rcvol", IMAGE, tag, compose)
}

fn volume_data(root: &Path, name: &str) -> PathBuf {
    root.join("volumes").join(name).join("_data")
}

fn sh(p: &Project, service: &str, script: &str) -> String {
    p.ok(&["exec", "-T", service, "sh", "-c", script])
}

const SLEEP: &str = "command: [\"sleep\", \"1000\"]";

#[test]
fn a_fresh_volume_gets_the_image_content_unless_nocopy_or_not_empty() {
    let (p, root) = project(
        "copyup",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - data:/srv/data\n      - type: volume\n        source: bare\n        target: /srv/data2\n        volume:\n          nocopy: true\n      - full:/srv/full\n      - /srv/data\nvolumes:\n  data:\n  bare:\n  full:\n"
        ),
    );
    // `full` exists with content before the first container: it is not filled.
    let full = format!("{}_full", p.name);
    let out = p.rcompose(&["up", "-d", "--no-start"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.ok(&["down"]);
    std::fs::write(volume_data(&root, &full).join("mine"), "kept").unwrap();
    p.ok(&["up", "-d"]);

    // The named volume: content, owners, modes, symlink and hard link, like Docker's copy.
    let data = volume_data(&root, &format!("{}_data", p.name));
    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o750, 1000, 1000)
    );
    let file = std::fs::metadata(data.join("file")).unwrap();
    assert_eq!((file.mode() & 0o7777, file.uid()), (0o600, 1000));
    assert_eq!(
        file.ino(),
        std::fs::metadata(data.join("sub/hard")).unwrap().ino()
    );
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("file")
    );
    assert_eq!(sh(&p, "app", "cat /srv/data/link"), "hello\n");
    // nocopy: empty.
    assert_eq!(sh(&p, "app", "ls -A /srv/data2"), "");
    // Not empty: left alone.
    assert_eq!(sh(&p, "app", "ls -A /srv/full"), "mine\n");
    // The anonymous volume is filled too.
    assert_eq!(
        sh(&p, "app", "cat /srv/data/file && ls -A /srv/data"),
        "hello\nfile\nlink\nsub\n"
    );

    // Emptied, then a new container: filled again (Docker keeps no mark); a restart does not.
    sh(
        &p,
        "app",
        "rm -rf /srv/data/* /srv/data/.[!.]* 2>/dev/null; true",
    );
    p.ok(&["restart", "-t", "0"]);
    assert_eq!(sh(&p, "app", "ls -A /srv/data"), "");
    p.ok(&["up", "-d", "--force-recreate", "-t", "0"]);
    assert_eq!(sh(&p, "app", "ls -A /srv/data"), "file\nlink\nsub\n");
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn named_volumes_survive_down_external_ones_survive_down_v() {
    let (p, root) = project(
        "lifecycle",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - keep:/k\n      - ext:/e\nvolumes:\n  keep:\n  ext:\n    external: true\n    name: rcvol-ext-{pid}\n",
            pid = std::process::id()
        ),
    );
    let ext = format!("rcvol-ext-{}", std::process::id());
    // `up` refuses a missing external volume, like Docker Compose.
    assert!(!p.rcompose(&["up", "-d"]).status.success());
    // Created as the engine does (no `volume create` command yet): data dir and record.
    std::fs::create_dir_all(volume_data(&root, &ext)).unwrap();
    std::fs::write(
        root.join("volumes").join(format!("{ext}.json")),
        format!(
            "{{\"name\":\"{ext}\",\"driver\":\"local\",\"labels\":{{}},\"options\":{{}},\"created\":\"2024-01-01T00:00:00Z\"}}"
        ),
    )
    .unwrap();
    p.ok(&["up", "-d"]);
    sh(&p, "app", "echo one > /k/f && echo two > /e/f");
    p.ok(&["down", "-t", "0"]);
    let keep = volume_data(&root, &format!("{}_keep", p.name));
    assert_eq!(std::fs::read_to_string(keep.join("f")).unwrap(), "one\n");
    p.ok(&["up", "-d"]);
    assert_eq!(sh(&p, "app", "cat /k/f /e/f"), "one\ntwo\n");
    p.ok(&["down", "-v", "-t", "0"]);
    assert!(!keep.exists(), "down -v removes the project's named volume");
    assert_eq!(
        std::fs::read_to_string(volume_data(&root, &ext).join("f")).unwrap(),
        "two\n",
        "an external volume is never removed"
    );
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_anonymous_volume_survives_a_recreate_and_goes_with_down_v() {
    let (p, root) = project(
        "anon",
        &format!("services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    environment: [X=1]\n    volumes:\n      - /anon\n"),
    );
    p.ok(&["up", "-d"]);
    sh(&p, "app", "echo kept > /anon/f");
    let vols = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join("volumes"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let before = vols();
    assert_eq!(before.len(), 1);
    std::fs::write(
        p.dir.join("compose.yaml"),
        std::fs::read_to_string(p.dir.join("compose.yaml"))
            .unwrap()
            .replace("X=1", "X=2"),
    )
    .unwrap();
    p.ok(&["up", "-d", "-t", "0"]);
    assert_eq!(sh(&p, "app", "echo $X; cat /anon/f"), "2\nkept\n");
    assert_eq!(vols(), before, "the recreate reused the anonymous volume");
    p.ok(&["down", "-v", "-t", "0"]);
    assert!(
        vols().is_empty(),
        "down -v removes the anonymous volume: {:?}",
        vols()
    );
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn binds_read_only_create_host_path_and_selinux_labels() {
    let (p, root) = project(
        "binds",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - ./short:/short\n      - ./ro:/ro:ro,z\n      - type: bind\n        source: ./long\n        target: /long\n"
        ),
    );
    std::fs::create_dir_all(p.dir.join("ro")).unwrap();
    std::fs::write(p.dir.join("ro/f"), "x").unwrap();
    p.ok(&["up", "-d"]);
    // Short syntax, and long syntax without a `bind` section: the missing source is created.
    assert!(p.dir.join("short").is_dir() && p.dir.join("long").is_dir());
    sh(&p, "app", "echo hi > /short/f");
    assert_eq!(
        std::fs::read_to_string(p.dir.join("short/f")).unwrap(),
        "hi\n"
    );
    let out = p.rcompose(&["exec", "-T", "app", "sh", "-c", "echo no > /ro/g"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.ok(&["down", "-t", "0"]);

    // A `bind` section without create_host_path: a missing source is an error, as in Docker.
    std::fs::write(
        p.dir.join("compose.yaml"),
        format!(
            "services:\n  app:\n    image: {IMAGE}\n    {SLEEP}\n    volumes:\n      - type: bind\n        source: ./missing\n        target: /m\n        bind:\n          propagation: rprivate\n"
        ),
    )
    .unwrap();
    let out = p.rcompose(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bind source path does not exist"), "{err}");
    assert!(!p.dir.join("missing").exists());
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn tmpfs_size_mode_and_options() {
    let (p, root) = project(
        "tmpfs",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    tmpfs:\n      - /r:size=64k,mode=1770,exec\n      - /plain\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs:\n          size: 1m\n          mode: 0700\n"
        ),
    );
    p.ok(&["up", "-d"]);
    assert_eq!(
        sh(&p, "app", "stat -c %a /t /r /plain"),
        "700\n1770\n1777\n"
    );
    let info = sh(&p, "app", "cat /proc/self/mountinfo");
    let line = |t: &str| {
        info.lines()
            .find(|l| l.split(' ').nth(4) == Some(t))
            .unwrap_or_else(|| panic!("no mount at {t}:\n{info}"))
            .to_string()
    };
    // Docker: nosuid,nodev,noexec for both forms; `exec` given in the options wins.
    let t = line("/t");
    assert!(
        t.contains("nosuid,nodev,noexec") && t.contains("size=1024k"),
        "{t}"
    );
    let r = line("/r");
    assert!(
        r.contains("rw,nosuid,nodev,relatime") && r.contains("size=64k"),
        "{r}"
    );
    assert!(line("/plain").contains("noexec"));
    let df = sh(&p, "app", "df -k /t | tail -1");
    assert!(df.split_whitespace().nth(1) == Some("1024"), "{df}");
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn bind_propagation_shows_in_mountinfo_like_dockers() {
    // A shared host mount as the source (the host's own mounts here are private).
    let shared = std::env::temp_dir().join(format!("rcvol-shared-{}", std::process::id()));
    std::fs::create_dir_all(&shared).unwrap();
    let run = |args: &[&str]| {
        assert!(
            Command::new("mount").args(args).status().unwrap().success(),
            "{args:?}"
        );
    };
    run(&["-t", "tmpfs", "tmpfs", shared.to_str().unwrap()]);
    run(&["--make-shared", shared.to_str().unwrap()]);
    let s = shared.display();
    let (p, root) = project(
        "propagation",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - {s}:/shared:rshared\n      - {s}:/slave:rslave\n      - {s}:/private\n"
        ),
    );
    let result = std::panic::catch_unwind(|| {
        p.ok(&["up", "-d"]);
        let info = sh(&p, "app", "cat /proc/self/mountinfo");
        let tags = |t: &str| -> String {
            let l = info
                .lines()
                .find(|l| l.split(' ').nth(4) == Some(t))
                .unwrap_or_else(|| panic!("no mount at {t}:\n{info}"));
            l.split(" - ")
                .next()
                .unwrap()
                .split(' ')
                .skip(6)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(tags("/shared").starts_with("shared:"), "{info}");
        assert!(tags("/slave").starts_with("master:"), "{info}");
        assert_eq!(tags("/private"), "", "{info}");
        // Shared: a mount made on the host under the source shows in the container.
        let sub = shared.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        run(&["-t", "tmpfs", "tmpfs", sub.to_str().unwrap()]);
        let seen = sh(
            &p,
            "app",
            "grep -c ' /shared/sub ' /proc/self/mountinfo || true",
        );
        let _ = Command::new("umount").arg(&sub).status();
        assert_eq!(seen.trim(), "1");
        p.ok(&["down", "-t", "0"]);

        // Docker's check: rslave on a private host mount is refused at start.
        std::fs::write(
            p.dir.join("compose.yaml"),
            format!(
                "services:\n  app:\n    image: {IMAGE}\n    {SLEEP}\n    volumes:\n      - {}:/x:rslave\n",
                p.dir.display()
            ),
        )
        .unwrap();
        let out = p.rcompose(&["up", "-d"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is mounted on / but it is not a shared or slave mount"),
            "{err}"
        );
        down_volumes_and_check_clean(&p, &root);
    });
    let _ = Command::new("umount").arg("-l").arg(&shared).status();
    let _ = std::fs::remove_dir_all(&shared);
    if let Err(e) = result {
        let _ = p.rcompose(&["down", "-v", "-t", "0"]);
        std::panic::resume_unwind(e);
    }
}

#[test]
fn volumes_from_a_service_and_a_container() {
    let (p, root) = project(
        "from",
        &format!(
            "services:\n  src:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - shared:/shared\n      - /anon\n      - ./bind:/bind\n  ro:\n    image: $IMAGE\n    {SLEEP}\n    volumes_from:\n      - src:ro\n  rw:\n    image: $IMAGE\n    {SLEEP}\n    depends_on: [src]\n    volumes_from:\n      - container:PROJECT-src-1\n    volumes:\n      - other:/anon\nvolumes:\n  shared:\n  other:\n"
        ),
    );
    std::fs::write(
        p.dir.join("compose.yaml"),
        std::fs::read_to_string(p.dir.join("compose.yaml"))
            .unwrap()
            .replace("PROJECT", &p.name),
    )
    .unwrap();
    p.ok(&["up", "-d"]);
    sh(
        &p,
        "src",
        "echo s > /shared/f && echo a > /anon/f && echo b > /bind/f",
    );
    assert_eq!(sh(&p, "ro", "cat /shared/f /anon/f /bind/f"), "s\na\nb\n");
    let out = p.rcompose(&["exec", "-T", "ro", "sh", "-c", "echo x > /shared/g"]);
    assert!(!out.status.success(), "`src:ro` mounts read-only");
    sh(&p, "rw", "echo w > /shared/g");
    // Its own mount at /anon wins over the inherited one.
    assert_eq!(sh(&p, "rw", "cat /shared/g; ls -A /anon"), "w\n");
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn a_target_behind_a_symlink_out_of_the_rootfs_stays_inside() {
    let host_marker = std::env::temp_dir().join(format!("rcvol-marker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&host_marker);
    let (p, root) = project(
        "escape",
        &format!(
            "services:\n  app:\n    image: $IMAGE\n    {SLEEP}\n    volumes:\n      - ./src:/evil{m}/x\n      - esc:/evil{m}/vol\nvolumes:\n  esc:\n",
            m = host_marker.display()
        ),
    );
    std::fs::create_dir_all(p.dir.join("src")).unwrap();
    std::fs::write(p.dir.join("src/f"), "inside").unwrap();
    p.ok(&["up", "-d"]);
    // `/evil -> /` resolves inside the rootfs: the mounts are at `<marker>/x` of the
    // container, and nothing was created or mounted at the marker path on the host.
    assert_eq!(
        sh(&p, "app", &format!("cat {}/x/f", host_marker.display())),
        "inside"
    );
    assert!(
        !host_marker.exists(),
        "a mount point was created on the host"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&host_marker.display().to_string()));
    down_volumes_and_check_clean(&p, &root);
}
