//! The embedded engine end to end, as root: compose projects started with `rcompose up -d`
//! on the default engine, images pulled from the local registry the test command starts
//! (127.0.0.1:5000). Each test has its own state directory (`RCOMPOSE_ROOT`), so they run in
//! parallel without seeing each other.
//!
//! Covered: ps / logs / exec -T / top, surviving the CLI, Docker's default capabilities,
//! seccomp and masked paths, restart policies with measured backoff, healthchecks and their
//! timeout (F8), the stop grace period (F9), OOM kills (F19), kill -9 of a shim and of the CLI
//! (F1, F12), log rotation under a flood (F18), and nothing left mounted or running after
//! `down`. Networks and ports: `tests/embedded_network.rs`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::embedded::{down_and_check_clean, project, status, wait_for, IMAGE};
use support::project::Project;

#[test]
fn a_single_service_runs_and_answers_ps_logs_exec_top() {
    let (p, root) = project(
        "basic",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sh\", \"-c\", \"echo hello from embedded; echo to stderr >&2; exec sleep 1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    // The CLI has exited: the container lives on under its shim.
    let ps = p.ok(&["ps"]);
    assert!(
        ps.contains(&p.container("app")) && ps.contains("Up "),
        "{ps}"
    );
    wait_for("the first log line", Duration::from_secs(5), || {
        p.ok(&["logs", "--no-log-prefix"])
            .contains("hello from embedded")
    });
    // Like Docker Compose, `logs` prints both streams on stdout.
    assert!(p
        .ok(&["logs", "--no-log-prefix", "app"])
        .contains("to stderr"));
    let out = p.rcompose(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "echo in-container $(hostname); exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stdout).contains("in-container"));
    let top = p.ok(&["top"]);
    assert!(top.contains("sleep 1000"), "{top}");
    // Its own network namespace: lo and the default network's eth0, none of the host's.
    let out = p.ok(&["exec", "-T", "app", "cat", "/proc/net/dev"]);
    let ifaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(str::trim))
        .collect();
    assert_eq!(ifaces, ["lo", "eth0"], "{out}");
    down_and_check_clean(&p, &root);
}

#[test]
fn default_security_equals_dockers() {
    let (p, root) = project(
        "security",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n  nonroot:\n    image: $IMAGE\n    user: \"1000\"\n    command: [\"sleep\", \"1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    // A service whose own process runs as a non-root user: no effective capabilities,
    // Docker's bounding set, filtered (the filter is loaded with a lent CAP_SYS_ADMIN that
    // such a process could not drop from its bounding set).
    let st_nonroot = p.ok(&["exec", "-T", "nonroot", "cat", "/proc/1/status"]);
    for want in [
        "Uid:\t1000\t1000\t1000\t1000",
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "CapBnd:\t00000000a80425fb",
        "Seccomp:\t2",
    ] {
        assert!(st_nonroot.contains(want), "{want}: {st_nonroot}");
    }
    let st = p.ok(&["exec", "-T", "app", "cat", "/proc/self/status"]);
    let field = |k: &str| {
        st.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(field("CapEff:"), "00000000a80425fb", "{st}");
    assert_eq!(field("CapPrm:"), "00000000a80425fb");
    assert_eq!(field("CapBnd:"), "00000000a80425fb");
    assert_eq!(field("CapInh:"), "0000000000000000");
    assert_eq!(field("CapAmb:"), "0000000000000000");
    assert_eq!(field("Seccomp:"), "2");
    // As under Docker, no_new_privs is off unless asked for (exec'd processes too).
    assert_eq!(field("NoNewPrivs:"), "0");
    // A non-root user has no effective capabilities, and is filtered too.
    let st_user = p.ok(&[
        "exec",
        "-T",
        "-u",
        "1000",
        "app",
        "cat",
        "/proc/self/status",
    ]);
    assert!(st_user.contains("CapEff:\t0000000000000000"), "{st_user}");
    assert!(st_user.contains("Seccomp:\t2"), "{st_user}");
    // The container's own process: the same capabilities, filtered, no no_new_privs.
    let init = status(&p, &root, "app")["pid"].as_i64().unwrap();
    let st_init = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert!(st_init.contains("CapEff:\t00000000a80425fb"), "{st_init}");
    assert!(st_init.contains("CapBnd:\t00000000a80425fb"), "{st_init}");
    assert!(
        st_init.contains("Seccomp:\t2") && st_init.contains("NoNewPrivs:\t0"),
        "{st_init}"
    );
    // Masked paths read empty (those this kernel has: /proc/kcore needs CONFIG_PROC_KCORE).
    let mut checked = 0;
    for path in [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
    ] {
        if !Path::new(path).exists() {
            continue;
        }
        let out = p.rcompose(&["exec", "-T", "app", "wc", "-c", path]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.trim().starts_with("0 "), "{path} is masked: {text:?}");
        checked += 1;
    }
    assert!(checked > 0, "no masked path to check on this kernel");
    let w = p.rcompose(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/panic",
    ]);
    assert_ne!(w.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&w.stderr).contains("Read-only file system"),
        "{w:?}"
    );
    // seccomp denies what Docker's profile denies (unshare of a user namespace).
    let u = p.rcompose(&["exec", "-T", "app", "unshare", "-U", "true"]);
    assert_ne!(u.status.code(), Some(0), "unshare -U must be refused");
    down_and_check_clean(&p, &root);
}

#[test]
fn on_failure_restarts_with_doubling_backoff_then_gives_up() {
    let (p, root) = project(
        "restart",
        "services:\n  app:\n    image: $IMAGE\n    restart: on-failure:3\n    command: [\"sh\", \"-c\", \"echo run; exit 3\"]\n",
    );
    p.ok(&["up", "-d"]);
    wait_for(
        "three restarts and the final exit",
        Duration::from_secs(10),
        || {
            let s = status(&p, &root, "app");
            s["state"] == "exited" && s["restart_count"] == 3
        },
    );
    let s = status(&p, &root, "app");
    assert_eq!(s["exit_code"], 3);
    let logs = p.ok(&["logs", "--no-log-prefix", "-t"]);
    let times: Vec<f64> = logs
        .lines()
        .filter(|l| l.ends_with("run"))
        .map(|l| {
            let t = l.split_whitespace().next().unwrap();
            // seconds within the minute is enough for gaps under a minute
            let secs = &t[17..t.len() - 1];
            let m: f64 = t[14..16].parse().unwrap();
            m * 60.0 + secs.parse::<f64>().unwrap()
        })
        .collect();
    assert_eq!(times.len(), 4, "{logs}");
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Docker's backoff: 100 ms, 200 ms, 400 ms (plus the start itself).
    assert!(gaps[0] >= 0.1, "{gaps:?}");
    assert!(gaps[1] >= 0.2 && gaps[2] >= 0.4, "{gaps:?}");
    assert!(gaps[2] > gaps[0], "{gaps:?}");
    down_and_check_clean(&p, &root);
}

#[test]
fn health_becomes_healthy_and_a_probe_timeout_makes_it_unhealthy() {
    let (p, root) = project(
        "health",
        "services:\n  ok:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n    healthcheck:\n      test: [\"CMD-SHELL\", \"test -f /tmp/ready\"]\n      interval: 200ms\n      retries: 2\n  slow:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n    healthcheck:\n      test: [\"CMD\", \"sleep\", \"10\"]\n      interval: 200ms\n      timeout: 300ms\n      retries: 1\n",
    );
    p.ok(&["up", "-d"]);
    wait_for("ok to be unhealthy first", Duration::from_secs(10), || {
        status(&p, &root, "ok")["health"]["status"] == "unhealthy"
    });
    p.ok(&["exec", "-T", "ok", "touch", "/tmp/ready"]);
    wait_for("ok to become healthy", Duration::from_secs(10), || {
        status(&p, &root, "ok")["health"]["status"] == "healthy"
    });
    assert!(p.ok(&["ps"]).contains("(healthy)"));
    // F8: a probe over its timeout is killed and counts as a failure.
    let start = Instant::now();
    wait_for("slow to be unhealthy", Duration::from_secs(10), || {
        status(&p, &root, "slow")["health"]["status"] == "unhealthy"
    });
    assert!(start.elapsed() < Duration::from_secs(5));
    let s = status(&p, &root, "slow");
    let out = s["health"]["log"][0]["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(out.contains("exceeded timeout"), "{out}");
    assert_eq!(s["health"]["log"][0]["exit_code"], -1);
    down_and_check_clean(&p, &root);
}

#[test]
fn stop_waits_the_grace_period_then_kills() {
    let (p, root) = project(
        "grace",
        "services:\n  app:\n    image: $IMAGE\n    stop_grace_period: 1s\n    command: [\"sh\", \"-c\", \"trap '' TERM; while true; do sleep 1; done\"]\n",
    );
    p.ok(&["up", "-d"]);
    let t = Instant::now();
    p.ok(&["stop"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let s = status(&p, &root, "app");
    assert_eq!(s["state"], "exited");
    assert_eq!(s["exit_code"], 137);
    // A process that handles TERM stops at once.
    std::fs::write(
        p.dir.join("compose.yaml"),
        format!("services:\n  app:\n    image: {IMAGE}\n    stop_grace_period: 10s\n    command: [\"sleep\", \"1000\"]\n    init: true\n"),
    )
    .unwrap();
    p.ok(&["up", "-d"]);
    let t = Instant::now();
    p.ok(&["stop"]);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    down_and_check_clean(&p, &root);
}

#[test]
fn an_oom_kill_is_recorded() {
    let (p, root) = project(
        "oom",
        "services:\n  app:\n    image: $IMAGE\n    mem_limit: 16m\n    memswap_limit: 16m\n    command: [\"sh\", \"-c\", \"x=$$(head -c 200000000 /dev/zero | tr '\\\\0' a); echo survived\"]\n",
    );
    p.ok(&["up", "-d"]);
    wait_for("the OOM kill", Duration::from_secs(20), || {
        status(&p, &root, "app")["state"] == "exited"
    });
    let s = status(&p, &root, "app");
    assert_eq!(s["oom_killed"], true, "{s}");
    assert_eq!(s["exit_code"], 137);
    down_and_check_clean(&p, &root);
}

/// Whether the running kernel is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

fn shim_pid(p: &Project, root: &Path, service: &str) -> i32 {
    status(p, root, service)["shim_pid"].as_i64().unwrap() as i32
}

#[test]
fn killing_the_shim_leaves_the_container_running_and_the_next_command_adopts_it() {
    // F1: the supervisor is killed; the container goes on, and the next command gives it a
    // new supervisor: logs, exec and stop work again.
    let (p, root) = project(
        "shimkill",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sh\", \"-c\", \"i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.1; done\"]\n",
    );
    p.ok(&["up", "-d"]);
    let init = status(&p, &root, "app")["pid"].as_i64().unwrap() as i32;
    let old_shim = shim_pid(&p, &root, "app");
    // SAFETY: kill(2) on the shim we just read from the status record.
    unsafe { libc::kill(old_shim, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        Path::new(&format!("/proc/{init}")).exists(),
        "the container died with its shim"
    );
    // This command adopts it.
    assert!(p.ok(&["ps"]).contains("Up "));
    let new_shim = shim_pid(&p, &root, "app");
    assert_ne!(new_shim, old_shim);
    assert!(Path::new(&format!("/proc/{new_shim}")).exists());
    let before = p.ok(&["logs", "--no-log-prefix"]).lines().count();
    wait_for(
        "output logged by the new shim",
        Duration::from_secs(5),
        || p.ok(&["logs", "--no-log-prefix"]).lines().count() > before + 3,
    );
    let out = p.rcompose(&["exec", "-T", "app", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    // Its exit code, though the new shim is not its parent: the kernel keeps it for the
    // pidfd since Linux 6.15 once the host's init has reaped the orphan (sh as pid 1
    // ignores SIGTERM: killed, 137); else 255.
    p.ok(&["stop", "-t", "1"]);
    let ps = p.ok(&["ps", "-a"]);
    let reaped = !Path::new(&format!("/proc/{init}")).exists();
    let expected = if kernel_at_least(6, 15) && reaped {
        "Exited (137)"
    } else {
        "Exited (255)"
    };
    assert!(ps.contains(expected), "{expected}: {ps}");
    down_and_check_clean(&p, &root);
    let gone = !Path::new(&format!("/proc/{init}/cmdline")).exists()
        || std::fs::read_to_string(format!("/proc/{init}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(gone, "down stopped the adopted container");
}

#[test]
fn killing_the_cli_never_kills_containers() {
    let (p, root) = project(
        "clikill",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sh\", \"-c\", \"echo started; exec sleep 1000\"]\n",
    );
    // Attached `up` follows the logs; kill -9 it once the container runs.
    let mut child = p
        .command(&["up"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the container to run", Duration::from_secs(20), || {
        root.join("containers").exists() && p.ok(&["ps", "-q"]).lines().count() == 1
    });
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let ps = p.ok(&["ps"]);
    assert!(ps.contains("Up "), "{ps}");
    down_and_check_clean(&p, &root);
}

#[test]
fn log_rotation_bounds_a_flood() {
    let (p, root) = project(
        "flood",
        "services:\n  app:\n    image: $IMAGE\n    logging:\n      driver: json-file\n      options:\n        max-size: 100k\n        max-file: \"2\"\n    command: [\"sh\", \"-c\", \"seq 1 200000; echo done\"]\n",
    );
    p.ok(&["up", "-d"]);
    wait_for("the flood to end", Duration::from_secs(30), || {
        status(&p, &root, "app")["state"] == "exited"
    });
    let dir = std::fs::read_dir(root.join("containers"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("container-json.log")
        })
        .collect();
    assert_eq!(logs.len(), 2, "max-file 2");
    for l in &logs {
        assert!(l.metadata().unwrap().len() <= 100 * 1024, "{:?}", l.path());
    }
    let out = p.ok(&["logs", "--no-log-prefix"]);
    assert!(out.ends_with("200000\ndone\n"), "the newest lines are kept");
    down_and_check_clean(&p, &root);
}

#[test]
fn a_lost_container_is_recovered_as_exited_and_its_mounts_released() {
    // F12–F14: the shim and the container die without a word (a crash, a reboot).
    let (p, root) = project(
        "recover",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    let init = status(&p, &root, "app")["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) on processes read from our own status record.
    unsafe {
        libc::kill(shim_pid(&p, &root, "app"), libc::SIGKILL);
        libc::kill(init, libc::SIGKILL);
    }
    wait_for("the init to be gone", Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{init}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
    });
    let ps = p.ok(&["ps", "-a"]);
    assert!(ps.contains("Exited (255)"), "{ps}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&root.display().to_string()),
        "the lost container's rootfs is unmounted by recovery"
    );
    assert_eq!(status(&p, &root, "app")["state"], "exited");
    // `up` starts it again.
    p.ok(&["up", "-d"]);
    assert!(p.ok(&["ps"]).contains("Up "));
    down_and_check_clean(&p, &root);
}
