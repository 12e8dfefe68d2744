//! OCI runtime spec conformance: `linux.resources` (cgroups), v1 or v2, observed from the host.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use std::fs;

use serde_json::json;
use support::*;

const MIB_32: u64 = 32 * 1024 * 1024;

#[test]
fn memory_limit_kills_a_hog_and_run_exits_137() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "memory": { "limit": MIB_32 } }));
    // `tail` keeps the whole (endless, newline-free) file in memory.
    b.set_args(&["tail", "/dev/zero"]);
    let out = ctx.run(&b);
    assert_eq!(
        code(out.status),
        137,
        "the OOM killer should SIGKILL the hog: {}",
        describe(&out)
    );
}

#[test]
fn pids_limit_stops_a_burst_of_forks() {
    const LIMIT: usize = 8;
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["resources"] = json!({ "pids": { "limit": LIMIT } }));
    // The burst runs in a child shell (ash gives up at the first failed fork); the sleeps it
    // started outlive it. Counting uses only builtins: it must not need a fork.
    b.sh(
        "sh -c 'i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done'; \
         set -- /proc/[0-9]*; echo \"procs=$#\"; exit 0",
    );
    let out = ctx.run(&b);
    let text = stdout(&out);
    let procs: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no procs= line: {}", describe(&out)));
    assert!(
        procs <= LIMIT,
        "{procs} processes ran in a container limited to {LIMIT} pids: {}",
        describe(&out)
    );
    assert!(
        procs >= 2,
        "not even one background sleep started: {}",
        describe(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("fork") || err.contains("Resource temporarily unavailable"),
        "the shell should report a failed fork: {}",
        describe(&out)
    );
}

/// (file, expected) pairs for the configured limits, v1 or v2 per controller on this host.
fn expected_files(pid: i32) -> Vec<(std::path::PathBuf, String)> {
    let mut v = Vec::new();
    if is_v1_controller("memory") {
        v.push((
            cgroup_file(pid, "memory", "memory.limit_in_bytes"),
            MIB_32.to_string(),
        ));
    } else {
        v.push((cgroup_file(pid, "memory", "memory.max"), MIB_32.to_string()));
    }
    if is_v1_controller("cpu") {
        v.push((cgroup_file(pid, "cpu", "cpu.shares"), "512".into()));
        v.push((cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000".into()));
        v.push((
            cgroup_file(pid, "cpu", "cpu.cfs_period_us"),
            "100000".into(),
        ));
    } else {
        v.push((cgroup_file(pid, "cpu", "cpu.max"), "50000 100000".into()));
        // The OCI shares→weight conversion used by runc and crun: 1 + (shares-2)*9999/262142.
        let weight = 1 + (512 - 2) * 9999 / 262142;
        v.push((cgroup_file(pid, "cpu", "cpu.weight"), weight.to_string()));
    }
    v
}

#[test]
fn cpu_and_memory_limits_are_written_to_the_containers_cgroup() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["linux"]["resources"] = json!({
            "memory": { "limit": MIB_32 },
            "cpu": { "shares": 512, "quota": 50000, "period": 100000 }
        })
    });
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    let pid = ctx.pid(&ctx.id);
    for (file, want) in expected_files(pid) {
        let got =
            fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        assert_eq!(got.trim(), want, "{}", file.display());
        assert!(
            path_str(&file).contains(&b.cgroup),
            "{} is not below the configured cgroupsPath {}",
            file.display(),
            b.cgroup
        );
    }
}

#[test]
fn relative_cgroups_path_is_created_below_the_callers_cgroup() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    ctx.create_ok(&b);
    let pid = ctx.pid(&ctx.id);
    let ours = fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let theirs =
        fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read the container's cgroup");
    let mut checked = 0;
    for line in ours.lines() {
        let (hier, path) = line.rsplit_once(':').expect("cgroup line");
        let path = support::cgroups::hull_own_path(hier == "0:", path);
        let want = format!("{}/{}", path.trim_end_matches('/'), b.cgroup);
        let Some(got) = theirs.lines().find_map(|l| {
            let (h, p) = l.rsplit_once(':')?;
            (h == hier).then_some(p)
        }) else {
            continue;
        };
        // Hierarchies the runtime does not manage (e.g. an empty v2 on a v1 host) may stay put.
        if got == path {
            continue;
        }
        assert_eq!(
            got, want,
            "hierarchy {hier}: container cgroup vs ours {path}"
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "the container is in none of its own cgroups:\n{theirs}"
    );
}

#[test]
fn a_cgroups_path_through_the_process_leaf_is_refused() {
    // cgroup v2: hullrt may move its caller's processes into `<own>/hull-leaf`; a container
    // there would share their cgroup, its limits and its kills.
    let ctx = Ctx::hullrt();
    let b = ctx.bundle();
    let path = format!("{}/hull-leaf", b.cgroup);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let before = ctx.snapshot();
    let out = ctx.create(&b);
    assert!(!out.status.success(), "created: {}", describe(&out));
    assert!(stderr(&out).contains("hull-leaf"), "{}", describe(&out));
    assert_eq!(ctx.snapshot(), before, "a refused create leaves nothing");
}
