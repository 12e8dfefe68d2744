//! Which image a build step or a commit was made from: Docker's "parent" link, kept in
//! `images/parents.json` (image id → parent image id) beside the OCI layout, rewritten whole
//! under the store lock. It decides what `rmi` may take along (the untagged parents of a
//! removed image that nothing else needs), which untagged images `hull images` hides (those
//! with children: a build's intermediate steps) and which are dangling (`image prune`).
//! Loaded images have no parent, as in Docker.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use super::error::{io_at, json_at, Result};
use super::index::{write_atomic, StoreLock};
use super::store::Store;

/// Child id → parent id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parents {
    pub map: BTreeMap<String, String>,
}

impl Parents {
    /// The number of images made from `id`.
    pub fn children(&self, id: &str) -> usize {
        self.map.values().filter(|p| *p == id).count()
    }

    /// Forgets `id` (and its link to its parent); returns the parent.
    pub fn forget(&mut self, id: &str) -> Option<String> {
        self.map.remove(id)
    }
}

impl Store {
    fn parents_path(&self) -> PathBuf {
        self.layout_dir().join("parents.json")
    }

    pub(crate) fn read_parents(&self) -> Result<Parents> {
        let path = self.parents_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(Parents {
                map: serde_json::from_slice(&bytes).map_err(json_at(path.display().to_string()))?,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Parents::default()),
            Err(e) => Err(io_at("reading", &path)(e)),
        }
    }

    pub(crate) fn write_parents(&self, parents: &Parents, _lock: &StoreLock) -> Result<()> {
        let bytes = serde_json::to_vec(&parents.map).map_err(json_at("serializing parents"))?;
        write_atomic(&self.parents_path(), self.blobs.tmp_dir(), &bytes)
    }

    /// Records that `child` was made from `parent` (a build step, a commit).
    pub(crate) fn set_parent(&self, lock: &StoreLock, child: &str, parent: &str) -> Result<()> {
        let mut p = self.read_parents()?;
        p.map.insert(child.to_string(), parent.to_string());
        self.write_parents(&p, lock)
    }
}
