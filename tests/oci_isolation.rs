//! OCI runtime spec conformance: namespaces and the container's view of the filesystem.
//!
//! Runs against `$HULL_OCI_RUNTIME` (e.g. /usr/sbin/runc) or the built `hullrt`.
mod support;

use std::fs;

use serde_json::json;
use support::*;

fn host_hostname() -> String {
    nix::unistd::gethostname()
        .expect("gethostname")
        .to_string_lossy()
        .into_owned()
}

fn host_ns(kind: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap_or_else(|e| panic!("readlink /proc/self/ns/{kind}: {e}"))
        .to_string_lossy()
        .into_owned()
}

#[test]
fn pid_namespace_makes_the_process_pid_1_while_the_host_sees_another_pid() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.set_args(&["sleep", "100"]);
    let pid_file = b.path().join("container.pid");
    must(
        "create --pid-file",
        ctx.cmd(&[
            "create",
            "--bundle",
            path_str(b.path()),
            "--pid-file",
            path_str(&pid_file),
            &ctx.id,
        ]),
    );
    let text = fs::read_to_string(&pid_file).expect("create --pid-file wrote no pid file");
    let host_pid: i32 = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid file holds {text:?}: {e}"));
    assert_eq!(host_pid, ctx.pid(&ctx.id), "pid file and state disagree");
    assert_ne!(host_pid, 1);
    ctx.start_ok(&ctx.id);
    let status = fs::read_to_string(format!("/proc/{host_pid}/status")).expect("read status");
    let nspid = status_field(&status, "NSpid").expect("no NSpid line");
    let ids: Vec<&str> = nspid.split_whitespace().collect();
    assert_eq!(
        ids,
        vec![host_pid.to_string().as_str(), "1"],
        "NSpid of the container process should be '<host pid> 1'"
    );
}

#[test]
fn uts_namespace_sets_the_hostname_and_leaves_the_hosts_alone() {
    let ctx = Ctx::new();
    let before = host_hostname();
    let b = ctx.bundle();
    b.edit(|c| c["hostname"] = json!("hull-uts-test"));
    b.set_args(&["hostname"]);
    let out = must("run hostname", ctx.run(&b));
    assert_eq!(stdout(&out).trim(), "hull-uts-test");
    assert_eq!(host_hostname(), before, "the host's hostname changed");
}

#[test]
fn mount_namespace_hides_a_tmpfs_mounted_inside_from_the_host() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let ready = b.host_dir("ready");
    b.bind(&ready, "/ready", false);
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
    });
    // A name of this test's own, so that only its own mount can match on the host.
    let inside = format!("/mnt/hull-inside-{}", ctx.id);
    b.sh(&format!(
        "mkdir -p {inside} && mount -t tmpfs tmpfs {inside} \
         && echo secret > {inside}/file \
         && grep -q ' {inside} ' /proc/self/mountinfo && touch /ready/ok; exec sleep 100"
    ));
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    poll(STATE_TIMEOUT, "the container to mount its tmpfs", || {
        ready.join("ok").exists().then_some(())
    });
    let name = inside.trim_start_matches("/mnt/");
    let host_mounts: Vec<MountInfo> = mounts()
        .into_iter()
        .filter(|m| {
            m.mount_point.to_string_lossy().contains(name)
                || m.root.contains(name)
                || m.mount_point.starts_with(b.path())
                || m.root.contains(path_str(b.path()))
        })
        .collect();
    assert!(
        host_mounts.is_empty(),
        "the container's mounts are visible in the host's mountinfo: {host_mounts:#?}"
    );
    let leaked = b
        .rootfs()
        .join(format!("{}/file", inside.trim_start_matches('/')));
    assert!(
        !leaked.exists(),
        "{} exists on the host: the tmpfs was not private",
        leaked.display()
    );
}

#[test]
fn network_namespace_has_only_loopback() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.sh("ls /sys/class/net; echo ---; cat /proc/net/dev; echo ---; readlink /proc/self/ns/net");
    let out = must("run", ctx.run(&b));
    let text = stdout(&out);
    let parts: Vec<&str> = text.split("---\n").collect();
    assert_eq!(parts.len(), 3, "unexpected output: {text}");
    let sys: Vec<&str> = parts[0].split_whitespace().collect();
    assert_eq!(sys, vec!["lo"], "/sys/class/net inside");
    let dev: Vec<&str> = parts[1]
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim()))
        .collect();
    assert_eq!(dev, vec!["lo"], "/proc/net/dev inside:\n{}", parts[1]);
    assert_ne!(
        parts[2].trim(),
        host_ns("net"),
        "same net namespace as the host"
    );
}

#[test]
fn ipc_namespace_hides_a_host_shm_segment() {
    let ctx = Ctx::new();
    let seg = ShmSegment::new();
    let host = fs::read_to_string("/proc/sysvipc/shm").expect("read host /proc/sysvipc/shm");
    assert!(
        shmids(&host).contains(&seg.shmid),
        "precondition: host lists shmid {}",
        seg.shmid
    );
    let b = ctx.bundle();
    b.sh("cat /proc/sysvipc/shm; echo ---; readlink /proc/self/ns/ipc");
    let out = must("run", ctx.run(&b));
    let text = stdout(&out);
    let (shm, ns) = text.split_once("---\n").expect("separator");
    assert!(
        shmids(shm).is_empty(),
        "the container sees SysV shm segments (host created shmid {}):\n{shm}",
        seg.shmid
    );
    assert_ne!(ns.trim(), host_ns("ipc"), "same ipc namespace as the host");
}

#[test]
fn joining_another_containers_uts_namespace_by_path_shows_its_hostname() {
    let ctx = Ctx::new();
    let host_before = host_hostname();
    let a = ctx.bundle();
    a.edit(|c| c["hostname"] = json!("hull-alpha"));
    a.set_args(&["sleep", "100"]);
    ctx.create_ok(&a);
    ctx.start_ok(&ctx.id);
    let pid = ctx.pid(&ctx.id);

    let b = ctx.bundle();
    let uts = format!("/proc/{pid}/ns/uts");
    b.edit(|c| {
        c.as_object_mut().unwrap().remove("hostname");
        set_namespace(c, "uts", Some(&uts));
    });
    b.set_args(&["hostname"]);
    let id_b = ctx.new_id();
    let out = must("run joining uts", ctx.run_id(&b, &id_b));
    assert_eq!(stdout(&out).trim(), "hull-alpha");
    assert_eq!(host_hostname(), host_before);
}

#[test]
fn user_namespace_maps_container_root_to_host_uid_100000() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let out_dir = b.host_dir("out");
    fs::set_permissions(
        &out_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod out dir");
    b.bind(&out_dir, "/out", false);
    // The rootfs belongs to host root, unmapped in the user namespace: the mount point must exist.
    fs::create_dir(b.rootfs().join("out")).expect("mkdir rootfs/out");
    b.edit(|c| {
        set_namespace(c, "user", None);
        let map = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    b.sh("cat /proc/self/uid_map /proc/self/gid_map > /out/maps.tmp && mv /out/maps.tmp /out/maps; exec sleep 100");
    ctx.create_ok(&b);
    ctx.start_ok(&ctx.id);
    let maps = out_dir.join("maps");
    let text = poll(STATE_TIMEOUT, "the container to write its id maps", || {
        fs::read_to_string(&maps).ok()
    });
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        vec![vec!["0", "100000", "65536"], vec!["0", "100000", "65536"]],
        "uid_map and gid_map inside"
    );
    let pid = ctx.pid(&ctx.id);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    for key in ["Uid", "Gid"] {
        let ids: Vec<String> = status_field(&status, key)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(ids, vec!["100000"; 4], "host view of {key} of pid {pid}");
    }
}

#[test]
fn sysctl_sets_ip_forward_inside_a_new_netns_only() {
    let ctx = Ctx::new();
    const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
    let host_before = fs::read_to_string(PATH).expect("read host ip_forward");
    // A new netns inherits the host's IPv4 settings, so ask for the other value to see an effect.
    let want = if host_before.trim() == "1" { "0" } else { "1" };
    let b = ctx.bundle();
    b.edit(|c| c["linux"]["sysctl"] = json!({ "net.ipv4.ip_forward": want }));
    b.set_args(&["cat", PATH]);
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out).trim(), want, "ip_forward inside");
    assert_eq!(
        fs::read_to_string(PATH).expect("read host ip_forward"),
        host_before,
        "the host's ip_forward changed"
    );
}

#[test]
fn masked_paths_read_empty() {
    let ctx = Ctx::new();
    // /proc/kcore is absent on kernels built without CONFIG_PROC_KCORE: check every masked file
    // of the default list that this host has (at least one must exist).
    let files: Vec<&str> = ["/proc/kcore", "/proc/timer_list", "/proc/sched_debug"]
        .into_iter()
        .filter(|f| std::path::Path::new(f).exists())
        .collect();
    assert!(
        !files.is_empty(),
        "precondition failed: none of /proc/kcore, /proc/timer_list, /proc/sched_debug exists on this host"
    );
    let host_fw = fs::read_dir("/sys/firmware")
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        host_fw > 0,
        "precondition failed: the host's /sys/firmware is empty or missing, so masking it cannot be observed"
    );
    let b = ctx.bundle();
    let mut script: String = files.iter().map(|f| format!("wc -c < {f}; ")).collect();
    script.push_str("ls -A /sys/firmware | wc -l");
    b.sh(&script);
    let out = must("run", ctx.run(&b));
    let lines: Vec<String> = stdout(&out).lines().map(|l| l.trim().to_string()).collect();
    assert_eq!(
        lines,
        vec!["0"; files.len() + 1],
        "expected {files:?} to read 0 bytes and /sys/firmware to be empty: {}",
        describe(&out)
    );
}

#[test]
fn readonly_paths_make_proc_sys_read_only() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    // Inside a new netns: even a broken runtime would not touch the host's value.
    b.sh("echo 0 > /proc/sys/net/ipv4/ip_forward");
    let out = ctx.run(&b);
    assert!(!out.status.success(), "write to /proc/sys succeeded");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "expected EROFS: {}",
        describe(&out)
    );
}

#[test]
fn read_only_remounts_keep_nosuid_nodev_noexec() {
    // /proc and the cgroup mounts are nosuid,nodev,noexec: a read-only bind of a path below
    // them (readonlyPaths) or of a cgroup directory must not come out laxer (runc keeps them).
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts[0]["options"] = json!(["nosuid", "noexec", "nodev"]);
        mounts.push(json!({
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
        }));
    });
    // v1: one mount per hierarchy below a tmpfs; v2: the cgroup2 mount itself.
    b.sh("grep -E ' /proc/sys | /sys/fs/cgroup/[a-z,_]+ | /sys/fs/cgroup .* - cgroup2 ' /proc/self/mountinfo");
    let out = ctx.run(&b);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.lines().count() >= 2, "{}", describe(&out));
    for line in text.lines() {
        let opts = line.split_whitespace().nth(5).unwrap_or_default();
        for want in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(
                opts.split(',').any(|o| o == want),
                "no {want} in {opts:?}: {line}"
            );
        }
    }
}

#[test]
fn readonly_root_rejects_writes() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| c["root"]["readonly"] = json!(true));
    b.sh("touch /hull-ro-test");
    let out = ctx.run(&b);
    assert!(
        !out.status.success(),
        "touch / succeeded: {}",
        describe(&out)
    );
    assert!(
        stderr(&out).contains("Read-only file system"),
        "expected EROFS: {}",
        describe(&out)
    );
    assert!(!b.rootfs().join("hull-ro-test").exists());
}

#[test]
fn bind_mount_with_ro_option_is_read_only_inside_but_host_dir_stays_writable() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let dir = b.host_dir("share");
    fs::write(dir.join("hello"), "from host\n").unwrap();
    b.bind(&dir, "/mnt/ro", true);
    b.sh("cat /mnt/ro/hello; touch /mnt/ro/new");
    let out = ctx.run(&b);
    assert_eq!(stdout(&out), "from host\n", "{}", describe(&out));
    assert!(!out.status.success(), "touch in ro bind mount succeeded");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "expected EROFS: {}",
        describe(&out)
    );
    assert!(!dir.join("new").exists());
    fs::write(dir.join("after"), "x").expect("host dir should stay writable");
}

#[test]
fn linux_devices_of_every_type_and_the_devpts_ones_podman_lists() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/fuse-like", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600},
            {"path": "/dev/unbuffered", "type": "u", "major": 1, "minor": 3},
            {"path": "/dev/pipe", "type": "p", "major": 0, "minor": 0},
            {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2},
            {"path": "/dev/pts/ptmx", "type": "c", "major": 5, "minor": 2}
        ]);
        c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    });
    b.sh("test -c /dev/fuse-like && stat -c %a /dev/fuse-like; \
         test -c /dev/unbuffered && echo x >/dev/unbuffered && echo u-ok; \
         test -p /dev/pipe && echo p-ok; \
         test -L /dev/ptmx && echo ptmx-link");
    let out = must("run", ctx.run(&b));
    assert_eq!(
        stdout(&out),
        "600\nu-ok\np-ok\nptmx-link\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn every_rootfs_propagation_mode_runs() {
    // "shared" made pivot_root fail with EINVAL (the rootfs's parent mount was shared).
    let ctx = Ctx::new();
    for propagation in ["shared", "rshared", "slave", "rslave", "private"] {
        let b = ctx.bundle();
        b.edit(|c| c["linux"]["rootfsPropagation"] = json!(propagation));
        b.sh("echo up");
        let out = must(propagation, ctx.run(&b));
        assert_eq!(stdout(&out), "up\n", "{propagation}: {}", describe(&out));
    }
}

#[test]
fn tmpcopyup_starts_the_tmpfs_with_the_directorys_content() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let seed = b.rootfs().join("seeded");
    fs::create_dir_all(seed.join("sub")).unwrap();
    fs::write(seed.join("sub/file"), "from the image\n").unwrap();
    std::os::unix::fs::symlink("sub/file", seed.join("link")).unwrap();
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/seeded", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=755", "tmpcopyup"]
        }))
    });
    b.sh("cat /seeded/link; echo new >/seeded/sub/file; awk '$5 == \"/seeded\" { print $9 }' /proc/self/mountinfo");
    let out = must("run", ctx.run(&b));
    assert_eq!(
        stdout(&out),
        "from the image\ntmpfs\n",
        "{}",
        describe(&out)
    );
    assert_eq!(
        fs::read_to_string(seed.join("sub/file")).unwrap(),
        "from the image\n",
        "the write must land in the tmpfs, not the rootfs"
    );
}

#[test]
fn rro_makes_a_bind_and_the_mounts_below_it_read_only() {
    let ctx = Ctx::new();
    let b = ctx.bundle();
    let dir = b.host_dir("data");
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind",
            "source": dir.to_str().unwrap(), "options": ["rbind", "rro"]
        }))
    });
    b.sh("touch /data/x 2>/dev/null && echo writable || echo read-only");
    let out = must("run", ctx.run(&b));
    assert_eq!(stdout(&out), "read-only\n", "{}", describe(&out));
    assert!(!dir.join("x").exists());
}

#[test]
fn without_device_rules_only_the_default_devices_can_be_opened() {
    // A config with no linux.resources.devices: runc denies every device but the defaults,
    // so a process with CAP_MKNOD cannot make and read a disk's node.
    let ctx = Ctx::new();
    let b = ctx.bundle();
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_MKNOD"));
        }
        if let Some(r) = c["linux"]["resources"].as_object_mut() {
            r.remove("devices");
        }
    });
    b.sh("head -c1 /dev/zero | wc -c; mknod /tmp/loop0 b 7 0 && head -c1 /tmp/loop0");
    let out = ctx.run(&b);
    assert!(
        !out.status.success(),
        "the disk node opened: {}",
        describe(&out)
    );
    assert_eq!(stdout(&out).trim(), "1", "{}", describe(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        describe(&out)
    );
}
