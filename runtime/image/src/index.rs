//! `images/index.json`: which manifests the store holds and under which names.
//!
//! One descriptor per (manifest, name): a named image has one descriptor per name, each with the
//! annotation `org.opencontainers.image.ref.name` = the full `name:tag`; an image without names
//! (a fresh commit, or one whose name moved elsewhere) has one descriptor without that
//! annotation. The file is rewritten whole (temporary file, then rename) under the store lock.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::fcntl::{Flock, FlockArg};
use oci_spec::image::{Descriptor, Digest, ImageIndex, MediaType};

use super::blobs::temp_name;
use super::error::{io_at, json_at, ImageError, Result};

/// The annotation that carries an image's `name:tag`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An exclusive lock on the store, held across every read-modify-write of `index.json`.
/// Held to write blobs, it also has a *marker* (see [`crate::leftovers`]): an owner-tagged
/// file in `images/tmp/`, removed when the lock is released, that outlives only a writer
/// killed while it held the lock.
pub(crate) struct StoreLock {
    marker: Option<PathBuf>,
    _lock: Flock<File>,
}

impl StoreLock {
    pub(crate) fn acquire(path: &Path) -> Result<StoreLock> {
        Self::take(path, FlockArg::LockExclusive)?
            .ok_or_else(|| io_at("locking the image store with", path)(nix::Error::EAGAIN.into()))
    }

    /// The lock if nobody holds it now; `None` if someone does.
    pub(crate) fn try_acquire(path: &Path) -> Result<Option<StoreLock>> {
        Self::take(path, FlockArg::LockExclusiveNonblock)
    }

    fn take(path: &Path, how: FlockArg) -> Result<Option<StoreLock>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_at("opening the store lock", path))?;
        match Flock::lock(file, how) {
            Ok(lock) => Ok(Some(StoreLock {
                marker: None,
                _lock: lock,
            })),
            Err((_, nix::Error::EWOULDBLOCK)) => Ok(None),
            Err((_, errno)) => Err(io_at("locking the image store with", path)(
                std::io::Error::from(errno),
            )),
        }
    }

    /// Leaves `marker` (a new, empty file) in place while the lock is held.
    pub(crate) fn mark(&mut self, marker: PathBuf) -> Result<()> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
            .map_err(io_at("creating the store's writing marker", &marker))?;
        self.marker = Some(marker);
        Ok(())
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Before the flock goes (the fields drop after this).
        if let Some(m) = self.marker.take() {
            let _ = fs::remove_file(m);
        }
    }
}

/// Turns a `sha256:<hex>` string into oci-spec's digest type.
pub(crate) fn oci_digest(digest: &str) -> Result<Digest> {
    Digest::from_str(digest)
        .map_err(|e| ImageError::Corrupt(format!("{digest:?} is not a valid digest: {e}")))
}

/// One row of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub manifest: String,
    pub size: u64,
    pub name: Option<String>,
}

/// `index.json` in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub entries: Vec<Entry>,
}

impl Index {
    pub(crate) fn read(path: &Path) -> Result<Index> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(io_at("reading", path)(e)),
        };
        let index: ImageIndex = serde_json::from_slice(&bytes).map_err(json_at(path.display()))?;
        let entries = index
            .manifests()
            .iter()
            .map(|d| Entry {
                manifest: d.digest().to_string(),
                size: d.size(),
                name: d
                    .annotations()
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .cloned(),
            })
            .collect();
        Ok(Index { entries })
    }

    /// Writes the index atomically; the lock proves the caller holds the store lock.
    pub(crate) fn write(&self, path: &Path, tmp_dir: &Path, _lock: &StoreLock) -> Result<()> {
        let mut manifests = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let mut d = Descriptor::new(MediaType::ImageManifest, e.size, oci_digest(&e.manifest)?);
            if let Some(name) = &e.name {
                d.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), name.clone())])));
            }
            manifests.push(d);
        }
        let mut index = ImageIndex::default();
        index.set_media_type(Some(MediaType::ImageIndex));
        index.set_manifests(manifests);
        let bytes = canonical_json(&index, "index.json")?;
        write_atomic(path, tmp_dir, &bytes)
    }

    /// Manifest digests, each once, in index order.
    pub(crate) fn manifests(&self) -> Vec<(String, u64)> {
        let mut seen = Vec::<(String, u64)>::new();
        for e in &self.entries {
            if !seen.iter().any(|(m, _)| *m == e.manifest) {
                seen.push((e.manifest.clone(), e.size));
            }
        }
        seen
    }

    pub(crate) fn names_of(&self, manifest: &str) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.manifest == manifest)
            .filter_map(|e| e.name.clone())
            .collect()
    }

    pub(crate) fn manifest_named(&self, name: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|e| e.name.as_deref() == Some(name))
            .map(|e| e.manifest.clone())
    }

    /// Points `name` at `manifest`. The image that held the name before stays, untagged, if
    /// that was its last name (Docker's dangling `<none>:<none>`).
    pub(crate) fn set_name(&mut self, name: &str, manifest: &str, size: u64) {
        if let Some(old) = self.manifest_named(name) {
            if old == manifest {
                return;
            }
            self.remove_name(name);
        }
        self.entries
            .retain(|e| !(e.manifest == manifest && e.name.is_none()));
        self.entries.push(Entry {
            manifest: manifest.to_string(),
            size,
            name: Some(name.to_string()),
        });
    }

    /// Lists `manifest` (untagged) unless it is listed already.
    pub(crate) fn ensure_listed(&mut self, manifest: &str, size: u64) {
        if !self.entries.iter().any(|e| e.manifest == manifest) {
            self.entries.push(Entry {
                manifest: manifest.to_string(),
                size,
                name: None,
            });
        }
    }

    /// Removes `name`; the image keeps an untagged row if that was its last name.
    pub(crate) fn remove_name(&mut self, name: &str) -> Option<String> {
        let pos = self
            .entries
            .iter()
            .position(|e| e.name.as_deref() == Some(name))?;
        let entry = self.entries.remove(pos);
        self.ensure_listed(&entry.manifest, entry.size);
        Some(entry.manifest)
    }

    /// Removes every row of `manifest`.
    pub(crate) fn remove_manifest(&mut self, manifest: &str) {
        self.entries.retain(|e| e.manifest != manifest);
    }
}

/// JSON with keys sorted (serde_json's map is a BTreeMap here), so equal documents hash equal.
pub(crate) fn canonical_json<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    let v = serde_json::to_value(value).map_err(json_at(format!("serializing {what}")))?;
    serde_json::to_vec(&v).map_err(json_at(format!("serializing {what}")))
}

/// Writes `bytes` to `path` through a synced temporary file in `tmp_dir` and a rename.
pub(crate) fn write_atomic(path: &Path, tmp_dir: &Path, bytes: &[u8]) -> Result<()> {
    let tmp: PathBuf = tmp_dir.join(temp_name("file"));
    let res = (|| {
        fs::write(&tmp, bytes).map_err(io_at("writing", &tmp))?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_at("syncing", &tmp))?;
        fs::rename(&tmp, path).map_err(io_at("replacing", path))
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn moving_a_name_leaves_the_old_image_untagged() {
        let mut i = Index::default();
        i.set_name("a:latest", &d('1'), 10);
        i.set_name("b:latest", &d('1'), 10);
        i.set_name("a:latest", &d('2'), 20);
        assert_eq!(i.names_of(&d('1')), vec!["b:latest".to_string()]);
        assert_eq!(i.manifest_named("a:latest"), Some(d('2')));
        i.remove_name("b:latest");
        assert_eq!(i.manifests().len(), 2, "image 1 is still listed, untagged");
        assert!(i.names_of(&d('1')).is_empty());
        i.set_name("c:1", &d('1'), 10);
        assert_eq!(i.entries.iter().filter(|e| e.manifest == d('1')).count(), 1);
    }

    #[test]
    fn index_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.json");
        let lock = StoreLock::acquire(&dir.path().join("lock")).unwrap();
        let mut i = Index::default();
        i.set_name("busybox:latest", &d('a'), 42);
        i.ensure_listed(&d('b'), 7);
        i.write(&path, dir.path(), &lock).unwrap();
        let back = Index::read(&path).unwrap();
        assert_eq!(back.entries, i.entries);
        let raw: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw["schemaVersion"], 2);
        assert_eq!(
            raw["manifests"][0]["annotations"][REF_NAME],
            "busybox:latest"
        );
    }
}
