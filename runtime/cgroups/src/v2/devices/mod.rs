//! Device access on cgroup v2: v2 has no `devices.allow`/`devices.deny` files; instead a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the cgroup decides every mknod and every
//! open of a device node by its processes. The rules are folded as the v1 kernel folds them
//! ([`crate::device_rules`]), turned into a program ([`program`]), loaded and attached with
//! bpf(2) ([`bpf`]).
//!
//! A cgroup v2 directory takes device programs whatever its controllers, so this also works on
//! a hybrid host's `/sys/fs/cgroup/unified`, which is where the kernel tests run it.

mod bpf;
#[cfg(test)]
mod interp;
mod program;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::device_rules::{parse_rules, DevicePolicy};
use crate::{CgroupError, Result};
use program::Insn;

/// Enforce `rules` on the cgroup v2 directory `cgroup_dir` (and so on every process in it and
/// below it): attach a program made from them, then detach the programs that were there
/// before. Until the old ones are gone both run and both must allow, so there is no moment
/// with less enforced than either list.
pub fn apply_device_rules(cgroup_dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    DeviceProgram::compile(rules)?.install(cgroup_dir)
}

/// The ids of the device programs attached to the cgroup v2 directory `cgroup_dir` itself
/// (the ids `bpftool prog` lists).
pub fn attached_programs(cgroup_dir: &Path) -> Result<Vec<u32>> {
    let dir = open_dir(cgroup_dir)?;
    bpf::attached(dir.as_fd()).map_err(|source| CgroupError::Io {
        action: "list the device programs (BPF_PROG_QUERY) of",
        path: cgroup_dir.to_path_buf(),
        source,
    })
}

/// The program for a list of rules, checked and built but not loaded: the manager compiles it
/// before it writes anything, so a bad rule leaves the cgroup untouched.
#[derive(Debug)]
pub(crate) struct DeviceProgram {
    insns: Vec<Insn>,
}

impl DeviceProgram {
    pub(crate) fn compile(rules: &[LinuxDeviceCgroup]) -> Result<DeviceProgram> {
        let policy = DevicePolicy::fold(&parse_rules(rules)?)?;
        Ok(DeviceProgram {
            insns: program::program(&policy),
        })
    }

    /// Load the program, attach it to `cgroup_dir` and detach the ones attached before.
    pub(crate) fn install(&self, cgroup_dir: &Path) -> Result<()> {
        let io = |action: &'static str| {
            move |source| CgroupError::Io {
                action,
                path: cgroup_dir.to_path_buf(),
                source,
            }
        };
        let dir = open_dir(cgroup_dir)?;
        let old = bpf::attached(dir.as_fd())
            .map_err(io("list the device programs (BPF_PROG_QUERY) of"))?;
        let new = bpf::load(&self.insns).map_err(|e| CgroupError::DeviceProgram {
            path: cgroup_dir.to_path_buf(),
            detail: load_error_detail(&e.source, &e.log),
            source: e.source,
        })?;
        bpf::attach(dir.as_fd(), new.as_fd())
            .map_err(io("attach the device program (BPF_PROG_ATTACH) to"))?;
        for id in old {
            // One that went away meanwhile needs no detaching.
            let gone = |e: &std::io::Error| e.raw_os_error() == Some(libc::ENOENT);
            let program = match bpf::program_by_id(id) {
                Ok(fd) => fd,
                Err(e) if gone(&e) => continue,
                Err(e) => {
                    return Err(io("open an old device program (BPF_PROG_GET_FD_BY_ID) of")(
                        e,
                    ))
                }
            };
            match bpf::detach(dir.as_fd(), program.as_fd()) {
                Err(e) if !gone(&e) => {
                    return Err(io("detach an old device program (BPF_PROG_DETACH) from")(e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    std::fs::File::open(dir)
        .map(OwnedFd::from)
        .map_err(|source| CgroupError::Io {
            action: "open",
            path: dir.to_path_buf(),
            source,
        })
}

/// What to add to a load error: the end of the verifier's log (its verdict comes last), or
/// what a refusal without a log usually means.
fn load_error_detail(source: &std::io::Error, log: &str) -> String {
    const TAIL: usize = 20;
    if !log.is_empty() {
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL)..].join("\n");
        return format!("; the verifier said:\n{tail}");
    }
    match source.raw_os_error() {
        Some(libc::EPERM) => "; loading a BPF program needs CAP_SYS_ADMIN (or CAP_BPF), and \
                              kernels before 5.11 also count it against RLIMIT_MEMLOCK"
            .to_owned(),
        Some(libc::EINVAL) => "; is this kernel built with CONFIG_CGROUP_BPF?".to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_error_ends_with_the_verifiers_verdict() {
        let log: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let eacces = std::io::Error::from_raw_os_error(libc::EACCES);
        let detail = load_error_detail(&eacces, log.trim_end());
        assert!(
            detail.starts_with("; the verifier said:\nline 10\n"),
            "{detail}"
        );
        assert!(detail.ends_with("line 29"), "{detail}");
        let eperm = std::io::Error::from_raw_os_error(libc::EPERM);
        assert!(load_error_detail(&eperm, "").contains("CAP_BPF"));
    }

    #[test]
    fn compiling_checks_the_rules() {
        let fifo = oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
            .typ(oci_spec::runtime::LinuxDeviceType::P)
            .build()
            .unwrap();
        let err = DeviceProgram::compile(&[fifo]).unwrap_err().to_string();
        assert!(
            err.contains("type \"p\" is not a device cgroup type"),
            "{err}"
        );
    }

    /// A real kernel: a program its verifier rejects (R0 never set) reports the verifier's
    /// words. Needs root (CAP_BPF) but no cgroup.
    #[test]
    fn real_kernel_a_rejected_program_reports_the_verifier() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "real_kernel_a_rejected_program_reports_the_verifier needs root to load BPF programs"
        );
        let exit_only = DeviceProgram {
            insns: vec![Insn {
                code: program::op::JMP | program::op::EXIT,
                regs: 0,
                off: 0,
                imm: 0,
            }],
        };
        let e = bpf::load(&exit_only.insns).unwrap_err();
        assert_eq!(
            e.source.raw_os_error(),
            Some(libc::EACCES),
            "{:?}",
            e.source
        );
        assert!(e.log.contains("R0 !read_ok"), "verifier log: {}", e.log);
    }
}
