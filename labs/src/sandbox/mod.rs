//! A disposable sandbox "host": its own mount namespace (private propagation), network
//! namespace (lo up, an `eth0` with [`HOST_IP`], its own netfilter state and `ip_forward`) and
//! UTS namespace (hostname [`HOSTNAME`]), its own `HULL_ROOT` in a temporary directory, and a
//! cgroup subtree below the caller's. A long-lived holder process (`sleep infinity`) keeps the
//! namespaces; every command runs inside by joining the holder's cgroups and namespaces (what
//! `nsenter -t HOLDER -m -n -u` does) just before its exec.
//!
//! Destroying it (explicitly, or on drop) removes everything: every process in the cgroup
//! subtree (the holder and hull's containers among them), the cgroups (hull's below the
//! sandbox's), the directory. The namespaces, their mounts, links and rules die with their last
//! process. (A sandbox without a cgroup of its own has `hull rm -f` remove hull's containers
//! first.)

pub mod cgroup;
mod exec;

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use exec::{code_of, find_hull, Output};

/// The sandbox host's address on its `eth0` (TEST-NET-1: never routed anywhere).
pub const HOST_IP: &str = "192.0.2.10";
pub const HOSTNAME: &str = "labhost";
const INFO: &str = "sandbox.json";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox: cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("sandbox {dir}: {why}")]
    Gone { dir: String, why: String },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}

/// What another process needs to find and use a sandbox (`<dir>/sandbox.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    pub holder: i32,
    /// The holder's start time (from /proc/PID/stat), so a reused PID is not mistaken for it.
    pub holder_start: u64,
    pub cgroups: cgroup::Tree,
    pub hull: PathBuf,
    /// The caps the kernel enforces on the sandbox.
    #[serde(default)]
    pub capped: cgroup::Capped,
}

pub struct Sandbox {
    dir: PathBuf,
    info: Info,
    /// The holder's mount, network and UTS namespaces.
    ns: Vec<(OwnedFd, libc::c_int)>,
    child: Option<Child>,
    keep: bool,
}

impl Sandbox {
    /// A fresh sandbox, with `hull` the binary its commands find on their PATH, capped by
    /// [`cgroup::Limits::from_env`]. A cap the user asked for (`$HULL_LAB_MEMORY`,
    /// `$HULL_LAB_PIDS`) that the kernel cannot enforce here is an error; a default one is
    /// not (see [`Sandbox::uncapped`]).
    pub fn create(hull: &Path) -> Result<Sandbox, SandboxError> {
        let limits = cgroup::Limits::from_env().map_err(|why| SandboxError::Gone {
            dir: "(not made)".into(),
            why,
        })?;
        let sb = Sandbox::create_with(hull, &limits)?;
        let unmet = cgroup::Capped::asked_in_env().unmet_by(sb.info.capped);
        if !unmet.is_empty() {
            let (_, why) = cgroup::enforceable();
            return Err(SandboxError::Gone {
                dir: sb.dir.display().to_string(),
                why: format!(
                    "${} asks for a cap this host cannot enforce on a sandbox ({why}); unset it to run without",
                    unmet.join(" and $")
                ),
            });
        }
        Ok(sb)
    }

    /// The one-line warning for a sandbox the kernel does not (fully) cap, if it is one.
    pub fn uncapped(&self) -> Option<String> {
        if self.info.capped.memory && self.info.capped.pids {
            return None;
        }
        self.info.capped.warning(&cgroup::enforceable().1)
    }

    /// A fresh sandbox with the given caps.
    pub fn create_with(hull: &Path, limits: &cgroup::Limits) -> Result<Sandbox, SandboxError> {
        let dir = tempfile::Builder::new()
            .prefix("hull-lab.")
            .tempdir()
            .map_err(io_err("create a temporary directory"))?
            .keep();
        let name = format!(
            "hull-lab-{}",
            dir.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .trim_start_matches("hull-lab.")
        );
        let mut sandbox = Sandbox {
            info: Info {
                holder: 0,
                holder_start: 0,
                cgroups: cgroup::Tree { dirs: Vec::new() },
                hull: hull.to_path_buf(),
                capped: cgroup::Capped::default(),
            },
            dir,
            ns: Vec::new(),
            child: None,
            keep: false,
        };
        // From here on, a failure drops `sandbox`, which removes whatever was made.
        for sub in ["lab", "hull", "tmp"] {
            let p = sandbox.dir.join(sub);
            std::fs::create_dir(&p).map_err(io_err(format!("create {}", p.display())))?;
        }
        sandbox.info.cgroups =
            cgroup::Tree::create(&name).map_err(io_err("create the sandbox's cgroups"))?;
        sandbox.info.capped = sandbox
            .info
            .cgroups
            .limit(limits)
            .map_err(io_err("cap the sandbox's cgroups"))?;
        let park = sandbox.dir.join("tmp/cgroup-mounts");
        std::fs::create_dir(&park).map_err(io_err(format!("create {}", park.display())))?;
        let child =
            spawn_holder(&sandbox.info.cgroups, &park).map_err(io_err("start the holder"))?;
        sandbox.info.holder = child.id() as i32;
        sandbox.child = Some(child);
        sandbox.info.holder_start =
            start_time(sandbox.info.holder).map_err(io_err("read the holder's /proc/PID/stat"))?;
        sandbox.open_namespaces()?;
        let net = sandbox
            .give_eth0()
            .map_err(io_err("give the sandbox its eth0"))?;
        if !net.ok() {
            return Err(SandboxError::Gone {
                dir: sandbox.dir.display().to_string(),
                why: format!("cannot give the sandbox its eth0: {}", net.stderr.trim()),
            });
        }
        let json = serde_json::to_vec_pretty(&sandbox.info).expect("Info serializes");
        std::fs::write(sandbox.dir.join(INFO), json).map_err(io_err("write sandbox.json"))?;
        Ok(sandbox)
    }

    /// A veth pair inside the sandbox, one end `eth0` with [`HOST_IP`]: the address other
    /// machines would reach this host on (one `ip -batch`, no shell).
    fn give_eth0(&self) -> io::Result<Output> {
        let batch = self.dir.join("tmp/eth0.ip");
        std::fs::write(
            &batch,
            format!(
                "link add eth0 type veth peer name uplink0\naddr add {HOST_IP}/24 dev eth0\n\
                 link set uplink0 up\nlink set eth0 up\n"
            ),
        )?;
        let mut cmd = self.command("ip");
        cmd.arg("-batch").arg(&batch).stdin(Stdio::null());
        // Generous: under emulation (a lab VM on TCG) with several sandboxes at once, this
        // one `ip` took over 10 s.
        let out = exec::run(cmd, Duration::from_secs(60), &self.dir.join("tmp"));
        let _ = std::fs::remove_file(&batch);
        out
    }

    /// The sandbox another hull-lab process made, found through its directory.
    pub fn attach(dir: &Path) -> Result<Sandbox, SandboxError> {
        let gone = |why: String| SandboxError::Gone {
            dir: dir.display().to_string(),
            why,
        };
        let text = std::fs::read(dir.join(INFO)).map_err(|e| gone(format!("no {INFO}: {e}")))?;
        let info: Info =
            serde_json::from_slice(&text).map_err(|e| gone(format!("unreadable {INFO}: {e}")))?;
        if start_time(info.holder).ok() != Some(info.holder_start) {
            return Err(gone(format!("its holder process {} is gone", info.holder)));
        }
        let mut sandbox = Sandbox {
            dir: dir.to_path_buf(),
            info,
            ns: Vec::new(),
            child: None,
            keep: true,
        };
        sandbox.open_namespaces()?;
        Ok(sandbox)
    }

    fn open_namespaces(&mut self) -> Result<(), SandboxError> {
        for (name, flag) in [
            ("net", libc::CLONE_NEWNET),
            ("uts", libc::CLONE_NEWUTS),
            ("mnt", libc::CLONE_NEWNS),
        ] {
            let path = format!("/proc/{}/ns/{name}", self.info.holder);
            let f = File::open(&path).map_err(io_err(format!("open {path}")))?;
            self.ns.push((OwnedFd::from(f), flag));
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Where the learner works (the shell starts there; answer files go there): `$LAB`.
    pub fn lab_dir(&self) -> PathBuf {
        self.dir.join("lab")
    }
    pub fn hull_root(&self) -> PathBuf {
        self.dir.join("hull")
    }
    pub fn info(&self) -> &Info {
        &self.info
    }
    pub fn holder(&self) -> i32 {
        self.info.holder
    }

    /// Keep the sandbox when this handle is dropped (`start --keep`, or one attached to).
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// `program` set up to run inside: environment, cgroups, namespaces, the lab directory.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let hull_dir = self.info.hull.parent().unwrap_or(Path::new("/"));
        let mut path = std::env::join_paths([hull_dir.to_path_buf()]).unwrap_or_default();
        if let Some(own) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            path = std::env::join_paths([hull_dir.to_path_buf(), own]).unwrap_or(path);
        }
        let mut full = path;
        if let Some(old) = std::env::var_os("PATH") {
            full.push(":");
            full.push(old);
        }
        cmd.env("PATH", full)
            .env("HULL_ROOT", self.hull_root())
            .env("LAB", self.lab_dir())
            .env("HOST_IP", HOST_IP)
            .env("TMPDIR", self.dir.join("tmp"))
            .env("HULL_LAB_SANDBOX", &self.dir)
            .current_dir(self.lab_dir());
        let procs: Vec<CString> = self
            .info
            .cgroups
            .procs_files()
            .iter()
            .filter_map(|p| CString::new(p.as_os_str().as_encoded_bytes()).ok())
            .collect();
        let ns: Vec<(i32, libc::c_int)> =
            self.ns.iter().map(|(fd, f)| (fd.as_raw_fd(), *f)).collect();
        let lab = CString::new(self.lab_dir().as_os_str().as_encoded_bytes()).unwrap_or_default();
        // SAFETY: the closure only makes raw system calls on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for p in &procs {
                    exec::write_file(p, b"0")?;
                }
                for (fd, flag) in &ns {
                    if libc::setns(*fd, *flag) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // Joining a mount namespace moves the cwd to its root.
                if libc::chdir(lab.as_ptr()) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Runs a shell script inside (bash when installed, else sh), stdin closed.
    pub fn sh(&self, script: &str, timeout: Duration) -> Result<Output, SandboxError> {
        let mut cmd = self.command(exec::shell());
        cmd.arg("-c").arg(script).stdin(Stdio::null());
        exec::run(cmd, timeout, &self.dir.join("tmp")).map_err(io_err(format!("run {script:?}")))
    }

    /// Runs `hull ARGS` inside.
    pub fn hull(&self, args: &[&str], timeout: Duration) -> Result<Output, SandboxError> {
        let mut cmd = self.command(&self.info.hull);
        cmd.args(args).stdin(Stdio::null());
        exec::run(cmd, timeout, &self.dir.join("tmp"))
            .map_err(io_err(format!("run hull {}", args.join(" "))))
    }

    /// Runs `f` on a thread that has joined the sandbox's mount and network namespaces, for
    /// file and network observations without starting a process.
    pub fn in_ns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let ns: Vec<(i32, libc::c_int)> = self
            .ns
            .iter()
            .filter(|(_, flag)| *flag != libc::CLONE_NEWUTS)
            .map(|(fd, flag)| (fd.as_raw_fd(), *flag))
            .collect();
        std::thread::scope(|s| {
            s.spawn(move || {
                // A thread may join a mount namespace once it no longer shares its
                // filesystem context (root, cwd) with the other threads.
                // SAFETY: plain system calls on this thread only.
                unsafe {
                    if libc::unshare(libc::CLONE_FS) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    for (fd, flag) in ns {
                        if libc::setns(fd, flag) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                }
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a check's observation panicked")))
        })
    }

    /// `"net:[4026532…]"`-style identities of the sandbox's namespaces (for leak tests).
    pub fn namespace_ids(&self) -> Vec<String> {
        ["mnt", "net", "uts"]
            .iter()
            .filter_map(|n| std::fs::read_link(format!("/proc/{}/ns/{n}", self.info.holder)).ok())
            .map(|p| p.display().to_string())
            .collect()
    }

    /// Removes everything the sandbox holds; the first problem is returned after all of it
    /// has been tried.
    pub fn destroy(mut self) -> Result<(), SandboxError> {
        self.keep = true; // Drop must not do it a second time
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), SandboxError> {
        let mut first: Option<SandboxError> = None;
        // All hull made is below the sandbox's cgroup subtree (its containers' cgroups, every
        // process), in the sandbox's namespaces (links, rules, mounts: they die with their last
        // process) or in its directory (state): killing the subtree and removing it and the
        // directory is the whole of it.
        self.ns.clear();
        if let Err(e) = self.info.cgroups.kill_all(Duration::from_secs(5)) {
            first.get_or_insert(io_err("kill the sandbox's processes")(e));
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        } else if self.info.holder > 0 && parent_of(self.info.holder) == Some(std::process::id()) {
            // Our own holder, attached to again: reap it so no zombie stays.
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.info.holder), None);
        }
        if let Err(e) = self.info.cgroups.remove() {
            first.get_or_insert(io_err("remove the sandbox's cgroups")(e));
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            if e.kind() != io::ErrorKind::NotFound {
                first.get_or_insert(io_err(format!("remove {}", self.dir.display()))(e));
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = self.teardown() {
                eprintln!("hull-lab: {e}");
            }
        }
    }
}

/// The holder: joins the cgroups, makes the namespaces, sets them up, then sleeps forever.
fn spawn_holder(cgroups: &cgroup::Tree, park: &Path) -> io::Result<Child> {
    let park = CString::new(park.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::other("a NUL in the sandbox's path"))?;
    let procs: Vec<CString> = cgroups
        .procs_files()
        .iter()
        .filter_map(|p| CString::new(p.as_os_str().as_encoded_bytes()).ok())
        .collect();
    let mut cmd = Command::new("sleep");
    cmd.arg("infinity")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure only makes raw system calls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            for p in &procs {
                exec::write_file(p, b"0")?;
            }
            // The OOM killer of a full sandbox takes what filled it, not the holder (best
            // effort: lowering it takes CAP_SYS_RESOURCE; a tiny `sleep` is not chosen anyway).
            let _ = exec::write_file(c"/proc/self/oom_score_adj", b"-1000");
            exec::make_host(HOSTNAME, &park)
        });
    }
    cmd.spawn()
}

fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
pub fn start_time(pid: i32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    after
        .split_whitespace()
        .nth(19)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected /proc/{pid}/stat")))
}
