//! Real kernel: the v2 device program decides what a process in the cgroup may open and mknod.
//!
//! Each test makes its own cgroup below this process's own v2 cgroup (the `0::` line of
//! /proc/self/cgroup, in whichever cgroup2 mount shows it: /sys/fs/cgroup on a v2 host,
//! /sys/fs/cgroup/unified on a hybrid one — device programs attach to any v2 cgroup, whatever
//! its controllers), attaches a program, moves a forked child into it and has the child try.
//! The cgroup, and with it the program, is removed by a guard even when the test fails.
//! Needs root; a host without a cgroup2 mount fails the tests with the reason.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hull_cgroups::v2::devices::{apply_device_rules, attached_programs};
use hull_cgroups::v2::V2Manager;
use hull_cgroups::{CgroupLocation, CgroupManager, CgroupVersion};
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResourcesBuilder,
};

/// A cgroup v2 directory of this test, removed (after killing anything left in it) on drop.
struct TestCgroup {
    dir: PathBuf,
}

impl TestCgroup {
    fn new(test: &str) -> TestCgroup {
        assert!(
            nix::unistd::geteuid().is_root(),
            "{test}: needs root (to make a cgroup and load a BPF program); run it as root"
        );
        let dir = own_v2_dir().join(format!("hull-bpf-test-{}-{test}", std::process::id()));
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("{test}: mkdir {}: {e}", dir.display()));
        TestCgroup { dir }
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            for pid in fs::read_to_string(self.procs())
                .unwrap_or_default()
                .split_whitespace()
            {
                if let Ok(pid) = pid.parse() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            match fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if Instant::now() > deadline => {
                    eprintln!("LEFT BEHIND: cannot remove {}: {e}", self.dir.display());
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// This process's own directory in the cgroup v2 hierarchy.
fn own_v2_dir() -> PathBuf {
    let cgroup = fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let own = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("/proc/self/cgroup has no '0::' (cgroup v2) line:\n{cgroup}"));
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    // `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER`
    let (root, mount_point) = mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            (right.split(' ').next() == Some("cgroup2")).then(|| (fields[3], fields[4]))
        })
        .find(|(root, _)| own.starts_with(root))
        .unwrap_or_else(|| {
            panic!(
                "no cgroup2 file system that shows this process's cgroup {own:?} is mounted \
                 (see /proc/self/mountinfo): this test needs cgroup v2, at /sys/fs/cgroup or, \
                 on a hybrid host, /sys/fs/cgroup/unified"
            )
        });
    let inside = own.strip_prefix(root).unwrap().trim_start_matches('/');
    Path::new(mount_point).join(inside)
}

/// One thing the child tries.
enum Try {
    Open(&'static str, libc::c_int),
    Mknod(PathBuf, libc::mode_t, u32, u32),
}

/// Run `tries` in a forked child, inside `cgroup` when given (else where this process is), and
/// return each one's errno (0: it worked). The child makes only raw system calls.
fn probe(cgroup: Option<&TestCgroup>, tries: &[Try]) -> Vec<i32> {
    const MAX: usize = 8;
    assert!(tries.len() <= MAX);
    let paths: Vec<CString> = tries
        .iter()
        .map(|t| match t {
            Try::Open(p, _) => CString::new(*p).unwrap(),
            Try::Mknod(p, ..) => CString::new(p.as_os_str().as_bytes()).unwrap(),
        })
        .collect();
    let (go_r, go_w) = nix::unistd::pipe().unwrap();
    let (out_r, out_w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only calls async-signal-safe functions (read, open, close, mknod,
    // write, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        use std::os::fd::AsRawFd;
        let mut results = [0i32; MAX];
        unsafe {
            let mut byte = 0u8;
            if libc::read(go_r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) != 1 {
                libc::_exit(2);
            }
            for (i, t) in tries.iter().enumerate() {
                let ret = match t {
                    Try::Open(_, flags) => {
                        let fd = libc::open(paths[i].as_ptr(), *flags | libc::O_CLOEXEC);
                        if fd >= 0 {
                            libc::close(fd);
                        }
                        fd
                    }
                    Try::Mknod(_, kind, major, minor) => libc::mknod(
                        paths[i].as_ptr(),
                        *kind | 0o600,
                        libc::makedev(*major, *minor),
                    ),
                };
                results[i] = if ret < 0 {
                    *libc::__errno_location()
                } else {
                    0
                };
            }
            let len = tries.len() * 4;
            let wrote = libc::write(out_w.as_raw_fd(), results.as_ptr().cast(), len);
            libc::_exit(if wrote == len as isize { 0 } else { 3 });
        }
    }
    drop((go_r, out_w));
    let child = nix::unistd::Pid::from_raw(pid);
    if let Some(cg) = cgroup {
        if let Err(e) = fs::write(cg.procs(), pid.to_string()) {
            let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(child, None);
            panic!("move the child into {}: {e}", cg.procs().display());
        }
    }
    nix::unistd::write(&go_w, b"g").unwrap();
    // Exactly the results, not up to EOF: a child forked meanwhile by another test holds a
    // copy of the write end until it exits.
    let mut bytes = vec![0u8; tries.len() * 4];
    std::io::Read::read_exact(&mut fs::File::from(out_r), &mut bytes)
        .expect("read the probe child's results");
    let status = nix::sys::wait::waitpid(child, None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(child, 0),
        "the probe child"
    );
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes(c.try_into().unwrap()))
        .collect()
}

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().unwrap()
}

fn deny_all() -> LinuxDeviceCgroup {
    rule(false, LinuxDeviceType::A, None, None, "rwm")
}

fn allow_char(major: i64, minor: i64, access: &str) -> LinuxDeviceCgroup {
    rule(true, LinuxDeviceType::C, Some(major), Some(minor), access)
}

/// What hullrt's create makes of a config whose rules are "deny all" (hull's own, Docker's):
/// the rule, then the default devices, /dev/console, /dev/ptmx and /dev/pts/*.
fn hullrt_default_rules() -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![deny_all()];
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
    ] {
        rules.push(allow_char(major, minor, "rwm"));
    }
    rules.push(rule(true, LinuxDeviceType::C, Some(136), None, "rwm"));
    rules
}

fn errno_name(errno: i32) -> String {
    if errno == 0 {
        "ok".to_owned()
    } else {
        std::io::Error::from_raw_os_error(errno).to_string()
    }
}

/// Check a probe's results against the errnos wanted, naming each try.
fn expect(got: &[i32], want: &[(&str, i32)]) {
    let got: Vec<(&str, String)> = want
        .iter()
        .zip(got)
        .map(|((what, _), e)| (*what, errno_name(*e)))
        .collect();
    let want: Vec<(&str, String)> = want.iter().map(|(w, e)| (*w, errno_name(*e))).collect();
    assert_eq!(got, want);
}

const EPERM: i32 = libc::EPERM;

#[test]
fn only_the_devices_the_rules_allow_can_be_opened() {
    let cg = TestCgroup::new("open");
    let tmp = tempfile::tempdir().unwrap();
    apply_device_rules(&cg.dir, &[deny_all(), allow_char(1, 3, "rw")]).unwrap();
    let tries = [
        Try::Open("/dev/null", libc::O_RDWR),
        Try::Open("/dev/zero", libc::O_RDONLY),
        Try::Mknod(tmp.path().join("null"), libc::S_IFCHR, 1, 3),
    ];
    expect(
        &probe(Some(&cg), &tries),
        &[
            ("open /dev/null rw", 0),
            ("open /dev/zero r", EPERM),
            ("mknod c 1:3 (no m)", EPERM),
        ],
    );
    // The same, outside the cgroup, all work: the program made the difference.
    expect(
        &probe(None, &tries),
        &[
            ("open /dev/null rw", 0),
            ("open /dev/zero r", 0),
            ("mknod c 1:3 (no m)", 0),
        ],
    );
}

#[test]
fn the_default_rules_refuse_mknod_of_a_block_device_through_the_v2_manager() {
    let cg = TestCgroup::new("mknod");
    let tmp = tempfile::tempdir().unwrap();
    let manager = V2Manager::new(CgroupLocation {
        version: CgroupVersion::V2,
        dirs: vec![cg.dir.clone()],
        created: vec![], // the guard removes the directory
    });
    let resources = LinuxResourcesBuilder::default()
        .devices(hullrt_default_rules())
        .build()
        .unwrap();
    manager.apply(&resources).unwrap();
    let inside = [
        Try::Mknod(tmp.path().join("loop0"), libc::S_IFBLK, 7, 0),
        Try::Mknod(tmp.path().join("null"), libc::S_IFCHR, 1, 3),
        Try::Open("/dev/zero", libc::O_RDONLY),
        Try::Open("/dev/null", libc::O_WRONLY),
    ];
    expect(
        &probe(Some(&cg), &inside),
        &[
            ("mknod b 7:0", EPERM),
            ("mknod c 1:3", 0),
            ("open /dev/zero", 0),
            ("open /dev/null", 0),
        ],
    );
    let outside = [Try::Mknod(tmp.path().join("loop0"), libc::S_IFBLK, 7, 0)];
    expect(&probe(None, &outside), &[("mknod b 7:0 outside", 0)]);
}

#[test]
fn a_new_program_replaces_the_old_one() {
    let cg = TestCgroup::new("replace");
    let tmp = tempfile::tempdir().unwrap();
    let tries = [
        Try::Open("/dev/null", libc::O_RDONLY),
        Try::Open("/dev/zero", libc::O_RDONLY),
        Try::Mknod(tmp.path().join("loop0"), libc::S_IFBLK, 7, 0),
    ];

    apply_device_rules(&cg.dir, &[deny_all(), allow_char(1, 3, "r")]).unwrap();
    let first = attached_programs(&cg.dir).unwrap();
    assert_eq!(first.len(), 1, "{first:?}");

    apply_device_rules(&cg.dir, &[deny_all(), allow_char(1, 5, "r")]).unwrap();
    let second = attached_programs(&cg.dir).unwrap();
    assert_eq!(
        second.len(),
        1,
        "the old program is still attached: {second:?}"
    );
    assert_ne!(first, second);
    expect(
        &probe(Some(&cg), &tries),
        &[
            ("open /dev/null", EPERM),
            ("open /dev/zero", 0),
            ("mknod b 7:0", EPERM),
        ],
    );

    let allow_all = rule(true, LinuxDeviceType::A, None, None, "rwm");
    apply_device_rules(&cg.dir, &[allow_all]).unwrap();
    assert_eq!(attached_programs(&cg.dir).unwrap().len(), 1);
    expect(
        &probe(Some(&cg), &tries),
        &[
            ("open /dev/null", 0),
            ("open /dev/zero", 0),
            ("mknod b 7:0", 0),
        ],
    );
}

#[test]
fn a_rule_list_the_kernel_would_partly_ignore_attaches_nothing() {
    let cg = TestCgroup::new("refused");
    let list = [
        deny_all(),
        rule(true, LinuxDeviceType::C, Some(1), None, "rw"),
        allow_char(1, 3, "r"),
        rule(false, LinuxDeviceType::C, Some(1), Some(3), "w"),
    ];
    let err = apply_device_rules(&cg.dir, &list).unwrap_err().to_string();
    assert!(err.contains("linux.resources.devices[3]"), "{err}");
    assert_eq!(attached_programs(&cg.dir).unwrap(), Vec::<u32>::new());
}

#[test]
fn a_deny_rule_refuses_an_open_that_asks_for_its_right() {
    // Allow everything but writing /dev/zero: an O_RDWR open asks the program for reading and
    // writing at once, and must be refused. The rule on the largest numbers puts the compare
    // against a number above i32::MAX through the kernel's verifier too.
    let cg = TestCgroup::new("deny");
    let tmp = tempfile::tempdir().unwrap();
    let big = u32::MAX as i64;
    apply_device_rules(
        &cg.dir,
        &[
            rule(true, LinuxDeviceType::A, None, None, "rwm"),
            rule(false, LinuxDeviceType::C, Some(1), Some(5), "w"),
            rule(false, LinuxDeviceType::B, Some(big), Some(big), "rwm"),
        ],
    )
    .unwrap();
    expect(
        &probe(
            Some(&cg),
            &[
                Try::Open("/dev/zero", libc::O_RDONLY),
                Try::Open("/dev/zero", libc::O_WRONLY),
                Try::Open("/dev/zero", libc::O_RDWR),
                Try::Open("/dev/null", libc::O_RDWR),
                Try::Mknod(tmp.path().join("loop0"), libc::S_IFBLK, 7, 0),
            ],
        ),
        &[
            ("open /dev/zero r", 0),
            ("open /dev/zero w", EPERM),
            ("open /dev/zero rw", EPERM),
            ("open /dev/null rw", 0),
            ("mknod b 7:0", 0),
        ],
    );
}
