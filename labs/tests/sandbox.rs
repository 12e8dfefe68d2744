//! A sandbox leaves nothing behind: mounts, network links, cgroups, processes and its directory
//! are counted before and after a sandbox that ran containers (overlays, tmpfs, limits, a
//! published port when hull has networking) and a stray daemon was destroyed. One test in its
//! own binary, so nothing else of ours runs while it counts.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hull_lab::sandbox::{cgroup, Sandbox};

#[derive(Debug, PartialEq, Eq)]
struct Trace {
    mounts: Vec<String>,
    links: BTreeSet<String>,
    cgroups: Vec<String>,
    children: usize,
    temp_dirs: BTreeSet<String>,
}

fn trace() -> Trace {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains("hull-lab"))
        .map(str::to_owned)
        .collect();
    let links = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut cgroups = Vec::new();
    for m in cgroup::hierarchies().unwrap() {
        cgroup::walk(&cgroup::dir_of(0, &m).unwrap(), &mut |d| {
            if d.to_string_lossy().contains("hull-lab-") {
                cgroups.push(d.display().to_string());
            }
        });
    }
    let me = std::process::id().to_string();
    let children = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                == Some(&me)
        })
        .count();
    let temp_dirs = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hull-lab."))
        .collect();
    Trace {
        mounts,
        links,
        cgroups,
        children,
        temp_dirs,
    }
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
    let before = trace();

    let t = Instant::now();
    let sb = Sandbox::create(&hull).unwrap();
    eprintln!("created in {:?}", t.elapsed());
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
    let during = trace();
    assert!(
        !sb.info().cgroups.pids().is_empty(),
        "the sandbox's processes are in its cgroups"
    );
    assert_eq!(
        during.links, before.links,
        "the sandbox's links live in its own namespace"
    );
    assert_eq!(
        during.mounts, before.mounts,
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

    let t = Instant::now();
    again.destroy().unwrap();
    eprintln!("destroyed in {:?}", t.elapsed());

    assert_eq!(
        in_namespaces(&namespaces),
        Vec::<String>::new(),
        "processes left in the sandbox's namespaces"
    );
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(Sandbox::attach(&dir).is_err());
    assert_eq!(trace(), before);
}
