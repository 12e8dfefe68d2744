//! The support module's own promise: a test sees only what it owns. Two guards of the same
//! kind, side by side (as two tests, or two runs of the suite, are), never see each other's
//! containers, cgroups, processes, state or mounts — so one's leak check cannot fail because of
//! the other's work — and each guard removes what it owns.

mod support;

use std::path::PathBuf;

use support::*;

/// Mounts a small tmpfs at `dir` on the host (a stand-in for a mount a runtime leaked).
fn mount_tmpfs(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64k"),
    )
    .unwrap_or_else(|e| panic!("mount a tmpfs at {}: {e}", dir.display()));
}

#[test]
fn two_runtime_contexts_do_not_see_each_others_containers_or_mounts() {
    let a = Ctx::hullrt();
    let b = Ctx::hullrt();
    let b_before = b.snapshot();

    // `a` runs a container and leaves a mount below one of its bundles.
    let bundle = a.bundle();
    bundle.set_args(&["sleep", "100"]);
    let a_before = a.snapshot();
    a.create_ok(&bundle);
    let stray = bundle.path().join("stray");
    mount_tmpfs(&stray);

    let a_during = a.snapshot();
    assert!(!a_during.cgroup_dirs.is_empty(), "{a_during:?}");
    assert!(!a_during.processes.is_empty(), "{a_during:?}");
    assert_eq!(a_during.mounts, vec![stray.clone()], "{a_during:?}");
    assert_eq!(
        a_during.state_entries.len(),
        a_before.state_entries.len() + 1
    );

    // `b` sees none of it: its leak check passes while `a` holds all that.
    assert_no_leaks(&b_before, &b.snapshot());

    let token = a.token.clone();
    drop(a);
    assert!(
        mount_at(&stray).is_none(),
        "the guard left the mount at {}",
        stray.display()
    );
    assert_eq!(cgroup_dirs_with(&token), Vec::<PathBuf>::new());
    assert!(a_during.processes.iter().all(|p| is_gone(*p)));
    assert_no_leaks(&b_before, &b.snapshot());
}

#[test]
fn two_hull_roots_do_not_see_each_others_leftovers() {
    let a = Hull::new();
    let b = Hull::new();
    let b_before = b.leftovers();
    assert!(b_before.is_empty(), "{b_before:#?}");

    let id = a.detach("only-in-a", &["busybox", "sleep", "100"]);
    let a_during = a.leftovers();
    assert!(!a_during.containers.is_empty(), "{a_during:#?}");
    assert!(!a_during.mounts.is_empty(), "{a_during:#?}");
    assert!(!a_during.cgroups.is_empty(), "{a_during:#?}");

    // `b` does not see `a`'s container, overlay, cgroups or monitor.
    assert_eq!(b.leftovers(), b_before);
    assert_eq!(stdout(&b.cmd(&["ps", "-aq"])), "");

    // The guard removes what `a` owns (and would fail the test if `rm -f` left any of it).
    let mounts: Vec<PathBuf> = a_during.mounts.clone();
    drop(a);
    for m in &mounts {
        assert!(mount_at(m).is_none(), "{} is still mounted", m.display());
    }
    assert!(cgroup_dirs_named(&format!("hull-{}", &id[..12])).is_empty());
}
