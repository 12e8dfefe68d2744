//! Running things: the raw system calls made between fork and exec, commands with a time
//! limit, and finding the `hull` binary.

use std::ffi::CStr;
use std::io::{self, Read, Seek};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// What a command did.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The exit code, or 128 + the signal that killed it; `None` if it was stopped for time.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

pub fn code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs `cmd` in its own process group; after `timeout` the group is killed. Output goes to
/// unnamed files, so a daemon that keeps them open cannot make this wait.
pub fn run(mut cmd: Command, timeout: Duration, tmp: &Path) -> io::Result<Output> {
    let mut out = tempfile::tempfile_in(tmp)?;
    let mut err = tempfile::tempfile_in(tmp)?;
    cmd.stdout(out.try_clone()?)
        .stderr(err.try_clone()?)
        .process_group(0);
    let mut child = cmd.spawn()?;
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break Some(code_of(status));
        }
        if Instant::now() >= deadline {
            let pgid = nix::unistd::Pid::from_raw(-(child.id() as i32));
            let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    Ok(Output {
        code,
        stdout: read_all(&mut out)?,
        stderr: read_all(&mut err)?,
    })
}

fn read_all(f: &mut std::fs::File) -> io::Result<String> {
    f.rewind()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// bash when installed (the learner's shell), else sh.
pub fn shell() -> &'static str {
    if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    }
}

/// Why the `hull` binary cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum HullNotFound {
    #[error("HULL_BIN={} is not a file", .0.display())]
    NotAFile(PathBuf),
    #[error("cannot find hull: build it (cargo build --workspace --bins), put it on PATH or set HULL_BIN")]
    Nowhere,
}

/// `hull`: `$HULL_BIN`, else next to this executable (cargo's target dir), else on PATH.
pub fn find_hull() -> Result<PathBuf, HullNotFound> {
    if let Some(p) = std::env::var_os("HULL_BIN").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(HullNotFound::NotAFile(p))
        };
    }
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.ends_with("deps") {
            dir.pop();
        }
        // A release bench finds the debug build `cargo build --workspace --bins` made.
        for candidate in [dir.join("hull"), dir.join("../debug/hull")] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("hull"))
        .find(|p| p.is_file())
        .ok_or(HullNotFound::Nowhere)
}

// ---------------------------------------------------------------------------------------------
// Between fork and exec: raw system calls only, no allocation.
// ---------------------------------------------------------------------------------------------

pub fn write_file(path: &CStr, data: &[u8]) -> io::Result<()> {
    // SAFETY: plain system calls on a valid C string and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = io::Error::last_os_error();
        libc::close(fd);
        if n < 0 {
            return Err(e);
        }
    }
    Ok(())
}

/// In the holder: new mount, network and UTS namespaces; no mount events shared with the
/// real host; a hostname; loopback up; forwarding on (for this network namespace only); a
/// sysfs of its own, so `/sys/class/net` lists the sandbox's interfaces rather than the
/// host's (the cgroup mounts below `/sys/fs/cgroup` are carried over through `park`, an
/// empty directory).
pub fn make_host(hostname: &str, park: &CStr) -> io::Result<()> {
    let check = |r: libc::c_int| {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: plain system calls with valid arguments.
    unsafe {
        check(libc::unshare(
            libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWUTS,
        ))?;
        check(libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::sethostname(hostname.as_ptr().cast(), hostname.len()))?;
        // sysfs shows the network devices of the namespace that mounts it.
        check(libc::mount(
            c"/sys/fs/cgroup".as_ptr(),
            park.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            c"sysfs".as_ptr(),
            c"/sys".as_ptr(),
            c"sysfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            park.as_ptr(),
            c"/sys/fs/cgroup".as_ptr(),
            std::ptr::null(),
            libc::MS_MOVE,
            std::ptr::null(),
        ))?;
        write_file(c"/proc/sys/net/ipv4/ip_forward", b"1")?;
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(sock)?;
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let up = (|| {
            check(libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut ifr))?;
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            check(libc::ioctl(sock, libc::SIOCSIFFLAGS, &ifr))
        })();
        libc::close(sock);
        up
    }
}
