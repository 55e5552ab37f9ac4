//! The local terminal, for interactive `exec`: raw mode (libc termios) restored on drop, and
//! the window size to give the remote pseudo-terminal.
//!
//! [`RawMode`] is a guard: whatever way the caller leaves (return, `?`, panic unwinding), its
//! `Drop` puts the saved settings back.

use std::io::IsTerminal;

/// Whether standard input is a terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// The terminal on standard input in raw mode until this is dropped.
pub struct RawMode {
    fd: libc::c_int,
    saved: libc::termios,
}

impl RawMode {
    /// Puts standard input's terminal in raw mode; `None` when it is not a terminal or the
    /// settings cannot be read or changed (nothing is changed then).
    pub fn enable() -> Option<RawMode> {
        let fd = libc::STDIN_FILENO;
        if !stdin_is_terminal() {
            return None;
        }
        // SAFETY: termios is a plain C struct; tcgetattr fills it (checked return value).
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: `raw` is a valid termios obtained from tcgetattr.
        unsafe { libc::cfmakeraw(&mut raw) };
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return None;
        }
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable` on the same descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// `(rows, columns)` of the terminal on standard output (else standard input), if any.
pub fn window_size() -> Option<(u16, u16)> {
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: TIOCGWINSZ fills a winsize struct; the return value is checked.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}
