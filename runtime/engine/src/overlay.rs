//! A container's rootfs: an overlay of its image's layers (read-only lower dirs) and its own
//! upper dir, mounted on `merged`.

use std::path::{Path, PathBuf};

use super::error::{EngineError, Result};

pub struct Dirs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

impl Dirs {
    pub fn of(container_dir: &Path) -> Dirs {
        Dirs {
            upper: container_dir.join("upper"),
            work: container_dir.join("work"),
            merged: container_dir.join("merged"),
        }
    }

    pub fn create(&self) -> Result<()> {
        for d in [&self.upper, &self.work, &self.merged] {
            std::fs::create_dir_all(d).map_err(|e| EngineError::Io {
                action: "create",
                path: d.clone(),
                source: e,
            })?;
        }
        Ok(())
    }
}

/// The container's own read-only layer on top of its image, as Docker's "-init" layer: the
/// mount points the runtime binds files onto (/etc/hosts, /etc/hostname, /etc/resolv.conf)
/// and the API filesystems' directories exist here, so making them never writes into the
/// upper dir and `hull diff` shows only what the container itself changed; and, as in Docker's,
/// `/etc/mtab` links to `/proc/mounts`. Nothing else: a directory here would hide whatever the
/// image has at that path (a usr-merged image's `/sbin -> usr/sbin` link, say).
pub fn init_layer(container_dir: &Path) -> Result<PathBuf> {
    let dir = container_dir.join("init");
    let io = |path: PathBuf, e: std::io::Error| EngineError::Io {
        action: "create init layer entry",
        path,
        source: e,
    };
    for d in ["etc", "proc", "sys", "dev", "dev/pts", "dev/shm"] {
        let p = dir.join(d);
        std::fs::create_dir_all(&p).map_err(|e| io(p.clone(), e))?;
    }
    for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        let p = dir.join(f);
        if !p.exists() {
            std::fs::File::create(&p).map_err(|e| io(p.clone(), e))?;
        }
    }
    let mtab = dir.join("etc/mtab");
    if std::fs::symlink_metadata(&mtab).is_err() {
        std::os::unix::fs::symlink("/proc/mounts", &mtab).map_err(|e| io(mtab.clone(), e))?;
    }
    Ok(dir)
}

/// overlayfs lists lower dirs top first; the store gives them bottom first.
pub fn lowerdir_option(bottom_first: &[PathBuf]) -> String {
    bottom_first
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Mounts the overlay of `lower_bottom_first` (layer links from `Store::layer_links`, relative
/// to `root`, and the container's init layer) with `dirs`. Every path below `root` reaches the
/// kernel relative to it, so that the options of a deep image fit in the page the kernel takes.
pub fn mount(root: &Path, lower_bottom_first: &[PathBuf], dirs: &Dirs) -> Result<()> {
    if is_mounted(&dirs.merged) {
        return Ok(());
    }
    if lower_bottom_first.is_empty() {
        // An image without layers (FROM scratch and nothing added): the upper dir alone.
        return hull_oci::host::bind_mount(&dirs.upper, &dirs.merged).map_err(EngineError::from);
    }
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_path_buf();
    let lowers: Vec<PathBuf> = lower_bottom_first.iter().map(|p| rel(p)).collect();
    hull_oci::host::mount_overlay_in(
        root,
        &lowerdir_option(&lowers),
        &rel(&dirs.upper),
        &rel(&dirs.work),
        &dirs.merged,
    )
    .map_err(EngineError::from)
}

pub fn unmount(merged: &Path) -> Result<()> {
    if !is_mounted(merged) {
        return Ok(());
    }
    hull_oci::host::unmount(merged).map_err(EngineError::from)
}

/// Whether a path is a mount point in our mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    hull_cgroups::mountinfo::is_mount_point(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_dirs_are_listed_top_first() {
        let l = vec![
            PathBuf::from("/l/base"),
            PathBuf::from("/l/mid"),
            PathBuf::from("/l/top"),
        ];
        assert_eq!(lowerdir_option(&l), "/l/top:/l/mid:/l/base");
    }
}
