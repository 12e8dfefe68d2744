//! A seed: the image store of a sandbox, kept so that later sandboxes start from it — as a host
//! that built the lab's images once before starts its next build from Docker's cache.
//!
//! What is kept is what `hull` treats as a cache, never a sandbox's state: the OCI image layout
//! (`images/`: blobs, index, parents), the build cache (`build-cache.json`) and the compiled
//! seccomp filters (`runtime/@seccomp-cache`). Containers, volumes, networks, the unpacked
//! layers (hull unpacks them again on first use, checking both digests) and the lab directory
//! are not: a sandbox planted with a seed still runs every setup command and every earlier
//! solution itself, and its `hull build`s answer from the cache. Files are copied, never
//! linked, so nothing a sandbox does reaches the seed or another sandbox.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::sandbox::cgroup::at;

/// What a seed keeps, relative to a `HULL_ROOT`.
const KEPT: [&str; 3] = ["images", "build-cache.json", "runtime/@seccomp-cache"];
/// Work in flight below `images/`, never kept.
const SKIPPED: [&str; 1] = ["images/tmp"];

/// A copy of a sandbox's image store in a temporary directory, removed on drop.
pub struct Seed {
    dir: tempfile::TempDir,
}

impl Seed {
    /// Copies the image store of `hull_root`. No `hull` command may be building or loading an
    /// image there meanwhile (the caller runs that sandbox's commands itself).
    pub fn take(hull_root: &Path) -> io::Result<Seed> {
        let dir = tempfile::Builder::new().prefix("hull-seed.").tempdir()?;
        for part in KEPT {
            let from = hull_root.join(part);
            if fs::symlink_metadata(&from).is_ok() {
                copy(&from, &dir.path().join(part), hull_root)?;
            }
        }
        Ok(Seed { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Puts a copy of the seed into `hull_root`, a fresh sandbox's empty store.
    pub fn plant(&self, hull_root: &Path) -> io::Result<()> {
        for part in KEPT {
            let from = self.dir.path().join(part);
            if fs::symlink_metadata(&from).is_ok() {
                copy(&from, &hull_root.join(part), self.dir.path())?;
            }
        }
        Ok(())
    }
}

/// Copies `from` (a file, a symbolic link or a directory tree) to `to`, making the parents
/// `to` lacks; `root` is the tree `from` belongs to (for [`SKIPPED`]).
fn copy(from: &Path, to: &Path, root: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| at(parent, "create", e))?;
    }
    let mut stack: Vec<(PathBuf, PathBuf)> = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        let meta = fs::symlink_metadata(&src).map_err(|e| at(&src, "stat", e))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&dst).map_err(|e| at(&dst, "create", e))?;
            fs::set_permissions(&dst, meta.permissions()).map_err(|e| at(&dst, "chmod", e))?;
            let skipped = SKIPPED
                .iter()
                .any(|s| src.strip_prefix(root).is_ok_and(|r| r == Path::new(s)));
            if skipped {
                continue;
            }
            for entry in fs::read_dir(&src).map_err(|e| at(&src, "list", e))? {
                let entry = entry.map_err(|e| at(&src, "list", e))?;
                stack.push((entry.path(), dst.join(entry.file_name())));
            }
        } else if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(|e| at(&src, "read the link", e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| at(&dst, "link", e))?;
        } else if kind.is_file() {
            fs::copy(&src, &dst).map_err(|e| at(&dst, "copy to", e))?;
        } else {
            return Err(io::Error::other(format!(
                "{}: neither a file, a link nor a directory, which an image store does not hold",
                src.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_store_and_the_caches_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in [
            "images/blobs/sha256",
            "images/tmp/partial",
            "runtime/@seccomp-cache",
            "runtime/abc123",
            "containers/abc123",
            "layers/0123",
        ] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        for (f, text) in [
            ("images/index.json", "{}"),
            ("images/blobs/sha256/0123", "blob"),
            ("images/tmp/partial/x", "half"),
            ("build-cache.json", "{\"k\": \"v\"}"),
            ("runtime/@seccomp-cache/f.bpf", "bpf"),
            ("runtime/abc123/state.json", "state"),
            ("containers/abc123/config.v2.json", "{}"),
            ("layers/0123/file", "unpacked"),
        ] {
            fs::write(r.join(f), text).unwrap();
        }
        let seed = Seed::take(r).unwrap();
        let fresh = tempfile::tempdir().unwrap();
        seed.plant(fresh.path()).unwrap();
        let f = fresh.path();
        for (kept, text) in [
            ("images/index.json", "{}"),
            ("images/blobs/sha256/0123", "blob"),
            ("build-cache.json", "{\"k\": \"v\"}"),
            ("runtime/@seccomp-cache/f.bpf", "bpf"),
        ] {
            assert_eq!(fs::read_to_string(f.join(kept)).unwrap(), text, "{kept}");
        }
        assert!(f.join("images/tmp").is_dir());
        for gone in [
            "images/tmp/partial",
            "runtime/abc123",
            "containers",
            "layers",
        ] {
            assert!(!f.join(gone).exists(), "{gone} was planted");
        }
        // A copy: what the sandbox changes stays in the sandbox.
        fs::write(f.join("images/index.json"), "changed").unwrap();
        assert_eq!(
            fs::read_to_string(seed.path().join("images/index.json")).unwrap(),
            "{}"
        );
        let kept = seed.path().to_path_buf();
        drop(seed);
        assert!(!kept.exists(), "the seed's directory outlived it");
    }
}
