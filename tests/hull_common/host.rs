//! Observing (and cleaning) the host: files, mounts, cgroups, processes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn write_file(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Sorted names in a directory (empty when it does not exist).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Mount points at or below `dir` in our mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|mp| PathBuf::from(unescape(mp)))
        .filter(|mp| mp.starts_with(dir))
        .collect()
}

/// The mountinfo line of the mount at exactly `path`, if any.
pub fn mount_line(path: &Path) -> Option<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    info.lines()
        .find(|l| l.split(' ').nth(4).map(unescape).as_deref() == path.to_str())
        .map(str::to_string)
}

pub fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

/// The cgroup mount points of the host (v1 hierarchies and the v2 mount).
pub fn cgroup_mount_points() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    let mut v: Vec<PathBuf> = Vec::new();
    for l in info.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let fstype = post.split(' ').next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        if let Some(mp) = pre.split(' ').nth(4).map(|m| PathBuf::from(unescape(m))) {
            if !v.contains(&mp) {
                v.push(mp);
            }
        }
    }
    v
}

/// The cgroup paths of this process (the third field of /proc/self/cgroup), e.g. `/` or
/// `/user.slice/session-1.scope`.
pub fn own_cgroup_paths() -> Vec<String> {
    fs::read_to_string("/proc/self/cgroup")
        .expect("read /proc/self/cgroup")
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .map(str::to_string)
        .collect()
}

/// `dir` as a cgroup path (`/a/b`) relative to the cgroup mount it is in.
pub fn cgroup_relative(dir: &Path) -> String {
    let mount = cgroup_mount_points()
        .into_iter()
        .filter(|m| dir.starts_with(m))
        .max_by_key(|m| m.components().count())
        .unwrap_or_else(|| panic!("{} is in no cgroup mount", dir.display()));
    format!("/{}", dir.strip_prefix(&mount).unwrap().display())
}

/// Every cgroup directory named exactly `name`, in every hierarchy.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    cgroup_dirs_named_any(&BTreeSet::from([name.to_string()]))
}

/// Every cgroup directory whose name is one of `names`, in every hierarchy (depth ≤ 8).
pub fn cgroup_dirs_named_any(names: &BTreeSet<String>) -> Vec<PathBuf> {
    fn walk(dir: &Path, names: &BTreeSet<String>, depth: usize, found: &mut Vec<PathBuf>) {
        if depth > 8 {
            return;
        }
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            if names.contains(e.file_name().to_string_lossy().as_ref()) {
                found.push(p.clone());
            }
            walk(&p, names, depth + 1, found);
        }
    }
    let mut found = Vec::new();
    if names.is_empty() {
        return found;
    }
    for m in cgroup_mount_points() {
        walk(&m, names, 0, &mut found);
    }
    found.sort();
    found
}

/// Kills the processes in a cgroup directory and removes it (best effort).
pub fn kill_cgroup(dir: &Path) {
    for _ in 0..50 {
        for f in ["cgroup.procs", "tasks"] {
            if let Ok(text) = fs::read_to_string(dir.join(f)) {
                for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
