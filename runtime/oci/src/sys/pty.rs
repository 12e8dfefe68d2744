//! Pseudo-terminals for `process.terminal`. As in runc, the container's process opens its pty
//! from the container's own devpts (so `tty` says `/dev/pts/0`) and sends the master over a
//! console socket; whoever holds the other end (a client such as conmon, or hullrt relaying to
//! its own terminal for a foreground `run`/`exec`) receives it.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{IoContext, Result, SysContext};

/// A connected pair of Unix stream sockets for the console protocol: the caller keeps the
/// first and receives the master on it; the second goes to the container's process.
pub fn console_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ctx(|| "socketpair for the console".to_string())
}

/// Connect to a client's `--console-socket`.
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd> {
    let stream = UnixStream::connect(path).at("connect console socket", path)?;
    Ok(OwnedFd::from(stream))
}

/// A new pty from the devpts mounted at `/dev/pts` of the calling process's mount namespace
/// (through `/dev/ptmx`): its master, its slave and the slave's path. The slave is opened from
/// the master (TIOCGPTPEER), not by path, so nothing swapped into /dev/pts can stand in for it.
pub fn open_inside() -> Result<(OwnedFd, OwnedFd, PathBuf)> {
    let ptmx = Path::new("/dev/ptmx");
    let master = nix::fcntl::open(
        ptmx,
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "open /dev/ptmx (process.terminal needs a devpts mounted at /dev/pts)".to_string())?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int from our local.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    nix::errno::Errno::result(rc).ctx(|| "unlock the pty (TIOCSPTLCK)".to_string())?;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int into our local.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) };
    nix::errno::Errno::result(rc).ctx(|| "read the pty's number (TIOCGPTN)".to_string())?;
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new descriptor.
    let slave = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    nix::errno::Errno::result(slave).ctx(|| "open the pty's slave (TIOCGPTPEER)".to_string())?;
    // SAFETY: the ioctl returned a new descriptor that nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    Ok((master, slave, PathBuf::from(format!("/dev/pts/{number}"))))
}

/// Send the master over a connected console socket, named as runc names it.
pub fn send_master_over(socket: BorrowedFd<'_>, master: &OwnedFd) -> Result<()> {
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"/dev/ptmx")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .ctx(|| "send the pty master over the console socket".to_string())?;
    Ok(())
}

/// Receive the master the container's process sent; fails when it closed the socket first
/// (it could not set up its terminal: its own error says why).
pub fn receive_master(socket: &OwnedFd) -> Result<OwnedFd> {
    let mut name = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ctx(|| "receive the pty master from the container".to_string())?;
    for cmsg in msg.cmsgs().ctx(|| "read the console message".to_string())? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: SCM_RIGHTS gave us a new descriptor that nothing else owns.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(crate::error::Error::Child(
        "the container's process closed the console socket without sending its terminal".into(),
    ))
}

/// Give the terminal our own terminal's size (if we have one), before its program starts.
pub fn size_like_ours(master: &OwnedFd) {
    if let Some(ws) = current_size() {
        // SAFETY: TIOCSWINSZ reads a winsize from our local.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
}

fn current_size() -> Option<nix::pty::Winsize> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into our local.
    let rc = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0).then_some(ws)
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
    // Cleared at the end of our input: a closed stdin polls ready forever.
    let mut forward_stdin = forward_stdin;
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
            match nix::unistd::read(&stdin, &mut buf) {
                Ok(n @ 1..) => {
                    let _ = nix::unistd::write(master, &buf[..n]);
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                _ => forward_stdin = false,
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
