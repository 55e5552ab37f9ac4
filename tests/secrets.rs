//! Service `secrets:` and `configs:` end to end, on both engines (reliability plan c.3 item
//! 17): a `file:` secret, an `environment:` secret with `mode: 0400` and `uid`/`gid`, and
//! `content:` configs, checked inside the running container (content, `stat`, EROFS on a
//! write); the secret's value appears neither in `config` output (which equals Docker
//! Compose's) nor in what the engine keeps about the container; a change of the value alone
//! does not recreate the container (Compose hashes the service, not the contents); a target
//! that leaves its directory is refused.
//!
//! The Docker test needs dockerd with the test image (`scripts/docker-env.sh`); the embedded
//! one needs root and the local registry (127.0.0.1:5000) the test command starts. They fail,
//! never skip, without them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::project::Project;

const IMAGE: &str = "127.0.0.1:5000/rcompose-test/busybox:1";
const VALUE: &str = "s3cr3t-value-7d1c";
const VARIABLE: &str = "RC_SECRETS_TEST_VALUE";

const COMPOSE: &str = r#"services:
  app:
    image: $IMAGE
    command: ["sleep", "1000"]
    secrets:
      - fsec
      - source: esec
        target: custom
        mode: 0400
        uid: "1000"
        gid: "2000"
    configs:
      - ccfg
      - source: ccfg
        target: /etc/app/app.conf
        mode: 0400
        uid: "1000"
        gid: "2000"
secrets:
  fsec:
    file: ./secret.txt
  esec:
    environment: RC_SECRETS_TEST_VALUE
configs:
  ccfg:
    content: "config text $$HOME"
"#;

/// Runs `down` and removes the project directory when dropped, so a failed assertion leaves
/// nothing behind.
struct Down<'a>(&'a Project);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.0.rcompose(&["down", "-t", "0"]);
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

fn project(tag: &str, engine: &str) -> Project {
    let mut p = Project::new("rcsec", tag, engine, IMAGE, COMPOSE);
    std::fs::write(p.dir.join("secret.txt"), "from a file").unwrap();
    p.env.push((VARIABLE.into(), VALUE.into()));
    p
}

fn exec(p: &Project, script: &str) -> (bool, String) {
    let out = p.rcompose(&["exec", "-T", "app", "sh", "-c", script]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// `<content>|<mode> <uid> <gid>` of a file in the container.
fn file_in_container(p: &Project, path: &str) -> String {
    let (ok, text) = exec(
        p,
        &format!("cat {path}; echo \"|$(stat -c '%a %u %g' {path})\""),
    );
    assert!(ok, "{path}: {text}");
    text.trim().to_string()
}

fn container_id(p: &Project) -> String {
    p.ok(&["ps", "-q", "app"]).trim().to_string()
}

/// What both engines must do alike; returns after `up -d` with the project running.
fn common_checks(p: &Project) {
    // `config` prints the variable's name, never its value, and equals Compose's output
    // (which prints a config's `content`).
    let config = p.ok(&["config"]);
    assert!(!config.contains(VALUE), "{config}");
    assert!(
        config.contains(&format!("environment: {VARIABLE}")),
        "{config}"
    );
    let reference = Command::new(support::reference())
        .current_dir(&p.dir)
        .env("COMPOSE_PROJECT_NAME", &p.name)
        .env(VARIABLE, VALUE)
        .arg("config")
        .output()
        .unwrap();
    assert!(reference.status.success());
    assert_eq!(config, String::from_utf8_lossy(&reference.stdout));

    let up = p.ok(&["up", "-d"]);
    assert!(!up.contains(VALUE));
    assert_eq!(
        file_in_container(p, "/run/secrets/fsec"),
        format!(
            "from a file|{:o} 0 0",
            std::fs::metadata(p.dir.join("secret.txt"))
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
                .unwrap()
        )
    );
    assert_eq!(
        file_in_container(p, "/run/secrets/custom"),
        format!("{VALUE}|400 1000 2000")
    );
    // `$$` in the compose file is a literal `$`.
    assert_eq!(file_in_container(p, "/ccfg"), "config text $HOME|444 0 0");
    assert_eq!(
        file_in_container(p, "/etc/app/app.conf"),
        "config text $HOME|400 1000 2000"
    );
    // A file secret is a read-only bind on both engines.
    let (ok, text) = exec(p, "echo x > /run/secrets/fsec");
    assert!(!ok && text.contains("Read-only file system"), "{text}");
    // The environment never carries the value.
    let (_, env) = exec(p, "env");
    assert!(!env.contains(VALUE), "{env}");
    let logs = p.ok(&["logs"]);
    assert!(!logs.contains(VALUE), "{logs}");

    // A new value alone does not recreate (the config hash is the service's, as Compose's).
    let id = container_id(p);
    let mut changed = Project {
        dir: p.dir.clone(),
        name: p.name.clone(),
        engine: p.engine.clone(),
        env: p.env.clone(),
    };
    changed.env.retain(|(k, _)| k != VARIABLE);
    changed.env.push((VARIABLE.into(), "another value".into()));
    changed.ok(&["up", "-d"]);
    assert_eq!(container_id(p), id, "recreated on a new secret value");
}

/// `up` refuses a target that leaves its directory, naming the service and the secret or
/// config, and creates no container: `..` in a written target is refused with the file
/// position when the project loads; a key that makes the default target leave its
/// directory (a config named `..`) when the container is made.
fn escaping_targets_are_refused(engine: &str, tag: &str, env: &[(String, String)]) {
    let head = "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n";
    let cases = [
        (
            format!(
                "{head}    secrets:\n      - source: esec\n        target: ../../etc/evil\n\
                 secrets:\n  esec:\n    environment: {VARIABLE}\n"
            ),
            "services.app.secrets[0].target \"../../etc/evil\" must not contain '..'",
        ),
        (
            format!("{head}    configs:\n      - \"..\"\nconfigs:\n  \"..\":\n    content: x\n"),
            "service `app`: config `..` has target `/..`, which leaves /",
        ),
    ];
    for (i, (compose, message)) in cases.iter().enumerate() {
        let mut p = Project::new("rcsec", &format!("{tag}{i}"), engine, IMAGE, compose);
        p.env.extend(env.iter().cloned());
        p.env.push((VARIABLE.into(), VALUE.into()));
        let _down = Down(&p);
        let out = p.rcompose(&["up", "-d"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(
            container_id_or_empty(&p).is_empty(),
            "a container was created"
        );
    }
}

fn container_id_or_empty(p: &Project) -> String {
    String::from_utf8_lossy(&p.rcompose(&["ps", "-a", "-q"]).stdout)
        .trim()
        .to_string()
}

#[test]
fn docker_secrets_and_configs() {
    let ready = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "no Docker engine with {IMAGE}: run scripts/docker-env.sh (the README test command does)"
    );
    let p = project("docker", "docker");
    let _down = Down(&p);
    common_checks(&p);
    let name = p.container("app");
    // As under Docker Compose, environment and content files are copies in the container's
    // layer: writable, unlike file secrets.
    let (ok, text) = exec(&p, "echo x > /run/secrets/custom && echo written");
    assert!(ok && text.contains("written"), "{text}");
    let inspect = Command::new("docker")
        .args(["inspect", &name])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.contains("/run/secrets/fsec"), "{inspect}");
    assert!(!inspect.contains(VALUE), "{inspect}");
    p.ok(&["down", "-t", "0"]);
    escaping_targets_are_refused("docker", "docker-escape", &[]);
}

#[test]
fn embedded_secrets_and_configs() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the embedded-engine tests need root; the README test command runs them as root"
    );
    let root = std::env::temp_dir().join(format!("rcompose-root-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let root_env = ("RCOMPOSE_ROOT".to_string(), root.display().to_string());
    let mut p = project("embedded", "embedded");
    p.env.push(root_env.clone());
    {
        let _down = Down(&p);
        common_checks(&p);
        // Every secret and config is a read-only bind here, content ones too.
        for path in ["/run/secrets/custom", "/ccfg", "/etc/app/app.conf"] {
            let (ok, text) = exec(&p, &format!("echo x > {path}"));
            assert!(
                !ok && text.contains("Read-only file system"),
                "{path}: {text}"
            );
        }
        // The value is in no file of the state directory but the container's own, which
        // only root reaches.
        let dirs = leaks(&root, VALUE.as_bytes());
        assert!(
            dirs.iter()
                .all(|f| f.parent().and_then(Path::file_name) == Some("files".as_ref())),
            "the secret value is in {dirs:?}"
        );
        assert!(!dirs.is_empty(), "the content file was not found");
        for f in &dirs {
            let dir_mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(f.parent().unwrap())
                    .unwrap()
                    .permissions(),
            );
            assert_eq!(dir_mode & 0o777, 0o700, "{}", f.display());
        }
        p.ok(&["down", "-t", "1"]);
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root_s = root.display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&root_s)),
        "mounts left under {root_s}"
    );
    assert!(leaks(&root, VALUE.as_bytes()).is_empty());
    escaping_targets_are_refused("embedded", "embedded-escape", &[root_env]);
    let _ = std::fs::remove_dir_all(&root);
}

/// The regular files under `dir` holding `needle`, outside containers' root filesystems
/// (their overlay directories) and the image store.
fn leaks(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let path = e.path();
        let Ok(t) = e.file_type() else { continue };
        let name = e.file_name();
        if t.is_dir() {
            if ["rootfs", "upper", "work", "images", "layers", "blobs"]
                .iter()
                .any(|n| name == *n)
            {
                continue;
            }
            out.extend(leaks(&path, needle));
        } else if t.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    out.push(path);
                }
            }
        }
    }
    out
}
