//! OCI runtime spec conformance: `linux.seccomp`, enforced by the kernel for the container's
//! process and for every process `exec` adds.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use serde_json::{json, Value};
use support::*;

/// A profile that allows everything but answers the given syscalls' rules.
fn allow_all_but(rules: Value) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules
    })
}

fn deny_mkdir_with(errno: u32) -> Value {
    allow_all_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}
    ]))
}

#[test]
fn an_errno_rule_answers_with_its_errno_and_the_process_is_filtered() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // EACCES (13): "Permission denied", which mkdir would never see as root in /tmp.
    b.edit(|c| c["linux"]["seccomp"] = deny_mkdir_with(13));
    b.sh("grep '^Seccomp:' /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?; touch /tmp/y && echo touch-ok");
    let out = must("run", ctx.run(&b));
    let text = stdout(&out);
    assert!(
        text.contains("Seccomp:\t2"),
        "filter mode 2 expected: {text}"
    );
    assert!(
        text.contains("Permission denied") && text.contains("rc=1"),
        "mkdir must fail with EACCES: {text}"
    );
    assert!(
        text.contains("touch-ok"),
        "other syscalls are allowed: {text}"
    );
}

#[test]
fn without_a_profile_there_is_no_filter() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.sh("grep '^Seccomp:' /proc/self/status; mkdir /tmp/x && echo mkdir-ok");
    let out = must("run", ctx.run(&b));
    assert_eq!(
        stdout(&out),
        "Seccomp:\t0\nmkdir-ok\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn argument_conditions_select_the_calls_a_rule_applies_to() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // chmod(path, mode) and fchmodat(dirfd, path, mode): refuse mode 0777 only.
    b.edit(|c| {
        c["linux"]["seccomp"] = allow_all_but(json!([
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}]}
        ]))
    });
    b.sh("touch /tmp/f; chmod 755 /tmp/f && echo 755-ok; chmod 777 /tmp/f 2>/dev/null || echo 777-refused");
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out), "755-ok\n777-refused\n", "{}", describe(&out));
}

#[test]
fn several_conditions_on_one_argument_are_alternatives() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // Mode 0700 or 0777 refused (two conditions on the same argument: either matches).
    b.edit(|c| {
        c["linux"]["seccomp"] = allow_all_but(json!([
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [{"index": 2, "value": 0o700, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}]}
        ]))
    });
    b.sh(
        "touch /tmp/f; for m in 700 755 777; do chmod $m /tmp/f 2>/dev/null && echo $m-ok || echo $m-refused; done",
    );
    let out = must("run", ctx.run(&b));
    assert_eq!(
        stdout(&out),
        "700-refused\n755-ok\n777-refused\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn the_filter_holds_with_no_new_privileges_too() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["process"]["noNewPrivileges"] = json!(true);
        c["linux"]["seccomp"] = deny_mkdir_with(13);
    });
    b.sh("grep '^NoNewPrivs:' /proc/self/status; mkdir /tmp/x 2>/dev/null || echo refused");
    let out = must("run", ctx.run(&b));
    assert_eq!(
        stdout(&out),
        "NoNewPrivs:\t1\nrefused\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn exec_runs_under_the_containers_filter() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["seccomp"] = deny_mkdir_with(13));
    b.set_args(&["sleep", "100"]);
    let id = ctx.started(&b);
    let out = ctx.exec(
        &id,
        &[
            "sh",
            "-c",
            "grep '^Seccomp:' /proc/self/status; mkdir /tmp/e 2>&1; echo rc=$?",
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("Seccomp:\t2") && text.contains("Permission denied") && text.contains("rc=1"),
        "the exec'd process must be filtered like PID 1: {}",
        describe(&out)
    );
    ctx.kill_and_delete(&id);
}
