//! Pseudo-terminals for `process.terminal`: open one, send its master over a console socket
//! (runc's protocol), or relay it to our own stdio for a foreground `run`.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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

/// Relay a terminal until every holder of its slave side is gone: what the program writes
/// goes to `sink`, and with `forward_stdin` what we read on stdin goes to the program.
pub fn relay(master: &OwnedFd, forward_stdin: bool, sink: &mut dyn FnMut(&[u8])) {
    let mut buf = [0u8; 8192];
    let stdin = std::io::stdin();
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if forward_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::from(1000u16)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
        let (out_ready, in_ready) = (ready(&fds[0]), fds.get(1).is_some_and(ready));
        if in_ready {
            if let Ok(n @ 1..) = nix::unistd::read(&stdin, &mut buf) {
                let _ = nix::unistd::write(master, &buf[..n]);
            }
        }
        if out_ready {
            match nix::unistd::read(master, &mut buf) {
                Ok(n) if n > 0 => sink(&buf[..n]),
                // EIO: the last process holding the slave side has exited.
                _ => return,
            }
        }
    }
}
