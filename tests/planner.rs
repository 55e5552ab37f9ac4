//! The planner without an engine: which containers `up` creates, recreates, starts or removes,
//! and why, and what `down` removes. Plans are compared as their printed form.

use std::path::PathBuf;

use rcompose::engine::{ContainerInfo, ContainerState, Health};
use rcompose::graph::DependencyGraph;
use rcompose::reconcile::container_spec::{self as cs, ProjectContext};
use rcompose::reconcile::planner::{
    plan_down, plan_up, DownOptions, Observed, Recreate, RemoveImages, UpOptions,
};
use rcompose::spec::model::Project;
use rcompose::spec::{load, LoadOptions};

fn project(yaml: &str) -> Project {
    let opts = LoadOptions {
        files: vec!["-".into()],
        project_name: Some("p".into()),
        cwd: PathBuf::from("/tmp"),
        stdin: Some(yaml.to_string()),
        ..Default::default()
    };
    load(&opts).expect("loads").project
}

const BASE: &str = "
services:
  db:
    image: db:1
    healthcheck:
      test: [CMD, 'true']
  migrate:
    image: tool:1
    depends_on:
      db: {condition: service_healthy}
  web:
    image: web:1
    environment:
      MODE: prod
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
volumes:
  data: {}
  ext: {external: true}
";

/// A container as `up` would have created it from `p` (same labels and hash).
fn existing(p: &Project, service: &str, number: u32, state: ContainerState) -> ContainerInfo {
    let svc = &p.services[service];
    let name = cs::container_name(p, svc, number);
    ContainerInfo {
        id: format!("id-{name}"),
        name,
        image: cs::service_image(p, svc),
        image_id: Some("sha256:1".into()),
        labels: cs::container_labels(p, svc, &ProjectContext::default(), number, None),
        state,
        health: Health::None,
        exit_code: Some(0),
        last_health_output: None,
        status_text: String::new(),
        created: i64::from(number),
        ports: Vec::new(),
        command: "sleep 1".into(),
        networks: vec!["p_default".into()],
        mounts: Vec::new(),
        stop_timeout: None,
    }
}

fn all_running(p: &Project) -> Observed {
    let mut o = Observed::default();
    for s in ["db", "migrate", "web"] {
        o.containers
            .push(existing(p, s, 1, ContainerState::Running));
    }
    o.networks.insert("p_default".into());
    o
}

fn up(p: &Project, o: &Observed, opts: &UpOptions) -> String {
    let g = DependencyGraph::build(p).unwrap();
    plan_up(p, &g, o, opts).to_string()
}

#[test]
fn fresh_project_creates_everything_in_dependency_levels() {
    let p = project(BASE);
    let plan = up(&p, &Observed::default(), &UpOptions::default());
    assert_eq!(
        plan,
        "create network p_default (missing)
level 0:
  create db #1 (missing)
  start db #1 (missing)
level 1:
  create migrate #1 (missing)
  start migrate #1 (missing)
level 2:
  create web #1 (missing)
  start web #1 (missing)
"
    );
}

#[test]
fn re_up_of_an_unchanged_project_does_nothing() {
    let p = project(BASE);
    let o = all_running(&p);
    let g = DependencyGraph::build(&p).unwrap();
    let plan = plan_up(&p, &g, &o, &UpOptions::default());
    assert!(plan.is_noop(), "{plan}");
}

#[test]
fn an_environment_change_recreates_only_that_service() {
    let p = project(BASE);
    let o = all_running(&p);
    let changed = project(&BASE.replace("MODE: prod", "MODE: dev"));
    let plan = up(&changed, &o, &UpOptions::default());
    assert_eq!(
        plan,
        "level 0:
  db: up to date
level 1:
  migrate: up to date
level 2:
  recreate web #1 p-web-1 (config changed)
  start web #1 (not running)
"
    );
}

#[test]
fn scale_depends_on_and_profiles_alone_recreate_nothing() {
    let p = project(BASE);
    let o = all_running(&p);
    let changed = project(
        &BASE
            .replace(
                "volumes:\n  data: {}",
                "  extra:\n    image: x\n    profiles: [never]\nvolumes:\n  data: {}",
            )
            .replace(
                "    image: web:1\n",
                "    image: web:1\n    pull_policy: always\n    scale: 1\n",
            )
            .replace(
                "      migrate: {condition: service_completed_successfully}\n",
                "      migrate: {condition: service_completed_successfully, restart: true}\n",
            ),
    );
    let g = DependencyGraph::build(&changed).unwrap();
    let plan = plan_up(&changed, &g, &o, &UpOptions::default());
    assert!(plan.is_noop(), "{plan}");
}

#[test]
fn force_and_no_recreate() {
    let p = project(BASE);
    let o = all_running(&p);
    let forced = up(
        &p,
        &o,
        &UpOptions {
            services: vec!["db".into()],
            recreate: Recreate::Force,
            ..Default::default()
        },
    );
    assert_eq!(
        forced,
        "level 0:\n  recreate db #1 p-db-1 (forced)\n  start db #1 (not running)\n"
    );
    let changed = project(&BASE.replace("MODE: prod", "MODE: dev"));
    let kept = up(
        &changed,
        &o,
        &UpOptions {
            recreate: Recreate::Never,
            ..Default::default()
        },
    );
    assert!(kept.contains("  web: up to date\n"), "{kept}");
}

#[test]
fn stopped_containers_are_started_and_scale_changes_add_or_remove_by_number() {
    let p = project(BASE);
    let mut o = all_running(&p);
    o.containers[0].state = ContainerState::Exited;
    o.containers
        .push(existing(&p, "web", 2, ContainerState::Running));
    o.containers
        .push(existing(&p, "web", 3, ContainerState::Running));
    let mut opts = UpOptions::default();
    opts.scale.insert("migrate".into(), 2);
    let plan = up(&p, &o, &opts);
    assert_eq!(
        plan,
        "level 0:
  start db #1 (not running)
level 1:
  create migrate #2 (missing)
  start migrate #2 (missing)
level 2:
  remove p-web-2 (scale down)
  remove p-web-3 (scale down)
"
    );
}

#[test]
fn selection_pulls_dependencies_unless_no_deps() {
    let p = project(BASE);
    let with = up(
        &p,
        &Observed::default(),
        &UpOptions {
            services: vec!["migrate".into()],
            ..Default::default()
        },
    );
    assert!(
        with.contains("create db #1") && !with.contains("web"),
        "{with}"
    );
    let without = up(
        &p,
        &Observed::default(),
        &UpOptions {
            services: vec!["migrate".into()],
            no_deps: true,
            ..Default::default()
        },
    );
    assert!(
        !without.contains("db #1") && without.contains("create migrate #1"),
        "{without}"
    );
}

#[test]
fn orphans_are_kept_unless_asked_and_volumes_follow_external() {
    let p = project(&BASE.replace(
        "    image: web:1\n",
        "    image: web:1\n    volumes:\n      - data:/data\n      - ext:/ext\n",
    ));
    let mut o = all_running(&p);
    let mut orphan = existing(&p, "web", 1, ContainerState::Running);
    orphan.name = "p-old-1".into();
    orphan.id = "id-old".into();
    orphan
        .labels
        .insert(cs::labels::SERVICE.into(), "old".into());
    o.containers.push(orphan);
    let plan = up(&p, &o, &UpOptions::default());
    assert!(
        plan.starts_with("create volume p_data (missing)\nkeep orphan p-old-1\n"),
        "{plan}"
    );
    assert!(
        !plan.contains("p_ext"),
        "external volumes are never created: {plan}"
    );
    let plan = up(
        &p,
        &o,
        &UpOptions {
            remove_orphans: true,
            ..Default::default()
        },
    );
    assert!(plan.contains("remove p-old-1 (orphan)"), "{plan}");

    let g = DependencyGraph::build(&p).unwrap();
    o.volumes.insert("p_data".into());
    o.volumes.insert("ext".into());
    let opts = DownOptions {
        remove_volumes: true,
        ..Default::default()
    };
    let down = plan_down(&p, &g, &o, &opts);
    assert_eq!(
        down.volumes,
        vec!["p_data".to_string()],
        "external volumes stay"
    );
    assert_eq!(down.kept_orphans, vec!["p-old-1".to_string()]);
    // Dependents stop first.
    let order: Vec<&str> = down
        .levels
        .iter()
        .flatten()
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(order, ["p-web-1", "p-migrate-1", "p-db-1"]);
    assert_eq!(down.networks, vec!["p_default".to_string()]);
}

#[test]
fn restart_true_dependents_restart_when_their_dependency_is_recreated() {
    let yaml = BASE.replace(
        "      db: {condition: service_healthy}\n  web:",
        "      db: {condition: service_healthy, restart: true}\n  web:",
    );
    let p = project(&yaml);
    let o = all_running(&p);
    let changed = project(&yaml.replace("image: db:1", "image: db:2"));
    let plan = up(&changed, &o, &UpOptions::default());
    assert_eq!(
        plan,
        "level 0:
  recreate db #1 p-db-1 (config changed)
  start db #1 (not running)
level 1:
  restart migrate #1 (dependency db replaced)
level 2:
  web: up to date
"
    );
}

/// `down --rmi`: `local` takes only the `<project>-<service>` images of services without
/// `image:`, `all` every service's image too; only images that exist, each once, sorted by
/// Compose's familiar tagged name, after the containers and networks.
#[test]
fn down_rmi_chooses_images_like_compose() {
    let p = project(
        "
services:
  web:
    image: busybox
  api:
    image: docker.io/library/busybox:latest
  built:
    build: .
  gone:
    build: .
  pinned:
    image: 127.0.0.1:5000/img-test/app:2
  absent:
    image: nothere:1
",
    );
    let g = DependencyGraph::build(&p).unwrap();
    let mut o = Observed::default();
    for (reference, id) in [
        ("busybox", "sha256:b"),
        ("docker.io/library/busybox:latest", "sha256:b"),
        ("p-built", "sha256:c"),
        ("127.0.0.1:5000/img-test/app:2", "sha256:d"),
    ] {
        o.images.insert(reference.into(), id.into());
    }
    o.containers
        .push(existing(&p, "web", 1, ContainerState::Exited));
    let down = |mode| {
        let opts = DownOptions {
            remove_images: mode,
            ..Default::default()
        };
        plan_down(&p, &g, &o, &opts).to_string()
    };
    assert_eq!(
        down(Some(RemoveImages::Local)),
        "level 0:\n  stop and remove p-web-1\nremove image p-built:latest (built for service built)\n"
    );
    assert_eq!(
        down(Some(RemoveImages::All)),
        "level 0:\n  stop and remove p-web-1\n\
         remove image 127.0.0.1:5000/img-test/app:2 (image of service pinned)\n\
         remove image busybox:latest (image of service api)\n\
         remove image p-built:latest (built for service built)\n"
    );
    assert_eq!(down(None), "level 0:\n  stop and remove p-web-1\n");
}
