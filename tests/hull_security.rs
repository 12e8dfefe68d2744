//! What a `hull` container may do, as in Docker: the default seccomp profile (`Seccomp: 2`,
//! `unshare` refused), `--security-opt seccomp=unconfined|FILE` and `no-new-privileges`,
//! `--cap-add`/`--cap-drop`, `--privileged`; bad options refused with 125 before anything exists.

mod support;

use support::{code, describe, stderr, Hull};

/// The value of `field` in the container's /proc/self/status.
fn status_field(h: &Hull, flags: &[&str], field: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "grep", field, "/proc/self/status"]);
    let out = h.ok(&args);
    out.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// Docker's default capability set as /proc shows it (CapEff of `docker run busybox`).
const DOCKER_DEFAULT_CAPS: &str = "00000000a80425fb";

#[test]
fn a_default_container_runs_under_a_seccomp_filter_that_refuses_unshare() {
    let h = Hull::new();
    assert_eq!(status_field(&h, &[], "Seccomp:"), "2");
    assert_eq!(status_field(&h, &[], "CapEff:"), DOCKER_DEFAULT_CAPS);
    assert_eq!(status_field(&h, &[], "NoNewPrivs:"), "0");
    let (rc, out) = h.code(&["run", "--rm", "busybox", "unshare", "-Urm", "true"]);
    assert_eq!(rc, 1, "{}", describe(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        describe(&out)
    );
    // The filter is what refuses it: without one the kernel lets an unprivileged user
    // namespace be made (the hole Docker's profile closes).
    assert_eq!(
        status_field(&h, &["--security-opt", "seccomp=unconfined"], "Seccomp:"),
        "0"
    );
    h.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "unshare",
        "-Urm",
        "true",
    ]);
}

#[test]
fn a_profile_file_in_dockers_format_is_used_instead() {
    let h = Hull::new();
    let dir = h.dir("profile");
    let file = dir.join("no-mkdir.json");
    // Allow everything but mkdir/mkdirat, which fail with EACCES (13).
    std::fs::write(
        &file,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", file.display());
    let (rc, out) = h.code(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/tmp/x",
    ]);
    assert_eq!(rc, 1, "{}", describe(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        describe(&out)
    );
    // The record keeps the profile itself, as Docker's client sends it: removing the file
    // does not change the container.
    let id = h.detach("kept", &["--security-opt", &opt, "busybox", "true"]);
    h.wait_exited(&id, std::time::Duration::from_secs(10));
    std::fs::remove_file(&file).unwrap();
    let so = h.inspect("kept")["HostConfig"]["SecurityOpt"].clone();
    assert!(
        so[0]
            .as_str()
            .is_some_and(|s| s.starts_with("seccomp={") && s.contains("mkdirat")),
        "{so}"
    );
}

#[test]
fn no_new_privileges_and_capabilities_follow_the_flags() {
    let h = Hull::new();
    assert_eq!(
        status_field(&h, &["--security-opt", "no-new-privileges"], "NoNewPrivs:"),
        "1"
    );
    assert_eq!(
        status_field(&h, &["--cap-drop", "ALL"], "CapEff:"),
        "0000000000000000"
    );
    let (rc, out) = h.code(&[
        "run",
        "--rm",
        "--cap-drop",
        "chown",
        "busybox",
        "chown",
        "1",
        "/tmp",
    ]);
    assert_eq!(rc, 1, "{}", describe(&out));
    // CAP_SYS_ADMIN opens both the capability check and the filter's mount rules.
    let out = h.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "sh",
        "-c",
        "mount -t tmpfs none /tmp && echo mounted; grep Seccomp: /proc/self/status",
    ]);
    assert!(out.contains("mounted"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    let hc = h.inspect_created(&["--cap-add", "net_admin", "--cap-drop", "MKNOD"]);
    assert_eq!(hc["CapAdd"], serde_json::json!(["net_admin"]), "{hc}");
    assert_eq!(hc["CapDrop"], serde_json::json!(["MKNOD"]), "{hc}");
}

#[test]
fn privileged_lifts_the_filter_the_capability_limits_and_the_device_list() {
    let h = Hull::new();
    let out = h.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "grep -E 'Seccomp:|CapEff:' /proc/self/status; mount -t tmpfs none /tmp && echo mounted; \
         ls /dev",
    ]);
    assert!(out.contains("Seccomp:\t0"), "{out}");
    assert!(out.contains("mounted"), "{out}");
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = own
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(out.contains(&format!("CapEff:\t{bounding}")), "{out}");
    // A device of the host that an ordinary container does not get.
    let host_dev = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .find(|e| {
            use std::os::unix::fs::FileTypeExt;
            e.file_type().is_ok_and(|t| t.is_block_device())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned());
    if let Some(name) = host_dev {
        assert!(out.lines().any(|l| l == name), "no /dev/{name}: {out}");
        let plain = h.ok(&["run", "--rm", "busybox", "ls", "/dev"]);
        assert!(
            !plain.lines().any(|l| l == name),
            "/dev/{name} without --privileged"
        );
    }
}

#[test]
fn bad_security_flags_exit_125_with_one_line_and_create_nothing() {
    let h = Hull::new();
    for (flags, needle) in [
        (vec!["--cap-add", "FOO"], "unknown capability: \"CAP_FOO\""),
        (
            vec!["--cap-drop", "nope"],
            "unknown capability: \"CAP_NOPE\"",
        ),
        (
            vec!["--security-opt", "bogus"],
            "invalid --security-opt: \"bogus\"",
        ),
        (
            vec!["--security-opt", "seccomp=/no/such/profile.json"],
            "/no/such/profile.json",
        ),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = h.cmd(&args);
        assert_eq!(code(out.status), 125, "{flags:?}: {}", describe(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{flags:?}: {}", describe(&out));
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{flags:?}: {}",
            describe(&out)
        );
    }
    assert_eq!(h.ok(&["ps", "-aq"]), "");
}
