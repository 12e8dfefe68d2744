//! Running one test inside a throwaway "host": `unshare --net --mount --propagation private`
//! re-executes the test binary, filtered to that one test, in a network namespace and a private
//! mount namespace of its own. The [`Sandbox`] guard kills everything that lives in those
//! namespaces (and every process descended from them) when the run is over, so the namespaces,
//! their links, rules and mounts die with their last process.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Set in the re-executed test: "you are inside, run the body".
pub const INNER: &str = "HULL_NETWORK_E2E_INNER";
/// The caller's namespaces, so the inner run can refuse to work in them.
const OUTER_NET: &str = "HULL_NETWORK_E2E_OUTER_NET";
const OUTER_MNT: &str = "HULL_NETWORK_E2E_OUTER_MNT";
/// A file the inner run lists its `HULL_ROOT` and scratch directory in, so that the guard can
/// clean after a run that could not (killed at its timeout, aborted).
const NOTES: &str = "HULL_NETWORK_E2E_NOTES";
/// How long one test may take inside its namespaces before it is killed and fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A namespace's identity (device and inode of its nsfs file), e.g. "4:4026531840"; None
/// when the process is gone.
pub fn ns_of(pid: &str, kind: &str) -> Option<String> {
    let m = fs::metadata(format!("/proc/{pid}/ns/{kind}")).ok()?;
    Some(format!("{}:{}", m.dev(), m.ino()))
}

/// Whether this process is the re-executed, inner run of a test.
pub fn is_inner() -> bool {
    std::env::var_os(INNER).is_some()
}

/// The inner run's safety check: hull must never run in the caller's (the machine's) network
/// or mount namespace. Panics when this process is still in either.
pub fn assert_isolated() {
    for (var, kind) in [(OUTER_NET, "net"), (OUTER_MNT, "mnt")] {
        let outer = std::env::var(var).unwrap_or_default();
        let here = ns_of("self", kind).unwrap_or_default();
        assert!(
            !outer.is_empty() && !here.is_empty() && outer != here,
            "refusing to run hull: this process is in the caller's {kind} namespace ({here})"
        );
    }
}

/// Notes a directory of the inner run (`HULL_ROOT` or scratch) for the guard.
pub fn note_dir(path: &std::path::Path) {
    use std::io::Write;
    if let Some(notes) = std::env::var_os(NOTES) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(notes)
            .expect("open the sandbox's notes");
        writeln!(f, "{}", path.display()).expect("write the sandbox's notes");
    }
}

/// The outer run of a test: its child in the new namespaces, and the namespaces' identities.
pub struct Sandbox {
    child: Child,
    net: String,
    mnt: String,
    /// The namespaces held open until the guard is done, so that their identities cannot be
    /// reused by a namespace another test makes meanwhile.
    held: Vec<fs::File>,
    logs: tempfile::TempDir,
}

impl Sandbox {
    /// Starts `test` (its exact libtest name) in new network and mount namespaces.
    pub fn start(test: &str) -> Sandbox {
        let (net0, mnt0) = (
            ns_of("self", "net").expect("read /proc/self/ns/net"),
            ns_of("self", "mnt").expect("read /proc/self/ns/mnt"),
        );
        let logs = tempfile::Builder::new()
            .prefix("hull-net-t-")
            .tempdir()
            .expect("temporary directory for the inner run's output");
        let exe = std::env::current_exe().expect("the test executable's path");
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "--mount", "--propagation", "private", "--"])
            .arg(exe)
            .args([test, "--exact", "--nocapture", "--include-ignored"])
            .arg("--test-threads=1")
            .env(INNER, "1")
            .env(OUTER_NET, &net0)
            .env(OUTER_MNT, &mnt0)
            .env(NOTES, logs.path().join("notes"))
            // The default network must be hull's bridge here (and never "none").
            .env_remove("HULL_BRIDGE")
            .stdin(Stdio::null())
            .stdout(fs::File::create(logs.path().join("out")).expect("create out"))
            .stderr(fs::File::create(logs.path().join("err")).expect("create err"))
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare (util-linux): {e}"));
        let mut sandbox = Sandbox {
            child,
            net: String::new(),
            mnt: String::new(),
            held: Vec::new(),
            logs,
        };
        // `unshare` makes the namespaces, then execs the test in them.
        let pid = sandbox.child.id().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match (ns_of(&pid, "net"), ns_of(&pid, "mnt")) {
                (Some(n), Some(m)) if n != net0 && m != mnt0 => {
                    let held: Vec<fs::File> = ["net", "mnt"]
                        .iter()
                        .filter_map(|k| fs::File::open(format!("/proc/{pid}/ns/{k}")).ok())
                        .collect();
                    // Still the same namespaces now that they are held?
                    if held.len() == 2
                        && ns_of(&pid, "net").as_ref() == Some(&n)
                        && ns_of(&pid, "mnt").as_ref() == Some(&m)
                    {
                        (sandbox.net, sandbox.mnt, sandbox.held) = (n, m, held);
                    }
                    break;
                }
                (None, _) | (_, None) => break,
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        sandbox
    }

    /// Waits for the inner run (killing it after [`RUN_TIMEOUT`]); its status and output.
    pub fn finish(&mut self) -> (Option<ExitStatus>, String, String) {
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let read = |f: &str| fs::read_to_string(self.logs.path().join(f)).unwrap_or_default();
        (status, read("out"), read("err"))
    }

    /// Every process in the sandbox's namespaces, and every descendant of one (a container's
    /// processes have namespaces of their own, but a hull monitor for parent).
    fn members(&self) -> BTreeSet<i32> {
        let me = std::process::id() as i32;
        let mut parent = Vec::new();
        let mut seeds = BTreeSet::new();
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(pid) = name.parse::<i32>() else {
                continue;
            };
            if pid == me || pid == 1 {
                continue;
            }
            let stat = fs::read_to_string(PathBuf::from("/proc").join(&name).join("stat"));
            let ppid = stat
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<i32>().ok())
                })
                .unwrap_or(0);
            parent.push((pid, ppid));
            let inside = (!self.net.is_empty() && ns_of(&name, "net").as_ref() == Some(&self.net))
                || (!self.mnt.is_empty() && ns_of(&name, "mnt").as_ref() == Some(&self.mnt));
            if inside {
                seeds.insert(pid);
            }
        }
        let mut all = seeds;
        loop {
            let more: Vec<i32> = parent
                .iter()
                .filter(|(pid, ppid)| all.contains(ppid) && !all.contains(pid))
                .map(|(pid, _)| *pid)
                .collect();
            if more.is_empty() {
                return all;
            }
            all.extend(more);
        }
    }
}

impl Drop for Sandbox {
    /// Kills the inner run's process group, then whatever still lives in its namespaces (a
    /// detached monitor has a session of its own) and their descendants, until none is left
    /// (bounded: 5 s). Then, if the inner run could not clean up, the cgroups of its containers
    /// and its directories.
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(-(self.child.id() as i32)), Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let members = self.members();
            if members.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in members {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.held.clear();
        let notes = fs::read_to_string(self.logs.path().join("notes")).unwrap_or_default();
        for dir in notes.lines().map(PathBuf::from) {
            let names: BTreeSet<String> = super::entries(&dir.join("containers"))
                .iter()
                .filter(|id| super::is_hex(id, 64))
                .map(|id| format!("hull-{}", &id[..12]))
                .collect();
            for cgroup in super::cgroup_dirs_named_any(&names) {
                super::kill_cgroup(&cgroup);
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// Runs the test named `test` inside a sandbox of its own and fails when it failed there.
pub fn run_isolated(test: &str) {
    let mut sandbox = Sandbox::start(test);
    assert!(
        !sandbox.net.is_empty(),
        "`unshare --net --mount` did not give {test} namespaces of its own: {:?}",
        sandbox.finish()
    );
    let (status, out, err) = sandbox.finish();
    drop(sandbox);
    let passed = status.is_some_and(|s| s.success()) && out.contains("test result: ok. 1 passed");
    assert!(
        passed,
        "{test} in its own namespaces ended with {}\n--- stdout\n{out}\n--- stderr\n{err}",
        status.map_or("a timeout (killed)".to_string(), |s| s.to_string())
    );
}
