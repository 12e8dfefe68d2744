//! cgroups: one manager interface, a v1 and a v2 implementation, chosen at run time.
//!
//! Every cgroup hullrt creates lies *below the cgroup the caller is in* (read from
//! `/proc/self/cgroup`), whether the config's `cgroupsPath` is relative or absolute, so a
//! runtime never writes beside or above the process that started it.

mod device_rules;
pub mod mountinfo;
mod path;
mod usage;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup: {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cgroup: {0}")]
    Invalid(String),
    /// cgroup v2's no-internal-processes rule: `dir` has processes, so it cannot hand
    /// controllers to its children.
    #[error(
        "cgroup: cannot enable {request:?} in {file}: {dir} has processes in it, and cgroup v2 \
         lets a cgroup with processes hand no controllers to its children (the \
         no-internal-processes rule); hullrt moves only its caller's own cgroup's processes \
         into a leaf, so run it from the cgroup that should hold the containers ({source})"
    )]
    Busy {
        request: String,
        file: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused the v2 device program; `detail` holds the verifier's verdict or a
    /// hint.
    #[error("cgroup: the kernel refused the device program for {path} (BPF_PROG_LOAD): {source}{detail}")]
    DeviceProgram {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, CgroupError>;

pub use usage::{usage, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Where a container's cgroup lives; saved in the container's state so that a later
/// `delete` (maybe from another process, in another cgroup) finds the same directories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupLocation {
    pub version: CgroupVersion,
    /// v1: one directory per mounted hierarchy (memory, cpu, pids, ...); v2: exactly one.
    pub dirs: Vec<PathBuf>,
    /// The directories `create` made, parents before children, so `destroy` removes exactly
    /// those (deepest first) and never a directory that existed before.
    pub created: Vec<PathBuf>,
}

pub trait CgroupManager {
    fn version(&self) -> CgroupVersion;
    fn location(&self) -> &CgroupLocation;
    /// Make the directories (and on v2 enable the controllers in the parents' subtree_control).
    /// An existing, empty leaf is joined as runc joins it (and, not being ours, never removed
    /// by `destroy`); one that already holds processes is refused.
    fn create(&mut self) -> Result<()>;
    /// Write the config's limits (memory, cpu, pids) and enforce its device rules (v1: the
    /// `devices` files; v2: an eBPF program attached to the cgroup).
    fn apply(&self, resources: &LinuxResources) -> Result<()>;
    /// Move a process into the cgroup (every hierarchy on v1).
    fn add_process(&self, pid: i32) -> Result<()>;
    /// The processes in the cgroup (from cgroup.procs).
    fn pids(&self) -> Result<Vec<i32>>;
    /// Freeze (`true`) or thaw every process of the cgroup, returning once the kernel reports
    /// the new state (v1 `freezer.state`, v2 `cgroup.freeze` and `cgroup.events`).
    fn freeze(&self, frozen: bool) -> Result<()>;
    /// Whether the cgroup is frozen (or being frozen).
    fn is_frozen(&self) -> Result<bool>;
    /// How many times the kernel's OOM killer killed a process of this cgroup.
    fn oom_kill_count(&self) -> Result<u64>;
    /// Remove the directories `create` made, deepest first, retrying briefly while the kernel
    /// still counts exiting tasks. Missing directories are fine (idempotent).
    fn destroy(&self) -> Result<()>;
}

/// Which cgroup version rules this machine: v2 only when `/sys/fs/cgroup` itself is cgroup2
/// (a hybrid host with an empty v2 tree at `/sys/fs/cgroup/unified` is v1).
pub fn detect() -> CgroupVersion {
    path::detect_version()
}

/// Resolve the config's `cgroupsPath` (or `hullrt-<id>` when absent) below the caller's own
/// cgroup. Nothing is created.
pub fn resolve(cgroups_path: Option<&Path>, id: &str) -> Result<CgroupLocation> {
    path::resolve(cgroups_path, id)
}

/// The directories of `location` that do not exist yet, parents before children: what
/// `create` will make. Recorded before creating, so that a runtime killed in the middle
/// leaves a record that names everything it may have made (removing one that was never made
/// is a no-op).
pub fn missing_dirs(location: &CgroupLocation) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for leaf in &location.dirs {
        let mut chain: Vec<PathBuf> = leaf
            .ancestors()
            .take_while(|d| !d.exists())
            .map(Path::to_path_buf)
            .collect();
        chain.reverse();
        for d in chain {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

/// The manager for a resolved (or saved) location.
pub fn manager(location: CgroupLocation) -> Box<dyn CgroupManager> {
    match location.version {
        CgroupVersion::V1 => Box::new(v1::V1Manager::new(location)),
        CgroupVersion::V2 => Box::new(v2::V2Manager::new(location)),
    }
}

/// The v1 hierarchies mounted on this host: (mount point, controller names), e.g.
/// (`/sys/fs/cgroup/memory`, ["memory"]). Used to mount `/sys/fs/cgroup` inside a container.
pub fn v1_hierarchies() -> Result<Vec<(PathBuf, Vec<String>)>> {
    path::v1_hierarchies()
}

// ---- Private helpers shared by the v1 and v2 managers ----

/// Read a cgroup file; the error names it.
fn read_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Poll `done` until it holds, for about two seconds: the kernel freezes and thaws tasks
/// asynchronously. `what` names the file for the error.
fn wait_until(what: &Path, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    for _ in 0..200 {
        if done()? {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(CgroupError::Invalid(format!(
        "{} did not reach the requested state in 2 s",
        what.display()
    )))
}

/// Write one value to a cgroup file in a single `write(2)`: the kernel parses each write as one
/// request, so a value must never be split or buffered together with another.
fn write_file(path: &Path, value: &str) -> Result<()> {
    use std::io::Write;
    let io = |source| CgroupError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io)?;
    file.write_all(value.as_bytes()).map_err(io)
}

/// An error for a directory that should exist but does not (e.g. a saved location whose
/// cgroup was removed behind our back).
fn missing_dir(dir: &Path) -> CgroupError {
    CgroupError::Io {
        action: "open",
        path: dir.to_path_buf(),
        source: std::io::Error::from_raw_os_error(libc::ENOENT),
    }
}

/// The pids listed in a `cgroup.procs` file.
fn parse_procs(text: &str, path: &Path) -> Result<Vec<i32>> {
    text.split_whitespace()
        .map(|word| {
            word.parse().map_err(|_| {
                CgroupError::Invalid(format!("{}: {word:?} is not a pid", path.display()))
            })
        })
        .collect()
}

/// The value of `key` in a flat-keyed file such as v1 `memory.oom_control` or v2
/// `memory.events` (`oom_kill 3`).
fn parse_flat_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(key))
            .then(|| words.next()?.parse().ok())
            .flatten()
    })
}

/// Remove directories deepest first (`dirs` is parents-first). A directory that is already gone
/// is fine; EBUSY is retried for about a second because the kernel keeps a cgroup busy until its
/// last exiting task has been fully released. Every directory is attempted; the first error wins.
fn remove_dirs(dirs: &[PathBuf]) -> Result<()> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);
    const NAP: std::time::Duration = std::time::Duration::from_millis(10);
    let mut first_error = None;
    for dir in dirs.iter().rev() {
        let deadline = std::time::Instant::now() + PATIENCE;
        let outcome = loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break Ok(()),
                Err(e)
                    if e.raw_os_error() == Some(libc::EBUSY)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(NAP)
                }
                Err(source) => {
                    break Err(CgroupError::Io {
                        action: "remove",
                        path: dir.clone(),
                        source,
                    })
                }
            }
        };
        if let Err(e) = outcome {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Refuse every resource neither manager implements, naming the config field, so that a limit
/// the user asked for is never silently dropped. A field set to the kernel's own default (e.g.
/// `disableOOMKiller: false`) asks for nothing and is accepted.
fn check_supported(resources: &LinuxResources) -> Result<()> {
    for field in ignored_fields(resources) {
        eprintln!(
            "hullrt: warning: linux.resources.{field} is ignored: kernel memory limits are \
             deprecated and this kernel has no such knob (runc ignores them too)"
        );
    }
    match unsupported_field(resources) {
        Some(field) => Err(CgroupError::Invalid(format!(
            "linux.resources.{field} is not supported by hullrt"
        ))),
        None => Ok(()),
    }
}

/// Fields hullrt accepts and ignores, as runc does: the kernel memory limits, which recent
/// kernels no longer offer.
fn ignored_fields(r: &LinuxResources) -> Vec<&'static str> {
    let Some(m) = r.memory() else {
        return Vec::new();
    };
    [
        (m.kernel().is_some(), "memory.kernel"),
        (m.kernel_tcp().is_some(), "memory.kernelTCP"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

/// The JSON name of the first resource field hullrt cannot apply, if any.
fn unsupported_field(r: &LinuxResources) -> Option<&'static str> {
    fn non_empty<T>(list: &Option<Vec<T>>) -> bool {
        list.as_ref().is_some_and(|l| !l.is_empty())
    }
    if let Some(b) = r.block_io() {
        if b.weight().is_some()
            || b.leaf_weight().is_some()
            || non_empty(b.weight_device())
            || non_empty(b.throttle_read_bps_device())
            || non_empty(b.throttle_write_bps_device())
            || non_empty(b.throttle_read_iops_device())
            || non_empty(b.throttle_write_iops_device())
        {
            return Some("blockIO");
        }
    }
    if non_empty(r.hugepage_limits()) {
        return Some("hugepageLimits");
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() || non_empty(n.priorities()) {
            return Some("network");
        }
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return Some("rdma");
    }
    if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
        return Some("unified");
    }
    if let Some(m) = r.memory() {
        let checks = [
            (m.swappiness().is_some(), "memory.swappiness"),
            (
                m.disable_oom_killer() == Some(true),
                "memory.disableOOMKiller",
            ),
            // Modern kernels always account hierarchically; `false` cannot be honoured.
            (m.use_hierarchy() == Some(false), "memory.useHierarchy"),
            (
                m.check_before_update() == Some(true),
                "memory.checkBeforeUpdate",
            ),
        ];
        if let Some((_, name)) = checks.iter().find(|(set, _)| *set) {
            return Some(name);
        }
    }
    if let Some(c) = r.cpu() {
        let checks = [
            (c.realtime_runtime().is_some(), "cpu.realtimeRuntime"),
            (c.realtime_period().is_some(), "cpu.realtimePeriod"),
            (c.idle().is_some_and(|i| i != 0), "cpu.idle"),
            (c.burst().is_some_and(|b| b != 0), "cpu.burst"),
        ];
        if let Some((_, name)) = checks.iter().find(|(set, _)| *set) {
            return Some(name);
        }
    }
    None
}

/// Run `make`, which creates cgroup directories and appends each one it made to the list it
/// is given (see [`make_cgroup_dirs`]). On success those directories join
/// `location.created`, so `destroy` removes exactly them; on failure they are removed again,
/// deepest first, and `make`'s error is returned. The original error is what the user needs: a
/// cleanup failure here would only leave empty directories, which a later `destroy` cannot know
/// about, so it is not reported.
fn create_or_roll_back(
    location: &mut CgroupLocation,
    make: impl FnOnce(&mut Vec<PathBuf>) -> Result<()>,
) -> Result<()> {
    let mut made = Vec::new();
    match make(&mut made) {
        Ok(()) => {
            location.created.extend(made);
            Ok(())
        }
        Err(e) => {
            let _ = remove_dirs(&made);
            Err(e)
        }
    }
}

/// Make `leaf` and whichever of its parents are missing, parents first, appending each
/// directory made to `made` and calling `on_made` right after each `mkdir` (before its child
/// exists). An existing `leaf` is joined if it holds no process (nothing is made), refused
/// otherwise: it would put the container in another's cgroup. The deepest existing ancestor must lie on a file system of
/// type `magic`, so that a hierarchy that is not mounted never turns into plain directories in
/// the tmpfs at `/sys/fs/cgroup`.
fn make_cgroup_dirs(
    leaf: &Path,
    magic: nix::sys::statfs::FsType,
    made: &mut Vec<PathBuf>,
    mut on_made: impl FnMut(&Path) -> Result<()>,
) -> Result<()> {
    if leaf.exists() {
        let on_cgroupfs =
            nix::sys::statfs::statfs(leaf).is_ok_and(|fs| fs.filesystem_type() == magic);
        if !on_cgroupfs {
            return Err(CgroupError::Invalid(format!(
                "{} exists but is not a cgroup",
                leaf.display()
            )));
        }
        let procs = read_file(&leaf.join("cgroup.procs"))?;
        let busy = procs.lines().filter(|l| !l.trim().is_empty()).count();
        if busy > 0 {
            return Err(CgroupError::Invalid(format!(
                "{} already holds {busy} process(es): a container does not join another's cgroup",
                leaf.display()
            )));
        }
        return Ok(());
    }
    let mut missing = vec![leaf];
    let mut ancestor = leaf.parent();
    while let Some(dir) = ancestor.filter(|d| !d.exists()) {
        missing.push(dir);
        ancestor = dir.parent();
    }
    let base = ancestor.unwrap_or(Path::new("/"));
    let on_cgroupfs = nix::sys::statfs::statfs(base).is_ok_and(|fs| fs.filesystem_type() == magic);
    if !on_cgroupfs {
        return Err(CgroupError::Invalid(format!(
            "cannot create {}: {} is not inside a mounted cgroup hierarchy",
            leaf.display(),
            base.display()
        )));
    }
    for dir in missing.into_iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {
                made.push(dir.to_path_buf());
                on_made(dir)?;
            }
            // A parent made concurrently by someone else is theirs; the leaf must be ours.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir != leaf => {}
            Err(source) => {
                return Err(CgroupError::Io {
                    action: "create",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// One value for one file (the v1 and v2 managers both plan their writes as these), with the config field it comes from (for error messages).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Write {
    field: &'static str,
    file: &'static str,
    value: String,
}

pub(crate) fn write(field: &'static str, file: &'static str, value: impl ToString) -> Write {
    Write {
        field,
        file,
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location() -> CgroupLocation {
        CgroupLocation {
            version: CgroupVersion::V2,
            dirs: Vec::new(),
            created: Vec::new(),
        }
    }

    #[test]
    fn a_failed_create_removes_what_it_made_and_keeps_its_error() {
        let base =
            std::env::temp_dir().join(format!("hull-cgroups-rollback-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("a/b"));
        let mut loc = location();
        let err = create_or_roll_back(&mut loc, |made| {
            for dir in [&base, &a, &b] {
                std::fs::create_dir(dir).unwrap();
                made.push(dir.clone());
            }
            Err(CgroupError::Invalid("boom".into()))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "cgroup: boom");
        assert!(!base.exists(), "{} was left behind", base.display());
        assert!(loc.created.is_empty());
    }

    #[test]
    fn a_successful_create_records_what_it_made() {
        let mut loc = location();
        let made = [PathBuf::from("/x"), PathBuf::from("/x/y")];
        create_or_roll_back(&mut loc, |m| {
            m.extend(made.iter().cloned());
            Ok(())
        })
        .unwrap();
        assert_eq!(loc.created, made);
    }

    #[test]
    fn kernel_memory_limits_are_ignored_not_refused() {
        let r = oci_spec::runtime::LinuxResourcesBuilder::default()
            .memory(
                oci_spec::runtime::LinuxMemoryBuilder::default()
                    .kernel(1 << 20)
                    .kernel_tcp(1 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(ignored_fields(&r), ["memory.kernel", "memory.kernelTCP"]);
        check_supported(&r).unwrap();
    }
}
