//! Inside the VM (`hull-lab vm guest JOBDIR`, run by the guest's `/init`): reads the job
//! from the 9p share, runs it with the same code as on a host (the sandbox backend, now inside
//! a throwaway kernel), writes a JSON [`Report`] to the virtio-serial result port and the
//! verdict to `isa-debug-exit`, then powers the VM off.

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::qemu::{Verdict, EXIT_PORT, RESULT_PORT};
use crate::sandbox::find_hull;
use crate::verify::{self, Verdict as ScenarioVerdict};

/// What the host asks the guest to do (`JOBDIR/job.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Job {
    /// `hull-lab verify` of these scenarios (their files are in `JOBDIR/scenarios`).
    Verify { ids: Vec<String> },
    /// The lab shell of a scenario, on the serial console.
    Start { id: String },
    /// Run a program (e.g. a test binary from a share) and report its output.
    Run {
        argv: Vec<String>,
        #[serde(default)]
        env: Vec<(String, String)>,
        #[serde(default)]
        cwd: Option<String>,
        /// 9p shares to mount first: (mount tag, directory in the guest).
        #[serde(default)]
        mounts: Vec<(String, String)>,
    },
}

/// The guest's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub passed: bool,
    /// `uname -r` of the guest.
    pub kernel: String,
    /// Whether /sys/fs/cgroup is the unified hierarchy and no v1 hierarchy is mounted.
    pub cgroup2_only: bool,
    /// Seconds since the guest's kernel started, when the job started and ended.
    pub uptime_start: f64,
    pub uptime_end: f64,
    /// The scenario reports (`verify`), as `hull-lab verify --json` prints them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResult {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

fn uptime() -> f64 {
    fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The agent's whole life; it does not return (the VM powers off).
pub fn main(job_dir: &Path) -> ! {
    let mut report = Report {
        uptime_start: uptime(),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        cgroup2_only: crate::sandbox::cgroup::unified()
            && !fs::read_to_string("/proc/self/mounts")
                .unwrap_or_default()
                .lines()
                .any(|l| l.split_whitespace().nth(2) == Some("cgroup")),
        ..Report::default()
    };
    let verdict = match enter_session_cgroup().and_then(|()| run(job_dir, &mut report)) {
        Ok(pass) => {
            report.passed = pass;
            Verdict::byte(pass)
        }
        Err(e) => {
            report.error = Some(e);
            2
        }
    };
    report.uptime_end = uptime();
    if let Err(e) = send(&report) {
        eprintln!("hull-vm: cannot send the report: {e}");
    }
    finish(verdict)
}

/// Where the job runs: a cgroup of its own below the root, like a login shell's scope.
pub const SESSION_CGROUP: &str = "/sys/fs/cgroup/session.scope";

/// As on a systemd host, where nothing runs in the root cgroup (which is exempt from cgroup
/// v2's no-internal-processes rule): the controllers are enabled at the root and the job runs
/// in [`SESSION_CGROUP`], so Hull meets the rule as on a learner's machine (Vagrant).
fn enter_session_cgroup() -> Result<(), String> {
    let root = Path::new(crate::sandbox::cgroup::ROOT);
    for c in ["cpu", "cpuset", "memory", "pids"] {
        let file = root.join("cgroup.subtree_control");
        fs::write(&file, format!("+{c}"))
            .map_err(|e| format!("cannot enable {c} in {}: {e}", file.display()))?;
    }
    fs::create_dir(SESSION_CGROUP).map_err(|e| format!("cannot create {SESSION_CGROUP}: {e}"))?;
    let procs = Path::new(SESSION_CGROUP).join("cgroup.procs");
    fs::write(&procs, "0").map_err(|e| format!("cannot write {}: {e}", procs.display()))
}

fn run(job_dir: &Path, report: &mut Report) -> Result<bool, String> {
    let path = job_dir.join("job.json");
    let bytes = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let job: Job = serde_json::from_slice(&bytes)
        .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    let scenarios = job_dir.join("scenarios");
    match job {
        Job::Verify { ids } => {
            let all = crate::load::load_dir(&scenarios).map_err(|e| e.to_string())?;
            let hull = find_hull().map_err(|e| e.to_string())?;
            let mut pass = true;
            for id in &ids {
                let s = all
                    .iter()
                    .find(|s| &s.id == id)
                    .ok_or_else(|| format!("scenario {id} was not delivered"))?;
                let r = verify::verify(&hull, s);
                pass &= r.verdict != ScenarioVerdict::Failed;
                report
                    .verify
                    .push(serde_json::to_value(&r).map_err(|e| e.to_string())?);
            }
            Ok(pass)
        }
        Job::Start { id } => {
            let tty = "/dev/ttyS0";
            let open = || {
                fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(tty)
                    .map_err(|e| format!("cannot open {tty}: {e}"))
            };
            let status = Command::new("setsid")
                .arg("-c")
                .arg("hull-lab")
                .arg("--scenarios")
                .arg(&scenarios)
                .args(["start", &id])
                .env("TERM", "vt100")
                .stdin(open()?)
                .stdout(open()?)
                .stderr(open()?)
                .status()
                .map_err(|e| format!("cannot run hull-lab start: {e}"))?;
            Ok(status.success())
        }
        Job::Run {
            argv,
            env,
            cwd,
            mounts,
        } => {
            for (tag, at) in &mounts {
                mount_share(tag, at)?;
            }
            let (prog, args) = argv.split_first().ok_or("an empty command")?;
            let started = Instant::now();
            let mut cmd = Command::new(prog);
            cmd.args(args)
                .envs(env)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(d) = cwd {
                cmd.current_dir(d);
            }
            let out = cmd
                .output()
                .map_err(|e| format!("cannot run {prog}: {e}"))?;
            let keep = |b: &[u8]| {
                let s = String::from_utf8_lossy(b);
                let cut = s.len().saturating_sub(200_000);
                let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                s[cut..].to_owned()
            };
            report.run = Some(RunResult {
                exit_code: out.status.code(),
                stdout: keep(&out.stdout),
                stderr: keep(&out.stderr),
                seconds: started.elapsed().as_secs_f64(),
            });
            Ok(out.status.success())
        }
    }
}

/// Mounts the host's 9p share `tag` (read-only) on `at`.
fn mount_share(tag: &str, at: &str) -> Result<(), String> {
    fs::create_dir_all(at).map_err(|e| format!("cannot create {at}: {e}"))?;
    let status = Command::new("mount")
        .args([
            "-t",
            "9p",
            "-o",
            "trans=virtio,version=9p2000.L,msize=262144,ro",
        ])
        .args([tag, at])
        .status()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !status.success() {
        return Err(format!("cannot mount the share {tag} on {at} ({status})"));
    }
    Ok(())
}

/// The result port's device (`/dev/vportNpM` whose name is [`RESULT_PORT`]).
fn result_port() -> Option<PathBuf> {
    fs::read_dir("/sys/class/virtio-ports")
        .ok()?
        .flatten()
        .find(|e| fs::read_to_string(e.path().join("name")).is_ok_and(|n| n.trim() == RESULT_PORT))
        .map(|e| Path::new("/dev").join(e.file_name()))
}

fn send(report: &Report) -> std::io::Result<()> {
    let port = result_port().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no result port in /sys/class/virtio-ports",
        )
    })?;
    let mut f = fs::OpenOptions::new().write(true).open(&port)?;
    let mut bytes = serde_json::to_vec(report).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    f.write_all(&bytes)?;
    f.flush()
}

/// Writes the verdict to `isa-debug-exit` (QEMU ends there), else powers off.
fn finish(verdict: u8) -> ! {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    if let Ok(f) = fs::OpenOptions::new().write(true).open("/dev/port") {
        let _ = f.write_at(&[verdict], EXIT_PORT);
    }
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: reboot(2) with a valid command; we are root in a throwaway VM.
    unsafe { libc::reboot(libc::RB_POWER_OFF) };
    std::process::exit(i32::from(verdict))
}
