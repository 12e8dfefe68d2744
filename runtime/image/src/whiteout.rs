//! The two spellings of "deleted" and "opaque": OCI's in a layer tar, overlayfs's on disk.
//!
//! | meaning                     | OCI layer (tar)            | overlayfs (unpacked dir)                |
//! |-----------------------------|----------------------------|-----------------------------------------|
//! | `dir/NAME` was deleted      | empty file `dir/.wh.NAME`  | char device 0/0 at `dir/NAME`           |
//! | `dir` hides lower content   | entry `dir/.wh..wh..opq`   | xattr `trusted.overlay.opaque=y` on dir |

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sys::stat::{mknod, Mode, SFlag};

/// The prefix of an OCI whiteout file.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of the OCI opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The xattr that makes an overlayfs directory opaque (value `y`).
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// True for an overlayfs whiteout: a character device with device number 0/0.
pub fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// True when `dir` carries `trusted.overlay.opaque=y` (other values, such as the `x` newer
/// kernels use for "has whiteouts inside", are not opaque).
pub fn is_opaque(dir: &Path) -> bool {
    matches!(xattr::get(dir, OPAQUE_XATTR), Ok(Some(v)) if v == b"y")
}

/// Creates an overlayfs whiteout at `path` (which must not exist).
pub(crate) fn make_whiteout(path: &Path) -> io::Result<()> {
    mknod(path, SFlag::S_IFCHR, Mode::empty(), 0).map_err(io::Error::from)
}

/// Marks the directory `dir` opaque (never following a symlink).
pub(crate) fn mark_opaque(dir: &Path) -> io::Result<()> {
    xattr::set(dir, OPAQUE_XATTR, b"y")
}
