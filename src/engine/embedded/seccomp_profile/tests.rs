//! Tests of the default seccomp profile: its content, and (in a child process) that
//! libcontainer loads it and that it denies and allows what Docker's does.

use super::*;

fn caps(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Docker's 14 default capabilities.
fn docker_default_caps() -> Vec<String> {
    caps(&[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ])
}

/// The rules that mention `name`: `(action, errno, has argument conditions)`.
fn rules_for(p: &LinuxSeccomp, name: &str) -> Vec<(LinuxSeccompAction, Option<u32>, bool)> {
    p.syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == name))
        .map(|s| (s.action(), s.errno_ret(), s.args().is_some()))
        .collect()
}

fn allowed_unconditionally(p: &LinuxSeccomp, name: &str) -> bool {
    rules_for(p, name)
        .iter()
        .any(|&(a, _, args)| a == LinuxSeccompAction::ScmpActAllow && !args)
}

const DENIED_BY_DEFAULT: &[&str] = &[
    "keyctl",
    "add_key",
    "request_key",
    "unshare",
    "mount",
    "umount2",
    "setns",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "open_by_handle_at",
    "userfaultfd",
    "io_uring_setup",
    "reboot",
    "init_module",
    "acct",
    "settimeofday",
    "clock_settime",
    "syslog",
    "vhangup",
    "kcmp",
    "iopl",
    "mbind",
];

#[test]
fn default_action_is_eperm_and_arches_cover_compat_abis() {
    let p = default_profile(&docker_default_caps());
    assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret(), Some(1));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
    }
}

#[test]
fn dangerous_syscalls_are_not_allowed_with_default_caps() {
    let p = default_profile(&docker_default_caps());
    for name in DENIED_BY_DEFAULT {
        assert!(
            rules_for(&p, name).is_empty(),
            "{name} must not be allowed: {:?}",
            rules_for(&p, name)
        );
    }
    for name in [
        "read",
        "write",
        "execve",
        "openat2",
        "setrlimit",
        "chroot",
        "ptrace",
        "io_setup",
    ] {
        assert!(allowed_unconditionally(&p, name), "{name} must be allowed");
    }
}

#[test]
fn clone_is_masked_and_clone3_gives_enosys_without_sys_admin() {
    let p = default_profile(&docker_default_caps());
    let clone: Vec<_> = p
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names() == &["clone".to_string()])
        .collect();
    assert_eq!(clone.len(), 1);
    let args = clone[0].args().clone().unwrap_or_default();
    assert_eq!(args.len(), 1);
    assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    // libcontainer's orientation: value = datum, valueTwo = mask.
    assert_eq!(
        (args[0].value(), args[0].value_two()),
        (0, Some(0x7E02_0000))
    );
    assert_eq!(
        rules_for(&p, "clone3"),
        vec![(LinuxSeccompAction::ScmpActErrno, Some(38), false)]
    );
}

#[test]
fn socket_excludes_alg_and_vsock() {
    let p = default_profile(&docker_default_caps());
    let conds: Vec<(LinuxSeccompOperator, u64)> = p
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == "socket"))
        .flat_map(|s| s.args().clone().unwrap_or_default())
        .map(|a| (a.op(), a.value()))
        .collect();
    use LinuxSeccompOperator::*;
    assert_eq!(
        conds,
        vec![(ScmpCmpLt, 38), (ScmpCmpEq, 39), (ScmpCmpGt, 40)]
    );
}

#[test]
fn capabilities_open_their_groups() {
    let mut with = docker_default_caps();
    with.extend(caps(&[
        "CAP_SYS_ADMIN",
        "CAP_SYS_PTRACE",
        "CAP_SYS_TIME",
        "CAP_BPF",
    ]));
    let p = default_profile(&with);
    for name in [
        "mount",
        "unshare",
        "setns",
        "bpf",
        "clone",
        "clone3",
        "kcmp",
        "clock_settime",
    ] {
        assert!(allowed_unconditionally(&p, name), "{name} must be allowed");
    }
    // No masked clone rule and no ENOSYS clone3 rule once CAP_SYS_ADMIN is held.
    assert!(rules_for(&p, "clone").iter().all(|&(_, _, args)| !args));
    assert!(rules_for(&p, "clone3")
        .iter()
        .all(|&(a, _, _)| a == LinuxSeccompAction::ScmpActAllow));
    assert!(rules_for(&p, "reboot").is_empty());
}

#[test]
fn allowlist_has_no_duplicates() {
    let mut names: Vec<&str> = ALLOWED.iter().chain(ARCH_ALLOWED).copied().collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
}

/// Loads the profile through libcontainer in a child process (the test binary re-run on
/// this test alone; a filter cannot be removed once loaded) and probes syscalls.
#[test]
fn profile_loads_in_libcontainer_and_filters() {
    const CHILD: &str = "RCOMPOSE_SECCOMP_PROBE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        probe_in_this_process();
        return;
    }
    let test = concat!(
        module_path!(),
        "::profile_loads_in_libcontainer_and_filters"
    );
    let test = test.split_once("::").map_or(test, |(_, rest)| rest);
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the probe");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "probe failed:\n{text}");
    assert!(text.contains("1 passed"), "the probe did not run:\n{text}");
}

fn errno_of(ret: libc::c_long) -> i32 {
    if ret == -1 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

/// Forks with the raw `clone` syscall (fork semantics: no shared memory) and reaps the
/// child, which exits at once. Returns the errno of `clone` (0: it worked).
fn raw_clone(flags: libc::c_long) -> i32 {
    // SAFETY: without CLONE_VM the child has its own copy of memory and only calls _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_long,
            0,
            0,
            0,
            0,
        )
    };
    if pid == 0 {
        // SAFETY: leaving the forked child without running any destructor.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        return 0;
    }
    errno_of(pid)
}

fn probe_in_this_process() {
    // SAFETY: plain syscalls on this (child) process.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    }
    libcontainer::seccomp::initialize_seccomp(&default_profile(&docker_default_caps()))
        .expect("libcontainer loads the default profile");
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    assert!(status
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Seccomp:", "2"]));

    let eperm = libc::EPERM;
    // SAFETY: syscalls with harmless (mostly invalid) arguments; the filter answers first.
    unsafe {
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0)),
            eperm,
            "keyctl"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_add_key, 0, 0, 0, 0, 0)),
            eperm,
            "add_key"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_request_key, 0, 0, 0, 0)),
            eperm,
            "request_key"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER)),
            eperm,
            "unshare"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_mount, 0, 0, 0, 0, 0)),
            eperm,
            "mount"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_bpf, 0, 0, 0)),
            eperm,
            "bpf"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_perf_event_open, 0, 0, 0, 0, 0)),
            eperm,
            "perf"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0)),
            eperm,
            "kexec_load"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_open_by_handle_at, 0, 0, 0)),
            eperm,
            "obha"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_userfaultfd, 0)),
            eperm,
            "userfaultfd"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_io_uring_setup, 0, 0)),
            eperm,
            "io_uring"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_socket, 40, libc::SOCK_STREAM, 0)),
            eperm,
            "vsock"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_socket, 38, libc::SOCK_SEQPACKET, 0)),
            eperm,
            "alg"
        );
        assert_eq!(
            errno_of(libc::syscall(libc::SYS_clone3, 0, 0)),
            libc::ENOSYS,
            "clone3"
        );
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket(AF_INET) must work");
        libc::close(fd);
        assert_ne!(libc::personality(0xffff_ffff), -1, "personality query");
        let lim = libc::rlimit {
            rlim_cur: 512,
            rlim_max: 4096,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0, "setrlimit");
    }
    assert_eq!(
        raw_clone(0),
        0,
        "a plain fork (clone without namespace flags) must work"
    );
    assert_eq!(
        raw_clone(libc::CLONE_NEWUSER as libc::c_long),
        eperm,
        "clone(CLONE_NEWUSER)"
    );
    assert_eq!(
        raw_clone(libc::CLONE_NEWNS as libc::c_long),
        eperm,
        "clone(CLONE_NEWNS)"
    );
}
