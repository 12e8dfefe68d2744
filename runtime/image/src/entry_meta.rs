//! A layer entry's metadata: read from its tar header and PAX records, and applied to the path
//! that was created for it without ever following a symlink.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use tar::EntryType;

/// Owner, mode, mtime and xattrs of one entry.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub xattrs: Vec<(OsString, Vec<u8>)>,
}

/// Why an entry's metadata could not be read.
pub(crate) enum MetaError {
    /// The entry asks for something refused (the reason).
    Refused(String),
    /// Reading the header failed (what was being read).
    Io(String, io::Error),
}

fn is_regular(kind: EntryType) -> bool {
    matches!(
        kind,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
    )
}

/// Reads the metadata of `e`. setuid/setgid are dropped unless `kind` is a regular file;
/// `SCHILY.xattr.*` records become xattrs, but `trusted.overlay.*` ones are refused (only
/// `.wh.` files may steer overlayfs).
pub(crate) fn read_meta<R: Read>(
    e: &mut tar::Entry<'_, R>,
    kind: EntryType,
) -> Result<Meta, MetaError> {
    let h = e.header();
    let num = |v: io::Result<u64>, what: &str| {
        v.map_err(|err| MetaError::Io(format!("reading the {what} field"), err))
    };
    let id = |v: u64, what: &str| {
        u32::try_from(v).map_err(|_| MetaError::Refused(format!("{what} {v} is out of range")))
    };
    let uid = id(num(h.uid(), "uid")?, "uid")?;
    let gid = id(num(h.gid(), "gid")?, "gid")?;
    let mtime = i64::try_from(num(h.mtime(), "mtime")?).unwrap_or(i64::MAX);
    let mut mode = h
        .mode()
        .map_err(|err| MetaError::Io("reading the mode field".into(), err))?
        & 0o7777;
    if !is_regular(kind) {
        mode &= !0o6000;
    }
    let mut xattrs = Vec::new();
    let exts = e
        .pax_extensions()
        .map_err(|err| MetaError::Io("reading pax headers".into(), err))?;
    for ext in exts.into_iter().flatten() {
        let ext = ext.map_err(|err| MetaError::Io("reading a pax header".into(), err))?;
        let Some(key) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") else {
            continue;
        };
        if key.starts_with(b"trusted.overlay.") {
            return Err(MetaError::Refused(format!(
                "xattr {} refused: only .wh. files may steer overlayfs",
                String::from_utf8_lossy(key)
            )));
        }
        xattrs.push((
            OsStr::from_bytes(key).to_os_string(),
            ext.value_bytes().to_vec(),
        ));
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        mtime,
        xattrs,
    })
}

/// Owner, mode (unless `set_mode` is false: symlinks), xattrs, then times — in that order,
/// since `chown` clears setuid bits and capabilities — never following a symlink. An owner
/// that cannot be set because we are not root, and xattrs the filesystem does not support,
/// are skipped. The error says what was being set.
pub(crate) fn apply_meta(full: &Path, m: &Meta, set_mode: bool) -> Result<(), (String, io::Error)> {
    match std::os::unix::fs::lchown(full, Some(m.uid), Some(m.gid)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && !nix::unistd::geteuid().is_root() => {}
        Err(e) => return Err(("setting the owner".into(), e)),
    }
    if set_mode {
        fs::set_permissions(full, fs::Permissions::from_mode(m.mode))
            .map_err(|e| ("setting the mode".to_string(), e))?;
    }
    for (key, value) in &m.xattrs {
        match xattr::set(full, key, value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            Err(e) => return Err((format!("setting xattr {}", key.to_string_lossy()), e)),
        }
    }
    let t = TimeSpec::new(m.mtime, 0);
    utimensat(AT_FDCWD, full, &t, &t, UtimensatFlags::NoFollowSymlink)
        .map_err(|e| ("setting the modification time".to_string(), e.into()))
}
