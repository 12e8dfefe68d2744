//! One OCI-runtime test's context: a runtime binary, a private `--root`, unique container ids,
//! bundles, and a cgroup token. It is the guard of all of them.
//!
//! Every container gets a relative, unique `linux.cgroupsPath` ("hull-test-<pid>-<n>-c<k>"):
//! runtimes put relative paths below their caller's cgroup, so a test only touches its own
//! subtree, and finds what it left by that token alone.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::*;

/// How long to wait for a state change (e.g. `running` → `stopped`).
pub const STATE_TIMEOUT: Duration = Duration::from_secs(20);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Per-test context. Dropping it force-deletes every container it named, kills what is left in
/// its cgroups and removes them, lazily unmounts whatever is still mounted below its own
/// directories, then removes its bundles and `--root`. A failing test therefore cleans up
/// after itself, and never touches what another test (or another run of the suite) owns.
pub struct Ctx {
    pub bin: PathBuf,
    root: TempDir,
    /// The primary container id.
    pub id: String,
    /// Every cgroup of this test contains this token ("hull-test-<pid>-<n>-").
    pub token: String,
    ids: RefCell<Vec<String>>,
    next_cgroup: Cell<usize>,
    // Dropped after `Drop::drop` (the cleanup).
    bundles: RefCell<Vec<TempDir>>,
}

impl Ctx {
    /// A context for the runtime under test (`$HULL_OCI_RUNTIME`, else the built `hullrt`).
    pub fn new() -> Ctx {
        Ctx::build(runtime_bin())
    }

    /// A context for the built `hullrt`, whatever `$HULL_OCI_RUNTIME` says.
    pub fn hullrt() -> Ctx {
        Ctx::build(hullrt_bin())
    }

    fn build(bin: PathBuf) -> Ctx {
        require_root();
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
        }
    }

    /// This test's `--root` (the runtime's state directory).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The directories this test owns: its `--root` and its bundles.
    pub fn own_dirs(&self) -> Vec<PathBuf> {
        let mut v = vec![self.root().to_path_buf()];
        v.extend(self.bundles.borrow().iter().map(|d| d.path().to_path_buf()));
        v
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

    /// `<rt> --root R`, not started yet (e.g. for a background process).
    pub fn rt_std(&self) -> Command {
        let mut c = Command::new(&self.bin);
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

    /// A new container of `bundle`, created and started; its id.
    pub fn started(&self, bundle: &Bundle) -> String {
        let id = self.new_id();
        must("create", self.create_id(bundle, &id));
        self.start_ok(&id);
        id
    }

    /// SIGKILL, wait for `stopped`, delete: the end of a test's running container.
    pub fn kill_and_delete(&self, id: &str) {
        must("kill", self.kill(id, "KILL"));
        self.wait_for_status(id, "stopped", STATE_TIMEOUT);
        must("delete", self.delete(id));
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

    /// What this test has on the host: see [`Snapshot`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            mounts: mounts_under_any(&self.own_dirs()),
            cgroup_dirs: cgroup_dirs_with(&self.token),
            processes: pids_in_cgroups_with(&self.token),
            state_entries: entries(self.root()),
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
        // Deepest first, so that the directories can go.
        let mut left = mounts_under_any(&self.own_dirs());
        left.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in &left {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}
