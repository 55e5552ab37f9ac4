//! Security checks of the embedded engine that the other files do not make (reliability plan
//! c.3), as root against the real engine:
//!
//! - item 11, fd hygiene: the container's init and an exec'd process hold only fds 0, 1 and
//!   2 (nothing of the shim or the CLI leaks in: CVE-2024-21626 used a leaked fd);
//!   `working_dir` and `exec -w` under /proc are refused;
//! - item 14, the state directory: 0700, records and logs 0600, the shim's control socket
//!   0600, path-based (not abstract), in a 0700 directory; nothing under the state directory
//!   is reachable by another user;
//! - item 18: `/sys/fs/cgroup` is read-only in the container, every hierarchy below it too
//!   (a container cannot raise its own `pids.max` or memory limit), `release_agent` cannot
//!   be written, and a device node outside the allowlist cannot be opened even after
//!   `mknod`. A privileged service keeps a writable cgroup tree, as under Docker.
//!
//! - `exec --privileged` gives the exec'd process every capability we hold, as Docker does,
//!   while the container's init and a plain exec keep Docker's default set.
//!
//! Items 7–9 (capabilities, seccomp, masked paths) are in `embedded_engine.rs`, 15–16 in
//! `embedded_network.rs`, 17 in `secrets.rs`.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use support::embedded::{down_and_check_clean, project, status};

/// The fd numbers a process holds, read from the host.
fn fds(pid: i64) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn only_the_standard_fds_reach_the_container_and_proc_working_dirs_are_refused() {
    let (p, root) = project(
        "fds",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n  sneaky:\n    image: $IMAGE\n    working_dir: /proc/self/fd/7\n    command: [\"pwd\"]\n    profiles: [sneaky]\n",
    );
    p.ok(&["up", "-d", "app"]);
    let init = status(&p, &root, "app")["pid"].as_i64().unwrap();
    assert_eq!(fds(init), [0, 1, 2], "the init's fds");
    // An exec'd process, seen from inside (the shell lists its own fds).
    // (`; true`: busybox sh would exec a last lone command, and `ls` list its own fds.)
    let inside = p.ok(&["exec", "-T", "app", "sh", "-c", "ls /proc/$$/fd; true"]);
    let mut listed: Vec<&str> = inside.split_whitespace().collect();
    listed.sort_unstable();
    assert_eq!(listed, ["0", "1", "2"], "an exec'd shell's fds: {inside}");
    // A detached exec'd process, seen from the host.
    p.ok(&["exec", "-d", "app", "sleep", "321"]);
    let mut exec_pid = None;
    for _ in 0..100 {
        exec_pid = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            (cmd == b"sleep\x00321\x00").then(|| e.file_name().to_str()?.parse::<i64>().ok())?
        });
        if exec_pid.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let exec_pid = exec_pid.expect("the detached exec'd process");
    assert_eq!(fds(exec_pid), [0, 1, 2], "a detached exec'd process's fds");
    // A working directory under /proc would start the process in whatever a leaked fd
    // points at: refused, for the service and for exec.
    let out = p.rcompose(&["--profile", "sneaky", "up", "-d", "sneaky"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "working_dir under /proc must fail");
    assert!(
        err.contains("/proc/self/fd/7") && err.contains("CVE-2024-21626"),
        "{err}"
    );
    let out = p.rcompose(&["exec", "-T", "-w", "/proc/self/fd/5", "app", "pwd"]);
    assert!(!out.status.success(), "exec -w under /proc must fail");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/proc/self/fd/5"),
        "{out:?}"
    );
    p.ok(&["--profile", "sneaky", "rm", "-f", "sneaky"]);
    down_and_check_clean(&p, &root);
}

/// Every path under `dir` that another user could reach: all its ancestors from `dir` down
/// are searchable by others, and it is writable by others (or is a file readable by others).
fn reachable_by_others(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(md) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        let mode = md.permissions().mode();
        if md.is_dir() {
            if mode & 0o002 != 0 {
                out.push(format!("{} (world-writable dir)", e.path().display()));
            }
            if mode & 0o001 != 0 {
                reachable_by_others(&e.path(), out);
            }
        } else if !md.file_type().is_symlink() && mode & 0o006 != 0 {
            out.push(format!("{} ({:o})", e.path().display(), mode & 0o777));
        }
    }
}

#[test]
fn the_state_directory_and_the_control_socket_are_private() {
    let (p, root) = project(
        "state",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sh\", \"-c\", \"echo a line; exec sleep 1000\"]\n    volumes: [data:/data]\nvolumes:\n  data: {}\n",
    );
    p.ok(&["up", "-d"]);
    let md = std::fs::metadata(&root).unwrap();
    assert_eq!(
        md.permissions().mode() & 0o777,
        0o700,
        "the state directory"
    );
    assert_eq!(md.uid(), 0);
    // Nothing below is reachable by another user: the root is 0700, and a world-writable
    // directory inside a container's rootfs (its /tmp) stays behind it.
    let mut exposed = Vec::new();
    if md.permissions().mode() & 0o001 != 0 {
        reachable_by_others(&root, &mut exposed);
    }
    assert!(exposed.is_empty(), "reachable by other users: {exposed:?}");
    // The container's records and log: 0600 (they hold the environment and the output).
    let cdir = std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("record.json").exists())
        .unwrap()
        .path();
    for f in ["record.json", "status.json", "container-json.log"] {
        let mode = std::fs::metadata(cdir.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    // The shim's control socket: a path (not an abstract name), 0600, in a 0700 directory.
    let id = cdir.file_name().unwrap().to_str().unwrap().to_string();
    let unix = std::fs::read_to_string("/proc/net/unix").unwrap();
    let sock = unix
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .find(|path| path.contains(&id[..24]))
        .unwrap_or_else(|| panic!("no listening socket named after {id}:\n{unix}"))
        .to_string();
    assert!(sock.starts_with('/'), "an abstract socket: {sock}");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{sock}");
    let parent = Path::new(&sock).parent().unwrap();
    let pmode = std::fs::metadata(parent).unwrap().permissions().mode();
    assert_eq!(pmode & 0o777, 0o700, "{}", parent.display());
    assert!(
        !unix
            .lines()
            .any(|l| l.contains("@") && l.contains("rcompose")),
        "an abstract rcompose socket:\n{unix}"
    );
    down_and_check_clean(&p, &root);
}

#[test]
fn the_cgroup_tree_is_read_only_and_devices_stay_denied() {
    let (p, root) = project(
        "cgroupro",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n    pids_limit: 100\n  priv:\n    image: $IMAGE\n    privileged: true\n    command: [\"sleep\", \"1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    let sh = |service: &str, script: &str| {
        let out = p.rcompose(&["exec", "-T", service, "sh", "-c", script]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // Every mount at or below /sys/fs/cgroup is read-only.
    let (_, mounts) = sh("app", "cat /proc/self/mounts");
    let cgroup_mounts: Vec<&str> = mounts
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(1)
                .is_some_and(|m| m.starts_with("/sys/fs/cgroup"))
        })
        .collect();
    assert!(!cgroup_mounts.is_empty(), "{mounts}");
    for m in &cgroup_mounts {
        let opts = m.split(' ').nth(3).unwrap_or("");
        assert!(opts.split(',').any(|o| o == "ro"), "writable: {m}");
    }
    // The container cannot lift its own limit, nor plant a release_agent.
    let limits = "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do \
                  [ -e $f ] && { echo max > $f && echo WROTE $f; cat $f; }; done; true";
    let (_, out) = sh("app", limits);
    assert!(!out.contains("WROTE"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("100"), "the limit stays: {out}");
    let (code, out) = sh("app", "echo /x > /sys/fs/cgroup/release_agent");
    assert_ne!(code, Some(0), "{out}");
    let (code, out) = sh("app", "echo /x > /sys/fs/cgroup/memory/release_agent");
    assert_ne!(code, Some(0), "{out}");
    // mknod may succeed (CAP_MKNOD is a default), opening the node may not.
    let (code, out) = sh(
        "app",
        "mknod /tmp/sda b 8 0 2>/dev/null; head -c 1 /tmp/sda >/dev/null",
    );
    assert_ne!(
        code,
        Some(0),
        "a block device outside the allowlist opened: {out}"
    );
    assert!(out.contains("Operation not permitted"), "{out}");
    let (code, out) = sh(
        "app",
        "mknod /tmp/kmsg c 1 11 2>/dev/null; head -c 1 /tmp/kmsg",
    );
    assert_ne!(code, Some(0), "/dev/kmsg's node opened: {out}");
    // Allowed nodes still work.
    let (code, out) = sh("app", "head -c 4 /dev/zero | wc -c");
    assert_eq!((code, out.trim()), (Some(0), "4"));
    // Privileged: writable, as under Docker.
    let (_, mounts) = sh("priv", "cat /proc/self/mounts");
    let writable = mounts.lines().any(|l| {
        l.split(' ').nth(1) == Some("/sys/fs/cgroup")
            && l.split(' ')
                .nth(3)
                .is_some_and(|o| o.split(',').any(|o| o == "rw"))
    });
    assert!(writable, "privileged: {mounts}");
    down_and_check_clean(&p, &root);
}

/// A `CapXxx:` mask of `/proc/<pid>/status` text.
fn cap_line(status: &str, which: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{which}:")))
        .unwrap_or_else(|| panic!("{which} in {status}"))
        .trim()
        .to_string()
}

#[test]
fn exec_privileged_gets_every_capability_and_a_plain_exec_the_defaults() {
    let (p, root) = project(
        "privexec",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n",
    );
    p.ok(&["up", "-d", "app"]);
    let ours = cap_line(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "CapBnd",
    );
    let plain = p.ok(&["exec", "-T", "app", "cat", "/proc/self/status"]);
    assert_eq!(cap_line(&plain, "CapEff"), "00000000a80425fb", "{plain}");
    let privileged = p.ok(&[
        "exec",
        "-T",
        "--privileged",
        "app",
        "cat",
        "/proc/self/status",
    ]);
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(cap_line(&privileged, set), ours, "{set}: {privileged}");
    }
    // Still under the container's seccomp filter.
    assert_eq!(cap_line(&privileged, "Seccomp"), "2");
    // The privilege is the exec's alone: the init and the next plain exec keep the defaults.
    let again = p.ok(&["exec", "-T", "app", "cat", "/proc/1/status"]);
    assert_eq!(cap_line(&again, "CapEff"), "00000000a80425fb");
    down_and_check_clean(&p, &root);
}
