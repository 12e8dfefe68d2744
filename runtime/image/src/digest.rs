//! sha256 helpers: digests of byte strings, and readers/writers that hash what passes through.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use super::error::{ImageError, Result};

/// `"sha256:<hex>"` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// True for a non-empty string of lowercase hex digits.
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The hex part of `"sha256:<64 hex>"`, or an error naming `what` and the digest.
pub(crate) fn digest_hex<'a>(digest: &'a str, what: &str) -> Result<&'a str> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && is_hex(hex) => Ok(hex),
        _ => Err(ImageError::Corrupt(format!(
            "{what}: {digest:?} is not a sha256 digest (sha256:<64 lowercase hex>)"
        ))),
    }
}

/// A writer that hashes and counts everything written through it.
pub(crate) struct Sha256Writer<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Sha256Writer<W> {
    pub(crate) fn new(inner: W) -> Self {
        Sha256Writer {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The inner writer, the `"sha256:<hex>"` digest and the byte count of what was written.
    pub(crate) fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("sha256:{:x}", self.hasher.finalize()),
            self.count,
        )
    }
}

impl<W: Write> Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts everything read through it.
pub(crate) struct Sha256Reader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Sha256Reader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Sha256Reader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The inner reader, the digest and the byte count of what was read so far.
    pub(crate) fn finish(self) -> (R, String, u64) {
        (
            self.inner,
            format!("sha256:{:x}", self.hasher.finalize()),
            self.count,
        )
    }

    /// Reads the rest of the stream, then returns the digest and the byte count of all of it.
    pub(crate) fn drain(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((format!("sha256:{:x}", self.hasher.finalize()), self.count))
    }
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut r = Sha256Reader::new(&b""[..]);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        assert_eq!(r.drain().unwrap().0, sha256_digest(b""));
    }

    #[test]
    fn writer_and_reader_agree() {
        let data = b"hello layers".repeat(1000);
        let mut w = Sha256Writer::new(Vec::new());
        w.write_all(&data).unwrap();
        let (out, d, n) = w.finish();
        assert_eq!(out, data);
        assert_eq!(n, data.len() as u64);
        assert_eq!(d, sha256_digest(&data));
        assert_eq!(Sha256Reader::new(&data[..]).drain().unwrap(), (d, n));
    }

    #[test]
    fn digest_hex_rejects_bad_digests() {
        assert!(digest_hex("sha256:abc", "x").is_err());
        assert!(digest_hex(&"a".repeat(64), "x").is_err());
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(digest_hex(&upper, "x").is_err());
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(digest_hex(&ok, "x").unwrap(), "a".repeat(64));
    }
}
