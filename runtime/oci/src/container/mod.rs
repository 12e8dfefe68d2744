//! The lifecycle verbs, one per file; the `hullrt` binary calls these and nothing deeper.

pub mod create;
pub mod delete;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod run;
pub mod start;
pub mod state;
pub mod update;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::{check_op, status_of, Op, Record, StateDir, Status};

/// A container found under the runtime root, with its observed status.
pub struct Container {
    pub dir: StateDir,
    pub record: Record,
    pub status: Status,
}

impl Container {
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        let dir = StateDir::new(root, id)?;
        let record = dir.load()?;
        let status = status_of(&dir, &record);
        Ok(Container {
            dir,
            record,
            status,
        })
    }

    pub fn require(&self, op: Op) -> Result<()> {
        check_op(op, self.status).map_err(|reason| Error::BadState {
            id: self.record.id.clone(),
            status: self.status.to_string(),
            reason: reason.to_string(),
        })
    }

    /// What `state` prints: the spec's state document plus the `rootfs`, `created` and `owner`
    /// that runc's `state` adds.
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let mut state = spec_state(&self.record, status);
        state["rootfs"] = serde_json::json!(self.record.rootfs);
        state["created"] = serde_json::json!(self.record.created);
        state["owner"] = serde_json::json!(self.record.owner);
        state
    }

    /// The state document as hooks read it on stdin: only what the spec defines.
    pub fn hook_state(&self, status: Status) -> serde_json::Value {
        spec_state(&self.record, status)
    }

    /// hullrt's own facts about the container, kept out of the spec's document (and so out of
    /// the annotations hooks see): how often the OOM killer struck, and how `run` saw it end.
    pub fn hull_facts(&self) -> serde_json::Value {
        let oom = self.record.oom_kill_count.or_else(|| {
            crate::cgroups::manager(self.record.cgroup.clone())
                .oom_kill_count()
                .ok()
        });
        serde_json::json!({
            crate::state::OOM_KILLED: oom.map(|n| n > 0),
            crate::state::OOM_KILL_COUNT: oom,
            crate::state::EXIT_CODE: self.record.exit_code,
        })
    }
}

/// The state the runtime spec defines: version, id, status, pid, bundle and the config's own
/// annotations, nothing else.
pub fn spec_state(record: &Record, status: Status) -> serde_json::Value {
    let pid = match status {
        Status::Stopped => 0,
        _ => record.pid,
    };
    serde_json::json!({
        "ociVersion": crate::spec::OCI_VERSION,
        "id": record.id,
        "status": status.to_string(),
        "pid": pid,
        "bundle": record.bundle,
        "annotations": record.annotations,
    })
}

pub fn root_path(root: &Option<PathBuf>) -> PathBuf {
    root.clone()
        .unwrap_or_else(|| PathBuf::from(crate::state::DEFAULT_ROOT))
}
