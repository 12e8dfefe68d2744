//! What a test can leave behind, and the before/after comparisons of the leak checks.
//!
//! Each snapshot holds only what one test owns, found by names only that test uses: its own
//! `--root` or `HULL_ROOT`, its own cgroup token or its own containers' ids, mounts below its own
//! temporary directories, processes in its own cgroups or with its own `HULL_ROOT`. A snapshot
//! never counts host-wide, so another test, or another run of the suite on the same machine,
//! cannot change it.

use std::fs;
use std::path::PathBuf;

/// What an OCI-runtime test ([`super::Ctx`]) can leave behind on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Mount points below the test's own directories (its `--root` and bundles).
    pub mounts: Vec<PathBuf>,
    /// cgroup dirs (any hierarchy) containing the test's token.
    pub cgroup_dirs: Vec<PathBuf>,
    /// Live processes whose cgroup path contains the test's token.
    pub processes: Vec<i32>,
    /// Entries of the runtime's state dir (`--root`).
    pub state_entries: Vec<String>,
}

pub fn assert_no_leaks(before: &Snapshot, after: &Snapshot) {
    let mut problems = Vec::new();
    if before.mounts != after.mounts {
        let added: Vec<&PathBuf> = after
            .mounts
            .iter()
            .filter(|m| !before.mounts.contains(m))
            .collect();
        let removed: Vec<&PathBuf> = before
            .mounts
            .iter()
            .filter(|m| !after.mounts.contains(m))
            .collect();
        problems.push(format!(
            "mounts below the test's directories {} -> {}; added: {added:#?}; removed: {removed:#?}",
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

/// What a `HULL_ROOT` can leave behind: see [`super::Hull::leftovers`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Leftovers {
    pub containers: Vec<String>,
    pub runtime_state: Vec<String>,
    pub mounts: Vec<PathBuf>,
    pub cgroups: Vec<PathBuf>,
    pub processes: Vec<i32>,
    /// Work in flight that no command is doing any more: the entries of the root's temporary
    /// directories (`tmp/`, `images/tmp/`) and `layers/`' hidden ones (`.tmp-*`, `.trash-*`).
    /// Empty whenever no `hull` command runs.
    pub staging: Vec<String>,
    /// hull's bridges or nft table in the machine's own network namespace. Not a count and not
    /// a leftover of one test: an invariant every test keeps (they run there with
    /// `HULL_BRIDGE=none`, and the networking tests in namespaces of their own), so hull must
    /// never have made any there, whatever else runs on the machine.
    pub machine_network: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        *self == Leftovers::default()
    }
}

/// The temporaries under a `HULL_ROOT` (see [`Leftovers::staging`]), as paths relative to it.
pub fn staging_entries(root: &std::path::Path) -> Vec<String> {
    let mut v = Vec::new();
    for dir in ["tmp", "images/tmp"] {
        for e in super::entries(&root.join(dir)) {
            v.push(format!("{dir}/{e}"));
        }
    }
    for e in super::entries(&root.join("layers")) {
        if e.starts_with('.') {
            v.push(format!("layers/{e}"));
        }
    }
    v
}

/// When this process is in the machine's own network namespace (that of PID 1): the links
/// and the nft table hull would make there.
pub fn machine_network_changes() -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &str| fs::metadata(p).map(|m| m.ino()).ok();
    if ino("/proc/self/ns/net").is_none() || ino("/proc/self/ns/net") != ino("/proc/1/ns/net") {
        return Vec::new();
    }
    let mut found: Vec<String> = fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n == "hull0" || n.starts_with("hull-"))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(out) = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
    {
        if String::from_utf8_lossy(&out.stdout).contains("table ip hull") {
            found.push("table ip hull".into());
        }
    }
    found
}
