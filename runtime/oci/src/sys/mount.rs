//! mount(2), umount2(2) and pivot_root(2).

use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use crate::error::{Result, SysContext};

pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    nix::mount::mount(source, target, fstype, flags, data).ctx(|| {
        format!(
            "mount {} on {} (type {}, flags {:?}, data {:?})",
            source.map(|s| s.display().to_string()).unwrap_or_default(),
            target.display(),
            fstype.unwrap_or("none"),
            flags,
            data.unwrap_or("")
        )
    })
}

/// Change the propagation of a mount (MS_PRIVATE, MS_SLAVE, ... possibly with MS_REC).
pub fn propagation(target: &Path, flags: MsFlags) -> Result<()> {
    nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
        .ctx(|| format!("set propagation {flags:?} on {}", target.display()))
}

pub fn bind(source: &Path, target: &Path, recursive: bool) -> Result<()> {
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(source), target, None, flags, None)
}

/// Re-mount an existing bind mount with extra flags (ro, nosuid, ...): the kernel ignores those
/// flags on the first MS_BIND call, so they need this second step.
pub fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    mount(
        None,
        target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
        None,
    )
}

pub fn detach(target: &Path) -> Result<()> {
    nix::mount::umount2(target, MntFlags::MNT_DETACH)
        .ctx(|| format!("unmount {}", target.display()))
}

pub fn pivot_root(new_root: &Path, put_old: &Path) -> Result<()> {
    nix::unistd::pivot_root(new_root, put_old).ctx(|| {
        format!(
            "pivot_root to {} (old root at {})",
            new_root.display(),
            put_old.display()
        )
    })
}
