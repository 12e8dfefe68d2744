//! A sandbox leaves nothing behind: mounts, network links, cgroups, processes and its directory
//! are traced before and after a sandbox that ran containers (overlays, tmpfs, limits, a
//! published port when hull has networking) and a stray daemon was destroyed.
//!
//! The trace holds only what this test owns, found by the sandbox's own names (its directory
//! and its cgroup name, both unique), the links it makes, and this process's own children —
//! never host-wide counts — so another test, or another run of the suite on the same machine,
//! cannot make it fail.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hull_lab::sandbox::{cgroup, Sandbox};

/// What identifies one sandbox's things on the host.
struct Owned {
    /// Its directory (`$TMPDIR/hull-lab.XXXX`): `HULL_ROOT`, the lab directory, its scratch.
    dir: PathBuf,
    /// The name of its cgroup (`hull-lab-XXXX`) in every hierarchy.
    cgroup: String,
}

impl Owned {
    fn of(sb: &Sandbox) -> Owned {
        let first = sb
            .info()
            .cgroups
            .dirs
            .first()
            .expect("the sandbox has cgroups");
        Owned {
            dir: sb.dir().to_path_buf(),
            cgroup: first
                .file_name()
                .expect("a cgroup dir has a name")
                .to_string_lossy()
                .into_owned(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Trace {
    /// Mounts of our (the host's) mount namespace below the sandbox's directory, or whose
    /// root or source names it or its cgroup.
    mounts: Vec<String>,
    /// cgroup directories named like the sandbox's, in every hierarchy.
    cgroups: Vec<String>,
    /// Children of this test process.
    children: usize,
    /// Whether the sandbox's directory exists.
    dir: bool,
}

/// This test process's children (zombies included: an unreaped child is a leak too).
fn children() -> usize {
    let me = std::process::id() as i32;
    procfs::process::all_processes()
        .unwrap()
        .flatten()
        .filter(|p| p.stat().is_ok_and(|s| s.ppid == me))
        .count()
}

fn trace(owned: &Owned) -> Trace {
    let dir = owned.dir.to_string_lossy().into_owned();
    let mounts = procfs::process::Process::myself()
        .unwrap()
        .mountinfo()
        .unwrap()
        .into_iter()
        .filter(|m| {
            m.mount_point.starts_with(&owned.dir)
                || m.root.contains(&dir)
                || m.root.contains(&owned.cgroup)
                || m.mount_source.as_deref().is_some_and(|s| s.contains(&dir))
        })
        .map(|m| {
            format!(
                "{} (root {}, {})",
                m.mount_point.display(),
                m.root,
                m.fs_type
            )
        })
        .collect();
    let mut cgroups = Vec::new();
    for m in cgroup::hierarchies().unwrap() {
        let name = owned.cgroup.as_str();
        cgroup::walk(&cgroup::dir_of(0, &m).unwrap(), &mut |d| {
            if d.file_name().is_some_and(|n| n == name) {
                cgroups.push(d.display().to_string());
            }
        });
    }
    cgroups.sort();
    Trace {
        mounts,
        cgroups,
        children: children(),
        dir: owned.dir.exists(),
    }
}

/// The names of the links of the current (the host's) network namespace.
fn host_links() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The names of the links inside the sandbox (`ip -o link`, without `@peer`).
fn sandbox_links(sb: &Sandbox) -> BTreeSet<String> {
    run(sb, "ip -o link show")
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .collect()
}

/// Links that appeared in the host's namespace since `before` and bear a name of the sandbox's
/// own links: those would be the sandbox's, leaked out of its namespace.
fn leaked_links(before: &BTreeSet<String>, ours: &BTreeSet<String>) -> Vec<String> {
    host_links()
        .difference(before)
        .filter(|n| ours.contains(*n))
        .cloned()
        .collect()
}

/// Processes that are in any of the given namespaces (`net:[…]`-style ids).
fn in_namespaces(ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        for ns in ["mnt", "net", "uts"] {
            if let Ok(link) = std::fs::read_link(e.path().join("ns").join(ns)) {
                if ids.contains(&link.display().to_string()) {
                    found.push(format!("{} ({ns})", e.file_name().to_string_lossy()));
                }
            }
        }
    }
    found
}

fn run(sb: &Sandbox, script: &str) -> String {
    let out = sb.sh(script, Duration::from_secs(60)).unwrap();
    assert!(out.ok(), "{script}: exit {:?}\n{}", out.code, out.stderr);
    out.stdout
}

#[test]
fn destroy_leaves_nothing_behind() {
    let hull = common::hull();
    let children_before = children();
    let links_before = host_links();

    let t = Instant::now();
    let sb = Sandbox::create(&hull).unwrap();
    eprintln!("created in {:?}", t.elapsed());
    let owned = Owned::of(&sb);
    // What the host has of this sandbox, as it should stay: its directory and its cgroups, and
    // nothing else (its mounts and links are in its own namespaces).
    let mut cgroups: Vec<String> = (sb.info().cgroups.dirs.iter())
        .map(|d| d.display().to_string())
        .collect();
    cgroups.sort();
    let expected = Trace {
        mounts: Vec::new(),
        cgroups,
        children: children_before + 1, // the holder
        dir: true,
    };
    assert_eq!(trace(&owned), expected, "a fresh sandbox");
    assert_eq!(run(&sb, "hostname").trim(), "labhost");
    assert!(
        run(&sb, "ip -br addr").contains("192.0.2.10"),
        "the sandbox's eth0"
    );
    run(&sb, "hull run -d --name a busybox sleep 1000");
    run(
        &sb,
        "hull run -d --name b -m 32m --pids-limit 20 --tmpfs /scratch busybox sleep 1000",
    );
    run(&sb, "setsid sleep 1000 >/dev/null 2>&1 < /dev/null &");
    let published = sb
        .hull(
            &[
                "run", "-d", "--name", "c", "-p", "8080:80", "busybox", "httpd", "-f",
            ],
            Duration::from_secs(60),
        )
        .unwrap();
    eprintln!(
        "published port: exit {:?} {}",
        published.code,
        published.stderr.trim()
    );
    let during = trace(&owned);
    assert!(
        !sb.info().cgroups.pids().is_empty(),
        "the sandbox's processes are in its cgroups"
    );
    let ours = sandbox_links(&sb);
    assert!(
        ours.contains("eth0") && ours.contains("uplink0"),
        "the sandbox's links: {ours:?}"
    );
    assert_eq!(
        leaked_links(&links_before, &ours),
        Vec::<String>::new(),
        "the sandbox's links live in its own namespace"
    );
    assert_eq!(
        during.mounts,
        Vec::<String>::new(),
        "the sandbox's mounts do not propagate to the host"
    );

    // A kept sandbox survives its handle and is found again through its directory.
    let namespaces = sb.namespace_ids();
    assert_eq!(namespaces.len(), 3);
    let dir = sb.dir().to_path_buf();
    let mut sb = sb;
    sb.keep();
    drop(sb);
    let again = Sandbox::attach(&dir).unwrap();
    assert!(run(&again, "hull ps").contains("sleep 1000"));

    // The namespaces are held open until they have been checked: a namespace that another
    // test (or another run of the suite) makes meanwhile cannot reuse their identities.
    let held: Vec<std::fs::File> = ["mnt", "net", "uts"]
        .iter()
        .map(|n| std::fs::File::open(format!("/proc/{}/ns/{n}", again.holder())).unwrap())
        .collect();
    assert_eq!(
        again.namespace_ids(),
        namespaces,
        "the same sandbox, attached"
    );

    let t = Instant::now();
    again.destroy().unwrap();
    eprintln!("destroyed in {:?}", t.elapsed());

    assert_eq!(
        in_namespaces(&namespaces),
        Vec::<String>::new(),
        "processes left in the sandbox's namespaces"
    );
    drop(held);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(Sandbox::attach(&dir).is_err());
    assert_eq!(
        leaked_links(&links_before, &ours),
        Vec::<String>::new(),
        "links left by the sandbox"
    );
    assert_eq!(
        trace(&owned),
        Trace {
            mounts: Vec::new(),
            cgroups: Vec::new(),
            children: children_before,
            dir: false,
        }
    );
}
