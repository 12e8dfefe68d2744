//! Files inside a root that hull reaches from the host side: a container's rootfs (its
//! `/etc/passwd` for `-u NAME`) or a build context (COPY's sources).
//!
//! Such a tree belongs to whoever made the image or the context, so every lookup is one
//! openat2(2) below a descriptor of the root: [`Scope::InRoot`] resolves symlinks (absolute ones
//! too) and `..` as if the root were `/`, as the container itself would; [`Scope::Beneath`]
//! refuses any path that would leave the root (a build context: Docker's "outside the build
//! context"). /proc magic links are refused either way. A path checked as a string and then
//! used would be a race with whoever can change the tree; a descriptor is not.
//!
//! Reading: [`Root::read_file`] opens the file `O_PATH` first, so a FIFO or a device node in
//! its place is never opened (opening one can block, or have effects), refuses anything that is
//! not a regular file, and reads at most a given size.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};

use super::error::{ImageError, Result};

/// How a path is resolved below the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Symlinks and `..` resolve as if the root were `/` (how the container sees its files).
    InRoot,
    /// A path that would leave the root, through `..` or a symlink, fails with `EXDEV`.
    Beneath,
}

/// A directory held open as the root of the paths resolved below it.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    label: &'static str,
}

impl Root {
    /// Opens the directory `path` (itself reached as the host sees it: the caller's own path);
    /// `label` says what it is in messages ("the rootfs", "the build context").
    pub fn open(path: &Path, label: &'static str) -> Result<Root> {
        let fd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| ImageError::Io {
            what: format!("opening {label}"),
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
            label,
        })
    }

    /// The root as the host names it (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// openat2(2) of `path` (absolute or not, always taken below the root) with `flags`
    /// (`O_CLOEXEC` is added).
    pub fn open_at(&self, path: &Path, flags: OFlag, scope: Scope) -> io::Result<OwnedFd> {
        let resolve = ResolveFlag::RESOLVE_NO_MAGICLINKS
            | match scope {
                Scope::InRoot => ResolveFlag::RESOLVE_IN_ROOT,
                Scope::Beneath => ResolveFlag::RESOLVE_BENEATH,
            };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(resolve);
        Ok(openat2(&self.fd, &relative(path), how)?)
    }

    /// The content of the regular file `path`, resolved as the container would ([`Scope::InRoot`]),
    /// or None when there is no such file. A file that is not regular (a FIFO, a device, a
    /// directory), or larger than `limit` bytes, is an error naming it.
    pub fn read_file(&self, path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
        let refused = |reason: String| ImageError::InRoot {
            root: self.path.clone(),
            label: self.label,
            path: path.display().to_string(),
            reason,
        };
        let fd = match self.open_at(path, OFlag::O_PATH, Scope::InRoot) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                return Ok(None)
            }
            Err(e) => return Err(refused(format!("cannot be opened: {e}"))),
        };
        let meta = File::from(fd.try_clone().map_err(|e| refused(e.to_string()))?)
            .metadata()
            .map_err(|e| refused(format!("cannot be examined: {e}")))?;
        if !meta.is_file() {
            return Err(refused(format!(
                "is not a regular file ({}): refusing to read it",
                kind_name(&meta.file_type())
            )));
        }
        if meta.len() > limit {
            return Err(refused(format!(
                "is larger than {limit} bytes ({}): refusing to read it",
                meta.len()
            )));
        }
        // Reopened through the O_PATH descriptor: the very file just examined, never what a
        // rename may have put at its path since.
        let file = File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| refused(format!("cannot be read: {e}")))?;
        let mut data = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| refused(format!("cannot be read: {e}")))?;
        if data.len() as u64 > limit {
            return Err(refused(format!(
                "grew beyond {limit} bytes while being read"
            )));
        }
        Ok(Some(data))
    }
}

/// What kind of file this is, in words (for refusals).
pub fn kind_name(t: &std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "a regular file"
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_with_outside() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("passwd"), "host:x:4242:4242::/:/bin/sh\n").unwrap();
        (t, root, outside)
    }

    #[test]
    fn links_resolve_inside_the_root_never_to_the_host() {
        let (_t, root, outside) = root_with_outside();
        let r = Root::open(&root, "the rootfs").unwrap();
        // An absolute link to the host's file: inside the root it names nothing.
        symlink(outside.join("passwd"), root.join("etc/passwd")).unwrap();
        assert_eq!(
            r.read_file(Path::new("/etc/passwd"), 1 << 20).unwrap(),
            None
        );
        // A relative link climbing out stops at the root.
        std::fs::remove_file(root.join("etc/passwd")).unwrap();
        symlink("../../../../outside/passwd", root.join("etc/passwd")).unwrap();
        assert_eq!(
            r.read_file(Path::new("/etc/passwd"), 1 << 20).unwrap(),
            None
        );
        // A link that stays inside is followed, as the container would.
        std::fs::write(root.join("etc/real"), "me:x:7:7::/:/bin/sh\n").unwrap();
        std::fs::remove_file(root.join("etc/passwd")).unwrap();
        symlink("/etc/real", root.join("etc/passwd")).unwrap();
        assert_eq!(
            r.read_file(Path::new("/etc/passwd"), 1 << 20).unwrap(),
            Some(b"me:x:7:7::/:/bin/sh\n".to_vec())
        );
    }

    #[test]
    fn beneath_refuses_what_leaves_the_root() {
        let (_t, root, outside) = root_with_outside();
        symlink(&outside, root.join("abs")).unwrap();
        symlink("../outside", root.join("rel")).unwrap();
        let r = Root::open(&root, "the rootfs").unwrap();
        for p in ["abs/passwd", "rel/passwd", "../outside/passwd"] {
            let e = r.open_at(Path::new(p), OFlag::O_PATH, Scope::Beneath);
            assert_eq!(e.unwrap_err().raw_os_error(), Some(libc::EXDEV), "{p}");
        }
        assert!(r
            .open_at(Path::new("etc"), OFlag::O_PATH, Scope::Beneath)
            .is_ok());
    }

    #[test]
    fn fifos_devices_and_big_files_are_refused_by_name() {
        let (_t, root, _outside) = root_with_outside();
        let r = Root::open(&root, "the rootfs").unwrap();
        nix::unistd::mkfifo(
            &root.join("etc/passwd"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        // Returns at once: the FIFO is never opened for reading.
        let e = r
            .read_file(Path::new("/etc/passwd"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/etc/passwd") && e.contains("a FIFO"), "{e}");
        std::fs::write(root.join("etc/group"), vec![b'x'; 100]).unwrap();
        let e = r
            .read_file(Path::new("/etc/group"), 10)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/etc/group") && e.contains("larger than 10 bytes"),
            "{e}"
        );
        let e = r.read_file(Path::new("/etc"), 10).unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
    }
}
