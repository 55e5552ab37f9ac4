//! Tests of [`super::build_spec`], one per Docker behaviour it mirrors, and their helpers.

mod linux;
mod process;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use libcontainer::oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType, Spec,
};

use super::*;
use crate::engine::{Mount as ServiceMount, MountKind};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rcompose-spec-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      # a comment\n\
                      daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                      app:x:1000:1000:App:/home/app:/bin/sh\n\
                      broken:x:notanumber:0::/:/bin/sh\n";
const GROUP: &str = "root:x:0:\n\
                     wheel:x:10:app,other\n\
                     app:x:1000:\n\
                     docker:x:999:other, app\n\
                     staff:x:50:\n";

/// A rootfs with etc/passwd and etc/group.
fn rootfs() -> TempDir {
    let t = TempDir::new();
    std::fs::create_dir_all(t.0.join("etc")).unwrap();
    std::fs::write(t.0.join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(t.0.join("etc/group"), GROUP).unwrap();
    t
}

fn paths(root: &Path) -> HostPaths {
    HostPaths {
        rootfs: root.to_path_buf(),
        hosts: "/run/rc/c1/hosts".into(),
        resolv_conf: "/run/rc/c1/resolv.conf".into(),
        hostname: "/run/rc/c1/hostname".into(),
        default_hostname: "0123456789ab".into(),
        netns: Some("/run/netns/rc-c1".into()),
        cgroups_path: "/rcompose/c1".into(),
        init_binary: Some("/usr/libexec/rcompose/docker-init".into()),
        mount_sources: Vec::new(),
        file_sources: Vec::new(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn image(ep: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageRuntimeConfig {
    ImageRuntimeConfig {
        entrypoint: ep.map(strings),
        cmd: cmd.map(strings),
        ..Default::default()
    }
}

fn service() -> ContainerSpec {
    ContainerSpec {
        name: "p-web-1".into(),
        image: "busybox".into(),
        ..Default::default()
    }
}

/// Builds with a rootfs holding PASSWD/GROUP and an image running `sh`.
fn build(svc: &ContainerSpec) -> Result<Spec, SpecError> {
    let root = rootfs();
    build_spec(svc, &image(None, Some(&["sh"])), &paths(&root.0))
}

fn ok(svc: &ContainerSpec) -> Spec {
    build(svc).unwrap()
}

fn process(s: &Spec) -> &Process {
    s.process().as_ref().unwrap()
}

fn linux(s: &Spec) -> &Linux {
    s.linux().as_ref().unwrap()
}

fn mount_at<'a>(s: &'a Spec, dest: &str) -> Option<&'a Mount> {
    s.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(dest))
}

fn opts(m: &Mount) -> Vec<&str> {
    m.options().iter().flatten().map(String::as_str).collect()
}

fn args_for(
    svc_ep: Option<&[&str]>,
    svc_cmd: Option<&[&str]>,
    img: &ImageRuntimeConfig,
) -> Result<Vec<String>, SpecError> {
    let svc = ContainerSpec {
        entrypoint: svc_ep.map(strings),
        command: svc_cmd.map(strings),
        ..service()
    };
    let root = rootfs();
    build_spec(&svc, img, &paths(&root.0)).map(|s| process(&s).args().clone().unwrap())
}

fn caps_of(s: &Spec) -> &libcontainer::oci_spec::runtime::LinuxCapabilities {
    process(s).capabilities().as_ref().unwrap()
}

/// How many capabilities this process may grant (all of them on most hosts).
fn available_capabilities() -> usize {
    let bounding = super::capabilities::own_bounding_set();
    ALL_CAPABILITIES
        .iter()
        .filter(|(_, _, bit)| bounding & (1 << bit) != 0)
        .count()
}
