//! The store's verbs: busybox, resolve, commit, tag, history, list, inspect, remove.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use oci_spec::image::{Config, ConfigBuilder};

use super::{root_or_skip, tree};
use crate::{ImageError, Store};

fn blob_count(store: &Store) -> usize {
    fs::read_dir(store.layout_dir().join("blobs/sha256"))
        .unwrap()
        .count()
}

fn run_config() -> Config {
    ConfigBuilder::default()
        .cmd(vec!["echo".to_string(), "hi".to_string()])
        .env(vec!["PATH=/bin".to_string(), "A=1".to_string()])
        .working_dir("/tmp")
        .user("1000")
        .exposed_ports(vec!["80/tcp".to_string()])
        .labels(HashMap::from([(
            "maintainer".to_string(),
            "hull".to_string(),
        )]))
        .build()
        .unwrap()
}

#[test]
fn busybox_is_made_on_first_use_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("one")).unwrap();
    assert!(store.list().unwrap().is_empty());
    let image = store.resolve("busybox").unwrap();
    assert_eq!(image.names, ["busybox:latest"]);
    assert_eq!(store.resolve("busybox:latest").unwrap(), image);
    let c = image.config.config().clone().unwrap();
    assert_eq!(c.cmd().clone().unwrap(), ["sh"]);
    assert_eq!(
        c.env().clone().unwrap(),
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    );
    assert_eq!(image.layers.len(), 1);
    let other = Store::open(&tmp.path().join("two")).unwrap();
    assert_eq!(
        other.ensure_busybox().unwrap().id,
        image.id,
        "the id is stable on one host"
    );
    assert!(matches!(
        store.resolve("busybox:1.36"),
        Err(ImageError::NotFound { .. })
    ));

    if root_or_skip("busybox_is_made_on_first_use_and_is_deterministic (unpack part)") {
        let dirs = store.layer_dirs(&image).unwrap();
        let root = &dirs[0];
        assert_eq!(
            fs::read_link(root.join("bin/sh")).unwrap(),
            Path::new("busybox")
        );
        assert_eq!(
            fs::read(root.join("bin/busybox")).unwrap(),
            fs::read("/bin/busybox").unwrap()
        );
        let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
        assert!(
            passwd.contains("root:x:0:0:")
                && passwd.contains("nobody:x:65534:")
                && passwd.contains("user:x:1000:")
        );
        assert!(fs::read_to_string(root.join("etc/group"))
            .unwrap()
            .contains("user:x:1000:"));
        assert_eq!(
            fs::metadata(root.join("tmp")).unwrap().permissions().mode() & 0o7777,
            0o1777
        );
        for d in [
            "proc", "sys", "dev", "root", "home", "var", "usr/bin", "etc",
        ] {
            assert!(root.join(d).is_dir(), "{d}");
        }
        let out = std::process::Command::new("chroot")
            .arg(root)
            .args(["/bin/sh", "-c", "echo ok; id -u"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n0\n");
    }
}

#[test]
fn resolve_understands_names_ids_and_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let bb = store.ensure_busybox().unwrap();
    let hex = &bb.id[7..];
    for r in [
        bb.id.as_str(),
        &bb.id[..19],
        &hex[..12],
        &hex[..4],
        "busybox",
        "busybox:latest",
    ] {
        assert_eq!(store.resolve(r).unwrap().id, bb.id, "{r}");
    }
    let pinned = format!("busybox@{}", bb.manifest_digest);
    assert_eq!(store.resolve(&pinned).unwrap().id, bb.id);
    let err = store.resolve("nosuch:tag").unwrap_err().to_string();
    assert!(err.contains("nosuch:tag"), "{err}");
    let err = store.resolve("Bad Name").unwrap_err();
    assert!(matches!(err, ImageError::InvalidReference { .. }), "{err}");
    assert!(matches!(
        store.resolve("sha256:zz"),
        Err(ImageError::InvalidReference { .. })
    ));
    assert!(matches!(
        store.resolve("abc"),
        Err(ImageError::NotFound { .. })
    ));
}

#[test]
fn commit_tag_history_list_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let base = store.resolve("busybox").unwrap();
    let config = run_config();
    let img = store
        .commit(
            Some(&base),
            None,
            config,
            "hull commit --change 'CMD echo hi'",
        )
        .unwrap();
    assert_ne!(img.id, base.id);
    assert!(img.names.is_empty());
    assert_eq!(img.layers, base.layers);
    store.tag(&img, "mine").unwrap();
    let img = store.resolve("mine:latest").unwrap();
    assert_eq!(img.names, ["mine:latest"]);

    let h = store.history("mine").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].created_by, "hull commit --change 'CMD echo hi'");
    assert!(h[0].empty_layer);
    assert_eq!(h[0].size, 0);
    assert!(!h[1].empty_layer);
    assert_eq!(h[1].size, base.layers[0].size);
    assert!(h[1].created_by.contains("BusyBox"));

    let j = store.inspect_json("mine").unwrap();
    assert_eq!(j["Id"], img.id.as_str());
    assert_eq!(j["RepoTags"], serde_json::json!(["mine:latest"]));
    assert_eq!(j["Config"]["Cmd"], serde_json::json!(["echo", "hi"]));
    assert_eq!(j["Config"]["WorkingDir"], "/tmp");
    assert_eq!(j["Config"]["User"], "1000");
    assert_eq!(
        j["Config"]["ExposedPorts"],
        serde_json::json!({"80/tcp": {}})
    );
    assert_eq!(
        j["Config"]["Labels"],
        serde_json::json!({"maintainer": "hull"})
    );
    assert_eq!(j["Config"]["Entrypoint"], serde_json::Value::Null);
    assert_eq!(j["RootFS"]["Type"], "layers");
    assert_eq!(
        j["RootFS"]["Layers"],
        serde_json::json!([base.layers[0].diff_id])
    );
    assert_eq!(j["Size"], base.layers[0].size);

    // A commit with a new layer, from a plain directory standing in for an upper dir.
    let upper = tmp.path().join("upper");
    fs::create_dir_all(upper.join("app")).unwrap();
    fs::write(upper.join("app/run.sh"), "echo run").unwrap();
    let layered = store
        .commit(Some(&img), Some(&upper), Config::default(), "RUN make app")
        .unwrap();
    assert_eq!(layered.layers.len(), 2);
    let h = store.history(&layered.id).unwrap();
    assert_eq!(
        (h[0].created_by.as_str(), h[0].empty_layer),
        ("RUN make app", false)
    );
    assert_eq!(h[0].size, layered.layers[1].size);
    assert_eq!(h.len(), 3);

    // Retagging moves the name; the old image stays as <none>:<none>.
    store.tag(&layered, "mine").unwrap();
    assert_eq!(store.resolve("mine").unwrap().id, layered.id);
    let rows = store.list().unwrap();
    let row = |id: &str| {
        rows.iter()
            .filter(|r| r.id == id)
            .map(|r| format!("{}:{}", r.repository, r.tag))
            .collect::<Vec<_>>()
    };
    assert_eq!(row(&img.id), ["<none>:<none>"]);
    assert_eq!(row(&layered.id), ["mine:latest"]);
    assert_eq!(row(&base.id), ["busybox:latest"]);
    assert_eq!(rows[0].id, layered.id, "newest first");
    assert!(store.tag(&layered, "Bad").is_err());
    store.tag(&layered, "localhost:5000/team/app:v1").unwrap();
    assert_eq!(
        store.resolve("localhost:5000/team/app:v1").unwrap().id,
        layered.id
    );
}

#[test]
fn remove_untags_then_deletes_what_nothing_references() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("root")).unwrap();
    let base = store.resolve("busybox").unwrap();
    let upper = tmp.path().join("upper");
    fs::create_dir_all(&upper).unwrap();
    fs::write(upper.join("f"), "f").unwrap();
    let img = store
        .commit(Some(&base), Some(&upper), Config::default(), "add f")
        .unwrap();
    store.tag(&img, "app:1").unwrap();
    store.tag(&img, "app:2").unwrap();
    let blobs_before = blob_count(&store);
    assert_eq!(blobs_before, 6, "2 manifests, 2 configs, 2 layers");
    if root_or_skip("remove_untags_then_deletes_what_nothing_references (layer dirs)") {
        store.layer_dirs(&img).unwrap();
        assert_eq!(
            fs::read_dir(tmp.path().join("root/layers"))
                .unwrap()
                .count(),
            2
        );
    }

    // By id with two names: refused without force.
    let err = store.remove(&img.id, false).unwrap_err();
    assert!(matches!(err, ImageError::Conflict(_)), "{err}");
    assert!(err.to_string().contains(&img.id[7..19]));
    // By name with two names: only untagged.
    assert_eq!(store.remove("app:1", false).unwrap(), ["Untagged: app:1"]);
    assert_eq!(blob_count(&store), blobs_before);
    // The last name: untagged and deleted, with its own layer; busybox's layer stays.
    let out = store.remove("app:2", false).unwrap();
    assert_eq!(
        out[..2],
        [
            "Untagged: app:2".to_string(),
            format!("Deleted: {}", img.id)
        ]
    );
    assert_eq!(out[2], format!("Deleted: {}", img.layers[1].digest));
    assert_eq!(blob_count(&store), 3);
    assert!(store.resolve(&img.id).is_err());
    assert_eq!(store.resolve("busybox").unwrap().id, base.id);
    if nix::unistd::geteuid().is_root() {
        let layers = tree(&tmp.path().join("root/layers"));
        let bb_hex = &base.layers[0].diff_id[7..];
        assert!(layers.iter().all(|l| l.starts_with(bb_hex)), "{layers:?}");
    }
    // Forced removal by id of a doubly-named image; then the store is empty.
    store.tag(&base, "other").unwrap();
    let out = store.remove(&base.id[7..], true).unwrap();
    assert!(
        out.contains(&"Untagged: busybox:latest".to_string())
            && out.contains(&"Untagged: other:latest".to_string())
    );
    assert_eq!(blob_count(&store), 0);
    assert_eq!(
        fs::read_dir(tmp.path().join("root/layers"))
            .unwrap()
            .count(),
        0
    );
    assert!(store.list().unwrap().is_empty());
    assert!(matches!(
        store.remove("nothing", false),
        Err(ImageError::NotFound { .. })
    ));
}

#[test]
fn concurrent_users_share_one_busybox_and_one_unpack() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Store::open(&root).unwrap().resolve("busybox").unwrap().id))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let store = Store::open(&root).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    assert_eq!(blob_count(&store), 3, "one manifest, one config, one layer");
    if !root_or_skip("concurrent_users_share_one_busybox_and_one_unpack (unpack part)") {
        return;
    }
    let image = store.resolve("busybox").unwrap();
    let dirs: Vec<Vec<std::path::PathBuf>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.layer_dirs(&image).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(dirs.windows(2).all(|w| w[0] == w[1]));
    let layers: Vec<_> = fs::read_dir(root.join("layers"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        layers.len(),
        1,
        "temporary unpack dirs left behind: {layers:?}"
    );
}

#[test]
fn opening_the_store_removes_temporaries_of_ended_processes_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let store = Store::open(root).unwrap();
    let me = std::process::id();
    let start = crate::owner::start_time(me as i32).unwrap();
    let dead = format!("{me}.{}", start + 1);
    let live = crate::owner::tag();
    let paths = [
        (format!("images/tmp/load-{dead}-0-1"), false),
        (format!("images/tmp/load-{live}-0-1"), true),
        (format!("layers/.tmp-0123456789ab-{dead}-0-1"), false),
        (format!("layers/.trash-{live}-0-1"), true),
        // Not a temporary: a layer directory is never judged by its name.
        (format!("layers/{}", "a".repeat(64)), true),
    ];
    for (p, _) in &paths {
        fs::create_dir_all(root.join(p).join("inside")).unwrap();
    }
    fs::write(root.join(format!("images/tmp/blob-{dead}-3-4")), b"x").unwrap();
    drop(store);
    Store::open(root).unwrap();
    for (p, kept) in &paths {
        assert_eq!(root.join(p).exists(), *kept, "{p}");
    }
    assert!(!root.join(format!("images/tmp/blob-{dead}-3-4")).exists());
}
