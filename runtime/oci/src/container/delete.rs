//! `delete`: remove a stopped container (or with `--force` stop it first), then run the
//! poststop hooks.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Container;
use crate::error::{Error, Result};
use crate::state::{Op, StateDir, Status};

pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let c = match Container::load(root, id) {
        Ok(c) => c,
        Err(Error::NotFound { .. }) => {
            // A `create` killed before it wrote its record leaves a bare directory; `delete`
            // of that id must still clean it up.
            let dir = StateDir::new(root, id)?;
            if dir.dir.is_dir() {
                return dir.remove();
            }
            // As runc: a forced delete of what is not there has nothing left to do. podman
            // calls it for cleanup and would print our error above every real one.
            if force {
                return Ok(());
            }
            return Err(Error::NotFound { id: id.to_string() });
        }
        Err(e) => return Err(e),
    };
    c.require(if force { Op::ForceDelete } else { Op::Delete })?;
    let cgroup = crate::cgroups::manager(c.record.cgroup.clone());
    if c.status != Status::Stopped {
        let _ = kill(Pid::from_raw(c.record.pid), Signal::SIGKILL);
        if c.status == Status::Paused {
            // Frozen tasks act on the SIGKILL only once thawed (cgroup v1 freezer).
            let _ = cgroup.freeze(false);
        }
        wait_gone(&c)?;
    }
    // Whatever the init left behind (a container without its own PID namespace can leave
    // orphans) goes too, or the cgroup could not be removed.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = cgroup.pids().unwrap_or_default();
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        reap_children();
        std::thread::sleep(Duration::from_millis(5));
    }
    let spec = c.dir.load_config().ok();
    let state = c.hook_state(Status::Stopped).to_string();
    cgroup.destroy()?;
    c.dir.remove()?;
    if let Some(hooks) = spec
        .as_ref()
        .and_then(|s| s.hooks().as_ref())
        .and_then(|h| h.poststop().clone())
    {
        if let Err(e) = crate::hooks::run_all("poststop", &hooks, &state) {
            crate::log::warn(e.to_string());
        }
    }
    Ok(())
}

fn reap_children() {
    while crate::sys::process::try_reap_any().is_some() {}
}

fn wait_gone(c: &Container) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.record.alive() {
        reap_children();
        if Instant::now() > deadline {
            return Err(Error::BadState {
                id: c.record.id.clone(),
                status: "running".into(),
                reason: format!("pid {} survived SIGKILL for 10 s", c.record.pid),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forced_delete_of_nothing_succeeds_and_a_plain_one_says_not_found() {
        let root = tempfile::tempdir().unwrap();
        delete(root.path(), "nosuch", true).unwrap();
        assert!(matches!(
            delete(root.path(), "nosuch", false),
            Err(Error::NotFound { .. })
        ));
    }
}
