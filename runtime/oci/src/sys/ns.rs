//! Namespaces: the clone flag of each OCI namespace type, unshare(2) and setns(2).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::LinuxNamespaceType;

use crate::error::{IoContext, Result, SysContext};

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::empty(),
    }
}

/// The name of a namespace under /proc/PID/ns/.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

pub fn unshare(flags: CloneFlags) -> Result<()> {
    nix::sched::unshare(flags).ctx(|| {
        let names: Vec<&str> = [
            (CloneFlags::CLONE_NEWNS, "mount"),
            (CloneFlags::CLONE_NEWUTS, "uts"),
            (CloneFlags::CLONE_NEWIPC, "ipc"),
            (CloneFlags::CLONE_NEWUSER, "user"),
            (CloneFlags::CLONE_NEWPID, "pid"),
            (CloneFlags::CLONE_NEWNET, "network"),
            (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
        ]
        .into_iter()
        .filter_map(|(f, n)| flags.contains(f).then_some(n))
        .collect();
        format!("unshare the new namespaces ({})", names.join(", "))
    })
}

/// An open namespace file, joined later (files are opened first, while every path is still
/// reachable, and joined afterwards).
pub struct NsFile {
    pub file: File,
    pub path: std::path::PathBuf,
    pub flag: CloneFlags,
}

pub fn open(path: &Path, t: LinuxNamespaceType) -> Result<NsFile> {
    Ok(NsFile {
        file: File::open(path).at("open namespace", path)?,
        path: path.to_path_buf(),
        flag: clone_flag(t),
    })
}

impl NsFile {
    pub fn join(&self) -> Result<()> {
        nix::sched::setns(self.file.as_fd(), self.flag)
            .ctx(|| format!("join namespace {}", self.path.display()))
    }
}

/// The identity of a namespace (its inode), to tell whether two processes share it.
pub fn inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}
