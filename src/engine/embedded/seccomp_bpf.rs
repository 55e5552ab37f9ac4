//! Seccomp filters compiled once, loaded many times.
//!
//! libcontainer compiles a container's seccomp profile with libseccomp inside the
//! container's init on every start; for Docker's profile (some 400 syscalls on three
//! architectures) that is about 14 ms, half of a container's creation. Here the profile is
//! compiled to BPF once per distinct profile and cached in the state directory
//! (`seccomp/<sha256 of the profile>.bpf`), and the container's process loads the program
//! itself just before `execve` (see `runtime::FilterExecutor`).
//!
//! Loading a filter needs CAP_SYS_ADMIN or no_new_privs. By then libcontainer has set the
//! container's capabilities, so the engine hands CAP_SYS_ADMIN to the process for that
//! moment ([`grant_sys_admin`]) and the executor drops it again right after loading, before
//! `execve`: the program starts with exactly the capabilities the spec gave it, filtered,
//! without no_new_privs — as under Docker, where runc loads the filter before dropping
//! capabilities. The same holds for exec'd processes and healthchecks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, Spec,
};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use sha2::{Digest, Sha256};

/// A compiled filter and what the executor must undo after loading it.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    pub bpf: Vec<u8>,
    /// CAP_SYS_ADMIN was added only for loading: drop it before `execve`.
    pub drop_sys_admin: bool,
}

fn arch(a: Arch) -> Result<ScmpArch, String> {
    Ok(match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        other => return Err(format!("seccomp architecture {other:?} is not supported")),
    })
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, String> {
    let errno = errno.map_or(libc::EPERM, |e| e as i32);
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        other => return Err(format!("seccomp action {other:?} is not supported")),
    })
}

/// `MaskedEqual` reads the mask from `valueTwo` and compares with `value`, as libcontainer
/// does (our profile is written that way; see `seccomp_profile`).
fn op(o: LinuxSeccompOperator, value_two: Option<u64>) -> ScmpCompareOp {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value_two.unwrap_or(0)),
    }
}

/// Compiles a profile to a BPF program (native byte order, `struct sock_filter` entries).
pub fn compile(profile: &LinuxSeccomp) -> Result<Vec<u8>, String> {
    if profile.listener_path().is_some() || profile.flags().as_ref().is_some_and(|f| !f.is_empty())
    {
        return Err("seccomp listeners and filter flags are not supported".into());
    }
    let err = |what: &str, e: libseccomp::error::SeccompError| format!("seccomp {what}: {e}");
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| err("filter", e))?;
    for a in profile.architectures().iter().flatten() {
        ctx.add_arch(arch(*a)?)
            .map_err(|e| err("architecture", e))?;
    }
    ctx.set_ctl_nnp(false)
        .map_err(|e| err("nnp attribute", e))?;
    for rule in profile.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        let compares: Vec<ScmpArgCompare> = rule
            .args()
            .iter()
            .flatten()
            .map(|a| ScmpArgCompare::new(a.index() as u32, op(a.op(), a.value_two()), a.value()))
            .collect();
        let mut indexes = HashSet::new();
        let distinct = rule
            .args()
            .iter()
            .flatten()
            .all(|a| indexes.insert(a.index()));
        for name in rule.names() {
            // A name this libseccomp does not know is a syscall this kernel cannot have.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if compares.is_empty() {
                ctx.add_rule(act, sc).map_err(|e| err(name, e))?;
            } else if distinct {
                ctx.add_rule_conditional(act, sc, &compares)
                    .map_err(|e| err(name, e))?;
            } else {
                // One comparison per argument and rule: several on one argument are
                // separate rules (runc and libcontainer do the same).
                for c in &compares {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                        .map_err(|e| err(name, e))?;
                }
            }
        }
    }
    // libseccomp writes to an fd: an unnamed temporary file (no thread in the shim).
    let tmp = tempfile_in(&std::env::temp_dir()).map_err(|e| format!("seccomp export: {e}"))?;
    ctx.export_bpf(&tmp).map_err(|e| err("export", e))?;
    use std::io::{Read, Seek};
    let mut f = tmp;
    f.seek(std::io::SeekFrom::Start(0))
        .map_err(|e| e.to_string())?;
    let mut bpf = Vec::new();
    f.read_to_end(&mut bpf).map_err(|e| e.to_string())?;
    Ok(bpf)
}

/// An anonymous file (O_TMPFILE) in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

/// The compiled program of `profile`, from the cache or compiled and cached now.
pub fn cached(cache_dir: &Path, profile: &LinuxSeccomp) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(profile).map_err(|e| e.to_string())?;
    let key: String = Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path: PathBuf = cache_dir.join(format!("{key}.bpf"));
    if let Ok(bpf) = std::fs::read(&path) {
        if !bpf.is_empty() && bpf.len().is_multiple_of(8) {
            return Ok(bpf);
        }
    }
    let bpf = compile(profile)?;
    super::state::make_private_dir(cache_dir).map_err(|e| e.to_string())?;
    super::state::write_atomic(&path, &bpf).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bpf)
}

/// Takes the seccomp profile out of `spec` (the process loads it itself) and gives the
/// process CAP_SYS_ADMIN for the load when it lacks it. Returns the compiled filter, `None`
/// when the spec has no seccomp profile.
pub fn take_from_spec(spec: &mut Spec, cache_dir: &Path) -> Result<Option<CompiledFilter>, String> {
    let Some(mut linux) = spec.linux().clone() else {
        return Ok(None);
    };
    let Some(profile) = linux.seccomp().clone() else {
        return Ok(None);
    };
    let bpf = cached(cache_dir, &profile)?;
    linux.set_seccomp(None);
    spec.set_linux(Some(linux));
    let drop_sys_admin = grant_sys_admin(spec);
    Ok(Some(CompiledFilter {
        bpf,
        drop_sys_admin,
    }))
}

/// Adds CAP_SYS_ADMIN to the permitted and effective sets; returns whether it was missing
/// (and so must be dropped again before `execve`). The bounding set is left as the
/// container's: the kernel lets a process hold a capability its bounding set lacks, and
/// dropping from the bounding set would need CAP_SETPCAP, which a non-root user's process
/// does not have.
pub fn grant_sys_admin(spec: &mut Spec) -> bool {
    let Some(mut process) = spec.process().clone() else {
        return false;
    };
    let mut caps = process.capabilities().clone().unwrap_or_default();
    let had = caps
        .effective()
        .as_ref()
        .is_some_and(|b| b.contains(&Capability::SysAdmin));
    if had {
        return false;
    }
    let add = |set: &Option<HashSet<Capability>>| {
        let mut s = set.clone().unwrap_or_default();
        s.insert(Capability::SysAdmin);
        Some(s)
    };
    caps.set_permitted(add(caps.permitted()));
    caps.set_effective(add(caps.effective()));
    process.set_capabilities(Some(caps));
    spec.set_process(Some(process));
    true
}

/// In the container's process, just before `execve`: loads the program, then drops
/// CAP_SYS_ADMIN from every set when it was only lent for this. Raw syscalls only.
pub fn load_and_settle(f: &CompiledFilter) -> std::io::Result<()> {
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const u8,
    }
    let prog = SockFprog {
        len: (f.bpf.len() / 8) as u16,
        filter: f.bpf.as_ptr(),
    };
    let check = |rc: libc::c_int| {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: prctl with a pointer to a valid sock_fprog whose program outlives the call.
    check(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const SockFprog,
            0,
            0,
        )
    })?;
    if f.drop_sys_admin {
        drop_capability(CAP_SYS_ADMIN)?;
    }
    Ok(())
}

/// `CAP_SYS_ADMIN` in linux/capability.h.
const CAP_SYS_ADMIN: u32 = 21;

fn drop_capability(cap: u32) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const V3: u32 = 0x2008_0522;
    let check = |rc: libc::c_long| {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: prctl and capget/capset with valid, correctly sized structures.
    unsafe {
        let _ = libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_LOWER as libc::c_ulong,
            cap as libc::c_ulong,
            0,
            0,
        );
        let mut hdr = Header {
            version: V3,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        check(libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut Header,
            data.as_mut_ptr(),
        ))?;
        let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
        data[word].effective &= !bit;
        data[word].permitted &= !bit;
        data[word].inheritable &= !bit;
        let mut hdr = Header {
            version: V3,
            pid: 0,
        };
        check(libc::syscall(
            libc::SYS_capset,
            &mut hdr as *mut Header,
            data.as_ptr(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_profile_compiles_and_caches() {
        let profile = super::super::seccomp_profile::default_profile(&[]);
        let bpf = compile(&profile).unwrap();
        assert!(
            bpf.len() > 8 * 100 && bpf.len().is_multiple_of(8),
            "{}",
            bpf.len()
        );
        let dir = std::env::temp_dir().join(format!("rcompose-bpf-{}", std::process::id()));
        let a = cached(&dir, &profile).unwrap();
        assert_eq!(a, bpf);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert_eq!(cached(&dir, &profile).unwrap(), bpf);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sys_admin_is_lent_only_when_missing() {
        use libcontainer::oci_spec::runtime::{
            LinuxCapabilitiesBuilder, ProcessBuilder, SpecBuilder,
        };
        let spec_with = |caps: &[Capability]| {
            let set: HashSet<Capability> = caps.iter().copied().collect();
            let c = LinuxCapabilitiesBuilder::default()
                .bounding(set.clone())
                .effective(set.clone())
                .permitted(set)
                .build()
                .unwrap();
            SpecBuilder::default()
                .process(ProcessBuilder::default().capabilities(c).build().unwrap())
                .build()
                .unwrap()
        };
        let mut s = spec_with(&[Capability::Chown]);
        assert!(grant_sys_admin(&mut s));
        let caps = s
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        for set in [caps.effective(), caps.permitted()] {
            assert!(set.as_ref().unwrap().contains(&Capability::SysAdmin));
            assert!(set.as_ref().unwrap().contains(&Capability::Chown));
        }
        // The bounding set stays the container's.
        assert!(!caps
            .bounding()
            .as_ref()
            .unwrap()
            .contains(&Capability::SysAdmin));
        assert!(!caps
            .inheritable()
            .as_ref()
            .is_some_and(|i| i.contains(&Capability::SysAdmin)));
        let mut privileged = spec_with(&[Capability::SysAdmin]);
        assert!(!grant_sys_admin(&mut privileged));
    }
}
