//! The processes hullrt forks to make a container.
//!
//! `stage1` runs first, in hullrt's namespaces: it joins the namespaces the config names by
//! path, unshares the new ones (waiting for hullrt to write the user namespace's id maps), and
//! forks the container's init, which is PID 1 of the new PID namespace. Then it exits; the
//! init is handed to hullrt (a child subreaper) or, once `create` has exited, to the host.
//!
//! `container_init` builds the rootfs, tells hullrt it is ready, and blocks on the exec fifo
//! until `start`; then it becomes the configured user and execs the program.

pub mod options;
pub mod process;
pub mod rootfs;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::unistd::{ForkResult, Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::CgroupLocation;
use crate::error::{Error, IoContext, Result, SysContext};
use crate::sys::{chan::Chan, ns, process as proc_};

/// What the forked processes need; it crosses fork(2) as a copy of the parent's memory.
pub struct InitContext {
    pub spec: Spec,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub fifo: PathBuf,
    /// Where the init reports a failure after `start` (see `container::start`).
    pub report: PathBuf,
    /// linux.seccomp compiled by `create` before it forked.
    pub seccomp: Option<crate::seccomp::Program>,
    pub cgroup: CgroupLocation,
    /// With process.terminal: the console socket over which the init sends the master of the
    /// pty it opens inside the container.
    pub console: Option<OwnedFd>,
    /// stdin, stdout, stderr for the program (dup'ed onto 0, 1, 2 before exec).
    pub stdio: Option<[OwnedFd; 3]>,
}

fn exit_with(chan: &mut Chan, result: Result<()>) -> ! {
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = chan.send("error", &e.to_string());
            1
        }
    };
    // SAFETY: _exit skips the parent's atexit handlers and buffers, which belong to hullrt.
    unsafe { libc::_exit(code) }
}

pub fn stage1(ctx: InitContext, mut chan: Chan) -> ! {
    let result = stage1_inner(ctx, &mut chan);
    exit_with(&mut chan, result)
}

fn stage1_inner(ctx: InitContext, chan: &mut Chan) -> Result<()> {
    chan.expect("cgroup-ok")?;
    // Opened here, while we are still the host's root: inside a user namespace the init may
    // not be allowed into the state directory. Read-write, a fifo never blocks at open and
    // keeps a reader alive for `start`'s non-blocking write; the init's read is what waits.
    let fifo = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&ctx.fifo)
        .at("open exec fifo", &ctx.fifo)?;
    let report = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&ctx.report)
        .at("open the init's report file", &ctx.report)?;
    let linux = ctx.spec.linux().as_ref().expect("validated");
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    // Open every namespace to join before joining any: joining the mount namespace changes
    // which paths resolve.
    let mut joins = Vec::new();
    for n in namespaces.iter() {
        if let Some(path) = n.path() {
            joins.push((n.typ(), ns::open(path, n.typ())?));
        }
    }
    // The user namespace first (it grants the rights to join the others), mount last.
    joins.sort_by_key(|(t, _)| match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 2,
        _ => 1,
    });
    for (_, f) in &joins {
        f.join()?;
    }
    let mut flags = nix::sched::CloneFlags::empty();
    for n in namespaces.iter().filter(|n| n.path().is_none()) {
        flags |= ns::clone_flag(n.typ());
    }
    ns::unshare(flags)?;
    if flags.contains(nix::sched::CloneFlags::CLONE_NEWUSER) {
        chan.send("maps", "")?;
        chan.expect("maps-ok")?;
        let root_uid = Uid::from_raw(0);
        let root_gid = Gid::from_raw(0);
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .ctx(|| "become gid 0 in the new user namespace (is 0 mapped?)".to_string())?;
        nix::unistd::setresuid(root_uid, root_uid, root_uid)
            .ctx(|| "become uid 0 in the new user namespace (is 0 mapped?)".to_string())?;
    }
    let in_user_ns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User);
    let new_cgroup_ns = flags.contains(nix::sched::CloneFlags::CLONE_NEWCGROUP);
    match proc_::fork()? {
        ForkResult::Child => {
            let mut chan = chan.try_clone_for_child()?;
            let result = container_init(ctx, fifo, report, &mut chan, in_user_ns, new_cgroup_ns);
            exit_with(&mut chan, result.map(|never| match never {}))
        }
        ForkResult::Parent { child } => chan.send("pid", &child.as_raw().to_string()),
    }
}

enum Never {}

fn container_init(
    ctx: InitContext,
    mut fifo: File,
    mut report: File,
    chan: &mut Chan,
    in_user_ns: bool,
    new_cgroup_ns: bool,
) -> Result<Never> {
    let spec = &ctx.spec;
    let process = spec.process().as_ref().expect("validated");
    nix::unistd::setsid().ctx(|| "setsid".to_string())?;
    // Device nodes and mount points get exactly the modes the config gives.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());

    rootfs::prepare(&rootfs::RootfsPlan {
        spec,
        rootfs: &ctx.rootfs,
        bundle: &ctx.bundle,
        cgroup: &ctx.cgroup,
        new_cgroup_ns,
        in_user_ns,
    })?;
    let linux = spec.linux().as_ref().expect("validated");
    // /proc/sys answers for the namespaces of the writer, so the host's /proc (still visible
    // here, before pivot_root) sets the container's values.
    for (key, value) in linux.sysctl().clone().unwrap_or_default() {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, &value).map_err(|source| Error::Setting {
            setting: format!("linux.sysctl {key}={value}"),
            source,
        })?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("hostname: sethostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        std::fs::write("/proc/sys/kernel/domainname", d).map_err(|source| Error::Setting {
            setting: format!("domainname {d:?}"),
            source,
        })?;
    }

    // hullrt runs the createRuntime hooks now, in the runtime's namespaces.
    chan.send("prestart", "")?;
    let state_json = chan.expect("go")?;
    if let Some(hooks) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().clone())
    {
        crate::hooks::run_all("createContainer", &hooks, &state_json)?;
    }

    rootfs::pivot(&ctx.rootfs)?;
    rootfs::root_propagation(spec)?;
    // Before finish: a read-only root would refuse /dev/console's mount point.
    let terminal = ctx.console.as_ref().map(open_terminal).transpose()?;
    rootfs::finish(spec)?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));

    process::set_rlimits(&process.rlimits().clone().unwrap_or_default())?;
    if let Some(adj) = process.oom_score_adj() {
        process::set_oom_score_adj(adj)?;
    }
    let program = match process::resolve_program(process) {
        Ok(p) => p,
        Err(Error::Exec { code, reason }) => {
            chan.send("exec-error", &format!("{code} {reason}"))?;
            // SAFETY: see exit_with.
            unsafe { libc::_exit(1) }
        }
        Err(e) => return Err(e),
    };
    if let Some(stdio) = &ctx.stdio {
        for (target, fd) in stdio.iter().enumerate() {
            // SAFETY: dup2 onto the stdio numbers.
            let rc = unsafe { libc::dup2(fd.as_raw_fd(), target as i32) };
            nix::errno::Errno::result(rc).ctx(|| format!("dup2 onto fd {target}"))?;
        }
    }
    if let Some(slave) = &terminal {
        attach_terminal(slave)?;
    }

    chan.send("ready", "")?;
    wait_for_start(&mut fifo)?;
    // `fifo` stays open until execve closes it (O_CLOEXEC): `start` waits for that moment to
    // run the poststart hooks "after the user-specified process is executed". Past this point
    // `create` is gone and nobody reads the sync socket: a failure is written to the report
    // file, which `start` reads when the fifo closes without an exec.
    let failure = after_start(spec, ctx.seccomp.as_ref(), process, &program, &state_json);
    let text = match &failure {
        Error::Exec { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let _ = report.write_all(text.as_bytes());
    drop(report);
    match failure {
        // The shell's status for a program that could not be executed.
        Error::Exec { code, .. } => {
            // SAFETY: see exit_with.
            unsafe { libc::_exit(code) }
        }
        other => {
            drop(fifo);
            Err(other)
        }
    }
}

/// What the init does once `start` has released it: the startContainer hooks, then the
/// process's own settings and the execve. Returns only the failure.
fn after_start(
    spec: &Spec,
    seccomp: Option<&crate::seccomp::Program>,
    process: &oci_spec::runtime::Process,
    program: &std::path::Path,
    state_json: &str,
) -> Error {
    let hooks = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().clone());
    if let Some(hooks) = hooks {
        let state = state_json.replace("\"creating\"", "\"created\"");
        if let Err(e) = crate::hooks::run_all("startContainer", &hooks, &state) {
            return e;
        }
    }
    // As runc does: a missing working directory is made (by root, before the user switch).
    if !process.cwd().exists() {
        let _ = std::fs::create_dir_all(process.cwd());
    }
    process::become_and_exec(process, program, seccomp)
}

fn wait_for_start(fifo: &mut File) -> Result<()> {
    let mut byte = [0u8; 1];
    loop {
        match fifo.read(&mut byte) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read exec fifo", "exec.fifo", e)),
        }
    }
}

/// The container's terminal, as runc makes it: a pty from the container's own devpts, its
/// slave also mounted on /dev/console, its master sent over the console socket. Returns the
/// slave.
fn open_terminal(socket: &OwnedFd) -> Result<OwnedFd> {
    let (master, slave, path) = crate::sys::pty::open_inside()?;
    rootfs::mount_console(&path)?;
    crate::sys::pty::send_master_over(socket.as_fd(), &master)?;
    Ok(slave)
}

/// Make `slave` the controlling terminal (we are a session leader) and stdin, stdout, stderr.
pub(crate) fn attach_terminal(slave: &OwnedFd) -> Result<()> {
    let fd = slave.as_raw_fd();
    // SAFETY: ioctl TIOCSCTTY on a pty slave we own; we are a session leader after setsid.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(rc).ctx(|| "make the pty the controlling terminal".to_string())?;
    for target in 0..3 {
        // SAFETY: dup2 onto the stdio numbers.
        let rc = unsafe { libc::dup2(fd, target) };
        nix::errno::Errno::result(rc).ctx(|| format!("dup2 pty onto fd {target}"))?;
    }
    Ok(())
}
