//! `hull diff`: what a container changed, read from its overlay upper dir.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::{io_at, Result};
use super::whiteout::{is_opaque, is_whiteout};

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
    walk(upper, Path::new(""), lower_dirs, &mut out)?;
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

fn walk(
    upper: &Path,
    rel: &Path,
    lowers: &[PathBuf],
    out: &mut BTreeMap<String, char>,
) -> Result<()> {
    let dir = upper.join(rel);
    let mut names = Vec::new();
    for e in fs::read_dir(&dir).map_err(io_at("listing", &dir))? {
        names.push(e.map_err(io_at("listing", &dir))?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in &names {
        let rel = rel.join(name);
        let full = upper.join(&rel);
        let md = fs::symlink_metadata(&full).map_err(io_at("inspecting", &full))?;
        if is_whiteout(&md) {
            out.insert(shown(&rel), 'D');
            continue;
        }
        let kind = if in_lowers(lowers, &rel) { 'C' } else { 'A' };
        out.insert(shown(&rel), kind);
        if md.is_dir() {
            if is_opaque(&full) {
                let upper_children: BTreeSet<OsString> = child_names(&full)?.into_iter().collect();
                for hidden in lower_children(lowers, &rel)? {
                    if !upper_children.contains(&hidden) {
                        out.insert(shown(&rel.join(&hidden)), 'D');
                    }
                }
            }
            walk(upper, &rel, lowers, out)?;
        }
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
