//! Pseudo-terminals for `process.terminal`: open one, send its master over a console socket
//! (runc's protocol), or relay it to our own stdio for a foreground `run`.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{IoContext, Result, SysContext};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

pub fn open() -> Result<Pty> {
    let size = current_size();
    let r = nix::pty::openpty(size.as_ref(), None).ctx(|| "openpty".to_string())?;
    Ok(Pty {
        master: r.master,
        slave: r.slave,
    })
}

fn current_size() -> Option<nix::pty::Winsize> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into our local.
    let rc = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0).then_some(ws)
}

/// Send the master to whoever listens on `socket`, as runc's `--console-socket` does.
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<()> {
    let stream = UnixStream::connect(socket).at("connect console socket", socket)?;
    let fds = [master.as_raw_fd()];
    let name = b"/dev/ptmx";
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .ctx(|| format!("send the pty master over {}", socket.display()))?;
    Ok(())
}

/// Our terminal in raw mode while we relay, restored on drop.
pub struct RawMode(Option<Termios>);

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        RawMode(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}

/// Copy stdin → master and master → stdout for up to `timeout_ms`; false once the master is
/// closed (every process holding the slave has exited).
pub fn relay_once(master: &OwnedFd, timeout_ms: u16) -> bool {
    let stdin = std::io::stdin();
    let mut fds = [
        PollFd::new(stdin.as_fd_compat(), PollFlags::POLLIN),
        PollFd::new(master_fd(master), PollFlags::POLLIN),
    ];
    if poll(&mut fds, PollTimeout::from(timeout_ms)).unwrap_or(0) <= 0 {
        return true;
    }
    let mut buf = [0u8; 4096];
    let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
    let (in_ready, master_ready) = (ready(&fds[0]), ready(&fds[1]));
    if in_ready {
        match nix::unistd::read(0, &mut buf) {
            Ok(n) if n > 0 => {
                let _ = nix::unistd::write(master, &buf[..n]);
            }
            _ => {}
        }
    }
    if master_ready {
        match nix::unistd::read(master.as_raw_fd(), &mut buf) {
            Ok(n) if n > 0 => {
                let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
            }
            _ => return false,
        }
    }
    true
}

fn master_fd(master: &OwnedFd) -> std::os::fd::BorrowedFd<'_> {
    use std::os::fd::AsFd;
    master.as_fd()
}

trait AsFdCompat {
    fn as_fd_compat(&self) -> std::os::fd::BorrowedFd<'_>;
}

impl AsFdCompat for std::io::Stdin {
    fn as_fd_compat(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.as_fd()
    }
}
