//! podman, as the distribution ships it (4.3 on Debian 12), driving the built hullrt with no
//! `--security-opt` (so podman sends its default seccomp profile). Each case runs the same podman
//! commands under runc and then under hullrt and compares what they observe: exit codes,
//! output, podman's view of the container, cgroup values. runc's outcome is also checked
//! against what the case expects, so a case that cannot work on this host fails as such rather
//! than as a difference.
//!
//! Storage, state, cgroups, network, image and runtime wrappers are [`support::podman`]'s: each
//! test has a podman of its own, its cgroups below this process's cgroup, and no network.
//!
//! `exec -it` and `run -it` need hullrt's terminal support (`exec --console-socket`, the pty
//! as the process's stdio), which is being written: until it lands those two cases fail.

mod support;

use std::fmt::Write as _;
use std::fs;
use std::process::Output;
use std::time::Duration;

use support::*;

/// What one case observed under one runtime: labelled values, which are compared between the
/// runtimes, and notes (podman's stderr), which are shown on a difference but not compared.
#[derive(Debug, Default)]
struct Outcome {
    values: Vec<(String, String)>,
    notes: Vec<String>,
}

impl Outcome {
    fn add(&mut self, label: &str, value: impl ToString) {
        self.values.push((label.to_string(), value.to_string()));
    }

    /// A command's exit code and trimmed stdout; its stderr as a note.
    fn cmd(&mut self, label: &str, out: &Output) {
        self.add(&format!("{label}: exit"), code(out.status));
        self.add(&format!("{label}: stdout"), stdout(out).trim());
        let err = stderr(out);
        if !err.trim().is_empty() {
            self.notes.push(format!("{label}: stderr: {}", err.trim()));
        }
    }

    fn value(&self, label: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    fn get(&self, label: &str) -> &str {
        self.value(label)
            .unwrap_or_else(|| panic!("the case recorded no {label:?}: {self:#?}"))
    }
}

/// Runs `case` under runc, then under hullrt, each with the same podman and the same
/// commands, and panics unless hullrt's values are runc's. Returns runc's outcome, for the
/// case's own expectations ([`expect`]).
fn compare(p: &Podman, case: impl Fn(Runtime) -> Outcome) -> Outcome {
    let runc = case(Runtime::Runc);
    let hullrt = case(Runtime::Hullrt);
    p.assert_cgroups_in_prefix();
    if hullrt.values != runc.values {
        let mut labels: Vec<&str> = runc.values.iter().map(|(l, _)| l.as_str()).collect();
        for (l, _) in &hullrt.values {
            if !labels.contains(&l.as_str()) {
                labels.push(l);
            }
        }
        let mut msg = String::from("podman under hullrt differs from podman under runc:\n");
        for l in labels {
            let (r, h) = (runc.value(l), hullrt.value(l));
            let mark = if r == h { " " } else { "≠" };
            let _ = writeln!(msg, "{mark} {l}\n    runc:   {r:?}\n    hullrt: {h:?}");
            if let (Some(r), Some(h)) = (r, h) {
                if r != h && (r.contains('\n') || h.contains('\n')) {
                    let _ = writeln!(
                        msg,
                        "    lines only under runc (-) or only under hullrt (+):"
                    );
                    for line in r.lines().filter(|x| !h.lines().any(|y| y == *x)) {
                        let _ = writeln!(msg, "    - {line}");
                    }
                    for line in h.lines().filter(|y| !r.lines().any(|x| x == *y)) {
                        let _ = writeln!(msg, "    + {line}");
                    }
                }
            }
        }
        let _ = writeln!(msg, "--- notes under hullrt ---");
        for n in &hullrt.notes {
            let _ = writeln!(msg, "{n}");
        }
        let _ = writeln!(msg, "--- notes under runc ---");
        for n in &runc.notes {
            let _ = writeln!(msg, "{n}");
        }
        let _ = writeln!(
            msg,
            "--- hullrt's command lines (as podman/conmon ran it) ---\n{}",
            p.argv_log(Runtime::Hullrt)
        );
        panic!("{msg}");
    }
    runc
}

/// Panics unless runc's outcome has `label` = `want`: the case itself does not hold on this
/// host (or with this podman), whatever hullrt does.
fn expect(runc: &Outcome, label: &str, want: &str) {
    assert_eq!(
        runc.get(label),
        want,
        "under runc, {label} is not what this case expects, so the case proves nothing here: \
         {runc:#?}"
    );
}

/// Like [`expect`], for a part of a value.
fn expect_contains(runc: &Outcome, label: &str, part: &str) {
    assert!(
        runc.get(label).contains(part),
        "under runc, {label} lacks {part:?}, so the case proves nothing here: {runc:#?}"
    );
}

/// The freezer's state file of a process's cgroup: v1 `freezer.state`, v2 `cgroup.freeze`.
fn freezer_file(pid: i32) -> std::path::PathBuf {
    if is_v1_controller("freezer") {
        cgroup_file(pid, "freezer", "freezer.state")
    } else {
        cgroup_file(pid, "freezer", "cgroup.freeze")
    }
}

/// The memory limit file of a process's cgroup: v1 `memory.limit_in_bytes`, v2 `memory.max`.
fn memory_limit_file(pid: i32) -> std::path::PathBuf {
    if is_v1_controller("memory") {
        cgroup_file(pid, "memory", "memory.limit_in_bytes")
    } else {
        cgroup_file(pid, "memory", "memory.max")
    }
}

fn read_trimmed(path: &std::path::Path) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

/// Whether `file` (in a container's cgroup) lies below this test's cgroup prefixes.
fn below_prefix(p: &Podman, file: &std::path::Path) -> bool {
    p.cgroup_prefixes().iter().any(|pre| file.starts_with(pre))
}

#[test]
fn run_rm_prints_exits_with_the_status_and_removes_the_container() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        let out = p.run(
            rt,
            &["--rm"],
            &[
                "sh",
                "-c",
                "echo hello; grep -E '^(Seccomp|NoNewPrivs|CapEff|CapBnd):' /proc/self/status; \
                 exit 3",
            ],
        );
        o.cmd("run --rm", &out);
        o.cmd("ps -aq", &p.cmd(rt, &["ps", "-aq"]));
        o
    });
    expect(&runc, "run --rm: exit", "3");
    expect_contains(&runc, "run --rm: stdout", "hello");
    // podman's default seccomp profile is in force (2: filter mode).
    expect_contains(&runc, "run --rm: stdout", "Seccomp:\t2");
    expect(&runc, "ps -aq: stdout", "");
}

#[test]
fn a_default_container_sees_the_same_world() {
    let p = Podman::new();
    // What a process in a default container sees of itself: ids, limits, capabilities and
    // seccomp, environment (but the container's own HOSTNAME), devices, and every mount: point,
    // options, type and propagation. Not compared: the tmpfs at /sys/fs/cgroup itself, which
    // runc 1.1 leaves read-write although podman's config asks for "ro" (hullrt mounts it
    // read-only, as asked); the cgroup hierarchies below it are compared, except the named
    // (controller-less) `name=systemd` one, which runc joins and mounts and hullrt does not
    // (a deviation the book lists: hullrt makes cgroups only in controller hierarchies).
    let script = r#"id; hostname | wc -c; ulimit -n; ulimit -u; umask
grep -E '^(Cap[A-Za-z]+|Seccomp|NoNewPrivs):' /proc/self/status
env | grep -v '^HOSTNAME=' | sort
ls -a /dev | tr '\n' ' '; echo
awk '$5 != "/sys/fs/cgroup" && $5 != "/sys/fs/cgroup/systemd" {
    propagation = ""; for (i = 7; $i != "-"; i++) propagation = propagation " " $i
    print $5, $6, $(i + 1) propagation
}' /proc/self/mountinfo | sort"#;
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        o.cmd("run", &p.run(rt, &["--rm"], &["sh", "-c", script]));
        o
    });
    expect(&runc, "run: exit", "0");
    expect_contains(&runc, "run: stdout", "uid=0(root)");
    // podman's readonlyPaths keep the flags of the /proc mount they are part of.
    expect_contains(
        &runc,
        "run: stdout",
        "/proc/sys ro,nosuid,nodev,noexec,relatime proc",
    );
}

#[test]
fn run_detached_then_exec_logs_stop_and_rm() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        p.detach(
            rt,
            "d",
            &[],
            &[
                "sh",
                "-c",
                "echo started; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done",
            ],
        );
        o.add(
            "state after run -d",
            p.inspect(rt, "d", "{{.State.Status}}"),
        );
        poll(
            Duration::from_secs(10),
            "the container's first line",
            || {
                stdout(&p.cmd(rt, &["logs", "d"]))
                    .contains("started")
                    .then_some(())
            },
        );
        o.cmd(
            "exec",
            &p.cmd(
                rt,
                &[
                    "exec",
                    "-e",
                    "FOO=bar",
                    "-w",
                    "/tmp",
                    "d",
                    "sh",
                    "-c",
                    "echo in-exec $FOO $PWD; exit 5",
                ],
            ),
        );
        o.cmd("stop", &p.cmd(rt, &["stop", "-t", "10", "d"]));
        o.add(
            "state after stop",
            p.inspect(rt, "d", "{{.State.Status}} {{.State.ExitCode}}"),
        );
        o.cmd("logs", &p.cmd(rt, &["logs", "d"]));
        o.cmd("rm", &p.cmd(rt, &["rm", "d"]));
        o.cmd("ps -aq", &p.cmd(rt, &["ps", "-aq"]));
        o
    });
    expect(&runc, "state after run -d", "running");
    expect(&runc, "exec: exit", "5");
    expect(&runc, "exec: stdout", "in-exec bar /tmp");
    // The TERM reached the shell's trap: exit 0, not 137 after a SIGKILL.
    expect(&runc, "state after stop", "exited 0");
    expect(&runc, "logs: stdout", "started\nbye");
    expect(&runc, "ps -aq: stdout", "");
}

#[test]
fn exec_it_gets_a_terminal() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        p.detach(rt, "t", &[], &["sleep", "100"]);
        let out = p.on_terminal(
            rt,
            &[
                "exec",
                "-it",
                "t",
                "sh",
                "-c",
                "[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; tty; exit 6",
            ],
        );
        o.cmd("exec -it", &out);
        o.cmd("rm -f", &p.cmd(rt, &["rm", "-f", "-t", "0", "t"]));
        o
    });
    expect(&runc, "exec -it: exit", "6");
    // runc makes the pty inside the container's own /dev/pts, where `tty` finds its name.
    expect(&runc, "exec -it: stdout", "on-a-terminal\n/dev/pts/0");
}

#[test]
fn run_it_gets_a_terminal() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        let args = p.run_args(
            &["--rm", "-it"],
            &[
                "sh",
                "-c",
                "[ -t 0 ] && [ -t 1 ] && echo on-a-terminal; tty; exit 4",
            ],
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        o.cmd("run -it", &p.on_terminal(rt, &args));
        o
    });
    expect(&runc, "run -it: exit", "4");
    expect(&runc, "run -it: stdout", "on-a-terminal\n/dev/pts/0");
}

#[test]
fn read_only_root_with_podman_tmpfs_dirs() {
    let p = Podman::new();
    // The mounts at /, /tmp, /var/tmp, /run and /dev/shm: type and options (only the first
    // option of /, whose others name the storage's layer directories).
    let script = r#"touch /x 2>/dev/null; echo root-write=$?; touch /tmp/y; echo tmp-write=$?
awk '$2 ~ /^\/(tmp|var\/tmp|run|dev\/shm)?$/ { split($4, o, ","); print $2, $3, ($2 == "/" ? o[1] : $4) }' /proc/mounts | sort"#;
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        o.cmd(
            "run --read-only",
            &p.run(rt, &["--rm", "--read-only"], &["sh", "-c", script]),
        );
        o
    });
    expect(&runc, "run --read-only: exit", "0");
    expect_contains(&runc, "run --read-only: stdout", "root-write=1");
    expect_contains(&runc, "run --read-only: stdout", "tmp-write=0");
    expect_contains(&runc, "run --read-only: stdout", "/ overlay ro");
    expect_contains(&runc, "run --read-only: stdout", "/tmp tmpfs rw");
}

#[test]
fn tmpfs_mounts_with_their_options() {
    let p = Podman::new();
    let script = r#"echo hi >/x/f && cat /x/f; stat -c '%a' /y
awk '$2 == "/x" || $2 == "/y" { print $2, $3, $4 }' /proc/mounts | sort"#;
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        o.cmd(
            "run --tmpfs",
            &p.run(
                rt,
                &[
                    "--rm",
                    "--tmpfs",
                    "/x",
                    "--tmpfs",
                    "/y:rw,size=1m,mode=1770",
                ],
                &["sh", "-c", script],
            ),
        );
        o
    });
    expect(&runc, "run --tmpfs: exit", "0");
    expect_contains(&runc, "run --tmpfs: stdout", "hi\n1770\n/x tmpfs rw");
    expect_contains(&runc, "run --tmpfs: stdout", "size=1024k");
}

#[test]
fn privileged_gets_every_capability_device_and_writable_sys() {
    let p = Podman::new();
    let script = r#"grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status
awk '$2 == "/sys" || $2 == "/proc" { split($4, o, ","); print $2, $3, o[1] }' /proc/mounts | sort
mount -t tmpfs none /mnt && echo mounted
ls /dev | tr '\n' ' '"#;
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        o.cmd(
            "run --privileged",
            &p.run(rt, &["--rm", "--privileged"], &["sh", "-c", script]),
        );
        o
    });
    expect(&runc, "run --privileged: exit", "0");
    expect_contains(&runc, "run --privileged: stdout", "Seccomp:\t0");
    expect_contains(&runc, "run --privileged: stdout", "/sys sysfs rw");
    expect_contains(&runc, "run --privileged: stdout", "mounted");
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        p.detach(rt, "p", &[], &["sleep", "100"]);
        let freezer = freezer_file(p.pid(rt, "p"));
        o.add("cgroup below the test's prefix", below_prefix(&p, &freezer));
        o.cmd("pause", &p.cmd(rt, &["pause", "p"]));
        o.add(
            "paused: state",
            p.inspect(rt, "p", "{{.State.Status}} {{.State.Paused}}"),
        );
        o.add("paused: freezer", read_trimmed(&freezer));
        o.cmd("exec while paused", &p.cmd(rt, &["exec", "p", "true"]));
        o.cmd("unpause", &p.cmd(rt, &["unpause", "p"]));
        o.add(
            "unpaused: state",
            p.inspect(rt, "p", "{{.State.Status}} {{.State.Paused}}"),
        );
        o.add("unpaused: freezer", read_trimmed(&freezer));
        o.cmd("exec", &p.cmd(rt, &["exec", "p", "echo", "alive"]));
        o.cmd("rm -f", &p.cmd(rt, &["rm", "-f", "-t", "0", "p"]));
        o
    });
    expect(&runc, "cgroup below the test's prefix", "true");
    expect(&runc, "pause: exit", "0");
    expect(&runc, "paused: state", "paused true");
    expect(&runc, "unpaused: state", "running false");
    expect(&runc, "exec: stdout", "alive");
}

#[test]
fn update_memory_changes_the_running_containers_limit() {
    let p = Podman::new();
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        p.detach(rt, "u", &[], &["sleep", "100"]);
        let limit = memory_limit_file(p.pid(rt, "u"));
        o.add("cgroup below the test's prefix", below_prefix(&p, &limit));
        let id = p.inspect(rt, "u", "{{.Id}}");
        let update = p.cmd(rt, &["update", "--memory", "64m", "u"]);
        o.add("update: exit", code(update.status));
        o.add("update: prints the id", stdout(&update).trim() == id);
        if !stderr(&update).trim().is_empty() {
            o.notes
                .push(format!("update: stderr: {}", stderr(&update).trim()));
        }
        o.add("host cgroup", read_trimmed(&limit));
        o.cmd(
            "inside",
            &p.cmd(
                rt,
                &[
                    "exec",
                    "u",
                    "sh",
                    "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || \
                     cat /sys/fs/cgroup/memory.max",
                ],
            ),
        );
        o.cmd("rm -f", &p.cmd(rt, &["rm", "-f", "-t", "0", "u"]));
        o
    });
    let bytes = (64u64 << 20).to_string();
    expect(&runc, "cgroup below the test's prefix", "true");
    expect(&runc, "update: exit", "0");
    expect(&runc, "update: prints the id", "true");
    expect(&runc, "host cgroup", &bytes);
    expect(&runc, "inside: stdout", &bytes);
}

#[test]
fn memory_limit_oom_kill_exits_137() {
    let p = Podman::new();
    let oom_file = p.conmon_cwd().join("oom");
    let runc = compare(&p, |rt| {
        let mut o = Outcome::default();
        let _ = fs::remove_file(&oom_file);
        // A string that doubles until the 32 MiB limit's OOM killer ends the shell; after a
        // second, so that conmon watches the cgroup's OOM events by then.
        let out = p.run(
            rt,
            &["--name", "oom", "-m", "32m"],
            &["sh", "-c", "sleep 1; x=a; while :; do x=$x$x; done"],
        );
        o.add("run -m 32m: exit", code(out.status));
        o.add(
            "podman's exit code",
            p.inspect(rt, "oom", "{{.State.ExitCode}}"),
        );
        // conmon saw the OOM kill in the container's memory cgroup. podman's own
        // `.State.OOMKilled` stays false here whatever the runtime: see Podman::conmon_cwd.
        o.add("conmon's oom file", oom_file.exists());
        o.add(
            "podman's OOMKilled",
            p.inspect(rt, "oom", "{{.State.OOMKilled}}"),
        );
        o.cmd("rm", &p.cmd(rt, &["rm", "oom"]));
        o
    });
    expect(&runc, "run -m 32m: exit", "137");
    expect(&runc, "podman's exit code", "137");
    expect(&runc, "conmon's oom file", "true");
}

/// The guard's own promise: its leak check is not blind. A cgroup left below the test's prefix
/// (as a runtime that forgot a container's would leave it) fails the test, and is removed.
#[test]
fn the_leak_check_fails_on_a_cgroup_left_below_the_prefix_and_removes_it() {
    let p = Podman::new();
    let stray = p.cgroup_prefixes()[0].join("stray");
    fs::create_dir_all(&stray).unwrap_or_else(|e| panic!("mkdir {}: {e}", stray.display()));
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(p)));
    let message = dropped
        .err()
        .and_then(|e| e.downcast_ref::<String>().cloned())
        .expect("dropping a Podman with a stray cgroup below its prefix did not fail");
    assert!(message.contains("stray"), "{message}");
    assert!(!stray.exists(), "the guard left {}", stray.display());
    assert!(
        !stray.parent().unwrap().exists(),
        "the guard left {}",
        stray.parent().unwrap().display()
    );
}
