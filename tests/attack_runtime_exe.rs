//! CVE-2019-5736 class: a process in the container opens `/proc/<pid>/exe` of the runtime
//! while `exec` enters the container, and writes the runtime's binary once it has exited.
//! The attack runs against a copy of `hullrt` (whatever it does, it harms only the copy);
//! the copy must come out byte for byte as it went in. hullrt only: the binary under attack
//! must be one this test may copy and lose.
mod support;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

/// The container's PID 1: catch any process whose exe is not busybox, keep its exe open on
/// fd 3, and try (for 3 s) to truncate-and-write it through /proc/self/fd/3 — which succeeds
/// against a runtime binary on disk as soon as the runtime has exited (no more ETXTBSY).
const ATTACK: &str = r#"
me=$$
while :; do
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$me" ] && continue
    command exec 3</proc/$pid/exe 2>/dev/null || continue
    l=$(readlink /proc/self/fd/3)
    case "$l" in */busybox) exec 3<&-; continue;; esac
    echo "GOT $l" >>/out/log
    i=0
    while [ $i -lt 150 ]; do
      if (echo pwned >/proc/self/fd/3) 2>>/out/err; then echo WROTE >>/out/log; break; fi
      usleep 20000
      i=$((i+1))
    done
    exec 3<&-
  done
done
"#;

#[test]
fn a_container_cannot_write_the_runtime_through_proc_pid_exe() {
    let mut ctx = Ctx::hullrt();
    let spare = tempfile::tempdir().expect("a directory for the runtime's copy");
    let copy = spare.path().join("hullrt");
    fs::copy(&ctx.bin, &copy).expect("copy hullrt");
    let intact = std::mem::replace(&mut ctx.bin, copy.clone());
    let original = fs::read(&copy).expect("read the copy");

    let b = ctx.bundle();
    let out = b.host_dir("out");
    b.bind(&out, "/out", false);
    b.sh(ATTACK);
    let id = ctx.started(&b);

    // Each exec is a window: its process is in the container, still the runtime, until it
    // execs `true`. Keep entering until the attacker has caught the runtime a few times.
    let log = || fs::read_to_string(out.join("log")).unwrap_or_default();
    let caught = |min: usize| log().lines().filter(|l| l.starts_with("GOT")).count() >= min;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut execs = 0;
    while !caught(3) && !log().contains("WROTE") && Instant::now() < deadline {
        // Not `ctx.exec`: once the attack works, starting the damaged binary can fail
        // (ETXTBSY, or not an executable any more), and that must not end the test early.
        let _ = ctx
            .rt_std()
            .args(["exec", &id, "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        execs += 1;
    }
    // Give the attacker its full 3 s of tries after the last catch, with the runtime gone.
    std::thread::sleep(Duration::from_secs(4));
    let log = log();
    let errors = fs::read_to_string(out.join("err")).unwrap_or_default();
    // The copy may be ruined: the cleanup (here and in Ctx's Drop) uses the intact hullrt.
    ctx.bin = intact;
    ctx.kill_and_delete(&id);

    assert!(
        caught(1),
        "the attack never caught the runtime's exe in {execs} execs, so it proved nothing: {log}"
    );
    assert!(
        !log.contains("WROTE"),
        "the container wrote the runtime's binary:\n{log}\n{errors}"
    );
    assert!(
        fs::read(&copy).expect("read the copy") == original,
        "the runtime's binary changed on disk:\n{log}\n{errors}"
    );
}
