//! Unpacking one layer's tar stream into a directory that overlayfs can use as a lower dir.
//!
//! Whiteouts: an OCI `dir/.wh.NAME` becomes an overlayfs whiteout, a character device 0/0 at
//! `dir/NAME`; `dir/.wh..wh..opq` sets `trusted.overlay.opaque=y` on `dir`. The `.wh.` files
//! themselves are never written. Other `.wh..wh.*` names (aufs metadata) are skipped. A char
//! device 0/0 in the tar is taken as a whiteout too (overlay-format layers).
//!
//! Safety against hostile tars — each refusal is an [`ImageError::Entry`] naming the entry, and
//! the caller removes the half-written directory:
//! - absolute paths and `..` components are refused (never "cleaned" into something else);
//! - every parent of an entry must be a real directory inside the root: a path through a
//!   symlink (one from this very tar included) is refused, so nothing is written outside;
//! - nothing is ever written *through* a symlink: files are created with `O_NOFOLLOW|O_EXCL`
//!   after removing what was there, ownership with `lchown`, times with `AT_SYMLINK_NOFOLLOW`,
//!   xattrs with `lsetxattr`, and modes are never set on symlinks;
//! - hardlink targets must be archive paths of existing non-directories inside the layer;
//! - symlink targets may be absolute (they resolve inside the container) but a relative target
//!   may not climb above the layer root;
//! - block and char devices (other than 0/0 whiteouts) are refused; fifos are fine;
//! - `trusted.overlay.*` xattrs are refused: only `.wh.` files may steer overlayfs.
//!
//! Modes: setuid/setgid bits are kept only on regular files (dropped from directories and
//! everything else); the sticky bit is kept (`/tmp` is 1777). Directory modes and times are
//! applied after the last entry, since writing into a directory changes its mtime.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::Mode;
use tar::EntryType;

use super::entry_meta::{apply_meta, read_meta, Meta, MetaError};
use super::error::{ImageError, Result};
use super::whiteout::{is_whiteout, make_whiteout, mark_opaque, OPAQUE_MARKER, WHITEOUT_PREFIX};

/// Why an archive path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathProblem {
    #[error("absolute paths are not allowed in a layer")]
    Absolute,
    #[error("a `..` component would escape the layer root")]
    DotDot,
    #[error("the path contains a NUL byte")]
    Nul,
}

/// Splits an archive path into its components, refusing absolute paths and `..`.
/// `.` and empty components are dropped; the empty result means the archive root.
pub(crate) fn archive_path(raw: &[u8]) -> std::result::Result<PathBuf, PathProblem> {
    if raw.starts_with(b"/") {
        return Err(PathProblem::Absolute);
    }
    let mut out = PathBuf::new();
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err(PathProblem::DotDot),
            c if c.contains(&0) => return Err(PathProblem::Nul),
            c => out.push(OsStr::from_bytes(c)),
        }
    }
    Ok(out)
}

/// Unpacks the uncompressed tar stream `reader` into the empty directory `root`, returning the
/// reader (so the caller can drain it and check digests). `layer` names the layer in errors.
pub(crate) fn unpack_tar<R: Read>(reader: R, root: &Path, layer: &str) -> Result<R> {
    let mut u = Unpacker {
        root,
        layer,
        dirs: Vec::new(),
        dir_pos: HashMap::new(),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| u.io("<start of the tar>", "reading the tar stream", e))?;
    let mut last = String::from("<start of the tar>");
    for entry in entries {
        let mut entry = entry.map_err(|e| u.io(&last, "reading the entry after it", e))?;
        last = u.entry(&mut entry)?;
    }
    u.finish_dirs()?;
    Ok(archive.into_inner())
}

struct Unpacker<'a> {
    root: &'a Path,
    layer: &'a str,
    /// Directories whose mode/owner/times are applied at the end, in tar order.
    dirs: Vec<(PathBuf, Meta, String)>,
    dir_pos: HashMap<PathBuf, usize>,
}

impl Unpacker<'_> {
    fn bad(&self, entry: &str, reason: impl Into<String>) -> ImageError {
        ImageError::Entry {
            layer: self.layer.into(),
            entry: entry.into(),
            reason: reason.into(),
        }
    }

    fn io(&self, entry: &str, what: &str, source: io::Error) -> ImageError {
        ImageError::EntryIo {
            layer: self.layer.into(),
            entry: entry.into(),
            what: what.into(),
            source,
        }
    }

    /// Unpacks one entry; returns its name.
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<String> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        self.dispatch(entry, &raw, &name)?;
        Ok(name)
    }

    fn dispatch<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw: &[u8],
        name: &str,
    ) -> Result<()> {
        let rel = archive_path(raw).map_err(|r| self.bad(name, r.to_string()))?;
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            return Ok(());
        }
        let meta = self.meta(entry, name, kind)?;
        if rel.as_os_str().is_empty() {
            if kind != EntryType::Directory {
                return Err(self.bad(name, "the layer root must be a directory"));
            }
            self.defer_dir(PathBuf::new(), meta, name.to_string());
            return Ok(());
        }
        let base = rel.file_name().unwrap_or_default().as_bytes().to_vec();
        if base == OPAQUE_MARKER.as_bytes() {
            let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            return self.opaque(&dir, name);
        }
        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if hidden.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                return Ok(()); // aufs metadata (.wh..wh.plnk and friends)
            }
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(self.bad(name, "a whiteout must name a file"));
            }
            return self.whiteout(&rel.with_file_name(OsStr::from_bytes(hidden)), name);
        }
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.file(entry, &rel, name, &meta)
            }
            EntryType::Directory => self.dir(&rel, name, meta),
            EntryType::Symlink => self.symlink(entry, &rel, name, &meta),
            EntryType::Link => self.hardlink(entry, &rel, name),
            EntryType::Fifo => self.fifo(&rel, name, &meta),
            EntryType::Char | EntryType::Block => {
                let h = entry.header();
                let (maj, min) = (
                    h.device_major().ok().flatten().unwrap_or(u32::MAX),
                    h.device_minor().ok().flatten().unwrap_or(u32::MAX),
                );
                if kind == EntryType::Char && maj == 0 && min == 0 {
                    return self.whiteout(&rel, name);
                }
                let t = if kind == EntryType::Char {
                    "character"
                } else {
                    "block"
                };
                Err(self.bad(
                    name,
                    format!("{t} device {maj}:{min} refused: layers may not carry device nodes"),
                ))
            }
            other => Err(self.bad(name, format!("unsupported tar entry type {other:?}"))),
        }
    }

    fn meta<R: Read>(
        &self,
        e: &mut tar::Entry<'_, R>,
        name: &str,
        kind: EntryType,
    ) -> Result<Meta> {
        read_meta(e, kind).map_err(|err| match err {
            MetaError::Refused(reason) => self.bad(name, reason),
            MetaError::Io(what, source) => self.io(name, &what, source),
        })
    }

    /// Makes sure every parent of `rel` is a real directory under the root (creating missing
    /// ones 0755), never passing through a symlink. Returns the full path of `rel`.
    fn parents(&self, rel: &Path, name: &str) -> Result<PathBuf> {
        let mut full = self.root.to_path_buf();
        let comps: Vec<_> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            full.push(c);
            if i + 1 == comps.len() {
                break;
            }
            let shown = || {
                comps[..=i]
                    .iter()
                    .collect::<PathBuf>()
                    .display()
                    .to_string()
            };
            match fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.bad(
                        name,
                        format!(
                            "its parent {} is a symlink; refusing to write through it",
                            shown()
                        ),
                    ))
                }
                Ok(m) if is_whiteout(&m) => {
                    // A whiteout earlier in this layer, then content below it: the directory
                    // is recreated, hiding the lower one — that is an opaque directory.
                    fs::remove_file(&full).map_err(|e| self.io(name, "replacing a whiteout", e))?;
                    self.mkdir(&full, name)?;
                    self.opaque_at(&full, name)?;
                }
                Ok(_) => {
                    return Err(self.bad(name, format!("its parent {} is not a directory", shown())))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.mkdir(&full, name)?,
                Err(e) => return Err(self.io(name, "inspecting a parent directory", e)),
            }
        }
        Ok(full)
    }

    fn mkdir(&self, full: &Path, name: &str) -> Result<()> {
        fs::create_dir(full).map_err(|e| self.io(name, "creating a directory", e))?;
        fs::set_permissions(full, fs::Permissions::from_mode(0o755))
            .map_err(|e| self.io(name, "setting a directory's mode", e))
    }

    /// Clears the way for a new entry at `full`. A directory stays when the new entry is a
    /// directory too; everything else is removed (never followed). Returns what was there.
    fn clear(&self, full: &Path, name: &str, new_is_dir: bool) -> Result<Option<fs::Metadata>> {
        let old = match fs::symlink_metadata(full) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(name, "inspecting the existing path", e)),
        };
        if old.file_type().is_dir() {
            if !new_is_dir {
                fs::remove_dir_all(full).map_err(|e| self.io(name, "replacing a directory", e))?;
            }
        } else {
            fs::remove_file(full).map_err(|e| self.io(name, "replacing the existing file", e))?;
        }
        Ok(Some(old))
    }

    fn file<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        rel: &Path,
        name: &str,
        m: &Meta,
    ) -> Result<()> {
        let full = self.parents(rel, name)?;
        self.clear(&full, name, false)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&full)
            .map_err(|err| self.io(name, "creating the file", err))?;
        io::copy(e, &mut f).map_err(|err| self.io(name, "writing the file's content", err))?;
        drop(f);
        self.apply(&full, name, m, true)
    }

    fn dir(&mut self, rel: &Path, name: &str, m: Meta) -> Result<()> {
        let full = self.parents(rel, name)?;
        let old = self.clear(&full, name, true)?;
        let existed = old.as_ref().is_some_and(|o| o.file_type().is_dir());
        if !existed {
            self.mkdir(&full, name)?;
        }
        if old.as_ref().is_some_and(is_whiteout) {
            // Whited out earlier in this layer, then recreated: hide the lower directory.
            self.opaque_at(&full, name)?;
        }
        self.defer_dir(rel.to_path_buf(), m, name.to_string());
        Ok(())
    }

    fn defer_dir(&mut self, rel: PathBuf, m: Meta, name: String) {
        match self.dir_pos.get(&rel) {
            Some(&i) => self.dirs[i] = (rel, m, name),
            None => {
                self.dir_pos.insert(rel.clone(), self.dirs.len());
                self.dirs.push((rel, m, name));
            }
        }
    }

    fn symlink<R: Read>(
        &mut self,
        e: &tar::Entry<'_, R>,
        rel: &Path,
        name: &str,
        m: &Meta,
    ) -> Result<()> {
        let target = e
            .link_name_bytes()
            .map(|t| t.into_owned())
            .unwrap_or_default();
        if target.is_empty() {
            return Err(self.bad(name, "symlink with an empty target"));
        }
        if !target.starts_with(b"/") {
            let mut depth = rel.components().count() as i64 - 1;
            for c in target.split(|b| *b == b'/') {
                match c {
                    b"" | b"." => {}
                    b".." => depth -= 1,
                    _ => depth += 1,
                }
                if depth < 0 {
                    return Err(self.bad(
                        name,
                        format!(
                            "symlink target {:?} climbs above the layer root",
                            String::from_utf8_lossy(&target)
                        ),
                    ));
                }
            }
        }
        let full = self.parents(rel, name)?;
        self.clear(&full, name, false)?;
        std::os::unix::fs::symlink(OsStr::from_bytes(&target), &full)
            .map_err(|err| self.io(name, "creating the symlink", err))?;
        self.apply(&full, name, m, false)
    }

    fn hardlink<R: Read>(&mut self, e: &tar::Entry<'_, R>, rel: &Path, name: &str) -> Result<()> {
        let raw = e
            .link_name_bytes()
            .map(|t| t.into_owned())
            .unwrap_or_default();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let target_rel = archive_path(&raw)
            .map_err(|r| self.bad(name, format!("hardlink target {shown:?}: {r}")))?;
        if target_rel.as_os_str().is_empty() {
            return Err(self.bad(name, "hardlink to the layer root"));
        }
        // The target's parents must be real directories too (no link through a symlink).
        let mut target = self.root.to_path_buf();
        for c in target_rel.parent().unwrap_or(Path::new("")).components() {
            target.push(c);
            let ok = fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_dir());
            if !ok {
                return Err(self.bad(
                    name,
                    format!("hardlink target {shown:?} is not inside this layer"),
                ));
            }
        }
        target.push(target_rel.file_name().unwrap_or_default());
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_dir() || is_whiteout(&m) => {
                return Err(self.bad(name, format!("hardlink target {shown:?} is not a file")))
            }
            Ok(_) => {}
            Err(_) => {
                return Err(self.bad(
                    name,
                    format!("hardlink target {shown:?} does not exist earlier in this layer"),
                ))
            }
        }
        if target_rel == rel {
            return Ok(());
        }
        let full = self.parents(rel, name)?;
        self.clear(&full, name, false)?;
        fs::hard_link(&target, &full).map_err(|err| self.io(name, "creating the hardlink", err))
    }

    fn fifo(&mut self, rel: &Path, name: &str, m: &Meta) -> Result<()> {
        let full = self.parents(rel, name)?;
        self.clear(&full, name, false)?;
        nix::unistd::mkfifo(&full, Mode::from_bits_truncate(0o600))
            .map_err(|err| self.io(name, "creating the fifo", err.into()))?;
        self.apply(&full, name, m, true)
    }

    fn whiteout(&mut self, rel: &Path, name: &str) -> Result<()> {
        let full = self.parents(rel, name)?;
        match fs::symlink_metadata(&full) {
            // Made by this layer: it hides the lower path already. A directory of this layer
            // must also hide the lower directory's content.
            Ok(m) if m.file_type().is_dir() => return self.opaque_at(&full, name),
            Ok(_) => return Ok(()),
            Err(_) => {}
        }
        make_whiteout(&full)
            .map_err(|err| self.io(name, "creating the whiteout (char device 0/0)", err))
    }

    fn opaque(&mut self, dir: &Path, name: &str) -> Result<()> {
        let full = if dir.as_os_str().is_empty() {
            self.root.to_path_buf()
        } else {
            let full = self.parents(&dir.join("x"), name)?;
            full.parent().unwrap_or(self.root).to_path_buf()
        };
        match fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                return Err(self.bad(name, "opaque marker in something that is not a directory"))
            }
            Err(_) => self.mkdir(&full, name)?,
        }
        self.opaque_at(&full, name)
    }

    fn opaque_at(&self, full: &Path, name: &str) -> Result<()> {
        mark_opaque(full).map_err(|e| self.io(name, "marking a directory opaque", e))
    }

    fn apply(&self, full: &Path, name: &str, m: &Meta, set_mode: bool) -> Result<()> {
        apply_meta(full, m, set_mode).map_err(|(what, source)| self.io(name, &what, source))
    }

    fn finish_dirs(&mut self) -> Result<()> {
        for (rel, m, name) in self.dirs.iter().rev() {
            let full = self.root.join(rel);
            let still_dir = fs::symlink_metadata(&full).is_ok_and(|md| md.file_type().is_dir());
            if still_dir {
                self.apply(&full, name, m, true)?;
            }
        }
        Ok(())
    }
}
