//! `start`: release the init waiting on the exec fifo, then run the poststart hooks.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::Container;
use crate::error::{Error, Result};
use crate::state::{Op, Status};

pub fn start(root: &Path, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(Op::Start)?;
    let fifo_path = c.dir.fifo();
    // Non-blocking: if the init died in the meantime there is no reader and open fails with
    // ENXIO instead of hanging.
    let mut fifo = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| Error::BadState {
            id: id.to_string(),
            status: "created".into(),
            reason: format!("its init is not waiting on {}: {e}", fifo_path.display()),
        })?;
    fifo.write_all(b"0")
        .map_err(|e| Error::io("write exec fifo", &fifo_path, e))?;
    wait_for_exec(&fifo, &c);
    drop(fifo);
    std::fs::remove_file(&fifo_path).map_err(|e| Error::io("remove exec fifo", &fifo_path, e))?;
    // The fifo closed: on execve (the report is empty), or because the init died trying and
    // wrote why.
    let report = std::fs::read_to_string(c.dir.report()).unwrap_or_default();
    if !report.trim().is_empty() {
        return Err(Error::Child(report.trim().to_string()));
    }

    let spec = c.dir.load_config()?;
    if let Some(hooks) = spec.hooks().as_ref().and_then(|h| h.poststart().clone()) {
        let state = c.hook_state(Status::Running).to_string();
        // The spec: a failing poststart hook is logged; the container keeps running.
        if let Err(e) = crate::hooks::run_all("poststart", &hooks, &state) {
            crate::log::warn(e.to_string());
        }
    }
    Ok(())
}

/// The init holds the fifo open until its execve closes it; a fifo whose last reader is gone
/// reports POLLERR to its writers. So when this returns, the user's program runs (or the init
/// died trying), and the poststart hooks may run.
fn wait_for_exec(fifo: &std::fs::File, c: &Container) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => return,
            Err(_) => return,
        }
        if !c.record.alive() {
            return;
        }
    }
}
