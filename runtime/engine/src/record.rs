//! A container as the engine remembers it, in Docker's shape (so `inspect` prints it as is).
//! Records are written to a temporary file and renamed: a `hull` killed mid-write leaves the
//! old record or the new one, never half of one.
//!
//! The set of containers and their names change only under the records lock ([`lock`]): a
//! container appears (its directory renamed into `containers/`, its name checked and taken)
//! and disappears (its directory renamed away) while holding it, so two commands never give
//! one name twice nor both remove the same container.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{EngineError, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    pub hostname: String,
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub image: String,
    pub working_dir: String,
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub open_stdin: bool,
    /// The image's VOLUMEs and `-v /path`'s: path → {} (Docker's shape; null when none).
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    /// `--stop-signal`, else the image's STOPSIGNAL, as written; none means SIGTERM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds; none means 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
}

impl Config {
    /// The signal `hull stop` sends first: the container's, or SIGTERM (also for a signal an
    /// older record or an image holds that does not parse, as Docker falls back).
    pub fn stop_signal(&self) -> nix::sys::signal::Signal {
        self.stop_signal
            .as_deref()
            .and_then(|s| hull_oci::signal::parse(s).ok())
            .unwrap_or(nix::sys::signal::Signal::SIGTERM)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub memory: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    pub binds: Vec<String>,
    pub tmpfs: BTreeMap<String, String>,
    pub readonly_rootfs: bool,
    pub auto_remove: bool,
    pub init: bool,
    pub network_mode: String,
    /// "80/tcp" → where it is published, as asked (`-p`); an empty HostPort means "any".
    #[serde(default)]
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    #[serde(default)]
    pub publish_all_ports: bool,
    /// `--cap-add`, `--cap-drop` as given (null when none, as Docker shows them).
    #[serde(default)]
    pub cap_add: Option<Vec<String>>,
    #[serde(default)]
    pub cap_drop: Option<Vec<String>>,
    #[serde(default)]
    pub privileged: bool,
    /// `--security-opt`, a seccomp profile file replaced by its content.
    #[serde(default)]
    pub security_opt: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    pub gateway: String,
    pub mac_address: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    pub gateway: String,
    pub mac_address: String,
    /// "80/tcp" → the host addresses it is published on (as `docker inspect` shows them).
    pub ports: BTreeMap<String, Vec<PortBinding>>,
    pub networks: BTreeMap<String, EndpointSettings>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// "bind" or "volume".
    #[serde(rename = "Type")]
    pub typ: String,
    /// A volume's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    /// A volume's driver ("local").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    /// "rprivate" for binds, "" for volumes, as Docker shows them.
    #[serde(default)]
    pub propagation: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphData {
    pub lower_dir: String,
    pub upper_dir: String,
    pub merged_dir: String,
    pub work_dir: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub name: String,
    pub data: GraphData,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    pub id: String,
    pub name: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub image: String,
    pub state: State,
    pub config: Config,
    pub host_config: HostConfig,
    pub mounts: Vec<MountPoint>,
    pub graph_driver: GraphDriver,
    #[serde(default)]
    pub network_settings: NetworkSettings,
    pub log_path: String,
    /// The process that watches the container (pid, start time), so a crashed monitor is
    /// noticed instead of showing "running" forever.
    #[serde(default)]
    pub hull_monitor: Option<(i32, u64)>,
}

impl Record {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// The names of the volumes the container mounts.
    pub fn volume_names(&self) -> impl Iterator<Item = &str> {
        self.mounts
            .iter()
            .filter(|m| m.typ == "volume")
            .map(|m| m.name.as_str())
    }

    /// Its anonymous volumes (an image's VOLUME, `-v /path`): the volume mounts that no
    /// `-v NAME:/path` of HostConfig.Binds asked for, as Docker tells them apart.
    pub fn anonymous_volumes(&self) -> impl Iterator<Item = &str> {
        self.mounts
            .iter()
            .filter(|m| m.typ == "volume")
            .filter(|m| {
                !self
                    .host_config
                    .binds
                    .iter()
                    .any(|b| b.split(':').nth(1) == Some(m.destination.as_str()))
            })
            .map(|m| m.name.as_str())
    }
}

pub const RECORD_FILE: &str = "config.v2.json";

/// The lock file of the records lock, `HULL_ROOT/containers.lock`.
pub const LOCK_FILE: &str = "containers.lock";

/// The records lock, held until dropped (or the process ends: the kernel drops an flock with
/// its last descriptor, so a killed command never leaves it held).
pub struct Lock {
    _file: nix::fcntl::Flock<std::fs::File>,
}

/// Takes the records lock of the store at `root`, waiting for another command to release it.
pub fn lock(root: &Path) -> Result<Lock> {
    let path = root.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EngineError::Io {
            action: "open the records lock",
            path: path.clone(),
            source: e,
        })?;
    let file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(
        |(_, errno)| EngineError::Io {
            action: "lock the container records with",
            path,
            source: errno.into(),
        },
    )?;
    Ok(Lock { _file: file })
}

pub fn save(dir: &Path, record: &Record) -> Result<()> {
    let json = serde_json::to_vec_pretty(record).expect("a record always serializes");
    hull_oci::state::write_atomic(&dir.join(RECORD_FILE), &json).map_err(EngineError::from)
}

pub fn load(dir: &Path) -> Result<Record> {
    let path = dir.join(RECORD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| EngineError::Io {
        action: "read container record",
        path: path.clone(),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|source| EngineError::CorruptRecord {
        path: path.clone(),
        source,
    })
}
