//! A service's `secrets:` and `configs:` as the files its containers see
//! ([`InjectedFile`]), the way Docker Compose v2.40 places them (`pkg/compose/create.go`
//! `buildContainerSecretMounts`/`buildContainerConfigMounts`, `secrets.go` `injectSecrets`/
//! `injectConfigs`):
//!
//! - a secret goes to `/run/secrets/<key>` by default, a relative `target` under
//!   `/run/secrets/`; a config to `/<key>`, a relative `target` under `/`; an absolute
//!   target is kept;
//! - a `file:` source is a read-only bind of the host file (`uid`, `gid` and `mode` are
//!   ignored, with Compose's warning); `environment:` and `content:` sources are written for
//!   the container with `mode` (default 0444) and `uid`/`gid` (default 0); an empty value
//!   gives no file at all, as in Compose;
//! - `external` ones, `driver` and `template_driver` are refused with Compose's messages.
//!
//! Unlike Compose, a target that `..` takes out of its base directory
//! (`../../etc/passwd`), or that is the base directory itself, is refused: the reliability
//! plan (c.3 item 17) wants secrets confined to where the service says they are.
//!
//! When two files (or a file and a service mount) share a target, Compose keeps the service
//! mount, then secrets over configs, and the last entry of each list: the same here.
//!
//! Pure: the environment comes from the caller (the one used for interpolation, as Compose's
//! `project.Environment`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::engine::{FileContent, FileKind, FileSource, InjectedFile};
use crate::spec::model::{FileObject, FileReference, Project, Service};

/// Where secrets go when their target is not absolute.
pub const SECRETS_DIR: &str = "/run/secrets";

/// Docker Compose's mode for `environment:` and `content:` files.
pub const DEFAULT_MODE: u32 = 0o444;

/// The variables `environment:` secrets and configs read. Its `Debug` shows the names only:
/// the values may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment(pub BTreeMap<String, String>);

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Environment(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Why a service's secrets or configs cannot be given to its containers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("service `{service}`: {kind} `{name}` has target `{target}`, which leaves {base}")]
    EscapingTarget {
        service: String,
        kind: FileKind,
        name: String,
        target: String,
        base: &'static str,
    },
    /// Compose's message (`unsupported external secret db_password`).
    #[error("unsupported external {kind} {name}")]
    External { kind: FileKind, name: String },
    /// Compose's message.
    #[error("Docker Compose does not support {kind}s.*.{setting}")]
    Unsupported {
        kind: FileKind,
        setting: &'static str,
    },
    /// Compose's message.
    #[error("environment variable \"{variable}\" required by {kind} \"{name}\" is not set")]
    MissingVariable {
        variable: String,
        kind: FileKind,
        name: String,
    },
    #[error("service `{service}`: {kind} `{name}` has {field} `{value}`, which is not a number")]
    BadId {
        service: String,
        kind: FileKind,
        name: String,
        field: &'static str,
        value: String,
    },
    #[error("service `{service}` refers to undefined {kind} {name}")]
    Undefined {
        service: String,
        kind: FileKind,
        name: String,
    },
    #[error("{kind} `{name}` has no source: set `file`, `environment`{content}")]
    NoSource {
        kind: FileKind,
        name: String,
        content: &'static str,
    },
}

/// The files of one service, and Compose's warnings about them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceFiles {
    pub files: Vec<InjectedFile>,
    pub warnings: Vec<String>,
}

/// The base directory of relative targets of `kind`.
fn base_dir(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Secret => SECRETS_DIR,
        FileKind::Config => "/",
    }
}

/// Where the file of entry `key` (with `target` as written, maybe empty) goes: absolute and
/// lexically clean. `Err(base)` when the target leaves its base directory (for an absolute
/// target: when it names `/` itself, or `..` climbs above it).
pub fn resolve_target(kind: FileKind, key: &str, target: &str) -> Result<String, &'static str> {
    let base = base_dir(kind);
    let (joined, base) = if target.is_empty() {
        (format!("{}/{key}", base.trim_end_matches('/')), base)
    } else if target.starts_with('/') {
        (target.to_string(), "/")
    } else {
        (format!("{}/{target}", base.trim_end_matches('/')), base)
    };
    let out = clean(&joined).ok_or(base)?;
    if out == Path::new(base) || !out.starts_with(base) {
        return Err(base);
    }
    Ok(out.to_string_lossy().into_owned())
}

/// `path` (absolute) lexically cleaned (`//`, `.`, `..`, a trailing `/`); `None` when a
/// `..` climbs above `/`.
fn clean(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// The secrets and configs of `svc`, in the order an engine should apply them, without
/// those a service mount (or a later entry) shadows.
pub fn service_files(
    project: &Project,
    svc: &Service,
    env: &Environment,
) -> Result<ServiceFiles, FileError> {
    let mut out = ServiceFiles::default();
    let mut taken: Vec<String> = svc
        .volumes
        .iter()
        .filter_map(|v| clean(&v.target))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for (kind, refs, defs) in [
        (FileKind::Secret, &svc.secrets, &project.secrets),
        (FileKind::Config, &svc.configs, &project.configs),
    ] {
        let mut of_kind: Vec<InjectedFile> = Vec::new();
        for r in refs {
            let Some(file) = one_file(svc, kind, r, defs, env, &mut out.warnings)? else {
                continue;
            };
            // The last entry for a target wins within a list (Compose fills a map).
            of_kind.retain(|f| f.target != file.target);
            of_kind.push(file);
        }
        of_kind.retain(|f| !taken.contains(&f.target));
        taken.extend(of_kind.iter().map(|f| f.target.clone()));
        out.files.extend(of_kind);
    }
    Ok(out)
}

/// The file of one `secrets:`/`configs:` entry; `None` for an empty value (Compose writes
/// nothing then).
fn one_file(
    svc: &Service,
    kind: FileKind,
    r: &FileReference,
    defs: &BTreeMap<String, FileObject>,
    env: &Environment,
    warnings: &mut Vec<String>,
) -> Result<Option<InjectedFile>, FileError> {
    let def = defs.get(&r.source).ok_or_else(|| FileError::Undefined {
        service: svc.name.clone(),
        kind,
        name: r.source.clone(),
    })?;
    let display_name = if def.name.is_empty() {
        r.source.clone()
    } else {
        def.name.clone()
    };
    if def.external {
        return Err(FileError::External {
            kind,
            name: display_name,
        });
    }
    if !def.driver.is_empty() {
        return Err(FileError::Unsupported {
            kind,
            setting: "driver",
        });
    }
    if !def.template_driver.is_empty() {
        return Err(FileError::Unsupported {
            kind,
            setting: "template_driver",
        });
    }
    let target =
        resolve_target(kind, &r.source, &r.target).map_err(|base| FileError::EscapingTarget {
            service: svc.name.clone(),
            kind,
            name: r.source.clone(),
            target: if r.target.is_empty() {
                format!("{}/{}", base_dir(kind).trim_end_matches('/'), r.source)
            } else {
                r.target.clone()
            },
            base,
        })?;
    let content = if !def.environment.is_empty() {
        Some(
            env.0
                .get(&def.environment)
                .ok_or_else(|| FileError::MissingVariable {
                    variable: def.environment.clone(),
                    kind,
                    name: display_name.clone(),
                })?
                .clone(),
        )
    } else {
        def.content.clone()
    };
    let source = match content {
        Some(c) if c.is_empty() => return Ok(None),
        Some(c) => {
            let id = |field: &'static str, value: &str| -> Result<u32, FileError> {
                if value.is_empty() {
                    return Ok(0);
                }
                value.parse().map_err(|_| FileError::BadId {
                    service: svc.name.clone(),
                    kind,
                    name: r.source.clone(),
                    field,
                    value: value.to_string(),
                })
            };
            FileSource::Content(FileContent {
                data: c.into_bytes(),
                uid: id("uid", &r.uid)?,
                gid: id("gid", &r.gid)?,
                mode: r.mode.map_or(DEFAULT_MODE, |m| m.0),
            })
        }
        None if def.file.is_empty() => {
            return Err(FileError::NoSource {
                kind,
                name: r.source.clone(),
                content: match kind {
                    FileKind::Secret => "",
                    FileKind::Config => " or `content`",
                },
            })
        }
        None => {
            if !r.uid.is_empty() || !r.gid.is_empty() || r.mode.is_some() {
                // Compose's words (it says "secrets" but "config").
                let what = match kind {
                    FileKind::Secret => "secrets",
                    FileKind::Config => "config",
                };
                warnings.push(format!(
                    "{what} `uid`, `gid` and `mode` are not supported, they will be ignored"
                ));
            }
            FileSource::HostFile(PathBuf::from(&def.file))
        }
    };
    Ok(Some(InjectedFile {
        kind,
        name: r.source.clone(),
        target,
        source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{FileMode, ServiceVolume};

    #[test]
    fn targets_default_relative_and_absolute() {
        use FileKind::*;
        assert_eq!(resolve_target(Secret, "db", "").unwrap(), "/run/secrets/db");
        assert_eq!(
            resolve_target(Secret, "db", "pw").unwrap(),
            "/run/secrets/pw"
        );
        assert_eq!(
            resolve_target(Secret, "db", "a/./b//c/").unwrap(),
            "/run/secrets/a/b/c"
        );
        assert_eq!(
            resolve_target(Secret, "db", "a/../b").unwrap(),
            "/run/secrets/b"
        );
        assert_eq!(resolve_target(Secret, "db", "/etc/pw").unwrap(), "/etc/pw");
        assert_eq!(resolve_target(Config, "app", "").unwrap(), "/app");
        assert_eq!(
            resolve_target(Config, "app", "etc/app.conf").unwrap(),
            "/etc/app.conf"
        );
        assert_eq!(
            resolve_target(Config, "app", "/etc/../opt/app.conf").unwrap(),
            "/opt/app.conf"
        );
    }

    #[test]
    fn escaping_targets_are_refused() {
        use FileKind::*;
        assert_eq!(
            resolve_target(Secret, "s", "../../etc/evil"),
            Err(SECRETS_DIR)
        );
        assert_eq!(resolve_target(Secret, "s", "../x"), Err(SECRETS_DIR));
        // A sibling directory is outside; a path that comes back inside is not.
        assert_eq!(
            resolve_target(Secret, "s", "../secrets2/x"),
            Err(SECRETS_DIR)
        );
        assert_eq!(
            resolve_target(Secret, "s", "../secrets/x").unwrap(),
            "/run/secrets/x"
        );
        assert_eq!(resolve_target(Secret, "s", "."), Err(SECRETS_DIR));
        assert_eq!(resolve_target(Secret, "..", ""), Err(SECRETS_DIR));
        assert_eq!(resolve_target(Config, "c", "../etc/x"), Err("/"));
        assert_eq!(resolve_target(Config, "c", "/../etc/x"), Err("/"));
        assert_eq!(resolve_target(Config, "c", "/"), Err("/"));
    }

    fn project() -> Project {
        let yaml_obj = |f: &dyn Fn(&mut FileObject)| {
            let mut o = FileObject::default();
            f(&mut o);
            o
        };
        let mut p = Project {
            name: "p".into(),
            ..Default::default()
        };
        p.secrets.insert(
            "fsec".into(),
            yaml_obj(&|o| {
                o.name = "p_fsec".into();
                o.file = "/host/s.txt".into();
            }),
        );
        p.secrets.insert(
            "esec".into(),
            yaml_obj(&|o| {
                o.name = "p_esec".into();
                o.environment = "MYSEC".into();
            }),
        );
        p.secrets.insert(
            "ext".into(),
            yaml_obj(&|o| {
                o.name = "ext".into();
                o.external = true;
            }),
        );
        p.configs.insert(
            "ccfg".into(),
            yaml_obj(&|o| {
                o.name = "p_ccfg".into();
                o.content = Some("config text".into());
            }),
        );
        p.configs.insert(
            "empty".into(),
            yaml_obj(&|o| {
                o.name = "p_empty".into();
                o.content = Some(String::new());
            }),
        );
        p
    }

    fn reference(source: &str, target: &str) -> FileReference {
        FileReference {
            source: source.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    fn env() -> Environment {
        [("MYSEC", "s3cr3t")].into_iter().collect()
    }

    #[test]
    fn sources_modes_and_owners() {
        let p = project();
        let svc = Service {
            name: "app".into(),
            secrets: vec![
                reference("fsec", ""),
                FileReference {
                    uid: "1000".into(),
                    gid: "2000".into(),
                    mode: Some(FileMode(0o400)),
                    ..reference("esec", "custom")
                },
            ],
            configs: vec![reference("ccfg", ""), reference("empty", "")],
            ..Default::default()
        };
        let got = service_files(&p, &svc, &env()).unwrap();
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        let summary: Vec<(String, FileSource)> = got
            .files
            .iter()
            .map(|f| (f.target.clone(), f.source.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "/run/secrets/fsec".into(),
                    FileSource::HostFile("/host/s.txt".into())
                ),
                (
                    "/run/secrets/custom".into(),
                    FileSource::Content(FileContent {
                        data: b"s3cr3t".to_vec(),
                        uid: 1000,
                        gid: 2000,
                        mode: 0o400
                    })
                ),
                (
                    "/ccfg".into(),
                    FileSource::Content(FileContent {
                        data: b"config text".to_vec(),
                        uid: 0,
                        gid: 0,
                        mode: 0o444
                    })
                ),
            ]
        );
    }

    #[test]
    fn file_sources_warn_about_owner_and_mode() {
        let svc = Service {
            name: "app".into(),
            secrets: vec![FileReference {
                mode: Some(FileMode(0o400)),
                ..reference("fsec", "")
            }],
            ..Default::default()
        };
        let got = service_files(&project(), &svc, &env()).unwrap();
        assert_eq!(
            got.warnings,
            vec!["secrets `uid`, `gid` and `mode` are not supported, they will be ignored"]
        );
    }

    #[test]
    fn shadowed_targets_keep_mounts_then_secrets_then_the_last() {
        let svc = Service {
            name: "app".into(),
            volumes: vec![ServiceVolume {
                kind: "bind".into(),
                source: "/x".into(),
                target: "/run/secrets/fsec/".into(),
                ..Default::default()
            }],
            secrets: vec![
                reference("fsec", ""),
                reference("fsec", "/etc/a"),
                reference("esec", "/etc/a"),
            ],
            configs: vec![reference("ccfg", "/etc/a"), reference("ccfg", "/etc/b")],
            ..Default::default()
        };
        let got = service_files(&project(), &svc, &env()).unwrap();
        let summary: Vec<(&str, &str)> = got
            .files
            .iter()
            .map(|f| (f.name.as_str(), f.target.as_str()))
            .collect();
        assert_eq!(summary, vec![("esec", "/etc/a"), ("ccfg", "/etc/b")]);
    }

    #[test]
    fn refusals_carry_composes_messages() {
        let p = project();
        let with = |secrets: Vec<FileReference>| Service {
            name: "app".into(),
            secrets,
            ..Default::default()
        };
        let err =
            |svc: Service, env: &Environment| service_files(&p, &svc, env).unwrap_err().to_string();
        assert_eq!(
            err(with(vec![reference("ext", "")]), &env()),
            "unsupported external secret ext"
        );
        assert_eq!(
            err(with(vec![reference("esec", "")]), &Environment::default()),
            "environment variable \"MYSEC\" required by secret \"p_esec\" is not set"
        );
        let escaping = err(with(vec![reference("esec", "../../etc/evil")]), &env());
        assert!(
            escaping.contains("service `app`")
                && escaping.contains("secret `esec`")
                && escaping.contains("../../etc/evil")
                && escaping.contains("/run/secrets"),
            "{escaping}"
        );
        let bad_uid = err(
            with(vec![FileReference {
                uid: "root".into(),
                ..reference("esec", "")
            }]),
            &env(),
        );
        assert!(bad_uid.contains("uid `root`"), "{bad_uid}");
    }

    #[test]
    fn debug_output_never_shows_values() {
        let svc = Service {
            name: "app".into(),
            secrets: vec![reference("esec", "")],
            ..Default::default()
        };
        let env = env();
        let got = service_files(&project(), &svc, &env).unwrap();
        let shown = format!("{got:?} {env:?} {:#?}", got.files);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("6 bytes redacted") && shown.contains("MYSEC"),
            "{shown}"
        );
    }
}
