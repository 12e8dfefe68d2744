//! A sandbox is capped: its memory and its number of tasks. (A file of its own: the leak
//! test in sandbox.rs counts this process's children.)

mod common;

use std::path::Path;
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
    let both = cgroup::Capped {
        memory: true,
        pids: true,
    };
    assert_eq!(sb.info().capped, both, "the caps the sandbox reports");
    assert_eq!(sb.uncapped(), None);
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

/// A cgroup that `Drop` removes.
struct Made(cgroup::Tree);

impl Drop for Made {
    fn drop(&mut self) {
        if let Err(e) = self.0.remove() {
            eprintln!("cannot remove {:?}: {e}", self.0.dirs);
        }
    }
}

/// On a cgroup v2 hierarchy whose cgroup (the caller's) delegates neither memory nor pids, a
/// sandbox's caps cannot be enforced: `limit` says so instead of reporting success, the
/// prediction `list` prints agrees and names the cgroup, and a cap the user asked for is
/// unmet. On this host's kind (a v1/v2 hybrid) the v2 hierarchy at /sys/fs/cgroup/unified
/// has no controllers; a cgroup is made only below this process's own cgroup there.
#[test]
fn caps_that_a_v2_hierarchy_cannot_enforce_are_reported_not_assumed() {
    common::hull(); // root
    let no_controller = |m: &cgroup::Mount| {
        let Ok(own) = cgroup::dir_of(0, m) else {
            return false;
        };
        let offered = std::fs::read_to_string(own.join("cgroup.controllers")).unwrap_or_default();
        own != Path::new(cgroup::ROOT)
            && !offered
                .split_whitespace()
                .any(|c| c == "memory" || c == "pids")
    };
    let mounts = cgroup::mounts().expect("mountinfo");
    let Some(v2) = mounts.into_iter().find(|m| m.v2 && no_controller(m)) else {
        eprintln!(
            "not applicable here: every cgroup v2 hierarchy offers memory or pids to this \
             process's cgroup (the test needs one that offers neither, as a v1/v2 hybrid's)"
        );
        return;
    };
    let name = format!("hull-lab-caps-test-{}", std::process::id());
    let tree = Made(cgroup::Tree::create_in(&name, std::slice::from_ref(&v2)).expect("a cgroup"));
    let own = cgroup::dir_of(0, &v2).unwrap();
    assert!(
        tree.0
            .dirs
            .iter()
            .all(|d| d.parent() == Some(own.as_path())),
        "made below this process's own cgroup: {:?}",
        tree.0.dirs
    );
    let enforced = tree.0.limit(&cgroup::Limits::DEFAULT).expect("limit");
    assert_eq!(
        enforced,
        cgroup::Capped::default(),
        "caps claimed on {v2:?}"
    );
    assert!(!tree.0.dirs[0].join("memory.max").exists());

    let (predicted, why) = cgroup::enforceable_in(std::slice::from_ref(&v2));
    assert_eq!(predicted, enforced, "list's prediction: {why}");
    assert!(why.contains(&own.display().to_string()), "{why}");
    let warning = enforced.warning(&why).expect("a warning");
    assert!(
        warning.contains("memory and pids caps are not enforced") && !warning.contains('\n'),
        "{warning}"
    );
    let asked = cgroup::Capped {
        memory: true,
        pids: false,
    };
    assert_eq!(asked.unmet_by(enforced), [cgroup::ENV_MEMORY]);
}
