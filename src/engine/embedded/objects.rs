//! Named volumes of the embedded engine, and the engine's network entry points (the
//! networks themselves are in [`super::network`]).
//!
//! A volume is a directory `volumes/<name>/_data` with its record `volumes/<name>.json`;
//! `create` makes both, containers that name a missing volume create it (as Docker does),
//! and anonymous volumes get a random 64-hex name and the `com.docker.volume.anonymous`
//! label.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::containers::backend;
use super::follow::labels_match;
use super::record::ContainerRecord;
use super::state::{random_id, read_json, write_json, StateRoot};
use crate::engine::{
    ContainerSpec, EngineError, EngineResult, Labels, Mount, MountKind, NetworkInfo, NetworkSpec,
    VolumeInfo, VolumeSpec,
};

const ANONYMOUS: &str = "com.docker.volume.anonymous";

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct VolumeRecord {
    name: String,
    driver: String,
    labels: Labels,
    options: BTreeMap<String, String>,
    created: String,
}

/// Docker's rule for volume and network names.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn invalid(kind: &str, name: &str) -> EngineError {
    EngineError::Backend {
        message: format!(
            "invalid {kind} name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        ),
    }
}

fn volume_record_path(st: &StateRoot, name: &str) -> PathBuf {
    st.root().join("volumes").join(format!("{name}.json"))
}

/// The host directory of a volume's data.
pub fn volume_data(st: &StateRoot, name: &str) -> PathBuf {
    st.root().join("volumes").join(name).join("_data")
}

pub fn create_volume(st: &StateRoot, spec: &VolumeSpec) -> EngineResult<()> {
    if !valid_name(&spec.name) {
        return Err(invalid("volume", &spec.name));
    }
    if let Some(d) = spec.driver.as_deref().filter(|d| *d != "local") {
        return Err(EngineError::Backend {
            message: format!(
                "volume driver '{d}' is not supported by the embedded engine (only 'local')"
            ),
        });
    }
    if !spec.driver_opts.is_empty() {
        return Err(EngineError::Backend {
            message: format!(
                "volume {}: driver_opts are not supported by the embedded engine yet",
                spec.name
            ),
        });
    }
    let rp = volume_record_path(st, &spec.name);
    if rp.exists() {
        return Ok(());
    }
    let data = volume_data(st, &spec.name);
    std::fs::create_dir_all(&data).map_err(backend)?;
    // The data directory is what containers see: world-traversable like Docker's.
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(backend)?;
    let rec = VolumeRecord {
        name: spec.name.clone(),
        driver: "local".into(),
        labels: spec.labels.clone(),
        options: spec.driver_opts.clone(),
        created: super::record::now_rfc3339(),
    };
    write_json(&rp, &rec).map_err(backend)
}

pub fn find_volume(st: &StateRoot, name: &str) -> EngineResult<Option<VolumeInfo>> {
    Ok(read_json::<VolumeRecord>(&volume_record_path(st, name))
        .map_err(backend)?
        .map(|r| VolumeInfo {
            name: r.name,
            labels: r.labels,
        }))
}

pub fn list_volumes(st: &StateRoot, filter: &[String]) -> EngineResult<Vec<VolumeInfo>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(st.root().join("volumes"))
        .map_err(backend)?
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = n.strip_suffix(".json") {
            if let Some(v) = find_volume(st, name)? {
                if labels_match(&v.labels, filter) {
                    out.push(v);
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes a volume; refused while a container (running or not) uses it, like Docker.
pub fn remove_volume(st: &StateRoot, name: &str) -> EngineResult<()> {
    if find_volume(st, name)?.is_none() {
        return Err(EngineError::NotFound {
            what: format!("volume {name}"),
        });
    }
    let data = volume_data(st, name);
    for (rec, _) in super::containers::all(st)? {
        if rec.mount_sources.contains(&data) {
            return Err(EngineError::Conflict {
                message: format!("remove {name}: volume is in use - [{}]", rec.id),
            });
        }
    }
    // remove_dir_all never follows symlinks: a link planted in the volume stays a link.
    std::fs::remove_dir_all(st.root().join("volumes").join(name)).map_err(backend)?;
    std::fs::remove_file(volume_record_path(st, name)).map_err(backend)
}

/// Host sources for a service's mounts, creating named (and anonymous) volumes on first use
/// and bind sources when `create_host_path` allows.
pub fn mount_sources(st: &StateRoot, mounts: &[Mount]) -> EngineResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for m in mounts {
        let p = match m.kind {
            MountKind::Volume => {
                let (name, labels) = if m.source.is_empty() {
                    let mut l = Labels::new();
                    l.insert(ANONYMOUS.into(), String::new());
                    (random_id(), l)
                } else {
                    (m.source.clone(), Labels::new())
                };
                create_volume(
                    st,
                    &VolumeSpec {
                        name: name.clone(),
                        labels,
                        ..Default::default()
                    },
                )?;
                volume_data(st, &name)
            }
            MountKind::Bind => {
                let p = PathBuf::from(&m.source);
                if !p.is_absolute() {
                    return Err(EngineError::Backend {
                        message: format!("bind source '{}' must be an absolute path", m.source),
                    });
                }
                if !p.exists() {
                    if m.create_host_path {
                        std::fs::create_dir_all(&p).map_err(backend)?;
                    } else {
                        return Err(EngineError::Backend {
                            message: format!(
                                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                                m.source
                            ),
                        });
                    }
                }
                p
            }
            MountKind::Tmpfs => PathBuf::new(),
        };
        out.push(p);
    }
    Ok(out)
}

/// The mounts a container takes from `volumes_from` (Docker's `VolumesFrom`): every volume,
/// bind and long-syntax tmpfs of the named containers, read-only when the source mount is or
/// the mode says `ro`, skipped where the container mounts something of its own. Volumes are
/// referred to by name, so they are never filled from the image again.
pub fn volumes_from(
    st: &StateRoot,
    spec: &ContainerSpec,
) -> EngineResult<(Vec<Mount>, Vec<PathBuf>)> {
    let mut mounts: Vec<Mount> = Vec::new();
    let mut sources = Vec::new();
    for entry in &spec.volumes_from {
        let (name, mode) = match entry.rsplit_once(':') {
            Some((name, mode)) => (name, mode),
            None => (entry.as_str(), "rw"),
        };
        let read_only = match mode {
            "ro" => true,
            "rw" => false,
            _ => {
                return Err(EngineError::Backend {
                    message: format!("invalid mode for volumes-from: {entry}"),
                })
            }
        };
        let (rec, _) = super::containers::find(st, name)?;
        for (m, src) in rec.spec.mounts.iter().zip(&rec.mount_sources) {
            let taken = |t: &str| {
                spec.mounts
                    .iter()
                    .chain(&mounts)
                    .any(|o| clean(&o.target) == clean(t))
            };
            if m.tmpfs_options.is_some() || taken(&m.target) {
                continue;
            }
            let mut m = m.clone();
            m.read_only |= read_only;
            m.no_copy = true;
            if m.kind == MountKind::Volume {
                m.source = volume_name_of(src).unwrap_or_default();
            }
            mounts.push(m);
            sources.push(src.clone());
        }
    }
    Ok((mounts, sources))
}

/// A mount target as a clean container path (targets compare equal whatever their slashes).
pub(super) fn clean(target: &str) -> PathBuf {
    super::runtime_spec::mounts::clean_container_path(target)
        .unwrap_or_else(|| PathBuf::from(target))
}

/// The name of the volume whose data directory is `data` (`volumes/<name>/_data`).
pub fn volume_name_of(data: &Path) -> Option<String> {
    data.parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
}

/// The volumes to fill from the image when the container is created (Docker's copy-up): the
/// volume mounts without `nocopy` whose data directory is empty.
pub fn volumes_to_populate(
    mounts: &[Mount],
    sources: &[PathBuf],
) -> EngineResult<Vec<super::copy_up::Populate>> {
    let mut out = Vec::new();
    for (m, data) in mounts.iter().zip(sources) {
        if m.kind != MountKind::Volume || m.no_copy {
            continue;
        }
        if super::copy_up::is_empty_dir(data).map_err(backend)? {
            out.push(super::copy_up::Populate {
                target: m.target.clone(),
                data: data.clone(),
            });
        }
    }
    Ok(out)
}

/// `rm -v`: the anonymous volumes of a removed container go too (those it took over from the
/// container it replaced included), unless another container still uses them.
pub fn remove_anonymous_volumes(st: &StateRoot, rec: &ContainerRecord) -> EngineResult<()> {
    for (m, p) in rec.spec.mounts.iter().zip(&rec.mount_sources) {
        if m.kind != MountKind::Volume {
            continue;
        }
        let Some(name) = volume_name_of(p) else {
            continue;
        };
        if find_volume(st, &name)?.is_some_and(|v| v.labels.contains_key(ANONYMOUS)) {
            match remove_volume(st, &name) {
                // Docker ignores "in use" here: the volume is someone else's now.
                Err(EngineError::Conflict { .. }) => {}
                other => other?,
            }
        }
    }
    Ok(())
}

pub fn create_network(st: &StateRoot, spec: &NetworkSpec) -> EngineResult<String> {
    super::network::store::create(st, spec)
}

pub fn find_network(st: &StateRoot, name: &str) -> EngineResult<Option<NetworkInfo>> {
    super::network::store::find(st, name)
}

pub fn list_networks(st: &StateRoot, filter: &[String]) -> EngineResult<Vec<NetworkInfo>> {
    super::network::store::list(st, filter)
}

pub fn remove_network(st: &StateRoot, name: &str) -> EngineResult<()> {
    super::network::store::remove(st, name)
}
