//! End-to-end scenarios of `rcompose run`: the real binary driving a real engine (chosen by
//! `RCOMPOSE_TEST_ENGINE`, default `docker`, or `embedded`; state is inspected through
//! `support::engine_state`; dockerd with the offline test image, or root and the local registry
//! for the embedded engine, see `scripts/docker-env.sh`: these tests fail, never skip, when
//! they are missing).
//!
//! Checked: exit code and output of an attached run, `--rm`, the one-off labels and name, `ps`
//! and `ps -a`, `-e`/`-w`/`-u`/`--entrypoint`, dependencies started and healthy first (or not
//! with `--no-deps`), ports only with `--service-ports`/`-p`, piped stdin with `-T`, signal
//! forwarding, and that Docker Compose's `down --remove-orphans` treats rcompose's one-off
//! containers as its own (removes them once exited; docker-only).

mod support;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::engine_state::{engine, TestEngine};

const IMAGE: &str = "rcompose-test/busybox:1";

/// The engine under test (state questions go to it).
fn e() -> &'static TestEngine {
    engine()
}

struct Project {
    dir: PathBuf,
    name: String,
}

impl Project {
    fn new(tag: &str, compose: &str) -> Project {
        require_engine();
        let name = format!("rcrun-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("compose.yaml"), compose.replace("$IMAGE", IMAGE)).unwrap();
        Project { dir, name }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = e().rcompose();
        c.current_dir(&self.dir)
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .args(args);
        c
    }

    fn rcompose(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "panic in rcompose {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs rcompose and requires success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rcompose(args);
        assert!(
            out.status.success(),
            "rcompose {args:?} failed ({:?}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names of this project's containers (one-off ones included), sorted.
    fn containers(&self, extra_filter: Option<&str>) -> Vec<String> {
        let project = format!("label=com.docker.compose.project={}", self.name);
        let mut filters = vec![project.as_str()];
        filters.extend(extra_filter);
        e().containers(&filters)
    }

    fn one_offs(&self) -> Vec<String> {
        self.containers(Some("label=com.docker.compose.oneoff=True"))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // Best effort: leave nothing behind even when a test failed (one-off containers first:
        // `down` keeps the running ones, like Docker Compose).
        for c in self.containers(None) {
            e().remove_container(&c);
        }
        let _ = self.rcompose(&["down", "-v", "--remove-orphans", "-t", "0"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn require_engine() {
    e().require(IMAGE);
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const APP: &str = r#"
services:
  db:
    image: $IMAGE
    command: sh -c 'sleep 1; touch /tmp/ready; exec httpd -f -p 5432 -h /tmp'
    healthcheck:
      test: [CMD-SHELL, "test -f /tmp/ready"]
      interval: 1s
      retries: 30
  app:
    image: $IMAGE
    command: echo from-service
    restart: always
    environment:
      FOO: service
    depends_on:
      db: {condition: service_healthy}
  web:
    image: $IMAGE
    command: httpd -f -p 80
    ports:
      - "127.0.0.1:18431:80"
"#;

#[test]
fn attached_rm_exit_code_and_output() {
    let p = Project::new("rm", APP);
    let out = p.rcompose(&[
        "run",
        "--rm",
        "--no-deps",
        "web",
        "sh",
        "-c",
        "echo hi; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert!(
        p.containers(None).is_empty(),
        "left: {:?}",
        p.containers(None)
    );
    // Without --rm the exited one-off stays, with its exit code.
    let out = p.rcompose(&[
        "run",
        "--no-deps",
        "web",
        "sh",
        "-c",
        "echo err >&2; exit 0",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().last(),
        Some("err")
    );
    let left = p.one_offs();
    assert_eq!(
        left.len(),
        1,
        "{left:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e().status(&left[0]), "exited");
}

#[test]
fn unknown_service() {
    let p = Project::new("nosvc", APP);
    let out = p.rcompose(&["run", "--rm", "nope", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no such service: nope\n"
    );
}

#[test]
fn detached_one_off_labels_name_and_ps() {
    let p = Project::new("detach", APP);
    let id = p.ok(&[
        "run",
        "-d",
        "--no-deps",
        "-l",
        "x.y=z",
        "app",
        "sleep",
        "300",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "container id expected, got {id:?}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let name = e().name_of(id);
    let label = |k: &str| e().label(id, k);
    assert_eq!(e().status(id), "running");
    assert_eq!(label("com.docker.compose.oneoff"), "True");
    assert_eq!(label("com.docker.compose.project"), p.name);
    assert_eq!(label("com.docker.compose.service"), "app");
    assert_eq!(label("x.y"), "z");
    let slug = label("com.docker.compose.slug");
    assert_eq!(slug.len(), 64);
    assert_eq!(name, format!("{}-app-run-{}", p.name, &slug[..12]));
    assert_eq!(label("com.docker.compose.container-number"), "");
    // No restart policy, though the service has `restart: always`.
    assert_ne!(e().restart_policy(id), "always");
    // The container name is its network alias; the service name is not (no --use-aliases).
    let aliases = e().aliases(id, &format!("{}_default", p.name));
    assert!(aliases.contains(&name), "{aliases:?}");
    assert!(!aliases.iter().any(|a| a == "app"), "{aliases:?}");
    let short = &name;
    assert!(!p.ok(&["ps"]).contains(short));
    assert!(p.ok(&["ps", "-a"]).contains(short));
    // The dependency was not started (--no-deps).
    assert!(p
        .containers(Some("label=com.docker.compose.service=db"))
        .is_empty());

    // --name, --use-aliases.
    let custom = format!("{}-custom", p.name);
    p.ok(&[
        "run",
        "-d",
        "--no-deps",
        "--use-aliases",
        "--name",
        &custom,
        "app",
        "sleep",
        "300",
    ]);
    let aliases = e().aliases(&custom, &format!("{}_default", p.name));
    assert!(aliases.iter().any(|a| a == "app"), "{aliases:?}");
}

#[test]
fn env_workdir_user_entrypoint() {
    let p = Project::new("flags", APP);
    let out = p.ok(&[
        "run",
        "--rm",
        "--no-deps",
        "-e",
        "FOO=bar",
        "-e",
        "BAR=baz",
        "-w",
        "/tmp",
        "-u",
        "65534",
        "--entrypoint",
        "sh -c",
        "app",
        "echo $FOO $BAR $(pwd) $(id -u)",
    ]);
    assert_eq!(out, "bar baz /tmp 65534\n");
    // The service's environment stays when not overridden.
    assert_eq!(
        p.ok(&["run", "--rm", "--no-deps", "app", "sh", "-c", "echo $FOO"]),
        "service\n"
    );
    // The service's command by default; an entrypoint without a command clears it.
    assert_eq!(p.ok(&["run", "--rm", "--no-deps", "app"]), "from-service\n");
    assert_eq!(
        p.ok(&[
            "run",
            "--rm",
            "--no-deps",
            "--entrypoint",
            "echo 'a  b'",
            "app"
        ]),
        "a  b\n"
    );
}

#[test]
fn dependency_healthy_before_run() {
    let p = Project::new("deps", APP);
    // db serves only after its healthcheck can pass: reaching it proves the gate was waited.
    let out = p.rcompose(&[
        "run",
        "--rm",
        "app",
        "wget",
        "-q",
        "-O-",
        "http://db:5432/ready",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = format!("{}-db-1", p.name);
    assert_eq!(e().health(&db), "healthy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(" Container {db}  Started")),
        "{stderr}"
    );
    assert!(p.one_offs().is_empty());
    // A second run finds db up to date and does not recreate it.
    let created = e().id(&db);
    p.ok(&["run", "--rm", "app", "true"]);
    assert_eq!(e().id(&db), created);
}

#[test]
fn no_deps_does_not_start_dependencies() {
    let p = Project::new("nodeps", APP);
    p.ok(&["run", "--rm", "--no-deps", "app", "true"]);
    assert!(p.containers(None).is_empty(), "{:?}", p.containers(None));
}

#[test]
fn ports_only_with_service_ports_or_publish() {
    let p = Project::new("ports", APP);
    let plain = p.ok(&["run", "-d", "web"]);
    assert!(!e().has_port_bindings(plain.trim()));
    let sp = p.ok(&["run", "-d", "--service-ports", "web"]);
    assert_eq!(e().port(sp.trim(), "80/tcp"), "127.0.0.1:18431");
    let published = p.ok(&["run", "-d", "-p", "127.0.0.1:18432:80", "web"]);
    assert_eq!(e().port(published.trim(), "80/tcp"), "127.0.0.1:18432");
    let both = p.rcompose(&["run", "-d", "--service-ports", "-p", "18433:80", "web"]);
    assert_eq!(both.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&both.stderr),
        "--service-ports and --publish are incompatible\n"
    );
}

#[test]
fn piped_stdin_with_no_tty() {
    let p = Project::new("stdin", APP);
    let mut child = p
        .command(&["run", "-T", "--rm", "--no-deps", "app", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"data\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "data\n");
    assert!(p.one_offs().is_empty());
}

#[test]
fn volume_flag_binds_host_path() {
    let p = Project::new("vol", APP);
    std::fs::write(p.dir.join("hello.txt"), "from host\n").unwrap();
    let out = p.ok(&[
        "run",
        "--rm",
        "--no-deps",
        "-v",
        "./hello.txt:/h.txt:ro",
        "app",
        "cat",
        "/h.txt",
    ]);
    assert_eq!(out, "from host\n");
}

/// Sends `sig` to the rcompose process once its one-off container runs.
fn signal_when_running(p: &Project, pid: u32, sigs: &[&str]) {
    wait_until(
        "the one-off container to run",
        Duration::from_secs(30),
        || {
            p.containers(Some("status=running"))
                .iter()
                .any(|c| c.contains("-run-"))
        },
    );
    for sig in sigs {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {pid}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn ctrl_c_is_forwarded_and_a_second_one_kills() {
    let p = Project::new("sigint", APP);
    // The command handles SIGINT: it gets it and its exit code is ours.
    let child = p
        .command(&[
            "run",
            "-T",
            "--rm",
            "--no-deps",
            "app",
            "sh",
            "-c",
            "trap 'echo got-int; exit 42' INT; while true; do sleep 0.1; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    signal_when_running(&p, child.id(), &["INT"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(42),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-int\n");
    assert!(p.one_offs().is_empty(), "{:?}", p.one_offs());

    // PID 1 without a handler ignores SIGINT; the second Ctrl+C kills it, --rm removes it.
    let child = p
        .command(&["run", "-T", "--rm", "--no-deps", "app", "sleep", "300"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    signal_when_running(&p, child.id(), &["INT", "INT"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(137),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p.one_offs().is_empty(), "{:?}", p.one_offs());
}

/// Docker Compose's `down` keeps one-off containers, except exited ones with
/// `--remove-orphans`; it must treat rcompose's one-off containers the same way.
#[test]
fn compose_down_remove_orphans_removes_exited_one_offs() {
    if !e().is_docker() {
        // Docker-only by nature: Docker Compose only sees containers on dockerd.
        return;
    }
    let dc = support::reference().display().to_string();
    let p = Project::new("down", APP);
    let running = p.ok(&["run", "-d", "--no-deps", "app", "sleep", "300"]);
    p.ok(&["run", "--no-deps", "app", "true"]);
    assert_eq!(p.one_offs().len(), 2);
    let out = Command::new("timeout")
        // `-p`: given as COMPOSE_PROJECT_NAME instead, Docker Compose 2.40.3 also removes
        // the running one-off containers.
        .args(["60", &dc, "-p", &p.name, "down", "--remove-orphans"])
        .current_dir(&p.dir)
        .env_remove("COMPOSE_PROJECT_NAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = p.one_offs();
    assert_eq!(
        left.len(),
        1,
        "{left:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e().id(&left[0]), running.trim());
}

#[test]
fn down_keeps_running_one_offs_and_their_network_and_remove_orphans_removes_them() {
    require_engine();
    let p = Project::new(
        "rundown",
        "services:\n  s:\n    image: $IMAGE\n    command: sleep 3600\n",
    );
    p.ok(&["up", "-d"]);
    let id = p.ok(&["run", "-d", "s", "sleep", "3600"]);
    let id = id.trim().lines().last().unwrap_or_default().to_string();
    // The one-off still uses the network: down succeeds, keeps both, says so.
    let out = p.rcompose(&["down", "-t", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kept"), "{err}");
    assert_eq!(e().status(&id), "running", "down removed a running one-off");
    p.ok(&["down", "-t", "0", "--remove-orphans"]);
    assert!(
        !e().container_exists(&id),
        "--remove-orphans left the one-off"
    );
    let net = format!("{}_default", p.name);
    assert!(
        !e().network_exists(&net),
        "network left after --remove-orphans"
    );
}
