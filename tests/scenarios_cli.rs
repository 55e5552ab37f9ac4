//! End-to-end tests of the container commands through the real `rcompose` binary on a real
//! engine (`RCOMPOSE_TEST_ENGINE`, default `docker`, or `embedded`; state is inspected through
//! `support::engine_state`; `scripts/docker-env.sh` prepares dockerd, the offline image and
//! the local registry the embedded engine pulls from): logs, exec, top, stop/start,
//! pause/unpause, kill, rm, port, ls, events, ps (against Docker Compose, docker-only), images,
//! cp, stats, build and `up --build`.
//!
//! Every test has its own project name and directory (`rcli-<tag>-<pid>`) and published ports
//! (1839x; 1837x for the ps comparison), and removes everything in `Drop` with `down -v -t 0`.

mod support;
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
    /// Images to remove at the end.
    built: Vec<String>,
}

impl Project {
    fn new(tag: &str, compose: &str) -> Project {
        require_engine();
        let name = format!("rcli-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("project directory");
        std::fs::write(dir.join("compose.yaml"), compose.replace("$IMAGE", IMAGE))
            .expect("compose.yaml");
        Project {
            dir,
            name,
            built: Vec::new(),
        }
    }

    /// rcompose in the project's directory, on the engine under test.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = e().rcompose();
        c.current_dir(&self.dir)
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .stdin(Stdio::null())
            .args(args);
        c
    }

    fn rcompose(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("running rcompose");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "panic in rcompose {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs rcompose, requires success, returns (stdout, stderr).
    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.rcompose(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "rcompose {args:?} failed ({:?}):\n{stderr}\n{stdout}",
            out.status
        );
        (stdout, stderr)
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.rcompose(&["down", "-v", "--remove-orphans", "-t", "0"]);
        for image in &self.built {
            e().image_remove(image);
        }
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

const LOGS: &str = r#"
services:
  web:
    image: $IMAGE
    command: sh -c 'echo first; echo oops >&2; sleep 0.2; echo last; sleep 300'
  worker:
    image: $IMAGE
    command: sh -c 'echo working; sleep 300'
"#;

#[test]
fn logs_prefix_no_prefix_tail_and_index() {
    let p = Project::new("logs", LOGS);
    p.ok(&["up", "-d"]);
    wait_until("the logs", Duration::from_secs(20), || {
        p.ok(&["logs", "--no-log-prefix", "web"]).0.contains("last")
    });
    let (out, _) = p.ok(&["logs"]);
    // Prefix: service-number padded to the longest name plus one, then `| `.
    for line in [
        "web-1     | first",
        "web-1     | oops",
        "web-1     | last",
        "worker-1  | working",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{line:?} missing in:\n{out}"
        );
    }
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no colors when stdout is not a terminal: {out:?}"
    );
    let (out, _) = p.ok(&["logs", "--no-log-prefix", "web"]);
    assert_eq!(
        {
            let mut l: Vec<&str> = out.lines().collect();
            l.sort_unstable();
            l
        },
        ["first", "last", "oops"]
    );
    let (out, _) = p.ok(&["logs", "--tail", "1", "web"]);
    assert_eq!(out, "web-1  | last\n");
    let (out, _) = p.ok(&["logs", "--index", "1", "--no-log-prefix", "worker"]);
    assert_eq!(out, "working\n");
    let (out, _) = p.ok(&["logs", "-t", "--tail", "1", "--no-log-prefix", "worker"]);
    assert!(
        out.starts_with("20") && out.ends_with(" working\n"),
        "{out:?}"
    );
    let (out, _) = p.ok(&["logs", "--until", "2000-01-01T00:00:00Z"]);
    assert_eq!(out, "");
    // Follow: the existing line arrives and the command keeps running until it is killed.
    let mut child = p
        .command(&[
            "logs",
            "-f",
            "--since",
            "1h",
            "--no-color",
            "--no-log-prefix",
            "worker",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("rcompose logs -f");
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        use std::io::BufRead;
        let _ = std::io::BufReader::new(out).read_line(&mut first);
    }
    let still_running = child.try_wait().is_ok_and(|s| s.is_none());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(first, "working\n");
    assert!(still_running, "logs -f exited while the container runs");
    let bad = p.rcompose(&["logs", "nosuch"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such service: nosuch"));
}

const APP: &str = r#"
services:
  db:
    image: $IMAGE
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes:
      - data:/data
  web:
    image: $IMAGE
    command: sh -c 'trap "exit 3" TERM; while true; do sleep 0.1; done'
    depends_on: [db]
    ports:
      - "18393:80"
volumes:
  data:
"#;

#[test]
fn exec_top_port_and_ls() {
    let p = Project::new("exec", APP);
    p.ok(&["up", "-d"]);

    let out = p.rcompose(&["exec", "-T", "web", "sh", "-c", "echo hi; exit 5"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(out.status.code(), Some(5));
    let (out, _) = p.ok(&[
        "exec",
        "-T",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "web",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -u)",
    ]);
    assert_eq!(out, "1 /tmp 1000\n");
    p.ok(&["exec", "-d", "web", "touch", "/tmp/bg"]);
    wait_until("the detached exec", Duration::from_secs(10), || {
        p.rcompose(&["exec", "-T", "web", "test", "-f", "/tmp/bg"])
            .status
            .success()
    });

    let (out, _) = p.ok(&["top"]);
    let head = out.lines().next().unwrap_or_default();
    assert!(
        head.starts_with("SERVICE  #   UID") && head.ends_with("CMD"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("web ") && l.contains("sleep 0.1")
                || l.starts_with("web ") && l.contains("sh -c")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("db ")), "{out}");

    let (out, _) = p.ok(&["port", "web", "80"]);
    assert_eq!(out, "0.0.0.0:18393\n");
    let none = p.rcompose(&["port", "db", "80"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no port 80/tcp"));

    let (out, _) = p.ok(&["ls"]);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{} ", p.name)))
        .unwrap_or_else(|| panic!("{} not listed:\n{out}", p.name));
    assert!(line.contains("running(2)"), "{line}");
    assert!(
        line.contains(&p.dir.join("compose.yaml").display().to_string()),
        "{line}"
    );
    let (out, _) = p.ok(&["ls", "-q"]);
    assert!(out.lines().any(|l| l == p.name), "{out}");

    p.ok(&["stop", "-t", "0", "web"]);
    let (json, _) = p.ok(&["ls", "-a", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("ls JSON");
    let mine = v
        .as_array()
        .and_then(|a| a.iter().find(|x| x["Name"] == p.name.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(mine["Status"], "exited(1), running(1)", "{json}");
    let (out, _) = p.ok(&["ls"]);
    assert!(
        out.contains(&format!("{} ", p.name)) && !out.contains("exited"),
        "{out}"
    );

    let out = p.rcompose(&["exec", "-T", "web", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("service \"web\" is not running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stop_start_order_volume_pause_kill_rm() {
    let p = Project::new("life", APP);
    p.ok(&["up", "-d"]);
    let (db, web) = (p.container("db"), p.container("web"));
    p.ok(&["exec", "-T", "db", "sh", "-c", "echo kept > /data/f"]);

    let (_, err) = p.ok(&["stop"]);
    let pos = |s: &str| {
        err.find(s)
            .unwrap_or_else(|| panic!("{s:?} missing in:\n{err}"))
    };
    assert!(
        pos(&format!(" Container {web}  Stopped")) < pos(&format!(" Container {db}  Stopping")),
        "{err}"
    );
    let (fw, fd) = (e().finished_at(&web), e().finished_at(&db));
    assert!(fw < fd, "web must stop before db: web {fw}, db {fd}");
    assert_eq!(e().exit_code(&web), 3);

    let (_, err) = p.ok(&["start"]);
    let db_started = err.find(&format!(" Container {db}  Started"));
    let web_starting = err.find(&format!(" Container {web}  Starting"));
    assert!(
        db_started.is_some() && web_starting.is_some() && db_started < web_starting,
        "{err}"
    );
    let (out, _) = p.ok(&["exec", "-T", "db", "cat", "/data/f"]);
    assert_eq!(out, "kept\n");

    let (_, err) = p.ok(&["pause", "web"]);
    assert!(err.contains(&format!(" Container {web}  Paused")), "{err}");
    assert_eq!(e().status(&web), "paused");
    p.ok(&["unpause"]);
    assert_eq!(e().status(&web), "running");

    let before = e().started_at(&db);
    let (_, err) = p.ok(&["restart", "-t", "1", "db"]);
    assert!(
        err.contains(&format!(" Container {db}  Restarting")),
        "{err}"
    );
    assert_ne!(e().started_at(&db), before);

    // The signal reaches the container: its TERM trap exits 3.
    let (_, err) = p.ok(&["kill", "-s", "SIGTERM", "web"]);
    assert!(err.contains(&format!(" Container {web}  Killed")), "{err}");
    wait_until("web to exit", Duration::from_secs(10), || {
        e().status(&web) == "exited"
    });
    assert_eq!(e().exit_code(&web), 3);

    // rm without -f and no terminal: refused, nothing removed.
    let out = p.rcompose(&["rm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-f"));
    assert_eq!(e().status(&web), "exited");
    // rm -f removes only the stopped one; -s stops the others first.
    let (_, err) = p.ok(&["rm", "-f"]);
    assert!(
        err.contains(&format!(" Container {web}  Removed")) && !err.contains(&db),
        "{err}"
    );
    assert_eq!(e().status(&db), "running");
    let (_, err) = p.ok(&["rm", "-f", "-s"]);
    assert!(
        err.contains(&format!(" Container {db}  Stopped"))
            && err.contains(&format!(" Container {db}  Removed")),
        "{err}"
    );
    assert!(!e().container_exists(&db));
    let (_, err) = p.ok(&["rm", "-f"]);
    assert!(err.contains("No stopped containers"), "{err}");
}

#[test]
fn events_json_streams_the_projects_container_events_like_compose() {
    let p = Project::new(
        "events",
        "services:\n  web:\n    image: $IMAGE\n    command: sleep 300\n  \
         db:\n    image: $IMAGE\n    command: sleep 300\n",
    );
    let mut child = p
        .command(&["events", "--json", "web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rcompose events");
    std::thread::sleep(Duration::from_millis(500));
    p.ok(&["up", "-d"]);
    p.ok(&["kill", "web"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let out = child.wait_with_output().expect("events output");
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in ["create", "start", "kill", "die"] {
        assert!(
            actions.contains(&want),
            "{want} missing: {actions:?}\n{text}"
        );
    }
    let web = p.container("web");
    for e in &events {
        // Only the service asked for; Compose's fields; no compose labels in attributes.
        assert_eq!(e["service"], "web", "{e}");
        assert_eq!(e["type"], "container", "{e}");
        assert_eq!(e["attributes"]["name"], web.as_str(), "{e}");
        assert_eq!(e["id"].as_str().unwrap().len(), 64, "{e}");
        assert!(e["time"].as_str().unwrap().contains('T'), "{e}");
        let attrs = e["attributes"].as_object().unwrap();
        assert!(
            !attrs.keys().any(|k| k.starts_with("com.docker.compose.")),
            "{e}"
        );
    }
    let die = events.iter().find(|e| e["action"] == "die").unwrap();
    assert_eq!(die["attributes"]["exitCode"], "137", "{die}");
}

/// `ps` prints what Docker Compose 2.40.3 prints for the same containers: the table
/// byte for byte, the JSON as values (labels, mounts and same-port publishers compared as
/// sets: Compose prints them in Go map or daemon order), `--services`, `-q`, `--no-trunc`, `--filter status=`, `--status`, and `-p` alone.
#[test]
fn ps_output_equals_docker_composes() {
    if !e().is_docker() {
        // Docker-only by nature: the reference is Docker Compose's own `ps`, which only
        // reads containers from dockerd.
        return;
    }
    let p = Project::new(
        "ps",
        r#"
services:
  web:
    image: $IMAGE
    command: ["sh", "-c", "echo \"a quoted and long command\"; sleep 3600"]
    ports: ["127.0.0.1:18371:80", "18372:81", "18373-18374:90-91", "18375:53/udp", "18376:18376"]
    expose: ["7000", "7001"]
    volumes: [data:/data, ./a-rather-long-host-directory:/host]
    healthcheck: {test: [CMD, "true"], interval: 1s}
  job:
    image: $IMAGE
    command: ["sh", "-c", "exit 3"]
volumes:
  data: {}
"#,
    );
    std::fs::create_dir_all(p.dir.join("a-rather-long-host-directory")).unwrap();
    p.ok(&["up", "-d", "--wait", "web"]);
    p.ok(&["up", "-d", "job"]);
    wait_until("job exited", Duration::from_secs(20), || {
        e().status(&p.container("job")) == "exited"
    });
    let dc = support::reference();
    let reference = |args: &[&str]| {
        let out = Command::new("timeout")
            .arg("60")
            .arg(&dc)
            .args(["-p", &p.name])
            .args(args)
            .current_dir(&p.dir)
            .env_remove("COMPOSE_PROJECT_NAME")
            .output()
            .expect("reference compose");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let normalize = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).expect(l);
                for key in ["Labels", "Mounts"] {
                    let mut parts: Vec<String> = v[key]
                        .as_str()
                        .unwrap()
                        .split(',')
                        .map(String::from)
                        .collect();
                    parts.sort();
                    v[key] = serde_json::json!(parts);
                }
                // Compose sorts publishers by target port only: ties keep the daemon's order.
                let mut publishers: Vec<String> = v["Publishers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.to_string())
                    .collect();
                publishers.sort();
                v["Publishers"] = serde_json::json!(publishers);
                v
            })
            .collect()
    };
    let cases: &[&[&str]] = &[
        &["ps"],
        &["ps", "-a"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-a", "--format", "json"],
        &["ps", "-a", "--no-trunc", "--format", "json"],
        &["ps", "--services"],
        &["ps", "-a", "-q"],
        &["ps", "-q", "--no-trunc"],
        &["ps", "--filter", "status=exited"],
        &["ps", "--status", "running", "--format", "json"],
        &["ps", "-a", "web"],
    ];
    for args in cases {
        // A second boundary ("4 seconds ago" → "5 seconds ago") may fall between the two
        // commands: compare up to three times.
        let mut last = (String::new(), String::new());
        let same = (0..3).any(|_| {
            let ours = p.ok(&[&["-p", &p.name][..], args].concat()).0;
            let theirs = reference(args);
            let same = if args.contains(&"json") {
                normalize(&ours) == normalize(&theirs)
            } else {
                ours == theirs
            };
            last = (ours, theirs);
            same
        });
        assert!(
            same,
            "rcompose {args:?} differs:\n--- ours\n{}\n--- compose\n{}",
            last.0, last.1
        );
    }
}

// ---- images, cp, stats, build (and up --build) ----

/// A command's stdout in a running container (`docker exec` on docker).
fn docker_exec(container: &str, cmd: &[&str]) -> String {
    e().exec_stdout(container, cmd)
}

const TWO: &str = r#"
services:
  web:
    image: $IMAGE
    command: sh -c 'mkdir -p /data/sub && echo hello > /data/a.txt && echo deep > /data/sub/b.txt && ln -s a.txt /data/link && sleep 300'
    init: true
  worker:
    image: $IMAGE
    command: sleep 300
    init: true
"#;

#[test]
fn images_table_json_quiet() {
    let p = Project::new("images", TWO);
    p.ok(&["up", "-d"]);
    let (table, _) = p.ok(&["images"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "CONTAINER",
            "REPOSITORY",
            "TAG",
            "PLATFORM",
            "IMAGE",
            "ID",
            "SIZE",
            "CREATED"
        ],
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    let id = e()
        .image_id(IMAGE)
        .unwrap_or_else(|| panic!("no image {IMAGE}"));
    let short = &id["sha256:".len().."sha256:".len() + 12];
    for (line, svc) in lines[1..].iter().zip(["web", "worker"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], p.container(svc));
        assert_eq!(cols[1], "rcompose-test/busybox");
        assert_eq!(cols[2], "1");
        assert!(cols[3].starts_with("linux/"), "{line}");
        assert_eq!(cols[4], short);
        assert!(cols[5].ends_with("MB") || cols[5].ends_with("kB"), "{line}");
        assert!(line.ends_with(" ago"), "{line}");
    }
    let (json, _) = p.ok(&["images", "--format", "json", "worker"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ContainerName"], p.container("worker"));
    assert_eq!(rows[0]["ID"], id);
    assert_eq!(rows[0]["Repository"], "rcompose-test/busybox");
    assert_eq!(rows[0]["Tag"], "1");
    assert!(rows[0]["Size"].as_i64().unwrap_or(0) > 0);
    let (quiet, _) = p.ok(&["images", "-q"]);
    assert_eq!(
        quiet,
        format!("{}\n", &id["sha256:".len()..]),
        "one distinct id"
    );
    let out = p.rcompose(&["images", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cp_both_directions() {
    let p = Project::new("cp", TWO);
    p.ok(&["up", "-d"]);
    let web = p.container("web");
    let wait_file = || {
        for _ in 0..50 {
            if docker_exec(&web, &["cat", "/data/sub/b.txt"]).contains("deep") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the container did not write its files");
    };
    wait_file();
    let out = p.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = |rel: &str| out.join(rel).display().to_string();

    // File to a new file, directory to a new directory, directory into an existing one,
    // contents only with `/.`.
    p.ok(&["cp", "web:/data/a.txt", &o("copy.txt")]);
    assert_eq!(
        std::fs::read_to_string(out.join("copy.txt")).unwrap(),
        "hello\n"
    );
    p.ok(&["cp", "web:/data", &o("newdir")]);
    assert_eq!(
        std::fs::read_to_string(out.join("newdir/sub/b.txt")).unwrap(),
        "deep\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("newdir/link")).unwrap(),
        PathBuf::from("a.txt")
    );
    p.ok(&["cp", "web:/data", &o("")]);
    assert!(out.join("data/a.txt").is_file());
    std::fs::create_dir_all(out.join("contents")).unwrap();
    p.ok(&["cp", "web:/data/.", &o("contents")]);
    assert!(out.join("contents/sub/b.txt").is_file());
    // -L: the link's target, under the link's name.
    p.ok(&["cp", "-L", "web:/data/link", &o("followed")]);
    assert_eq!(
        std::fs::read_to_string(out.join("followed")).unwrap(),
        "hello\n"
    );
    // To stdout as a tar.
    let tar = p.rcompose(&["cp", "web:/data/a.txt", "-"]);
    assert!(tar.status.success());
    assert_eq!(&tar.stdout[..5], b"a.txt");

    // Host to container: a file, a directory into an existing directory, to a new name.
    std::fs::create_dir_all(p.dir.join("up/inner")).unwrap();
    std::fs::write(p.dir.join("up/inner/x.txt"), "from host\n").unwrap();
    std::fs::write(p.dir.join("single.txt"), "single\n").unwrap();
    p.ok(&["cp", "./single.txt", "web:/tmp/renamed.txt"]);
    assert_eq!(docker_exec(&web, &["cat", "/tmp/renamed.txt"]), "single\n");
    p.ok(&["cp", "./up", "web:/tmp/"]);
    assert_eq!(
        docker_exec(&web, &["cat", "/tmp/up/inner/x.txt"]),
        "from host\n"
    );
    p.ok(&["cp", "./up", "web:/tmp/newname"]);
    assert_eq!(
        docker_exec(&web, &["cat", "/tmp/newname/inner/x.txt"]),
        "from host\n"
    );
    assert_eq!(
        docker_exec(&web, &["stat", "-c", "%u", "/tmp/newname/inner/x.txt"]).trim(),
        "0"
    );

    // Bad input: exit 1 with a message, no panic.
    for (args, needle) in [
        (vec!["cp", "nosuch:/x", "./y"], "no such service"),
        (
            vec!["cp", "web:/nonexistent", "./y"],
            "Could not find the file /nonexistent",
        ),
        (vec!["cp", "./missing-file", "web:/tmp/"], "missing-file"),
        (
            vec!["cp", "./single.txt", "web:/no/such/dir/x"],
            "does not exist",
        ),
        (vec!["cp", "web:/data", "worker:/tmp"], "not supported"),
    ] {
        let out = p.rcompose(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // A service without containers.
    p.ok(&["rm", "-s", "-f", "worker"]);
    let out = p.rcompose(&["cp", "worker:/etc/passwd", "./y"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no container found for service \"worker\"")
    );
}

#[test]
fn stats_no_stream() {
    let p = Project::new("stats", TWO);
    p.ok(&["up", "-d"]);
    let (table, _) = p.ok(&["stats", "--no-stream"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0]
            .split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>(),
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ],
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    for (line, svc) in lines[1..].iter().zip(["web", "worker"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let id = e().id(&p.container(svc));
        assert_eq!(cols[0], &id[..12]);
        assert_eq!(cols[1], p.container(svc));
        assert!(cols[2].ends_with('%'), "{line}");
        let cpu: f64 = cols[2].trim_end_matches('%').parse().unwrap();
        assert!((0.0..=400.0).contains(&cpu), "{line}");
        assert!(cols[3].ends_with("iB") || cols[3].ends_with('B'), "{line}");
        assert_eq!(cols[4], "/", "{line}");
        let pids: u64 = cols.last().unwrap().parse().unwrap();
        assert!((1..=5).contains(&pids), "init + sleep: {line}");
    }
    let (json, _) = p.ok(&[
        "stats",
        "--no-stream",
        "--no-trunc",
        "--format",
        "json",
        "worker",
    ]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 1);
    let id = e().id(&p.container("worker"));
    assert_eq!(rows[0]["ID"], id);
    assert_eq!(rows[0]["Name"], p.container("worker"));
    let mem = rows[0]["MemUsage"].as_str().unwrap();
    assert!(mem.contains(" / ") && !mem.starts_with("0B"), "{mem}");
    // Stopped containers only with -a.
    p.ok(&["stop", "-t", "0", "worker"]);
    let (table, _) = p.ok(&["stats", "--no-stream"]);
    assert_eq!(table.lines().count(), 2, "{table}");
    let (table, _) = p.ok(&["stats", "--no-stream", "-a"]);
    assert_eq!(table.lines().count(), 3, "{table}");
}

const BUILD: &str = r#"
services:
  app:
    build:
      context: ./ctx
      dockerfile: custom.Dockerfile
      target: final
      args:
        GREETING: hello
      labels:
        org.example.kind: test
    command: sleep 300
    init: true
  inline:
    image: $NAME-inline:v1
    build:
      context: ./ctx
      dockerfile_inline: |
        FROM rcompose-test/busybox:1
        ARG WHO=nobody
        RUN echo "inline $$WHO" > /inline.txt
    command: sleep 300
    init: true
"#;

fn build_project(tag: &str) -> Project {
    let mut p = Project::new(tag, "services: {}\n");
    std::fs::write(p.dir.join("compose.yaml"), BUILD.replace("$NAME", &p.name)).unwrap();
    let ctx = p.dir.join("ctx");
    std::fs::create_dir_all(ctx.join("ignored")).unwrap();
    std::fs::write(
        ctx.join("custom.Dockerfile"),
        "FROM rcompose-test/busybox:1 AS base\nARG GREETING\nCOPY . /ctx\nRUN echo \"$GREETING\" > /greeting\n\
         FROM base AS final\nRUN echo final > /stage\nFROM base AS unused\nRUN exit 7\n",
    )
    .unwrap();
    std::fs::write(ctx.join("kept.txt"), "kept").unwrap();
    std::fs::write(ctx.join("ignored/secret.txt"), "secret").unwrap();
    std::fs::write(ctx.join("debug.log"), "log").unwrap();
    std::fs::write(ctx.join(".dockerignore"), "ignored\n*.log\n").unwrap();
    p.built = vec![format!("{}-app", p.name), format!("{}-inline:v1", p.name)];
    p
}

#[test]
fn build_then_up_and_rebuild() {
    let p = build_project("build");
    let (stdout, stderr) = p.ok(&["build", "--build-arg", "WHO=builder"]);
    assert!(
        stdout.contains("Step 1/"),
        "builder output on stdout: {stdout}"
    );
    assert!(stderr.contains("Service app  Built"), "{stderr}");
    let app_image = format!("{}-app", p.name);
    assert_eq!(e().image_label(&app_image, "org.example.kind"), "test");
    p.ok(&["up", "-d"]);
    let app = p.container("app");
    assert_eq!(docker_exec(&app, &["cat", "/greeting"]), "hello\n");
    assert_eq!(docker_exec(&app, &["cat", "/stage"]), "final\n");
    assert_eq!(
        docker_exec(&app, &["ls", "/ctx"])
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["custom.Dockerfile", "kept.txt"]
    );
    assert_eq!(
        docker_exec(&p.container("inline"), &["cat", "/inline.txt"]),
        "inline builder\n"
    );
    assert_eq!(Some(e().image_of(&app)), e().image_id(&app_image));

    // `up` alone does not rebuild an existing image; `up --build` does and recreates.
    std::fs::write(p.dir.join("ctx/kept.txt"), "changed").unwrap();
    let (_, stderr) = p.ok(&["up", "-d"]);
    assert!(!stderr.contains("Building"), "{stderr}");
    let (_, stderr) = p.ok(&["up", "-d", "--build", "app"]);
    assert!(stderr.contains("Service app  Building"), "{stderr}");
    assert_eq!(docker_exec(&app, &["cat", "/ctx/kept.txt"]), "changed");

    // -q: no builder output.
    let (stdout, _) = p.ok(&["build", "-q", "inline"]);
    assert!(stdout.is_empty(), "{stdout}");
}

/// What dockerd takes from an image's config, on both engines: its `HEALTHCHECK` gates
/// `service_healthy` (merged field by field with the service's, off with `disable: true`),
/// and each `VOLUME` gets an anonymous volume filled from the image, which a recreate keeps
/// (Compose passes the old container's volume on).
#[test]
fn image_healthcheck_and_volumes_apply_and_survive_a_recreate() {
    let mut p = Project::new(
        "imgdefaults",
        r#"
services:
  app:
    image: $NAME-app
    build:
      context: .
      dockerfile_inline: |
        FROM rcompose-test/busybox:1
        RUN mkdir -p /data && echo seeded > /data/seed
        VOLUME /data
        HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD test -f /tmp/ready
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 300'
    init: true
  tuned:
    image: $NAME-app
    healthcheck:
      retries: 40
    command: sh -c 'touch /tmp/ready; exec sleep 300'
    init: true
  off:
    image: $NAME-app
    healthcheck:
      disable: true
    command: sleep 300
    init: true
  gated:
    image: $IMAGE
    command: sleep 300
    init: true
    depends_on:
      app:
        condition: service_healthy
      tuned:
        condition: service_healthy
"#,
    );
    std::fs::write(
        p.dir.join("compose.yaml"),
        std::fs::read_to_string(p.dir.join("compose.yaml"))
            .unwrap()
            .replace("$NAME", &p.name),
    )
    .unwrap();
    p.built = vec![format!("{}-app", p.name)];
    p.ok(&["build"]);
    p.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    let (ps, _) = p.ok(&["ps", "-a"]);
    let line = |svc: &str| {
        ps.lines()
            .find(|l| l.starts_with(&p.container(svc)))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("app").contains("(healthy)"), "{ps}");
    assert!(line("tuned").contains("(healthy)"), "{ps}");
    assert!(
        line("off").contains("Up") && !line("off").contains("health"),
        "{ps}"
    );
    assert!(line("gated").contains("Up"), "{ps}");

    // /data is a volume of its own, filled from the image.
    let app = p.container("app");
    assert_eq!(docker_exec(&app, &["cat", "/data/seed"]), "seeded\n");
    assert!(
        docker_exec(&app, &["cat", "/proc/mounts"])
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("/data")),
        "no mount at /data"
    );
    docker_exec(&app, &["sh", "-c", "echo kept > /data/mine"]);
    // A recreate keeps it.
    p.ok(&[
        "up",
        "-d",
        "--force-recreate",
        "--wait",
        "--wait-timeout",
        "60",
        "app",
    ]);
    assert_eq!(docker_exec(&app, &["cat", "/data/mine"]), "kept\n");
}

#[test]
fn up_builds_missing_image_and_no_build_does_not() {
    let p = build_project("upbuild");
    let out = p.rcompose(&["up", "-d", "--no-build", "app"]);
    assert_eq!(out.status.code(), Some(1), "no image and no build");
    let (_, stderr) = p.ok(&["up", "-d", "app"]);
    assert!(stderr.contains("Service app  Built"), "{stderr}");
    assert_eq!(
        docker_exec(&p.container("app"), &["cat", "/greeting"]),
        "hello\n"
    );
}

#[test]
fn failing_build_exits_1_with_the_builder_message() {
    let p = Project::new(
        "badbuild",
        "services:\n  bad:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM rcompose-test/busybox:1\n        RUN echo broken && exit 3\n",
    );
    let out = p.rcompose(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("returned a non-zero code: 3"), "{stderr}");
    let out = p.rcompose(&["up", "-d"]);
    assert_eq!(out.status.code(), Some(1));
}

/// `logs -f` follows the services: a container restarted by its policy and one recreated by
/// `up --force-recreate` keep appearing, and the command ends by itself once nothing of the
/// selection is running any more.
#[test]
fn logs_follow_across_restarts_and_recreates_then_ends() {
    let p = Project::new(
        "follow",
        r#"
services:
  flaky:
    image: $IMAGE
    command: sh -c 'echo run-$$(cat /proc/sys/kernel/random/uuid | cut -c1-8); sleep 1; exit 1'
    restart: on-failure:3
  steady:
    image: $IMAGE
    command: sh -c 'echo steady-$$HOSTNAME; sleep 300'
"#,
    );
    p.ok(&["up", "-d"]);
    let mut child = p
        .command(&["logs", "-f", "--no-color"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rcompose logs -f");
    std::thread::sleep(Duration::from_secs(2));
    p.ok(&["up", "-d", "--force-recreate", "steady"]);
    std::thread::sleep(Duration::from_secs(2));
    p.ok(&["stop", "-t", "0", "steady"]);
    // flaky gives up after 3 restarts (~8 s in all); then nothing runs and logs -f ends.
    let began = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if began.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("logs -f did not end once every container had stopped");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split("run-").nth(1))
        .collect();
    assert!(runs.len() >= 3, "restarts not followed:\n{text}");
    let steadies: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split("| steady-").nth(1))
        .collect();
    assert_eq!(
        steadies.len(),
        2,
        "the recreated container was not followed:\n{text}"
    );
}

/// `project.environment_file` is set like Compose sets it: only for env files named on the
/// command line, absolute, in order.
#[test]
fn environment_file_label_only_for_explicit_env_files() {
    let p = Project::new(
        "envlabel",
        "services:\n  s:\n    image: $IMAGE\n    command: sleep 30\n",
    );
    std::fs::write(p.dir.join(".env"), "A=1\n").unwrap();
    std::fs::write(p.dir.join("other.env"), "B=2\n").unwrap();
    let label = "com.docker.compose.project.environment_file";
    p.ok(&["create"]);
    assert_eq!(
        e().label(&p.container("s"), label),
        "",
        "default .env must not be recorded"
    );
    p.ok(&[
        "--env-file",
        "other.env",
        "--env-file",
        ".env",
        "create",
        "--force-recreate",
    ]);
    let dir = p.dir.canonicalize().unwrap();
    assert_eq!(
        e().label(&p.container("s"), label),
        format!("{0}/other.env,{0}/.env", dir.display())
    );
}

/// `--progress tty`: Compose's live block, redrawn in place (cursor up, clear line), whose
/// last frame shows every object done; plain lines when stderr is not a terminal (auto).
#[test]
fn progress_tty_redraws_one_block_and_auto_is_plain_off_a_terminal() {
    let p = Project::new(
        "tty",
        "services:\n  a:\n    image: $IMAGE\n    command: sleep 300\n",
    );
    let (_, err) = p.ok(&["--progress", "tty", "up", "-d"]);
    assert!(err.contains("\x1b[2K"), "no redraw: {err:?}");
    assert!(
        err.contains("\x1b[3A"),
        "the block was not redrawn in place: {err:?}"
    );
    let last = err.rsplit("[+] Running").next().unwrap();
    assert!(last.starts_with(" 2/2"), "{err:?}");
    assert!(
        last.contains(&format!("Container {}", p.container("a"))),
        "{err:?}"
    );
    assert!(last.contains("Started"), "{err:?}");
    // Auto off a terminal: plain lines, no escape sequences.
    let (_, err) = p.ok(&["down", "-t", "0"]);
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(
        err.contains(&format!(" Container {}  Removed", p.container("a"))),
        "{err}"
    );
}
