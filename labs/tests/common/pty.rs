//! A learner's terminal, driven by a test: `hull-lab ARGS` on a pseudo-terminal of its own
//! (its controlling terminal, a session of its own), everything it prints collected.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Terminal {
    pub child: Child,
    master: std::fs::File,
    pub slave: OwnedFd,
    pub seen: Arc<Mutex<String>>,
}

impl Terminal {
    /// Starts `cmd` with the terminal as its stdin, stdout and stderr.
    pub fn spawn(mut cmd: Command) -> Terminal {
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        // SAFETY: setsid and an ioctl between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(pty.master);
        let seen = Arc::new(Mutex::new(String::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal {
            child,
            master,
            slave,
            seen,
        }
    }

    pub fn type_line(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\r").unwrap();
    }

    /// Everything shown so far, once it contains `what`; fails the test after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if seen.contains(what) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {what:?}; it showed:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The program's exit status, once it has ended; fails the test after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the program did not end; the terminal showed:\n{}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
