//! `hull save` / `hull load` through standard output and input, `hull load -i DIR` of an OCI
//! layout directory, and their errors (issue 12): a tar is never written to a terminal (Docker:
//! "cowardly refusing…"), an error names the file once and never prints its content.
mod support;

use std::fs;
use std::process::Stdio;

use support::*;

/// `hull save busybox > FILE` (stdout redirected to a file) in `h`; returns the file.
fn save_to_stdout(h: &Hull, image: &str) -> std::path::PathBuf {
    let file = h
        .dir("saved")
        .join(format!("{}.tar", image.replace(':', "-")));
    let mut c = h.command(&["save", image]);
    c.stdout(fs::File::create(&file).unwrap())
        .stderr(Stdio::piped());
    let out = c.output().expect("spawn hull save");
    assert!(
        out.status.success(),
        "hull save {image} > FILE: {}",
        describe(&out)
    );
    file
}

/// `hull load < FILE` in `h`.
fn load_from_stdin(h: &Hull, file: &std::path::Path) -> std::process::Output {
    Background::spawn_with_stdin(
        h.command(&["load"]),
        Stdio::from(fs::File::open(file).unwrap()),
    )
    .finish(CMD_TIMEOUT)
}

#[test]
fn save_to_stdout_and_load_from_stdin() {
    let h = Hull::new();
    h.build("sl:1", "FROM busybox\nRUN echo hi > /hi\n", &[]);
    let file = save_to_stdout(&h, "sl:1");
    let fresh = Hull::new();
    let out = load_from_stdin(&fresh, &file);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stdout(&out), "Loaded image: sl:1\n");
    assert_eq!(fresh.ok(&["run", "--rm", "sl:1", "cat", "/hi"]), "hi\n");
}

#[test]
fn no_tar_to_or_from_a_terminal() {
    let h = Hull::new();
    h.ok(&["tag", "busybox", "bb:t"]);
    let out = h.in_terminal("save bb:t");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_ne!(code(out.status), 0, "{text}");
    assert!(
        text.contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"),
        "Docker's words: {text}"
    );
    assert!(
        text.len() < 300,
        "no tar on the terminal: {} bytes",
        text.len()
    );

    let out = h.in_terminal("load");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_ne!(code(out.status), 0, "{text}");
    assert!(
        text.contains("requested load from stdin, but stdin is empty"),
        "Docker's words: {text}"
    );
}

#[test]
fn load_an_oci_layout_directory() {
    let h = Hull::new();
    h.build("dir:1", "FROM busybox\nRUN echo from-dir > /f\n", &[]);
    let file = save_to_stdout(&h, "dir:1");
    let layout = h.dir("layout");
    run_ok("tar", &["-xf", path_str(&file), "-C", path_str(&layout)]);
    let fresh = Hull::new();
    let out = fresh.ok(&["load", "-i", path_str(&layout)]);
    assert_eq!(out, "Loaded image: dir:1\n");
    assert_eq!(
        fresh.ok(&["run", "--rm", "dir:1", "cat", "/f"]),
        "from-dir\n"
    );

    // A blob that is a symlink out of the directory is not read through: the host file's
    // content never becomes an image, and the error names the entry.
    let evil = h.dir("evil-layout");
    run_ok("tar", &["-xf", path_str(&file), "-C", path_str(&evil)]);
    let secret = h.dir("host").join("secret");
    fs::write(&secret, "HOST SECRET CONTENT").unwrap();
    let blobs = evil.join("blobs/sha256");
    let victim = fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .path();
    fs::remove_file(&victim).unwrap();
    std::os::unix::fs::symlink(&secret, &victim).unwrap();
    let other = Hull::new();
    let (c, out) = other.code(&["load", "-i", path_str(&evil)]);
    assert_ne!(c, 0, "{}", describe(&out));
    assert!(
        !describe(&out).contains("HOST SECRET"),
        "{}",
        describe(&out)
    );
    assert!(other.ok(&["images", "-q"]).is_empty() || !other.ok(&["images"]).contains("dir"));
}

#[test]
fn errors_name_the_file_once_and_never_its_content() {
    let h = Hull::new();
    let dir = h.dir("bad");
    let junk = dir.join("junk.tar");
    fs::write(&junk, "SECRET-CONTENT of a file that is no tarball\n").unwrap();
    let (c, out) = h.code(&["load", "-i", path_str(&junk)]);
    assert_ne!(c, 0);
    let err = stderr(&out);
    assert_eq!(err.matches("junk.tar").count(), 1, "{err}");
    assert!(!err.contains("SECRET"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let out = load_from_stdin(&h, &junk);
    assert_ne!(code(out.status), 0);
    let err = stderr(&out);
    assert!(
        err.contains("standard input") && !err.contains("SECRET"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let (c, out) = h.code(&["load", "-i", path_str(&dir.join("nosuch.tar"))]);
    assert_ne!(c, 0);
    let err = stderr(&out);
    assert_eq!(err.matches("nosuch.tar").count(), 1, "{err}");
    // Nothing staged is left behind by the failed loads.
    assert!(
        entries(&h.root().join("images/tmp")).is_empty(),
        "{:?}",
        entries(&h.root().join("images/tmp"))
    );
}
