//! `rcompose cp` on the embedded engine, as root (reliability-plan c.3 item 19): in and out
//! of a running container and of its named volume, of a stopped container, the read-only
//! refusals, symlinks in the container that point to `/` or climb with `..`, and the
//! symlink-exchange race of CVE-2018-15664 (a container swapping a directory with a symlink
//! to `/` while cp runs in both directions). Host canaries beside the paths the container's
//! symlinks name are never read (their content never shows in a copy) nor written. Every
//! test has its own state directory and ends with the check that nothing is left mounted.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::embedded::{down_volumes_and_check_clean, project, wait_for};
use support::project::Project;

fn sh(p: &Project, service: &str, script: &str) -> String {
    p.ok(&["exec", "-T", service, "sh", "-c", script])
}

/// A host directory holding `secret`, to be named by the container's symlinks.
struct Canary {
    dir: PathBuf,
}

impl Canary {
    fn new(tag: &str) -> Canary {
        let dir = std::env::temp_dir().join(format!("rccp-canary-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "HOST SECRET\n").unwrap();
        Canary { dir }
    }

    /// Nothing was added, removed or changed.
    fn intact(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["secret"], "the host canary directory was written");
        assert_eq!(
            std::fs::read_to_string(self.dir.join("secret")).unwrap(),
            "HOST SECRET\n"
        );
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every file under `dir`, read: none may hold the canary's content.
fn assert_no_secret(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            assert_no_secret(&path);
        } else if meta.is_file() {
            let data = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&data).contains("HOST SECRET"),
                "{} holds the host canary",
                path.display()
            );
        }
    }
}

const VOLUME: &str = r#"
services:
  app:
    image: $IMAGE
    command: ["sleep", "1000"]
    volumes:
      - data:/data
      - rodata:/ro:ro
  locked:
    image: $IMAGE
    command: ["sleep", "1000"]
    read_only: true
    volumes:
      - data:/data
volumes:
  data:
  rodata:
"#;

#[test]
fn cp_in_and_out_of_a_running_container_and_its_volume() {
    let (p, root) = project("cprun", VOLUME);
    p.ok(&["up", "-d"]);
    std::fs::write(p.dir.join("in.txt"), "into the volume\n").unwrap();
    std::fs::create_dir_all(p.dir.join("tree/sub")).unwrap();
    std::fs::write(p.dir.join("tree/sub/f"), "deep\n").unwrap();
    std::os::unix::fs::chown(p.dir.join("tree/sub/f"), Some(1234), Some(1234)).unwrap();

    // Into the named volume: its data directory on the host has it, owned by root.
    p.ok(&["cp", "./in.txt", "app:/data/"]);
    let data = root
        .join("volumes")
        .join(format!("{}_data", p.name))
        .join("_data");
    assert_eq!(
        std::fs::read_to_string(data.join("in.txt")).unwrap(),
        "into the volume\n"
    );
    // A tree into the rootfs, without and with -a.
    p.ok(&["cp", "./tree", "app:/tmp/t1"]);
    p.ok(&["cp", "-a", "./tree", "app:/tmp/t2"]);
    assert_eq!(
        sh(
            &p,
            "app",
            "cat /tmp/t1/sub/f; stat -c %u /tmp/t1/sub/f /tmp/t2/sub/f"
        ),
        "deep\n0\n1234\n"
    );
    // Out of the container: what it wrote, from the volume and from the rootfs.
    sh(
        &p,
        "app",
        "echo made inside > /data/made.txt && mkdir -p /etc/app && ln -s ../hostname /etc/app/h",
    );
    let out = p.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    p.ok(&["cp", "app:/data/made.txt", "./out/made.txt"]);
    assert_eq!(
        std::fs::read_to_string(out.join("made.txt")).unwrap(),
        "made inside\n"
    );
    p.ok(&["cp", "app:/etc/app", "./out/"]);
    assert_eq!(
        std::fs::read_link(out.join("app/h")).unwrap(),
        PathBuf::from("../hostname")
    );
    p.ok(&["cp", "-L", "app:/etc/app/h", "./out/h"]);
    assert_eq!(
        std::fs::read_to_string(out.join("h")).unwrap(),
        sh(&p, "app", "cat /etc/hostname")
    );
    // The read-only volume and the read-only rootfs, with Docker's words.
    for (dest, needle) in [
        ("app:/ro/", "mounted volume is marked read-only"),
        ("locked:/tmp/", "container rootfs is marked read-only"),
    ] {
        let o = p.rcompose(&["cp", "./in.txt", dest]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{dest}: {stderr}");
        assert!(stderr.contains(needle), "{dest}: {stderr}");
    }
    // The read-only rootfs's volume is writable.
    p.ok(&["cp", "./in.txt", "locked:/data/again.txt"]);
    assert!(data.join("again.txt").is_file());
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn cp_with_a_stopped_container() {
    let (p, root) = project(
        "cpstop",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n    \
         volumes:\n      - data:/data\n    tmpfs:\n      - /scratch\nvolumes:\n  data:\n",
    );
    p.ok(&["up", "-d"]);
    sh(
        &p,
        "app",
        "echo before > /srv.txt; echo kept > /data/kept.txt",
    );
    p.ok(&["stop", "-t", "0", "app"]);
    std::fs::write(p.dir.join("in.txt"), "while stopped\n").unwrap();
    p.ok(&["cp", "./in.txt", "app:/tmp/in.txt"]);
    std::fs::create_dir_all(p.dir.join("out")).unwrap();
    p.ok(&["cp", "app:/srv.txt", "./out/srv.txt"]);
    assert_eq!(
        std::fs::read_to_string(p.dir.join("out/srv.txt")).unwrap(),
        "before\n"
    );
    // Its volume is mounted for the copy, as Docker does: in and out of it.
    sh_stopped_volume(&p);
    // A tmpfs has no content while it is stopped: refused, not copied under the mount.
    for args in [
        ["cp", "./in.txt", "app:/scratch/"],
        ["cp", "app:/scratch/x", "./out/"],
    ] {
        let o = p.rcompose(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/scratch is a mount of the container"),
            "{args:?}: {stderr}"
        );
    }
    // The overlay was mounted only for the copy, in a namespace of its own.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&root.display().to_string()),
        "a mount is left under the state directory"
    );
    // It starts as before, with the copied file.
    p.ok(&["start", "app"]);
    assert_eq!(sh(&p, "app", "cat /tmp/in.txt"), "while stopped\n");
    assert_eq!(sh(&p, "app", "cat /data/in.txt"), "while stopped\n");
    // Nothing went to the rootfs directory under the volume.
    p.ok(&["stop", "-t", "0", "app"]);
    let uppers: Vec<PathBuf> = std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten()
        .map(|c| c.path().join("upper"))
        .filter(|u| u.join("tmp/in.txt").exists())
        .collect();
    assert_eq!(uppers.len(), 1, "the container's upper directory");
    assert!(
        !uppers[0].join("data/in.txt").exists(),
        "the copy went under the volume's mount point"
    );
    down_volumes_and_check_clean(&p, &root);
}

/// `cp` into and out of the named volume of the stopped `app`.
fn sh_stopped_volume(p: &Project) {
    p.ok(&["cp", "./in.txt", "app:/data/"]);
    p.ok(&["cp", "app:/data/kept.txt", "./out/kept.txt"]);
    assert_eq!(
        std::fs::read_to_string(p.dir.join("out/kept.txt")).unwrap(),
        "kept\n"
    );
}

#[test]
fn symlinks_in_the_container_stay_in_its_root() {
    let canary = Canary::new("links");
    let c = canary.dir.display().to_string();
    let compose = format!(
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sh\", \"-c\", \"ln -s / /evil && \
         ln -s ../../../../.. /up && ln -s {c} /esc && ln -s {c}/secret /file-link && \
         touch /ready && sleep 1000\"]\n"
    );
    let (p, root) = project("cplinks", &compose);
    p.ok(&["up", "-d"]);
    wait_for("the links", Duration::from_secs(10), || {
        p.rcompose(&["exec", "-T", "app", "test", "-e", "/ready"])
            .status
            .success()
    });
    let out = p.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(p.dir.join("payload"), "from host\n").unwrap();
    // Reading through links to `/`, `../..` and the canary's path: the container's files or
    // nothing, never the host's.
    for src in [
        format!("app:/evil{c}/secret"),
        format!("app:/up{c}/secret"),
        "app:/esc/secret".to_string(),
        format!("app:/up{c}"),
    ] {
        let o = p.rcompose(&["cp", &src, "./out/"]);
        assert_eq!(o.status.code(), Some(1), "{src} was copied");
    }
    let o = p.rcompose(&["cp", "-L", "app:/file-link", "./out/followed"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "-L followed the link out of the root"
    );
    p.ok(&["cp", "app:/file-link", "./out/link"]);
    assert!(std::fs::symlink_metadata(out.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    p.ok(&["cp", "app:/up/etc/hostname", "./out/hostname"]);
    assert_eq!(
        std::fs::read_to_string(out.join("hostname")).unwrap(),
        sh(&p, "app", "cat /etc/hostname")
    );
    // Writing through them: into the container's own `/`, or refused.
    for dest in [
        format!("app:/evil{c}/"),
        format!("app:/up{c}/x"),
        "app:/esc/".to_string(),
        "app:/file-link".to_string(),
    ] {
        let o = p.rcompose(&["cp", "./payload", &dest]);
        assert_eq!(o.status.code(), Some(1), "{dest}: copied");
    }
    p.ok(&["cp", "./payload", "app:/up/"]);
    p.ok(&["cp", "./payload", "app:/evil/tmp/"]);
    assert_eq!(
        sh(&p, "app", "cat /payload /tmp/payload"),
        "from host\nfrom host\n"
    );
    assert_no_secret(&out);
    canary.intact();
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn cp_survives_the_symlink_exchange_race() {
    // CVE-2018-15664: `/race/d` is a directory, then a symlink to `/`, over and over. In
    // the container `/race/real/<canary>/file` and `/<canary>/file` both exist; on the host
    // `<canary>/secret` does. Whichever state cp meets, it copies the container's file or
    // fails; it never reads or writes the host's.
    let canary = Canary::new("race");
    let c = canary.dir.display().to_string();
    let script = format!(
        "mkdir -p /race/real{c} {c} && echo inside > /race/real{c}/secret && \
         echo container root > {c}/secret && ln -s / /race/sym && touch /ready && \
         while true; do mv /race/real /race/d; mv /race/d /race/real; \
         mv /race/sym /race/d; mv /race/d /race/sym; done"
    );
    let compose = format!(
        "services:\n  app:\n    image: $IMAGE\n    init: true\n    command: [\"sh\", \"-c\", {script:?}]\n"
    );
    let (p, root) = project("cprace", &compose);
    p.ok(&["up", "-d"]);
    wait_for("the race loop", Duration::from_secs(10), || {
        p.rcompose(&["exec", "-T", "app", "test", "-e", "/ready"])
            .status
            .success()
    });
    std::fs::write(p.dir.join("payload"), "from host\n").unwrap();
    let out = p.dir.join("out");
    let src = format!("app:/race/d{c}/secret");
    let dest = format!("app:/race/d{c}/");
    let (mut copied_out, mut copied_in, mut iterations, mut through_link) = (0, 0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while iterations < 300 && Instant::now() < deadline {
        iterations += 1;
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        if p.rcompose(&["cp", &src, "./out/got"]).status.success() {
            copied_out += 1;
            let got = std::fs::read_to_string(out.join("got")).unwrap_or_default();
            assert!(
                got == "inside\n" || got == "container root\n",
                "iteration {iterations}: copied {got:?}"
            );
            through_link += usize::from(got == "container root\n");
        }
        if p.rcompose(&["cp", "./payload", &dest]).status.success() {
            copied_in += 1;
        }
        canary.intact();
    }
    eprintln!(
        "{iterations} iterations: {copied_out} copies out ({through_link} through the link), \
         {copied_in} in"
    );
    assert!(copied_out > 0 && copied_in > 0, "no copy ever went through");
    // The loop kept running all along.
    assert_eq!(
        sh(&p, "app", "test -d /race/real -o -d /race/d && echo ok"),
        "ok\n"
    );
    canary.intact();
    down_volumes_and_check_clean(&p, &root);
}

#[test]
fn cp_to_a_volume_file_keeps_it_a_file_in_the_volume() {
    // A symlink in the volume to a host path: replaced by the copied file, never followed.
    let canary = Canary::new("vol");
    let c = canary.dir.display().to_string();
    let (p, root) = project("cpvol", VOLUME);
    p.ok(&["up", "-d", "app"]);
    sh(&p, "app", &format!("ln -s {c}/secret /data/trap"));
    std::fs::write(p.dir.join("trap"), "replaced\n").unwrap();
    p.ok(&["cp", "./trap", "app:/data/"]);
    let data = root
        .join("volumes")
        .join(format!("{}_data", p.name))
        .join("_data");
    let meta = std::fs::symlink_metadata(data.join("trap")).unwrap();
    assert!(meta.is_file() && meta.uid() == 0);
    assert_eq!(
        std::fs::read_to_string(data.join("trap")).unwrap(),
        "replaced\n"
    );
    canary.intact();
    down_volumes_and_check_clean(&p, &root);
}
