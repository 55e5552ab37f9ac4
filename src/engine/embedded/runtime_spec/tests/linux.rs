//! The container part of the spec: masked paths, mounts, read-only root, namespaces,
//! resources and devices, ulimits, sysctls, and the JSON form.

use super::*;

#[test]
fn masked_and_readonly_paths() {
    let s = ok(&service());
    let masked = linux(&s).masked_paths().clone().unwrap();
    for p in [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
        "/proc/interrupts",
        "/proc/acpi",
        "/proc/latency_stats",
        "/proc/scsi",
        "/proc/asound",
        "/proc/timer_stats",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ] {
        assert!(masked.contains(&p.to_string()), "{p}");
    }
    assert_eq!(
        linux(&s).readonly_paths().clone().unwrap(),
        strings(&[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ])
    );
}

#[test]
fn privileged() {
    let s = ok(&ContainerSpec {
        privileged: true,
        cap_drop: strings(&["ALL"]),
        ..service()
    });
    assert_eq!(
        caps_of(&s).effective().as_ref().map(HashSet::len),
        Some(available_capabilities())
    );
    assert!(linux(&s).seccomp().is_none());
    assert!(linux(&s).masked_paths().is_none() && linux(&s).readonly_paths().is_none());
    assert!(!opts(mount_at(&s, "/sys").unwrap()).contains(&"ro"));
    assert!(!opts(mount_at(&s, "/sys/fs/cgroup").unwrap()).contains(&"ro"));
    let rules = linux(&s)
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(
        rules[0].allow() && rules[0].typ().is_none() && rules[0].access().as_deref() == Some("rwm")
    );
}

#[test]
fn default_mounts_and_shm_size() {
    let s = ok(&service());
    let dests: Vec<&Path> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().as_path())
        .collect();
    let want = [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/sys/fs/cgroup",
        "/dev/mqueue",
        "/dev/shm",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/etc/hosts",
    ];
    assert_eq!(dests, want.iter().map(Path::new).collect::<Vec<_>>());
    assert_eq!(
        opts(mount_at(&s, "/dev/shm").unwrap()),
        ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    assert_eq!(
        opts(mount_at(&s, "/sys").unwrap()),
        ["nosuid", "noexec", "nodev", "ro"]
    );
    assert_eq!(
        mount_at(&s, "/sys/fs/cgroup").unwrap().typ().as_deref(),
        Some("cgroup")
    );
    let hosts = mount_at(&s, "/etc/hosts").unwrap();
    assert_eq!(
        (hosts.source().as_deref(), opts(hosts)),
        (
            Some(Path::new("/run/rc/c1/hosts")),
            vec!["rbind", "rprivate"]
        )
    );

    let s = ok(&ContainerSpec {
        shm_size: Some(256 << 20),
        ..service()
    });
    assert!(opts(mount_at(&s, "/dev/shm").unwrap()).contains(&"size=268435456"));
}

fn svc_mount(kind: MountKind, target: &str, read_only: bool, size: Option<i64>) -> ServiceMount {
    ServiceMount {
        kind,
        source: String::new(),
        target: target.into(),
        read_only,
        no_copy: false,
        create_host_path: false,
        tmpfs_size: size,
        ..Default::default()
    }
}

#[test]
fn service_mounts() {
    let root = rootfs();
    let svc = ContainerSpec {
        mounts: vec![
            svc_mount(MountKind::Bind, "/data/sub", true, None),
            svc_mount(MountKind::Tmpfs, "/run/cache", false, Some(1 << 20)),
            svc_mount(MountKind::Volume, "/data", false, None),
            svc_mount(MountKind::Bind, "/etc/hosts", true, None),
        ],
        ..service()
    };
    let p = HostPaths {
        mount_sources: vec![
            "/srv/sub".into(),
            PathBuf::new(),
            "/vol/data".into(),
            "/srv/hosts".into(),
        ],
        ..paths(&root.0)
    };
    let s = build_spec(&svc, &image(None, Some(&["sh"])), &p).unwrap();
    let tmpfs = mount_at(&s, "/run/cache").unwrap();
    assert_eq!(tmpfs.typ().as_deref(), Some("tmpfs"));
    assert_eq!(
        opts(tmpfs),
        ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]
    );
    assert_eq!(
        opts(mount_at(&s, "/data/sub").unwrap()),
        ["rbind", "ro", "rro", "rprivate"]
    );
    assert_eq!(opts(mount_at(&s, "/data").unwrap()), ["rbind"]);
    // The service's own /etc/hosts replaces the engine's.
    let hosts: Vec<&Mount> = s
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .filter(|m| m.destination() == Path::new("/etc/hosts"))
        .collect();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].source().as_deref(), Some(Path::new("/srv/hosts")));
    // Parents before children.
    let pos = |d: &str| mount_position(&s, d);
    assert!(pos("/data") < pos("/data/sub"));

    let missing = build_spec(&svc, &image(None, Some(&["sh"])), &paths(&root.0)).unwrap_err();
    assert!(
        matches!(missing, SpecError::MountSource { .. }),
        "{missing:?}"
    );
}

#[test]
fn secrets_and_configs_are_read_only_binds() {
    use crate::engine::{FileContent, FileKind, FileSource, InjectedFile};
    let root = rootfs();
    let file = |target: &str, source: FileSource| InjectedFile {
        kind: FileKind::Secret,
        name: "s".into(),
        target: target.into(),
        source,
    };
    let svc = ContainerSpec {
        mounts: vec![svc_mount(MountKind::Tmpfs, "/run", false, None)],
        files: vec![
            file(
                "/run/secrets/db",
                FileSource::HostFile("/srv/db.txt".into()),
            ),
            file(
                "/etc/app.conf",
                FileSource::Content(FileContent {
                    data: b"x".to_vec(),
                    uid: 0,
                    gid: 0,
                    mode: 0o444,
                }),
            ),
        ],
        ..service()
    };
    let p = HostPaths {
        mount_sources: vec![PathBuf::new()],
        file_sources: vec!["/srv/db.txt".into(), "/state/c1/files/1".into()],
        ..paths(&root.0)
    };
    let s = build_spec(&svc, &image(None, Some(&["sh"])), &p).unwrap();
    let db = mount_at(&s, "/run/secrets/db").unwrap();
    assert_eq!(db.source().as_deref(), Some(Path::new("/srv/db.txt")));
    assert_eq!(opts(db), ["rbind", "rprivate", "ro"]);
    let conf = mount_at(&s, "/etc/app.conf").unwrap();
    assert_eq!(
        conf.source().as_deref(),
        Some(Path::new("/state/c1/files/1"))
    );
    assert_eq!(opts(conf), ["rbind", "rprivate", "ro"]);
    // A tmpfs at /run is mounted before the secret inside it.
    let pos = |d: &str| mount_position(&s, d);
    assert!(pos("/run") < pos("/run/secrets/db"));
    // No prepared source: refused, never mounted from nowhere.
    let missing = build_spec(
        &svc,
        &image(None, Some(&["sh"])),
        &HostPaths {
            mount_sources: vec![PathBuf::new()],
            ..paths(&root.0)
        },
    )
    .unwrap_err();
    assert!(
        matches!(missing, SpecError::MountSource { .. }),
        "{missing:?}"
    );
}

#[test]
fn mount_targets_are_checked() {
    for bad in ["relative/dir", "/", "/proc/sys", "/tmp/../proc/self", "//"] {
        let svc = ContainerSpec {
            mounts: vec![svc_mount(MountKind::Tmpfs, bad, false, None)],
            ..service()
        };
        let err = build(&svc).unwrap_err();
        assert!(
            matches!(err, SpecError::MountTarget { .. }),
            "{bad}: {err:?}"
        );
    }
    let svc = ContainerSpec {
        mounts: vec![svc_mount(MountKind::Tmpfs, "/dev/shm", false, Some(4096))],
        ..service()
    };
    let s = ok(&svc);
    assert_eq!(
        opts(mount_at(&s, "/dev/shm").unwrap()),
        ["noexec", "nosuid", "nodev", "rprivate", "size=4k"]
    );
}

#[test]
fn read_only_root() {
    let s = ok(&ContainerSpec {
        read_only: true,
        ..service()
    });
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    for d in [
        "/etc/hosts",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/sys",
        "/sys/fs/cgroup",
    ] {
        assert!(opts(mount_at(&s, d).unwrap()).contains(&"ro"), "{d}");
    }
    for d in ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"] {
        assert!(!opts(mount_at(&s, d).unwrap()).contains(&"ro"), "{d}");
    }
    assert_eq!(
        ok(&service()).root().as_ref().unwrap().readonly(),
        Some(false)
    );
}

/// Where the mount at `destination` comes in the spec's mount list.
fn mount_position(s: &Spec, destination: &str) -> usize {
    s.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .position(|m| m.destination() == Path::new(destination))
        .unwrap()
}

fn rootfs_path(s: &Spec) -> PathBuf {
    s.root().as_ref().unwrap().path().clone()
}

#[test]
fn namespaces_and_cgroups_path() {
    let s = ok(&service());
    let ns = linux(&s).namespaces().clone().unwrap();
    let types: Vec<LinuxNamespaceType> = ns.iter().map(|n| n.typ()).collect();
    use LinuxNamespaceType::*;
    assert_eq!(types, [Pid, Mount, Ipc, Uts, Cgroup, Network]);
    assert_eq!(ns[5].path().as_deref(), Some(Path::new("/run/netns/rc-c1")));
    assert_eq!(
        linux(&s).cgroups_path().as_deref(),
        Some(Path::new("/rcompose/c1"))
    );
    let s = ok(&ContainerSpec {
        network_mode: Some("host".into()),
        ..service()
    });
    assert!(linux(&s)
        .namespaces()
        .clone()
        .unwrap()
        .iter()
        .all(|n| n.typ() != Network));
}

#[test]
fn resources_and_devices() {
    let s = ok(&ContainerSpec {
        mem_limit: Some(512 << 20),
        nano_cpus: Some(1_500_000_000),
        pids_limit: Some(100),
        ..service()
    });
    let r = linux(&s).resources().as_ref().unwrap();
    assert_eq!(r.memory().as_ref().unwrap().limit(), Some(512 << 20));
    assert_eq!(
        (
            r.cpu().as_ref().unwrap().period(),
            r.cpu().as_ref().unwrap().quota()
        ),
        (Some(100_000), Some(150_000))
    );
    assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
    let rules: Vec<String> = r
        .devices()
        .clone()
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d.allow(), d))
        .collect();
    assert_eq!(rules[0], "false a *:* rwm");
    for want in [
        "true c *:* m",
        "true b *:* m",
        "true c 1:3 rwm",
        "true c 5:2 rwm",
        "true c 136:* rwm",
        "false c 10:229 rwm",
    ] {
        assert!(rules.contains(&want.to_string()), "{want} in {rules:?}");
    }
    let devs = linux(&s).devices().clone().unwrap();
    assert_eq!(devs.len(), 6);
    assert!(devs.iter().all(|d| d.file_mode() == Some(0o666)));

    let s = ok(&ContainerSpec {
        pids_limit: Some(0),
        ..service()
    });
    assert_eq!(
        linux(&s)
            .resources()
            .as_ref()
            .unwrap()
            .pids()
            .as_ref()
            .unwrap()
            .limit(),
        -1
    );
    let r = linux(&ok(&service())).resources().clone().unwrap();
    assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
}

#[test]
fn ulimits() {
    let s = ok(&service());
    let rl = process(&s).rlimits().clone().unwrap();
    assert_eq!(rl.len(), 1);
    assert_eq!(
        (rl[0].typ(), rl[0].soft(), rl[0].hard()),
        (PosixRlimitType::RlimitNofile, 1_048_576, 1_048_576)
    );

    let ul = vec![
        ("nofile".to_string(), 1024, 4096),
        ("nproc".to_string(), -1, -1),
    ];
    let rl = process(&ok(&ContainerSpec {
        ulimits: ul,
        ..service()
    }))
    .rlimits()
    .clone()
    .unwrap();
    assert_eq!(rl.len(), 2);
    assert_eq!(
        (rl[0].typ(), rl[0].soft(), rl[0].hard()),
        (PosixRlimitType::RlimitNofile, 1024, 4096)
    );
    assert_eq!(
        (rl[1].typ(), rl[1].soft()),
        (PosixRlimitType::RlimitNproc, u64::MAX)
    );

    let err = build(&ContainerSpec {
        ulimits: vec![("bogus".into(), 1, 1)],
        ..service()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ulimits 'bogus': unknown limit"),
        "{err}"
    );
    for bad in [("nofile", 10, 5), ("core", -2, 0)] {
        let err = build(&ContainerSpec {
            ulimits: vec![(bad.0.into(), bad.1, bad.2)],
            ..service()
        })
        .unwrap_err();
        assert!(matches!(err, SpecError::Ulimit { .. }), "{bad:?}");
    }
}

#[test]
fn sysctls_must_be_namespaced() {
    let with = |kv: &[(&str, &str)], mode: Option<&str>| {
        let sysctls = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        build(&ContainerSpec {
            sysctls,
            network_mode: mode.map(str::to_string),
            ..service()
        })
    };
    let s = with(
        &[
            ("net.core.somaxconn", "1024"),
            ("kernel.shmmax", "1"),
            ("fs.mqueue.msg_max", "20"),
        ],
        None,
    )
    .unwrap();
    let sc = linux(&s).sysctl().clone().unwrap();
    assert_eq!(
        sc.get("net.core.somaxconn").map(String::as_str),
        Some("1024")
    );
    assert_eq!(
        sc.get("net.ipv4.ip_unprivileged_port_start")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        sc.get("net.ipv4.ping_group_range").map(String::as_str),
        Some("0 2147483647")
    );
    for bad in ["kernel.panic", "vm.swappiness", "kernel.hostname"] {
        assert!(
            matches!(with(&[(bad, "1")], None), Err(SpecError::Sysctl { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        with(&[("net.ipv4.ip_forward", "1")], Some("host")),
        Err(SpecError::Sysctl { .. })
    ));
    // No default net sysctls in the host's (or another container's) network namespace.
    let s = with(&[], Some("host")).unwrap();
    assert!(linux(&s).sysctl().clone().unwrap().is_empty());
}

#[test]
fn spec_serializes_to_json() {
    let s = ok(&ContainerSpec {
        init: Some(true),
        cap_add: strings(&["NET_ADMIN"]),
        mem_limit: Some(1 << 30),
        mounts: vec![svc_mount(MountKind::Tmpfs, "/tmp", false, Some(1 << 20))],
        ..service()
    });
    let json = serde_json::to_string(&s).unwrap();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back["process"]["args"][0], "/sbin/docker-init");
    assert_eq!(back["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(
        back["root"]["path"],
        serde_json::Value::String(rootfs_path(&s).display().to_string())
    );
    assert!(back["process"].get("noNewPrivileges").is_none());
    // And it reads back into an equal spec.
    let again: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(again, s);
}

/// Docker's tmpfs options: defaults first, a later option of the same kind wins, only known
/// data keys (moby `MergeTmpfsOptions`).
#[test]
fn tmpfs_options_merge_like_dockers() {
    use super::mounts::tmpfs_options;
    let long = ServiceMount {
        kind: MountKind::Tmpfs,
        read_only: true,
        tmpfs_mode: Some(0o1770),
        tmpfs_size: Some(3 << 30),
        ..Default::default()
    };
    assert_eq!(
        tmpfs_options(&long).unwrap(),
        [
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "ro",
            "mode=1770",
            "size=3g"
        ]
    );
    let odd = ServiceMount {
        tmpfs_size: Some(1000),
        ..Default::default()
    };
    assert!(tmpfs_options(&odd)
        .unwrap()
        .contains(&"size=1000".to_string()));
    let key = |raw: &str| ServiceMount {
        kind: MountKind::Tmpfs,
        tmpfs_options: Some(raw.into()),
        ..Default::default()
    };
    assert_eq!(
        tmpfs_options(&key("size=64k,mode=700,exec")).unwrap(),
        ["nosuid", "nodev", "rprivate", "size=64k", "mode=700", "exec"]
    );
    assert_eq!(
        tmpfs_options(&key("")).unwrap(),
        ["noexec", "nosuid", "nodev", "rprivate"]
    );
    assert_eq!(
        tmpfs_options(&key("shared,size=1m,size=2m")).unwrap(),
        ["noexec", "nosuid", "nodev", "shared", "size=2m"]
    );
    assert!(tmpfs_options(&key("bogus=1")).is_err());
    assert!(tmpfs_options(&key("uid")).is_err());
}

#[test]
fn bind_propagation_is_rprivate_unless_asked() {
    let root = rootfs();
    let bind = |target: &str, propagation: Option<&str>| ServiceMount {
        kind: MountKind::Bind,
        target: target.into(),
        propagation: propagation.map(String::from),
        ..Default::default()
    };
    let svc = ContainerSpec {
        mounts: vec![
            bind("/a", None),
            bind("/b", Some("rslave")),
            bind("/c", Some("shared")),
        ],
        ..service()
    };
    let p = HostPaths {
        mount_sources: vec!["/srv/a".into(), "/srv/b".into(), "/srv/c".into()],
        ..paths(&root.0)
    };
    let s = build_spec(&svc, &image(None, Some(&["sh"])), &p).unwrap();
    assert_eq!(opts(mount_at(&s, "/a").unwrap()), ["rbind", "rprivate"]);
    assert_eq!(opts(mount_at(&s, "/b").unwrap()), ["rbind", "rslave"]);
    assert_eq!(
        super::mounts::propagation_of(mount_at(&s, "/c").unwrap()),
        Some("shared")
    );
    let bad = ContainerSpec {
        mounts: vec![bind("/a", Some("sideways"))],
        ..service()
    };
    let p = HostPaths {
        mount_sources: vec!["/srv/a".into()],
        ..paths(&root.0)
    };
    assert!(build_spec(&bad, &image(None, Some(&["sh"])), &p).is_err());
}

#[test]
fn after_create_fixes_are_propagations_then_a_read_only_cgroup_tree() {
    use crate::engine::embedded::runtime::MountFix;
    let root = rootfs();
    let svc = ContainerSpec {
        mounts: vec![ServiceMount {
            kind: MountKind::Bind,
            target: "/data".into(),
            ..Default::default()
        }],
        ..service()
    };
    let p = HostPaths {
        mount_sources: vec!["/srv/data".into()],
        ..paths(&root.0)
    };
    let s = build_spec(&svc, &image(None, Some(&["sh"])), &p).unwrap();
    let fixes = super::mounts::mount_fixes(s.mounts().as_deref().unwrap());
    assert!(fixes.contains(&MountFix::Propagation {
        target: "/data".into(),
        mode: "rprivate".into()
    }));
    // The read-only tree comes last, once: after it nothing below it may be remounted.
    let ro: Vec<&MountFix> = fixes
        .iter()
        .filter(|f| matches!(f, MountFix::ReadOnlyTree { .. }))
        .collect();
    assert_eq!(
        ro,
        [&MountFix::ReadOnlyTree {
            target: "/sys/fs/cgroup".into()
        }]
    );
    assert!(matches!(fixes.last(), Some(MountFix::ReadOnlyTree { .. })));
    // Privileged: the cgroup tree stays writable, as under Docker.
    let s = ok(&ContainerSpec {
        privileged: true,
        ..service()
    });
    assert!(!super::mounts::mount_fixes(s.mounts().as_deref().unwrap())
        .iter()
        .any(|f| matches!(f, MountFix::ReadOnlyTree { .. })));
}
