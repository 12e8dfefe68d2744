//! The host side of the VM backend: `hull-lab vm build`, `verify --vm` (one fresh VM per
//! scenario, `--jobs` at once) and `start --vm`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::guest::{Job, Report};
use super::image::{self, Guest};
use super::qemu::{self, Accel, Console, Machine, RunDir, Verdict};
use super::{io_at, VmError};
use crate::sandbox::find_hull;

/// Options of a VM run.
#[derive(Debug, Clone)]
pub struct Options {
    /// VMs at once.
    pub jobs: usize,
    /// Boot to result, at most.
    pub timeout: Duration,
    pub memory_mib: u32,
    /// Virtual CPUs per VM; `None`: 2 with KVM, 1 with TCG (where each one costs a host core).
    pub cpus: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: default_jobs(),
            timeout: Duration::from_secs(600),
            memory_mib: 1536,
            cpus: None,
        }
    }
}

/// One VM per core, at least one.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Where Hull's binaries are (the directory of `hull`).
pub fn bins_dir() -> Result<PathBuf, VmError> {
    let hull = find_hull().map_err(|e| VmError::Tool {
        what: "find Hull's binaries".into(),
        detail: e.to_string(),
    })?;
    Ok(hull.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// `hull-lab vm build`: the guest, prepared or found in the cache.
pub fn build(say: &dyn Fn(&str)) -> Result<Guest, VmError> {
    image::build(&super::cache_dir(), &bins_dir()?, say)
}

/// A ready guest and the accelerator to boot it with.
pub struct Ready {
    pub guest: Guest,
    pub accel: Accel,
    pub accel_why: String,
}

pub fn ready(say: &dyn Fn(&str)) -> Result<Ready, VmError> {
    let guest = build(say)?;
    let (accel, accel_why) = qemu::choose_accel(&guest, &super::cache_dir(), say);
    say(&format!("accelerator: {} ({accel_why})", accel.name()));
    Ok(Ready {
        guest,
        accel,
        accel_why,
    })
}

/// A scenario's file as delivered into the guest: `(file name, text)`.
pub type Source = (String, String);

/// The YAML of scenario `id`: `dir/ID.yaml`, or the built-in one.
pub fn source(dir: Option<&Path>, id: &str) -> Result<Source, VmError> {
    let name = format!("{id}.yaml");
    match dir {
        Some(d) => {
            let p = d.join(&name);
            let text = fs::read_to_string(&p).map_err(io_at("read the scenario", &p))?;
            Ok((name, text))
        }
        None => crate::load::EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .ok_or_else(|| VmError::Tool {
                what: format!("find the built-in scenario {name}"),
                detail: String::new(),
            }),
    }
}

/// One scenario graded in its own VM.
#[derive(Debug, Clone, Serialize)]
pub struct VmReport {
    pub id: String,
    pub backend: &'static str,
    pub accel: Accel,
    /// ok, failed or skipped, as in the guest's report; failed when the VM gave none.
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// QEMU's start to its end (the result is written just before).
    pub boot_to_result_seconds: f64,
    /// The guest kernel's uptime when the job started (boot time inside the guest).
    pub guest_boot_seconds: f64,
    pub qemu_verdict: Verdict,
    pub kernel: String,
    pub cgroup2_only: bool,
    /// The scenario report the guest's runner wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub console_tail: String,
}

impl VmReport {
    pub fn failed(&self) -> bool {
        self.verdict != "ok" && self.verdict != "skipped"
    }
}

/// Boots a VM for `job` with `files` in its job directory; the guest's report and the outcome.
pub fn run_job(
    ready: &Ready,
    opts: &Options,
    job: &Job,
    files: &[Source],
    shares: Vec<(String, PathBuf)>,
    console: Console,
) -> Result<(qemu::Outcome, Option<Report>), VmError> {
    let run = RunDir::new()?;
    let job_dir = run.job();
    let scen = job_dir.join("scenarios");
    fs::create_dir(&scen).map_err(io_at("create", &scen))?;
    for (name, text) in files {
        fs::write(scen.join(name), text).map_err(io_at("write", scen.join(name)))?;
    }
    let bytes = serde_json::to_vec_pretty(job).expect("a job serializes");
    fs::write(job_dir.join("job.json"), bytes).map_err(io_at("write", &job_dir))?;
    let m = Machine {
        guest: &ready.guest,
        accel: ready.accel,
        memory_mib: opts.memory_mib,
        cpus: opts
            .cpus
            .unwrap_or(if ready.accel == Accel::Kvm { 2 } else { 1 }),
        console,
        timeout: opts.timeout,
        shares,
    };
    let out = qemu::boot(&m, &run)?;
    let report = out
        .result
        .split(|b| *b == b'\n')
        .find(|l| !l.is_empty())
        .and_then(|l| serde_json::from_slice::<Report>(l).ok());
    Ok((out, report))
    // `run` is dropped here: the run directory goes.
}

/// Grades one scenario in a fresh VM.
pub fn verify_one(ready: &Ready, opts: &Options, src: &Source) -> VmReport {
    let id = src.0.trim_end_matches(".yaml").to_owned();
    let job = Job::Verify {
        ids: vec![id.clone()],
    };
    let mut r = VmReport {
        id: id.clone(),
        backend: "vm",
        accel: ready.accel,
        verdict: "failed".into(),
        reason: None,
        boot_to_result_seconds: 0.0,
        guest_boot_seconds: 0.0,
        qemu_verdict: Verdict::NoVerdict,
        kernel: String::new(),
        cgroup2_only: false,
        report: None,
        console_tail: String::new(),
    };
    let (out, report) = match run_job(
        ready,
        opts,
        &job,
        std::slice::from_ref(src),
        Vec::new(),
        Console::Log,
    ) {
        Ok(x) => x,
        Err(e) => {
            r.reason = Some(e.to_string());
            return r;
        }
    };
    r.boot_to_result_seconds = out.seconds;
    r.qemu_verdict = out.verdict;
    let Some(g) = report else {
        r.reason = Some(match out.verdict {
            Verdict::TimedOut => format!(
                "the VM gave no result within {} s: QEMU was killed",
                opts.timeout.as_secs()
            ),
            Verdict::NoVerdict => {
                "the VM ended without a result (kernel panic or power-off): see its console".into()
            }
            v => format!("the VM ended without a result ({v:?}): see its console"),
        });
        r.console_tail = out.console_tail;
        return r;
    };
    r.kernel = g.kernel.clone();
    r.cgroup2_only = g.cgroup2_only;
    r.guest_boot_seconds = g.uptime_start;
    if let Some(e) = &g.error {
        r.reason = Some(format!("in the guest: {e}"));
        r.console_tail = out.console_tail;
        return r;
    }
    let Some(rep) = g.verify.into_iter().next() else {
        r.reason = Some("the guest sent no scenario report".into());
        return r;
    };
    r.verdict = rep["verdict"].as_str().unwrap_or("failed").to_owned();
    r.reason = rep["reason"].as_str().map(str::to_owned);
    // The guest's verdict and QEMU's status must agree.
    let agrees = match out.verdict {
        Verdict::Passed => !r.failed(),
        Verdict::Failed => r.failed(),
        _ => false,
    };
    if !agrees {
        r.reason = Some(format!(
            "the report says {} but QEMU's status says {:?}",
            r.verdict, out.verdict
        ));
        r.verdict = "failed".into();
    }
    if r.failed() {
        r.console_tail = out.console_tail;
    }
    r.report = Some(rep);
    r
}

/// Every scenario of `sources` in its own VM, `opts.jobs` at once; `done` is told of each
/// as it finishes. Reports come back in the order of `sources`.
pub fn verify_all(
    ready: &Ready,
    opts: &Options,
    sources: &[Source],
    done: &(dyn Fn(&VmReport) + Sync),
) -> Vec<VmReport> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<VmReport>>> = Mutex::new(vec![None; sources.len()]);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, sources.len().max(1)) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(src) = sources.get(k) else { break };
                let r = verify_one(ready, opts, src);
                done(&r);
                if let Ok(mut all) = slots.lock() {
                    all[k] = Some(r);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// `start --vm`: the lab shell of `src` in a fresh VM, on this terminal.
pub fn start(ready: &Ready, src: &Source) -> Result<bool, VmError> {
    let id = src.0.trim_end_matches(".yaml").to_owned();
    let opts = Options {
        timeout: Duration::from_secs(24 * 3600),
        ..Options::default()
    };
    let (out, _) = run_job(
        ready,
        &opts,
        &Job::Start { id },
        std::slice::from_ref(src),
        Vec::new(),
        Console::Terminal,
    )?;
    Ok(out.verdict == Verdict::Passed)
}
