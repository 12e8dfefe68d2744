//! `hull load` of hand-built `docker save` and OCI tarballs, and `save` → `load` round trips.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{gzip, tar_listing, RawTar};
use crate::digest::sha256_digest;
use crate::{ImageError, Store};

fn hex(d: &str) -> &str {
    d.trim_start_matches("sha256:")
}

/// A tar of `(path, bytes)` files and `(path, target)` symlinks, with real headers.
fn outer_tar(files: &[(String, Vec<u8>)], symlinks: &[(String, String)]) -> Vec<u8> {
    let mut t = RawTar::new();
    for (p, b) in files {
        t.file(p, b);
    }
    for (p, target) in symlinks {
        t.symlink(p, target);
    }
    t.finish()
}

fn config_for(diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-05-01T10:00:00Z",
        "docker_version": "24.0.0",
        "container_config": { "Cmd": ["/bin/sh", "-c", "#(nop) x"] },
        "config": { "Cmd": ["sh"], "Env": ["PATH=/bin"], "ExposedPorts": { "80/tcp": {} } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": diff_ids.iter().map(|_| json!({"created_by": "ADD layer"})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Writes an old-style `docker save` tarball (`<id>/layer.tar`, `<config hex>.json`,
/// `manifest.json`, `repositories`); the second layer is gzip'd when `gz_second`; with
/// `repeat_first`, a last layer repeats the first as a symlink, as `docker save` writes
/// repeated layers.
pub(super) fn docker_archive(
    dir: &Path,
    layers: &[&[u8]],
    tags: &[&str],
    gz_second: bool,
    repeat_first: bool,
) -> PathBuf {
    let mut files = Vec::new();
    let mut paths = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let blob = if gz_second && i == 1 {
            gzip(l)
        } else {
            l.to_vec()
        };
        let id = format!("{:0>64}", i + 1);
        files.push((format!("{id}/VERSION"), b"1.0".to_vec()));
        files.push((format!("{id}/json"), b"{}".to_vec()));
        files.push((format!("{id}/layer.tar"), blob));
        paths.push(format!("{id}/layer.tar"));
        diff_ids.push(sha256_digest(l));
    }
    let mut links = Vec::new();
    if repeat_first {
        links.push((
            "f".repeat(64) + "/layer.tar",
            format!("../{:0>64}/layer.tar", 1),
        ));
        paths.push("f".repeat(64) + "/layer.tar");
        diff_ids.push(sha256_digest(layers[0]));
    }
    let config = config_for(&diff_ids);
    let config_name = format!("{}.json", hex(&sha256_digest(&config)));
    files.push((config_name.clone(), config));
    let manifest = json!([{ "Config": config_name, "RepoTags": tags, "Layers": paths }]);
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    files.push(("repositories".into(), b"{}".to_vec()));
    let path = dir.join(format!("docker-{}.tar", crate::blobs::temp_name("fixture")));
    fs::write(&path, outer_tar(&files, &links)).unwrap();
    path
}

/// An OCI-layout tarball with one gzip layer; `nested` puts the manifest behind an index.
fn oci_archive(
    dir: &Path,
    layer: &[u8],
    annotations: serde_json::Value,
    nested: bool,
) -> (PathBuf, String) {
    let blob = gzip(layer);
    let config = config_for(&[sha256_digest(layer)]);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(&config), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256_digest(&blob), "size": blob.len() }],
    }))
    .unwrap();
    let mut top = json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256_digest(&manifest), "size": manifest.len(), "annotations": annotations });
    let mut files = vec![
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (format!("blobs/sha256/{}", hex(&sha256_digest(&blob))), blob),
        (
            format!("blobs/sha256/{}", hex(&sha256_digest(&config))),
            config.clone(),
        ),
        (
            format!("blobs/sha256/{}", hex(&sha256_digest(&manifest))),
            manifest.clone(),
        ),
    ];
    if nested {
        let inner = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [
                { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256_digest(&manifest), "size": manifest.len(), "platform": { "architecture": "s390x", "os": "linux" } },
            ],
        }))
        .unwrap();
        let annotations = top["annotations"].clone();
        top = json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha256_digest(&inner), "size": inner.len(), "annotations": annotations });
        files.push((
            format!("blobs/sha256/{}", hex(&sha256_digest(&inner))),
            inner,
        ));
    }
    let index = json!({ "schemaVersion": 2, "manifests": [top] });
    files.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    let path = dir.join(format!("oci-{}.tar", crate::blobs::temp_name("fixture")));
    fs::write(&path, gzip(&outer_tar(&files, &[]))).unwrap();
    (path, sha256_digest(&config))
}

fn layer_a() -> Vec<u8> {
    RawTar::new()
        .dir("etc/")
        .file("etc/hello", b"hello from layer a\n")
        .finish()
}

fn layer_b() -> Vec<u8> {
    RawTar::new()
        .dir("bin/")
        .file("bin/tool", b"#!/bin/sh\necho tool\n")
        .finish()
}

#[test]
fn loads_a_docker_save_tarball() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let (a, b) = (layer_a(), layer_b());
    let archive = docker_archive(
        tmp.path(),
        &[&a, &b],
        &["fixture/app:1.0", "docker.io/fixture/app:latest"],
        true,
        true,
    );
    let loaded = store.load(&archive).unwrap();
    assert_eq!(loaded, ["fixture/app:1.0", "fixture/app:latest"]);
    let image = store.resolve("fixture/app").unwrap();
    assert_eq!(image, store.resolve("fixture/app:1.0").unwrap());
    assert_eq!(image.layers.len(), 3);
    assert_eq!(
        image.layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        image.layers[1].media_type,
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(image.layers[2], image.layers[0]);
    assert_eq!(
        image.config.config().as_ref().unwrap().cmd().as_deref(),
        Some(&["sh".to_string()][..])
    );
    if super::root_or_skip("loads_a_docker_save_tarball (unpack part)") {
        let dirs = store.layer_dirs(&image).unwrap();
        assert_eq!(
            fs::read_to_string(dirs[1].join("etc/hello")).unwrap(),
            "hello from layer a\n"
        );
        assert!(dirs[0].join("bin/tool").is_file());
        assert_eq!(
            dirs.len(),
            2,
            "the repeated layer is listed once, at the top"
        );
        assert_eq!(
            dirs[1].file_name(),
            Some(image.layers[0].diff_id[7..].as_ref())
        );
    }
    // Loading again changes nothing.
    store.load(&archive).unwrap();
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn loads_oci_layout_tarballs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let (path, id) = oci_archive(
        tmp.path(),
        &layer_a(),
        json!({"org.opencontainers.image.ref.name": "ociapp:v2"}),
        false,
    );
    assert_eq!(store.load(&path).unwrap(), ["ociapp:v2"]);
    assert_eq!(store.resolve("ociapp:v2").unwrap().id, id);
    let (path, id) = oci_archive(
        tmp.path(),
        &layer_b(),
        json!({"org.opencontainers.image.ref.name": "bare"}),
        true,
    );
    assert_eq!(store.load(&path).unwrap(), ["bare:latest"]);
    assert_eq!(store.resolve("bare").unwrap().id, id);
    let (path, id) = oci_archive(
        tmp.path(),
        &RawTar::new().file("x", b"x").finish(),
        json!({"io.containerd.image.name": "docker.io/library/c:1", "org.opencontainers.image.ref.name": "1"}),
        false,
    );
    assert_eq!(
        store.load(&path).unwrap(),
        ["c:1"],
        "Docker Hub names are familiarized"
    );
    assert_eq!(store.resolve(&id).unwrap().names, ["c:1"]);
    assert_eq!(store.resolve("docker.io/library/c:1").unwrap().id, id);
    let (path, id) = oci_archive(
        tmp.path(),
        &RawTar::new().file("y", b"y").finish(),
        json!({}),
        false,
    );
    assert_eq!(store.load(&path).unwrap(), std::slice::from_ref(&id));
    assert!(store.resolve(&id).unwrap().names.is_empty());
}

#[test]
fn broken_archives_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let empty = tmp.path().join("empty.tar");
    fs::write(&empty, outer_tar(&[("hello".into(), b"x".to_vec())], &[])).unwrap();
    let err = store.load(&empty).unwrap_err().to_string();
    assert!(
        err.contains("empty.tar") && err.contains("neither manifest.json"),
        "{err}"
    );

    // A blob whose content does not match its name.
    let blob = b"not what the name says".to_vec();
    let fake = "a".repeat(64);
    let files = vec![
        ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        (format!("blobs/sha256/{fake}"), blob),
        ("index.json".into(), serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{fake}"), "size": 22}]})).unwrap()),
    ];
    let bad = tmp.path().join("bad.tar");
    fs::write(&bad, outer_tar(&files, &[])).unwrap();
    let err = store.load(&bad).unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&fake), "{err}");

    // A layer whose content is not the config's diff id.
    let archive = docker_archive(tmp.path(), &[&layer_a()], &["x:1"], false, true);
    let mut t = tar::Archive::new(fs::File::open(&archive).unwrap());
    let (mut files, mut links) = (Vec::new(), Vec::new());
    for e in t.entries().unwrap() {
        let mut e = e.unwrap();
        let p = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut b).unwrap();
        if p.ends_with("1/layer.tar") {
            b = layer_b();
        }
        match e.header().entry_type() {
            tar::EntryType::Regular => files.push((p, b)),
            _ => links.push((
                p,
                e.link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )),
        }
    }
    fs::write(&archive, outer_tar(&files, &links)).unwrap();
    let err = store.load(&archive).unwrap_err().to_string();
    assert!(err.contains("diff id") && err.contains("layer"), "{err}");
    assert!(store.list().unwrap().is_empty());
    assert_eq!(
        fs::read_dir(store.layout_dir().join("tmp"))
            .unwrap()
            .count(),
        0,
        "staging left behind"
    );
}

#[test]
fn save_then_load_keeps_the_id_and_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("a")).unwrap();
    let archive = docker_archive(
        tmp.path(),
        &[&layer_a(), &layer_b()],
        &["fixture/app:1.0"],
        true,
        true,
    );
    store.load(&archive).unwrap();
    let image = store.resolve("fixture/app:1.0").unwrap();
    let out = tmp.path().join("saved.tar");
    store.save("fixture/app:1.0", &out).unwrap();

    let bytes = fs::read(&out).unwrap();
    let names: Vec<String> = tar_listing(&bytes).into_iter().map(|(p, _)| p).collect();
    for want in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing: {names:?}"
        );
    }
    let mut manifest_json = None;
    let mut a = tar::Archive::new(&bytes[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap() == Path::new("manifest.json") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            manifest_json = Some(serde_json::from_str::<serde_json::Value>(&s).unwrap());
        }
    }
    let m = manifest_json.unwrap();
    assert_eq!(m[0]["RepoTags"], json!(["fixture/app:1.0"]));
    let config_path = m[0]["Config"].as_str().unwrap();
    assert!(names.contains(&config_path.to_string()));
    assert_eq!(m[0]["Layers"].as_array().unwrap().len(), 3);

    let other = Store::open(&tmp.path().join("b")).unwrap();
    assert_eq!(other.load(&out).unwrap(), ["fixture/app:1.0"]);
    let back = other.resolve("fixture/app:1.0").unwrap();
    assert_eq!(back.id, image.id);
    assert_eq!(back.layers, image.layers);

    // By id: no names travel, and the loaded image is listed by id.
    let by_id = tmp.path().join("by-id.tar");
    store.save(&image.id[7..19], &by_id).unwrap();
    let third = Store::open(&tmp.path().join("c")).unwrap();
    assert_eq!(third.load(&by_id).unwrap(), std::slice::from_ref(&image.id));

    // Saving twice gives the same bytes.
    let again = tmp.path().join("again.tar");
    store.save("fixture/app:1.0", &again).unwrap();
    assert_eq!(fs::read(&again).unwrap(), bytes);
    // And the stream variants agree with the file ones.
    let streamed = store.save_to_writer("fixture/app:1.0", Vec::new()).unwrap();
    assert_eq!(streamed, bytes);
    let fourth = Store::open(&tmp.path().join("d")).unwrap();
    let loaded = fourth
        .load_from_reader(&streamed[..], Path::new("<stdin>"))
        .unwrap();
    assert_eq!(loaded, ["fixture/app:1.0"]);
    assert!(store.save("nosuch", &tmp.path().join("x.tar")).is_err());
    assert!(!tmp.path().join("x.tar").exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
