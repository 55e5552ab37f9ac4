//! Golden tests of the service config hash (`config --hash '*'`), which is also the
//! `com.docker.compose.config-hash` label the engines write: it must equal Docker Compose's,
//! or each tool would recreate the other's containers.
//!
//! The hash covers absolute paths (env files, bind mounts), so each case under
//! `tests/golden-hash/` is copied to a fixed directory, `/tmp/rcompose-hash-golden/<case>`,
//! where `expected.hash` was produced by Docker Compose v2.40.3 (`args` holds extra global
//! arguments, one per line; `env` holds `KEY=VALUE` lines).

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|s| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn config_hash_equals_docker_compose() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden-hash");
    let mut failures = Vec::new();
    for case in std::fs::read_dir(&root).unwrap() {
        let case = case.unwrap().path();
        let name = case.file_name().unwrap().to_owned();
        let dir = Path::new("/tmp/rcompose-hash-golden").join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&case, &dir);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcompose"));
        cmd.current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/nonexistent");
        for kv in lines(&dir.join("env")) {
            let (k, v) = kv.split_once('=').unwrap();
            cmd.env(k, v);
        }
        let out = cmd
            .args(lines(&dir.join("args")))
            .args(["config", "--hash", "*"])
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout).into_owned();
        let want = std::fs::read_to_string(case.join("expected.hash")).unwrap();
        if !out.status.success() || got != want {
            failures.push(format!(
                "{}:\n--- want\n{want}--- got\n{got}--- stderr\n{}",
                case.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
