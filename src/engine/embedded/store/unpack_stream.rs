//! The byte stream under the layer's tar parser: gzip or zstd decompression, then the
//! `diff_id` hash, the byte count and the decompressed-size budget.

use std::io::{self, BufRead, BufReader, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use sha2::{Digest, Sha256};

pub(super) enum Decoder<R: Read> {
    Plain(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
    Zstd(Box<ZstdFrames<BufReader<R>>>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

/// An empty zstd frame. ruzstd checks the window size (at most 100 MiB, the memory it keeps)
/// in `reset` but not in the first `init`, so the decoder is primed with this frame and every
/// real frame goes through `reset`.
const EMPTY_ZSTD_FRAME: [u8; 9] = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00];

/// zstd frames one after another, skippable frames skipped (ruzstd's `StreamingDecoder`
/// stops after the first frame).
pub(super) struct ZstdFrames<R> {
    src: R,
    dec: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    pub(super) fn new(src: R) -> io::Result<Self> {
        let mut dec = FrameDecoder::new();
        dec.init(&EMPTY_ZSTD_FRAME[..]).map_err(io::Error::other)?;
        Ok(Self {
            src,
            dec,
            in_frame: false,
        })
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                while self.dec.can_collect() < buf.len() && !self.dec.is_finished() {
                    let want = buf.len() - self.dec.can_collect();
                    self.dec
                        .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBytes(want))
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                }
                let n = self.dec.read(buf)?;
                if n > 0 || !self.dec.is_finished() {
                    return Ok(n);
                }
                self.in_frame = false;
            }
            if self.src.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.dec.reset(&mut self.src) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let length = u64::from(length);
                    if io::copy(&mut (&mut self.src).take(length), &mut io::sink())? < length {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        }
    }
}

/// The decompressed stream under the tar parser: hashed, counted, and cut at the budget.
pub(super) struct Budget<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
    pub(super) size: u64,
    pub(super) limit: u64,
    pub(super) exceeded: bool,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.size += n as u64;
        if self.size > self.limit {
            self.exceeded = true;
            return Err(io::Error::other(
                "the layer exceeds its decompressed size budget",
            ));
        }
        let read = buf
            .get(..n)
            .ok_or_else(|| io::Error::other("reader overran its buffer"))?;
        self.hasher.update(read);
        Ok(n)
    }
}
