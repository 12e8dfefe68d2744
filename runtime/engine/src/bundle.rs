//! A container's OCI bundle: `config.json` made from the record (image config + flags), with
//! Docker's defaults for capabilities, mounts and masked paths.

use std::path::Path;

use serde_json::{json, Value};

use super::error::{EngineError, Result};
use super::record::Record;

/// Where `--init` finds its init inside the container: Docker's path. The runtime makes the
/// mount point in the container's own layer, through the image's links (a usr-merged image's
/// `/sbin -> usr/sbin`), as runc does for Docker; nothing is added when `--init` is not given.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The most of `/etc/passwd` or `/etc/group` hull reads: far more than any real one.
const ACCOUNT_FILE_LIMIT: u64 = 16 << 20;

/// An account file of the image (`/etc/passwd`, `/etc/group`), resolved inside `rootfs` as
/// the container would see it: the image's symlinks never lead to the host's files, and a FIFO
/// or device in its place is refused rather than read. A missing file reads as empty.
fn account_file(root: &hull_image::rootfs::Root, path: &str) -> Result<String> {
    let bytes = root
        .read_file(Path::new(path), ACCOUNT_FILE_LIMIT)?
        .unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `-u` as Docker takes it: `uid`, `uid:gid`, `name`, `name:group`, resolved in the
/// container's own /etc/passwd and /etc/group.
pub fn resolve_user(spec: &str, rootfs: &Path) -> Result<(u32, u32, Vec<u32>)> {
    let root = hull_image::rootfs::Root::open(rootfs, "the rootfs")?;
    let passwd = account_file(&root, "/etc/passwd")?;
    let group = account_file(&root, "/etc/group")?;
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == user || f[2] == user));
    let (uid, mut gid, name) = match (user.parse::<u32>(), &entry) {
        (_, Some(f)) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            Some(f[0].to_string()),
        ),
        (Ok(n), None) => (n, 0, None),
        (Err(_), None) => return Err(EngineError::NoSuchUser(user.to_string())),
    };
    if let Some(g) = grp {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| EngineError::NoSuchGroup(g.to_string()))?,
        };
    }
    // Supplementary groups, as Docker's runtime sets them (`id` shows `groups=`): the primary
    // group first, then, without an explicit group, every group that lists the user by name
    // (libcontainer gives none for `user:group`).
    let members: Vec<u32> = name
        .map(|n| {
            group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .filter(|f| f.len() > 3 && f[3].split(',').any(|m| m == n))
                .filter_map(|f| f[2].parse().ok())
                .filter(|g| *g != gid)
                .collect()
        })
        .unwrap_or_default();
    let extra = match grp {
        None => std::iter::once(gid).chain(members).collect(),
        Some(_) => vec![gid],
    };
    Ok((uid, gid, extra))
}

/// The container's network namespace.
#[derive(Debug, Clone)]
pub enum NetNs {
    /// A new one (bridge and none modes).
    New,
    /// hull's own (`--network host`).
    Host,
    /// Another container's (`--network container:X`): the path of its namespace file.
    Join(std::path::PathBuf),
}

pub struct BundleInputs<'a> {
    pub netns: NetNs,
    pub record: &'a Record,
    pub rootfs: &'a Path,
    pub container_dir: &'a Path,
    pub init_script: &'a Path,
}

pub fn config(b: &BundleInputs) -> Result<Value> {
    let r = b.record;
    // No user: root, with root's groups as the image lists them (Docker looks up "0").
    let (uid, gid, additional) = if r.config.user.is_empty() {
        resolve_user("0", b.rootfs).unwrap_or((0, 0, vec![0]))
    } else {
        resolve_user(&r.config.user, b.rootfs)?
    };
    let mut args = vec![r.path.clone()];
    args.extend(r.args.iter().cloned());
    if r.host_config.init {
        // As Docker runs tini: `/sbin/docker-init -- COMMAND…`.
        args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }
    let cwd = if r.config.working_dir.is_empty() {
        "/".to_string()
    } else {
        r.config.working_dir.clone()
    };
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}),
    ];
    // Then, as Docker orders them, the container's own files, volumes, tmpfs and init, parents
    // before what is mounted below them (a volume on /etc keeps /etc/hosts).
    let mut own = Vec::new();
    for f in ["hostname", "hosts", "resolv.conf"] {
        own.push(json!({
            "destination": format!("/etc/{f}"), "type": "bind",
            "source": b.container_dir.join(f), "options": ["rbind", "rprivate"]
        }));
    }
    for m in &r.mounts {
        let mut opts = vec!["rbind".to_string(), "rprivate".to_string()];
        if !m.rw {
            opts.push("ro".into());
        }
        own.push(json!({"destination": m.destination, "type": "bind", "source": m.source, "options": opts}));
    }
    for (dest, opts) in &r.host_config.tmpfs {
        let mut o = vec![
            "nosuid".to_string(),
            "nodev".to_string(),
            "noexec".to_string(),
        ];
        o.extend(
            opts.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        own.push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    if r.host_config.init {
        own.push(json!({"destination": INIT_PATH, "type": "bind", "source": b.init_script, "options": ["bind", "ro"]}));
    }
    own.sort_by_key(|m| {
        m["destination"]
            .as_str()
            .map_or(0, |d| Path::new(d).components().count())
    });
    mounts.extend(own);
    let mut resources = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let hc = &r.host_config;
    if hc.memory > 0 {
        resources["memory"] = json!({"limit": hc.memory});
        if hc.memory_swap != 0 && hc.memory_swap != hc.memory.saturating_mul(2) {
            resources["memory"]["swap"] = json!(hc.memory_swap);
        }
    }
    if hc.nano_cpus > 0 {
        resources["cpu"] = json!({"quota": hc.nano_cpus / 10_000, "period": 100_000});
    }
    if hc.pids_limit > 0 {
        resources["pids"] = json!({"limit": hc.pids_limit});
    }
    let security = crate::security::Security::of(
        hc.cap_add.as_deref().unwrap_or_default(),
        hc.cap_drop.as_deref().unwrap_or_default(),
        hc.privileged,
        hc.security_opt.as_deref().unwrap_or_default(),
    )?;
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    match &b.netns {
        NetNs::New => namespaces.push(json!({"type": "network"})),
        NetNs::Host => {}
        NetNs::Join(path) => namespaces.push(json!({"type": "network", "path": path})),
    }
    let mut config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid, "additionalGids": additional},
            "args": args,
            "env": r.config.env,
            "cwd": cwd,
        },
        "root": {"path": b.rootfs, "readonly": r.host_config.readonly_rootfs},
        "hostname": r.config.hostname,
        "mounts": mounts,
        "linux": {
            "cgroupsPath": format!("hull-{}", r.short_id()),
            "resources": resources,
            "namespaces": namespaces,
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    security.apply(&mut config);
    Ok(config)
}

/// The forwarding init `--init` puts in PID 1: it runs the command as its child, passes the
/// usual termination signals on, and exits with the child's status. A shell script, so it
/// needs /bin/sh in the image, and PID 1's command line starts with `/bin/sh` (Docker's
/// --init is tini, a static binary; a documented difference).
pub const INIT_SCRIPT: &str = r#"#!/bin/sh
# hull's docker-init: PID 1 that forwards signals to its child and exits with its status.
[ "$1" = "--" ] && shift
"$@" &
child=$!
for s in TERM INT HUP QUIT USR1 USR2; do
    trap "kill -$s \$child 2>/dev/null" $s
done
while :; do
    wait $child
    rc=$?
    kill -0 $child 2>/dev/null || exit $rc
done
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_come_parents_first_and_init_only_when_asked() {
        let r = Record {
            path: "sh".into(),
            mounts: vec![crate::record::MountPoint {
                typ: "volume".into(),
                source: "/vols/v/_data".into(),
                destination: "/etc".into(),
                rw: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let dir = std::path::PathBuf::from("/c");
        let inputs = BundleInputs {
            netns: NetNs::New,
            record: &r,
            rootfs: Path::new("/c/merged"),
            container_dir: &dir,
            init_script: Path::new("/hull/hull-init"),
        };
        let dests = |v: &Value| -> Vec<String> {
            v["mounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["destination"].as_str().unwrap().to_string())
                .collect()
        };
        let all = dests(&config(&inputs).unwrap());
        let pos = |d: &str| all.iter().position(|x| x == d).unwrap();
        assert!(pos("/etc") < pos("/etc/hosts"), "{all:?}");
        assert!(!all.iter().any(|d| d == INIT_PATH), "{all:?}");
        let mut with_init = r.clone();
        with_init.host_config.init = true;
        let spec = config(&BundleInputs {
            record: &with_init,
            ..inputs
        })
        .unwrap();
        assert!(dests(&spec).iter().any(|d| d == INIT_PATH));
        assert_eq!(spec["process"]["args"], json!([INIT_PATH, "--", "sh"]));
    }

    #[test]
    fn users_from_the_containers_files() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("etc/group"),
            "root:x:0:\nwheel:x:10:user\nuser:x:1000:\n",
        )
        .unwrap();
        assert_eq!(
            resolve_user("user", t.path()).unwrap(),
            (1000, 1000, vec![1000, 10])
        );
        // An explicit group: it alone (Docker: `-u nobody:user` gives groups=1000(user)).
        assert_eq!(
            resolve_user("1000:10", t.path()).unwrap(),
            (1000, 10, vec![10])
        );
        assert_eq!(
            resolve_user("user:user", t.path()).unwrap(),
            (1000, 1000, vec![1000])
        );
        assert_eq!(resolve_user("4242", t.path()).unwrap(), (4242, 0, vec![0]));
        assert!(resolve_user("nobody2", t.path())
            .unwrap_err()
            .to_string()
            .contains("nobody2"));
        assert!(resolve_user("user:nogroup", t.path())
            .unwrap_err()
            .to_string()
            .contains("nogroup"));
    }
}
