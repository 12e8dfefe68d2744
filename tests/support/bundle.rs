//! Bundles: a busybox rootfs and a runc-`spec`-like default `config.json`.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use serde_json::{json, Value};

/// The capability mask of the default set (CAP_AUDIT_WRITE | CAP_KILL | CAP_NET_BIND_SERVICE).
pub const DEFAULT_CAP_MASK: u64 = (1 << 29) | (1 << 5) | (1 << 10);
pub const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

fn applets() -> &'static [String] {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        let out = StdCommand::new("/bin/busybox")
            .arg("--list")
            .output()
            .expect("cannot run /bin/busybox --list (is busybox-static installed?)");
        assert!(out.status.success(), "/bin/busybox --list failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "busybox")
            .map(String::from)
            .collect()
    })
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Builds a busybox root filesystem in `rootfs` (world-readable, so a user namespace can use it).
pub fn build_rootfs(rootfs: &Path) {
    for d in [
        "", "bin", "proc", "sys", "dev", "tmp", "etc", "mnt", "root", "home",
    ] {
        let p = rootfs.join(d);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        set_mode(&p, if d == "tmp" { 0o1777 } else { 0o755 });
    }
    let bb = rootfs.join("bin/busybox");
    fs::copy("/bin/busybox", &bb).unwrap_or_else(|e| panic!("copy /bin/busybox: {e}"));
    set_mode(&bb, 0o755);
    for a in applets() {
        let link = rootfs.join("bin").join(a);
        symlink("busybox", &link).unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nhull:x:1000:1000:hull:/home:/bin/sh\n",
    )
    .expect("write etc/passwd");
    fs::write(rootfs.join("etc/group"), "root:x:0:\nhull:x:1000:\n").expect("write etc/group");
}

/// A runc-`spec`-like default config: no terminal, root user, `sh`, the default mounts (/proc,
/// /dev tmpfs, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys), pid/network/ipc/uts/mount
/// namespaces, runc's masked and read-only paths, three capabilities in every set but ambient,
/// RLIMIT_NOFILE 1024, noNewPrivileges, a writable `rootfs`, and the given `cgroupsPath`.
pub fn default_config(cgroups_path: &str) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "inheritable": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS
            },
            "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "hull",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] }
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// A bundle: a directory holding `config.json` and a busybox `rootfs/`. The temporary directory
/// itself belongs to the [`super::Ctx`] that made it, so it outlives the containers using it.
pub struct Bundle {
    dir: PathBuf,
    /// The relative `linux.cgroupsPath` this bundle's container uses.
    pub cgroup: String,
}

impl Bundle {
    /// Fills `dir` (an existing directory) with a rootfs and the default config.
    pub fn init(dir: &Path, cgroup: &str) -> Bundle {
        set_mode(dir, 0o755);
        build_rootfs(&dir.join("rootfs"));
        let b = Bundle {
            dir: dir.to_path_buf(),
            cgroup: cgroup.to_string(),
        };
        b.write_config(&default_config(cgroup));
        b
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn rootfs(&self) -> PathBuf {
        self.path().join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.json")
    }

    pub fn config(&self) -> Value {
        let text = fs::read_to_string(self.config_path()).expect("read config.json");
        serde_json::from_str(&text).expect("parse config.json")
    }

    pub fn write_config(&self, cfg: &Value) {
        let text = serde_json::to_string_pretty(cfg).expect("serialize config");
        fs::write(self.config_path(), text).expect("write config.json");
    }

    /// Read-modify-write of `config.json`.
    pub fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut cfg = self.config();
        f(&mut cfg);
        self.write_config(&cfg);
    }

    pub fn set_args(&self, args: &[&str]) {
        self.edit(|c| c["process"]["args"] = json!(args));
    }

    /// The container's process becomes `sh -c SCRIPT`.
    pub fn sh(&self, script: &str) {
        self.set_args(&["sh", "-c", script]);
    }

    /// A fresh host directory next to the rootfs (mode 0755) for bind mounts.
    pub fn host_dir(&self, name: &str) -> PathBuf {
        let p = self.path().join(name);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        set_mode(&p, 0o755);
        p
    }

    /// Adds a bind mount of host `source` at `dest` in the container.
    pub fn bind(&self, source: &Path, dest: &str, readonly: bool) {
        let mut opts = vec!["rbind"];
        if readonly {
            opts.push("ro");
        }
        self.edit(|c| {
            c["mounts"]
                .as_array_mut()
                .expect("mounts array")
                .push(json!({
                    "destination": dest, "type": "bind",
                    "source": source.to_str().expect("utf-8 path"),
                    "options": opts
                }))
        });
    }
}

/// Removes namespace `kind` from `linux.namespaces`.
pub fn remove_namespace(cfg: &mut Value, kind: &str) {
    cfg["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces array")
        .retain(|n| n["type"] != kind);
}

/// Adds (or replaces) namespace `kind`, optionally joining the one at `path`.
pub fn set_namespace(cfg: &mut Value, kind: &str, path: Option<&str>) {
    remove_namespace(cfg, kind);
    let mut ns = json!({ "type": kind });
    if let Some(p) = path {
        ns["path"] = json!(p);
    }
    cfg["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces array")
        .push(ns);
}
