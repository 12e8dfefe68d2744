//! The five bpf(2) calls a device program needs, each behind one narrow function: load,
//! attach, list what a cgroup has attached, open an attached program by id, detach.
//!
//! Each call passes the leading part of `union bpf_attr` that its command reads, as a
//! `#[repr(C)]` struct without implicit padding, and its size: the kernel reads that many
//! bytes and takes the rest as zero.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::program::Insn;

// enum bpf_cmd
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
/// enum bpf_prog_type
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// enum bpf_attach_type
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs attached to a cgroup and to its parents all run; every one must allow.
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
/// `BPF_LOG_LEVEL1`: the verifier explains a rejection.
const LOG_LEVEL: u32 = 1;
const LOG_SIZE: usize = 256 * 1024;
/// The most programs one cgroup can have for one attach type (`BPF_CGROUP_MAX_PROGS`).
const MAX_PROGRAMS: usize = 64;

/// The license the kernel records for the program: only GPL-compatible ones may call
/// GPL-only helpers, and a device program calls none.
const LICENSE: &CStr = c"Apache-2.0";
/// The name `bpftool prog` shows (at most 15 bytes of letters, digits, `_` and `.`).
const NAME: &[u8] = b"hull_devices";

/// BPF_PROG_LOAD's part of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// BPF_PROG_ATTACH's and BPF_PROG_DETACH's part.
#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// BPF_PROG_QUERY's part, up to `prog_cnt`.
#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    padding: u32,
}

/// BPF_PROG_GET_FD_BY_ID's part.
#[repr(C)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with `attr`; the kernel may write results back into it.
fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    let size = std::mem::size_of::<T>() as libc::c_uint;
    // SAFETY: `attr` is a fully initialised #[repr(C)] prefix of `union bpf_attr` for `cmd`
    // with no padding, `size` is its size, and every pointer in it points to memory that
    // outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A file descriptor the kernel returned.
fn owned(ret: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new descriptor (O_CLOEXEC) that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) }
}

/// A program the kernel refused: the error, and the verifier's account when it gave one.
#[derive(Debug)]
pub(super) struct LoadError {
    pub(super) source: io::Error,
    pub(super) log: String,
}

/// Load a `BPF_PROG_TYPE_CGROUP_DEVICE` program. If the kernel refuses it, load it again with
/// the verifier's log on, so the error can say why (the log costs time only then).
pub(super) fn load(insns: &[Insn]) -> Result<OwnedFd, LoadError> {
    let first = match load_with_log(insns, None) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; LOG_SIZE];
    match load_with_log(insns, Some(&mut log)) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            Err(LoadError {
                source: first,
                log: String::from_utf8_lossy(&log[..end]).trim_end().to_owned(),
            })
        }
    }
}

fn load_with_log(insns: &[Insn], log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    let mut prog_name = [0u8; 16];
    prog_name[..NAME.len()].copy_from_slice(NAME);
    let (log_level, log_size, log_buf) = match log {
        Some(buf) => (LOG_LEVEL, buf.len() as u32, buf.as_mut_ptr() as u64),
        None => (0, 0, 0),
    };
    let mut attr = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len())
            .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    bpf(BPF_PROG_LOAD, &mut attr).map(owned)
}

/// Attach `program` to the cgroup directory `cgroup` beside any programs already there.
pub(super) fn attach(cgroup: BorrowedFd, program: BorrowedFd) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// Detach `program` from the cgroup directory `cgroup`.
pub(super) fn detach(cgroup: BorrowedFd, program: BorrowedFd) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

/// The ids of the device programs attached to the cgroup directory `cgroup` itself (not to
/// its parents), oldest first.
pub(super) fn attached(cgroup: BorrowedFd) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; MAX_PROGRAMS];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            query_flags: 0,
            attach_flags: 0,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            padding: 0,
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // More than room for: the kernel said how many there are.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSPC) && attr.prog_cnt as usize > ids.len() =>
            {
                ids.resize(attr.prog_cnt as usize, 0)
            }
            Err(e) => return Err(e),
        }
    }
}

/// A descriptor for the loaded program with this id.
pub(super) fn program_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned)
}
