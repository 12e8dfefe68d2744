//! What a killed writer of the store leaves outside `images/tmp/`, and how the next command
//! finds it (the store's sweep calls [`sweep_note`] and [`Store::remove_unreferenced_blobs`]).
//!
//! - **Blobs no image refers to.** `load`, `build` (its commits) and the making of busybox
//!   write blobs, then list them in `index.json`, all under the store lock taken with
//!   [`Store::lock_for_blobs`]. That lock leaves an owner-tagged marker (`blobs-<tag>-…`) in
//!   `images/tmp/` while it is held; a marker whose maker has ended means a writer was killed
//!   between the two. The sweep then takes the store lock *without waiting* (a live writer
//!   holding it is left alone; the next command tries again) and deletes every blob the index
//!   does not reach (manifests, their configs and layers).
//! - **`save -o FILE`'s temporary** (`.FILE.tmp-<tag>-…`, beside FILE: the rename must stay on
//!   FILE's filesystem). Before creating it, `save` writes a note (`save-<tag>-…`) in
//!   `images/tmp/` naming its absolute path, and removes the note when done. A note whose maker
//!   has ended is the proof that its file is hull's: the file is removed only if it is a
//!   regular file, at exactly that path, whose name carries the note's own owner tag. Nothing
//!   is ever deleted in a user's directory by its name's shape alone.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::blobs::temp_name;
use super::digest::is_hex;
use super::error::{io_at, Result};
use super::index::StoreLock;
use super::owner;
use super::store::Store;

/// The name prefix of the marker a blob-writing lock leaves.
pub(crate) const BLOBS_MARKER: &str = "blobs-";
/// The name prefix of a `save -o` note.
pub(crate) const SAVE_NOTE: &str = "save-";

/// The most a note may hold (a path).
const NOTE_LIMIT: u64 = 8192;

/// A `save -o` note: removed (with nothing else) when dropped.
pub(crate) struct SaveNote {
    path: PathBuf,
}

impl SaveNote {
    /// Notes, in `tmp_dir`, that `temporary` (not created yet) is this process's.
    pub(crate) fn write(tmp_dir: &Path, temporary: &Path) -> Result<SaveNote> {
        let target = std::path::absolute(temporary).map_err(io_at("resolving", temporary))?;
        let path = tmp_dir.join(temp_name(SAVE_NOTE.trim_end_matches('-')));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at("creating the save note", &path))?;
        f.write_all(target.as_os_str().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_at("writing the save note", &path))?;
        Ok(SaveNote { path })
    }
}

impl Drop for SaveNote {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// For the note `note` of a `save` that has ended without removing it: removes the temporary
/// it names, if that is still there and still hull's (see the module documentation). The
/// note itself is left to the caller.
pub(crate) fn sweep_note(note: &Path) {
    let Some((pid, start)) = note
        .file_name()
        .and_then(|n| owner::tag_in(&n.to_string_lossy()))
    else {
        return;
    };
    let mut bytes = Vec::new();
    let read = fs::File::open(note).and_then(|f| f.take(NOTE_LIMIT).read_to_end(&mut bytes));
    if read.is_err() || bytes.is_empty() {
        return;
    }
    let target = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
    if !is_saves_temporary(&target, pid, start) {
        return;
    }
    if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_file()) {
        let _ = fs::remove_file(&target);
    }
}

/// Whether `path` is shaped as the temporary a `save` by process `pid`/`start` makes:
/// absolute, named `.NAME.tmp-<pid>.<start>-…`.
fn is_saves_temporary(path: &Path, pid: i32, start: u64) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    path.is_absolute() && name.starts_with('.') && name.contains(&format!(".tmp-{pid}.{start}-"))
}

impl Store {
    /// The store lock, for writing blobs that the index will list before it is released (see
    /// the module documentation).
    pub(crate) fn lock_for_blobs(&self) -> Result<StoreLock> {
        let mut lock = self.lock()?;
        lock.mark(
            self.tmp_dir()
                .join(temp_name(BLOBS_MARKER.trim_end_matches('-'))),
        )?;
        Ok(lock)
    }

    /// Deletes the blobs `index.json` does not reach, if the store lock is free now; returns
    /// whether it ran. A manifest that cannot be read stops it before anything is deleted.
    pub(crate) fn remove_unreferenced_blobs(&self) -> Result<bool> {
        let Some(_lock) = StoreLock::try_acquire(&self.layout_dir().join("lock"))? else {
            return Ok(false);
        };
        let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
        let mut used = HashSet::new();
        for (m, _) in self.read_index()?.manifests() {
            let manifest = self.manifest(&m)?;
            used.insert(hex(&m));
            used.insert(hex(manifest.config().digest().as_ref()));
            for l in manifest.layers() {
                used.insert(hex(l.digest().as_ref()));
            }
        }
        let dir = self.layout_dir().join("blobs").join("sha256");
        let entries = fs::read_dir(&dir).map_err(io_at("listing", &dir))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && is_hex(&name) && !used.contains(&name) {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_temporary_with_the_notes_own_tag_is_a_saves() {
        let ok = Path::new("/x/.img.tar.tmp-12.345-0-99");
        assert!(is_saves_temporary(ok, 12, 345));
        assert!(!is_saves_temporary(ok, 12, 346));
        assert!(!is_saves_temporary(ok, 1, 345));
        assert!(!is_saves_temporary(
            Path::new("x/.img.tar.tmp-12.345-0-99"),
            12,
            345
        ));
        assert!(!is_saves_temporary(
            Path::new("/x/img.tar.tmp-12.345-0-99"),
            12,
            345
        ));
        assert!(!is_saves_temporary(Path::new("/x/.img.tar"), 12, 345));
        // A name holding something tag-shaped before hull's suffix still needs the suffix.
        assert!(is_saves_temporary(
            Path::new("/x/.a-1.2-b.tar.tmp-12.345-0-1"),
            12,
            345
        ));
    }

    #[test]
    fn a_dead_saves_note_removes_its_temporary_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let dead = owner::start_time(me).unwrap() + 1;
        let tmp = dir.path().join(format!(".out.tar.tmp-{me}.{dead}-0-7"));
        let other = dir
            .path()
            .join(format!(".out.tar.tmp-{me}.{}-0-7", dead + 1));
        for f in [&tmp, &other] {
            fs::write(f, "x").unwrap();
        }
        let note = dir.path().join(format!("save-{me}.{dead}-0-1"));
        fs::write(&note, tmp.as_os_str().as_bytes()).unwrap();
        sweep_note(&note);
        assert!(!tmp.exists());
        assert!(other.exists());
        // A note naming another process's file removes nothing.
        let note = dir.path().join(format!("save-{me}.{dead}-0-2"));
        fs::write(&note, other.as_os_str().as_bytes()).unwrap();
        sweep_note(&note);
        assert!(other.exists());
    }
}
