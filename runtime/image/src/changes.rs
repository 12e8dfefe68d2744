//! `hull diff`: what a container changed, read from its overlay upper dir — which the container
//! may be changing meanwhile, so the upper dir is walked through descriptors (see [`walk`]).
//! The lower dirs are hull's own unpacked layers.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{fstatat, Mode, SFlag};
use xattr::FileExt;

use super::error::{io_at, Result};
use super::whiteout::{is_opaque, is_whiteout, OPAQUE_XATTR};

/// The changes in `upper` relative to the image's `lower_dirs` (bottom first), as
/// `docker diff` shows them, sorted by path:
/// - `D`: a whiteout in `upper` (char device 0/0), or an entry of a lower directory hidden by
///   an opaque directory in `upper`;
/// - `A`: a path that the lower layers (merged, honouring their whiteouts and opaque
///   directories) do not have;
/// - `C`: a path they do have — which includes the parent directories of every change, as
///   overlayfs copies them up (and each parent of an `A`/`D` is listed as `C` in any case).
pub fn diff_changes(upper: &Path, lower_dirs: &[PathBuf]) -> Result<Vec<(char, String)>> {
    let mut out = BTreeMap::<String, char>::new();
    let root = open_dir(AT_FDCWD, upper).map_err(io_at("opening", upper))?;
    walk(&root, upper, Path::new(""), lower_dirs, &mut out)?;
    let parents: Vec<String> = out
        .iter()
        .filter(|(_, k)| **k != 'C')
        .flat_map(|(p, _)| {
            Path::new(p)
                .ancestors()
                .skip(1)
                .filter(|a| *a != Path::new("/"))
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for p in parents {
        out.entry(p).or_insert('C');
    }
    Ok(out.into_iter().map(|(p, k)| (k, p)).collect())
}

fn shown(rel: &Path) -> String {
    format!("/{}", rel.to_string_lossy())
}

/// Opens the directory `name` below `dir` without following a symlink: the upper dir belongs
/// to a container that may be running, and may swap a directory for a link to the host's
/// between our look at it and our listing of it.
fn open_dir<Fd: AsFd>(dir: Fd, name: &Path) -> io::Result<File> {
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// The names in the open directory `dir`, sorted.
fn names_in(dir: &File) -> io::Result<Vec<OsString>> {
    let mut d = nix::dir::Dir::openat(
        dir.as_fd(),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for e in d.iter() {
        let name = e?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name));
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Whether an error means the entry changed under us (a running container): it vanished, or
/// is no longer a directory.
fn changed_meanwhile(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

/// Records the changes below the upper dir's directory `dir` (at `rel`), every step through
/// descriptors: nothing here follows a symlink, and an entry that vanishes while we look is
/// skipped.
fn walk(
    dir: &File,
    upper: &Path,
    rel: &Path,
    lowers: &[PathBuf],
    out: &mut BTreeMap<String, char>,
) -> Result<()> {
    let here = upper.join(rel);
    for name in names_in(dir).map_err(io_at("listing", &here))? {
        let rel = rel.join(&name);
        let st = match fstatat(dir.as_fd(), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) if changed_meanwhile(&e.into()) => continue,
            Err(e) => return Err(io_at("inspecting", &upper.join(&rel))(e.into())),
        };
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFCHR && st.st_rdev == 0 {
            out.insert(shown(&rel), 'D'); // a whiteout
            continue;
        }
        let change = if in_lowers(lowers, &rel) { 'C' } else { 'A' };
        out.insert(shown(&rel), change);
        if kind != SFlag::S_IFDIR {
            continue;
        }
        let child = match open_dir(dir.as_fd(), Path::new(&name)) {
            Ok(f) => f,
            Err(e) if changed_meanwhile(&e) => continue,
            Err(e) => return Err(io_at("opening", &upper.join(&rel))(e)),
        };
        if matches!(child.get_xattr(OPAQUE_XATTR), Ok(Some(v)) if v == b"y") {
            let upper_children: BTreeSet<OsString> = names_in(&child)
                .map_err(io_at("listing", &upper.join(&rel)))?
                .into_iter()
                .collect();
            for hidden in lower_children(lowers, &rel)? {
                if !upper_children.contains(&hidden) {
                    out.insert(shown(&rel.join(&hidden)), 'D');
                }
            }
        }
        walk(&child, upper, &rel, lowers, out)?;
    }
    Ok(())
}

fn child_names(dir: &Path) -> Result<Vec<OsString>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(io_at("listing", dir))? {
        names.push(e.map_err(io_at("listing", dir))?.file_name());
    }
    Ok(names)
}

/// The names a directory has in the merged lower layers (roughly: the union over the layers
/// that have it as a directory, minus whiteouts).
fn lower_children(lowers: &[PathBuf], rel: &Path) -> Result<BTreeSet<OsString>> {
    let mut names = BTreeSet::new();
    for layer in lowers {
        let dir = layer.join(rel);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if is_opaque(&dir) {
            names.clear();
        }
        for n in child_names(&dir)? {
            if fs::symlink_metadata(dir.join(&n)).is_ok_and(|m| is_whiteout(&m)) {
                names.remove(&n);
            } else {
                names.insert(n);
            }
        }
    }
    Ok(names
        .into_iter()
        .filter(|n| in_lowers(lowers, &rel.join(n)))
        .collect())
}

/// Whether `rel` exists in the merged view of `lowers` (bottom first): looking from the top
/// layer down, a whiteout or a non-directory on the way hides it, an opaque directory on the
/// way hides the layers below, and no symlink is followed.
fn in_lowers(lowers: &[PathBuf], rel: &Path) -> bool {
    let comps: Vec<_> = rel.components().collect();
    for layer in lowers.iter().rev() {
        let mut p = layer.clone();
        let mut hides_below = false;
        for (i, c) in comps.iter().enumerate() {
            p.push(c);
            match fs::symlink_metadata(&p) {
                Err(_) => break,
                Ok(m) if is_whiteout(&m) => return false,
                Ok(_) if i + 1 == comps.len() => return true,
                Ok(m) if m.is_dir() => hides_below |= is_opaque(&p),
                Ok(_) => return false,
            }
        }
        if hides_below {
            return false;
        }
    }
    false
}
