//! Exit statuses as Docker gives them: the container's own code; 126 when the program cannot
//! be executed, 127 when it is not found, 125 when hull itself fails; 128+signal when the
//! container is killed — by the OOM killer (with `State.OOMKilled`), `hull kill`, or `hull stop`
//! after its timeout — and whatever PID 1 chooses when it handles SIGTERM itself.

mod support;

use std::time::{Duration, Instant};

use support::{describe, stderr, Hull};

/// `hull run --rm ARGS…`: its exit code; the output for messages.
fn run(h: &Hull, args: &[&str]) -> (i32, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    let (code, out) = h.code(&all);
    (code, describe(&out))
}

/// Waits until the container's PID 1 catches signal `signo` (its trap is installed): PID 1
/// of a PID namespace ignores the signals it has no handler for.
fn wait_for_handler(h: &Hull, name: &str, signo: u32) {
    let pid = h.inspect(name)["State"]["Pid"].as_i64().expect("State.Pid");
    support::poll(
        Duration::from_secs(10),
        "PID 1 to install its signal handler",
        || {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let caught = status.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
            let mask = u64::from_str_radix(caught.trim(), 16).ok()?;
            (mask & (1 << (signo - 1)) != 0).then_some(())
        },
    );
}

#[test]
fn the_containers_own_code() {
    let h = Hull::new();
    for (script, want) in [("exit 0", 0), ("exit 3", 3), ("exit 255", 255)] {
        let (code, out) = run(&h, &["busybox", "sh", "-c", script]);
        assert_eq!(code, want, "sh -c {script:?}: {out}");
    }
}

#[test]
fn programs_that_cannot_run() {
    let h = Hull::new();
    let (code, out) = run(&h, &["busybox", "no-such-program"]);
    assert_eq!(code, 127, "an unknown command: {out}");
    assert!(
        out.contains("no-such-program"),
        "the error names the program: {out}"
    );

    let (code, out) = run(&h, &["busybox", "/no/such/path"]);
    assert_eq!(code, 127, "a missing path: {out}");

    let (code, out) = run(&h, &["busybox", "/etc/passwd"]);
    assert_eq!(code, 126, "a file that is not executable: {out}");

    let (code, out) = run(&h, &["busybox", "/etc"]);
    assert_eq!(code, 126, "a directory: {out}");

    // Nothing is left of containers that never started (they were --rm).
    assert_eq!(
        h.ok(&["ps", "-aq"]),
        "",
        "--rm containers that failed to start"
    );

    // Without --rm the container stays, Created, with the code and the reason (as Docker's).
    let (code, _) = h.code(&["run", "--name", "nf", "busybox", "no-such-program"]);
    assert_eq!(code, 127);
    let r = h.inspect("nf");
    assert_eq!(r["State"]["Status"], "created", "State: {}", r["State"]);
    assert_eq!(r["State"]["ExitCode"], 127, "State: {}", r["State"]);
    assert!(
        r["State"]["Error"]
            .as_str()
            .unwrap_or("")
            .contains("no-such-program"),
        "State: {}",
        r["State"]
    );
}

#[test]
fn hulls_own_errors_are_125() {
    let h = Hull::new();
    for (args, says) in [
        (&["no-such-image:1.0", "true"][..], "no-such-image"),
        (&["-m", "1k", "busybox", "true"][..], "1k"),
        (&["-m", "lots", "busybox", "true"][..], "lots"),
        (&["--cpus", "many", "busybox", "true"][..], "many"),
        (&["-p", "80:99999", "busybox", "true"][..], "99999"),
        (
            &["--network", "no-such-net", "busybox", "true"][..],
            "no-such-net",
        ),
        (&["--tmpfs", "relative", "busybox", "true"][..], "relative"),
        (&["--name", "bad name!", "busybox", "true"][..], "bad name!"),
    ] {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let (code, out) = h.code(&all);
        assert_eq!(code, 125, "hull {all:?}: {}", describe(&out));
        assert!(
            stderr(&out).contains(says),
            "the error of {all:?} should name {says:?}: {}",
            describe(&out)
        );
    }
    assert_eq!(
        h.ok(&["ps", "-aq"]),
        "",
        "refused runs must not leave containers"
    );

    // An unknown user is found when the container starts, as with Docker: 125, and the
    // container stays in the Created state with the reason.
    let (code, out) = h.code(&["run", "--name", "u", "-u", "nobody-here", "busybox", "true"]);
    assert_eq!(code, 125, "-u nobody-here: {}", describe(&out));
    assert!(stderr(&out).contains("nobody-here"), "{}", describe(&out));
    let r = h.inspect("u");
    assert_eq!(r["State"]["Status"], "created", "State: {}", r["State"]);
    assert!(
        r["State"]["Error"]
            .as_str()
            .unwrap_or("")
            .contains("nobody-here"),
        "State: {}",
        r["State"]
    );
}

#[test]
fn an_error_names_its_cause_once() {
    // anyhow's chain repeated the cause our errors already name: "opening /x: No such file
    // or directory (os error 2): No such file or directory (os error 2)".
    let h = Hull::new();
    let missing = h.scratch().join("no-such.tar");
    let (code, out) = h.code(&["load", "-i", missing.to_str().unwrap()]);
    assert_ne!(code, 0, "{}", describe(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{}", describe(&out));
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "{}",
        describe(&out)
    );
    assert!(err.contains("no-such.tar"), "{}", describe(&out));
}

#[test]
fn out_of_memory_is_137_and_recorded() {
    let h = Hull::new();
    let (code, out) = h.code(&[
        "run",
        "--name",
        "hog",
        "-m",
        "32m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(code, 137, "tail /dev/zero under -m 32m: {}", describe(&out));
    let r = h.inspect("hog");
    assert_eq!(r["State"]["OOMKilled"], true, "State: {}", r["State"]);
    assert_eq!(r["State"]["ExitCode"], 137, "State: {}", r["State"]);
    assert_eq!(
        h.ok(&["inspect", "-f", "{{.State.OOMKilled}}", "hog"])
            .trim(),
        "true"
    );
    assert_eq!(r["HostConfig"]["Memory"], 32 << 20);
}

#[test]
fn hull_kill_is_137_without_oom() {
    let h = Hull::new();
    h.detach("k", &["busybox", "sleep", "100"]);
    h.ok(&["kill", "k"]);
    let r = h.wait_exited("k", Duration::from_secs(10));
    assert_eq!(r["State"]["ExitCode"], 137, "State: {}", r["State"]);
    assert_eq!(r["State"]["OOMKilled"], false, "State: {}", r["State"]);
    // Killing a stopped container is an error.
    let (code, out) = h.code(&["kill", "k"]);
    assert_ne!(code, 0, "kill of a stopped container: {}", describe(&out));
}

#[test]
fn kill_with_a_named_signal() {
    let h = Hull::new();
    h.detach(
        "t",
        &[
            "busybox",
            "sh",
            "-c",
            "trap 'exit 42' USR1; sleep 100 & wait",
        ],
    );
    wait_for_handler(&h, "t", 10);
    h.ok(&["kill", "-s", "USR1", "t"]);
    let r = h.wait_exited("t", Duration::from_secs(10));
    assert_eq!(r["State"]["ExitCode"], 42, "State: {}", r["State"]);
}

#[test]
fn stop_kills_after_the_timeout() {
    // PID 1 has no handler for SIGTERM, so the kernel ignores it: stop waits, then SIGKILLs.
    let h = Hull::new();
    h.detach("s", &["busybox", "sleep", "100"]);
    let t = Instant::now();
    h.ok(&["stop", "-t", "1", "s"]);
    let took = t.elapsed();
    let r = h.inspect("s");
    assert_eq!(r["State"]["ExitCode"], 137, "State: {}", r["State"]);
    assert_eq!(r["State"]["Running"], false);
    assert_eq!(r["State"]["OOMKilled"], false);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(6),
        "stop -t 1 took {took:?}: it should wait about a second before SIGKILL"
    );
}

#[test]
fn stop_of_a_pid_1_that_handles_term() {
    let h = Hull::new();
    h.detach(
        "trap",
        &[
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; sleep 100 & wait",
        ],
    );
    wait_for_handler(&h, "trap", 15);
    let t = Instant::now();
    h.ok(&["stop", "trap"]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop took {:?}: TERM should end it at once",
        t.elapsed()
    );
    let r = h.inspect("trap");
    assert_eq!(r["State"]["ExitCode"], 0, "State: {}", r["State"]);
}

#[test]
fn stop_with_init_forwards_term() {
    // With --init, PID 1 is an init that passes SIGTERM on to sleep, which dies of it: 143.
    let h = Hull::new();
    h.detach("i", &["--init", "busybox", "sleep", "100"]);
    wait_for_handler(&h, "i", 15);
    let t = Instant::now();
    h.ok(&["stop", "-t", "5", "i"]);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "stop took {:?}: the init should forward TERM",
        t.elapsed()
    );
    let r = h.inspect("i");
    assert_eq!(r["State"]["ExitCode"], 143, "State: {}", r["State"]);
    assert_eq!(r["HostConfig"]["Init"], true);
}

#[test]
fn stop_of_a_stopped_container_is_fine() {
    let h = Hull::new();
    h.ok(&["run", "--name", "done", "busybox", "true"]);
    h.ok(&["stop", "done"]);
    assert_eq!(h.inspect("done")["State"]["ExitCode"], 0);
    let (code, out) = h.code(&["stop", "no-such-container"]);
    assert_ne!(code, 0, "stop of an unknown container: {}", describe(&out));
    assert!(
        stderr(&out).contains("no-such-container"),
        "{}",
        describe(&out)
    );
}

/// A process `exec` cannot start: hull's own message, in Docker's words (never the runtime's
/// `hullrt: …`), and Docker's statuses (126, 127 where hull differs on purpose: see the
/// differential suite's deviations).
#[test]
fn exec_failures_are_hulls_own_words() {
    let h = Hull::new();
    h.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "60"]);
    let frame = "hull: OCI runtime exec failed: exec failed: unable to start container process:";
    for (args, want_code, cause) in [
        (
            vec!["nosuch"],
            127,
            "exec: \"nosuch\": executable file not found in $PATH: unknown",
        ),
        (
            vec!["/etc/passwd"],
            126,
            "exec: \"/etc/passwd\": permission denied: unknown",
        ),
        (
            vec!["/tmp"],
            126,
            "exec: \"/tmp\": permission denied: unknown",
        ),
    ] {
        let mut all = vec!["exec", "box"];
        all.extend_from_slice(&args);
        let (code, out) = h.code(&all);
        assert_eq!(code, want_code, "exec {args:?}: {}", describe(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            format!("{frame} {cause}"),
            "exec {args:?}"
        );
    }
    let (code, out) = h.code(&["exec", "-u", "nosuchuser", "box", "true"]);
    assert_eq!(code, 126, "{}", describe(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "hull: unable to find user nosuchuser: no matching entries in passwd file"
    );
    let id = h.inspect("box")["Id"].as_str().unwrap().to_string();
    h.ok(&["stop", "-t", "0", "box"]);
    let (code, out) = h.code(&["exec", "box", "true"]);
    assert_eq!(code, 1, "{}", describe(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        format!("hull: Container {id} is not running")
    );
}
