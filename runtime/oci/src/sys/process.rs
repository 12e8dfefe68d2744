//! Processes: fork, wait, exit statuses, file descriptors and executable lookup.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::error::{Error, Result, SysContext};

/// fork(2). hullrt is single-threaded, so the child may run ordinary Rust code until it execs.
pub fn fork() -> Result<ForkResult> {
    // SAFETY: hullrt never starts threads, so the child inherits a consistent heap and locks.
    unsafe { nix::unistd::fork() }.ctx(|| "fork".to_string())
}

/// The shell convention for a wait status: the exit code, or 128 + the signal number.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Wait for a process to end, retrying on EINTR; returns its exit code (128+signal if killed).
pub fn wait_exit(pid: Pid) -> Result<i32> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(code) = exit_code(status) {
                    return Ok(code);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(crate::Error::sys(format!("wait for process {pid}"), e)),
        }
    }
}

/// Reap children until `init` has ended and return its exit code. A child subreaper also
/// collects orphans (from containers that share its PID namespace) on the way.
pub fn reap_until(init: Pid) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(status) if status.pid() == Some(init) => {
                if let Some(code) = exit_code(status) {
                    return code;
                }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 255,
        }
    }
}

/// Non-blocking reap of any child: (pid, exit code) when one has ended.
pub fn try_reap_any() -> Option<(Pid, i32)> {
    match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        Ok(status) => {
            let pid = status.pid()?;
            exit_code(status).map(|c| (pid, c))
        }
        Err(_) => None,
    }
}

/// Mark every descriptor above stderr close-on-exec, so the container's program inherits only
/// its stdio. close_range(2) needs no `/proc` (a config may not mount one, and a leaked
/// descriptor is how CVE-2024-21626 got out); where the kernel lacks it, every descriptor
/// number up to RLIMIT_NOFILE is marked.
pub fn cloexec_from_3() {
    // SAFETY: close_range only changes the flags of our own descriptors.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return;
    }
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1 << 20, |(soft, _)| soft.min(1 << 20)) as i32;
    for fd in 3..limit {
        // SAFETY: fcntl on a descriptor number; one that is not open just returns EBADF.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// The working directory moved to a directory until dropped, then moved back (through a
/// descriptor of the old one). The working directory belongs to the whole process: for
/// single-threaded callers, like everything here.
pub struct Cwd {
    old: std::os::fd::OwnedFd,
}

impl Cwd {
    pub fn enter(dir: &Path) -> Result<Cwd> {
        use nix::fcntl::OFlag;
        let old = nix::fcntl::open(
            ".",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ctx(|| "open the working directory".to_string())?;
        nix::unistd::chdir(dir).ctx(|| format!("chdir {}", dir.display()))?;
        Ok(Cwd { old })
    }
}

impl Drop for Cwd {
    fn drop(&mut self) {
        let _ = nix::unistd::fchdir(&self.old);
    }
}

/// Ask the kernel to hand orphaned descendants to us, so `run` can wait for a container init
/// whose direct parent (the namespace-setup stage) has already exited.
pub fn become_subreaper() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    nix::errno::Errno::result(rc)
        .map(drop)
        .ctx(|| "prctl(PR_SET_CHILD_SUBREAPER)".to_string())
}

/// Look a program up as execvp would, in the PATH of the container's environment. A failure
/// is an [`Error::Exec`] with the shell's status: 127 not found, 126 found but not runnable.
pub fn find_executable(program: &str, env: &[String]) -> Result<PathBuf> {
    let cannot = |code, reason: String| Error::Exec { code, reason };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => Err(cannot(126, format!("{program}: is a directory"))),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                Err(cannot(126, format!("{program}: permission denied")))
            }
            Ok(_) => Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(cannot(127, format!("{program}: {e}")))
            }
            Err(e) => Err(cannot(126, format!("{program}: {e}"))),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if let Ok(m) = std::fs::metadata(&candidate) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(cannot(
        127,
        format!("executable file {program:?} not found in $PATH"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    #[test]
    fn exit_codes_follow_the_shell() {
        let p = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(p, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(p, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(p, Signal::SIGTERM, true)),
            Some(143)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }

    #[test]
    fn lookup_uses_the_given_path() {
        let env = vec!["PATH=/nonexistent:/bin".to_string()];
        assert_eq!(
            find_executable("sh", &env).unwrap(),
            PathBuf::from("/bin/sh")
        );
        let code = |program| match find_executable(program, &env).unwrap_err() {
            Error::Exec { code, reason } => (code, reason),
            other => panic!("{program}: not an exec error: {other}"),
        };
        let (c, reason) = code("no-such-program-xyz");
        assert_eq!(c, 127);
        assert!(reason.contains("not found"), "{reason}");
        let (c, reason) = code("/");
        assert_eq!(c, 126);
        assert!(reason.contains("directory"), "{reason}");
        assert_eq!(code("/no/such/file").0, 127);
        assert_eq!(code("/etc/passwd").0, 126);
    }
}
