//! The sandbox's cgroup subtree: one directory below the caller's own cgroup in every mounted
//! hierarchy (v1: each hierarchy with a controller; v2: the unified one). Everything the
//! sandbox runs joins it, so hull's `hull-<id>` cgroups land below it and destroy can find,
//! kill and remove all of it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use procfs::process::MountInfo;

pub const ROOT: &str = "/sys/fs/cgroup";

/// Options of a v1 cgroup mount that are not controllers.
const FLAGS: [&str; 9] = [
    "rw",
    "ro",
    "none",
    "all",
    "noprefix",
    "xattr",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
];

/// A cgroup mount from /proc/self/mountinfo: where it is, what it shows, which controllers.
#[derive(Debug, Clone)]
pub struct Mount {
    pub root: String,
    pub point: PathBuf,
    pub v2: bool,
    pub controllers: Vec<String>,
}

pub fn mounts() -> io::Result<Vec<Mount>> {
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(parse_mounts(&text))
}

/// The cgroup and cgroup2 mounts in mountinfo text, each hierarchy once (its first mount).
/// Lines procfs cannot parse are skipped: only the kernel's cgroup lines matter here.
fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut seen = std::collections::BTreeSet::new();
    text.lines()
        .filter_map(|line| MountInfo::from_line(line).ok())
        .filter_map(|m| {
            let v2 = m.fs_type == "cgroup2";
            if !(v2 || m.fs_type == "cgroup") || !seen.insert(m.majmin.clone()) {
                return None;
            }
            let mut controllers: Vec<String> = m
                .super_options
                .into_iter()
                .filter(|(o, value)| !v2 && value.is_none() && !FLAGS.contains(&o.as_str()))
                .map(|(o, _)| o)
                .collect();
            // procfs keeps the options in a map, so their order is not the kernel's.
            controllers.sort_unstable();
            Some(Mount {
                root: m.root,
                point: m.mount_point,
                v2,
                controllers,
            })
        })
        .collect()
}

/// Whether `/sys/fs/cgroup` itself is the unified hierarchy.
pub fn unified() -> bool {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    statfs(ROOT).is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

/// The hierarchies hull uses: the unified one on a v2 host, else every v1 hierarchy with a
/// controller.
pub fn hierarchies() -> io::Result<Vec<Mount>> {
    let v2 = unified();
    Ok(mounts()?
        .into_iter()
        .filter(|m| {
            if v2 {
                m.v2 && m.point == Path::new(ROOT)
            } else {
                !m.v2 && !m.controllers.is_empty()
            }
        })
        .collect())
}

/// The directory of `pid`'s cgroup in hierarchy `m` (pid 0: the caller).
pub fn dir_of(pid: u32, m: &Mount) -> io::Result<PathBuf> {
    let file = if pid == 0 {
        "/proc/self/cgroup".to_owned()
    } else {
        format!("/proc/{pid}/cgroup")
    };
    let text = fs::read_to_string(&file)?;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let matches = if m.v2 {
            id == "0" && ctrls.is_empty()
        } else {
            let mut a: Vec<&str> = ctrls.split(',').collect();
            let mut b: Vec<&str> = m.controllers.iter().map(String::as_str).collect();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if matches {
            let inside = if m.root == "/" {
                path
            } else {
                path.strip_prefix(m.root.as_str()).unwrap_or(path)
            };
            return Ok(m.point.join(inside.trim_start_matches('/')));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "{file} has no line for the cgroup hierarchy at {}",
            m.point.display()
        ),
    ))
}

/// What one sandbox may use at most: its memory (bytes) and its number of tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub memory: u64,
    pub pids: u64,
}

/// Set to change the caps of the sandboxes made from then on.
pub const ENV_MEMORY: &str = "HULL_LAB_MEMORY";
pub const ENV_PIDS: &str = "HULL_LAB_PIDS";

impl Limits {
    /// Room for the labs (a build, a few containers, a 32 MiB hog) with the rest of a
    /// 2 GiB machine left to its host.
    pub const DEFAULT: Limits = Limits {
        memory: 768 << 20,
        pids: 1024,
    };

    /// The defaults, or `$HULL_LAB_MEMORY` (`768m`, `1g`) and `$HULL_LAB_PIDS`.
    pub fn from_env() -> Result<Limits, String> {
        let mut l = Limits::DEFAULT;
        if let Some(v) = std::env::var(ENV_MEMORY).ok().filter(|v| !v.is_empty()) {
            l.memory =
                crate::parse::parse_size(&v).map_err(|e| format!("${ENV_MEMORY}={v:?}: {e}"))?;
            if l.memory < 64 << 20 {
                return Err(format!("${ENV_MEMORY}={v:?}: a sandbox needs at least 64m"));
            }
        }
        if let Some(v) = std::env::var(ENV_PIDS).ok().filter(|v| !v.is_empty()) {
            l.pids = v
                .parse()
                .ok()
                .filter(|n| *n >= 64)
                .ok_or_else(|| format!("${ENV_PIDS}={v:?}: a number of tasks, 64 or more"))?;
        }
        Ok(l)
    }

    /// `768 MiB of memory, 1024 tasks`
    pub fn describe(&self) -> String {
        let m = self.memory;
        let mem = if m.is_multiple_of(1 << 30) {
            format!("{} GiB", m >> 30)
        } else {
            format!("{} MiB", m >> 20)
        };
        format!("{mem} of memory, {} tasks", self.pids)
    }
}

/// Which caps: those the kernel enforces on a sandbox, or those the user asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capped {
    pub memory: bool,
    pub pids: bool,
}

impl Capped {
    /// The caps `$HULL_LAB_MEMORY` and `$HULL_LAB_PIDS` ask for by being set.
    pub fn asked_in_env() -> Capped {
        let set = |v: &str| std::env::var_os(v).is_some_and(|v| !v.is_empty());
        Capped {
            memory: set(ENV_MEMORY),
            pids: set(ENV_PIDS),
        }
    }

    /// The caps in `self` that `enforced` lacks, by the variable that sets them.
    pub fn unmet_by(self, enforced: Capped) -> Vec<&'static str> {
        let mut unmet = Vec::new();
        if self.memory && !enforced.memory {
            unmet.push(ENV_MEMORY);
        }
        if self.pids && !enforced.pids {
            unmet.push(ENV_PIDS);
        }
        unmet
    }

    /// `memory and pids`, `pids`: the caps missing from `self`.
    fn missing(self) -> String {
        match (self.memory, self.pids) {
            (false, false) => "memory and pids caps are".into(),
            (false, true) => "memory cap is".into(),
            (true, false) => "pids cap is".into(),
            (true, true) => String::new(),
        }
    }

    /// One line for a sandbox the kernel does not (fully) cap, `None` when it does.
    pub fn warning(self, why: &str) -> Option<String> {
        let why = if why.is_empty() {
            "its cgroup has no file for them"
        } else {
            why
        };
        (!(self.memory && self.pids)).then(|| {
            format!(
                "warning: the sandbox's {} not enforced ({why}); set ${ENV_MEMORY} or ${ENV_PIDS} to refuse to run without them",
                self.missing()
            )
        })
    }
}

/// What the sandboxes made here would be capped by, without making one: the controllers the
/// hierarchies hull uses give a new cgroup below the caller's, and why a cap would be missing.
pub fn enforceable() -> (Capped, String) {
    match hierarchies() {
        Ok(ms) => enforceable_in(&ms),
        Err(e) => (
            Capped::default(),
            format!("cannot read the cgroup mounts: {e}"),
        ),
    }
}

/// [`enforceable`] for the hierarchies `ms`.
pub fn enforceable_in(ms: &[Mount]) -> (Capped, String) {
    let mut capped = Capped::default();
    let mut why = Vec::new();
    for m in ms {
        let Ok(own) = dir_of(0, m) else { continue };
        if !m.v2 {
            capped.memory |= m.controllers.iter().any(|c| c == "memory");
            capped.pids |= m.controllers.iter().any(|c| c == "pids");
            continue;
        }
        if own == Path::new(ROOT) {
            why.push("the sandbox runs in the root cgroup, without a cgroup of its own".into());
            continue;
        }
        let delegated = fs::read_to_string(own.join("cgroup.subtree_control")).unwrap_or_default();
        let offered = fs::read_to_string(own.join("cgroup.controllers")).unwrap_or_default();
        // A cgroup that holds processes (the caller's does) cannot delegate what it does not
        // delegate already (cgroup v2's "no internal processes" rule).
        let empty = fs::read_to_string(own.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty());
        let gives = |c: &str| {
            delegated.split_whitespace().any(|d| d == c)
                || (empty && offered.split_whitespace().any(|o| o == c))
        };
        capped.memory |= gives("memory");
        capped.pids |= gives("pids");
        if !(gives("memory") && gives("pids")) {
            why.push(format!(
                "cgroup v2: {} delegates {} to the cgroups below it",
                own.display(),
                match delegated.trim() {
                    "" => "no controller".to_owned(),
                    d => format!("only {d}"),
                }
            ));
        }
    }
    if ms.iter().all(|m| !m.v2) && !(capped.memory && capped.pids) {
        why.push("cgroup v1: no memory or pids hierarchy is mounted".into());
    }
    (capped, why.join("; "))
}

/// One directory per hierarchy, all named alike.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tree {
    pub dirs: Vec<PathBuf>,
}

impl Tree {
    /// Creates `name` below the caller's cgroup in every hierarchy hull uses.
    pub fn create(name: &str) -> io::Result<Tree> {
        Tree::create_in(name, &hierarchies()?)
    }

    /// Creates `name` below the caller's cgroup in each of the hierarchies `ms`.
    pub fn create_in(name: &str, ms: &[Mount]) -> io::Result<Tree> {
        let mut tree = Tree { dirs: Vec::new() };
        for m in ms {
            let mut own = dir_of(0, m)?;
            if m.v2 {
                own = hull_cgroups::v2::out_of_the_leaf(own);
                // The sandbox's caps need the memory and pids controllers in its cgroup, which
                // only a cgroup without processes can hand down (the root is exempt): hull's
                // rule moves ours into `hull-leaf` first, as hullrt does for containers.
                hull_cgroups::v2::hand_controllers_down(&own).map_err(io::Error::other)?;
            }
            let dir = own.join(name);
            fs::create_dir(&dir).map_err(|e| at(&dir, "create the cgroup", e))?;
            tree.dirs.push(dir.clone());
            if m.v2 {
                // The sandbox's processes live in its leaf from the start, so that its cgroup
                // can hand controllers to the containers' cgroups hull makes beside the leaf.
                let leaf = dir.join(hull_cgroups::v2::PROCESS_LEAF);
                fs::create_dir(&leaf).map_err(|e| at(&leaf, "create the cgroup", e))?;
            }
            if m.controllers.iter().any(|c| c == "cpuset") {
                copy_cpuset(&dir)?;
            }
        }
        if tree.dirs.is_empty() {
            return Err(io::Error::other(
                "no cgroup hierarchy is mounted under /sys/fs/cgroup",
            ));
        }
        Ok(tree)
    }

    /// Caps the whole subtree: memory (v2 `memory.max`, v1 `memory.limit_in_bytes`, swap
    /// included where the kernel accounts it) and the number of tasks (`pids.max`). The
    /// kernel's OOM killer then picks a victim inside the sandbox, never outside it. Returns
    /// the caps the kernel enforces: a hierarchy without the controller (cgroup v2 whose
    /// parent does not delegate it) has no file to write them to.
    pub fn limit(&self, limits: &Limits) -> io::Result<Capped> {
        let mut capped = Capped::default();
        let memory = limits.memory.to_string();
        let pids = limits.pids.to_string();
        for dir in &self.dirs {
            let v2 = dir.join("cgroup.controllers").exists();
            let mut files: Vec<(&str, &str)> = Vec::new();
            if v2 {
                let parent = dir.parent().unwrap_or(dir);
                let offered =
                    fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
                for c in ["memory", "pids"] {
                    if offered.split_whitespace().any(|o| o == c) {
                        // Best effort: a parent holding processes cannot delegate (the
                        // "no internal processes" rule); the files below then are absent.
                        let _ = fs::write(parent.join("cgroup.subtree_control"), format!("+{c}"));
                    }
                }
                files.extend([("memory.max", memory.as_str()), ("memory.swap.max", "0")]);
                files.push(("pids.max", pids.as_str()));
            } else {
                files.extend([
                    ("memory.limit_in_bytes", memory.as_str()),
                    ("memory.memsw.limit_in_bytes", memory.as_str()),
                    ("pids.max", pids.as_str()),
                ]);
            }
            for (file, value) in files {
                let path = dir.join(file);
                if !path.exists() {
                    continue; // not this hierarchy's controller, or no swap accounting
                }
                fs::write(&path, value).map_err(|e| at(&path, "write", e))?;
                match file {
                    "memory.max" | "memory.limit_in_bytes" => capped.memory = true,
                    "pids.max" => capped.pids = true,
                    _ => {}
                }
            }
        }
        Ok(capped)
    }

    /// Where the sandbox's processes go, one `cgroup.procs` per hierarchy: writing 0 to one
    /// moves the writer into it. On v2 that is the sandbox's [`hull_cgroups::v2::PROCESS_LEAF`].
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|d| {
                let leaf = d.join(hull_cgroups::v2::PROCESS_LEAF);
                if d.join("cgroup.controllers").exists() && leaf.is_dir() {
                    leaf.join("cgroup.procs")
                } else {
                    d.join("cgroup.procs")
                }
            })
            .collect()
    }

    /// Every process in the subtree, in any hierarchy.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = std::collections::BTreeSet::new();
        for dir in &self.dirs {
            walk(dir, &mut |d| {
                if let Ok(text) = fs::read_to_string(d.join("cgroup.procs")) {
                    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
                }
            });
        }
        pids.into_iter().collect()
    }

    /// Whether any task is still in the subtree, dying ones included: `cgroup.procs` stops
    /// listing a process as soon as it starts to exit, but it keeps its namespaces until it
    /// has left its cgroup (v1 `tasks`, v2 `cgroup.events`' `populated`).
    pub fn populated(&self) -> bool {
        let mut busy = false;
        for dir in &self.dirs {
            walk(dir, &mut |d| {
                if let Ok(t) = fs::read_to_string(d.join("tasks")) {
                    busy |= !t.trim().is_empty();
                } else if let Ok(ev) = fs::read_to_string(d.join("cgroup.events")) {
                    busy |= ev.lines().any(|l| l.trim() == "populated 1");
                }
            });
        }
        busy
    }

    /// SIGKILLs everything in the subtree until no task is left in it (or `limit` passes).
    pub fn kill_all(&self, limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let pids = self.pids();
            if pids.is_empty() && !self.populated() {
                return Ok(());
            }
            for pid in &pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "processes {pids:?} are still in the sandbox's cgroups after SIGKILL"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Removes the directories, deepest first. The processes must be gone.
    pub fn remove(&self) -> io::Result<()> {
        let mut first_err = None;
        for dir in &self.dirs {
            let mut all = Vec::new();
            walk(dir, &mut |d| all.push(d.to_path_buf()));
            // `walk` lists parents before children.
            for d in all.iter().rev() {
                if let Err(e) = rmdir_retry(d) {
                    first_err.get_or_insert(at(d, "remove the cgroup", e));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

fn rmdir_retry(d: &Path) -> io::Result<()> {
    let mut tries = 0;
    loop {
        match fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            // A cgroup whose last process just died can stay busy for a moment.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Calls `f` on `dir` and every directory below it, parents first.
pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    if !dir.is_dir() {
        return;
    }
    f(dir);
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), f);
            }
        }
    }
}

/// A new cpuset cgroup starts empty and accepts no task until it has cpus and mems.
fn copy_cpuset(dir: &Path) -> io::Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        if fs::read_to_string(&own).is_ok_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let parent = dir.parent().unwrap_or(dir).join(file);
        let value = fs::read_to_string(&parent).map_err(|e| at(&parent, "read", e))?;
        fs::write(&own, value.trim()).map_err(|e| at(&own, "write", e))?;
    }
    Ok(())
}

pub fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hybrid_mountinfo() {
        let text = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
34 30 0:28 / /mnt/again rw - cgroup cgroup rw,memory";
        let m = parse_mounts(text);
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].v2 && m[0].controllers.is_empty());
        assert_eq!(m[1].controllers, ["memory"]);
        assert!(m[2].controllers.is_empty());
    }
}
