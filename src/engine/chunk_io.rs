//! Blocking `Read`/`Write` ends of the engine boundary's byte streams ([`super::ByteChunks`],
//! [`super::TarUpload`]): tar code is synchronous and runs on a blocking thread, the streams
//! are async, and a bounded tokio channel of chunks joins the two. Used by `cp` on both sides
//! (the CLI packs and unpacks, the embedded engine archives and extracts) and by builds.

use std::io::{self, Read, Write};

use tokio::sync::mpsc;

use super::EngineError;

/// The size a [`ChannelWriter`] gathers before it sends.
const CHUNK: usize = 64 * 1024;

/// An error carried by a stream item, as the `io::Error` a reader returns.
pub trait ChunkError {
    fn into_io(self) -> io::Error;
}

impl ChunkError for io::Error {
    fn into_io(self) -> io::Error {
        self
    }
}

impl ChunkError for EngineError {
    fn into_io(self) -> io::Error {
        io::Error::other(self.to_string())
    }
}

/// Reads, on a blocking thread, the chunks an async task forwards; an `Err` item is the
/// read's error, the channel's end the end of file.
pub struct ChannelReader<E> {
    rx: mpsc::Receiver<Result<Vec<u8>, E>>,
    buf: Vec<u8>,
    pos: usize,
}

impl<E> ChannelReader<E> {
    /// A reader and the sender an async task feeds it with.
    pub fn new() -> (mpsc::Sender<Result<Vec<u8>, E>>, ChannelReader<E>) {
        let (tx, rx) = mpsc::channel(16);
        let reader = ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        };
        (tx, reader)
    }
}

impl<E: ChunkError> Read for ChannelReader<E> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e.into_io()),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Sends what a blocking thread writes, in chunks of up to 64 KiB; a write fails with
/// `BrokenPipe` once the receiving side has gone.
pub struct ChannelWriter<E> {
    tx: mpsc::Sender<Result<Vec<u8>, E>>,
    buf: Vec<u8>,
}

impl<E> ChannelWriter<E> {
    pub fn new(tx: mpsc::Sender<Result<Vec<u8>, E>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }
}

impl<E> Write for ChannelWriter<E> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the receiving side went away"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_errors_cross_in_order() {
        let (tx, mut reader) = ChannelReader::<EngineError>::new();
        let writer = std::thread::spawn(move || {
            let mut w = ChannelWriter::new(tx.clone());
            w.write_all(&vec![7u8; CHUNK + 10]).unwrap();
            w.flush().unwrap();
            tx.blocking_send(Err(EngineError::Backend {
                message: "gone".into(),
            }))
            .unwrap();
        });
        let mut got = vec![0u8; CHUNK + 10];
        reader.read_exact(&mut got).unwrap();
        assert!(got.iter().all(|&b| b == 7));
        let err = reader.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.to_string(), "gone");
        writer.join().unwrap();
    }
}
