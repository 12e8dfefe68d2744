//! `exec`: run another process inside a running container, in all of its namespaces and its
//! cgroup, with the config's process settings (user, capabilities, rlimits) unless overridden.
//!
//! hullrt forks a helper that joins the container's cgroup and namespaces; because joining a
//! PID namespace only affects children, the helper forks once more and that grandchild execs.

use std::path::PathBuf;

use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::Container;
use crate::error::{Error, Result};
use crate::init::process as setup;
use crate::state::Op;
use crate::sys::{chan::Chan, ns, process, pty, signals};

pub struct ExecOptions {
    /// A whole OCI `process` object (`exec --process FILE`, as conmon sends it): used as it
    /// stands instead of the config's process and the flags below, as runc does.
    pub process: Option<Process>,
    pub args: Vec<String>,
    /// Capabilities added to the bounding, effective and permitted sets (`--cap`).
    pub caps: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<(u32, Option<u32>)>,
    /// With `user`: its supplementary groups (none when `None`), as runc's
    /// `--additional-gids`.
    pub additional_gids: Option<Vec<u32>>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    /// `--tty`: give the process a terminal (process.terminal), unless `process` says.
    pub tty: bool,
    /// With a terminal: the client's socket that receives the pty master (runc's protocol);
    /// without one, hullrt relays the terminal to its own stdio.
    pub console_socket: Option<PathBuf>,
}

/// Parse `--user UID[:GID]`.
pub fn parse_user(text: &str) -> Result<(u32, Option<u32>)> {
    let bad = || {
        Error::Unsupported(format!(
            "--user {text:?}: expected UID or UID:GID (numbers)"
        ))
    };
    let (u, g) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// `hullrt exec`: the process's status; one that could not be started is reported on stderr
/// (and in the log) and gives the shell's status for it (126, 127), as runc does.
pub fn exec(root: &std::path::Path, id: &str, opts: ExecOptions) -> Result<i32> {
    match run_exec(root, id, opts) {
        Err(Error::Exec { code, reason }) => {
            eprintln!("hullrt: exec in container {id:?}: {reason}");
            crate::log::error(format!("exec in container {id:?}: {reason}"));
            Ok(code)
        }
        other => other,
    }
}

/// [`exec`] for a caller that reports failures itself (hull): a process that could not be
/// started is an [`Error::Exec`] with the shell's status and the reason, nothing printed.
pub fn run_exec(root: &std::path::Path, id: &str, opts: ExecOptions) -> Result<i32> {
    let c = Container::load(root, id)?;
    c.require(Op::Exec)?;
    let spec = c.dir.load_config()?;
    let seccomp = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| crate::seccomp::cached_program(s, &crate::seccomp::cache_dir(root)))
        .transpose()?;
    let proc_ = match opts.process.clone() {
        Some(p) => p,
        None => with_flags(spec.process().clone().expect("validated at create"), &opts)?,
    };
    validate_process(&proc_)?;
    exec_process(&c, id, proc_, seccomp, &opts)
}

/// Read `exec --process FILE`: an OCI `process` object.
pub fn load_process(file: &std::path::Path) -> Result<Process> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io("read", file, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Config {
        file: file.to_path_buf(),
        reason: format!("not an OCI process object: {e}"),
    })
}

/// The config's checks of a process.
fn validate_process(p: &Process) -> Result<()> {
    crate::spec::validate_process(p).map_err(|e| Error::Unsupported(format!("exec: {e}")))
}

/// The config's process with the command line's flags applied.
fn with_flags(mut proc_: Process, opts: &ExecOptions) -> Result<Process> {
    proc_.set_args(Some(opts.args.clone()));
    proc_.set_terminal(Some(opts.tty));
    let mut env = proc_.env().clone().unwrap_or_default();
    env.extend(opts.env.iter().cloned());
    proc_.set_env(Some(env));
    if let Some(cwd) = &opts.cwd {
        proc_.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = opts.user {
        let mut user = proc_.user().clone();
        user.set_uid(uid);
        user.set_gid(gid.unwrap_or(uid));
        user.set_additional_gids(opts.additional_gids.clone().filter(|g| !g.is_empty()));
        proc_.set_user(user);
    }
    if !opts.caps.is_empty() {
        let mut caps = proc_.capabilities().clone().unwrap_or_default();
        let add = |set: &Option<oci_spec::runtime::Capabilities>| -> Result<_> {
            let mut set = set.clone().unwrap_or_default();
            for name in &opts.caps {
                let name = if name.starts_with("CAP_") {
                    name.clone()
                } else {
                    format!("CAP_{}", name.to_ascii_uppercase())
                };
                let cap: oci_spec::runtime::Capability = serde_json::from_value(
                    serde_json::Value::String(name.clone()),
                )
                .map_err(|_| Error::Unsupported(format!("--cap {name}: no such capability")))?;
                set.insert(cap);
            }
            Ok(Some(set))
        };
        caps.set_bounding(add(caps.bounding())?);
        caps.set_effective(add(caps.effective())?);
        caps.set_permitted(add(caps.permitted())?);
        proc_.set_capabilities(Some(caps));
    }
    Ok(proc_)
}

fn exec_process(
    c: &Container,
    id: &str,
    proc_: Process,
    seccomp: Option<crate::seccomp::Program>,
    opts: &ExecOptions,
) -> Result<i32> {
    let pid = c.record.pid;
    let mut joins = Vec::new();
    for t in [
        LinuxNamespaceType::User,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Mount,
    ] {
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{}", ns::proc_name(t)));
        let mine = PathBuf::from(format!("/proc/self/ns/{}", ns::proc_name(t)));
        // Joining one's own user namespace is an error, and the others are no-ops.
        if ns::inode(&theirs) != ns::inode(&mine) {
            joins.push(ns::open(&theirs, t)?);
        }
    }
    let cgroup = crate::cgroups::manager(c.record.cgroup.clone());
    // The process opens its terminal in the container's /dev/pts and sends the master to the
    // client's socket, or to us (to relay) when we stay in the foreground.
    let terminal = proc_.terminal().unwrap_or(false);
    let (console_ours, console) = match (terminal, &opts.console_socket, opts.detach) {
        (false, _, _) => (None, None),
        (true, Some(path), _) => (None, Some(pty::connect_console_socket(path)?)),
        (true, None, true) => {
            return Err(Error::Unsupported(
                "exec: a terminal for a detached process needs --console-socket (nobody would \
                 hold the terminal)"
                    .into(),
            ))
        }
        (true, None, false) => {
            let (ours, theirs) = pty::console_pair()?;
            (Some(ours), Some(theirs))
        }
    };
    let (mut ours, theirs) = Chan::pair()?;
    let helper = match process::fork()? {
        ForkResult::Child => {
            drop(ours);
            let mut chan = theirs;
            let r = (|| -> Result<()> {
                for j in &joins {
                    j.join()?;
                }
                match process::fork()? {
                    ForkResult::Child => {
                        let mut chan = chan.try_clone_for_child()?;
                        // hullrt moves us into the container's cgroup, then says "go": only
                        // this process ever counts against the container's pids limit.
                        let e = match chan.expect("go").and_then(|_| match &console {
                            Some(socket) => open_terminal(socket),
                            None => Ok(()),
                        }) {
                            Ok(()) => exec_in_container(&proc_, seccomp.as_ref()),
                            Err(e) => e,
                        };
                        let _ = chan.send("error", &e.to_string());
                        let code = match e {
                            Error::Exec { code, .. } => code,
                            _ => 126,
                        };
                        // SAFETY: leave without running the parent's atexit handlers.
                        unsafe { libc::_exit(code) }
                    }
                    ForkResult::Parent { child } => {
                        drop(console);
                        chan.send("pid", &child.as_raw().to_string())?;
                        signals::forward_to(child.as_raw());
                        let code = if opts.detach {
                            0
                        } else {
                            process::wait_exit(child)?
                        };
                        // SAFETY: as above.
                        unsafe { libc::_exit(code) }
                    }
                }
            })();
            if let Err(e) = r {
                let _ = chan.send("error", &e.to_string());
            }
            // SAFETY: as above.
            unsafe { libc::_exit(126) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(theirs);
    drop(console);
    drop(joins);
    // Two processes write here: the helper ("pid N" once it has forked) and the command's
    // process ("error …" when it cannot exec). Either may come first.
    let mut failure: Option<String> = None;
    let mut target: Option<Pid> = None;
    while target.is_none() {
        match ours.recv() {
            Ok(Some((w, text))) if w == "pid" => {
                target = Some(Pid::from_raw(text.parse().unwrap_or(0)));
            }
            Ok(Some((w, text))) if w == "error" => {
                failure.get_or_insert(text);
            }
            _ => break,
        }
    }
    let Some(target) = target else {
        // The helper itself failed (joining the cgroup or a namespace): nothing ran.
        let _ = process::wait_exit(helper);
        return Err(Error::Child(format!(
            "exec in container {id:?}: {}",
            failure.unwrap_or_else(|| "the exec helper exited early".into())
        )));
    };
    // Moving a process into a cgroup is not a fork, so the kernel would let it exceed
    // pids.max: refuse as a fork inside the container would be refused.
    let add = if crate::cgroups::usage(&c.record.cgroup.dirs).pids_limit_reached() {
        Err(Error::Unsupported(format!(
            "exec in container {id:?}: fork: EAGAIN: the container's pids limit is reached"
        )))
    } else {
        cgroup.add_process(target.as_raw()).map_err(Error::from)
    };
    if let Err(e) = add {
        let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
        let _ = process::wait_exit(helper);
        return Err(e);
    }
    ours.send("go", "")?;
    if let Some(path) = &opts.pid_file {
        super::create::write_pid_file(path, target)?;
    }
    signals::forward_to(target.as_raw());
    // With our own terminal to relay: until the process (and whatever it left holding the
    // terminal) is gone. A process that failed before sending it reports why on the channel.
    if let Some(console) = &console_ours {
        if let Ok(master) = crate::host::receive_terminal(console) {
            super::run::relay_to_our_terminal(&master);
        }
    }
    // The socket closes on a successful execve (it is close-on-exec); a message means failure.
    if failure.is_none() {
        if let Ok(Some((w, text))) = ours.recv() {
            if w == "error" {
                failure = Some(text);
            }
        }
    }
    let code = process::wait_exit(helper)?;
    match failure {
        // The helper exits 127 (not found) or 126 (could not execute), as a shell would.
        Some(reason) => Err(Error::Exec { code, reason }),
        None => Ok(code),
    }
}

/// In a new session, a pty from the container's /dev/pts becomes the controlling terminal and
/// stdio; its master goes over the console socket.
fn open_terminal(socket: &std::os::fd::OwnedFd) -> Result<()> {
    use std::os::fd::AsFd;
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    let (master, slave, _) = pty::open_inside()?;
    crate::init::attach_terminal(&slave)?;
    pty::send_master_over(socket.as_fd(), &master)
}

/// The exec'd process: default signal dispositions and the config's rlimits (an exec does not
/// inherit the init's), then the path every container process ends with.
fn exec_in_container(p: &Process, seccomp: Option<&crate::seccomp::Program>) -> Error {
    signals::reset();
    if let Err(e) = setup::set_rlimits(&p.rlimits().clone().unwrap_or_default()) {
        return e;
    }
    match setup::resolve_program(p) {
        Ok(program) => setup::become_and_exec(p, &program, seccomp),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_specs() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("1000:10").unwrap(), (1000, Some(10)));
        assert!(parse_user("bob").unwrap_err().to_string().contains("bob"));
        assert!(parse_user("1:x").is_err());
    }
}
