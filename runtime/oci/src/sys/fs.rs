//! Paths inside a rootfs, resolved so that symlinks cannot lead outside it.
//!
//! [`secure_join`] computes a path string; [`InRoot`] goes further and never lets go of the
//! root: every lookup is openat2(2) with `RESOLVE_IN_ROOT`, creation is mkdirat(2)/openat(2)
//! below a descriptor so resolved, and the caller mounts onto `/proc/self/fd/N` of the result.
//! A path checked as a string and then used is a race (CVE-2021-30465: a symlink swapped in
//! between made runc mount outside the rootfs); a descriptor is not.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// openat2(2)'s `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// A root directory held open, and the paths resolved inside it.
pub struct InRoot {
    root: OwnedFd,
    shown: PathBuf,
}

/// What a mount needs at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Dir,
    File,
}

impl InRoot {
    pub fn open(root: &Path) -> Result<InRoot> {
        let fd = nix::fcntl::open(
            root,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys(format!("open the rootfs {}", root.display()), e))?;
        Ok(InRoot {
            root: fd,
            shown: root.to_path_buf(),
        })
    }

    /// An O_PATH descriptor of `path` resolved inside the root: `..` stops at the root,
    /// symlinks (absolute ones too) resolve as if the root were `/`, and /proc magic links
    /// are refused.
    pub fn resolve(&self, path: &Path) -> Result<OwnedFd> {
        self.openat2(path, libc::O_PATH | libc::O_CLOEXEC)
    }

    fn openat2(&self, path: &Path, flags: i32) -> std::result::Result<OwnedFd, Error> {
        let rel = relative(path);
        let c = CString::new(rel.as_os_str().as_bytes())
            .map_err(|_| Error::NulByte(path.display().to_string()))?;
        let how = OpenHow {
            flags: flags as u64,
            mode: 0,
            resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: openat2 with a valid descriptor, a NUL-terminated path and a sized struct.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        let fd = nix::errno::Errno::result(fd).map_err(|e| {
            Error::sys(
                format!("open {} inside {}", path.display(), self.shown.display()),
                e,
            )
        })?;
        // SAFETY: openat2 returned this descriptor to us alone.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    /// Make `path` (a directory, or an empty file) inside the root if it is missing, every
    /// missing parent a directory, each made below a descriptor resolved inside the root;
    /// return an O_PATH descriptor of it. Whatever a symlink in the path points at, nothing is
    /// made or opened outside the root.
    pub fn prepare(&self, path: &Path, target: Target) -> Result<(OwnedFd, PathBuf)> {
        // First the path as the root's links make it now, as if the root were `/` (a link to a
        // missing directory names the directories to make); then each step made and opened
        // below descriptors, so a link swapped in meanwhile still resolves inside the root.
        let joined = secure_join(&self.shown, path)?;
        let path = Path::new("/").join(joined.strip_prefix(&self.shown).unwrap_or(Path::new("")));
        let path = path.as_path();
        let parts: Vec<&std::ffi::OsStr> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s),
                Component::ParentDir => Some(std::ffi::OsStr::new("..")),
                _ => None,
            })
            .collect();
        let mut prefix = PathBuf::from("/");
        for (i, part) in parts.iter().enumerate() {
            let parent = self.resolve(&prefix)?;
            prefix.push(part);
            if *part == ".." || self.resolve(&prefix).is_ok() {
                continue;
            }
            let last = i + 1 == parts.len();
            let name = CString::new(part.as_bytes())
                .map_err(|_| Error::NulByte(path.display().to_string()))?;
            // SAFETY: mkdirat/openat below a descriptor we hold, with a NUL-terminated name;
            // O_NOFOLLOW|O_EXCL never follow a link planted in between.
            let rc = unsafe {
                if last && target == Target::File {
                    let fd = libc::openat(
                        parent.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_WRONLY
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        0o644,
                    );
                    if fd >= 0 {
                        libc::close(fd);
                    }
                    fd.min(0)
                } else {
                    libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755)
                }
            };
            match nix::errno::Errno::result(rc) {
                Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => {
                    return Err(Error::sys(
                        format!(
                            "create {} inside {}",
                            prefix.display(),
                            self.shown.display()
                        ),
                        e,
                    ))
                }
            }
        }
        Ok((self.resolve(&prefix)?, prefix))
    }
}

/// Copy the tree below `from` into `to` (both existing directories): directories, regular
/// files and symlinks with their modes and owners; links are copied as links, never followed.
/// For `tmpcopyup`, `from` is the directory under the new tmpfs, reached through a descriptor.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
    let entries = std::fs::read_dir(from).map_err(|e| Error::io("read directory", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&src).map_err(|e| Error::io("stat", &src, e))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            std::fs::create_dir(&dst).map_err(|e| Error::io("create directory", &dst, e))?;
            copy_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| Error::io("read link", &src, e))?;
            std::os::unix::fs::symlink(&target, &dst)
                .map_err(|e| Error::io("create symlink", &dst, e))?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| Error::io("copy to", &dst, e))?;
        } else {
            continue; // device nodes, FIFOs, sockets: not carried into a tmpfs
        }
        lchown(&dst, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| Error::io("chown", &dst, e))?;
        if !kind.is_symlink() {
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
                .map_err(|e| Error::io("chmod", &dst, e))?;
        }
    }
    Ok(())
}

/// The `/proc/self/fd/N` path of a descriptor: what mount(2) takes to act on exactly it.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `path` relative to the root (`/a/b` → `a/b`; `/` → `.`).
fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// Join `unsafe_path` below `root`, following symlinks as if `root` were `/`. A symlink to
/// `/etc` inside the rootfs resolves to `<root>/etc`, never to the host's `/etc`; `..` stops at
/// the root. Components that do not exist yet are appended as they are.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut resolved = PathBuf::new(); // relative to root
    let mut pending: Vec<PathBuf> = components(unsafe_path);
    pending.reverse();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part.as_os_str() == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(Error::SymlinkLoop {
                        path: unsafe_path.to_path_buf(),
                        root: root.to_path_buf(),
                    });
                }
                let target =
                    std::fs::read_link(&full).map_err(|e| Error::io("read symlink", &full, e))?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

fn components(p: &Path) -> Vec<PathBuf> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(PathBuf::from(s)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn in_root_never_makes_or_opens_anything_outside() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(root.join("vol")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // Absolute and relative escapes, as a container could plant them in a volume.
        symlink(&outside, root.join("vol/abs")).unwrap();
        symlink("../../../../outside", root.join("vol/rel")).unwrap();
        symlink("/proc/self/root", root.join("vol/magic")).unwrap();
        let r = InRoot::open(&root).unwrap();
        for (path, target) in [
            ("/vol/abs/made", Target::Dir),
            ("/vol/rel/made/deeper", Target::Dir),
            ("/vol/abs/file", Target::File),
            ("/../../outside/x", Target::Dir),
            ("/vol/magic/x", Target::Dir),
        ] {
            let (fd, _) = r.prepare(Path::new(path), target).unwrap();
            let real = std::fs::read_link(fd_path(&fd)).unwrap();
            assert!(
                real.starts_with(&root),
                "{path} resolved to {}",
                real.display()
            );
        }
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "something was made outside the root"
        );
    }

    #[test]
    fn symlinks_stay_inside() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("real/dir")).unwrap();
        symlink("/real", root.join("abs")).unwrap();
        symlink("../../../..", root.join("up")).unwrap();
        symlink("real/dir", root.join("rel")).unwrap();
        assert_eq!(
            secure_join(root, Path::new("/abs/dir")).unwrap(),
            root.join("real/dir")
        );
        assert_eq!(
            secure_join(root, Path::new("/up/etc")).unwrap(),
            root.join("etc")
        );
        assert_eq!(
            secure_join(root, Path::new("/rel/x")).unwrap(),
            root.join("real/dir/x")
        );
        assert_eq!(
            secure_join(root, Path::new("/../../etc")).unwrap(),
            root.join("etc")
        );
    }

    #[test]
    fn symlink_loops_end() {
        let t = tempfile::tempdir().unwrap();
        symlink("/b", t.path().join("a")).unwrap();
        symlink("/a", t.path().join("b")).unwrap();
        assert!(secure_join(t.path(), Path::new("/a")).is_err());
    }
}
