//! Integration tests of the Docker backend ([`DockerEngine`]) against the real dockerd of this
//! machine: every [`Engine`] method, with its effects checked in the containers themselves (and,
//! for request fields our types do not read back, with `docker inspect`).
//!
//! Prerequisite: `scripts/docker-env.sh` (starts dockerd, builds the offline image
//! `rcompose-test/busybox:1`). The tests FAIL when the daemon is unreachable; they never skip.
//! Every object is named `rcompose-enginetest-<pid>-<n>-...` and removed at the end of its test,
//! also when an assertion fails (see [`Cleanup`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rcompose::engine::docker::DockerEngine;
use rcompose::engine::{
    ContainerInfo, ContainerSpec, ContainerState, Engine, EngineError, ExecSpec, Health,
    Healthcheck, LogOptions, Mount, MountKind, NetworkAttachment, NetworkSpec, PortBinding,
    RestartPolicy, StdStream, VolumeSpec,
};

const IMAGE: &str = "rcompose-test/busybox:1";
const HINT: &str = "the Docker daemon or the test image is not available; run scripts/docker-env.sh \
                    (it starts dockerd and builds rcompose-test/busybox:1, then prints DOCKER_READY=1)";
/// A label put on everything these tests create.
const TEST_LABEL: &str = "rcompose.enginetest";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("rcompose-enginetest-{}-{n}-{tag}", std::process::id())
}

/// Connects, or fails the test with the way to get a daemon.
async fn engine() -> DockerEngine {
    let engine = match DockerEngine::connect().await {
        Ok(e) => e,
        Err(e) => panic!("{HINT}\n(connect: {e})"),
    };
    match engine.image_id(IMAGE).await {
        Ok(Some(_)) => engine,
        other => panic!("{HINT}\n(image_id({IMAGE}): {other:?})"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    l.insert(TEST_LABEL.into(), std::process::id().to_string());
    l
}

fn spec(name: &str, cmd: &[&str]) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: IMAGE.into(),
        labels: labels(&[]),
        command: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

/// Removes what a test created when it goes out of scope, even after a failed assertion: the
/// removal runs on a fresh runtime in its own thread, since `Drop` cannot await.
#[derive(Default)]
struct Cleanup {
    containers: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
    dirs: Vec<String>,
}

impl Cleanup {
    fn container(&mut self, id: &str) {
        self.containers.push(id.to_string());
    }
    fn network(&mut self, name: &str) {
        self.networks.push(name.to_string());
    }
    fn volume(&mut self, name: &str) {
        self.volumes.push(name.to_string());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let containers = std::mem::take(&mut self.containers);
        let networks = std::mem::take(&mut self.networks);
        let volumes = std::mem::take(&mut self.volumes);
        for d in std::mem::take(&mut self.dirs) {
            let _ = std::fs::remove_dir_all(d);
        }
        let worker = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let Ok(e) = DockerEngine::connect().await else {
                    return;
                };
                for c in containers.iter().rev() {
                    let _ = e.remove_container(c, true, true).await;
                }
                for n in networks.iter().rev() {
                    let _ = e.remove_network(n).await;
                }
                for v in volumes.iter().rev() {
                    let _ = e.remove_volume(v).await;
                }
            });
        });
        let _ = worker.join();
    }
}

/// Polls `inspect_container` until `pred` holds; fails with the last state after `within`.
async fn wait_for(
    e: &DockerEngine,
    id: &str,
    within: Duration,
    what: &str,
    pred: impl Fn(&ContainerInfo) -> bool,
) -> ContainerInfo {
    let start = Instant::now();
    loop {
        let info = e.inspect_container(id).await.expect("inspect");
        if pred(&info) {
            return info;
        }
        if start.elapsed() > within {
            panic!("{id} not {what} after {within:?}: {info:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_exited(e: &DockerEngine, id: &str) -> ContainerInfo {
    wait_for(e, id, Duration::from_secs(20), "exited", |i| {
        i.state == ContainerState::Exited
    })
    .await
}

/// Creates and starts; registers for cleanup.
async fn run(e: &DockerEngine, cl: &mut Cleanup, spec: &ContainerSpec) -> String {
    let id = e.create_container(spec).await.expect("create_container");
    cl.container(&id);
    e.start_container(&id).await.expect("start_container");
    id
}

/// `docker inspect` of an object, for request fields `ContainerInfo` does not carry.
fn docker_inspect(id: &str) -> serde_json::Value {
    let out = std::process::Command::new("docker")
        .args(["inspect", id])
        .output()
        .expect("running the docker CLI (installed by scripts/docker-env.sh)");
    assert!(
        out.status.success(),
        "docker inspect {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("docker inspect JSON");
    v[0].clone()
}

#[tokio::test(flavor = "current_thread")]
async fn image_id_of_present_and_missing_images() {
    let e = engine().await;
    let id = e
        .image_id(IMAGE)
        .await
        .expect("image_id")
        .expect("test image present");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(
        e.image_id("rcompose-test/no-such-image:none")
            .await
            .expect("image_id"),
        None
    );
}

#[tokio::test(flavor = "current_thread")]
async fn pull_from_unreachable_registry_is_an_error_not_a_hang() {
    let e = engine().await;
    let res = tokio::time::timeout(
        Duration::from_secs(90),
        e.pull_image(
            "127.0.0.1:1/none:latest",
            &rcompose::engine::no_pull_progress,
        ),
    )
    .await
    .expect("pull_image hung for 90 s");
    match res {
        Err(EngineError::Backend { message }) => assert!(!message.is_empty()),
        Err(EngineError::ImageNotFound { .. }) => {}
        other => panic!("expected a pull error, got {other:?}"),
    }
}

fn docker_ok(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A pull reports dockerd's layer steps: the base layer already present, the new one
/// fetched and extracted to the end.
#[tokio::test(flavor = "current_thread")]
async fn pull_reports_each_layer_step() {
    let e = engine().await;
    let name = format!("127.0.0.1:5000/rcompose-test/{}:1", unique("layers"));
    let c = docker_ok(&["create", IMAGE, "true"]);
    let _ = docker_ok(&["cp", "/etc/hostname", &format!("{c}:/new-layer")]);
    docker_ok(&["commit", &c, &name]);
    docker_ok(&["rm", &c]);
    docker_ok(&["push", "-q", &name]);
    docker_ok(&["rmi", &name]);
    let steps = std::sync::Mutex::new(Vec::new());
    e.pull_image(&name, &|l| steps.lock().unwrap().push(l))
        .await
        .expect("pull");
    let steps = steps.into_inner().unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", &name])
        .output();
    let phases: Vec<&str> = steps.iter().map(|l| l.phase.text()).collect();
    assert!(phases.contains(&"Already exists"), "{phases:?}");
    let fetched: Vec<_> = steps
        .iter()
        .filter(|l| l.phase != rcompose::engine::LayerPhase::AlreadyExists)
        .collect();
    assert!(!fetched.is_empty(), "{phases:?}");
    assert!(fetched.iter().all(|l| l.layer.len() == 12), "{fetched:?}");
    assert_eq!(fetched.last().unwrap().phase.text(), "Pull complete");
    // dockerd throttles `Downloading` (a small layer may show none); its counts are bytes.
    assert!(phases.contains(&"Download complete"), "{phases:?}");
    assert!(fetched
        .iter()
        .filter(|l| l.phase.text() == "Downloading")
        .all(|l| l.total > 0 && l.current <= l.total));
}

#[tokio::test(flavor = "current_thread")]
async fn container_lifecycle_env_labels_cmd_rename_kill_remove() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let name = unique("life");
    let mut s = spec(
        &name,
        &[
            "sh",
            "-c",
            "[ \"$FOO\" = bar ] || exit 9; echo $FOO; sleep 30",
        ],
    );
    s.env = vec!["FOO=bar".into()];
    s.labels = labels(&[("com.example.role", "web"), ("com.example.empty", "")]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let id = e.create_container(&s).await.expect("create");
    cl.container(&id);

    let created = e.inspect_container(&id).await.expect("inspect");
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(created.name, name);
    assert!(
        (created.created - before).abs() < 60,
        "created {} vs now {before}",
        created.created
    );

    e.start_container(&id).await.expect("start");
    // The command exits 9 if FOO is not passed: still running after a while proves it was.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let info = e.inspect_container(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Running, "{info:#?}");
    assert_eq!(info.id, id);
    assert_eq!(info.image, IMAGE);
    assert_eq!(info.image_id, e.image_id(IMAGE).await.expect("image_id"));
    assert_eq!(info.health, Health::None);
    assert_eq!(info.exit_code, Some(0));
    assert_eq!(
        info.labels.get("com.example.role").map(String::as_str),
        Some("web")
    );
    assert_eq!(
        info.labels.get("com.example.empty").map(String::as_str),
        Some("")
    );
    let raw = docker_inspect(&id);
    assert_eq!(raw["Config"]["Cmd"][0], "sh");
    assert!(raw["Config"]["Env"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "FOO=bar")));

    // The list sees it too, with a `docker ps` status text.
    let listed = e
        .list_containers(&[
            format!("{TEST_LABEL}={}", std::process::id()),
            "com.example.role=web".into(),
        ])
        .await
        .expect("list");
    let mine: Vec<_> = listed.iter().filter(|c| c.id == id).collect();
    assert_eq!(mine.len(), 1, "{listed:#?}");
    assert_eq!(mine[0].name, name);
    assert_eq!(mine[0].state, ContainerState::Running);
    assert!(
        mine[0].status_text.starts_with("Up"),
        "{}",
        mine[0].status_text
    );

    let new_name = unique("renamed");
    e.rename_container(&id, &new_name).await.expect("rename");
    assert_eq!(
        e.inspect_container(&id).await.expect("inspect").name,
        new_name
    );
    assert!(matches!(
        e.inspect_container(&name).await,
        Err(EngineError::NotFound { .. })
    ));

    e.kill_container(&id, "SIGKILL").await.expect("kill");
    let killed = wait_exited(&e, &id).await;
    assert_eq!(killed.exit_code, Some(137));

    e.remove_container(&id, false, true).await.expect("remove");
    assert!(matches!(
        e.inspect_container(&id).await,
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn healthcheck_becomes_healthy() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let mut s = spec(&unique("healthy"), &["sleep", "60"]);
    s.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "true".into()],
        interval: Some(Duration::from_secs(1)),
        timeout: Some(Duration::from_secs(5)),
        start_period: None,
        start_interval: None,
        retries: Some(3),
    });
    let id = run(&e, &mut cl, &s).await;
    let info = wait_for(&e, &id, Duration::from_secs(15), "healthy", |i| {
        i.health == Health::Healthy
    })
    .await;
    assert_eq!(info.state, ContainerState::Running);
    let listed = e
        .list_containers(&[format!("{TEST_LABEL}={}", std::process::id())])
        .await
        .expect("list");
    let mine = listed.iter().find(|c| c.id == id).expect("listed");
    assert_eq!(mine.health, Health::Healthy, "{}", mine.status_text);
    e.remove_container(&id, true, true)
        .await
        .expect("remove -f");
}

#[tokio::test(flavor = "current_thread")]
async fn failing_healthcheck_becomes_unhealthy_with_its_output() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let mut s = spec(&unique("unhealthy"), &["sleep", "60"]);
    s.healthcheck = Some(Healthcheck {
        test: vec![
            "CMD-SHELL".into(),
            "echo probe-failed-marker; exit 1".into(),
        ],
        interval: Some(Duration::from_secs(1)),
        timeout: Some(Duration::from_secs(5)),
        start_period: None,
        start_interval: None,
        retries: Some(1),
    });
    let id = run(&e, &mut cl, &s).await;
    let info = wait_for(&e, &id, Duration::from_secs(15), "unhealthy", |i| {
        i.health == Health::Unhealthy
    })
    .await;
    assert_eq!(
        info.last_health_output.as_deref(),
        Some("probe-failed-marker")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn stop_waits_the_timeout_then_kills() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let id = run(
        &e,
        &mut cl,
        &spec(&unique("stop"), &["sh", "-c", "trap '' TERM; sleep 100"]),
    )
    .await;
    wait_for(&e, &id, Duration::from_secs(10), "running", |i| {
        i.state == ContainerState::Running
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let the trap be installed
    let start = Instant::now();
    e.stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stop");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "stop took {took:?}"
    );
    let info = e.inspect_container(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Exited);
    assert_eq!(info.exit_code, Some(137));
}

#[tokio::test(flavor = "current_thread")]
async fn stop_signal_and_exit_codes() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    // `stop_signal` is what stop sends: the container exits 42 on USR1 at once.
    let mut s = spec(
        &unique("usr1"),
        &[
            "sh",
            "-c",
            "trap 'exit 42' USR1; while true; do sleep 0.1; done",
        ],
    );
    s.stop_signal = Some("SIGUSR1".into());
    let id = run(&e, &mut cl, &s).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    e.stop_container(&id, Duration::from_secs(20))
        .await
        .expect("stop");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        start.elapsed()
    );
    assert_eq!(
        e.inspect_container(&id).await.expect("inspect").exit_code,
        Some(42)
    );

    let id3 = run(
        &e,
        &mut cl,
        &spec(&unique("exit3"), &["sh", "-c", "exit 3"]),
    )
    .await;
    let info = wait_exited(&e, &id3).await;
    assert_eq!(info.exit_code, Some(3));
    let listed = e
        .list_containers(&[format!("{TEST_LABEL}={}", std::process::id())])
        .await
        .expect("list");
    let mine = listed.iter().find(|c| c.id == id3).expect("listed");
    assert_eq!(mine.state, ContainerState::Exited);
    assert_eq!(mine.exit_code, Some(3), "{}", mine.status_text);

    // Stopping an exited container is not an error (HTTP 304).
    e.stop_container(&id3, Duration::from_secs(1))
        .await
        .expect("stop of an exited container");
}

#[tokio::test(flavor = "current_thread")]
async fn networks_aliases_fixed_addresses_and_late_attachments() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let pid = std::process::id();
    let third = COUNTER.fetch_add(1, Ordering::Relaxed) % 250;
    let subnet_prefix = format!("10.{}.{third}", 100 + pid % 100);
    let net_a = unique("neta");
    let net_b = unique("netb");
    let group = unique("group");
    let spec_a = NetworkSpec {
        name: net_a.clone(),
        driver: Some("bridge".into()),
        labels: labels(&[("com.example.group", &group)]),
        ipam_pools: vec![(
            format!("{subnet_prefix}.0/24"),
            Some(format!("{subnet_prefix}.1")),
            Some(format!("{subnet_prefix}.0/25")),
        )],
        attachable: true,
        ..Default::default()
    };
    let id_a = e.create_network(&spec_a).await.expect("create network a");
    cl.network(&net_a);
    let spec_b = NetworkSpec {
        name: net_b.clone(),
        labels: labels(&[("com.example.group", &group)]),
        internal: true,
        ..Default::default()
    };
    e.create_network(&spec_b).await.expect("create network b");
    cl.network(&net_b);

    // Find, list by label, conflicts.
    let found = e
        .find_network(&net_a)
        .await
        .expect("find")
        .expect("network a exists");
    assert_eq!(found.id, id_a);
    assert_eq!(found.labels.get("com.example.group"), Some(&group));
    assert_eq!(e.find_network(&unique("nonet")).await.expect("find"), None);
    assert_eq!(
        e.find_network(&id_a[..12])
            .await
            .expect("find by id prefix"),
        None,
        "an id prefix is not a name"
    );
    let mut listed: Vec<String> = e
        .list_networks(&[format!("com.example.group={group}")])
        .await
        .expect("list")
        .into_iter()
        .map(|n| n.name)
        .collect();
    listed.sort();
    let mut expected = vec![net_a.clone(), net_b.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(matches!(
        e.create_network(&spec_a).await,
        Err(EngineError::Conflict { .. })
    ));
    let raw = docker_inspect(&net_b);
    assert_eq!(raw["Internal"], true);
    let raw = docker_inspect(&net_a);
    assert_eq!(
        raw["IPAM"]["Config"][0]["Subnet"],
        format!("{subnet_prefix}.0/24")
    );
    assert_eq!(
        raw["IPAM"]["Config"][0]["IPRange"],
        format!("{subnet_prefix}.0/25")
    );
    assert_eq!(raw["Attachable"], true);

    // A server on network a with an alias and a fixed address.
    let mut server = spec(&unique("server"), &["sleep", "60"]);
    server.networks = vec![NetworkAttachment {
        network: net_a.clone(),
        aliases: vec!["dbalias".into()],
        ipv4_address: Some(format!("{subnet_prefix}.7")),
        ipv6_address: None,
    }];
    run(&e, &mut cl, &server).await;

    // A client whose FIRST network is b: network a (where the alias lives) is joined after
    // create, so resolving the alias proves the late attachment and its aliases.
    let script = format!(
        "ip addr | grep -q 'inet {p}.8/' || exit 7; \
         for i in 1 2 3 4 5 6 7 8 9 10; do \
           ping -c1 -W1 dbalias | grep -q '({p}.7)' && ping -c1 -W1 serverpeer >/dev/null && exit 0; \
           sleep 0.5; done; exit 1",
        p = subnet_prefix
    );
    let mut client = spec(&unique("client"), &["sh", "-c", &script]);
    client.networks = vec![
        NetworkAttachment {
            network: net_b.clone(),
            ..Default::default()
        },
        NetworkAttachment {
            network: net_a.clone(),
            aliases: vec!["clientalias".into()],
            ipv4_address: Some(format!("{subnet_prefix}.8")),
            ipv6_address: None,
        },
    ];
    // A second container with two aliases on network a.
    let mut peer = spec(&unique("peer"), &["sleep", "60"]);
    peer.networks = vec![NetworkAttachment {
        network: net_a.clone(),
        aliases: vec!["serverpeer".into(), "another".into()],
        ..Default::default()
    }];
    run(&e, &mut cl, &peer).await;
    let client_id = run(&e, &mut cl, &client).await;
    let info = wait_exited(&e, &client_id).await;
    assert_eq!(
        info.exit_code,
        Some(0),
        "the client could not reach dbalias/serverpeer (7: wrong address)"
    );
    let raw = docker_inspect(&client_id);
    assert_eq!(raw["HostConfig"]["NetworkMode"], net_b.as_str());
    assert!(raw["NetworkSettings"]["Networks"][&net_a]["Aliases"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "clientalias")));

    // A network in use cannot be removed: a conflict (Docker answers 403).
    assert!(matches!(
        e.remove_network(&net_a).await,
        Err(EngineError::Conflict { .. })
    ));
    for c in std::mem::take(&mut cl.containers) {
        e.remove_container(&c, true, true)
            .await
            .expect("remove container");
    }
    e.remove_network(&net_a).await.expect("remove network a");
    e.remove_network(&net_b).await.expect("remove network b");
    assert_eq!(e.find_network(&net_a).await.expect("find"), None);
    assert!(matches!(
        e.remove_network(&net_a).await,
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn published_port_is_reported_and_answers() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let mut s = spec(
        &unique("port"),
        &["nc", "-ll", "-p", "80", "-e", "echo", "hi"],
    );
    s.ports = vec![PortBinding {
        container_port: 80,
        protocol: "tcp".into(),
        host_ip: "127.0.0.1".into(),
        host_port: String::new(),
    }];
    s.expose = vec!["81".into()];
    let id = run(&e, &mut cl, &s).await;
    let info = wait_for(&e, &id, Duration::from_secs(10), "running", |i| {
        i.state == ContainerState::Running
    })
    .await;
    // The published port, and the exposed one (no address, host port 0).
    assert_eq!(info.ports.len(), 2, "{:?}", info.ports);
    assert_eq!(
        (
            info.ports[1].host_ip.as_str(),
            info.ports[1].host_port,
            info.ports[1].container_port
        ),
        ("", 0, 81)
    );
    let p = &info.ports[0];
    assert_eq!(
        (p.host_ip.as_str(), p.container_port, p.protocol.as_str()),
        ("127.0.0.1", 80, "tcp")
    );
    assert!(p.host_port > 0);
    let listed = e
        .list_containers(&[format!("{TEST_LABEL}={}", std::process::id())])
        .await
        .expect("list");
    let mine = listed.iter().find(|c| c.id == id).expect("listed");
    assert_eq!(mine.ports, info.ports);
    let raw = docker_inspect(&id);
    assert!(raw["Config"]["ExposedPorts"].get("81/tcp").is_some());
    assert!(raw["Config"]["ExposedPorts"].get("80/tcp").is_some());

    // And the server answers through the binding.
    let port = p.host_port;
    let mut answer = String::new();
    for _ in 0..25 {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            answer.clear();
            let _ = conn.read_to_string(&mut answer);
            if answer.trim() == "hi" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(answer.trim(), "hi");
}

#[tokio::test(flavor = "current_thread")]
async fn volumes_persist_and_mount_kinds() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let vol = unique("vol");
    let group = unique("vgroup");
    let vspec = VolumeSpec {
        name: vol.clone(),
        driver: Some("local".into()),
        labels: labels(&[("com.example.group", &group)]),
        ..Default::default()
    };
    e.create_volume(&vspec).await.expect("create volume");
    cl.volume(&vol);
    let found = e
        .find_volume(&vol)
        .await
        .expect("find")
        .expect("volume exists");
    assert_eq!(found.labels.get("com.example.group"), Some(&group));
    assert_eq!(e.find_volume(&unique("novol")).await.expect("find"), None);
    let listed = e
        .list_volumes(&[format!("com.example.group={group}")])
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        vec![vol.clone()]
    );

    let bind_root = format!("/tmp/{}", unique("bind"));
    cl.dirs.push(bind_root.clone());
    let bind_dir = format!("{bind_root}/sub/dir");
    let volume_mount = |read_only| Mount {
        kind: MountKind::Volume,
        source: vol.clone(),
        target: "/data".into(),
        read_only,
        no_copy: false,
        create_host_path: false,
        tmpfs_size: None,
        ..Default::default()
    };
    let mut writer = spec(
        &unique("writer"),
        &["sh", "-c", "echo persisted > /data/f && echo bound > /b/x && mount | grep -q ' /t type tmpfs' && touch /anon/ok"],
    );
    writer.mounts = vec![
        volume_mount(false),
        Mount {
            kind: MountKind::Bind,
            source: bind_dir.clone(),
            target: "/b".into(),
            read_only: false,
            no_copy: false,
            create_host_path: true,
            tmpfs_size: None,
            ..Default::default()
        },
        Mount {
            kind: MountKind::Tmpfs,
            source: String::new(),
            target: "/t".into(),
            read_only: false,
            no_copy: false,
            create_host_path: false,
            tmpfs_size: Some(1 << 20),
            ..Default::default()
        },
        Mount {
            kind: MountKind::Volume,
            source: String::new(),
            target: "/anon".into(),
            read_only: false,
            no_copy: true,
            create_host_path: false,
            tmpfs_size: None,
            ..Default::default()
        },
    ];
    let writer_id = run(&e, &mut cl, &writer).await;
    assert_eq!(wait_exited(&e, &writer_id).await.exit_code, Some(0));
    assert_eq!(
        std::fs::read_to_string(format!("{bind_dir}/x"))
            .expect("bind source file")
            .trim(),
        "bound"
    );
    let raw = docker_inspect(&writer_id);
    let mounts = raw["HostConfig"]["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(mounts
        .iter()
        .any(|m| m["Type"] == "tmpfs" && m["TmpfsOptions"]["SizeBytes"] == 1 << 20));
    assert!(mounts
        .iter()
        .any(|m| m["Target"] == "/anon" && m["VolumeOptions"]["NoCopy"] == true));

    // In use: not removable.
    assert!(matches!(
        e.remove_volume(&vol).await,
        Err(EngineError::Conflict { .. })
    ));

    let mut reader = spec(
        &unique("reader"),
        &[
            "sh",
            "-c",
            "grep -q persisted /data/f && ! touch /data/g 2>/dev/null",
        ],
    );
    reader.mounts = vec![volume_mount(true)];
    let reader_id = run(&e, &mut cl, &reader).await;
    assert_eq!(
        wait_exited(&e, &reader_id).await.exit_code,
        Some(0),
        "file missing or volume writable"
    );

    let anon = raw["Mounts"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["Destination"] == "/anon"))
        .and_then(|m| m["Name"].as_str())
        .expect("anonymous volume of /anon")
        .to_string();
    assert!(e.find_volume(&anon).await.expect("find").is_some());
    e.remove_container(&writer_id, false, true)
        .await
        .expect("remove writer with its anonymous volume");
    assert_eq!(
        e.find_volume(&anon).await.expect("find"),
        None,
        "`volumes: true` removes anonymous volumes"
    );
    e.remove_container(&reader_id, false, false)
        .await
        .expect("remove reader");
    e.remove_volume(&vol).await.expect("remove volume");
    assert_eq!(e.find_volume(&vol).await.expect("find"), None);
    assert!(matches!(
        e.remove_volume(&vol).await,
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn every_spec_field_reaches_the_daemon() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let script = "[ \"$(pwd)\" = /tmp ] || exit 10; \
                  [ \"$(id -u)\" = 65534 ] || exit 11; \
                  [ \"$(hostname)\" = myhost ] || exit 12; \
                  grep -q '10.1.2.3.*extrahost' /etc/hosts || exit 13; \
                  grep -q 'search.*example.test' /etc/resolv.conf || exit 14; \
                  [ \"$(ulimit -n)\" = 1024 ] || exit 15; \
                  touch /tmp/w 2>/dev/null && exit 16; \
                  [ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ] || exit 17; \
                  [ \"$(cat /proc/1/comm)\" != sh ] || exit 18; \
                  [ \"$FOO\" = bar ] || exit 19; \
                  exit 0";
    let s = ContainerSpec {
        name: unique("fields"),
        image: IMAGE.into(),
        labels: labels(&[("a", "1")]),
        entrypoint: Some(vec!["sh".into(), "-c".into()]),
        command: Some(vec![script.into()]),
        env: vec!["FOO=bar".into()],
        working_dir: Some("/tmp".into()),
        user: Some("65534".into()),
        hostname: Some("myhost".into()),
        domainname: Some("example.test".into()),
        tty: true,
        stdin_open: true,
        init: Some(true),
        privileged: false,
        read_only: true,
        cap_add: vec!["NET_ADMIN".into()],
        cap_drop: vec!["NET_RAW".into()],
        security_opt: vec!["no-new-privileges:true".into()],
        extra_hosts: vec!["extrahost:10.1.2.3".into()],
        dns: vec!["10.0.0.53".into()],
        dns_search: vec!["example.test".into()],
        expose: vec!["9000-9001/udp".into()],
        healthcheck: Some(Healthcheck {
            test: vec!["CMD".into(), "true".into()],
            interval: Some(Duration::from_secs(2)),
            timeout: Some(Duration::from_secs(3)),
            start_period: Some(Duration::from_millis(4500)),
            start_interval: None,
            retries: Some(5),
        }),
        stop_signal: Some("SIGUSR1".into()),
        stop_timeout: Some(Duration::from_secs(7)),
        restart: RestartPolicy::OnFailure(Some(2)),
        mem_limit: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        pids_limit: Some(100),
        shm_size: Some(32 << 20),
        sysctls: [("net.ipv4.ip_forward".to_string(), "1".to_string())].into(),
        ulimits: vec![("nofile".into(), 1024, 2048)],
        log_driver: Some("json-file".into()),
        log_options: [("max-size".to_string(), "1m".to_string())].into(),
        ..Default::default()
    };
    let id = e.create_container(&s).await.expect("create");
    cl.container(&id);
    let raw = docker_inspect(&id);
    let (c, h) = (&raw["Config"], &raw["HostConfig"]);
    assert_eq!(c["Entrypoint"], serde_json::json!(["sh", "-c"]));
    assert_eq!(c["Cmd"], serde_json::json!([script]));
    assert_eq!(c["WorkingDir"], "/tmp");
    assert_eq!(c["User"], "65534");
    assert_eq!(c["Hostname"], "myhost");
    assert_eq!(c["Domainname"], "example.test");
    assert_eq!(
        (c["Tty"].clone(), c["OpenStdin"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(c["StopSignal"], "SIGUSR1");
    assert_eq!(c["StopTimeout"], 7);
    assert!(
        c["ExposedPorts"].get("9000/udp").is_some() && c["ExposedPorts"].get("9001/udp").is_some()
    );
    assert_eq!(
        c["Healthcheck"],
        serde_json::json!({"Test": ["CMD", "true"], "Interval": 2_000_000_000i64,
            "Timeout": 3_000_000_000i64, "StartPeriod": 4_500_000_000i64, "Retries": 5})
    );
    assert_eq!(h["Init"], true);
    assert_eq!(h["Privileged"], false);
    assert_eq!(h["ReadonlyRootfs"], true);
    assert_eq!(h["CapAdd"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(h["CapDrop"], serde_json::json!(["NET_RAW"]));
    assert_eq!(
        h["SecurityOpt"],
        serde_json::json!(["no-new-privileges:true"])
    );
    assert_eq!(h["Dns"], serde_json::json!(["10.0.0.53"]));
    assert_eq!(
        h["RestartPolicy"],
        serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2})
    );
    assert_eq!(h["Memory"], 64 << 20);
    assert_eq!(h["NanoCpus"], 500_000_000);
    assert_eq!(h["PidsLimit"], 100);
    assert_eq!(h["ShmSize"], 32 << 20);
    assert_eq!(
        h["Sysctls"],
        serde_json::json!({"net.ipv4.ip_forward": "1"})
    );
    assert_eq!(
        h["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}])
    );
    assert_eq!(
        h["LogConfig"],
        serde_json::json!({"Type": "json-file", "Config": {"max-size": "1m"}})
    );

    e.start_container(&id).await.expect("start");
    let info = wait_for(&e, &id, Duration::from_secs(20), "exited", |i| {
        i.state == ContainerState::Exited || i.exit_code.is_some_and(|c| c != 0)
    })
    .await;
    assert_eq!(
        info.exit_code,
        Some(0),
        "in-container check failed (see the exit codes in the script)"
    );

    // `network_mode` wins over attachments.
    let mut none = spec(
        &unique("netnone"),
        &["sh", "-c", "! ip addr | grep -q eth0"],
    );
    none.network_mode = Some("none".into());
    let none_id = run(&e, &mut cl, &none).await;
    assert_eq!(wait_exited(&e, &none_id).await.exit_code, Some(0));
    assert_eq!(
        docker_inspect(&none_id)["HostConfig"]["NetworkMode"],
        "none"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn typed_errors_missing_duplicate_and_missing_image() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let missing = unique("missing");
    match e.remove_container(&missing, true, true).await {
        Err(EngineError::NotFound { what }) => assert_eq!(what, format!("container {missing}")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        e.inspect_container(&missing).await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.start_container(&missing).await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.stop_container(&missing, Duration::from_secs(1)).await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.kill_container(&missing, "SIGKILL").await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.rename_container(&missing, &unique("x")).await,
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.remove_network(&missing).await,
        Err(EngineError::NotFound { .. })
    ));
    match e.remove_volume(&missing).await {
        Err(EngineError::NotFound { what }) => assert_eq!(what, format!("volume {missing}")),
        other => panic!("expected NotFound, got {other:?}"),
    }

    let name = unique("dup");
    let id = e
        .create_container(&spec(&name, &["true"]))
        .await
        .expect("create");
    cl.container(&id);
    match e.create_container(&spec(&name, &["true"])).await {
        Err(EngineError::Conflict { message }) => assert!(message.contains(&name), "{message}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Renaming onto a taken name is a conflict too.
    let other_id = e
        .create_container(&spec(&unique("other"), &["true"]))
        .await
        .expect("create");
    cl.container(&other_id);
    assert!(matches!(
        e.rename_container(&other_id, &name).await,
        Err(EngineError::Conflict { .. })
    ));
    // Removing a running container without force is a conflict.
    let sleeper_id = run(&e, &mut cl, &spec(&unique("sleeper"), &["sleep", "30"])).await;
    assert!(matches!(
        e.remove_container(&sleeper_id, false, false).await,
        Err(EngineError::Conflict { .. })
    ));

    let mut bad = spec(&unique("noimage"), &["true"]);
    bad.image = "rcompose-test/no-such-image:none".into();
    match e.create_container(&bad).await {
        Err(EngineError::ImageNotFound { image }) => assert_eq!(image, bad.image),
        other => panic!("expected ImageNotFound, got {other:?}"),
    }
    // The daemon accepts a missing network at create time and reports it at start.
    let missing_net = unique("nonet");
    let mut bad_net = spec(&unique("badnet"), &["true"]);
    bad_net.networks = vec![NetworkAttachment {
        network: missing_net.clone(),
        ..Default::default()
    }];
    let bad_id = e
        .create_container(&bad_net)
        .await
        .expect("create with a missing network");
    cl.container(&bad_id);
    match e.start_container(&bad_id).await {
        Err(EngineError::NotFound { what }) => assert_eq!(what, format!("network {missing_net}")),
        other => panic!("expected NotFound of the network, got {other:?}"),
    }
    // Same for a missing network joined after create (a stopped container only records it).
    let mut bad_late = spec(&unique("badlate"), &["true"]);
    bad_late.networks = vec![
        NetworkAttachment {
            network: "bridge".into(),
            ..Default::default()
        },
        NetworkAttachment {
            network: missing_net.clone(),
            ..Default::default()
        },
    ];
    let late_id = e
        .create_container(&bad_late)
        .await
        .expect("create with a missing late network");
    cl.container(&late_id);
    match e.start_container(&late_id).await {
        Err(EngineError::NotFound { what }) => assert_eq!(what, format!("network {missing_net}")),
        other => panic!("expected NotFound of the late network, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn list_containers_returns_exactly_the_labelled_ones() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let group = unique("lgroup");
    let mut ids = Vec::new();
    for (i, role) in ["a", "b", "c"].iter().enumerate() {
        let mut s = spec(&unique(&format!("list{i}")), &["true"]);
        s.labels = labels(&[("com.example.group", &group), ("com.example.role", role)]);
        let id = e.create_container(&s).await.expect("create");
        cl.container(&id);
        ids.push(id);
    }
    // An unrelated container with the same label key but another value.
    let mut s = spec(&unique("listother"), &["true"]);
    s.labels = labels(&[("com.example.group", "other")]);
    cl.container(&e.create_container(&s).await.expect("create"));

    let mut got: Vec<String> = e
        .list_containers(&[format!("com.example.group={group}")])
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want, "created (not running) containers are listed too");

    let two = e
        .list_containers(&[
            format!("com.example.group={group}"),
            "com.example.role=b".into(),
        ])
        .await
        .expect("list");
    assert_eq!(
        two.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![ids[1].clone()]
    );
    assert_eq!(two[0].state, ContainerState::Created);
    assert!(two[0]
        .image_id
        .as_deref()
        .is_some_and(|i| i.starts_with("sha256:")));
}

// ---- pause, restart, top, logs, exec, wait ----

fn started_at(id: &str) -> String {
    docker_inspect(id)["State"]["StartedAt"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn pause_unpause_restart_and_wait() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let id = run(&e, &mut cl, &spec(&unique("pause"), &["sleep", "60"])).await;

    e.pause_container(&id).await.expect("pause");
    let info = e.inspect_container(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Paused);
    assert_eq!(docker_inspect(&id)["State"]["Paused"], true);
    e.unpause_container(&id).await.expect("unpause");
    assert_eq!(
        e.inspect_container(&id).await.expect("inspect").state,
        ContainerState::Running
    );
    assert!(matches!(
        e.pause_container("rcompose-enginetest-no-such").await,
        Err(EngineError::NotFound { .. })
    ));

    let before = started_at(&id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    e.restart_container(&id, Duration::from_secs(0))
        .await
        .expect("restart");
    let after = started_at(&id);
    assert_ne!(before, after, "StartedAt must change on restart");
    assert_eq!(
        e.inspect_container(&id).await.expect("inspect").state,
        ContainerState::Running
    );

    // wait: the exit code of a container that exits by itself, and at once for a stopped one.
    let id2 = run(
        &e,
        &mut cl,
        &spec(&unique("wait"), &["sh", "-c", "sleep 0.5; exit 3"]),
    )
    .await;
    let code = tokio::time::timeout(Duration::from_secs(20), e.wait_container(&id2))
        .await
        .expect("wait hung")
        .expect("wait");
    assert_eq!(code, 3);
    let again = tokio::time::timeout(Duration::from_secs(5), e.wait_container(&id2))
        .await
        .expect("wait on a stopped container hung")
        .expect("wait");
    assert_eq!(again, 3);
    e.kill_container(&id, "SIGKILL").await.expect("kill");
    assert_eq!(e.wait_container(&id).await.expect("wait"), 137);
}

#[tokio::test(flavor = "current_thread")]
async fn top_lists_the_processes() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let id = run(&e, &mut cl, &spec(&unique("top"), &["sleep", "61"])).await;
    let top = e.top(&id).await.expect("top");
    assert!(top.titles.iter().any(|t| t == "PID"), "{top:?}");
    let cmd = top
        .titles
        .iter()
        .position(|t| t == "CMD")
        .expect("a CMD column");
    assert!(
        top.processes
            .iter()
            .any(|p| p.get(cmd).is_some_and(|c| c == "sleep 61")),
        "{top:?}"
    );
}

async fn collect_logs(e: &DockerEngine, id: &str, opts: &LogOptions) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let mut stream = e.logs(id, opts);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("log chunk");
        let text = String::from_utf8_lossy(&chunk.bytes).into_owned();
        match chunk.stream {
            StdStream::Stdout => out.push_str(&text),
            StdStream::Stderr => err.push_str(&text),
        }
    }
    (out, err)
}

#[tokio::test(flavor = "current_thread")]
async fn logs_split_streams_tail_timestamps_and_follow() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let id = run(
        &e,
        &mut cl,
        &spec(
            &unique("logs"),
            &[
                "sh",
                "-c",
                "echo out; sleep 0.2; echo err >&2; sleep 0.2; for i in 1 2 3 4 5; do echo line$i; done",
            ],
        ),
    )
    .await;
    assert_eq!(e.wait_container(&id).await.expect("wait"), 0);
    let (out, err) = collect_logs(&e, &id, &LogOptions::default()).await;
    assert_eq!(out, "out\nline1\nline2\nline3\nline4\nline5\n");
    assert_eq!(err, "err\n");
    let tail = LogOptions {
        tail: Some(2),
        ..Default::default()
    };
    let (out, err) = collect_logs(&e, &id, &tail).await;
    assert_eq!((out.as_str(), err.as_str()), ("line4\nline5\n", ""));
    let stamped = LogOptions {
        tail: Some(1),
        timestamps: true,
        ..Default::default()
    };
    let (out, _) = collect_logs(&e, &id, &stamped).await;
    assert!(
        out.ends_with(" line5\n") && out.starts_with("20"),
        "timestamped: {out:?}"
    );
    // `until` before the container existed: nothing.
    let until = LogOptions {
        until: Some(1_000_000_000),
        ..Default::default()
    };
    assert_eq!(
        collect_logs(&e, &id, &until).await,
        (String::new(), String::new())
    );

    // Follow a container printing a line every 0.2 s: three lines arrive, then the stream is
    // dropped while the container still runs.
    let ticker = run(
        &e,
        &mut cl,
        &spec(
            &unique("ticker"),
            &[
                "sh",
                "-c",
                "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done",
            ],
        ),
    )
    .await;
    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut lines = Vec::new();
    {
        let mut stream = e.logs(&ticker, &follow);
        let got = tokio::time::timeout(Duration::from_secs(15), async {
            while lines.len() < 3 {
                match stream.next().await {
                    Some(Ok(c)) => lines.push(String::from_utf8_lossy(&c.bytes).into_owned()),
                    other => panic!("follow ended early: {other:?}"),
                }
            }
        })
        .await;
        assert!(got.is_ok(), "3 lines did not arrive in 15 s: {lines:?}");
    }
    assert_eq!(lines, ["tick0\n", "tick1\n", "tick2\n"]);
    assert_eq!(
        e.inspect_container(&ticker).await.expect("inspect").state,
        ContainerState::Running
    );
}

#[tokio::test(flavor = "current_thread")]
async fn exec_exit_code_output_env_user_workdir_tty_detach() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let id = run(&e, &mut cl, &spec(&unique("exec"), &["sleep", "60"])).await;
    let sh = |script: &str| ExecSpec {
        cmd: vec!["sh".into(), "-c".into(), script.into()],
        ..Default::default()
    };

    let out = e
        .exec_output(&id, &sh("echo hi; echo oops >&2; exit 7"))
        .await
        .expect("exec");
    assert_eq!(out.exit_code, 7);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");

    let mut s = sh("echo \"$FOO $(id -u) $(pwd)\"");
    s.env = vec!["FOO=bar".into()];
    s.user = Some("1000".into());
    s.working_dir = Some("/tmp".into());
    let out = e.exec_output(&id, &s).await.expect("exec");
    assert_eq!(
        (out.exit_code, String::from_utf8_lossy(&out.stdout).as_ref()),
        (0, "bar 1000 /tmp\n")
    );

    // With a TTY, stderr comes on the one stream and newlines are the terminal's.
    let mut t = sh("echo a; echo b >&2; exit 2");
    t.tty = true;
    let out = e.exec_output(&id, &t).await.expect("exec tty");
    assert_eq!(out.exit_code, 2);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\r\nb\r\n");
    assert!(out.stderr.is_empty());

    // Detached: returns at once; its effect shows up afterwards.
    let mut d = sh("sleep 0.3; touch /tmp/detached");
    d.detach = true;
    assert_eq!(e.exec(&id, &d).await.expect("exec -d"), 0);
    let start = Instant::now();
    loop {
        let check = e
            .exec_output(&id, &sh("test -f /tmp/detached"))
            .await
            .expect("exec");
        if check.exit_code == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "detached exec had no effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The streaming form (to this process's stdout) gives the same exit code.
    assert_eq!(e.exec(&id, &sh("exit 4")).await.expect("exec"), 4);

    // Privileged: the capability set is full.
    let mut p = sh("grep CapEff /proc/self/status");
    p.privileged = true;
    let out = e.exec_output(&id, &p).await.expect("exec --privileged");
    // Where the daemon itself may not grant every capability (this sandbox: `docker exec
    // --privileged` fails the same way), the runtime's refusal proves the flag reached it.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        (out.exit_code == 0 && (text.contains("000001ff") || text.contains("ffffffff")))
            || (out.exit_code == 126 && text.contains("unable to apply caps")),
        "{out:?}"
    );

    // Exec in a missing container is NotFound; in a stopped one an error.
    assert!(matches!(
        e.exec_output("rcompose-enginetest-no-such", &sh("true"))
            .await,
        Err(EngineError::NotFound { .. })
    ));
    e.kill_container(&id, "SIGKILL").await.expect("kill");
    e.wait_container(&id).await.expect("wait");
    assert!(e.exec_output(&id, &sh("true")).await.is_err());
}

// ---- run: start_attached, resize_tty, auto_remove, stdin_once ----

#[tokio::test(flavor = "current_thread")]
async fn start_attached_returns_the_exit_code_and_leaves_the_container() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let s = spec(
        &unique("attached"),
        &[
            "sh",
            "-c",
            "echo attached-out; echo attached-err >&2; touch /tmp/ran; exit 5",
        ],
    );
    let id = e.create_container(&s).await.expect("create");
    cl.container(&id);
    // No stdin: the test runner's own stdin must not be read.
    let attach = rcompose::engine::AttachSpec {
        stdin: false,
        tty: false,
    };
    assert_eq!(
        e.start_attached(&id, &attach)
            .await
            .expect("start_attached"),
        5
    );
    let info = e.inspect_container(&id).await.expect("inspect after");
    assert_eq!(info.state, ContainerState::Exited);
    assert_eq!(info.exit_code, Some(5));
    // An immediate exit is not missed (attach comes before start, the wait after).
    let quick = e
        .create_container(&spec(&unique("quick"), &["true"]))
        .await
        .expect("create");
    cl.container(&quick);
    assert_eq!(
        e.start_attached(&quick, &attach)
            .await
            .expect("start_attached"),
        0
    );
    // A missing container is NotFound.
    assert!(matches!(
        e.start_attached("rcompose-enginetest-no-such", &attach)
            .await,
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn resize_tty_sets_the_container_terminal_size() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let mut s = spec(&unique("resize"), &["sleep", "60"]);
    s.tty = true;
    s.stdin_open = true;
    let id = run(&e, &mut cl, &s).await;
    e.resize_tty(&id, 33, 101).await.expect("resize_tty");
    let out = e
        .exec_output(
            &id,
            &ExecSpec {
                cmd: vec!["sh".into(), "-c".into(), "stty size < /proc/1/fd/0".into()],
                ..Default::default()
            },
        )
        .await
        .expect("exec stty");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "33 101");
    assert!(matches!(
        e.resize_tty("rcompose-enginetest-no-such", 10, 10).await,
        Err(EngineError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn auto_remove_and_stdin_once_reach_the_daemon() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let mut s = spec(&unique("autorm"), &["sleep", "1"]);
    s.auto_remove = true;
    s.stdin_open = true;
    s.stdin_once = true;
    let id = e.create_container(&s).await.expect("create");
    cl.container(&id);
    let v = docker_inspect(&id);
    assert_eq!(v["HostConfig"]["AutoRemove"], true);
    assert_eq!(v["Config"]["StdinOnce"], true);
    assert_eq!(v["Config"]["AttachStdin"], true);
    e.start_container(&id).await.expect("start");
    let start = Instant::now();
    loop {
        match e.inspect_container(&id).await {
            Err(EngineError::NotFound { .. }) => break,
            Ok(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("not removed after exit: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn events_report_a_containers_life_with_its_labels_and_health() {
    let e = engine().await;
    let mut cl = Cleanup::default();
    let tag = format!("ev{}", COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut s = spec(&unique("events"), &["sh", "-c", "sleep 1; exit 3"]);
    s.labels.insert("rcompose.eventtest".into(), tag.clone());
    s.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "true".into()],
        interval: Some(Duration::from_millis(200)),
        timeout: Some(Duration::from_secs(5)),
        start_period: None,
        start_interval: None,
        retries: Some(3),
    });
    let filter = rcompose::engine::EventFilter {
        labels: vec![format!("rcompose.eventtest={tag}")],
        kinds: vec![rcompose::engine::EventKind::Container],
        since: Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
                - 1,
        ),
        until: None,
    };
    let mut events = e.events(&filter);
    let id = run(&e, &mut cl, &s).await;
    let mut actions = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ev) = events.next().await {
            let ev = ev.expect("event");
            assert_eq!(ev.id, id, "an event of another container: {ev:?}");
            assert_eq!(ev.kind, rcompose::engine::EventKind::Container);
            assert_eq!(
                ev.attributes.get("rcompose.eventtest"),
                Some(&tag),
                "labels: {ev:?}"
            );
            assert!(ev.time_nanos > 1_600_000_000_000_000_000, "time: {ev:?}");
            if ev.action == "die" {
                assert_eq!(ev.attributes.get("exitCode").map(String::as_str), Some("3"));
                actions.push(ev.action);
                break;
            }
            actions.push(ev.action);
        }
    })
    .await;
    assert!(
        collected.is_ok(),
        "no die event within 20 s; got {actions:?}"
    );
    let pos = |a: &str| actions.iter().position(|x| x == a);
    assert!(pos("create") < pos("start"), "{actions:?}");
    assert!(pos("health_status: healthy").is_some(), "{actions:?}");
    assert!(pos("start") < pos("die"), "{actions:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn project_watch_wakes_a_waiter_on_its_containers_event_not_on_the_recheck_timer() {
    use rcompose::reconcile::watch::{ProjectWatch, RECHECK};
    let e = engine().await;
    let mut cl = Cleanup::default();
    let project = unique("watchproj");
    let mut s = spec(&unique("watch"), &["sleep", "60"]);
    s.labels
        .insert("com.docker.compose.project".into(), project.clone());
    let id = e.create_container(&s).await.expect("create");
    cl.container(&id);
    let watch = ProjectWatch::new();
    let mut waiter = watch.subscribe();
    let began = Instant::now();
    let work = async {
        // Let the event stream open, then start: the waiter must wake on `start`.
        tokio::time::sleep(Duration::from_millis(300)).await;
        e.start_container(&id).await.expect("start");
        waiter.changed(&id).await;
        began.elapsed()
    };
    let woke = tokio::select! {
        d = work => d,
        err = watch.follow(&e, &project) => panic!("event stream failed: {err}"),
    };
    assert!(
        woke < RECHECK / 2,
        "the waiter woke after {woke:?}: by the recheck timer ({RECHECK:?}), not the event"
    );
}

/// `remove_image`: Docker's conflict for an image a (stopped) container uses, then the
/// removal's `Untagged`/`Deleted` report, then not found. The image is this test's own
/// (`img-test/enginetest-<pid>:1`, busybox plus a label), never the shared test image.
#[tokio::test(flavor = "current_thread")]
async fn remove_image_refuses_a_used_image_then_removes_it() {
    use rcompose::engine::ImageDeleted;
    let e = engine().await;
    let mut cl = Cleanup::default();
    let tag = format!("img-test/enginetest-{}:1", std::process::id());
    let dir = std::env::temp_dir().join(unique("rmi"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {IMAGE}\nLABEL rcompose.enginetest.rmi={}\n",
            dir.display()
        ),
    )
    .unwrap();
    cl.dirs.push(dir.display().to_string());
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = e.image_id(&tag).await.unwrap().expect("built");
    let mut s = spec(&unique("rmi"), &["true"]);
    s.image = tag.clone();
    let c = e.create_container(&s).await.unwrap();
    cl.container(&c);
    match e.remove_image(&tag, false).await {
        Err(EngineError::Conflict { message }) => assert_eq!(
            message,
            format!(
                "conflict: unable to remove repository reference \"{tag}\" (must force) - container {} is using its referenced image {}",
                &c[..12],
                &id[7..19]
            )
        ),
        other => panic!("{other:?}"),
    }
    e.remove_container(&c, true, false).await.unwrap();
    let report = e.remove_image(&tag, false).await.unwrap();
    assert_eq!(report[0], ImageDeleted::Untagged(tag.clone()));
    assert_eq!(report[1], ImageDeleted::Deleted(id.clone()));
    assert!(matches!(
        e.remove_image(&tag, false).await,
        Err(EngineError::ImageNotFound { .. })
    ));
}
