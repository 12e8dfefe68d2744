//! Running from a binary no container can write: the answer to CVE-2019-5736. A process in
//! a container can open `/proc/<pid>/exe` of a runtime process that entered the container
//! (an `exec` before its execve) and, once the runtime has exited, write the host's binary
//! through that descriptor.
//!
//! As runc does, the program re-executes itself from a detached read-only bind mount of its
//! own binary (open_tree(2) + mount_setattr(2): no copy, no mount visible anywhere, and
//! writes through `/proc/<pid>/exe` fail with EROFS); where the kernel refuses that, from a
//! sealed in-memory copy (memfd_create(2) + F_ADD_SEALS: writes fail with EPERM).

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::statvfs::{statvfs, FsFlags};

use crate::error::{Error, IoContext, Result, SysContext};

const EXE: &str = "/proc/self/exe";

fn seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE
}

/// Whether this process already runs from a binary that cannot be written: one on a
/// read-only mount, or a sealed memfd.
pub fn running_protected() -> bool {
    let read_only = statvfs(EXE).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY));
    read_only
        || File::open(EXE).is_ok_and(|f| {
            fcntl(&f, FcntlArg::F_GET_SEALS)
                .is_ok_and(|s| SealFlag::from_bits_truncate(s).contains(seals()))
        })
}

/// Re-execute this program, with the same arguments and environment, from a binary no
/// container can write; a no-op when already running from one. Returns only on failure.
pub fn reexec_protected(name: &str) -> Result<()> {
    if running_protected() {
        return Ok(());
    }
    let exe = match read_only_bind(EXE) {
        Ok(fd) => fd,
        Err(_) => sealed_copy(EXE, name)?,
    };
    let c = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| Error::NulByte(String::from_utf8_lossy(bytes).into()))
    };
    let args = std::env::args_os()
        .map(|a| c(a.as_bytes()))
        .collect::<Result<Vec<_>>>()?;
    let env = std::env::vars_os()
        .map(|(k, v)| c(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<Vec<_>>>()?;
    let err = nix::unistd::fexecve(exe.as_fd(), &args, &env).unwrap_err();
    Err(Error::sys(
        "re-execute the runtime from its protected binary",
        err,
    ))
}

/// An O_PATH descriptor of `file` on a detached, read-only bind mount of it.
fn read_only_bind(file: &str) -> Result<OwnedFd> {
    let path = CString::new(file).map_err(|_| Error::NulByte(file.into()))?;
    // SAFETY: open_tree with a valid path; the result is a new descriptor we own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC,
        )
    };
    let fd = nix::errno::Errno::result(fd).ctx(|| format!("open_tree {file}"))? as i32;
    // SAFETY: open_tree returned this descriptor to us alone.
    let tree = unsafe { OwnedFd::from_raw_fd(fd) };
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = CString::new("").expect("no NUL");
    // SAFETY: mount_setattr on our own detached tree with a valid, sized attribute struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    nix::errno::Errno::result(rc).ctx(|| "make the runtime's bind mount read-only".into())?;
    Ok(tree)
}

/// A sealed in-memory copy of `file`.
fn sealed_copy(file: &str, name: &str) -> Result<OwnedFd> {
    let mut exe = File::open(file).at("open", file)?;
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .ctx(|| format!("memfd_create {name:?} for a sealed copy of the runtime"))?;
    let mut copy = File::from(fd);
    std::io::copy(&mut exe, &mut copy).at("copy the runtime binary from", file)?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals()))
        .ctx(|| "seal the runtime's in-memory copy".to_string())?;
    Ok(OwnedFd::from(copy))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A file standing for the binary (the test's own binary is busy: ETXTBSY comes first).
    fn binary() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runtime");
        std::fs::write(&path, b"\x7fELF not really").unwrap();
        let path = path.to_str().unwrap().to_string();
        (dir, path)
    }

    fn fd_path(fd: &OwnedFd) -> String {
        format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd))
    }

    #[test]
    fn a_read_only_bind_refuses_writes_and_shows_as_read_only() {
        let (_dir, file) = binary();
        let fd = read_only_bind(&file).expect("open_tree + mount_setattr (root, kernel 5.12+)");
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(fd_path(&fd))
            .expect_err("a write open through a read-only mount");
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
        assert!(statvfs(fd_path(&fd).as_str())
            .unwrap()
            .flags()
            .contains(FsFlags::ST_RDONLY));
        // The file itself, through its own mount, is untouched and still writable.
        assert!(std::fs::OpenOptions::new().write(true).open(&file).is_ok());
    }

    #[test]
    fn a_sealed_copy_refuses_writes_and_truncation() {
        let (_dir, file) = binary();
        let fd = sealed_copy(&file, "hull-test").unwrap();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(fd_path(&fd))
            .unwrap();
        let err = f
            .write_all(b"pwned")
            .expect_err("a write to a write-sealed memfd");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        let err = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(fd_path(&fd))
            .expect_err("truncating a shrink-sealed memfd");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        assert_eq!(std::fs::read(fd_path(&fd)).unwrap(), b"\x7fELF not really");
    }
}
