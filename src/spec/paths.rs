//! Relative path resolution, per file, on the canonical tree.
//!
//! Each file is resolved against its own base directory before merging: the project
//! directory for `-f` files (override files resolve against the first file's directory, like
//! Compose), the file's directory for `extends: {file}` sources, and the include's
//! `project_directory` for included files. `~` expands to `$HOME`.

use std::path::Path;

use super::environment::absolutize;
use super::node::{Node, Value};

/// Settings of one resolution pass.
pub struct Resolver<'a> {
    pub base: &'a Path,
    pub home: &'a str,
    /// Give `build` without `context` the base directory (included / extended files).
    pub default_build_context: bool,
}

impl Resolver<'_> {
    /// Resolves a host path: `~` expansion, then relative to the base directory. Windows
    /// absolute paths (`C:\x`) are kept as written, as compose-go does.
    pub fn host_path(&self, p: &str) -> String {
        if p == "~" {
            return self.home.to_string();
        }
        if let Some(rest) = p.strip_prefix("~/") {
            return format!("{}/{}", self.home.trim_end_matches('/'), rest);
        }
        if p.starts_with('/') || is_windows_abs(p) {
            return p.to_string();
        }
        absolutize(self.base, p)
    }

    pub fn file(&self, root: &mut Node) {
        if let Some(services) = root.get_mut("services").and_then(|s| s.as_map_mut()) {
            for entry in services.values_mut() {
                self.service(&mut entry.value);
            }
        }
        for kind in ["secrets", "configs"] {
            if let Some(items) = root.get_mut(kind).and_then(|s| s.as_map_mut()) {
                for entry in items.values_mut() {
                    if let Some(f) = entry.value.get_mut("file") {
                        self.string(f, |s| self.host_path(s));
                    }
                }
            }
        }
        if let Some(items) = root.get_mut("volumes").and_then(|s| s.as_map_mut()) {
            for entry in items.values_mut() {
                self.volume_device(&mut entry.value);
            }
        }
    }

    fn string(&self, node: &mut Node, f: impl Fn(&str) -> String) {
        if let Value::String(s) = &node.value {
            node.value = Value::String(f(s));
        }
    }

    /// A local bind-mount volume (`driver_opts: {o: bind, device: ./x}`) points at a host path.
    fn volume_device(&self, node: &mut Node) {
        let Some(opts) = node.get_mut("driver_opts") else {
            return;
        };
        let is_bind = opts
            .get("o")
            .and_then(|o| o.as_str())
            .map(|o| o.split(',').any(|x| x == "bind"))
            .unwrap_or(false);
        if !is_bind {
            return;
        }
        if let Some(dev) = opts.get_mut("device") {
            self.string(dev, |s| self.host_path(s));
        }
    }

    fn service(&self, svc: &mut Node) {
        let Some(map) = svc.as_map_mut() else { return };
        if let Some(build) = map.get_mut("build") {
            if let Some(b) = build.value.as_map_mut() {
                match b.get_mut("context") {
                    Some(ctx) => self.string(&mut ctx.value, |s| {
                        if is_remote_context(s) {
                            s.to_string()
                        } else {
                            self.host_path(s)
                        }
                    }),
                    None if self.default_build_context => {
                        let span = build.key_span;
                        b.insert(
                            "context".into(),
                            super::node::Entry {
                                key_span: span,
                                value: Node::string(self.base.display().to_string(), span),
                            },
                        );
                    }
                    None => {}
                }
                if let Some(ac) = b
                    .get_mut("additional_contexts")
                    .and_then(|a| a.value.as_map_mut())
                {
                    for e in ac.values_mut() {
                        self.string(&mut e.value, |s| {
                            if is_local_context(s) {
                                self.host_path(s)
                            } else {
                                s.to_string()
                            }
                        });
                    }
                }
            }
        }
        if let Some(items) = map.get_mut("env_file").and_then(|e| e.value.as_seq_mut()) {
            for item in items.iter_mut() {
                if let Some(p) = item.get_mut("path") {
                    self.string(p, |s| self.host_path(s));
                }
            }
        }
        if let Some(items) = map.get_mut("label_file").and_then(|e| e.value.as_seq_mut()) {
            for item in items.iter_mut() {
                self.string(item, |s| self.host_path(s));
            }
        }
        if let Some(ext) = map.get_mut("extends") {
            if let Some(f) = ext.value.get_mut("file") {
                // A remote source is kept as written, for the loader to refuse by name.
                if !f.as_str().is_some_and(is_remote_source) {
                    self.string(f, |s| self.host_path(s));
                }
            }
        }
        if let Some(items) = map.get_mut("volumes").and_then(|e| e.value.as_seq_mut()) {
            for item in items.iter_mut() {
                if item.get("type").and_then(|t| t.as_str()) != Some("bind") {
                    continue;
                }
                if let Some(src) = item.get_mut("source") {
                    self.string(src, |s| self.host_path(s));
                }
            }
        }
        if let Some(items) = map
            .get_mut("develop")
            .and_then(|d| d.value.get_mut("watch"))
            .and_then(|w| w.as_seq_mut())
        {
            for item in items.iter_mut() {
                if let Some(p) = item.get_mut("path") {
                    self.string(p, |s| self.host_path(s));
                }
            }
        }
    }
}

/// `C:\x` or `C:/x`.
pub fn is_windows_abs(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// Build contexts that are URLs or git references are not paths.
pub fn is_remote_context(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@") || s.starts_with("github.com/")
}

/// `additional_contexts` values that are host paths (not `service:x`, `docker-image://...`).
fn is_local_context(s: &str) -> bool {
    if is_windows_abs(s) {
        return true;
    }
    match s.find(':') {
        Some(i) => s[..i].contains('/'),
        None => true,
    }
}

/// Whether an `include` or `extends` source names a remote resource (an OCI artifact or a git
/// repository) rather than a local file. Docker Compose fetches these; rcompose refuses them
/// (remote sources ran code paths with known path-traversal bugs, CVE-2025-62725).
pub fn is_remote_source(p: &str) -> bool {
    p.contains("://") || p.starts_with("git@") || p.starts_with("github.com/")
}
