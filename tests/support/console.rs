//! The client side of runc's console-socket protocol, as conmon plays it: listen on a Unix
//! socket, receive the pty master the container's process sends, read what it writes.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// A listening console socket in a directory of its own (removed on drop).
pub struct ConsoleSocket {
    dir: tempfile::TempDir,
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = tempfile::tempdir().expect("tempdir for the console socket");
        let listener =
            UnixListener::bind(dir.path().join("console.sock")).expect("bind console socket");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        ConsoleSocket { dir, listener }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("console.sock")
    }

    /// The master sent by the next runtime that connects, within `timeout`.
    pub fn receive_master(&self, timeout: Duration) -> OwnedFd {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "nobody connected to the console socket"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept on the console socket: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(timeout)).unwrap();
        let mut name = [0u8; 64];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .expect("recvmsg on the console socket");
        for cmsg in msg.cmsgs().expect("control messages") {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                // SAFETY: SCM_RIGHTS gave us this new descriptor.
                return unsafe { OwnedFd::from_raw_fd(fds[0]) };
            }
        }
        panic!("the runtime sent no file descriptor over the console socket");
    }
}

/// Everything written to the terminal until its last writer is gone (EIO) or `timeout`.
pub fn read_terminal(master: &OwnedFd, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("poll on the pty master: {e}"),
            Ok(_) => {}
        }
        match nix::unistd::read(master, &mut buf) {
            Ok(0) | Err(nix::errno::Errno::EIO) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("read from the pty master: {e}"),
        }
    }
    String::from_utf8_lossy(&text).replace("\r\n", "\n")
}

/// Write to the terminal (the container's program reads it as typed input).
pub fn type_into(master: &OwnedFd, text: &str) {
    nix::unistd::write(master, text.as_bytes()).expect("write to the pty master");
}
