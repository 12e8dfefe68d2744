//! An independent implementation as the oracle: skopeo (containers/image) must read what
//! `save` writes, as an OCI archive and as a Docker archive, and what skopeo writes in both
//! formats must load with the image id kept. Skipped (with a message) without skopeo
//! (`apt-get install skopeo`).

use std::path::Path;
use std::process::Command;

use super::RawTar;
use crate::Store;

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn skopeo_reads_what_save_writes_and_load_reads_what_skopeo_writes() {
    if Command::new("skopeo").arg("--version").output().is_err() {
        eprintln!("SKIPPED skopeo oracle: skopeo is not installed (apt-get install skopeo)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("a")).unwrap();
    let layer = RawTar::new()
        .dir("app/")
        .file("app/hello", b"hi\n")
        .finish();
    let archive =
        super::archive::docker_archive(tmp.path(), &[&layer], &["oracle/app:v1"], false, false);
    store.load(&archive).unwrap();
    let image = store.resolve("oracle/app:v1").unwrap();
    let saved = tmp.path().join("saved.tar");
    store.save("oracle/app:v1", &saved).unwrap();
    let s = saved.to_string_lossy();

    let raw = skopeo(&["inspect", "--raw", &format!("oci-archive:{s}")]);
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(manifest["config"]["digest"], image.id.as_str());
    let docker: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &format!("docker-archive:{s}")])).unwrap();
    assert_eq!(
        docker["RepoTags"],
        serde_json::json!([]),
        "skopeo lists no tags for a local archive"
    );
    assert_eq!(docker["Layers"].as_array().unwrap().len(), 1);

    for (kind, file) in [("docker-archive", "d.tar"), ("oci-archive", "o.tar")] {
        let dest = tmp.path().join(file);
        let dest_ref = format!("{kind}:{}:copied/app:v2", dest.display());
        skopeo(&["copy", "-q", &format!("oci-archive:{s}"), &dest_ref]);
        let other = Store::open(&tmp.path().join(format!("store-{file}"))).unwrap();
        let loaded = other.load(Path::new(&dest)).unwrap();
        assert_eq!(loaded, ["copied/app:v2"], "{kind}");
        assert_eq!(
            other.resolve("copied/app:v2").unwrap().id,
            image.id,
            "{kind}"
        );
    }
}
