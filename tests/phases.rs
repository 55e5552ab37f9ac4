//! One test group per loading phase, written as YAML in → YAML out (like compose-go's
//! loader tests): each phase is run alone on a parsed tree and the result is printed with
//! the same YAML renderer `config` uses.

use rcompose::cli::render::to_yaml;
use rcompose::spec::node::Node;
use rcompose::spec::source::FileId;
use rcompose::spec::{canonical, interpolation, merge, paths, tree_json, yaml};

fn parse(s: &str) -> Node {
    yaml::parse(s, FileId(0), &Default::default())
        .expect("valid yaml")
        .remove(0)
}

fn out(n: &Node) -> String {
    to_yaml(&tree_json::to_json(n))
}

fn canonical(input: &str) -> String {
    let mut n = parse(input);
    let mut errors = Vec::new();
    canonical::file(&mut n, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    out(&n)
}

fn interpolate(input: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let mut n = parse(input);
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let mut errors = Vec::new();
    interpolation::apply(
        &mut n,
        &mut String::new(),
        &lookup,
        &mut Vec::new(),
        &mut errors,
    );
    match errors.first() {
        Some(e) => Err(e.message.clone()),
        None => Ok(out(&n)),
    }
}

fn merged(base: &str, over: &str) -> String {
    let mut a = parse(base);
    let mut b = parse(over);
    let mut e = Vec::new();
    canonical::file(&mut a, &mut e);
    canonical::file(&mut b, &mut e);
    merge::merge(&mut a, b, &mut Vec::new());
    merge::strip_tags(&mut a);
    out(&a)
}

// ---- interpolation

#[test]
fn interpolation_values_not_keys() {
    let got = interpolate(
        "services:\n  a:\n    image: ${IMG:-nginx}:$TAG\n    labels:\n      ${K}: $$x\n",
        &[("TAG", "1")],
    );
    assert_eq!(
        got.unwrap(),
        "services:\n  a:\n    image: nginx:1\n    labels:\n      ${K}: $x\n"
    );
}

#[test]
fn interpolation_required_names_the_path() {
    let err = interpolate("services:\n  a:\n    image: ${ID:?ID must be set}\n", &[]).unwrap_err();
    assert_eq!(err, "error while interpolating services.a.image: required variable ID is missing a value: ID must be set");
}

#[test]
fn interpolation_inside_lists_and_extensions() {
    let got = interpolate("x-a: [$A, '${B-b}']\n", &[("A", "1")]).unwrap();
    assert_eq!(got, "x-a:\n  - \"1\"\n  - b\n");
}

// ---- canonical (short → long)
// (the renderer prints the tree's keys sorted, as Go maps are)

#[test]
fn canonical_ports_and_volumes() {
    let got = canonical("services:\n  a:\n    ports: ['127.0.0.1:80:8080/udp', 9000]\n    volumes: ['./src:/app:ro', 'data:/data', '/anon']\n");
    assert_eq!(
        got,
        "services:\n  a:\n    ports:\n      - host_ip: 127.0.0.1\n        mode: ingress\n        protocol: udp\n        published: \"80\"\n        target: 8080\n      - mode: ingress\n        protocol: tcp\n        target: 9000\n    volumes:\n      - bind:\n          create_host_path: true\n        read_only: true\n        source: ./src\n        target: /app\n        type: bind\n      - source: data\n        target: /data\n        type: volume\n        volume: {}\n      - target: /anon\n        type: volume\n        volume: {}\n"
    );
}

#[test]
fn canonical_lists_become_maps() {
    let got = canonical("services:\n  a:\n    environment: [A=1, B]\n    labels: [x=y, z]\n    depends_on: [db]\n    networks: [front]\n    command: echo 'a b' c\n    build: ./dir\n");
    assert_eq!(
        got,
        "services:\n  a:\n    build:\n      context: ./dir\n    command:\n      - echo\n      - a b\n      - c\n    depends_on:\n      db:\n        condition: service_started\n        required: true\n    environment:\n      A: \"1\"\n      B: null\n    labels:\n      x: \"y\"\n      z: \"\"\n    networks:\n      front: null\n"
    );
}

#[test]
fn canonical_healthcheck_hosts_devices() {
    let got = canonical("services:\n  a:\n    healthcheck: {test: curl -f x}\n    extra_hosts: {h: 1.2.3.4}\n    devices: [/dev/a]\n    gpus: all\n");
    assert_eq!(
        got,
        "services:\n  a:\n    devices:\n      - permissions: rwm\n        source: /dev/a\n        target: /dev/a\n    extra_hosts:\n      - h=1.2.3.4\n    gpus:\n      - count: -1\n    healthcheck:\n      test:\n        - CMD-SHELL\n        - curl -f x\n"
    );
}

// ---- merge

#[test]
fn merge_rules() {
    let got = merged(
        "services:\n  a:\n    image: x\n    command: [a, b]\n    environment: {A: '1'}\n    dns: [1.1.1.1]\n    volumes: ['vol:/data']\n",
        "services:\n  a:\n    command: c\n    environment: [B=2]\n    dns: [1.1.1.1, 8.8.8.8]\n    volumes: ['wal:/data']\n",
    );
    assert_eq!(
        got,
        "services:\n  a:\n    command:\n      - c\n    dns:\n      - 1.1.1.1\n      - 8.8.8.8\n    environment:\n      A: \"1\"\n      B: \"2\"\n    image: x\n    volumes:\n      - source: wal\n        target: /data\n        type: volume\n        volume: {}\n"
    );
}

#[test]
fn merge_reset_and_override_tags() {
    let got = merged(
        "services:\n  a:\n    image: x\n    ports: ['80:80']\n    labels: {a: b}\n",
        "services:\n  a:\n    ports: !reset []\n    labels: !override {c: d}\n",
    );
    assert_eq!(
        got,
        "services:\n  a:\n    image: x\n    labels:\n      c: d\n"
    );
}

// ---- paths

#[test]
fn paths_resolve_against_the_base() {
    let mut n = parse("services:\n  a:\n    build: .\n    volumes: ['./x:/x', '~/y:/y', 'vol:/v']\n    env_file: [.env]\nsecrets:\n  s: {file: ./s.txt}\n");
    let mut e = Vec::new();
    canonical::file(&mut n, &mut e);
    paths::Resolver {
        base: std::path::Path::new("/p"),
        home: "/home/u",
        default_build_context: false,
    }
    .file(&mut n);
    let got = out(&n);
    assert!(got.contains("context: /p\n"), "{got}");
    assert!(got.contains("source: /p/x\n"), "{got}");
    assert!(got.contains("source: /home/u/y\n"), "{got}");
    assert!(got.contains("source: vol\n"), "{got}");
    assert!(got.contains("path: /p/.env\n"), "{got}");
    assert!(got.contains("file: /p/s.txt\n"), "{got}");
}
