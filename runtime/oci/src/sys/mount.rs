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
            "mount {} on {} (type {}, flags {}, data {:?})",
            source.map(|s| s.display().to_string()).unwrap_or_default(),
            target.display(),
            fstype.unwrap_or("none"),
            flag_names(flags),
            data.unwrap_or("")
        )
    })
}

/// Mount flags as mount(8) and /proc/self/mountinfo spell them (`bind,ro,nosuid,nodev`),
/// not as Rust's debug output; `none` for no flag.
pub fn flag_names(flags: MsFlags) -> String {
    const NAMES: [(MsFlags, &str); 18] = [
        (MsFlags::MS_REMOUNT, "remount"),
        (MsFlags::MS_BIND, "bind"),
        (MsFlags::MS_REC, "rec"),
        (MsFlags::MS_RDONLY, "ro"),
        (MsFlags::MS_NOSUID, "nosuid"),
        (MsFlags::MS_NODEV, "nodev"),
        (MsFlags::MS_NOEXEC, "noexec"),
        (MsFlags::MS_SYNCHRONOUS, "sync"),
        (MsFlags::MS_DIRSYNC, "dirsync"),
        (MsFlags::MS_MANDLOCK, "mand"),
        (MsFlags::MS_NOATIME, "noatime"),
        (MsFlags::MS_NODIRATIME, "nodiratime"),
        (MsFlags::MS_RELATIME, "relatime"),
        (MsFlags::MS_STRICTATIME, "strictatime"),
        (MsFlags::MS_PRIVATE, "private"),
        (MsFlags::MS_SLAVE, "slave"),
        (MsFlags::MS_SHARED, "shared"),
        (MsFlags::MS_UNBINDABLE, "unbindable"),
    ];
    let mut rest = flags;
    let mut names: Vec<String> = Vec::new();
    for (flag, name) in NAMES {
        if flags.contains(flag) {
            names.push(name.to_string());
            rest.remove(flag);
        }
    }
    if !rest.is_empty() {
        names.push(format!("{:#x}", rest.bits()));
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// Set and clear mount attributes (MOUNT_ATTR_*) on the mount `fd` is the root of and on every
/// mount below it (mount_setattr(2) with AT_RECURSIVE): the `rro`-style options.
pub fn set_attr_recursive(fd: &std::os::fd::OwnedFd, set: u64, clear: u64) -> Result<()> {
    use std::os::fd::AsRawFd;
    let attr = libc::mount_attr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr on a descriptor we hold, with an empty path and a sized struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    nix::errno::Errno::result(rc)
        .map(drop)
        .ctx(|| format!("mount_setattr (set {set:#x}, clear {clear:#x}) recursively"))
}

/// Change the propagation of a mount (MS_PRIVATE, MS_SLAVE, ... possibly with MS_REC).
pub fn propagation(target: &Path, flags: MsFlags) -> Result<()> {
    nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>).ctx(|| {
        format!(
            "set propagation {} on {}",
            flag_names(flags),
            target.display()
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_mount_spells_them() {
        assert_eq!(
            flag_names(MsFlags::MS_NOSUID | MsFlags::MS_NODEV),
            "nosuid,nodev"
        );
        assert_eq!(
            flag_names(MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY),
            "remount,bind,ro"
        );
        assert_eq!(
            flag_names(MsFlags::MS_REC | MsFlags::MS_PRIVATE),
            "rec,private"
        );
        assert_eq!(flag_names(MsFlags::empty()), "none");
    }
}
