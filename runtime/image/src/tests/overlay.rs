//! The real kernel: layers unpacked by the store, mounted with overlayfs.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{root_or_skip, RawTar};
use crate::{diff_changes, Store};

/// An overlay mount, unmounted on drop.
struct Overlay {
    target: PathBuf,
}

impl Overlay {
    fn mount(
        target: &Path,
        lowers_bottom_first: &[PathBuf],
        upper: Option<(&Path, &Path)>,
    ) -> Overlay {
        fs::create_dir_all(target).unwrap();
        let lower: Vec<String> = lowers_bottom_first
            .iter()
            .rev()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let mut opts = format!("lowerdir={}", lower.join(":"));
        if let Some((u, w)) = upper {
            opts.push_str(&format!(
                ",upperdir={},workdir={}",
                u.display(),
                w.display()
            ));
        }
        let flags = if upper.is_some() {
            MsFlags::empty()
        } else {
            MsFlags::MS_RDONLY
        };
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            flags,
            Some(opts.as_str()),
        )
        .unwrap_or_else(|e| panic!("mount overlay {opts}: {e}"));
        Overlay {
            target: target.to_path_buf(),
        }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = umount2(&self.target, MntFlags::MNT_DETACH);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Loads a two-layer image made of raw tars (layer 2 whites out and makes opaque).
fn two_layer_image(store: &Store, tmp: &Path) -> crate::ImageInfo {
    let l1 = RawTar::new()
        .dir("a/")
        .file("a/keep", b"k")
        .file("a/gone", b"g")
        .dir("dir/")
        .file("dir/old1", b"1")
        .file("dir/old2", b"2")
        .finish();
    let l2 = RawTar::new()
        .file("a/.wh.gone", b"")
        .dir("dir/")
        .file("dir/.wh..wh..opq", b"")
        .file("dir/new", b"n")
        .finish();
    let archive = super::archive::docker_archive(tmp, &[&l1, &l2], &["two:layers"], false, false);
    store.load(&archive).unwrap();
    store.resolve("two:layers").unwrap()
}

#[test]
fn overlayfs_honours_unpacked_whiteouts_and_opaque_dirs() {
    if !root_or_skip("overlayfs_honours_unpacked_whiteouts_and_opaque_dirs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let image = two_layer_image(&store, tmp.path());
    let dirs = store.layer_dirs(&image).unwrap();
    assert_eq!(dirs.len(), 2);
    assert!(dirs[0].ends_with(image.layers[0].diff_id.trim_start_matches("sha256:")));
    // The lower layer still has everything; the merged view hides what layer 2 removed.
    assert_eq!(names(&dirs[0].join("dir")), ["old1", "old2"]);
    let merged = tmp.path().join("merged");
    let m = Overlay::mount(&merged, &dirs, None);
    assert_eq!(names(&merged.join("a")), ["keep"]);
    assert_eq!(names(&merged.join("dir")), ["new"]);
    drop(m);
    // A second call reuses the directories.
    assert_eq!(store.layer_dirs(&image).unwrap(), dirs);
}

#[test]
fn commit_from_a_real_upper_dir_and_diff() {
    if !root_or_skip("commit_from_a_real_upper_dir_and_diff") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let base = two_layer_image(&store, tmp.path());
    let lowers = store.layer_dirs(&base).unwrap();
    let (upper, work, merged) = (
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
    fs::create_dir_all(&upper).unwrap();
    fs::create_dir_all(&work).unwrap();
    {
        let _m = Overlay::mount(&merged, &lowers, Some((&upper, &work)));
        fs::remove_file(merged.join("a/keep")).unwrap();
        fs::write(merged.join("a/added"), "added").unwrap();
        fs::remove_dir_all(merged.join("dir")).unwrap();
        fs::create_dir(merged.join("dir")).unwrap();
        fs::write(merged.join("dir/fresh"), "f").unwrap();
        fs::create_dir_all(merged.join("x/y")).unwrap();
    }
    let changes = diff_changes(&upper, &lowers).unwrap();
    let want: Vec<(char, String)> = [
        ('C', "/a"),
        ('A', "/a/added"),
        ('D', "/a/keep"),
        ('C', "/dir"),
        ('A', "/dir/fresh"),
        ('D', "/dir/new"),
        ('A', "/x"),
        ('A', "/x/y"),
    ]
    .iter()
    .map(|(k, p)| (*k, p.to_string()))
    .collect();
    assert_eq!(changes, want);

    let config = oci_spec::image::Config::default();
    let image = store
        .commit(Some(&base), Some(&upper), config, "test: commit")
        .unwrap();
    assert_eq!(image.layers.len(), 3);
    let dirs = store.layer_dirs(&image).unwrap();
    let view = tmp.path().join("view");
    let _m = Overlay::mount(&view, &dirs, None);
    assert_eq!(names(&view.join("a")), ["added"]);
    assert_eq!(names(&view.join("dir")), ["fresh"]);
    assert_eq!(fs::read_to_string(view.join("a/added")).unwrap(), "added");
    assert!(view.join("x/y").is_dir());
}
