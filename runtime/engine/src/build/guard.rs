//! A RUN step's container dies with its build. The build cannot clean up after a SIGKILL, so
//! before each RUN step it forks a guard: a small process that waits on a pipe only the build
//! writes to. The build says "done" once it has taken the step down itself; if the pipe ends
//! without that word, the build is gone, and the guard takes the step down — the container's
//! processes, cgroups and runtime state, its rootfs mount and directory — then exits.
//!
//! The guard ignores the signals a terminal sends a job (Ctrl-C, hang-up) and runs in a
//! session of its own, so what kills the build does not kill it. Should it die all the same,
//! the step's directory under `tmp/` still names the dead build as its owner and the next
//! command removes it ([`crate::recover`]).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{ForkResult, Pid};

use crate::error::{EngineError, Result};

/// The guard of one RUN step; dropping it tells the guard the build cleaned up itself.
pub(super) struct StepGuard {
    done: Option<OwnedFd>,
    pid: Pid,
}

impl StepGuard {
    /// Forks the guard of the step `id`, whose directory is `dir`, under the store at `root`.
    pub(super) fn spawn(root: &Path, id: &str, dir: &Path) -> Result<StepGuard> {
        let (rx, tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| {
            EngineError::from(hull_oci::Error::sys("pipe for a RUN step's guard", e))
        })?;
        match hull_oci::host::fork_monitor()? {
            ForkResult::Child => {
                drop(tx);
                guard(rx, root.to_path_buf(), id.to_string(), dir.to_path_buf())
            }
            ForkResult::Parent { child } => Ok(StepGuard {
                done: Some(tx),
                pid: child,
            }),
        }
    }
}

impl Drop for StepGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = nix::unistd::write(&tx, b"d");
        }
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// The guard's whole life. Never returns.
fn guard(rx: OwnedFd, root: PathBuf, id: String, dir: PathBuf) -> ! {
    let _ = nix::unistd::setsid();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
    ] {
        // SAFETY: SIG_IGN installs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
    // Not the build's output: a reader of `hull build | …` would wait for us.
    if let Ok(null) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own stdio numbers.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let mut word = [0u8; 1];
    let told = loop {
        match nix::unistd::read(&rx, &mut word) {
            Ok(n) => break n == 1,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break false,
        }
    };
    if !told {
        if let Ok(_lock) = crate::record::lock(&root) {
            crate::recover::take_down_step(&root, &id, &dir);
        }
    }
    // SAFETY: leave without running the build's exit handlers or destructors.
    unsafe { libc::_exit(0) }
}
