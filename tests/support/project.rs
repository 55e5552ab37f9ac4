//! A compose project in a temporary directory, driven through the real `rcompose` binary on
//! one engine (shared by the real-engine test files).

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Project {
    pub dir: PathBuf,
    pub name: String,
    /// `embedded` or `docker`.
    pub engine: String,
    /// Extra environment for every command (e.g. `RCOMPOSE_ROOT`).
    pub env: Vec<(String, String)>,
}

impl Project {
    /// A project named `<prefix>-<tag>-<pid>` with `compose` as its compose.yaml (`$IMAGE`
    /// replaced by `image`).
    pub fn new(prefix: &str, tag: &str, engine: &str, image: &str, compose: &str) -> Project {
        let name = format!("{prefix}-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("compose.yaml"), compose.replace("$IMAGE", image)).unwrap();
        Project {
            dir,
            name,
            engine: engine.to_string(),
            env: Vec::new(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rcompose"));
        c.current_dir(&self.dir)
            .env("RCOMPOSE_ENGINE", &self.engine)
            .env("COMPOSE_PROJECT_NAME", &self.name)
            .args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs rcompose; a panic in it fails the test.
    pub fn rcompose(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "panic in rcompose {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs rcompose and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
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

    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

/// A test that fails part-way leaves nothing running: its project is taken down (with its
/// volumes, all test data) so that the next run does not meet its networks ("Pool
/// overlaps") or ports. A test that passes takes its project down itself and checks it.
impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let out = self
                .command(&["down", "-v", "--remove-orphans", "-t", "0"])
                .output();
            if !out.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!(
                    "cleanup of {} after the failure did not succeed: {out:?}",
                    self.name
                );
            }
        }
    }
}
