//! Running commands: stdin from /dev/null, stdout and stderr in unnamed temporary files (never
//! pipes: a container or a detached monitor could inherit a pipe and keep a reader waiting),
//! and a time limit after which the command is killed and the test fails.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one command (a runtime verb, a `hull` command, `ip`…) may take.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Exit code as a shell reports it: the code, or 128 + the signal that killed the process.
pub fn code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A finished command, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        code(out.status),
        stdout(out),
        stderr(out)
    )
}

/// Panics unless `out` succeeded; returns it for chaining.
pub fn must(what: &str, out: Output) -> Output {
    assert!(out.status.success(), "{what} failed: {}", describe(&out));
    out
}

/// Polls `f` every 10 ms until it returns `Some`, or panics after `timeout` naming `what`.
pub fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` at most `timeout`; on timeout kills it (it is ours) and panics.
pub fn wait_child(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait on a child failed") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?} (killed it)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A command started in the background, its output going to temporary files; killed and
/// reaped on drop if still running.
pub struct Background {
    pub child: Child,
    out: fs::File,
    err: fs::File,
    what: String,
}

impl Background {
    pub fn spawn(cmd: Command) -> Background {
        Background::spawn_with_stdin(cmd, Stdio::null())
    }

    /// [`Background::spawn`] with `stdin` instead of /dev/null (e.g. a pipe the test keeps
    /// open, for a command that must not see its input end).
    pub fn spawn_with_stdin(mut cmd: Command, stdin: Stdio) -> Background {
        let what = format!("{cmd:?}");
        let out = tempfile::tempfile().expect("cannot create a temp file for stdout");
        let err = tempfile::tempfile().expect("cannot create a temp file for stderr");
        cmd.stdin(stdin)
            .stdout(out.try_clone().expect("dup the stdout file"))
            .stderr(err.try_clone().expect("dup the stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
        Background {
            child,
            out,
            err,
            what,
        }
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Exit code (128 + signal when killed) after waiting at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        code(wait_child(&mut self.child, timeout, &self.what))
    }

    /// Waits at most `timeout` (panics after killing it) and returns what it printed.
    pub fn finish(mut self, timeout: Duration) -> Output {
        let status = wait_child(&mut self.child, timeout, &self.what);
        let read = |f: &mut fs::File| {
            let mut buf = Vec::new();
            f.seek(SeekFrom::Start(0)).expect("seek a temp file");
            f.read_to_end(&mut buf).expect("read a temp file");
            buf
        };
        Output {
            status,
            stdout: read(&mut self.out),
            stderr: read(&mut self.err),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to completion (bounded by `timeout`) with its output captured in files.
pub fn capture(cmd: Command, timeout: Duration) -> Output {
    Background::spawn(cmd).finish(timeout)
}

/// Runs `program ARGS…` to completion (bounded by [`CMD_TIMEOUT`]).
pub fn run(program: &str, args: &[&str]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    capture(c, CMD_TIMEOUT)
}

/// [`run`] that must succeed; its stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        describe(&out)
    );
    stdout(&out)
}
