//! Pays the first cgroup migration's RCU grace period ahead of time, off the start path.
//!
//! Every write of a pid to a `cgroup.procs` file takes the kernel's global
//! `cgroup_threadgroup_rwsem` for writing. When no migration happened recently that lock is
//! in its fast-reader mode, and the first writer must wait for a whole RCU grace period to
//! switch it (`rcu_sync_enter` → `synchronize_rcu`): measured here at 13–17 ms, while the
//! writes that follow soon after take about 0.1 ms. libcontainer's first
//! migration of the new container into its cgroups is such a first write, and it sat on the
//! critical path of every start (about half of `up -d` → first output).
//!
//! So while the CLI creates and starts containers, one background thread keeps the lock in
//! writer mode: it writes our own pid into the `cgroup.procs` of the cgroup we are already in
//! (a migration that moves nothing) every few milliseconds. Its first write waits out the
//! grace period while the CLI goes on spawning the shim, mounting the rootfs and wiring the
//! network; the later ones keep the mode from lapsing (it does so one grace period after the
//! last writer, measured as short as ~20 ms) until libcontainer has migrated the container.
//! Writing costs microseconds and only briefly delays forks on the host. The thread stops
//! [`LINGER`] after the last start ended (or after a `create` with no start). A failure
//! only means that the start pays the grace period itself, as before (logged at debug).

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the lock is kept in writer mode after a `create`, or after the last start ended.
const LINGER: Duration = Duration::from_millis(150);
/// The interval between two keep-alive writes: well under one grace period.
const PERIOD: Duration = Duration::from_millis(2);

struct Warm {
    /// Starts in progress.
    holders: usize,
    /// The thread goes on at least until then.
    until: Option<Instant>,
    running: bool,
}

static WARM: Mutex<Warm> = Mutex::new(Warm {
    holders: 0,
    until: None,
    running: false,
});

/// Keeps the lock warm for a while (a container is being created: a start follows).
pub fn warm_up() {
    with_state(|w| w.until = Some(Instant::now() + LINGER));
}

/// Keeps the lock warm until the returned guard is dropped (a start in progress).
pub fn hold() -> Hold {
    with_state(|w| w.holders += 1);
    Hold(())
}

/// See [`hold`].
pub struct Hold(());

impl Drop for Hold {
    fn drop(&mut self) {
        if let Ok(mut w) = WARM.lock() {
            w.holders = w.holders.saturating_sub(1);
            w.until = Some(Instant::now() + LINGER);
        }
    }
}

fn with_state(f: impl FnOnce(&mut Warm)) {
    let Ok(mut w) = WARM.lock() else { return };
    f(&mut w);
    if w.running {
        return;
    }
    let Some(path) = own_cgroup_procs() else {
        tracing::debug!("cgroup warm-up: no cgroup hierarchy of ours found");
        return;
    };
    w.running = std::thread::Builder::new()
        .name("cgroup-warm".into())
        .spawn(move || keep_warm(&path))
        .map_err(|e| tracing::debug!("cgroup warm-up: no thread: {e}"))
        .is_ok();
}

/// The thread: a no-op migration every [`PERIOD`] while a start is in progress or lingers.
fn keep_warm(path: &std::path::Path) {
    let pid = std::process::id().to_string();
    loop {
        {
            let Ok(mut w) = WARM.lock() else { return };
            if w.holders == 0 && w.until.is_none_or(|u| Instant::now() >= u) {
                w.running = false;
                return;
            }
        }
        let wrote = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(pid.as_bytes()));
        if let Err(e) = wrote {
            tracing::debug!("cgroup warm-up: writing {}: {e}", path.display());
            if let Ok(mut w) = WARM.lock() {
                w.running = false;
            }
            return;
        }
        std::thread::sleep(PERIOD);
    }
}

/// The `cgroup.procs` of the cgroup this process is in, in the first mounted hierarchy
/// (v1 or v2: the lock is global, any hierarchy will do).
fn own_cgroup_procs() -> Option<std::path::PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    procs_path(&mountinfo, &membership)
}

/// Pure part of [`own_cgroup_procs`]: the first cgroup mount of `mountinfo` whose hierarchy
/// appears in `membership` (`/proc/self/cgroup`), joined with our path in it.
fn procs_path(mountinfo: &str, membership: &str) -> Option<std::path::PathBuf> {
    for line in mountinfo.lines() {
        // `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        let (Some(root), Some(mountpoint), Some(fstype)) = (pre.get(3), pre.get(4), post.first())
        else {
            continue;
        };
        let ours = match *fstype {
            "cgroup2" => membership
                .lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_string)),
            "cgroup" => {
                let superopts: Vec<&str> = post.get(2).unwrap_or(&"").split(',').collect();
                membership.lines().find_map(|l| {
                    let mut parts = l.splitn(3, ':');
                    let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
                    let same =
                        !ctrls.is_empty() && ctrls.split(',').all(|c| superopts.contains(&c));
                    same.then(|| path.to_string())
                })
            }
            _ => None,
        };
        let Some(ours) = ours else { continue };
        // Our path is relative to the hierarchy's root; the mount shows `root` of it.
        let rel = if *root == "/" {
            ours.as_str()
        } else {
            match ours.strip_prefix(root) {
                Some(r) => r,
                None => continue,
            }
        };
        let mut p = std::path::PathBuf::from(mountpoint);
        p.extend(rel.split('/').filter(|s| !s.is_empty()));
        return Some(p.join("cgroup.procs"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::procs_path;

    const MOUNTS: &str = "\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    #[test]
    fn v1_hierarchy_first_with_our_path() {
        let cg = "4:memory:/a/b\n1:cpu:/x\n0::/u\n";
        assert_eq!(
            procs_path(MOUNTS, cg).unwrap(),
            std::path::Path::new("/sys/fs/cgroup/cpu/x/cgroup.procs")
        );
    }

    #[test]
    fn v2_only_host() {
        let mounts = "30 20 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate";
        assert_eq!(
            procs_path(mounts, "0::/user.slice/s.scope\n").unwrap(),
            std::path::Path::new("/sys/fs/cgroup/user.slice/s.scope/cgroup.procs")
        );
    }

    #[test]
    fn mount_root_is_stripped_and_foreign_roots_skipped() {
        // A namespaced hierarchy whose mount root is our own cgroup.
        let mounts = "30 20 0:26 /ns /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
        assert_eq!(
            procs_path(mounts, "0::/ns/inner\n").unwrap(),
            std::path::Path::new("/sys/fs/cgroup/inner/cgroup.procs")
        );
        assert_eq!(procs_path(mounts, "0::/elsewhere\n"), None);
        assert_eq!(
            procs_path("1 0 0:1 / / rw - ext4 /dev/vda rw", "0::/\n"),
            None
        );
    }
}
