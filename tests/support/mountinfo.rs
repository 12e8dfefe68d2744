//! The mount table of our mount namespace (/proc/self/mountinfo), parsed by the `procfs`
//! crate.
//!
//! procfs keeps the kernel's octal escapes in paths (a space is `\040`); the paths the suite
//! compares against are its own temporary directories, which have no such characters.

use std::path::{Path, PathBuf};

pub use procfs::process::MountInfo;
use procfs::process::Process;

/// Every mount of our mount namespace.
pub fn mounts() -> Vec<MountInfo> {
    Process::myself()
        .and_then(|p| p.mountinfo())
        .unwrap_or_else(|e| panic!("read /proc/self/mountinfo: {e}"))
        .into_iter()
        .collect()
}

/// Mount points at or below `dir` (in mount order).
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|mp| mp.starts_with(dir))
        .collect()
}

/// Mount points at or below any of `dirs`, sorted.
pub fn mounts_under_any(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mounts()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|mp| dirs.iter().any(|d| mp.starts_with(d)))
        .collect();
    v.sort();
    v
}

/// The (topmost) mount at exactly `path`, if any.
pub fn mount_at(path: &Path) -> Option<MountInfo> {
    mounts().into_iter().rev().find(|m| m.mount_point == path)
}

/// Mount points whose path contains `needle`.
pub fn mount_points_containing(needle: &str) -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|mp| mp.to_string_lossy().contains(needle))
        .collect()
}

/// The number of mounts in our mount namespace (the sandboxes of [`crate::support::lab`]
/// have a namespace of their own, so the count is theirs alone).
pub fn mount_count() -> usize {
    mounts().len()
}
