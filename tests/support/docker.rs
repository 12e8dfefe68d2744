//! Docker as the reference for the differential suite (tests/docker_diff.rs): Debian's
//! `docker.io` (20.10), always as /usr/bin/docker and /usr/sbin/dockerd (whatever else is on
//! `PATH`: /usr/local/bin/docker may be an unrelated client). One [`Docker`] is one dockerd of
//! the test's own, kept apart from the host and from every other dockerd:
//!
//! - **Its own directories** in one short temporary directory (`/tmp/hdd-XXXXXX`: the exec
//!   root holds unix sockets, whose paths are limited to 108 bytes): `--data-root`,
//!   `--exec-root`, `--pidfile`, the API socket, its `--config-file` (so /etc/docker/daemon.json
//!   does not count), its trust key (`deprecated-key-path` in that file: else /etc/docker/key.json), the
//!   client's `DOCKER_CONFIG` and the daemon's log.
//! - **Its own mount namespace**, private, with a tmpfs on /run: every mount dockerd makes (the
//!   containers' overlays, their network namespaces' bind mounts) stays in it, and what
//!   containerd and its shims write to fixed paths (/run/containerd/s/…, /run/docker/…) lands
//!   in that tmpfs. The namespace ends with its last process, taking all of that with it.
//! - **cgroups only below this process's own cgroup**, in every hierarchy: the `cgroupfs`
//!   driver and a *relative* `--cgroup-parent` named by the test's token. runc counts a
//!   relative path from its own cgroup, which is ours (dockerd, containerd and the shims stay
//!   in the cgroup we started dockerd in), so a container's cgroup is
//!   `<our cgroup>/<token>/<container id>` wherever our cgroup is (on this CI host
//!   memory:/process_api/<hash>, the others /).
//! - **No network changes**: `--bridge=none --iptables=false --ip-forward=false
//!   --ip-masq=false`; the suite runs its containers with `--network none`.
//! - **The image from no registry**: `docker import` of the very layer hull's own `busybox`
//!   image has (see [`Docker::import_busybox`]).
//!
//! Dropping a [`Docker`] removes every container, stops dockerd by its pid (SIGTERM, then
//! SIGKILL), waits for containerd and the shims to go, then checks that nothing of this test
//! is left ([`DockerLeftovers`], all found by what only this test owns: its mount namespace,
//! its directory, its cgroup token). It cleans whatever it finds (SIGKILL, rmdir, lazy
//! unmount, then the directory) and, unless the test is already failing, fails the test.
//! dockerd also gets SIGKILL as its parent-death signal (the death of the thread that started
//! it: start it from the test's own thread), for a test process that is killed.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

/// Debian's docker client (not /usr/local/bin/docker).
pub const DOCKER_BIN: &str = "/usr/bin/docker";
/// Debian's daemon.
pub const DOCKERD_BIN: &str = "/usr/sbin/dockerd";
/// How long dockerd may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long dockerd may take to stop after SIGTERM (it stops containerd too).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long containerd, the shims and the containers may take to go after dockerd.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The `PATH` dockerd runs with: it finds containerd, runc and docker-init there, so only the
/// distribution's directories.
const DAEMON_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// What a [`Docker`] can leave on the host, each found by what only this test owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerLeftovers {
    /// Live processes in dockerd's mount namespace, whose command line names the test's
    /// directory (containerd, the shims) or that are in one of its cgroups.
    pub processes: Vec<i32>,
    /// Mount points below the test's directory in our (the host's) mount namespace.
    pub mounts: Vec<PathBuf>,
    /// Container cgroups: below `<token>` in any hierarchy (the token's own directory, which
    /// runc makes and nobody removes, is the test's to remove and not counted).
    pub container_cgroups: Vec<PathBuf>,
}

impl DockerLeftovers {
    pub fn is_empty(&self) -> bool {
        *self == DockerLeftovers::default()
    }
}

/// One test's dockerd: see the module documentation.
pub struct Docker {
    dir: TempDir,
    child: Child,
    /// The inode of dockerd's mount namespace (`/proc/PID/ns/mnt`).
    mount_ns: u64,
    /// The `--cgroup-parent` (relative): the name of this test's cgroup in every hierarchy.
    pub token: String,
}

impl Docker {
    /// Starts a dockerd of this test's own and waits until it answers. Panics (does not
    /// skip), saying why, when Docker is not installed or dockerd cannot start.
    pub fn start() -> Docker {
        require_root();
        for bin in [DOCKER_BIN, DOCKERD_BIN] {
            assert!(
                Path::new(bin).is_file(),
                "{bin} not found: the differential suite compares hull with Debian's docker.io \
                 (scripts/test.sh installs it: apt-get install docker.io; another `docker` on \
                 PATH is not used)"
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("hdd-")
            .tempdir_in("/tmp")
            .expect("cannot create the dockerd test directory in /tmp");
        let token = format!(
            "hull-dd-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let p = |name: &str| dir.path().join(name);
        for d in ["d", "e", "cfg"] {
            fs::create_dir_all(p(d)).unwrap_or_else(|e| panic!("mkdir {}: {e}", p(d).display()));
        }
        // The trust key has no flag: else dockerd writes /etc/docker/key.json.
        let config = serde_json::json!({ "deprecated-key-path": p("key.json") });
        write_file(&p("daemon.json"), &format!("{config}\n"), 0o644);
        let log = fs::File::create(p("dockerd.log")).expect("create the dockerd log");
        let mut cmd = Command::new(DOCKERD_BIN);
        cmd.args(["--config-file", path_str(&p("daemon.json"))])
            .args(["--data-root", path_str(&p("d"))])
            .args(["--exec-root", path_str(&p("e"))])
            .args(["--pidfile", path_str(&p("dockerd.pid"))])
            .args(["-H", &format!("unix://{}", path_str(&p("s")))])
            .args(["--bridge=none", "--iptables=false", "--ip-forward=false"])
            .args(["--ip-masq=false", "--userland-proxy=false"])
            .args(["--exec-opt", "native.cgroupdriver=cgroupfs"])
            .args(["--cgroup-parent", &token])
            .env("PATH", DAEMON_PATH)
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the dockerd log"))
            .stderr(log);
        // SAFETY: between fork and exec only syscalls, on paths that need no allocation.
        unsafe {
            cmd.pre_exec(|| {
                use nix::mount::{mount, MsFlags};
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )?;
                mount(
                    Some("hull-dockerd-run"),
                    "/run",
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some("mode=0755"),
                )?;
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DOCKERD_BIN}: {e}"));
        let mount_ns = fs::metadata(format!("/proc/{}/ns/mnt", child.id()))
            .map(|m| m.ino())
            .unwrap_or_else(|e| panic!("dockerd's mount namespace: {e}"));
        let mut d = Docker {
            dir,
            child,
            mount_ns,
            token,
        };
        d.wait_ready();
        d
    }

    /// Polls `docker version` until the daemon answers; panics with the daemon's log when it
    /// exits or does not answer in time.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dockerd could not start (it exited with {status}); its log:\n{}",
                    self.log_tail(40)
                );
            }
            let out = self.cmd(&["version", "--format", "{{.Server.Version}}"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within {START_TIMEOUT:?}: `docker version` said {}\n\
                 dockerd's log:\n{}",
                describe(&out),
                self.log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The test's directory (data root, exec root, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// dockerd's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The last `lines` lines of dockerd's log (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `docker ARGS…` against this dockerd (the legacy builder, as 20.10's default), not
    /// started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER_BIN);
        c.args(args)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", path_str(&self.dir().join("s"))),
            )
            .env("DOCKER_CONFIG", self.dir().join("cfg"))
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        c
    }

    /// Runs `docker ARGS…` to completion.
    pub fn cmd(&self, args: &[&str]) -> Output {
        capture(self.command(args), CMD_TIMEOUT)
    }

    /// Runs `docker ARGS…`, which must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&must(&format!("docker {args:?}"), self.cmd(args)))
    }

    /// Imports hull's `busybox` as `busybox:latest`: the same layer (taken from `hull save`)
    /// and the same config (`CMD ["sh"]` and Docker's `PATH`).
    pub fn import_busybox(&self, hull: &Hull) {
        let tarball = self.dir().join("hull-busybox.tar");
        hull.ok(&["save", "-o", path_str(&tarball), "busybox"]);
        let file = fs::File::open(&tarball).expect("open hull's saved busybox");
        let mut archive = tar::Archive::new(file);
        let mut files = std::collections::BTreeMap::new();
        for e in archive.entries().expect("read hull's saved busybox") {
            let mut e = e.expect("read an entry of hull's saved busybox");
            let name = e.path().expect("an entry's path").display().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).expect("read an entry's data");
            files.insert(name, data);
        }
        let manifest: serde_json::Value = serde_json::from_slice(
            files
                .get("manifest.json")
                .expect("hull save wrote no manifest.json"),
        )
        .expect("hull save's manifest.json is not JSON");
        let layers = manifest[0]["Layers"]
            .as_array()
            .expect("manifest.json: no Layers");
        assert_eq!(layers.len(), 1, "hull's busybox has one layer: {manifest}");
        let layer_name = layers[0].as_str().expect("a layer path");
        let layer = self.dir().join("busybox-layer.tar");
        fs::write(&layer, &files[layer_name]).expect("write the busybox layer");
        self.ok(&[
            "import",
            "--change",
            r#"CMD ["sh"]"#,
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            path_str(&layer),
            "busybox:latest",
        ]);
    }

    /// Checks the rule this dockerd is set up for: a container's cgroups are below this
    /// process's own, in `<own cgroup>/<token>/…`, in every hierarchy.
    pub fn assert_cgroups_below_own(&self) {
        let own: Vec<(u32, String)> = procfs::process::Process::myself()
            .and_then(|p| p.cgroups())
            .expect("read /proc/self/cgroup")
            .0
            .into_iter()
            .map(|c| (c.hierarchy, c.pathname))
            .collect();
        let seen = self.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "cat",
            "/proc/self/cgroup",
        ]);
        for line in seen.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(h), Some(_), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("a line of a container's /proc/self/cgroup: {line:?}");
            };
            let h: u32 = h
                .parse()
                .unwrap_or_else(|_| panic!("hierarchy in {line:?}"));
            let mine = own
                .iter()
                .find(|(oh, _)| *oh == h)
                .map(|(_, p)| p.trim_end_matches('/'))
                .unwrap_or_else(|| panic!("this process has no cgroup in hierarchy {h}"));
            let below = format!("{mine}/{}/", self.token);
            assert!(
                path.starts_with(&below),
                "a Docker container's cgroup {path:?} (hierarchy {h}) is not below this \
                 process's own, {below:?}: dockerd must make cgroups only there"
            );
        }
    }

    /// Live processes of this dockerd: in its mount namespace, naming its directory on their
    /// command line, or in its cgroups; dockerd itself included while it runs.
    pub fn processes(&self) -> Vec<i32> {
        let dir = path_str(self.dir());
        let in_cgroups = pids_in_cgroups_with(&self.token);
        let mut v: Vec<i32> = other_pids()
            .into_iter()
            .filter(|pid| !is_zombie(*pid))
            .filter(|pid| {
                let ns = fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino());
                let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                    .unwrap_or_default();
                ns.is_ok_and(|ns| ns == self.mount_ns)
                    || cmdline.contains(dir)
                    || in_cgroups.contains(pid)
            })
            .collect();
        v.sort();
        v
    }

    /// The cgroup directories carrying the token: its own (one per hierarchy) and those of
    /// containers below them.
    fn token_cgroups(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        cgroup_dirs_with(&self.token)
            .into_iter()
            .partition(|d| d.file_name().is_some_and(|n| *n == *self.token))
    }

    /// What this dockerd left: see [`DockerLeftovers`].
    pub fn leftovers(&self) -> DockerLeftovers {
        DockerLeftovers {
            processes: self.processes(),
            mounts: mounts_under(self.dir()),
            container_cgroups: self.token_cgroups().1,
        }
    }

    /// Removes every container, then stops dockerd: SIGTERM, SIGKILL after [`STOP_TIMEOUT`].
    fn stop_daemon(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let ids = self.cmd(&["ps", "-aq"]);
            let ids: Vec<String> = stdout(&ids).split_whitespace().map(String::from).collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.cmd(&args);
            }
            let pid = nix::unistd::Pid::from_raw(self.pid());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        self.stop_daemon();
        let deadline = Instant::now() + SETTLE_TIMEOUT;
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
        // The containers' cgroups (none, unless something leaked), then the token's own.
        remove_cgroups_with(&self.token);
        let (own, _) = self.token_cgroups();
        if !left.is_empty() && !std::thread::panicking() {
            panic!(
                "dockerd (pid {}, directory {}) left things behind after `docker rm -f` of every \
                 container and its stop: {left:#?}\ndockerd's log:\n{}",
                self.pid(),
                self.dir().display(),
                self.log_tail(30)
            );
        }
        if !own.is_empty() && !std::thread::panicking() {
            panic!("cannot remove the test's own cgroups {own:#?}");
        }
    }
}
