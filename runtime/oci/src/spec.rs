//! Loading and validating a bundle's `config.json` (through the `oci-spec` types).
//!
//! Properties the spec defines but hullrt does not implement are refused by name: a container
//! that silently runs without its seccomp filter is worse than one that does not start.
//! Properties unknown to the spec are ignored, as the spec requires.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use crate::error::{Error, Result};

pub const CONFIG: &str = "config.json";
/// The runtime spec version hullrt implements (what `state` reports and `features` allows).
pub const OCI_VERSION: &str = "1.1.0";

/// A loaded bundle: its absolute directory, the parsed config and the absolute rootfs path.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir = fs::canonicalize(dir).map_err(|e| Error::Bundle {
        path: dir.to_path_buf(),
        reason: format!("cannot open bundle directory: {e}"),
    })?;
    if !dir.is_dir() {
        return Err(Error::Bundle {
            path: dir,
            reason: "not a directory".into(),
        });
    }
    let file = dir.join(CONFIG);
    let text = fs::read_to_string(&file).map_err(|e| Error::Config {
        file: file.clone(),
        reason: format!("cannot read: {e}"),
    })?;
    let spec = parse(&text).map_err(|source| Error::Spec {
        file: file.clone(),
        source,
    })?;
    validate(&spec)
        .and_then(|()| check_sysctl_targets(&spec, Path::new("/proc/self/ns")))
        .map_err(|source| Error::Spec {
            file: file.clone(),
            source,
        })?;
    let root = spec.root().as_ref().expect("validated");
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    if !rootfs.is_dir() {
        return Err(Error::Spec {
            file,
            source: SpecError::field(
                "root.path",
                format!("{} is not a directory", rootfs.display()),
            ),
        });
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// serde_json's message already carries "at line L column C".
pub fn parse(text: &str) -> std::result::Result<Spec, SpecError> {
    serde_json::from_str(text).map_err(SpecError::Json)
}

/// Why a config.json cannot be run: malformed JSON, or a field at fault and what is wrong
/// with it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("{field} {problem}")]
    Field { field: String, problem: String },
}

impl SpecError {
    fn field(field: impl Into<String>, problem: impl Into<String>) -> SpecError {
        SpecError::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The largest user or group id hullrt accepts, as runc.
pub const MAX_ID: u32 = i32::MAX as u32;

/// The pure checks; the error names the field at fault.
pub fn validate(spec: &Spec) -> std::result::Result<(), SpecError> {
    if !spec.version().starts_with("1.") {
        return Err(SpecError::field(
            "ociVersion",
            format!(
                "{:?} is not supported (hullrt implements 1.x)",
                spec.version()
            ),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or(SpecError::field("process", "is required"))?;
    validate_process(process)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or(SpecError::field("root", "is required"))?;
    if root.path().as_os_str().is_empty() {
        return Err(SpecError::field("root.path", "must not be empty"));
    }
    unsupported(spec)?;
    validate_namespaces(spec)?;
    validate_mounts(spec)?;
    validate_hooks(spec)?;
    Ok(())
}

/// The checks of a `process` object: the config's, and one `exec --process` reads.
pub fn validate_process(process: &Process) -> std::result::Result<(), SpecError> {
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => return Err(SpecError::field("process.args", "must name a program")),
    }
    let user = process.user();
    let ids = [
        ("process.user.uid", user.uid()),
        ("process.user.gid", user.gid()),
    ]
    .into_iter()
    .chain(
        user.additional_gids()
            .iter()
            .flatten()
            .map(|g| ("process.user.additionalGids", *g)),
    );
    for (field, id) in ids {
        // As runc: ids above 2^31-1 would be taken as negative (-1 is "no change" to
        // setresuid), so 4294967295 ran as root.
        if id > MAX_ID {
            return Err(SpecError::field(
                field,
                format!("{id} is out of range (0-{MAX_ID})"),
            ));
        }
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::field(
            "process.cwd",
            format!("{:?} must be an absolute path", process.cwd()),
        ));
    }
    Ok(())
}

fn refuse(field: &str) -> std::result::Result<(), SpecError> {
    Err(SpecError::field(field, "is not supported by hullrt"))
}

fn unsupported(spec: &Spec) -> std::result::Result<(), SpecError> {
    let non_empty = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
    if spec.solaris().is_some() {
        return refuse("solaris");
    }
    if spec.windows().is_some() {
        return refuse("windows");
    }
    if spec.vm().is_some() {
        return refuse("vm");
    }
    if spec.zos().is_some() {
        return refuse("zos");
    }
    if let Some(p) = spec.process() {
        if non_empty(p.apparmor_profile()) {
            return refuse("process.apparmorProfile");
        }
        if non_empty(p.selinux_label()) {
            return refuse("process.selinuxLabel");
        }
        if p.io_priority().is_some() {
            return refuse("process.ioPriority");
        }
        if p.scheduler().is_some() {
            return refuse("process.scheduler");
        }
        if p.exec_cpu_affinity().is_some() {
            return refuse("process.execCPUAffinity");
        }
        if p.command_line().is_some() {
            return refuse("process.commandLine");
        }
    }
    let Some(linux) = spec.linux() else {
        return Err(SpecError::field(
            "linux",
            "is required: hullrt runs Linux containers",
        ));
    };
    if let Some(s) = linux.seccomp() {
        crate::seccomp::validate(s)?;
    }
    if linux.intel_rdt().is_some() {
        return refuse("linux.intelRdt");
    }
    if linux.personality().is_some() {
        return refuse("linux.personality");
    }
    if linux.memory_policy().is_some() {
        return refuse("linux.memoryPolicy");
    }
    if linux.time_offsets().is_some() {
        return refuse("linux.timeOffsets");
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse("linux.netDevices");
    }
    if non_empty(linux.mount_label()) {
        return refuse("linux.mountLabel");
    }
    if let Some(p) = linux.rootfs_propagation() {
        if !matches!(
            p.as_str(),
            "" | "private"
                | "rprivate"
                | "slave"
                | "rslave"
                | "shared"
                | "rshared"
                | "unbindable"
                | "runbindable"
        ) {
            return Err(SpecError::field(
                "linux.rootfsPropagation",
                format!("{p:?} is not a propagation mode"),
            ));
        }
    }
    Ok(())
}

fn validate_namespaces(spec: &Spec) -> std::result::Result<(), SpecError> {
    let linux = spec.linux().as_ref().expect("checked");
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let mut seen = HashSet::new();
    for ns in &namespaces {
        if !seen.insert(ns.typ()) {
            return Err(SpecError::field(
                "linux.namespaces",
                format!("lists {} twice", ns_name(ns.typ())),
            ));
        }
        if ns.typ() == LinuxNamespaceType::Time {
            return refuse("linux.namespaces type time");
        }
        if let Some(path) = ns.path() {
            if !path.is_absolute() {
                return Err(SpecError::field(
                    format!("linux.namespaces {} path", ns_name(ns.typ())),
                    format!("{path:?} must be absolute"),
                ));
            }
        }
    }
    if !seen.contains(&LinuxNamespaceType::Mount) {
        return Err(SpecError::field(
            "linux.namespaces",
            "must include mount: hullrt sets up the rootfs in a mount namespace of its own",
        ));
    }
    let new = |t| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    let has = |t| seen.contains(&t);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new(LinuxNamespaceType::User) && !maps {
        return Err(SpecError::field(
            "linux.uidMappings",
            "and linux.gidMappings are required with a new user namespace",
        ));
    }
    if maps && !new(LinuxNamespaceType::User) {
        return Err(SpecError::field(
            "linux.uidMappings/gidMappings",
            "need a new user namespace in linux.namespaces",
        ));
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::field(
            "hostname",
            "needs a uts namespace in linux.namespaces",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(SpecError::field(
            "domainname",
            "needs a uts namespace in linux.namespaces",
        ));
    }
    for key in linux.sysctl().clone().unwrap_or_default().keys() {
        let needs = sysctl_namespace(key).ok_or_else(|| {
            SpecError::field(
                "linux.sysctl",
                format!("{key:?} is not namespaced: it would change the host"),
            )
        })?;
        if !has(needs) {
            return Err(SpecError::field(
                "linux.sysctl",
                format!(
                    "{key:?} needs a {} namespace in linux.namespaces",
                    ns_name(needs)
                ),
            ));
        }
    }
    Ok(())
}

/// A namespaced sysctl changes the namespace the container ends up in: refused when that is
/// a namespace joined by path that `ours` (normally `/proc/self/ns`) shows is hullrt's own,
/// as runc refuses it (a `net.*` sysctl with the caller's netns joined turned on the host's
/// `ip_forward`).
pub fn check_sysctl_targets(spec: &Spec, ours: &Path) -> std::result::Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    for key in linux.sysctl().clone().unwrap_or_default().keys() {
        let Some(needs) = sysctl_namespace(key) else {
            continue;
        };
        let joined = namespaces
            .iter()
            .find(|n| n.typ() == needs)
            .and_then(|n| n.path().clone());
        let Some(path) = joined else { continue };
        let own = ours.join(crate::sys::ns::proc_name(needs));
        if crate::sys::ns::inode(&path).is_some_and(|i| Some(i) == crate::sys::ns::inode(&own)) {
            return Err(SpecError::field(
                "linux.sysctl",
                format!(
                    "{key:?} would change the runtime's own {} namespace (joined by path {})",
                    ns_name(needs),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Which namespace a sysctl belongs to, or None for host-wide ones (refused).
pub fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

pub fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

fn validate_mounts(spec: &Spec) -> std::result::Result<(), SpecError> {
    for (i, m) in spec.mounts().clone().unwrap_or_default().iter().enumerate() {
        if !m.destination().is_absolute() {
            return Err(SpecError::field(
                format!("mounts[{i}].destination"),
                format!("{:?} must be an absolute path", m.destination()),
            ));
        }
        if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            return refuse(&format!("mounts[{i}].uidMappings (idmapped mounts)"));
        }
        if let Some(o) = m
            .options()
            .iter()
            .flatten()
            .find(|o| *o == "idmap" || *o == "ridmap")
        {
            return refuse(&format!("mounts[{i}].options {o} (idmapped mounts)"));
        }
        let bind = m
            .options()
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind"))
            || m.typ().as_deref() == Some("bind");
        if bind && m.source().is_none() {
            return Err(SpecError::field(
                format!("mounts[{i}]"),
                "is a bind mount without a source",
            ));
        }
        if !bind && m.typ().as_deref().unwrap_or("").is_empty() {
            return Err(SpecError::field(
                format!("mounts[{i}]"),
                format!("({:?}) needs a type", m.destination()),
            ));
        }
    }
    Ok(())
}

fn validate_hooks(spec: &Spec) -> std::result::Result<(), SpecError> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (kind, list) in lists {
        for (i, h) in list.clone().unwrap_or_default().iter().enumerate() {
            if !h.path().is_absolute() {
                return Err(SpecError::field(
                    format!("hooks.{kind}[{i}].path"),
                    format!("{:?} must be absolute", h.path()),
                ));
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err(SpecError::field(
                    format!("hooks.{kind}[{i}].timeout"),
                    "must be positive",
                ));
            }
        }
    }
    Ok(())
}

/// The config `hullrt spec` writes: runc's default, but with `terminal: false` so that it runs
/// unchanged from scripts and tests.
pub fn default_config() -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "hull",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        default_config()
    }

    /// The error's message, as the user reads it.
    fn check(v: &serde_json::Value) -> std::result::Result<(), String> {
        let spec = parse(&v.to_string()).map_err(|e| e.to_string())?;
        validate(&spec).map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_config_is_valid() {
        check(&base()).unwrap();
    }

    #[test]
    fn malformed_json_says_where() {
        let err = parse("{\"ociVersion\":").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn unsupported_fields_are_named() {
        let cases = [
            (
                "/linux/intelRdt",
                serde_json::json!({"closID": "x"}),
                "linux.intelRdt",
            ),
            (
                "/process/apparmorProfile",
                serde_json::json!("p"),
                "process.apparmorProfile",
            ),
            (
                "/linux/mountLabel",
                serde_json::json!("l"),
                "linux.mountLabel",
            ),
        ];
        for (ptr, value, name) in cases {
            let mut v = base();
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            v.pointer_mut(parent).unwrap()[key] = value;
            let err = check(&v).unwrap_err();
            assert!(err.contains(name) && err.contains("not supported"), "{err}");
        }
    }

    #[test]
    fn namespace_rules() {
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "mount"}]);
        assert!(check(&v).unwrap_err().contains("twice"));
        let mut v = base();
        v["linux"]["namespaces"] =
            serde_json::json!([{"type": "mount"}, {"type": "user"}, {"type": "uts"}]);
        assert!(check(&v).unwrap_err().contains("uidMappings"));
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
        assert!(check(&v).unwrap_err().contains("hostname"));
        let mut v = base();
        v["linux"]["sysctl"] = serde_json::json!({"vm.swappiness": "1"});
        assert!(check(&v).unwrap_err().contains("vm.swappiness"));
    }

    #[test]
    fn empty_args_and_relative_paths() {
        let mut v = base();
        v["process"]["args"] = serde_json::json!([]);
        assert!(check(&v).unwrap_err().contains("process.args"));
        let mut v = base();
        v["process"]["cwd"] = serde_json::json!("tmp");
        assert!(check(&v).unwrap_err().contains("process.cwd"));
        let mut v = base();
        v["mounts"][0]["destination"] = serde_json::json!("proc");
        assert!(check(&v).unwrap_err().contains("mounts[0].destination"));
    }

    proptest! {
        #[test]
        fn an_unknown_seccomp_action_is_refused_by_name(action in "SCMP_ACT_[A-Z_]{1,12}") {
            prop_assume!(!matches!(
                action.as_str(),
                "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_TRAP"
                    | "SCMP_ACT_ERRNO" | "SCMP_ACT_NOTIFY" | "SCMP_ACT_TRACE" | "SCMP_ACT_LOG"
                    | "SCMP_ACT_ALLOW"
            ));
            let mut v = base();
            v["linux"]["seccomp"] = serde_json::json!({"defaultAction": action.clone()});
            let err = check(&v).unwrap_err();
            prop_assert!(err.contains(&action), "{}", err);
        }

        #[test]
        fn a_seccomp_profile_is_accepted(errno in 1u32..134) {
            let mut v = base();
            v["linux"]["seccomp"] = serde_json::json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
            });
            check(&v).unwrap();
        }

        #[test]
        fn duplicate_namespaces_are_refused(i in 0usize..6) {
            let mut v = base();
            let dup = v["linux"]["namespaces"][i].clone();
            v["linux"]["namespaces"].as_array_mut().unwrap().push(dup);
            prop_assert!(check(&v).unwrap_err().contains("twice"));
        }

        #[test]
        fn host_wide_sysctls_are_refused(key in "(vm|kernel|fs)\\.[a-z_]{1,12}") {
            prop_assume!(sysctl_namespace(&key).is_none());
            let mut v = base();
            v["linux"]["sysctl"] = serde_json::json!({ key.clone(): "1" });
            prop_assert!(check(&v).unwrap_err().contains(&key));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = parse(&s);
        }
    }

    #[test]
    fn ids_above_2_31_are_refused() {
        for (field, value) in [
            ("uid", json!(4294967295u32)),
            ("gid", json!(2147483648u32)),
            ("additionalGids", json!([0, 4294967295u32])),
        ] {
            let mut v = base();
            v["process"]["user"][field] = value;
            let err = check(&v).unwrap_err();
            assert!(
                err.contains(field) && err.contains("out of range (0-2147483647)"),
                "{field}: {err}"
            );
        }
        let mut v = base();
        v["process"]["user"]["uid"] = json!(2147483647u32);
        check(&v).unwrap();
    }

    #[test]
    fn a_sysctl_may_not_change_the_runtimes_own_namespace() {
        let with = |path: Option<&str>| {
            let mut v = base();
            v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            let mut ns = json!({"type": "network"});
            if let Some(p) = path {
                ns["path"] = json!(p);
            }
            for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
                if n["type"] == "network" {
                    *n = ns.clone();
                }
            }
            parse(&v.to_string()).unwrap()
        };
        let ours = Path::new("/proc/self/ns");
        // A new namespace, or one that is not ours: allowed.
        check_sysctl_targets(&with(None), ours).unwrap();
        // Our own, joined by path: refused, naming the sysctl and the path.
        let err = check_sysctl_targets(&with(Some("/proc/self/ns/net")), ours)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("net.ipv4.ip_forward") && err.contains("/proc/self/ns/net"),
            "{err}"
        );
        // The same path seen from "another runtime" (a directory with other namespaces).
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("net"), "").unwrap();
        check_sysctl_targets(&with(Some("/proc/self/ns/net")), other.path()).unwrap();
    }
}
