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

    /// The OCI state document, as `state` prints it and hooks read it on stdin.
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let mut annotations = self.record.annotations.clone();
        if let Ok(m) = crate::cgroups::manager(self.record.cgroup.clone()).oom_kill_count() {
            if !annotations.contains_key(crate::state::OOM_ANNOTATION) {
                annotations.insert(crate::state::OOM_COUNT_ANNOTATION.into(), m.to_string());
                annotations.insert(crate::state::OOM_ANNOTATION.into(), (m > 0).to_string());
            }
        }
        oci_state_json(&self.record, status, annotations)
    }
}

pub fn oci_state_json(
    record: &Record,
    status: Status,
    annotations: std::collections::HashMap<String, String>,
) -> serde_json::Value {
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
        "rootfs": record.rootfs,
        "created": record.created,
        "owner": record.owner,
        "annotations": annotations,
    })
}

pub fn root_path(root: &Option<PathBuf>) -> PathBuf {
    root.clone()
        .unwrap_or_else(|| PathBuf::from(crate::state::DEFAULT_ROOT))
}
