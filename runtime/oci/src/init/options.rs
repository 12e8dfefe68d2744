//! Mount options as the OCI config spells them (`ro`, `nosuid`, `rbind`, `mode=755`) turned into
//! mount(2) flags, a propagation change and the filesystem's data string.

use nix::mount::MsFlags;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub propagation: MsFlags,
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive: bool,
    /// `tmpcopyup`: the new tmpfs starts with a copy of what the directory held.
    pub copy_up: bool,
    /// The `r*` options (`rro`, `rnosuid`, ...): mount_setattr(2) attributes set and cleared
    /// on the mount and every mount below it.
    pub attr_set: u64,
    pub attr_clear: u64,
}

impl MountOptions {
    pub fn data_string(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

pub fn parse(options: &[String]) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        recursive: false,
        copy_up: false,
        attr_set: 0,
        attr_clear: 0,
    };
    for opt in options {
        let (set, clear) = match opt.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                out.bind = true;
                continue;
            }
            "tmpcopyup" => {
                out.copy_up = true;
                continue;
            }
            "rro" | "rrw" | "rnosuid" | "rsuid" | "rnodev" | "rdev" | "rnoexec" | "rexec"
            | "rnoatime" | "ratime" | "rnodiratime" | "rdiratime" => {
                let (attr, set) = recursive_attr(opt);
                if set {
                    out.attr_set |= attr;
                    out.attr_clear &= !attr;
                } else {
                    out.attr_clear |= attr;
                    out.attr_set &= !attr;
                }
                continue;
            }
            "rbind" => {
                out.bind = true;
                out.recursive = true;
                continue;
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                out.propagation = propagation(opt).unwrap_or(MsFlags::empty());
                continue;
            }
            _ => {
                out.data.push(opt.clone());
                continue;
            }
        };
        out.flags |= set;
        out.flags &= !clear;
    }
    out
}

/// The mount_setattr(2) attribute of an `r*` option, and whether the option sets it.
fn recursive_attr(opt: &str) -> (u64, bool) {
    match opt {
        "rro" => (libc::MOUNT_ATTR_RDONLY, true),
        "rrw" => (libc::MOUNT_ATTR_RDONLY, false),
        "rnosuid" => (libc::MOUNT_ATTR_NOSUID, true),
        "rsuid" => (libc::MOUNT_ATTR_NOSUID, false),
        "rnodev" => (libc::MOUNT_ATTR_NODEV, true),
        "rdev" => (libc::MOUNT_ATTR_NODEV, false),
        "rnoexec" => (libc::MOUNT_ATTR_NOEXEC, true),
        "rexec" => (libc::MOUNT_ATTR_NOEXEC, false),
        "rnoatime" => (libc::MOUNT_ATTR_NOATIME, true),
        "ratime" => (libc::MOUNT_ATTR_NOATIME, false),
        "rnodiratime" => (libc::MOUNT_ATTR_NODIRATIME, true),
        "rdiratime" => (libc::MOUNT_ATTR_NODIRATIME, false),
        _ => (0, true),
    }
}

/// `rslave` → MS_SLAVE|MS_REC and so on; None for anything else.
pub fn propagation(name: &str) -> Option<MsFlags> {
    let (rec, base) = match name.strip_prefix('r') {
        Some(b) if b != "o" => (MsFlags::MS_REC, b),
        _ => (MsFlags::empty(), name),
    };
    let flag = match base {
        "private" => MsFlags::MS_PRIVATE,
        "shared" => MsFlags::MS_SHARED,
        "slave" => MsFlags::MS_SLAVE,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        _ => return None,
    };
    Some(flag | rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_bind_and_data() {
        let o = p(&["nosuid", "noexec", "mode=755", "size=65536k", "ro"]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.data_string().as_deref(), Some("mode=755,size=65536k"));
        let o = p(&["rbind", "rw", "rprivate"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        assert!(o.flags.is_empty());
    }

    #[test]
    fn copy_up_and_recursive_attributes_are_not_mount_data() {
        let o = p(&["tmpcopyup", "rro", "rnosuid", "mode=755", "rrw"]);
        assert!(o.copy_up);
        assert_eq!(o.attr_set, libc::MOUNT_ATTR_NOSUID);
        assert_eq!(o.attr_clear, libc::MOUNT_ATTR_RDONLY);
        assert_eq!(o.data_string().as_deref(), Some("mode=755"));
    }

    #[test]
    fn later_options_win() {
        assert!(p(&["ro", "rw"]).flags.is_empty());
        assert_eq!(p(&["rw", "ro"]).flags, MsFlags::MS_RDONLY);
    }

    proptest! {
        #[test]
        fn unknown_options_become_data_in_order(words in proptest::collection::vec("[a-z]{2,6}=[0-9]{1,4}", 0..5)) {
            let o = parse(&words);
            prop_assert_eq!(o.data, words);
        }
    }
}
