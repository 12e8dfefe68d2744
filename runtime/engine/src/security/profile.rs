//! Seccomp profiles in Docker's format (the one `--security-opt seccomp=FILE` takes, with rules
//! that depend on the container's capabilities and the machine's architecture), hull's own
//! default profile in it, and the conversion to the OCI `linux.seccomp` object hullrt loads.
//!
//! Shape of the policy (as Docker's): every syscall not named is refused with EPERM; a base set
//! is always allowed; a few sets open up with a capability (mounting and namespaces with
//! `CAP_SYS_ADMIN`, tracing with `CAP_SYS_PTRACE`, …); some are allowed only with harmless
//! arguments (`personality`, `clone` without namespace flags, `socket` except `AF_VSOCK`).

use serde_json::{json, Value};

/// Allowed for every container.
const BASE: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    // Tracing one's own children: safe since kernel 4.8 (seccomp is re-checked after a
    // tracer changes a syscall), which every kernel hull runs on is newer than.
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
];

/// What a capability adds: a container given the capability may use these too.
const BY_CAPABILITY: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "CAP_SYS_TIME",
        &["clock_settime", "clock_settime64", "settimeofday", "stime"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// What only some architectures have (named as Docker's profiles name them: Go's names).
const BY_ARCH: &[(&str, &[&str])] = &[
    ("amd64", &["arch_prctl", "modify_ldt"]),
    ("x86", &["modify_ldt"]),
    (
        "arm64",
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    (
        "arm",
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    ("ppc64le", &["sync_file_range2", "swapcontext"]),
    (
        "s390x",
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    ("riscv64", &["riscv_flush_icache"]),
];

/// The execution domains `personality` may switch to: Linux (0), UNAME26 (8), READ_IMPLIES_EXEC
/// (0x20000) and both, and 0xffffffff (the query).
const PERSONALITIES: &[u64] = &[0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// The namespace flags `clone` may not carry without `CAP_SYS_ADMIN`: NEWNS, NEWCGROUP, NEWUTS,
/// NEWIPC, NEWUSER, NEWPID and NEWNET.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// `socket`'s address family that stays refused: AF_VSOCK (talks to the hypervisor).
const AF_VSOCK: u64 = 40;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// hull's default profile, in Docker's profile format.
pub fn default_profile() -> Value {
    let mut rules = vec![json!({"names": BASE, "action": "SCMP_ACT_ALLOW"})];
    for (cap, names) in BY_CAPABILITY {
        rules
            .push(json!({"names": names, "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}}));
    }
    for (arch, names) in BY_ARCH {
        rules.push(
            json!({"names": names, "action": "SCMP_ACT_ALLOW", "includes": {"arches": [arch]}}),
        );
    }
    for p in PERSONALITIES {
        rules.push(json!({
            "names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": p, "op": "SCMP_CMP_EQ"}]
        }));
    }
    rules.push(json!({
        "names": ["socket"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]
    }));
    // Without CAP_SYS_ADMIN: clone without namespace flags (s390 passes the flags second).
    rules.push(json!({
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
        "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}
    }));
    rules.push(json!({
        "names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 1, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
        "includes": {"arches": ["s390", "s390x"]},
        "excludes": {"caps": ["CAP_SYS_ADMIN"]}
    }));
    // clone3 passes its flags in memory, where seccomp cannot look: "not implemented" makes the
    // C library fall back to clone, whose flags it can check.
    rules.push(json!({
        "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
        "excludes": {"caps": ["CAP_SYS_ADMIN"]}
    }));
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
            {"architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"]},
            {"architecture": "SCMP_ARCH_PPC64LE", "subArchitectures": []},
            {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": []}
        ],
        "syscalls": rules,
    })
}

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("seccomp profile: {0}")]
pub struct ProfileError(String);

/// This machine's architecture as Docker's profiles name it (Go's `GOARCH`), and as seccomp
/// names it.
fn this_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", "SCMP_ARCH_X86_64"),
        "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
        "s390x" => ("s390x", "SCMP_ARCH_S390X"),
        "powerpc64" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
        "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
        other => (other, ""),
    }
}

/// The kernel's version as (major, minor).
fn kernel_version() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Does a rule's `includes`/`excludes` let it apply to a container with bounding set `caps`
/// on this machine? As Docker reads them: every included capability present, none of the
/// excluded ones; this architecture among the included ones (if any), not among the excluded.
fn applies(rule: &Value, caps: &[String], arch: &str) -> Result<bool, ProfileError> {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let inc = &rule["includes"];
    let exc = &rule["excludes"];
    if !strings(&inc["caps"]).iter().all(|c| has(c)) {
        return Ok(false);
    }
    if strings(&exc["caps"]).iter().any(|c| has(c)) {
        return Ok(false);
    }
    let arches = strings(&inc["arches"]);
    if !arches.is_empty() && !arches.contains(&arch) {
        return Ok(false);
    }
    if strings(&exc["arches"]).contains(&arch) {
        return Ok(false);
    }
    if let Some(min) = inc["minKernel"].as_str() {
        let mut p = min.split('.');
        let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
        let (Some(major), minor) = (parse(p.next()), parse(p.next()).unwrap_or(0)) else {
            return Err(ProfileError(format!(
                "includes.minKernel {min:?} is not a version"
            )));
        };
        if kernel_version() < (major, minor) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A profile in Docker's format turned into the OCI `linux.seccomp` object for a container
/// whose bounding set is `caps`, on this machine.
pub fn to_oci(profile: &Value, caps: &[String]) -> Result<Value, ProfileError> {
    let Some(default_action) = profile["defaultAction"].as_str() else {
        return Err(ProfileError("no defaultAction".into()));
    };
    let (arch, native) = this_arch();
    let mut architectures: Vec<String> = strings(&profile["architectures"])
        .into_iter()
        .map(String::from)
        .collect();
    for m in profile["archMap"].as_array().into_iter().flatten() {
        if m["architecture"].as_str() == Some(native) {
            architectures.push(native.to_string());
            architectures.extend(
                strings(&m["subArchitectures"])
                    .into_iter()
                    .map(String::from),
            );
        }
    }
    let mut syscalls = Vec::new();
    let Some(rules) = profile["syscalls"].as_array() else {
        return Err(ProfileError("no syscalls list".into()));
    };
    for (i, rule) in rules.iter().enumerate() {
        if !applies(rule, caps, arch)? {
            continue;
        }
        let mut names = strings(&rule["names"]);
        if let Some(n) = rule["name"].as_str() {
            names.push(n);
        }
        if names.is_empty() {
            return Err(ProfileError(format!("syscalls[{i}] names no syscall")));
        }
        let Some(action) = rule["action"].as_str() else {
            return Err(ProfileError(format!("syscalls[{i}] has no action")));
        };
        let mut out = json!({"names": names, "action": action});
        for key in ["errnoRet", "args"] {
            if !rule[key].is_null() {
                out[key] = rule[key].clone();
            }
        }
        syscalls.push(out);
    }
    let mut oci = json!({
        "defaultAction": default_action,
        "architectures": architectures,
        "syscalls": syscalls,
    });
    for key in ["defaultErrnoRet", "flags"] {
        if !profile[key].is_null() {
            oci[key] = profile[key].clone();
        }
    }
    Ok(oci)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn default_caps() -> Vec<String> {
        crate::security::DEFAULT_CAPS
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    /// Per syscall, the rules that apply to it (action, errno and arguments, in order).
    fn by_name(oci: &Value) -> BTreeMap<String, Vec<Value>> {
        let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for rule in oci["syscalls"].as_array().unwrap() {
            for n in strings(&rule["names"]) {
                let mut r = rule.clone();
                r.as_object_mut().unwrap().remove("names");
                m.entry(n.to_string()).or_default().push(r);
            }
        }
        m
    }

    /// The syscalls allowed whatever their arguments.
    fn allowed(oci: &Value) -> BTreeSet<String> {
        by_name(oci)
            .into_iter()
            .filter(|(_, rules)| {
                rules.iter().any(|r| {
                    r["action"] == "SCMP_ACT_ALLOW"
                        && r["args"].as_array().is_none_or(|a| a.is_empty())
                })
            })
            .map(|(n, _)| n)
            .collect()
    }

    fn containers_common() -> Value {
        let path = "/usr/share/containers/seccomp.json";
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e} (scripts/test.sh installs golang-github-containers-common)")
        });
        serde_json::from_str(&text).unwrap()
    }

    /// Where hull (with Docker) and Debian's containers-common (podman's default) differ, for
    /// Docker's default capabilities on x86_64. Each side is asserted exactly, so a change on
    /// either side shows up here.
    ///
    /// Docker allows, containers-common refuses: io_uring, io_pgetevents, futex_waitv,
    /// vmsplice.
    const ONLY_HULL: &[&str] = &[
        "futex_waitv",
        "io_pgetevents",
        "io_pgetevents_time64",
        "io_uring_enter",
        "io_uring_register",
        "io_uring_setup",
        "vmsplice",
    ];
    /// containers-common allows, Docker refuses or narrows:
    /// - what Docker keeps for CAP_SYS_ADMIN (mounting, namespaces, `syslog`) — podman leaves
    ///   those to capabilities; `clone` and `socket` are allowed by Docker only with harmless
    ///   arguments (no namespace flags; not AF_VSOCK) and `clone3` answers ENOSYS;
    /// - `keyctl`, `pivot_root`, and what Docker keeps for a capability (`reboot`: SYS_BOOT,
    ///   `pidfd_getfd`: SYS_PTRACE, the mempolicy calls: SYS_NICE);
    /// - 32-bit x86 names Docker's list does not carry (`readdir`, `sigaction`, …).
    const ONLY_CONTAINERS_COMMON: &[&str] = &[
        "clone",
        "clone3",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "get_mempolicy",
        "keyctl",
        "mbind",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "pidfd_getfd",
        "pivot_root",
        "readdir",
        "reboot",
        "set_mempolicy",
        "setns",
        "sigaction",
        "signal",
        "sigpending",
        "sigsuspend",
        "socket",
        "syscall",
        "syslog",
        "timerfd",
        "umount",
        "umount2",
        "unshare",
    ];

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_default_profile_differs_from_containers_common_only_where_docker_does() {
        let caps = default_caps();
        let ours = allowed(&to_oci(&default_profile(), &caps).unwrap());
        let theirs = allowed(&to_oci(&containers_common(), &caps).unwrap());
        assert_eq!(
            ours.difference(&theirs).cloned().collect::<BTreeSet<_>>(),
            set(ONLY_HULL),
            "allowed by hull only"
        );
        assert_eq!(
            theirs.difference(&ours).cloned().collect::<BTreeSet<_>>(),
            set(ONLY_CONTAINERS_COMMON),
            "allowed by containers-common only"
        );
        assert!(ours.len() > 300, "{} syscalls allowed", ours.len());
    }

    #[test]
    fn namespaces_and_mounts_need_cap_sys_admin() {
        let plain = to_oci(&default_profile(), &default_caps()).unwrap();
        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN".into());
        let admin = to_oci(&default_profile(), &caps).unwrap();
        for name in ["unshare", "mount", "setns", "umount2", "clone"] {
            assert!(!allowed(&plain).contains(name), "{name} allowed by default");
            assert!(
                allowed(&admin).contains(name),
                "{name} refused with CAP_SYS_ADMIN"
            );
        }
        let clone = &by_name(&plain)["clone"];
        assert_eq!(clone.len(), 1, "{clone:?}");
        assert_eq!(clone[0]["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
        assert_eq!(by_name(&plain)["clone3"][0]["errnoRet"], 38);
        assert!(!by_name(&admin).contains_key("clone3") || allowed(&admin).contains("clone3"));
        assert_eq!(plain["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(plain["defaultErrnoRet"], 1);
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(
                plain["architectures"],
                json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
            );
            assert!(allowed(&plain).contains("arch_prctl"));
        }
    }

    #[test]
    fn rules_apply_as_docker_reads_includes_and_excludes() {
        let rule = |r: Value| json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [r]});
        let caps = vec!["CAP_A".to_string()];
        let kept = |p: Value| {
            !to_oci(&p, &caps).unwrap()["syscalls"]
                .as_array()
                .unwrap()
                .is_empty()
        };
        let allow = |extra: Value| {
            let mut r = json!({"names": ["x"], "action": "SCMP_ACT_ALLOW"});
            r.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            rule(r)
        };
        assert!(kept(allow(json!({}))));
        assert!(kept(allow(json!({"includes": {"caps": ["CAP_A"]}}))));
        assert!(!kept(allow(
            json!({"includes": {"caps": ["CAP_A", "CAP_B"]}})
        )));
        assert!(!kept(allow(json!({"excludes": {"caps": ["CAP_A"]}}))));
        assert!(kept(allow(json!({"excludes": {"caps": ["CAP_B"]}}))));
        assert!(!kept(allow(
            json!({"includes": {"arches": ["no-such-arch"]}})
        )));
        assert!(kept(allow(json!({"includes": {"minKernel": "3.0"}}))));
        assert!(!kept(allow(json!({"includes": {"minKernel": "999.0"}}))));
        assert!(to_oci(&allow(json!({"includes": {"minKernel": "x"}})), &caps).is_err());
        assert!(to_oci(&json!({"syscalls": []}), &caps).is_err());
    }
}
