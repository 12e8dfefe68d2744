//! A container's state on disk (`<root>/<id>/`) and the OCI status derived from it.
//!
//! As in runc, the status is not stored but observed: the recorded phase says whether `create`
//! finished, the process table says whether the init process still lives, and the exec fifo
//! says whether `start` has been called yet.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupLocation;
use crate::error::{Error, IoContext, Result};

pub const DEFAULT_ROOT: &str = "/run/hullrt";
/// hullrt's own facts, shown by `state --hull` beside (never inside) the spec's document.
pub const OOM_KILLED: &str = "org.hull.oom-killed";
pub const OOM_KILL_COUNT: &str = "org.hull.oom-kill-count";
pub const EXIT_CODE: &str = "org.hull.exit-code";
const STATE_FILE: &str = "state.json";
const CONFIG_FILE: &str = "config.json";
pub const FIFO_FILE: &str = "exec.fifo";
/// What the init writes when it fails after `start` (nobody reads its sync socket then).
pub const REPORT_FILE: &str = "init.report";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    /// Running, with every process frozen by `pause` (as runc reports it).
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// How far `create` got, as recorded by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Creating,
    Created,
}

/// The pure rule behind `state`: what the recorded phase and the observed world mean.
pub fn derive_status(phase: Phase, alive: bool, fifo_exists: bool) -> Status {
    match (phase, alive, fifo_exists) {
        (_, false, _) => Status::Stopped,
        (Phase::Creating, true, _) => Status::Creating,
        (Phase::Created, true, true) => Status::Created,
        (Phase::Created, true, false) => Status::Running,
    }
}

/// The lifecycle operations whose legality depends on the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Kill,
    Delete,
    ForceDelete,
    Exec,
    Pause,
    Resume,
    Update,
}

/// The OCI spec's rules: start only a created container, kill only a created or running one,
/// delete only a stopped one (unless forced), exec only into a running one; and runc's for
/// pause (a running one), resume (a paused one) and update (one that has processes).
pub fn check_op(op: Op, status: Status) -> std::result::Result<(), &'static str> {
    match (op, status) {
        (Op::Start, Status::Created) => Ok(()),
        (Op::Start, _) => Err("only a created container can be started"),
        (Op::Kill, Status::Created | Status::Running | Status::Paused) => Ok(()),
        (Op::Kill, _) => Err("only a created, running or paused container can be signalled"),
        (Op::Delete, Status::Stopped) => Ok(()),
        (Op::Delete, _) => Err("stop it first or use delete --force"),
        (Op::ForceDelete, _) => Ok(()),
        (Op::Exec, Status::Running) => Ok(()),
        (Op::Exec, Status::Paused) => Err("exec needs a running container: resume it first"),
        (Op::Exec, _) => Err("exec needs a running container"),
        (Op::Pause, Status::Running) => Ok(()),
        (Op::Pause, _) => Err("only a running container can be paused"),
        (Op::Resume, Status::Paused) => Ok(()),
        (Op::Resume, _) => Err("only a paused container can be resumed"),
        (Op::Update, Status::Created | Status::Running | Status::Paused) => Ok(()),
        (Op::Update, _) => Err("only a created, running or paused container can be updated"),
    }
}

/// Container ids become directory names and cgroup names: keep them to a safe alphabet.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidId {
            id: id.to_string(),
            reason: reason.to_string(),
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 characters");
    }
    if id == "." || id == ".." {
        return bad("it is a relative path");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
    {
        return bad("use only letters, digits and _ - . +");
    }
    Ok(())
}

/// What `create` records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub pid: i32,
    /// The init process's start time (field 22 of /proc/PID/stat), so a recycled PID is not
    /// mistaken for the container.
    pub pid_start: u64,
    pub phase: Phase,
    pub created: String,
    pub owner: String,
    pub cgroup: CgroupLocation,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// The cgroup's OOM-kill count when `run` saw the container end (the cgroup is gone after).
    #[serde(default)]
    pub oom_kill_count: Option<u64>,
}

/// A container's directory under the runtime root.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
    pub id: String,
}

impl StateDir {
    pub fn new(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        Ok(StateDir {
            dir: root.join(id),
            id: id.to_string(),
        })
    }

    /// Make the directory; fails with `Exists` if another container has the id.
    pub fn create(&self) -> Result<()> {
        if let Some(root) = self.dir.parent() {
            fs::create_dir_all(root).at("create runtime root", root)?;
        }
        match fs::create_dir(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Exists {
                id: self.id.clone(),
            }),
            Err(e) => Err(Error::io("create state dir", &self.dir, e)),
        }
    }

    pub fn exists(&self) -> bool {
        self.dir.join(STATE_FILE).exists()
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join(FIFO_FILE)
    }

    pub fn report(&self) -> PathBuf {
        self.dir.join(REPORT_FILE)
    }

    pub fn load(&self) -> Result<Record> {
        let path = self.dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    id: self.id.clone(),
                })
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::Config {
            file: path,
            reason: format!("corrupt state: {e}"),
        })
    }

    /// Written to a temporary file and renamed, so a reader never sees half a record.
    pub fn save(&self, record: &Record) -> Result<()> {
        let json = serde_json::to_vec_pretty(record).expect("a record always serializes");
        write_atomic(&self.dir.join(STATE_FILE), &json)
    }

    pub fn save_config(&self, spec: &Spec) -> Result<()> {
        let json = serde_json::to_vec_pretty(spec).expect("a spec always serializes");
        write_atomic(&self.dir.join(CONFIG_FILE), &json)
    }

    pub fn load_config(&self) -> Result<Spec> {
        let path = self.dir.join(CONFIG_FILE);
        let text = fs::read_to_string(&path).at("read", &path)?;
        serde_json::from_str(&text).map_err(|e| Error::Config {
            file: path,
            reason: e.to_string(),
        })
    }

    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove state dir", &self.dir, e)),
        }
    }
}

pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).at("create", &tmp)?;
    f.write_all(data).at("write", &tmp)?;
    f.sync_all().at("sync", &tmp)?;
    fs::rename(&tmp, path).at("rename into place", path)
}

/// The fields of /proc/PID/stat that matter here: the state letter and the start time.
/// The command name (field 2) may hold spaces and parentheses, so parse after the last `)`.
pub fn parse_proc_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // After the comm, field 3 (state) is index 0, so field 22 (starttime) is index 19.
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Start time of a live (non-zombie) process, or None.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    match parse_proc_stat(&text)? {
        ('Z' | 'X' | 'x', _) => None,
        (_, start) => Some(start),
    }
}

impl Record {
    pub fn alive(&self) -> bool {
        process_start_time(self.pid) == Some(self.pid_start)
    }
}

pub fn status_of(dir: &StateDir, record: &Record) -> Status {
    match derive_status(record.phase, record.alive(), dir.fifo().exists()) {
        Status::Running
            if crate::cgroups::manager(record.cgroup.clone())
                .is_frozen()
                .unwrap_or(false) =>
        {
            Status::Paused
        }
        other => other,
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn status_rules() {
        assert_eq!(derive_status(Phase::Creating, true, true), Status::Creating);
        assert_eq!(derive_status(Phase::Created, true, true), Status::Created);
        assert_eq!(derive_status(Phase::Created, true, false), Status::Running);
        assert_eq!(derive_status(Phase::Created, false, true), Status::Stopped);
        assert_eq!(
            derive_status(Phase::Creating, false, false),
            Status::Stopped
        );
    }

    #[test]
    fn transitions_follow_the_oci_lifecycle() {
        use Status::*;
        assert!(check_op(Op::Start, Created).is_ok());
        for s in [Creating, Running, Stopped] {
            assert!(check_op(Op::Start, s).is_err());
        }
        assert!(check_op(Op::Kill, Created).is_ok());
        assert!(check_op(Op::Kill, Running).is_ok());
        assert!(check_op(Op::Kill, Stopped).is_err());
        assert!(check_op(Op::Delete, Stopped).is_ok());
        assert!(check_op(Op::Delete, Running).is_err());
        assert!(check_op(Op::Delete, Created).is_err());
        assert!(check_op(Op::ForceDelete, Running).is_ok());
        assert!(check_op(Op::Exec, Running).is_ok());
        assert!(check_op(Op::Exec, Stopped).is_err());
    }

    #[test]
    fn proc_stat_with_a_nasty_comm() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_proc_stat(line), Some(('S', 98765)));
        assert_eq!(parse_proc_stat("garbage"), None);
    }

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x", "é"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn valid_ids_are_single_safe_path_components(id in "[A-Za-z0-9_.+-]{1,40}") {
            prop_assume!(id != "." && id != "..");
            prop_assert!(validate_id(&id).is_ok());
            let p = Path::new("/run/hullrt").join(&id);
            prop_assert_eq!(p.parent(), Some(Path::new("/run/hullrt")));
        }

        #[test]
        fn ids_with_a_slash_are_rejected(a in "[a-z]{0,5}", b in "[a-z]{0,5}") {
            let id = format!("{a}/{b}");
            prop_assert!(validate_id(&id).is_err());
        }

        #[test]
        fn a_dead_process_is_always_stopped(fifo in any::<bool>(), created in any::<bool>()) {
            let phase = if created { Phase::Created } else { Phase::Creating };
            prop_assert_eq!(derive_status(phase, false, fifo), Status::Stopped);
        }
    }
}
