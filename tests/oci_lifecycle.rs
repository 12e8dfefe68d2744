//! OCI runtime spec conformance: the lifecycle (create, start, state, kill, delete), exec, hooks,
//! `spec`, and that nothing is left behind.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

/// A process that runs until the host creates `<ctl>/go`.
fn wait_for_go(b: &Bundle) -> std::path::PathBuf {
    let ctl = b.host_dir("ctl");
    b.bind(&ctl, "/ctl", false);
    b.sh("while [ ! -e /ctl/go ]; do sleep 0.02; done");
    ctl
}

#[test]
fn create_does_not_run_the_program_before_start() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let mark = b.host_dir("mark");
    b.bind(&mark, "/mark", false);
    b.set_args(&["touch", "/mark/started"]);
    ctx.create_ok(&b);
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("created"));
    // Give a wrongly started program a moment to show itself.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !mark.join("started").exists(),
        "the program ran before `start`"
    );
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("created"));
    ctx.start_ok(&ctx.id);
    poll(STATE_TIMEOUT, "the program to run after start", || {
        mark.join("started").exists().then_some(())
    });
}

#[test]
fn state_goes_created_running_stopped_with_the_required_fields() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let ctl = wait_for_go(&b);
    ctx.create_ok(&b);
    let st = ctx.state(&ctx.id);
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "ociVersion: {st}"
    );
    assert_eq!(st["id"], json!(ctx.id), "id: {st}");
    assert_eq!(st["status"], json!("created"), "status: {st}");
    let pid = st["pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "pid of a created container: {st}");
    let bundle = st["bundle"]
        .as_str()
        .unwrap_or_else(|| panic!("no bundle in {st}"));
    assert_eq!(
        fs::canonicalize(bundle).expect("state's bundle path exists"),
        fs::canonicalize(b.path()).unwrap(),
        "bundle: {st}"
    );

    ctx.start_ok(&ctx.id);
    let st = ctx.state(&ctx.id);
    assert_eq!(st["status"], json!("running"), "after start: {st}");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid),
        "pid changed across start: {st}"
    );

    fs::write(ctl.join("go"), "").unwrap();
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    let st = ctx.state(&ctx.id);
    assert_eq!(st["id"], json!(ctx.id), "id when stopped: {st}");
}

#[test]
fn start_of_a_running_container_fails() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let out = ctx.start(&ctx.id);
    assert!(
        !out.status.success(),
        "second start succeeded: {}",
        describe(&out)
    );
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("running"));
}

#[test]
fn kill_of_a_stopped_container_fails() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["true"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    for sig in ["KILL", "TERM"] {
        let out = ctx.kill(&ctx.id, sig);
        assert!(
            !out.status.success(),
            "kill {sig} of a stopped container succeeded: {}",
            describe(&out)
        );
    }
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("stopped"));
}

#[test]
fn delete_of_a_running_container_fails_without_force_and_works_with_it() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let pid = ctx.pid(&ctx.id);
    let out = ctx.delete(&ctx.id);
    assert!(
        !out.status.success(),
        "delete of a running container succeeded"
    );
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("running"));
    assert!(!is_gone(pid), "delete without --force killed the process");
    must("delete --force", ctx.delete_force(&ctx.id));
    assert!(
        !ctx.try_state(&ctx.id).status.success(),
        "state after delete --force"
    );
    poll(STATE_TIMEOUT, "the container process to die", || {
        is_gone(pid).then_some(())
    });
}

#[test]
fn state_fails_after_delete() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["true"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    must("delete of a stopped container", ctx.delete(&ctx.id));
    let out = ctx.try_state(&ctx.id);
    assert!(
        !out.status.success(),
        "state after delete: {}",
        describe(&out)
    );
}

#[test]
fn kill_all_signals_every_process_of_the_container() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // Without a PID namespace, killing PID 1 alone would leave the sleeps running.
    b.edit(|c| remove_namespace(c, "pid"));
    b.sh("sleep 100 & sleep 100 & wait");
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let pids = poll(STATE_TIMEOUT, "three processes in the container", || {
        let p = pids_in_cgroups_with(&b.cgroup);
        (p.len() == 3).then_some(p)
    });
    must("kill --all", ctx.cmd(&["kill", "--all", &ctx.id, "KILL"]));
    poll(STATE_TIMEOUT, "every process to die", || {
        pids.iter().all(|p| is_gone(*p)).then_some(())
    });
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
}

#[test]
fn exec_runs_a_process_inside_a_running_container() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["hostname"] = json!("hull-exec"));
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let out = must("exec hostname", ctx.exec(&ctx.id, &["hostname"]));
    assert_eq!(stdout(&out).trim(), "hull-exec");
    let out = must("exec cat", ctx.exec(&ctx.id, &["cat", "/proc/1/cmdline"]));
    assert_eq!(out.stdout, b"sleep\x00100\x00", "{}", describe(&out));
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("running"));
}

fn host_hook(dir: &Path, name: &str) -> Value {
    let dir = path_str(dir);
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} >> {dir}/log")],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
    })
}

#[test]
fn hooks_run_in_order_and_receive_the_state_on_stdin() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let dir = b.host_dir("hooks");
    b.bind(&dir, "/hooks", false);
    b.set_args(&["true"]);
    b.edit(|c| {
        c["annotations"] = json!({ "com.example.hook": "seen" });
        c["hooks"] = json!({
            "createRuntime": [host_hook(&dir, "createRuntime")],
            "createContainer": [host_hook(&dir, "createContainer")],
            // Runs in the container: the path resolves in its rootfs, /hooks is the bind mount.
            "startContainer": [{
                "path": "/bin/sh",
                "args": ["sh", "-c",
                    "cat > /hooks/startContainer.json; echo startContainer >> /hooks/log"],
                "env": ["PATH=/bin"]
            }],
            "poststart": [host_hook(&dir, "poststart")],
            "poststop": [host_hook(&dir, "poststop")]
        })
    });
    let read_log = || fs::read_to_string(dir.join("log")).unwrap_or_default();
    ctx.create_ok(&b);
    let after_create = read_log();
    ctx.start_ok(&ctx.id);
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    must("delete", ctx.delete(&ctx.id));
    let log = read_log();
    let want = [
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    for name in want {
        let text = fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_else(|e| {
            panic!("{name} hook did not run or saved no stdin: {e}; log: {log:?}")
        });
        let st: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} hook got non-JSON stdin ({e}): {text:?}"));
        assert_eq!(st["id"], json!(ctx.id), "{name} hook state: {st}");
        // Exactly the spec's state: no runtime's own fields, the config's own annotations. The
        // pid is required while the process lives; runc omits it once stopped.
        let mut keys: Vec<&str> = st.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        if st["status"] == json!("stopped") && !keys.contains(&"pid") {
            keys.push("pid");
        }
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["annotations", "bundle", "id", "ociVersion", "pid", "status"],
            "{name} hook state: {st}"
        );
        assert_eq!(
            st["annotations"],
            json!({ "com.example.hook": "seen" }),
            "{name} hook state: {st}"
        );
    }
    assert_eq!(
        after_create.lines().collect::<Vec<_>>(),
        want[..2],
        "only createRuntime and createContainer may run during `create` \
         (startContainer and poststart belong to `start`)"
    );
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        want,
        "hooks ran in the wrong order"
    );
}

#[test]
fn spec_writes_a_parsable_config_json() {
    let ctx = Ctx::new();
    let dir = tempfile::tempdir().unwrap();
    must(
        "spec --bundle",
        ctx.cmd(&["spec", "--bundle", path_str(dir.path())]),
    );
    let text =
        fs::read_to_string(dir.path().join("config.json")).expect("spec wrote no config.json");
    let cfg: Value = serde_json::from_str(&text).expect("spec's config.json is not JSON");
    assert!(
        cfg["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "no ociVersion in spec output: {cfg}"
    );
}

#[test]
fn failed_create_exits_non_zero_and_leaves_nothing() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["/no/such/binary"]);
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert!(
        !out.status.success(),
        "create of a missing binary succeeded: {}",
        describe(&out)
    );
    let after = ctx.snapshot();
    assert_no_leaks(&before, &after);
    assert!(
        !ctx.try_state(&ctx.id).status.success(),
        "state after failed create"
    );
}

#[test]
fn create_then_delete_leaves_nothing() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let before = ctx.snapshot();
    ctx.create_ok(&b);
    let during = ctx.snapshot();
    // The snapshot must see what a container holds, or "no leak" proves nothing.
    assert!(
        !during.cgroup_dirs.is_empty(),
        "no cgroup dir seen: {during:?}"
    );
    assert!(!during.processes.is_empty(), "no process seen: {during:?}");
    assert!(
        during.state_entries.len() > before.state_entries.len(),
        "no state entry seen: {during:?}"
    );
    // `delete` of a `created` (not stopped) container is an error in the OCI spec: use --force.
    must("delete --force", ctx.delete_force(&ctx.id));
    let after = ctx.snapshot();
    assert_no_leaks(&before, &after);
}
