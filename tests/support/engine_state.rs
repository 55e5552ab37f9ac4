//! Engine-neutral inspection for the scenario tests: what a test asks about containers,
//! volumes, networks and images, answered on the engine chosen by `RCOMPOSE_TEST_ENGINE`
//! (`docker`, the default, or `embedded`).
//!
//! On `docker` every question is the `docker` CLI call the scenarios always made
//! (`docker inspect -f ...`, `docker volume inspect`, `docker exec`, ...). On `embedded` the
//! answer comes from the engine's state directory, read with the engine's own readers
//! (`record.json`/`status.json` per container with the live-process check, the volume and
//! network records, the image name index); `exec` goes through `rcompose exec`.
//!
//! On `embedded` each test process gets its own state directory (`RCOMPOSE_ROOT`,
//! `<tmp>/rcompose-scen-<pid>`; those of finished processes are removed at the next start
//! when nothing is mounted under them), every rcompose command gets
//! `RCOMPOSE_REGISTRY_MIRROR=127.0.0.1:5000` so that the compose files' Docker Hub names are
//! pulled from the local registry, and the tests must run as root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use rcompose::engine::embedded::containers;
use rcompose::engine::embedded::objects;
use rcompose::engine::embedded::record::{ContainerRecord, ContainerStatus, HealthStatus};
use rcompose::engine::embedded::state::StateRoot;
use rcompose::engine::embedded::store::images::{normalize_reference, ImageStore};
use rcompose::engine::{RestartPolicy, VolumeSpec};

/// The local registry of `scripts/docker-env.sh`, the embedded engine's Docker Hub mirror.
pub const MIRROR: &str = "127.0.0.1:5000";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Embedded,
}

/// The engine under test and, for `embedded`, this process's state directory.
pub struct TestEngine {
    pub kind: Kind,
    root: Option<PathBuf>,
}

/// The engine of this test process (`RCOMPOSE_TEST_ENGINE`), set up once.
pub fn engine() -> &'static TestEngine {
    static ENGINE: OnceLock<TestEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        match std::env::var("RCOMPOSE_TEST_ENGINE")
            .unwrap_or_else(|_| "docker".into())
            .as_str()
        {
            "docker" => TestEngine {
                kind: Kind::Docker,
                root: None,
            },
            "embedded" => {
                // SAFETY: geteuid has no preconditions.
                assert!(
                    unsafe { libc::geteuid() } == 0,
                    "RCOMPOSE_TEST_ENGINE=embedded needs root (the README test command runs as root)"
                );
                remove_stale_roots();
                let root = scen_root(std::process::id());
                let _ = std::fs::remove_dir_all(&root);
                std::fs::create_dir_all(&root).expect("state directory");
                TestEngine {
                    kind: Kind::Embedded,
                    root: Some(root),
                }
            }
            other => panic!("RCOMPOSE_TEST_ENGINE={other}: expected docker or embedded"),
        }
    })
}

fn scen_root(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("rcompose-scen-{pid}"))
}

/// State directories of earlier test processes that are gone, when nothing is mounted
/// under them any more.
fn remove_stale_roots() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("rcompose-scen-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let path = e.path();
        let path_s = format!("{}/", path.display());
        if Path::new(&format!("/proc/{pid}")).exists() || mounts.contains(&path_s) {
            continue;
        }
        let _ = std::fs::remove_dir_all(&path);
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI")
}

pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
}

/// `docker inspect -f FORMAT NAME`, required to succeed.
fn inspect(name: &str, format: &str) -> String {
    docker_ok(&["inspect", "-f", format, name])
}

impl TestEngine {
    /// `docker` or `embedded` (the value of `RCOMPOSE_ENGINE` for rcompose).
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Docker => "docker",
            Kind::Embedded => "embedded",
        }
    }

    pub fn is_docker(&self) -> bool {
        self.kind == Kind::Docker
    }

    /// The embedded engine's state directory of this process.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The environment every rcompose command of a test gets.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("RCOMPOSE_ENGINE", self.name().to_string())];
        if let Some(root) = &self.root {
            env.push(("RCOMPOSE_ROOT", root.display().to_string()));
            env.push(("RCOMPOSE_REGISTRY_MIRROR", MIRROR.to_string()));
        }
        env
    }

    /// The rcompose binary with this engine's environment.
    pub fn rcompose(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rcompose"));
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// Fails (never skips) when the engine cannot run the scenarios: dockerd with the
    /// offline test image, or the local registry the embedded engine pulls from.
    pub fn require(&self, image: &str) {
        match self.kind {
            Kind::Docker => {
                let ready = Command::new("docker")
                    .args(["image", "inspect", image])
                    .output()
                    .is_ok_and(|o| o.status.success());
                assert!(
                    ready,
                    "no Docker engine with {image}: run scripts/docker-env.sh (the README test command does)"
                );
            }
            Kind::Embedded => {
                assert!(
                    std::net::TcpStream::connect(MIRROR).is_ok(),
                    "no registry on {MIRROR} for the embedded engine: run scripts/docker-env.sh \
                     (the README test command does)"
                );
            }
        }
    }

    fn state(&self) -> StateRoot {
        StateRoot::open(self.root.clone().expect("embedded state directory")).expect("state root")
    }

    /// The record and effective status of a container by name, id or id prefix.
    fn find(&self, c: &str) -> Option<(ContainerRecord, ContainerStatus)> {
        containers::find(&self.state(), c).ok()
    }

    fn get(&self, c: &str) -> (ContainerRecord, ContainerStatus) {
        self.find(c)
            .unwrap_or_else(|| panic!("no container {c} in {}", self.state().root().display()))
    }

    // ---- containers ----

    pub fn container_exists(&self, c: &str) -> bool {
        match self.kind {
            Kind::Docker => docker(&["inspect", c]).status.success(),
            Kind::Embedded => self.find(c).is_some(),
        }
    }

    /// `created`, `running`, `paused`, `restarting`, `exited` or `dead`.
    pub fn status(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.State.Status}}"),
            Kind::Embedded => serde_json::to_value(self.get(c).1.state)
                .expect("state")
                .as_str()
                .expect("state name")
                .to_string(),
        }
    }

    pub fn running(&self, c: &str) -> bool {
        match self.kind {
            Kind::Docker => docker(&["inspect", "-f", "{{.State.Running}}", c])
                .stdout
                .starts_with(b"true"),
            Kind::Embedded => self
                .find(c)
                .is_some_and(|(_, s)| serde_json::to_value(s.state).is_ok_and(|v| v == "running")),
        }
    }

    pub fn exit_code(&self, c: &str) -> i64 {
        match self.kind {
            Kind::Docker => inspect(c, "{{.State.ExitCode}}")
                .parse()
                .expect("exit code"),
            Kind::Embedded => self.get(c).1.exit_code.unwrap_or(0),
        }
    }

    /// `starting`, `healthy` or `unhealthy`.
    pub fn health(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.State.Health.Status}}"),
            Kind::Embedded => match self.get(c).1.health.map(|h| h.status) {
                Some(HealthStatus::Starting) => "starting".into(),
                Some(HealthStatus::Healthy) => "healthy".into(),
                Some(HealthStatus::Unhealthy) => "unhealthy".into(),
                None => String::new(),
            },
        }
    }

    /// The full container id.
    pub fn id(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.Id}}"),
            Kind::Embedded => self.get(c).0.id,
        }
    }

    /// The name, without Docker's leading `/`.
    pub fn name_of(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.Name}}").trim_start_matches('/').to_string(),
            Kind::Embedded => self.get(c).0.name,
        }
    }

    /// When its last run started (RFC 3339, as the engine writes it).
    pub fn started_at(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.State.StartedAt}}"),
            Kind::Embedded => self.get(c).1.started_at.unwrap_or_default(),
        }
    }

    /// When its last run ended (RFC 3339, as the engine writes it).
    pub fn finished_at(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.State.FinishedAt}}"),
            Kind::Embedded => self.get(c).1.finished_at.unwrap_or_default(),
        }
    }

    /// A label's value; empty when it is not set.
    pub fn label(&self, c: &str, key: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, &format!("{{{{index .Config.Labels \"{key}\"}}}}")),
            Kind::Embedded => self
                .get(c)
                .0
                .spec
                .labels
                .get(key)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Its environment (`K=V`).
    pub fn env_of(&self, c: &str) -> Vec<String> {
        match self.kind {
            Kind::Docker => serde_json::from_str(&inspect(c, "{{json .Config.Env}}")).expect("env"),
            Kind::Embedded => self.get(c).0.spec.env,
        }
    }

    /// Docker's restart policy name: `no`, `always`, `unless-stopped`, `on-failure`.
    pub fn restart_policy(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.HostConfig.RestartPolicy.Name}}"),
            Kind::Embedded => match self.get(c).0.spec.restart {
                RestartPolicy::No => "no",
                RestartPolicy::Always => "always",
                RestartPolicy::UnlessStopped => "unless-stopped",
                RestartPolicy::OnFailure(_) => "on-failure",
            }
            .into(),
        }
    }

    /// Its DNS aliases on one network.
    pub fn aliases(&self, c: &str, network: &str) -> Vec<String> {
        match self.kind {
            Kind::Docker => serde_json::from_str(&inspect(
                c,
                &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
            ))
            .map(|v: Option<Vec<String>>| v.unwrap_or_default())
            .expect("aliases"),
            Kind::Embedded => self
                .get(c)
                .0
                .endpoints
                .into_iter()
                .find(|e| e.network == network)
                .map(|e| e.aliases)
                .unwrap_or_default(),
        }
    }

    /// Whether it was created with published ports.
    pub fn has_port_bindings(&self, c: &str) -> bool {
        match self.kind {
            Kind::Docker => {
                inspect(c, "{{json .HostConfig.PortBindings}}").replace("null", "{}") != "{}"
            }
            Kind::Embedded => !self.get(c).0.spec.ports.is_empty(),
        }
    }

    /// `docker port C PORT/PROTO`: the host addresses a container port is published on, one
    /// a line.
    pub fn port(&self, c: &str, port_proto: &str) -> String {
        match self.kind {
            Kind::Docker => docker_ok(&["port", c, port_proto]),
            Kind::Embedded => {
                let (port, proto) = port_proto.split_once('/').unwrap_or((port_proto, "tcp"));
                let port: u16 = port.parse().expect("port");
                let (_, st) = self.get(c);
                st.ports
                    .iter()
                    .filter(|p| {
                        p.container_port == port
                            && serde_json::to_value(p.protocol).is_ok_and(|v| v == proto)
                    })
                    .map(|p| format!("{}:{}", p.host_ip, p.host_port))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }

    /// The id of the image it runs.
    pub fn image_of(&self, c: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(c, "{{.Image}}"),
            Kind::Embedded => self.get(c).0.image_id,
        }
    }

    /// Names of the containers that match every filter (`label=K=V`, `label=K`,
    /// `status=S`), as `docker ps -a --filter ... --format {{.Names}}` gives them, sorted.
    pub fn containers(&self, filters: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = match self.kind {
            Kind::Docker => {
                let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
                for f in filters {
                    args.extend(["--filter", f]);
                }
                docker_ok(&args).lines().map(str::to_string).collect()
            }
            Kind::Embedded => containers::all(&self.state())
                .expect("containers")
                .into_iter()
                .filter(|(rec, st)| filters.iter().all(|f| filter_matches(f, rec, st)))
                .map(|(rec, _)| rec.name)
                .collect(),
        };
        names.sort();
        names
    }

    /// The containers of a compose project (one-off ones included), sorted by name.
    pub fn project_containers(&self, project: &str) -> Vec<String> {
        self.containers(&[&format!("label=com.docker.compose.project={project}")])
    }

    /// `docker rm -f`.
    pub fn remove_container(&self, c: &str) {
        match self.kind {
            Kind::Docker => {
                let _ = docker(&["rm", "-f", c]);
            }
            Kind::Embedded => {
                if let Some((rec, _)) = self.find(c) {
                    let _ = containers::remove(&self.state(), &rec.id, true);
                }
            }
        }
    }

    /// Runs a command in a running service container (`docker exec C CMD...`; on the
    /// embedded engine `rcompose -p PROJECT exec -T --index N SERVICE CMD...`, the project
    /// and service from its labels). Returns the output.
    pub fn exec(&self, c: &str, cmd: &[&str]) -> Output {
        match self.kind {
            Kind::Docker => Command::new("docker")
                .arg("exec")
                .arg(c)
                .args(cmd)
                .output()
                .expect("docker CLI"),
            Kind::Embedded => {
                let labels = self.get(c).0.spec.labels;
                let label = |k: &str| {
                    labels
                        .get(&format!("com.docker.compose.{k}"))
                        .cloned()
                        .unwrap_or_else(|| panic!("{c} has no com.docker.compose.{k} label"))
                };
                self.rcompose()
                    .current_dir(std::env::temp_dir())
                    .env_remove("COMPOSE_PROJECT_NAME")
                    .args(["-p", &label("project"), "exec", "-T", "--index"])
                    .arg(label("container-number"))
                    .arg(label("service"))
                    .args(cmd)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("rcompose exec")
            }
        }
    }

    /// [`Self::exec`]'s stdout.
    pub fn exec_stdout(&self, c: &str, cmd: &[&str]) -> String {
        String::from_utf8_lossy(&self.exec(c, cmd).stdout).into_owned()
    }

    // ---- volumes and networks ----

    pub fn volume_exists(&self, name: &str) -> bool {
        match self.kind {
            Kind::Docker => docker(&["volume", "inspect", name]).status.success(),
            Kind::Embedded => objects::find_volume(&self.state(), name)
                .expect("volume record")
                .is_some(),
        }
    }

    /// `docker volume create NAME` (what the engine does: the data directory and record).
    pub fn volume_create(&self, name: &str) {
        match self.kind {
            Kind::Docker => {
                docker_ok(&["volume", "create", name]);
            }
            Kind::Embedded => objects::create_volume(
                &self.state(),
                &VolumeSpec {
                    name: name.to_string(),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("volume create {name}: {e}")),
        }
    }

    /// `docker volume rm NAME`, required to succeed.
    pub fn volume_remove(&self, name: &str) {
        match self.kind {
            Kind::Docker => {
                docker_ok(&["volume", "rm", name]);
            }
            Kind::Embedded => objects::remove_volume(&self.state(), name)
                .unwrap_or_else(|e| panic!("volume rm {name}: {e}")),
        }
    }

    pub fn network_exists(&self, name: &str) -> bool {
        match self.kind {
            Kind::Docker => docker(&["network", "inspect", name]).status.success(),
            Kind::Embedded => objects::find_network(&self.state(), name)
                .expect("network record")
                .is_some(),
        }
    }

    // ---- images ----

    fn image_store(&self) -> ImageStore {
        ImageStore::new(self.state())
    }

    fn full_reference(image: &str) -> String {
        normalize_reference(image).unwrap_or_else(|| image.to_string())
    }

    /// The image id (`sha256:...`); `None` when the engine does not have it.
    pub fn image_id(&self, image: &str) -> Option<String> {
        match self.kind {
            Kind::Docker => {
                let out = docker(&["image", "inspect", "-f", "{{.Id}}", image]);
                out.status.success().then(|| text(&out))
            }
            Kind::Embedded => self
                .image_store()
                .resolve(&Self::full_reference(image))
                .expect("image store")
                .map(|r| r.id),
        }
    }

    pub fn image_exists(&self, image: &str) -> bool {
        self.image_id(image).is_some()
    }

    /// A label of an image's config; empty when it is not set.
    pub fn image_label(&self, image: &str, key: &str) -> String {
        match self.kind {
            Kind::Docker => inspect(image, &format!("{{{{index .Config.Labels \"{key}\"}}}}")),
            Kind::Embedded => self
                .image_store()
                .resolve(&Self::full_reference(image))
                .expect("image store")
                .and_then(|r| r.config.labels.get(key).cloned())
                .unwrap_or_default(),
        }
    }

    /// `docker rmi -f IMAGE`, best effort: the name goes (and the image when no other name
    /// points at it).
    pub fn image_remove(&self, image: &str) {
        match self.kind {
            Kind::Docker => {
                let _ = docker(&["rmi", "-f", image]);
            }
            Kind::Embedded => {
                let _ = self.image_store().untag(&Self::full_reference(image));
            }
        }
    }
}

fn filter_matches(filter: &str, rec: &ContainerRecord, st: &ContainerStatus) -> bool {
    if let Some(label) = filter.strip_prefix("label=") {
        let labels: &BTreeMap<String, String> = &rec.spec.labels;
        return match label.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(label),
        };
    }
    if let Some(status) = filter.strip_prefix("status=") {
        return serde_json::to_value(st.state).is_ok_and(|v| v == status);
    }
    if let Some(name) = filter.strip_prefix("name=") {
        return rec.name.contains(name);
    }
    panic!("unsupported container filter {filter:?}");
}
