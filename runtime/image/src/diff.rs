//! Writing layers: the gzip'd tar blob writer, and a layer made from an overlay upper dir.
//!
//! From an upper dir: a whiteout (char device 0/0) becomes an empty regular file `.wh.NAME`; a
//! directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` entry right after its own.
//! Entries come in byte order of their names (deterministic), directories before their
//! content, hardlinked files once then as links. Other `trusted.overlay.*` xattrs (overlayfs
//! bookkeeping such as `origin` and `impure`) are left out; other xattrs are kept as PAX
//! `SCHILY.xattr.*`. Sockets are skipped (as Docker does); device nodes are refused.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use oci_spec::image::MediaType;
use tar::{EntryType, Header};

use super::blobs::{BlobWriter, Blobs};
use super::digest::Sha256Writer;
use super::error::{io_at, ImageError, Result};
use super::whiteout::{is_opaque, is_whiteout, OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::LayerInfo;

/// Metadata of one tar entry to write.
#[derive(Debug, Clone, Default)]
pub(crate) struct EntryMeta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// A layer being written as a gzip'd tar blob; tracks both digests.
pub(crate) struct LayerWriter {
    tar: tar::Builder<Sha256Writer<GzEncoder<BlobWriter>>>,
}

impl LayerWriter {
    pub(crate) fn new(blobs: &Blobs) -> Result<LayerWriter> {
        let gz = GzEncoder::new(blobs.writer()?, Compression::default());
        let tar = tar::Builder::new(Sha256Writer::new(gz));
        Ok(LayerWriter { tar })
    }

    fn header(kind: EntryType, m: &EntryMeta, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(m.mode);
        h.set_uid(m.uid);
        h.set_gid(m.gid);
        h.set_mtime(m.mtime);
        h.set_size(size);
        h
    }

    fn pax(&mut self, m: &EntryMeta) -> io::Result<()> {
        if m.xattrs.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = m
            .xattrs
            .iter()
            .map(|(k, _)| format!("SCHILY.xattr.{k}"))
            .collect();
        let pairs = keys
            .iter()
            .map(String::as_str)
            .zip(m.xattrs.iter().map(|(_, v)| v.as_slice()));
        self.tar.append_pax_extensions(pairs)
    }

    pub(crate) fn dir(&mut self, path: &Path, m: &EntryMeta) -> io::Result<()> {
        self.pax(m)?;
        let mut h = Self::header(EntryType::Directory, m, 0);
        self.tar.append_data(&mut h, path, io::empty())
    }

    pub(crate) fn file(
        &mut self,
        path: &Path,
        m: &EntryMeta,
        size: u64,
        data: impl io::Read,
    ) -> io::Result<()> {
        self.pax(m)?;
        let mut h = Self::header(EntryType::Regular, m, size);
        self.tar.append_data(&mut h, path, data)
    }

    pub(crate) fn symlink(&mut self, path: &Path, m: &EntryMeta, target: &Path) -> io::Result<()> {
        self.pax(m)?;
        let mut h = Self::header(EntryType::Symlink, m, 0);
        self.tar.append_link(&mut h, path, target)
    }

    pub(crate) fn hardlink(&mut self, path: &Path, m: &EntryMeta, target: &Path) -> io::Result<()> {
        let mut h = Self::header(EntryType::Link, m, 0);
        self.tar.append_link(&mut h, path, target)
    }

    pub(crate) fn fifo(&mut self, path: &Path, m: &EntryMeta) -> io::Result<()> {
        self.pax(m)?;
        let mut h = Self::header(EntryType::Fifo, m, 0);
        self.tar.append_data(&mut h, path, io::empty())
    }

    /// Ends the tar, the gzip stream and the blob; returns the layer's description.
    pub(crate) fn finish(self) -> Result<LayerInfo> {
        let err = |e: io::Error| ImageError::Corrupt(format!("finishing a layer blob: {e}"));
        let hashed = self.tar.into_inner().map_err(err)?;
        let (gz, diff_id, _) = hashed.finish();
        let blob = gz.finish().map_err(err)?;
        let (digest, size) = blob.commit(None)?;
        Ok(LayerInfo {
            digest,
            diff_id,
            size,
            media_type: MediaType::ImageLayerGzip.to_string(),
        })
    }
}

/// Writes the content of the overlay upper dir `upper` as a new layer blob.
pub(crate) fn write_upper_layer(blobs: &Blobs, upper: &Path) -> Result<LayerInfo> {
    let mut w = LayerWriter::new(blobs)?;
    let mut links = HashMap::new();
    walk(&mut w, upper, Path::new(""), &mut links)?;
    w.finish()
}

fn sorted_children(dir: &Path) -> Result<Vec<std::ffi::OsString>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(io_at("listing", dir))? {
        names.push(e.map_err(io_at("listing", dir))?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

fn meta_of(full: &Path, md: &fs::Metadata) -> Result<EntryMeta> {
    let mut xattrs = Vec::new();
    match xattr::list(full) {
        Ok(names) => {
            for name in names {
                let key = name.to_string_lossy().into_owned();
                if key.starts_with("trusted.overlay.") {
                    continue;
                }
                if let Some(v) = xattr::get(full, &name)
                    .map_err(io_at(&format!("reading xattr {key} of"), full))?
                {
                    xattrs.push((key, v));
                }
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
        Err(e) => return Err(io_at("listing the xattrs of", full)(e)),
    }
    xattrs.sort();
    Ok(EntryMeta {
        mode: md.mode() & 0o7777,
        uid: md.uid().into(),
        gid: md.gid().into(),
        mtime: md.mtime().max(0) as u64,
        xattrs,
    })
}

fn walk(
    w: &mut LayerWriter,
    root: &Path,
    rel: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    let dir = root.join(rel);
    for name in sorted_children(&dir)? {
        let rel = rel.join(&name);
        let full = root.join(&rel);
        let md = fs::symlink_metadata(&full).map_err(io_at("inspecting", &full))?;
        let ft = md.file_type();
        let werr = |e: io::Error| io_at("adding to the layer", &full)(e);
        if is_whiteout(&md) {
            let mut wh = std::ffi::OsString::from(WHITEOUT_PREFIX);
            wh.push(&name);
            let m = EntryMeta {
                mtime: md.mtime().max(0) as u64,
                ..Default::default()
            };
            w.file(&rel.with_file_name(wh), &m, 0, io::empty())
                .map_err(werr)?;
        } else if ft.is_dir() {
            w.dir(&rel, &meta_of(&full, &md)?).map_err(werr)?;
            if is_opaque(&full) {
                let m = EntryMeta {
                    mtime: md.mtime().max(0) as u64,
                    ..Default::default()
                };
                w.file(&rel.join(OPAQUE_MARKER), &m, 0, io::empty())
                    .map_err(werr)?;
            }
            walk(w, root, &rel, links)?;
        } else if ft.is_file() {
            let m = meta_of(&full, &md)?;
            if md.nlink() > 1 {
                if let Some(first) = links.get(&(md.dev(), md.ino())) {
                    w.hardlink(&rel, &m, first).map_err(werr)?;
                    continue;
                }
                links.insert((md.dev(), md.ino()), rel.clone());
            }
            let f = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&full)
                .map_err(io_at("opening", &full))?;
            w.file(&rel, &m, md.len(), f).map_err(werr)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&full).map_err(io_at("reading the symlink", &full))?;
            w.symlink(&rel, &meta_of(&full, &md)?, &target)
                .map_err(werr)?;
        } else if ft.is_fifo() {
            w.fifo(&rel, &meta_of(&full, &md)?).map_err(werr)?;
        } else if ft.is_socket() {
            continue;
        } else {
            let (maj, min) = (libc::major(md.rdev()), libc::minor(md.rdev()));
            return Err(ImageError::Diff {
                path: full,
                reason: format!("device node {maj}:{min}: layers may not carry device nodes"),
            });
        }
    }
    Ok(())
}

/// Writes `data` as the regular file `path` of the layer.
pub(crate) fn write_bytes_entry(
    w: &mut LayerWriter,
    path: &str,
    m: &EntryMeta,
    data: &[u8],
) -> Result<()> {
    w.file(Path::new(path), m, data.len() as u64, data)
        .map_err(|e| ImageError::Corrupt(format!("writing {path} into a layer: {e}")))
}
