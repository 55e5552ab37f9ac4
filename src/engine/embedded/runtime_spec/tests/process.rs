//! The process part of the spec: args, env, hostname, user, capabilities, seccomp and
//! `security_opt`, working directory.

use super::*;

#[test]
fn entrypoint_and_cmd_merge_like_docker() {
    let img = image(Some(&["/ep", "-x"]), Some(&["cmd1", "cmd2"]));
    type Case<'a> = (Option<&'a [&'a str]>, Option<&'a [&'a str]>, &'a [&'a str]);
    let cases: &[Case] = &[
        (None, None, &["/ep", "-x", "cmd1", "cmd2"]),
        (None, Some(&["mine"]), &["/ep", "-x", "mine"]),
        // A service entrypoint drops the image's Cmd.
        (Some(&["/mine"]), None, &["/mine"]),
        (Some(&["/mine"]), Some(&["a"]), &["/mine", "a"]),
        // `entrypoint: []` clears the image's entrypoint but keeps its Cmd.
        (Some(&[]), None, &["cmd1", "cmd2"]),
        // `command: []` is no command: the image's Cmd (Docker's len == 0 test).
        (None, Some(&[]), &["/ep", "-x", "cmd1", "cmd2"]),
    ];
    for (ep, cmd, want) in cases {
        assert_eq!(
            args_for(*ep, *cmd, &img).unwrap(),
            strings(want),
            "entrypoint {ep:?} command {cmd:?}"
        );
    }
    let empty = image(None, None);
    assert!(matches!(
        args_for(None, None, &empty),
        Err(SpecError::NoCommand)
    ));
    assert_eq!(
        args_for(Some(&[]), Some(&[]), &img).unwrap(),
        strings(&["cmd1", "cmd2"])
    );
    let ep_only = image(Some(&["/ep"]), None);
    assert!(matches!(
        args_for(Some(&[]), None, &ep_only),
        Err(SpecError::NoCommand)
    ));
}

#[test]
fn init_runs_under_docker_init_mounted_read_only() {
    let s = ok(&ContainerSpec {
        init: Some(true),
        ..service()
    });
    assert_eq!(
        process(&s).args().clone().unwrap(),
        strings(&["/sbin/docker-init", "--", "sh"])
    );
    let m = mount_at(&s, "/sbin/docker-init").unwrap();
    assert_eq!(
        m.source().as_deref(),
        Some(Path::new("/usr/libexec/rcompose/docker-init"))
    );
    assert_eq!(opts(m), ["bind", "ro"]);

    let root = rootfs();
    let no_init = HostPaths {
        init_binary: None,
        ..paths(&root.0)
    };
    let err = build_spec(
        &ContainerSpec {
            init: Some(true),
            ..service()
        },
        &image(None, Some(&["sh"])),
        &no_init,
    );
    assert!(matches!(err, Err(SpecError::NoInitBinary)));
}

#[test]
fn env_merges_overrides_and_unsets_with_path_first() {
    let root = rootfs();
    let img = ImageRuntimeConfig {
        env: strings(&["A=image", "B=image", "PATH=/image/bin"]),
        cmd: Some(strings(&["sh"])),
        ..Default::default()
    };
    let svc = ContainerSpec {
        env: strings(&["B=svc", "A", "C=svc", "NOPE"]),
        tty: true,
        ..service()
    };
    let s = build_spec(&svc, &img, &paths(&root.0)).unwrap();
    assert_eq!(
        process(&s).env().clone().unwrap(),
        strings(&[
            "PATH=/image/bin",
            "HOSTNAME=0123456789ab",
            "TERM=xterm",
            "B=svc",
            "C=svc"
        ])
    );

    let s = ok(&ContainerSpec {
        env: strings(&["X=1=2"]),
        ..service()
    });
    assert_eq!(
        process(&s).env().clone().unwrap(),
        vec![
            DEFAULT_PATH_ENV.to_string(),
            "HOSTNAME=0123456789ab".into(),
            "X=1=2".into()
        ]
    );
}

#[test]
fn hostname_and_domainname() {
    let s = ok(&service());
    assert_eq!(s.hostname().as_deref(), Some("0123456789ab"));
    assert_eq!(s.domainname(), &None);
    let s = ok(&ContainerSpec {
        hostname: Some("web".into()),
        domainname: Some("example.org".into()),
        ..service()
    });
    assert_eq!(s.hostname().as_deref(), Some("web"));
    assert_eq!(s.domainname().as_deref(), Some("example.org"));
    assert!(process(&s)
        .env()
        .clone()
        .unwrap()
        .contains(&"HOSTNAME=web".to_string()));
}

fn user_of(user: &str) -> Result<ResolvedUser, SpecError> {
    let root = rootfs();
    resolve_user(&root.0, user)
}

#[test]
fn user_resolution_follows_docker() {
    let u = |uid, gid, gids: &[u32]| ResolvedUser {
        uid,
        gid,
        additional_gids: gids.to_vec(),
    };
    assert_eq!(user_of("").unwrap(), u(0, 0, &[0]));
    // Name: passwd gid first, then the groups listing the user.
    assert_eq!(user_of("app").unwrap(), u(1000, 1000, &[1000, 10, 999]));
    assert_eq!(user_of("1000").unwrap(), u(1000, 1000, &[1000, 10, 999]));
    // An explicit group: no supplementary groups.
    assert_eq!(user_of("app:staff").unwrap(), u(1000, 50, &[50]));
    assert_eq!(user_of("daemon:10").unwrap(), u(1, 10, &[10]));
    // Numbers need no entry.
    assert_eq!(user_of("4242").unwrap(), u(4242, 0, &[0]));
    assert_eq!(user_of("4242:4343").unwrap(), u(4242, 4343, &[4343]));

    let err = user_of("nobody").unwrap_err();
    assert!(matches!(err, SpecError::UnknownUser { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "user 'nobody': no user 'nobody' in the image's /etc/passwd"
    );
    assert!(matches!(
        user_of("app:nogroup"),
        Err(SpecError::UnknownUser { .. })
    ));
    // A malformed line never matches (Docker would read its uid as 0).
    assert!(matches!(
        user_of("broken"),
        Err(SpecError::UnknownUser { .. })
    ));
}

#[test]
fn user_without_passwd_file() {
    let t = TempDir::new();
    assert_eq!(resolve_user(&t.0, "").unwrap().uid, 0);
    assert_eq!(resolve_user(&t.0, "1000:1000").unwrap().gid, 1000);
    assert!(matches!(
        resolve_user(&t.0, "app"),
        Err(SpecError::UnknownUser { .. })
    ));
}

#[test]
fn passwd_symlinks_never_leave_the_rootfs() {
    // A host file the image points at: its user must never be found.
    let host = TempDir::new();
    let host_passwd = host.0.join("passwd");
    std::fs::write(&host_passwd, "hostonly:x:4321:4321::/:/bin/sh\n").unwrap();

    let t = TempDir::new();
    std::fs::create_dir_all(t.0.join("etc")).unwrap();
    std::os::unix::fs::symlink(&host_passwd, t.0.join("etc/passwd")).unwrap();
    let err = resolve_user(&t.0, "hostonly").unwrap_err();
    assert!(matches!(err, SpecError::UnknownUser { .. }), "{err:?}");

    // `../../..` is clamped at the rootfs: it loops back onto itself (an error), never out.
    std::fs::remove_file(t.0.join("etc/passwd")).unwrap();
    let up = format!("../../../../../../../..{}", host_passwd.display());
    std::os::unix::fs::symlink(up, t.0.join("etc/passwd")).unwrap();
    assert!(resolve_user(&t.0, "hostonly").is_err());

    // A symlinked /etc pointing at the host's.
    let t2 = TempDir::new();
    std::os::unix::fs::symlink(&host.0, t2.0.join("etc")).unwrap();
    assert!(resolve_user(&t2.0, "hostonly").is_err());

    // A symlink inside the rootfs is fine.
    let t3 = TempDir::new();
    std::fs::create_dir_all(t3.0.join("etc")).unwrap();
    std::fs::write(t3.0.join("etc/passwd.real"), "inside:x:7:7::/:/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd.real", t3.0.join("etc/passwd")).unwrap();
    assert_eq!(resolve_user(&t3.0, "inside").unwrap().uid, 7);
}

#[test]
fn passwd_must_be_a_regular_file() {
    let t = TempDir::new();
    std::fs::create_dir_all(t.0.join("etc/passwd")).unwrap();
    assert!(matches!(
        resolve_user(&t.0, "app"),
        Err(SpecError::UserDatabase { .. })
    ));
}

#[test]
fn the_process_user_comes_from_the_service_or_the_image() {
    let root = rootfs();
    let img = ImageRuntimeConfig {
        user: "app".into(),
        cmd: Some(strings(&["sh"])),
        ..Default::default()
    };
    let s = build_spec(&service(), &img, &paths(&root.0)).unwrap();
    assert_eq!(
        (process(&s).user().uid(), process(&s).user().gid()),
        (1000, 1000)
    );
    assert_eq!(
        process(&s).user().additional_gids().clone().unwrap(),
        [1000, 10, 999]
    );
    let s = build_spec(
        &ContainerSpec {
            user: Some("daemon".into()),
            ..service()
        },
        &img,
        &paths(&root.0),
    )
    .unwrap();
    assert_eq!(process(&s).user().uid(), 1);
}

fn set(caps: &[Capability]) -> HashSet<Capability> {
    caps.iter().copied().collect()
}

#[test]
fn default_capabilities_are_dockers_14() {
    let s = ok(&service());
    let c = caps_of(&s);
    let want = set(DEFAULT_CAPABILITIES);
    assert_eq!(want.len(), 14);
    assert_eq!(cap_mask(&want), 0xa804_25fb);
    for got in [c.bounding(), c.effective(), c.permitted()] {
        assert_eq!(got.as_ref(), Some(&want));
    }
    assert_eq!(c.inheritable().as_ref(), Some(&HashSet::new()));
    assert_eq!(c.ambient().as_ref(), Some(&HashSet::new()));
}

#[test]
fn cap_add_and_cap_drop() {
    let with = |add: &[&str], drop: &[&str]| {
        let s = ok(&ContainerSpec {
            cap_add: strings(add),
            cap_drop: strings(drop),
            ..service()
        });
        caps_of(&s).bounding().clone().unwrap()
    };
    let caps = with(&["sys_admin", "CAP_NET_ADMIN"], &["MKNOD", "cap_chown"]);
    assert!(caps.contains(&Capability::SysAdmin) && caps.contains(&Capability::NetAdmin));
    assert!(!caps.contains(&Capability::Mknod) && !caps.contains(&Capability::Chown));
    assert_eq!(caps.len(), 14);
    assert_eq!(with(&[], &["ALL"]), HashSet::new());
    assert_eq!(
        with(&["NET_BIND_SERVICE"], &["all"]),
        set(&[Capability::NetBindService])
    );
    let all = with(&["ALL"], &["SYS_ADMIN"]);
    assert_eq!(all.len(), available_capabilities() - 1);
    assert!(!all.contains(&Capability::SysAdmin));

    let err = build(&ContainerSpec {
        cap_add: strings(&["FLY"]),
        ..service()
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "cap_add 'FLY': unknown capability");
    let err = build(&ContainerSpec {
        cap_drop: strings(&["CAP_NOPE"]),
        ..service()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        SpecError::Capability {
            setting: "cap_drop",
            ..
        }
    ));
}

#[test]
fn non_root_users_get_no_effective_capabilities() {
    let s = ok(&ContainerSpec {
        user: Some("1000".into()),
        ..service()
    });
    let c = caps_of(&s);
    assert_eq!(c.bounding().as_ref(), Some(&set(DEFAULT_CAPABILITIES)));
    assert_eq!(c.effective().as_ref(), Some(&HashSet::new()));
    assert_eq!(c.permitted().as_ref(), Some(&HashSet::new()));
}

fn seccomp_allows(s: &Spec, name: &str) -> bool {
    let sc = linux(s).seccomp().as_ref().unwrap();
    sc.syscalls().iter().flatten().any(|r| {
        r.action() == LinuxSeccompAction::ScmpActAllow
            && r.args().is_none()
            && r.names().iter().any(|n| n == name)
    })
}

#[test]
fn default_seccomp_profile() {
    let s = ok(&service());
    let sc = linux(&s).seccomp().as_ref().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(sc.default_errno_ret(), Some(1));
    for name in [
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "mount",
        "unshare",
        "kexec_load",
        "userfaultfd",
    ] {
        assert!(!seccomp_allows(&s, name), "{name}");
    }
    assert!(seccomp_allows(&s, "read") && seccomp_allows(&s, "chroot"));
    // The gates follow the bounding set, also for a non-root user (Docker's behaviour).
    let s = ok(&ContainerSpec {
        cap_add: strings(&["SYS_ADMIN"]),
        user: Some("1000".into()),
        ..service()
    });
    assert!(seccomp_allows(&s, "mount") && seccomp_allows(&s, "unshare"));
}

#[test]
fn security_opt() {
    for opt in ["seccomp=unconfined", "seccomp:unconfined"] {
        let s = ok(&ContainerSpec {
            security_opt: strings(&[opt]),
            ..service()
        });
        assert!(linux(&s).seccomp().is_none(), "{opt}");
    }
    // Off is None, not Some(false): libcontainer loads seccomp late for Some(_).
    assert_eq!(process(&ok(&service())).no_new_privileges(), None);
    for opt in [
        "no-new-privileges",
        "no-new-privileges:true",
        "no-new-privileges=true",
    ] {
        let s = ok(&ContainerSpec {
            security_opt: strings(&[opt]),
            ..service()
        });
        assert_eq!(process(&s).no_new_privileges(), Some(true), "{opt}");
    }
    let s = ok(&ContainerSpec {
        security_opt: strings(&["no-new-privileges=false"]),
        ..service()
    });
    assert_eq!(process(&s).no_new_privileges(), None);
    let s = ok(&ContainerSpec {
        security_opt: strings(&["apparmor=unconfined", "label:disable"]),
        ..service()
    });
    assert!(linux(&s).seccomp().is_some());
    let s = ok(&ContainerSpec {
        security_opt: strings(&["systempaths=unconfined"]),
        ..service()
    });
    assert!(linux(&s).masked_paths().is_none() && linux(&s).readonly_paths().is_none());

    let err = build(&ContainerSpec {
        security_opt: strings(&["foo"]),
        ..service()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("security_opt 'foo': unknown option"),
        "{err}"
    );
    for bad in ["no-new-privileges=maybe", "seccomp=/etc/profile.json"] {
        let err = build(&ContainerSpec {
            security_opt: strings(&[bad]),
            ..service()
        })
        .unwrap_err();
        assert!(matches!(err, SpecError::SecurityOpt { .. }), "{bad}");
    }
}

#[test]
fn working_dir() {
    let wd = |svc: Option<&str>, img: &str| {
        let root = rootfs();
        let image = ImageRuntimeConfig {
            working_dir: img.into(),
            cmd: Some(strings(&["sh"])),
            ..Default::default()
        };
        build_spec(
            &ContainerSpec {
                working_dir: svc.map(str::to_string),
                ..service()
            },
            &image,
            &paths(&root.0),
        )
        .map(|s| process(&s).cwd().clone())
    };
    assert_eq!(wd(None, "").unwrap(), Path::new("/"));
    assert_eq!(wd(None, "/app").unwrap(), Path::new("/app"));
    assert_eq!(
        wd(Some("/srv//x/./y/../"), "/app").unwrap(),
        Path::new("/srv/x")
    );
    for bad in [
        "/proc/self/fd/3",
        "/proc/1/cwd",
        "/tmp/../proc/self/fd/7",
        "relative",
    ] {
        let err = wd(Some(bad), "").unwrap_err();
        assert!(
            matches!(err, SpecError::WorkingDir { .. }),
            "{bad}: {err:?}"
        );
    }
    assert!(matches!(
        wd(None, "/proc/self/fd/4"),
        Err(SpecError::WorkingDir { .. })
    ));
}

#[test]
fn terminal_follows_tty() {
    assert_eq!(process(&ok(&service())).terminal(), Some(false));
    assert_eq!(
        process(&ok(&ContainerSpec {
            tty: true,
            ..service()
        }))
        .terminal(),
        Some(true)
    );
    assert_eq!(process(&ok(&service())).oom_score_adj(), None);
}
