//! What the benches share: finding the runtimes, a busybox bundle, running runtime commands.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

/// Environment variable naming the runtime to bench instead of the built `hullrt`.
pub const RUNTIME_ENV: &str = "HULL_BENCH_RUNTIME";

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The runtime to bench: `$HULL_BENCH_RUNTIME`, else `hullrt` built next to this bench
/// (`target/release/hullrt`, else `target/debug/hullrt`). Err says why there is none.
pub fn hullrt() -> Result<PathBuf, String> {
    built_binary("hullrt", RUNTIME_ENV)
        .map_err(|e| format!("{e} or point {RUNTIME_ENV} at a runc-compatible runtime"))
}

/// `$ENV` if set, else the workspace binary `name` built next to this bench
/// (`target/release/NAME`, else `target/debug/NAME`). Err says why there is none.
pub fn built_binary(name: &str, env: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{env}={} is not a file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this bench's path: {e}"))?;
    // target/<profile>/deps/<bench>-<hash>  ->  target/
    let target = exe
        .ancestors()
        .find(|d| d.ends_with("deps"))
        .and_then(|deps| deps.parent()?.parent())
        .ok_or_else(|| format!("{} is not inside a cargo target dir", exe.display()))?;
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no {name} in {0}/release or {0}/debug: build it (cargo build --release -p hullrt -p hull)",
                target.display()
            )
        })
}

/// `name` on `$PATH` or in the sbin directories (which a non-root `$PATH` often lacks).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A temporary bundle: a busybox `rootfs/` and a `config.json` running `args`, in a relative
/// cgroup (`hull-bench-<pid>-<tag>`, below the bench's own cgroup).
pub struct Bundle {
    dir: TempDir,
    pub cgroup: String,
}

impl Bundle {
    pub fn new(tag: &str, args: &[&str]) -> Bundle {
        Bundle::with_seccomp(tag, args, None)
    }

    /// A bundle whose config carries `linux.seccomp` (an OCI seccomp object) when given.
    pub fn with_seccomp(tag: &str, args: &[&str], seccomp: Option<&Value>) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("hull-bench-")
            .tempdir()
            .expect("cannot create a temporary bundle directory");
        build_rootfs(&dir.path().join("rootfs"));
        let cgroup = format!("{}-{tag}", cgroup_prefix());
        let mut config = config(args, &cgroup);
        if let Some(s) = seccomp {
            config["linux"]["seccomp"] = s.clone();
        }
        fs::write(
            dir.path().join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .expect("cannot write config.json");
        Bundle { dir, cgroup }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        remove_cgroups_named(&self.cgroup);
    }
}

/// The container tools' default seccomp profile as Debian installs it
/// (golang-github-containers-common, the profile podman uses, in Docker's format), turned into
/// the OCI `linux.seccomp` object a runtime receives for a container with the default
/// capabilities on x86-64: rules are kept when their `includes` and `excludes` (capabilities,
/// architectures) select them. None when the file is not installed.
pub fn default_seccomp_profile() -> Option<Value> {
    let text = fs::read_to_string("/usr/share/containers/seccomp.json").ok()?;
    let profile: Value = serde_json::from_str(&text).ok()?;
    let caps = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP",
        "CAP_SETGID",
        "CAP_SETPCAP",
        "CAP_SETUID",
        "CAP_SYS_CHROOT",
    ];
    let listed = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut syscalls = Vec::new();
    for s in profile["syscalls"].as_array()? {
        let (inc, exc) = (&s["includes"], &s["excludes"]);
        let inc_arches = listed(inc, "arches");
        let inc_caps = listed(inc, "caps");
        let exc_arches = listed(exc, "arches");
        let exc_caps = listed(exc, "caps");
        let selected = (inc_arches.is_empty() || inc_arches.iter().any(|a| a == "amd64"))
            && inc_caps.iter().all(|c| caps.contains(&c.as_str()))
            && !exc_arches.iter().any(|a| a == "amd64")
            && !exc_caps.iter().any(|c| caps.contains(&c.as_str()));
        if selected {
            let mut rule = json!({"names": s["names"], "action": s["action"]});
            if !s["errnoRet"].is_null() {
                rule["errnoRet"] = s["errnoRet"].clone();
            }
            if s["args"].as_array().is_some_and(|a| !a.is_empty()) {
                rule["args"] = s["args"].clone();
            }
            syscalls.push(rule);
        }
    }
    Some(json!({
        "defaultAction": profile["defaultAction"],
        "defaultErrnoRet": profile["defaultErrnoRet"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls
    }))
}

/// Every cgroup of this bench process starts with this.
pub fn cgroup_prefix() -> String {
    format!("hull-bench-{}", std::process::id())
}

fn build_rootfs(rootfs: &Path) {
    for d in ["", "bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
        let p = rootfs.join(d);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        let mode = if d == "tmp" { 0o1777 } else { 0o755 };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("cannot copy /bin/busybox (install busybox-static)");
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("cannot run /bin/busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" {
            symlink("busybox", rootfs.join("bin").join(applet))
                .unwrap_or_else(|e| panic!("symlink bin/{applet}: {e}"));
        }
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
}

/// A runc-`spec`-like config, without a terminal.
fn config(args: &[&str], cgroup: &str) -> Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps
            },
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "bench",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] }
        ],
        "linux": {
            "cgroupsPath": cgroup,
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }
            ]
        }
    })
}

/// Removes every cgroup directory named `name` in every hierarchy (deepest first). Best effort:
/// a runtime's `delete` normally removes them already.
pub fn remove_cgroups_named(name: &str) {
    fn walk(dir: &Path, name: &str, depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let p = e.path();
                walk(&p, name, depth + 1);
                if e.file_name() == name {
                    let _ = fs::remove_dir(&p);
                }
            }
        }
    }
    walk(Path::new("/sys/fs/cgroup"), name, 0);
}

/// One runtime binary with its own state directory (`--root`), removed on drop.
pub struct Runtime {
    pub bin: PathBuf,
    root: TempDir,
}

impl Runtime {
    pub fn new(bin: PathBuf) -> Runtime {
        let root = tempfile::Builder::new()
            .prefix("hull-bench-root-")
            .tempdir()
            .expect("cannot create a temporary --root");
        Runtime { bin, root }
    }

    pub fn name(&self) -> String {
        self.bin
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// `<bin> --root <root> ARGS` with stdin and stdout on /dev/null.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path()).args(args);
        c.stdin(Stdio::null()).stdout(Stdio::null());
        c
    }

    /// Runs `ARGS` to the end; its stdout if `capture`, else nothing. Err: what failed, with
    /// the runtime's stderr.
    ///
    /// A container's process inherits the runtime's stdio: after `create` it keeps it open while
    /// it waits for `start`, so stdout and stderr must not be pipes read to the end here
    /// (`Command::output` would wait for the container). stderr goes to an unnamed temp file.
    pub fn exec(&self, args: &[&str], capture: bool) -> Result<Vec<u8>, String> {
        let mut errors = tempfile::tempfile().map_err(|e| format!("temp file: {e}"))?;
        let mut c = self.cmd(args);
        c.stderr(errors.try_clone().map_err(|e| format!("dup: {e}"))?);
        if capture {
            c.stdout(Stdio::piped());
        }
        let out = c
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let mut stderr = String::new();
        let _ = errors.seek(SeekFrom::Start(0));
        let _ = errors.read_to_string(&mut stderr);
        Err(format!(
            "{} {} failed ({}): {}",
            self.name(),
            args.join(" "),
            out.status,
            stderr.trim()
        ))
    }

    /// Like [`Runtime::exec`], panicking on failure.
    pub fn must(&self, args: &[&str], capture: bool) -> Vec<u8> {
        self.exec(args, capture).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The `status` field of `state ID`.
    pub fn status(&self, id: &str) -> String {
        let out = self.must(&["state", id], true);
        let v: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{} state {id}: not JSON: {e}", self.name());
        });
        v["status"].as_str().unwrap_or_default().to_string()
    }

    /// Polls `state ID` until it says `stopped` (panics after `timeout`).
    pub fn wait_stopped(&self, id: &str, timeout: Duration) {
        let start = Instant::now();
        while self.status(id) != "stopped" {
            assert!(
                start.elapsed() < timeout,
                "{} {id}: not stopped after {timeout:?}",
                self.name()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// `delete --force ID`, ignoring errors (for cleanup).
    pub fn force_delete(&self, id: &str) {
        let _ = self
            .cmd(&["delete", "--force", id])
            .stderr(Stdio::null())
            .status();
    }
}
