//! Where cgroups live on this host: which version rules, which hierarchies are mounted, which
//! cgroup the caller is in, and so where a container's cgroup goes.
//!
//! The parsing is done by pure functions over the text of `/proc/self/cgroup` and
//! `/proc/self/mountinfo` (the latter through [`mountinfo::parse`]), so the tests can feed
//! them any host's files.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::mountinfo::{self, Mount, PROC_SELF_MOUNTINFO};
use super::{read_file, CgroupError, CgroupLocation, CgroupVersion, Result};

/// Where the cgroup file systems are mounted on every host hullrt supports.
pub(super) const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";

/// Mount options of a v1 cgroup mount that are not controllers.
const V1_MOUNT_FLAGS: &[&str] = &[
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

pub(super) fn detect_version() -> CgroupVersion {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    // A hybrid host keeps an (empty) cgroup2 at /sys/fs/cgroup/unified, so only the file
    // system at /sys/fs/cgroup itself decides. If it cannot be examined, v1 is assumed and
    // `resolve` then reports what is missing with the file names.
    match statfs(CGROUP_ROOT) {
        Ok(fs) if fs.filesystem_type() == CGROUP2_SUPER_MAGIC => CgroupVersion::V2,
        _ => CgroupVersion::V1,
    }
}

pub(super) fn resolve(cgroups_path: Option<&Path>, id: &str) -> Result<CgroupLocation> {
    let wanted = match cgroups_path {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(format!("hullrt-{id}")),
    };
    let relative = relative_cgroups_path(&wanted)?;
    let version = detect_version();
    let proc_cgroup = read_file(Path::new(PROC_SELF_CGROUP))?;
    let mounts = mountinfo::read()?;
    let dirs = match version {
        CgroupVersion::V1 => v1_dirs(&proc_cgroup, &mounts, &relative)?,
        CgroupVersion::V2 => vec![v2_own_dir(&proc_cgroup, &mounts)?.join(&relative)],
    };
    Ok(CgroupLocation {
        version,
        dirs,
        created: Vec::new(),
    })
}

/// Every mounted v1 hierarchy with its controllers. A named hierarchy without controllers
/// (`name=systemd`) is listed too, with its `name=…` option as its only entry, so each list
/// can be passed as-is as the options of a `cgroup` mount.
pub(super) fn v1_hierarchies() -> Result<Vec<(PathBuf, Vec<String>)>> {
    Ok(v1_mounts(&mountinfo::read()?)
        .into_iter()
        .map(|h| {
            let options = if h.controllers.is_empty() {
                h.names
            } else {
                h.controllers
            };
            (h.mount_point, options)
        })
        .collect())
}

/// The caller's own v2 cgroup directory (under `/sys/fs/cgroup`).
pub(super) fn own_v2_dir() -> Result<PathBuf> {
    let proc_cgroup = read_file(Path::new(PROC_SELF_CGROUP))?;
    v2_own_dir(&proc_cgroup, &mountinfo::read()?)
}

/// One line of `/proc/<pid>/cgroup`: `hierarchy-id:controller,list:/path`.
#[derive(Debug, PartialEq, Eq)]
struct ProcCgroup {
    hierarchy_id: u32,
    /// Controllers and `name=…` entries; empty for the v2 hierarchy (`0::/path`).
    subsystems: BTreeSet<String>,
    path: String,
}

fn parse_proc_cgroup(text: &str) -> Result<Vec<ProcCgroup>> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let bad = || {
                CgroupError::Invalid(format!(
                    "{PROC_SELF_CGROUP}: cannot parse line {line:?} (expected id:controllers:path)"
                ))
            };
            // The path is last and may itself contain ':'.
            let mut fields = line.splitn(3, ':');
            let hierarchy_id = fields.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let subsystems = fields.next().ok_or_else(bad)?;
            let path = fields.next().ok_or_else(bad)?;
            Ok(ProcCgroup {
                hierarchy_id,
                subsystems: subsystems
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                path: path.to_owned(),
            })
        })
        .collect()
}

/// A mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct V1Hierarchy {
    mount_point: PathBuf,
    root: String,
    /// Real controllers (`cpu`, `cpuacct`, …).
    controllers: Vec<String>,
    /// `name=…` options (`name=systemd`).
    names: Vec<String>,
}

impl V1Hierarchy {
    /// What `/proc/self/cgroup` lists for this hierarchy.
    fn subsystems(&self) -> BTreeSet<String> {
        self.controllers
            .iter()
            .chain(&self.names)
            .cloned()
            .collect()
    }
}

/// The v1 hierarchies, each once: a hierarchy mounted twice (bind mounts) keeps its first mount.
fn v1_mounts(mounts: &[Mount]) -> Vec<V1Hierarchy> {
    let mut seen = BTreeSet::new();
    mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" && seen.insert(m.device.clone()))
        .map(|m| {
            let (names, rest): (Vec<String>, Vec<String>) = m
                .super_options
                .iter()
                .cloned()
                .partition(|o| o.starts_with("name="));
            V1Hierarchy {
                mount_point: m.mount_point.clone(),
                root: m.root.clone(),
                controllers: rest
                    .into_iter()
                    // Other `key=value` options (release_agent=…) are settings, not controllers.
                    .filter(|o| !o.contains('=') && !V1_MOUNT_FLAGS.contains(&o.as_str()))
                    .collect(),
                names,
            }
        })
        .collect()
}

/// The config's `cgroupsPath` as a path relative to the caller's cgroup: absolute and relative
/// paths alike go below it, and nothing may climb out of it.
fn relative_cgroups_path(path: &Path) -> Result<PathBuf> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            // A container in the leaf would share its cgroup (limits, kills) with the
            // processes hull moves there.
            Component::Normal(part) if part == super::v2::PROCESS_LEAF => {
                return Err(CgroupError::Invalid(format!(
                    "cgroupsPath {:?} names {:?}, the cgroup hull keeps for its callers' own \
                     processes",
                    path.display().to_string(),
                    super::v2::PROCESS_LEAF
                )))
            }
            Component::Normal(part) => relative.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CgroupError::Invalid(format!(
                    "cgroupsPath {:?} must not contain '..': cgroups are created only below the caller's own cgroup",
                    path.display().to_string()
                )))
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(CgroupError::Invalid(format!(
            "cgroupsPath {:?} names no cgroup below the caller's own",
            path.display().to_string()
        )));
    }
    Ok(relative)
}

/// The directory of the caller's cgroup `own` (from /proc/self/cgroup) inside a mount of its
/// hierarchy whose root is `root`.
fn own_dir(mount_point: &Path, root: &str, own: &str) -> Result<PathBuf> {
    let inside = if root == "/" {
        Some(own)
    } else {
        own.strip_prefix(root)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let invisible = || {
        CgroupError::Invalid(format!(
            "the caller's cgroup {own:?} is not inside the mount {} (which shows {root:?}); see {PROC_SELF_CGROUP} and {PROC_SELF_MOUNTINFO}",
            mount_point.display()
        ))
    };
    let inside = inside.ok_or_else(invisible)?;
    // A cgroup outside the caller's cgroup namespace shows as `/../..`.
    if inside.split('/').any(|part| part == "..") {
        return Err(invisible());
    }
    Ok(mount_point.join(inside.trim_start_matches('/')))
}

/// One directory per v1 hierarchy that has a controller: its mount point, the caller's own
/// cgroup in it, then `relative`.
fn v1_dirs(proc_cgroup: &str, mounts: &[Mount], relative: &Path) -> Result<Vec<PathBuf>> {
    let own = parse_proc_cgroup(proc_cgroup)?;
    let hierarchies: Vec<V1Hierarchy> = v1_mounts(mounts)
        .into_iter()
        .filter(|h| !h.controllers.is_empty())
        .collect();
    if hierarchies.is_empty() {
        return Err(CgroupError::Invalid(format!(
            "no cgroup v1 hierarchy with a controller is mounted (see {PROC_SELF_MOUNTINFO})"
        )));
    }
    hierarchies
        .iter()
        .map(|h| {
            let subsystems = h.subsystems();
            let line = own
                .iter()
                .find(|l| l.hierarchy_id != 0 && l.subsystems == subsystems)
                .ok_or_else(|| {
                    CgroupError::Invalid(format!(
                        "{PROC_SELF_CGROUP} has no line for the hierarchy {} ({})",
                        h.mount_point.display(),
                        h.controllers.join(",")
                    ))
                })?;
            Ok(own_dir(&h.mount_point, &h.root, &line.path)?.join(relative))
        })
        .collect()
}

/// The caller's own directory in the unified hierarchy mounted at `/sys/fs/cgroup`.
fn v2_own_dir(proc_cgroup: &str, mounts: &[Mount]) -> Result<PathBuf> {
    let own = parse_proc_cgroup(proc_cgroup)?;
    let line = own
        .iter()
        .find(|l| l.hierarchy_id == 0 && l.subsystems.is_empty())
        .ok_or_else(|| {
            CgroupError::Invalid(format!("{PROC_SELF_CGROUP} has no '0::' (cgroup v2) line"))
        })?;
    let root = Path::new(CGROUP_ROOT);
    let mount = mounts
        .iter()
        .rev() // the last mount on a mount point is the one that is visible
        .find(|m| m.fstype == "cgroup2" && m.mount_point == root)
        .ok_or_else(|| {
            CgroupError::Invalid(format!(
                "no cgroup2 file system is mounted at {CGROUP_ROOT} (see {PROC_SELF_MOUNTINFO})"
            ))
        })?;
    let own = own_dir(root, &mount.root, &line.path)?;
    Ok(super::v2::out_of_the_leaf(own))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This development machine: one controller per hierarchy, a named systemd hierarchy and an
    /// empty cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID_MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_PROC_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/adf22e94
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    /// A systemd host of the Debian 10 era: co-mounted controllers and optional fields.
    const COMOUNTED_MOUNTINFO: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory
";
    const COMOUNTED_PROC_CGROUP: &str = "\
12:memory:/user.slice/user-0.slice/session-3.scope
5:net_cls,net_prio:/
4:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-0.slice/session-3.scope
0::/user.slice/user-0.slice/session-3.scope
";

    const V2_MOUNTINFO: &str =
        "25 18 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn proc_cgroup_lines_are_parsed() {
        let lines = parse_proc_cgroup(COMOUNTED_PROC_CGROUP).unwrap();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[2],
            ProcCgroup {
                hierarchy_id: 4,
                subsystems: set(&["cpu", "cpuacct"]),
                path: "/user.slice".into()
            }
        );
        assert_eq!(lines[4].hierarchy_id, 0);
        assert!(lines[4].subsystems.is_empty());
    }

    #[test]
    fn proc_cgroup_path_may_contain_colons() {
        let lines = parse_proc_cgroup("0::/a:b\n").unwrap();
        assert_eq!(lines[0].path, "/a:b");
    }

    #[test]
    fn malformed_proc_cgroup_is_an_error_naming_the_file() {
        let err = parse_proc_cgroup("garbage\n").unwrap_err().to_string();
        assert!(err.contains("/proc/self/cgroup"), "{err}");
        assert!(err.contains("garbage"), "{err}");
    }

    #[test]
    fn only_cgroup_mounts_are_v1_hierarchies() {
        let hierarchies = v1_mounts(&mountinfo::parse(HYBRID_MOUNTINFO));
        // proc, tmpfs and the cgroup2 at /sys/fs/cgroup/unified are not v1 hierarchies.
        assert_eq!(hierarchies.len(), 9);
        assert_eq!(
            hierarchies[3].mount_point,
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(hierarchies[3].controllers, ["memory"]);
    }

    #[test]
    fn mountinfo_with_optional_fields_and_comounted_controllers() {
        let hierarchies = v1_mounts(&mountinfo::parse(COMOUNTED_MOUNTINFO));
        let summary: Vec<(String, Vec<String>, Vec<String>)> = hierarchies
            .iter()
            .map(|h| {
                (
                    h.mount_point.display().to_string(),
                    h.controllers.clone(),
                    h.names.clone(),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            summary,
            vec![
                (
                    "/sys/fs/cgroup/systemd".into(),
                    s(&[]),
                    s(&["name=systemd"])
                ),
                (
                    "/sys/fs/cgroup/cpu,cpuacct".into(),
                    s(&["cpu", "cpuacct"]),
                    s(&[])
                ),
                (
                    "/sys/fs/cgroup/net_cls,net_prio".into(),
                    s(&["net_cls", "net_prio"]),
                    s(&[])
                ),
                ("/sys/fs/cgroup/memory".into(), s(&["memory"]), s(&[])),
            ]
        );
    }

    #[test]
    fn escaped_paths_in_mountinfo_are_decoded() {
        let text = "40 31 0:37 /a\\040b /mnt/my\\040cg rw - cgroup cgroup rw,pids\n";
        let hierarchies = v1_mounts(&mountinfo::parse(text));
        assert_eq!(hierarchies[0].root, "/a b");
        assert_eq!(hierarchies[0].mount_point, Path::new("/mnt/my cg"));
    }

    #[test]
    fn a_hierarchy_mounted_twice_counts_once() {
        let text = "\
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
90 31 0:32 / /mnt/memory rw - cgroup cgroup rw,memory
";
        let hierarchies = v1_mounts(&mountinfo::parse(text));
        assert_eq!(hierarchies.len(), 1);
        assert_eq!(
            hierarchies[0].mount_point,
            Path::new("/sys/fs/cgroup/memory")
        );
    }

    #[test]
    fn release_agent_and_flags_are_not_controllers() {
        let text = "32 31 0:29 / /cg rw - cgroup cgroup rw,noprefix,release_agent=/x,cpuset\n";
        assert_eq!(
            v1_mounts(&mountinfo::parse(text))[0].controllers,
            ["cpuset"]
        );
    }

    #[test]
    fn relative_and_absolute_paths_both_go_below() {
        for (input, expected) in [
            ("hullrt-abc", "hullrt-abc"),
            ("/hullrt-abc", "hullrt-abc"),
            ("/a/b/c", "a/b/c"),
            ("./a//b/", "a/b"),
        ] {
            assert_eq!(
                relative_cgroups_path(Path::new(input)).unwrap(),
                Path::new(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn dot_dot_and_empty_paths_are_rejected_with_the_path_named() {
        for input in ["../escape", "/a/../../b", "a/..", "/", "", "./"] {
            let err = relative_cgroups_path(Path::new(input)).unwrap_err();
            assert!(matches!(err, CgroupError::Invalid(_)), "{input}");
            assert!(
                err.to_string().contains(&format!("{input:?}")),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn the_process_leaf_is_no_containers_cgroup() {
        for input in ["hull-leaf", "/hull-leaf", "a/hull-leaf", "hull-leaf/b"] {
            let err = relative_cgroups_path(Path::new(input)).unwrap_err();
            assert!(err.to_string().contains("hull-leaf"), "{input}: {err}");
        }
        assert!(relative_cgroups_path(Path::new("hull-leafy")).is_ok());
    }

    #[test]
    fn v1_dirs_are_below_the_callers_cgroup_in_each_hierarchy() {
        let dirs = v1_dirs(
            HYBRID_PROC_CGROUP,
            &mountinfo::parse(HYBRID_MOUNTINFO),
            Path::new("hullrt-x"),
        )
        .unwrap();
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/cpu/hullrt-x",
                "/sys/fs/cgroup/cpuacct/hullrt-x",
                "/sys/fs/cgroup/cpuset/hullrt-x",
                "/sys/fs/cgroup/memory/process_api/adf22e94/hullrt-x",
                "/sys/fs/cgroup/devices/hullrt-x",
                "/sys/fs/cgroup/freezer/hullrt-x",
                "/sys/fs/cgroup/blkio/hullrt-x",
                "/sys/fs/cgroup/pids/hullrt-x",
            ]
        );
    }

    #[test]
    fn v1_dirs_skip_named_hierarchies_and_match_comounted_ones() {
        let dirs = v1_dirs(
            COMOUNTED_PROC_CGROUP,
            &mountinfo::parse(COMOUNTED_MOUNTINFO),
            Path::new("a/b"),
        )
        .unwrap();
        assert_eq!(
            dirs,
            [
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/user.slice/a/b"),
                PathBuf::from("/sys/fs/cgroup/net_cls,net_prio/a/b"),
                PathBuf::from("/sys/fs/cgroup/memory/user.slice/user-0.slice/session-3.scope/a/b"),
            ]
        );
    }

    #[test]
    fn a_bind_mounted_sub_cgroup_strips_its_root() {
        let mounts = mountinfo::parse(
            "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
        );
        let dirs = v1_dirs("4:memory:/docker/abc/inner\n", &mounts, Path::new("c")).unwrap();
        assert_eq!(dirs, [PathBuf::from("/sys/fs/cgroup/memory/inner/c")]);
        // A cgroup outside what the mount shows cannot be reached through it.
        let err = v1_dirs("4:memory:/docker/abcd\n", &mounts, Path::new("c")).unwrap_err();
        assert!(err.to_string().contains("/sys/fs/cgroup/memory"), "{err}");
    }

    #[test]
    fn a_cgroup_outside_our_namespace_is_refused() {
        let err = v2_own_dir("0::/../../other\n", &mountinfo::parse(V2_MOUNTINFO)).unwrap_err();
        assert!(matches!(err, CgroupError::Invalid(_)), "{err}");
    }

    #[test]
    fn a_hierarchy_missing_from_proc_cgroup_is_named() {
        let err = v1_dirs(
            "0::/\n",
            &mountinfo::parse(HYBRID_MOUNTINFO),
            Path::new("x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/sys/fs/cgroup/cpu"), "{err}");
    }

    #[test]
    fn no_v1_hierarchy_is_an_error() {
        let err = v1_dirs("0::/\n", &mountinfo::parse(V2_MOUNTINFO), Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("no cgroup v1 hierarchy"), "{err}");
    }

    #[test]
    fn v2_dir_is_below_the_callers_cgroup() {
        let own = v2_own_dir(COMOUNTED_PROC_CGROUP, &mountinfo::parse(V2_MOUNTINFO)).unwrap();
        assert_eq!(
            own,
            Path::new("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope")
        );
        let own_root = v2_own_dir("0::/\n", &mountinfo::parse(V2_MOUNTINFO)).unwrap();
        assert_eq!(own_root, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn a_caller_in_the_process_leaf_counts_as_in_its_parent() {
        let mounts = mountinfo::parse(V2_MOUNTINFO);
        let own = v2_own_dir("0::/user.slice/session-3.scope/hull-leaf\n", &mounts).unwrap();
        assert_eq!(own, Path::new("/sys/fs/cgroup/user.slice/session-3.scope"));
        let top = v2_own_dir("0::/hull-leaf\n", &mounts).unwrap();
        assert_eq!(top, Path::new("/sys/fs/cgroup"));
        // Only the last component is the leaf.
        let deeper = v2_own_dir("0::/hull-leaf/x\n", &mounts).unwrap();
        assert_eq!(deeper, Path::new("/sys/fs/cgroup/hull-leaf/x"));
    }

    #[test]
    fn v2_ignores_the_hybrid_unified_mount() {
        let err = v2_own_dir(HYBRID_PROC_CGROUP, &mountinfo::parse(HYBRID_MOUNTINFO)).unwrap_err();
        assert!(err.to_string().contains("/sys/fs/cgroup"), "{err}");
    }

    #[test]
    fn resolve_on_this_host_stays_below_our_own_cgroup() {
        let location = resolve(None, "unit-test").unwrap();
        assert_eq!(location.version, detect_version());
        assert!(location.created.is_empty());
        assert!(!location.dirs.is_empty());
        for dir in &location.dirs {
            assert!(dir.starts_with(CGROUP_ROOT), "{}", dir.display());
            assert!(dir.ends_with("hullrt-unit-test"), "{}", dir.display());
            assert!(!dir.exists(), "resolve must not create {}", dir.display());
        }
        if location.version == CgroupVersion::V2 {
            assert_eq!(location.dirs.len(), 1);
        }
    }
}
