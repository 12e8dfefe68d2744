//! The VM backend for real: every embedded scenario verified in its own QEMU VM (cgroup v2
//! only), two at once; guests that fail, hang or panic give a clear result; nothing is left
//! behind (QEMU processes, run directories); the guest is cached. TCG here (the probe says
//! whether KVM works).

mod common;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hull_lab::vm::guest::Job;
use hull_lab::vm::host::{self, Options, Ready};
use hull_lab::vm::qemu::{Console, Verdict};

/// One test's VMs at a time: the machine has two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn say(line: &str) {
    eprintln!("==> {line}");
}

fn ready() -> Ready {
    common::hull(); // root, and the binaries are built
    host::ready(&say).unwrap_or_else(|e| panic!("cannot prepare the lab VM: {e}"))
}

/// QEMU processes whose parent is `pid`, and the run directories `pid` made (each names its
/// maker in its `owner` file): another run of the suite on this machine has its own.
fn leftovers_of(pid: u32) -> (Vec<String>, Vec<String>) {
    let pid = pid.to_string();
    let mut qemus = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).unwrap_or_default();
        if comm.contains("qemu") && ppid == pid {
            qemus.push(
                stat.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let runs = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("hull-vm."))
        .filter(|e| std::fs::read_to_string(e.path().join("owner")).is_ok_and(|o| o.trim() == pid))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    (qemus, runs)
}

/// This test process's leftovers.
fn leftovers() -> (Vec<String>, Vec<String>) {
    leftovers_of(std::process::id())
}

fn assert_clean(before: &(Vec<String>, Vec<String>)) {
    let (qemus, runs) = leftovers();
    assert!(qemus.is_empty(), "QEMU processes left running: {qemus:?}");
    let new: Vec<&String> = runs.iter().filter(|r| !before.1.contains(r)).collect();
    assert!(new.is_empty(), "run directories left behind: {new:?}");
}

#[test]
fn every_scenario_passes_in_its_own_vm() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let ready = ready();
    let before = leftovers();
    let sources: Vec<_> = hull_lab::load::embedded()
        .unwrap()
        .iter()
        .map(|s| host::source(None, &s.id).unwrap())
        .collect();
    let opts = Options {
        jobs: 2,
        timeout: Duration::from_secs(600),
        ..Options::default()
    };
    let started = Instant::now();
    let reports = host::verify_all(&ready, &opts, &sources, &|r| {
        eprintln!(
            "{}: {} in the VM ({}), boot to result {:.1} s",
            r.id,
            r.verdict,
            r.accel.name(),
            r.boot_to_result_seconds
        );
    });
    eprintln!(
        "{} scenarios in {:.1} s, two VMs at once, {} ({})",
        reports.len(),
        started.elapsed().as_secs_f64(),
        ready.accel.name(),
        ready.accel_why
    );
    assert_eq!(reports.len(), sources.len());
    for r in &reports {
        assert!(
            !r.failed(),
            "{} failed in the VM: {}\n{}",
            r.id,
            r.reason.clone().unwrap_or_default(),
            serde_json::to_string_pretty(r).unwrap()
        );
        assert!(r.cgroup2_only, "{}: the guest was not cgroup v2 only", r.id);
        assert_eq!(r.qemu_verdict, Verdict::Passed, "{}", r.id);
    }
    assert_clean(&before);
}

fn run(
    ready: &Ready,
    script: &str,
    timeout: u64,
) -> (Verdict, Option<hull_lab::vm::guest::Report>, f64) {
    let opts = Options {
        jobs: 1,
        timeout: Duration::from_secs(timeout),
        ..Options::default()
    };
    let job = Job::Run {
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: Vec::new(),
        cwd: None,
        mounts: Vec::new(),
    };
    let (out, report) =
        host::run_job(ready, &opts, &job, &[], Vec::new(), Console::Log).expect("QEMU ran");
    (out.verdict, report, out.seconds)
}

#[test]
fn a_guest_that_fails_hangs_or_panics_gives_a_clear_result() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let ready = ready();
    let before = leftovers();
    std::thread::scope(|s| {
        let fails = s.spawn(|| run(&ready, "echo broken >&2; exit 3", 300));
        // Booting takes about 4 s under TCG: 20 s tells a hang from a slow guest.
        let hangs = s.spawn(|| run(&ready, "sleep 100000", 20));
        let (v, report, secs) = fails.join().unwrap();
        assert_eq!(
            v,
            Verdict::Failed,
            "a failing command: QEMU's status says so"
        );
        let report = report.expect("a failing guest still reports");
        let out = report.run.expect("the command's result");
        assert_eq!(out.exit_code, Some(3));
        assert!(out.stderr.contains("broken"), "{out:?}");
        eprintln!("failing guest: {secs:.1} s");
        let (v, report, secs) = hangs.join().unwrap();
        assert_eq!(
            v,
            Verdict::TimedOut,
            "a hanging guest is killed at its timeout"
        );
        assert!(report.is_none());
        assert!((20.0..50.0).contains(&secs), "killed after {secs:.1} s");
    });
    // A kernel panic (sysrq c): the VM ends at once, without a verdict.
    let (v, report, secs) = run(&ready, "echo c > /proc/sysrq-trigger; sleep 100", 300);
    assert_eq!(
        v,
        Verdict::NoVerdict,
        "a panicking guest ends without a verdict"
    );
    assert!(report.is_none());
    eprintln!("panicking guest: {secs:.1} s");
    assert_clean(&before);
}

/// Processes whose command line names one of `runs` (QEMU names its run directory).
fn processes_naming(runs: &[&String]) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if runs.iter().any(|r| cmdline.contains(r.as_str())) {
            found.push(cmdline);
        }
    }
    found
}

#[test]
fn a_lab_opens_in_a_vm_on_its_serial_console() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _ready = ready();
    let before = leftovers();
    let state = tempfile::tempdir().unwrap();
    let mut cmd = common::lab_cmd(state.path());
    cmd.args(["start", "--vm", "namespaces"])
        .env("TERM", "dumb");
    let mut t = common::pty::Terminal::spawn(cmd);
    // The learner's shell in the guest: the lab's prompt on the serial console.
    t.wait_for("[lab namespaces", Duration::from_secs(300));
    let (_, runs) = leftovers_of(t.child.id());
    assert_eq!(runs.len(), 1, "one run directory for the VM: {runs:?}");
    // Typed on the host's terminal, run in the guest's sandbox: cgroup v2 only, below the
    // session cgroup, in the sandbox's leaf.
    t.type_line("cat /proc/self/cgroup");
    t.wait_for("0::/session.scope/", Duration::from_secs(60));
    t.type_line("exit");
    let status = t.wait_exit(Duration::from_secs(120));
    eprintln!("hull-lab start --vm ended: {status}");
    let seen = t.seen.lock().unwrap().clone();
    let line = seen
        .lines()
        .find(|l| l.starts_with("0::/session.scope/"))
        .unwrap_or_default();
    assert!(
        line.contains("/hull-lab-") && line.trim_end().ends_with("/hull-leaf"),
        "the shell is in the sandbox's leaf: {line:?}"
    );
    let runs: Vec<&String> = runs.iter().collect();
    let left = processes_naming(&runs);
    assert!(
        left.is_empty(),
        "processes of the VM left running: {left:?}"
    );
    assert_clean(&before);
}

#[test]
fn the_guest_is_cached_under_a_content_key() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    common::hull();
    let a = host::build(&say).expect("a guest");
    let b = host::build(&say).expect("the same guest");
    assert!(!b.built, "the second build reuses the cache");
    assert_eq!(a.key, b.key);
    assert!(Path::new(&b.initramfs).is_file());
    assert!(b.kernel.vmlinux().is_file());
}
