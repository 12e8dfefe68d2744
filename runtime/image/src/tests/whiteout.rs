//! OCI whiteouts ↔ overlayfs whiteouts, both ways, and metadata through a round trip.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use tar::EntryType;

use super::{gunzip, root_or_skip, tar_listing, tree, RawTar};
use crate::blobs::Blobs;
use crate::diff::write_upper_layer;
use crate::layer::unpack_tar;
use crate::whiteout::{is_opaque, OPAQUE_XATTR};

fn blobs(tmp: &Path) -> Blobs {
    let (b, t) = (tmp.join("blobs"), tmp.join("tmp"));
    fs::create_dir_all(&b).unwrap();
    fs::create_dir_all(&t).unwrap();
    Blobs::new(b, t)
}

fn whiteout_layer() -> Vec<u8> {
    RawTar::new()
        .dir("etc/")
        .file("etc/.wh.passwd", b"")
        .dir("opq/")
        .file("opq/.wh..wh..opq", b"")
        .file("opq/new", b"new")
        .file(".wh.top", b"")
        .file("deep/er/.wh.gone", b"")
        .file(".wh..wh.plnk", b"")
        .finish()
}

fn assert_overlay_form(root: &Path) {
    for p in ["etc/passwd", "top", "deep/er/gone"] {
        let m = fs::symlink_metadata(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(
            m.file_type().is_char_device() && m.rdev() == 0,
            "{p} is not a 0/0 char device"
        );
    }
    assert!(is_opaque(&root.join("opq")));
    assert!(!is_opaque(&root.join("etc")));
    assert_eq!(fs::read_to_string(root.join("opq/new")).unwrap(), "new");
    let wh: Vec<_> = tree(root)
        .into_iter()
        .filter(|p| p.contains(".wh."))
        .collect();
    assert!(wh.is_empty(), ".wh. files were written: {wh:?}");
}

#[test]
fn oci_whiteouts_become_overlay_whiteouts_and_back() {
    if !root_or_skip("oci_whiteouts_become_overlay_whiteouts_and_back") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    unpack_tar(&whiteout_layer()[..], &root, "sha256:wh").unwrap();
    assert_overlay_form(&root);

    // Back to OCI form.
    let b = blobs(tmp.path());
    let layer = write_upper_layer(&b, &root).unwrap();
    assert_eq!(
        layer.media_type,
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let blob = fs::read(b.path(&layer.digest).unwrap()).unwrap();
    assert_eq!(crate::digest::sha256_digest(&blob), layer.digest);
    let tar = gunzip(&blob);
    assert_eq!(crate::digest::sha256_digest(&tar), layer.diff_id);
    let names: Vec<String> = tar_listing(&tar).into_iter().map(|(p, _)| p).collect();
    for want in [
        ".wh.top",
        "etc/.wh.passwd",
        "opq/.wh..wh..opq",
        "opq/new",
        "deep/er/.wh.gone",
    ] {
        assert!(
            names.iter().any(|n| n.trim_end_matches('/') == want),
            "{want} missing from {names:?}"
        );
    }
    let opq = names.iter().position(|n| n == "opq/.wh..wh..opq").unwrap();
    assert_eq!(
        names[opq - 1].trim_end_matches('/'),
        "opq",
        "the marker follows its directory"
    );
    assert!(!names.iter().any(|n| n.contains("plnk")));

    // And unpacking what was written gives the same overlay form.
    let again = tmp.path().join("again");
    fs::create_dir(&again).unwrap();
    unpack_tar(&tar[..], &again, "sha256:again").unwrap();
    assert_overlay_form(&again);
    assert_eq!(tree(&root), tree(&again));
}

#[test]
fn a_whiteout_and_a_directory_in_one_layer_make_an_opaque_directory() {
    if !root_or_skip("a_whiteout_and_a_directory_in_one_layer_make_an_opaque_directory") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .file(".wh.a", b"")
        .dir("a/")
        .file("a/f", b"1")
        .file(".wh.b", b"")
        .file("b/g", b"2")
        .finish();
    unpack_tar(&tar[..], tmp.path(), "sha256:x").unwrap();
    assert!(is_opaque(&tmp.path().join("a")));
    assert!(is_opaque(&tmp.path().join("b")));
    assert_eq!(fs::read_to_string(tmp.path().join("b/g")).unwrap(), "2");
}

#[test]
fn metadata_survives_a_round_trip() {
    if !root_or_skip("metadata_survives_a_round_trip") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut t = RawTar::new();
    t.raw(b"d/", EntryType::Directory, 0o750, b"", b"")
        .pax(&[
            ("SCHILY.xattr.user.note", b"hello"),
            ("uid", b"1000"),
            ("gid", b"1001"),
        ])
        .raw(b"d/f", EntryType::Regular, 0o640, b"", b"content")
        .raw(b"d/link", EntryType::Symlink, 0o777, b"f", b"")
        .raw(b"d/hard", EntryType::Link, 0o640, b"d/f", b"")
        .raw(b"fifo", EntryType::Fifo, 0o600, b"", b"");
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    unpack_tar(&t.finish()[..], &root, "sha256:meta").unwrap();
    let check = |root: &Path| {
        let f = fs::symlink_metadata(root.join("d/f")).unwrap();
        assert_eq!(
            (f.uid(), f.gid(), f.mode() & 0o7777, f.mtime()),
            (1000, 1001, 0o640, 1_000_000)
        );
        assert_eq!(f.nlink(), 2);
        assert_eq!(
            xattr::get(root.join("d/f"), "user.note")
                .unwrap()
                .as_deref(),
            Some(&b"hello"[..])
        );
        let d = fs::symlink_metadata(root.join("d")).unwrap();
        assert_eq!(
            (d.permissions().mode() & 0o7777, d.mtime()),
            (0o750, 1_000_000)
        );
        assert_eq!(fs::read_link(root.join("d/link")).unwrap(), Path::new("f"));
        assert_eq!(
            fs::symlink_metadata(root.join("d/link")).unwrap().mtime(),
            1_000_000
        );
        assert!(fs::symlink_metadata(root.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
    };
    check(&root);
    let b = blobs(tmp.path());
    let layer = write_upper_layer(&b, &root).unwrap();
    let tar = gunzip(&fs::read(b.path(&layer.digest).unwrap()).unwrap());
    let listing = tar_listing(&tar);
    assert!(
        listing.contains(&("d/hard".to_string(), EntryType::Link)),
        "{listing:?}"
    );
    let again = tmp.path().join("again");
    fs::create_dir(&again).unwrap();
    unpack_tar(&tar[..], &again, "sha256:again").unwrap();
    check(&again);
    // Writing the same dir twice gives the same bytes (deterministic order and headers).
    let second = write_upper_layer(&b, &root).unwrap();
    assert_eq!(second, layer);
}

#[test]
fn overlay_bookkeeping_xattrs_are_not_written_and_devices_are_refused() {
    if !root_or_skip("overlay_bookkeeping_xattrs_are_not_written_and_devices_are_refused") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let upper = tmp.path().join("upper");
    fs::create_dir_all(upper.join("d")).unwrap();
    xattr::set(upper.join("d"), "trusted.overlay.origin", b"xyz").unwrap();
    xattr::set(upper.join("d"), OPAQUE_XATTR, b"x").unwrap(); // "x" is not opaque
    let b = blobs(tmp.path());
    let layer = write_upper_layer(&b, &upper).unwrap();
    let tar = gunzip(&fs::read(b.path(&layer.digest).unwrap()).unwrap());
    let mut a = tar::Archive::new(&tar[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        assert!(!String::from_utf8_lossy(&e.path_bytes()).contains(".wh."));
        if let Some(exts) = e.pax_extensions().unwrap() {
            for ext in exts {
                assert!(!ext.unwrap().key().unwrap().contains("overlay"));
            }
        }
    }
    nix::sys::stat::mknod(
        &upper.join("d/null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let err = write_upper_layer(&b, &upper).unwrap_err().to_string();
    assert!(err.contains("d/null") && err.contains("1:3"), "{err}");
    assert!(tree(b.tmp_dir()).is_empty(), "temporary blob left behind");
}
