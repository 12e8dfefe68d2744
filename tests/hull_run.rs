//! `hull run`'s flags, observed from inside the container and on the host: volumes (`-v`, `:ro`),
//! `--read-only`, `--tmpfs`, `-e`/`--env-file`, `-w`, `-u`, `--hostname`, `--name` conflicts,
//! and `hull diff` of what a container changed.

mod support;

use support::{describe, stderr, write_file, Hull};

/// `hull run --rm busybox sh -c SCRIPT` with `flags` before the image; must succeed.
fn sh(h: &Hull, flags: &[&str], script: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(flags);
    all.extend_from_slice(&["busybox", "sh", "-c", script]);
    h.ok(&all)
}

/// Same, for a script expected to fail: (exit code, stderr).
fn sh_fails(h: &Hull, flags: &[&str], script: &str) -> (i32, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(flags);
    all.extend_from_slice(&["busybox", "sh", "-c", script]);
    let (code, out) = h.code(&all);
    (code, stderr(&out))
}

#[test]
fn bind_volumes_read_write_and_read_only() {
    let h = Hull::new();
    let host = h.dir("vol");
    write_file(&host.join("from-host"), "hello from the host\n", 0o644);
    let spec = format!("{}:/data", host.display());

    // The container sees the host's file; the host sees the container's writes.
    let out = sh(
        &h,
        &["-v", &spec],
        "cat /data/from-host; echo written > /data/from-ctr",
    );
    assert_eq!(out, "hello from the host\n");
    assert_eq!(
        std::fs::read_to_string(host.join("from-ctr")).unwrap(),
        "written\n"
    );

    // :ro refuses writes, reading still works.
    let ro = format!("{spec}:ro");
    let (code, err) = sh_fails(
        &h,
        &["-v", &ro],
        "cat /data/from-host >/dev/null && echo x > /data/new",
    );
    assert_ne!(code, 0, "a write to a :ro volume must fail");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!host.join("new").exists(), "the write reached the host");

    // A missing host directory is created, as Docker does for -v.
    let missing = h.dir("parent").join("made-by-hull");
    let spec = format!("{}:/m", missing.display());
    sh(&h, &["-v", &spec], "touch /m/ok");
    assert!(missing.join("ok").is_file(), "-v with a missing source");

    // Bad specs are hull's own errors. (`relative:/x` is a named volume, as in Docker; a name
    // outside Docker's alphabet is refused.)
    for bad in ["bad name:/x", "/tmp:relative", "/tmp:/x:rx"] {
        let (code, out) = h.code(&["run", "--rm", "-v", bad, "busybox", "true"]);
        assert_eq!(code, 125, "-v {bad}: {}", describe(&out));
    }
}

#[test]
fn read_only_rootfs_and_tmpfs() {
    let h = Hull::new();
    let (code, err) = sh_fails(&h, &["--read-only"], "touch /new-file");
    assert_ne!(code, 0, "--read-only must refuse writes to /");
    assert!(err.contains("Read-only file system"), "{err}");

    // --tmpfs gives a writable tmpfs even on a read-only root.
    let out = sh(
        &h,
        &["--read-only", "--tmpfs", "/scratch"],
        "echo hi > /scratch/f && cat /scratch/f && grep ' /scratch ' /proc/mounts",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hi");
    assert!(lines[1].starts_with("tmpfs /scratch tmpfs rw"), "{out}");

    // Options pass through.
    let out = sh(&h, &["--tmpfs", "/t:size=1m"], "grep ' /t ' /proc/mounts");
    assert!(out.contains("size=1024k"), "--tmpfs /t:size=1m: {out}");

    // Without --read-only the root is writable, and the write stays in the container.
    sh(&h, &[], "touch /new-file");
    let (code, _) = sh_fails(&h, &[], "test -e /new-file");
    assert_eq!(code, 1, "a new container must not see another's writes");
}

#[test]
fn environment_workdir_user_hostname() {
    let h = Hull::new();
    let env_file = h.dir("env").join("list");
    write_file(
        &env_file,
        "# a comment\nFROM_FILE=1\nSPACED=two words\nBOTH=file\n\n",
        0o644,
    );
    let out = sh(
        &h,
        &[
            "--env-file",
            env_file.to_str().unwrap(),
            "-e",
            "BOTH=flag",
            "-e",
            "EMPTY=",
        ],
        "echo \"$FROM_FILE|$SPACED|$BOTH|${EMPTY-unset}|$PATH\"",
    );
    assert_eq!(
        out, "1|two words|flag||/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        "-e overrides --env-file; an empty value is set; PATH comes from the image"
    );
    // -e NAME takes hull's own value.
    let mut c = h.command(&[
        "run",
        "--rm",
        "-e",
        "FROM_HOST",
        "busybox",
        "sh",
        "-c",
        "echo $FROM_HOST",
    ]);
    c.env("FROM_HOST", "passed");
    assert_eq!(
        support::stdout(&support::capture(c, support::CMD_TIMEOUT)),
        "passed\n"
    );
    let (code, out) = h.code(&[
        "run",
        "--rm",
        "--env-file",
        "/no/such/file",
        "busybox",
        "true",
    ]);
    assert_eq!(code, 125, "a missing env file: {}", describe(&out));

    assert_eq!(sh(&h, &["-w", "/tmp"], "pwd"), "/tmp\n");
    assert_eq!(
        sh(&h, &["-w", "/made/by/w"], "pwd"),
        "/made/by/w\n",
        "-w creates the directory"
    );

    assert_eq!(sh(&h, &["-u", "1000"], "id -u; id -g"), "1000\n1000\n");
    assert_eq!(sh(&h, &["-u", "user"], "id -un; id -u"), "user\n1000\n");
    assert_eq!(sh(&h, &["-u", "1000:0"], "id -u; id -g"), "1000\n0\n");
    assert_eq!(
        sh(&h, &["-u", "4242"], "id -u"),
        "4242\n",
        "a uid not in /etc/passwd"
    );
    let (code, err) = sh_fails(&h, &["-u", "user"], "touch /root/x");
    assert_ne!(code, 0, "user 1000 must not write to /root");
    assert!(err.contains("Permission denied"), "{err}");

    assert_eq!(
        sh(
            &h,
            &["--hostname", "myhost"],
            "hostname; cat /etc/hostname; echo $HOSTNAME"
        ),
        "myhost\nmyhost\nmyhost\n"
    );
    // By default the hostname is the short id.
    h.ok(&["run", "--name", "named", "busybox", "true"]);
    let r = h.inspect("named");
    let id = r["Id"].as_str().unwrap();
    assert_eq!(
        r["Config"]["Hostname"],
        id[..12],
        "the default hostname is the short id"
    );
}

#[test]
fn name_conflicts() {
    let h = Hull::new();
    h.ok(&["run", "--name", "taken", "busybox", "true"]);
    let id = h.inspect("taken")["Id"].as_str().unwrap().to_string();
    let (code, out) = h.code(&["run", "--name", "taken", "busybox", "true"]);
    assert_eq!(
        code,
        125,
        "a second container named taken: {}",
        describe(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("\"/taken\" is already in use"), "{err}");
    assert!(
        err.contains(&id),
        "the error names the container that has the name: {err}"
    );
    // Also when detached; and the original is untouched.
    let (code, _) = h.code(&["run", "-d", "--name", "taken", "busybox", "sleep", "5"]);
    assert_eq!(code, 125);
    assert_eq!(support::stdout(&h.cmd(&["ps", "-aq"])).lines().count(), 1);
    // Once removed, the name is free again.
    h.ok(&["rm", "taken"]);
    h.ok(&["run", "--name", "taken", "busybox", "true"]);
}

#[test]
fn diff_lists_what_the_container_changed() {
    let h = Hull::new();
    h.ok(&[
        "run",
        "--name",
        "changer",
        "busybox",
        "sh",
        "-c",
        "touch /new; rm /bin/ls; echo x >> /etc/passwd",
    ]);
    let out = h.ok(&["diff", "changer"]);
    let lines: Vec<&str> = out.lines().collect();
    for want in ["A /new", "D /bin/ls", "C /bin", "C /etc/passwd", "C /etc"] {
        assert!(
            lines.contains(&want),
            "hull diff should list {want:?}:\n{out}"
        );
    }
    // Nothing else, apart from the mount points of /etc/hostname and /etc/hosts (see below).
    let extra: Vec<&&str> = lines
        .iter()
        .filter(|l| !["A /new", "D /bin/ls", "C /bin", "C /etc/passwd", "C /etc"].contains(l))
        .filter(|l| !["A /etc/hostname", "A /etc/hosts"].contains(l))
        .collect();
    assert!(extra.is_empty(), "unexpected changes {extra:?} in:\n{out}");
    // A fresh container has changed nothing (bind mount points aside).
    h.ok(&["run", "--name", "idle", "busybox", "true"]);
    let out = h.ok(&["diff", "idle"]);
    assert!(!out.contains("/bin") && !out.contains("/new"), "{out}");
}

#[test]
fn diff_is_exactly_dockers() {
    // Docker keeps those mount points in an init layer: its diff is exactly these three lines.
    let h = Hull::new();
    h.ok(&[
        "run",
        "--name",
        "c",
        "busybox",
        "sh",
        "-c",
        "touch /new; rm /bin/ls",
    ]);
    assert_eq!(h.ok(&["diff", "c"]), "C /bin\nD /bin/ls\nA /new\n");
    // … and a RUN step's layer does not carry them either.
    h.build("b", "FROM busybox\nRUN touch /x\n", &[]);
    // Layers are unpacked when a container first needs them.
    h.ok(&["run", "--rm", "b", "true"]);
    let image: serde_json::Value = serde_json::from_str(&h.ok(&["image", "inspect", "b"])).unwrap();
    let diff_id = image[0]["RootFS"]["Layers"][1].as_str().unwrap();
    let layer = h
        .root()
        .join("layers")
        .join(diff_id.trim_start_matches("sha256:"));
    assert!(
        layer.join("x").exists(),
        "the RUN layer is {}",
        layer.display()
    );
    assert_eq!(
        support::entries(&layer),
        ["x"],
        "the RUN layer {} holds more than /x",
        layer.display()
    );
}

#[test]
#[should_panic(expected = "left things behind")]
fn the_guard_notices_and_removes_a_leftover_mount() {
    // A check of the tests' own guard: a mount left under HULL_ROOT fails the test (and is
    // unmounted, so the temporary root can be removed).
    let h = Hull::new();
    let stray = h.root().join("stray");
    std::fs::create_dir_all(&stray).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &stray,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount a tmpfs under HULL_ROOT");
    assert_eq!(h.mounts(), [stray]);
}
