//! What a container manager above the runtime (hull's engine, hullrt's own `run`) does on the
//! host around a container: mount its root filesystem, watch it as a subreaper, forward it
//! signals and relay its terminal. Each function is named for what it does; the syscalls stay
//! in `sys`, which is private to this crate.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::mount::MsFlags;
use nix::unistd::{ForkResult, Pid};

use crate::error::Result;
use crate::sys;

pub use crate::sys::chan::Chan;
pub use crate::sys::pty::RawMode;

/// Continue as this program re-executed (same arguments) from a binary no container can
/// write — a detached read-only bind mount of it, else a sealed in-memory copy — so that no
/// process in a container can write the binary on disk through `/proc/<pid>/exe`
/// (CVE-2019-5736). Call it first thing in a command that starts or enters containers; it
/// returns at once when already running from such a binary.
pub fn run_from_protected_binary(name: &str) -> Result<()> {
    sys::sealed::reexec_protected(name)
}

/// Mount an overlay filesystem on `merged`; `lowerdir` is overlay's option value (top layer
/// first, `:`-separated).
pub fn mount_overlay(lowerdir: &str, upper: &Path, work: &Path, merged: &Path) -> Result<()> {
    let data = format!(
        "lowerdir={lowerdir},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    sys::mount::mount(
        Some(Path::new("overlay")),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
    )
}

/// Mount an overlay filesystem on `merged` whose `lowerdir` (top layer first, `:`-separated),
/// `upper` and `work` may be relative to `dir`: the kernel reads them relative to the working
/// directory, which is `dir` for the call only. The options of one mount must fit in a page
/// (4096 bytes), and an image's deep stack of absolute layer paths does not (about 44 layers
/// under `/var/lib/hull`); short relative ones do, as Docker's overlay2 does with its `l/`
/// links. A stack that would still not fit is refused by name rather than truncated (which
/// the kernel reports as a misleading ENOENT).
pub fn mount_overlay_in(
    dir: &Path,
    lowerdir: &str,
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<()> {
    let data = format!(
        "lowerdir={lowerdir},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as usize);
    if data.len() >= page {
        return Err(crate::Error::Unsupported(format!(
            "overlay mount on {}: its options take {} bytes ({} layers) and the kernel takes \
             at most {}: the image has too many layers",
            merged.display(),
            data.len(),
            lowerdir.split(':').count(),
            page - 1
        )));
    }
    let _back = sys::process::Cwd::enter(dir)?;
    sys::mount::mount(
        Some(Path::new("overlay")),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
    )
    .map_err(|e| match e {
        crate::Error::Sys { action, source } => crate::Error::Sys {
            action: format!("{action} in {}", dir.display()),
            source,
        },
        other => other,
    })
}

/// Bind-mount `source` on `target` (not recursively).
pub fn bind_mount(source: &Path, target: &Path) -> Result<()> {
    sys::mount::bind(source, target, false)
}

/// Give the calling *thread* a mount namespace of its own, every mount in it private: what it
/// mounts then is seen by no other process and goes away with the namespace when the thread
/// ends, even when the whole program is killed (the threads it spawns share it).
pub fn private_mount_namespace() -> Result<()> {
    sys::ns::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    sys::mount::propagation(Path::new("/"), MsFlags::MS_REC | MsFlags::MS_PRIVATE)
}

/// Detach the mount on `target` (lazy unmount: busy files do not block it).
pub fn unmount(target: &Path) -> Result<()> {
    sys::mount::detach(target)
}

/// An O_PATH descriptor of `path` resolved inside the directory `root` as if it were `/`:
/// `..` stops at the root and symlinks, absolute ones too, resolve inside it (openat2 with
/// `RESOLVE_IN_ROOT`). For reading a container's tree from the host without leaving it.
pub fn open_in_root(root: &Path, path: &Path) -> Result<OwnedFd> {
    sys::fs::InRoot::open(root)?.resolve(path)
}

/// Orphaned descendants (a container's init whose setup parent has exited) become our
/// children, so we can wait for them.
pub fn become_subreaper() -> Result<()> {
    sys::process::become_subreaper()
}

/// Reap children until `init` has ended; its exit status as a shell reports it (code, or
/// 128 + signal).
pub fn wait_for_exit(init: Pid) -> i32 {
    sys::process::reap_until(init)
}

/// fork(2), for a monitor process that must outlive the command that started it. The caller
/// must not have started threads.
pub fn fork_monitor() -> Result<ForkResult> {
    sys::process::fork()
}

/// From now on the signals a user sends to us (TERM, INT, HUP, …) go to `pid`.
pub fn forward_signals_to(pid: Pid) {
    sys::signals::forward_to(pid.as_raw())
}

/// Stop forwarding signals: they are ignored by the forwarding handler from now on.
pub fn stop_forwarding_signals() {
    sys::signals::forward_to(0)
}

/// A connected pair of sockets for a container's terminal: keep the first and pass the
/// second as `CreateOptions::console`; once `create` returns, `receive_terminal` on the first
/// gives the master of the pty the container's process opened in its own /dev/pts.
pub fn console_pair() -> Result<(OwnedFd, OwnedFd)> {
    sys::pty::console_pair()
}

/// The master the container's process sent over our end of `console_pair`, sized like our
/// own terminal.
pub fn receive_terminal(ours: &OwnedFd) -> Result<OwnedFd> {
    let master = sys::pty::receive_master(ours)?;
    sys::pty::size_like_ours(&master);
    Ok(master)
}

/// Connect to a client's console socket (runc's `--console-socket PATH`): pass the result as
/// `CreateOptions::console` and the client receives the master itself.
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd> {
    sys::pty::connect_console_socket(path)
}

/// Our terminal in raw mode until the returned guard is dropped (a no-op when stdin is not a
/// terminal).
pub fn raw_terminal() -> RawMode {
    RawMode::enter()
}

/// Copy the container's terminal output to `sink` (and our stdin to it when `forward_stdin`)
/// until its last holder closes it.
pub fn relay_terminal(master: &OwnedFd, forward_stdin: bool, sink: &mut dyn FnMut(&[u8])) {
    sys::pty::relay(master, forward_stdin, sink)
}
