//! Golden tests of `config` output. Each directory under `tests/golden/` is a project; its
//! optional `args` file holds extra global arguments (one per line) and `env` holds
//! `KEY=VALUE` lines. `expected.json` and `expected.yaml` were produced by Docker Compose
//! v2.40.3 (`config --format json|yaml`) with the case directory replaced by `@DIR@`:
//! the JSON must be equal as a value, the YAML byte for byte.
//! `UPDATE_GOLDEN=1` rewrites the expectations from rcompose's own output instead (review
//! the diff against the reference before committing).

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
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

fn run(dir: &Path, format: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcompose"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent");
    for kv in lines(&dir.join("env")) {
        let (k, v) = kv.split_once('=').unwrap();
        cmd.env(k, v);
    }
    cmd.args(lines(&dir.join("args")))
        .args(["config", "--format", format]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(&dir.display().to_string(), "@DIR@")
}

fn check(format: &str) {
    let mut failures = Vec::new();
    for dir in cases() {
        let got = run(&dir, format);
        let path = dir.join(format!("expected.{format}"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap();
        let same = if format == "json" {
            serde_json::from_str::<serde_json::Value>(&got).unwrap()
                == serde_json::from_str::<serde_json::Value>(&want).unwrap()
        } else {
            got == want
        };
        if !same {
            failures.push(format!(
                "{}:\n--- want\n{want}\n--- got\n{got}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_equals_docker_compose() {
    check("json");
}

#[test]
fn yaml_equals_docker_compose() {
    check("yaml");
}
