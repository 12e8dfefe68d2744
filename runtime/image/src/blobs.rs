//! Content-addressed blobs under `images/blobs/sha256/<hex>`.
//!
//! Writes go to a temporary file under `images/tmp/`, hashed while written, synced, checked
//! against the expected digest when there is one, then renamed into place: a blob file that
//! exists is always complete. Reads of configs and manifests re-hash the bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::digest::{digest_hex, sha256_digest, Sha256Writer};
use super::error::{io_at, ImageError, Result};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name for a temporary file or directory that no other process or thread will pick,
/// carrying this process's owner tag (see [`super::owner`]): `PREFIX-<pid>.<start>-<n>-<ns>`.
pub(crate) fn temp_name(prefix: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos}", super::owner::tag())
}

/// The blob directory of one store.
#[derive(Debug, Clone)]
pub(crate) struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    /// `dir` is `images/blobs/sha256`, `tmp` a directory on the same filesystem.
    pub(crate) fn new(dir: PathBuf, tmp: PathBuf) -> Blobs {
        Blobs { dir, tmp }
    }

    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// The file of `digest` (which must be `sha256:<64 hex>`).
    pub(crate) fn path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.dir.join(digest_hex(digest, "blob")?))
    }

    pub(crate) fn exists(&self, digest: &str) -> bool {
        self.path(digest).is_ok_and(|p| p.is_file())
    }

    /// Opens a blob for reading; a missing blob is an error naming the digest and `what` it is.
    pub(crate) fn open(&self, digest: &str, what: &str) -> Result<File> {
        let path = self.path(digest)?;
        File::open(&path).map_err(io_at(&format!("opening {what} blob {digest}"), &path))
    }

    /// Reads a whole blob and checks that its content still hashes to `digest`.
    pub(crate) fn read_verified(&self, digest: &str, what: &str) -> Result<Vec<u8>> {
        let path = self.path(digest)?;
        let bytes = fs::read(&path).map_err(io_at(&format!("reading {what} blob"), &path))?;
        let actual = sha256_digest(&bytes);
        if actual != digest {
            return Err(ImageError::DigestMismatch {
                what: format!("{what} blob {}", path.display()),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Stores `bytes`; returns their digest and size.
    pub(crate) fn write_bytes(&self, bytes: &[u8]) -> Result<(String, u64)> {
        let digest = sha256_digest(bytes);
        if !self.exists(&digest) {
            let mut w = self.writer()?;
            w.write_all(bytes).map_err(io_at("writing blob", &w.path))?;
            w.commit(Some(&digest))?;
        }
        Ok((digest, bytes.len() as u64))
    }

    /// A writer whose content becomes a blob on [`BlobWriter::commit`].
    pub(crate) fn writer(&self) -> Result<BlobWriter> {
        let path = self.tmp.join(temp_name("blob"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at("creating temporary blob", &path))?;
        Ok(BlobWriter {
            inner: Some(Sha256Writer::new(BufWriter::new(file))),
            path,
            dir: self.dir.clone(),
        })
    }

    /// Hardlinks an already hashed file (same filesystem) into place as blob `digest`.
    pub(crate) fn adopt_link(&self, file: &Path, digest: &str) -> Result<()> {
        let dest = self.path(digest)?;
        match fs::hard_link(file, &dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_at(&format!("storing blob {digest} from"), file)(e)),
        }
    }

    /// Deletes a blob; returns whether it was there.
    pub(crate) fn remove(&self, digest: &str) -> Result<bool> {
        let path = self.path(digest)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_at("removing blob", &path)(e)),
        }
    }
}

/// A blob being written. Dropped without `commit`, its temporary file is removed.
pub(crate) struct BlobWriter {
    inner: Option<Sha256Writer<BufWriter<File>>>,
    path: PathBuf,
    dir: PathBuf,
}

impl BlobWriter {
    /// Syncs, checks the digest against `expected` (when given) and renames the blob into place.
    pub(crate) fn commit(mut self, expected: Option<&str>) -> Result<(String, u64)> {
        let inner = self.inner.take().expect("blob writer committed twice");
        let result = self.finish(inner, expected);
        if result.is_err() {
            let _ = fs::remove_file(&self.path);
        }
        result
    }

    fn finish(
        &self,
        inner: Sha256Writer<BufWriter<File>>,
        expected: Option<&str>,
    ) -> Result<(String, u64)> {
        let (buf, digest, size) = inner.finish();
        let file = buf
            .into_inner()
            .map_err(|e| io_at("writing blob", &self.path)(e.into_error()))?;
        file.sync_all().map_err(io_at("syncing blob", &self.path))?;
        if let Some(expected) = expected {
            if expected != digest {
                return Err(ImageError::DigestMismatch {
                    what: format!("blob written from {}", self.path.display()),
                    expected: expected.to_string(),
                    actual: digest,
                });
            }
        }
        let dest = self.dir.join(digest_hex(&digest, "blob")?);
        fs::rename(&self.path, &dest)
            .map_err(io_at(&format!("storing blob {digest} at"), &dest))?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .as_mut()
            .expect("blob writer used after commit")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner
            .as_mut()
            .expect("blob writer used after commit")
            .flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}
