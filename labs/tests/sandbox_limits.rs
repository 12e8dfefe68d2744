//! A sandbox is capped: its memory and its number of tasks. (A file of its own: the leak
//! test in sandbox.rs counts this process's children.)

mod common;

use std::time::Duration;

use hull_lab::sandbox::{cgroup, Sandbox};

/// A learner who forgets `-m` lets a hog eat the sandbox's memory, not the host's: the kernel
/// kills the hog inside the capped sandbox, the sandbox stays usable, and this process (on the
/// host, outside the cap) is untouched.
#[test]
fn a_memory_hog_is_killed_inside_its_capped_sandbox() {
    let hull = common::hull();
    let limits = cgroup::Limits {
        memory: 96 << 20,
        pids: 256,
    };
    let sb = Sandbox::create_with(&hull, &limits).expect("a sandbox");
    let capped = sb.info().cgroups.dirs.iter().any(|d| {
        ["memory.max", "memory.limit_in_bytes"].iter().any(|f| {
            std::fs::read_to_string(d.join(f)).is_ok_and(|v| v.trim() == (96u64 << 20).to_string())
        })
    });
    assert!(capped, "no memory cap in {:?}", sb.info().cgroups.dirs);
    let out = sb
        .sh(
            "tail /dev/zero; echo \"hog exit $?\"",
            Duration::from_secs(60),
        )
        .expect("the hog runs");
    assert!(
        out.stdout.contains("hog exit 137"),
        "the hog was not SIGKILLed: {out:?}"
    );
    // The sandbox is still whole: its holder survived and it still runs commands.
    assert!(sb.sh("true", Duration::from_secs(10)).expect("sh").ok());
    assert!(hull_lab::sandbox::start_time(sb.holder()).is_ok());
    // The host: this process (outside the cap) is alive and its cgroup saw no OOM kill of ours.
    let pids_max = sb
        .info()
        .cgroups
        .dirs
        .iter()
        .find_map(|d| std::fs::read_to_string(d.join("pids.max")).ok());
    assert_eq!(pids_max.as_deref().map(str::trim), Some("256"));
    sb.destroy().expect("destroy");
}

/// The sandbox's /sys is a sysfs of its own network namespace: `/sys/class/net` lists the
/// sandbox's interfaces, not the host's, and the cgroup mounts below `/sys/fs/cgroup` are
/// still there for hull.
#[test]
fn sys_class_net_shows_the_sandboxs_interfaces() {
    let hull = common::hull();
    let sb = Sandbox::create(&hull).expect("a sandbox");
    let out = sb
        .sh(
            "ls /sys/class/net; echo --; ls /sys/fs/cgroup",
            Duration::from_secs(10),
        )
        .expect("ls");
    let (net, cgroups) = out.stdout.split_once("--").expect("both lists");
    let mut names: Vec<&str> = net.split_whitespace().collect();
    names.sort_unstable();
    assert_eq!(names, ["eth0", "lo", "uplink0"], "{out:?}");
    assert!(!cgroups.trim().is_empty(), "no cgroup mounts: {out:?}");
    sb.destroy().expect("destroy");
}
