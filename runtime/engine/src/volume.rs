//! Volumes, kept as Docker's "local" driver keeps them: one directory per volume under
//! `HULL_ROOT/volumes/NAME`, its content in `_data` (what containers mount) beside a small
//! `volume.json` (when it was made and its labels).
//!
//! A volume appears whole or not at all: it is made in a hidden `.tmp-*` directory and renamed
//! into place, and removed by renaming it to a hidden `.rm-*` directory first; leftovers of a
//! command killed in between are hidden from every listing and cleared by the next command
//! that takes the volumes' lock. Which containers use a volume is read from their records (the
//! engine's [`Engine::volume_users`]), never kept twice.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::record::Record;
use super::Engine;

/// The only driver hull has.
pub const DRIVER: &str = "local";
const META: &str = "volume.json";

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    #[error("create {name}: volume driver {driver:?} is not supported: hull has only the \"local\" driver")]
    Driver { name: String, driver: String },
    #[error("No such volume: {0}")]
    NoSuchVolume(String),
    #[error("remove {name}: volume is in use - [{}]", ids.join(" "))]
    InUse { name: String, ids: Vec<String> },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, VolumeError>;

fn io_at(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> VolumeError {
    let path = path.to_path_buf();
    move |source| VolumeError::Io {
        action,
        path,
        source,
    }
}

/// What `volume.json` holds. `Labels` and `Options` are null for a volume a container made
/// and `{}` for one `hull volume create` made, as Docker shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Meta {
    created_at: String,
    labels: Option<BTreeMap<String, String>>,
    options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub dir: PathBuf,
    meta: Meta,
}

impl Volume {
    /// Where its content is, and what a container mounts.
    pub fn data(&self) -> PathBuf {
        self.dir.join("_data")
    }

    /// `hull volume inspect`: Docker's fields.
    pub fn inspect(&self) -> Value {
        json!({
            "CreatedAt": self.meta.created_at,
            "Driver": DRIVER,
            "Labels": self.meta.labels,
            "Mountpoint": self.data(),
            "Name": self.name,
            "Options": self.meta.options,
            "Scope": "local",
        })
    }
}

/// Volume names: Docker's alphabet for the local driver.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(VolumeError::InvalidName(name.to_string()))
    }
}

/// Held while volumes are made, removed or checked for users: an exclusive `flock` on
/// `volumes/.lock`, released when dropped (or when the process dies).
pub struct Lock(File);

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: unlocking our own open descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The volumes of one HULL_ROOT.
pub struct Volumes {
    dir: PathBuf,
}

impl Volumes {
    pub fn open(hull_root: &Path) -> Volumes {
        Volumes {
            dir: hull_root.join("volumes"),
        }
    }

    /// Takes the volumes' lock and clears what a killed command left half-made or
    /// half-removed.
    pub fn lock(&self) -> Result<Lock> {
        fs::create_dir_all(&self.dir).map_err(io_at("create", &self.dir))?;
        let path = self.dir.join(".lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_at("open", &path))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io_at("lock", &path)(io::Error::last_os_error()));
        }
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".tmp-") || n.starts_with(".rm-") {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        Ok(Lock(f))
    }

    /// The volume `name`, made (empty) unless it exists; whether it was made now. `name`
    /// None makes an anonymous volume with a random 64-hex name. `by_user`: `hull volume
    /// create` (labels and options `{}`) rather than a container's `-v` (null). Call with the
    /// lock held.
    pub fn create(
        &self,
        name: Option<&str>,
        by_user: bool,
        _lock: &Lock,
    ) -> Result<(Volume, bool)> {
        let name = match name {
            Some(n) => {
                validate_name(n)?;
                n.to_string()
            }
            None => super::new_id(),
        };
        if let Ok(v) = self.get(&name) {
            return Ok((v, false));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(&self.dir)
            .map_err(io_at("create a temporary directory in", &self.dir))?;
        let data = tmp.path().join("_data");
        fs::create_dir(&data).map_err(io_at("create", &data))?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o755))
            .map_err(io_at("chmod", &data))?;
        let empty = by_user.then(BTreeMap::new);
        let meta = Meta {
            created_at: now_seconds(),
            labels: empty.clone(),
            options: empty,
        };
        let meta_path = tmp.path().join(META);
        fs::write(
            &meta_path,
            serde_json::to_vec_pretty(&meta).expect("volume metadata serializes"),
        )
        .map_err(io_at("write", &meta_path))?;
        let dir = self.dir.join(&name);
        fs::rename(tmp.path(), &dir).map_err(io_at("rename into place", &dir))?;
        // The directory is in place: nothing for the TempDir to remove.
        std::mem::forget(tmp);
        Ok((Volume { name, dir, meta }, true))
    }

    /// Where volume `name`'s content is (or will be).
    pub fn data_of(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        if validate_name(name).is_err() {
            return Err(VolumeError::NoSuchVolume(name.to_string()));
        }
        let dir = self.dir.join(name);
        let text = fs::read_to_string(dir.join(META))
            .map_err(|_| VolumeError::NoSuchVolume(name.to_string()))?;
        let meta: Meta =
            serde_json::from_str(&text).map_err(|_| VolumeError::NoSuchVolume(name.to_string()))?;
        Ok(Volume {
            name: name.to_string(),
            dir,
            meta,
        })
    }

    /// Every volume, sorted by name (as `docker volume ls` shows them).
    pub fn list(&self) -> Result<Vec<Volume>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_at("read", &self.dir)(e)),
        };
        let mut out: Vec<Volume> = entries
            .flatten()
            .filter_map(|e| self.get(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes the volume and its content; the caller has checked it is unused (lock held).
    pub fn remove(&self, name: &str, _lock: &Lock) -> Result<()> {
        let v = self.get(name)?;
        let gone = self.dir.join(format!(".rm-{}", super::new_id()));
        fs::rename(&v.dir, &gone).map_err(io_at("remove", &v.dir))?;
        fs::remove_dir_all(&gone).map_err(io_at("remove", &gone))
    }
}

/// `2024-01-01T00:00:00Z`: the time in whole seconds, as Docker shows a volume's CreatedAt.
fn now_seconds() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

/// The bytes a directory holds as Docker counts them (`docker system df`): the sizes of
/// everything but directories, each inode once.
pub fn disk_usage(dir: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(entries) = fs::read_dir(p) else {
            return 0;
        };
        let mut total = 0;
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                total += walk(&e.path(), seen);
            } else if m.size() > 0 && seen.insert((m.dev(), m.ino())) {
                total += m.size();
            }
        }
        total
    }
    walk(dir, &mut HashSet::new())
}

/// Fills an empty volume from what the container's root shows at `dest`, as Docker does on
/// a volume's first use: the directory's entries (owners, modes and times kept; links copied
/// as links, never followed) and the directory's own owner and mode. `dest` is resolved inside
/// `rootfs` (links in it cannot lead out); nothing is copied when it is missing or not a
/// directory, or when the volume has content already. The container is not running, so
/// nothing changes the tree while it is read.
pub fn fill_from_image(rootfs: &Path, dest: &Path, data: &Path) -> Result<()> {
    let not_empty = fs::read_dir(data)
        .map_err(io_at("read", data))?
        .next()
        .is_some();
    if not_empty {
        return Ok(());
    }
    let Ok(fd) = hull_oci::host::open_in_root(rootfs, dest) else {
        return Ok(());
    };
    let src = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let Ok(meta) = fs::metadata(&src) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Ok(());
    }
    let shown = rootfs.join(dest.strip_prefix("/").unwrap_or(dest));
    copy_entries(&src, data).map_err(io_at("copy the image's content of", &shown))?;
    std::os::unix::fs::lchown(data, Some(meta.uid()), Some(meta.gid()))
        .and_then(|()| fs::set_permissions(data, fs::Permissions::from_mode(meta.mode() & 0o7777)))
        .map_err(io_at("copy the owner and mode of", &shown))
}

fn copy_entries(src: &Path, dst: &Path) -> io::Result<()> {
    for e in fs::read_dir(src)? {
        let e = e?;
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let m = from.symlink_metadata()?;
        let t = m.file_type();
        if t.is_dir() {
            fs::create_dir(&to)?;
            copy_entries(&from, &to)?;
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if t.is_file() {
            use std::os::unix::fs::OpenOptionsExt;
            let mut r = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&from)?;
            let mut w = File::options().write(true).create_new(true).open(&to)?;
            io::copy(&mut r, &mut w)?;
        } else if t.is_fifo() || t.is_char_device() || t.is_block_device() {
            let kind = if t.is_fifo() {
                nix::sys::stat::SFlag::S_IFIFO
            } else if t.is_char_device() {
                nix::sys::stat::SFlag::S_IFCHR
            } else {
                nix::sys::stat::SFlag::S_IFBLK
            };
            nix::sys::stat::mknod(
                &to,
                kind,
                nix::sys::stat::Mode::from_bits_truncate(m.mode() & 0o7777),
                m.rdev(),
            )?;
        } else {
            continue; // sockets: Docker skips them too
        }
        std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()))?;
        if !t.is_symlink() {
            fs::set_permissions(&to, fs::Permissions::from_mode(m.mode() & 0o7777))?;
        }
        let times = |s: i64, ns: i64| nix::sys::time::TimeSpec::new(s, ns);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &to,
            &times(m.atime(), m.atime_nsec()),
            &times(m.mtime(), m.mtime_nsec()),
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )?;
    }
    Ok(())
}

impl Engine {
    pub fn volumes(&self) -> Volumes {
        Volumes::open(&self.root)
    }

    /// The ids of the containers (in any state) whose mounts use volume `name`.
    pub fn volume_users(&self, name: &str) -> super::Result<Vec<String>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|r| r.volume_names().any(|n| n == name))
            .map(|r| r.id)
            .collect())
    }

    /// `hull volume rm NAME`: refused while a container (running or not) uses it.
    pub fn remove_volume(&self, name: &str) -> super::Result<()> {
        let vols = self.volumes();
        let lock = vols.lock()?;
        vols.get(name)?;
        let ids = self.volume_users(name)?;
        if !ids.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                ids,
            }
            .into());
        }
        Ok(vols.remove(name, &lock)?)
    }

    /// `rm -v`, `--rm`: the container's anonymous volumes go with it, unless another container
    /// uses one too (Docker does the same, quietly).
    pub fn remove_anonymous_volumes(&self, r: &Record) -> super::Result<()> {
        let vols = self.volumes();
        let anonymous: Vec<String> = r.anonymous_volumes().map(str::to_string).collect();
        if anonymous.is_empty() {
            return Ok(());
        }
        let lock = vols.lock()?;
        for name in anonymous {
            let users = self.volume_users(&name)?;
            if users.iter().all(|id| *id == r.id) {
                match vols.remove(&name, &lock) {
                    Ok(()) | Err(VolumeError::NoSuchVolume(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("my_vol-1.x").is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "a:b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn create_get_list_remove() {
        let root = tempfile::tempdir().unwrap();
        let vols = Volumes::open(root.path());
        let lock = vols.lock().unwrap();
        let (v, made) = vols.create(Some("b"), true, &lock).unwrap();
        assert!(made && v.data().is_dir());
        assert_eq!(v.inspect()["Labels"], json!({}));
        let (_, made) = vols.create(Some("b"), false, &lock).unwrap();
        assert!(!made, "an existing volume is not made again");
        let (anon, _) = vols.create(None, false, &lock).unwrap();
        assert_eq!(anon.name.len(), 64);
        assert_eq!(anon.inspect()["Labels"], Value::Null);
        let names: Vec<String> = vols.list().unwrap().into_iter().map(|v| v.name).collect();
        let mut want = vec![anon.name.clone(), "b".to_string()];
        want.sort();
        assert_eq!(names, want);
        vols.remove("b", &lock).unwrap();
        assert!(matches!(vols.get("b"), Err(VolumeError::NoSuchVolume(_))));
        assert!(matches!(
            vols.get("../x"),
            Err(VolumeError::NoSuchVolume(_))
        ));
    }

    #[test]
    fn usage_counts_each_inode_once_and_no_directories() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/a"), "12345").unwrap();
        fs::hard_link(d.path().join("sub/a"), d.path().join("b")).unwrap();
        fs::write(d.path().join("empty"), "").unwrap();
        std::os::unix::fs::symlink("sub/a", d.path().join("l")).unwrap();
        assert_eq!(disk_usage(d.path()), 5 + 5);
    }

    #[test]
    fn filling_copies_entries_and_the_directorys_mode_but_never_leaves_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        fs::create_dir_all(root.join("srv/sub")).unwrap();
        fs::write(root.join("srv/sub/f"), "x").unwrap();
        fs::set_permissions(root.join("srv"), fs::Permissions::from_mode(0o710)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("srv/link")).unwrap();
        // A link out of the root resolves inside it: /escape → <root>/etc, which is missing.
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        let data = d.path().join("data");
        fs::create_dir(&data).unwrap();
        fill_from_image(&root, Path::new("/escape"), &data).unwrap();
        assert_eq!(fs::read_dir(&data).unwrap().count(), 0);
        fill_from_image(&root, Path::new("/srv"), &data).unwrap();
        assert_eq!(fs::read_to_string(data.join("sub/f")).unwrap(), "x");
        assert_eq!(
            fs::read_link(data.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(fs::metadata(&data).unwrap().mode() & 0o7777, 0o710);
        // Not again once it has content.
        fs::remove_file(data.join("sub/f")).unwrap();
        fill_from_image(&root, Path::new("/srv"), &data).unwrap();
        assert!(!data.join("sub/f").exists());
    }
}
