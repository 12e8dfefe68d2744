//! Images through the engine: whiteouts from `hull build` (in a container, in the saved OCI
//! tarball, in the unpacked layer directories), `images`, `history`, `tag`, `rmi`, `save` →
//! `load` into a fresh root, and `hull build`'s errors.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::Value;
use support::{describe, stderr, stdout, Hull};

/// The second RUN deletes a file the first made and replaces a directory.
const WHITEOUTS: &str = "FROM busybox
RUN echo one > /f && mkdir /d && echo old > /d/old
RUN rm /f && rm -rf /d && mkdir /d && echo new > /d/new
";

/// Every file of a tar (name → content), gunzipping first when it is gzip.
fn tar_files(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut plain = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut plain)
            .expect("gunzip a layer");
    } else {
        plain = bytes.to_vec();
    }
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(plain.as_slice());
    for e in archive.entries().expect("read tar entries") {
        let mut e = e.expect("read a tar entry");
        let name = e.path().expect("entry path").display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read entry data");
        files.insert(name.trim_start_matches("./").to_string(), data);
    }
    files
}

fn json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"))
}

fn blob<'a>(files: &'a BTreeMap<String, Vec<u8>>, digest: &str) -> &'a [u8] {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    files
        .get(&format!("blobs/sha256/{hex}"))
        .unwrap_or_else(|| panic!("the saved tarball has no blob {digest}"))
}

#[test]
fn whiteouts_in_the_container_the_tarball_and_the_layer_dirs() {
    let h = Hull::new();
    h.build("wh", WHITEOUTS, &[]);

    // In a container: the file is gone, the new directory shows only its new content.
    let ls = h.ok(&[
        "run",
        "--rm",
        "wh",
        "sh",
        "-c",
        "ls -A /d; test -e /f && echo f-exists; true",
    ]);
    assert_eq!(ls, "new\n", "ls /d (and /f must be gone)");

    // In `hull save`'s OCI layout: the last layer holds `.wh.f` and `d/.wh..wh..opq`.
    let tarball = h.dir("save").join("wh.tar");
    h.ok(&["save", "-o", tarball.to_str().unwrap(), "wh"]);
    let saved = tar_files(&std::fs::read(&tarball).expect("read the saved tarball"));
    let index = json(&saved["index.json"], "index.json");
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .expect("index.json: a manifest");
    let manifest = json(blob(&saved, manifest_digest), "the manifest");
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .expect("manifest layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("layer digest"))
        .collect();
    assert_eq!(layers.len(), 3, "busybox + two RUN layers: {manifest}");
    let first_run = tar_files(blob(&saved, layers[1]));
    let second_run = tar_files(blob(&saved, layers[2]));
    assert!(
        first_run.contains_key("f") && first_run.contains_key("d/old"),
        "{:?}",
        first_run.keys()
    );
    for want in [".wh.f", "d/.wh..wh..opq", "d/new"] {
        assert!(
            second_run.contains_key(want),
            "the second RUN's layer should hold {want}: {:?}",
            second_run.keys()
        );
    }
    assert!(!second_run.contains_key("d/old"), "{:?}", second_run.keys());

    // Unpacked under HULL_ROOT/layers/<diff id>: overlayfs's own whiteouts.
    let image = h.ok(&["image", "inspect", "wh"]);
    let image = json(image.as_bytes(), "image inspect");
    let diff_ids = image[0]["RootFS"]["Layers"]
        .as_array()
        .expect("RootFS.Layers");
    assert_eq!(diff_ids.len(), 3);
    let hex = diff_ids[2]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    let dir = h.root().join("layers").join(hex);
    let f = std::fs::symlink_metadata(dir.join("f")).unwrap_or_else(|e| {
        panic!(
            "{}/f: {e}: the deleted file needs a whiteout",
            dir.display()
        )
    });
    assert!(
        f.file_type().is_char_device(),
        "{}/f should be a char device",
        dir.display()
    );
    assert_eq!(f.rdev(), 0, "{}/f should be device 0/0", dir.display());
    assert_eq!(
        opaque(&dir.join("d")).as_deref(),
        Some(&b"y"[..]),
        "trusted.overlay.opaque on d"
    );
    assert!(!dir.join("d/.wh..wh..opq").exists() && !dir.join(".wh.f").exists());
}

/// The `trusted.overlay.opaque` attribute of `path`, if set.
fn opaque(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut buf = [0u8; 16];
    // SAFETY: both buffers are valid for the lengths given.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn images_history_tag_and_rmi() {
    let h = Hull::new();
    h.ok(&["run", "--rm", "busybox", "true"]); // makes busybox
    h.build(
        "app:1.0",
        "FROM busybox\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n",
        &[],
    );

    let images = h.ok(&["images"]);
    let rows: Vec<Vec<&str>> = images
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..3], ["REPOSITORY", "TAG", "IMAGE"], "{images}");
    assert!(
        rows.iter().any(|r| r[..2] == ["busybox", "latest"]),
        "{images}"
    );
    assert!(rows.iter().any(|r| r[..2] == ["app", "1.0"]), "{images}");

    let history = h.ok(&["history", "app:1.0"]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(lines[0].starts_with("CREATED"), "{history}");
    assert!(
        lines[1].contains("CMD [\"cat\", \"/hi\"]"),
        "newest first: {history}"
    );
    assert!(lines[2].contains("RUN echo hi > /hi"), "{history}");
    assert!(
        lines[3].contains("BusyBox"),
        "the base layer last: {history}"
    );
    assert_eq!(lines.len(), 4, "{history}");

    h.ok(&["tag", "app:1.0", "other/name:v2"]);
    let id = |r: &str| {
        h.ok(&["image", "inspect", "-f", "{{.Id}}", r])
            .trim()
            .to_string()
    };
    assert_eq!(
        id("other/name:v2"),
        id("app:1.0"),
        "a tag names the same image"
    );
    assert_eq!(h.ok(&["run", "--rm", "other/name:v2"]), "hi\n");

    // Removing one name keeps the image; removing the last deletes it.
    let out = h.ok(&["rmi", "other/name:v2"]);
    assert!(out.contains("Untagged: other/name:v2"), "{out}");
    assert!(!h.ok(&["images"]).contains("other/name"));
    assert_eq!(h.ok(&["run", "--rm", "app:1.0"]), "hi\n");
    let out = h.ok(&["rmi", "app:1.0"]);
    assert!(out.contains("Deleted: sha256:"), "{out}");
    let (code, out) = h.code(&["run", "--rm", "app:1.0"]);
    assert_eq!(code, 125, "run of a removed image: {}", describe(&out));
    let (code, out) = h.code(&["rmi", "app:1.0"]);
    assert_ne!(code, 0, "rmi of a removed image: {}", describe(&out));
}

#[test]
fn rmi_refuses_an_image_a_container_uses() {
    // Docker: "conflict: unable to remove repository reference … container … is using its
    // referenced image"; hull deletes it, and the running container's lower dir with it.
    let h = Hull::new();
    h.build("used", "FROM busybox\nRUN touch /used\n", &[]);
    h.detach("user", &["used", "sleep", "100"]);
    let (code, out) = h.code(&["rmi", "used"]);
    assert_ne!(
        code,
        0,
        "rmi of an image a running container uses: {}",
        describe(&out)
    );
    assert_eq!(h.ok(&["exec", "user", "ls", "/used"]), "/used\n");
    assert_eq!(h.ok(&["diff", "user"]), "");
}

#[test]
fn save_and_load_into_a_fresh_root() {
    let h = Hull::new();
    h.build(
        "round:trip",
        "FROM busybox\nRUN echo payload > /data && rm /bin/ls\nENV GREETING=hello\nCMD [\"sh\", \"-c\", \"cat /data; echo $GREETING; test -e /bin/ls || echo no-ls\"]\n",
        &[],
    );
    let id = h.ok(&["image", "inspect", "-f", "{{.Id}}", "round:trip"]);
    let tarball = h.dir("save").join("round.tar");
    h.ok(&["save", "-o", tarball.to_str().unwrap(), "round:trip"]);

    let fresh = Hull::new();
    let out = fresh.ok(&["load", "-i", tarball.to_str().unwrap()]);
    assert!(out.contains("Loaded image: round:trip"), "{out}");
    assert_eq!(
        fresh.ok(&["image", "inspect", "-f", "{{.Id}}", "round:trip"]),
        id,
        "the image id survives save/load"
    );
    assert_eq!(
        fresh.ok(&["run", "--rm", "round:trip"]),
        "payload\nhello\nno-ls\n"
    );
    assert!(
        fresh.ok(&["images"]).contains("round"),
        "the loaded image is listed"
    );

    // A file that is not an image is refused, with status 1 as Docker's `load`.
    let junk = h.dir("save").join("junk.tar");
    std::fs::write(&junk, b"not a tarball").unwrap();
    let (code, out) = fresh.code(&["load", "-i", junk.to_str().unwrap()]);
    assert_eq!(code, 1, "load of junk: {}", describe(&out));
}

/// Builds `dockerfile` (with `files`) and returns stderr, expecting the failure status Docker's
/// build gives: 1, or a failed RUN step's own status.
fn build_fails(h: &Hull, tag: &str, dockerfile: &str, files: &[(&str, &str, u32)]) -> String {
    let out = h.build_ctx(tag, dockerfile, files);
    let want = if dockerfile.contains("RUN exit 7") {
        7
    } else {
        1
    };
    assert_eq!(
        support::code(out.status),
        want,
        "hull build of:\n{dockerfile}\n{}",
        describe(&out)
    );
    stderr(&out)
}

#[test]
fn build_errors_name_the_line() {
    let h = Hull::new();
    let err = build_fails(
        &h,
        "unknown",
        "FROM busybox\nRUN true\nFROBNICATE now\n",
        &[],
    );
    assert!(
        err.contains("line 3") && err.contains("FROBNICATE"),
        "{err}"
    );

    let err = build_fails(
        &h,
        "failing",
        "FROM busybox\nRUN true\n\nRUN exit 7\nCMD x\n",
        &[],
    );
    assert!(
        err.contains("line 4") && err.contains("exit 7"),
        "names line 4: {err}"
    );
    assert!(err.contains('7'), "names the exit code: {err}");
    assert!(
        !h.ok(&["images"]).contains("failing"),
        "a failed build is not tagged"
    );

    let err = build_fails(&h, "missing", "FROM busybox\nCOPY nothere /x\n", &[]);
    assert!(err.contains("line 2") && err.contains("nothere"), "{err}");

    // ../outside exists (in the scratch dir, next to the context) but is outside the context.
    support::write_file(&h.scratch().join("outside"), "secret\n", 0o644);
    let err = build_fails(&h, "escape", "FROM busybox\nCOPY ../outside /x\n", &[]);
    assert!(
        err.contains("line 2") && err.contains("outside the build context"),
        "{err}"
    );

    let err = build_fails(&h, "noimage", "FROM no-such-base:1\nRUN true\n", &[]);
    assert!(err.contains("no-such-base"), "{err}");

    // Nothing of the failed RUN steps is left running or mounted (checked again on drop).
    assert!(
        h.mounts().is_empty(),
        "mounts left by failed builds: {:?}",
        h.mounts()
    );
    assert!(
        support::entries(&h.root().join("containers")).is_empty(),
        "build containers left: {:?}",
        support::entries(&h.root().join("containers"))
    );
}

#[test]
fn build_cache_and_context() {
    let h = Hull::new();
    let dockerfile = "FROM busybox\nWORKDIR /app\nCOPY files/ ./\nRUN cat a.txt b.txt > both\nUSER 1000\nCMD [\"cat\", \"both\"]\n";
    let files = [("files/a.txt", "A\n", 0o644), ("files/b.txt", "B\n", 0o644)];
    h.build("ctx", dockerfile, &files);
    assert_eq!(h.ok(&["run", "--rm", "ctx"]), "A\nB\n");
    assert_eq!(
        h.ok(&["run", "--rm", "ctx", "id", "-u"]),
        "1000\n",
        "USER applies to run"
    );
    assert_eq!(
        h.ok(&["run", "--rm", "ctx", "pwd"]),
        "/app\n",
        "WORKDIR applies to run"
    );
    // The same build again uses the cache for every step.
    let again = stdout(&h.build_ctx("ctx", dockerfile, &files));
    assert_eq!(again.matches("Using cache").count(), 5, "{again}");
    // A changed file invalidates its COPY and what follows.
    let changed = [
        ("files/a.txt", "A2\n", 0o644),
        ("files/b.txt", "B\n", 0o644),
    ];
    let out = stdout(&h.build_ctx("ctx", dockerfile, &changed));
    assert_eq!(
        out.matches("Using cache").count(),
        1,
        "only WORKDIR is cached: {out}"
    );
    assert_eq!(h.ok(&["run", "--rm", "ctx"]), "A2\nB\n");
}
