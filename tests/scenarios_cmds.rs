//! End-to-end tests of `images`, `cp`, `stats` and `build` (and `up --build`) through the real
//! `rcompose` binary on a real engine (`RCOMPOSE_TEST_ENGINE`, default `docker`;
//! `scripts/docker-env.sh` prepares dockerd and the offline image).
//!
//! Every test has its own project name and directory (`rcmd-<tag>-<pid>`), and removes
//! everything in `Drop` with `down -v -t 0` (and the images it built).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const IMAGE: &str = "rcompose-test/busybox:1";

fn engine() -> String {
    std::env::var("RCOMPOSE_TEST_ENGINE").unwrap_or_else(|_| "docker".into())
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
        let name = format!("rcmd-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("project directory");
        std::fs::write(dir.join("compose.yaml"), compose.replace("$IMAGE", IMAGE))
            .expect("compose.yaml");
        Project { dir, name, built: Vec::new() }
    }

    fn rcompose(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_rcompose"))
            .current_dir(&self.dir)
            .env("RCOMPOSE_ENGINE", engine())
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .stdin(Stdio::null())
            .args(args)
            .output()
            .expect("running rcompose");
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
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn require_engine() {
    if engine() != "docker" {
        return;
    }
    let ready = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "no Docker engine with {IMAGE}: run scripts/docker-env.sh (the README test command does)"
    );
}

fn inspect(name: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", format, name])
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker inspect {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn docker_exec(container: &str, cmd: &[&str]) -> String {
    let out = Command::new("docker")
        .arg("exec")
        .arg(container)
        .args(cmd)
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout).into_owned()
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
        ["CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE", "ID", "SIZE", "CREATED"],
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    let id = inspect(IMAGE, "{{.Id}}");
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
    assert_eq!(quiet, format!("{}\n", &id["sha256:".len()..]), "one distinct id");
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
    assert_eq!(std::fs::read_to_string(out.join("copy.txt")).unwrap(), "hello\n");
    p.ok(&["cp", "web:/data", &o("newdir")]);
    assert_eq!(std::fs::read_to_string(out.join("newdir/sub/b.txt")).unwrap(), "deep\n");
    assert_eq!(std::fs::read_link(out.join("newdir/link")).unwrap(), PathBuf::from("a.txt"));
    p.ok(&["cp", "web:/data", &o("")]);
    assert!(out.join("data/a.txt").is_file());
    std::fs::create_dir_all(out.join("contents")).unwrap();
    p.ok(&["cp", "web:/data/.", &o("contents")]);
    assert!(out.join("contents/sub/b.txt").is_file());
    // -L: the link's target, under the link's name.
    p.ok(&["cp", "-L", "web:/data/link", &o("followed")]);
    assert_eq!(std::fs::read_to_string(out.join("followed")).unwrap(), "hello\n");
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
    assert_eq!(docker_exec(&web, &["cat", "/tmp/up/inner/x.txt"]), "from host\n");
    p.ok(&["cp", "./up", "web:/tmp/newname"]);
    assert_eq!(docker_exec(&web, &["cat", "/tmp/newname/inner/x.txt"]), "from host\n");
    assert_eq!(docker_exec(&web, &["stat", "-c", "%u", "/tmp/newname/inner/x.txt"]).trim(), "0");

    // Bad input: exit 1 with a message, no panic.
    for (args, needle) in [
        (vec!["cp", "nosuch:/x", "./y"], "no such service"),
        (vec!["cp", "web:/nonexistent", "./y"], "Could not find the file /nonexistent"),
        (vec!["cp", "./missing-file", "web:/tmp/"], "missing-file"),
        (vec!["cp", "./single.txt", "web:/no/such/dir/x"], "does not exist"),
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("no container found for service \"worker\""));
}

#[test]
fn stats_no_stream() {
    let p = Project::new("stats", TWO);
    p.ok(&["up", "-d"]);
    let (table, _) = p.ok(&["stats", "--no-stream"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split("   ").map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>(),
        ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    for (line, svc) in lines[1..].iter().zip(["web", "worker"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let id = inspect(&p.container(svc), "{{.Id}}");
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
    let (json, _) = p.ok(&["stats", "--no-stream", "--no-trunc", "--format", "json", "worker"]);
    let rows: Vec<serde_json::Value> =
        json.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(rows.len(), 1);
    let id = inspect(&p.container("worker"), "{{.Id}}");
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
    assert!(stdout.contains("Step 1/"), "builder output on stdout: {stdout}");
    assert!(stderr.contains("Service app  Built"), "{stderr}");
    let app_image = format!("{}-app", p.name);
    assert_eq!(
        inspect(&app_image, "{{index .Config.Labels \"org.example.kind\"}}"),
        "test"
    );
    p.ok(&["up", "-d"]);
    let app = p.container("app");
    assert_eq!(docker_exec(&app, &["cat", "/greeting"]), "hello\n");
    assert_eq!(docker_exec(&app, &["cat", "/stage"]), "final\n");
    assert_eq!(docker_exec(&app, &["ls", "/ctx"]).split_whitespace().collect::<Vec<_>>(), [
        "custom.Dockerfile",
        "kept.txt"
    ]);
    assert_eq!(docker_exec(&p.container("inline"), &["cat", "/inline.txt"]), "inline builder\n");
    assert_eq!(inspect(&app, "{{.Image}}"), inspect(&app_image, "{{.Id}}"));

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

#[test]
fn up_builds_missing_image_and_no_build_does_not() {
    let p = build_project("upbuild");
    let out = p.rcompose(&["up", "-d", "--no-build", "app"]);
    assert_eq!(out.status.code(), Some(1), "no image and no build");
    let (_, stderr) = p.ok(&["up", "-d", "app"]);
    assert!(stderr.contains("Service app  Built"), "{stderr}");
    assert_eq!(docker_exec(&p.container("app"), &["cat", "/greeting"]), "hello\n");
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
