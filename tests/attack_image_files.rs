//! Hostile images against the files `hull` reads in a container's rootfs from the host side
//! (issue 12): an image whose `/etc/passwd` or `/etc/group` is a symlink to a host file, a FIFO
//! or a link to `/dev/zero`. `-u NAME` must resolve inside the rootfs, never read a host file,
//! and never hang on or flood itself with what it finds there. The host files the attacks aim
//! at live in the test's own scratch directory.
mod support;

use std::time::Duration;

use support::*;

/// Writes a build context `name` (Dockerfile and files) and builds it as `tag`.
fn build_in(
    h: &Hull,
    name: &str,
    dockerfile: &str,
    files: &[(&str, &str)],
) -> std::process::Output {
    let ctx = h.dir(name);
    write_file(&ctx.join("Dockerfile"), dockerfile, 0o644);
    for (path, text) in files {
        write_file(&ctx.join(path), text, 0o644);
    }
    h.cmd(&["build", "-t", name, ctx.to_str().expect("UTF-8 path")])
}

/// An image whose `/etc/passwd` (or `/etc/group`) is a symlink to a host file: `-u NAME`
/// resolves inside the rootfs, where the link leads nowhere, so the name is unknown — the
/// host file's ids are never used.
#[test]
fn user_and_group_names_resolve_inside_the_image_not_on_the_host() {
    let h = Hull::new();
    let fake = h.dir("host-etc");
    write_file(&fake.join("passwd"), "evil:x:4242:4242::/:/bin/sh\n", 0o644);
    write_file(&fake.join("group"), "evilgrp:x:4343:\n", 0o644);
    let dockerfile = format!(
        "FROM busybox\nRUN rm -f /etc/passwd /etc/group && ln -s {p} /etc/passwd && ln -s {g} /etc/group\n",
        p = fake.join("passwd").display(),
        g = fake.join("group").display()
    );
    must(
        "hull build of an image with host-pointing passwd links",
        build_in(&h, "links", &dockerfile, &[]),
    );
    let (code, out) = h.code(&["run", "--rm", "-u", "evil", "links", "id", "-u"]);
    assert_eq!(
        code,
        125,
        "-u evil took a uid from the host file: {}",
        describe(&out)
    );
    assert!(
        stderr(&out).contains("unable to find user evil"),
        "{}",
        describe(&out)
    );
    let (code, out) = h.code(&["run", "--rm", "-u", "0:evilgrp", "links", "id", "-g"]);
    assert_eq!(
        code,
        125,
        "-u 0:evilgrp took a gid from the host file: {}",
        describe(&out)
    );
    assert!(
        stderr(&out).contains("unable to find group evilgrp"),
        "{}",
        describe(&out)
    );
}

/// `/etc/passwd` as a FIFO, or as a link to `/dev/zero`: hull must not block on it nor read it
/// without end. The FIFO is refused at once, by name; the link resolves inside the image, where
/// `/dev/zero` does not exist (layers carry no device nodes), so there is no passwd at all.
#[test]
fn a_passwd_that_is_not_a_regular_file_is_never_read() {
    let h = Hull::new();
    for (tag, make, want) in [
        (
            "zero",
            "ln -s /dev/zero /etc/passwd",
            "unable to find user user",
        ),
        ("fifo", "mkfifo /etc/passwd", "/etc/passwd in the rootfs"),
    ] {
        let dockerfile = format!("FROM busybox\nRUN rm -f /etc/passwd && {make}\n");
        must(
            &format!("hull build of an image whose passwd is a {tag}"),
            build_in(&h, tag, &dockerfile, &[]),
        );
        let mut cmd = h.command(&["run", "--rm", "-u", "user", tag, "id", "-u"]);
        // hull's address space is capped: a passwd read without bound fails here instead of
        // eating the machine's memory.
        // SAFETY: only the async-signal-safe setrlimit(2) between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                use nix::sys::resource::{setrlimit, Resource};
                setrlimit(Resource::RLIMIT_AS, 2 << 30, 2 << 30).map_err(std::io::Error::from)
            });
        }
        let out = capture(cmd, Duration::from_secs(20));
        assert_eq!(code(out.status), 125, "{tag}: {}", describe(&out));
        let err = stderr(&out);
        assert!(
            err.contains(want),
            "{tag}: the error must say {want:?}: {err}"
        );
        if tag == "fifo" {
            assert!(err.contains("is not a regular file (a FIFO)"), "{err}");
        }
        assert_eq!(err.trim().lines().count(), 1, "{tag}: one line: {err}");
    }
}

/// `hull diff` walks the container's upper dir on the host while the container runs: a
/// directory the container swaps for a symlink to a host directory, between hull's look at it
/// and its listing, must not make hull list the host directory — nor may an entry that
/// vanishes meanwhile make the diff fail (before, about one diff in seven failed here with
/// "listing …/upper/d: No such file or directory"; the swap itself is too quick to catch
/// reliably, the failures show the same window).
#[test]
fn diff_never_lists_a_host_directory_through_a_swapped_symlink() {
    let h = Hull::new();
    let secrets = h.dir("host-secrets");
    write_file(&secrets.join("HOST_SECRET_NAME"), "x\n", 0o644);
    let swap = format!(
        "mkdir -p /d && touch /d/inner && while :; do mv /d /d.x; ln -s {s} /d; rm /d; mv /d.x /d; done",
        s = secrets.display()
    );
    h.detach("swapper", &["busybox", "sh", "-c", &swap]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut runs = 0;
    while runs < 300 && std::time::Instant::now() < deadline {
        let out = h.cmd(&["diff", "swapper"]);
        assert!(
            out.status.success(),
            "hull diff of a busy container failed (run {runs}): {}",
            describe(&out)
        );
        assert!(
            !stdout(&out).contains("HOST_SECRET_NAME"),
            "hull diff listed a host directory (run {runs}): {}",
            describe(&out)
        );
        runs += 1;
    }
    assert!(runs >= 20, "only {runs} diffs ran in 30 s");
}
