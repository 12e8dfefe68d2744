//! CVE-2021-30465 class: a container that shares a volume with a new container swaps a
//! directory of the new container's mount path for a symlink to a host directory, between the
//! runtime resolving the path and using it. Nothing may be created or mounted outside the new
//! container's root. hullrt only (the attack leaves the runtime under test unharmed, but a
//! vulnerable runtime would write to the host).
mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

#[test]
fn a_symlink_swapped_into_a_mount_path_never_reaches_the_host() {
    let ctx = Ctx::hullrt();
    let host = tempfile::tempdir().expect("a host directory for the test");
    let shared = host.path().join("shared");
    let outside = host.path().join("outside");
    let source = host.path().join("source");
    for d in [&shared, &outside, &source] {
        fs::create_dir_all(d).unwrap();
    }

    // The attacker: alternates /vol/x between a directory and a symlink to the host's
    // `outside` (an absolute host path; inside any container it means nothing but a path).
    let attacker = ctx.bundle();
    attacker.bind(&shared, "/vol", false);
    attacker.sh(&format!(
        "while :; do rm -rf /vol/x; mkdir /vol/x; rm -rf /vol/x; ln -s {} /vol/x; done",
        outside.display()
    ));
    let attacker_id = ctx.started(&attacker);

    // The victims: the same volume, and a bind mount whose target runs through /vol/x.
    let victim = ctx.bundle();
    victim.bind(&shared, "/vol", false);
    victim.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/vol/x/target", "type": "bind",
            "source": source.to_str().unwrap(), "options": ["rbind"]
        }))
    });
    victim.set_args(&["true"]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut runs = 0;
    while runs < 60 && Instant::now() < deadline {
        // Success or failure of each run does not matter: only where it wrote.
        let _ = ctx.run(&victim);
        runs += 1;
    }
    ctx.kill_and_delete(&attacker_id);

    let escaped: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mounted: Vec<_> = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .unwrap()
        .into_iter()
        .filter(|m| m.mount_point.starts_with(&outside))
        .map(|m| m.mount_point)
        .collect();
    for m in &mounted {
        let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
    }
    assert!(
        escaped.is_empty() && mounted.is_empty(),
        "in {runs} runs the runtime wrote outside the container: made {escaped:?}, mounted {mounted:?}"
    );
}
