//! cgroups on the host: the hierarchies (v1 and v2), directories found by name, the processes
//! in them, and cleaning them. Every search here is by a name the test owns (a per-test token,
//! or `hull-<short id>` of its own containers).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use procfs::process::Process;

use super::procs::is_zombie;

/// One cgroup mount of the host: its mount point, its root, whether it is v2, its controllers.
#[derive(Debug, Clone)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    pub root: String,
    pub v2: bool,
    pub controllers: Vec<String>,
}

/// The cgroup v1 hierarchies and the v2 mount, one entry per mount point.
pub fn cgroup_mounts() -> Vec<CgroupMount> {
    // A v1 hierarchy's controllers are those of its super options that /proc/cgroups lists.
    let known: BTreeSet<String> = procfs::cgroups()
        .map(|c| c.0.into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let mut v: Vec<CgroupMount> = Vec::new();
    for m in super::mountinfo::mounts() {
        let v2 = match m.fs_type.as_str() {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        if v.iter().any(|c| c.mount_point == m.mount_point) {
            continue;
        }
        let mut controllers: Vec<String> = if v2 {
            Vec::new()
        } else {
            m.super_options
                .keys()
                .filter(|k| known.contains(*k))
                .cloned()
                .collect()
        };
        controllers.sort();
        v.push(CgroupMount {
            mount_point: m.mount_point,
            root: m.root,
            v2,
            controllers,
        });
    }
    v
}

/// The cgroup mount points of the host (v1 hierarchies and the v2 mount).
pub fn cgroup_mount_points() -> Vec<PathBuf> {
    cgroup_mounts().into_iter().map(|m| m.mount_point).collect()
}

/// True when `controller` is managed by a cgroup v1 hierarchy on this host.
pub fn is_v1_controller(controller: &str) -> bool {
    cgroup_mounts()
        .iter()
        .any(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
}

/// Calls `f` on every directory below `dir` (not `dir` itself), parents first, at most `depth`
/// levels down.
fn walk(dir: &Path, depth: usize, f: &mut dyn FnMut(&Path, &str)) {
    if depth == 0 {
        return;
    }
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let p = e.path();
        f(&p, &e.file_name().to_string_lossy());
        walk(&p, depth - 1, f);
    }
}

/// Every cgroup directory (in every hierarchy) whose name contains `token`, sorted.
pub fn cgroup_dirs_with(token: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for m in cgroup_mount_points() {
        walk(&m, usize::MAX, &mut |p, name| {
            if name.contains(token) {
                found.push(p.to_path_buf());
            }
        });
    }
    found.sort();
    found
}

/// Every cgroup directory below `dir` (not `dir` itself), deepest first: the order they can
/// be removed in.
pub fn cgroup_dirs_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, usize::MAX, &mut |p, _| found.push(p.to_path_buf()));
    found.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    found
}

/// Every cgroup directory named exactly `name`, in every hierarchy.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    cgroup_dirs_named_any(&BTreeSet::from([name.to_string()]))
}

/// Every cgroup directory whose name is one of `names`, in every hierarchy (depth ≤ 9), sorted.
pub fn cgroup_dirs_named_any(names: &BTreeSet<String>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if names.is_empty() {
        return found;
    }
    for m in cgroup_mount_points() {
        walk(&m, 9, &mut |p, name| {
            if names.contains(name) {
                found.push(p.to_path_buf());
            }
        });
    }
    found.sort();
    found
}

/// Live host pids whose cgroup path (in any hierarchy) contains `token`, sorted.
pub fn pids_in_cgroups_with(token: &str) -> Vec<i32> {
    let mut v: Vec<i32> = procfs::process::all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|p| {
            p.cgroups()
                .is_ok_and(|cgs| cgs.0.iter().any(|c| c.pathname.contains(token)))
        })
        .map(|p| p.pid)
        .filter(|pid| !is_zombie(*pid))
        .collect();
    v.sort();
    v
}

/// The cgroup hull counts as the caller's own, from this process's cgroup `path`: on cgroup v2
/// a process that hullrt moved into its leaf (`<own>/hull-leaf`, the no-internal-processes
/// rule) counts as being in the leaf's parent.
pub fn hull_own_path(v2: bool, path: &str) -> &str {
    match path.strip_suffix("/hull-leaf") {
        Some(parent) if v2 => {
            if parent.is_empty() {
                "/"
            } else {
                parent
            }
        }
        _ => path,
    }
}

/// The cgroup paths of this process (e.g. `/` or `/user.slice/session-1.scope`).
pub fn own_cgroup_paths() -> Vec<String> {
    Process::myself()
        .and_then(|p| p.cgroups())
        .expect("read /proc/self/cgroup")
        .0
        .into_iter()
        .map(|c| c.pathname)
        .collect()
}

/// The directories of this process's own cgroups, one per mounted hierarchy (each v1
/// hierarchy, named ones such as `name=systemd` included, and the v2 mount), sorted. On a
/// hybrid host they differ: e.g. `/sys/fs/cgroup/cpu` and
/// `/sys/fs/cgroup/memory/process_api/<hash>`.
pub fn own_cgroup_dirs() -> Vec<PathBuf> {
    let own = Process::myself()
        .and_then(|p| p.cgroups())
        .expect("read /proc/self/cgroup")
        .0;
    let mut dirs = Vec::new();
    for m in super::mountinfo::mounts() {
        // A v1 mount's hierarchy is the /proc/self/cgroup line whose controllers its super
        // options name (`name=systemd` is the option `name` with the value `systemd`).
        let line = match m.fs_type.as_str() {
            "cgroup2" => own.iter().find(|c| c.hierarchy == 0),
            "cgroup" => {
                let options: BTreeSet<String> = m
                    .super_options
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect();
                own.iter().find(|c| {
                    c.hierarchy != 0
                        && !c.controllers.is_empty()
                        && c.controllers.iter().all(|k| options.contains(k))
                })
            }
            _ => continue,
        };
        let Some(line) = line else { continue };
        let pathname = hull_own_path(line.hierarchy == 0, &line.pathname);
        let rel = pathname
            .strip_prefix(m.root.as_str())
            .unwrap_or(pathname)
            .trim_start_matches('/');
        let dir = if rel.is_empty() {
            m.mount_point.clone()
        } else {
            m.mount_point.join(rel)
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
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

/// The host path of `file` in the cgroup (of `controller`, v1; else the v2 one) that `pid` is in.
pub fn cgroup_file(pid: i32, controller: &str, file: &str) -> PathBuf {
    let cgs = Process::new(pid)
        .and_then(|p| p.cgroups())
        .unwrap_or_else(|e| panic!("read /proc/{pid}/cgroup: {e}"))
        .0;
    let mounts = cgroup_mounts();
    if let Some(cg) = cgs
        .iter()
        .find(|c| c.controllers.iter().any(|c| c == controller))
    {
        let m = mounts
            .iter()
            .find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))
            .unwrap_or_else(|| panic!("no cgroup v1 mount for controller {controller}"));
        return join_cgroup(m, &cg.pathname, file);
    }
    let cg = cgs
        .iter()
        .find(|c| c.hierarchy == 0 && c.controllers.is_empty())
        .unwrap_or_else(|| {
            panic!("/proc/{pid}/cgroup has no {controller} hierarchy nor a v2 one: {cgs:?}")
        });
    let m = mounts
        .iter()
        .find(|m| m.v2)
        .unwrap_or_else(|| panic!("no cgroup2 mount on the host for {controller}"));
    join_cgroup(m, &cg.pathname, file)
}

fn join_cgroup(m: &CgroupMount, path: &str, file: &str) -> PathBuf {
    let rel = path
        .strip_prefix(m.root.as_str())
        .unwrap_or(path)
        .trim_start_matches('/');
    m.mount_point.join(rel).join(file)
}

/// Kills the processes in a cgroup directory and removes it (best effort, ~1 s).
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

/// Kills what is left in the cgroups whose name contains `token` (a test's own) and removes
/// them, deepest first (best effort, ~10 s).
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
