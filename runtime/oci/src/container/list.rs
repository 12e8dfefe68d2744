//! `list`: every container under the runtime root.

use std::path::Path;

use super::Container;
use crate::error::{Error, Result};

pub struct Entry {
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: String,
    pub created: String,
    pub owner: String,
}

pub fn list(root: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("read runtime root", root, e)),
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    ids.sort();
    for id in ids {
        // A directory without a record is a create in progress (or one that was killed).
        let Ok(c) = Container::load(root, &id) else {
            continue;
        };
        let status = c.status;
        out.push(Entry {
            pid: if status == crate::state::Status::Stopped {
                0
            } else {
                c.record.pid
            },
            status: status.to_string(),
            bundle: c.record.bundle.display().to_string(),
            created: c.record.created.clone(),
            owner: c.record.owner.clone(),
            id,
        });
    }
    Ok(out)
}

pub fn to_json(entries: &[Entry]) -> serde_json::Value {
    serde_json::Value::Array(
        entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id, "pid": e.pid, "status": e.status, "bundle": e.bundle,
                    "created": e.created, "owner": e.owner,
                })
            })
            .collect(),
    )
}

/// Columns aligned to the widest cell, as runc prints them.
pub fn to_table(entries: &[Entry]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for e in entries {
        rows.push([
            e.id.clone(),
            e.pid.to_string(),
            e.status.clone(),
            e.bundle.clone(),
            e.created.clone(),
            e.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", cells.join("   ").trim_end())
        })
        .collect()
}
