//! One `hull` test's guard: the built `hull`, driven as a user would, with a temporary
//! `HULL_ROOT` of its own — never /var/lib/hull — so tests run in parallel without seeing each
//! other. Dropping [`Hull`] force-removes every container of its root (`hull rm -f`), then looks
//! for what must not survive that, all of it this test's own: mounts under its root, cgroups
//! named after its containers, processes running with its `HULL_ROOT` (a detached monitor),
//! temporaries no command is working on. It cleans them (lazy unmount, SIGKILL, rmdir) and, unless the test is already failing, fails the
//! test that left them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::*;

/// One test's `hull`: its own `HULL_ROOT` and a scratch directory (build contexts, volumes,
/// tarballs) outside it. Dropping it removes every container and checks nothing leaked.
pub struct Hull {
    pub bin: PathBuf,
    root: TempDir,
    scratch: TempDir,
    /// Short ids of every container seen, for the cgroup check on drop.
    seen: std::cell::RefCell<BTreeSet<String>>,
}

impl Hull {
    pub fn new() -> Hull {
        require_root();
        let bin = hull_bin();
        let root = tempfile::Builder::new()
            .prefix("hull-t-root-")
            .tempdir()
            .expect("cannot create a temporary HULL_ROOT");
        let scratch = tempfile::Builder::new()
            .prefix("hull-t-scratch-")
            .tempdir()
            .expect("cannot create a scratch directory");
        Hull {
            bin,
            root,
            scratch,
            seen: Default::default(),
        }
    }

    /// This test's `HULL_ROOT`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The test's scratch directory (outside `HULL_ROOT`).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// A directory for the test's own files (created if missing), outside `HULL_ROOT`.
    pub fn dir(&self, name: &str) -> PathBuf {
        let p = self.scratch.path().join(name);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        p
    }

    /// `hull ARGS…` with this test's `HULL_ROOT`, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("HULL_ROOT", self.root())
            // These tests run in the machine's own network namespace: like
            // `dockerd --bridge=none`, hull must not touch it (no bridge, no nft rules).
            .env("HULL_BRIDGE", "none")
            .env_remove("NO_COLOR");
        c
    }

    /// Runs `hull ARGS…` to completion.
    pub fn cmd(&self, args: &[&str]) -> Output {
        capture(self.command(args), CMD_TIMEOUT)
    }

    /// Runs `hull ARGS` (a shell line: quote as in a shell) under `script`, so that hull has a
    /// terminal on stdin as in a user's shell (what `-t` is for).
    pub fn in_terminal(&self, args: &str) -> Output {
        let line = format!("{} {args}", self.bin.display());
        let c = self.command(&[]);
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => script.env(k, v),
                None => script.env_remove(k),
            };
        }
        capture(script, CMD_TIMEOUT)
    }

    /// The `HostConfig` of a container run (to its end) from busybox with `flags`.
    pub fn inspect_created(&self, flags: &[&str]) -> Value {
        let mut args = vec!["run", "-d"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let id = self.ok(&args).trim().to_string();
        self.remember(&id);
        self.inspect(&id)["HostConfig"].clone()
    }

    /// Runs `hull ARGS…` in the background (e.g. `logs -f`).
    pub fn spawn(&self, args: &[&str]) -> Background {
        Background::spawn(self.command(args))
    }

    /// Runs `hull ARGS…`, which must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&must(&format!("hull {args:?}"), self.cmd(args)))
    }

    /// `hull ARGS…`'s exit code and combined output (for failure messages).
    pub fn code(&self, args: &[&str]) -> (i32, Output) {
        let out = self.cmd(args);
        (code(out.status), out)
    }

    /// `hull run -d --name NAME ARGS…`; returns the full id.
    pub fn detach(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert!(
            is_hex(&id, 64),
            "hull run -d printed {id:?}, not a 64-hex container id"
        );
        self.seen.borrow_mut().insert(id[..12].to_string());
        id
    }

    /// Remembers a container id (full or short) for the cgroup check on drop.
    pub fn remember(&self, id: &str) {
        self.seen
            .borrow_mut()
            .insert(id[..12.min(id.len())].to_string());
    }

    /// `hull inspect TARGET` parsed: the first (only) element of the array.
    pub fn inspect(&self, target: &str) -> Value {
        let text = self.ok(&["inspect", target]);
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("hull inspect {target} is not JSON ({e}): {text}"));
        let first = v
            .as_array()
            .and_then(|a| a.first())
            .unwrap_or_else(|| panic!("hull inspect {target} is not a non-empty array: {v}"));
        if let Some(id) = first["Id"].as_str().filter(|id| is_hex(id, 64)) {
            self.remember(id);
        }
        first.clone()
    }

    /// Waits for a container to stop; returns its inspect JSON.
    pub fn wait_exited(&self, target: &str, timeout: Duration) -> Value {
        poll(timeout, &format!("container {target} to exit"), || {
            let v = self.inspect(target);
            (v["State"]["Running"] == false && v["State"]["Status"] == "exited").then_some(v)
        })
    }

    /// Writes a build context (`files`: relative path, content, mode) with `dockerfile` as its
    /// Dockerfile, and builds it as `tag`. Returns the build's output (not checked).
    pub fn build_ctx(&self, tag: &str, dockerfile: &str, files: &[(&str, &str, u32)]) -> Output {
        let ctx = self.dir(&format!("ctx-{}", tag.replace([':', '/'], "-")));
        write_file(&ctx.join("Dockerfile"), dockerfile, 0o644);
        for (name, text, mode) in files {
            write_file(&ctx.join(name), text, *mode);
        }
        self.cmd(&["build", "-t", tag, ctx.to_str().expect("UTF-8 path")])
    }

    /// [`Hull::build_ctx`] that must succeed.
    pub fn build(&self, tag: &str, dockerfile: &str, files: &[(&str, &str, u32)]) {
        let out = self.build_ctx(tag, dockerfile, files);
        assert!(
            out.status.success(),
            "hull build -t {tag} failed for Dockerfile:\n{dockerfile}\n{}",
            describe(&out)
        );
    }

    /// Mount points at or below this test's `HULL_ROOT`, from /proc/self/mountinfo.
    pub fn mounts(&self) -> Vec<PathBuf> {
        mounts_under(self.root())
    }

    /// Processes (other than this one) whose environment has this test's `HULL_ROOT`: `hull`
    /// commands and detached monitors.
    pub fn hull_processes(&self) -> Vec<i32> {
        let want = std::ffi::OsString::from(self.root());
        let mut v: Vec<i32> = other_pids()
            .into_iter()
            .filter(|pid| !is_zombie(*pid))
            .filter(|pid| {
                procfs::process::Process::new(*pid)
                    .and_then(|p| p.environ())
                    .is_ok_and(|env| env.get(std::ffi::OsStr::new("HULL_ROOT")) == Some(&want))
            })
            .collect();
        v.sort();
        v
    }

    /// Container ids of this root: the directories under `containers/` (a crashed create
    /// leaves one without a record) and what `hull ps -aq` lists besides (short ids).
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = entries(&self.root().join("containers"))
            .into_iter()
            .filter(|n| is_hex(n, 64))
            .collect();
        let out = self.cmd(&["ps", "-aq"]);
        for l in stdout(&out)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !ids.iter().any(|id| id.starts_with(l)) {
                ids.push(l.to_string());
            }
        }
        ids
    }

    /// Everything this root could leave on the host, for before/after comparisons.
    pub fn leftovers(&self) -> Leftovers {
        let names: BTreeSet<String> = self
            .seen
            .borrow()
            .iter()
            .map(|s| format!("hull-{s}"))
            .collect();
        Leftovers {
            containers: entries(&self.root().join("containers")),
            // hullrt's compiled-seccomp cache is shared by all containers, not one's state.
            runtime_state: entries(&self.root().join("runtime"))
                .into_iter()
                .filter(|e| e != "@seccomp-cache")
                .collect(),
            mounts: self.mounts(),
            cgroups: cgroup_dirs_named_any(&names),
            processes: self.hull_processes(),
            staging: staging_entries(self.root()),
            machine_network: machine_network_changes(),
        }
    }
}

impl Default for Hull {
    fn default() -> Self {
        Hull::new()
    }
}

impl Drop for Hull {
    fn drop(&mut self) {
        for id in self.all_ids() {
            self.remember(&id);
            let _ = self.cmd(&["rm", "-f", &id]);
        }
        // A detached monitor records the end just after the container's death: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut left = self.leftovers();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = self.leftovers();
        }
        // Clean whatever is still there, so a failing test leaves nothing behind.
        for pid in &left.processes {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut mounts = left.mounts.clone();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in &mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        for c in &left.cgroups {
            kill_cgroup(c);
        }
        if !left.is_empty() && !std::thread::panicking() {
            panic!(
                "`hull rm -f` of every container left things behind under {}: {left:#?}",
                self.root().display()
            );
        }
    }
}
