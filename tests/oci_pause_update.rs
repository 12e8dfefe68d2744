//! runc's `pause`, `resume` and `update`, which clients such as podman drive: freezing a
//! container through its cgroup, and changing its limits while it runs.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use std::fs;
use std::time::Duration;

use support::*;

/// The number the container's counter loop has reached (a line count in a host file).
fn ticks(file: &std::path::Path) -> usize {
    fs::read_to_string(file).unwrap_or_default().lines().count()
}

#[test]
fn pause_freezes_every_process_and_resume_thaws_them() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let out = b.host_dir("out");
    b.bind(&out, "/out", false);
    b.sh("while :; do echo tick >>/out/ticks; usleep 20000; done");
    let id = ctx.started(&b);
    let file = out.join("ticks");
    poll(Duration::from_secs(10), "the counter to run", || {
        (ticks(&file) > 3).then_some(())
    });

    must("pause", ctx.cmd(&["pause", &id]));
    assert_eq!(ctx.status(&id).as_deref(), Some("paused"));
    let frozen = ticks(&file);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        ticks(&file),
        frozen,
        "the container kept running while paused"
    );
    let out_exec = ctx.exec(&id, &["true"]);
    assert!(
        !out_exec.status.success(),
        "exec into a paused container must be refused: {}",
        describe(&out_exec)
    );
    let again = ctx.cmd(&["pause", &id]);
    assert!(
        !again.status.success(),
        "pausing twice: {}",
        describe(&again)
    );

    must("resume", ctx.cmd(&["resume", &id]));
    assert_eq!(ctx.status(&id).as_deref(), Some("running"));
    poll(Duration::from_secs(10), "the counter to run again", || {
        (ticks(&file) > frozen + 3).then_some(())
    });

    // A paused container can still be removed by force.
    must("pause", ctx.cmd(&["pause", &id]));
    must("delete --force", ctx.delete_force(&id));
    assert_eq!(ctx.status(&id), None);
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let id = ctx.started(&b);
    let pid = ctx.pid(&id);
    let (memory, pids) = if is_v1_controller("memory") {
        (
            cgroup_file(pid, "memory", "memory.limit_in_bytes"),
            cgroup_file(pid, "pids", "pids.max"),
        )
    } else {
        (
            cgroup_file(pid, "memory", "memory.max"),
            cgroup_file(pid, "pids", "pids.max"),
        )
    };
    must(
        "update flags",
        ctx.cmd(&["update", "--memory", "64m", "--pids-limit", "20", &id]),
    );
    let read = |p: &std::path::Path| fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(read(&memory), (64u64 << 20).to_string());
    assert_eq!(read(&pids), "20");

    // -r FILE: a linux.resources object.
    let file = b.path().join("resources.json");
    fs::write(
        &file,
        r#"{"memory": {"limit": 100663296}, "pids": {"limit": 30}}"#,
    )
    .unwrap();
    must(
        "update -r",
        ctx.cmd(&["update", "-r", path_str(&file), &id]),
    );
    assert_eq!(read(&memory), (96u64 << 20).to_string());
    assert_eq!(read(&pids), "30");
    ctx.kill_and_delete(&id);
}

#[test]
fn update_with_device_rules_keeps_the_default_devices() {
    // An update's device rules are followed by the default devices, as at create: on cgroup
    // v2 they become the container's whole device program, and on v1 "deny all" resets the
    // cgroup's list, so without them /dev/null would go away under the running container.
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let id = ctx.started(&b);
    let file = b.path().join("devices.json");
    fs::write(
        &file,
        r#"{"devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}]}"#,
    )
    .unwrap();
    must(
        "update -r devices",
        ctx.cmd(&["update", "-r", path_str(&file), &id]),
    );
    let out = must(
        "exec after the update",
        ctx.exec(
            &id,
            &[
                "sh",
                "-c",
                "echo x >/dev/null && head -c 3 /dev/zero | wc -c",
            ],
        ),
    );
    assert_eq!(stdout(&out).trim(), "3", "{}", describe(&out));
    ctx.kill_and_delete(&id);
}
