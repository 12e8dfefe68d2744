//! OCI runtime spec conformance: the `process` object (user, cwd, env, capabilities, rlimits,
//! noNewPrivileges, oomScoreAdj) and exit statuses.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::*;

#[test]
fn user_uid_gid_and_additional_gids_are_applied() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["process"]["user"] = json!({ "uid": 1000, "gid": 1000, "additionalGids": [10, 20] })
    });
    b.sh("id -u; id -g; id -G");
    let out = must("run", ctx.run(&b));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", describe(&out));
    assert_eq!(lines[0], "1000", "uid");
    assert_eq!(lines[1], "1000", "gid");
    let groups: BTreeSet<&str> = lines[2].split_whitespace().collect();
    assert!(
        groups.contains("10") && groups.contains("20"),
        "additionalGids 10 and 20 missing from `id -G`: {}",
        lines[2]
    );
    let allowed: BTreeSet<&str> = ["10", "20", "1000"].into_iter().collect();
    assert!(
        groups.is_subset(&allowed),
        "unexpected groups (root's groups leaked?): {}",
        lines[2]
    );
}

#[test]
fn cwd_and_env_are_applied() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["process"]["cwd"] = json!("/tmp");
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("FOO=bar baz"));
    });
    b.sh("pwd; echo \"$FOO\"");
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out), "/tmp\nbar baz\n", "{}", describe(&out));
}

fn cap_field(status: &str, key: &str) -> u64 {
    let v = status_field(status, key).unwrap_or_else(|| panic!("no {key} in:\n{status}"));
    u64::from_str_radix(&v, 16).unwrap_or_else(|e| panic!("{key}: {v:?}: {e}"))
}

#[test]
fn capabilities_are_exactly_the_configured_set() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["cat", "/proc/self/status"]);
    let out = must("run", ctx.run(&b));
    let status = stdout(&out);
    for key in ["CapEff", "CapBnd", "CapPrm"] {
        assert_eq!(
            cap_field(&status, key),
            DEFAULT_CAP_MASK,
            "{key} should be {DEFAULT_CAP_MASK:#x} (CAP_AUDIT_WRITE|CAP_KILL|CAP_NET_BIND_SERVICE)"
        );
    }
    assert_eq!(
        cap_field(&status, "CapAmb"),
        0,
        "no ambient capabilities configured"
    );
}

#[test]
fn rlimits_default_nofile_and_a_custom_core_limit_are_applied() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["process"]["rlimits"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "RLIMIT_CORE", "soft": 4096, "hard": 8192 }));
    });
    b.sh("ulimit -n; cat /proc/self/limits");
    let out = must("run", ctx.run(&b));
    let text = stdout(&out);
    assert_eq!(text.lines().next(), Some("1024"), "ulimit -n: {text}");
    let core: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core line in /proc/self/limits:\n{text}"))
        .split_whitespace()
        .skip(4)
        .collect();
    assert_eq!(core, vec!["4096", "8192", "bytes"], "RLIMIT_CORE soft/hard");
    let nofile: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("no open files line")
        .split_whitespace()
        .skip(3)
        .collect();
    assert_eq!(
        nofile,
        vec!["1024", "1024", "files"],
        "RLIMIT_NOFILE soft/hard"
    );
}

#[test]
fn no_new_privileges_is_set() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["cat", "/proc/self/status"]);
    let out = must("run", ctx.run(&b));
    assert_eq!(
        status_field(&stdout(&out), "NoNewPrivs").as_deref(),
        Some("1"),
        "NoNewPrivs"
    );
}

#[test]
fn oom_score_adj_is_applied() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["process"]["oomScoreAdj"] = json!(432));
    b.set_args(&["cat", "/proc/self/oom_score_adj"]);
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out).trim(), "432");
}

#[test]
fn run_exits_with_the_process_exit_code() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.sh("exit 3");
    let out = ctx.run(&b);
    assert_eq!(code(out.status), 3, "{}", describe(&out));
}

#[test]
fn sigterm_through_kill_makes_run_exit_143() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // PID 1 of a PID namespace ignores signals it has no handler for (except SIGKILL), so run
    // `sleep` in the host's PID namespace for this check.
    b.edit(|c| remove_namespace(c, "pid"));
    b.set_args(&["sleep", "100"]);
    let mut run = ctx.run_background(&b);
    ctx.wait_for_status(&ctx.id, "running", STATE_TIMEOUT);
    must("kill TERM", ctx.kill(&ctx.id, "TERM"));
    assert_eq!(run.wait(STATE_TIMEOUT), 143, "run should exit 128+SIGTERM");
}

#[test]
fn sigkill_through_kill_makes_run_exit_137_with_a_pid_namespace() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let mut run = ctx.run_background(&b);
    ctx.wait_for_status(&ctx.id, "running", STATE_TIMEOUT);
    must("kill KILL", ctx.kill(&ctx.id, "KILL"));
    assert_eq!(run.wait(STATE_TIMEOUT), 137, "run should exit 128+SIGKILL");
}

#[test]
fn home_comes_from_the_containers_passwd_when_env_has_none() {
    let ctx = Ctx::new();
    for (uid, want) in [(0u32, "/root"), (1000, "/home"), (4242, "/")] {
        let b = ctx.bundle();
        b.edit(|c| {
            c["process"]["user"] = json!({ "uid": uid, "gid": uid });
            c["process"]["env"]
                .as_array_mut()
                .unwrap()
                .retain(|e| !e.as_str().unwrap_or("").starts_with("HOME="));
        });
        b.sh("echo \"$HOME\"");
        let out = must("run", ctx.run(&b));
        assert_eq!(
            stdout(&out),
            format!("{want}\n"),
            "uid {uid}: {}",
            describe(&out)
        );
    }
    // A HOME the config gives wins.
    let b = ctx.bundle();
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("HOME=/given"))
    });
    b.sh("echo \"$HOME\"");
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out), "/given\n", "{}", describe(&out));
}

#[test]
fn exec_runs_a_process_file_and_adds_capabilities() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let id = ctx.started(&b);

    // --process: a whole OCI process object, as conmon sends it.
    let mut process = b.config()["process"].clone();
    process["args"] = json!(["sh", "-c", "pwd; echo \"$FROM_FILE\"; id -u"]);
    process["cwd"] = json!("/tmp");
    process["env"] = json!(["PATH=/bin", "FROM_FILE=yes"]);
    process["user"] = json!({"uid": 1000, "gid": 1000});
    let file = b.path().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let out = must(
        "exec --process",
        ctx.cmd(&["exec", "--process", path_str(&file), &id]),
    );
    assert_eq!(stdout(&out), "/tmp\nyes\n1000\n", "{}", describe(&out));

    // --cap: CAP_NET_ADMIN (12) joins the effective set, which the config's lacks.
    let eff = |out: &std::process::Output| {
        let text = stdout(out);
        u64::from_str_radix(text.trim().trim_start_matches("CapEff:").trim(), 16)
            .unwrap_or_else(|e| panic!("{e}: {}", describe(out)))
    };
    let plain = must(
        "exec",
        ctx.exec(&id, &["sh", "-c", "grep CapEff /proc/self/status"]),
    );
    assert_eq!(eff(&plain) & (1 << 12), 0, "{}", describe(&plain));
    let added = must(
        "exec --cap",
        ctx.cmd(&[
            "exec",
            "--cap",
            "CAP_NET_ADMIN",
            &id,
            "sh",
            "-c",
            "grep CapEff /proc/self/status",
        ]),
    );
    assert_ne!(eff(&added) & (1 << 12), 0, "{}", describe(&added));
    ctx.kill_and_delete(&id);
}
