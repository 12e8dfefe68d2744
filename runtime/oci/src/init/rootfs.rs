//! The container's filesystem, built inside its own mount namespace: the rootfs bind, the
//! config's mounts, device nodes, then pivot_root and the masked and read-only paths.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::symlink;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::{makedev, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};

use super::options;
use crate::cgroups::{CgroupLocation, CgroupVersion};
use crate::error::{Error, IoContext, Result, SysContext};
use crate::sys::fs::{copy_tree, fd_path, secure_join, InRoot, Target};
use crate::sys::mount;

pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub cgroup: &'a CgroupLocation,
    pub new_cgroup_ns: bool,
    pub in_user_ns: bool,
}

/// Everything before pivot_root.
pub fn prepare(plan: &RootfsPlan) -> Result<()> {
    let linux = plan.spec.linux().as_ref().expect("validated");
    // Our mounts must not leak back to the host: make the whole tree a slave (or what the
    // config asks) before touching anything.
    let prop = match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => options::propagation(p).expect("validated") | MsFlags::MS_REC,
    };
    mount::propagation(Path::new("/"), prop)?;
    // pivot_root refuses a new root whose parent mount is shared (rootfsPropagation "shared"
    // makes every mount so): the parent alone goes private, as runc does; the container's
    // root gets the asked propagation back after pivot_root.
    if let Some(parent) = parent_mount(plan.rootfs) {
        mount::propagation(&parent, MsFlags::MS_PRIVATE)?;
    }
    // pivot_root needs the new root to be a mount point.
    mount::bind(plan.rootfs, plan.rootfs, true)?;
    // A shared mount as the new root's parent makes pivot_root fail; a private rootfs mount
    // keeps the container's own mounts from propagating anywhere.
    mount::propagation(plan.rootfs, MsFlags::MS_PRIVATE | MsFlags::MS_REC)?;

    // Held open from here: every mount target is made and opened inside it.
    let root = InRoot::open(plan.rootfs)?;
    let mounts = plan.spec.mounts().clone().unwrap_or_default();
    for m in &mounts {
        mount_one(plan, &root, m)?;
    }
    let dev_is_bound = mounts
        .iter()
        .any(|m| m.destination() == Path::new("/dev") && options::parse(&opts(m)).bind);
    if !dev_is_bound {
        let dev = secure_join(plan.rootfs, Path::new("/dev"))?;
        fs::create_dir_all(&dev).at("create", &dev)?;
        for d in default_devices() {
            make_device(plan, &root, &d)?;
        }
        dev_symlinks(&dev)?;
    }
    for d in linux.devices().clone().unwrap_or_default() {
        make_device(plan, &root, &d)?;
    }
    Ok(())
}

fn opts(m: &Mount) -> Vec<String> {
    m.options().clone().unwrap_or_default()
}

/// One of the config's mounts. Its target is made and opened inside the root and the mount
/// goes onto that descriptor (`/proc/self/fd/N`), so a symlink swapped into the path by a
/// container sharing a volume cannot send it outside (CVE-2021-30465). What follows the
/// mount (a read-only remount, propagation) acts on the new mount, opened again inside the
/// root.
fn mount_one(plan: &RootfsPlan, root: &InRoot, m: &Mount) -> Result<()> {
    let o = options::parse(&opts(m));
    let typ = m.typ().clone().unwrap_or_default();
    let on_top = |path: &Path| root.resolve(path);
    if o.bind || typ == "bind" {
        let src = m.source().clone().expect("validated");
        let src = if src.is_absolute() {
            src
        } else {
            plan.bundle.join(src)
        };
        let meta = fs::metadata(&src).at("bind mount source", &src)?;
        let kind = if meta.is_dir() {
            Target::Dir
        } else {
            Target::File
        };
        let (target, path) = root.prepare(m.destination(), kind)?;
        mount::bind(&src, &fd_path(&target), o.recursive)?;
        let extra = o.flags & !MsFlags::MS_REMOUNT;
        if !extra.is_empty() {
            remount_keeping_locked(&fd_path(&on_top(&path)?), extra)?;
        }
        if !o.propagation.is_empty() {
            mount::propagation(&fd_path(&on_top(&path)?), o.propagation)?;
        }
        if o.attr_set | o.attr_clear != 0 {
            mount::set_attr_recursive(&on_top(&path)?, o.attr_set, o.attr_clear)?;
        }
    } else if typ == "cgroup" || typ == "cgroup2" {
        // Made inside the root like every target; the cgroup tree below it is then built by
        // path (it lies below a mount we just made, not in a volume).
        let (_, path) = root.prepare(m.destination(), Target::Dir)?;
        let dest = plan.rootfs.join(path.strip_prefix("/").unwrap_or(&path));
        mount_cgroup(plan, &dest, &o)?;
        if !o.propagation.is_empty() {
            mount::propagation(&dest, o.propagation)?;
        }
    } else {
        let (target, path) = root.prepare(m.destination(), Target::Dir)?;
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(&typ));
        let data = o.data_string();
        mount::mount(
            Some(&source),
            &fd_path(&target),
            Some(&typ),
            o.flags,
            data.as_deref(),
        )?;
        if o.copy_up {
            if typ != "tmpfs" {
                return Err(Error::Unsupported(format!(
                    "mounts {}: tmpcopyup needs type tmpfs, not {typ:?}",
                    m.destination().display()
                )));
            }
            // `target` still names the directory under the new tmpfs.
            copy_tree(&fd_path(&target), &fd_path(&on_top(&path)?))?;
        }
        if !o.propagation.is_empty() {
            mount::propagation(&fd_path(&on_top(&path)?), o.propagation)?;
        }
        if o.attr_set | o.attr_clear != 0 {
            mount::set_attr_recursive(&on_top(&path)?, o.attr_set, o.attr_clear)?;
        }
        return Ok(());
    }
    Ok(())
}

/// A read-only or nosuid re-mount of a bind mount; inside a user namespace the kernel refuses
/// to drop flags the original mount had (they are "locked"), so carry them over.
/// The nosuid, nodev and noexec of the mount at `path`: what a read-only remount of a bind of
/// it carries over (as runc does), so that making a path read-only never makes it laxer.
fn safety_flags(path: &Path) -> Result<MsFlags> {
    use nix::sys::statvfs::FsFlags;
    let st = nix::sys::statvfs::statvfs(path).ctx(|| format!("statvfs {}", path.display()))?;
    let mut flags = MsFlags::empty();
    for (f, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if st.flags().contains(f) {
            flags |= m;
        }
    }
    Ok(flags)
}

fn remount_keeping_locked(dest: &Path, flags: MsFlags) -> Result<()> {
    match mount::remount_bind(dest, flags) {
        Err(Error::Sys {
            source: nix::errno::Errno::EPERM,
            ..
        }) => {
            let st =
                nix::sys::statvfs::statvfs(dest).ctx(|| format!("statvfs {}", dest.display()))?;
            use nix::sys::statvfs::FsFlags;
            let mut locked = MsFlags::empty();
            for (f, m) in [
                (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
                (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
                (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
            ] {
                if st.flags().contains(f) {
                    locked |= m;
                }
            }
            mount::remount_bind(dest, flags | locked)
        }
        other => other,
    }
}

/// `/sys/fs/cgroup` inside: the container's own cgroup seen as the root. With a cgroup
/// namespace a fresh cgroup mount shows exactly that; without one, bind the container's
/// directories so the host's tree stays hidden.
fn mount_cgroup(plan: &RootfsPlan, dest: &Path, o: &options::MountOptions) -> Result<()> {
    fs::create_dir_all(dest).at("create mount point", dest)?;
    let ro = o.flags.contains(MsFlags::MS_RDONLY);
    let flags = o.flags & !MsFlags::MS_RDONLY;
    match plan.cgroup.version {
        CgroupVersion::V2 => {
            if plan.new_cgroup_ns {
                mount::mount(
                    Some(Path::new("cgroup2")),
                    dest,
                    Some("cgroup2"),
                    o.flags,
                    None,
                )
            } else {
                mount::bind(&plan.cgroup.dirs[0], dest, false)?;
                if ro {
                    remount_keeping_locked(dest, MsFlags::MS_RDONLY | flags)?;
                }
                Ok(())
            }
        }
        CgroupVersion::V1 => {
            mount::mount(
                Some(Path::new("tmpfs")),
                dest,
                Some("tmpfs"),
                flags,
                Some("mode=755"),
            )?;
            let hierarchies = crate::cgroups::v1_hierarchies()?;
            for (mountpoint, controllers) in &hierarchies {
                let Some(name) = mountpoint.file_name() else {
                    continue;
                };
                let sub = dest.join(name);
                fs::create_dir_all(&sub).at("create mount point", &sub)?;
                if plan.new_cgroup_ns {
                    mount::mount(
                        Some(Path::new("cgroup")),
                        &sub,
                        Some("cgroup"),
                        o.flags,
                        Some(&controllers.join(",")),
                    )?;
                } else if let Some(dir) =
                    plan.cgroup.dirs.iter().find(|d| d.starts_with(mountpoint))
                {
                    mount::bind(dir, &sub, false)?;
                    if ro {
                        remount_keeping_locked(&sub, MsFlags::MS_RDONLY | flags)?;
                    }
                }
                // `cpu,cpuacct` mounted together: also reachable as `cpu` and `cpuacct`.
                if controllers.len() > 1 {
                    for c in controllers {
                        let link = dest.join(c);
                        if !link.exists() {
                            symlink(name, &link).at("create symlink", &link)?;
                        }
                    }
                }
            }
            if ro {
                mount::mount(
                    None,
                    dest,
                    None,
                    MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
                    Some("mode=755"),
                )?;
            }
            Ok(())
        }
    }
}

fn dev(path: &str, major: i64, minor: i64) -> LinuxDevice {
    let mut d = LinuxDevice::default();
    d.set_path(PathBuf::from(path));
    d.set_typ(LinuxDeviceType::C);
    d.set_major(major);
    d.set_minor(minor);
    d.set_file_mode(Some(0o666));
    d
}

/// The nodes every container gets (OCI runtime spec, "Default Devices").
pub fn default_devices() -> Vec<LinuxDevice> {
    vec![
        dev("/dev/null", 1, 3),
        dev("/dev/zero", 1, 5),
        dev("/dev/full", 1, 7),
        dev("/dev/random", 1, 8),
        dev("/dev/urandom", 1, 9),
        dev("/dev/tty", 5, 0),
    ]
}

/// mknod as the config says, below the device's directory opened inside the root; inside a
/// user namespace mknod is not allowed, so bind-mount the host's node instead (as runc does).
/// `/dev/ptmx` and `/dev/pts/*` are the devpts mount's own (ptmx becomes a link to
/// `pts/ptmx`), so a config that lists them (podman's `--privileged` does) is not an error.
fn make_device(plan: &RootfsPlan, root: &InRoot, d: &LinuxDevice) -> Result<()> {
    let path = d.path();
    if path == Path::new("/dev/ptmx") || path.starts_with("/dev/pts") {
        return Ok(());
    }
    if plan.in_user_ns {
        let (target, _) = root.prepare(path, Target::File)?;
        return mount::bind(path, &fd_path(&target), false);
    }
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::DeviceTypeA {
                path: d.path().clone(),
            })
        }
    };
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::Unsupported(format!(
            "linux.devices {}: not a device path",
            path.display()
        )));
    };
    let (dir, _) = root.prepare(parent, Target::Dir)?;
    let _ = nix::unistd::unlinkat(&dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir);
    let mode = Mode::from_bits_truncate(d.file_mode().unwrap_or(0o666) & 0o7777);
    nix::sys::stat::mknodat(
        &dir,
        name,
        kind,
        mode,
        makedev(d.major() as u64, d.minor() as u64),
    )
    .ctx(|| format!("mknod {}", path.display()))?;
    let uid = d.uid().map(nix::unistd::Uid::from_raw);
    let gid = d.gid().map(nix::unistd::Gid::from_raw);
    if uid.is_some() || gid.is_some() {
        nix::unistd::fchownat(
            &dir,
            name,
            uid,
            gid,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .ctx(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

fn dev_symlinks(dev: &Path) -> Result<()> {
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let path = dev.join(link);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        symlink(target, &path).at("create symlink", &path)?;
    }
    Ok(())
}

/// Mount the container's pty slave (`/dev/pts/N`) on /dev/console, as runc does, creating the
/// mount point when the rootfs has none. Runs after pivot_root: every path is the container's.
pub fn mount_console(slave: &Path) -> Result<()> {
    let console = Path::new("/dev/console");
    if console.symlink_metadata().is_err() {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(console)
            .at("create the mount point", console)?;
    }
    mount::bind(slave, console, false)
}

/// Swap the root: afterwards `/` is the rootfs and the host's tree is gone from this namespace.
/// The mount point below which `path` lies (the longest one that is a prefix of it).
fn parent_mount(path: &Path) -> Option<PathBuf> {
    crate::cgroups::mountinfo::read()
        .ok()?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| path.starts_with(p))
        .max_by_key(|p| p.components().count())
}

/// After pivot_root: the root gets the propagation the config asks for (`shared`, `slave`,
/// `unbindable`; none or `private` keeps the default).
pub fn root_propagation(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref().expect("validated");
    match linux.rootfs_propagation().as_deref() {
        None | Some("") | Some("private") | Some("rprivate") => Ok(()),
        Some(p) => mount::propagation(
            Path::new("/"),
            options::propagation(p).expect("validated") | MsFlags::MS_REC,
        ),
    }
}

pub fn pivot(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).ctx(|| format!("chdir {}", rootfs.display()))?;
    // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
    // removes it without needing a directory for it inside the rootfs.
    mount::pivot_root(Path::new("."), Path::new("."))?;
    mount::propagation(Path::new("."), MsFlags::MS_SLAVE | MsFlags::MS_REC)?;
    mount::detach(Path::new("."))?;
    nix::unistd::chdir("/").ctx(|| "chdir / after pivot_root".to_string())
}

/// After pivot_root: hide the masked paths and freeze the read-only ones.
pub fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref().expect("validated");
    for p in linux.masked_paths().clone().unwrap_or_default() {
        mask(Path::new(&p))?;
    }
    for p in linux.readonly_paths().clone().unwrap_or_default() {
        let path = Path::new(&p);
        if !path.exists() {
            continue;
        }
        let carried = safety_flags(path)?;
        mount::bind(path, path, true)?;
        remount_keeping_locked(path, MsFlags::MS_RDONLY | MsFlags::MS_REC | carried)?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        remount_keeping_locked(Path::new("/"), MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

fn mask(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("mask", path, e)),
        Ok(m) if m.is_dir() => mount::mount(
            Some(Path::new("tmpfs")),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None,
        ),
        Ok(_) => mount::bind(Path::new("/dev/null"), path, false),
    }
}
