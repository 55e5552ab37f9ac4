//! The container log in Docker's json-file format: one JSON object per line,
//! `{"log":"<text>\n","stream":"stdout","time":"<RFC 3339 nanos>"}`, with rotation by
//! `logging.options.max-size` / `max-file` (Docker's defaults: no size limit, one file;
//! rotated files are `<log>.1` … `<log>.<max-file − 1>`, newest first).
//!
//! Output is split into entries at newlines; a line longer than 16 KiB is written in 16 KiB
//! pieces without a trailing newline, as Docker's log driver does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::engine::StdStream;

const MAX_ENTRY: usize = 16 * 1024;

/// Rotation settings from the service's `logging.options`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Bytes; `None`: never rotate.
    pub max_size: Option<u64>,
    pub max_files: u32,
}

impl Rotation {
    /// Reads `max-size` (`10m`, `512k`, `1g`, bytes; binary units as Docker) and `max-file`.
    pub fn from_options(opts: &std::collections::BTreeMap<String, String>) -> Result<Self, String> {
        let max_size = match opts.get("max-size") {
            None => None,
            Some(v) if v == "-1" => None,
            Some(v) => Some(
                parse_size(v)
                    .ok_or_else(|| format!("logging option max-size '{v}': not a size"))?,
            ),
        };
        let max_files = match opts.get("max-file") {
            None => 1,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("logging option max-file '{v}': must be a number of at least 1")
            })?,
        };
        Ok(Rotation {
            max_size,
            max_files,
        })
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1u64 << 10),
        'm' => (&t[..t.len() - 1], 1 << 20),
        'g' => (&t[..t.len() - 1], 1 << 30),
        't' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n > 0.0).then_some((n * mult as f64) as u64)
}

/// Appends json-file entries, rotating when asked.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    /// Bytes of an unfinished line per stream (stdout, stderr).
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path, rotation: Rotation) -> std::io::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Takes raw output of one stream; writes every complete line.
    pub fn write(&mut self, stream: StdStream, data: &[u8], time: &str) -> std::io::Result<()> {
        let idx = stream_index(stream);
        let mut buf = std::mem::take(&mut self.partial[idx]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl + 1;
            self.entry_pieces(stream, &buf[start..end], time)?;
            start = end;
        }
        let mut rest = buf.split_off(start);
        // Whole 16 KiB pieces of an unfinished line go out now; the remainder waits.
        let whole = rest.len() - rest.len() % MAX_ENTRY;
        if whole > 0 {
            self.entry_pieces(stream, &rest[..whole], time)?;
            rest.drain(..whole);
        }
        self.partial[idx] = rest;
        Ok(())
    }

    /// Writes what is left of unfinished lines (the stream ended).
    pub fn flush_partial(&mut self, stream: StdStream, time: &str) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.partial[stream_index(stream)]);
        if !rest.is_empty() {
            self.entry(stream, &rest, time)?;
        }
        Ok(())
    }

    fn entry_pieces(&mut self, stream: StdStream, line: &[u8], time: &str) -> std::io::Result<()> {
        for piece in line.chunks(MAX_ENTRY) {
            self.entry(stream, piece, time)?;
        }
        Ok(())
    }

    fn entry(&mut self, stream: StdStream, text: &[u8], time: &str) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(text.len() + 64);
        out.extend_from_slice(b"{\"log\":");
        out.extend_from_slice(
            &serde_json::to_vec(&String::from_utf8_lossy(text)).map_err(std::io::Error::other)?,
        );
        out.extend_from_slice(match stream {
            StdStream::Stdout => b",\"stream\":\"stdout\",\"time\":\"",
            StdStream::Stderr => b",\"stream\":\"stderr\",\"time\":\"",
        });
        out.extend_from_slice(time.as_bytes());
        out.extend_from_slice(b"\"}\n");
        if let Some(max) = self.rotation.max_size {
            if self.size > 0 && self.size + out.len() as u64 > max {
                self.rotate()?;
            }
        }
        self.file.write_all(&out)?;
        self.size += out.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.rotation.max_files <= 1 {
            self.file.set_len(0)?;
        } else {
            let n = self.rotation.max_files - 1;
            let _ = std::fs::remove_file(rotated(&self.path, n));
            for i in (1..n).rev() {
                let _ = std::fs::rename(rotated(&self.path, i), rotated(&self.path, i + 1));
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
            self.file = open_append(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

fn stream_index(s: StdStream) -> usize {
    match s {
        StdStream::Stdout => 0,
        StdStream::Stderr => 1,
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// The path of the `n`th rotated file (`<log>.n`).
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// One parsed log entry.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Every log file of a container, oldest first.
pub fn files_oldest_first(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut n = 1;
    while rotated(path, n).exists() {
        n += 1;
    }
    for i in (1..n).rev() {
        out.push(rotated(path, i));
    }
    out.push(path.to_path_buf());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rcompose-logs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("c-json.log")
    }

    fn entries(p: &Path) -> Vec<Entry> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_are_split_and_partial_lines_wait() {
        let p = tmp("split");
        let mut w = LogWriter::open(
            &p,
            Rotation {
                max_size: None,
                max_files: 1,
            },
        )
        .unwrap();
        w.write(StdStream::Stdout, b"a\nb", "T1").unwrap();
        w.write(StdStream::Stderr, b"err\n", "T2").unwrap();
        w.write(StdStream::Stdout, b"c\n", "T3").unwrap();
        w.flush_partial(StdStream::Stdout, "T4").unwrap();
        let e = entries(&p);
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.log.as_str(), e.stream.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("a\n", "stdout"), ("err\n", "stderr"), ("bc\n", "stdout")]
        );
        assert_eq!(e[2].time, "T3");
    }

    #[test]
    fn rotation_keeps_max_files_and_bounds_size() {
        let p = tmp("rotate");
        let rot = Rotation::from_options(
            &[
                ("max-size".to_string(), "1k".to_string()),
                ("max-file".to_string(), "3".to_string()),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap();
        assert_eq!(
            rot,
            Rotation {
                max_size: Some(1024),
                max_files: 3
            }
        );
        let mut w = LogWriter::open(&p, rot).unwrap();
        for i in 0..1000 {
            w.write(StdStream::Stdout, format!("line {i}\n").as_bytes(), "T")
                .unwrap();
        }
        let files = files_oldest_first(&p);
        assert_eq!(files.len(), 3, "{files:?}");
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() <= 1024);
        }
        let last = entries(&p);
        assert_eq!(last.last().unwrap().log, "line 999\n");
        let all: Vec<String> = files
            .iter()
            .flat_map(|f| entries(f))
            .map(|e| e.log)
            .collect();
        // Consecutive lines across the kept files.
        let first: usize = all[0]
            .trim()
            .strip_prefix("line ")
            .unwrap()
            .parse()
            .unwrap();
        for (k, l) in all.iter().enumerate() {
            assert_eq!(l, &format!("line {}\n", first + k));
        }
    }

    #[test]
    fn bad_options_are_errors() {
        let o = |k: &str, v: &str| [(k.to_string(), v.to_string())].into_iter().collect();
        assert!(Rotation::from_options(&o("max-size", "lots")).is_err());
        assert!(Rotation::from_options(&o("max-file", "0")).is_err());
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("1.5k"), Some(1536));
    }

    #[test]
    fn long_lines_are_cut_in_16k_pieces() {
        let p = tmp("long");
        let mut w = LogWriter::open(
            &p,
            Rotation {
                max_size: None,
                max_files: 1,
            },
        )
        .unwrap();
        let long = vec![b'x'; MAX_ENTRY * 2 + 10];
        w.write(StdStream::Stdout, &long, "T").unwrap();
        w.write(StdStream::Stdout, b"\n", "T").unwrap();
        let e = entries(&p);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].log.len(), MAX_ENTRY);
        assert_eq!(e[2].log, format!("{}\n", "x".repeat(10)));
    }
}
