//! Observing the host: mounts, cgroups, processes, SysV IPC, /proc/PID/status.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn read_lines(path: &str) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .lines()
        .map(String::from)
        .collect()
}

pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// One cgroup mount of the host: its mount point, its root, whether it is v2, its controllers.
#[derive(Debug, Clone)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    pub root: String,
    pub v2: bool,
    pub controllers: Vec<String>,
}

/// The cgroup v1 hierarchies and the v2 mount, from /proc/self/mountinfo.
pub fn cgroup_mounts() -> Vec<CgroupMount> {
    let mut v: Vec<CgroupMount> = Vec::new();
    for line in read_lines("/proc/self/mountinfo") {
        let (pre, post) = match line.split_once(" - ") {
            Some(x) => x,
            None => continue,
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let fstype = post[0];
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let mount_point = PathBuf::from(unescape(pre[4]));
        if v.iter().any(|m| m.mount_point == mount_point) {
            continue;
        }
        let controllers = if fstype == "cgroup" {
            post[2]
                .split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "relatime" | "noatime" | "nosuid" | "nodev" | "noexec"
                    )
                })
                .map(String::from)
                .collect()
        } else {
            Vec::new()
        };
        v.push(CgroupMount {
            mount_point,
            root: unescape(pre[3]),
            v2: fstype == "cgroup2",
            controllers,
        });
    }
    v
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn walk_dirs(dir: &Path, token: &str, found: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.filter_map(|e| e.ok()) {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let p = e.path();
        if e.file_name().to_string_lossy().contains(token) {
            found.push(p.clone());
        }
        walk_dirs(&p, token, found);
    }
}

/// Every cgroup directory (in every hierarchy) whose name contains `token`.
pub fn cgroup_dirs_with(token: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for m in cgroup_mounts() {
        walk_dirs(&m.mount_point, token, &mut found);
    }
    found.sort();
    found
}

/// Host pids whose /proc/PID/cgroup mentions `token`.
pub fn pids_in_cgroups_with(token: &str) -> Vec<i32> {
    let mut v = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return v;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cg) = fs::read_to_string(e.path().join("cgroup")) {
            if cg.contains(token) && !is_zombie(pid) {
                v.push(pid);
            }
        }
    }
    v.sort();
    v
}

/// True when `pid` is gone or a zombie.
pub fn is_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(_) => is_zombie(pid),
    }
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// Kills what is left in this test's cgroups (our own containers' processes) and removes them.
pub fn remove_cgroups_with(token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for pid in pids_in_cgroups_with(token) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut dirs = cgroup_dirs_with(token);
        // Deepest first.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        let mut left = 0;
        for d in &dirs {
            if fs::remove_dir(d).is_err() && d.exists() {
                left += 1;
            }
        }
        if left == 0 || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a test can leave behind on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Lines of the host's /proc/self/mountinfo.
    pub mounts: Vec<String>,
    /// cgroup dirs (any hierarchy) containing the test's token.
    pub cgroup_dirs: Vec<PathBuf>,
    /// Live processes whose cgroup path contains the test's token.
    pub processes: Vec<i32>,
    /// Entries of the runtime's state dir (`--root`).
    pub state_entries: Vec<String>,
}

pub fn assert_no_leaks(before: &Snapshot, after: &Snapshot) {
    let mut problems = Vec::new();
    if before.mounts.len() != after.mounts.len() {
        let added: Vec<&String> = after
            .mounts
            .iter()
            .filter(|l| !before.mounts.contains(l))
            .collect();
        let removed: Vec<&String> = before
            .mounts
            .iter()
            .filter(|l| !after.mounts.contains(l))
            .collect();
        problems.push(format!(
            "host mount count {} -> {}; added: {added:#?}; removed: {removed:#?}",
            before.mounts.len(),
            after.mounts.len()
        ));
    }
    if before.cgroup_dirs != after.cgroup_dirs {
        problems.push(format!(
            "cgroup dirs {:#?} -> {:#?}",
            before.cgroup_dirs, after.cgroup_dirs
        ));
    }
    if before.processes != after.processes {
        problems.push(format!(
            "processes in the test's cgroups {:?} -> {:?}",
            before.processes, after.processes
        ));
    }
    if before.state_entries != after.state_entries {
        problems.push(format!(
            "state dir entries {:?} -> {:?}",
            before.state_entries, after.state_entries
        ));
    }
    assert!(
        problems.is_empty(),
        "resources leaked:\n{}",
        problems.join("\n")
    );
}

/// The host path of `file` in the cgroup (of `controller`, v1; else the v2 one) that `pid` is in.
pub fn cgroup_file(pid: i32, controller: &str, file: &str) -> PathBuf {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/cgroup: {e}"));
    let mounts = cgroup_mounts();
    let mut v2_path = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            v2_path = Some(path.to_string());
            continue;
        }
        if ctrls.split(',').any(|c| c == controller) {
            let m = mounts
                .iter()
                .find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
                .unwrap_or_else(|| panic!("no cgroup v1 mount for controller {controller}"));
            return join_cgroup(m, path, file);
        }
    }
    let path = v2_path.unwrap_or_else(|| {
        panic!("/proc/{pid}/cgroup has no {controller} hierarchy nor a v2 one:\n{text}")
    });
    let m = mounts
        .iter()
        .find(|m| m.v2)
        .unwrap_or_else(|| panic!("no cgroup2 mount on the host for {controller}"));
    join_cgroup(m, &path, file)
}

/// True when `controller` is managed by a cgroup v1 hierarchy on this host.
pub fn is_v1_controller(controller: &str) -> bool {
    cgroup_mounts()
        .iter()
        .any(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
}

fn join_cgroup(m: &CgroupMount, path: &str, file: &str) -> PathBuf {
    let rel = path
        .strip_prefix(m.root.as_str())
        .unwrap_or(path)
        .trim_start_matches('/');
    m.mount_point.join(rel).join(file)
}

/// A SysV shared memory segment created on the host; removed on drop.
pub struct ShmSegment {
    pub shmid: i32,
}

impl ShmSegment {
    pub fn new() -> ShmSegment {
        // SAFETY: shmget has no memory-safety preconditions.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(
            shmid >= 0,
            "shmget on the host failed: {}",
            std::io::Error::last_os_error()
        );
        ShmSegment { shmid }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID ignores the buffer argument.
        unsafe {
            libc::shmctl(self.shmid, libc::IPC_RMID, std::ptr::null_mut());
        }
    }
}

/// The shmids listed in a /proc/sysvipc/shm text (header line skipped).
pub fn shmids(sysvipc_shm: &str) -> Vec<i32> {
    sysvipc_shm
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// The value of field `key` (e.g. "NSpid") in /proc/PID/status, or in a status text.
pub fn status_field(status_text: &str, key: &str) -> Option<String> {
    status_text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim().to_string())
    })
}
