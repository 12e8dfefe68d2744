//! The hostile-tarball corpus: each refused entry is named in the error, nothing appears
//! outside the target, and a refused layer leaves no directory behind.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use tar::EntryType;

use super::{root_or_skip, tree, RawTar};
use crate::blobs::Blobs;
use crate::layer::unpack_tar;
use crate::unpacked::ensure_unpacked;
use crate::{ImageError, LayerInfo};

/// Unpacks `tar` into `<tmp>/root`; returns the error text (if any) and the tempdir.
fn unpack(tar: &RawTar) -> (Option<String>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let bytes = tar.finish();
    let err = unpack_tar(&bytes[..], &root, "sha256:test")
        .err()
        .map(|e| e.to_string());
    (err, tmp)
}

/// Asserts the unpack failed naming `entry` and `why`, and that only `root` is in the tempdir.
fn refused(tar: &RawTar, entry: &str, why: &str) {
    let (err, tmp) = unpack(tar);
    let err = err.unwrap_or_else(|| panic!("entry {entry:?} was accepted"));
    assert!(
        err.contains(&format!("{entry:?}")),
        "error does not name {entry:?}: {err}"
    );
    assert!(
        err.contains(why),
        "error for {entry:?} does not say {why:?}: {err}"
    );
    let outside: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        outside,
        vec![std::ffi::OsString::from("root")],
        "something escaped: {outside:?}"
    );
}

#[test]
fn dotdot_components_are_refused() {
    refused(RawTar::new().file("../evil", b"x"), "../evil", "`..`");
    refused(
        RawTar::new().dir("a/").file("a/../../evil", b"x"),
        "a/../../evil",
        "`..`",
    );
    refused(RawTar::new().dir("..").file("ok", b"x"), "..", "`..`");
}

#[test]
fn a_pax_path_is_the_name_that_counts() {
    let mut t = RawTar::new();
    t.pax(&[("path", b"../paxevil")]).file("innocent", b"x");
    refused(&t, "../paxevil", "`..`");
    let mut t = RawTar::new();
    t.pax(&[("linkpath", b"/etc/shadow")])
        .hardlink("h", "innocent");
    refused(&t, "h", "\"/etc/shadow\"");
}

#[test]
fn absolute_paths_are_refused() {
    let target = std::env::temp_dir().join(format!("hull-evil-{}", std::process::id()));
    let name = target.to_string_lossy().into_owned();
    refused(RawTar::new().file(&name, b"x"), &name, "absolute");
    assert!(!target.exists());
}

#[test]
fn writing_through_a_symlink_from_the_same_tar_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().to_string_lossy().into_owned();
    refused(
        RawTar::new()
            .symlink("link", &target)
            .file("link/evil", b"x"),
        "link/evil",
        "symlink",
    );
    refused(
        RawTar::new().symlink("link", &target).dir("link/sub/"),
        "link/sub/",
        "symlink",
    );
    refused(
        RawTar::new()
            .symlink("link", &target)
            .file("link/.wh.x", b""),
        "link/.wh.x",
        "symlink",
    );
    refused(
        RawTar::new()
            .symlink("link", &target)
            .file("link/.wh..wh..opq", b""),
        "link/.wh..wh..opq",
        "symlink",
    );
    // Even a symlink that stays inside the layer is never written through.
    refused(
        RawTar::new()
            .dir("sub/")
            .symlink("in", "sub")
            .file("in/x", b"x"),
        "in/x",
        "symlink",
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_file_over_a_symlink_replaces_the_link_not_its_target() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    fs::write(&victim, "original").unwrap();
    let tar = RawTar::new()
        .symlink("x", &victim.to_string_lossy())
        .file("x", b"overwritten?")
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    unpack_tar(&tar[..], tmp.path(), "sha256:test").unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "original");
    assert_eq!(
        fs::read_to_string(tmp.path().join("x")).unwrap(),
        "overwritten?"
    );
    assert!(fs::symlink_metadata(tmp.path().join("x"))
        .unwrap()
        .is_file());
}

#[test]
fn escaping_link_targets_are_refused() {
    refused(
        RawTar::new().hardlink("pw", "/etc/passwd"),
        "pw",
        "hardlink target \"/etc/passwd\"",
    );
    refused(
        RawTar::new().hardlink("pw", "../../etc/passwd"),
        "pw",
        "`..`",
    );
    refused(
        RawTar::new().hardlink("h", "missing"),
        "h",
        "does not exist earlier in this layer",
    );
    refused(
        RawTar::new().symlink("s", "/etc").hardlink("h", "s/passwd"),
        "h",
        "is not inside this layer",
    );
    refused(
        RawTar::new().dir("d/").hardlink("h", "d"),
        "h",
        "is not a file",
    );
    refused(
        RawTar::new().dir("a/").symlink("a/up", "../../etc"),
        "a/up",
        "climbs above the layer root",
    );
    refused(
        RawTar::new().symlink("up", ".."),
        "up",
        "climbs above the layer root",
    );
}

#[test]
fn absolute_and_inner_symlinks_are_kept_as_links() {
    let tar = RawTar::new()
        .symlink("abs", "/etc/passwd")
        .dir("a/")
        .symlink("a/rel", "../abs")
        .file("f", b"data")
        .hardlink("a/hard", "f")
        .finish();
    let tmp = tempfile::tempdir().unwrap();
    unpack_tar(&tar[..], tmp.path(), "sha256:test").unwrap();
    assert_eq!(
        fs::read_link(tmp.path().join("abs")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        fs::read_link(tmp.path().join("a/rel")).unwrap(),
        Path::new("../abs")
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("a/hard")).unwrap(),
        "data"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(tmp.path().join("f")).unwrap().nlink(), 2);
}

#[test]
fn device_nodes_are_refused() {
    let mut t = RawTar::new();
    t.raw_dev(b"dev/null", EntryType::Char, 0o666, b"", b"", (1, 3));
    refused(&t, "dev/null", "character device 1:3 refused");
    let mut t = RawTar::new();
    t.raw_dev(b"sda", EntryType::Block, 0o660, b"", b"", (8, 0));
    refused(&t, "sda", "block device 8:0 refused");
}

#[test]
fn overlay_xattrs_in_the_tar_are_refused() {
    let mut t = RawTar::new();
    t.pax(&[("SCHILY.xattr.trusted.overlay.redirect", b"/etc")])
        .dir("d/");
    refused(&t, "d/", "trusted.overlay.redirect refused");
}

#[test]
fn setuid_is_kept_on_files_only_and_fifos_are_fine() {
    if !root_or_skip("setuid_is_kept_on_files_only_and_fifos_are_fine") {
        return;
    }
    let mut t = RawTar::new();
    t.raw(b"d/", EntryType::Directory, 0o6755, b"", b"")
        .raw(b"d/suid", EntryType::Regular, 0o4755, b"", b"#!")
        .raw(b"tmp/", EntryType::Directory, 0o1777, b"", b"")
        .raw(b"pipe", EntryType::Fifo, 0o640, b"", b"");
    let (err, tmp) = unpack(&t);
    assert_eq!(err, None);
    let root = tmp.path().join("root");
    let mode = |p: &str| {
        fs::symlink_metadata(root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("d"), 0o755);
    assert_eq!(mode("d/suid"), 0o4755);
    assert_eq!(mode("tmp"), 0o1777);
    assert_eq!(mode("pipe"), 0o640);
    assert!(fs::symlink_metadata(root.join("pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_refused_layer_leaves_no_directory_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (blob_dir, tmp_dir, layers) = (
        tmp.path().join("blobs"),
        tmp.path().join("tmp"),
        tmp.path().join("layers"),
    );
    for d in [&blob_dir, &tmp_dir, &layers] {
        fs::create_dir_all(d).unwrap();
    }
    let blobs = Blobs::new(blob_dir, tmp_dir);
    let tar = RawTar::new()
        .dir("etc/")
        .file("etc/ok", b"fine")
        .file("../evil", b"x")
        .finish();
    let (digest, size) = blobs.write_bytes(&tar).unwrap();
    let layer = LayerInfo {
        digest: digest.clone(),
        diff_id: digest,
        size,
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
    };
    let err = ensure_unpacked(&blobs, &layers, &layer).unwrap_err();
    assert!(matches!(err, ImageError::Entry { .. }), "{err}");
    assert!(tree(&layers).is_empty(), "left behind: {:?}", tree(&layers));
    assert!(!tmp.path().join("evil").exists());

    // A blob whose content does not match its diff id is refused after unpacking, too.
    let good = RawTar::new().file("f", b"x").finish();
    let (digest, size) = blobs.write_bytes(&good).unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let layer = LayerInfo {
        digest,
        diff_id: wrong,
        size,
        media_type: String::new(),
    };
    let err = ensure_unpacked(&blobs, &layers, &layer).unwrap_err();
    assert!(err.to_string().contains("diff id"), "{err}");
    assert!(tree(&layers).is_empty());
}
