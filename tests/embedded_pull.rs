//! Pulls into the embedded engine's image store, against real registries on loopback: the
//! local `docker-registry` the test command starts (127.0.0.1:5000), and a small fake
//! registry in this file that serves crafted manifests and blobs (an OCI index, zstd layers,
//! corrupted and truncated blobs, a wrong diff_id). Needs root (layers hold device nodes and
//! trusted.* xattrs); the test command runs as root.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rcompose::engine::embedded::pull::{
    host_architecture, pull, short_layer_id, PullError, PullEvent,
};
use rcompose::engine::embedded::state::StateRoot;
use rcompose::engine::embedded::store::images::{hex, ImageStore};
use rcompose::engine::types::{LayerPhase, LayerProgress};
use sha2::{Digest, Sha256};

fn must_be_root() {
    assert!(
        nix_is_root(),
        "the embedded-engine tests need root; the README test command runs them as root"
    );
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn temp_store(tag: &str) -> (ImageStore, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rcompose-pull-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = StateRoot::open(dir.clone()).unwrap();
    (ImageStore::new(st), dir)
}

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(b)))
}

/// A tar with the given files (path, content).
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, c) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(c.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, p, *c).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// What the fake registry serves: path → (content type, body).
type Routes = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

/// Serves `routes` over HTTP/1.1 on 127.0.0.1:<random>; returns the address.
fn fake_registry(routes: Routes) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let routes = routes.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let mut s = s;
                let found = routes.lock().unwrap().get(&path).cloned();
                let (status, ct, body) = match (path.as_str(), found) {
                    ("/v2/", _) => ("200 OK", "application/json".to_string(), b"{}".to_vec()),
                    (_, Some((ct, body))) => ("200 OK", ct, body),
                    _ => (
                        "404 Not Found",
                        "application/json".to_string(),
                        br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.to_vec(),
                    ),
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(&body);
            });
        }
    });
    addr
}

struct FakeImage {
    layers: Vec<(Vec<u8>, &'static str)>,
    diff_ids: Vec<String>,
}

/// Registers an image (manifest under `tag`, config, layers) and returns the manifest body.
fn register(routes: &Routes, repo: &str, tag: &str, img: &FakeImage, arch: &str) -> Vec<u8> {
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["/hello"], "Env": ["A=1"]},
        "rootfs": {"type": "layers", "diff_ids": img.diff_ids},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let mut r = routes.lock().unwrap();
    r.insert(
        format!("/v2/{repo}/blobs/{}", digest(&config)),
        ("application/octet-stream".into(), config.clone()),
    );
    let mut layers = Vec::new();
    for (blob, mt) in &img.layers {
        r.insert(
            format!("/v2/{repo}/blobs/{}", digest(blob)),
            ("application/octet-stream".into(), blob.clone()),
        );
        layers
            .push(serde_json::json!({"mediaType": mt, "digest": digest(blob), "size": blob.len()}));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
        "layers": layers,
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let ct = "application/vnd.oci.image.manifest.v1+json".to_string();
    r.insert(
        format!("/v2/{repo}/manifests/{tag}"),
        (ct.clone(), manifest.clone()),
    );
    r.insert(
        format!("/v2/{repo}/manifests/{}", digest(&manifest)),
        (ct, manifest.clone()),
    );
    manifest
}

fn simple_image(content: &[u8]) -> FakeImage {
    let tar = tar_of(&[("hello", content)]);
    FakeImage {
        diff_ids: vec![digest(&tar)],
        layers: vec![(gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip")],
    }
}

fn leftovers(dir: &std::path::Path) -> usize {
    let tmp = std::fs::read_dir(dir.join("blobs/tmp")).unwrap().count();
    let layer_tmp = std::fs::read_dir(dir.join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .count();
    tmp + layer_tmp
}

#[tokio::test]
async fn pulls_busybox_from_the_local_registry() {
    must_be_root();
    let (store, dir) = temp_store("busybox");
    let first = std::sync::Mutex::new(Vec::new());
    let rec = pull(&store, "127.0.0.1:5000/rcompose-test/busybox:1", &|e| {
        if let PullEvent::Layer(l) = e {
            first.lock().unwrap().push(l)
        }
    })
    .await
    .expect("the test command pushes rcompose-test/busybox:1 to 127.0.0.1:5000");
    // Each layer goes through dockerd's phases, in its order, with counts that end full.
    let first = first.into_inner().unwrap();
    for blob in &rec.layer_blobs {
        let mine: Vec<&LayerProgress> = first
            .iter()
            .filter(|l| l.layer == short_layer_id(blob))
            .collect();
        let mut phases: Vec<&str> = mine.iter().map(|l| l.phase.text()).collect();
        phases.dedup();
        assert_eq!(
            phases,
            [
                "Pulling fs layer",
                "Downloading",
                "Verifying Checksum",
                "Download complete",
                "Extracting",
                "Pull complete"
            ],
            "{first:?}"
        );
        let last_download = mine
            .iter()
            .rfind(|l| l.phase == LayerPhase::Downloading)
            .unwrap();
        assert!(last_download.total > 0);
        assert_eq!(last_download.current, last_download.total);
        let last_extract = mine
            .iter()
            .rfind(|l| l.phase == LayerPhase::Extracting)
            .unwrap();
        assert_eq!(last_extract.current, last_extract.total);
    }
    assert!(rec.id.starts_with("sha256:"));
    let top = store.layer_dir(rec.chain_ids.last().unwrap());
    assert!(
        top.join("bin/busybox").exists() || top.join("bin/sh").exists(),
        "{}",
        top.display()
    );
    // A second pull finds every layer present.
    let events = std::sync::Mutex::new(Vec::new());
    pull(&store, "127.0.0.1:5000/rcompose-test/busybox:1", &|e| {
        events.lock().unwrap().push(e)
    })
    .await
    .unwrap();
    let events = events.into_inner().unwrap();
    let present = events.iter().find_map(|e| match e {
        PullEvent::Resolved { present, .. } => Some(*present),
        _ => None,
    });
    assert_eq!(present, Some(rec.chain_ids.len()));
    // The image is up to date: no layer is reported (dockerd's "Image is up to date").
    assert!(
        !events.iter().any(|e| matches!(e, PullEvent::Layer(_))),
        "{events:?}"
    );
    assert_eq!(leftovers(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_index_resolves_to_this_platform_and_zstd_layers_unpack() {
    must_be_root();
    let routes: Routes = Arc::default();
    let addr = fake_registry(routes.clone());
    let tar = tar_of(&[("hello", b"zstd layer")]);
    let zst =
        ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mine = register(
        &routes,
        "multi",
        "mine",
        &FakeImage {
            diff_ids: vec![digest(&tar)],
            layers: vec![(zst, "application/vnd.oci.image.layer.v1.tar+zstd")],
        },
        host_architecture(),
    );
    let other = register(
        &routes,
        "multi",
        "other",
        &simple_image(b"wrong platform"),
        "s390x",
    );
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&other), "size": other.len(), "platform": {"architecture": "s390x", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&mine), "size": mine.len(), "platform": {"architecture": host_architecture(), "os": "linux"}},
        ],
    });
    let index = serde_json::to_vec(&index).unwrap();
    routes.lock().unwrap().insert(
        "/v2/multi/manifests/latest".into(),
        (
            "application/vnd.oci.image.index.v1+json".into(),
            index.clone(),
        ),
    );
    let (store, dir) = temp_store("index");
    let rec = pull(&store, &format!("{addr}/multi:latest"), &|_| {})
        .await
        .unwrap();
    assert_eq!(rec.manifest_digest, digest(&mine));
    assert_eq!(rec.architecture, host_architecture());
    assert!(rec.repo_digests[0].ends_with(&digest(&index)));
    let top = store.layer_dir(&rec.chain_ids[0]);
    assert_eq!(std::fs::read(top.join("hello")).unwrap(), b"zstd layer");
    assert_eq!(rec.config.cmd, Some(vec!["/hello".to_string()]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_corrupted_blob_is_refused_before_any_commit() {
    must_be_root();
    let routes: Routes = Arc::default();
    let addr = fake_registry(routes.clone());
    let img = simple_image(b"good");
    register(&routes, "bad", "1", &img, host_architecture());
    // Serve other bytes under the layer's digest.
    let layer_digest = digest(&img.layers[0].0);
    let mut evil = img.layers[0].0.clone();
    let last = evil.len() - 1;
    evil[last] ^= 0xff;
    routes.lock().unwrap().insert(
        format!("/v2/bad/blobs/{layer_digest}"),
        ("application/octet-stream".into(), evil.clone()),
    );
    let (store, dir) = temp_store("corrupt");
    let err = pull(&store, &format!("{addr}/bad:1"), &|_| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PullError::Digest { .. }), "{msg}");
    assert!(
        msg.contains(&layer_digest) && msg.contains(&digest(&evil)),
        "names both digests: {msg}"
    );
    assert!(!store.state().blob_path(&layer_digest).exists());
    assert!(store.refs().unwrap().is_empty());
    assert_eq!(leftovers(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_truncated_blob_is_refused() {
    must_be_root();
    let routes: Routes = Arc::default();
    let addr = fake_registry(routes.clone());
    let img = simple_image(b"some content that will be cut");
    register(&routes, "short", "1", &img, host_architecture());
    let layer_digest = digest(&img.layers[0].0);
    let cut = img.layers[0].0[..img.layers[0].0.len() / 2].to_vec();
    routes.lock().unwrap().insert(
        format!("/v2/short/blobs/{layer_digest}"),
        ("application/octet-stream".into(), cut),
    );
    let (store, dir) = temp_store("truncated");
    let err = pull(&store, &format!("{addr}/short:1"), &|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(!store.state().blob_path(&layer_digest).exists());
    assert_eq!(leftovers(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_wrong_diff_id_is_refused_and_no_layer_is_committed() {
    must_be_root();
    let routes: Routes = Arc::default();
    let addr = fake_registry(routes.clone());
    let mut img = simple_image(b"content");
    let claimed = digest(b"something else");
    img.diff_ids = vec![claimed.clone()];
    register(&routes, "diffid", "1", &img, host_architecture());
    let (store, dir) = temp_store("diffid");
    let err = pull(&store, &format!("{addr}/diffid:1"), &|_| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("diff_id") && msg.contains(&claimed), "{msg}");
    assert!(!store.layer_dir(&claimed).exists());
    assert_eq!(leftovers(&dir), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn oversized_manifests_and_missing_images_are_typed_errors() {
    must_be_root();
    let routes: Routes = Arc::default();
    let addr = fake_registry(routes.clone());
    let mut big =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","x":""#
            .to_vec();
    big.extend(std::iter::repeat_n(b'a', 5 << 20));
    big.extend_from_slice(b"\"}");
    routes.lock().unwrap().insert(
        "/v2/big/manifests/1".into(),
        ("application/vnd.oci.image.manifest.v1+json".into(), big),
    );
    let (store, dir) = temp_store("caps");
    let err = pull(&store, &format!("{addr}/big:1"), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PullError::TooLarge { .. }), "{err}");
    let err = pull(&store, &format!("{addr}/nothing:1"), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PullError::NotFound { .. }), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
