//! `run`: create and start, then (unless detached) wait for the container, forward signals to
//! it, record how it ended (exit code, OOM kill) and delete it.

use std::io::Write;
use std::path::PathBuf;

use nix::unistd::Pid;

use super::create::{create, CreateOptions};
use super::Container;
use crate::error::Result;
use crate::sys::{process, pty, signals};

pub struct RunOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    /// Keep the stopped container (runc's `--keep`) so its state can be inspected.
    pub keep: bool,
    pub console_socket: Option<PathBuf>,
}

/// Returns the container's exit status (its code, or 128 + the signal that killed it).
pub fn run(opts: RunOptions) -> Result<i32> {
    let terminal = crate::spec::load_bundle(&opts.bundle)?
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // With a client's console socket the master goes to the client; else to us, to relay.
    let (ours, console) = match (terminal, &opts.console_socket) {
        (false, _) => (None, None),
        (true, Some(path)) => (None, Some(pty::connect_console_socket(path)?)),
        (true, None) => {
            let (ours, theirs) = pty::console_pair()?;
            (Some(ours), Some(theirs))
        }
    };
    let created = create(CreateOptions {
        root: opts.root.clone(),
        id: opts.id.clone(),
        bundle: opts.bundle.clone(),
        pid_file: opts.pid_file.clone(),
        console,
        stdio: None,
    })?;
    let master = match ours.as_ref().map(crate::host::receive_terminal).transpose() {
        Ok(m) => m,
        Err(e) => {
            let _ = super::delete::delete(&opts.root, &opts.id, true);
            return Err(e);
        }
    };
    // Signals that arrive from now on belong to the container.
    signals::forward_to(created.pid.as_raw());
    if let Err(e) = super::start::start(&opts.root, &opts.id) {
        let _ = super::delete::delete(&opts.root, &opts.id, true);
        return Err(e);
    }
    if opts.detach {
        return Ok(0);
    }
    let code = match &master {
        Some(master) => wait_relaying(created.pid, master),
        None => process::reap_until(created.pid),
    };
    record_end(&opts, code)?;
    if !opts.keep {
        super::delete::delete(&opts.root, &opts.id, true)?;
    }
    Ok(code)
}

fn wait_relaying(init: Pid, master: &std::os::fd::OwnedFd) -> i32 {
    relay_to_our_terminal(master);
    process::reap_until(init)
}

/// Our stdin to the container's terminal and its output to our stdout (our terminal in raw
/// mode meanwhile), until the last holder of its slave side is gone.
pub(super) fn relay_to_our_terminal(master: &std::os::fd::OwnedFd) {
    let _raw = pty::RawMode::enter();
    let mut out = std::io::stdout();
    pty::relay(master, true, &mut |chunk| {
        let _ = out.write_all(chunk).and_then(|_| out.flush());
    });
}

fn record_end(opts: &RunOptions, code: i32) -> Result<()> {
    let c = Container::load(&opts.root, &opts.id)?;
    let mut record = c.record.clone();
    let oom = crate::cgroups::manager(record.cgroup.clone())
        .oom_kill_count()
        .unwrap_or(0);
    record.exit_code = Some(code);
    record.oom_kill_count = Some(oom);
    if oom > 0 {
        crate::log::debug(format!(
            "container {} was killed by the OOM killer",
            opts.id
        ));
    }
    c.dir.save(&record)
}
