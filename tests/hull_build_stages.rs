//! Multi-stage builds (issue 12), as Docker 20.10's classic builder does them: `FROM … AS name`,
//! `COPY --from=name|index|image`, `--target`; only the last stage (or the target) becomes the
//! image. COPY --from reads the stage's filesystem resolving inside that filesystem and writes
//! through the layer unpacker, like COPY from the context: a symlink in a stage never leads to
//! a host file.
mod support;

use std::fs;

use support::*;

const STAGES: &str = "FROM busybox AS builder
RUN echo built > /out && mkdir /dir && echo x > /dir/x
RUN rm /dir/x
FROM busybox
COPY --from=builder /out /got
COPY --from=0 /dir /d2/
COPY --from=busybox /bin/busybox /opt/busybox
CMD [\"cat\", \"/got\"]
";

#[test]
fn copy_from_a_stage_an_index_and_an_image() {
    let h = Hull::new();
    h.build("ms", STAGES, &[]);
    assert_eq!(h.ok(&["run", "--rm", "ms"]), "built\n");
    // The builder deleted /dir/x in a later layer: the copy of /dir is empty (the whiteout
    // is honoured on the way out of the stage).
    assert_eq!(h.ok(&["run", "--rm", "ms", "ls", "-A", "/d2"]), "");
    assert_eq!(
        h.ok(&["run", "--rm", "ms", "/opt/busybox", "echo", "from-image"]),
        "from-image\n"
    );
    // Only the last stage becomes the image: the builder's steps are not in its history.
    let history = h.ok(&["history", "--no-trunc", "ms"]);
    assert!(!history.contains("echo built"), "{history}");
    // Nothing of the stage reads is left mounted (checked again on drop).
    assert!(h.mounts().is_empty(), "{:?}", h.mounts());
}

#[test]
fn target_stops_at_the_named_stage() {
    let h = Hull::new();
    let ctx = h.dir("ctx-target");
    write_file(&ctx.join("Dockerfile"), STAGES, 0o644);
    let c = ctx.to_str().unwrap();
    h.ok(&["build", "--target", "builder", "-t", "only-builder", c]);
    assert_eq!(
        h.ok(&["run", "--rm", "only-builder", "cat", "/out"]),
        "built\n"
    );
    assert_eq!(
        code(
            h.cmd(&["run", "--rm", "only-builder", "test", "-e", "/got"])
                .status
        ),
        1,
        "the target's image has nothing of the later stage"
    );

    // A failed build exits 1, as Docker's does.
    let (status, out) = h.code(&["build", "--target", "nosuch", "-t", "x", c]);
    assert_eq!(status, 1, "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("failed to reach build target nosuch in Dockerfile"),
        "Docker's words: {err}"
    );
    assert!(
        !stdout(&out).contains("Step"),
        "checked before any step: {}",
        stdout(&out)
    );
}

#[test]
fn bad_from_flags_name_the_line() {
    let h = Hull::new();
    let out = h.build_ctx(
        "self",
        "FROM busybox\nRUN true\nFROM busybox AS two\nCOPY --from=1 /x /y\n",
        &[],
    );
    assert_eq!(code(out.status), 1, "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("line 4") && err.contains("--from=1"), "{err}");

    let out = h.build_ctx(
        "noimage",
        "FROM busybox\nCOPY --from=nosuch-stage /x /y\n",
        &[],
    );
    assert_eq!(code(out.status), 1, "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("nosuch-stage"),
        "{err}"
    );
    assert!(h.mounts().is_empty(), "{:?}", h.mounts());
    assert!(
        entries(&h.root().join("containers")).is_empty(),
        "{:?}",
        entries(&h.root().join("containers"))
    );
}

/// A stage whose files are symlinks to host paths: COPY --from resolves them inside the
/// stage (as the container would), copies links below the source as links, and never writes
/// through a link made by an earlier source of the same COPY.
#[test]
fn copy_from_never_reads_or_writes_host_files_through_a_stages_links() {
    let h = Hull::new();
    let host = h.dir("host");
    fs::write(host.join("secret"), "HOST SECRET\n").unwrap();
    let target = h.dir("host-target");
    let secret = host.join("secret");
    let dockerfile = format!(
        "FROM busybox AS evil
RUN ln -s {secret} /link && mkdir -p /a /b/evil && ln -s {target} /a/evil && echo b > /b/evil/PWNED
FROM busybox
COPY --from=evil /a /b /out/
",
        secret = secret.display(),
        target = target.display()
    );
    let out = h.build_ctx("writes", &dockerfile, &[]);
    assert!(
        entries(&target).is_empty(),
        "hull build wrote into the host directory {}: {}",
        target.display(),
        describe(&out)
    );

    let dockerfile = format!(
        "FROM busybox AS evil\nRUN ln -s {} /link\nFROM busybox\nCOPY --from=evil /link /got\n",
        secret.display()
    );
    let out = h.build_ctx("reads", &dockerfile, &[]);
    if out.status.success() {
        let got = h.cmd(&["run", "--rm", "reads", "cat", "/got"]);
        assert!(
            !stdout(&got).contains("HOST SECRET"),
            "COPY --from read the host's file through the stage's link"
        );
    } else {
        assert_eq!(code(out.status), 1, "{}", describe(&out));
        assert!(stderr(&out).contains("line 4"), "{}", describe(&out));
    }
    assert!(h.mounts().is_empty(), "{:?}", h.mounts());
}

/// A build killed in the middle of a COPY --from leaves no mount behind: the stage is mounted
/// in a mount namespace of the copying thread's own, which dies with hull.
#[test]
fn a_build_killed_during_copy_from_leaves_no_mount() {
    let h = Hull::new();
    let ctx = h.dir("ctx-kill");
    write_file(
        &ctx.join("Dockerfile"),
        "FROM busybox AS big\nRUN dd if=/dev/zero of=/big bs=1M count=32 2>/dev/null\nFROM busybox\nCOPY --from=big /big /big\n",
        0o644,
    );
    let mut build = h.spawn(&["build", "-t", "killed", path_str(&ctx)]);
    // The stage mounted by hull: seen in the mountinfo of one of hull's threads (whatever
    // mount namespace that thread is in).
    let root = h.root().display().to_string();
    let stage_mounted = || {
        h.hull_processes().into_iter().any(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|t| {
                    std::fs::read_to_string(t.path().join("mountinfo"))
                        .is_ok_and(|m| m.lines().any(|l| l.contains(&format!("{root}/tmp/from-"))))
                })
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !stage_mounted() {
        assert!(
            build.running() && std::time::Instant::now() < deadline,
            "the build ended before its COPY --from was seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let pids = h.hull_processes();
    for pid in &pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    build.wait(CMD_TIMEOUT);
    assert!(
        h.mounts().is_empty(),
        "mounts left by a killed COPY --from: {:?}",
        h.mounts()
    );
}

/// ARGs before the first FROM: usable in FROM, the default of an ARG redeclared in a stage,
/// unset in a stage that does not redeclare it; `FROM stage` builds on an earlier stage. The
/// same output as Docker 20.10's classic builder for this Dockerfile.
#[test]
fn global_args_and_from_an_earlier_stage() {
    let h = Hull::new();
    let dockerfile = "ARG BASE=busybox\nFROM ${BASE} AS a\nARG BASE\nRUN echo \"base=$BASE\" > /base\nFROM a\nRUN echo \"again=$BASE\" > /again\nCOPY --from=0 /base /copied\nCMD [\"cat\", \"/copied\", \"/again\"]\n";
    h.build("args", dockerfile, &[]);
    assert_eq!(h.ok(&["run", "--rm", "args"]), "base=busybox\nagain=\n");
    // The same build again: every step from the cache, COPY --from included.
    let again = stdout(&h.build_ctx("args", dockerfile, &[]));
    assert_eq!(again.matches("Using cache").count(), 4, "{again}");
}
