//! Prefixed output of several containers at once (`logs`, attached `up`): output arrives in
//! chunks that may split lines; each container's stdout and stderr are cut into whole lines,
//! each printed at once behind the container's prefix, so lines never interleave mid-way.

use std::collections::HashMap;
use std::io::Write;

use crate::engine::StdStream;

pub struct LinePrinter {
    prefixes: Vec<String>,
    partial: HashMap<(usize, bool), Vec<u8>>,
}

impl LinePrinter {
    /// `prefixes[i]` is written before every line of container `i`.
    pub fn new(prefixes: Vec<String>) -> Self {
        LinePrinter {
            prefixes,
            partial: HashMap::new(),
        }
    }

    /// Adds a container (one that appeared while following); returns its index.
    pub fn add(&mut self, prefix: String) -> usize {
        self.prefixes.push(prefix);
        self.prefixes.len() - 1
    }

    /// Prints the whole lines `bytes` completes for container `i`, keeping the rest.
    pub fn chunk(&mut self, i: usize, stream: StdStream, bytes: &[u8]) {
        let buf = self
            .partial
            .entry((i, stream == StdStream::Stderr))
            .or_default();
        buf.extend_from_slice(bytes);
        let mut out = std::io::stdout().lock();
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let _ = out.write_all(self.prefixes[i].as_bytes());
            let _ = out.write_all(&line);
        }
        let _ = out.flush();
    }

    /// Prints what did not end with a line break, each with a final one.
    pub fn finish(&mut self) {
        let mut out = std::io::stdout().lock();
        let mut rest: Vec<_> = self
            .partial
            .drain()
            .filter(|(_, b)| !b.is_empty())
            .collect();
        rest.sort_by_key(|(k, _)| *k);
        for ((i, _), b) in rest {
            let _ = out.write_all(self.prefixes[i].as_bytes());
            let _ = out.write_all(&b);
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }
}
