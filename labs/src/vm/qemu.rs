//! One QEMU process: a fresh VM booted straight into the guest's kernel (PVH `-kernel
//! vmlinux`) with cgroup v2 only, a serial console, a virtio-serial port for the result, a 9p
//! share for the job, `isa-debug-exit` for the verdict. A hard timeout ends it by its PID; its
//! run directory goes when the [`RunDir`] is dropped. QEMU also dies with its parent
//! (`PR_SET_PDEATHSIG`), so a killed `hull-lab` leaves no VM behind.

use std::fs;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::cpio::{Entry, Writer};
use super::image::Guest;
use super::{io_at, VmError};

pub const QEMU: &str = "qemu-system-x86_64";
/// The virtio-serial port the guest writes its JSON report to.
pub const RESULT_PORT: &str = "org.hull.result";
/// The I/O port of `isa-debug-exit`: a byte `v` written there ends QEMU with status `2v+1`.
pub const EXIT_PORT: u64 = 0x501;
/// The kernel's command line: cgroup v2 only, a serial console, a panic ends the VM. The HPET
/// keeps the guest's time: under emulation on a busy host the TSC's calibration goes wrong
/// and the guest's clock ran 1.5 times too fast (its command timeouts with it).
pub const CMDLINE: &str = "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic \
     cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 clocksource=hpet rdinit=/init";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// The guest's verdict, as QEMU's exit status says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The guest wrote 0: passed.
    Passed,
    /// The guest wrote 1: what it ran failed.
    Failed,
    /// The guest wrote 2: it could not run the job.
    GuestError,
    /// QEMU ended without a verdict (the kernel panicked, the guest powered off).
    NoVerdict,
    /// The hard timeout: QEMU was killed.
    TimedOut,
    /// QEMU itself failed (its status, or the signal that ended it).
    Qemu(i32),
}

impl Verdict {
    pub fn byte(pass: bool) -> u8 {
        u8::from(!pass)
    }

    fn from_status(code: Option<i32>) -> Verdict {
        match code {
            Some(1) => Verdict::Passed,
            Some(3) => Verdict::Failed,
            Some(5) => Verdict::GuestError,
            Some(0) => Verdict::NoVerdict,
            Some(c) => Verdict::Qemu(c),
            None => Verdict::Qemu(-1),
        }
    }
}

/// A VM's own directory: `job/` (shared read-only with the guest), `result.json` (the result
/// port), `console.log`. Removed on drop.
pub struct RunDir {
    dir: tempfile::TempDir,
}

impl RunDir {
    pub fn new() -> Result<RunDir, VmError> {
        sweep();
        let dir = tempfile::Builder::new()
            .prefix("hull-vm.")
            .tempdir()
            .map_err(io_at("create a run directory in", std::env::temp_dir()))?;
        fs::create_dir(dir.path().join("job")).map_err(io_at("create", dir.path()))?;
        fs::write(dir.path().join(OWNER), std::process::id().to_string())
            .map_err(io_at("write the owner of", dir.path()))?;
        Ok(RunDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn job(&self) -> PathBuf {
        self.dir.path().join("job")
    }
}

/// The PID of the `hull-lab` that made a run directory.
const OWNER: &str = "owner";

/// Removes the run directories of `hull-lab` processes that were killed before they could
/// (their QEMU died with them: `PR_SET_PDEATHSIG`).
fn sweep() {
    let Ok(dir) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in dir.flatten() {
        if !e.file_name().to_string_lossy().starts_with("hull-vm.") {
            continue;
        }
        let Ok(owner) = fs::read_to_string(e.path().join(OWNER)) else {
            // Just made (its owner is written next), or not ours to judge yet.
            let young = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(60));
            if !young {
                let _ = fs::remove_dir_all(e.path());
            }
            continue;
        };
        let alive = owner
            .trim()
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Where the serial console goes.
pub enum Console {
    /// To `console.log` in the run directory (kept for the report).
    Log,
    /// To this terminal (the lab shell in the VM).
    Terminal,
}

pub struct Machine<'a> {
    pub guest: &'a Guest,
    pub accel: Accel,
    pub memory_mib: u32,
    pub cpus: u32,
    pub console: Console,
    pub timeout: Duration,
    /// More read-only 9p shares: (mount tag, host directory).
    pub shares: Vec<(String, PathBuf)>,
}

/// What one boot gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub seconds: f64,
    /// What the guest wrote to the result port.
    pub result: Vec<u8>,
    /// The last lines of the serial console (when it went to the log).
    pub console_tail: String,
}

fn qemu_args(m: &Machine<'_>, run: &RunDir, kernel: &Path, initramfs: &Path) -> Vec<String> {
    let dir = run.path().display().to_string();
    let mut a: Vec<String> = vec![
        "-nodefaults".into(),
        "-no-reboot".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        "-machine".into(),
        "q35".into(),
        "-accel".into(),
        m.accel.name().into(),
        "-cpu".into(),
        if m.accel == Accel::Kvm { "host" } else { "max" }.into(),
        "-m".into(),
        format!("{}M", m.memory_mib),
        "-smp".into(),
        m.cpus.to_string(),
        "-kernel".into(),
        kernel.display().to_string(),
        "-initrd".into(),
        initramfs.display().to_string(),
        "-append".into(),
        CMDLINE.into(),
        "-device".into(),
        format!("isa-debug-exit,iobase={EXIT_PORT:#x},iosize=1"),
        "-device".into(),
        "virtio-serial-pci".into(),
        "-chardev".into(),
        format!("file,id=result,path={dir}/result.json"),
        "-device".into(),
        format!("virtserialport,chardev=result,name={RESULT_PORT}"),
        "-fsdev".into(),
        format!("local,id=job,path={dir}/job,security_model=none,readonly=on"),
        "-device".into(),
        "virtio-9p-pci,fsdev=job,mount_tag=job".into(),
    ];
    for (i, (tag, path)) in m.shares.iter().enumerate() {
        a.push("-fsdev".into());
        a.push(format!(
            "local,id=share{i},path={},security_model=none,readonly=on",
            path.display()
        ));
        a.push("-device".into());
        a.push(format!("virtio-9p-pci,fsdev=share{i},mount_tag={tag}"));
    }
    match m.console {
        Console::Log => {
            a.push("-serial".into());
            a.push(format!("file:{dir}/console.log"));
        }
        Console::Terminal => {
            a.push("-chardev".into());
            a.push("stdio,id=con,signal=off".into());
            a.push("-serial".into());
            a.push("chardev:con".into());
        }
    }
    a
}

/// Boots `m` on `initramfs` (the guest's, unless a probe brings its own) with the job already
/// in `run.job()`, and waits for the end or the timeout.
pub fn boot(m: &Machine<'_>, run: &RunDir) -> Result<Outcome, VmError> {
    boot_with(m, run, &m.guest.initramfs)
}

fn boot_with(m: &Machine<'_>, run: &RunDir, initramfs: &Path) -> Result<Outcome, VmError> {
    let args = qemu_args(m, run, &m.guest.kernel.vmlinux(), initramfs);
    let mut cmd = Command::new(QEMU);
    cmd.args(&args).stdin(Stdio::null());
    match m.console {
        Console::Log => {
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        }
        Console::Terminal => {
            cmd.stdin(Stdio::inherit());
        }
    }
    // SAFETY: prctl is async-signal-safe; it only asks for SIGKILL when the parent dies.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| VmError::Tool {
        what: format!("start {QEMU} (install qemu-system-x86)"),
        detail: e.to_string(),
    })?;
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            use std::io::Read;
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if started.elapsed() >= m.timeout => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                // SAFETY: kill(2) of our own child's PID, which has not been reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                let _ = child.wait();
                return Err(VmError::Tool {
                    what: format!("wait for {QEMU} (pid {pid})"),
                    detail: e.to_string(),
                });
            }
        }
    };
    let verdict = match status {
        Some(st) => match st.code() {
            Some(c) => Verdict::from_status(Some(c)),
            None => Verdict::Qemu(128 + st.signal().unwrap_or(0)),
        },
        None => {
            // SAFETY: as above: our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = child.wait();
            Verdict::TimedOut
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let qemu_err = reader.join().unwrap_or_default();
    let result = fs::read(run.path().join("result.json")).unwrap_or_default();
    let mut console_tail = tail(&run.path().join("console.log"), 25);
    if !qemu_err.trim().is_empty() && !matches!(verdict, Verdict::Passed | Verdict::Failed) {
        console_tail.push_str(&format!("\n[qemu] {}", qemu_err.trim()));
    }
    Ok(Outcome {
        verdict,
        seconds,
        result,
        console_tail,
    })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The accelerator to use: `HULL_VM_ACCEL` if set; else KVM only when a tiny guest boots
/// with it and reports back, else TCG. The answer is kept for this boot of the host.
pub fn choose_accel(guest: &Guest, cache: &Path, say: &dyn Fn(&str)) -> (Accel, String) {
    match std::env::var("HULL_VM_ACCEL").as_deref() {
        Ok("tcg") => return (Accel::Tcg, "HULL_VM_ACCEL=tcg".into()),
        Ok("kvm") => return (Accel::Kvm, "HULL_VM_ACCEL=kvm".into()),
        _ => {}
    }
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let memo = cache.join("accel.json");
    #[derive(Serialize, Deserialize)]
    struct Memo {
        boot_id: String,
        kernel: String,
        accel: Accel,
        why: String,
    }
    if let Some(m) = fs::read(&memo)
        .ok()
        .and_then(|b| serde_json::from_slice::<Memo>(&b).ok())
        .filter(|m| m.boot_id == boot_id && m.kernel == guest.kernel.version)
    {
        return (m.accel, format!("{} (probed earlier this boot)", m.why));
    }
    say("accelerator: probing KVM with a tiny guest");
    let (accel, why) = probe_kvm(guest);
    let m = Memo {
        boot_id,
        kernel: guest.kernel.version.clone(),
        accel,
        why: why.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&m) {
        let _ = fs::write(&memo, bytes);
    }
    (accel, why)
}

fn probe_kvm(guest: &Guest) -> (Accel, String) {
    if let Err(e) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return (Accel::Tcg, format!("no usable /dev/kvm ({e})"));
    }
    let tried = (|| -> Result<Outcome, VmError> {
        let run = RunDir::new()?;
        let tiny = run.path().join("probe.cpio");
        write_probe_initramfs(&tiny)?;
        let m = Machine {
            guest,
            accel: Accel::Kvm,
            memory_mib: 256,
            cpus: 1,
            console: Console::Log,
            timeout: Duration::from_secs(20),
            shares: Vec::new(),
        };
        boot_with(&m, &run, &tiny)
    })();
    match tried {
        Ok(o) if o.verdict == Verdict::Passed => (
            Accel::Kvm,
            format!("KVM: a tiny guest booted in {:.1} s", o.seconds),
        ),
        Ok(o) => (
            Accel::Tcg,
            format!(
                "KVM did not boot a tiny guest ({:?}), TCG instead",
                o.verdict
            ),
        ),
        Err(e) => (Accel::Tcg, format!("KVM probe failed ({e}), TCG instead")),
    }
}

/// An initramfs whose /init (busybox) only writes the "passed" byte to `isa-debug-exit`.
fn write_probe_initramfs(path: &Path) -> Result<(), VmError> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .find(|p| Path::new(p).is_file())
        .ok_or_else(|| VmError::Tool {
            what: "find busybox for the KVM probe (install busybox-static)".into(),
            detail: String::new(),
        })?;
    let bytes = fs::read(busybox).map_err(io_at("read", busybox))?;
    let init = format!(
        "#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs dev /dev\n\
         printf '\\000' | /bin/busybox dd of=/dev/port bs=1 seek={EXIT_PORT} 2>/dev/null\n\
         /bin/busybox poweroff -f\n"
    );
    let file = fs::File::create(path).map_err(io_at("create", path))?;
    let werr = |e| VmError::Io {
        what: "write the probe's initramfs".into(),
        path: path.to_path_buf(),
        source: e,
    };
    let mut w = Writer::new(std::io::BufWriter::new(file));
    for d in ["bin", "dev"] {
        w.add(d, 0o755, Entry::Dir).map_err(werr)?;
    }
    w.add("dev/console", 0o600, Entry::CharDev(5, 1))
        .map_err(werr)?;
    w.add("bin/busybox", 0o755, Entry::File(&bytes))
        .map_err(werr)?;
    w.add("init", 0o755, Entry::File(init.as_bytes()))
        .map_err(werr)?;
    w.finish().map_err(werr)?.flush().map_err(werr)?;
    Ok(())
}
