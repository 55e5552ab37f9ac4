//! Terminals on the embedded engine, as root: `exec` with a terminal, `run` of a one-off
//! with a terminal and `tty: true` services get a pseudo-terminal of the container's own
//! devpts instance, as their controlling terminal, and never the caller's terminal. The CLI
//! runs on a pseudo-terminal this test opens (`openpty`), as it would on a user's terminal.

mod support;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::embedded::{down_and_check_clean, project, wait_for};

/// The CLI running on a terminal of ours: we type on `master` and read what it shows.
struct Term {
    master: std::fs::File,
    child: std::process::Child,
    shown: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
    /// The device number of our devpts instance (the "host terminal").
    host_dev: u64,
}

impl Term {
    /// Starts `cmd` as the session leader of a new terminal of `rows` x `cols`.
    fn spawn(mut cmd: Command, rows: u16, cols: u16) -> Term {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills two descriptors; the return value is checked.
        let r =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh descriptors from openpty.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(slave.as_raw_fd(), &mut st) }, 0);
        let host_dev = st.st_dev;
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(cmd); // our copies of the slave: the master reads EIO once the CLI is gone
        let master = std::fs::File::from(master);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let (mut r, sink) = (master.try_clone().unwrap(), shown.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Term {
            master,
            child,
            shown,
            reader,
            host_dev,
        }
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    fn type_line(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\r").unwrap();
    }

    /// The value printed as `KEY=value` (the typed line reads `"K""EY=`, so only the
    /// command's output matches).
    fn value(&self, key: &str) -> String {
        let needle = format!("{key}=");
        wait_for(
            &format!("{key}= on the terminal"),
            Duration::from_secs(20),
            || self.shown().contains(&needle),
        );
        let shown = self.shown();
        let at = shown.find(&needle).unwrap() + needle.len();
        shown[at..].lines().next().unwrap_or("").trim().to_string()
    }

    /// Waits for the CLI to exit; its exit code and everything it showed.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the CLI did not exit; it showed:\n{}", self.shown());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let Term { reader, shown, .. } = self;
        reader.join().unwrap();
        let shown = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
        (status.code(), shown)
    }
}

/// Checks, on a shell running on the container's terminal, what `exec -t` and `run -t`
/// promise, then leaves it with `exit 3`.
fn check_shell_terminal(t: &mut Term) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.shown().contains("# ") {
        assert!(
            Instant::now() < deadline,
            "no prompt; the terminal shows:\n{}",
            t.shown()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.type_line(r#"echo "T""TY=$(tty)""#);
    assert!(t.value("TTY").starts_with("/dev/pts/"), "{}", t.shown());
    t.type_line(r#"[ -t 0 ] && echo "STD""IN=terminal""#);
    assert_eq!(t.value("STDIN"), "terminal");
    // Our terminal's size was given to its terminal.
    t.type_line(r#"echo "SI""ZE=$(stty size)""#);
    assert_eq!(t.value("SIZE"), "37 111");
    // The shell leads its session and the terminal is its controlling terminal.
    t.type_line(r#"echo "ST""AT=$(cut -d' ' -f1,6,7 /proc/$$/stat)""#);
    let stat = t.value("STAT");
    let f: Vec<&str> = stat.split(' ').collect();
    assert_eq!(f.len(), 3, "{stat}");
    assert_eq!(f[0], f[1], "the shell is not its session's leader: {stat}");
    assert_ne!(f[2], "0", "the shell has no controlling terminal: {stat}");
    // Its standard streams are on the container's devpts; none of its descriptors is on
    // ours.
    t.type_line(r#"echo "PT""MX=$(stat -c %d /dev/pts/ptmx)""#);
    let ptmx = t.value("PTMX");
    assert_ne!(
        ptmx,
        t.host_dev.to_string(),
        "the container uses our devpts"
    );
    t.type_line(
        r#"echo "ST""DIO=$(stat -L -c %d /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 | sort -u)""#,
    );
    assert_eq!(t.value("STDIO"), ptmx, "standard streams off its devpts");
    t.type_line(
        r#"echo "DE""VS=$(for f in /proc/$$/fd/*; do stat -L -c %d $f; done | tr '\n' ' ')""#,
    );
    let devs = t.value("DEVS");
    assert!(
        !devs.split(' ').any(|d| d == t.host_dev.to_string()),
        "a descriptor on our devpts ({}): {devs}",
        t.host_dev
    );
    t.type_line("exit 3");
}

#[test]
fn exec_with_a_terminal_gets_one_of_the_container() {
    let (p, root) = project(
        "ttyexec",
        "services:\n  app:\n    image: $IMAGE\n    command: [\"sleep\", \"1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    let mut t = Term::spawn(p.command(&["exec", "app", "sh"]), 37, 111);
    check_shell_terminal(&mut t);
    let (code, shown) = t.finish();
    assert_eq!(code, Some(3), "{shown}");
    // Without a terminal, exec is as before: pipes, exit code, stdin to its end.
    let out = p.rcompose(&["exec", "-T", "app", "tty"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a tty"));
    let mut c = p.command(&["exec", "-T", "app", "sh", "-c", "cat; exit 5"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
    down_and_check_clean(&p, &root);
}

#[test]
fn a_tty_service_and_run_with_a_terminal_get_one_of_the_container() {
    let (p, root) = project(
        "ttysvc",
        "services:\n  term:\n    image: $IMAGE\n    tty: true\n    command: [\"sh\", \"-c\", \"[ -t 1 ] && echo stdout-is-a-terminal; tty; echo to-stderr >&2; exec sleep 1000\"]\n",
    );
    p.ok(&["up", "-d"]);
    wait_for("the tty service's output", Duration::from_secs(20), || {
        p.ok(&["logs", "--no-log-prefix", "term"])
            .contains("to-stderr")
    });
    let logs = p.ok(&["logs", "--no-log-prefix", "term"]);
    // One stream, as a terminal writes it (CR LF line ends), stderr merged into it.
    assert!(logs.contains("stdout-is-a-terminal\r\n"), "{logs:?}");
    assert!(logs.contains("/dev/pts/"), "{logs:?}");
    let mut t = Term::spawn(p.command(&["run", "--rm", "term", "sh"]), 37, 111);
    check_shell_terminal(&mut t);
    let (code, shown) = t.finish();
    assert_eq!(code, Some(3), "{shown}");
    down_and_check_clean(&p, &root);
}
