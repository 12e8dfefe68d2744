//! hullrt-only checks: commands and behaviour beyond the OCI spec (features, list, error
//! messages, the OOM flag). Always runs the built `hullrt`, whatever `$HULL_OCI_RUNTIME` says.
mod support;

use std::fs;

use serde_json::{json, Value};
use support::*;

const OOM_KEY: &str = "org.hull.oom-killed";

/// A failed command: non-zero exit, and exactly one line on stderr that contains `needle`.
fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    assert!(
        !out.status.success(),
        "expected a failure naming {needle:?}: {}",
        describe(out)
    );
    let err = stderr(out);
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "the error should be ONE line: {}",
        describe(out)
    );
    assert!(
        lines[0].contains(needle),
        "the error should name {needle:?}: {}",
        describe(out)
    );
}

#[test]
fn features_prints_json_with_oci_versions_and_namespaces() {
    let ctx = Ctx::hullrt();
    let out = must("features", ctx.cmd(&["features"]));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("features printed invalid JSON ({e}): {}", stdout(&out)));
    for key in ["ociVersionMin", "ociVersionMax"] {
        assert!(
            v[key].as_str().is_some_and(|s| s.starts_with("1.")),
            "{key} should be a 1.x version: {v}"
        );
    }
    let ns: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .unwrap_or_else(|| panic!("no linux.namespaces array: {v}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in ["pid", "network", "ipc", "uts", "mount", "user"] {
        assert!(ns.contains(&want), "linux.namespaces lacks {want}: {ns:?}");
    }
    let seccomp = &v["linux"]["seccomp"];
    assert_eq!(seccomp["enabled"], true, "{seccomp}");
    for (key, want) in [
        ("actions", "SCMP_ACT_ERRNO"),
        ("operators", "SCMP_CMP_MASKED_EQ"),
        ("archs", "SCMP_ARCH_X86_64"),
    ] {
        assert!(
            seccomp[key]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == want)),
            "linux.seccomp.{key} lacks {want}: {seccomp}"
        );
    }
}

#[test]
fn list_shows_a_created_container_as_text_and_json() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    let out = must("list", ctx.cmd(&["list"]));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(ctx.id.as_str()))
        .unwrap_or_else(|| panic!("list does not show {}:\n{text}", ctx.id));
    assert!(row.contains("created"), "list row lacks the status: {row}");

    let out = must("list --format json", ctx.cmd(&["list", "--format", "json"]));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("list --format json is not JSON ({e}): {}", stdout(&out)));
    let arr = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    let entry = arr
        .iter()
        .find(|e| e["id"] == json!(ctx.id))
        .unwrap_or_else(|| panic!("{} not in {v}", ctx.id));
    assert_eq!(entry["status"], json!("created"), "{entry}");
    assert_eq!(
        entry["pid"].as_i64(),
        Some(ctx.pid(&ctx.id) as i64),
        "{entry}"
    );
}

#[test]
fn create_with_a_missing_bundle_dir_names_the_dir_and_leaves_nothing() {
    let ctx = Ctx::hullrt();
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-bundle");
    let before = ctx.snapshot();
    let out = ctx.cmd(&["create", "--bundle", path_str(&missing), &ctx.id]);
    assert_one_line_error(&out, path_str(&missing));
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn create_with_a_malformed_config_names_config_json_and_leaves_nothing() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    fs::write(b.config_path(), "{\"ociVersion\":").unwrap();
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert_one_line_error(&out, "config.json");
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn commands_on_an_unknown_id_name_the_id() {
    let ctx = Ctx::hullrt();
    let before = ctx.snapshot();
    let id = ctx.id.as_str();
    for args in [
        vec!["state", id],
        vec!["start", id],
        vec!["kill", id, "KILL"],
        vec!["delete", id],
    ] {
        let out = ctx.cmd(&args);
        assert_one_line_error(&out, id);
    }
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn create_with_a_duplicate_id_names_the_id_and_keeps_the_first_container() {
    let ctx = Ctx::hullrt();
    let first = ctx.bundle();
    first.set_args(&["sleep", "100"]);
    ctx.create_ok(&first);
    let pid = ctx.pid(&ctx.id);
    let second = ctx.bundle();
    second.set_args(&["sleep", "100"]);
    let before = ctx.snapshot();
    let out = ctx.create(&second);
    assert_one_line_error(&out, &ctx.id);
    assert_no_leaks(&before, &ctx.snapshot());
    assert!(
        cgroup_dirs_with(&second.cgroup).is_empty(),
        "the duplicate left its cgroup"
    );
    let st = ctx.state(&ctx.id);
    assert_eq!(st["status"], json!("created"), "{st}");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64), "{st}");
    assert!(!is_gone(pid), "the first container's process died");
}

#[test]
fn kill_with_a_bad_signal_names_it_and_leaves_the_container_alone() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    let out = ctx.kill(&ctx.id, "NOPE");
    assert_one_line_error(&out, "NOPE");
    assert_eq!(ctx.status(&ctx.id).as_deref(), Some("created"));
}

#[test]
fn systemd_cgroup_flag_is_reported_as_not_supported() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    let before = ctx.snapshot();
    let out = ctx.cmd(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        path_str(b.path()),
        &ctx.id,
    ]);
    assert_one_line_error(&out, "systemd");
    assert!(
        stderr(&out).to_lowercase().contains("not supported"),
        "should say 'not supported': {}",
        describe(&out)
    );
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn an_unsupported_field_is_named_and_nothing_is_left() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["intelRdt"] = json!({ "closID": "x" }));
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert_one_line_error(&out, "linux.intelRdt");
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn a_failure_after_start_reaches_run_and_start() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    // A file as the working directory: chdir fails after `start` has released the init.
    b.edit(|c| c["process"]["cwd"] = json!("/etc/passwd"));
    let before = ctx.snapshot();
    let out = ctx.run(&b);
    assert_one_line_error(&out, "process.cwd: chdir /etc/passwd");
    let id = ctx.new_id();
    must("create", ctx.create_id(&b, &id));
    let out = ctx.start(&id);
    assert_one_line_error(&out, "process.cwd: chdir /etc/passwd");
    must("delete", ctx.delete_force(&id));
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn an_existing_empty_cgroup_is_joined_and_a_busy_one_refused() {
    let ctx = Ctx::hullrt();
    // `first` makes the cgroup; once its program has ended the cgroup is empty but still there.
    let first = ctx.bundle();
    first.set_args(&["true"]);
    let shared = first.config()["linux"]["cgroupsPath"].clone();
    let id = ctx.started(&first);
    ctx.wait_for_status(&id, "stopped", STATE_TIMEOUT);
    let joining = ctx.bundle();
    joining.edit(|c| c["linux"]["cgroupsPath"] = shared.clone());
    joining.sh("echo joined");
    let out = must("run", ctx.run(&joining));
    assert_eq!(stdout(&out), "joined\n", "{}", describe(&out));
    must("delete", ctx.delete(&id));

    // A cgroup that holds a running container's processes is not shared.
    let busy = ctx.bundle();
    busy.set_args(&["sleep", "100"]);
    let busy_path = busy.config()["linux"]["cgroupsPath"].clone();
    let busy_id = ctx.new_id();
    must("create", ctx.create_id(&busy, &busy_id));
    let intruder = ctx.bundle();
    intruder.edit(|c| c["linux"]["cgroupsPath"] = busy_path.clone());
    let out = ctx.run(&intruder);
    assert_one_line_error(&out, "already holds 1 process(es)");
    must("delete", ctx.delete_force(&busy_id));
}

#[test]
fn an_idmapped_mount_is_refused_by_name() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    let dir = b.host_dir("data");
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind",
            "source": dir.to_str().unwrap(), "options": ["rbind", "idmap"]
        }))
    });
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert_one_line_error(&out, "options idmap (idmapped mounts) is not supported");
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn a_create_killed_at_any_point_is_cleaned_up_by_delete_force() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({"pids": {"limit": 100}}));
    b.set_args(&["sleep", "100"]);
    let bundle = path_str(b.path()).to_string();
    let mut ids = Vec::new();
    // SIGKILL after 0, 1, 2, ... ms: before, during and after the cgroups are made.
    for delay_ms in 0..30u64 {
        let id = ctx.new_id();
        let mut child = ctx
            .rt_std()
            .args(["create", "--bundle", &bundle, &id])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn hullrt create");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        ids.push(id);
    }
    for id in &ids {
        let out = ctx.delete_force(id);
        assert!(
            out.status.success(),
            "delete --force {id}: {}",
            describe(&out)
        );
    }
    let left = cgroup_dirs_with(&ctx.token);
    assert!(
        left.is_empty(),
        "cgroups left after delete --force: {left:?}"
    );
    let listed = must("list", ctx.cmd(&["list", "-q"]));
    assert_eq!(
        stdout(&listed),
        "",
        "containers left: {}",
        describe(&listed)
    );
}

#[test]
fn a_seccomp_action_hullrt_cannot_honour_is_refused_by_name() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        })
    });
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert_one_line_error(
        &out,
        "linux.seccomp.syscalls[0].action SCMP_ACT_NOTIFY is not supported",
    );
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn ids_above_2_31_are_refused_not_run_as_root() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    // 4294967295 is -1 to setresuid: "leave unchanged", i.e. root.
    b.edit(|c| c["process"]["user"]["uid"] = json!(4294967295u32));
    b.sh("id -u");
    let before = ctx.snapshot();
    let out = ctx.run(&b);
    assert_one_line_error(&out, "process.user.uid 4294967295 is out of range");
    assert_no_leaks(&before, &ctx.snapshot());
}

#[test]
fn a_forced_delete_of_an_unknown_id_succeeds_as_in_runc() {
    let ctx = Ctx::hullrt();
    let out = ctx.delete_force(&ctx.id);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(stderr(&out), "", "nothing to report: {}", describe(&out));
}

/// `state --hull ID`: the spec's document plus hullrt's own `org.hull.*` facts.
fn hull_state(ctx: &Ctx, id: &str) -> Value {
    let out = must("state --hull", ctx.cmd(&["state", "--hull", id]));
    serde_json::from_slice(&out.stdout).expect("state --hull printed invalid JSON")
}

#[test]
fn state_flags_an_oom_killed_container() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "memory": { "limit": 32u64 << 20 } }));
    b.set_args(&["tail", "/dev/zero"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    let st = hull_state(&ctx, &ctx.id);
    assert_eq!(st[OOM_KEY], json!(true), "{OOM_KEY}: {st}");
    assert_eq!(st["org.hull.oom-kill-count"], json!(1), "{st}");
}

#[test]
fn state_keeps_hullrts_facts_out_of_the_spec_document() {
    // Hooks and clients read `annotations` as the config's own; an OOM fact slipped in there
    // would be a key the bundle never set.
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| {
        c["annotations"] = json!({ "com.example.mine": "yes" });
        c["linux"]["resources"] = json!({ "memory": { "limit": 32u64 << 20 } });
    });
    b.set_args(&["tail", "/dev/zero"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    let st = ctx.state(&ctx.id);
    assert_eq!(
        st["annotations"],
        json!({ "com.example.mine": "yes" }),
        "{st}"
    );
    let keys: Vec<&str> = st.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert!(
        !keys.iter().any(|k| k.starts_with("org.hull")),
        "state without --hull shows hullrt's own facts: {st}"
    );
    assert_eq!(hull_state(&ctx, &ctx.id)[OOM_KEY], json!(true));
}

#[test]
fn state_does_not_flag_a_container_killed_by_sigkill() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "memory": { "limit": 32u64 << 20 } }));
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    must("kill KILL", ctx.kill(&ctx.id, "KILL"));
    ctx.wait_for_status(&ctx.id, "stopped", STATE_TIMEOUT);
    let st = hull_state(&ctx, &ctx.id);
    assert_eq!(st[OOM_KEY], json!(false), "{OOM_KEY}: {st}");
}

#[test]
fn run_of_an_oom_killed_container_exits_137() {
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "memory": { "limit": 32u64 << 20 } }));
    b.set_args(&["tail", "/dev/zero"]);
    let out = ctx.run(&b);
    assert_eq!(code(out.status), 137, "{}", describe(&out));
}

#[test]
fn an_oom_kill_ends_run_with_137_every_time() {
    // The cgroups lab stands on this number. Under load, the init's first message could
    // overtake stage1's report of its pid, and run ended with 125 "exited before reporting
    // its pid" instead (once in 30 tries in the issue, once in a full CI run here).
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "memory": { "limit": 32u64 << 20 } }));
    b.set_args(&["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"]);
    for i in 0..200 {
        let id = ctx.new_id();
        let out = ctx.run_id(&b, &id);
        assert_eq!(code(out.status), 137, "run {i}: {}", describe(&out));
    }
}
