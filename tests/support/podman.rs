//! podman, as the distribution ships it (4.3 on Debian 12), driving an OCI runtime: the built
//! `hullrt`, or runc to compare with. One [`Podman`] is one test's podman, kept apart from the
//! host's own podman and from every other test:
//!
//! - **Storage and state** in one temporary directory: `--root`, `--runroot`, `--tmpdir`, and a
//!   `containers.conf`, `storage.conf` and `registries.conf` of its own (`CONTAINERS_CONF`…),
//!   never /var/lib/containers or /run/libpod. Its locks are files there (`lock_type = "file"`,
//!   not the host-wide /dev/shm/libpod_lock), its events log is a file there (not journald),
//!   and conmon's `TMPDIR` (where it makes its console sockets) is there too.
//! - **cgroups only below this process's own cgroup**, in every hierarchy: the `cgroupfs`
//!   manager, a *relative* `--cgroup-parent` named by the test's token, and
//!   `--cgroups no-conmon`. With cgroupfs, podman 4.3 moves conmon into `<parent>/conmon`
//!   counted from each hierarchy's *root*, which lies beside our cgroup wherever that is not
//!   `/` (on this CI host, memory:/process_api/<hash>). With `no-conmon`, conmon stays in our
//!   cgroup and starts the runtime there, and the runtime puts the container's relative
//!   `cgroupsPath` (`<token>/libpod-<id>`) below it in each hierarchy, as it does for any
//!   relative path.
//! - **No network**: `--network none` (no netavark or CNI plugin runs, no firewall rule), and
//!   the CNI backend with its (empty) config directory here: the netavark backend creates
//!   /run/containers/networks on the host at start-up, however it is configured.
//! - **The image from no registry**: `podman import` of a busybox rootfs tar, in a mount
//!   namespace of its own (see [`Podman::import_image`]).
//! - **The runtime behind a wrapper** (`<dir>/bin/hullrt`, `<dir>/bin/runc`, known to podman by
//!   those names) that logs its argv to `<dir>/argv-NAME.log` and execs the real binary with a
//!   `--root` of this test's own. podman's `--runtime-flag root=…` would not do: conmon runs
//!   `podman container cleanup` when a container exits, and that command line carries podman's
//!   `--root`, `--runtime`… but not `--runtime-flag`, so its `delete --force` would look in the
//!   runtime's default root (/run/runc, /run/hullrt) and leave our container's state behind.
//!
//! Dropping a [`Podman`] removes every container (`podman rm -af`) and then checks that nothing
//! of this test survives it ([`PodmanLeftovers`]): containers, processes (conmon, `podman
//! container cleanup`, the containers' own), mounts below its directory, container cgroups, and
//! any cgroup of its token outside its prefix. It cleans whatever it finds (SIGKILL, rmdir,
//! lazy unmount, then the directory) and, unless the test is already failing, fails the test.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

/// The image every container runs: busybox, imported from a tar (no registry).
pub const PODMAN_IMAGE: &str = "localhost/hull-busybox:latest";

/// The storage driver: podman's default as root; its mounts live only as long as a container.
const STORAGE_DRIVER: &str = "overlay";

/// How long [`Podman`]'s drop waits for conmon, `podman container cleanup` and the containers'
/// processes to finish after `podman rm -af`.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// An OCI runtime podman drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The built `target/<profile>/hullrt`.
    Hullrt,
    /// runc from the distribution (on `PATH`), the reference.
    Runc,
}

impl Runtime {
    /// The name podman knows the runtime by (and the wrapper's file name).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Hullrt => "hullrt",
            Runtime::Runc => "runc",
        }
    }

    fn binary(self) -> PathBuf {
        match self {
            Runtime::Hullrt => hullrt_bin(),
            Runtime::Runc => find_program("runc").unwrap_or_else(|| {
                panic!(
                    "runc not found on PATH: the podman tests compare hullrt with runc \
                     (scripts/test.sh installs it: apt-get install runc)"
                )
            }),
        }
    }
}

/// What a [`Podman`] can leave on the host, all of it found by its own directory or token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodmanLeftovers {
    /// `podman ps -aq`.
    pub containers: Vec<String>,
    /// Live processes whose command line names the test's directory (conmon, `podman container
    /// cleanup`) or that are in one of its cgroups.
    pub processes: Vec<i32>,
    /// Mount points below the test's directory (overlay rootfs, shm…).
    pub mounts: Vec<PathBuf>,
    /// Container cgroups (below the prefix, other than the prefix itself).
    pub container_cgroups: Vec<PathBuf>,
    /// cgroups carrying the token anywhere but below `<own cgroup>/<token>`: never allowed.
    pub outside_prefix: Vec<PathBuf>,
}

impl PodmanLeftovers {
    pub fn is_empty(&self) -> bool {
        *self == PodmanLeftovers::default()
    }
}

/// One test's podman: see the module documentation.
pub struct Podman {
    pub bin: PathBuf,
    dir: TempDir,
    /// The `--cgroup-parent` (relative), "hull-podman-<pid>-<n>-": the name of this test's
    /// cgroup in every hierarchy, its containers' cgroups below it. (The final "-" keeps test
    /// 1's token from being a part of test 10's.)
    pub token: String,
}

impl Podman {
    /// A podman of this test's own, with [`PODMAN_IMAGE`] imported. Panics (does not skip) with the
    /// reason when podman cannot run.
    pub fn new() -> Podman {
        require_root();
        let bin = find_program("podman").unwrap_or_else(|| {
            panic!(
                "podman not found on PATH: the podman tests need it \
                 (scripts/test.sh installs it: apt-get install podman)"
            )
        });
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = tempfile::Builder::new()
            .prefix("hull-podman-")
            .tempdir()
            .expect("cannot create the podman test directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("chmod the podman test directory");
        let p = Podman {
            bin,
            dir,
            token: format!("hull-podman-{}-{n}-", std::process::id()),
        };
        p.write_config();
        let version = p.cmd(Runtime::Runc, &["version"]);
        assert!(
            version.status.success(),
            "podman cannot run with this test's configuration ({}): {}",
            p.dir().display(),
            describe(&version)
        );
        p.import_image();
        p
    }

    /// The test's directory: storage, state, configuration, wrappers and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    fn write_config(&self) {
        for d in ["root", "run", "tmp", "net", "bin", "state", "cwd"] {
            fs::create_dir_all(self.path(d)).unwrap_or_else(|e| panic!("mkdir {d}: {e}"));
        }
        let d = self.dir().display().to_string();
        write_file(
            &self.path("containers.conf"),
            &format!(
                r#"[containers]
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "{d}/tmp"
static_dir = "{d}/root/libpod"
volume_path = "{d}/root/volumes"
image_copy_tmp_dir = "{d}/tmp"
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR={d}/tmp"]
runtime = "runc"
runtime_supports_json = ["runc", "hullrt"]

[engine.runtimes]
hullrt = ["{d}/bin/hullrt"]
runc = ["{d}/bin/runc"]

[network]
network_backend = "cni"
network_config_dir = "{d}/net"
"#
            ),
            0o644,
        );
        write_file(
            &self.path("storage.conf"),
            &format!(
                "[storage]\ndriver = \"{STORAGE_DRIVER}\"\ngraphroot = \"{d}/root\"\nrunroot = \"{d}/run\"\n"
            ),
            0o644,
        );
        write_file(
            &self.path("registries.conf"),
            "unqualified-search-registries = []\n",
            0o644,
        );
        for rt in [Runtime::Hullrt, Runtime::Runc] {
            let name = rt.name();
            write_file(
                &self.path(&format!("bin/{name}")),
                &format!(
                    "#!/bin/sh\n\
                     # podman's runtime {name}: logs its argv, then runs the real one with a --root of\n\
                     # this test's own (podman's --runtime-flag does not reach `podman container cleanup`).\n\
                     printf '%s\\n' \"$*\" >>'{d}/argv-{name}.log'\n\
                     exec '{}' --root '{d}/state/{name}' \"$@\"\n",
                    rt.binary().display()
                ),
                0o755,
            );
        }
    }

    /// The environment every podman command (and `script` around one) gets.
    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("CONTAINERS_CONF", self.path("containers.conf")),
            ("CONTAINERS_STORAGE_CONF", self.path("storage.conf")),
            ("CONTAINERS_REGISTRIES_CONF", self.path("registries.conf")),
            ("TMPDIR", self.path("tmp")),
        ]
    }

    /// podman's global flags, runtime included: `podman FLAGS… ARGS…` is one command.
    fn argv(&self, rt: Runtime, args: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--root".into(),
            path_str(&self.path("root")).into(),
            "--runroot".into(),
            path_str(&self.path("run")).into(),
            "--tmpdir".into(),
            path_str(&self.path("tmp")).into(),
            "--storage-driver".into(),
            STORAGE_DRIVER.into(),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
            "--runtime".into(),
            rt.name().into(),
        ];
        v.extend(args.iter().map(|a| a.to_string()));
        v
    }

    /// `podman … ARGS…` with runtime `rt`, not started yet. It runs in [`Podman::conmon_cwd`].
    pub fn command(&self, rt: Runtime, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.envs(self.env())
            .args(self.argv(rt, args))
            .current_dir(self.conmon_cwd());
        c
    }

    /// The working directory of podman, and so of the conmon it starts. conmon 2.1.6, which
    /// podman 4.3 gives no `--persist-dir`, records a container's OOM kill as a file `oom` in
    /// its working directory (podman then looks for it in the bundle, and never finds it):
    /// this keeps those files out of the caller's directory, and lets a test see them.
    pub fn conmon_cwd(&self) -> PathBuf {
        self.path("cwd")
    }

    /// Runs `podman … ARGS…` to completion.
    pub fn cmd(&self, rt: Runtime, args: &[&str]) -> Output {
        capture(self.command(rt, args), CMD_TIMEOUT)
    }

    /// `podman … ARGS…`, which must succeed; its stdout.
    pub fn ok(&self, rt: Runtime, args: &[&str]) -> String {
        let out = self.cmd(rt, args);
        assert!(
            out.status.success(),
            "podman --runtime {} {args:?} failed: {}\n--- {} argv log ---\n{}",
            rt.name(),
            describe(&out),
            rt.name(),
            self.argv_log(rt)
        );
        stdout(&out)
    }

    /// The flags every container of this test is created with:
    ///
    /// - `--network none`, `--cgroups no-conmon` and the relative `--cgroup-parent`: see the
    ///   module documentation.
    /// - `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`: as root, podman asks for
    ///   RLIMIT_NOFILE 1048576 and RLIMIT_NPROC as high as the kernel's pid_max. Raising a hard
    ///   limit above the caller's own needs CAP_SYS_RESOURCE, which a host that is itself a
    ///   container may lack (this CI host: hard nofile 20000, no CAP_SYS_RESOURCE), and then
    ///   every runtime's setrlimit fails with EPERM before the container starts (runc: "error
    ///   setting rlimit type 7: operation not permitted"). 1024 is below any host's hard limit.
    pub fn container_flags(&self) -> Vec<String> {
        [
            "--network",
            "none",
            "--cgroups",
            "no-conmon",
            "--cgroup-parent",
            &self.token,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ]
        .map(String::from)
        .to_vec()
    }

    /// `run FLAGS OPTS… IMAGE ARGV…` (see [`Podman::container_flags`]).
    pub fn run_args(&self, opts: &[&str], argv: &[&str]) -> Vec<String> {
        let mut args = vec!["run".to_string()];
        args.extend(self.container_flags());
        args.extend(opts.iter().map(|a| a.to_string()));
        args.push(PODMAN_IMAGE.to_string());
        args.extend(argv.iter().map(|a| a.to_string()));
        args
    }

    /// `podman run FLAGS OPTS… IMAGE ARGV…` (see [`Podman::container_flags`]), to completion.
    pub fn run(&self, rt: Runtime, opts: &[&str], argv: &[&str]) -> Output {
        let args = self.run_args(opts, argv);
        self.cmd(rt, &args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `podman run -d --name NAME FLAGS OPTS… IMAGE ARGV…`, which must succeed.
    pub fn detach(&self, rt: Runtime, name: &str, opts: &[&str], argv: &[&str]) {
        let mut all = vec!["-d", "--name", name];
        all.extend_from_slice(opts);
        let out = self.run(rt, &all, argv);
        assert!(
            out.status.success() && is_hex(stdout(&out).trim(), 64),
            "podman --runtime {} run -d --name {name} did not print a container id: {}\n\
             --- {} argv log ---\n{}",
            rt.name(),
            describe(&out),
            rt.name(),
            self.argv_log(rt)
        );
    }

    /// `podman … ARGS…` on a terminal: under `script -qec`, which gives it a pty as its stdio
    /// (as `-it` needs). Its output with the pty's carriage returns removed.
    ///
    /// script's stdin is a pipe held open until it exits, not /dev/null: script answers the
    /// end of its input by writing the terminal's EOF character to the pty, which showed up in
    /// the output as a stray "^@" (before or after it, as the timing fell).
    pub fn on_terminal(&self, rt: Runtime, args: &[&str]) -> Output {
        let line = std::iter::once(path_str(&self.bin).to_string())
            .chain(self.argv(rt, args))
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = Command::new("script");
        c.envs(self.env())
            .args(["-qec", &line, "/dev/null"])
            .current_dir(self.conmon_cwd());
        let (input, keep_open) = std::io::pipe().expect("cannot make a pipe for script's stdin");
        let mut out = Background::spawn_with_stdin(c, input.into()).finish(CMD_TIMEOUT);
        drop(keep_open);
        out.stdout.retain(|b| *b != b'\r');
        out
    }

    /// `podman inspect --format FORMAT NAME`, trimmed (must succeed).
    pub fn inspect(&self, rt: Runtime, name: &str, format: &str) -> String {
        self.ok(rt, &["inspect", "--format", format, name])
            .trim()
            .to_string()
    }

    /// The host pid of a running container's process.
    pub fn pid(&self, rt: Runtime, name: &str) -> i32 {
        let text = self.inspect(rt, name, "{{.State.Pid}}");
        text.parse()
            .unwrap_or_else(|e| panic!("podman inspect {name}: pid {text:?}: {e}"))
    }

    /// Every command line podman ran `rt` with so far (one per line).
    pub fn argv_log(&self, rt: Runtime) -> String {
        fs::read_to_string(self.path(&format!("argv-{}.log", rt.name()))).unwrap_or_default()
    }

    /// `podman import` of a busybox rootfs tar as [`PODMAN_IMAGE`].
    ///
    /// It runs in a mount namespace of its own in which /var/lib is an empty tmpfs: podman 4.3's
    /// containers/image writes its blob-info cache to /var/lib/containers/cache whenever it is
    /// root, whatever `--root` says (no flag nor configuration moves it), so there the cache
    /// lands in that tmpfs and dies with the namespace. The storage (in our directory, never
    /// below /var/lib) is the same in both namespaces.
    fn import_image(&self) {
        assert!(
            !self.dir().starts_with("/var/lib"),
            "the podman test directory {} is below /var/lib, which the image import hides: \
             set TMPDIR elsewhere",
            self.dir().display()
        );
        let rootfs = self.path("image-rootfs");
        build_rootfs(&rootfs);
        let tarball = self.path("image.tar");
        {
            let f = fs::File::create(&tarball).expect("create the image tar");
            let mut b = tar::Builder::new(f);
            b.follow_symlinks(false);
            b.append_dir_all(".", &rootfs)
                .expect("write the busybox rootfs into the image tar");
            b.finish().expect("finish the image tar");
        }
        let mut c = self.command(Runtime::Runc, &["import", path_str(&tarball), PODMAN_IMAGE]);
        // SAFETY: between fork and exec only unshare(2) and mount(2) are called, which allocate
        // nothing and take no lock.
        unsafe {
            c.pre_exec(|| {
                use nix::mount::{mount, MsFlags};
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )?;
                mount(
                    Some("tmpfs"),
                    "/var/lib",
                    Some("tmpfs"),
                    MsFlags::empty(),
                    Some("size=16m"),
                )?;
                Ok(())
            });
        }
        let out = capture(c, CMD_TIMEOUT);
        assert!(
            out.status.success(),
            "podman import of the busybox rootfs failed: {}",
            describe(&out)
        );
        let _ = fs::remove_dir_all(&rootfs);
        let _ = fs::remove_file(&tarball);
    }

    /// `<own cgroup>/<token>` in every hierarchy: where this test's cgroups must be.
    pub fn cgroup_prefixes(&self) -> Vec<PathBuf> {
        own_cgroup_dirs()
            .into_iter()
            .map(|d| d.join(&self.token))
            .collect()
    }

    /// cgroup directories of this test's token that are not below its prefixes.
    pub fn cgroups_outside_prefix(&self) -> Vec<PathBuf> {
        let prefixes = self.cgroup_prefixes();
        cgroup_dirs_with(&self.token)
            .into_iter()
            .filter(|d| !prefixes.iter().any(|p| d.starts_with(p)))
            .collect()
    }

    /// Panics when a cgroup of this test's token lies outside its prefixes.
    pub fn assert_cgroups_in_prefix(&self) {
        let outside = self.cgroups_outside_prefix();
        assert!(
            outside.is_empty(),
            "cgroups of {} outside this test's prefixes {:#?}: {outside:#?}",
            self.token,
            self.cgroup_prefixes()
        );
    }

    /// The cgroups below this test's prefixes (its containers'), deepest first.
    pub fn container_cgroups(&self) -> Vec<PathBuf> {
        self.cgroup_prefixes()
            .iter()
            .flat_map(|p| cgroup_dirs_below(p))
            .collect()
    }

    /// Live processes (not this one) whose command line names this test's directory.
    fn processes_naming_dir(&self) -> Vec<i32> {
        let needle = self.dir().as_os_str().as_encoded_bytes().to_vec();
        other_pids()
            .into_iter()
            .filter(|pid| !is_zombie(*pid))
            .filter(|pid| {
                fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
            })
            .collect()
    }

    /// Everything of this test still on the host: see [`PodmanLeftovers`].
    pub fn leftovers(&self) -> PodmanLeftovers {
        let ps = self.cmd(Runtime::Runc, &["ps", "-aq"]);
        let mut containers: Vec<String> = stdout(&ps)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if !ps.status.success() {
            containers.push(format!("(podman ps -aq failed: {})", stderr(&ps).trim()));
        }
        let mut processes = self.processes_naming_dir();
        processes.extend(pids_in_cgroups_with(&self.token));
        processes.sort();
        processes.dedup();
        let container_cgroups = self.container_cgroups();
        PodmanLeftovers {
            containers,
            processes,
            mounts: mounts_under_any(&[self.dir().to_path_buf()]),
            container_cgroups,
            outside_prefix: self.cgroups_outside_prefix(),
        }
    }
}

impl Default for Podman {
    fn default() -> Self {
        Podman::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Every container, whichever runtime made it: podman finds each one's by the name it
        // recorded.
        let _ = self.cmd(Runtime::Runc, &["rm", "-af", "-t", "0"]);
        // conmon and `podman container cleanup` finish just after the containers; once they
        // are gone, nothing of podman's changes any more.
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut left = self.leftovers();
        while !left.processes.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = self.leftovers();
        }
        // Clean whatever is still there, so that a failing test leaves nothing behind either.
        for pid in &left.processes {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for c in self.container_cgroups() {
            kill_cgroup(&c);
        }
        // The prefixes too: podman never removes its --cgroup-parent (nor runc the parents of a
        // container's cgroup); and whatever has the token outside them.
        remove_cgroups_with(&self.token);
        let mut mounts = mounts_under_any(&[self.dir().to_path_buf()]);
        mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in &mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        // The directory itself goes with `self.dir` (TempDir).
        if !left.is_empty() && !std::thread::panicking() {
            panic!(
                "`podman rm -af` left things of this test behind ({}, cgroup token {}): {left:#?}",
                self.dir().display(),
                self.token
            );
        }
    }
}
