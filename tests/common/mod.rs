//! Shared helpers for the conformance suite.
//!
//! The suite drives a runc-compatible OCI runtime as a user would. Which one is chosen by the
//! environment variable `HULL_OCI_RUNTIME` (a path to a binary); by default it is the `hullrt`
//! built next to the test executable (`target/<profile>/hullrt`).
//!
//! Every resource a test creates is owned by a guard: [`Ctx`] force-deletes its containers, kills
//! what is left in its cgroups, removes those cgroups, then removes its bundles and `--root`;
//! [`ShmSegment`] removes its SysV segment; [`Background`] kills and reaps its runtime process.
//! A failing test therefore cleans up after itself.
//!
//! Every container gets a relative, unique `linux.cgroupsPath` ("hull-test-<pid>-<n>-c<k>"):
//! runtimes put relative paths below their caller's cgroup, so tests only touch our own subtree.
//!
//! Tests run in parallel. The leak checks need a quiet host, so every [`Ctx`] holds a process-wide
//! lock: shared for ordinary tests, exclusive for [`Ctx::exclusive`] (used by the leak checks).
#![allow(dead_code, clippy::new_without_default)]

use std::cell::{Cell, RefCell};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Environment variable naming the runtime binary under test.
pub const RUNTIME_ENV: &str = "HULL_OCI_RUNTIME";
/// How long a single runtime command may take before the test fails.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a state change (e.g. `running` → `stopped`).
pub const STATE_TIMEOUT: Duration = Duration::from_secs(20);
/// The capability mask of the default set (CAP_AUDIT_WRITE | CAP_KILL | CAP_NET_BIND_SERVICE).
pub const DEFAULT_CAP_MASK: u64 = (1 << 29) | (1 << 5) | (1 << 10);
pub const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

mod bundle;
mod host;

pub use bundle::*;
pub use host::*;

// ---------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------

/// The runtime under test: `$HULL_OCI_RUNTIME`, else the built `hullrt`.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os(RUNTIME_ENV) {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "{RUNTIME_ENV}={} does not name a file (it must be the path of a runc-compatible runtime binary)",
                p.display()
            );
            p
        }
        _ => hullrt_bin(),
    }
}

/// The `hullrt` binary built by cargo next to the test executable (ignores `$HULL_OCI_RUNTIME`).
pub fn hullrt_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("cannot find the test executable's path");
    let mut dir = exe
        .parent()
        .expect("test executable has no parent dir")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("hullrt");
    assert!(
        bin.is_file(),
        "hullrt not found at {}: build it first: cargo build --bins -p hullrt (or --workspace; plain `cargo test` does not build it), or point {RUNTIME_ENV} at a runc-compatible runtime",
        bin.display()
    );
    bin
}

/// These tests create namespaces, mounts and cgroups: they need root.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the conformance suite needs root (namespaces, mounts, cgroups): run it as root"
    );
}

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

/// Exit code of a process as a shell reports it: the code, or 128 + the signal that killed it.
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

/// A readable description of a finished command, for assertion messages.
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

/// Runs `cmd` with stdin from /dev/null and stdout/stderr captured in unnamed temp files (never
/// pipes: a container inherits them and could hold them open), with a timeout.
pub fn capture(mut cmd: StdCommand, timeout: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut out = tempfile::tempfile().expect("cannot create a temp file for stdout");
    let mut err = tempfile::tempfile().expect("cannot create a temp file for stderr");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup stdout file"))
        .stderr(err.try_clone().expect("dup stderr file"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
    drop(cmd);
    let status = wait_child(&mut child, timeout, &what);
    let read = |f: &mut fs::File| {
        let mut buf = Vec::new();
        f.seek(SeekFrom::Start(0)).expect("seek temp file");
        f.read_to_end(&mut buf).expect("read temp file");
        buf
    };
    Output {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    }
}

/// Polls `f` every 10 ms until it returns `Some`, or panics after `timeout` with `what`.
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

/// A runtime process started in the background (e.g. a foreground `run`); killed and reaped on drop.
pub struct Background {
    pub child: Child,
    what: String,
}

impl Background {
    pub fn spawn(mut cmd: StdCommand) -> Background {
        let what = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {what}: {e}"));
        Background { child, what }
    }

    /// Exit code (128 + signal when killed) after waiting at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        code(wait_child(&mut self.child, timeout, &self.what))
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

// ---------------------------------------------------------------------------------------------
// Test context
// ---------------------------------------------------------------------------------------------

static HOST_LOCK: RwLock<()> = RwLock::new(());
static NEXT: AtomicUsize = AtomicUsize::new(0);

enum HostLock {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// Per-test context: a runtime binary, a private `--root`, a unique container id and a unique
/// cgroup token. Dropping it force-deletes every container it named and removes its cgroups.
pub struct Ctx {
    pub bin: PathBuf,
    root: TempDir,
    /// The primary container id.
    pub id: String,
    /// Every cgroup of this test contains this token ("hull-test-<pid>-<n>-").
    pub token: String,
    ids: RefCell<Vec<String>>,
    next_cgroup: Cell<usize>,
    // Fields drop after `Drop::drop` (the cleanup), in this order: bundles, then the lock.
    bundles: RefCell<Vec<TempDir>>,
    _lock: HostLock,
}

impl Ctx {
    /// A context for the runtime under test, sharing the host with other tests.
    pub fn new() -> Ctx {
        Ctx::build(runtime_bin(), false)
    }

    /// A context for the runtime under test that runs alone (leak snapshots are exact).
    pub fn exclusive() -> Ctx {
        Ctx::build(runtime_bin(), true)
    }

    /// A context for the built `hullrt`, whatever `$HULL_OCI_RUNTIME` says.
    pub fn hullrt(exclusive: bool) -> Ctx {
        Ctx::build(hullrt_bin(), exclusive)
    }

    fn build(bin: PathBuf, exclusive: bool) -> Ctx {
        require_root();
        let lock = if exclusive {
            HostLock::Exclusive(HOST_LOCK.write().unwrap_or_else(|e| e.into_inner()))
        } else {
            HostLock::Shared(HOST_LOCK.read().unwrap_or_else(|e| e.into_inner()))
        };
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let root = tempfile::Builder::new()
            .prefix("hull-root-")
            .tempdir()
            .expect("cannot create a --root tempdir");
        let id = format!("hull-{pid}-{n}");
        Ctx {
            bin,
            root,
            ids: RefCell::new(vec![id.clone()]),
            id,
            token: format!("hull-test-{pid}-{n}-"),
            next_cgroup: Cell::new(0),
            bundles: RefCell::new(Vec::new()),
            _lock: lock,
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Another container id owned (and cleaned up) by this context.
    pub fn new_id(&self) -> String {
        let mut ids = self.ids.borrow_mut();
        let id = format!("{}-{}", self.id, ids.len());
        ids.push(id.clone());
        id
    }

    /// A new bundle whose cgroupsPath is unique and carries this context's token.
    pub fn bundle(&self) -> Bundle {
        let k = self.next_cgroup.get();
        self.next_cgroup.set(k + 1);
        let dir = tempfile::Builder::new()
            .prefix("hull-bundle-")
            .tempdir()
            .expect("cannot create a bundle tempdir");
        let b = Bundle::init(dir.path(), &format!("{}c{k}", self.token));
        self.bundles.borrow_mut().push(dir);
        b
    }

    /// `<rt> --root R` as an assert_cmd command.
    pub fn rt(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(&self.bin);
        c.arg("--root").arg(self.root()).timeout(CMD_TIMEOUT);
        c
    }

    /// `<rt> --root R` as a std command (for background processes).
    pub fn rt_std(&self) -> StdCommand {
        let mut c = StdCommand::new(&self.bin);
        c.arg("--root").arg(self.root());
        c
    }

    /// Runs `<rt> --root R ARGS...` (stdio in files, bounded time) and returns its output.
    pub fn cmd(&self, args: &[&str]) -> Output {
        let mut c = self.rt_std();
        c.args(args);
        capture(c, CMD_TIMEOUT)
    }

    pub fn create_id(&self, bundle: &Bundle, id: &str) -> Output {
        self.cmd(&["create", "--bundle", path_str(bundle.path()), id])
    }

    /// `create` of the primary id; the container's stdio goes to files, never to our pipes.
    pub fn create(&self, bundle: &Bundle) -> Output {
        self.create_id(bundle, &self.id)
    }

    /// `create` that must succeed.
    pub fn create_ok(&self, bundle: &Bundle) {
        must("create", self.create(bundle));
    }

    pub fn start(&self, id: &str) -> Output {
        self.cmd(&["start", id])
    }

    pub fn start_ok(&self, id: &str) {
        must("start", self.start(id));
    }

    pub fn kill(&self, id: &str, signal: &str) -> Output {
        self.cmd(&["kill", id, signal])
    }

    pub fn delete(&self, id: &str) -> Output {
        self.cmd(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.cmd(&["delete", "--force", id])
    }

    pub fn exec(&self, id: &str, args: &[&str]) -> Output {
        let mut all = vec!["exec", id];
        all.extend_from_slice(args);
        self.cmd(&all)
    }

    /// `run` of the primary id in the foreground, to completion.
    pub fn run(&self, bundle: &Bundle) -> Output {
        self.run_id(bundle, &self.id)
    }

    /// `run` of `id` in the foreground, to completion.
    pub fn run_id(&self, bundle: &Bundle, id: &str) -> Output {
        self.cmd(&["run", "--bundle", path_str(bundle.path()), id])
    }

    /// `run` of the primary id as a background process.
    pub fn run_background(&self, bundle: &Bundle) -> Background {
        let mut c = self.rt_std();
        c.args(["run", "--bundle", path_str(bundle.path()), &self.id]);
        Background::spawn(c)
    }

    pub fn try_state(&self, id: &str) -> Output {
        self.cmd(&["state", id])
    }

    /// `state ID` parsed; panics if the command fails or the output is not JSON.
    pub fn state(&self, id: &str) -> Value {
        let out = must(&format!("state {id}"), self.try_state(id));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("state {id} printed invalid JSON ({e}): {}", stdout(&out)))
    }

    /// The `status` of `id`, or None when `state` fails.
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.try_state(id);
        if !out.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v["status"].as_str().map(String::from)
    }

    /// Polls `state` until `status` is reached; panics with the last state after `timeout`.
    pub fn wait_for_status(&self, id: &str, status: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.status(id).as_deref() == Some(status) {
                return;
            }
            if Instant::now() >= deadline {
                let out = self.try_state(id);
                panic!(
                    "container {id} did not reach status {status:?} within {timeout:?}; last state: {}",
                    describe(&out)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The host pid of `id`'s process, from `state`.
    pub fn pid(&self, id: &str) -> i32 {
        let st = self.state(id);
        let pid = st["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("state {id} has no numeric pid: {st}"));
        assert!(pid > 0, "state {id} reports pid {pid}: {st}");
        pid as i32
    }

    /// What is on the host for this test: see [`Snapshot`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            mounts: read_lines("/proc/self/mountinfo"),
            cgroup_dirs: cgroup_dirs_with(&self.token),
            processes: pids_in_cgroups_with(&self.token),
            state_entries: dir_entries(self.root()),
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let mut c = self.rt_std();
            c.args(["delete", "--force", id]);
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Ok(mut child) = c.spawn() {
                let deadline = Instant::now() + CMD_TIMEOUT;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        remove_cgroups_with(&self.token);
    }
}

/// `<rt> --root R` for `ctx`, as an assert_cmd command (same as [`Ctx::rt`]).
pub fn rt(ctx: &Ctx) -> assert_cmd::Command {
    ctx.rt()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}
