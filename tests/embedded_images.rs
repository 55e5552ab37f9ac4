//! Image removal on the embedded engine, as root, through the `rcompose` binary (issue 4):
//! two images that share the busybox layer are pulled from the local registry into a private
//! state directory; `image rm` of one keeps the shared layer and frees its own; an image a
//! container uses is refused with Docker's conflict message; `down --rmi all` removes the
//! containers and then the images; `image prune` takes dangling images, `-a` every unused
//! one. After each step the store holds exactly what its records and containers reference.
//!
//! The images `127.0.0.1:5000/img-test/{a,b}:1` (busybox plus one file each) are built with
//! the docker CLI and pushed on first use; `img-test/dangle:1` is pushed twice, with two
//! contents, to leave a dangling image behind a second pull.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use support::embedded::check_clean;
use support::project::Project;

const BASE: &str = "rcompose-test/busybox:1";
const A: &str = "127.0.0.1:5000/img-test/a:1";
const B: &str = "127.0.0.1:5000/img-test/b:1";
const DANGLE: &str = "127.0.0.1:5000/img-test/dangle:1";

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `busybox + /<file>` as `tag` and pushes it (the local tag is removed after).
fn push_image(tag: &str, file: &str) {
    let dir = std::env::temp_dir().join(format!("img-test-{file}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {BASE}\nRUN echo {file} > /{file}\n"),
    )
    .unwrap();
    docker(&["build", "-q", "-t", tag, dir.to_str().unwrap()]);
    docker(&["push", "-q", tag]);
    docker(&["rmi", tag]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ensure_images() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        push_image(A, "a");
        push_image(B, "b");
    });
}

fn project(tag: &str, compose: &str) -> (Project, PathBuf) {
    ensure_images();
    support::embedded::project_with("img", A, tag, compose)
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// The image records' layer directory names and blobs, plus the containers' lower dirs.
fn referenced(root: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut layers, mut blobs) = (BTreeSet::new(), BTreeSet::new());
    for n in names(&root.join("images")) {
        if n == "refs.json" || !n.ends_with(".json") {
            continue;
        }
        let rec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("images").join(&n)).unwrap()).unwrap();
        for c in rec["chain_ids"].as_array().unwrap() {
            let hex = c.as_str().unwrap().trim_start_matches("sha256:");
            layers.insert(hex[..24].to_string());
        }
        for key in ["id", "manifest_digest"] {
            blobs.insert(
                rec[key]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string(),
            );
        }
        for b in rec["layer_blobs"].as_array().unwrap() {
            blobs.insert(
                b.as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string(),
            );
        }
    }
    for c in names(&root.join("containers")) {
        let Ok(bytes) = std::fs::read(root.join("containers").join(c).join("record.json")) else {
            continue;
        };
        let rec: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for l in rec["lowers"].as_array().unwrap() {
            let p = PathBuf::from(l.as_str().unwrap());
            layers.insert(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    (layers, blobs)
}

/// The layer and blob directories hold exactly what is referenced; returns the layer dirs.
fn assert_store_exact(root: &Path) -> BTreeSet<String> {
    let (layers, blobs) = referenced(root);
    let dirs: BTreeSet<String> = names(&root.join("layers"))
        .into_iter()
        .filter(|n| !n.ends_with(".json"))
        .collect();
    let metas: BTreeSet<String> = names(&root.join("layers"))
        .into_iter()
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    assert_eq!(dirs, layers, "layer dirs");
    assert_eq!(metas, layers, "layer descriptions");
    assert_eq!(names(&root.join("blobs/sha256")), blobs, "blobs");
    dirs
}

fn image_layers(root: &Path, reference: &str) -> Vec<String> {
    let refs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("images/refs.json")).unwrap()).unwrap();
    let id = refs[reference].as_str().unwrap();
    let rec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            root.join("images")
                .join(format!("{}.json", id.trim_start_matches("sha256:"))),
        )
        .unwrap(),
    )
    .unwrap();
    rec["chain_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().trim_start_matches("sha256:")[..24].to_string())
        .collect()
}

const TWO: &str = "
services:
  a:
    image: 127.0.0.1:5000/img-test/a:1
    command: sleep 300
    stop_signal: SIGKILL
  b:
    image: 127.0.0.1:5000/img-test/b:1
    command: sleep 300
    stop_signal: SIGKILL
    profiles: [later]
";

#[test]
fn removal_keeps_shared_layers_refuses_used_images_and_down_rmi_removes_the_rest() {
    let (p, root) = project("rm", TWO);
    p.ok(&["--profile", "later", "pull", "-q"]);
    let a_layers = image_layers(&root, A);
    let b_layers = image_layers(&root, B);
    assert_eq!(a_layers[0], b_layers[0], "both are busybox plus one layer");
    assert_eq!(assert_store_exact(&root).len(), 3);

    p.ok(&["up", "-d"]);
    let out = p.rcompose(&["image", "rm", A]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "Error response from daemon: conflict: unable to remove repository reference \"{A}\" (must force) - container "
        )) && err.contains("is using its referenced image"),
        "{err}"
    );

    let out = p.ok(&["image", "rm", B]);
    assert!(out.starts_with(&format!("Untagged: {B}\n")), "{out}");
    assert!(out.contains("Deleted: sha256:"), "{out}");
    let left = assert_store_exact(&root);
    assert!(left.contains(&b_layers[0]), "the shared layer stays");
    assert!(!left.contains(&b_layers[1]), "b's own layer is gone");
    let out = p.rcompose(&["image", "rm", B]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("Error response from daemon: No such image: {B}\n")
    );

    let out = p.rcompose(&[
        "--profile",
        "later",
        "--progress",
        "plain",
        "down",
        "--rmi",
        "all",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let removed = err.find(&format!(" Image {A}  Removed")).expect(&err);
    assert!(
        err.find(&format!(" Image {A}  Removing")).unwrap() < removed,
        "{err}"
    );
    assert!(
        err.find(" Removed").unwrap() < removed,
        "containers first: {err}"
    );
    assert!(
        !err.contains(B),
        "b is gone already (nothing to say): {err}"
    );
    assert!(assert_store_exact(&root).is_empty(), "every layer went");
    assert!(names(&root.join("images")).iter().all(|n| n == "refs.json"));
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&p.dir);
}

#[test]
fn down_rmi_keeps_an_image_another_container_uses() {
    let (p, root) = project("inuse", TWO);
    let mut other = Project::new("img", "inuse-other", "embedded", A, TWO);
    other.env = p.env.clone();
    p.ok(&["up", "-d"]);
    other.ok(&["up", "-d"]);
    let out = p.rcompose(&["--progress", "plain", "down", "--rmi", "all"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(" Image {A}  Resource is still in use")),
        "{err}"
    );
    assert_store_exact(&root);
    let out = other.rcompose(&["--progress", "json", "down", "--rmi", "all"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{{\"id\":\"Image {A}\",\"status\":\"Removed\"}}")),
        "{err}"
    );
    assert!(assert_store_exact(&root).is_empty());
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&p.dir);
    let _ = std::fs::remove_dir_all(&other.dir);
}

#[test]
fn prune_takes_dangling_images_and_with_all_every_unused_one() {
    let compose = "
services:
  d:
    image: 127.0.0.1:5000/img-test/dangle:1
    command: sleep 300
    stop_signal: SIGKILL
  a:
    image: 127.0.0.1:5000/img-test/a:1
    command: sleep 300
    stop_signal: SIGKILL
";
    let (p, root) = project("prune", compose);
    // `dangle:1` pulled as one image, then as another: the first is left without a name.
    push_image(DANGLE, "first");
    p.ok(&["pull", "-q", "d"]);
    let first = image_layers(&root, DANGLE);
    push_image(DANGLE, "second");
    p.ok(&["pull", "-q"]);
    assert_eq!(
        names(&root.join("images")).len(),
        4,
        "3 records and refs.json"
    );

    p.ok(&["up", "-d", "a"]);
    let out = p.ok(&["image", "prune", "-f"]);
    // Its repo digest goes with it, as Docker reports it; no name does.
    assert!(
        out.starts_with("Deleted Images:\nuntagged: 127.0.0.1:5000/img-test/dangle@sha256:"),
        "{out}"
    );
    assert!(out.contains("\ndeleted: sha256:"), "{out}");
    assert!(out.contains("\n\nTotal reclaimed space: "), "{out}");
    assert!(
        !out.contains(&format!("untagged: {DANGLE}")),
        "only the dangling one: {out}"
    );
    let left = assert_store_exact(&root);
    assert!(!left.contains(&first[1]), "its own layer went");
    assert_eq!(
        p.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );

    let out = p.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains(&format!("untagged: {DANGLE}\n")), "{out}");
    assert!(!out.contains(A), "a container uses a: {out}");
    assert_store_exact(&root);
    p.ok(&["down", "-t", "0"]);
    p.ok(&["image", "prune", "-a", "-f"]);
    assert!(assert_store_exact(&root).is_empty());
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&p.dir);
}

/// A built image is a store image like a pulled one: its layers (a `COPY`, and a `RUN` that
/// deletes a file of the base, stored as a whiteout) stay while it is named, no container
/// of the build is left behind, and `down --rmi local` removes it and collects exactly its
/// own layers, keeping the base's.
#[test]
fn a_built_image_is_collected_like_a_pulled_one() {
    let (p, root) = project(
        "built",
        "
services:
  app:
    build: ./ctx
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    let ctx = p.dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {A}\nCOPY f /f\nRUN rm /a && echo x > /x\n"),
    )
    .unwrap();
    std::fs::write(ctx.join("f"), "from the context\n").unwrap();
    let out = p.ok(&["build"]);
    assert!(out.contains("Step 3/3 : RUN rm /a"), "{out}");
    let built = format!("docker.io/library/{}-app:latest", p.name);
    let base = image_layers(&root, "127.0.0.1:5000/img-test/a:1");
    let layers = image_layers(&root, &built);
    assert_eq!(layers.len(), base.len() + 2, "one layer per COPY and RUN");
    assert_eq!(layers[..base.len()], base[..]);
    assert_eq!(assert_store_exact(&root).len(), layers.len());
    assert_eq!(
        names(&root.join("containers")).len(),
        0,
        "no build container left"
    );

    p.ok(&["up", "-d"]);
    let cat = p.ok(&[
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "cat /f /x; test -e /a || echo gone",
    ]);
    assert_eq!(cat, "from the context\nx\ngone\n");
    p.ok(&["down", "--rmi", "local"]);
    assert_eq!(
        assert_store_exact(&root),
        base.iter().cloned().collect::<BTreeSet<_>>(),
        "the base's layers stay, the built ones go"
    );
    check_clean(&root);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&p.dir);
}
