//! `kill`: signal the container's init, or with `--all` every process in its cgroup.

use std::path::Path;

use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use super::Container;
use crate::error::{Result, SysContext};
use crate::state::Op;

pub fn kill(root: &Path, id: &str, signal: Signal, all: bool) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(Op::Kill)?;
    if all {
        let cgroup = crate::cgroups::manager(c.record.cgroup.clone());
        for pid in cgroup.pids()? {
            // A process may exit between listing and signalling: that is not an error.
            let _ = send(Pid::from_raw(pid), signal);
        }
        return Ok(());
    }
    send(Pid::from_raw(c.record.pid), signal)
        .ctx(|| format!("send {signal} to container {id:?} (pid {})", c.record.pid))
}
