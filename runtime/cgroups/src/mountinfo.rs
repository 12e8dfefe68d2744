//! The caller's mount table, `/proc/self/mountinfo`, parsed by the `procfs` crate.
//!
//! procfs splits the fields but leaves the kernel's octal escapes in paths (`\040` for a space,
//! `\134` for a backslash); they are decoded here, so a path compares equal to the one that
//! was mounted. The hull engine uses this too (is an overlay mounted?), so there is one parser
//! of mountinfo in the runtime.

use std::path::{Path, PathBuf};

use procfs::process::MountInfo;

use super::{read_file, Result};

/// Where the kernel lists the calling process's mounts.
pub const PROC_SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of mountinfo, with its paths decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor`: the same for every mount of one file system (one cgroup hierarchy).
    pub device: String,
    /// The directory of the file system that is mounted (not `/` for a bind mount of a subtree).
    pub root: String,
    pub mount_point: PathBuf,
    pub fstype: String,
    /// The per-superblock options (`rw`, `memory`, `name=systemd`, `release_agent=/x`), sorted:
    /// the kernel's own order is not kept by procfs.
    pub super_options: Vec<String>,
}

/// The caller's mounts, in the kernel's order (a later mount on the same point hides an
/// earlier one). The error names the file.
pub fn read() -> Result<Vec<Mount>> {
    Ok(parse(&read_file(Path::new(PROC_SELF_MOUNTINFO))?))
}

/// Whether `path` is a mount point in the caller's mount namespace; false when the mount
/// table cannot be read.
pub fn is_mount_point(path: &Path) -> bool {
    read().is_ok_and(|mounts| mounts.iter().any(|m| m.mount_point == path))
}

/// The mounts in mountinfo text. A line that does not parse is skipped: mountinfo is the
/// kernel's own output, and callers look only for the lines they know.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| MountInfo::from_line(line).ok())
        .map(|m| {
            let mut super_options: Vec<String> = m
                .super_options
                .into_iter()
                .map(|(key, value)| match value {
                    Some(value) => format!("{key}={value}"),
                    None => key,
                })
                .collect();
            super_options.sort_unstable();
            Mount {
                device: m.majmin,
                root: unescape_octal(&m.root),
                mount_point: PathBuf::from(unescape_octal(&m.mount_point.to_string_lossy())),
                fstype: m.fs_type,
                super_options,
            }
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in paths as `\040`-style octal escapes.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match escape {
            Some(d) => {
                let value = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(value as u8);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_sorted_super_options() {
        let text =
            "35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory\n";
        assert_eq!(
            parse(text),
            [Mount {
                device: "0:32".into(),
                root: "/".into(),
                mount_point: PathBuf::from("/sys/fs/cgroup/memory"),
                fstype: "cgroup".into(),
                super_options: vec!["memory".into(), "rw".into()],
            }]
        );
    }

    #[test]
    fn key_value_options_keep_their_value() {
        let text = "32 31 0:29 / /cg rw - cgroup cgroup rw,release_agent=/x,name=systemd\n";
        assert_eq!(
            parse(text)[0].super_options,
            ["name=systemd", "release_agent=/x", "rw"]
        );
    }

    #[test]
    fn octal_escapes_are_decoded() {
        let text = "40 31 0:37 /a\\040b /mnt/my\\040cg rw - cgroup cgroup rw,pids\n";
        let mounts = parse(text);
        assert_eq!(mounts[0].root, "/a b");
        assert_eq!(mounts[0].mount_point, Path::new("/mnt/my cg"));
        assert_eq!(unescape_octal("back\\134slash\\01"), "back\\slash\\01");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "garbage\n22 27 0:21 / /proc rw,relatime - proc proc rw\n";
        let mounts = parse(text);
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, Path::new("/proc"));
    }

    #[test]
    fn this_hosts_root_is_a_mount_point() {
        assert!(is_mount_point(Path::new("/")));
        assert!(!is_mount_point(Path::new("/no/such/mount/point")));
    }
}
