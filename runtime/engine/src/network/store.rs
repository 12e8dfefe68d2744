//! The networks' state on disk, in `HULL_ROOT/networks/`: one `NAME.json` per network with its
//! endpoints (the IPAM allocations and published ports), so both survive a restart of `hull`.
//!
//! Every read-modify-write happens under an exclusive `flock` on `networks/.lock`; functions
//! that touch the files take a [`Lock`] to prove it is held. Files are replaced atomically
//! (a temporary file in the same directory, fsync, rename).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::error::{io_at, NetworkError, Result};
use super::PublishedPort;

/// One bridge network as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    /// The bridge's interface name.
    pub bridge: String,
    pub created: String,
    pub internal: bool,
    /// Container id → its endpoint.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointRecord>,
}

/// One container's attachment to a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub name: String,
    pub hostname: String,
    pub ip: String,
    pub mac: String,
    /// The host side of the veth pair.
    pub veth: String,
    /// The container's /etc/hosts as seen from the host.
    pub hosts_file: PathBuf,
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
}

/// Proof that the store's lock is held; dropping it releases the lock.
pub struct Lock {
    _flock: Flock<File>,
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store> {
        fs::create_dir_all(dir).map_err(io_at("create", dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    pub fn lock(&self) -> Result<Lock> {
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_at("open", &path))?;
        let flock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io_at("lock", &path)(std::io::Error::from(errno)))?;
        Ok(Lock { _flock: flock })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub fn load(&self, _lock: &Lock, name: &str) -> Result<Option<NetworkRecord>> {
        let path = self.path(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at("read", &path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| NetworkError::Corrupt { path, source })
    }

    /// Every stored network, ordered by name.
    pub fn load_all(&self, lock: &Lock) -> Result<Vec<NetworkRecord>> {
        let rd = fs::read_dir(&self.dir).map_err(io_at("read", &self.dir))?;
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io_at("read", &self.dir))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".json") {
                if !name.starts_with('.') {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if let Some(rec) = self.load(lock, &name)? {
                out.push(rec);
            }
        }
        Ok(out)
    }

    pub fn save(&self, _lock: &Lock, rec: &NetworkRecord) -> Result<()> {
        let path = self.path(&rec.name);
        let tmp = self.dir.join(format!(".{}.json.tmp", rec.name));
        let json = serde_json::to_vec_pretty(rec).expect("a network record serializes");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        write().map_err(io_at("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_at("rename into place", &path))
    }

    pub fn delete(&self, _lock: &Lock, name: &str) -> Result<()> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_at("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> NetworkRecord {
        NetworkRecord {
            name: name.into(),
            id: "ab".repeat(32),
            driver: "bridge".into(),
            subnet: "172.18.0.0/16".into(),
            gateway: "172.18.0.1".into(),
            bridge: "hull-abababab".into(),
            created: "2024-01-01T00:00:00Z".into(),
            internal: false,
            endpoints: BTreeMap::new(),
        }
    }

    #[test]
    fn save_load_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("networks")).unwrap();
        let lock = store.lock().unwrap();
        let mut rec = record("web");
        rec.endpoints.insert(
            "c1".into(),
            EndpointRecord {
                name: "a".into(),
                hostname: "a".into(),
                ip: "172.18.0.2".into(),
                mac: "02:42:ac:12:00:02".into(),
                veth: "vethc1".into(),
                hosts_file: "/x/hosts".into(),
                ports: vec![],
            },
        );
        store.save(&lock, &rec).unwrap();
        store.save(&lock, &record("apps")).unwrap();
        assert_eq!(store.load(&lock, "web").unwrap(), Some(rec));
        let names: Vec<String> = store
            .load_all(&lock)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["apps", "web"]);
        store.delete(&lock, "web").unwrap();
        store.delete(&lock, "web").unwrap();
        assert_eq!(store.load(&lock, "web").unwrap(), None);
    }

    #[test]
    fn corrupt_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        fs::write(dir.path().join("bad.json"), "{").unwrap();
        let e = store.load(&lock, "bad").unwrap_err().to_string();
        assert!(e.contains("bad.json"), "{e}");
    }
}
