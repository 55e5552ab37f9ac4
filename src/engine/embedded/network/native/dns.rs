//! DNS by name for the native driver: aardvark-dns, fed by the config files it reads (one
//! per network, named by the network id) and told to reload with SIGHUP.
//!
//! A network's file starts with the addresses aardvark listens on (the gateways), then one
//! line per container: `<id> <ipv4s> <ipv6s> <names> [<upstream resolvers>]`, lists
//! comma-separated. One aardvark process serves every network; it is started when the first
//! network needs it and stopped when the last file goes. All changes happen under the
//! driver's lock.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::engine::embedded::network::store::NetworkRecord;

/// One container's entry in a network's file.
pub struct Entry<'a> {
    pub id: &'a str,
    pub addresses: &'a [IpAddr],
    pub names: Vec<String>,
    /// Where aardvark forwards names it does not know, for this container.
    pub upstream: Vec<String>,
}

pub struct Aardvark {
    pub binary: PathBuf,
    pub dir: PathBuf,
}

fn join<T: ToString>(v: impl Iterator<Item = T>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// The entry line of one container (pure, for tests).
pub fn entry_line(e: &Entry<'_>) -> String {
    let v4 = join(e.addresses.iter().filter(|a| a.is_ipv4()));
    let v6 = join(e.addresses.iter().filter(|a| a.is_ipv6()));
    let mut line = format!("{} {v4} {v6} {}", e.id, e.names.join(","));
    if !e.upstream.is_empty() {
        line.push(' ');
        line.push_str(&e.upstream.join(","));
    }
    line
}

impl Aardvark {
    fn file(&self, net: &NetworkRecord) -> PathBuf {
        self.dir.join(&net.id)
    }

    /// Adds (or replaces) the entry of container `e.id` on `net`, then reloads.
    pub fn add(&self, net: &NetworkRecord, e: &Entry<'_>) -> Result<(), String> {
        let path = self.file(net);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let gateways = join(net.subnets.iter().map(|s| s.gateway));
        let mut text = format!("{gateways}\n");
        for l in old.lines().skip(1) {
            if !l.is_empty() && l.split(' ').next() != Some(e.id) {
                text.push_str(l);
                text.push('\n');
            }
        }
        text.push_str(&entry_line(e));
        text.push('\n');
        write(&path, &text)?;
        self.reload()
    }

    /// Removes container `id` from `net`'s file (the file goes with its last entry), then
    /// reloads or stops aardvark.
    pub fn remove(&self, net: &NetworkRecord, id: &str) -> Result<(), String> {
        let path = self.file(net);
        let Ok(old) = std::fs::read_to_string(&path) else {
            return Ok(());
        };
        let mut lines = old.lines();
        let head = lines.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = lines
            .filter(|l| !l.is_empty() && l.split(' ').next() != Some(id))
            .collect();
        if rest.is_empty() {
            let _ = std::fs::remove_file(&path);
        } else {
            write(&path, &format!("{head}\n{}\n", rest.join("\n")))?;
        }
        self.reload()
    }

    fn pid(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.dir.join("aardvark.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let dir = self.dir.display().to_string();
        String::from_utf8_lossy(&cmd)
            .contains(dir.as_str())
            .then_some(pid)
    }

    fn has_networks(&self) -> bool {
        std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten().any(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    !n.starts_with('.') && n != "aardvark.pid"
                })
            })
            .unwrap_or(false)
    }

    /// Makes aardvark see the files: SIGHUP when it runs, a start when it does not, a stop
    /// when no network is left.
    fn reload(&self) -> Result<(), String> {
        let pid = self.pid();
        if !self.has_networks() {
            if let Some(pid) = pid {
                // SAFETY: a signal to the aardvark of our config dir (checked by cmdline).
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            return Ok(());
        }
        if let Some(pid) = pid {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGHUP) };
            return Ok(());
        }
        // aardvark daemonizes: the parent returns once the server is ready. Its output
        // goes to a file (the daemon keeps the descriptors it inherits), outside the config
        // directory: aardvark reads every file there as a network.
        let log = self.dir.with_file_name("aardvark.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("aardvark log: {e}"))?;
        let status = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.dir)
            .args(["-p", "53", "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        if !status.success() {
            return Err(format!("aardvark-dns failed to start ({status})"));
        }
        Ok(())
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    // On the runtime tmpfs (gone at reboot): atomic for aardvark's reads, nothing to sync.
    use crate::engine::embedded::state::{write_atomic_as, Durability};
    write_atomic_as(path, text.as_bytes(), Durability::Reconciled)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lines_match_aardvark_format() {
        let addrs: Vec<IpAddr> = vec!["10.89.0.2".parse().unwrap(), "fd00::2".parse().unwrap()];
        let e = Entry {
            id: "c1",
            addresses: &addrs,
            names: vec!["p-web-1".into(), "web".into()],
            upstream: vec![],
        };
        assert_eq!(entry_line(&e), "c1 10.89.0.2 fd00::2 p-web-1,web");
        let v4: Vec<IpAddr> = vec!["10.89.0.3".parse().unwrap()];
        let e = Entry {
            id: "c2",
            addresses: &v4,
            names: vec!["db".into()],
            upstream: vec!["255.255.255.255".into()],
        };
        assert_eq!(entry_line(&e), "c2 10.89.0.3  db 255.255.255.255");
    }
}
