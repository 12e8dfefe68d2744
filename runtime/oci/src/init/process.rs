//! The process's own settings, applied just before exec: rlimits, OOM score, user and groups,
//! capabilities, no_new_privs, cwd; and [`become_and_exec`], the one path by which every
//! container process (the init after `start`, each `exec`) becomes its program.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability as Cap, CapsHashSet};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{Capabilities, LinuxCapabilities, PosixRlimit, Process};

use crate::error::{Error, Result, SysContext};
use crate::sys;

/// The home directory of `uid` in the container's passwd file, else `/`, as runc sets HOME
/// when the config has none. Called after pivot_root (the init) or setns (exec), so `/` is
/// the container's root and the file, and any link in it, resolve inside the container.
/// Only a regular file is read, opened non-blocking and at most 1 MiB: a FIFO or `/dev/zero`
/// in its place must not hang or flood the runtime.
fn home_of(uid: u32, passwd: &Path) -> String {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let text = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(passwd)
        .ok()
        .filter(|f| f.metadata().is_ok_and(|m| m.is_file()))
        .and_then(|f| {
            let mut text = String::new();
            f.take(1 << 20).read_to_string(&mut text).ok().map(|_| text)
        })
        .unwrap_or_default();
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse::<u32>() == Ok(uid))
        .map(|f| f[5].to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// After the chdir: the working directory must lie below the container's root. A cwd reached
/// through a descriptor or a /proc link into the host (CVE-2024-21626: `/proc/self/fd/N` of a
/// leaked descriptor) is "unreachable" from the root, and getcwd(3) says so.
fn check_cwd_inside_root(cwd: &Path) -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(wd) if wd.is_absolute() => Ok(()),
        Ok(_) | Err(nix::errno::Errno::ENOENT) => Err(Error::CwdOutsideRoot(cwd.to_path_buf())),
        Err(e) => Err(Error::sys(
            format!("process.cwd: getcwd after chdir {}", cwd.display()),
            e,
        )),
    }
}

/// The program of `process.args`, looked up as execvp would in the process's PATH. Done
/// before the user switch, while the caller still listens, so it hears why the program cannot
/// start: an [`Error::Exec`] with 127 (not found) or 126.
pub fn resolve_program(p: &Process) -> Result<PathBuf> {
    let args = p.args().clone().unwrap_or_default();
    let Some(first) = args.first() else {
        return Err(Error::Unsupported(
            "process.args is empty: nothing to run".into(),
        ));
    };
    sys::process::find_executable(first, &p.env().clone().unwrap_or_default())
}

/// The last steps of every container process: drop what the config does not list from the
/// bounding set, become the configured user, set the capability sets, enter the working
/// directory, set no_new_privs, keep only fds 0-2, and execve `program`. It returns only when
/// a step failed; a failed execve is an [`Error::Exec`] (127 when the file is gone, else 126).
///
/// The seccomp filter, when the config has one, is loaded as late as it can be: right before
/// execve when no_new_privs is set; otherwise before the capabilities are dropped, since
/// loading a filter without no_new_privs needs CAP_SYS_ADMIN (as runc orders it).
pub fn become_and_exec(
    p: &Process,
    program: &Path,
    filter: Option<&crate::seccomp::Program>,
) -> Error {
    let r = (|| -> Result<std::convert::Infallible> {
        let nnp = p.no_new_privileges().unwrap_or(false);
        let c = |s: &str| CString::new(s).map_err(|_| Error::NulByte(s.to_string()));
        let path = c(&program.to_string_lossy())?;
        let argv = p
            .args()
            .iter()
            .flatten()
            .map(|a| c(a))
            .collect::<Result<Vec<_>>>()?;
        let mut env: Vec<String> = p.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!(
                "HOME={}",
                home_of(p.user().uid(), Path::new("/etc/passwd"))
            ));
        }
        let envp = env.iter().map(|e| c(e)).collect::<Result<Vec<_>>>()?;
        if let (Some(f), false) = (&filter, nnp) {
            f.load()?;
        }
        limit_bounding(p.capabilities())?;
        switch_user(p)?;
        apply_caps(p.capabilities())?;
        nix::unistd::chdir(p.cwd()).ctx(|| format!("process.cwd: chdir {}", p.cwd().display()))?;
        check_cwd_inside_root(p.cwd())?;
        if nnp {
            set_no_new_privs()?;
        }
        sys::process::cloexec_from_3();
        if let (Some(f), true) = (&filter, nnp) {
            f.load()?;
        }
        let err = nix::unistd::execve(&path, &argv, &envp).unwrap_err();
        Err(Error::Exec {
            code: if err == nix::errno::Errno::ENOENT {
                127
            } else {
                126
            },
            reason: format!("exec {}: {}", program.display(), err.desc()),
        })
    })();
    match r {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

pub fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => return None,
    })
}

pub fn set_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        let name = l.typ().to_string();
        let res = rlimit_resource(&name)
            .ok_or_else(|| Error::Unsupported(format!("process.rlimits: unknown type {name}")))?;
        let lim = libc::rlimit {
            rlim_cur: l.soft(),
            rlim_max: l.hard(),
        };
        // SAFETY: setrlimit with a valid resource and a pointer to a local struct.
        let rc = unsafe { libc::setrlimit(res, &lim) };
        nix::errno::Errno::result(rc).ctx(|| {
            format!(
                "process.rlimits: set {name} to soft {} hard {}",
                l.soft(),
                l.hard()
            )
        })?;
    }
    Ok(())
}

pub fn set_oom_score_adj(value: i32) -> Result<()> {
    std::fs::write("/proc/self/oom_score_adj", value.to_string()).map_err(|source| Error::Setting {
        setting: format!("process.oomScoreAdj: write {value} to /proc/self/oom_score_adj"),
        source,
    })
}

fn to_caps(set: &Option<Capabilities>, field: &str) -> Result<CapsHashSet> {
    let mut out = HashSet::new();
    for c in set.clone().unwrap_or_default() {
        let name = serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let cap = Cap::from_str(&name).map_err(|_| {
            Error::Unsupported(format!(
                "process.capabilities.{field}: {name} is unknown to this kernel interface"
            ))
        })?;
        out.insert(cap);
    }
    Ok(out)
}

/// Drop from the bounding set what the config does not list. Needs CAP_SETPCAP, so it runs
/// before the user switch.
pub fn limit_bounding(caps: &Option<LinuxCapabilities>) -> Result<()> {
    let Some(c) = caps else { return Ok(()) };
    let keep = to_caps(c.bounding(), "bounding")?;
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| Error::Capability {
                field: "bounding".into(),
                reason: format!("drop {cap}: {e}"),
            })?;
        }
    }
    Ok(())
}

/// Switch to the configured user and groups, keeping capabilities across setuid so the
/// configured sets can be applied afterwards.
pub fn switch_user(p: &Process) -> Result<()> {
    let user = p.user();
    let keep = user.uid() != 0;
    if keep {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    }
    let groups: Vec<Gid> = user
        .additional_gids()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(Gid::from_raw)
        .collect();
    nix::unistd::setgroups(&groups)
        .ctx(|| format!("process.user.additionalGids: setgroups {groups:?}"))?;
    let gid = Gid::from_raw(user.gid());
    nix::unistd::setresgid(gid, gid, gid).ctx(|| format!("process.user.gid: setgid {gid}"))?;
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresuid(uid, uid, uid).ctx(|| format!("process.user.uid: setuid {uid}"))?;
    if keep {
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    }
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// Apply the effective, permitted, inheritable and ambient sets. The order keeps each capset(2)
/// call legal: inheritable while permitted is still full, effective before permitted shrinks
/// below it, ambient last (it needs the capability in both permitted and inheritable).
pub fn apply_caps(caps: &Option<LinuxCapabilities>) -> Result<()> {
    let Some(c) = caps else { return Ok(()) };
    let set = |which: CapSet, value: &CapsHashSet, field: &str| {
        caps::set(None, which, value).map_err(|e| Error::Capability {
            field: field.into(),
            reason: e.to_string(),
        })
    };
    let effective = to_caps(c.effective(), "effective")?;
    let permitted = to_caps(c.permitted(), "permitted")?;
    let inheritable = to_caps(c.inheritable(), "inheritable")?;
    let ambient = to_caps(c.ambient(), "ambient")?;
    if !effective.is_subset(&permitted) {
        return Err(Error::Capability {
            field: "effective".into(),
            reason: "must be a subset of permitted".into(),
        });
    }
    set(CapSet::Inheritable, &inheritable, "inheritable")?;
    set(CapSet::Effective, &effective, "effective")?;
    set(CapSet::Permitted, &permitted, "permitted")?;
    caps::clear(None, CapSet::Ambient).map_err(|e| Error::Capability {
        field: "ambient".into(),
        reason: format!("clear: {e}"),
    })?;
    for cap in ambient {
        // The kernel refuses an ambient capability that is not both permitted and
        // inheritable; runc skips those too rather than failing the container.
        if permitted.contains(&cap) && inheritable.contains(&cap) {
            caps::raise(None, CapSet::Ambient, cap).map_err(|e| Error::Capability {
                field: "ambient".into(),
                reason: format!("{cap}: {e}"),
            })?;
        }
    }
    Ok(())
}

pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    nix::errno::Errno::result(rc)
        .map(drop)
        .ctx(|| "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_comes_from_passwd_else_slash_and_never_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n",
        )
        .unwrap();
        assert_eq!(home_of(0, &passwd), "/root");
        assert_eq!(home_of(65534, &passwd), "/nonexistent");
        assert_eq!(home_of(1234, &passwd), "/");
        assert_eq!(home_of(0, &dir.path().join("missing")), "/");
        assert_eq!(home_of(0, Path::new("/dev/zero")), "/");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(home_of(0, &fifo), "/");
    }

    /// The CVE-2024-21626 shape: a working directory reached through a descriptor that points
    /// outside the root. A forked child chroots and fchdirs out, then runs the check.
    #[test]
    fn a_cwd_outside_the_root_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let dir = std::fs::File::open(outside.path()).unwrap();
        // SAFETY: the child only makes syscalls and leaves with _exit.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let code = (|| {
                    nix::unistd::chroot(root.path()).ok()?;
                    nix::unistd::chdir("/").ok()?;
                    check_cwd_inside_root(Path::new("/")).ok()?;
                    nix::unistd::fchdir(&dir).ok()?;
                    match check_cwd_inside_root(Path::new("/proc/self/fd/3")) {
                        Err(Error::CwdOutsideRoot(_)) => Some(0),
                        _ => None,
                    }
                })()
                .unwrap_or(1);
                // SAFETY: leave the forked test process without running the harness.
                unsafe { libc::_exit(code) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(
                    status,
                    nix::sys::wait::WaitStatus::Exited(child, 0),
                    "inside the root accepted, outside refused"
                );
            }
        }
    }
}
