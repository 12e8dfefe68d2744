//! `HULL_ROOT/tmp/`: the engine's work in flight, each entry named `KIND-<owner tag>-SUFFIX`
//! (the owner tag of [`hull_image::owner`], so the next command knows whether its maker is
//! still at work):
//! - `new-…-ID`: a container being made; renamed to `containers/ID` once complete, under the
//!   records lock, so a container directory without its record never appears;
//! - `rm-…-ID`: a container being removed; renamed here under the records lock, then deleted;
//! - `build-…-ID`: a build's RUN step (its rootfs mount, bundle and runtime state `runtime/ID`);
//! - `copy-…-N`: a build's COPY layer before it is committed;
//! - `file-…-N`: a file written whole and renamed into place (the build cache).
//!
//! Nothing here is a container: whatever a killed command left is removed by the next one
//! ([`crate::recover`]).

use std::path::{Path, PathBuf};

use super::error::{EngineError, Result};

/// The directory, below `HULL_ROOT`.
pub const DIR: &str = "tmp";

/// One entry of `tmp/`, removed on drop unless [`Scratch::rename_to`] moved it into place.
/// A `merged` mount left inside (a RUN step that failed to unmount) is detached first, so the
/// removal never descends into a container's root filesystem.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    armed: bool,
}

/// The name of a `tmp/` entry of this process.
pub fn name(kind: &str, suffix: &str) -> String {
    format!("{kind}-{}-{suffix}", hull_image::owner::tag())
}

/// An entry's kind and suffix (`build-12.34-ID` → ("build", "ID")).
pub fn parse(name: &str) -> Option<(&str, &str)> {
    let (kind, rest) = name.split_once('-')?;
    let (_tag, suffix) = rest.split_once('-')?;
    Some((kind, suffix))
}

impl Scratch {
    /// Makes `tmp/KIND-<tag>-SUFFIX` (a directory).
    pub fn create(root: &Path, kind: &str, suffix: &str) -> Result<Scratch> {
        let path = root.join(DIR).join(name(kind, suffix));
        std::fs::create_dir(&path).map_err(|e| EngineError::Io {
            action: "create work directory",
            path: path.clone(),
            source: e,
        })?;
        Ok(Scratch { path, armed: true })
    }

    /// Moves `from` (a container's directory) to `tmp/KIND-<tag>-SUFFIX`, to be removed when
    /// dropped; None when `from` is not there.
    pub fn claim(root: &Path, kind: &str, suffix: &str, from: &Path) -> Result<Option<Scratch>> {
        let path = root.join(DIR).join(name(kind, suffix));
        match std::fs::rename(from, &path) {
            Ok(()) => Ok(Some(Scratch { path, armed: true })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::Io {
                action: "move away for removal",
                path: from.to_path_buf(),
                source: e,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the entry to `dest` (on the same filesystem); it is no longer removed on drop.
    pub fn rename_to(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| EngineError::Io {
            action: "move into place",
            path: dest.to_path_buf(),
            source: e,
        })?;
        self.armed = false;
        Ok(())
    }

    /// Removes the entry now, reporting a failure (drop only tries).
    pub fn remove(mut self) -> Result<()> {
        self.armed = false;
        remove_entry(&self.path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.armed {
            let _ = remove_entry(&self.path);
        }
    }
}

/// Removes a `tmp/` entry (a directory or a file), detaching a `merged` mount inside first.
pub fn remove_entry(path: &Path) -> Result<()> {
    let merged = path.join("merged");
    super::overlay::unmount(&merged)?;
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(_) if path.is_file() || path.is_symlink() => match std::fs::remove_file(path) {
            Err(e) if !gone(&e) => Err(EngineError::Io {
                action: "remove",
                path: path.to_path_buf(),
                source: e,
            }),
            _ => Ok(()),
        },
        Err(e) => Err(EngineError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Writes `path` whole: the bytes go to a `tmp/file-…` entry first, then are renamed over it.
pub fn write_atomic(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = root.join(DIR).join(name("file", &super::new_id()[..12]));
    let io = |action, p: &Path| {
        let p = p.to_path_buf();
        move |e| EngineError::Io {
            action,
            path: p,
            source: e,
        }
    };
    let result = std::fs::write(&tmp, bytes)
        .map_err(io("write", &tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io("replace", path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_owner_and_parse_back() {
        let n = name("build", "abc");
        assert_eq!(parse(&n), Some(("build", "abc")));
        assert!(hull_image::owner::tag_in(&n).is_some());
        assert!(!hull_image::owner::left_by_dead_process(&n));
        assert_eq!(parse("nodash"), None);
    }

    #[test]
    fn an_armed_entry_goes_on_drop_and_a_renamed_one_stays() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(DIR)).unwrap();
        let s = Scratch::create(root.path(), "copy", "x").unwrap();
        std::fs::write(s.path().join("f"), "x").unwrap();
        let p = s.path().to_path_buf();
        drop(s);
        assert!(!p.exists());
        let s = Scratch::create(root.path(), "new", "y").unwrap();
        s.rename_to(&root.path().join("y")).unwrap();
        assert!(root.path().join("y").is_dir());
        assert_eq!(std::fs::read_dir(root.path().join(DIR)).unwrap().count(), 0);
        write_atomic(root.path(), &root.path().join("cache.json"), b"{}").unwrap();
        assert_eq!(
            std::fs::read(root.path().join("cache.json")).unwrap(),
            b"{}"
        );
        assert_eq!(std::fs::read_dir(root.path().join(DIR)).unwrap().count(), 0);
    }
}
