//! What a container's processes may do, from `--cap-add`/`--cap-drop`, `--privileged` and
//! `--security-opt` (`seccomp=unconfined|FILE`, `no-new-privileges`), as Docker decides it:
//! Docker's default capabilities, hull's default seccomp profile (the effect of Docker's), and
//! `--privileged` lifting both.

pub mod profile;

use serde_json::Value;

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("invalid {flag}: unknown capability: {name:?}")]
    UnknownCapability { flag: &'static str, name: String },
    #[error("invalid --security-opt: {0:?}")]
    UnknownOption(String),
    #[error("opening seccomp profile ({path}) failed: {source}")]
    ProfileFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("decoding seccomp profile failed: {0}")]
    ProfileJson(String),
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
}

/// Every capability this kernel and hull know, by name (`CAP_…`).
pub fn all_caps() -> Vec<String> {
    let mut all: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    all.sort();
    all
}

/// Every capability hull itself may hand on (its bounding set): what `--privileged` gives, as
/// containerd does — a capability outside it could not be granted (here, e.g., a host that runs
/// hull without CAP_SYS_RESOURCE).
pub fn current_caps() -> Vec<String> {
    let Ok(set) = caps::read(None, caps::CapSet::Bounding) else {
        return all_caps();
    };
    let mut caps: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    caps.sort();
    caps
}

/// `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `ALL` stays `ALL`.
fn normalize_cap(flag: &'static str, name: &str) -> Result<String, SecurityError> {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if all_caps().contains(&full) {
        Ok(full)
    } else {
        Err(SecurityError::UnknownCapability { flag, name: full })
    }
}

/// The capability set: Docker's defaults, `--cap-drop` applied, then `--cap-add` (as in Docker,
/// an added capability wins over a dropped one; `ALL` means every capability).
pub fn capabilities(add: &[String], drop: &[String]) -> Result<Vec<String>, SecurityError> {
    let add = add
        .iter()
        .map(|c| normalize_cap("CapAdd", c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize_cap("CapDrop", c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut caps: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT_CAPS
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c))
            .collect()
    };
    if add.iter().any(|c| c == "ALL") {
        return Ok(all_caps());
    }
    for c in add {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    Ok(caps)
}

/// What `--security-opt` asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityOpts {
    /// `seccomp=unconfined`.
    pub unconfined: bool,
    /// `seccomp=FILE`: the profile's JSON (Docker's format), read when the container is made.
    pub profile: Option<Value>,
    /// `no-new-privileges` (or `no-new-privileges=true`).
    pub no_new_privileges: bool,
}

/// Parse the `--security-opt` values (`seccomp=…`, `no-new-privileges[=true|false]`, also
/// with `:` as Docker's older syntax); `apparmor=`/`label=` are accepted and have no effect
/// (hull has neither). A profile file is read now, as Docker's client does.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SecurityError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .unwrap_or((opt.as_str(), ""));
        match (key, value) {
            ("no-new-privileges", "" | "true") => out.no_new_privileges = true,
            ("no-new-privileges", "false") => out.no_new_privileges = false,
            ("seccomp", "unconfined") => out.unconfined = true,
            // The content itself, as a container's record keeps it.
            ("seccomp", json) if json.trim_start().starts_with('{') => {
                let json: Value = serde_json::from_str(json)
                    .map_err(|e| SecurityError::ProfileJson(e.to_string()))?;
                out.profile = Some(json);
            }
            ("seccomp", path) if !path.is_empty() => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SecurityError::ProfileFile {
                        path: path.to_string(),
                        source,
                    })?;
                let json: Value = serde_json::from_str(&text)
                    .map_err(|e| SecurityError::ProfileJson(format!("{path}: {e}")))?;
                out.profile = Some(json);
            }
            ("apparmor" | "label", _) => {}
            _ => return Err(SecurityError::UnknownOption(opt.clone())),
        }
    }
    Ok(out)
}

/// The `linux.seccomp` object for a container (None: no filter), as Docker decides: none when
/// privileged or `seccomp=unconfined`, the given profile, else hull's default; rules that
/// depend on capabilities are resolved against `caps`.
pub fn seccomp_for(
    opts: &SecurityOpts,
    privileged: bool,
    caps: &[String],
) -> Result<Option<Value>, SecurityError> {
    if privileged || opts.unconfined {
        return Ok(None);
    }
    let default;
    let profile = match &opts.profile {
        Some(p) => p,
        None => {
            default = profile::default_profile();
            &default
        }
    };
    Ok(Some(profile::to_oci(profile, caps)?))
}

/// `--security-opt` values as a container's record keeps them: a `seccomp=FILE` is replaced by
/// the file's content (`seccomp={…}`), as Docker's client sends it, so the container does not
/// depend on the file later. Checks every option now, so `run` fails before creating anything.
pub fn record_security_opts(opts: &[String]) -> Result<Vec<String>, SecurityError> {
    parse_security_opts(opts)?;
    Ok(opts
        .iter()
        .map(|o| match o.split_once('=') {
            Some(("seccomp", v)) if v != "unconfined" && !v.trim_start().starts_with('{') => {
                // Read again: parse_security_opts has just read it successfully.
                std::fs::read_to_string(v)
                    .map(|text| {
                        serde_json::from_str::<Value>(&text)
                            .map(|j| format!("seccomp={j}"))
                            .unwrap_or_else(|_| o.clone())
                    })
                    .unwrap_or_else(|_| o.clone())
            }
            _ => o.clone(),
        })
        .collect())
}

/// What a container may do, resolved from its host config's flags.
#[derive(Debug, Clone)]
pub struct Security {
    pub caps: Vec<String>,
    pub seccomp: Option<Value>,
    pub no_new_privileges: bool,
    pub privileged: bool,
}

impl Security {
    pub fn of(
        cap_add: &[String],
        cap_drop: &[String],
        privileged: bool,
        security_opt: &[String],
    ) -> Result<Security, SecurityError> {
        let opts = parse_security_opts(security_opt)?;
        let caps = if privileged {
            current_caps()
        } else {
            capabilities(cap_add, cap_drop)?
        };
        Ok(Security {
            seccomp: seccomp_for(&opts, privileged, &caps)?,
            caps,
            no_new_privileges: opts.no_new_privileges,
            privileged,
        })
    }

    /// Write this into an OCI config: the capability sets, no_new_privs and the seccomp
    /// filter; and for `--privileged`, what Docker lifts besides: masked and read-only paths
    /// gone, /sys and the cgroup tree writable, every host device present and allowed.
    pub fn apply(&self, config: &mut Value) {
        let caps = &self.caps;
        config["process"]["capabilities"] = serde_json::json!({
            "bounding": caps, "effective": caps, "permitted": caps
        });
        config["process"]["noNewPrivileges"] = Value::Bool(self.no_new_privileges);
        if let Some(s) = &self.seccomp {
            config["linux"]["seccomp"] = s.clone();
        }
        if !self.privileged {
            return;
        }
        if let Some(linux) = config["linux"].as_object_mut() {
            linux.remove("maskedPaths");
            linux.remove("readonlyPaths");
        }
        for m in config["mounts"].as_array_mut().into_iter().flatten() {
            if matches!(m["destination"].as_str(), Some("/sys" | "/sys/fs/cgroup")) {
                if let Some(opts) = m["options"].as_array_mut() {
                    opts.retain(|o| o != "ro");
                    opts.push("rw".into());
                }
            }
        }
        config["linux"]["resources"]["devices"] =
            serde_json::json!([{"allow": true, "access": "rwm"}]);
        config["linux"]["devices"] = Value::Array(host_devices(std::path::Path::new("/dev")));
    }
}

/// The host's device nodes below `dev` (as Docker's `--privileged` gives them), skipping the
/// directories a container gets its own of.
fn host_devices(dev: &std::path::Path) -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dev) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = e.file_name();
        if meta.is_dir() {
            if !matches!(
                name.to_str(),
                Some("pts" | "shm" | "mqueue" | "fd" | ".lxc" | ".lxd-mounts" | ".udev")
            ) {
                out.extend(host_devices(&path));
            }
            continue;
        }
        let typ = if meta.file_type().is_char_device() {
            "c"
        } else if meta.file_type().is_block_device() {
            "b"
        } else {
            continue;
        };
        if path == std::path::Path::new("/dev/console") {
            continue;
        }
        let rdev = meta.rdev();
        out.push(serde_json::json!({
            "path": path, "type": typ,
            "major": nix::sys::stat::major(rdev), "minor": nix::sys::stat::minor(rdev),
            "fileMode": meta.mode() & 0o777, "uid": meta.uid(), "gid": meta.gid()
        }));
    }
    out
}
