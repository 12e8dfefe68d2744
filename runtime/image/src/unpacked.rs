//! `HULL_ROOT/layers/<diff id hex>/`: each layer unpacked once, for use as an overlay lower dir.
//!
//! A layer is unpacked into `layers/.tmp-…`, both of its digests are checked (the blob's
//! sha256 and the diff id, the sha256 of the uncompressed tar), and only then is the directory
//! renamed into place — so a layer directory that exists is complete and verified, and a crash
//! or a refused entry leaves nothing but a temporary directory that is removed on the way out.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use super::blobs::{temp_name, Blobs};
use super::digest::{digest_hex, Sha256Reader};
use super::error::{io_at, ImageError, Result};
use super::layer::unpack_tar;
use super::LayerInfo;

/// How a layer blob is compressed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
}

/// Looks at the magic bytes at the front of `r` without consuming them.
pub(crate) fn sniff<R: BufRead>(r: &mut R, what: &str) -> Result<Compression> {
    let head = r
        .fill_buf()
        .map_err(|e| ImageError::Corrupt(format!("reading {what}: {e}")))?;
    match head {
        [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Err(ImageError::Corrupt(format!(
            "{what} is zstd-compressed, which hull does not support (use gzip or plain tar)"
        ))),
        [0x42, 0x5a, 0x68, ..] | [0xfd, b'7', b'z', b'X', b'Z', ..] => Err(ImageError::Corrupt(
            format!("{what} is bzip2/xz-compressed, which hull does not support"),
        )),
        _ => Ok(Compression::None),
    }
}

/// A tar stream, decompressed if it was gzip.
pub(crate) enum Decoded<R: BufRead> {
    Plain(R),
    Gzip(MultiGzDecoder<R>),
}

impl<R: BufRead> Decoded<R> {
    pub(crate) fn new(mut r: R, what: &str) -> Result<Decoded<R>> {
        Ok(match sniff(&mut r, what)? {
            Compression::None => Decoded::Plain(r),
            Compression::Gzip => Decoded::Gzip(MultiGzDecoder::new(r)),
        })
    }

    pub(crate) fn into_inner(self) -> R {
        match self {
            Decoded::Plain(r) => r,
            Decoded::Gzip(d) => d.into_inner(),
        }
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(d) => d.read(buf),
        }
    }
}

/// Removes its directory on drop unless disarmed.
pub(crate) struct TempDir {
    pub path: PathBuf,
    keep: bool,
}

impl TempDir {
    pub(crate) fn create(parent: &Path, prefix: &str) -> Result<TempDir> {
        let path = parent.join(temp_name(prefix));
        fs::create_dir(&path).map_err(io_at("creating temporary directory", &path))?;
        Ok(TempDir { path, keep: false })
    }

    pub(crate) fn disarm(mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The unpacked directory of `layer`, unpacking it first if needed.
pub(crate) fn ensure_unpacked(
    blobs: &Blobs,
    layers_dir: &Path,
    layer: &LayerInfo,
) -> Result<PathBuf> {
    let hex = digest_hex(&layer.diff_id, "layer diff id")?;
    let dest = layers_dir.join(hex);
    if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
        return Ok(dest);
    }
    let tmp = TempDir::create(layers_dir, &format!(".tmp-{}", &hex[..12]))?;
    unpack_verified(blobs, layer, &tmp.path)?;
    match fs::rename(&tmp.path, &dest) {
        Ok(()) => {
            tmp.disarm();
            Ok(dest)
        }
        // Another process unpacked the same layer first: use theirs, drop ours.
        Err(_) if dest.is_dir() => Ok(dest),
        Err(e) => Err(io_at("moving the unpacked layer into place at", &dest)(e)),
    }
}

/// Unpacks the blob of `layer` into the empty directory `into`, checking both digests.
pub(crate) fn unpack_verified(blobs: &Blobs, layer: &LayerInfo, into: &Path) -> Result<()> {
    let what = format!("layer {}", layer.digest);
    let read_err = |e: io::Error| ImageError::Corrupt(format!("reading {what}: {e}"));
    let file = blobs.open(&layer.digest, "layer")?;
    let decoded = Decoded::new(BufReader::new(Sha256Reader::new(file)), &what)?;
    let mut tar_stream = unpack_tar(Sha256Reader::new(decoded), into, &layer.digest)?;
    // Hash what follows the tar's end-of-archive blocks, then what follows the gzip stream.
    io::copy(&mut tar_stream, &mut io::sink()).map_err(read_err)?;
    let (decoded, diff_id, _) = tar_stream.finish();
    check(
        &diff_id,
        &layer.diff_id,
        &format!("{what}: uncompressed content (diff id)"),
    )?;
    let mut compressed = decoded.into_inner();
    io::copy(&mut compressed, &mut io::sink()).map_err(read_err)?;
    let (_, digest, _) = compressed.into_inner().finish();
    check(&digest, &layer.digest, &format!("{what}: blob content"))
}

/// Errors unless `actual == expected`.
pub(crate) fn check(actual: &str, expected: &str, what: &str) -> Result<()> {
    if actual != expected {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}
